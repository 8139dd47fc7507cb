// Shared WGSL for row kernels: one 64-thread workgroup per row (grid-stride over rows) and
// workgroup-wide sum / max through workgroup memory.

/** Threads per workgroup of row kernels. */
export const ROW_WG = 64;

/** Workgroup reduction helpers (call from uniform control flow). */
export const ROW_HELPERS = /* wgsl */ `
var<workgroup> red: array<f32, ${ROW_WG}>;
fn wgSum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wgMax(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/** Entry point header of a row kernel; the body sees `row`, `lid`. Rows count at meta word 0. */
export function rowKernel(decls: string, body: string): string {
  return /* wgsl */ `${decls}
${ROW_HELPERS}
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let rows = M(0u);
  for (var row = wid.x + wid.y * nwg.x; row < rows; row += nwg.x * nwg.y) {
${body}
  }
}`;
}

/** Workgroup grid for `rows` rows. */
export function rowGrid(rows: number): [number, number, number] {
  return [
    Math.max(1, Math.min(rows, 65535)),
    Math.max(1, Math.min(Math.ceil(rows / 65535), 65535)),
    1,
  ];
}
