//! Property tests for intrinsic parsing and printing: parsing never panics,
//! printing gives the canonical form, and parsing that form gives back the
//! same syntax tree. Evaluation never panics either, whatever the arguments.

use asl::entropy::SplitMix64;
use asl::intrinsics::{Arg, Call, Function, Intrinsic, MAX_NESTING, NumberLiteral, StringLiteral};
use asl::path::{NoVariables, Path, PathEnv};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use serde_json::json;

/// Path texts used when `crate::path` can parse them (it may still be a stub).
const PATHS: &[&str] = &[
    "$",
    "$.a",
    "$.a.b",
    "$.arr[0]",
    "$$.Execution.Id",
    "$$.Map.Item.Value",
    "$var.x",
    "$['a,b']",
];

fn leaf_arg() -> BoxedStrategy<Arg> {
    let mut options: Vec<BoxedStrategy<Arg>> = vec![
        any::<String>()
            .prop_map(|s| Arg::String(StringLiteral::new(&s)))
            .boxed(),
        "[a-z{}'\\\\ ,()$]{0,8}"
            .prop_map(|s| Arg::String(StringLiteral::new(&s)))
            .boxed(),
        any::<i64>()
            .prop_map(|n| Arg::Number(NumberLiteral::from_i64(n)))
            .boxed(),
        any::<f64>()
            .prop_map(|x| NumberLiteral::from_f64(if x.is_finite() { x } else { 0.5 }))
            .prop_map(|n| Arg::Number(n.unwrap_or_else(|| NumberLiteral::from_i64(0))))
            .boxed(),
        "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,4})?"
            .prop_map(|t| {
                Arg::Number(NumberLiteral::parse(&t).unwrap_or_else(|| NumberLiteral::from_i64(1)))
            })
            .boxed(),
        any::<bool>().prop_map(Arg::Bool).boxed(),
        Just(Arg::Null).boxed(),
    ];
    let paths: Vec<Path> = PATHS.iter().filter_map(|p| Path::parse(p).ok()).collect();
    if !paths.is_empty() {
        options.push(prop::sample::select(paths).prop_map(Arg::Path).boxed());
    }
    Union::new(options).boxed()
}

fn function() -> impl Strategy<Value = Function> {
    prop::sample::select(Function::ALL.to_vec())
}

/// Calls nested at most [`MAX_NESTING`] deep.
fn call() -> impl Strategy<Value = Call> {
    let leaf =
        (function(), prop::collection::vec(leaf_arg(), 0..4)).prop_map(|(f, a)| Call::new(f, a));
    leaf.prop_recursive((MAX_NESTING - 1) as u32, 48, 4, |inner| {
        let arg = prop_oneof![3 => leaf_arg(), 1 => inner.prop_map(Arg::Call)];
        (function(), prop::collection::vec(arg, 0..4)).prop_map(|(f, a)| Call::new(f, a))
    })
}

/// Text made of intrinsic tokens, so the parser gets past its first checks.
fn token_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("States.".to_owned()),
        prop::sample::select(Function::ALL.to_vec()).prop_map(|f| f.name().to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(", ".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("{}".to_owned()),
        Just("$.a".to_owned()),
        Just("$$.".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("-1.5e3".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just(" ".to_owned()),
        "[a-zA-Z0-9]{1,4}",
    ];
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

fn check_round_trip(text: &str) {
    if let Ok(parsed) = Intrinsic::parse(text) {
        let printed = parsed.to_string();
        let reparsed = Intrinsic::parse(&printed);
        assert_eq!(
            reparsed.as_ref().ok(),
            Some(&parsed),
            "{text:?} printed as {printed:?}"
        );
        assert_eq!(reparsed.map(|r| r.to_string()).ok(), Some(printed));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_any_string(text in ".*") {
        check_round_trip(&text);
        check_round_trip(&format!("States.{text}"));
    }

    #[test]
    fn parse_never_panics_on_token_soup(text in token_soup()) {
        check_round_trip(&text);
        check_round_trip(&format!("States.Format({text})"));
    }

    #[test]
    fn print_then_parse_gives_the_same_tree(call in call()) {
        let printed = call.to_string();
        let parsed = Intrinsic::parse(&printed);
        prop_assert!(parsed.is_ok(), "{} did not parse: {:?}", printed, parsed.err());
        if let Ok(parsed) = parsed {
            prop_assert_eq!(parsed.call(), &call);
            prop_assert_eq!(parsed.text(), printed.as_str());
            prop_assert_eq!(parsed.to_string(), printed.clone());
            prop_assert_eq!(Intrinsic::from_call(call).ok(), Some(parsed));
        }
    }

    #[test]
    fn eval_never_panics(call in call(), seed in any::<u64>()) {
        let input = json!({"a": {"b": [1, "x", null]}, "arr": [3, 1, 3], "s": "a,b"});
        let context = json!({"Execution": {"Id": "arn:x"}, "Map": {"Item": {"Value": 1}}});
        let env = PathEnv { input: &input, context: &context, variables: &NoVariables };
        if let Ok(intrinsic) = Intrinsic::from_call(call) {
            let _ = intrinsic.eval(&env, &mut SplitMix64(seed));
        }
    }
}

#[test]
fn parse_survives_huge_and_deep_input() {
    let deep = format!("{}1{}", "States.Array(".repeat(50_000), ")".repeat(50_000));
    assert!(Intrinsic::parse(&deep).is_err());
    let wide = format!("States.Array({})", vec!["1"; 100_000].join(","));
    assert_eq!(
        Intrinsic::parse(&wide).map(|i| i.call().args().len()).ok(),
        Some(100_000)
    );
    let long_string = format!("States.Base64Encode('{}')", "\\'".repeat(100_000));
    assert!(Intrinsic::parse(&long_string).is_ok());
}
