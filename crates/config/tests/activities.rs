//! `[activities.NAME]` (issue 5): declared activities, their ARNs, and Tasks
//! that name an undeclared one.

use std::path::Path;

use config::{ACTIVITY_ARN_PREFIX, ConfigError, activity_arn};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:";

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

/// A state machine `sample` whose definition is `definition`, then `extra`.
fn machine(definition: &str, extra: &str) -> String {
    format!("[state_machines.sample]\ndefinition = '{definition}'\n{extra}")
}

/// One Task state `Resize` on the activity `name`.
fn task_on(name: &str) -> String {
    format!(
        r#"{{"StartAt": "Resize", "States": {{"Resize": {{"Type": "Task", "Resource": "{ARN}{name}", "End": true}}}}}}"#
    )
}

#[test]
fn declared_activities_are_listed_in_name_order_with_local_arns() {
    let c = ok(&machine(
        &task_on("resize"),
        "[activities.resize]\n[activities.archive]\n",
    ));
    assert_eq!(c.activities(), ["archive", "resize"]);
    assert_eq!(
        activity_arn("resize"),
        "arn:aws:states:local:000000000000:activity:resize"
    );
    assert!(activity_arn("x").starts_with(ACTIVITY_ARN_PREFIX));
}

#[test]
fn no_section_means_no_activities() {
    assert!(ok("").activities().is_empty());
}

#[test]
fn an_activity_is_matched_by_name_in_any_region_and_account() {
    let definition = r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:eu-west-3:000000000001:activity:resize", "End": true}}}"#;
    ok(&machine(definition, "[activities.resize]\n"));
}

#[test]
fn an_undeclared_activity_is_refused_at_the_definition() {
    assert_eq!(
        one(&machine(&task_on("resize"), "[activities.crop]\n")),
        r#"stepgate.toml:2:14: state_machines.sample.definition: invalid definition: activity "resize" is not declared; add [activities.resize] to stepgate.toml (Task state "Resize" at /States/Resize/Resource)"#
    );
}

#[test]
fn an_undeclared_activity_in_a_definition_file_is_located_at_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow.json"), task_on("resize")).unwrap();
    let path = dir.path().join("stepgate.toml");
    let text = "[state_machines.sample]\ndefinition_file = \"flow.json\"\n";
    std::fs::write(&path, text).unwrap();
    let errors = config::load(&path).unwrap_err().errors;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "state_machines.sample.definition_file");
    assert_eq!(errors[0].line(), Some(2));
    assert!(
        errors[0].message.contains(
            r#"activity "resize" is not declared; add [activities.resize] to stepgate.toml"#
        ),
        "{}",
        errors[0]
    );
}

#[test]
fn undeclared_activities_inside_parallel_and_map_are_refused() {
    let definition = format!(
        r#"{{"StartAt": "P", "States": {{
  "P": {{"Type": "Parallel", "Next": "M", "Branches": [
    {{"StartAt": "InBranch", "States": {{"InBranch": {{"Type": "Task", "Resource": "{ARN}branchy", "End": true}}}}}}
  ]}},
  "M": {{"Type": "Map", "End": true, "ItemProcessor": {{
    "ProcessorConfig": {{"Mode": "INLINE"}},
    "StartAt": "InMap", "States": {{"InMap": {{"Type": "Task", "Resource": "{ARN}mappy", "End": true}}}}
  }}}}
}}}}"#
    )
    .replace('\n', "");
    let got: Vec<String> = errors(&machine(&definition, ""))
        .iter()
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(
        got,
        [
            r#"invalid definition: activity "branchy" is not declared; add [activities.branchy] to stepgate.toml (Task state "InBranch" at /States/P/Branches/0/States/InBranch/Resource)"#,
            r#"invalid definition: activity "mappy" is not declared; add [activities.mappy] to stepgate.toml (Task state "InMap" at /States/M/ItemProcessor/States/InMap/Resource)"#,
        ]
    );
    // Declared, both are accepted.
    ok(&machine(
        &definition,
        "[activities.branchy]\n[activities.mappy]\n",
    ));
}

#[test]
fn a_bad_activity_name_is_refused() {
    assert_eq!(
        one("[activities.\"re size\"]\n"),
        r#"stepgate.toml:1:13: activities."re size": an activity name is 1-80 characters without whitespace, brackets, wildcards or any of " # % \ ^ | ~ ` $ & , ; : /"#
    );
    assert_eq!(errors("[activities.\"a:b\"]\n").len(), 1);
    let long = "a".repeat(81);
    assert_eq!(errors(&format!("[activities.{long}]\n")).len(), 1);
    ok(&format!("[activities.{}]\n", "a".repeat(80)));
}

#[test]
fn a_bad_name_is_not_also_reported_as_undeclared() {
    let got = one(&machine(&task_on("a#b"), "[activities.\"a#b\"]\n"));
    assert!(got.contains("an activity name is"), "{got}");
}

#[test]
fn activities_take_no_keys_yet() {
    assert_eq!(
        one("[activities.resize]\ntimeout_seconds = 5\n"),
        "stepgate.toml:2:1: activities.resize.timeout_seconds: unknown key `timeout_seconds`"
    );
}

#[test]
fn activities_must_be_tables() {
    let got = one("activities = 1\n");
    assert!(got.contains("[activities.NAME]"), "{got}");
    let got = one("activities.resize = 1\n");
    assert!(got.contains("must be a table"), "{got}");
}
