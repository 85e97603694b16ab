// Optimizer updates, one parameter tensor per dispatch, and the step counter.
//
// AdamW (decoupled weight decay, as in PyTorch):
//   m = β₁ m + (1 - β₁) g;  v = β₂ v + (1 - β₂) g²
//   w = w - lr (m / c₁ / (sqrt(v / c₂) + ε) + λ w),  c_i = 1 - β_iᵗ
// SGD with momentum (PyTorch's form): m = μ m + (g + λ w);  w = w - lr m.
// In f16 training the gradients g arrive multiplied by the loss scale and are divided by
// it first (grad_unscale); the weights, moments and update are f32 throughout.
//
// The bias corrections c_i are kept in the state buffer and advanced as
// c_i ← (1 - β_i) + β_i c_i, which is exact in real arithmetic and, unlike 1 - pow(β, t),
// loses no digits to cancellation when β is close to 1.

struct OptParams {
    n: u32,
    // 1 / the loss scale the gradients carry (1 in f32 training).
    grad_unscale: f32,
    lr: f32,
    weight_decay: f32,
    beta1: f32,
    beta2: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    eps: f32,
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
}

struct State {
    step: u32,
    bias_correction1: f32,
    bias_correction2: f32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> w: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: State;
@group(0) @binding(5) var<uniform> p: OptParams;

@compute @workgroup_size(256)
fn adamw(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c1 = p.one_minus_beta1 + p.beta1 * state.bias_correction1;
    let c2 = p.one_minus_beta2 + p.beta2 * state.bias_correction2;
    for (var e = gid.x; e < p.n; e += nwg.x * 256u) {
        let gi = g[e] * p.grad_unscale;
        let mi = p.beta1 * m[e] + p.one_minus_beta1 * gi;
        let vi = p.beta2 * v[e] + p.one_minus_beta2 * gi * gi;
        m[e] = mi;
        v[e] = vi;
        let wi = w[e];
        w[e] = wi - p.lr * ((mi / c1) / (sqrt(vi / c2) + p.eps) + p.weight_decay * wi);
    }
}

@compute @workgroup_size(256)
fn sgd(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    for (var e = gid.x; e < p.n; e += nwg.x * 256u) {
        let wi = w[e];
        let mi = p.beta1 * m[e] + g[e] * p.grad_unscale + p.weight_decay * wi;
        m[e] = mi;
        w[e] = wi - p.lr * mi;
    }
}

// The last dispatch of a step: count it and advance the bias corrections.
@compute @workgroup_size(1)
fn advance() {
    state.step = state.step + 1u;
    state.bias_correction1 = p.one_minus_beta1 + p.beta1 * state.bias_correction1;
    state.bias_correction2 = p.one_minus_beta2 + p.beta2 * state.bias_correction2;
}
