// Arithmetic peak, f16 (needs SHADER_F16): peak_fma_f32.wgsl with vec4<f16> chains (read
// that for the method). Multiplier and addend arrive as f32 and are rounded once.
// FLOP per dispatch = invocations · iters · UNROLL · CHAINS · 4 lanes · 2.

enable f16;

override WG: u32 = 256u;
override CHAINS: u32 = 16u; // ≤ 16
override UNROLL: u32 = 8u;

struct Params {
    iters: u32,
    row: u32,
    mul: f32,
    add: f32,
    sentinel: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = gid.y * p.row + gid.x;
    let seed = f16(f32(id & 1023u) * 1e-4);
    var x: array<vec4<f16>, 16>;
    for (var c = 0u; c < CHAINS; c++) {
        x[c] = vec4<f16>(seed) + vec4<f16>(0.0h, 0.25h, 0.5h, 0.75h) * f16(c + 1u);
    }
    let m = vec4<f16>(f16(p.mul));
    let a = vec4<f16>(f16(p.add));
    for (var i = 0u; i < p.iters; i++) {
        for (var u = 0u; u < UNROLL; u++) {
            for (var c = 0u; c < CHAINS; c++) {
                x[c] = fma(x[c], m, a);
            }
        }
    }
    var s = vec4<f32>(0.0);
    for (var c = 0u; c < CHAINS; c++) {
        s += vec4<f32>(x[c]);
    }
    let t = s.x + s.y + s.z + s.w;
    if (t == p.sentinel) {
        out[id % arrayLength(&out)] = t;
    }
}
