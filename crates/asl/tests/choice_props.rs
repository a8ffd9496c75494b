//! Property tests for Choice rules and timestamps: hostile definitions and
//! inputs must produce diagnostics or `false`, never a panic.

use asl::choice::{WildcardPattern, compare_strings, parse_choice_rule};
use asl::diagnostic::Diagnostics;
use asl::path::{NoVariables, PathEnv};
use asl::timestamp::{format_timestamp, is_rfc3339_timestamp, parse_timestamp};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Any JSON value, small enough to keep cases fast.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Field names a Choice Rule may (or almost may) have, so that generated
/// objects reach deep into the parser instead of failing on the first key.
fn rule_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "Variable",
        "Next",
        "Comment",
        "Assign",
        "And",
        "Or",
        "Not",
        "BooleanEquals",
        "BooleanEqualsPath",
        "IsNull",
        "IsPresent",
        "IsTimestamp",
        "NumericEquals",
        "NumericLessThanPath",
        "StringEquals",
        "StringMatches",
        "StringMatchesPath",
        "TimestampEquals",
        "TimestampGreaterThanEqualsPath",
        "Unknown",
    ])
    .prop_map(str::to_owned)
}

/// Values that look like what those fields expect, or nearly.
fn rule_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            "$",
            "$.a",
            "$.a[0].b",
            "$$.Execution.Input",
            "$v.x",
            "$..a",
            "$.a[*]",
            "a",
            "",
            "$["
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        prop::sample::select(vec![
            "2016-03-14T01:59:00Z",
            "2016-13-14T01:59:00Z",
            "log-*.txt",
            "\\",
            "*\\*"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        any_json(),
    ]
}

fn rule_like() -> impl Strategy<Value = Value> {
    let object = |value: BoxedStrategy<Value>| {
        prop::collection::vec((rule_key(), value), 0..5)
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()))
    };
    let leaf = object(rule_value().boxed());
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            (rule_key(), inner).prop_map(|(k, v)| {
                let mut m = Map::new();
                m.insert(k, v);
                m.insert("Next".into(), Value::from("N"));
                Value::Object(m)
            }),
        ]
    })
}

fn parse_and_evaluate(rule: &Value, input: &Value) {
    let mut diags = Diagnostics::new();
    let parsed = parse_choice_rule(rule, "/States/S/Choices/0", &mut diags);
    assert_eq!(parsed.is_none(), diags.has_errors());
    if let Some(parsed) = parsed {
        let env = PathEnv {
            input,
            context: &Value::Null,
            variables: &NoVariables,
        };
        // Either outcome is fine; panicking is not.
        let _ = parsed.condition.evaluate(&env);
    }
}

proptest! {
    #[test]
    fn parsing_arbitrary_json_never_panics(rule in any_json(), input in any_json()) {
        parse_and_evaluate(&rule, &input);
    }

    #[test]
    fn parsing_rule_like_json_never_panics(rule in rule_like(), input in any_json()) {
        parse_and_evaluate(&rule, &input);
    }

    #[test]
    fn string_matches_never_panics(pattern in "[a-c*\\\\é]{0,10}", candidate in "[a-c*\\\\é]{0,12}") {
        let _ = WildcardPattern::new(&pattern).matches(&candidate);
    }

    #[test]
    fn string_matches_arbitrary_text_never_panics(pattern in ".{0,16}", candidate in ".{0,16}") {
        let _ = WildcardPattern::new(&pattern).matches(&candidate);
    }

    #[test]
    fn escaped_text_matches_only_itself(text in ".{0,12}", other in ".{0,12}") {
        let escaped: String = text.chars().flat_map(|c| match c {
            '*' | '\\' => vec!['\\', c],
            c => vec![c],
        }).collect();
        let pattern = WildcardPattern::new(&escaped);
        prop_assert!(pattern.matches(&text));
        prop_assert_eq!(pattern.matches(&other), other == text);
    }

    #[test]
    fn star_infix_is_substring_search(needle in "[ab]{0,3}", haystack in "[ab]{0,8}") {
        let pattern = WildcardPattern::new(&format!("*{needle}*"));
        prop_assert_eq!(pattern.matches(&haystack), haystack.contains(&needle));
    }

    #[test]
    fn java_string_order_is_a_total_order(a in ".{0,6}", b in ".{0,6}") {
        prop_assert_eq!(compare_strings(&a, &b), compare_strings(&b, &a).reverse());
        prop_assert_eq!(compare_strings(&a, &b).is_eq(), a == b);
    }

    #[test]
    fn timestamp_parsing_never_panics(text in ".{0,40}") {
        let _ = parse_timestamp(&text);
        let _ = is_rfc3339_timestamp(&text);
    }

    #[test]
    fn timestamp_like_text_never_panics(text in "[-+0-9:.TtZz ]{0,36}") {
        // A definition-valid timestamp must also parse at run time.
        if is_rfc3339_timestamp(&text) {
            prop_assert!(parse_timestamp(&text).is_some());
        }
    }

    #[test]
    fn formatted_timestamps_round_trip(millis in -62_000_000_000_000_i64..250_000_000_000_000) {
        let text = format_timestamp(millis);
        prop_assert!(is_rfc3339_timestamp(&text), "{}", text);
        prop_assert_eq!(parse_timestamp(&text).map(|t| t.as_millisecond()), Some(millis));
    }
}
