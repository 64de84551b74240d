//! Shared test helpers: a deterministic RNG, ULP metrics, input generators and
//! double-double reference implementations.
#![allow(dead_code)]

/// SplitMix64.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Log-uniform magnitude in [lo, hi] (lo > 0), random sign if `signed`.
    pub fn loguni(&mut self, lo: f64, hi: f64, signed: bool) -> f64 {
        let m = (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp();
        let m = m.clamp(lo, hi);
        if signed && self.next_u64() & 1 == 1 {
            -m
        } else {
            m
        }
    }
}

/// Position of a float on the integer line (so adjacent floats differ by 1, +-0 coincide).
pub fn ord32(x: f32) -> i64 {
    let b = x.to_bits() as i32;
    i64::from(if b < 0 { i32::MIN.wrapping_sub(b) } else { b })
}
pub fn ord64(x: f64) -> i128 {
    let b = x.to_bits() as i64;
    i128::from(if b < 0 { i64::MIN.wrapping_sub(b) } else { b })
}

/// Integer ULP distance; 0 if both NaN, huge if only one is NaN.
pub fn ulp_dist32(a: f32, b: f32) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0,
        (false, false) => (ord32(a) - ord32(b)).unsigned_abs(),
        _ => u64::MAX,
    }
}
pub fn ulp_dist64(a: f64, b: f64) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0,
        (false, false) => u64::try_from((ord64(a) - ord64(b)).unsigned_abs()).unwrap_or(u64::MAX),
        _ => u64::MAX,
    }
}

/// ulp of a f32-sized value r (given in f64), subnormal floor 2^-149.
pub fn ulp32_of(r: f64) -> f64 {
    let r = r.abs();
    if r < f64::from(f32::MIN_POSITIVE) {
        return 2f64.powi(-149);
    }
    let e = r.log2().floor();
    let mut u = 2f64.powf(e - 23.0);
    // fix floor errors
    if r < 2f64.powf(e) {
        u *= 0.5;
    }
    u
}

/// ulp of a f64 value (subnormal floor 2^-1074).
pub fn ulp64_of(r: f64) -> f64 {
    let r = r.abs();
    if !r.is_finite() {
        return f64::NAN;
    }
    let b = r.to_bits() >> 52;
    if b == 0 {
        return f64::from_bits(1);
    }
    // 2^(e - 52)
    let e = b as i64 - 1023 - 52;
    if e < -1074 {
        f64::from_bits(1)
    } else if e < -1022 {
        f64::from_bits(1u64 << (e + 1074))
    } else {
        f64::from_bits(((e + 1023) as u64) << 52)
    }
}

/// Fractional ULP error of a f64 result against a double-double reference.
pub fn err64(res: f64, r: Dd) -> f64 {
    if res.is_nan() || r.hi.is_nan() {
        return if res.is_nan() && r.hi.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if res.is_infinite() || r.hi.is_infinite() {
        return if res == r.hi { 0.0 } else { f64::INFINITY };
    }
    ((res - r.hi) - r.lo).abs() / ulp64_of(r.hi)
}

/// Running maximum of an error with its argument.
#[derive(Default, Clone, Copy)]
pub struct Worst {
    pub err: f64,
    pub x: f64,
    pub y: f64,
}
impl Worst {
    pub fn add(&mut self, err: f64, x: f64, y: f64) {
        if err > self.err || err.is_nan() {
            *self = Worst { err, x, y };
        }
    }
}

// ------------------------------------------------------------ double-double
#[derive(Clone, Copy, Debug)]
pub struct Dd {
    pub hi: f64,
    pub lo: f64,
}

pub fn dd(x: f64) -> Dd {
    Dd { hi: x, lo: 0.0 }
}

fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd {
        hi: s,
        lo: (a - (s - bb)) + (b - bb),
    }
}
fn fast(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd {
        hi: s,
        lo: b - (s - a),
    }
}
impl Dd {
    pub fn add(self, o: Dd) -> Dd {
        let s = two_sum(self.hi, o.hi);
        let t = two_sum(self.lo, o.lo);
        let s = fast(s.hi, s.lo + t.hi);
        fast(s.hi, s.lo + t.lo)
    }
    pub fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
    pub fn sub(self, o: Dd) -> Dd {
        self.add(o.neg())
    }
    pub fn mul(self, o: Dd) -> Dd {
        let p = self.hi * o.hi;
        let e = self.hi.mul_add(o.hi, -p);
        fast(p, e + (self.hi * o.lo + self.lo * o.hi))
    }
    pub fn mulf(self, o: f64) -> Dd {
        self.mul(dd(o))
    }
    pub fn div(self, o: Dd) -> Dd {
        let q1 = self.hi / o.hi;
        let r = self.sub(o.mulf(q1));
        let q2 = r.hi / o.hi;
        let r = r.sub(o.mulf(q2));
        let q3 = r.hi / o.hi;
        fast(q1, q2).add(dd(q3))
    }
    pub fn sqrt(self) -> Dd {
        if self.hi <= 0.0 {
            return dd(self.hi.sqrt());
        }
        let y = self.hi.sqrt();
        // one Newton step: y + (a - y^2)/(2y)
        let yy = dd(y).mul(dd(y));
        dd(y).add(self.sub(yy).div(dd(2.0 * y)))
    }
    pub fn scale(self, k: i32) -> Dd {
        // multiply by 2^k in steps so intermediate values stay finite
        let mut r = self;
        let mut k = k;
        while k > 0 {
            let s = k.min(1000);
            let f = 2f64.powi(s);
            r = Dd {
                hi: r.hi * f,
                lo: r.lo * f,
            };
            k -= s;
        }
        while k < 0 {
            let s = k.max(-1000);
            let f = 2f64.powi(s);
            r = Dd {
                hi: r.hi * f,
                lo: r.lo * f,
            };
            k -= s;
        }
        r
    }
}

pub const LN2: Dd = Dd {
    hi: std::f64::consts::LN_2,
    lo: 2.319_046_813_846_299_6e-17,
};
pub const LN10: Dd = Dd {
    hi: std::f64::consts::LN_10,
    lo: -2.170_756_223_382_249_4e-16,
};

/// e^a (double-double), relative error ~2^-95.
pub fn exp_dd(a: Dd) -> Dd {
    if a.hi > 710.0 {
        return dd(f64::INFINITY);
    }
    if a.hi < -760.0 {
        return dd(0.0);
    }
    let n = (a.hi / LN2.hi).round();
    let r = a.sub(LN2.mulf(n));
    let r = r.scale(-10);
    // Taylor
    let mut term = dd(1.0);
    let mut sum = dd(1.0);
    for k in 1..16 {
        term = term.mul(r).div(dd(k as f64));
        sum = sum.add(term);
    }
    for _ in 0..10 {
        sum = sum.mul(sum);
    }
    sum.scale(n as i32)
}

/// e^a - 1.
pub fn expm1_dd(a: f64) -> Dd {
    if a.abs() < 0.5 {
        let mut term = dd(1.0);
        let mut sum = dd(0.0);
        for k in 1..40 {
            term = term.mulf(a).div(dd(k as f64));
            sum = sum.add(term);
        }
        sum
    } else {
        exp_dd(dd(a)).sub(dd(1.0))
    }
}

/// 2 atanh(s) series for a double-double s (|s| < 0.2).
fn atanh2_series(s: Dd) -> Dd {
    let z = s.mul(s);
    let mut p = s;
    let mut sum = dd(0.0);
    for k in 0..60 {
        sum = sum.add(p.div(dd((2 * k + 1) as f64)));
        p = p.mul(z);
    }
    sum.mulf(2.0)
}

/// log(1 + a) for double-double a > -1.
pub fn log1p_dd2(a: Dd) -> Dd {
    if a.hi.abs() < 0.25 {
        // s = a / (2 + a)
        let s = a.div(dd(2.0).add(a));
        atanh2_series(s)
    } else {
        let x = dd(1.0).add(a);
        let y0 = x.hi.ln();
        // Newton: y = y0 + x e^-y0 - 1
        let y1 = dd(y0).add(x.mul(exp_dd(dd(-y0))).sub(dd(1.0)));
        y1.add(x.mul(exp_dd(y1.neg())).sub(dd(1.0)))
    }
}

pub fn log1p_dd(a: f64) -> Dd {
    log1p_dd2(dd(a))
}

/// log(x), x > 0.
pub fn log_dd(x: f64) -> Dd {
    if (x - 1.0).abs() < 0.25 {
        return log1p_dd(x - 1.0); // x - 1 exact here
    }
    // scale subnormals
    let (x, k) = if x < 1e-300 {
        (x * 2f64.powi(600), -600)
    } else {
        (x, 0)
    };
    let y0 = x.ln();
    let y1 = dd(y0).add(dd(x).mul(exp_dd(dd(-y0))).sub(dd(1.0)));
    let y = y1.add(dd(x).mul(exp_dd(y1.neg())).sub(dd(1.0)));
    y.add(LN2.mulf(f64::from(k)))
}
