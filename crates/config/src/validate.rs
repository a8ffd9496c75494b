//! From [`RawConfig`] to [`Config`]: every rule about values.
//!
//! Owns the checks on addresses, the store URL, function runtimes, state
//! machine definitions (through `asl`), route paths and references between
//! sections. Every check runs even after an earlier one failed, so one run
//! reports every problem. It must not read TOML (that is `raw`) nor start or
//! open anything it validates: addresses are parsed, not bound; the store
//! URL is checked, not opened.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use asl::diagnostic::Severity;
use asl::parse::{ParseOptions, StateMachineType, validate_definition};
use toml::Spanned;
use toml::de::DeTable;

use crate::error::{Problems, hint};
use crate::raw::{
    self, RawConfig, RawFunction, RawResponse, RawRoute, RawServer, RawStateMachine, SpannedString,
    child,
};
use crate::{
    Config, ConfigErrors, DefinitionSource, Function, LogLevel, Logging, Method, Mode, Response,
    Route, RoutePath, Runtime, Segment, Server, StateMachine, StateMachineId, Store,
};

/// Parses text into a [`Config`], collecting every problem.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
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
    let config = build(raw, &base, &mut problems);
    problems.finish(config)
}

fn build(raw: RawConfig, base: &Path, p: &mut Problems<'_>) -> Option<Config> {
    let server = server(
        raw.server.map(Spanned::into_inner).unwrap_or_default(),
        base,
        p,
    );

    let mut functions = Some(BTreeMap::new());
    for (name, item) in raw.functions {
        let f = item.and_then(|f| function(&name, f, p));
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
    let mut state_machines = Some(Vec::new());
    for (name, item) in raw.state_machines {
        let m = item.and_then(|m| state_machine(&name, m, base, p));
        match (m, state_machines.as_mut()) {
            (Some(m), Some(list)) => list.push(m),
            _ => state_machines = None,
        }
    }

    let mut routes = Some(Vec::new());
    let mut seen: HashMap<(Method, Vec<Segment>), usize> = HashMap::new();
    for (i, item) in raw.routes.into_iter().enumerate() {
        let r = item.and_then(|r| route(i, r, &names, &mut seen, p));
        match (r, routes.as_mut()) {
            (Some(r), Some(list)) => list.push(r),
            _ => routes = None,
        }
    }

    Some(Config {
        server: server?,
        functions: functions?,
        state_machines: state_machines?,
        routes: routes?,
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
    })
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
            url(raw.url.as_ref(), &raw.runtime, &key("url"), p).map(|url| Runtime::Http { url })
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
        Some(t) => match u64::try_from(*t.get_ref()) {
            Ok(secs) if secs > 0 => Some(Duration::from_secs(secs)),
            _ => {
                p.at(
                    t.span(),
                    &key("timeout_seconds"),
                    "must be a positive number of seconds, e.g. 30",
                );
                None
            }
        },
    };

    let concurrency = match &raw.concurrency {
        None => Some(None),
        Some(c) => match u32::try_from(*c.get_ref()).ok().and_then(NonZeroU32::new) {
            Some(n) => Some(Some(n)),
            None => {
                p.at(
                    c.span(),
                    &key("concurrency"),
                    "must be at least 1 (or remove the key for no limit)",
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

// -------------------------------------------------------- state machines

const TYPES: [&str; 2] = ["STANDARD", "EXPRESS"];
const LEVELS: [&str; 4] = ["ALL", "ERROR", "FATAL", "OFF"];

fn state_machine(
    name: &SpannedString,
    raw: Spanned<RawStateMachine>,
    base: &Path,
    p: &mut Problems<'_>,
) -> Option<StateMachine> {
    let path = child("state_machines", name.get_ref());
    let key = |k: &str| child(&path, k);
    let span = raw.span();
    let raw = raw.into_inner();
    let n = name.get_ref();
    // AWS's rule for state machine names (CreateStateMachine `name`).
    let bad_char =
        |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    let mut ok = true;
    if n.is_empty() || n.chars().count() > 80 || n.chars().any(bad_char) {
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
            let errors: Vec<_> = validate_definition(&text, &options)
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect();
            for d in &errors {
                p.at(at.span(), &key(field), format!("invalid definition: {d}"));
            }
            errors.is_empty().then_some((text, source))
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

fn route(
    index: usize,
    raw: Spanned<RawRoute>,
    state_machines: &[String],
    seen: &mut HashMap<(Method, Vec<Segment>), usize>,
    p: &mut Problems<'_>,
) -> Option<Route> {
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

    let mode = match &raw.mode {
        None => Some(Mode::Async),
        Some(m) => match m.get_ref().as_str() {
            "async" => Some(Mode::Async),
            "sync" => Some(Mode::Sync),
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
        Some(h) => {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if !h.get_ref().is_empty() && h.get_ref().chars().all(token) {
                Some(Some(h.get_ref().clone()))
            } else {
                p.at(
                    h.span(),
                    &key("execution_name_header"),
                    format!(
                        "\"{}\" is not an HTTP header name, e.g. \"X-GitHub-Delivery\"",
                        h.get_ref()
                    ),
                );
                None
            }
        }
    };

    let responses = raw.responses.map(Spanned::into_inner);
    let (success, failure) = match responses {
        None => (
            Some(Response::default_success()),
            Some(Response::default_failure()),
        ),
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

    Some(Route {
        method: method?,
        path: RoutePath {
            text: raw.path.get_ref().clone(),
            segments: segments?,
        },
        state_machine: state_machine?,
        mode: mode?,
        request_template: raw.request_template.map(Spanned::into_inner),
        execution_name_header: execution_name_header?,
        success: success?,
        failure: failure?,
    })
}

fn response(
    raw: Option<Spanned<RawResponse>>,
    default: Response,
    path: &str,
    which: &str,
    p: &mut Problems<'_>,
) -> Option<Response> {
    let Some(raw) = raw.map(Spanned::into_inner) else {
        return Some(default);
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
    Some(Response {
        status: status?,
        body: raw.body.map_or(default.body, Spanned::into_inner),
    })
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
