//! The two transcendental functions of a BERT forward pass, over whole slices, written so the
//! compiler vectorises them: `exp` (softmax) and `erf` (GELU). The standard library's `expf`
//! and candle's `erf` are scalar calls per element; profiled, they took about 17 % of an
//! embedding batch (bench/README.md). Each loop runs inside `pulp::Arch::dispatch`, which
//! compiles it for the CPU's best instruction set (AVX-512 or AVX2+FMA on x86-64) and picks
//! that version at run time.
//!
//! Accuracy: `exp` has a relative error below 2e-7 on its whole range (a degree-7 polynomial
//! after range reduction by ln 2); `erf` is Abramowitz & Stegun 7.1.26, absolute error below
//! 1.5e-7 in exact arithmetic and below 1e-6 in `f32`. Both are far below what the model's
//! vectors are held to (embed/tests/reference.rs).

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two, so that `n · ln 2` is exact in its high part (Cody and Waite).
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting 1.5 · 2^23 rounds a float below 2^22 to the nearest integer.
const ROUND: f32 = 12_582_912.0;
const LANES: usize = 16;

/// e^x, for every x (results below e^-87 are flushed towards zero, above e^88 saturate).
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // e^r on |r| ≤ ln2/2: Taylor to r^7 (the next term is below 1e-8 there).
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n from its exponent bits, without a float-to-int conversion (which does not
    // vectorise): n + 127 is an integer in [1, 254] after the clamp, so adding it to 1.5 · 2^23
    // leaves it in the low mantissa bits, and the shift moves it into the exponent field.
    let scale = f32::from_bits((n + (ROUND + 127.0)).to_bits() << 23);
    p * scale
}

/// erf(x), Abramowitz & Stegun 7.1.26.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t
        + 0.254_829_6)
        * t;
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// GELU (the exact form, with erf, as BERT's `hidden_act: "gelu"`) of every element, in place.
pub(crate) fn gelu(xs: &mut [f32]) {
    pulp::Arch::new().dispatch(Gelu(xs));
}

/// The loops run inside `WithSimd::with_simd`, which pulp calls from a function compiled for
/// the chosen instruction set; `#[inline(always)]` all the way down puts them in it (a closure
/// was not inlined there and ran as plain SSE2).
struct Gelu<'a>(&'a mut [f32]);

impl pulp::WithSimd for Gelu<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        gelu_all(self.0);
    }
}

#[inline(always)]
fn gelu_all(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Softmax of each row of `width` values, in place: e^(x - max) / Σ.
pub(crate) fn softmax_rows(matrix: &mut [f32], width: usize) {
    pulp::Arch::new().dispatch(Softmax(matrix, width));
}

struct Softmax<'a>(&'a mut [f32], usize);

impl pulp::WithSimd for Softmax<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        for row in self.0.chunks_mut(self.1.max(1)) {
            softmax_row(row);
        }
    }
}

#[inline(always)]
fn softmax_row(row: &mut [f32]) {
    // Lane-wise accumulators, so that the reductions vectorise without reordering
    // floating-point sums behind the compiler's back.
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, x) in lanes.iter_mut().zip(chunk) {
            *m = m.max(*x);
        }
    }
    let max = chunks
        .remainder()
        .iter()
        .chain(&lanes)
        .fold(f32::NEG_INFINITY, |m, x| m.max(*x));
    let mut sums = [0.0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (s, x) in sums.iter_mut().zip(chunk.iter_mut()) {
            *x = exp(*x - max);
            *s += *x;
        }
    }
    let mut sum: f32 = sums.iter().sum();
    for x in chunks.into_remainder() {
        *x = exp(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in row.iter_mut() {
        *x *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exp_matches_the_standard_library() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp(x), x.exp());
            assert!(
                ((got - want) / want).abs() < 2e-6,
                "exp({x}) = {got}, want {want}"
            );
            x += 0.0137;
        }
        assert_eq!(exp(f32::NEG_INFINITY), exp(-87.0));
        assert!(exp(-1000.0) < 1e-37);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_the_order() {
        let mut row: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).sin() * 20.0).collect();
        let before = row.clone();
        softmax_rows(&mut row, 37);
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "{sum}");
        let max = before.iter().fold(f32::NEG_INFINITY, |m, x| m.max(*x));
        let total: f32 = before.iter().map(|x| (x - max).exp()).sum();
        for (got, x) in row.iter().zip(&before) {
            let want = (x - max).exp() / total;
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    proptest! {
        #[test]
        fn erf_is_within_its_bound(x in -10.0f32..10.0) {
            // libm's erf in f64 as the reference.
            let want = libm_erf(f64::from(x));
            prop_assert!((f64::from(erf(x)) - want).abs() < 1e-6, "erf({}) = {}, want {}", x, erf(x), want);
        }

        #[test]
        fn gelu_of_any_slice_is_finite(xs in proptest::collection::vec(-1e4f32..1e4, 0..70)) {
            let mut ys = xs.clone();
            gelu(&mut ys);
            for (x, y) in xs.iter().zip(&ys) {
                prop_assert!(y.is_finite());
                if *x > 10.0 { prop_assert!((y - x).abs() <= x.abs() * 1e-6); }
                if *x < -10.0 { prop_assert!(y.abs() < 1e-6); }
            }
        }
    }

    /// erf in double precision by its series (|x| < 3) or continued fraction (beyond), good to
    /// 1e-12: a reference independent of the approximation under test.
    fn libm_erf(x: f64) -> f64 {
        let a = x.abs();
        let value = if a < 3.0 {
            let (mut term, mut sum, mut n) = (a, a, 0.0f64);
            while term.abs() > 1e-17 * sum.abs().max(1e-300) {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc by Lentz's continued fraction.
            let mut f = a;
            for k in (1..60).rev() {
                f = a + f64::from(k) / 2.0 / f;
            }
            1.0 - (-a * a).exp() / (f * std::f64::consts::PI.sqrt())
        };
        value.copysign(x)
    }
}
