//! Whole-scope checks: every state reachable from `StartAt`, and at least one
//! terminal state.
//!
//! Works on the raw JSON of a `States` object rather than the typed states, so
//! that a state which failed to parse (unknown `Type`, a bad Choice rule...)
//! still contributes its transitions and does not make its targets look
//! unreachable.

use std::collections::HashSet;

use serde_json::Value;

use super::fields::Obj;
use crate::diagnostic::{Diagnostics, codes, pointer_push};

/// Checks one scope's `States` (at `states_location`, the scope itself at
/// `scope_location`). `start_at` is only followed if it names a state.
pub(super) fn check_scope(
    states: &Obj,
    start_at: Option<&str>,
    states_location: &str,
    scope_location: &str,
    diags: &mut Diagnostics,
) {
    if states.is_empty() {
        return;
    }
    if let Some((start, _)) = start_at.and_then(|s| states.get_key_value(s)) {
        let mut seen: HashSet<&str> = HashSet::with_capacity(states.len());
        let mut stack = vec![start.as_str()];
        while let Some(name) = stack.pop() {
            if !seen.insert(name) {
                continue;
            }
            if let Some(state) = states.get(name) {
                for target in targets(state) {
                    if let Some((key, _)) = states.get_key_value(target)
                        && !seen.contains(key.as_str())
                    {
                        stack.push(key);
                    }
                }
            }
        }
        for name in states.keys() {
            if !seen.contains(name.as_str()) {
                // AWS's code and text for this, recorded by LocalStack (PR 12487).
                diags.error(
                    codes::MISSING_TRANSITION_TARGET,
                    &pointer_push(states_location, name),
                    format!("State \"{name}\" is not reachable."),
                );
            }
        }
    }
    if !states.values().any(is_terminal) {
        diags.error(
            codes::MISSING_END_STATE,
            scope_location,
            "Workflow has no terminal state",
        );
    }
}

/// Names a state can go to: `Next`, `Default`, each Choice rule's `Next` and
/// each catcher's `Next`.
fn targets(state: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    for key in ["Next", "Default"] {
        if let Some(Value::String(s)) = state.get(key) {
            out.push(s.as_str());
        }
    }
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(items)) = state.get(list) {
            out.extend(
                items
                    .iter()
                    .filter_map(|item| item.get("Next").and_then(Value::as_str)),
            );
        }
    }
    out
}

/// Terminal, or reported already: a non-Choice state with neither `Next`
/// nor `End: true` has its own error, and blaming the scope as well would
/// only repeat it.
fn is_terminal(state: &Value) -> bool {
    let ty = state.get("Type").and_then(Value::as_str);
    matches!(ty, Some("Succeed" | "Fail"))
        || state.get("End") == Some(&Value::Bool(true))
        || (ty != Some("Choice") && state.get("Next").is_none())
}
