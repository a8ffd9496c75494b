//! Injected randomness: the interpreter never calls a random number generator itself.
//!
//! Owns the [`Entropy`] trait (the engine passes a real source, tests a seeded
//! one) and [`SplitMix64`], a small deterministic source. `States.MathRandom`,
//! `States.UUID` and `JitterStrategy: FULL` draw from it; nothing else may.

/// A source of random 64-bit values.
pub trait Entropy {
    /// The next random value.
    fn next_u64(&mut self) -> u64;

    /// A uniform float in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random (version 4) UUID in canonical lowercase text.
    fn uuid_v4(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&hi.to_be_bytes());
        b[8..].copy_from_slice(&lo.to_be_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

/// A deterministic generator (SplitMix64), for tests and for callers that
/// seed from the operating system themselves.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl Entropy for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant() {
        let u = SplitMix64(7).uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn floats_are_in_unit_interval() {
        let mut e = SplitMix64(1);
        for _ in 0..1000 {
            let f = e.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
    }
}
