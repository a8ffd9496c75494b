//! Any string as a JSONPath, evaluated against a fixed document: no panic.
#![no_main]

use asl::path::{NoVariables, Path, PathEnv};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(path) = Path::parse(text) {
            let doc = json!({"a": [1, {"b": "x"}, [2, 3]], "c": {"d": null}, "e": "s"});
            let env = PathEnv { input: &doc, context: &doc, variables: &NoVariables };
            let _ = path.select(&env);
            let _ = path.normalized();
            let printed = path.to_string();
            assert_eq!(Path::parse(&printed).ok().as_ref(), Some(&path), "print/parse round trip: {printed}");
        }
    }
});
