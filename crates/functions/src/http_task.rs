//! The HTTP Task: `arn:aws:states:::http:invoke`, one HTTP request built
//! from the Task's parameters, the response as its result.
//!
//! Owns `HttpTaskClient`: the `[http_task] allow` list of the config
//! (parsed URL prefixes, each with its `headers_env` headers), one HTTP
//! client for every HTTP Task, the reading of the Task's `Parameters`
//! (`ApiEndpoint`, `Method`, `Headers`, `QueryParameters`, `RequestBody`,
//! `Transform`, `Authentication`), URL-encoding of bodies, the result shape
//! and the error names. It must not hold ASL semantics (retries and
//! catchers are the interpreter's) nor know about functions, and it must
//! never send a request to a target the allow-list does not cover.
//!
//! AWS (Call HTTPS APIs in Step Functions workflows,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html>):
//! the result is `{"Headers": {name: [values]}, "ResponseBody": ...,
//! "StatusCode": 200, "StatusText": "OK"}`, `ResponseBody` parsed when the
//! response is JSON and text otherwise; a non-2xx status fails the task
//! with `States.Http.StatusCode.<code>` and that same object, as JSON, for
//! cause; a request that gets no answer within 60 seconds fails with
//! `States.Http.Socket` (error handling page,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
//!
//! Where stepgate departs from AWS, and why:
//! - No EventBridge connection: `Authentication.ConnectionArn` is accepted
//!   and ignored (AWS requires it). Credentials come from the allow-list
//!   entry's `headers_env`, read from the environment when the config is
//!   loaded, so they never sit in a definition; they replace a header of
//!   the same name that the definition sets.
//! - The allow-list stands in for the execution role's
//!   `states:InvokeHTTPEndpoint` permission: an endpoint it does not cover
//!   fails with `States.Permissions` before any connection is opened.
//! - `http://` endpoints are allowed (AWS: HTTPS only) when the allow-list
//!   names them: local services are the point of a self-hosted gateway.
//! - Redirects are not followed: a 3xx is an answer like any other non-2xx
//!   (following one could carry an entry's credentials to another target).
//!
//! Design: one reqwest client (rustls, `ring` provider, as the `http`
//! runtime) whose connections every HTTP Task shares. Rejected: a client
//! per allow entry (credentials as default headers) — a redirect-free
//! single client with per-request headers is simpler and equally strict.

use std::time::Duration;

use asl::failure::{Failure, STATES_DATA_LIMIT_EXCEEDED, STATES_TASK_FAILED, STATES_TIMEOUT};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::FunctionsError;
use crate::command::{RESPONSE_LIMIT_BYTES, deadline_after};
use crate::http::{Body, chain, install_crypto_provider, read_capped};

/// `States.Http.Socket`: the request got no answer (AWS: an HTTP Task that
/// times out after 60 seconds; here also a refused connection, a DNS or TLS
/// failure).
pub const STATES_HTTP_SOCKET: &str = "States.Http.Socket";
/// `States.Http.StatusCode.` + the status of a non-2xx answer.
pub const STATES_HTTP_STATUS_CODE_PREFIX: &str = "States.Http.StatusCode.";
/// An endpoint that `[http_task] allow` does not cover (AWS: the role lacks
/// `states:InvokeHTTPEndpoint` for it).
pub const STATES_PERMISSIONS: &str = asl::failure::STATES_PERMISSIONS;

/// AWS: an HTTP Task times out after 60 seconds.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The resource, for messages.
const RESOURCE: &str = "arn:aws:states:::http:invoke";
/// The parameters AWS defines for the HTTP Task. `InvocationConfig` (a
/// connection for private APIs) is accepted and ignored like
/// `Authentication`.
const PARAMETERS: [&str; 8] = [
    "ApiEndpoint",
    "Method",
    "Headers",
    "QueryParameters",
    "RequestBody",
    "Transform",
    "Authentication",
    "InvocationConfig",
];
/// AWS's methods for the HTTP Task.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
/// Headers that frame the request or the connection; the HTTP library sets
/// them, and a definition's value would contradict it.
const FRAMING_HEADERS: [&str; 8] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
];
/// A JSON body's type unless `Headers` names one.
const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
/// A `URL_ENCODED` body's type unless `Headers` names one.
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Sends HTTP Tasks' requests to the targets the config allows.
#[derive(Debug)]
pub(crate) struct HttpTaskClient {
    client: reqwest::Client,
    targets: Vec<Target>,
    timeout: Duration,
}

/// One `[http_task] allow` entry, parsed.
#[derive(Debug)]
struct Target {
    /// The prefix, parsed as a URL: scheme, host, port and path compare.
    prefix: Url,
    /// Its `headers_env` headers, values marked sensitive.
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// A request, read from the Task's parameters.
#[derive(Debug)]
struct Request {
    method: Method,
    /// `ApiEndpoint` with `QueryParameters` appended.
    url: Url,
    /// `url` without user info, for causes.
    shown_url: String,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

/// `Transform.RequestEncodingOptions.ArrayFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayFormat {
    /// `a[0]=x&a[1]=y` (AWS's default).
    Indices,
    /// `a=x&a=y`.
    Repeat,
    /// `a=x,y`.
    Commas,
    /// `a[]=x&a[]=y`.
    Brackets,
}

impl HttpTaskClient {
    /// Parses the allow-list (the config crate checked its shape; the URL
    /// parser has the last word) and builds the client. Nothing connects.
    pub(crate) fn new(
        config: &config::HttpTask,
        timeout: Duration,
    ) -> Result<Self, FunctionsError> {
        let mut targets = Vec::new();
        for entry in &config.allow {
            let refused = |reason: String| FunctionsError::InvalidHttpTaskTarget {
                url: entry.url.clone(),
                reason,
            };
            let prefix =
                Url::parse(&entry.url).map_err(|e| refused(format!("not a valid URL ({e})")))?;
            if !matches!(prefix.scheme(), "http" | "https") || prefix.host().is_none() {
                return Err(refused("not an http:// or https:// URL with a host".into()));
            }
            let mut headers = Vec::new();
            for header in &entry.headers {
                headers.push(crate::http::secret_header(header).map_err(refused)?);
            }
            targets.push(Target { prefix, headers });
        }

        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("stepgate/", env!("CARGO_PKG_VERSION")))
            // A redirect could lead off the allow-list, or carry one
            // entry's credentials to another: a 3xx is the answer.
            .redirect(reqwest::redirect::Policy::none());
        if !targets.iter().any(|t| t.prefix.scheme() == "https") {
            // Only allowed targets are ever contacted and none speaks TLS:
            // no system root certificates needed (a minimal container may
            // have none, and loading them would fail the build).
            builder = builder.tls_certs_only(std::iter::empty());
        }
        install_crypto_provider();
        let client = builder
            .build()
            .map_err(|e| FunctionsError::InvalidHttpTaskTarget {
                url: targets
                    .iter()
                    .find(|t| t.prefix.scheme() == "https")
                    .map_or_else(String::new, |t| t.prefix.to_string()),
                reason: format!("cannot build the HTTP Task client: {}", chain(&e)),
            })?;
        Ok(Self {
            client,
            targets,
            timeout,
        })
    }

    /// Runs one HTTP Task: `parameters` are the effective parameters,
    /// `task_deadline` is when its `TimeoutSeconds` runs out.
    pub(crate) async fn invoke(
        &self,
        parameters: &Value,
        task_deadline: Option<Instant>,
    ) -> Result<Value, Failure> {
        let mut request = read_parameters(parameters)?;
        let Some(target) = self.target_for(&request.url) else {
            return Err(self.not_allowed(&request));
        };
        // After the definition's headers: configured credentials win.
        for (name, value) in &target.headers {
            request.headers.insert(name.clone(), value.clone());
        }

        let own_deadline = deadline_after(self.timeout);
        let deadline = match task_deadline {
            Some(t) if t < own_deadline => t,
            _ => own_deadline,
        };
        let method = request.method.to_string();
        let shown_url = request.shown_url.clone();
        match tokio::time::timeout_at(deadline, self.exchange(request)).await {
            Ok(result) => result,
            // Dropping the exchange closes its connection.
            Err(_) if task_deadline == Some(deadline) => Err(Failure {
                error: Some(STATES_TIMEOUT.to_owned()),
                cause: None,
            }),
            Err(_) => Err(Failure::new(
                STATES_HTTP_SOCKET,
                format!(
                    "{method} {shown_url} got no complete answer within {} seconds; the request was abandoned",
                    self.timeout.as_secs_f64()
                ),
            )),
        }
    }

    /// The most specific allow entry that covers `url` (the longest path;
    /// the first of equals).
    fn target_for(&self, url: &Url) -> Option<&Target> {
        let mut best: Option<&Target> = None;
        for target in self.targets.iter().filter(|t| covers(&t.prefix, url)) {
            if best.is_none_or(|b| target.prefix.path().len() > b.prefix.path().len()) {
                best = Some(target);
            }
        }
        best
    }

    /// The refusal of an endpoint the allow-list does not cover, with the
    /// line to add.
    fn not_allowed(&self, request: &Request) -> Failure {
        let origin = request.url.origin().ascii_serialization();
        let why = if self.targets.is_empty() {
            "the config has no [http_task] allow entries, so every HTTP Task is refused"
        } else {
            "no [http_task] allow entry of the config covers it"
        };
        Failure::new(
            STATES_PERMISSIONS,
            format!(
                "{RESOURCE}: ApiEndpoint {} is not allowed: {why}. To let HTTP Tasks call it, add a prefix that covers it to stepgate.toml, e.g. [http_task] allow = [\"{origin}/\"] (entries match scheme, host, port and whole path segments)",
                request.shown_url
            ),
        )
    }

    /// One request and its answer, without the time bound.
    async fn exchange(&self, request: Request) -> Result<Value, Failure> {
        let Request {
            method,
            url,
            shown_url,
            headers,
            body,
        } = request;
        let mut builder = self.client.request(method.clone(), url).headers(headers);
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let mut response = builder.send().await.map_err(|e| {
            Failure::new(
                STATES_HTTP_SOCKET,
                format!("{method} {shown_url} failed: {}", chain(&e.without_url())),
            )
        })?;
        let status = response.status();
        let declared = response.content_length().unwrap_or(0);
        let too_large = || {
            Failure::new(
                STATES_DATA_LIMIT_EXCEEDED,
                format!(
                    "{method} {shown_url}: the response body is over {RESPONSE_LIMIT_BYTES} bytes, more than a state's result can hold"
                ),
            )
        };
        if declared > u64::try_from(RESPONSE_LIMIT_BYTES).unwrap_or(u64::MAX) {
            return Err(too_large());
        }
        let body = match read_capped(&mut response, RESPONSE_LIMIT_BYTES).await {
            Ok(Body::Whole(body)) => body,
            Ok(Body::Cut(_)) => return Err(too_large()),
            Err(e) => {
                return Err(Failure::new(
                    STATES_HTTP_SOCKET,
                    format!(
                        "{method} {shown_url}: reading the answer ({status}) failed: {}",
                        chain(&e.without_url())
                    ),
                ));
            }
        };

        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let Ok(text) = String::from_utf8(body) else {
            return Err(Failure::new(
                STATES_TASK_FAILED,
                format!(
                    "{method} {shown_url} answered {status} with a body that is not UTF-8 text (Content-Type: {}); an HTTP Task's ResponseBody holds JSON or text",
                    if content_type.is_empty() {
                        "none"
                    } else {
                        &content_type
                    }
                ),
            ));
        };
        let result = result(status, response.headers(), &content_type, text);
        if status.is_success() {
            Ok(result)
        } else {
            // AWS: the cause is the result object itself, as JSON.
            Err(Failure::new(
                format!("{STATES_HTTP_STATUS_CODE_PREFIX}{}", status.as_u16()),
                result.to_string(),
            ))
        }
    }
}

/// Whether the allow entry `prefix` covers `url`: same scheme, host and
/// port (parsed, so `api.example.com.evil.com` is not `api.example.com`,
/// and `http://h` is `http://h:80`), and a path under the prefix's path in
/// whole segments. Below a non-root prefix, an encoded `/` or `\` is
/// refused: a server that decodes it could read `..` out of the path.
fn covers(prefix: &Url, url: &Url) -> bool {
    if prefix.scheme() != url.scheme()
        || prefix.host() != url.host()
        || prefix.port_or_known_default() != url.port_or_known_default()
    {
        return false;
    }
    let base = prefix.path();
    if base == "/" {
        return true;
    }
    let path = url.path();
    let within = if base.ends_with('/') {
        path.starts_with(base)
    } else {
        path == base
            || path
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    let lower = path.to_ascii_lowercase();
    within && !lower.contains("%2f") && !lower.contains("%5c")
}

/// The result object, with AWS's keys.
fn result(
    status: reqwest::StatusCode,
    headers: &HeaderMap,
    content_type: &str,
    text: String,
) -> Value {
    // Names as the HTTP library gives them (lower case); the values of a
    // repeated header in the order received.
    let mut shown_headers = Map::new();
    for (name, value) in headers {
        let value = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
        match shown_headers
            .entry(name.as_str())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(values) => values.push(value),
            // Only arrays are inserted above.
            other => *other = Value::Array(vec![value]),
        }
    }
    let body = if is_json(content_type) {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    let mut result = Map::new();
    result.insert("Headers".into(), Value::Object(shown_headers));
    result.insert("ResponseBody".into(), body);
    result.insert("StatusCode".into(), Value::from(status.as_u16()));
    result.insert(
        "StatusText".into(),
        Value::String(status.canonical_reason().unwrap_or_default().to_owned()),
    );
    Value::Object(result)
}

/// `application/json` and `application/*+json`, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

// ------------------------------------------------------------ parameters

/// A malformed parameter: `States.Runtime`, as for `lambda:invoke`'s (AWS
/// refuses most of them when the definition is created).
fn bad(message: String) -> Failure {
    Failure::runtime(format!("{RESOURCE}: {message}"))
}

/// Reads the Task's effective parameters into a request.
fn read_parameters(parameters: &Value) -> Result<Request, Failure> {
    let Value::Object(fields) = parameters else {
        return Err(bad(format!(
            "Parameters must be an object with ApiEndpoint and Method; got {parameters}"
        )));
    };
    if let Some(unknown) = fields.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(bad(format!(
            "the field '{unknown}' is not supported; the HTTP Task takes {}",
            PARAMETERS.join(", ")
        )));
    }

    let endpoint = match fields.get("ApiEndpoint") {
        Some(Value::String(s)) => s,
        None => return Err(bad("the field 'ApiEndpoint' is required".into())),
        Some(other) => {
            return Err(bad(format!(
                "the value for the field 'ApiEndpoint' must be a STRING, got {other}"
            )));
        }
    };
    let mut url = Url::parse(endpoint)
        .map_err(|e| bad(format!("ApiEndpoint \"{endpoint}\" is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad(format!(
            "ApiEndpoint \"{endpoint}\" is not an http:// or https:// URL with a host"
        )));
    }
    // A fragment is never sent; one in the endpoint is a mistake.
    url.set_fragment(None);

    let method = match fields.get("Method") {
        Some(Value::String(m)) if METHODS.contains(&m.as_str()) => {
            Method::from_bytes(m.as_bytes()).map_err(|_| bad(format!("Method \"{m}\"")))?
        }
        None => return Err(bad("the field 'Method' is required".into())),
        Some(other) => {
            return Err(bad(format!(
                "Method {other} is not one of {}",
                METHODS.join(", ")
            )));
        }
    };

    if let Some(query) = fields.get("QueryParameters") {
        append_query(&mut url, query)?;
    }
    let mut shown = url.clone();
    // User info may hold a password: keep it out of causes.
    let _ = shown.set_password(None);
    let _ = shown.set_username("");

    let mut headers = HeaderMap::new();
    if let Some(given) = fields.get("Headers") {
        read_headers(given, &mut headers)?;
    }

    let format = read_transform(fields.get("Transform"))?;
    let body = match fields.get("RequestBody") {
        None => None,
        Some(_) if method == Method::GET || method == Method::HEAD => {
            return Err(bad(format!(
                "a {method} request has no body; remove RequestBody or send its data as QueryParameters"
            )));
        }
        Some(body) => {
            let (bytes, content_type) = encode_body(body, format)?;
            if !headers.contains_key(CONTENT_TYPE) {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            Some(bytes)
        }
    };

    Ok(Request {
        method,
        url,
        shown_url: shown.to_string(),
        headers,
        body,
    })
}

/// `QueryParameters`: appended to the endpoint's own query, form-encoded;
/// an array value repeats its key (`?tag=a&tag=b`).
fn append_query(url: &mut Url, query: &Value) -> Result<(), Failure> {
    let Value::Object(pairs) = query else {
        return Err(bad(format!(
            "QueryParameters must be an object of names to values, got {query}"
        )));
    };
    let mut texts = Vec::new();
    for (name, value) in pairs {
        let not_scalar = || {
            bad(format!(
                "QueryParameters.{name}: a value is a string, a number, a boolean or an array of them; got {value}"
            ))
        };
        match value {
            Value::Array(items) => {
                for item in items {
                    texts.push((name, scalar_text(item).ok_or_else(not_scalar)?));
                }
            }
            other => texts.push((name, scalar_text(other).ok_or_else(not_scalar)?)),
        }
    }
    if !texts.is_empty() {
        let mut appender = url.query_pairs_mut();
        for (name, text) in texts {
            appender.append_pair(name, &text);
        }
    }
    Ok(())
}

/// A string, number or boolean as text; `None` for the rest.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `Headers`: names to string (or number, boolean) values.
fn read_headers(given: &Value, headers: &mut HeaderMap) -> Result<(), Failure> {
    let Value::Object(given) = given else {
        return Err(bad(format!(
            "Headers must be an object of header names to values, got {given}"
        )));
    };
    for (name, value) in given {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(format!("Headers: \"{name}\" is not an HTTP header name")))?;
        if FRAMING_HEADERS.contains(&header.as_str()) {
            return Err(bad(format!(
                "Headers.{name}: this header frames the request and is set by stepgate; remove it"
            )));
        }
        let text = scalar_text(value).ok_or_else(|| {
            bad(format!(
                "Headers.{name}: a header value is a string, a number or a boolean; got {value}"
            ))
        })?;
        let value = HeaderValue::from_str(&text).map_err(|_| {
            bad(format!(
                "Headers.{name}: the value holds a character a header cannot (a line break?)"
            ))
        })?;
        headers.insert(header, value);
    }
    Ok(())
}

/// `Transform`: how `RequestBody` is encoded; `None` means JSON.
fn read_transform(transform: Option<&Value>) -> Result<Option<ArrayFormat>, Failure> {
    let Some(transform) = transform else {
        return Ok(None);
    };
    let Value::Object(fields) = transform else {
        return Err(bad(format!(
            "Transform must be an object with RequestBodyEncoding, got {transform}"
        )));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "RequestBodyEncoding" | "RequestEncodingOptions"))
    {
        return Err(bad(format!(
            "Transform: the field '{unknown}' is not supported; use RequestBodyEncoding and RequestEncodingOptions"
        )));
    }
    let format = match fields.get("RequestEncodingOptions") {
        None => ArrayFormat::Indices,
        Some(Value::Object(options)) => {
            if let Some(unknown) = options.keys().find(|k| k.as_str() != "ArrayFormat") {
                return Err(bad(format!(
                    "Transform.RequestEncodingOptions: the field '{unknown}' is not supported; use ArrayFormat"
                )));
            }
            match options.get("ArrayFormat").map(|f| (f, f.as_str())) {
                None | Some((_, Some("INDICES"))) => ArrayFormat::Indices,
                Some((_, Some("REPEAT"))) => ArrayFormat::Repeat,
                Some((_, Some("COMMAS"))) => ArrayFormat::Commas,
                Some((_, Some("BRACKETS"))) => ArrayFormat::Brackets,
                Some((other, _)) => {
                    return Err(bad(format!(
                        "Transform.RequestEncodingOptions.ArrayFormat {other} is not one of INDICES, REPEAT, COMMAS, BRACKETS"
                    )));
                }
            }
        }
        Some(other) => {
            return Err(bad(format!(
                "Transform.RequestEncodingOptions must be an object with ArrayFormat, got {other}"
            )));
        }
    };
    match fields.get("RequestBodyEncoding").map(|e| (e, e.as_str())) {
        None | Some((_, Some("NONE"))) => Ok(None),
        Some((_, Some("URL_ENCODED"))) => Ok(Some(format)),
        Some((other, _)) => Err(bad(format!(
            "Transform.RequestBodyEncoding {other} is not one of NONE, URL_ENCODED"
        ))),
    }
}

/// The body bytes and their default content type. Without a `Transform`
/// a string body is sent as it is (a definition can send text it built)
/// and any other value as its JSON.
fn encode_body(
    body: &Value,
    format: Option<ArrayFormat>,
) -> Result<(Vec<u8>, &'static str), Failure> {
    match (format, body) {
        (None, Value::String(text)) => Ok((text.clone().into_bytes(), JSON_CONTENT_TYPE)),
        (None, other) => Ok((other.to_string().into_bytes(), JSON_CONTENT_TYPE)),
        (Some(format), Value::Object(fields)) => {
            Ok((form_encode(fields, format).into_bytes(), FORM_CONTENT_TYPE))
        }
        (Some(_), other) => Err(bad(format!(
            "Transform.RequestBodyEncoding URL_ENCODED needs a JSON object RequestBody (its fields become the form's), got {other}"
        ))),
    }
}

/// An object as an `application/x-www-form-urlencoded` body: nested
/// objects as `a[b]=c`, arrays by `format`, `null` as an empty value; empty
/// arrays and objects add nothing (the `qs` convention AWS's formats are
/// named after).
fn form_encode(fields: &Map<String, Value>, format: ArrayFormat) -> String {
    let mut pairs = Vec::new();
    for (name, value) in fields {
        flatten(name.clone(), value, format, &mut pairs);
    }
    pairs
        .iter()
        .map(|(name, value)| format!("{}={value}", form_escape(name)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Adds the `(name, already escaped value)` pairs of one field.
fn flatten(name: String, value: &Value, format: ArrayFormat, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                flatten(format!("{name}[{key}]"), inner, format, out);
            }
        }
        Value::Array(items) => match format {
            ArrayFormat::Indices => {
                for (i, item) in items.iter().enumerate() {
                    flatten(format!("{name}[{i}]"), item, format, out);
                }
            }
            ArrayFormat::Brackets => {
                for item in items {
                    flatten(format!("{name}[]"), item, format, out);
                }
            }
            ArrayFormat::Repeat => {
                for item in items {
                    flatten(name.clone(), item, format, out);
                }
            }
            ArrayFormat::Commas if !items.is_empty() => {
                // Each item escaped on its own, so a comma inside one
                // (`%2C`) stays apart from the separators.
                let joined = items
                    .iter()
                    .map(|item| form_escape(&item_text(item)))
                    .collect::<Vec<_>>()
                    .join(",");
                out.push((name, joined));
            }
            ArrayFormat::Commas => {}
        },
        scalar => out.push((name, form_escape(&item_text(scalar)))),
    }
}

/// A value's text in a form: scalars as text, `null` empty, an object or
/// array (only inside a COMMAS list) as its JSON.
fn item_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => scalar_text(other).unwrap_or_else(|| other.to_string()),
    }
}

/// The `application/x-www-form-urlencoded` byte serializer (WHATWG URL):
/// letters, digits and `*-._` as they are, space as `+`, the rest `%XX`.
fn form_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    #[test]
    fn prefixes_compare_parsed_urls_in_whole_segments() {
        let root = url("https://api.example.com/");
        assert!(covers(&root, &url("https://api.example.com/v1/x?q=1")));
        assert!(covers(&root, &url("https://API.example.com:443/")));
        for other in [
            "https://api.example.com.evil.com/",
            "https://evil.com/api.example.com/",
            "https://api.example.com@evil.com/",
            "http://api.example.com/",
            "https://api.example.com:8443/",
            "https://xapi.example.com/",
        ] {
            assert!(!covers(&root, &url(other)), "{other}");
        }

        let dir = url("http://127.0.0.1:8099/hooks/");
        assert!(covers(&dir, &url("http://127.0.0.1:8099/hooks/a/b")));
        assert!(!covers(&dir, &url("http://127.0.0.1:8099/hooks")));
        assert!(!covers(&dir, &url("http://127.0.0.1:8099/hooks-admin/")));
        // Dot segments are resolved by the parser, encoded ones too.
        assert!(!covers(&dir, &url("http://127.0.0.1:8099/hooks/../admin")));
        assert!(!covers(
            &dir,
            &url("http://127.0.0.1:8099/hooks/%2e%2e/admin")
        ));
        assert!(!covers(
            &dir,
            &url("http://127.0.0.1:8099/hooks/..%2fadmin")
        ));
        assert!(!covers(
            &dir,
            &url("http://127.0.0.1:8099/hooks/..%5Cadmin")
        ));

        let segment = url("https://h/v1");
        assert!(covers(&segment, &url("https://h/v1")));
        assert!(covers(&segment, &url("https://h/v1/x")));
        assert!(!covers(&segment, &url("https://h/v10")));

        // No path is the root; the default port is the same port.
        assert!(covers(&url("http://h"), &url("http://h:80/x")));
    }

    #[test]
    fn form_bodies_follow_each_array_format() {
        let body = json!({"a": ["x", "y z"], "n": 1, "o": {"k": true}, "z": null, "e": []});
        let Value::Object(fields) = body else {
            panic!("object")
        };
        assert_eq!(
            form_encode(&fields, ArrayFormat::Indices),
            "a%5B0%5D=x&a%5B1%5D=y+z&n=1&o%5Bk%5D=true&z="
        );
        assert_eq!(
            form_encode(&fields, ArrayFormat::Brackets),
            "a%5B%5D=x&a%5B%5D=y+z&n=1&o%5Bk%5D=true&z="
        );
        assert_eq!(
            form_encode(&fields, ArrayFormat::Repeat),
            "a=x&a=y+z&n=1&o%5Bk%5D=true&z="
        );
        assert_eq!(
            form_encode(&fields, ArrayFormat::Commas),
            "a=x,y+z&n=1&o%5Bk%5D=true&z="
        );
        let Value::Object(commas) = json!({"a": ["1,2", "é&="]}) else {
            panic!("object")
        };
        assert_eq!(
            form_encode(&commas, ArrayFormat::Commas),
            "a=1%2C2,%C3%A9%26%3D"
        );
    }

    #[test]
    fn transform_defaults_and_refusals() {
        assert_eq!(read_transform(None).expect("none"), None);
        assert_eq!(
            read_transform(Some(&json!({"RequestBodyEncoding": "NONE"}))).expect("NONE"),
            None
        );
        assert_eq!(
            read_transform(Some(&json!({"RequestBodyEncoding": "URL_ENCODED"}))).expect("url"),
            Some(ArrayFormat::Indices)
        );
        assert_eq!(
            read_transform(Some(&json!({
                "RequestBodyEncoding": "URL_ENCODED",
                "RequestEncodingOptions": {"ArrayFormat": "COMMAS"}
            })))
            .expect("commas"),
            Some(ArrayFormat::Commas)
        );
        for bad in [
            json!("URL_ENCODED"),
            json!({"RequestBodyEncoding": "JSON"}),
            json!({"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "SPACES"}}),
            json!({"RequestBodyEncoding": "URL_ENCODED", "Extra": 1}),
        ] {
            let e = read_transform(Some(&bad)).expect_err("refused");
            assert_eq!(e.error_name(), asl::failure::STATES_RUNTIME, "{bad}");
        }
    }

    #[test]
    fn parameters_are_checked_before_anything_is_sent() {
        let ok = read_parameters(&json!({
            "ApiEndpoint": "https://u:pw@h/x?a=1#frag",
            "Method": "POST",
            "QueryParameters": {"b": [1, true], "c": "d e"},
            "Headers": {"X-Count": 3},
            "RequestBody": {"k": "v"},
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"}
        }))
        .expect("valid");
        assert_eq!(ok.url.as_str(), "https://u:pw@h/x?a=1&b=1&b=true&c=d+e");
        assert_eq!(ok.shown_url, "https://h/x?a=1&b=1&b=true&c=d+e");
        assert_eq!(ok.headers["x-count"], "3");
        assert_eq!(ok.headers[CONTENT_TYPE], JSON_CONTENT_TYPE);
        assert_eq!(ok.body.as_deref(), Some(br#"{"k":"v"}"#.as_slice()));

        for bad in [
            json!("x"),
            json!({"Method": "GET"}),
            json!({"ApiEndpoint": "https://h/"}),
            json!({"ApiEndpoint": "ftp://h/", "Method": "GET"}),
            json!({"ApiEndpoint": "https://h/", "Method": "get"}),
            json!({"ApiEndpoint": "https://h/", "Method": "GET", "Body": {}}),
            json!({"ApiEndpoint": "https://h/", "Method": "GET", "RequestBody": {}}),
            json!({"ApiEndpoint": "https://h/", "Method": "GET", "QueryParameters": {"a": {}}}),
            json!({"ApiEndpoint": "https://h/", "Method": "GET", "Headers": {"Host": "x"}}),
            json!({"ApiEndpoint": "https://h/", "Method": "GET", "Headers": {"X": "a\nb"}}),
            json!({"ApiEndpoint": "https://h/", "Method": "POST", "RequestBody": [1],
                   "Transform": {"RequestBodyEncoding": "URL_ENCODED"}}),
        ] {
            let e = read_parameters(&bad).expect_err("refused");
            assert_eq!(e.error_name(), asl::failure::STATES_RUNTIME, "{bad}");
        }
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }

    /// The 60-second default, shortened: an endpoint that never answers
    /// fails with `States.Http.Socket` when no Task deadline comes first.
    #[tokio::test]
    async fn no_answer_within_the_request_timeout_is_a_socket_error() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = axum::Router::new().route(
            "/hang",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let config = config::HttpTask {
            allow: vec![config::HttpTaskTarget {
                url: format!("http://{addr}/"),
                headers: vec![],
            }],
        };
        let client = HttpTaskClient::new(&config, Duration::from_millis(200)).expect("client");
        let e = client
            .invoke(
                &json!({"ApiEndpoint": format!("http://{addr}/hang"), "Method": "GET"}),
                None,
            )
            .await
            .expect_err("no answer");
        assert_eq!(e.error_name(), STATES_HTTP_SOCKET);
        assert!(
            e.cause
                .as_deref()
                .is_some_and(|c| c.contains("got no complete answer within 0.2 seconds")),
            "{e:?}"
        );
    }
}
