// Generates WGSL binding declarations with ld_/st_ accessors. A binding larger than the adapter's
// maxStorageBufferBindingSize is split into pages (several bindings of one buffer) transparently.
// A binding whose tensor is f16 is declared as array<f16> (or array<vec4<f16>>) while its
// accessors keep the kernel's f32 types: kernels read f16 into f32, compute and accumulate in f32
// and round once when they store, without knowing which of their tensors are half precision.
// A "u32" binding (raw words moved as they are: copy, gather, row compaction) over an f16 tensor
// moves raw f16 values instead; such kernels spell their element type W_<name> (an alias).
import type { BindingSpec } from "../kernels/kernel";

const META = /* wgsl */ `struct Meta { w: array<vec4<u32>, 16> }
@group(0) @binding(0) var<uniform> kmeta: Meta;
fn M(i: u32) -> u32 { return kmeta.w[i / 4u][i % 4u]; }
fn Mf(i: u32) -> f32 { return bitcast<f32>(M(i)); }
fn Mi(i: u32) -> i32 { return bitcast<i32>(M(i)); }
fn ninf_() -> f32 { return bitcast<f32>(0xff800000u | (M(0u) & 0u)); }
fn nan_() -> f32 { return bitcast<f32>(0x7fc00000u | (M(0u) & 0u)); }
`;

/** The `enable` directive a shader with f16 bindings needs first. */
export const ENABLE_F16 = "enable f16;\n";

/** Storage element type of a binding: the kernel's type, or its f16 form for half tensors. */
function storageType(s: BindingSpec, half: boolean): string {
  if (!half) return s.type;
  if (s.type === "f32") return "f16";
  if (s.type === "vec4<f32>") return "vec4<f16>";
  if (s.type === "u32") return "f16";
  throw new Error(`binding ${s.name} (${s.type}) cannot hold an f16 tensor`);
}

/**
 * Declarations for all bindings; `pages[i]` = number of pages of binding i, `half[i]` = binding i
 * holds an f16 tensor.
 */
export function bindingDecls(
  specs: BindingSpec[],
  pages: number[],
  pageElems: number,
  half: boolean[] = [],
): string {
  const out = [
    META,
    `const PAGE: u32 = ${pageElems}u;`,
    `const PAGE4: u32 = ${pageElems / 4}u;`,
    `const PAGEH: u32 = ${pageElems * 2}u;`,
    `const PAGEH4: u32 = ${pageElems / 2}u;`,
  ];
  let slot = 1;
  specs.forEach((s, i) => {
    const np = pages[i] ?? 1;
    const access = s.write ? "read_write" : "read";
    const names: string[] = [];
    const h = half[i] === true;
    for (let p = 0; p < np; p++) {
      const nm = np === 1 ? s.name : `${s.name}_p${p}`;
      names.push(nm);
      out.push(
        `@group(0) @binding(${slot++}) var<storage, ${access}> ${nm}: array<${storageType(s, h)}>;`,
      );
    }
    out.push(accessors(s, names, h));
  });
  return out.join("\n");
}

function pageSwitch(names: string[], body: (nm: string) => string, page: string): string {
  const cases = names.map((nm, p) =>
    p === names.length - 1 ? `default: { ${body(nm)} }` : `case ${p}u: { ${body(nm)} }`,
  );
  return `let pg_ = idx_ / ${page}; let o_ = idx_ - pg_ * ${page}; switch pg_ { ${cases.join(" ")} }`;
}

function accessors(s: BindingSpec, names: string[], half: boolean): string {
  const n = s.name;
  const st = storageType(s, half);
  const raw = s.type === "u32";
  const t = raw ? st : s.type;
  // f16 storage behind f32 accessors: widen on load, round once on store
  const widen = half && !raw;
  const load = (e: string) => (widen ? `${t}(${e})` : e);
  const store = (e: string) => (widen ? `${st}(${e})` : e);
  const alias = raw ? `alias W_${n} = ${t};\n` : "";
  if (names.length === 1) {
    const ld = `${alias}fn ld_${n}(idx_: u32) -> ${t} { return ${load(`${n}[idx_]`)}; }`;
    return s.write
      ? `${ld}\nfn st_${n}(idx_: u32, val_: ${t}) { ${n}[idx_] = ${store("val_")}; }`
      : ld;
  }
  const vec = t === "vec4<f32>";
  const page = half ? (vec ? "PAGEH4" : "PAGEH") : vec ? "PAGE4" : "PAGE";
  const ld = `${alias}fn ld_${n}(idx_: u32) -> ${t} { var r_: ${t}; ${pageSwitch(names, (nm) => `r_ = ${load(`${nm}[o_]`)};`, page)} return r_; }`;
  if (!s.write) return ld;
  return `${ld}\nfn st_${n}(idx_: u32, val_: ${t}) { ${pageSwitch(names, (nm) => `${nm}[o_] = ${store("val_")};`, page)} }`;
}
