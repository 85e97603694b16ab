// What every arithmetic peak shader (peak_fma.wgsl, peak_fma_named.wgsl,
// peak_coopmat.wgsl) reads and writes; the host appends it to each (WGSL declarations
// may follow their use). `mul` and `add` step the chains, `sentinel` is the value the
// final sum is compared with before anything is written.

struct Params {
    iters: u32,
    // Invocations per row of the 2-D dispatch.
    row: u32,
    mul: f32,
    add: f32,
    sentinel: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
