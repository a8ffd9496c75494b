//! The seed request template (research §D.1) must behave exactly as on AWS:
//! whatever JSON body arrives, the rendered StartExecution request is valid
//! JSON and its "input" string holds the same JSON value.

use proptest::prelude::*;
use serde_json::{Value, json};
use vtl::{Context, Input, Template};

/// The raw VTL text, with two backslashes in the replaceAll pattern.
const SEED: &str = r#"#set($input = $input.json('$'))
{
  "input": "$util.escapeJavaScript($input).replaceAll("\\'", "'")",
  "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sample"
}"#;

fn render_seed(body: &str) -> String {
    let template = Template::parse(SEED).expect("seed parses");
    let ctx = Context {
        input: Input {
            body: body.to_owned(),
            ..Input::default()
        },
        ..Context::default()
    };
    template.render(&ctx).expect("seed renders")
}

/// Renders the seed for `body` and returns the parsed "input" value.
fn round_trip(body: &str) -> Value {
    let out = render_seed(body);
    let request: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(
        request["stateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:sample"
    );
    let input = request["input"].as_str().expect("input is a string");
    serde_json::from_str(input).unwrap_or_else(|e| panic!("input not JSON ({e}): {input}"))
}

#[test]
fn seed_output_is_exactly_as_on_aws() {
    let out = render_seed(r#"{"name": "O'Brien", "q": "say \"hi\"", "path": "a/b"}"#);
    assert_eq!(
        out,
        r#"{
  "input": "{\"name\":\"O'Brien\",\"q\":\"say \\\"hi\\\"\",\"path\":\"a\/b\"}",
  "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sample"
}"#
    );
}

#[test]
fn seed_with_empty_body_sends_empty_object() {
    assert_eq!(round_trip(""), json!({}));
}

#[test]
fn seed_round_trips_hard_bodies() {
    let bodies = [
        json!({"quote": "\"", "apostrophe": "it's", "backslash": "a\\b", "both": "\\'"}),
        json!({"slash": "</script>", "newline": "a\nb", "tab": "a\tb", "cr": "\r", "ff": "\u{c}", "bs": "\u{8}"}),
        json!({"ctrl": "\u{1}\u{1f}\u{7f}", "nul": "\u{0}"}),
        json!({"unicode": "é 日本 😀 \u{2028}\u{2029}", "dollar": "$5 $input.body ${x}", "hash": "#set($a = 1) #if ## #*"}),
        json!({"nested": {"a": [1, [2, {"b": null}], {"c": true}], "d": {}}, "e": []}),
        json!({"numbers": [0, -1, 1.5, 1e300, -2.5e-10, 9007199254740993_i64, 18446744073709551615_u64]}),
        // Subnormal: exact only with serde_json's float_roundtrip (found by
        // seed_round_trips_any_json).
        json!([-1.35263835269323e-309, 5e-324, 2.2250738585072014e-308]),
        json!([1, "two", null, false]),
        json!("just a string with ' and \""),
        json!(42),
        json!(null),
    ];
    for body in bodies {
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(round_trip(&text), body, "body {text}");
    }
}

#[test]
fn seed_keeps_the_body_json_when_pretty_printed() {
    let body = "{\n  \"a\" : [ 1, 2 ],\n  \"b\" : \"x'y\"\n}\n";
    assert_eq!(round_trip(body), json!({"a": [1, 2], "b": "x'y"}));
}

#[test]
fn seed_with_non_json_body_fails_to_render() {
    let template = Template::parse(SEED).unwrap();
    let ctx = Context {
        input: Input {
            body: "name=O%27Brien&x=1".into(),
            ..Input::default()
        },
        ..Context::default()
    };
    let err = template.render(&ctx).unwrap_err();
    assert!(err.message.contains("not valid JSON"), "{err}");
    assert_eq!((err.line, err.column), (Some(1), Some(22)));
}

#[test]
fn seed_lints_clean_except_shadowing_is_fine_here() {
    // The seed shadows $input but never reads the request afterwards.
    assert!(Template::parse(SEED).unwrap().lint().is_empty());
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\"'\\\\/$#{}\\n\\t\\r\\u{8}\\u{c}\\u{0}-\\u{1f}a-zé日😀]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Equality up to the last bit of floats: serde_json (without its
/// `float_roundtrip` feature, which the workspace does not enable) may parse
/// a float one ulp off, on the test's side as well as on ours.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || ((x - y).abs() <= x.abs().max(y.abs()) * 1e-15)
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .zip(ys)
                    .all(|((kx, x), (ky, y))| kx == ky && same_json(x, y))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn seed_round_trips_any_json(body in arb_json()) {
        let text = serde_json::to_string(&body).unwrap();
        let got = round_trip(&text);
        prop_assert!(same_json(&got, &body), "body {} came back as {}", text, got);
    }
}
