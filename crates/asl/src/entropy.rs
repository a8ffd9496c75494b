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
        uuid_text(&b)
    }

    /// A version 7 UUID (RFC 9562): `unix_millis` in the first 48 bits, the
    /// rest random, in canonical lowercase text. Successive ones sort by
    /// time, so B-tree indexes keyed by them grow at their right edge instead
    /// of dirtying a random page per insert.
    fn uuid_v7(&mut self, unix_millis: u64) -> String {
        let hi = (unix_millis << 16) | (self.next_u64() & 0xffff);
        let lo = self.next_u64();
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&hi.to_be_bytes());
        b[8..].copy_from_slice(&lo.to_be_bytes());
        b[6] = (b[6] & 0x0f) | 0x70;
        b[8] = (b[8] & 0x3f) | 0x80;
        uuid_text(&b)
    }
}

/// 16 bytes as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase, with one
/// allocation (this runs twice per started execution: a `format!` per byte
/// showed up in the webhook profile).
pub fn uuid_text(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut i = 0;
    for (n, byte) in b.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            out[i] = b'-';
            i += 1;
        }
        out[i] = HEX[usize::from(byte >> 4)];
        out[i + 1] = HEX[usize::from(byte & 0x0f)];
        i += 2;
    }
    // Only ASCII hex digits and dashes were written.
    out.iter().map(|&c| char::from(c)).collect()
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
    fn uuid_text_is_canonical() {
        let b = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
            0x32, 0x10,
        ];
        assert_eq!(uuid_text(&b), "01234567-89ab-cdef-fedc-ba9876543210");
    }

    #[test]
    fn uuid_v7_sorts_by_time_and_has_version_and_variant() {
        let mut e = SplitMix64(7);
        let a = e.uuid_v7(1_700_000_000_000);
        let b = e.uuid_v7(1_700_000_000_001);
        assert!(a < b, "{a} {b}");
        assert_eq!(&a[..13], "018bcfe5-6800");
        assert_eq!(&a[14..15], "7");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
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
