//! The same network and optimizer in f64 on the CPU, as the reference one GPU step is
//! checked against. Plain loops: it only ever runs on small networks.

use super::optimizer::{OptimizerConfig, OptimizerKind};

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_C: f64 = 0.044715;

/// GELU, tanh form (as `shaders/train_forward.wgsl`).
pub fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + GELU_C * x * x * x)).tanh())
}

/// d/dx of [`gelu`].
pub fn gelu_grad(x: f64) -> f64 {
    let t = (SQRT_2_OVER_PI * (x + GELU_C * x * x * x)).tanh();
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * x * x);
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du
}

/// An MLP: layer l maps `dims[l]` to `dims[l + 1]`; GELU between layers, none after the
/// last. Weights are stored d_in × d_out, row-major, as on the GPU.
#[derive(Clone, Debug)]
pub struct Mlp {
    pub dims: Vec<usize>,
    pub w: Vec<Vec<f64>>,
    pub b: Vec<Vec<f64>>,
}

/// Gradients of every parameter, and the loss they belong to.
#[derive(Clone, Debug)]
pub struct Grads {
    pub loss: f64,
    pub w: Vec<Vec<f64>>,
    pub b: Vec<Vec<f64>>,
}

/// Optimizer state: first and second moments (or the momentum) and the step count.
#[derive(Clone, Debug, Default)]
pub struct OptState {
    pub step: u32,
    pub mw: Vec<Vec<f64>>,
    pub mb: Vec<Vec<f64>>,
    pub vw: Vec<Vec<f64>>,
    pub vb: Vec<Vec<f64>>,
}

/// `values`, each rounded to the nearest f16 when `round` is set (its value unused),
/// else unchanged.
fn round_all(values: &[f64], round: Option<f64>) -> Vec<f64> {
    match round {
        None => values.to_vec(),
        Some(_) => values
            .iter()
            .map(|&v| f64::from(half::f16::from_f64(v)))
            .collect(),
    }
}

/// `C[m×n] = A[m×k]·B[k×n]`, with either operand read transposed from its storage.
fn matmul(
    a: &[f64],
    b: &[f64],
    (m, n, k): (usize, usize, usize),
    trans_a: bool,
    trans_b: bool,
) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for kk in 0..k {
            let av = if trans_a {
                a[kk * m + i]
            } else {
                a[i * k + kk]
            };
            for j in 0..n {
                let bv = if trans_b {
                    b[j * k + kk]
                } else {
                    b[kk * n + j]
                };
                c[i * n + j] += av * bv;
            }
        }
    }
    c
}

impl Mlp {
    pub fn layers(&self) -> usize {
        self.dims.len() - 1
    }

    /// The output for a batch of `rows` inputs.
    pub fn forward(&self, x: &[f64], rows: usize) -> Vec<f64> {
        self.forward_cached(x, rows, None)
            .0
            .pop()
            .unwrap_or_default()
    }

    /// Pre-activations Z of every layer and the inputs of every layer (as the GEMMs read
    /// them: rounded to f16 under `half`).
    fn forward_cached(
        &self,
        x: &[f64],
        rows: usize,
        half: Option<f64>,
    ) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let r = |v: &[f64]| round_all(v, half.map(|_| 1.0));
        let mut zs = Vec::new();
        let mut inputs = vec![r(x)];
        for l in 0..self.layers() {
            let (din, dout) = (self.dims[l], self.dims[l + 1]);
            let w = r(&self.w[l]);
            let mut z = matmul(&inputs[l], &w, (rows, dout, din), false, false);
            for (e, v) in z.iter_mut().enumerate() {
                *v += self.b[l][e % dout];
            }
            if l + 1 < self.layers() {
                let act: Vec<f64> = z.iter().map(|&v| gelu(v)).collect();
                inputs.push(r(&act));
            }
            zs.push(z);
        }
        (zs, inputs)
    }

    /// Mean squared error against `t` and the gradient of every parameter.
    pub fn loss_and_grads(&self, x: &[f64], t: &[f64], rows: usize) -> Grads {
        self.loss_and_grads_with(x, t, rows, None)
    }

    /// [`Mlp::loss_and_grads`] as f16 training computes it (`half` = its loss scale
    /// S): every GEMM operand (the inputs, weights, activations and the gradients dZ
    /// scaled by S) rounded to f16 where the GPU stores it in f16, everything else exact;
    /// the gradients returned are unscaled.
    pub fn loss_and_grads_with(
        &self,
        x: &[f64],
        t: &[f64],
        rows: usize,
        half: Option<f64>,
    ) -> Grads {
        let scale = half.unwrap_or(1.0);
        let (zs, inputs) = self.forward_cached(x, rows, half);
        let y = &zs[self.layers() - 1];
        let n = y.len() as f64;
        let loss = y.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / n;
        // dZ as stored: multiplied by the loss scale, rounded to f16 under `half`.
        let dy: Vec<f64> = y
            .iter()
            .zip(t)
            .map(|(a, b)| scale * 2.0 * (a - b) / n)
            .collect();
        let mut dz = round_all(&dy, half.map(|_| 1.0));
        let mut gw = vec![Vec::new(); self.layers()];
        let mut gb = vec![Vec::new(); self.layers()];
        for l in (0..self.layers()).rev() {
            let (din, dout) = (self.dims[l], self.dims[l + 1]);
            gw[l] = matmul(&inputs[l], &dz, (din, dout, rows), true, false)
                .into_iter()
                .map(|g| g / scale)
                .collect();
            let mut db = vec![0.0; dout];
            for (e, v) in dz.iter().enumerate() {
                db[e % dout] += v / scale;
            }
            gb[l] = db;
            if l > 0 {
                let w = round_all(&self.w[l], half.map(|_| 1.0));
                let da = matmul(&dz, &w, (rows, din, dout), false, true);
                let next: Vec<f64> = da
                    .iter()
                    .zip(&zs[l - 1])
                    .map(|(d, z)| d * gelu_grad(*z))
                    .collect();
                dz = round_all(&next, half.map(|_| 1.0));
            }
        }
        Grads { loss, w: gw, b: gb }
    }

    /// Applies one optimizer step with these gradients.
    pub fn step(&mut self, g: &Grads, opt: &OptimizerConfig, state: &mut OptState) {
        if state.mw.is_empty() {
            let zeros = |v: &Vec<Vec<f64>>| v.iter().map(|x| vec![0.0; x.len()]).collect();
            state.mw = zeros(&self.w);
            state.vw = zeros(&self.w);
            state.mb = zeros(&self.b);
            state.vb = zeros(&self.b);
        }
        state.step += 1;
        let t = state.step as i32;
        let update = |w: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64], decay: f64| {
            for i in 0..w.len() {
                match opt.kind {
                    OptimizerKind::AdamW => {
                        m[i] = opt.beta1 * m[i] + (1.0 - opt.beta1) * g[i];
                        v[i] = opt.beta2 * v[i] + (1.0 - opt.beta2) * g[i] * g[i];
                        let mh = m[i] / (1.0 - opt.beta1.powi(t));
                        let vh = v[i] / (1.0 - opt.beta2.powi(t));
                        w[i] -= opt.learning_rate * (mh / (vh.sqrt() + opt.epsilon) + decay * w[i]);
                    }
                    OptimizerKind::Sgd => {
                        m[i] = opt.beta1 * m[i] + g[i] + decay * w[i];
                        w[i] -= opt.learning_rate * m[i];
                    }
                }
            }
        };
        for l in 0..self.layers() {
            update(
                &mut self.w[l],
                &g.w[l],
                &mut state.mw[l],
                &mut state.vw[l],
                opt.weight_decay,
            );
            update(
                &mut self.b[l],
                &g.b[l],
                &mut state.mb[l],
                &mut state.vb[l],
                0.0,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::random_matrix;

    fn tiny() -> (Mlp, Vec<f64>, Vec<f64>, usize) {
        let dims = vec![3, 5, 4, 2];
        let r = |len: usize, s: u64| -> Vec<f64> {
            random_matrix(len, 9, s)
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        };
        let mlp = Mlp {
            w: (0..3).map(|l| r(dims[l] * dims[l + 1], l as u64)).collect(),
            b: (0..3).map(|l| r(dims[l + 1], 10 + l as u64)).collect(),
            dims,
        };
        let rows = 6;
        (mlp, r(rows * 3, 20), r(rows * 2, 21), rows)
    }

    #[test]
    fn gelu_gradient_matches_finite_differences() {
        for x in [-4.0, -1.3, -0.2, 0.0, 0.05, 0.7, 2.5, 6.0] {
            let h = 1e-6;
            let fd = (gelu(x + h) - gelu(x - h)) / (2.0 * h);
            assert!((fd - gelu_grad(x)).abs() < 1e-8, "x = {x}");
        }
        assert_eq!(gelu(0.0), 0.0);
        assert!((gelu(10.0) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (mlp, x, t, rows) = tiny();
        let g = mlp.loss_and_grads(&x, &t, rows);
        let h = 1e-6;
        let loss_of = |m: &Mlp| m.loss_and_grads(&x, &t, rows).loss;
        for l in 0..mlp.layers() {
            for i in 0..mlp.w[l].len() {
                let (mut p, mut q) = (mlp.clone(), mlp.clone());
                p.w[l][i] += h;
                q.w[l][i] -= h;
                let fd = (loss_of(&p) - loss_of(&q)) / (2.0 * h);
                assert!(
                    (fd - g.w[l][i]).abs() < 1e-7,
                    "w[{l}][{i}]: {fd} vs {}",
                    g.w[l][i]
                );
            }
            for i in 0..mlp.b[l].len() {
                let (mut p, mut q) = (mlp.clone(), mlp.clone());
                p.b[l][i] += h;
                q.b[l][i] -= h;
                let fd = (loss_of(&p) - loss_of(&q)) / (2.0 * h);
                assert!((fd - g.b[l][i]).abs() < 1e-7, "b[{l}][{i}]");
            }
        }
    }

    #[test]
    fn optimizers_take_their_textbook_first_step() {
        let (mlp, x, t, rows) = tiny();
        let g = mlp.loss_and_grads(&x, &t, rows);
        let adam = OptimizerConfig::adamw(0.01);
        let mut a = mlp.clone();
        a.step(&g, &adam, &mut OptState::default());
        // Step 1 of Adam moves every weight by lr·g/(|g| + ε), plus the decay.
        let (w0, w1, g0) = (mlp.w[0][0], a.w[0][0], g.w[0][0]);
        let want = w0 - 0.01 * (g0 / (g0.abs() + adam.epsilon) + adam.weight_decay * w0);
        assert!((w1 - want).abs() < 1e-12);
        let sgd = OptimizerConfig::sgd(0.1);
        let mut s = mlp.clone();
        let mut st = OptState::default();
        s.step(&g, &sgd, &mut st);
        s.step(&g, &sgd, &mut st);
        // Two steps with the same gradient: momentum makes the second 1 + μ times longer.
        let d = g.b[1][0];
        assert!((s.b[1][0] - (mlp.b[1][0] - 0.1 * d * (2.0 + sgd.beta1))).abs() < 1e-12);
    }

    #[test]
    fn f16_gradients_are_the_f32_ones_within_f16_rounding() {
        let (mlp, x, t, rows) = tiny();
        let exact = mlp.loss_and_grads(&x, &t, rows);
        for scale in [1.0, 64.0] {
            let half = mlp.loss_and_grads_with(&x, &t, rows, Some(scale));
            let (mut num, mut den) = (0.0, 0.0);
            for (a, b) in half.w.iter().flatten().zip(exact.w.iter().flatten()) {
                num += (a - b) * (a - b);
                den += b * b;
            }
            let rel = (num / den).sqrt();
            assert!(rel > 1e-7 && rel < 1e-2, "scale {scale}: {rel}");
        }
        // A power-of-two scale changes nothing but the range of the stored values.
        let a = mlp.loss_and_grads_with(&x, &t, rows, Some(1.0));
        let b = mlp.loss_and_grads_with(&x, &t, rows, Some(1024.0));
        assert_eq!(a.loss, b.loss);
    }

    #[test]
    fn a_few_steps_lower_the_loss() {
        let (mut mlp, x, t, rows) = tiny();
        let adam = OptimizerConfig::adamw(0.02);
        let mut st = OptState::default();
        let start = mlp.loss_and_grads(&x, &t, rows).loss;
        for _ in 0..50 {
            let g = mlp.loss_and_grads(&x, &t, rows);
            mlp.step(&g, &adam, &mut st);
        }
        assert!(mlp.loss_and_grads(&x, &t, rows).loss < 0.5 * start);
    }
}
