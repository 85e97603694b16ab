//! What to measure: named suites of GEMM problems, and the runner that verifies and times
//! them.

pub mod blocks;
pub mod named;
pub mod observe;
pub mod peaks;
pub mod runner;
pub mod shard;
pub mod train;
pub mod triplet;

use std::time::Duration;

use crate::kernels::{Caps, Registry, ShaderSource};
use crate::types::{Batch, Layer, Layout, Precision, Shape};
pub use blocks::Block;
pub use train::TrainOptions;

/// Every shader flopcost may compile on an adapter of `caps`, each with the override
/// constants it is compiled with: the GEMM kernels of every family in every configuration
/// the tuner or a named kernel may use ([`Registry::shaders`]), the peaks
/// ([`peaks::shaders`]) and the training step's ([`train::ops::shaders`]), in f32 and, where
/// the adapter has `SHADER_F16`, f16. A batched product runs the same shader as a single
/// one (the batch is a uniform), so batches add none.
pub fn shaders(caps: &Caps) -> anyhow::Result<Vec<ShaderSource>> {
    let mut out = Registry::default().shaders(caps);
    out.extend(peaks::shaders(caps)?);
    out.extend(train::ops::shaders(Precision::F32)?);
    if caps.features.contains(wgpu::Features::SHADER_F16) {
        out.extend(train::ops::shaders(Precision::F16)?);
    }
    Ok(out)
}

/// One GEMM problem: one product, or a batch of them in one dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub layout: Layout,
    pub shape: Shape,
    pub batch: Batch,
    /// What this product is, e.g. `layer 4096→4096, forward`.
    pub role: Option<String>,
}

impl Case {
    pub fn new(layout: Layout, shape: Shape) -> Case {
        Case {
            layout,
            shape,
            batch: Batch::ONE,
            role: None,
        }
    }
}

/// A step of a suite.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Problems that always run.
    Cases(Vec<Case>),
    /// Square sizes in ascending order, each in every layout given, run while the time
    /// budget lasts (at most `budget_share` of the total) and the buffers fit the device.
    /// The first size always runs.
    Squares {
        sizes: Vec<u32>,
        layouts: Vec<Layout>,
        budget_share: f64,
    },
    /// The training triplets of a block of dense layers for a batch of tokens; `None`
    /// picks the largest power of two (16 to 8192) whose products fit the device and
    /// this block's share of the remaining budget.
    Layers {
        block: Block,
        tokens: Option<u32>,
        /// Run only the kernel that was fastest so far in the run (all kernels when the
        /// user named them with `--kernel`, or when none has been timed yet).
        fastest_only: bool,
    },
    /// An MLP trained on the GPU with the fastest verified kernel of the run.
    Train(TrainOptions),
}

/// A named list of steps and the budgets that suit it.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    pub name: String,
    pub steps: Vec<Step>,
    /// Default sampling budget per benchmark.
    pub time_budget: Duration,
    /// Default budget for the whole run.
    pub total_budget: Duration,
}

impl Suite {
    /// Sets the token batch of every block of training layers (`--tokens`).
    pub fn set_tokens(&mut self, tokens: u32) {
        for step in &mut self.steps {
            if let Step::Layers { tokens: t, .. } = step {
                *t = Some(tokens);
            }
        }
    }

    /// Runs every kernel on every block (`--kernel` was given).
    pub fn use_all_kernels(&mut self) {
        for step in &mut self.steps {
            if let Step::Layers { fastest_only, .. } = step {
                *fastest_only = false;
            }
        }
    }

    /// Whether the suite has training layers (where `--tokens` applies).
    pub fn has_layers(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Layers { .. }))
    }
}

/// Powers of two from `lo` to `hi`.
fn pow2(lo: u32, hi: u32) -> Vec<u32> {
    std::iter::successors(Some(lo), |v| v.checked_mul(2))
        .take_while(|v| *v <= hi)
        .collect()
}

/// `quick`: a handful of small shapes, odd ones included, in all layouts; well under a
/// minute on a software rasteriser.
pub fn quick() -> Suite {
    let mut cases = vec![
        Case::new(Layout::Nn, Shape::cube(128)),
        Case::new(Layout::Nn, Shape::cube(256)),
    ];
    for layout in Layout::ALL {
        cases.push(Case::new(layout, Shape::new(127, 129, 131)));
    }
    Suite {
        name: "quick".into(),
        steps: vec![
            Step::Cases(cases),
            Step::Layers {
                block: Block::new(
                    "small",
                    "one 256→384 projection",
                    vec![Layer::new("proj", 256, 384)],
                ),
                tokens: Some(64),
                fastest_only: false,
            },
        ],
        time_budget: Duration::from_millis(250),
        total_budget: Duration::from_secs(60),
    }
}

/// `standard` (the default): square NN products from 256 up to what memory and the
/// total budget allow, the training triplets of a 7–8B decoder block with the fastest
/// kernel, and a short MLP training run.
pub fn standard() -> Suite {
    Suite {
        name: "standard".into(),
        steps: vec![
            Step::Squares {
                sizes: pow2(256, 16384),
                layouts: vec![Layout::Nn],
                budget_share: 0.6,
            },
            Step::Layers {
                block: blocks::decoder_8b(),
                tokens: None,
                fastest_only: true,
            },
            Step::Train(TrainOptions::default()),
        ],
        time_budget: Duration::from_secs(1),
        total_budget: Duration::from_secs(180),
    }
}

/// `full`: odd sizes, then squares in half-octave steps in all three layouts, then the
/// MLP and 7–8B decoder blocks and MLP training; a longer budget.
pub fn full() -> Suite {
    let mut sizes = Vec::new();
    for p in pow2(256, 16384) {
        sizes.push(p);
        if p < 16384 {
            sizes.push(p + p / 2);
        }
    }
    let odd = [
        Shape::new(1, 1, 1),
        Shape::new(7, 13, 5),
        Shape::new(33, 65, 17),
        Shape::new(127, 1, 255),
        Shape::new(1000, 1000, 1000),
        Shape::new(1023, 1025, 1027),
    ];
    let odd_cases = odd
        .iter()
        .flat_map(|s| Layout::ALL.map(|l| Case::new(l, *s)))
        .collect();
    Suite {
        name: "full".into(),
        steps: vec![
            Step::Cases(odd_cases),
            Step::Squares {
                sizes,
                layouts: Layout::ALL.to_vec(),
                budget_share: 0.8,
            },
            Step::Layers {
                block: blocks::mlp_4096(),
                tokens: None,
                fastest_only: true,
            },
            Step::Layers {
                block: blocks::decoder_8b(),
                tokens: None,
                fastest_only: true,
            },
            Step::Train(TrainOptions::default()),
        ],
        time_budget: Duration::from_secs(2),
        total_budget: Duration::from_secs(900),
    }
}

/// `llm`: the training triplets of language-model blocks. The small decoder block runs
/// first with every kernel at 64 tokens (seconds on a software rasteriser) and gives the
/// kernels' speeds; the MLP, 7–8B and 70B-class blocks then run with the fastest kernel
/// at the largest token batch that fits the device and the budget.
pub fn llm() -> Suite {
    let big = |block| Step::Layers {
        block,
        tokens: None,
        fastest_only: true,
    };
    Suite {
        name: "llm".into(),
        steps: vec![
            Step::Layers {
                block: blocks::decoder_256(),
                tokens: Some(64),
                fastest_only: false,
            },
            big(blocks::mlp_4096()),
            big(blocks::decoder_8b()),
            big(blocks::decoder_70b()),
        ],
        time_budget: Duration::from_millis(500),
        total_budget: Duration::from_secs(600),
    }
}

/// Explicit `--shape`s in the given layouts.
pub fn custom(shapes: &[Shape], layouts: &[Layout]) -> Suite {
    let cases = shapes
        .iter()
        .flat_map(|s| layouts.iter().map(|l| Case::new(*l, *s)))
        .collect();
    Suite {
        name: "custom".into(),
        steps: vec![Step::Cases(cases)],
        time_budget: Duration::from_secs(1),
        total_budget: Duration::from_secs(3600),
    }
}

/// What `flopcost tune` tunes by default, smallest first: the square NN products of one
/// shape class each (256, 1024, 4096, 8192), then the three products of a 4096→4096
/// layer with 64, 512 and 4096 tokens (the `standard` suite's layer step picks its token
/// count by budget, so it meets one of these classes or a neighbour).
pub fn tune_defaults() -> Vec<(Layout, Shape)> {
    let mut v: Vec<(Layout, Shape)> = [256, 1024, 4096, 8192]
        .iter()
        .map(|&n| (Layout::Nn, Shape::cube(n)))
        .collect();
    let layer = Layer::new("proj", 4096, 4096);
    for tokens in [64, 512, 4096] {
        v.extend(layer.triplet(tokens));
    }
    v.sort_by_key(|(_, s)| s.flops());
    v.dedup();
    v
}

/// Looks up a suite by name.
pub fn by_name(name: &str) -> Option<Suite> {
    match name {
        "quick" => Some(quick()),
        "standard" => Some(standard()),
        "full" => Some(full()),
        "llm" => Some(llm()),
        _ => None,
    }
}

/// The suite names `--suite` accepts.
pub const SUITE_NAMES: [&str; 4] = ["quick", "standard", "full", "llm"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_are_named_and_nonempty() {
        for name in SUITE_NAMES {
            let s = by_name(name).unwrap();
            assert_eq!(s.name, name);
            assert!(!s.steps.is_empty());
        }
        assert!(by_name("nope").is_none());
    }

    #[test]
    fn standard_squares_start_at_256() {
        let Step::Squares { sizes, .. } = &standard().steps[0] else {
            panic!("standard starts with squares")
        };
        assert_eq!(sizes.first(), Some(&256));
        assert!(sizes.windows(2).all(|w| w[0] < w[1]));
    }
}
