//! No input may panic, overflow the stack or run away: arbitrary template
//! text, arbitrary bodies, and pathological nesting.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;
use vtl::{Context, Input, Template};

fn ctx(body: &str) -> Context {
    Context {
        input: Input {
            body: body.to_owned(),
            path: BTreeMap::from([("id".to_owned(), "1".to_owned())]),
            querystring: BTreeMap::new(),
            header: BTreeMap::from([("X-A".to_owned(), "b".to_owned())]),
        },
        context: json!({"requestId": "r", "identity": {"sourceIp": "ip"}}),
        stage_variables: json!({"v": "1"}),
    }
}

fn parse_and_render(text: &str, body: &str) {
    if let Ok(template) = Template::parse(text) {
        let _ = template.render(&ctx(body));
        let _ = template.lint();
    }
}

/// Template text built from VTL's own tokens, so that most cases get past
/// the parser and exercise the renderer.
fn vtl_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("$a".to_owned()),
        Just("$!b".to_owned()),
        Just("${c}".to_owned()),
        Just("$input.json('$')".to_owned()),
        Just("$input.path('$.x')".to_owned()),
        Just("$input.params()".to_owned()),
        Just("$util.escapeJavaScript($a)".to_owned()),
        Just("$util.parseJson($input.body)".to_owned()),
        Just(".replaceAll(\"\\\\'\", \"'\")".to_owned()),
        Just(".split('')".to_owned()),
        Just(".get(0)".to_owned()),
        Just(".add($a)".to_owned()),
        Just(".put('k', $l)".to_owned()),
        Just(".substring(1)".to_owned()),
        Just("#set($a = ".to_owned()),
        Just("#set($l = [".to_owned()),
        Just("#set($m = {'k': ".to_owned()),
        Just("#if(".to_owned()),
        Just("#elseif(".to_owned()),
        Just("#else".to_owned()),
        Just("#end".to_owned()),
        Just("#foreach($i in ".to_owned()),
        Just("[1..3]".to_owned()),
        Just("#break".to_owned()),
        Just("#stop".to_owned()),
        Just("##c\n".to_owned()),
        Just("#*c*#".to_owned()),
        Just("#[[x]]#".to_owned()),
        Just("\\".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just(")".to_owned()),
        Just("]".to_owned()),
        Just("}".to_owned()),
        Just(", ".to_owned()),
        Just(" + ".to_owned()),
        Just(" / ".to_owned()),
        Just(" == ".to_owned()),
        Just(" && !".to_owned()),
        Just("\n".to_owned()),
        Just("  ".to_owned()),
        "[a-z0-9$#{}()\\[\\]'\"!.=<>&|+*/%, \\\\-]{1,4}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), body in any::<String>()) {
        parse_and_render(&text, &body);
    }
}

proptest! {
    // Fewer cases: most of these compile regexes, which is slow in debug builds.
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn vtl_like_text_never_panics(text in vtl_like(), body in prop_oneof![Just(String::new()), Just("{\"x\": [1, {\"y\": \"'\"}]}".to_owned()), any::<String>()]) {
        parse_and_render(&text, &body);
    }
}

fn assert_parse_error(text: &str) {
    let err = Template::parse(text).expect_err("too deep");
    assert!(err.message.contains("nests more than"), "{err}");
}

#[test]
fn deep_nesting_is_a_parse_error_not_a_stack_overflow() {
    let n = 10_000;
    assert_parse_error(&format!("{}{}", "#if(true)".repeat(n), "#end".repeat(n)));
    assert_parse_error(&format!(
        "{}x{}",
        "#foreach($i in [1])".repeat(n),
        "#end".repeat(n)
    ));
    assert_parse_error(&format!("#set($a = {}1{})", "(".repeat(n), ")".repeat(n)));
    assert_parse_error(&format!("#if({}true)#end", "!".repeat(n)));
    assert_parse_error(&format!("#set($a = {}1{})", "[".repeat(n), "]".repeat(n)));
    assert_parse_error(&format!(
        "#set($a = {}1{})",
        "{'k': ".repeat(n),
        "}".repeat(n)
    ));
    assert_parse_error(&format!("{}1{}", "$a.b(".repeat(n), ")".repeat(n)));
    assert_parse_error(&format!(
        "#set($a = \"{}x{}\")",
        "#if(true)".repeat(n),
        "#end".repeat(n)
    ));
    assert_parse_error(&format!(
        "#set($a = \"{}x{}\")",
        "$a.b(".repeat(n),
        ")".repeat(n)
    ));
    // 64 levels are fine.
    let ok = format!("{}x{}", "#if(true)".repeat(60), "#end".repeat(60));
    assert_eq!(Template::parse(&ok).unwrap().render(&ctx("")).unwrap(), "x");
}

#[test]
fn unbalanced_deep_text_does_not_blow_up() {
    let n = 10_000;
    // Brackets after a reference that never close fall back to text.
    parse_and_render(&format!("$a{}", "[".repeat(n)), "");
    parse_and_render(&"$a[$a".repeat(n), "");
    parse_and_render(&"#if(".repeat(n), "");
    parse_and_render(&"\\".repeat(n), "");
    parse_and_render(&"#*".repeat(n), "");
}

#[test]
fn failed_constructs_do_not_make_parsing_quadratic() {
    // Each `$a[` used to be retried as text after a failed index parse that
    // ran to the end of the input.
    let n = 50_000;
    let started = std::time::Instant::now();
    for text in [
        "$a[[1,".repeat(n),
        "$a[USD]".repeat(n),
        "${a.b(1)".repeat(n),
        "$a.b(1)[".repeat(n),
        "#set($a = [".repeat(n),
        "\\$a".repeat(n),
    ] {
        parse_and_render(&text, "");
    }
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn deeply_nested_json_bodies_are_handled() {
    let n = 100_000;
    let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let template =
        Template::parse("$input.json('$') $input.path('$') $util.parseJson($input.body)").unwrap();
    // serde_json refuses to nest this deep: a render error, not a crash.
    assert!(template.render(&ctx(&deep)).is_err());
    let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
    assert!(template.render(&ctx(&ok)).is_ok());
}

#[test]
fn large_but_legal_input_renders() {
    let items: Vec<serde_json::Value> = (0..999)
        .map(|i| json!({"id": i, "name": format!("n{i}")}))
        .collect();
    let body = serde_json::to_string(&json!({"items": items})).unwrap();
    let template = Template::parse(
        "[#foreach($item in $input.path('$.items'))\"$util.escapeJavaScript($item.name)\"#if($foreach.hasNext),#end#end]",
    )
    .unwrap();
    let out = template.render(&ctx(&body)).unwrap();
    let parsed: Vec<String> = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed.len(), 999);
    assert_eq!(parsed[998], "n998");
}
