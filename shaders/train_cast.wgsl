// f16 training only: the f16 copy of a weight matrix that the GEMMs read, made from the
// f32 master weights after every optimizer update (round to nearest even).

enable f16;

struct Count {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f16>;
@group(0) @binding(2) var<uniform> c: Count;

@compute @workgroup_size(256)
fn to_f16(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    for (var e = gid.x; e < c.n; e += nwg.x * 256u) {
        dst[e] = f16(src[e]);
    }
}
