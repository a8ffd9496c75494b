//! Any valid definition run on a fixed input with a virtual clock: no panic,
//! and every execution ends (loops end at the 25,000-event history limit).
#![no_main]

use std::sync::Arc;

use asl::entropy::SplitMix64;
use asl::interpreter::{ExecutionInfo, Options, Status};
use asl::runner::{NoTaskHandlers, VirtualClock, run_to_completion};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(def) = asl::parse::parse_definition(text) {
            let result = run_to_completion(
                Arc::new(def),
                ExecutionInfo::local("fuzz", "fuzz", 0),
                Options::default(),
                json!({"a": [1, 2, 3], "s": "x", "n": 1}),
                &mut NoTaskHandlers,
                &mut VirtualClock(0),
                &mut SplitMix64(1),
            );
            assert!(!matches!(result.status, Status::Running));
        }
    }
});
