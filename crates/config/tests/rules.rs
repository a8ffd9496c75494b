//! Every config rule: the problem's line, column, key path and message.

use std::path::Path;

use config::{
    ConfigError, DefinitionSource, LogLevel, Method, Mode, Runtime, Segment, StateMachineType,
    Store,
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
        "stepgate.toml:2:1: server.zzz: unknown key `zzz`; expected one of: listen, admin_listen, store, admin_token"
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
            "stepgate.toml:5:15: functions.f.concurrency: must be at least 1 (or remove the key for no limit)",
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
    assert_eq!(route.success.status, 200);
    assert_eq!(route.success.body, r#"{"status": "webhook submitted"}"#);
    assert_eq!(route.failure.status, 500);
    assert_eq!(route.failure.body, r#"{"status": "webhook failed"}"#);
    assert_eq!(route.request_template, None);
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
            Just("definition = '{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}}'\n".to_owned()),
            Just("definition_file = \"../../../../etc/passwd\"\n".to_owned()),
            Just("command = []\n".to_owned()),
            Just("functions = 3\n".to_owned()),
            "(method|path|state_machine|runtime|listen|store|type|mode|url|status) = \"[ -~]{0,12}\"\n",
            "(timeout_seconds|concurrency|status) = -?[0-9]{1,20}\n",
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
