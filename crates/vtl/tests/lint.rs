//! `Template::lint`: the two seed-template mistakes from research §D.1.

use vtl::Template;

fn lint(text: &str) -> Vec<vtl::Warning> {
    Template::parse(text).expect("parses").lint()
}

#[test]
fn one_backslash_replace_all_is_flagged_with_its_position() {
    // What a template written with 2 backslashes inside a JSON or TypeScript
    // string becomes: the regex \' matches a plain quote.
    let warnings = lint(
        "{\n  \"input\": \"$util.escapeJavaScript($input.json('$')).replaceAll(\"\\'\", \"'\")\"\n}",
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!((warnings[0].line, warnings[0].column), (2, 54));
    assert!(
        warnings[0].message.contains("invalid JSON"),
        "{}",
        warnings[0].message
    );
    let replace_first = lint("$s.replaceFirst('\\''', '')");
    assert_eq!(replace_first.len(), 1);
}

#[test]
fn two_backslashes_are_not_flagged() {
    assert!(lint("$util.escapeJavaScript($input.body).replaceAll(\"\\\\'\", \"'\")").is_empty());
    assert!(lint("$s.replaceAll(\"'\", \"\")").is_empty());
    assert!(lint("$s.replace(\"\\'\", \"'\")").is_empty());
}

#[test]
fn flagged_inside_directives_and_strings() {
    assert_eq!(lint("#set($x = $s.replaceAll(\"\\'\", \"'\"))").len(), 1);
    assert_eq!(
        lint("#if($a)#set($x = \"${s.replaceAll('\\''', '')}\")#end").len(),
        1
    );
}

#[test]
fn shadowed_input_then_request_access_is_flagged() {
    let text = "#set($input = $input.json('$'))\n{\"sig\": \"$input.params('X-Hub-Signature')\",\n \"b\": $input.body, \"p\": $input.path('$.a'), \"j\": $input.json('$')}";
    let warnings = lint(text);
    let positions: Vec<(usize, usize)> = warnings.iter().map(|w| (w.line, w.column)).collect();
    assert_eq!(positions, [(2, 10), (3, 7), (3, 25), (3, 50)]);
    assert!(
        warnings[0].message.contains("$input.params"),
        "{}",
        warnings[0].message
    );
}

#[test]
fn request_access_before_the_shadowing_set_is_fine() {
    assert!(lint("$input.params('a')\n#set($input = $input.json('$'))\n$input").is_empty());
    assert!(lint("#set($body = $input.json('$'))\n$input.params('a')").is_empty());
    // Other methods on the shadowed value are not request access.
    assert!(lint("#set($input = $input.json('$'))\n$input.length()").is_empty());
}

#[test]
fn warning_display_has_position() {
    let warnings = lint("#set($input = 1)\n$input.body");
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].to_string().starts_with("line 2, column 1: "),
        "{}",
        warnings[0]
    );
}
