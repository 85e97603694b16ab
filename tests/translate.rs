//! Every shader flopcost can build, through every backend's translator.
//!
//! On Metal and DX12, wgpu hands each WGSL shader to naga, which writes MSL or HLSL before
//! the driver sees it; on Vulkan naga writes SPIR-V. A variant that naga cannot translate
//! would fail at pipeline creation on a user's machine, never on CI's software adapters.
//! So, for adapter profiles of each backend (their features, limits, subgroup sizes and
//! cooperative-matrix configurations), this takes every shader flopcost offers there
//! (`flopcost::workloads::shaders`: every kernel family in every configuration the tuner
//! or a named kernel can use, both precisions, the peaks and the training step; a batched
//! product runs the same shader as a single one) and, as wgpu would: parses it, validates
//! it with the capabilities wgpu derives from that adapter's features, resolves its
//! override constants, validates it again and writes it for the backend: SPIR-V (checked
//! by `spirv-val` too, which `.ci/run` installs), MSL or HLSL. Where a backend cannot take
//! a variant, the test proves it is never offered there (no cooperative matrices on DX12
//! or GL, 8×8 only on Metal), and that such a variant does fail the translator.
//!
//! GLSL is exercised for real on the GL backend (llvmpipe) by the rest of the suite.

use flopcost::kernels::{Caps, ShaderSource};
use naga::back::PipelineConstants;
use naga::valid::{ValidationFlags, Validator};

/// The translators the profiles are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Spirv,
    Msl,
    Hlsl,
}

/// An adapter as flopcost sees it, on one backend.
struct Profile {
    name: &'static str,
    caps: Caps,
}

fn info(
    name: &str,
    backend: wgpu::Backend,
    subgroups: (u32, u32),
    device_type: wgpu::DeviceType,
) -> wgpu::AdapterInfo {
    wgpu::AdapterInfo {
        name: name.into(),
        vendor: 0,
        device: 0,
        device_type,
        device_pci_bus_id: String::new(),
        driver: String::new(),
        driver_info: String::new(),
        backend,
        subgroup_min_size: subgroups.0,
        subgroup_max_size: subgroups.1,
        transient_saves_memory: None,
        limit_bucket: None,
    }
}

fn limits(workgroup_bytes: u32, invocations: u32) -> wgpu::Limits {
    wgpu::Limits {
        max_compute_workgroup_storage_size: workgroup_bytes,
        max_compute_invocations_per_workgroup: invocations,
        max_compute_workgroup_size_x: invocations,
        max_compute_workgroup_size_y: invocations,
        ..wgpu::Limits::default()
    }
}

fn coop(
    m: u32,
    ab: wgpu::CooperativeScalarType,
    cr: wgpu::CooperativeScalarType,
) -> wgpu::CooperativeMatrixProperties {
    wgpu::CooperativeMatrixProperties {
        m_size: m,
        n_size: m,
        k_size: m,
        ab_type: ab,
        cr_type: cr,
        saturating_accumulation: false,
    }
}

fn profiles() -> Vec<Profile> {
    use wgpu::CooperativeScalarType::{F16, F32};
    use wgpu::DeviceType::{Cpu, DiscreteGpu, IntegratedGpu};
    use wgpu::Features as F;
    let time =
        F::TIMESTAMP_QUERY | F::TIMESTAMP_QUERY_INSIDE_ENCODERS | F::TIMESTAMP_QUERY_INSIDE_PASSES;
    let sub = F::SUBGROUP | F::SUBGROUP_BARRIER;
    let all = flopcost::gpu::wanted_features();
    let profile = |name, features, limits, info, coopmat| Profile {
        name,
        caps: Caps {
            features,
            limits,
            info,
            coopmat,
        },
    };
    vec![
        // An NVIDIA H100/H200 on Vulkan: 16×16×16 cooperative matrices, warps of 32.
        profile(
            "vulkan nvidia",
            all | F::SHADER_F64,
            limits(49152, 1024),
            info("NVIDIA H200", wgpu::Backend::Vulkan, (32, 32), DiscreteGpu),
            vec![coop(16, F16, F16), coop(16, F16, F32)],
        ),
        // Mesa 26.1's lavapipe: 8×8×8 cooperative matrices, subgroups of 8.
        profile(
            "vulkan lavapipe 26.1",
            all | F::SHADER_F64,
            limits(32768, 1024),
            info("llvmpipe", wgpu::Backend::Vulkan, (8, 8), Cpu),
            vec![coop(8, F16, F16), coop(8, F16, F32)],
        ),
        // Mesa 22.3's lavapipe: f16 and subgroups, no cooperative matrices.
        profile(
            "vulkan lavapipe 22.3",
            time | sub | F::SHADER_F16 | F::SHADER_F64,
            limits(32768, 1024),
            info("llvmpipe", wgpu::Backend::Vulkan, (8, 8), Cpu),
            vec![],
        ),
        // An AMD GPU: waves of 32 or 64 (no fixed size), so no subgroup-fixed kernels.
        profile(
            "vulkan amd",
            time | sub | F::SHADER_F16,
            limits(65536, 1024),
            info("AMD Radeon", wgpu::Backend::Vulkan, (32, 64), DiscreteGpu),
            vec![],
        ),
        // An Apple GPU on Metal: f16, simdgroups of 32, 8×8 simdgroup matrices (as wgpu's
        // Metal back end reports them), no f64.
        profile(
            "metal apple",
            all,
            limits(32768, 1024),
            info("Apple M3", wgpu::Backend::Metal, (32, 32), IntegratedGpu),
            vec![coop(8, F32, F32), coop(8, F16, F16), coop(8, F16, F32)],
        ),
        // The same, as if it reported 16×16×16 too: flopcost must still offer 8×8 only.
        profile(
            "metal apple (16x16 reported)",
            all,
            limits(32768, 1024),
            info("Apple M3", wgpu::Backend::Metal, (32, 32), IntegratedGpu),
            vec![coop(16, F16, F32), coop(8, F16, F32)],
        ),
        // An NVIDIA GPU on DX12 with f16, waves of 32 and f64; cooperative matrices claimed
        // (wgpu 30 reports none there) to prove flopcost offers none.
        profile(
            "dx12 nvidia",
            all | F::SHADER_F64,
            limits(32768, 1024),
            info("NVIDIA RTX", wgpu::Backend::Dx12, (32, 32), DiscreteGpu),
            vec![coop(16, F16, F32), coop(8, F16, F32)],
        ),
        // An AMD GPU on DX12: waves of 32 to 64.
        profile(
            "dx12 amd",
            time | sub | F::SHADER_F16,
            limits(32768, 1024),
            info("AMD Radeon", wgpu::Backend::Dx12, (32, 64), DiscreteGpu),
            vec![],
        ),
        // An Intel GPU on DX12 without f16 in shaders: f32 only.
        profile(
            "dx12 intel (no f16)",
            time | sub,
            limits(32768, 1024),
            info("Intel UHD", wgpu::Backend::Dx12, (16, 16), IntegratedGpu),
            vec![],
        ),
    ]
}

fn target(backend: wgpu::Backend) -> Option<Target> {
    match backend {
        wgpu::Backend::Vulkan => Some(Target::Spirv),
        wgpu::Backend::Metal => Some(Target::Msl),
        wgpu::Backend::Dx12 => Some(Target::Hlsl),
        _ => None,
    }
}

fn validator(features: wgpu::Features) -> Validator {
    wgpu_naga_bridge::create_validator(
        features,
        wgpu::DownlevelFlags::all(),
        ValidationFlags::all(),
    )
}

fn bounds(checks: bool) -> naga::proc::BoundsCheckPolicies {
    use naga::proc::BoundsCheckPolicy::{ReadZeroSkipWrite, Restrict, Unchecked};
    if checks {
        naga::proc::BoundsCheckPolicies {
            index: Restrict,
            buffer: ReadZeroSkipWrite,
            image_load: Restrict,
            binding_array: Unchecked,
        }
    } else {
        naga::proc::BoundsCheckPolicies {
            index: Unchecked,
            buffer: Unchecked,
            image_load: Unchecked,
            binding_array: Unchecked,
        }
    }
}

/// One translation's output: the SPIR-V words, or the MSL or HLSL text.
enum Output {
    Spirv(Vec<u32>),
    Text(String),
}

/// Translates one entry point of `shader` for `target` as wgpu would on an adapter with
/// `features`: parse, validate, resolve overrides, validate again, write.
fn translate(
    shader: &ShaderSource,
    entry: &str,
    features: wgpu::Features,
    target: Target,
) -> Result<Output, String> {
    let src = shader.source.as_str();
    let module = naga::front::wgsl::parse_str(src).map_err(|e| e.emit_to_string(src))?;
    let info = validator(features)
        .validate(&module)
        .map_err(|e| e.emit_to_string(src))?;
    let constants: PipelineConstants = shader
        .constants
        .iter()
        .map(|&(k, v)| (k.to_string(), v))
        .collect();
    let stage = naga::ShaderStage::Compute;
    let (module, _) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((stage, entry)),
        &constants,
    )
    .map_err(|e| format!("overrides: {e}"))?;
    let info = validator(features)
        .validate(&module)
        .map_err(|e| format!("after overrides: {}", e.emit_to_string(src)))?;
    // The writers stop with a panic (`unimplemented!`) on some constructs they lack (the
    // HLSL writer on cooperative matrices): that is a failure too.
    match std::panic::catch_unwind(|| write(&module, &info, shader.runtime_checks, entry, target)) {
        Ok(written) => written,
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("{target:?} writer panicked: {what}"))
        }
    }
}

fn write(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    checks: bool,
    entry: &str,
    target: Target,
) -> Result<Output, String> {
    let stage = naga::ShaderStage::Compute;
    match target {
        Target::Spirv => {
            let options = naga::back::spv::Options {
                lang_version: (1, 6),
                flags: naga::back::spv::WriterFlags::empty(),
                bounds_check_policies: bounds(checks),
                zero_initialize_workgroup_memory:
                    naga::back::spv::ZeroInitializeWorkgroupMemoryMode::None,
                force_loop_bounding: checks,
                ..naga::back::spv::Options::default()
            };
            let pipeline = naga::back::spv::PipelineOptions {
                shader_stage: stage,
                entry_point: entry.into(),
            };
            naga::back::spv::write_vec(module, info, &options, Some(&pipeline))
                .map(Output::Spirv)
                .map_err(|e| format!("SPIR-V: {e}"))
        }
        Target::Msl => {
            let options = naga::back::msl::Options {
                lang_version: (2, 4),
                fake_missing_bindings: true,
                bounds_check_policies: bounds(checks),
                zero_initialize_workgroup_memory: false,
                force_loop_bounding: checks,
                ..naga::back::msl::Options::default()
            };
            let pipeline = naga::back::msl::PipelineOptions {
                entry_point: Some((stage, entry.into())),
                ..Default::default()
            };
            naga::back::msl::write_string(module, info, &options, &pipeline)
                .map(|(s, _)| Output::Text(s))
                .map_err(|e| format!("MSL: {e}"))
        }
        Target::Hlsl => {
            let options = naga::back::hlsl::Options {
                shader_model: naga::back::hlsl::ShaderModel::V6_5,
                fake_missing_bindings: true,
                zero_initialize_workgroup_memory: false,
                restrict_indexing: checks,
                force_loop_bounding: checks,
                ..naga::back::hlsl::Options::default()
            };
            let pipeline = naga::back::hlsl::PipelineOptions {
                entry_point: Some((stage, entry.into())),
            };
            let mut out = String::new();
            naga::back::hlsl::Writer::new(&mut out, &options, &pipeline)
                .write(module, info, None)
                .map(|_| Output::Text(out.clone()))
                .map_err(|e| format!("HLSL: {e}"))
        }
    }
}

/// `spirv-val` on the words: `Ok(true)` accepted, `Ok(false)` when this SPIRV-Tools does
/// not know the cooperative-matrix extension (capability 6022, before 2023.4), `Err` with
/// its message when it rejects them. Panics when `spirv-val` is missing: CI installs it.
fn spirv_val(words: &[u32]) -> Result<bool, String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("shader.spv");
    std::fs::write(&path, bytemuck::cast_slice::<u32, u8>(words)).expect("write the module");
    let out = std::process::Command::new("spirv-val")
        .args(["--target-env", "vulkan1.3"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "spirv-val (Debian's spirv-tools) is needed by this test and could not be run \
                 ({e}); install it: apt-get install -y spirv-tools (.ci/run does)"
            )
        });
    if out.status.success() {
        return Ok(true);
    }
    let msg =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if msg.contains("Invalid capability operand: 6022") {
        return Ok(false);
    }
    Err(msg)
}

/// Whether the shader's code (its comments left out) contains `word`.
fn uses(s: &ShaderSource, word: &str) -> bool {
    s.source
        .lines()
        .any(|l| l.split("//").next().unwrap_or("").contains(word))
}

fn is_coopmat(s: &ShaderSource) -> bool {
    uses(s, "coop_mat")
}

fn is_f16(s: &ShaderSource) -> bool {
    uses(s, "enable f16")
}

#[derive(Default)]
struct Count {
    shaders: usize,
    translations: usize,
    coopmat: usize,
    f16: usize,
    spirv_val: usize,
    spirv_val_unknown: usize,
}

#[test]
fn every_shader_translates_for_every_backend_it_is_offered_on() {
    let mut failures = Vec::new();
    let mut per_target: std::collections::BTreeMap<String, Count> = Default::default();
    for p in profiles() {
        let shaders = flopcost::workloads::shaders(&p.caps).expect("the shaders are listed");
        let target = target(p.caps.info.backend).expect("a translated backend");
        let n = per_target.entry(format!("{target:?}")).or_default();
        let mut mine = Count::default();
        for s in &shaders {
            mine.shaders += 1;
            mine.coopmat += usize::from(is_coopmat(s));
            mine.f16 += usize::from(is_f16(s));
            for entry in &s.entries {
                match translate(s, entry, p.caps.features, target) {
                    Ok(Output::Spirv(words)) => match spirv_val(&words) {
                        Ok(true) => mine.spirv_val += 1,
                        Ok(false) => mine.spirv_val_unknown += 1,
                        Err(e) => failures
                            .push(format!("{}: {} ({entry}): spirv-val: {e}", p.name, s.label)),
                    },
                    Ok(Output::Text(t)) => assert!(
                        t.contains(entry),
                        "{}: {}: {entry} missing",
                        p.name,
                        s.label
                    ),
                    Err(e) => failures.push(format!("{}: {} ({entry}): {e}", p.name, s.label)),
                }
                mine.translations += 1;
            }
        }
        eprintln!(
            "{:30} {target:?}: {} shaders ({} f16, {} cooperative-matrix), {} entry points translated{}",
            p.name,
            mine.shaders,
            mine.f16,
            mine.coopmat,
            mine.translations,
            if target == Target::Spirv {
                format!(
                    ", spirv-val accepted {}{}",
                    mine.spirv_val,
                    if mine.spirv_val_unknown > 0 {
                        format!(
                            " ({} cooperative-matrix modules not checked: this spirv-val predates \
                             SPV_KHR_cooperative_matrix)",
                            mine.spirv_val_unknown
                        )
                    } else {
                        String::new()
                    }
                )
            } else {
                String::new()
            }
        );
        // What each profile must be offered, so that the test cannot pass by offering less.
        let f16 = p.caps.features.contains(wgpu::Features::SHADER_F16);
        assert_eq!(
            mine.f16 > 0,
            f16,
            "{}: f16 shaders offered iff the adapter has f16",
            p.name
        );
        assert!(
            mine.shaders >= 40,
            "{}: only {} shaders",
            p.name,
            mine.shaders
        );
        n.shaders += mine.shaders;
        n.translations += mine.translations;
        n.coopmat += mine.coopmat;
        n.f16 += mine.f16;
        n.spirv_val += mine.spirv_val;
        n.spirv_val_unknown += mine.spirv_val_unknown;
        // Where the backend cannot take a variant, it is never offered.
        match p.caps.info.backend {
            wgpu::Backend::Dx12 => assert_eq!(
                mine.coopmat, 0,
                "{}: cooperative matrices offered on DX12",
                p.name
            ),
            wgpu::Backend::Metal => {
                assert!(
                    mine.coopmat > 0,
                    "{}: Metal's 8x8 simdgroup matrices not offered",
                    p.name
                );
                for s in shaders.iter().filter(|s| is_coopmat(s)) {
                    assert!(
                        !s.source.contains("coop_mat16x16")
                            || s.constants.iter().any(|&(k, v)| k == "FRAG" && v == 8.0),
                        "{}: {} is not 8x8",
                        p.name,
                        s.label
                    );
                    assert!(
                        !s.label.contains("16x16"),
                        "{}: {} offered on Metal",
                        p.name,
                        s.label
                    );
                }
            }
            _ => {}
        }
    }
    eprintln!("per translator, over all profiles:");
    for (t, n) in &per_target {
        eprintln!(
            "  {t}: {} shaders, {} entry points translated and validated ({} f16, {} cooperative-matrix shaders){}",
            n.shaders,
            n.translations,
            n.f16,
            n.coopmat,
            if t == "Spirv" {
                format!(
                    ", {} accepted by spirv-val, {} beyond its knowledge",
                    n.spirv_val, n.spirv_val_unknown
                )
            } else {
                String::new()
            }
        );
    }
    assert!(
        failures.is_empty(),
        "{} translations failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// GL: no f16 and no subgroups on llvmpipe, and no cooperative matrices on GL in wgpu 30,
/// whatever the adapter reported.
#[test]
fn gl_is_offered_no_cooperative_matrices() {
    use wgpu::CooperativeScalarType::{F16, F32};
    let caps = Caps {
        features: flopcost::gpu::wanted_features(),
        limits: limits(32768, 1024),
        info: info(
            "llvmpipe",
            wgpu::Backend::Gl,
            (32, 32),
            wgpu::DeviceType::Cpu,
        ),
        coopmat: vec![coop(16, F16, F32), coop(8, F16, F32)],
    };
    let shaders = flopcost::workloads::shaders(&caps).unwrap();
    assert!(shaders.iter().any(is_f16));
    assert!(
        !shaders.iter().any(is_coopmat),
        "cooperative matrices offered on GL"
    );
    let plain = Caps {
        features: wgpu::Features::TIMESTAMP_QUERY,
        ..caps
    };
    let shaders = flopcost::workloads::shaders(&plain).unwrap();
    assert!(
        !shaders
            .iter()
            .any(|s| is_f16(s) || is_coopmat(s) || uses(s, "subgroup"))
    );
}

/// The translators catch what they must: the HLSL writer cannot write a cooperative-matrix
/// kernel (which is why DX12 is refused them), a kernel whose text is broken fails, and an
/// f16 kernel fails validation on an adapter without f16.
#[test]
fn a_broken_variant_fails_the_translation() {
    let h200 = &profiles()[0];
    let shaders = flopcost::workloads::shaders(&h200.caps).unwrap();
    let coop = shaders
        .iter()
        .find(|s| is_coopmat(s) && s.label.starts_with("coopmat"))
        .expect("a coopmat kernel");
    let e = translate(coop, "main", h200.caps.features, Target::Hlsl)
        .err()
        .expect("HLSL cannot take it");
    assert!(e.contains("HLSL"), "{e}");
    let f16 = shaders
        .iter()
        .find(|s| is_f16(s) && s.label.starts_with("block"))
        .expect("an f16 block kernel");
    let e = translate(f16, "main", wgpu::Features::SUBGROUP, Target::Msl)
        .err()
        .expect("no f16, no translation");
    assert!(
        e.contains("f16") || e.contains("F16") || e.contains("enable"),
        "{e}"
    );
    let mut broken = f16.clone();
    broken.source = broken.source.replacen("fn main", "fn main_", 1);
    for t in [Target::Spirv, Target::Msl, Target::Hlsl] {
        assert!(
            translate(&broken, "main", h200.caps.features, t).is_err(),
            "{t:?} took a shader without main"
        );
    }
    let mut overflow = f16.clone();
    overflow.constants.push(("NO_SUCH_CONSTANT", 1.0));
    assert!(
        translate(&overflow, "main", h200.caps.features, Target::Spirv).is_err(),
        "an unknown override passed"
    );
}
