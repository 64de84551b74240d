//! Hand check that the kernels auto-vectorize. Build and disassemble:
//!
//! ```sh
//! cargo build --release -p numfuse-vecmath --example vectorize
//! objdump -d --no-show-raw-insn target/release/examples/vectorize | less   # look for zmm/ymm in `*_avx512` / `*_avx2`
//! ```
//!
//! Each loop is the plain `out[i] = f(x[i])` the VM instantiates per ISA.

#[cfg(target_arch = "x86_64")]
mod loops {
    use numfuse_vecmath as vm;

    macro_rules! unary_loops {
        ($($name:ident: $feat:literal, $t:ty, $f:path;)*) => {$(
            /// # Safety
            /// The CPU must support the enabled target features.
            #[target_feature(enable = $feat)]
            #[inline(never)]
            pub unsafe fn $name(x: &[$t], out: &mut [$t]) {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = $f(v);
                }
            }
        )*};
    }

    unary_loops! {
        exp_f32_avx512: "avx512f", f32, vm::exp_f32;
        log_f32_avx512: "avx512f", f32, vm::log_f32;
        sin_f32_avx512: "avx512f", f32, vm::sin_f32;
        tanh_f32_avx512: "avx512f", f32, vm::tanh_f32;
        exp_f64_avx512: "avx512f", f64, vm::exp_f64;
        log_f64_avx512: "avx512f", f64, vm::log_f64;
        sin_f64_avx512: "avx512f", f64, vm::sin_f64;
        arctan_f64_avx512: "avx512f", f64, vm::arctan_f64;
        tanh_f64_avx512: "avx512f", f64, vm::tanh_f64;
        arcsinh_f64_avx512: "avx512f", f64, vm::arcsinh_f64;
        exp_f32_avx2: "avx2,fma", f32, vm::exp_f32;
        sin_f32_avx2: "avx2,fma", f32, vm::sin_f32;
        tanh_f32_avx2: "avx2,fma", f32, vm::tanh_f32;
        exp_f64_avx2: "avx2,fma", f64, vm::exp_f64;
        log_f64_avx2: "avx2,fma", f64, vm::log_f64;
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    #[inline(never)]
    pub unsafe fn pow_f64_avx512(x: &[f64], y: &[f64], out: &mut [f64]) {
        for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
            *o = vm::pow_f64(a, b);
        }
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    #[inline(never)]
    pub unsafe fn arctan2_f32_avx512(x: &[f32], y: &[f32], out: &mut [f32]) {
        for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
            *o = vm::arctan2_f32(a, b);
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    {
        use loops::*;
        let n = (1 << 12) + std::env::args().count(); // not a compile-time constant
        let x32: Vec<f32> = (0..n).map(|i| i as f32 * 0.01 + 0.5).collect();
        let x64: Vec<f64> = x32.iter().map(|&v| f64::from(v)).collect();
        let (mut o32, mut o64) = (vec![0f32; n], vec![0f64; n]);
        let mut sum = 0.0;
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected at run time.
            unsafe {
                for f in [
                    exp_f32_avx512,
                    log_f32_avx512,
                    sin_f32_avx512,
                    tanh_f32_avx512,
                ] {
                    f(&x32, &mut o32);
                    sum += o32.iter().map(|&v| f64::from(v)).sum::<f64>();
                }
                for f in [
                    exp_f64_avx512,
                    log_f64_avx512,
                    sin_f64_avx512,
                    arctan_f64_avx512,
                    tanh_f64_avx512,
                    arcsinh_f64_avx512,
                ] {
                    f(&x64, &mut o64);
                    sum += o64.iter().sum::<f64>();
                }
                pow_f64_avx512(&x64, &x64, &mut o64);
                arctan2_f32_avx512(&x32, &x32, &mut o32);
            }
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2 and FMA were detected at run time.
            unsafe {
                exp_f32_avx2(&x32, &mut o32);
                sin_f32_avx2(&x32, &mut o32);
                tanh_f32_avx2(&x32, &mut o32);
                exp_f64_avx2(&x64, &mut o64);
                log_f64_avx2(&x64, &mut o64);
            }
        }
        println!("checksum {sum}");
    }
}
