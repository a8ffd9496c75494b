//! Every config rule: the problem's line, column, key path and message.

use std::path::Path;

use std::time::Duration;

use config::{
    Auth, ConfigError, DefinitionSource, HttpHeader, HttpTaskTarget, LogLevel, Method, Mode,
    RateLimit, Response, Runtime, Secret, Segment, StateMachineType, Store,
};

const DEF: &str = r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#;

/// A valid config: one state machine `sample`, then `extra`.
fn with(extra: &str) -> String {
    format!("[state_machines.sample]\ndefinition = '{DEF}'\n{extra}")
}

fn errors(text: &str) -> Vec<ConfigError> {
    match config::parse(text, Path::new("stepgate.toml")) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(e) => e.errors,
    }
}

/// The only problem, as printed.
fn one(text: &str) -> String {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors[0].to_string()
}

fn ok(text: &str) -> config::Config {
    match config::parse(text, Path::new("stepgate.toml")) {
        Ok(c) => c,
        Err(e) => panic!("{e}\nin:\n{text}"),
    }
}

// ------------------------------------------------------------------ syntax

#[test]
fn syntax_errors_are_located() {
    let line = one("[server]\nlisten = \n");
    assert!(line.starts_with("stepgate.toml:2:"), "{line}");
    assert!(line.contains("invalid TOML"), "{line}");
}

#[test]
fn empty_file_is_a_valid_empty_config() {
    let c = ok("");
    assert_eq!(c.server().listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server().admin_listen.to_string(), "127.0.0.1:8083");
    assert_eq!(
        c.server().store,
        Store::Sqlite {
            path: "./stepgate.db".into()
        }
    );
    assert!(c.routes().is_empty());
}

// ------------------------------------------------------------ unknown keys

#[test]
fn unknown_keys_everywhere_are_all_reported_with_suggestions() {
    let text = with(
        "[server]\nlissten = \"127.0.0.1:1\"\n\
         [[routes]]\nmethod = \"POST\"\npath = \"/\"\nstat_machine = \"sample\"\nstate_machine = \"sample\"\n\
         responses.success = { status = 200, bdy = \"x\" }\n\
         [functoins.f]\n",
    );
    let got: Vec<String> = errors(&text).iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:4:1: server.lissten: unknown key `lissten`; did you mean `listen`?",
            "stepgate.toml:8:1: routes[0].stat_machine: unknown key `stat_machine`; did you mean `state_machine`?",
            "stepgate.toml:10:37: routes[0].responses.success.bdy: unknown key `bdy`; did you mean `body`?",
            "stepgate.toml:11:2: functoins: unknown key `functoins`; did you mean `functions`?",
        ]
    );
}

#[test]
fn unknown_key_without_close_match_lists_the_keys() {
    assert_eq!(
        one("[server]\nzzz = 1\n"),
        "stepgate.toml:2:1: server.zzz: unknown key `zzz`; expected one of: listen, admin_listen, store, admin_token, max_body_bytes"
    );
}

#[test]
fn unknown_logging_key() {
    let line = one(&with("logging = { level = \"ALL\", destinaton = \"x\" }\n"));
    assert_eq!(
        line,
        "stepgate.toml:3:28: state_machines.sample.logging.destinaton: unknown key `destinaton`; did you mean `destination`?"
    );
}

// ------------------------------------------------------------------ types

#[test]
fn wrong_types_name_the_key() {
    let line =
        one("[functions.f]\nruntime = \"command\"\ncommand = [\"x\"]\ntimeout_seconds = \"30\"\n");
    assert!(
        line.starts_with("stepgate.toml:4:19: functions.f.timeout_seconds: invalid type: string"),
        "{line}"
    );
}

#[test]
fn environment_values_must_be_strings() {
    let line = one(
        "[functions.f]\nruntime = \"command\"\ncommand = [\"x\"]\nenvironment = { A = \"1\", B = 2 }\n",
    );
    assert!(
        line.starts_with("stepgate.toml:4:30: functions.f.environment.B: invalid type: integer"),
        "{line}"
    );
}

#[test]
fn missing_required_keys() {
    let got: Vec<String> = errors("[[routes]]\nmethod = \"POST\"\n[functions.f]\n")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].contains("routes[0].path: missing required key `path`"),
        "{got:#?}"
    );
    assert!(
        got[1].contains("functions.f.runtime: missing required key `runtime`"),
        "{got:#?}"
    );
}

#[test]
fn routes_must_be_an_array_of_tables() {
    assert_eq!(
        one("[routes]\nmethod = \"POST\"\n"),
        "stepgate.toml:1:1: routes: must be an array of tables: write each route as a `[[routes]]` section"
    );
}

// ----------------------------------------------------------------- server

#[test]
fn listen_addresses_must_be_socket_addresses() {
    let got: Vec<String> =
        errors("[server]\nlisten = \"localhost:8080\"\nadmin_listen = \"8083\"\n")
            .iter()
            .map(ToString::to_string)
            .collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:2:10: server.listen: \"localhost:8080\" is not a socket address; use an IP address, not a host name, e.g. \"127.0.0.1:8080\"",
            "stepgate.toml:3:16: server.admin_listen: \"8083\" is not a socket address; write IP:PORT, e.g. \"127.0.0.1:8083\"",
        ]
    );
}

#[test]
fn admin_token_required_off_loopback() {
    assert_eq!(
        one("[server]\nadmin_listen = \"0.0.0.0:8083\"\n"),
        "stepgate.toml:2:16: server.admin_token: required because admin_listen 0.0.0.0:8083 is not a loopback address; set `admin_token = \"...\"` in [server] or bind admin_listen to 127.0.0.1"
    );
    let c = ok("[server]\nadmin_listen = \"0.0.0.0:8083\"\nadmin_token = \"s3cret\"\n");
    assert_eq!(c.server().admin_token.as_deref(), Some("s3cret"));
    ok("[server]\nadmin_listen = \"[::1]:8083\"\n");
}

#[test]
fn admin_token_not_empty() {
    assert!(
        one("[server]\nadmin_token = \" \"\n")
            .starts_with("stepgate.toml:2:15: server.admin_token: must not be empty")
    );
}

#[test]
fn store_urls() {
    assert_eq!(
        one("[server]\nstore = \"postgres://db/x\"\n"),
        "stepgate.toml:2:9: server.store: PostgreSQL stores are not supported yet; use \"sqlite://FILE\" for now"
    );
    assert_eq!(
        one("[server]\nstore = \"mysql://x\"\n"),
        "stepgate.toml:2:9: server.store: unknown store URL \"mysql://x\"; write \"sqlite://FILE\", e.g. \"sqlite://stepgate.db\""
    );
    assert!(one("[server]\nstore = \"sqlite://\"\n").contains("sqlite:// needs a file name"));
    let c = config::parse(
        "[server]\nstore = \"sqlite://data/s.db\"\n",
        Path::new("/etc/sg/stepgate.toml"),
    )
    .expect("valid");
    assert_eq!(
        c.server().store,
        Store::Sqlite {
            path: "/etc/sg/data/s.db".into()
        }
    );
}

// -------------------------------------------------------------- functions

#[test]
fn function_runtimes() {
    assert_eq!(
        one("[functions.f]\nruntime = \"comand\"\n"),
        "stepgate.toml:2:11: functions.f.runtime: unknown runtime \"comand\"; did you mean `command`?"
    );
    assert_eq!(
        one("[functions.f]\nruntime = \"command\"\n"),
        "stepgate.toml:2:11: functions.f.command: missing required key `command` for runtime \"command\"; e.g. command = [\"python3\", \"handler.py\"]"
    );
    assert!(
        one("[functions.f]\nruntime = \"lambda-runtime\"\ncommand = []\n")
            .starts_with("stepgate.toml:3:11: functions.f.command: must name a program")
    );
    assert_eq!(
        one("[functions.f]\nruntime = \"http\"\n"),
        "stepgate.toml:2:11: functions.f.url: missing required key `url` for runtime \"http\"; e.g. url = \"http://127.0.0.1:9000/invoke\""
    );
    assert_eq!(
        one("[functions.f]\nruntime = \"http\"\nurl = \"ftp://x\"\n"),
        "stepgate.toml:3:7: functions.f.url: \"ftp://x\" is not an http:// or https:// URL with a host"
    );
    let got: Vec<String> =
        errors("[functions.f]\nruntime = \"http\"\nurl = \"http://h/\"\ncommand = [\"x\"]\n")
            .iter()
            .map(ToString::to_string)
            .collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:4:11: functions.f.command: `command` is not used by runtime \"http\"; remove it"
        ]
    );
}

#[test]
fn function_limits() {
    let got: Vec<String> = errors(
        "[functions.f]\nruntime = \"command\"\ncommand = [\"x\"]\ntimeout_seconds = 0\nconcurrency = 0\n",
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:4:19: functions.f.timeout_seconds: must be a positive number of seconds, e.g. 30",
            "stepgate.toml:5:15: functions.f.concurrency: must be at least 1 (or remove the key for the default of 1)",
        ]
    );
}

#[test]
fn function_names_follow_lambda() {
    assert!(
        one("[functions.\"a b\"]\nruntime = \"command\"\ncommand = [\"x\"]\n")
            .starts_with("stepgate.toml:1:12: functions.\"a b\": a function name is 1-64 letters")
    );
}

#[test]
fn valid_functions() {
    let c = ok(
        "[functions.f]\nruntime = \"lambda-runtime\"\ncommand = [\"./bootstrap\"]\nconcurrency = 4\nenvironment = { A = \"1\" }\n\
                [functions.g]\nruntime = \"http\"\nurl = \"https://example.com/x\"\ntimeout_seconds = 5\n",
    );
    let f = &c.functions()["f"];
    assert_eq!(
        f.runtime,
        Runtime::LambdaRuntime {
            command: vec!["./bootstrap".into()]
        }
    );
    assert_eq!(f.concurrency.map(|n| n.get()), Some(4));
    assert_eq!(f.environment["A"], "1");
    assert_eq!(f.timeout.as_secs(), 30);
    assert_eq!(c.functions()["g"].timeout.as_secs(), 5);
}

const HTTP_FUNCTION: &str =
    "[functions.resize]\nruntime = \"http\"\nurl = \"http://127.0.0.1:9000/resize\"\n";

#[test]
fn http_headers_are_read_from_the_environment() {
    let text = format!(
        "{HTTP_FUNCTION}headers_env = {{ Authorization = \"RESIZE_TOKEN\", X-Api-Version = \"API_VERSION\" }}\n"
    );
    let c = parse_env(
        &text,
        &[("RESIZE_TOKEN", "Bearer t0ken"), ("API_VERSION", "2")],
    )
    .expect("valid");
    assert_eq!(
        c.functions()["resize"].runtime,
        Runtime::Http {
            url: "http://127.0.0.1:9000/resize".into(),
            headers: vec![
                HttpHeader {
                    name: "Authorization".into(),
                    env: "RESIZE_TOKEN".into(),
                    value: Secret::new("Bearer t0ken"),
                },
                HttpHeader {
                    name: "X-Api-Version".into(),
                    env: "API_VERSION".into(),
                    value: Secret::new("2"),
                },
            ],
        }
    );
    let debug = format!("{c:?}");
    assert!(!debug.contains("t0ken"), "secrets leak into Debug: {debug}");

    // Without the key: no headers.
    match &ok(HTTP_FUNCTION).functions()["resize"].runtime {
        Runtime::Http { headers, .. } => assert!(headers.is_empty()),
        other => panic!("{other:?}"),
    }

    assert_eq!(
        parse_env(&text, &[("API_VERSION", "2")]).expect_err("unset"),
        [
            "stepgate.toml:4:33: functions.resize.headers_env.Authorization: environment variable RESIZE_TOKEN is not set; export it (the value of the Authorization header) before starting stepgate"
        ]
    );
    assert_eq!(
        parse_env(&text, &[("RESIZE_TOKEN", " "), ("API_VERSION", "2")]).expect_err("empty"),
        [
            "stepgate.toml:4:33: functions.resize.headers_env.Authorization: environment variable RESIZE_TOKEN is empty; set it to the value of the Authorization header before starting stepgate"
        ]
    );
    let got = parse_env(
        &text,
        &[("RESIZE_TOKEN", "Bearer x\n"), ("API_VERSION", "2")],
    )
    .expect_err("line break");
    assert_eq!(
        got,
        [
            "stepgate.toml:4:33: functions.resize.headers_env.Authorization: environment variable RESIZE_TOKEN holds a control character (a line break?), which an HTTP header value cannot contain; remove it"
        ]
    );
    assert!(!got[0].contains("Bearer"), "the value is never shown");
    // A tab is allowed in a header value.
    assert!(parse_env(&text, &[("RESIZE_TOKEN", "a\tb"), ("API_VERSION", "2")]).is_ok());
}

#[test]
fn headers_env_is_only_for_http_and_needs_valid_header_names() {
    let got = parse_env(
        "[functions.f]\nruntime = \"command\"\ncommand = [\"x\"]\nheaders_env = { Authorization = \"T\" }\n\
         [functions.g]\nruntime = \"lambda-runtime\"\ncommand = [\"x\"]\nheaders_env = {}\n",
        &[("T", "t")],
    )
    .expect_err("not http");
    assert_eq!(
        got,
        [
            "stepgate.toml:4:15: functions.f.headers_env: `headers_env` is only used by runtime \"http\", not \"command\"; remove it",
            "stepgate.toml:8:15: functions.g.headers_env: `headers_env` is only used by runtime \"http\", not \"lambda-runtime\"; remove it",
        ]
    );

    assert_eq!(
        one(&format!("{HTTP_FUNCTION}headers_env = {{ X-Token = 3 }}\n")),
        "stepgate.toml:4:27: functions.resize.headers_env.X-Token: invalid type: integer `3`, expected a string"
    );
    let got = parse_env(
        &format!(
            "{HTTP_FUNCTION}headers_env = {{ \"X Token\" = \"T\", content-type = \"T\", X-Token = \"T\", x-token = \"T\", X-Other = \"A=B\" }}\n"
        ),
        &[("T", "t")],
    )
    .expect_err("bad names");
    assert_eq!(
        got,
        [
            "stepgate.toml:4:17: functions.resize.headers_env.\"X Token\": \"X Token\" is not an HTTP header name, e.g. \"Authorization\"",
            "stepgate.toml:4:34: functions.resize.headers_env.content-type: `Content-Type` is set by stepgate on every request; remove it",
            "stepgate.toml:4:69: functions.resize.headers_env.x-token: `x-token` is the same header as `X-Token` (header names are case-insensitive); keep one",
            "stepgate.toml:4:94: functions.resize.headers_env.X-Other: must name an environment variable (non-empty, without `=` or NUL), e.g. \"STEPGATE_WEBHOOK_SECRET\"",
        ]
    );
}

// --------------------------------------------------------------- http_task

#[test]
fn http_task_allow_list_defaults_to_empty() {
    assert!(ok("").http_task().allow.is_empty());
    assert!(ok("[http_task]\n").http_task().allow.is_empty());
    assert!(ok("[http_task]\nallow = []\n").http_task().allow.is_empty());
}

#[test]
fn http_task_allow_entries_are_strings_or_tables_with_headers_from_the_environment() {
    let text = "[http_task]\nallow = [\n  \"http://127.0.0.1:8099/hooks/\",\n  { url = \"https://api.example.com/v1\", headers_env = { Authorization = \"EXAMPLE_TOKEN\" } },\n  { url = \"https://[::1]:8443/\" },\n]\n";
    let c = parse_env(text, &[("EXAMPLE_TOKEN", "Bearer s3cret")]).expect("valid");
    assert_eq!(
        c.http_task().allow,
        [
            HttpTaskTarget {
                url: "http://127.0.0.1:8099/hooks/".into(),
                headers: vec![],
            },
            HttpTaskTarget {
                url: "https://api.example.com/v1".into(),
                headers: vec![HttpHeader {
                    name: "Authorization".into(),
                    env: "EXAMPLE_TOKEN".into(),
                    value: Secret::new("Bearer s3cret"),
                }],
            },
            HttpTaskTarget {
                url: "https://[::1]:8443/".into(),
                headers: vec![],
            },
        ]
    );
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("s3cret"),
        "secrets leak into Debug: {debug}"
    );

    assert_eq!(
        parse_env(text, &[]).expect_err("unset"),
        [
            "stepgate.toml:4:73: http_task.allow[1].headers_env.Authorization: environment variable EXAMPLE_TOKEN is not set; export it (the value of the Authorization header) before starting stepgate"
        ]
    );
}

#[test]
fn http_task_unknown_keys_are_reported_at_every_level() {
    let got = parse_env(
        "[http_task]\nalow = []\nallow = [{ url = \"http://h/\", header_env = { A = \"T\" } }, { urll = \"http://h/\" }]\n",
        &[("T", "t")],
    )
    .expect_err("unknown keys");
    assert_eq!(
        got,
        [
            "stepgate.toml:2:1: http_task.alow: unknown key `alow`; did you mean `allow`?",
            "stepgate.toml:3:31: http_task.allow[0].header_env: unknown key `header_env`; did you mean `headers_env`?",
            "stepgate.toml:3:61: http_task.allow[1].urll: unknown key `urll`; did you mean `url`?",
        ]
    );
    assert_eq!(
        one("[http_task]\nallow = [{ headers_env = {} }]\n"),
        "stepgate.toml:2:10: http_task.allow[0].url: missing required key `url`"
    );
    assert_eq!(
        one("[http_task]\nallow = [\"http://h/\", 3]\n"),
        "stepgate.toml:2:23: http_task.allow[1]: invalid type: integer `3`, expected a URL string or a table `{ url = \"...\", headers_env = { ... } }`"
    );
    assert_eq!(
        one("[http_task]\nallow = \"http://h/\"\n"),
        "stepgate.toml:2:9: http_task.allow: invalid type: string \"http://h/\", expected a sequence"
    );
    assert_eq!(
        one("http_task = \"http://h/\"\n"),
        "stepgate.toml:1:13: http_task: must be a table, not a string"
    );
}

#[test]
fn http_task_allow_urls_are_prefixes_with_a_scheme_and_a_host() {
    let got = parse_env(
        "[http_task]\nallow = [\n\"ftp://h/\",\n\"https://\",\n\"https://user:pw@h/\",\n\"https://h/x?y=1\",\n\"https://*.example.com/\",\n\"https://h:99999/\",\n\"http://[::1/\",\n\"https://h/ok\",\n\"https://h/ok\",\n{ url = \"https://h/x\", headers_env = { host = \"T\" } },\n]\n",
        &[("T", "t")],
    )
    .expect_err("bad urls");
    assert_eq!(
        got,
        [
            "stepgate.toml:3:1: http_task.allow[0]: \"ftp://h/\" is not an http:// or https:// URL; write the prefix requests may go to, e.g. \"https://api.example.com/v1/\"",
            "stepgate.toml:4:1: http_task.allow[1]: \"https://\" has no host; e.g. \"https://api.example.com/v1/\"",
            "stepgate.toml:5:1: http_task.allow[2]: \"https://user:pw@h/\" has user info; remove it (credentials belong in headers_env: { url = \"...\", headers_env = { Authorization = \"ENV_VAR\" } })",
            "stepgate.toml:6:1: http_task.allow[3]: \"https://h/x?y=1\" contains '?'; an allow entry is a prefix of scheme, host, port and path; remove the query or fragment",
            "stepgate.toml:7:1: http_task.allow[4]: \"https://*.example.com/\" contains '*'; entries are prefixes, not patterns: \"https://api.example.com/\" already covers every path under it",
            "stepgate.toml:8:1: http_task.allow[5]: \"https://h:99999/\": port \"99999\" is not a number from 1 to 65535",
            "stepgate.toml:9:1: http_task.allow[6]: \"http://[::1/\": an IPv6 host needs its closing `]`",
            "stepgate.toml:11:1: http_task.allow[8]: \"https://h/ok\" is already allow[7]; keep one entry per target (put its headers_env in that one)",
            "stepgate.toml:12:40: http_task.allow[9].headers_env.host: `Host` is set by stepgate on every request; remove it",
        ]
    );
}

// --------------------------------------------------------- state machines

#[test]
fn definition_exactly_one_source() {
    assert_eq!(
        one("[state_machines.s]\ntype = \"STANDARD\"\n"),
        "stepgate.toml:1:1: state_machines.s: missing `definition_file` (a path to ASL JSON) or `definition` (inline ASL JSON)"
    );
    assert_eq!(
        one(&format!(
            "[state_machines.s]\ndefinition_file = \"x.json\"\ndefinition = '{DEF}'\n"
        )),
        "stepgate.toml:3:14: state_machines.s.definition: set either `definition_file` or `definition`, not both"
    );
}

#[test]
fn definition_file_is_read_relative_to_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("sm")).expect("mkdir");
    std::fs::write(dir.path().join("sm/a.json"), DEF).expect("write");
    let path = dir.path().join("stepgate.toml");
    std::fs::write(
        &path,
        "[state_machines.a]\ndefinition_file = \"sm/a.json\"\n[state_machines.b]\ndefinition_file = \"sm/missing.json\"\n",
    )
    .expect("write");
    let errors = config::load(&path).expect_err("b is missing").errors;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].location, Some((4, 19)));
    assert_eq!(errors[0].key, "state_machines.b.definition_file");
    assert!(
        errors[0].message.starts_with("cannot read "),
        "{}",
        errors[0].message
    );

    std::fs::write(
        &path,
        "[state_machines.a]\ndefinition_file = \"sm/a.json\"\n",
    )
    .expect("write");
    let c = config::load(&path).expect("valid");
    assert_eq!(c.state_machines()[0].definition, DEF);
    assert_eq!(
        c.state_machines()[0].definition_source,
        DefinitionSource::File(dir.path().join("sm/a.json"))
    );
}

#[test]
fn definitions_are_validated_by_asl_for_their_type() {
    let bad = r#"{"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}"#;
    let line = one(&format!("[state_machines.s]\ndefinition = '{bad}'\n"));
    assert!(
        line.starts_with("stepgate.toml:2:14: state_machines.s.definition: invalid definition: MISSING_TRANSITION_TARGET"),
        "{line}"
    );
    // EXPRESS refuses .sync integrations that STANDARD accepts.
    let sync = r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}, "End": true}}}"#;
    ok(&format!("[state_machines.s]\ndefinition = '{sync}'\n"));
    let line = one(&format!(
        "[state_machines.s]\ntype = \"EXPRESS\"\ndefinition = '{sync}'\n"
    ));
    assert!(
        line.starts_with("stepgate.toml:3:14: state_machines.s.definition: invalid definition:"),
        "{line}"
    );
}

#[test]
fn state_machine_type_and_logging_level() {
    let got: Vec<String> = errors(&format!(
        "[state_machines.s]\ndefinition = '{DEF}'\ntype = \"EXPRES\"\nlogging = {{ level = \"al\" }}\n"
    ))
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:3:8: state_machines.s.type: unknown type \"EXPRES\"; did you mean `EXPRESS`?",
            "stepgate.toml:4:21: state_machines.s.logging.level: unknown level \"al\"; did you mean `ALL`?",
        ]
    );
}

// ----------------------------------------------------------------- routes

const ROUTE: &str = "[[routes]]\nmethod = \"POST\"\npath = \"/\"\nstate_machine = \"sample\"\n";

#[test]
fn route_state_machine_must_exist() {
    // The brief's exact rendering.
    let text = with("[[routes]]\nmethod = \"POST\"\npath = \"/\"\nstate_machine = \"smaple\"\n");
    assert_eq!(
        one(&text),
        "stepgate.toml:6:17: routes[0].state_machine: no state machine named \"smaple\"; defined: sample"
    );
    assert!(
        one("[[routes]]\nmethod = \"POST\"\npath = \"/\"\nstate_machine = \"x\"\n").ends_with(
            "no state machine named \"x\"; none are defined; add a [state_machines.NAME] section"
        )
    );
}

#[test]
fn route_method_and_mode() {
    let got: Vec<String> = errors(&with(
        "[[routes]]\nmethod = \"post\"\npath = \"/\"\nstate_machine = \"sample\"\nmode = \"asynch\"\n\
         [[routes]]\nmethod = \"FETCH\"\npath = \"/\"\nstate_machine = \"sample\"\n",
    ))
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:4:10: routes[0].method: unknown method \"post\"; methods are upper case: did you mean `POST`?",
            "stepgate.toml:7:8: routes[0].mode: unknown mode \"asynch\"; did you mean `async`?",
            "stepgate.toml:9:10: routes[1].method: unknown method \"FETCH\"; expected one of: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY",
        ]
    );
}

#[test]
fn route_paths() {
    let cases = [
        ("hooks", "\"hooks\" must start with `/`, e.g. \"/hooks\""),
        (
            "/a//b",
            "\"/a//b\" has an empty segment (`//` or a trailing `/`); remove the extra `/`",
        ),
        (
            "/a/",
            "\"/a/\" has an empty segment (`//` or a trailing `/`); remove the extra `/`",
        ),
        (
            "/{}",
            "bad path parameter `{}`: write `{name}` or `{name+}` with a name of letters, digits, `_` or `-`",
        ),
        (
            "/{a b}",
            "\"/{a b}\" contains ' '; a route path has no spaces, query string or fragment",
        ),
        (
            "/{proxy+}/x",
            "greedy parameter `{proxy+}` must be the last segment of \"/{proxy+}/x\"",
        ),
        (
            "/x{id}",
            "`x{id}`: a path parameter must be a whole segment, like `/{id}`",
        ),
        (
            "/{id}/{id}",
            "path parameter `id` appears twice in \"/{id}/{id}\"",
        ),
        (
            "/a?b=1",
            "\"/a?b=1\" contains '?'; a route path has no spaces, query string or fragment",
        ),
    ];
    for (path, message) in cases {
        let text = with(&format!(
            "[[routes]]\nmethod = \"POST\"\npath = '{path}'\nstate_machine = \"sample\"\n"
        ));
        assert_eq!(
            one(&text),
            format!("stepgate.toml:5:8: routes[0].path: {message}"),
            "{path}"
        );
    }
    let c = ok(&with(
        "[[routes]]\nmethod = \"ANY\"\npath = \"/repos/{id}/{proxy+}\"\nstate_machine = \"sample\"\n",
    ));
    assert_eq!(
        c.routes()[0].path.segments,
        [
            Segment::Literal("repos".into()),
            Segment::Param("id".into()),
            Segment::Greedy("proxy".into())
        ]
    );
}

#[test]
fn duplicate_routes() {
    let text = with(&format!(
        "{ROUTE}{ROUTE}[[routes]]\nmethod = \"GET\"\npath = \"/\"\nstate_machine = \"sample\"\n\
         [[routes]]\nmethod = \"PUT\"\npath = \"/{{a}}\"\nstate_machine = \"sample\"\n\
         [[routes]]\nmethod = \"PUT\"\npath = \"/{{b}}\"\nstate_machine = \"sample\"\n"
    ));
    let got: Vec<String> = errors(&text).iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:9:8: routes[1].path: routes[0] already routes POST /; two routes cannot have the same method and path",
            "stepgate.toml:21:8: routes[4].path: routes[3] already routes PUT /{b}; two routes cannot have the same method and path",
        ]
    );
}

#[test]
fn response_status_range_and_header_name() {
    let text = with(&format!(
        "{ROUTE}responses.success = {{ status = 99 }}\nresponses.failure = {{ status = 600, body = \"x\" }}\nexecution_name_header = \"X Bad\"\n"
    ));
    let got: Vec<String> = errors(&text).iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:7:32: routes[0].responses.success.status: 99 is not an HTTP status; use a number from 100 to 599",
            "stepgate.toml:8:32: routes[0].responses.failure.status: 600 is not an HTTP status; use a number from 100 to 599",
            "stepgate.toml:9:25: routes[0].execution_name_header: \"X Bad\" is not an HTTP header name, e.g. \"X-GitHub-Delivery\"",
        ]
    );
}

#[test]
fn every_problem_in_one_run() {
    let text = "[server]\nlisten = \"nope\"\nstore = \"postgres://x\"\n\
                [functions.f]\nruntime = \"shell\"\n\
                [state_machines.s]\ntype = \"X\"\n\
                [[routes]]\nmethod = \"POST\"\npath = \"x\"\nstate_machine = \"t\"\n";
    let lines: Vec<usize> = errors(text).iter().filter_map(ConfigError::line).collect();
    assert_eq!(
        lines,
        [2, 3, 5, 6, 7, 9, 10, 11]
            .iter()
            .copied()
            .filter(|l| *l != 9)
            .collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------- success

#[test]
fn the_contract_example_is_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("state_machines")).expect("mkdir");
    std::fs::write(dir.path().join("state_machines/sample.asl.json"), DEF).expect("write");
    let path = dir.path().join("stepgate.toml");
    std::fs::write(&path, EXAMPLE).expect("write");
    let c = config::load(&path).expect("the contract example is valid");
    assert_eq!(c.server().listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server().admin_listen.to_string(), "127.0.0.1:8083");
    assert_eq!(
        c.server().store,
        Store::Sqlite {
            path: dir.path().join("stepgate.db")
        }
    );
    let f = &c.functions()["sample-func"];
    assert_eq!(
        f.runtime,
        Runtime::Command {
            command: vec!["python3".into(), "functions/print_event.py".into()]
        }
    );
    assert_eq!(f.timeout.as_secs(), 30);
    let (id, sm) = c.state_machine_named("sample").expect("sample");
    assert_eq!(sm.state_machine_type, StateMachineType::Express);
    assert_eq!(sm.logging.level, LogLevel::All);
    assert!(sm.logging.include_execution_data);
    assert_eq!(
        sm.logging.destination,
        Some(dir.path().join("logs/sample.jsonl"))
    );
    let route = &c.routes()[0];
    assert_eq!(route.method, Method::Post);
    assert_eq!(route.path.text, "/");
    assert!(route.path.segments.is_empty());
    assert_eq!(route.state_machine, id);
    assert_eq!(c.state_machine(route.state_machine).name, "sample");
    assert_eq!(route.mode, Mode::Async);
    let success = route.success.as_ref().expect("configured explicitly");
    assert_eq!(success.status, 200);
    assert_eq!(success.body, r#"{"status": "webhook submitted"}"#);
    let failure = route.failure.as_ref().expect("configured explicitly");
    assert_eq!(failure.status, 500);
    assert_eq!(failure.body, r#"{"status": "webhook failed"}"#);
    assert_eq!(route.request_template, None);
    assert_eq!(route.auth, Auth::None);
    assert_eq!(route.rate_limit, None);
    assert_eq!(route.max_body_bytes, 262_144);
    assert_eq!(c.server().max_body_bytes, 262_144);
}

const EXAMPLE: &str = r#"
[server]
listen = "127.0.0.1:8080"
admin_listen = "127.0.0.1:8083"
store = "sqlite://stepgate.db"
# admin_token = "..."   # required when admin_listen is not a loopback address
[functions.sample-func]
runtime = "command"            # command | lambda-runtime | http
command = ["python3", "functions/print_event.py"]
timeout_seconds = 30
[state_machines.sample]
definition_file = "state_machines/sample.asl.json"   # or definition = '''{...}'''
type = "EXPRESS"               # or STANDARD
logging = { level = "ALL", include_execution_data = true, destination = "logs/sample.jsonl" }
[[routes]]
method = "POST"
path = "/"
state_machine = "sample"
mode = "async"                 # async | sync
# request_template = '''...'''
responses.success = { status = 200, body = '{"status": "webhook submitted"}' }
responses.failure = { status = 500, body = '{"status": "webhook failed"}' }
"#;

#[test]
fn load_reports_unreadable_files() {
    let errors = config::load(Path::new("/nonexistent/stepgate.toml"))
        .expect_err("missing")
        .errors;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .to_string()
            .starts_with("/nonexistent/stepgate.toml: cannot read the config file:"),
        "{}",
        errors[0]
    );
}

// ------------------------------------------------------------------- fuzz

mod fuzz {
    use proptest::prelude::*;

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("[server]\n".to_owned()),
            Just("[functions.f]\n".to_owned()),
            Just("[state_machines.s]\n".to_owned()),
            Just("[[routes]]\n".to_owned()),
            Just("[routes]\n".to_owned()),
            Just("responses.success = { status = 200 }\n".to_owned()),
            Just("logging = { level = \"ALL\" }\n".to_owned()),
            Just("auth = { type = \"api_key\", header = \"x\", keys_env = \"PATH\" }\n".to_owned()),
            Just("auth = { type = \"hmac_sha256\", secret_env = \"\" }\n".to_owned()),
            Just("rate_limit = { requests_per_second = 1 }\n".to_owned()),
            Just("mode = \"sync\"\ntimeout_seconds = 1\n".to_owned()),
            Just("definition = '{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}}'\n".to_owned()),
            Just("definition_file = \"../../../../etc/passwd\"\n".to_owned()),
            Just("command = []\n".to_owned()),
            Just("headers_env = { Authorization = \"PATH\", \"a b\" = \"\" }\n".to_owned()),
            Just("functions = 3\n".to_owned()),
            Just("[http_task]\n".to_owned()),
            Just("allow = [\"http://[::1\", { url = \"https://h:0/\", headers_env = { Host = \"PATH\" } }, 3, {}]\n".to_owned()),
            "allow = \\[\"[ -~]{0,16}\"\\]\n",
            "(method|path|state_machine|runtime|listen|store|type|mode|url|status) = \"[ -~]{0,12}\"\n",
            "(timeout_seconds|concurrency|status|max_body_bytes|burst) = -?[0-9]{1,20}\n",
            "[a-z_.\\[\\]{}=\"' \n]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn never_panics(parts in proptest::collection::vec(fragment(), 0..12)) {
            let text = parts.concat();
            if let Err(e) = config::parse(&text, std::path::Path::new("/nonexistent/stepgate.toml")) {
                prop_assert!(!e.errors.is_empty());
                for err in &e.errors {
                    prop_assert!(!err.message.is_empty());
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = config::parse(&text, std::path::Path::new("stepgate.toml"));
        }
    }
}

#[test]
fn misspelled_required_key_is_reported_once() {
    assert_eq!(
        one("[functions.f]\nruntim = \"command\"\ncommand = [\"x\"]\n"),
        "stepgate.toml:2:1: functions.f.runtim: unknown key `runtim`; did you mean `runtime`?"
    );
}

#[test]
fn server_problems_are_all_reported() {
    let got: Vec<String> =
        errors("[server]\nadmin_listen = \"0.0.0.0:1\"\nstore = \"postgres://x\"\n")
            .iter()
            .map(ToString::to_string)
            .collect();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].starts_with("stepgate.toml:2:16: server.admin_token: required"));
    assert!(got[1].starts_with("stepgate.toml:3:9: server.store: PostgreSQL"));
}

// ------------------------------------------------------------- protection

/// An environment with exactly these variables.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn parse_env(text: &str, vars: &[(&str, &str)]) -> Result<config::Config, Vec<String>> {
    config::parse_with_env(text, Path::new("stepgate.toml"), &env(vars))
        .map_err(|e| e.errors.iter().map(ToString::to_string).collect())
}

#[test]
fn auth_defaults_to_none_and_none_takes_no_keys() {
    assert_eq!(ok(&with(ROUTE)).routes()[0].auth, Auth::None);
    let c = ok(&with(&format!("{ROUTE}auth = {{ type = \"none\" }}\n")));
    assert_eq!(c.routes()[0].auth, Auth::None);
    assert_eq!(
        one(&with(&format!(
            "{ROUTE}auth = {{ type = \"none\", header = \"x-api-key\" }}\n"
        ))),
        "stepgate.toml:7:34: routes[0].auth.header: `header` is not used by auth type \"none\"; remove it"
    );
}

#[test]
fn api_key_auth_reads_comma_separated_keys_from_the_environment() {
    let text = with(&format!(
        "{ROUTE}auth = {{ type = \"api_key\", header = \"x-api-key\", keys_env = \"HOOK_KEYS\" }}\n"
    ));
    let c = parse_env(&text, &[("HOOK_KEYS", " alpha, beta ,,gamma")]).expect("valid");
    let auth = &c.routes()[0].auth;
    assert_eq!(
        *auth,
        Auth::ApiKey {
            header: "x-api-key".into(),
            keys_env: "HOOK_KEYS".into(),
            keys: vec![
                Secret::new("alpha"),
                Secret::new("beta"),
                Secret::new("gamma")
            ],
        }
    );
    let debug = format!("{c:?}");
    assert!(!debug.contains("alpha"), "secrets leak into Debug: {debug}");
    assert!(debug.contains("Secret(<redacted>)"), "{debug}");

    assert_eq!(
        parse_env(&text, &[]).expect_err("unset"),
        [
            "stepgate.toml:7:61: routes[0].auth.keys_env: environment variable HOOK_KEYS is not set; export it (one or more API keys, comma-separated) before starting stepgate"
        ]
    );
    assert_eq!(
        parse_env(&text, &[("HOOK_KEYS", "")]).expect_err("empty"),
        [
            "stepgate.toml:7:61: routes[0].auth.keys_env: environment variable HOOK_KEYS is empty; set it to one or more API keys, comma-separated before starting stepgate"
        ]
    );
    assert_eq!(
        parse_env(&text, &[("HOOK_KEYS", " , ,")]).expect_err("no key"),
        [
            "stepgate.toml:7:61: routes[0].auth.keys_env: environment variable HOOK_KEYS holds no key (only commas and spaces); set it to one or more API keys, comma-separated"
        ]
    );
}

#[test]
fn hmac_auth_reads_its_secret_and_defaults_the_prefix() {
    let text = with(&format!(
        "{ROUTE}auth = {{ type = \"hmac_sha256\", header = \"X-Hub-Signature-256\", secret_env = \"HOOK_SECRET\", prefix = \"sha256=\" }}\n\
         [[routes]]\nmethod = \"PUT\"\npath = \"/\"\nstate_machine = \"sample\"\n\
         auth = {{ type = \"hmac_sha256\", header = \"X-Signature\", secret_env = \"HOOK_SECRET\" }}\n"
    ));
    let c = parse_env(&text, &[("HOOK_SECRET", "s3cret")]).expect("valid");
    assert_eq!(
        c.routes()[0].auth,
        Auth::HmacSha256 {
            header: "X-Hub-Signature-256".into(),
            secret_env: "HOOK_SECRET".into(),
            secret: Secret::new("s3cret"),
            prefix: "sha256=".into(),
        }
    );
    match &c.routes()[1].auth {
        Auth::HmacSha256 { prefix, secret, .. } => {
            assert_eq!(prefix, "");
            assert_eq!(secret.expose(), "s3cret");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{c:?}").contains("s3cret"));
    let got = parse_env(&text, &[]).expect_err("unset");
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        got[0],
        "stepgate.toml:7:77: routes[0].auth.secret_env: environment variable HOOK_SECRET is not set; export it (the shared HMAC secret) before starting stepgate"
    );
    assert!(got[1].starts_with("stepgate.toml:12:"), "{got:#?}");
}

#[test]
fn auth_problems_are_located_with_fixes() {
    let got = parse_env(
        &with(&format!(
            "{ROUTE}auth = {{ type = \"hmac\" }}\n\
             [[routes]]\nmethod = \"PUT\"\npath = \"/\"\nstate_machine = \"sample\"\n\
             auth = {{ type = \"api_key\", keys_env = \"K\", secret_env = \"S\" }}\n\
             [[routes]]\nmethod = \"GET\"\npath = \"/\"\nstate_machine = \"sample\"\n\
             auth = {{ type = \"hmac_sha256\", header = \"X Sig\", secret_evn = \"S\" }}\n\
             [[routes]]\nmethod = \"PATCH\"\npath = \"/\"\nstate_machine = \"sample\"\n\
             auth = {{ header = \"x-api-key\" }}\n\
             [[routes]]\nmethod = \"DELETE\"\npath = \"/\"\nstate_machine = \"sample\"\n\
             auth = {{ type = \"api_key\", header = \"x-api-key\", keys_env = \"A=B\" }}\n"
        )),
        &[("K", "k"), ("S", "s")],
    )
    .expect_err("problems");
    assert_eq!(
        got,
        [
            "stepgate.toml:7:17: routes[0].auth.type: unknown auth type \"hmac\"; did you mean `hmac_sha256`?",
            "stepgate.toml:12:8: routes[1].auth.header: missing required key `header` for auth type \"api_key\"; e.g. header = \"x-api-key\"",
            "stepgate.toml:12:57: routes[1].auth.secret_env: `secret_env` is not used by auth type \"api_key\"; remove it",
            "stepgate.toml:17:41: routes[2].auth.header: \"X Sig\" is not an HTTP header name, e.g. \"X-Hub-Signature-256\"",
            "stepgate.toml:17:50: routes[2].auth.secret_evn: unknown key `secret_evn`; did you mean `secret_env`?",
            "stepgate.toml:22:8: routes[3].auth.type: missing required key `type`",
            "stepgate.toml:27:61: routes[4].auth.keys_env: must name an environment variable (non-empty, without `=` or NUL), e.g. \"STEPGATE_WEBHOOK_SECRET\"",
        ]
    );
}

#[test]
fn rate_limits() {
    let c = ok(&with(&format!(
        "{ROUTE}rate_limit = {{ requests_per_second = 5 }}\n\
         [[routes]]\nmethod = \"PUT\"\npath = \"/\"\nstate_machine = \"sample\"\n\
         rate_limit = {{ requests_per_second = 2, burst = 10 }}\n"
    )));
    let limit = |rate: u32, burst: u32| {
        Some(RateLimit {
            requests_per_second: rate.try_into().expect("nonzero"),
            burst: burst.try_into().expect("nonzero"),
        })
    };
    assert_eq!(c.routes()[0].rate_limit, limit(5, 5));
    assert_eq!(c.routes()[1].rate_limit, limit(2, 10));
    assert_eq!(ok(&with(ROUTE)).routes()[0].rate_limit, None);
    let got: Vec<String> = errors(&with(&format!(
        "{ROUTE}rate_limit = {{ requests_per_second = 0, burst = -1 }}\n\
         [[routes]]\nmethod = \"PUT\"\npath = \"/\"\nstate_machine = \"sample\"\n\
         rate_limit = {{ burst = 3 }}\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/\"\nstate_machine = \"sample\"\n\
         rate_limit = {{ request_per_second = 3 }}\n"
    )))
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:7:38: routes[0].rate_limit.requests_per_second: 0 is not allowed; use a whole number from 1 to 4294967295, e.g. 10",
            "stepgate.toml:7:49: routes[0].rate_limit.burst: -1 is not allowed; use a whole number from 1 to 4294967295, e.g. 10",
            "stepgate.toml:12:14: routes[1].rate_limit.requests_per_second: missing required key `requests_per_second`",
            "stepgate.toml:17:16: routes[2].rate_limit.request_per_second: unknown key `request_per_second`; did you mean `requests_per_second`?",
        ]
    );
}

#[test]
fn body_limits_default_and_override() {
    let c = ok(&with(ROUTE));
    assert_eq!(c.server().max_body_bytes, 262_144);
    assert_eq!(c.routes()[0].max_body_bytes, 262_144);
    let c = ok(&with(&format!(
        "{ROUTE}[[routes]]\nmethod = \"PUT\"\npath = \"/\"\nstate_machine = \"sample\"\nmax_body_bytes = 16\n\
         [server]\nmax_body_bytes = 1024\n"
    )));
    assert_eq!(c.server().max_body_bytes, 1024);
    assert_eq!(c.routes()[0].max_body_bytes, 1024, "inherits the server's");
    assert_eq!(c.routes()[1].max_body_bytes, 16, "its own");
    let got: Vec<String> = errors(&with(&format!(
        "{ROUTE}max_body_bytes = 0\n[server]\nmax_body_bytes = -5\n"
    )))
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        got,
        [
            "stepgate.toml:7:18: routes[0].max_body_bytes: 0 is not a body size; use a positive number of bytes, e.g. 262144 (256 KiB)",
            "stepgate.toml:9:18: server.max_body_bytes: -5 is not a body size; use a positive number of bytes, e.g. 262144 (256 KiB)",
        ]
    );
}

#[test]
fn sync_timeout() {
    let c = ok(&with(&format!(
        "{ROUTE}mode = \"sync\"\n\
         [[routes]]\nmethod = \"PUT\"\npath = \"/\"\nstate_machine = \"sample\"\nmode = \"sync\"\ntimeout_seconds = 5\n"
    )));
    assert_eq!(
        c.routes()[0].mode,
        Mode::Sync {
            timeout: Duration::from_secs(30)
        }
    );
    assert_eq!(
        c.routes()[1].mode,
        Mode::Sync {
            timeout: Duration::from_secs(5)
        }
    );
    assert_eq!(c.routes()[1].mode.as_str(), "sync");
    let got: Vec<String> = errors(&with(&format!(
        "{ROUTE}timeout_seconds = 5\n\
         [[routes]]\nmethod = \"PUT\"\npath = \"/\"\nstate_machine = \"sample\"\nmode = \"async\"\ntimeout_seconds = 5\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/\"\nstate_machine = \"sample\"\nmode = \"sync\"\ntimeout_seconds = 0\n\
         [[routes]]\nmethod = \"PATCH\"\npath = \"/\"\nstate_machine = \"sample\"\nmode = \"synch\"\ntimeout_seconds = 5\n"
    )))
    .iter()
    .map(ToString::to_string)
    .collect();
    let only_sync =
        "only sync routes wait for the execution; remove timeout_seconds or set mode = \"sync\"";
    assert_eq!(
        got,
        [
            format!("stepgate.toml:7:19: routes[0].timeout_seconds: {only_sync}"),
            format!("stepgate.toml:13:19: routes[1].timeout_seconds: {only_sync}"),
            "stepgate.toml:19:19: routes[2].timeout_seconds: must be a positive number of seconds, e.g. 30".to_owned(),
            "stepgate.toml:24:8: routes[3].mode: unknown mode \"synch\"; did you mean `sync`?".to_owned(),
        ]
    );
}

#[test]
fn responses_tell_whether_they_were_configured() {
    let c = ok(&with(&format!(
        "{ROUTE}responses.success = {{ status = 201 }}\n\
         [[routes]]\nmethod = \"PUT\"\npath = \"/\"\nstate_machine = \"sample\"\n"
    )));
    let first = &c.routes()[0];
    assert_eq!(
        first.success,
        Some(Response {
            status: 201,
            body: r#"{"status": "webhook submitted"}"#.into()
        })
    );
    assert_eq!(first.failure, None);
    assert_eq!(first.failure_or_default(), Response::default_failure());
    let second = &c.routes()[1];
    assert_eq!((&second.success, &second.failure), (&None, &None));
    assert_eq!(second.success_or_default(), Response::default_success());
}

// ------------------------------------------------------------------ templates

#[test]
fn templates_must_parse_and_errors_point_inside_them() {
    let line = one(&with(
        "[[routes]]\nmethod = \"POST\"\npath = \"/\"\nstate_machine = \"sample\"\nrequest_template = '''\n#set($x = 1)\n#if($x\n'''\n",
    ));
    assert!(line.contains("routes[0].request_template"), "{line}");
    assert!(line.contains("does not parse"), "{line}");
    assert!(line.contains("line 3, column 1"), "{line}");

    let line = one(&with(
        "[[routes]]\nmethod = \"POST\"\npath = \"/\"\nstate_machine = \"sample\"\nresponses.success = { status = 200, body = '{\"arn\": \"$context.executionArn\" #foreach($x in [1]) }' }\n",
    ));
    assert!(line.contains("routes[0].responses.success.body"), "{line}");

    // The seed's template, exactly as users paste it, is valid.
    let c = ok(&with(
        "[[routes]]\nmethod = \"POST\"\npath = \"/\"\nstate_machine = \"sample\"\nrequest_template = '''\n#set($input = $input.json('$'))\n{\n  \"input\": \"$util.escapeJavaScript($input).replaceAll(\"\\\\'\", \"'\")\",\n  \"stateMachineArn\": \"arn:aws:states:us-east-1:123456789012:stateMachine:sample\"\n}\n'''\n",
    ));
    let template = c.routes()[0].request_template.as_deref().expect("template");
    assert!(template.contains(r#"replaceAll("\\'", "'")"#), "{template}");
}
