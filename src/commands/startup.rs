//! The start-up every measuring command shares (`run`, `train`, `tune`, `peak`): choose
//! the adapter, decide the f16 path before anything is written, then announce the
//! adapter, install the interrupt handlers, open the device and check the
//! cooperative-matrix kernel on it, falling back to the shader cores where allowed.

use anyhow::{Result, anyhow};

use crate::gpu::Gpu;
use crate::gpu::adapter::{self, AdapterChoice, AdapterSelector, BackendFilter};
use crate::kernels::Variant;
use crate::kernels::precision::{F16Plan, plan_f16};
use crate::result::AdapterRecord;
use crate::types::{PathChoice, Precision};

/// The adapter chosen and the f16 path planned; nothing opened yet.
pub struct Startup {
    pub choice: AdapterChoice,
    pub f16: F16Plan,
    f16_path: PathChoice,
}

/// The open device and what the run should know about it.
pub struct Session {
    pub gpu: Gpu,
    /// The adapter as the result file describes it.
    pub adapter: AdapterRecord,
    /// The path the tuned kernel's f16 GEMMs take.
    pub f16: Variant,
    /// Things the user should be told (a software adapter, an f16 fallback).
    pub warnings: Vec<String>,
}

impl Startup {
    /// Chooses the adapter and plans f16 on it: asking for an adapter that does not
    /// exist, or for f16 or cooperative matrices it lacks, is bad input.
    pub fn new(
        selector: &AdapterSelector,
        backend: BackendFilter,
        precisions: &[Precision],
        f16_path: PathChoice,
    ) -> Result<Startup> {
        let choice = adapter::choose(adapter::enumerate(backend), selector, backend)?;
        let entry = &choice.entry;
        let f16 = plan_f16(
            precisions,
            f16_path,
            entry.adapter.features(),
            &entry.adapter.cooperative_matrix_properties(),
            &entry.info,
        )?;
        Ok(Startup {
            choice,
            f16,
            f16_path,
        })
    }

    /// Plans f16 again for other precisions (a named workload's, once the adapter is
    /// known).
    pub fn replan(&mut self, precisions: &[Precision]) -> Result<()> {
        let entry = &self.choice.entry;
        self.f16 = plan_f16(
            precisions,
            self.f16_path,
            entry.adapter.features(),
            &entry.adapter.cooperative_matrix_properties(),
            &entry.info,
        )?;
        Ok(())
    }

    /// Whether the adapter has f16 in shaders (wgpu feature SHADER_F16).
    pub fn has_f16(&self) -> bool {
        self.choice
            .entry
            .adapter
            .features()
            .contains(wgpu::Features::SHADER_F16)
    }

    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.choice.entry.info
    }

    pub fn limits(&self) -> wgpu::Limits {
        self.choice.entry.adapter.limits()
    }

    /// The adapter as the result file describes it.
    pub fn adapter_record(&self) -> AdapterRecord {
        let e = &self.choice.entry;
        crate::provenance::adapter(e.index, &e.adapter, &e.info)
    }

    /// Announces the adapter, installs the interrupt handlers (Ctrl-C and SIGTERM from
    /// here on stop after the sample in flight and keep what was measured), opens the
    /// device and checks the cooperative-matrix kernel where f16 is to run on it.
    /// `progress` is told what is happening.
    pub fn open(self, progress: &mut dyn FnMut(&str)) -> Result<Session> {
        let adapter = self.adapter_record();
        eprintln!("{}", self.choice.announcement());
        let info = self.choice.entry.info.clone();
        let mut warnings = Vec::new();
        if info.device_type == wgpu::DeviceType::Cpu {
            warnings.push(format!(
                "adapter '{}' is a software rasteriser running on the CPU: its figures say \
                 nothing about GPUs; use --adapter to pick a GPU if this machine has one",
                info.name
            ));
        }
        crate::interrupt::install()?;
        let gpu = Gpu::open(self.choice.entry)?;
        let mut f16 = self.f16;
        if f16.variant.coopmat {
            progress("checking the cooperative-matrix kernel on this adapter");
            if let Err(why) = crate::kernels::probe::coopmat(&gpu) {
                if self.f16_path == PathChoice::Coopmat {
                    return Err(anyhow!(
                        "the cooperative-matrix kernel failed its check on adapter '{}': \
                         {why}; run f16 on the shader cores with --f16-path simt (or auto), \
                         and please report this",
                        info.name
                    ));
                }
                f16.variant = Variant::simt(Precision::F16);
                f16.fallback = Some(format!(
                    "f16 GEMMs run on the shader cores (kernel.path simt): the \
                     cooperative-matrix kernel failed its check on this adapter ({why}); \
                     please report this"
                ));
            }
        }
        warnings.extend(f16.fallback.clone());
        Ok(Session {
            gpu,
            adapter,
            f16: f16.variant,
            warnings,
        })
    }
}
