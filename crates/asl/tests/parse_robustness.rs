//! Hostile input must give `Ok` or diagnostics: never a panic, never a stack
//! overflow, whatever the bytes, the nesting or the types.

use asl::diagnostic::Severity;
use asl::parse::{
    ParseOptions, StateMachineType, parse_definition, parse_definition_value, validate_definition,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Takes a deep value apart without recursion (its `Drop` would recurse).
fn dismantle(value: Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

#[test]
fn ten_thousand_levels_of_text() {
    for text in [
        "[".repeat(10_000),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!(
            r#"{{"StartAt": "A", "States": {{"A": {{"Type": "Pass", "End": true, "Result": {}1{}}}}}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        ),
        "{\"a\":".repeat(10_000),
    ] {
        let diags = validate_definition(&text, &ParseOptions::default());
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "INVALID_JSON_DESCRIPTION");
        assert!(
            diags[0].message.contains("nested more than 128 levels"),
            "{}",
            diags[0].message
        );
    }
}

#[test]
fn ten_thousand_levels_of_value() {
    let mut deep = json!(1);
    for _ in 0..10_000 {
        deep = Value::Array(vec![deep]);
    }
    let definition =
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Result": []}}});
    let mut definition = definition;
    definition["States"]["A"]["Result"] = deep;
    let diags = parse_definition_value(&definition, &ParseOptions::default()).unwrap_err();
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "SCHEMA_VALIDATION_FAILED");
    assert!(diags[0].message.contains("more than 128 levels"));
    dismantle(definition);
}

#[test]
fn deeply_nested_parallels_within_the_limit() {
    fn nest(level: usize) -> Value {
        if level == 0 {
            return json!({"Type": "Succeed"});
        }
        let name = format!("S{}", level - 1);
        json!({"Type": "Parallel", "End": true,
               "Branches": [{"StartAt": name, "States": {name.clone(): nest(level - 1)}}]})
    }
    let definition = json!({"StartAt": "S30", "States": {"S30": nest(30)}});
    let def = parse_definition(&definition.to_string()).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(def.scopes.len(), 31);
    assert_eq!(def.states.len(), 31);
}

#[test]
fn huge_strings() {
    let name = "n".repeat(1 << 20);
    let comment = "c".repeat(10 << 20);
    let definition = json!({"Comment": comment, "StartAt": name, "States": {name.clone(): {"Type": "Succeed", "Comment": comment}}});
    let diags = validate_definition(&definition.to_string(), &ParseOptions::default());
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "INVALID_STATE_NAME");
    let resource = format!("arn:aws:states:::{}", ":".repeat(1 << 20));
    let task = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}});
    assert!(parse_definition(&task.to_string()).is_err());
}

#[test]
fn invalid_utf8_like_and_control_text() {
    for text in [
        "\u{0}",
        "{\"StartAt\": \"\u{0}\"}",
        "\u{feff}{}",
        "{\"a\": \"\\ud800\"}",
        "{\"a\": 1e999}",
        "-",
        "{,}",
    ] {
        let diags = validate_definition(text, &ParseOptions::default());
        assert!(
            diags.iter().any(|d| d.severity == Severity::Error),
            "{text:?}"
        );
    }
}

/// Values of every JSON type, plus a few plausible ones.
fn odd_values() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e300),
        json!(u64::MAX),
        json!(""),
        json!("x"),
        json!("$"),
        json!("$.a[*]"),
        json!("States.Format('{}', $.a)"),
        json!("arn:aws:states:::lambda:invoke.sync"),
        json!([]),
        json!([1, "a"]),
        json!(["States.ALL"]),
        json!({}),
        json!({"a.$": "$.b"}),
        json!({"a.$": 1}),
        json!([{"ErrorEquals": 1, "Next": 2}]),
        json!([{"StartAt": 1, "States": []}]),
        json!({"StartAt": "X", "States": {"X": {"Type": "Nope"}}}),
        json!({"ProcessorConfig": {"Mode": 1}, "StartAt": "X", "States": {"X": 1}}),
    ]
}

const FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Assign",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "Resource",
    "Credentials",
    "Retry",
    "Catch",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Choices",
    "Default",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ItemsPath",
    "ItemSelector",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
    "Next",
    "End",
];

fn base_state(ty: &str) -> Value {
    match ty {
        "Task" => {
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true})
        }
        "Choice" => {
            json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "Z"}], "Default": "Z"})
        }
        "Wait" => json!({"Type": "Wait", "Seconds": 1, "End": true}),
        "Parallel" => {
            json!({"Type": "Parallel", "End": true, "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}]})
        }
        "Map" => {
            json!({"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "M", "States": {"M": {"Type": "Succeed"}}}})
        }
        "Pass" => json!({"Type": "Pass", "End": true}),
        other => json!({"Type": other}),
    }
}

#[test]
fn wrong_types_in_every_field_of_every_state_type() {
    let express = ParseOptions {
        state_machine_type: StateMachineType::Express,
    };
    let mut runs = 0;
    for ty in [
        "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
    ] {
        for field in FIELDS {
            for value in odd_values() {
                let mut state = base_state(ty);
                state[*field] = value.clone();
                let definition =
                    json!({"StartAt": "S", "States": {"S": state, "Z": {"Type": "Succeed"}}});
                for options in [ParseOptions::default(), express] {
                    let _ = parse_definition_value(&definition, &options);
                }
                // The root and the scope objects too.
                let mut root = definition.clone();
                root[*field] = value.clone();
                let _ = validate_definition(&root.to_string(), &ParseOptions::default());
                runs += 1;
            }
        }
    }
    assert!(runs > 8000);
}

fn any_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(
        FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .chain(["StartAt", "States", "S", "X"].map(String::from))
            .collect::<Vec<_>>(),
    );
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![
            "S",
            "X",
            "$",
            "$.a",
            "$$.x",
            "Pass",
            "Map",
            "Task",
            "Choice",
            "States.ALL",
            "arn:aws:states:::lambda:invoke"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_text_gives_ok_or_diagnostics(text in ".{0,200}") {
        if let Err(diags) = parse_definition(&text) {
            prop_assert!(diags.iter().any(|d| d.severity == Severity::Error));
        }
    }

    #[test]
    fn any_value_gives_ok_or_diagnostics(states in any_json(), start in prop::sample::select(vec!["S", "X"])) {
        let definition = json!({"StartAt": start, "States": states});
        if let Err(diags) = parse_definition_value(&definition, &ParseOptions::default()) {
            prop_assert!(diags.iter().any(|d| d.severity == Severity::Error));
        }
    }
}
