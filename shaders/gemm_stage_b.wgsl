// The B operand's staging, shared by gemm_block.wgsl and gemm_subgroup.wgsl (the host
// appends this file to each): load_b reads the e-th vec4 of B's slice starting at k = kt
// from global memory, zero-filled past the matrix's edges; store_b puts it into the
// k-major, double-buffered workgroup tile Bs. Uses what the including shader declares:
// TRANS_B, BK, BN, B_BUF, B_ROW, Bs, b, b4 and the uniform block p.

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
