// Arithmetic peak (vkpeak's method), chains as an array (one form of the FMA family in
// src/workloads/peaks/fma.rs; shaders/peak_fma_named.wgsl is the other): every
// invocation runs CHAINS independent vec4 FMA chains, UNROLL steps per loop iteration,
// with no memory traffic at all. The chains
// start from values derived from the invocation id and step by multiplier and addend
// from the uniform block, so nothing can be folded at compile time; the final sum is
// written only when it equals a runtime sentinel (never, in practice), so the compiler
// cannot delete the chains either.
// FLOP per dispatch = invocations · iters · UNROLL · CHAINS · 4 lanes · 2.
//
// Written for f32; the host makes the f16 variant (`enable f16;`, the aliases below set
// to f16) as it does for the GEMM kernels. Multiplier and addend arrive as f32 and are
// rounded once.

alias T = f32;
alias T4 = vec4<f32>;

override WG: u32 = 256u;
override CHAINS: u32 = 16u; // ≤ 16
override UNROLL: u32 = 8u;

// Params `p` and the output `out`: shaders/peak_params.wgsl, appended by the host.

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = gid.y * p.row + gid.x;
    let seed = T(f32(id & 1023u) * 1e-4);
    var x: array<T4, 16>;
    for (var c = 0u; c < CHAINS; c++) {
        x[c] = T4(seed) + T4(0.0, 0.25, 0.5, 0.75) * T(c + 1u);
    }
    let m = T4(T(p.mul));
    let a = T4(T(p.add));
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
