//! The parser against definitions AWS accepted and refused, from the
//! LocalStack-recorded conformance corpus in `/work/shared/conformance`.
//!
//! * Every non-JSONata definition of `localstack-asl.jsonl` ran on AWS, so it
//!   must parse without an error.
//! * Every definition of `localstack-asl-invalid-definitions.jsonl` was refused
//!   by AWS; its first error must print exactly as AWS's cause
//!   (`CODE: message at /location`), except where stepgate deliberately
//!   refuses earlier (JSONata).
//!
//! The parser leans on `path.rs`, `intrinsics.rs` and `choice.rs`, which are
//! written in parallel. A definition that needs a module that is not ready yet
//! is skipped (and counted) rather than failed; set `ASL_PARSE_STRICT=1` to
//! turn skips into failures once everything has landed. Without the corpus
//! directory the tests pass with a note.

use std::path::PathBuf;

use asl::choice::parse_choice_rule;
use asl::diagnostic::{Diagnostics, Severity};
use asl::intrinsics::Intrinsic;
use asl::parse::{ParseOptions, StateMachineType, parse_definition_with};
use asl::path::Path;
use serde_json::{Value, json};

fn corpus(file: &str) -> Option<Vec<Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance")
        .join(file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("note: {} not found; skipping", path.display());
        return None;
    };
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("corpus lines are JSON"))
            .collect(),
    )
}

/// Which of the modules the parser depends on work already.
struct Ready {
    paths: bool,
    intrinsics: bool,
    choice: bool,
}

impl Ready {
    fn probe() -> Self {
        let paths = Path::parse("$").is_ok()
            && Path::parse("$.a.b[0]").is_ok_and(|p| p.is_definite())
            && Path::parse("$.a[*]").is_ok_and(|p| !p.is_definite());
        let intrinsics = Intrinsic::parse("States.Format('{}', $.a)").is_ok();
        let mut d = Diagnostics::new();
        let choice = parse_choice_rule(
            &json!({"Variable": "$.a", "IsPresent": true, "Next": "X"}),
            "/x",
            &mut d,
        )
        .is_some()
            && !d.has_errors();
        Ready {
            paths,
            intrinsics,
            choice,
        }
    }

    /// Why `definition` cannot be checked yet, if it cannot.
    fn missing_for(&self, definition: &Value) -> Option<&'static str> {
        let mut uses = Uses::default();
        uses.scan(definition, None);
        if uses.paths && !self.paths {
            Some("path.rs")
        } else if uses.intrinsics && !self.intrinsics {
            Some("intrinsics.rs")
        } else if uses.choice && !self.choice {
            Some("choice.rs")
        } else {
            None
        }
    }
}

#[derive(Default)]
struct Uses {
    paths: bool,
    intrinsics: bool,
    choice: bool,
}

impl Uses {
    fn scan(&mut self, value: &Value, key: Option<&str>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if k.ends_with("Path") || k.ends_with(".$") || k == "Variable" {
                        self.paths = true;
                    }
                    if k == "Type" && v == "Map" {
                        // The default ItemsPath `$` is parsed.
                        self.paths = true;
                    }
                    if k == "Type" && v == "Choice" {
                        self.choice = true;
                    }
                    self.scan(v, Some(k));
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.scan(v, key)),
            Value::String(s) => {
                let dynamic =
                    key.is_some_and(|k| k.ends_with(".$") || k == "ErrorPath" || k == "CausePath");
                if dynamic && s.starts_with("States.") {
                    self.intrinsics = true;
                }
            }
            _ => {}
        }
    }
}

fn strict() -> bool {
    std::env::var("ASL_PARSE_STRICT").is_ok_and(|v| v == "1")
}

fn options_for(case: &Value) -> ParseOptions {
    let express = case["state_machine_type"] == "EXPRESS"
        || case["id"]
            .as_str()
            .is_some_and(|id| id.contains("test_sfn_api_express"));
    ParseOptions {
        state_machine_type: if express {
            StateMachineType::Express
        } else {
            StateMachineType::Standard
        },
    }
}

#[test]
fn every_valid_jsonpath_definition_parses() {
    let Some(cases) = corpus("localstack-asl.jsonl") else {
        return;
    };
    let ready = Ready::probe();
    let mut checked = 0;
    let mut skipped: Vec<(&str, &str)> = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        let id = case["id"].as_str().unwrap_or("?");
        let tags = case["tags"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if tags.iter().any(|t| t == "jsonata") {
            continue;
        }
        let definition = &case["definition"];
        if let Some(module) = ready.missing_for(definition) {
            skipped.push((id, module));
            continue;
        }
        checked += 1;
        let text = definition.to_string();
        if let Err(diags) = parse_definition_with(&text, &options_for(case)) {
            let errors: Vec<String> = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(ToString::to_string)
                .collect();
            failures.push(format!("{id}:\n    {}", errors.join("\n    ")));
        }
    }
    eprintln!(
        "valid corpus: {checked} definitions checked, {} skipped",
        skipped.len()
    );
    for module in ["path.rs", "intrinsics.rs", "choice.rs"] {
        let n = skipped.iter().filter(|(_, m)| *m == module).count();
        if n > 0 {
            eprintln!("  {n} skipped until {module} works");
        }
    }
    assert!(
        failures.is_empty(),
        "{} valid definitions refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        !strict() || skipped.is_empty(),
        "ASL_PARSE_STRICT=1 but {} definitions were skipped",
        skipped.len()
    );
}

#[test]
fn every_invalid_definition_is_refused_as_aws_does() {
    let Some(cases) = corpus("localstack-asl-invalid-definitions.jsonl") else {
        return;
    };
    let mut failures = Vec::new();
    for case in &cases {
        let id = case["id"].as_str().unwrap_or("?");
        let text = case["source"]["definition_as_sent"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| case["definition"].to_string());
        let cause = case["expected"]["cause"].as_str().unwrap_or_default();
        let expected = cause
            .strip_prefix("Invalid State Machine Definition: '")
            .and_then(|c| c.strip_suffix('\''))
            .unwrap_or(cause)
            .replace("arn:<partition>:", "arn:aws:");
        let diags = match parse_definition_with(&text, &options_for(case)) {
            Ok(_) => {
                failures.push(format!("{id}: accepted; AWS said {expected}"));
                continue;
            }
            Err(diags) => diags,
        };
        let Some(first) = diags.iter().find(|d| d.severity == Severity::Error) else {
            failures.push(format!("{id}: refused without an error"));
            continue;
        };
        let jsonata = case["definition"]["QueryLanguage"] == "JSONata";
        if jsonata {
            // Deliberate: stepgate refuses JSONata before looking further.
            if first.code != "NOT_SUPPORTED_YET" {
                failures.push(format!("{id}: JSONata refused with {first}"));
            }
        } else if first.to_string() != expected {
            failures.push(format!(
                "{id}:\n    expected {expected}\n    got      {first}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
