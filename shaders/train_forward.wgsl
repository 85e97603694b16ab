// Forward elementwise work of a dense layer, after its GEMM Z = X·W: add the bias to Z in
// place (Z is kept for the backward pass) and, between layers, write the activation
// GELU(Z) (tanh form) as the next layer's input.
//
// Every entry point walks its elements with a grid-stride loop, so any size runs with at
// most 65535 workgroups.

// Type of the activations written for the next layer's GEMM: f32, or f16 in the f16
// variant of this file (kernels::precision::f16_variant), where every GEMM reads f16.
alias Act = f32;

struct Dims {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> z: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> act: array<Act>;
@group(0) @binding(3) var<uniform> d: Dims;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

// GELU, tanh approximation (as in GPT-2 and BERT). The argument of tanh is clamped where
// tanh is ±1 in f32 anyway, so no implementation can overflow inside it.
fn gelu(x: f32) -> f32 {
    let u = clamp(SQRT_2_OVER_PI * (x + GELU_C * x * x * x), -15.0, 15.0);
    return 0.5 * x * (1.0 + tanh(u));
}

@compute @workgroup_size(256)
fn bias_gelu(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let total = d.rows * d.cols;
    for (var e = gid.x; e < total; e += nwg.x * 256u) {
        let v = z[e] + bias[e % d.cols];
        z[e] = v;
        act[e] = Act(gelu(v));
    }
}

@compute @workgroup_size(256)
fn bias_only(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let total = d.rows * d.cols;
    for (var e = gid.x; e < total; e += nwg.x * 256u) {
        z[e] = z[e] + bias[e % d.cols];
    }
}
