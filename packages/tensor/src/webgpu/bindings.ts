// Generates WGSL binding declarations with ld_/st_ accessors. A binding larger than the adapter's
// maxStorageBufferBindingSize is split into pages (several bindings of one buffer) transparently.
import type { BindingSpec } from "../kernels/kernel";

const META = /* wgsl */ `struct Meta { w: array<vec4<u32>, 16> }
@group(0) @binding(0) var<uniform> kmeta: Meta;
fn M(i: u32) -> u32 { return kmeta.w[i / 4u][i % 4u]; }
fn Mf(i: u32) -> f32 { return bitcast<f32>(M(i)); }
fn Mi(i: u32) -> i32 { return bitcast<i32>(M(i)); }
fn ninf_() -> f32 { return bitcast<f32>(0xff800000u | (M(0u) & 0u)); }
fn nan_() -> f32 { return bitcast<f32>(0x7fc00000u | (M(0u) & 0u)); }
`;

/** Declarations for all bindings; `pages[i]` = number of pages of binding i. */
export function bindingDecls(specs: BindingSpec[], pages: number[], pageElems: number): string {
  const out = [META, `const PAGE: u32 = ${pageElems}u;`, `const PAGE4: u32 = ${pageElems / 4}u;`];
  let slot = 1;
  specs.forEach((s, i) => {
    const np = pages[i] ?? 1;
    const access = s.write ? "read_write" : "read";
    const names: string[] = [];
    for (let p = 0; p < np; p++) {
      const nm = np === 1 ? s.name : `${s.name}_p${p}`;
      names.push(nm);
      out.push(`@group(0) @binding(${slot++}) var<storage, ${access}> ${nm}: array<${s.type}>;`);
    }
    out.push(accessors(s, names));
  });
  return out.join("\n");
}

function pageSwitch(names: string[], body: (nm: string) => string, vec = false): string {
  const page = vec ? "PAGE4" : "PAGE";
  const cases = names.map((nm, p) =>
    p === names.length - 1 ? `default: { ${body(nm)} }` : `case ${p}u: { ${body(nm)} }`,
  );
  return `let pg_ = idx_ / ${page}; let o_ = idx_ - pg_ * ${page}; switch pg_ { ${cases.join(" ")} }`;
}

function accessors(s: BindingSpec, names: string[]): string {
  const n = s.name;
  const t = s.type;
  if (names.length === 1) {
    const ld = `fn ld_${n}(idx_: u32) -> ${t} { return ${n}[idx_]; }`;
    return s.write ? `${ld}\nfn st_${n}(idx_: u32, val_: ${t}) { ${n}[idx_] = val_; }` : ld;
  }
  const vec = t === "vec4<f32>";
  const ld = `fn ld_${n}(idx_: u32) -> ${t} { var r_: ${t}; ${pageSwitch(names, (nm) => `r_ = ${nm}[o_];`, vec)} return r_; }`;
  if (!s.write) return ld;
  return `${ld}\nfn st_${n}(idx_: u32, val_: ${t}) { ${pageSwitch(names, (nm) => `${nm}[o_] = val_;`, vec)} }`;
}
