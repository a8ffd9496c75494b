//! From [`RawConfig`] to [`Config`]: every rule about values.
//!
//! Owns the checks on addresses, the store URL, function runtimes (an http
//! function's `headers_env` values looked up in the environment), the
//! `[http_task]` allow-list (URL prefixes and their `headers_env`), activity
//! names, state machine definitions (through `asl`; every activity a Task
//! names must be declared), route paths, route protection (auth
//! secrets looked up in the environment, rate limits, body limits, sync
//! timeouts) and references between sections. Every check runs even after
//! an earlier one failed, so one run reports every problem. It must not read
//! TOML (that is `raw`) nor start or open anything it validates: addresses
//! are parsed, not bound; the store URL is checked, not opened. It must never
//! put a secret's value into a message: problems name the variable only.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use asl::definition::StateKind;
use asl::diagnostic::Severity;
use asl::interpreter::is_activity_arn;
use asl::parse::{ParseOptions, StateMachineType, parse_definition_with};
use toml::Spanned;
use toml::de::DeTable;

use crate::error::{Problems, hint};
use crate::raw::{
    self, RawAllowEntry, RawAuth, RawConfig, RawFunction, RawHttpTask, RawRateLimit, RawResponse,
    RawRoute, RawServer, RawStateMachine, SpannedString, child,
};
use crate::{
    Auth, Config, ConfigErrors, DEFAULT_MAX_BODY_BYTES, DefinitionSource, Env, Function,
    HttpHeader, HttpTask, HttpTaskTarget, LogLevel, Logging, Method, Mode, RateLimit, Response,
    Route, RoutePath, Runtime, Secret, Segment, Server, StateMachine, StateMachineId, Store,
};

/// Parses text into a [`Config`], collecting every problem. Secrets are
/// looked up with `env`.
pub(crate) fn parse(text: &str, path: &Path, env: Env<'_>) -> Result<Config, ConfigErrors> {
    let mut problems = Problems::new(path, text);
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // The tree after a syntax error is a guess; checking it would
        // report problems the user did not make.
        for e in syntax {
            let message = format!("invalid TOML: {}", e.message().trim());
            match e.span() {
                Some(span) => problems.at(span, "", message),
                None => problems.whole_file(message),
            }
        }
        return problems.finish(None);
    }
    let raw = raw::read(root, &mut problems);
    let base = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let config = build(raw, &base, env, &mut problems);
    problems.finish(config)
}

fn build(raw: RawConfig, base: &Path, env: Env<'_>, p: &mut Problems<'_>) -> Option<Config> {
    let server = server(
        raw.server.map(Spanned::into_inner).unwrap_or_default(),
        base,
        p,
    );

    let mut functions = Some(BTreeMap::new());
    for (name, item) in raw.functions {
        let f = item.and_then(|f| function(&name, f, env, p));
        match (f, functions.as_mut()) {
            (Some(f), Some(map)) => {
                map.insert(f.name.clone(), f);
            }
            _ => functions = None,
        }
    }

    // Ids are positions in name order, the order of `raw.state_machines`.
    let names: Vec<String> = raw
        .state_machines
        .keys()
        .map(|k| k.get_ref().clone())
        .collect();
    // Every name written counts as declared, even one refused below: its
    // Tasks would otherwise get a second, misleading "not declared".
    let declared: BTreeSet<String> = raw.activities.keys().map(|k| k.get_ref().clone()).collect();
    let mut activities = Some(Vec::new());
    for (name, item) in raw.activities {
        let a = item.and_then(|_| activity(&name, p));
        match (a, activities.as_mut()) {
            (Some(a), Some(list)) => list.push(a),
            _ => activities = None,
        }
    }

    let mut state_machines = Some(Vec::new());
    for (name, item) in raw.state_machines {
        let m = item.and_then(|m| state_machine(&name, m, base, &declared, p));
        match (m, state_machines.as_mut()) {
            (Some(m), Some(list)) => list.push(m),
            _ => state_machines = None,
        }
    }

    // Routes inherit the server's body limit; when `[server]` is invalid
    // the config is refused anyway, so the default stands in.
    let server_body_limit = server
        .as_ref()
        .map_or(DEFAULT_MAX_BODY_BYTES, |s| s.max_body_bytes);
    let mut routes = Some(Vec::new());
    let mut seen: HashMap<(Method, Vec<Segment>), usize> = HashMap::new();
    let context = RouteContext {
        state_machines: &names,
        server_body_limit,
        env,
    };
    for (i, item) in raw.routes.into_iter().enumerate() {
        let r = item.and_then(|r| route(i, r, &context, &mut seen, p));
        match (r, routes.as_mut()) {
            (Some(r), Some(list)) => list.push(r),
            _ => routes = None,
        }
    }

    let http_task = match raw.http_task {
        None => Some(HttpTask::default()),
        Some(item) => http_task(item.into_inner(), env, p),
    };

    Some(Config {
        server: server?,
        functions: functions?,
        state_machines: state_machines?,
        routes: routes?,
        http_task: http_task?,
        activities: activities?,
    })
}

// ---------------------------------------------------------------- server

fn server(raw: RawServer, base: &Path, p: &mut Problems<'_>) -> Option<Server> {
    let listen = address(raw.listen.as_ref(), "server.listen", "127.0.0.1:8080", p);
    let admin_listen = address(
        raw.admin_listen.as_ref(),
        "server.admin_listen",
        "127.0.0.1:8083",
        p,
    );
    let admin_token = match &raw.admin_token {
        Some(t) if t.get_ref().trim().is_empty() => {
            p.at(
                t.span(),
                "server.admin_token",
                "must not be empty; set a long random string, or remove the key to use no token on a loopback address",
            );
            None
        }
        Some(t) => Some(t.get_ref().clone()),
        None => None,
    };
    let store = store(raw.store.as_ref(), base, p);
    let max_body_bytes = match &raw.max_body_bytes {
        None => Some(DEFAULT_MAX_BODY_BYTES),
        Some(n) => body_limit(n, "server.max_body_bytes", p),
    };
    let mut token_missing = false;
    if let (Some(addr), None, None) = (admin_listen, &admin_token, &raw.admin_token)
        && !addr.ip().is_loopback()
    {
        // `admin_listen` is set here: the default is loopback.
        let span = raw.admin_listen.as_ref().map_or(0..0, Spanned::span);
        p.at(
            span,
            "server.admin_token",
            format!(
                "required because admin_listen {addr} is not a loopback address; set `admin_token = \"...\"` in [server] or bind admin_listen to 127.0.0.1"
            ),
        );
        token_missing = true;
    }
    if token_missing {
        return None;
    }
    Some(Server {
        listen: listen?,
        admin_listen: admin_listen?,
        store: store?,
        admin_token,
        max_body_bytes: max_body_bytes?,
    })
}

/// A `max_body_bytes` value: a positive number of bytes.
fn body_limit(value: &Spanned<i64>, key: &str, p: &mut Problems<'_>) -> Option<usize> {
    match usize::try_from(*value.get_ref()) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            p.at(
                value.span(),
                key,
                format!(
                    "{} is not a body size; use a positive number of bytes, e.g. {DEFAULT_MAX_BODY_BYTES} (256 KiB)",
                    value.get_ref()
                ),
            );
            None
        }
    }
}

fn address(
    value: Option<&SpannedString>,
    key: &str,
    default: &str,
    p: &mut Problems<'_>,
) -> Option<SocketAddr> {
    let Some(value) = value else {
        return default.parse().ok();
    };
    let text = value.get_ref();
    match text.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            let tip = if text.contains(':') && !text.starts_with('[') {
                "use an IP address, not a host name"
            } else {
                "write IP:PORT"
            };
            p.at(
                value.span(),
                key,
                format!("\"{text}\" is not a socket address; {tip}, e.g. \"{default}\""),
            );
            None
        }
    }
}

fn store(value: Option<&SpannedString>, base: &Path, p: &mut Problems<'_>) -> Option<Store> {
    let Some(value) = value else {
        return Some(Store::Sqlite {
            path: base.join("stepgate.db"),
        });
    };
    let text = value.get_ref();
    if let Some(file) = text.strip_prefix("sqlite://") {
        if file.is_empty() {
            p.at(
                value.span(),
                "server.store",
                "sqlite:// needs a file name, e.g. \"sqlite://stepgate.db\"",
            );
            return None;
        }
        return Some(Store::Sqlite {
            path: base.join(file),
        });
    }
    let message = if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        "PostgreSQL stores are not supported yet; use \"sqlite://FILE\" for now".to_owned()
    } else {
        format!(
            "unknown store URL \"{text}\"; write \"sqlite://FILE\", e.g. \"sqlite://stepgate.db\""
        )
    };
    p.at(value.span(), "server.store", message);
    None
}

// ------------------------------------------------------------- functions

const RUNTIMES: [&str; 3] = ["command", "lambda-runtime", "http"];

fn function(
    name: &SpannedString,
    raw: Spanned<RawFunction>,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<Function> {
    let path = child("functions", name.get_ref());
    let raw = raw.into_inner();
    let mut ok = true;
    let n = name.get_ref();
    if n.is_empty()
        || n.len() > 64
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        // AWS Lambda's rule for function names; ARNs carry the name.
        p.at(
            name.span(),
            &path,
            "a function name is 1-64 letters, digits, `-` or `_`",
        );
        ok = false;
    }
    let key = |k: &str| child(&path, k);

    let runtime_name = raw.runtime.get_ref().as_str();
    let runtime = match runtime_name {
        "command" | "lambda-runtime" => {
            if let Some(url) = &raw.url {
                p.at(
                    url.span(),
                    &key("url"),
                    format!(
                        "`url` is only used by runtime \"http\", not \"{runtime_name}\"; remove it"
                    ),
                );
            }
            if let Some(headers) = &raw.headers_env {
                p.at(
                    headers.span(),
                    &key("headers_env"),
                    format!(
                        "`headers_env` is only used by runtime \"http\", not \"{runtime_name}\"; remove it"
                    ),
                );
            }
            let command = command(raw.command.as_ref(), &raw.runtime, &key("command"), p);
            command.map(|command| {
                if runtime_name == "command" {
                    Runtime::Command { command }
                } else {
                    Runtime::LambdaRuntime { command }
                }
            })
        }
        "http" => {
            if let Some(command) = &raw.command {
                p.at(
                    command.span(),
                    &key("command"),
                    "`command` is not used by runtime \"http\"; remove it",
                );
            }
            let url = url(raw.url.as_ref(), &raw.runtime, &key("url"), p);
            let headers = match &raw.headers_env {
                None => Some(Vec::new()),
                Some(table) => headers_env(
                    table.get_ref(),
                    &key("headers_env"),
                    &RESERVED_HEADERS,
                    env,
                    p,
                ),
            };
            url.zip(headers)
                .map(|(url, headers)| Runtime::Http { url, headers })
        }
        other => {
            p.at(
                raw.runtime.span(),
                &key("runtime"),
                format!("unknown runtime \"{other}\"{}", hint(other, &RUNTIMES)),
            );
            None
        }
    };

    let timeout = match &raw.timeout_seconds {
        None => Some(Duration::from_secs(30)),
        Some(t) => positive_seconds(t, &key("timeout_seconds"), p),
    };

    let concurrency = match &raw.concurrency {
        None => Some(None),
        Some(c) => match u32::try_from(*c.get_ref()).ok().and_then(NonZeroU32::new) {
            Some(n) => Some(Some(n)),
            None => {
                p.at(
                    c.span(),
                    &key("concurrency"),
                    "must be at least 1 (or remove the key for the default of 1)",
                );
                None
            }
        },
    };

    let mut environment = BTreeMap::new();
    for (k, v) in raw.environment.unwrap_or_default() {
        let var = k.get_ref();
        if var.is_empty() || var.contains('=') || var.contains('\0') {
            p.at(
                k.span(),
                &child(&key("environment"), var),
                "an environment variable name must be non-empty, without `=` or NUL",
            );
            ok = false;
        } else if v.get_ref().contains('\0') {
            p.at(
                v.span(),
                &child(&key("environment"), var),
                "an environment variable value cannot contain NUL",
            );
            ok = false;
        } else {
            environment.insert(var.clone(), v.into_inner());
        }
    }
    if !ok {
        return None;
    }
    Some(Function {
        name: n.clone(),
        runtime: runtime?,
        timeout: timeout?,
        concurrency: concurrency?,
        environment,
    })
}

fn command(
    value: Option<&Spanned<Vec<SpannedString>>>,
    runtime: &SpannedString,
    key: &str,
    p: &mut Problems<'_>,
) -> Option<Vec<String>> {
    let Some(value) = value else {
        p.at(
            runtime.span(),
            key,
            format!(
                "missing required key `command` for runtime \"{}\"; e.g. command = [\"python3\", \"handler.py\"]",
                runtime.get_ref()
            ),
        );
        return None;
    };
    match value.get_ref().first() {
        None => {
            p.at(
                value.span(),
                key,
                "must name a program: e.g. [\"python3\", \"handler.py\"]",
            );
            None
        }
        Some(program) if program.get_ref().is_empty() => {
            p.at(
                program.span(),
                &format!("{key}[0]"),
                "the program name is empty",
            );
            None
        }
        Some(_) => Some(
            value
                .get_ref()
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
        ),
    }
}

fn url(
    value: Option<&SpannedString>,
    runtime: &SpannedString,
    key: &str,
    p: &mut Problems<'_>,
) -> Option<String> {
    let Some(value) = value else {
        p.at(
            runtime.span(),
            key,
            "missing required key `url` for runtime \"http\"; e.g. url = \"http://127.0.0.1:9000/invoke\"",
        );
        return None;
    };
    let text = value.get_ref();
    let host = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    match host {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Some(text.clone()),
        _ => {
            p.at(
                value.span(),
                key,
                format!("\"{text}\" is not an http:// or https:// URL with a host"),
            );
            None
        }
    }
}

/// Headers stepgate sets on every request of an http function (or that
/// frame the request): a `headers_env` entry would duplicate or contradict
/// them.
const RESERVED_HEADERS: [&str; 7] = [
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Host",
    "Connection",
    "Lambda-Runtime-Aws-Request-Id",
    "Lambda-Runtime-Invoked-Function-Arn",
];

/// A `headers_env` table (an http function's, an allow-list entry's): each
/// header name checked (none of `reserved`), each value read from the
/// environment variable it names (like a route's `secret_env`; messages
/// name the variable, never the value).
fn headers_env(
    table: &BTreeMap<SpannedString, SpannedString>,
    path: &str,
    reserved: &[&str],
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<Vec<HttpHeader>> {
    let mut ok = true;
    let mut headers = Vec::new();
    // Lower-cased name -> as first written: HTTP names are case-insensitive,
    // and two spellings would send the header twice.
    let mut seen: HashMap<String, String> = HashMap::new();
    for (name, var) in table {
        let key = child(path, name.get_ref());
        let Some(header) = header_name(name, &key, "Authorization", p) else {
            ok = false;
            continue;
        };
        if let Some(reserved) = reserved.iter().find(|r| r.eq_ignore_ascii_case(&header)) {
            p.at(
                name.span(),
                &key,
                format!("`{reserved}` is set by stepgate on every request; remove it"),
            );
            ok = false;
            continue;
        }
        if let Some(first) = seen.insert(header.to_ascii_lowercase(), header.clone()) {
            p.at(
                name.span(),
                &key,
                format!(
                    "`{header}` is the same header as `{first}` (header names are case-insensitive); keep one"
                ),
            );
            ok = false;
            continue;
        }
        let what = format!("the value of the {header} header");
        let Some(value) = secret_env(var, &key, &what, env, p) else {
            ok = false;
            continue;
        };
        // RFC 9110: a field value holds no control characters but tab; a
        // line break would end the header (or the request) early.
        if value.chars().any(|c| c.is_ascii_control() && c != '\t') {
            p.at(
                var.span(),
                &key,
                format!(
                    "environment variable {} holds a control character (a line break?), which an HTTP header value cannot contain; remove it",
                    var.get_ref()
                ),
            );
            ok = false;
            continue;
        }
        headers.push(HttpHeader {
            name: header,
            env: var.get_ref().clone(),
            value: Secret::new(value),
        });
    }
    ok.then_some(headers)
}

// ------------------------------------------------------------- http_task

/// Headers that frame an HTTP Task's request (the HTTP library sets them
/// from the URL and the body): an allow-list entry cannot send them.
const HTTP_TASK_RESERVED_HEADERS: [&str; 5] = [
    "Content-Length",
    "Transfer-Encoding",
    "Host",
    "Connection",
    "Upgrade",
];

/// `[http_task]`: every allow entry checked, each problem reported.
fn http_task(raw: RawHttpTask, env: Env<'_>, p: &mut Problems<'_>) -> Option<HttpTask> {
    let Some(entries) = raw.allow else {
        return Some(HttpTask::default());
    };
    let mut ok = true;
    let mut allow = Vec::new();
    // Text as written -> index: a second entry for the same prefix would
    // make it ambiguous whose headers a request gets.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, entry) in entries.into_inner().into_iter().enumerate() {
        let path = format!("http_task.allow[{i}]");
        let span = entry.span();
        let (url, url_key, headers) = match entry.into_inner() {
            RawAllowEntry::Url(url) => (Spanned::new(span, url), path.clone(), Some(Vec::new())),
            RawAllowEntry::Table(table) => {
                let headers = match &table.headers_env {
                    None => Some(Vec::new()),
                    Some(h) => headers_env(
                        h.get_ref(),
                        &child(&path, "headers_env"),
                        &HTTP_TASK_RESERVED_HEADERS,
                        env,
                        p,
                    ),
                };
                (table.url, child(&path, "url"), headers)
            }
        };
        let checked = allow_url(&url, &url_key, p);
        if let Some(first) = seen.insert(url.get_ref().clone(), i) {
            p.at(
                url.span(),
                &url_key,
                format!("\"{}\" is already allow[{first}]; keep one entry per target (put its headers_env in that one)", url.get_ref()),
            );
            ok = false;
        }
        match (checked, headers) {
            (Some(()), Some(headers)) => allow.push(HttpTaskTarget {
                url: url.into_inner(),
                headers,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(HttpTask { allow })
}

/// An allow entry's URL prefix: `http(s)://HOST[:PORT][/PATH]`. The
/// functions crate parses it as a URL again and compares parsed URLs; this
/// check gives located messages for what can be seen in the text.
fn allow_url(value: &SpannedString, key: &str, p: &mut Problems<'_>) -> Option<()> {
    let text = value.get_ref();
    let example = "e.g. \"https://api.example.com/v1/\"";
    let mut refuse = |message: String| {
        p.at(value.span(), key, message);
        None
    };
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return refuse(format!(
            "\"{text}\" is not an http:// or https:// URL; write the prefix requests may go to, {example}"
        ));
    };
    if let Some(c) = text
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '*' | '\\'))
    {
        let why = match c {
            '?' | '#' => {
                "an allow entry is a prefix of scheme, host, port and path; remove the query or fragment"
            }
            '*' => {
                "entries are prefixes, not patterns: \"https://api.example.com/\" already covers every path under it"
            }
            _ => "a URL has no spaces, control characters or backslashes",
        };
        return refuse(format!("\"{text}\" contains {c:?}; {why}"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return refuse(format!(
            "\"{text}\" has user info; remove it (credentials belong in headers_env: {{ url = \"...\", headers_env = {{ Authorization = \"ENV_VAR\" }} }})"
        ));
    }
    // `[v6]:port` or `host:port`.
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return refuse(format!("\"{text}\": an IPv6 host needs its closing `]`")),
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return refuse(format!("\"{text}\" has no host; {example}"));
    }
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|n| n > 0)
    {
        return refuse(format!(
            "\"{text}\": port \"{port}\" is not a number from 1 to 65535"
        ));
    }
    Some(())
}

// ------------------------------------------------------------ activities

/// AWS's rule for state machine and activity names (CreateStateMachine and
/// CreateActivity `name`): 1-80 characters, none of them whitespace, a
/// control character, a bracket, a wildcard or special punctuation.
fn is_aws_name(name: &str) -> bool {
    let bad_char =
        |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    !name.is_empty() && name.chars().count() <= 80 && !name.chars().any(bad_char)
}

/// `[activities.NAME]`: the name is the whole declaration.
fn activity(name: &SpannedString, p: &mut Problems<'_>) -> Option<String> {
    let n = name.get_ref();
    if !is_aws_name(n) {
        p.at(
            name.span(),
            &child("activities", n),
            "an activity name is 1-80 characters without whitespace, brackets, wildcards or any of \" # % \\ ^ | ~ ` $ & , ; : /",
        );
        return None;
    }
    Some(n.clone())
}

// -------------------------------------------------------- state machines

const TYPES: [&str; 2] = ["STANDARD", "EXPRESS"];
const LEVELS: [&str; 4] = ["ALL", "ERROR", "FATAL", "OFF"];

fn state_machine(
    name: &SpannedString,
    raw: Spanned<RawStateMachine>,
    base: &Path,
    declared: &BTreeSet<String>,
    p: &mut Problems<'_>,
) -> Option<StateMachine> {
    let path = child("state_machines", name.get_ref());
    let key = |k: &str| child(&path, k);
    let span = raw.span();
    let raw = raw.into_inner();
    let n = name.get_ref();
    let mut ok = true;
    if !is_aws_name(n) {
        p.at(
            name.span(),
            &path,
            "a state machine name is 1-80 characters without whitespace, brackets, wildcards or any of \" # % \\ ^ | ~ ` $ & , ; : /",
        );
        ok = false;
    }

    let state_machine_type = match &raw.type_ {
        None => Some(StateMachineType::Standard),
        Some(t) => match t.get_ref().as_str() {
            "STANDARD" => Some(StateMachineType::Standard),
            "EXPRESS" => Some(StateMachineType::Express),
            other => {
                p.at(
                    t.span(),
                    &key("type"),
                    format!("unknown type \"{other}\"{}", hint(other, &TYPES)),
                );
                None
            }
        },
    };

    let source = match (&raw.definition_file, &raw.definition) {
        (Some(_), Some(inline)) => {
            p.at(
                inline.span(),
                &key("definition"),
                "set either `definition_file` or `definition`, not both",
            );
            None
        }
        (None, None) => {
            p.at(
                span,
                &path,
                "missing `definition_file` (a path to ASL JSON) or `definition` (inline ASL JSON)",
            );
            None
        }
        (Some(file), None) => {
            let resolved = base.join(file.get_ref());
            match std::fs::read(&resolved).map(String::from_utf8) {
                Ok(Ok(text)) => Some((
                    text,
                    DefinitionSource::File(resolved),
                    file,
                    "definition_file",
                )),
                Ok(Err(_)) => {
                    p.at(
                        file.span(),
                        &key("definition_file"),
                        format!(
                            "{} is not valid UTF-8; save it as UTF-8 JSON",
                            resolved.display()
                        ),
                    );
                    None
                }
                Err(e) => {
                    p.at(
                        file.span(),
                        &key("definition_file"),
                        format!(
                            "cannot read {}: {e}; the path is relative to the config file's directory",
                            resolved.display()
                        ),
                    );
                    None
                }
            }
        }
        (None, Some(inline)) => Some((
            inline.get_ref().clone(),
            DefinitionSource::Inline,
            inline,
            "definition",
        )),
    };

    // Without a known type the definition cannot be judged fairly (EXPRESS
    // refuses integrations STANDARD allows); the type error is reported.
    let definition = match (source, state_machine_type) {
        (Some((text, source, at, field)), Some(state_machine_type)) => {
            let options = ParseOptions { state_machine_type };
            match parse_definition_with(&text, &options) {
                Ok(definition) => {
                    let mut defined = true;
                    // The arena holds every state of every scope, so Tasks
                    // in Parallel branches and Map item processors count.
                    for state in &definition.states {
                        let StateKind::Task(task) = &state.kind else {
                            continue;
                        };
                        if !is_activity_arn(&task.resource) {
                            continue;
                        }
                        // Matched by name, any region and account, as
                        // Lambda function ARNs are.
                        let activity = task.resource.rsplit(':').next().unwrap_or_default();
                        if !declared.contains(activity) {
                            p.at(
                                at.span(),
                                &key(field),
                                format!(
                                    "invalid definition: activity \"{activity}\" is not declared; add [{}] to stepgate.toml (Task state \"{}\" at {}/Resource)",
                                    child("activities", activity),
                                    state.name,
                                    state.location,
                                ),
                            );
                            defined = false;
                        }
                    }
                    defined.then_some((text, source))
                }
                Err(diagnostics) => {
                    for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
                        p.at(at.span(), &key(field), format!("invalid definition: {d}"));
                    }
                    None
                }
            }
        }
        _ => None,
    };

    let logging = match &raw.logging {
        None => Some(Logging {
            level: LogLevel::Off,
            include_execution_data: false,
            destination: None,
        }),
        Some(logging) => {
            let l = logging.get_ref();
            let level = match &l.level {
                None => Some(LogLevel::Off),
                Some(level) => match level.get_ref().as_str() {
                    "ALL" => Some(LogLevel::All),
                    "ERROR" => Some(LogLevel::Error),
                    "FATAL" => Some(LogLevel::Fatal),
                    "OFF" => Some(LogLevel::Off),
                    other => {
                        p.at(
                            level.span(),
                            &child(&key("logging"), "level"),
                            format!("unknown level \"{other}\"{}", hint(other, &LEVELS)),
                        );
                        None
                    }
                },
            };
            let destination = match &l.destination {
                Some(d) if d.get_ref().is_empty() => {
                    p.at(
                        d.span(),
                        &child(&key("logging"), "destination"),
                        "must be a file path, or remove the key",
                    );
                    return None;
                }
                Some(d) => Some(base.join(d.get_ref())),
                None => None,
            };
            level.map(|level| Logging {
                level,
                include_execution_data: l.include_execution_data.unwrap_or(false),
                destination,
            })
        }
    };

    let (definition, definition_source) = definition?;
    if !ok {
        return None;
    }
    Some(StateMachine {
        name: n.clone(),
        state_machine_type: state_machine_type?,
        definition,
        definition_source,
        logging: logging?,
    })
}

// ---------------------------------------------------------------- routes

/// What every route is checked against.
struct RouteContext<'a> {
    /// State machine names; a route's id is the position of its name.
    state_machines: &'a [String],
    /// `[server] max_body_bytes`.
    server_body_limit: usize,
    /// Where `keys_env` and `secret_env` are looked up.
    env: Env<'a>,
}

fn route(
    index: usize,
    raw: Spanned<RawRoute>,
    context: &RouteContext<'_>,
    seen: &mut HashMap<(Method, Vec<Segment>), usize>,
    p: &mut Problems<'_>,
) -> Option<Route> {
    let state_machines = context.state_machines;
    let path_key = format!("routes[{index}]");
    let key = |k: &str| child(&path_key, k);
    let raw = raw.into_inner();

    let method_text = raw.method.get_ref().as_str();
    let names: Vec<&str> = Method::ALL.iter().map(|(s, _)| *s).collect();
    let method = match Method::ALL.iter().find(|(s, _)| *s == method_text) {
        Some((_, m)) => Some(*m),
        None => {
            let upper = method_text.to_ascii_uppercase();
            let tail = if names.contains(&upper.as_str()) {
                format!("; methods are upper case: did you mean `{upper}`?")
            } else {
                hint(method_text, &names)
            };
            p.at(
                raw.method.span(),
                &key("method"),
                format!("unknown method \"{method_text}\"{tail}"),
            );
            None
        }
    };

    let segments = match parse_path(raw.path.get_ref()) {
        Ok(segments) => Some(segments),
        Err(message) => {
            p.at(raw.path.span(), &key("path"), message);
            None
        }
    };

    if let (Some(method), Some(segments)) = (method, &segments) {
        // Parameter names do not make two paths different: `/{a}` and
        // `/{b}` match the same requests.
        let shape: Vec<Segment> = segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => Segment::Literal(l.clone()),
                Segment::Param(_) => Segment::Param(String::new()),
                Segment::Greedy(_) => Segment::Greedy(String::new()),
            })
            .collect();
        if let Some(first) = seen.get(&(method, shape.clone())) {
            p.at(
                raw.path.span(),
                &key("path"),
                format!(
                    "routes[{first}] already routes {} {}; two routes cannot have the same method and path",
                    method.as_str(),
                    raw.path.get_ref()
                ),
            );
        } else {
            seen.insert((method, shape), index);
        }
    }

    let wanted = raw.state_machine.get_ref();
    let state_machine = match state_machines.iter().position(|n| n == wanted) {
        Some(i) => Some(StateMachineId(i)),
        None => {
            let defined = if state_machines.is_empty() {
                "none are defined; add a [state_machines.NAME] section".to_owned()
            } else {
                format!("defined: {}", state_machines.join(", "))
            };
            p.at(
                raw.state_machine.span(),
                &key("state_machine"),
                format!("no state machine named \"{wanted}\"; {defined}"),
            );
            None
        }
    };

    // `timeout_seconds` belongs to sync routes; on an async one (explicit
    // or by default) it would silently do nothing. A misspelled mode is
    // reported on its own and leaves the timeout alone.
    let asynchronous = raw.mode.as_ref().is_none_or(|m| m.get_ref() == "async");
    let timeout = match &raw.timeout_seconds {
        None => Some(Mode::DEFAULT_SYNC_TIMEOUT),
        Some(t) if asynchronous => {
            p.at(
                t.span(),
                &key("timeout_seconds"),
                "only sync routes wait for the execution; remove timeout_seconds or set mode = \"sync\"",
            );
            None
        }
        Some(t) => positive_seconds(t, &key("timeout_seconds"), p),
    };
    let mode = match &raw.mode {
        None if timeout.is_none() => None,
        None => Some(Mode::Async),
        Some(m) => match m.get_ref().as_str() {
            "async" if timeout.is_none() => None,
            "async" => Some(Mode::Async),
            "sync" => timeout.map(|timeout| Mode::Sync { timeout }),
            other => {
                p.at(
                    m.span(),
                    &key("mode"),
                    format!(
                        "unknown mode \"{other}\"{}",
                        hint(other, &["async", "sync"])
                    ),
                );
                None
            }
        },
    };

    let execution_name_header = match &raw.execution_name_header {
        None => Some(None),
        Some(h) => header_name(h, &key("execution_name_header"), "X-GitHub-Delivery", p).map(Some),
    };

    let responses = raw.responses.map(Spanned::into_inner);
    let (success, failure) = match responses {
        None => (Some(None), Some(None)),
        Some(r) => (
            response(
                r.success,
                Response::default_success(),
                &key("responses"),
                "success",
                p,
            ),
            response(
                r.failure,
                Response::default_failure(),
                &key("responses"),
                "failure",
                p,
            ),
        ),
    };

    let request_template = match raw.request_template {
        None => Some(None),
        Some(t) => template(&t, &key("request_template"), p).map(|()| Some(t.into_inner())),
    };

    let auth = match raw.auth {
        None => Some(Auth::None),
        Some(a) => auth(a, &key("auth"), context.env, p),
    };

    let rate_limit = match raw.rate_limit {
        None => Some(None),
        Some(r) => rate_limit(r.get_ref(), &key("rate_limit"), p).map(Some),
    };

    let max_body_bytes = match &raw.max_body_bytes {
        None => Some(context.server_body_limit),
        Some(n) => body_limit(n, &key("max_body_bytes"), p),
    };

    Some(Route {
        method: method?,
        path: RoutePath {
            text: raw.path.get_ref().clone(),
            segments: segments?,
        },
        state_machine: state_machine?,
        mode: mode?,
        request_template: request_template?,
        execution_name_header: execution_name_header?,
        success: success?,
        failure: failure?,
        auth: auth?,
        rate_limit: rate_limit?,
        max_body_bytes: max_body_bytes?,
    })
}

/// `timeout_seconds`: a positive whole number of seconds.
fn positive_seconds(t: &Spanned<i64>, key: &str, p: &mut Problems<'_>) -> Option<Duration> {
    match u64::try_from(*t.get_ref()) {
        Ok(secs) if secs > 0 => Some(Duration::from_secs(secs)),
        _ => {
            p.at(
                t.span(),
                key,
                "must be a positive number of seconds, e.g. 30",
            );
            None
        }
    }
}

/// A header name (an RFC 9110 token), or a problem with an example.
fn header_name(
    value: &SpannedString,
    key: &str,
    example: &str,
    p: &mut Problems<'_>,
) -> Option<String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let name = value.get_ref();
    if !name.is_empty() && name.chars().all(token) {
        Some(name.clone())
    } else {
        p.at(
            value.span(),
            key,
            format!("\"{name}\" is not an HTTP header name, e.g. \"{example}\""),
        );
        None
    }
}

const AUTH_TYPES: [&str; 3] = ["none", "api_key", "hmac_sha256"];

/// A route's `auth`: the keys its type needs, no others, and its secrets
/// read from the environment.
fn auth(raw: Spanned<RawAuth>, path: &str, env: Env<'_>, p: &mut Problems<'_>) -> Option<Auth> {
    let span = raw.span();
    let raw = raw.into_inner();
    let key = |k: &str| child(path, k);
    let kind = raw.type_.get_ref().as_str();
    // Which optional keys each type reads; any other one set is a mistake
    // (e.g. `secret_env` on an api_key route would silently protect nothing).
    let used: &[&str] = match kind {
        "none" => &[],
        "api_key" => &["header", "keys_env"],
        "hmac_sha256" => &["header", "secret_env", "prefix"],
        other => {
            // "hmac" or "api" are abbreviations, too far for the edit distance.
            let tail = match AUTH_TYPES
                .iter()
                .find(|t| !other.is_empty() && t.starts_with(&other.to_ascii_lowercase()))
            {
                Some(t) => format!("; did you mean `{t}`?"),
                None => hint(other, &AUTH_TYPES),
            };
            p.at(
                raw.type_.span(),
                &key("type"),
                format!("unknown auth type \"{other}\"{tail}"),
            );
            return None;
        }
    };
    let mut ok = true;
    let set = [
        ("header", &raw.header),
        ("keys_env", &raw.keys_env),
        ("secret_env", &raw.secret_env),
        ("prefix", &raw.prefix),
    ];
    for (name, value) in set {
        if let Some(v) = value
            && !used.contains(&name)
        {
            p.at(
                v.span(),
                &key(name),
                format!("`{name}` is not used by auth type \"{kind}\"; remove it"),
            );
            ok = false;
        }
    }
    let require = |value: &Option<SpannedString>,
                   name: &str,
                   example: &str,
                   p: &mut Problems<'_>| {
        // A misspelled key was reported with this one as its fix: once is enough.
        if value.is_none() && !p.was_suggested(&key(name)) {
            p.at(
                span.clone(),
                &key(name),
                format!("missing required key `{name}` for auth type \"{kind}\"; e.g. {name} = \"{example}\""),
            );
        }
    };
    match kind {
        "api_key" => {
            require(&raw.header, "header", "x-api-key", p);
            require(&raw.keys_env, "keys_env", "STEPGATE_API_KEYS", p);
            let header =
                (raw.header.as_ref()).and_then(|h| header_name(h, &key("header"), "x-api-key", p));
            let keys = raw.keys_env.as_ref().and_then(|v| {
                let value = secret_env(v, &key("keys_env"), "one or more API keys, comma-separated", env, p)?;
                let keys: Vec<Secret> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(Secret::new)
                    .collect();
                if keys.is_empty() {
                    p.at(
                        v.span(),
                        &key("keys_env"),
                        format!(
                            "environment variable {} holds no key (only commas and spaces); set it to one or more API keys, comma-separated",
                            v.get_ref()
                        ),
                    );
                    return None;
                }
                Some((v.get_ref().clone(), keys))
            });
            if !ok {
                return None;
            }
            let (keys_env, keys) = keys?;
            Some(Auth::ApiKey {
                header: header?,
                keys_env,
                keys,
            })
        }
        "hmac_sha256" => {
            require(&raw.header, "header", "X-Hub-Signature-256", p);
            require(&raw.secret_env, "secret_env", "STEPGATE_WEBHOOK_SECRET", p);
            let header = (raw.header.as_ref())
                .and_then(|h| header_name(h, &key("header"), "X-Hub-Signature-256", p));
            let secret = raw.secret_env.as_ref().and_then(|v| {
                secret_env(v, &key("secret_env"), "the shared HMAC secret", env, p)
                    .map(|s| (v.get_ref().clone(), Secret::new(s)))
            });
            if !ok {
                return None;
            }
            let (secret_env, secret) = secret?;
            Some(Auth::HmacSha256 {
                header: header?,
                secret_env,
                secret,
                prefix: raw.prefix.map(Spanned::into_inner).unwrap_or_default(),
            })
        }
        _ => ok.then_some(Auth::None),
    }
}

/// The value of the environment variable a `*_env` key names; a problem
/// (naming the variable, never a value) when it is unset or empty.
fn secret_env(
    name: &SpannedString,
    key: &str,
    what: &str,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<String> {
    let var = name.get_ref();
    if var.is_empty() || var.contains('=') || var.contains('\0') {
        p.at(
            name.span(),
            key,
            "must name an environment variable (non-empty, without `=` or NUL), e.g. \"STEPGATE_WEBHOOK_SECRET\"",
        );
        return None;
    }
    match env(var) {
        Some(value) if !value.trim().is_empty() => Some(value),
        Some(_) => {
            p.at(
                name.span(),
                key,
                format!(
                    "environment variable {var} is empty; set it to {what} before starting stepgate"
                ),
            );
            None
        }
        None => {
            p.at(
                name.span(),
                key,
                format!("environment variable {var} is not set; export it ({what}) before starting stepgate"),
            );
            None
        }
    }
}

/// A route's `rate_limit`.
fn rate_limit(raw: &RawRateLimit, path: &str, p: &mut Problems<'_>) -> Option<RateLimit> {
    let positive = |value: &Spanned<i64>, name: &str, p: &mut Problems<'_>| match u32::try_from(
        *value.get_ref(),
    )
    .ok()
    .and_then(NonZeroU32::new)
    {
        Some(n) => Some(n),
        None => {
            p.at(
                value.span(),
                &child(path, name),
                format!(
                    "{} is not allowed; use a whole number from 1 to {}, e.g. 10",
                    value.get_ref(),
                    u32::MAX
                ),
            );
            None
        }
    };
    let rate = positive(&raw.requests_per_second, "requests_per_second", p);
    let burst = match &raw.burst {
        None => rate,
        Some(b) => positive(b, "burst", p),
    };
    Some(RateLimit {
        requests_per_second: rate?,
        burst: burst?,
    })
}

fn response(
    raw: Option<Spanned<RawResponse>>,
    default: Response,
    path: &str,
    which: &str,
    p: &mut Problems<'_>,
) -> Option<Option<Response>> {
    let Some(raw) = raw.map(Spanned::into_inner) else {
        return Some(None);
    };
    let status = match u16::try_from(*raw.status.get_ref()) {
        Ok(s) if (100..=599).contains(&s) => Some(s),
        _ => {
            p.at(
                raw.status.span(),
                &child(&child(path, which), "status"),
                format!(
                    "{} is not an HTTP status; use a number from 100 to 599",
                    raw.status.get_ref()
                ),
            );
            None
        }
    };
    let body = match raw.body {
        None => Some(default.body),
        Some(b) => template(&b, &child(&child(path, which), "body"), p).map(|()| b.into_inner()),
    };
    Some(Some(Response {
        status: status?,
        body: body?,
    }))
}

/// A mapping template (request templates and response bodies) must parse;
/// the error gives the line and column inside the template.
fn template(value: &SpannedString, key: &str, p: &mut Problems<'_>) -> Option<()> {
    match vtl::Template::parse(value.get_ref()) {
        Ok(_) => Some(()),
        Err(e) => {
            p.at(
                value.span(),
                key,
                format!(
                    "the mapping template does not parse: {e} (counted inside the template); fix the template, or escape a literal `$` or `#` as `\\$` / `\\#`"
                ),
            );
            None
        }
    }
}

/// Parses `/literal/{param}/{proxy+}` into segments, or says what to fix.
pub(crate) fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("\"{path}\" must start with `/`, e.g. \"/{path}\""));
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let mut segments = Vec::new();
    let mut params = HashSet::new();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(format!(
                "\"{path}\" has an empty segment (`//` or a trailing `/`); remove the extra `/`"
            ));
        }
        if let Some(c) = part
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == '?' || *c == '#')
        {
            return Err(format!(
                "\"{path}\" contains {c:?}; a route path has no spaces, query string or fragment"
            ));
        }
        if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(name) => (name, true),
                None => (inner, false),
            };
            let well_formed = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !well_formed {
                return Err(format!(
                    "bad path parameter `{part}`: write `{{name}}` or `{{name+}}` with a name of letters, digits, `_` or `-`"
                ));
            }
            if !params.insert(name.to_owned()) {
                return Err(format!(
                    "path parameter `{name}` appears twice in \"{path}\""
                ));
            }
            if greedy {
                if i + 1 != parts.len() {
                    return Err(format!(
                        "greedy parameter `{part}` must be the last segment of \"{path}\""
                    ));
                }
                segments.push(Segment::Greedy(name.to_owned()));
            } else {
                segments.push(Segment::Param(name.to_owned()));
            }
        } else if part.contains('{') || part.contains('}') {
            return Err(format!(
                "`{part}`: a path parameter must be a whole segment, like `/{{id}}`"
            ));
        } else {
            segments.push(Segment::Literal((*part).to_owned()));
        }
    }
    Ok(segments)
}
