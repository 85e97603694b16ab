// Mean squared error of the network's output Y against the targets T, and its gradient:
// loss = Σ (y - t)² / n, dY = 2 (y - t) / n. Each workgroup writes a partial sum; `finish`
// adds them up and stores the loss in the slot of the current step, where the host reads
// it back every few steps.

// Type of dY, which the last layer's GEMMs read: f32, or f16 in the f16 variant of this
// file (kernels::precision::f16_variant), where grad_scale includes the loss scale.
alias Act = f32;

struct LossParams {
    n: u32,
    workgroups: u32,
    grad_scale: f32,
    inv_n: f32,
}

struct State {
    step: u32,
    bias_correction1: f32,
    bias_correction2: f32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> dy: array<Act>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(4) var<uniform> p: LossParams;
@group(0) @binding(5) var<storage, read> state: State;
@group(0) @binding(6) var<storage, read_write> losses: array<f32>;

var<workgroup> sums: array<f32, 256>;

fn reduce(lid: u32) {
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            sums[lid] += sums[lid + s];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn mse(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    var acc = 0.0;
    for (var e = wid.x * 256u + lid.x; e < p.n; e += p.workgroups * 256u) {
        let r = y[e] - t[e];
        acc += r * r;
        dy[e] = Act(p.grad_scale * r);
    }
    sums[lid.x] = acc;
    reduce(lid.x);
    if (lid.x == 0u) {
        partial[wid.x] = sums[0];
    }
}

@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_id) lid: vec3<u32>) {
    var acc = 0.0;
    for (var i = lid.x; i < p.workgroups; i += 256u) {
        acc += partial[i];
    }
    sums[lid.x] = acc;
    reduce(lid.x);
    if (lid.x == 0u && state.step < arrayLength(&losses)) {
        losses[state.step] = sums[0] * p.inv_n;
    }
}
