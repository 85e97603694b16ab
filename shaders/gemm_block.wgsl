// Register-blocked GEMM family: C[M×N] = op(A)·op(B), f32 in, f32 accumulate.
//
// A workgroup of WG_X × WG_Y invocations computes one BM × BN block of C (or, with
// split-K, one block's partial sum over a range of K; see below). K is walked in slices
// of BK; each slice of A (BM × BK) and B (BK × BN) is staged through workgroup memory.
//
// Per invocation: a TM × TN tile of accumulators (TM, TN ∈ {4, 8}) held as vec4s. Its
// rows are 4-row groups strided by 4·WG_Y, its columns 4-column groups strided by
// 4·WG_X, so each K step reads TM/4 + TN/4 vec4s from workgroup memory for TM·TN FMAs,
// neighbouring invocations read neighbouring vec4s (no bank conflicts: invocations that
// share a row group read the same address, a broadcast), and the final stores of C are
// vec4s that neighbouring invocations write side by side.
//
// Workgroup memory is k-major for both operands (As[k][m], Bs[k][n]) and double
// buffered: while the FMAs run on one slice, the next slice's global loads are already
// in flight into registers, and they are stored into the other buffer afterwards, so one
// barrier per slice suffices. Each k-row is padded by one vec4: when a row-major operand
// is transposed into k-major order, the invocations that store the same k but the next
// k-quad then land 16 banks apart instead of on the same banks.
//
// Global loads are vec4s through a second, vec4-typed binding of the same buffer
// (`a4`, `b4`, `c4`) wherever the row stride allows (a multiple of 4) and the whole vec4
// lies inside the matrix; elsewhere four bounds-checked scalar loads zero-fill past the
// edges. So any M, N, K ≥ 1 is correct, with no padding of the caller's buffers. The
// host binds a 16-byte placeholder to a vec4 binding whose stride is not a multiple of 4;
// the shader never reads it then (ALIGNED_* in the uniform block say which).
//
// Split-K: workgroup z sums K from z·k_split to min(K, (z+1)·k_split) and writes its
// partial block to c at offset z·M·N; the host binds a workspace there and a second
// dispatch (gemm_splitk_reduce.wgsl) adds the partial sums in a fixed order. With one
// split, z = 0 and c is the caller's C.
//
// Parameters are `override` constants. Function-scope arrays cannot have override sizes
// in WGSL, so the register arrays are sized for the largest tile (8×8, four staged
// vec4s) and every loop over them is bounded by an override: after specialisation the
// trip counts are constants, the drivers unroll the loops, and the unused elements
// disappear. Workgroup arrays can and do use override sizes.
//
// Contract (checked on the Rust side, `BlockConfig::check`): TM, TN ∈ {4, 8};
// WG_X = BN / TN; WG_Y = BM / TM; BK a multiple of 4; LOADS_A = ceil(BM·BK / 4 / NT)
// ≤ 4, LOADS_B likewise.
// Layouts as in gemm_naive.wgsl: TRANS_A = A stored K×M, TRANS_B = B stored N×K.

override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 8u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override LOADS_A: u32 = 1u;
override LOADS_B: u32 = 1u;

override NT: u32 = WG_X * WG_Y;
// vec4s per k-row of the staged tiles (one vec4 of padding) and per buffer.
override A_ROW: u32 = BM / 4u + 1u;
override B_ROW: u32 = BN / 4u + 1u;
override A_BUF: u32 = BK * A_ROW;
override B_BUF: u32 = BK * B_ROW;

// The operand types, the uniform block, the bindings and the global loads are in
// gemm_operands.wgsl, B's staging in gemm_block_common.wgsl; the host appends both.

var<workgroup> As: array<vec4<f32>, 2u * A_BUF>; // As[buf][k][m / 4]
var<workgroup> Bs: array<vec4<f32>, 2u * B_BUF>; // Bs[buf][k][n / 4]

// The e-th vec4 of A's slice in f32 (see fetch_a in gemm_operands.wgsl).
fn load_a(e: u32, row0: u32, kt: u32, kend: u32) -> vec4<f32> {
    return vec4<f32>(fetch_a(e, row0, kt, kend));
}

fn store_a(e: u32, buf: u32, v: vec4<f32>) {
    if (TRANS_A) {
        As[buf * A_BUF + (e / (BM / 4u)) * A_ROW + e % (BM / 4u)] = v;
    } else {
        let k4 = (e % (BK / 4u)) * 4u;
        let i = e / (BK / 4u);
        let base = buf * A_BUF + i / 4u;
        for (var q = 0u; q < 4u; q++) {
            As[base + (k4 + q) * A_ROW][i % 4u] = v[q];
        }
    }
}

// load_b and store_b (B's staging) are in gemm_block_common.wgsl.

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let tx = lid.x;
    let ty = lid.y;
    let tid = ty * WG_X + tx;
    let row0 = wid.y * BM;
    let col0 = wid.x * BN;
    let ps = set_product(wid.z);
    let kbeg = ps.y * p.k_split;
    let kend = min(p.k, kbeg + p.k_split);
    var ntiles = 0u;
    if (kend > kbeg) {
        ntiles = (kend - kbeg + BK - 1u) / BK;
    }

    // acc[(row group · 4 + row) · 2 + column group]
    var acc: array<vec4<f32>, 16>;
    var sa: array<vec4<f32>, 4>;
    var sb: array<vec4<f32>, 4>;
    var av: array<vec4<f32>, 2>;
    var bv: array<vec4<f32>, 2>;

    if (ntiles > 0u) {
        for (var l = 0u; l < LOADS_A; l++) {
            let e = tid + l * NT;
            if (e < BM * BK / 4u) {
                store_a(e, 0u, load_a(e, row0, kbeg, kend));
            }
        }
        for (var l = 0u; l < LOADS_B; l++) {
            let e = tid + l * NT;
            if (e < BK * BN / 4u) {
                store_b(e, 0u, load_b(e, col0, kbeg, kend));
            }
        }
    }
    workgroupBarrier();

    for (var t = 0u; t < ntiles; t++) {
        let cur = t & 1u;
        let next = t + 1u < ntiles;
        if (next) {
            let kt = kbeg + (t + 1u) * BK;
            for (var l = 0u; l < LOADS_A; l++) {
                let e = tid + l * NT;
                if (e < BM * BK / 4u) {
                    sa[l] = load_a(e, row0, kt, kend);
                }
            }
            for (var l = 0u; l < LOADS_B; l++) {
                let e = tid + l * NT;
                if (e < BK * BN / 4u) {
                    sb[l] = load_b(e, col0, kt, kend);
                }
            }
        }

        let abase = cur * A_BUF + ty;
        let bbase = cur * B_BUF + tx;
        for (var kk = 0u; kk < BK; kk++) {
            for (var g = 0u; g < TM / 4u; g++) {
                av[g] = As[abase + kk * A_ROW + g * WG_Y];
            }
            for (var h = 0u; h < TN / 4u; h++) {
                bv[h] = Bs[bbase + kk * B_ROW + h * WG_X];
            }
            for (var g = 0u; g < TM / 4u; g++) {
                for (var i = 0u; i < 4u; i++) {
                    let s = vec4<f32>(av[g][i]);
                    for (var h = 0u; h < TN / 4u; h++) {
                        let x = (g * 4u + i) * 2u + h;
                        acc[x] = fma(s, bv[h], acc[x]);
                    }
                }
            }
        }

        if (next) {
            for (var l = 0u; l < LOADS_A; l++) {
                let e = tid + l * NT;
                if (e < BM * BK / 4u) {
                    store_a(e, 1u - cur, sa[l]);
                }
            }
            for (var l = 0u; l < LOADS_B; l++) {
                let e = tid + l * NT;
                if (e < BK * BN / 4u) {
                    store_b(e, 1u - cur, sb[l]);
                }
            }
        }
        workgroupBarrier();
    }

    let zoff = ps.y * p.c_len + ps.x * p.m * p.n;
    for (var g = 0u; g < TM / 4u; g++) {
        for (var i = 0u; i < 4u; i++) {
            let gi = row0 + (ty + g * WG_Y) * 4u + i;
            if (gi >= p.m) {
                continue;
            }
            for (var h = 0u; h < TN / 4u; h++) {
                let gj = col0 + (tx + h * WG_X) * 4u;
                if (gj >= p.n) {
                    continue;
                }
                let v = acc[(g * 4u + i) * 2u + h];
                let o = zoff + gi * p.n + gj;
                if (p.aligned_c == 1u) {
                    c4[o / 4u] = v;
                } else {
                    for (var q = 0u; q < 4u; q++) {
                        if (gj + q < p.n) {
                            c[o + q] = v[q];
                        }
                    }
                }
            }
        }
    }
}
