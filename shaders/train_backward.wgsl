// Backward elementwise work of a dense layer: the activation's gradient
// dZ = dA ⊙ GELU'(Z), and the bias gradient db = Σ_rows dZ (column sums, in two passes:
// partial sums over blocks of rows, then their sum).

// Type of dZ, which the next GEMMs read: f32, or f16 in the f16 variant of this file
// (kernels::precision::f16_variant). In f16 training dZ carries the loss scale.
alias Act = f32;

struct Dims {
    rows: u32,
    cols: u32,
    // Blocks of ROWS_PER_BLOCK rows, i.e. rows of `partial`.
    blocks: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> da: array<f32>;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> dz: array<Act>;
@group(0) @binding(3) var<uniform> d: Dims;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;
const ROWS_PER_BLOCK: u32 = 256u;

// d/dx of the tanh-form GELU in train_forward.wgsl (same clamp: where tanh is ±1 in f32
// the 1 - tanh² factor is 0).
fn gelu_grad(x: f32) -> f32 {
    let u = clamp(SQRT_2_OVER_PI * (x + GELU_C * x * x * x), -15.0, 15.0);
    let t = tanh(u);
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * x * x);
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
}

@compute @workgroup_size(256)
fn gelu_backward(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let total = d.rows * d.cols;
    for (var e = gid.x; e < total; e += nwg.x * 256u) {
        dz[e] = Act(da[e] * gelu_grad(z[e]));
    }
}

var<workgroup> lanes: array<f32, 256>;

// Workgroup (64, 4): 64 columns, four lanes of rows; workgroup y is a block of
// ROWS_PER_BLOCK rows. Neighbouring invocations read neighbouring columns.
@compute @workgroup_size(64, 4)
fn bias_grad_partial(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let col = wid.x * 64u + lid.x;
    let row0 = wid.y * ROWS_PER_BLOCK;
    let row1 = min(row0 + ROWS_PER_BLOCK, d.rows);
    var acc = 0.0;
    if (col < d.cols) {
        for (var r = row0 + lid.y; r < row1; r += 4u) {
            acc += f32(dz[r * d.cols + col]);
        }
    }
    lanes[lid.y * 64u + lid.x] = acc;
    workgroupBarrier();
    if (lid.y == 0u && col < d.cols) {
        let s = lanes[lid.x] + lanes[64u + lid.x] + lanes[128u + lid.x] + lanes[192u + lid.x];
        partial[wid.y * d.cols + col] = s;
    }
}

@compute @workgroup_size(256)
fn bias_grad_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    if (col >= d.cols) {
        return;
    }
    var acc = 0.0;
    for (var b = 0u; b < d.blocks; b++) {
        acc += partial[b * d.cols + col];
    }
    db[col] = acc;
}
