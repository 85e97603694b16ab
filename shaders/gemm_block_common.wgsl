// What gemm_block.wgsl and gemm_subgroup.wgsl share on top of gemm_operands.wgsl; the
// host appends this file (and that one) to each. The including shader declares the
// override constants used here (TRANS_B, BK, BN, B_BUF, B_ROW) and the workgroup tile Bs.

@group(0) @binding(6) var<storage, read_write> c4: array<vec4<f32>>;

// B's staging: load_b reads the e-th vec4 of B's slice in f32; store_b puts it into the
// k-major, double-buffered workgroup tile Bs.
fn load_b(e: u32, col0: u32, kt: u32, kend: u32) -> vec4<f32> {
    return vec4<f32>(fetch_b(e, col0, kt, kend));
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
