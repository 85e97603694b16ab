// Shared-memory tiled, register-blocked GEMM: C[M×N] = op(A)·op(B).
//
// A workgroup of WG_X × WG_Y invocations computes one BM × BN block of C. Each K slice
// of BK is staged through workgroup memory (zero-filled past the matrix edges, so any
// M, N, K ≥ 1 works), then every invocation accumulates a TM × TN tile in registers.
// An invocation owns rows lid.y + r·WG_Y and columns lid.x + c·WG_X (strided rather
// than contiguous), so neighbouring invocations read neighbouring words of the staged
// B tile and write neighbouring words of C.
//
// Contract (checked on the Rust side): WG_X = BN / TN, WG_Y = BM / TM, TM, TN ≤ 8.
// Layouts as in gemm_naive.wgsl: TRANS_A = A stored K×M, TRANS_B = B stored N×K.

override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 16u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TRANS_A: bool = false;
override TRANS_B: bool = false;

const MAX_T: u32 = 8u;
// One word of padding per staged row keeps the column-wise stores of a transposed
// load from landing in a single bank.
override AS_STRIDE: u32 = BM + 1u;
override BS_STRIDE: u32 = BN + 1u;

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

var<workgroup> As: array<f32, BK * AS_STRIDE>; // As[kk * AS_STRIDE + i]
var<workgroup> Bs: array<f32, BK * BS_STRIDE>; // Bs[kk * BS_STRIDE + j]

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let tid = lid.y * WG_X + lid.x;
    let nthreads = WG_X * WG_Y;
    let row0 = wid.y * BM;
    let col0 = wid.x * BN;
    let ab = wid.z * p.batch_a;
    let bb = (wid.z / p.share_b) * p.batch_b;

    var acc: array<f32, 64>; // acc[r * MAX_T + c], zero-initialised
    var areg: array<f32, 8>;
    var breg: array<f32, 8>;

    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        // Stage A's BM × BK slice; consecutive invocations read consecutive addresses.
        for (var e = tid; e < BM * BK; e += nthreads) {
            var i: u32;
            var kk: u32;
            if (TRANS_A) { kk = e / BM; i = e % BM; } else { i = e / BK; kk = e % BK; }
            let gi = row0 + i;
            let gk = k0 + kk;
            var v = 0.0;
            if (gi < p.m && gk < p.k) {
                if (TRANS_A) { v = f32(a[ab + gk * p.m + gi]); } else { v = f32(a[ab + gi * p.k + gk]); }
            }
            As[kk * AS_STRIDE + i] = v;
        }
        // Stage B's BK × BN slice.
        for (var e = tid; e < BK * BN; e += nthreads) {
            var j: u32;
            var kk: u32;
            if (TRANS_B) { j = e / BK; kk = e % BK; } else { kk = e / BN; j = e % BN; }
            let gj = col0 + j;
            let gk = k0 + kk;
            var v = 0.0;
            if (gj < p.n && gk < p.k) {
                if (TRANS_B) { v = f32(b[bb + gj * p.k + gk]); } else { v = f32(b[bb + gk * p.n + gj]); }
            }
            Bs[kk * BS_STRIDE + j] = v;
        }
        workgroupBarrier();

        for (var kk = 0u; kk < BK; kk++) {
            for (var r = 0u; r < TM; r++) {
                areg[r] = As[kk * AS_STRIDE + lid.y + r * WG_Y];
            }
            for (var q = 0u; q < TN; q++) {
                breg[q] = Bs[kk * BS_STRIDE + lid.x + q * WG_X];
            }
            for (var r = 0u; r < TM; r++) {
                for (var q = 0u; q < TN; q++) {
                    acc[r * MAX_T + q] = fma(areg[r], breg[q], acc[r * MAX_T + q]);
                }
            }
        }
        workgroupBarrier();
    }

    for (var r = 0u; r < TM; r++) {
        let gi = row0 + lid.y + r * WG_Y;
        if (gi >= p.m) {
            break;
        }
        for (var q = 0u; q < TN; q++) {
            let gj = col0 + lid.x + q * WG_X;
            if (gj < p.n) {
                c[wid.z * p.m * p.n + gi * p.n + gj] = acc[r * MAX_T + q];
            }
        }
    }
}
