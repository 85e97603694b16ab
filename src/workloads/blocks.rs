//! Named blocks of dense layers from well-known model families, each run as training
//! triplets (see [`super::triplet`]): the layer shapes whose training cost people quote.
//!
//! The blocks hold the projections and the feed-forward network; a named workload adds
//! the block's attention products (batched over heads) and the model's LM head where
//! its definition names them (see `result::workload`).

use crate::types::Layer;

/// A named set of dense layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Short name, e.g. `decoder-8b`.
    pub name: String,
    /// What it is, in words.
    pub description: String,
    pub layers: Vec<Layer>,
}

impl Block {
    pub fn new(name: &str, description: &str, layers: Vec<Layer>) -> Block {
        Block {
            name: name.into(),
            description: description.into(),
            layers,
        }
    }

    /// Model FLOPs of one training step of the block: 6·B·Σ in·out.
    pub fn training_flops(&self, tokens: u32) -> u64 {
        self.layers.iter().map(|l| l.training_flops(tokens)).sum()
    }

    /// Weights of the block (no biases).
    pub fn params(&self) -> u64 {
        self.layers.iter().map(Layer::params).sum()
    }
}

/// The projections and SwiGLU feed-forward network of a decoder block with hidden size
/// `h` and FFN size `f`, with Q, K and V fused into one `h → 3h` product (full
/// multi-head attention, no grouped-query sharing of K and V).
fn decoder(name: &str, description: &str, h: u32, f: u32) -> Block {
    Block::new(
        name,
        description,
        vec![
            Layer::new("attn.qkv", h, 3 * h),
            Layer::new("attn.o", h, h),
            Layer::new("ffn.gate", h, f),
            Layer::new("ffn.up", h, f),
            Layer::new("ffn.down", f, h),
        ],
    )
}

/// A small decoder block (hidden 256, FFN 688) that a software rasteriser runs in
/// seconds; 688 is no multiple of any tile, so edges are exercised too.
pub fn decoder_256() -> Block {
    decoder(
        "decoder-256",
        "small decoder block: hidden 256, fused QKV 256→768, O 256→256, FFN 256→688 (gate, up) and 688→256",
        256,
        688,
    )
}

/// The projections and SwiGLU feed-forward network of a decoder block with grouped-query
/// attention: hidden `h`, `heads` query heads and `kv_heads` key and value heads of
/// `head_dim`, Q, K and V fused into one `h → (heads + 2·kv_heads)·head_dim` product,
/// FFN size `f`.
pub fn decoder_gqa(
    name: &str,
    description: &str,
    (h, heads, kv_heads, head_dim): (u32, u32, u32, u32),
    f: u32,
) -> Block {
    Block::new(
        name,
        description,
        vec![
            Layer::new("attn.qkv", h, (heads + 2 * kv_heads) * head_dim),
            Layer::new("attn.o", heads * head_dim, h),
            Layer::new("ffn.gate", h, f),
            Layer::new("ffn.up", h, f),
            Layer::new("ffn.down", f, h),
        ],
    )
}

/// A decoder block of Llama-3-8B: hidden 4096, 32 query heads and 8 key and value heads
/// of 128 (QKV 4096 → 6144), O 4096 → 4096, SwiGLU FFN 14336.
pub fn llama3_8b() -> Block {
    decoder_gqa(
        "llama-3-8b",
        "Llama-3-8B decoder block: hidden 4096, QKV 4096→6144 (32 query heads and 8 key/value heads of 128), O 4096→4096, FFN 4096→14336 (gate, up) and 14336→4096",
        (4096, 32, 8, 128),
        14336,
    )
}

/// A small decoder block shaped like Llama-3's (grouped-query attention, SwiGLU) that a
/// software rasteriser runs in seconds: hidden 256, 4 query heads and 2 key and value
/// heads of 64 (QKV 256 → 512), FFN 688 (no multiple of any tile).
pub fn decoder_256_gqa() -> Block {
    decoder_gqa(
        "decoder-256-gqa",
        "small decoder block: hidden 256, QKV 256→512 (4 query heads and 2 key/value heads of 64), O 256→256, FFN 256→688 (gate, up) and 688→256",
        (256, 4, 2, 64),
        688,
    )
}

/// The plain MLP block of a transformer with hidden 4096: 4096 → 16384 → 4096.
pub fn mlp_4096() -> Block {
    Block::new(
        "mlp-4096",
        "MLP block 4096→16384→4096",
        vec![
            Layer::new("up", 4096, 16384),
            Layer::new("down", 16384, 4096),
        ],
    )
}

/// A decoder block of a 7–8B-parameter language model: hidden 4096, fused QKV
/// 4096 → 12288 (as in Llama-2-7B), O 4096 → 4096, SwiGLU FFN 14336 (as in Llama-3-8B
/// and Mistral-7B).
pub fn decoder_8b() -> Block {
    decoder(
        "decoder-8b",
        "7-8B decoder block: hidden 4096, fused QKV 4096→12288, O 4096→4096, FFN 4096→14336 (gate, up) and 14336→4096",
        4096,
        14336,
    )
}

/// A decoder block of a 70B-class model: hidden 8192, fused QKV 8192 → 24576 (no
/// grouped-query attention), FFN 28672.
pub fn decoder_70b() -> Block {
    decoder(
        "decoder-70b",
        "70B-class decoder block: hidden 8192, fused QKV 8192→24576, O 8192→8192, FFN 8192→28672 (gate, up) and 28672→8192",
        8192,
        28672,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_8b_has_the_shapes_and_flops_of_a_7_8b_block() {
        let b = decoder_8b();
        let dims: Vec<(u32, u32)> = b.layers.iter().map(|l| (l.d_in, l.d_out)).collect();
        assert_eq!(
            dims,
            vec![
                (4096, 12288),
                (4096, 4096),
                (4096, 14336),
                (4096, 14336),
                (14336, 4096)
            ]
        );
        // 4·4096² attention weights + 3·4096·14336 FFN weights.
        assert_eq!(b.params(), 4 * 4096 * 4096 + 3 * 4096 * 14336);
        assert_eq!(b.params(), 243_269_632);
        assert_eq!(b.training_flops(64), 6 * 64 * 243_269_632);
        // 32 such blocks plus embeddings make a 7-8B model.
        let total = 32 * b.params();
        assert!((7.0e9..8.0e9).contains(&(total as f64)), "{total}");
    }

    #[test]
    fn other_blocks() {
        assert_eq!(mlp_4096().params(), 2 * 4096 * 16384);
        let big = decoder_70b();
        assert_eq!(big.params(), 4 * 8192 * 8192 + 3 * 8192 * 28672);
        assert_eq!(decoder_256().training_flops(64), 6 * 64 * 790_528);
    }
}
