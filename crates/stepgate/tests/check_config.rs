//! `stepgate check-config` on the real binary: OK summary, problems and exit codes.

use std::process::Command;

const DEF: &str = r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#;

fn check_config(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .arg("check-config")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("stepgate runs")
}

#[test]
fn check_config_reports_ok_and_problems() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("sample.asl.json"), DEF).expect("write");
    let good = String::from(
        "[functions.f]\nruntime = \"command\"\ncommand = [\"true\"]\n\
         [state_machines.sample]\ndefinition_file = \"sample.asl.json\"\n\
         [[routes]]\nmethod = \"POST\"\npath = \"/\"\nstate_machine = \"sample\"\n",
    );
    std::fs::write(dir.path().join("stepgate.toml"), &good).expect("write");

    // Default file: ./stepgate.toml.
    let out = check_config(dir.path(), &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "stepgate.toml: OK (1 state machines, 1 functions, 1 routes)\n"
    );

    let bad = good
        .replace("state_machine = \"sample\"", "state_machine = \"smaple\"")
        .replace("runtime = ", "runtim = ");
    std::fs::write(dir.path().join("bad.toml"), bad).expect("write");
    let out = check_config(dir.path(), &["bad.toml"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "bad.toml:2:1: functions.f.runtim: unknown key `runtim`; did you mean `runtime`?\n\
         bad.toml:9:17: routes[0].state_machine: no state machine named \"smaple\"; defined: sample\n"
    );

    let out = check_config(dir.path(), &["missing.toml"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("missing.toml: cannot read the config file"),
        "{out:?}"
    );
}

#[test]
fn check_config_reports_missing_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("stepgate.toml"),
        format!(
            "[state_machines.sample]\ndefinition = '{DEF}'\n\
             [[routes]]\nmethod = \"POST\"\npath = \"/\"\nstate_machine = \"sample\"\n\
             auth = {{ type = \"api_key\", header = \"x-api-key\", keys_env = \"STEPGATE_TEST_KEYS\" }}\n"
        ),
    )
    .expect("write");
    let run = |keys: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stepgate"));
        command.arg("check-config").current_dir(dir.path());
        match keys {
            Some(k) => command.env("STEPGATE_TEST_KEYS", k),
            None => command.env_remove("STEPGATE_TEST_KEYS"),
        };
        command.output().expect("stepgate runs")
    };
    let out = run(None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "stepgate.toml:7:61: routes[0].auth.keys_env: environment variable STEPGATE_TEST_KEYS is not set; export it (one or more API keys, comma-separated) before starting stepgate\n"
    );
    let out = run(Some("k1,k2"));
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("k1"));
}
