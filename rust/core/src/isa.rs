//! Which instruction set the kernels are compiled for, probed once per
//! process (after memchr): every kernel is instantiated once per [`Isa`]
//! (see `kernels`), and [`crate::Program::new`] pre-decodes to the
//! instantiation of [`Isa::detected`], so a running program never asks again.

use std::sync::OnceLock;

/// A set of CPU features the kernels are instantiated for, lowest first.
///
/// Every variant exists on every target; on a CPU (or architecture) without
/// a variant's features, it is simply not [available](Isa::available), and a
/// program asked to use it falls back to the best one that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// The target's baseline: SSE2 on x86_64, NEON on aarch64.
    Baseline,
    /// x86_64 AVX2 + FMA (256-bit vectors).
    Avx2,
    /// x86_64 AVX-512 F, BW, DQ and VL (512-bit vectors and mask registers).
    Avx512,
}

impl Isa {
    /// Every variant, lowest first.
    pub const ALL: [Isa; 3] = [Isa::Baseline, Isa::Avx2, Isa::Avx512];

    /// The name `NUMFUSE_ISA` takes: `baseline`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// The variant of this [`name`](Isa::name), if any.
    pub fn from_name(name: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|isa| isa.name() == name)
    }

    /// The ISAs this CPU runs, lowest first (always starts with `Baseline`).
    pub fn available() -> Vec<Isa> {
        let best = hardware();
        Isa::ALL.into_iter().filter(|&isa| isa <= best).collect()
    }

    /// The ISA [`crate::Program::new`] uses: the best this CPU runs, lowered
    /// by the environment variable `NUMFUSE_ISA` (`avx512`, `avx2` or
    /// `baseline`; never raised above what the CPU has, and ignored if it
    /// names no ISA). Read once per process.
    pub fn detected() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let requested = std::env::var("NUMFUSE_ISA")
                .ok()
                .and_then(|name| Isa::from_name(name.trim()));
            requested.map_or(hardware(), Isa::clamp)
        })
    }

    /// The best available ISA not above `self`.
    pub fn clamp(self) -> Isa {
        self.min(hardware())
    }
}

/// The best ISA this CPU runs, probed once.
fn hardware() -> Isa {
    static HARDWARE: OnceLock<Isa> = OnceLock::new();
    *HARDWARE.get_or_init(probe)
}

#[cfg(target_arch = "x86_64")]
fn probe() -> Isa {
    use std::arch::is_x86_feature_detected as has;
    let avx2 = has!("avx2") && has!("fma");
    if avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
        Isa::Avx512
    } else if avx2 {
        Isa::Avx2
    } else {
        Isa::Baseline
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn probe() -> Isa {
    Isa::Baseline
}
