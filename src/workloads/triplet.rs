//! Training triplets: the three GEMMs one dense layer runs per training step.
//!
//! A layer `in → out` with a batch of B tokens computes
//! - forward `Y = X·W`: (B×in)·(in×out), NN, M = B, N = out, K = in;
//! - input gradient `dX = dY·Wᵀ`: (B×out)·(out×in), NT, M = B, N = in, K = out, with W
//!   stored in×out (N×K);
//! - weight gradient `dW = Xᵀ·dY`: (in×B)·(B×out), TN, M = in, N = out, K = B, with X
//!   stored B×in (K×M).
//!
//! Together 6·B·in·out FLOPs.

use crate::kernels::{Layout, Shape};

/// One dense layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Name within its block, e.g. `ffn.up`.
    pub name: String,
    pub d_in: u32,
    pub d_out: u32,
}

impl Layer {
    pub fn new(name: &str, d_in: u32, d_out: u32) -> Layer {
        Layer {
            name: name.to_string(),
            d_in,
            d_out,
        }
    }

    /// The three products for `tokens` tokens, in training order.
    pub fn triplet(&self, tokens: u32) -> [(Layout, Shape); 3] {
        let b = tokens;
        [
            (Layout::Nn, Shape::new(b, self.d_out, self.d_in)),
            (Layout::Nt, Shape::new(b, self.d_in, self.d_out)),
            (Layout::Tn, Shape::new(self.d_in, self.d_out, b)),
        ]
    }

    /// 6·B·in·out.
    pub fn training_flops(&self, tokens: u32) -> u64 {
        6 * u64::from(tokens) * u64::from(self.d_in) * u64::from(self.d_out)
    }

    /// Parameters of the weight matrix (no bias).
    pub fn params(&self) -> u64 {
        u64::from(self.d_in) * u64::from(self.d_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triplet_shapes_and_flops() {
        let l = Layer::new("up", 4096, 14336);
        let t = l.triplet(64);
        assert_eq!(t[0], (Layout::Nn, Shape::new(64, 14336, 4096)));
        assert_eq!(t[1], (Layout::Nt, Shape::new(64, 4096, 14336)));
        assert_eq!(t[2], (Layout::Tn, Shape::new(4096, 14336, 64)));
        let sum: u64 = t.iter().map(|(_, s)| s.flops()).sum();
        assert_eq!(sum, l.training_flops(64));
        assert_eq!(sum, 6 * 64 * 4096 * 14336);
    }
}
