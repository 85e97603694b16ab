// Register-blocked GEMM, subgroup variant: C[M×N] = op(A)·op(B), f32.
//
// The same family as gemm_block.wgsl (read that first: split-K, vec4 loads, edges and
// the B staging are identical), with one difference: the A operand never goes through
// workgroup memory. Each subgroup of SG lanes computes a TM × (SG·TN) strip of the block:
// all its lanes share the strip's TM rows, and lane l owns the 4-column groups
// l + h·SG. For a slice of BK = SG values of K, lane l loads op(A)[row][k0 + l] for the
// strip's rows straight from global memory (vec4s of four rows when A is stored K×M;
// the next slice's values are loaded while this one is used), and at step kk every lane
// fetches lane kk's values with subgroupShuffle. B is staged
// through double-buffered workgroup memory as in the block kernel.
//
// Per K step an invocation thus reads TN/4 vec4s from workgroup memory and does TM
// shuffles, against TM/4 + TN/4 workgroup reads in the block kernel. Whether a shuffle
// is cheaper than a broadcast read of workgroup memory depends on the hardware; the
// autotuner measures it.
//
// The subgroup layout comes from the subgroup builtins, not from local_invocation_id,
// so it holds for any mapping of invocations to subgroups, provided subgroups have
// exactly SG lanes: the host offers this variant only on adapters whose subgroup size is
// fixed (subgroup_min_size = subgroup_max_size) and uses a workgroup of whole subgroups.
// Verification before timing catches a driver that breaks this.
//
// Contract (checked on the Rust side): BK = SG; TM, TN ∈ {4, 8}; BN a multiple of
// SG·TN; WG_X = (BM / TM)·(BN / (SG·TN))·SG invocations; LOADS_B = ceil(BK·BN/4 / WG_X)
// ≤ 4. WG_Y = 1; BM, BN, TM, TN, BK, LOADS_A as named in gemm_block.wgsl.

override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 8u;
override TM: u32 = 8u;
override TN: u32 = 8u;
override WG_X: u32 = 64u;
override WG_Y: u32 = 1u;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override LOADS_A: u32 = 1u;
override LOADS_B: u32 = 1u;

override SG: u32 = BK;
override NT: u32 = WG_X * WG_Y;
// Subgroups across one block row.
override SG_X: u32 = BN / (SG * TN);
override B_ROW: u32 = BN / 4u + 1u;
override B_BUF: u32 = BK * B_ROW;

// The operand types, the uniform block and the bindings are in gemm_block_common.wgsl,
// appended by the host.

var<workgroup> Bs: array<vec4<f32>, 2u * B_BUF>; // Bs[buf][k][n / 4]

// op(A)[gi .. gi+4][gk] as a vec4 (zero past the edges).
fn load_a_rows(gi: u32, gk: u32, kend: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if (gk >= kend || gi >= p.m) {
        return v;
    }
    if (TRANS_A) {
        if (p.aligned_a == 1u) {
            return vec4<f32>(a4[(a_base + gk * p.m + gi) / 4u]);
        }
        for (var q = 0u; q < 4u; q++) {
            if (gi + q < p.m) {
                v[q] = f32(a[a_base + gk * p.m + gi + q]);
            }
        }
    } else {
        for (var q = 0u; q < 4u; q++) {
            if (gi + q < p.m) {
                v[q] = f32(a[a_base + (gi + q) * p.k + gk]);
            }
        }
    }
    return v;
}

// load_b and store_b are in gemm_block_common.wgsl.

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
    @builtin(subgroup_id) sgid: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row0 = wid.y * BM;
    let col0 = wid.x * BN;
    // This subgroup's strip: TM rows from srow, SG·TN columns from scol.
    let srow = row0 + (sgid / SG_X) * TM;
    let scol = (sgid % SG_X) * SG * TN;
    let ps = set_product(wid.z);
    let kbeg = ps.y * p.k_split;
    let kend = min(p.k, kbeg + p.k_split);
    var ntiles = 0u;
    if (kend > kbeg) {
        ntiles = (kend - kbeg + BK - 1u) / BK;
    }

    var acc: array<vec4<f32>, 16>;
    var sb: array<vec4<f32>, 4>;
    var ar: array<vec4<f32>, 2>;
    var an: array<vec4<f32>, 2>;
    var bv: array<vec4<f32>, 2>;

    if (ntiles > 0u) {
        // This lane's share of the strip's first A slice: k = kbeg + lane.
        for (var g = 0u; g < TM / 4u; g++) {
            ar[g] = load_a_rows(srow + g * 4u, kbeg + lane, kend);
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
        let kt = kbeg + t * BK;
        let next = t + 1u < ntiles;
        if (next) {
            for (var l = 0u; l < LOADS_B; l++) {
                let e = tid + l * NT;
                if (e < BK * BN / 4u) {
                    sb[l] = load_b(e, col0, kt + BK, kend);
                }
            }
            for (var g = 0u; g < TM / 4u; g++) {
                an[g] = load_a_rows(srow + g * 4u, kt + BK + lane, kend);
            }
        }

        let bbase = cur * B_BUF + scol / 4u + lane;
        for (var kk = 0u; kk < BK; kk++) {
            for (var h = 0u; h < TN / 4u; h++) {
                bv[h] = Bs[bbase + kk * B_ROW + h * SG];
            }
            for (var g = 0u; g < TM / 4u; g++) {
                let av = subgroupShuffle(ar[g], kk);
                for (var i = 0u; i < 4u; i++) {
                    let s = vec4<f32>(av[i]);
                    for (var h = 0u; h < TN / 4u; h++) {
                        let x = (g * 4u + i) * 2u + h;
                        acc[x] = fma(s, bv[h], acc[x]);
                    }
                }
            }
        }

        if (next) {
            for (var l = 0u; l < LOADS_B; l++) {
                let e = tid + l * NT;
                if (e < BK * BN / 4u) {
                    store_b(e, 1u - cur, sb[l]);
                }
            }
            ar = an;
        }
        workgroupBarrier();
    }

    let zoff = ps.y * p.c_len + ps.x * p.m * p.n;
    for (var g = 0u; g < TM / 4u; g++) {
        for (var i = 0u; i < 4u; i++) {
            let gi = srow + g * 4u + i;
            if (gi >= p.m) {
                continue;
            }
            for (var h = 0u; h < TN / 4u; h++) {
                let gj = col0 + scol + (lane + h * SG) * 4u;
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
