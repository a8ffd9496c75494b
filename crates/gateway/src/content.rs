//! Content types: the request body as an execution input (JSON text).
//!
//! Owns the rules of `docs/gateway.md`: JSON bodies pass through as the
//! very bytes the client sent; `text/*` and form-encoded bodies are wrapped
//! in documented envelopes; anything else is refused (400 for a body that is
//! not what its type says, 415 for a type we do not take). It must not look
//! at anything but the `Content-Type` header and the body, and must never
//! re-serialise a JSON body: a payload with quotes, backslashes, unicode,
//! `$` or `#` arrives exactly.

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::Refusal;

/// The form-encoded media type.
const FORM: &str = "application/x-www-form-urlencoded";

/// The execution input for `body` sent with `headers`' content type.
pub(crate) fn input(headers: &HeaderMap, body: &[u8]) -> Result<String, Refusal> {
    // No body (a bare GET or POST) starts with `{}`, as StartExecution does
    // without `input`, whatever the type says.
    if body.is_empty() {
        return Ok("{}".to_owned());
    }
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return json_body(body, None);
    };
    let Ok(value) = value.to_str() else {
        return Err(unsupported("(not visible ASCII)"));
    };
    // The media type without parameters (`; charset=utf-8`), which are
    // case-insensitive like the type itself (RFC 9110 §8.3.1).
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json_type =
        essence == "application/json" || (essence.contains('/') && essence.ends_with("+json"));
    if json_type {
        json_body(body, Some(&essence))
    } else if essence.starts_with("text/") {
        let text = utf8(body, &essence)?;
        Ok(json!({ "contentType": essence, "body": text }).to_string())
    } else if essence == FORM {
        form_body(body)
    } else {
        Err(unsupported(&essence))
    }
}

/// A JSON body: checked, then passed through as sent. `content_type` is
/// `None` when the request had none.
fn json_body(body: &[u8], content_type: Option<&str>) -> Result<String, Refusal> {
    let not_json = |why: String| {
        let message = match content_type {
            Some(t) => {
                format!("the request body is not JSON although the content type is {t}: {why}")
            }
            None => format!(
                "the request has no Content-Type and its body is not JSON ({why}); send JSON, or set Content-Type: text/plain or {FORM} to have the body wrapped in an envelope"
            ),
        };
        Refusal::new(StatusCode::BAD_REQUEST, "bad request", message)
    };
    let text = std::str::from_utf8(body).map_err(|e| not_json(e.to_string()))?;
    if text.trim().is_empty() {
        return Ok("{}".to_owned());
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| not_json(e.to_string()))?;
    Ok(text.to_owned())
}

/// A form-encoded body. `curl -d '{"a": 1}'` sends JSON as form-encoded, so
/// a body that is a JSON object or array passes through as JSON; anything
/// else becomes `{"contentType", "form", "body"}`.
fn form_body(body: &[u8]) -> Result<String, Refusal> {
    let text = utf8(body, FORM)?;
    if matches!(
        serde_json::from_str::<Value>(text),
        Ok(Value::Object(_) | Value::Array(_))
    ) {
        return Ok(text.to_owned());
    }
    let mut form = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode_component(k)?, decode_component(v)?);
        // A repeated key collects its values in order, as most web
        // frameworks read `a=1&a=2`.
        match form.get_mut(&k) {
            None => {
                form.insert(k, Value::String(v));
            }
            Some(Value::Array(values)) => values.push(Value::String(v)),
            Some(first) => {
                let first = first.take();
                form.insert(k, Value::Array(vec![first, Value::String(v)]));
            }
        }
    }
    Ok(json!({ "contentType": FORM, "form": form, "body": text }).to_string())
}

/// Percent-decoding of one form component, `+` as space (WHATWG
/// `application/x-www-form-urlencoded` parsing: a `%` not followed by two
/// hex digits stays as it is). The bytes must be UTF-8.
fn decode_component(s: &str) -> Result<String, Refusal> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes[i] {
            b'%' => bytes.get(i + 1..i + 3).and_then(|p| hex_pair(p[0], p[1])),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b'+', None) => out.push(b' '),
            (b, None) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad request",
            format!(
                "a form field of the {FORM} body is not UTF-8 after percent-decoding; encode text as UTF-8"
            ),
        )
    })
}

fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16);
    // Two hex digits make at most 255: the cast cannot truncate.
    Some((digit(hi)? * 16 + digit(lo)?) as u8)
}

fn utf8<'b>(body: &'b [u8], content_type: &str) -> Result<&'b str, Refusal> {
    std::str::from_utf8(body).map_err(|e| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad request",
            format!("the {content_type} body is not UTF-8 ({e}); send UTF-8 text"),
        )
    })
}

fn unsupported(content_type: &str) -> Refusal {
    Refusal::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported media type",
        format!(
            "content type {content_type} is not accepted; send application/json (or any */*+json), text/*, or {FORM}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(content_type: Option<&str>, body: &str) -> Result<String, u16> {
        let mut headers = HeaderMap::new();
        if let Some(t) = content_type {
            headers.insert(header::CONTENT_TYPE, t.parse().expect("header value"));
        }
        input(&headers, body.as_bytes()).map_err(|r| r.status.as_u16())
    }

    fn value(s: &str) -> Value {
        serde_json::from_str(s).expect("JSON")
    }

    #[test]
    fn json_passes_byte_for_byte() {
        let body = r#"{ "a" : "\u00e9\\" ,"b":[1, 2.50]}"#;
        assert_eq!(with(Some("application/json"), body).as_deref(), Ok(body));
        assert_eq!(
            with(Some("Application/JSON; charset=UTF-8"), body).as_deref(),
            Ok(body)
        );
        assert_eq!(
            with(Some("application/vnd.github+json"), body).as_deref(),
            Ok(body)
        );
        assert_eq!(with(None, body).as_deref(), Ok(body));
        assert_eq!(with(Some("application/json"), "{nope"), Err(400));
        assert_eq!(with(None, "a=1"), Err(400));
        assert_eq!(with(Some("application/json"), "  ").as_deref(), Ok("{}"));
        assert_eq!(with(Some("application/json"), "").as_deref(), Ok("{}"));
        assert_eq!(with(Some("image/png"), "").as_deref(), Ok("{}"));
    }

    #[test]
    fn text_envelope() {
        let got = with(Some("text/plain; charset=utf-8"), "héllo \"x\"\n").expect("ok");
        assert_eq!(
            value(&got),
            json!({"contentType": "text/plain", "body": "héllo \"x\"\n"})
        );
        // Key order is part of the documented shape.
        assert!(got.starts_with(r#"{"contentType":"#), "{got}");
        assert_eq!(
            value(&with(Some("text/csv"), "a,b").expect("ok")),
            json!({"contentType": "text/csv", "body": "a,b"})
        );
    }

    #[test]
    fn form_envelope() {
        let body = "a=1&b=hello+world%21&a=2&c=%E2%9C%93&d&e=&a=3&bad=%zz&&";
        let got = with(Some(FORM), body).expect("ok");
        assert_eq!(
            value(&got),
            json!({
                "contentType": FORM,
                "form": {"a": ["1", "2", "3"], "b": "hello world!", "c": "✓", "d": "", "e": "", "bad": "%zz"},
                "body": body,
            })
        );
        assert_eq!(with(Some(FORM), "a=%ff"), Err(400));
        assert_eq!(
            with(Some(FORM), "%"),
            Ok(json!({"contentType": FORM, "form": {"%": ""}, "body": "%"}).to_string())
        );
    }

    #[test]
    fn form_encoded_json_passes_as_json() {
        let body = r#"{"a": "b=c&d"}"#;
        assert_eq!(with(Some(FORM), body).as_deref(), Ok(body));
        assert_eq!(with(Some(FORM), "[1,2]").as_deref(), Ok("[1,2]"));
        // A bare JSON scalar is a plausible form value, not JSON.
        let got = with(Some(FORM), "42").expect("ok");
        assert_eq!(value(&got)["form"], json!({"42": ""}));
    }

    #[test]
    fn other_types_are_415() {
        assert_eq!(with(Some("application/octet-stream"), "x"), Err(415));
        assert_eq!(with(Some("application/xml"), "<a/>"), Err(415));
        assert_eq!(with(Some("multipart/form-data; boundary=x"), "x"), Err(415));
    }
}
