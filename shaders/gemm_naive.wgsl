// Naive GEMM: one output element per invocation, operands straight from global memory.
// C[M×N] = op(A)·op(B). The reference every faster kernel is compared against.
//
// Layouts (row-major storage):
//   TRANS_A = false: A is M×K (a[i*K + k]);  true: A is stored K×M (a[k*M + i])
//   TRANS_B = false: B is K×N (b[k*N + j]);  true: B is stored N×K (b[j*K + k])
// NN = (false, false) forward, NT = (false, true) input gradient,
// TN = (true, false) weight gradient.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
// Self-tests of verification only: 1 skips the last term of every dot product; 2 adds 1
// to every output of one interior 16×16 tile (the one holding C[M/2, N/2]).
override FAULT: u32 = 0u;

// Operand type of A and B: f32 here; the f16 variant of this file (kernels::precision)
// declares `enable f16;` and sets these to f16. Every load converts to f32.
alias In = f32;

// Batches: workgroup z is the product; its A starts at z · batch_a elements, its B at
// (z / share_b) · batch_b (share_b products read one B), its C at z · M · N.
struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Consecutive products that read one B (see the batch note above).
    share_b: u32,
    // Elements between consecutive products' A, and between distinct Bs.
    batch_a: u32,
    batch_b: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> a: array<In>;
@group(0) @binding(1) var<storage, read> b: array<In>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y;
    let j = gid.x;
    if (i >= p.m || j >= p.n) {
        return;
    }
    let ab = gid.z * p.batch_a;
    let bb = (gid.z / p.share_b) * p.batch_b;
    var kend = p.k;
    if (FAULT == 1u) {
        kend = p.k - 1u;
    }
    var acc = 0.0;
    for (var k = 0u; k < kend; k++) {
        var av: f32;
        var bv: f32;
        if (TRANS_A) { av = f32(a[ab + k * p.m + i]); } else { av = f32(a[ab + i * p.k + k]); }
        if (TRANS_B) { bv = f32(b[bb + j * p.k + k]); } else { bv = f32(b[bb + k * p.n + j]); }
        acc = fma(av, bv, acc);
    }
    if (FAULT == 2u && i / 16u == (p.m / 2u) / 16u && j / 16u == (p.n / 2u) / 16u) {
        acc += 1.0;
    }
    c[gid.z * p.m * p.n + i * p.n + j] = acc;
}
