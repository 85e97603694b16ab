// Arithmetic peak, chains as named values: every invocation runs CHAINS independent FMA
// chains x0, x1, ... (vec4 or scalar, the alias V), UNROLL steps per loop iteration, with
// no memory traffic. The host writes each `// CHAINS:` line once per chain (`#` the
// chain's index, `@` its index + 1) and the `// STEP:` line once per step and chain,
// keeps the `// VEC4:` or the `// SCALAR:` lines (kernels of the FMA family:
// src/workloads/peaks/fma.rs), and sets V. The chains start
// from values derived from the invocation id and step by multiplier and addend from the
// uniform block, so nothing can be folded at compile time; the final sum is written only
// when it equals a runtime sentinel (never, in practice), so the chains cannot be deleted.
// FLOP per dispatch = invocations · iters · UNROLL · CHAINS · width · 2.
//
// Written for f32; the host makes the f16 variant (`enable f16;`, the aliases T and T4
// set to f16) as it does for the GEMM kernels.

alias T = f32;
alias T4 = vec4<f32>;
alias V = T4;

override WG: u32 = 256u;

// Params `p` and the output `out`: shaders/peak_params.wgsl, appended by the host.

// The start of chain c: the seed plus lane offsets, scaled by c + 1.
fn start(seed: T, c: T) -> V {
    // VEC4: return T4(seed) + T4(0.0, 0.25, 0.5, 0.75) * c;
    // SCALAR: return seed + T(0.25) * c;
}

fn total(v: V) -> f32 {
    // VEC4: let w = vec4<f32>(v);
    // VEC4: return w.x + w.y + w.z + w.w;
    // SCALAR: return f32(v);
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = gid.y * p.row + gid.x;
    let seed = T(f32(id & 1023u) * 1e-4);
    let m = V(T(p.mul));
    let a = V(T(p.add));
    // CHAINS: var x# = start(seed, T(@));
    for (var i = 0u; i < p.iters; i++) {
        // STEP: x# = fma(x#, m, a);
    }
    var t = 0.0;
    // CHAINS: t += total(x#);
    if (t == p.sentinel) {
        out[id % arrayLength(&out)] = t;
    }
}
