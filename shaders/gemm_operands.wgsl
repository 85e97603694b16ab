// What every tiled GEMM kernel reads its operands with (gemm_block.wgsl,
// gemm_subgroup.wgsl, gemm_coopmat.wgsl; the host appends this file to each): the
// operand type, the uniform block, the bindings of A, B, C and their vec4 views, and
// the global loads of one vec4 of an operand's K slice. The including shader declares
// the override constants used here (TRANS_A, TRANS_B, BM, BN, BK).
//
// Global loads are vec4s through a second, vec4-typed binding of the same buffer (`a4`,
// `b4`) wherever the row stride allows (a multiple of 4, ALIGNED_* in the uniform block)
// and the whole vec4 lies inside the matrix; elsewhere four bounds-checked scalar loads
// zero-fill past the edges, so any M, N, K ≥ 1 is correct and nothing is read out of
// bounds. The host binds a 16-byte placeholder to a vec4 binding it will not read.
//
// Batches: workgroup z is product · splits + split. A product's A starts at
// product · batch_a elements and its B at (product / share_b) · batch_b (share_b products
// read one B: grouped-query attention); set_product() sets these bases, and every load
// adds them. Products' C lie one after the other, M·N apart; with split-K the partial sums
// of split s start at s · c_len (all products' C).

// Operand type of A and B: f32 here; the f16 variant of the kernel (kernels::precision)
// declares `enable f16;` and sets these to f16.
alias In = f32;
alias In4 = vec4<f32>;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // K range of one split (a multiple of BK); K itself without split-K.
    k_split: u32,
    // 1 when the row stride of the vec4 path is a multiple of 4, per operand.
    aligned_a: u32,
    aligned_b: u32,
    aligned_c: u32,
    // K splits per product (1: none).
    splits: u32,
    // Elements between consecutive products' A, and between distinct Bs.
    batch_a: u32,
    batch_b: u32,
    // Consecutive products that read one B.
    share_b: u32,
    // Entries of all products' C.
    c_len: u32,
}

@group(0) @binding(0) var<storage, read> a: array<In>;
@group(0) @binding(1) var<storage, read> b: array<In>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read> a4: array<In4>;
@group(0) @binding(5) var<storage, read> b4: array<In4>;

// Where this workgroup's product's A and B start (see set_product).
var<private> a_base: u32;
var<private> b_base: u32;

// The product and the split of workgroup `z`; sets the operands' bases.
fn set_product(z: u32) -> vec2<u32> {
    let product = z / p.splits;
    a_base = product * p.batch_a;
    b_base = (product / p.share_b) * p.batch_b;
    return vec2<u32>(product, z % p.splits);
}

// The e-th vec4 of A's slice of BK starting at k = kt, zero-filled past the matrix's
// edges and past kend, in the operand's own type.
fn fetch_a(e: u32, row0: u32, kt: u32, kend: u32) -> In4 {
    var v = In4(0.0);
    if (TRANS_A) {
        // Stored K×M: a k-row of BM values, vec4 along m.
        let gm = row0 + (e % (BM / 4u)) * 4u;
        let gk = kt + e / (BM / 4u);
        if (gk >= kend) {
            return v;
        }
        if (p.aligned_a == 1u && gm < p.m) {
            return a4[(a_base + gk * p.m + gm) / 4u];
        }
        for (var q = 0u; q < 4u; q++) {
            if (gm + q < p.m) {
                v[q] = a[a_base + gk * p.m + gm + q];
            }
        }
    } else {
        // Stored M×K: a row of BK values, vec4 along k.
        let gk = kt + (e % (BK / 4u)) * 4u;
        let gi = row0 + e / (BK / 4u);
        if (gi >= p.m) {
            return v;
        }
        if (p.aligned_a == 1u && gk + 3u < kend) {
            return a4[(a_base + gi * p.k + gk) / 4u];
        }
        for (var q = 0u; q < 4u; q++) {
            if (gk + q < kend) {
                v[q] = a[a_base + gi * p.k + gk + q];
            }
        }
    }
    return v;
}

// The e-th vec4 of B's slice of BK starting at k = kt, likewise.
fn fetch_b(e: u32, col0: u32, kt: u32, kend: u32) -> In4 {
    var v = In4(0.0);
    if (TRANS_B) {
        // Stored N×K: a row of BK values, vec4 along k.
        let gk = kt + (e % (BK / 4u)) * 4u;
        let gj = col0 + e / (BK / 4u);
        if (gj >= p.n) {
            return v;
        }
        if (p.aligned_b == 1u && gk + 3u < kend) {
            return b4[(b_base + gj * p.k + gk) / 4u];
        }
        for (var q = 0u; q < 4u; q++) {
            if (gk + q < kend) {
                v[q] = b[b_base + gj * p.k + gk + q];
            }
        }
    } else {
        // Stored K×N: a k-row of BN values, vec4 along n.
        let gj = col0 + (e % (BN / 4u)) * 4u;
        let gk = kt + e / (BN / 4u);
        if (gk >= kend) {
            return v;
        }
        if (p.aligned_b == 1u && gj < p.n) {
            return b4[(b_base + gk * p.n + gj) / 4u];
        }
        for (var q = 0u; q < 4u; q++) {
            if (gj + q < p.n) {
                v[q] = b[b_base + gk * p.n + gj + q];
            }
        }
    }
    return v;
}
