//! Route auth: does the request carry one of the route's API keys, or a
//! valid HMAC-SHA256 signature of its raw body?
//!
//! Owns the two checks of `auth = { type = "api_key" | "hmac_sha256" }`:
//! a missing header is 401 (`unauthorized`: say who you are), a wrong key or
//! signature 403 (`forbidden`: you are not allowed). Every comparison with a
//! secret runs in constant time. It must not log or echo a secret, a key or
//! a signature (messages name the header, nothing it held), and must see the
//! raw body bytes, before any parsing: a signature covers bytes, and
//! re-serialised JSON would not match (GitHub: "validate against the raw
//! payload body").

use axum::http::{HeaderMap, StatusCode};
use config::{Auth, Secret};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::Refusal;

/// Whether `headers` and `body` pass `auth`.
pub(crate) fn check(auth: &Auth, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    match auth {
        Auth::None => Ok(()),
        Auth::ApiKey { header, keys, .. } => {
            let given = present(headers, header, "an API key")?;
            if matches_any(given, keys) {
                Ok(())
            } else {
                Err(forbidden(format!(
                    "the API key in header {header} is not accepted"
                )))
            }
        }
        Auth::HmacSha256 {
            header,
            secret,
            prefix,
            ..
        } => {
            let given = present(headers, header, "the body's HMAC-SHA256 signature")?;
            let Some(hex) = given.strip_prefix(prefix.as_bytes()) else {
                return Err(forbidden(format!(
                    "the signature in header {header} must start with \"{prefix}\" followed by the hex HMAC-SHA256 of the body"
                )));
            };
            if signature_matches(secret, body, hex) {
                Ok(())
            } else {
                Err(forbidden(format!(
                    "the signature in header {header} does not match the body (expected {prefix}<hex HMAC-SHA256 of the raw body with the shared secret>)"
                )))
            }
        }
    }
}

/// The header's bytes, or 401 when it is absent or empty.
fn present<'h>(headers: &'h HeaderMap, header: &str, what: &str) -> Result<&'h [u8], Refusal> {
    match headers.get(header).map(|v| v.as_bytes()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("this route needs header {header} with {what}"),
        )),
    }
}

fn forbidden(message: String) -> Refusal {
    Refusal::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// Whether `given` equals one of `keys`. Both sides are hashed first so the
/// comparison takes the same time whatever the lengths, and every key is
/// compared (no early exit) so timing does not tell which prefix matched.
fn matches_any(given: &[u8], keys: &[Secret]) -> bool {
    let given = Sha256::digest(given);
    let mut found = Choice::from(0);
    for key in keys {
        let key = Sha256::digest(key.expose().as_bytes());
        found |= given.as_slice().ct_eq(key.as_slice());
    }
    found.into()
}

/// Whether `hex` is the hex HMAC-SHA256 of `body` under `secret`; the
/// digest is compared by `verify_slice`, in constant time.
fn signature_matches(secret: &Secret, body: &[u8], hex: &[u8]) -> bool {
    let Some(signature) = decode_hex(hex) else {
        return false;
    };
    // HMAC takes keys of any length, so this never fails in practice.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// Hex (either case) to bytes; `None` for odd lengths or other characters.
fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// The hex HMAC-SHA256 of `body` under `secret`: what a sender puts after
/// the prefix (tests sign with it).
#[cfg(test)]
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex(b"00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(decode_hex(b""), Some(vec![]));
        assert_eq!(decode_hex(b"abc"), None);
        assert_eq!(decode_hex(b"zz"), None);
    }

    #[test]
    fn github_example_signature() {
        // GitHub's documented test vector ("Validating webhook deliveries").
        let secret = Secret::new("It's a Secret to Everybody");
        let hex = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign("It's a Secret to Everybody", b"Hello, World!"), hex);
        assert!(signature_matches(&secret, b"Hello, World!", hex.as_bytes()));
        assert!(!signature_matches(
            &secret,
            b"Hello, World?",
            hex.as_bytes()
        ));
        assert!(!signature_matches(&secret, b"Hello, World!", b"75"));
    }

    #[test]
    fn api_keys_match_any_of_several() {
        let keys = [Secret::new("alpha"), Secret::new("beta")];
        assert!(matches_any(b"beta", &keys));
        assert!(!matches_any(b"bet", &keys));
        assert!(!matches_any(b"", &keys));
    }
}
