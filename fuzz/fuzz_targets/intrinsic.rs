//! Any string as an intrinsic call, evaluated against a fixed document: no panic.
#![no_main]

use asl::entropy::SplitMix64;
use asl::intrinsics::Intrinsic;
use asl::path::{NoVariables, PathEnv};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(call) = Intrinsic::parse(text) {
            let doc = json!({"a": [1, 2, 2], "s": "a,b", "n": 3, "o": {"k": 1}});
            let env = PathEnv { input: &doc, context: &doc, variables: &NoVariables };
            let _ = call.eval(&env, &mut SplitMix64(7));
        }
    }
});
