// What gemm_block.wgsl and gemm_subgroup.wgsl share; the host appends this file to each.
// The including shader declares the override constants used here (TRANS_B, BK, BN,
// B_BUF, B_ROW) and the workgroup tile Bs.

// Operand type of A and B: f32 here; the f16 variant of the kernel (kernels::precision)
// declares `enable f16;` and sets these to f16. Every load converts to f32.
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
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> a: array<In>;
@group(0) @binding(1) var<storage, read> b: array<In>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read> a4: array<In4>;
@group(0) @binding(5) var<storage, read> b4: array<In4>;
@group(0) @binding(6) var<storage, read_write> c4: array<vec4<f32>>;

// B's staging: load_b reads the e-th vec4 of B's slice starting at k = kt from global
// memory, zero-filled past the matrix's edges; store_b puts it into the k-major,
// double-buffered workgroup tile Bs.
fn load_b(e: u32, col0: u32, kt: u32, kend: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if (TRANS_B) {
        // Stored N×K: a row of BK values, vec4 along k.
        let gk = kt + (e % (BK / 4u)) * 4u;
        let gj = col0 + e / (BK / 4u);
        if (gj >= p.n) {
            return v;
        }
        if (p.aligned_b == 1u && gk + 3u < kend) {
            return vec4<f32>(b4[(gj * p.k + gk) / 4u]);
        }
        for (var q = 0u; q < 4u; q++) {
            if (gk + q < kend) {
                v[q] = f32(b[gj * p.k + gk + q]);
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
            return vec4<f32>(b4[(gk * p.n + gj) / 4u]);
        }
        for (var q = 0u; q < 4u; q++) {
            if (gj + q < p.n) {
                v[q] = f32(b[gk * p.n + gj + q]);
            }
        }
    }
    return v;
}

fn store_b(e: u32, buf: u32, v: vec4<f32>) {
    if (TRANS_B) {
        let k4 = (e % (BK / 4u)) * 4u;
        let j = e / (BK / 4u);
        let base = buf * B_BUF + j / 4u;
        for (var q = 0u; q < 4u; q++) {
            Bs[base + (k4 + q) * B_ROW][j % 4u] = v[q];
        }
    } else {
        Bs[buf * B_BUF + (e / (BN / 4u)) * B_ROW + e % (BN / 4u)] = v;
    }
}
