//! The `http` runtime: the event POSTed to a URL, the answer's body as the
//! result.
//!
//! Owns [`HttpFunction`]: one HTTP client per function (its connections are
//! reused between invocations), at most `concurrency` requests in flight,
//! each bounded by the function's `timeout` and the Task's
//! `TimeoutSeconds`. It must not know about ASL resources or Lambda's
//! `Invoke` response shape (`lib.rs` and `lambda.rs` do): it turns an event
//! into a [`Response`] or an [`InvokeError`], exactly like the `command`
//! and `lambda-runtime` runtimes.
//!
//! Contract for the endpoint: `POST url` with the event as the JSON body
//! (`Content-Type: application/json`) and the headers
//! `Lambda-Runtime-Aws-Request-Id` and `Lambda-Runtime-Invoked-Function-Arn`
//! (as the Lambda Runtime API hands them to a function), plus the
//! function's `headers_env`. A 2xx answer's body is the result (JSON, or
//! empty for `null`), at most 6 MB like a Lambda response. Any other status
//! is an error: a JSON body with a non-empty string `errorType` is that
//! error (`{"errorType": ..., "errorMessage": ...}`, Lambda's error shape;
//! the body becomes the Cause), anything else is `Lambda.Unknown` with the
//! status and the body's start. Redirects are not followed: the configured
//! URL is the function, and a 3xx is an answer like any other non-2xx.
//!
//! Design: reqwest with rustls (`ring` provider). Rejected: a hyper-util
//! client of our own (connection pooling, proxies and TLS by hand, for no
//! gain on a request/response exchange).

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::FunctionsError;
use crate::command::{
    InvokeError, RESPONSE_LIMIT_BYTES, Response, acquire_slot, invocation_deadline, parse_output,
};
use crate::lambda::FUNCTION_RESPONSE_SIZE_TOO_LARGE;

/// How much of an unexpected body a cause shows.
const SHOWN_BODY_CHARS: usize = 200;
/// Longest error body read; Lambda's own limit for an error response is the
/// response limit.
const ERROR_BODY_BYTES: usize = RESPONSE_LIMIT_BYTES;
/// The headers the Lambda Runtime API hands a function with each event.
const REQUEST_ID_HEADER: &str = "lambda-runtime-aws-request-id";
const INVOKED_ARN_HEADER: &str = "lambda-runtime-invoked-function-arn";

/// One `[functions.NAME]` with `runtime = "http"`.
#[derive(Debug)]
pub(crate) struct HttpFunction {
    name: String,
    url: Url,
    /// `url` without user info, for messages.
    shown_url: String,
    /// Carries the `headers_env` headers on every request.
    client: reqwest::Client,
    timeout: Duration,
    permits: Semaphore,
}

impl HttpFunction {
    /// `url` is an `http://` or `https://` URL with a host and `headers`
    /// are valid names with values free of control characters (the config
    /// crate guarantees both; they are checked again here, as the HTTP
    /// library sees them).
    pub(crate) fn new(
        name: &str,
        url: &str,
        headers: &[config::HttpHeader],
        timeout: Duration,
        concurrency: usize,
    ) -> Result<Self, FunctionsError> {
        let refused = |reason: String| FunctionsError::InvalidHttpFunction {
            name: name.to_owned(),
            reason,
        };
        let parsed = Url::parse(url).map_err(|e| {
            refused(format!(
                "url \"{url}\" is not a valid URL ({e}); write it as http://HOST[:PORT]/PATH"
            ))
        })?;
        let mut shown = parsed.clone();
        // User info may hold a password: keep it out of causes and logs.
        let _ = shown.set_password(None);
        let _ = shown.set_username("");

        let mut default_headers = HeaderMap::new();
        for header in headers {
            let (header_name, value) = secret_header(header).map_err(refused)?;
            default_headers.append(header_name, value);
        }

        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("stepgate/", env!("CARGO_PKG_VERSION")))
            // After the user agent, so a `headers_env` User-Agent wins.
            .default_headers(default_headers)
            // The configured URL is the function: a redirect is an answer.
            .redirect(reqwest::redirect::Policy::none());
        if parsed.scheme() == "http" {
            // Redirects are not followed, so this client never speaks TLS:
            // no system root certificates needed (a minimal container may
            // have none, and loading them would fail the build).
            builder = builder.tls_certs_only(std::iter::empty());
        }
        install_crypto_provider();
        let client = builder
            .build()
            .map_err(|e| refused(format!("cannot build its HTTP client: {}", chain(&e))))?;

        Ok(Self {
            name: name.to_owned(),
            url: parsed,
            shown_url: shown.to_string(),
            client,
            timeout,
            permits: Semaphore::new(concurrency.clamp(1, Semaphore::MAX_PERMITS)),
        })
    }

    /// POSTs `event` once. `invoked_arn` is the function ARN as the task
    /// named it; `task_deadline` is when the Task's `TimeoutSeconds` runs
    /// out (time spent waiting for a concurrency slot counts, as on AWS).
    pub(crate) async fn invoke(
        &self,
        event: &Value,
        request_id: &str,
        invoked_arn: &str,
        task_deadline: Option<Instant>,
    ) -> Result<Response, InvokeError> {
        let _permit = acquire_slot(&self.permits, task_deadline, &self.name).await?;
        let deadline = invocation_deadline(self.timeout, task_deadline);
        let exchange = self.exchange(event, request_id, invoked_arn);
        match tokio::time::timeout_at(deadline, exchange).await {
            Ok(result) => result,
            // Dropping the exchange closes its connection: the endpoint may
            // still be working on it, but nobody waits for the answer.
            Err(_) if task_deadline == Some(deadline) => Err(InvokeError::TaskTimedOut),
            Err(_) => Err(InvokeError::Unknown(format!(
                "RequestId: {request_id} Error: Task timed out after {:.2} seconds (function {} did not answer POST {} in time; the request was abandoned)",
                self.timeout.as_secs_f64(),
                self.name,
                self.shown_url
            ))),
        }
    }

    /// One request and its answer, without the time bound.
    async fn exchange(
        &self,
        event: &Value,
        request_id: &str,
        invoked_arn: &str,
    ) -> Result<Response, InvokeError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(REQUEST_ID_HEADER, request_id)
            .body(event.to_string());
        // The ARN comes from the definition's FunctionName, whose region and
        // account are not checked; one that cannot be a header value is left
        // out rather than failing the invocation (the runtime API does the
        // same).
        if let Ok(arn) = HeaderValue::from_str(invoked_arn) {
            request = request.header(INVOKED_ARN_HEADER, arn);
        }
        let mut response = request.send().await.map_err(|e| {
            InvokeError::Unknown(format!(
                "RequestId: {request_id} Error: function {}: POST {} failed: {}",
                self.name,
                self.shown_url,
                chain(&e.without_url())
            ))
        })?;
        let status = response.status();
        let read_failed = |e: reqwest::Error| {
            InvokeError::Unknown(format!(
                "RequestId: {request_id} Error: function {}: reading the answer to POST {} failed ({status}): {}",
                self.name,
                self.shown_url,
                chain(&e.without_url())
            ))
        };

        if status.is_success() {
            // A declared length over the limit is refused unread.
            let declared = response.content_length().unwrap_or(0);
            if declared > u64::try_from(RESPONSE_LIMIT_BYTES).unwrap_or(u64::MAX) {
                return Err(too_large());
            }
            let Body::Whole(body) = read_capped(&mut response, RESPONSE_LIMIT_BYTES)
                .await
                .map_err(read_failed)?
            else {
                return Err(too_large());
            };
            return parse_output(&self.name, &body).map_err(|_| {
                let e = serde_json::from_slice::<Value>(body.trim_ascii())
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                InvokeError::Unknown(format!(
                    "RequestId: {request_id} Error: function {} answered {status} with a body that is not JSON ({e}); it starts with: {}",
                    self.name,
                    shown_body(&body)
                ))
            });
        }

        let body = match read_capped(&mut response, ERROR_BODY_BYTES)
            .await
            .map_err(read_failed)?
        {
            Body::Whole(body) => body,
            // Cut: it cannot be an error JSON any more, its start still
            // says something.
            Body::Cut(start) => return Err(self.unexpected(request_id, status, &start)),
        };
        match error_type(&body) {
            Some(error_type) => Err(InvokeError::Function {
                error_type,
                payload: String::from_utf8_lossy(&body).into_owned(),
            }),
            None => Err(self.unexpected(request_id, status, &body)),
        }
    }

    /// A non-2xx answer that is not Lambda's error shape.
    fn unexpected(&self, request_id: &str, status: StatusCode, body: &[u8]) -> InvokeError {
        InvokeError::Unknown(format!(
            "RequestId: {request_id} Error: function {} answered {status} to POST {}; the body starts with: {}",
            self.name,
            self.shown_url,
            shown_body(body)
        ))
    }
}

/// reqwest is built without a default crypto provider (to avoid building
/// aws-lc); rustls needs one installed before a client is built. Another
/// one installed first (by the binary, or a race between two functions)
/// is kept: any provider serves.
pub(crate) fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A body read with a cap.
pub(crate) enum Body {
    /// All of it.
    Whole(Vec<u8>),
    /// Longer than the cap: its first `cap` bytes.
    Cut(Vec<u8>),
}

/// Reads the body, at most `cap` bytes; the rest is not read (the
/// connection is then closed rather than reused).
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> reqwest::Result<Body> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            let room = cap - body.len();
            body.extend_from_slice(&chunk[..room]);
            return Ok(Body::Cut(body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Body::Whole(body))
}

/// Lambda's answer to an oversized result.
fn too_large() -> InvokeError {
    let error = json!({
        "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes)."),
        "errorType": FUNCTION_RESPONSE_SIZE_TOO_LARGE
    });
    InvokeError::Function {
        error_type: FUNCTION_RESPONSE_SIZE_TOO_LARGE.to_owned(),
        payload: error.to_string(),
    }
}

/// `errorType` of a JSON error body, when it is a non-empty string.
fn error_type(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value
        .get("errorType")?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The start of a body, for a cause.
fn shown_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty)".to_owned();
    }
    text.chars().take(SHOWN_BODY_CHARS).collect()
}

/// An error and its sources, `: `-separated: reqwest's own message
/// ("error sending request") says little without the cause under it
/// ("Connection refused").
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// A `headers_env` header as sent: its value marked sensitive, which keeps
/// it out of the HTTP library's debug output. The error names the variable,
/// never the value (a secret).
pub(crate) fn secret_header(
    header: &config::HttpHeader,
) -> Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
        format!(
            "headers_env: \"{}\" is not an HTTP header name",
            header.name
        )
    })?;
    let mut value = HeaderValue::from_str(header.value.expose()).map_err(|_| {
        format!(
            "headers_env.{}: environment variable {} does not hold a valid HTTP header value",
            header.name, header.env
        )
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_need_a_non_empty_error_type() {
        assert_eq!(
            error_type(br#"{"errorType": "Oops", "errorMessage": "m"}"#).as_deref(),
            Some("Oops")
        );
        assert_eq!(error_type(br#"{"errorType": ""}"#), None);
        assert_eq!(error_type(br#"{"errorType": 3}"#), None);
        assert_eq!(error_type(b"[1]"), None);
        assert_eq!(error_type(b"Service Unavailable"), None);
    }

    #[test]
    fn shown_bodies_are_short() {
        assert_eq!(shown_body(b"  \n"), "(empty)");
        assert_eq!(shown_body(&[b'x'; 500]).len(), SHOWN_BODY_CHARS);
        assert_eq!(shown_body("é".repeat(300).as_bytes()).chars().count(), 200);
    }

    #[test]
    fn user_info_stays_out_of_messages() {
        let f = HttpFunction::new(
            "f",
            "http://user:pa55@127.0.0.1:9/x?q=1",
            &[],
            Duration::from_secs(1),
            1,
        )
        .expect("built");
        assert_eq!(f.shown_url, "http://127.0.0.1:9/x?q=1");
    }

    #[test]
    fn https_urls_get_a_tls_client_or_a_clear_refusal() {
        // No panic for want of a crypto provider; a system without CA
        // certificates refuses the function with a reason.
        if let Err(e) =
            HttpFunction::new("f", "https://example.com/", &[], Duration::from_secs(1), 1)
        {
            assert!(
                e.to_string()
                    .starts_with("functions.f: cannot build its HTTP client"),
                "{e}"
            );
        }
    }

    #[test]
    fn unusable_urls_and_headers_are_refused_with_the_function_name() {
        let e = HttpFunction::new("f", "http://exa mple/", &[], Duration::from_secs(1), 1)
            .expect_err("refused");
        assert!(
            e.to_string()
                .starts_with("functions.f: url \"http://exa mple/\" is not a valid URL"),
            "{e}"
        );
        let header = config::HttpHeader {
            name: "Authorization".into(),
            env: "TOKEN".into(),
            value: config::Secret::new("a\nb"),
        };
        let e = HttpFunction::new("f", "http://h/", &[header], Duration::from_secs(1), 1)
            .expect_err("refused");
        assert_eq!(
            e.to_string(),
            "functions.f: headers_env.Authorization: environment variable TOKEN does not hold a valid HTTP header value"
        );
    }
}
