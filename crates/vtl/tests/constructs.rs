//! One test (at least) per supported construct, with literal expected
//! output, so that a wrong behaviour fails a test.

use std::collections::BTreeMap;

use serde_json::json;
use vtl::{Context, Input, RenderError, Template};

const BODY: &str = r#"{"a": {"b": [1, 2]}, "s": "x", "n": 1.5, "list": [{"id": 1}, {"id": 2}]}"#;

fn ctx_with_body(body: &str) -> Context {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    Context {
        input: Input {
            body: body.to_owned(),
            path: map(&[("id", "7")]),
            querystring: map(&[("id", "9"), ("q", "x y")]),
            header: map(&[("X-Test", "h"), ("Content-Type", "application/json")]),
        },
        context: json!({
            "requestId": "r-1",
            "httpMethod": "POST",
            "identity": {"sourceIp": "1.2.3.4"},
            "responseOverride": {"header": {}}
        }),
        stage_variables: json!({"env": "prod"}),
    }
}

fn render_body(text: &str, body: &str) -> Result<String, RenderError> {
    let template = Template::parse(text).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
    template.render(&ctx_with_body(body))
}

/// Renders against the standard context; panics on errors.
fn r(text: &str) -> String {
    render_body(text, BODY).unwrap_or_else(|e| panic!("{text:?} failed: {e}"))
}

fn render_err(text: &str) -> RenderError {
    render_body(text, BODY).expect_err("should fail")
}

// --- $input -------------------------------------------------------------

#[test]
fn input_body_is_raw() {
    assert_eq!(
        render_body("[$input.body]", " {\"a\" : 1} ").unwrap(),
        "[ {\"a\" : 1} ]"
    );
}

#[test]
fn input_json_is_compact_json_text() {
    assert_eq!(r("$input.json('$.a')"), r#"{"b":[1,2]}"#);
    assert_eq!(r("$input.json('$.s')"), r#""x""#);
    assert_eq!(r("$input.json('$.list[*].id')"), "[1,2]");
    assert_eq!(r("$input.json(\"$.a.b[1]\")"), "2");
    assert_eq!(render_body("$input.json('$')", "").unwrap(), "{}");
    // A path that selects nothing gives "".
    assert_eq!(r("[$input.json('$.missing')]"), "[]");
}

#[test]
fn input_json_on_non_json_body_names_the_problem() {
    let err = render_body("x $input.json('$.a')", "a=1&b=2").unwrap_err();
    assert!(err.message.contains("not valid JSON"), "{err}");
    assert_eq!(err.line, Some(1));
    let err = render_body("$input.json('$[')", "{}").unwrap_err();
    assert!(err.message.contains("invalid JSONPath"), "{err}");
}

#[test]
fn input_path_gives_vtl_values() {
    assert_eq!(r("$input.path('$.a.b').size()"), "2");
    assert_eq!(r("$input.path('$.a.b').get(1)"), "2");
    assert_eq!(r("$input.path('$.a').b"), "[1, 2]");
    assert_eq!(
        r("$input.path('$')"),
        "{a={b=[1, 2]}, s=x, n=1.5, list=[{id=1}, {id=2}]}"
    );
    assert_eq!(r("$input.path('$.n')"), "1.5");
    assert_eq!(r("#foreach($x in $input.path('$.list'))$x.id;#end"), "1;2;");
    assert_eq!(r("$input.path('$.missing')"), "$input.path('$.missing')");
    assert_eq!(r("[$!input.path('$.missing')]"), "[]");
}

#[test]
fn input_params() {
    assert_eq!(
        r("$input.params()"),
        "{path={id=7}, querystring={id=9, q=x y}, header={Content-Type=application/json, X-Test=h}}"
    );
    assert_eq!(r("$input.params().querystring.q"), "x y");
    // Path first, then query string, then header (ignoring case).
    assert_eq!(r("$input.params('id')"), "7");
    assert_eq!(r("$input.params('q')"), "x y");
    assert_eq!(r("$input.params('x-test')"), "h");
    assert_eq!(r("[$input.params('nope')]"), "[]");
    assert_eq!(
        r("$input.params().header.get('x-test')"),
        "$input.params().header.get('x-test')"
    );
}

// --- $util -----------------------------------------------------------------

#[test]
fn util_functions() {
    assert_eq!(
        r(r#"$util.escapeJavaScript('it''s "é" / 😀')"#),
        r#"it\'s \"\u00E9\" \/ \uD83D\uDE00"#
    );
    // No escape processing in VTL literals: \" reaches escapeJavaScript as two characters.
    assert_eq!(r(r#"$util.escapeJavaScript("a\"b")"#), r#"a\\\"b"#);
    assert_eq!(
        r("$util.urlEncode('a b&c=d/é*~')"),
        "a+b%26c%3Dd%2F%C3%A9*%7E"
    );
    assert_eq!(r("$util.urlDecode('a+b%26c%3Dd%2F%C3%A9')"), "a b&c=d/é");
    assert_eq!(r("$util.base64Encode('héllo')"), "aMOpbGxv");
    assert_eq!(r("$util.base64Decode('aMOpbGxv')"), "héllo");
    assert_eq!(
        r(r#"$util.parseJson('{"a":[1,{"b":2.0}]}').a.get(1).b"#),
        "2.0"
    );
    assert_eq!(r(r#"$util.parseJson($input.json('$.a')).b.size()"#), "2");
    assert_eq!(r("$util.escapeJavaScript($input.path('$.n'))"), "1.5");
}

#[test]
fn unknown_util_function_renders_literally() {
    assert_eq!(
        r("$util.hmacSha256('k', 'v')"),
        "$util.hmacSha256('k', 'v')"
    );
    assert_eq!(r("$util.urlEncode()"), "$util.urlEncode()");
}

#[test]
fn util_errors() {
    assert!(
        render_err("$util.parseJson('{nope')")
            .message
            .contains("parseJson")
    );
    assert!(
        render_err("$util.base64Decode('!!')")
            .message
            .contains("base64")
    );
    assert!(
        render_err("$util.urlDecode('%G1')")
            .message
            .contains("urlDecode")
    );
}

// --- $context and $stageVariables ---------------------------------------

#[test]
fn context_and_stage_variables() {
    assert_eq!(
        r("$context.requestId $context.identity.sourceIp $stageVariables.env"),
        "r-1 1.2.3.4 prod"
    );
    assert_eq!(r("$context.stage"), "$context.stage");
    assert_eq!(
        r("$context.identity.missing.deeper"),
        "$context.identity.missing.deeper"
    );
}

#[test]
fn render_detailed_returns_the_changed_context() {
    let template = Template::parse(
        "#set($context.responseOverride.status = 202)#set($context.responseOverride.header.X-Id = \"$context.requestId\")ok",
    )
    .unwrap();
    let rendered = template.render_detailed(&ctx_with_body("")).unwrap();
    assert_eq!(rendered.output, "ok");
    assert_eq!(
        rendered.context["responseOverride"],
        json!({"header": {"X-Id": "r-1"}, "status": 202})
    );
}

// --- references ----------------------------------------------------------

#[test]
fn reference_forms() {
    let set = "#set($a = 'v')#set($m = {'k': 'mv', 'n': {'x': 1}})#set($l = [10, 20, 30])";
    assert_eq!(
        r(&format!(
            "{set}$a|$!a|${{a}}x|$!{{a}}|$m.k|$m.n.x|$m['k']|$m[\"n\"].x"
        )),
        "v|v|vx|v|mv|1|mv|1"
    );
    assert_eq!(
        r(&format!("{set}$l[0]|$l[-1]|$m.get('k').length()|$l.get(2)")),
        "10|30|2|30"
    );
}

#[test]
fn unresolved_references_render_their_source() {
    assert_eq!(r("$nope"), "$nope");
    assert_eq!(r("${nope}"), "${nope}");
    assert_eq!(r("$nope.foo('x', $y).bar"), "$nope.foo('x', $y).bar");
    // A missing method and a method returning null.
    assert_eq!(r("#set($s = 'abc')$s.noSuchMethod()"), "$s.noSuchMethod()");
    assert_eq!(r("#set($m = {})$m.get('k')"), "$m.get('k')");
    assert_eq!(r("#set($s = 'abc')$s.substring('1')"), "$s.substring('1')");
}

#[test]
fn quiet_references_render_nothing() {
    assert_eq!(
        r("[$!nope][$!{nope}][$!nope.foo()][$!context.stage]"),
        "[][][][]"
    );
}

#[test]
fn escaped_references() {
    assert_eq!(r("#set($a = 'v')\\$a"), "$a");
    assert_eq!(r("#set($a = 'v')\\\\$a"), "\\v");
    assert_eq!(r("#set($a = 'v')\\\\\\$a"), "\\$a");
    // Velocity keeps the backslash of an escaped null reference.
    assert_eq!(r("\\$nope"), "\\$nope");
    assert_eq!(r("\\\\$nope"), "\\$nope");
}

#[test]
fn dollar_without_identifier_is_text() {
    assert_eq!(
        r(r#"{"price": "$5", "x": "$ ", "y": "$$", "z": "$!", "w": "${"}"#),
        r#"{"price": "$5", "x": "$ ", "y": "$$", "z": "$!", "w": "${"}"#
    );
    assert_eq!(r("a.b$"), "a.b$");
    // A dot not followed by an identifier ends the reference.
    assert_eq!(r("#set($a = 'v')$a. $a.1"), "v. v.1");
}

#[test]
fn velocity_1_7_identifiers_include_hyphens() {
    assert_eq!(r("#set($a-b = 'x')$a-b"), "x");
    assert_eq!(r("#set($a = 'x')$a-"), "$a-");
}

#[test]
fn index_that_is_not_an_expression_is_text() {
    assert_eq!(r("#set($p = 'v')$p[USD]"), "v[USD]");
}

// --- directives ------------------------------------------------------------

#[test]
fn set_and_if() {
    assert_eq!(
        r("#set($x = 5)#if($x > 3)big#elseif($x > 1)mid#{else}small#end"),
        "big"
    );
    assert_eq!(
        r("#set($x = 2)#if($x > 3)big#elseif($x > 1)mid#{else}small#end"),
        "mid"
    );
    assert_eq!(
        r("#set($x = 0)#if($x > 3)big#elseif($x > 1)mid#{else}small#end"),
        "small"
    );
    assert_eq!(r("#{if}(true)a#{end}b"), "ab");
    assert_eq!(r("#if (true) spaced #end"), " spaced ");
}

#[test]
fn set_with_null_value_keeps_the_previous_value() {
    assert_eq!(r("#set($x = 'old')#set($x = $nope)$x"), "old");
    assert_eq!(r("#set($x = $nope)$x"), "$x");
}

#[test]
fn set_into_maps_and_lists() {
    assert_eq!(
        r("#set($m = {})#set($m.a = 1)#set($m['b'] = 2)$m"),
        "{a=1, b=2}"
    );
    assert_eq!(r("#set($l = [1, 2])#set($l[1] = 'x')$l"), "[1, x]");
    assert!(
        render_err("#set($l = [1])#set($l[3] = 'x')")
            .message
            .contains("out of bounds")
    );
}

#[test]
fn truthiness() {
    assert_eq!(
        r(
            "#if('')1#end#if(0)2#end#if([])3#end#if($nope)4#end#if(false)5#end#if(null)6#end#if({})7#end"
        ),
        "1237"
    );
}

#[test]
fn foreach_over_lists_maps_and_ranges() {
    assert_eq!(r("#foreach($i in [1, 'b', 3.0])$i,#end"), "1,b,3.0,");
    assert_eq!(r("#foreach($v in {'a': 1, 'b': 2})$v#end"), "12");
    assert_eq!(
        r("#foreach($i in [1..4])$i#end|#foreach($i in [3..1])$i#end"),
        "1234|321"
    );
    assert_eq!(r("#set($n = 3)#foreach($i in [1..$n])$i#end"), "123");
    assert_eq!(
        r("#foreach($i in $nope)x#end|#foreach($i in 'str')x#end"),
        "|"
    );
    assert_eq!(
        r(
            "#foreach($k in $input.params().querystring.keySet())$k=$input.params().querystring.get($k)#if($foreach.hasNext)&#end#end"
        ),
        "id=9&q=x y"
    );
}

#[test]
fn foreach_scope_variables() {
    assert_eq!(
        r(
            "#foreach($i in ['a', 'b', 'c'])$foreach.index/$foreach.count/$velocityCount/$foreach.hasNext/$foreach.first/$foreach.last #end"
        ),
        "0/1/1/true/true/false 1/2/2/true/false/false 2/3/3/false/false/true "
    );
    assert_eq!(r("#foreach($i in [1])$foreach.hasNext()#end"), "false");
    // Nested loops restore the outer scope; the loop variable is restored too.
    assert_eq!(
        r(
            "#set($i = 'outer')#foreach($i in [1, 2])#foreach($j in [1, 2])#end$foreach.index#end $i $foreach"
        ),
        "01 outer $foreach"
    );
}

#[test]
fn break_and_stop() {
    assert_eq!(
        r("#foreach($i in [1..5])#if($i == 3)#break#end$i#end!"),
        "12!"
    );
    assert_eq!(
        r("a#foreach($i in [1..5])#if($i == 3)#stop#end$i#end!"),
        "a12"
    );
    assert_eq!(r("a#stop b"), "a");
}

#[test]
fn foreach_iteration_cap_is_1000() {
    assert_eq!(
        r("#foreach($i in [1..1000])#end$velocityCount"),
        "$velocityCount"
    );
    let err = render_err("\n#foreach($i in [1..1001])x#end");
    assert!(err.message.contains("1000 iterations"), "{err}");
    assert_eq!((err.line, err.column), (Some(2), Some(1)));
    // Breaking out before the cap is fine.
    assert_eq!(
        r("#foreach($i in [1..5000])#if($i > 2)#break#end$i#end"),
        "12"
    );
}

#[test]
fn comments_and_unparsed_blocks() {
    assert_eq!(r("a## line comment\nb#* block\n comment *#c"), "abc");
    assert_eq!(
        r("#[[ $not #if(a reference) ]]#"),
        " $not #if(a reference) "
    );
}

#[test]
fn hash_that_is_not_a_directive_is_text() {
    assert_eq!(
        r("#hashtag #1 #{x} # #ending #elsewhere"),
        "#hashtag #1 #{x} # #ending #elsewhere"
    );
    assert_eq!(r("color: #fff;"), "color: #fff;");
}

#[test]
fn escaped_directives() {
    assert_eq!(r("#set($a = 'x')\\#set($a = 1)"), "#set(x = 1)");
    assert_eq!(r("\\#if(true)"), "#if(true)");
    assert_eq!(r("\\\\#if(true)y#end"), "\\y");
}

#[test]
fn directive_lines_disappear() {
    let text = "{\n  #set($x = 1)\n  #if($x == 1)\n  \"a\": $x,\n  #else\n  \"a\": 0,\n  #end\n  #foreach($i in [1, 2])\n    \"i$i\": $i#if($foreach.hasNext),#end\n\n  #end\n}";
    assert_eq!(
        r(text),
        "{\n  \"a\": 1,\n    \"i1\": 1,\n\n    \"i2\": 2\n\n}"
    );
    // Text around a directive on the same line is kept byte-exact.
    assert_eq!(r("  x #set($a = 1) \n"), "  x  \n");
    assert_eq!(r("\r\n  #set($a = 1)\r\nz"), "\r\nz");
}

// --- expressions -------------------------------------------------------------

#[test]
fn string_literals() {
    assert_eq!(r("#set($x = 'w')#set($s = \"a $x b\")$s"), "a w b");
    assert_eq!(r("#set($x = 'w')#set($s = 'a $x b')$s"), "a $x b");
    // No backslash processing: the characters reach Java as written.
    assert_eq!(r(r#"#set($s = "a\tb\\n\'")$s"#), r"a\tb\\n\'");
    assert_eq!(r(r#"#set($s = "say ""hi""")$s"#), r#"say "hi""#);
    assert_eq!(r("#set($s = 'it''s')$s"), "it's");
    assert_eq!(r("#set($x = 'w')#set($s = \"#if($x)yes#end\")$s"), "yes");
    assert_eq!(r("#set($s = \"$nope\")$s"), "$nope");
}

#[test]
fn numbers_and_arithmetic() {
    assert_eq!(
        r(
            "#set($v = 7 / 2)$v #set($v = 7 % 3)$v #set($v = -7 / 2)$v #set($v = 1 + 2 * 3)$v #set($v = (1 + 2) * 3)$v #set($v = 10 - 2 - 3)$v"
        ),
        "3 1 -3 7 9 5"
    );
    assert_eq!(
        r(
            "#set($v = 1.5 * 2)$v #set($v = 1 + 0.5)$v #set($v = 1.0E10)$v #set($v = 0.1 + 0.2)$v #set($v = 7.0 / 2)$v"
        ),
        "3.0 1.5 1.0E10 0.30000000000000004 3.5"
    );
    assert_eq!(
        r(
            "#set($v = 'a' + 1)$v #set($v = 1 + 'a')$v #set($v = 'x' + [1])$v #set($v = 2.5 + 'x')$v"
        ),
        "a1 1a x[1] 2.5x"
    );
    // Division by zero is null: the #set keeps the previous value.
    assert_eq!(r("#set($v = 1)#set($v = 1 / 0)$v"), "1");
    assert!(
        render_err("#set($v = 9223372036854775807 + 1)")
            .message
            .contains("overflow")
    );
}

#[test]
fn comparisons() {
    let cases = [
        ("1 == 1.0", true),
        ("'1' == 1", true),
        ("true == 'true'", true),
        ("'a' == 'a'", true),
        ("'a' != 'b'", true),
        ("[1, 2] == [1, 2]", true),
        ("$nope == $nope2", true),
        ("$nope == 'x'", false),
        ("1 < 2", true),
        ("2 <= 2", true),
        ("3 >= 4", false),
        ("2.5 > 2", true),
        ("'a' < 'b'", false),
        ("1 lt 2 and 2 gt 1", true),
        ("1 eq 2 or 1 ne 2", true),
        ("not false && !false", true),
        ("1 le 1 && 1 ge 1", true),
        ("true || $nope.fail()", true),
        ("!(1 == 1)", false),
    ];
    for (expr, expected) in cases {
        assert_eq!(
            r(&format!("#if({expr})true#{{else}}false#end")),
            expected.to_string(),
            "{expr}"
        );
    }
}

#[test]
fn lists_maps_and_ranges_print_as_java() {
    assert_eq!(
        r("#set($l = [1, 'a', true, 1.0, [2], {'k': 'v'}])$l"),
        "[1, a, true, 1.0, [2], {k=v}]"
    );
    assert_eq!(
        r("#set($m = {'k': 1, 'j': [2], 3: null})$m"),
        "{k=1, j=[2], 3=null}"
    );
    assert_eq!(
        r("#set($l = [1..3])$l #set($e = [])$e #set($e = {})$e"),
        "[1, 2, 3] [] {}"
    );
}

#[test]
fn lists_and_maps_are_shared_and_mutable() {
    assert_eq!(
        r("#set($l = [])#set($ignore = $l.add(1))#set($k = $l)#set($ignore = $k.add(2))$l"),
        "[1, 2]"
    );
    assert_eq!(r("#set($l = [])$l.add('x') $l"), "true [x]");
    // Map.put returns the previous value: null the first time (so the
    // reference renders as its source), then the old value.
    assert_eq!(
        r("#set($m = {})$m.put('a', 1) $m.put('a', 2) $m"),
        "$m.put('a', 1) 1 {a=2}"
    );
    assert_eq!(
        r("#set($l = [])#set($ignore = $l.add($l))$l"),
        "[(this Collection)]"
    );
}

// --- methods -----------------------------------------------------------------

#[test]
fn string_methods() {
    let cases = [
        ("'héllo😀'", "length()", "7"),
        ("''", "isEmpty()", "true"),
        ("'AbÉ'", "toLowerCase()", "abé"),
        ("'abé'", "toUpperCase()", "ABÉ"),
        ("' \t x \n'", "trim()", "x"),
        ("'hello'", "substring(1)", "ello"),
        ("'hello'", "substring(1, 3)", "el"),
        ("'a😀b'", "substring(3)", "b"),
        ("'hello'", "indexOf('l')", "2"),
        ("'hello'", "indexOf('l', 3)", "3"),
        ("'hello'", "indexOf('z')", "-1"),
        ("'hello'", "lastIndexOf('l')", "3"),
        ("'hello'", "contains('ell')", "true"),
        ("'hello'", "startsWith('he')", "true"),
        ("'hello'", "endsWith('lo')", "true"),
        ("'hello'", "equals('hello')", "true"),
        ("'hello'", "equals(1)", "false"),
        ("'HeLLo'", "equalsIgnoreCase('hello')", "true"),
        ("'hello'", "charAt(1)", "e"),
        ("'a'", "concat('b')", "ab"),
        ("'a.b.c'", "replace('.', '-')", "a-b-c"),
        ("'a1b22'", "replaceAll('[0-9]+', '#')", "a#b#"),
        ("'a1b22'", "replaceFirst('[0-9]+', '#')", "a#b22"),
        (
            "'john smith'",
            "replaceAll('(\\w+) (\\w+)', '$2, $1')",
            "smith, john",
        ),
        ("'a.b'", "replaceAll('\\.', '\\$')", "a$b"),
        ("'a,b,,c,,'", "split(',')", "[a, b, , c]"),
        ("'a,b,c'", "split(',', 2)", "[a, b,c]"),
        ("'a,b'", "split(',').size()", "2"),
        ("'abc123'", "matches('[a-z]+\\d+')", "true"),
        ("'abc123'", "matches('[a-z]+')", "false"),
        ("'x'", "toString()", "x"),
        ("'x'", "empty", "false"),
    ];
    for (literal, call, expected) in cases {
        assert_eq!(
            r(&format!("#set($s = {literal})$s.{call}")),
            expected,
            "{literal}.{call}"
        );
    }
}

#[test]
fn java_exceptions_fail_the_render() {
    for (text, needle) in [
        ("$s.substring(5)", "out of range"),
        ("$s.charAt(9)", "out of range"),
        ("#set($l = [1])$l.get(1)", "out of bounds"),
        ("#set($l = [1])$l[5]", "out of bounds"),
        ("$s.replaceAll('(?=x)', '')", "lookahead"),
        ("$s.replaceAll('(a)\\1', '')", "backreference"),
        ("$s.replaceAll('(', '')", "invalid regular expression"),
        ("$s.replaceAll('a', '$2')", "no group 2"),
    ] {
        let err = render_err(&format!("#set($s = 'abc'){text}"));
        assert!(err.message.contains(needle), "{text}: {err}");
        assert!(err.line.is_some());
    }
}

#[test]
fn list_and_map_methods() {
    let cases = [
        ("$l.size()", "3"),
        ("$l.get(0)", "a"),
        ("$l.isEmpty()", "false"),
        ("$l.contains('b')", "true"),
        ("$l.contains(1)", "false"),
        ("$l.indexOf('c')", "2"),
        ("$l.toString()", "[a, b, c]"),
        ("$m.get('k')", "1"),
        ("$m.containsKey('k')", "true"),
        ("$m.containsKey('z')", "false"),
        ("$m.keySet()", "[k, j]"),
        ("$m.values()", "[1, 2]"),
        ("$m.size()", "2"),
        ("$m.isEmpty()", "false"),
        ("$m.toString()", "{k=1, j=2}"),
        ("$m.size", "$m.size"),
    ];
    for (expr, expected) in cases {
        assert_eq!(
            r(&format!(
                "#set($l = ['a', 'b', 'c'])#set($m = {{'k': 1, 'j': 2}}){expr}"
            )),
            expected,
            "{expr}"
        );
    }
}

#[test]
fn number_methods() {
    assert_eq!(
        r("#set($i = 3000000000)$i.intValue() $i.toString() $i.longValue()"),
        "-1294967296 3000000000 3000000000"
    );
    assert_eq!(
        r("#set($f = -2.7)$f.intValue() $f.toString() $f.doubleValue()"),
        "-2 -2.7 -2.7"
    );
}

// --- the seed's $input shadowing ------------------------------------------------

#[test]
fn shadowed_input_renders_request_access_literally() {
    let out = r("#set($input = $input.json('$.a'))$input|$input.params('id')|$input.body");
    assert_eq!(out, r#"{"b":[1,2]}|$input.params('id')|$input.body"#);
    // Without the #set, escapeJavaScript gets the built-in object, which is
    // not a string: no such method, so the source text.
    assert_eq!(
        r("$util.escapeJavaScript($input)"),
        "$util.escapeJavaScript($input)"
    );
}

// --- errors and limits -----------------------------------------------------

#[test]
fn parse_errors_have_positions() {
    let err = Template::parse("line one\n  #if($x)\nno end").unwrap_err();
    assert_eq!((err.line, err.column), (2, 3));
    assert_eq!(
        err.to_string(),
        "line 2, column 3: #if without a matching #end"
    );
    for text in [
        "#end",
        "#else",
        "#if(",
        "#set($a 1)",
        "#set(1 = 1)",
        "#foreach($i 1)#end",
        "$a.b(",
        "#set($a = \"x)",
        "#*",
        "#[[",
        "#macro(x)#end",
        "#include('a')",
        "#parse('a')",
        "#define($a)x#end",
    ] {
        assert!(Template::parse(text).is_err(), "{text}");
    }
}

#[test]
fn output_and_string_sizes_are_capped() {
    let err =
        render_err("#set($s = 'xxxxxxxxxxxxxxxx')#foreach($i in [1..30])#set($s = \"$s$s\")#end");
    assert!(err.message.contains("exceeds"), "{err}");
    let err =
        render_err("#set($s = 'xxxxxxxxxxxxxxxx')#foreach($i in [1..30])#set($s = $s + $s)#end");
    assert!(err.message.contains("exceeds"), "{err}");
    let err =
        render_err("#foreach($i in [1..1000])#foreach($j in [1..1000])0123456789abcdef#end#end");
    assert!(
        err.message.contains("exceeds") || err.message.contains("steps"),
        "{err}"
    );
}

#[test]
fn step_budget_stops_runaway_loops() {
    let err = render_err(
        "#foreach($i in [1..1000])#foreach($j in [1..1000])#foreach($k in [1..1000])#end#end#end",
    );
    assert!(err.message.contains("steps"), "{err}");
    assert!(
        render_err("#set($r = [1..1000000])")
            .message
            .contains("range")
    );
}

#[test]
fn template_is_send_sync_and_reusable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    let template = Template::parse("$input.json('$.a.b')").unwrap();
    let first = template.render(&ctx_with_body(BODY)).unwrap();
    let second = template
        .render(&ctx_with_body(r#"{"a": {"b": "z"}}"#))
        .unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("[1,2]", "\"z\""));
}

/// The "Method Request passthrough" template from the API Gateway console,
/// as found in many repositories: it must render valid JSON.
#[test]
fn console_passthrough_template_renders_json() {
    let text = r#"##  See http://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
##  This template will pass through all parameters including path, querystring, header, stage variables, and context through to the integration endpoint via the body/payload
#set($allParams = $input.params())
{
"body-json" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"stage-variables" : {
#foreach($key in $stageVariables.keySet())
"$key" : "$util.escapeJavaScript($stageVariables.get($key))"
    #if($foreach.hasNext),#end
#end
},
"context" : {
    "account-id" : "$context.identity.accountId",
    "http-method" : "$context.httpMethod",
    "request-id" : "$context.requestId",
    "source-ip" : "$context.identity.sourceIp"
    }
}
"#;
    let out = r(text);
    let value: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        value,
        json!({
            "body-json": {"a": {"b": [1, 2]}, "s": "x", "n": 1.5, "list": [{"id": 1}, {"id": 2}]},
            "params": {
                "path": {"id": "7"},
                "querystring": {"id": "9", "q": "x y"},
                "header": {"Content-Type": "application/json", "X-Test": "h"}
            },
            "stage-variables": {"env": "prod"},
            "context": {
                "account-id": "$context.identity.accountId",
                "http-method": "POST",
                "request-id": "r-1",
                "source-ip": "1.2.3.4"
            }
        })
    );
}

#[test]
fn jsonpath_work_is_bounded() {
    // The same wildcard path in a loop is evaluated once.
    let out = r("#foreach($i in [1..1000])#set($ids = $input.json('$.list[*].id'))#end$ids");
    assert_eq!(out, "[1,2]");
    // Many distinct wildcard or filter paths run out of steps.
    let err = render_err("#foreach($i in [1..200])$input.json(\"$.list[?(@.id > $i)].id\")#end");
    assert!(err.message.contains("steps"), "{err}");
    // Reference paths are cheap walks.
    assert_eq!(
        r("#foreach($i in [0..999])#set($x = $input.json(\"$.a.b[0]\"))#end$x"),
        "1"
    );
}
