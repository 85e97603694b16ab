// Cooperative-matrix (tensor-core) peak: every subgroup multiplies f16 FRAG × FRAG
// fragments back to back into four accumulators, with no global memory traffic. Its
// operands change every iteration: each iteration loads two A and two B fragments from
// workgroup memory at offsets that depend on the iteration (four tiles of each, filled
// once from the uniform block), so no product can be hoisted out of the loop, and the
// four products of an iteration are independent of each other. The accumulators are
// stored to workgroup memory and one entry of their sum is written only when it equals
// a runtime sentinel (never, in practice), so the products cannot be deleted.
// FLOP per dispatch = subgroups · iters · 4 · 2 · FRAG³.
//
// The fragment types are spelled `coop_mat16x16` and the accumulator type ACC is f32;
// for 8×8 fragments the host replaces them with `coop_mat8x8` (and sets FRAG = 8), and
// for f16 accumulators it sets ACC to f16 (src/workloads/peaks/matrix.rs). Pointers and
// strides are multiples of 16 bytes, as Vulkan requires of cooperative loads and stores.

enable f16;
enable wgpu_cooperative_matrix;

alias ACC = f32;

override FRAG: u32 = 16u;
// Subgroups per workgroup, and invocations per subgroup (the adapter's fixed size).
override SUBGROUPS: u32 = 4u;
override LANES: u32 = 32u;
override WG: u32 = SUBGROUPS * LANES;

// Params `p` and the output `out`: shaders/peak_params.wgsl, appended by the host.

// Four tiles of A and four of B.
var<workgroup> As: array<f16, 4u * FRAG * FRAG>;
var<workgroup> Bs: array<f16, 4u * FRAG * FRAG>;
// Each subgroup's four accumulators, stored at the end.
var<workgroup> Cs: array<ACC, SUBGROUPS * 4u * FRAG * FRAG>;

@compute @workgroup_size(WG, 1, 1)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
    @builtin(subgroup_id) sg: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let tile = FRAG * FRAG;
    for (var e = tid; e < 4u * tile; e += WG) {
        As[e] = f16(p.mul * f32(e % 7u + 1u) * 0.01);
        Bs[e] = f16(p.add * f32(e % 5u + 1u));
    }
    workgroupBarrier();
    var c0: coop_mat16x16<ACC, C>;
    var c1: coop_mat16x16<ACC, C>;
    var c2: coop_mat16x16<ACC, C>;
    var c3: coop_mat16x16<ACC, C>;
    let stride = FRAG;
    for (var i = 0u; i < p.iters; i++) {
        let o0 = (i & 3u) * tile;
        let o1 = ((i + 1u) & 3u) * tile;
        let a0 = coopLoad<coop_mat16x16<f16, A>>(&As[o0], stride);
        let a1 = coopLoad<coop_mat16x16<f16, A>>(&As[o1], stride);
        let b0 = coopLoad<coop_mat16x16<f16, B>>(&Bs[o1], stride);
        let b1 = coopLoad<coop_mat16x16<f16, B>>(&Bs[o0], stride);
        c0 = coopMultiplyAdd(a0, b0, c0);
        c1 = coopMultiplyAdd(a0, b1, c1);
        c2 = coopMultiplyAdd(a1, b0, c2);
        c3 = coopMultiplyAdd(a1, b1, c3);
    }
    // Every operand of a cooperative store is bound with `let` first (see
    // gemm_coopmat.wgsl: naga 30's WGSL front end needs it).
    let base = sg * 4u * tile;
    let s1 = base + tile;
    let s2 = base + 2u * tile;
    let s3 = base + 3u * tile;
    let f0 = c0;
    let f1 = c1;
    let f2 = c2;
    let f3 = c3;
    coopStore(f0, &Cs[base], stride);
    coopStore(f1, &Cs[s1], stride);
    coopStore(f2, &Cs[s2], stride);
    coopStore(f3, &Cs[s3], stride);
    workgroupBarrier();
    let e = base + lane % tile;
    let t = f32(Cs[e]) + f32(Cs[e + tile]) + f32(Cs[e + 2u * tile]) + f32(Cs[e + 3u * tile]);
    if (t == p.sentinel) {
        out[(gid.y * p.row + gid.x) % arrayLength(&out)] = t;
    }
}
