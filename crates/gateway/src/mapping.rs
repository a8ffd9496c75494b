//! Mapping templates on a route, as API Gateway's integration request and
//! integration response: the `request_template` that turns a request into a
//! `StartExecution` call, and response bodies rendered with the call's
//! outcome.
//!
//! Owns the template context (`$input` over the raw body and the request's
//! parameters, `$context`, `$stageVariables`), the contract of a request
//! template's output (a `StartExecution` request body, exactly as on AWS:
//! `{"input": "<JSON text>", "stateMachineArn": "...", "name": "..."}`) and
//! what a response template sees. It must not start executions or answer
//! HTTP (`lib.rs` does), and must not interpret templates (the `vtl` crate
//! does).
//!
//! Response bodies without `$` or `#` are sent as written, never rendered:
//! the common case costs nothing.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use config::Segment;
use engine::scheduler::StartRequest;
use serde_json::{Map, Value, json};

use crate::GatewayRoute;

/// A configured response, its body parsed as a template when it is one.
#[derive(Debug)]
pub(crate) struct ResponseSpec {
    pub(crate) status: StatusCode,
    body: String,
    template: Option<vtl::Template>,
}

impl ResponseSpec {
    /// `response`'s body is a template if it contains `$` or `#`; one that
    /// does not parse (the config rejects those) is sent as written.
    pub(crate) fn new(response: &config::Response) -> Self {
        let template = if response.body.contains(['$', '#']) {
            vtl::Template::parse(&response.body)
                .map_err(|e| tracing::error!(error = %e, "a response body does not parse as a mapping template; it is sent as written"))
                .ok()
        } else {
            None
        };
        Self {
            // The config validates 100–599.
            status: StatusCode::from_u16(response.status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: response.body.clone(),
            template,
        }
    }

    /// Whether rendering needs a request context at all.
    pub(crate) fn is_template(&self) -> bool {
        self.template.is_some()
    }

    /// The status, extra headers and body to send. `input` is `$input` (the
    /// integration's response: StartExecution's or StartSyncExecution's, or
    /// `{"__type", "message"}` when the call failed); `context` is the
    /// request's `$context`, extended with `extra`. A template may set
    /// `$context.responseOverride.status` and `.header.NAME` as on AWS.
    pub(crate) fn render(
        &self,
        input: &Value,
        context: Option<&Value>,
        extra: Map<String, Value>,
    ) -> (StatusCode, HeaderMap, String) {
        let Some(template) = &self.template else {
            return (self.status, HeaderMap::new(), self.body.clone());
        };
        let mut context = context.cloned().unwrap_or_else(|| json!({}));
        if let Value::Object(map) = &mut context {
            map.extend(extra);
            map.insert("responseOverride".into(), json!({ "header": {} }));
        }
        let ctx = vtl::Context {
            input: vtl::Input {
                body: input.to_string(),
                ..vtl::Input::default()
            },
            context,
            stage_variables: json!({}),
        };
        match template.render_detailed(&ctx) {
            Ok(rendered) => {
                let (status, headers) = overrides(&rendered.context, self.status);
                (status, headers, rendered.output)
            }
            Err(e) => {
                // The outcome (started or not) is already decided; only the
                // body could not be made. Send the template's text so the
                // client still gets the configured status.
                tracing::error!(error = %e, "a response template failed to render; its text is sent as written");
                (self.status, HeaderMap::new(), self.body.clone())
            }
        }
    }
}

/// `$context.responseOverride.status` / `.header.*` set by a template.
fn overrides(context: &Value, default: StatusCode) -> (StatusCode, HeaderMap) {
    let over = &context["responseOverride"];
    let status = match &over["status"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .and_then(|n| u16::try_from(n).ok())
    .filter(|n| (100..=599).contains(n))
    .and_then(|n| StatusCode::from_u16(n).ok())
    .unwrap_or(default);
    let mut headers = HeaderMap::new();
    if let Value::Object(h) = &over["header"] {
        for (name, value) in h {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value),
            ) {
                (Ok(n), Ok(v)) => {
                    headers.insert(n, v);
                }
                _ => {
                    tracing::warn!(header = %name, "responseOverride.header: not a valid header; ignored")
                }
            }
        }
    }
    (status, headers)
}

/// What a request template sees of a request: `$input` and `$context`.
pub(crate) fn request_context(
    route: &GatewayRoute,
    parts: &Parts,
    body: &[u8],
    request_id: &str,
) -> vtl::Context {
    let path = parts.uri.path();
    let header: BTreeMap<String, String> = parts
        .headers
        .keys()
        .map(|name| {
            let values: Vec<&str> = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (name.as_str().to_owned(), values.join(","))
        })
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let user_agent = header.get("user-agent").cloned().unwrap_or_default();
    let context = json!({
        "requestId": request_id,
        "extendedRequestId": request_id,
        "httpMethod": parts.method.as_str(),
        "resourcePath": route.path.text,
        "path": path,
        "protocol": format!("{:?}", parts.version),
        "requestTimeEpoch": now,
        "requestTime": request_time(now),
        "stage": "$default",
        "domainName": header.get("host").cloned().unwrap_or_default(),
        "identity": { "userAgent": user_agent },
    });
    vtl::Context {
        input: vtl::Input {
            body: String::from_utf8_lossy(body).into_owned(),
            path: path_params(&route.path.segments, path),
            querystring: query_params(parts.uri.query().unwrap_or("")),
            header,
        },
        context,
        stage_variables: json!({}),
    }
}

/// `$context.requestTime`: CLF format, as API Gateway (`25/Nov/2026:16:45:16 +0000`).
fn request_time(epoch_millis: u128) -> String {
    let seconds = i64::try_from(epoch_millis / 1000).unwrap_or(0);
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string())
        .unwrap_or_default()
}

/// The values of `{param}` / `{proxy+}` segments, percent-decoded.
fn path_params(pattern: &[Segment], path: &str) -> BTreeMap<String, String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut params = BTreeMap::new();
    for (i, p) in pattern.iter().enumerate() {
        match p {
            Segment::Literal(_) => {}
            Segment::Param(name) => {
                if let Some(s) = segments.get(i) {
                    params.insert(name.clone(), percent_decode(s, false));
                }
            }
            Segment::Greedy(name) => {
                let rest = segments.get(i..).map(|r| r.join("/")).unwrap_or_default();
                params.insert(name.clone(), percent_decode(&rest, false));
            }
        }
    }
    params
}

/// Query string parameters (the last value of a repeated name, as API
/// Gateway's single-value map), decoded.
fn query_params(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// `%XX` decoding (and `+` as space in query strings); malformed escapes
/// and invalid UTF-8 are kept as they are rather than refusing the request.
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(h), Some(l)) = ((*h as char).to_digit(16), (*l as char).to_digit(16))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// Renders `template` and reads its output as a `StartExecution` request
/// body, as API Gateway's Step Functions integration sends it. `Err` says
/// why nothing may be started (logged; the client gets the failure
/// response).
pub(crate) fn start_request(
    template: &vtl::Template,
    context: &vtl::Context,
    route: &GatewayRoute,
) -> Result<StartRequest, String> {
    let output = template
        .render(context)
        .map_err(|e| format!("the request template failed: {e}"))?;
    let value: Value = serde_json::from_str(&output).map_err(|e| {
        format!(
            "the request template's output is not JSON ({e}); it must be a StartExecution request, e.g. {{\"input\": \"$util.escapeJavaScript($input.json('$'))\", \"stateMachineArn\": \"...\"}}; output starts: {}",
            preview(&output)
        )
    })?;
    let Value::Object(fields) = value else {
        return Err(format!(
            "the request template's output must be a JSON object (a StartExecution request with \"input\", \"stateMachineArn\", \"name\"), not {}",
            preview(&output)
        ));
    };
    let mut request = StartRequest {
        state_machine_arn: route.state_machine_arn.clone(),
        name: None,
        input: None,
    };
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("input", Value::String(s)) => request.input = Some(s),
            ("input", other) => {
                return Err(format!(
                    "\"input\" in the request template's output must be a string of JSON text (as StartExecution takes it), not {}; wrap it: \"input\": \"$util.escapeJavaScript($input.json('$'))\"",
                    type_name(&other)
                ));
            }
            ("name", Value::String(s)) => request.name = Some(s),
            ("stateMachineArn", Value::String(arn)) => {
                if machine_name(&arn) != machine_name(&route.state_machine_arn) {
                    return Err(format!(
                        "the request template names state machine {arn}, but this route may only start {}",
                        route.state_machine_arn
                    ));
                }
            }
            // Accepted by StartExecution; X-Ray tracing is not ours to do.
            ("traceHeader", Value::String(_)) => {}
            (key, value) => {
                return Err(format!(
                    "the request template's output has \"{key}\" ({}); a StartExecution request has only \"input\", \"stateMachineArn\", \"name\" and \"traceHeader\", each a string",
                    type_name(&value)
                ));
            }
        }
    }
    Ok(request)
}

/// The name part of a state machine ARN: templates pasted from AWS carry
/// AWS's region and account, and the route pins the machine anyway.
fn machine_name(arn: &str) -> &str {
    arn.rsplit_once(":stateMachine:")
        .map_or(arn, |(_, name)| name)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The start of a text, for messages.
fn preview(text: &str) -> String {
    let cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// `$input` of a response template after a start: StartExecution's response.
pub(crate) fn start_response(arn: &str, start_millis: i64) -> Value {
    json!({ "executionArn": arn, "startDate": start_millis as f64 / 1000.0 })
}

/// `$context` additions of a response template after a start.
pub(crate) fn start_context(arn: &str, start_millis: i64) -> Map<String, Value> {
    let mut extra = Map::new();
    extra.insert("executionArn".into(), json!(arn));
    extra.insert("startDate".into(), json!(iso8601(start_millis)));
    extra
}

/// `2026-11-25T16:45:16.123Z`.
pub(crate) fn iso8601(millis: i64) -> String {
    asl::timestamp::format_timestamp(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a%20b+c", false), "a b+c");
        assert_eq!(percent_decode("%E2%9C%93", false), "✓");
        assert_eq!(percent_decode("%zz%", false), "%zz%");
        assert_eq!(percent_decode("%FF", false), "%FF");
    }

    #[test]
    fn path_and_query_parameters() {
        let pattern = config::RoutePath {
            text: "/repos/{owner}/{rest+}".into(),
            segments: vec![
                Segment::Literal("repos".into()),
                Segment::Param("owner".into()),
                Segment::Greedy("rest".into()),
            ],
        };
        let p = path_params(&pattern.segments, "/repos/octo%20cat/a/b/c");
        assert_eq!(p["owner"], "octo cat");
        assert_eq!(p["rest"], "a/b/c");
        let q = query_params("a=1&b=x+y&a=2&flag");
        assert_eq!(q["a"], "2");
        assert_eq!(q["b"], "x y");
        assert_eq!(q["flag"], "");
    }

    #[test]
    fn request_time_is_clf() {
        assert_eq!(
            request_time(1_764_089_116_000),
            "25/Nov/2025:16:45:16 +0000"
        );
    }

    #[test]
    fn overrides_read_status_and_headers() {
        let ctx = json!({"responseOverride": {"status": 422, "header": {"x-reason": "bad"}}});
        let (status, headers) = overrides(&ctx, StatusCode::OK);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(headers["x-reason"], "bad");
        let (status, _) = overrides(&json!({"responseOverride": {"status": 99}}), StatusCode::OK);
        assert_eq!(status, StatusCode::OK);
    }
}
