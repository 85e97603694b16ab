// Cooperative-matrix (tensor-core) GEMM: C[M×N] = op(A)·op(B), A and B f16, accumulated
// and stored in f32, on FRAG × FRAG fragments (wgpu's EXPERIMENTAL_COOPERATIVE_MATRIX,
// Vulkan's VK_KHR_cooperative_matrix with 16×16×16 or 8×8×8 f16 → f32). The fragment
// types are spelled `coop_mat16x16` here; for 8×8 fragments the host replaces them with
// `coop_mat8x8` (kernels::coop::source) and sets FRAG = 8: every index below is in FRAG.
//
// A workgroup of SUBGROUPS subgroups of LANES invocations computes one BM × BN block of C
// (with split-K, one block's partial sum over a range of K, as in gemm_block.wgsl). The
// subgroups tile the block in a SG_M × SG_N grid; subgroup s owns a (F·TM) × (F·TN)
// region and holds TM·TN accumulator fragments for it. K is walked in slices of BK: each
// slice of A (BM × BK) and B (BK × BN) is staged through workgroup memory, double
// buffered (the next slice's global loads are in flight in registers while the fragments
// of this one are multiplied; one barrier per slice).
//
// Global loads are vec4<f16> (8 bytes) through a second binding of the same buffer (`a4`,
// `b4`), neighbouring invocations reading neighbouring vec4s along the operand's
// contiguous dimension; where a row's stride is not a multiple of 4 or the vec4 would
// cross an edge, four bounds-checked scalar loads are used instead. Everything outside
// the matrix (past M, N, or the end of this split's K range) is staged as 0, so a block
// at an edge multiplies zero-padded fragments and the padded outputs are simply
// not written: any M, N, K ≥ 1 is correct and nothing is read out of bounds.
//
// Storage and fragment layouts. All matrices are row-major in memory. In WGSL,
// `coopLoadT`/`coopStoreT` are row-major (SPIR-V RowMajorKHR: element (row, col) at
// ptr[row·stride + col]) and `coopLoad`/`coopStore` column-major (ColumnMajorKHR: element
// (row, col) at ptr[col·stride + row]). Each operand is staged in the orientation it has
// in global memory (so the global reads stay contiguous) and the load that matches that
// orientation is chosen:
//   A fragment = op(A)[m0..m0+F, k0..k0+F] (role A: rows m, columns k; F = FRAG)
//     NN, NT (A stored M×K): As[m][k], stride A_STRIDE = BK + 8: row-major  → coopLoadT
//     TN     (A stored K×M): As[k][m], stride A_STRIDE = BM + 8: column-major → coopLoad
//   B fragment = op(B)[k0..k0+F, n0..n0+F] (role B: rows k, columns n)
//     NN, TN (B stored K×N): Bs[k][n], stride B_STRIDE = BN + 8: row-major  → coopLoadT
//     NT     (B stored N×K): Bs[n][k], stride B_STRIDE = BK + 8: column-major → coopLoad
//   C fragment = C[m0..m0+F, n0..n0+F] (role C), C stored M×N: row-major → coopStoreT
// The 8-element (16-byte) row padding keeps the rows of one fragment on different banks.
// Vulkan requires the pointer and stride of a cooperative load or store to be 16-byte
// aligned (VUID-RuntimeSpirv-OpCooperativeMatrixLoadKHR-08986): every staged row starts
// at a multiple of 8 elements, BK, BM, BN are multiples of FRAG (8 or 16), and C is stored straight to
// global memory only when N is a multiple of 4.
//
// Epilogue: a block that lies wholly inside C (and N % 4 = 0) stores its fragments
// straight to global memory. An edge block stores each fragment to a per-subgroup
// FRAG × FRAG f32 scratch tile in workgroup memory and the subgroup's lanes copy the entries
// that are inside C. Both conditions depend only on the workgroup id and the uniform
// block, so every cooperative operation is in uniform control flow, as the WGSL
// extension requires.
//
// Parameters are `override` constants; the register arrays are sized for the largest
// configuration and every loop over them is bounded by an override (see
// gemm_block.wgsl). The subgroup index and lane come from the subgroup builtins; the host
// offers this kernel only on adapters with a fixed subgroup size equal to LANES, and
// verification before timing catches a driver that breaks the assumption.
//
// Contract (checked on the Rust side, `BlockConfig::check` / `kernels::coop`): FRAG 8 or
// 16; BM a multiple of FRAG·TM, BN of FRAG·TN; TM, TN in 1..=4; BK in {16, 32, 64}; WG = SUBGROUPS ·
// LANES; LOADS_A = ceil(BM·BK / 4 / WG) ≤ 8, LOADS_B likewise; A_STRIDE, A_BUF, B_STRIDE,
// B_BUF as above (A_BUF = rows · A_STRIDE of one staged slice).

enable wgpu_cooperative_matrix;

// Fragment size (8 or 16; the types above match it) and the verification self-test:
// FAULT = 1 skips the first K fragment of every block.
override FRAG: u32 = 16u;
override FAULT: u32 = 0u;
override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 32u;
override TM: u32 = 2u;
override TN: u32 = 2u;
override LANES: u32 = 32u;
override WG: u32 = 128u;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override LOADS_A: u32 = 1u;
override LOADS_B: u32 = 1u;
override A_STRIDE: u32 = 40u;
override A_BUF: u32 = 2560u;
override B_STRIDE: u32 = 72u;
override B_BUF: u32 = 2304u;

// Subgroups across one block row, and in all.
override SG_N: u32 = BN / (FRAG * TN);
override SUBGROUPS: u32 = (BM / (FRAG * TM)) * SG_N;

// The operand type (f16: the host makes this kernel's f16 variant), the uniform block,
// the bindings and the global loads are in gemm_operands.wgsl, appended by the host.

var<workgroup> As: array<f16, 2u * A_BUF>;
var<workgroup> Bs: array<f16, 2u * B_BUF>;
// One FRAG × FRAG f32 tile per subgroup, for the edge blocks' epilogue.
var<workgroup> Cs: array<f32, SUBGROUPS * FRAG * FRAG>;

fn store_a(e: u32, buf: u32, v: vec4<f16>) {
    var o: u32;
    if (TRANS_A) {
        o = (e / (BM / 4u)) * A_STRIDE + (e % (BM / 4u)) * 4u;
    } else {
        o = (e / (BK / 4u)) * A_STRIDE + (e % (BK / 4u)) * 4u;
    }
    let base = buf * A_BUF + o;
    As[base] = v.x;
    As[base + 1u] = v.y;
    As[base + 2u] = v.z;
    As[base + 3u] = v.w;
}

fn store_b(e: u32, buf: u32, v: vec4<f16>) {
    var o: u32;
    if (TRANS_B) {
        o = (e / (BK / 4u)) * B_STRIDE + (e % (BK / 4u)) * 4u;
    } else {
        o = (e / (BN / 4u)) * B_STRIDE + (e % (BN / 4u)) * 4u;
    }
    let base = buf * B_BUF + o;
    Bs[base] = v.x;
    Bs[base + 1u] = v.y;
    Bs[base + 2u] = v.z;
    Bs[base + 3u] = v.w;
}

@compute @workgroup_size(WG, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
    @builtin(subgroup_id) sg: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row0 = wid.y * BM;
    let col0 = wid.x * BN;
    let ps = set_product(wid.z);
    let kbeg = ps.y * p.k_split;
    let kend = min(p.k, kbeg + p.k_split);
    var ntiles = 0u;
    if (kend > kbeg) {
        ntiles = (kend - kbeg + BK - 1u) / BK;
    }
    // This subgroup's region of the block: rows m_sg.., columns n_sg.. (block-relative).
    let m_sg = (sg / SG_N) * FRAG * TM;
    let n_sg = (sg % SG_N) * FRAG * TN;

    // acc[i · TN + j] is the fragment at rows m_sg + FRAG·i, columns n_sg + FRAG·j.
    var acc: array<coop_mat16x16<f32, C>, 16>;
    var fa: array<coop_mat16x16<f16, A>, 4>;
    var fb: array<coop_mat16x16<f16, B>, 4>;
    var sa: array<vec4<f16>, 8>;
    var sb: array<vec4<f16>, 8>;

    if (ntiles > 0u) {
        for (var l = 0u; l < LOADS_A; l++) {
            let e = tid + l * WG;
            if (e < BM * BK / 4u) {
                store_a(e, 0u, fetch_a(e, row0, kbeg, kend));
            }
        }
        for (var l = 0u; l < LOADS_B; l++) {
            let e = tid + l * WG;
            if (e < BK * BN / 4u) {
                store_b(e, 0u, fetch_b(e, col0, kbeg, kend));
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
                let e = tid + l * WG;
                if (e < BM * BK / 4u) {
                    sa[l] = fetch_a(e, row0, kt, kend);
                }
            }
            for (var l = 0u; l < LOADS_B; l++) {
                let e = tid + l * WG;
                if (e < BK * BN / 4u) {
                    sb[l] = fetch_b(e, col0, kt, kend);
                }
            }
        }

        let abase = cur * A_BUF;
        let bbase = cur * B_BUF;
        for (var kk = 0u; kk < BK; kk += FRAG) {
            if (FAULT == 1u && t == 0u && kk == 0u) {
                continue;
            }
            for (var i = 0u; i < TM; i++) {
                let m = m_sg + FRAG * i;
                if (TRANS_A) {
                    fa[i] = coopLoad<coop_mat16x16<f16, A>>(&As[abase + kk * A_STRIDE + m], A_STRIDE);
                } else {
                    fa[i] = coopLoadT<coop_mat16x16<f16, A>>(&As[abase + m * A_STRIDE + kk], A_STRIDE);
                }
            }
            for (var j = 0u; j < TN; j++) {
                let n = n_sg + FRAG * j;
                if (TRANS_B) {
                    fb[j] = coopLoad<coop_mat16x16<f16, B>>(&Bs[bbase + n * B_STRIDE + kk], B_STRIDE);
                } else {
                    fb[j] = coopLoadT<coop_mat16x16<f16, B>>(&Bs[bbase + kk * B_STRIDE + n], B_STRIDE);
                }
            }
            for (var i = 0u; i < TM; i++) {
                for (var j = 0u; j < TN; j++) {
                    acc[i * TN + j] = coopMultiplyAdd(fa[i], fb[j], acc[i * TN + j]);
                }
            }
        }

        if (next) {
            for (var l = 0u; l < LOADS_A; l++) {
                let e = tid + l * WG;
                if (e < BM * BK / 4u) {
                    store_a(e, 1u - cur, sa[l]);
                }
            }
            for (var l = 0u; l < LOADS_B; l++) {
                let e = tid + l * WG;
                if (e < BK * BN / 4u) {
                    store_b(e, 1u - cur, sb[l]);
                }
            }
        }
        workgroupBarrier();
    }

    let zoff = ps.y * p.c_len + ps.x * p.m * p.n;
    let interior = row0 + BM <= p.m && col0 + BN <= p.n && p.aligned_c == 1u;
    if (interior) {
        for (var i = 0u; i < TM; i++) {
            for (var j = 0u; j < TN; j++) {
                // Every operand of a cooperative store is bound with `let` first: naga 30's
                // WGSL front end does not emit expressions built inside coopStore's
                // arguments before the store (its SPIR-V back end then fails).
                let fragment = acc[i * TN + j];
                let offset = zoff + (row0 + m_sg + FRAG * i) * p.n + col0 + n_sg + FRAG * j;
                let stride = p.n;
                coopStoreT(fragment, &c[offset], stride);
            }
        }
    } else {
        let scratch = sg * FRAG * FRAG;
        for (var i = 0u; i < TM; i++) {
            for (var j = 0u; j < TN; j++) {
                let fragment = acc[i * TN + j];
                let tile = FRAG;
                coopStoreT(fragment, &Cs[scratch], tile);
                workgroupBarrier();
                let gi0 = row0 + m_sg + FRAG * i;
                let gj0 = col0 + n_sg + FRAG * j;
                for (var e = lane; e < FRAG * FRAG; e += LANES) {
                    let gi = gi0 + e / FRAG;
                    let gj = gj0 + e % FRAG;
                    if (gi < p.m && gj < p.n) {
                        c[zoff + gi * p.n + gj] = Cs[scratch + e];
                    }
                }
                workgroupBarrier();
            }
        }
    }
}
