// Bandwidth peak: each invocation copies one vec4 from src to dst. Bytes per dispatch =
// 2 · 16 · len (read + written), the convention of device-to-device copy benchmarks.

override WG: u32 = 256u;

struct Params {
    // vec4s to copy.
    len: u32,
    // Invocations per row of the 2-D dispatch.
    row: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * p.row + gid.x;
    if (i < p.len) {
        dst[i] = src[i];
    }
}
