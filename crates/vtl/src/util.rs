//! The string functions behind `$util`.
//!
//! Owns byte-exact re-implementations of the Java functions API Gateway's
//! `$util` delegates to: commons-lang 2 `StringEscapeUtils.escapeJavaScript`,
//! `java.net.URLEncoder` / `URLDecoder` (UTF-8) and `java.util.Base64`.
//! It must not know about templates or values (`parseJson` lives in the
//! renderer, which owns values).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// commons-lang 2 `StringEscapeUtils.escapeJavaScript`: `'` `"` `\` `/`
/// get a backslash; `\b \t \n \f \r` their short escapes; other control
/// characters and every UTF-16 unit above 0x7F become `\uXXXX` with
/// uppercase hex (so a character outside the BMP is two escapes).
pub(crate) fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) <= 0x7F => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04X}", *unit));
                }
            }
        }
    }
    out
}

/// `URLEncoder.encode(s, "UTF-8")`: letters, digits and `.-*_` stay, space
/// becomes `+`, every other byte of the UTF-8 encoding is `%XX` (uppercase).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `URLDecoder.decode(s, "UTF-8")`: `+` is a space, runs of `%XX` are
/// decoded as UTF-8 (malformed bytes become U+FFFD, as Java's decoder
/// does); a truncated or non-hex escape is an error, as in Java.
pub(crate) fn url_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut pending: Vec<u8> = Vec::new();
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => {
                    pending.push(v);
                    i += 3;
                    continue;
                }
                None => {
                    return Err(format!(
                        "urlDecode: incomplete or illegal escape at byte {i} of '{s}'"
                    ));
                }
            }
        }
        if !pending.is_empty() {
            out.push_str(&String::from_utf8_lossy(&pending));
            pending.clear();
        }
        // Copy one whole UTF-8 character (non-ASCII text passes through).
        let len = utf8_len(b);
        let chunk = s.get(i..i + len).unwrap_or("\u{FFFD}");
        if chunk == "+" {
            out.push(' ');
        } else {
            out.push_str(chunk);
        }
        i += len.max(1);
    }
    if !pending.is_empty() {
        out.push_str(&String::from_utf8_lossy(&pending));
    }
    Ok(out)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// `Base64.getEncoder().encodeToString(s.getBytes(UTF_8))`.
pub(crate) fn base64_encode(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// `new String(Base64.getDecoder().decode(s), UTF_8)`: padding optional,
/// anything else invalid is an error; bytes that are not UTF-8 become U+FFFD.
pub(crate) fn base64_decode(s: &str) -> Result<String, String> {
    const DECODER: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    DECODER
        .decode(s.as_bytes())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| format!("base64Decode: illegal base64 input: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_javascript_matches_commons_lang() {
        assert_eq!(escape_javascript(r#"it's "q" \ /"#), r#"it\'s \"q\" \\ \/"#);
        assert_eq!(escape_javascript("\u{8}\t\n\u{c}\r"), r"\b\t\n\f\r");
        assert_eq!(
            escape_javascript("\u{1}\u{1f}\u{7f}"),
            "\\u0001\\u001F\u{7f}"
        );
        assert_eq!(escape_javascript("é日"), r"\u00E9\u65E5");
        assert_eq!(escape_javascript("😀"), r"\uD83D\uDE00");
        assert_eq!(escape_javascript("$#{}<>&"), "$#{}<>&");
    }

    #[test]
    fn url_encoding_matches_java() {
        assert_eq!(url_encode("a b+c/é*~._-"), "a+b%2Bc%2F%C3%A9*%7E._-");
        assert_eq!(url_decode("a+b%2Bc%2F%C3%A9").unwrap(), "a b+c/é");
        assert_eq!(url_decode("%FF").unwrap(), "\u{FFFD}");
        assert_eq!(url_decode("日本+x").unwrap(), "日本 x");
        assert!(url_decode("%4").is_err());
        assert!(url_decode("%zz").is_err());
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_encode("héllo"), "aMOpbGxv");
        assert_eq!(base64_decode("aMOpbGxv").unwrap(), "héllo");
        assert_eq!(base64_decode("YQ").unwrap(), "a");
        assert!(base64_decode("a$").is_err());
    }
}
