//! Any text as a mapping template, rendered against a body taken from the
//! same input: parsing, rendering and linting must not panic, and a template
//! that parses must render the same way twice (rendering is pure).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use vtl::{Context, Input, Template};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A NUL splits the input into template and body, so the fuzzer can
    // explore both.
    let (template, body) = text.split_once('\0').unwrap_or((text, r#"{"a": [1, {"b": "it's"}], "c": "x"}"#));
    let Ok(template) = Template::parse(template) else {
        return;
    };
    let _ = template.lint();
    let ctx = Context {
        input: Input {
            body: body.to_owned(),
            path: BTreeMap::from([("id".to_owned(), "1".to_owned())]),
            querystring: BTreeMap::from([("q".to_owned(), "x".to_owned())]),
            header: BTreeMap::from([("X-Hub-Signature".to_owned(), "sha1=0".to_owned())]),
        },
        context: json!({"requestId": "r", "identity": {"sourceIp": "127.0.0.1"}}),
        stage_variables: json!({"stage": "test"}),
    };
    let first = template.render(&ctx);
    let second = template.render(&ctx);
    assert_eq!(first, second, "rendering is not deterministic");
});
