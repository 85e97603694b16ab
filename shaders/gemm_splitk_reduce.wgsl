// Second step of split-K: C = the sum of the SPLITS partial products in the workspace,
// added in a fixed order (split 0 first), so results do not depend on scheduling.
// One invocation per four entries of C; the vec4 path needs M·N to be a multiple of 4.

override WG: u32 = 256u;

struct Params {
    // Entries of C (M·N).
    len: u32,
    splits: u32,
    // Invocations per row of the 2-D dispatch (x groups · WG).
    row: u32,
    aligned: u32,
}

@group(0) @binding(0) var<storage, read> ws: array<f32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> ws4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> c4: array<vec4<f32>>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = (gid.y * p.row + gid.x) * 4u;
    if (e >= p.len) {
        return;
    }
    if (p.aligned == 1u) {
        var s = ws4[e / 4u];
        for (var z = 1u; z < p.splits; z++) {
            s += ws4[(z * p.len + e) / 4u];
        }
        c4[e / 4u] = s;
        return;
    }
    for (var q = 0u; q < 4u; q++) {
        if (e + q < p.len) {
            var s = ws[e + q];
            for (var z = 1u; z < p.splits; z++) {
                s += ws[z * p.len + e + q];
            }
            c[e + q] = s;
        }
    }
}
