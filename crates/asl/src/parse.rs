//! Parsing and validating ASL JSON into a [`Definition`].
//!
//! Owns every definition-time rule of `ValidateStateMachineDefinition`:
//! required and unknown fields, field types, transitions, reachability,
//! duplicate names, `States.ALL` placement, path and intrinsic syntax. Each
//! finding is a [`Diagnostic`] with a JSON-pointer location. It must not run
//! anything.
//!
//! Messages use AWS's wording where it is known (see the tests under
//! `tests/parse_*.rs`); codes are AWS's. Parsing never stops at the first
//! problem: one run reports everything it can, like AWS's validator.

mod fields;
mod graph;
mod json;
mod resource;
mod states;

use serde_json::Value;

use crate::definition::Definition;
use crate::diagnostic::{Diagnostic, Diagnostics, codes};

/// The kind of state machine a definition is created as. Express state
/// machines refuse `.sync` and `.waitForTaskToken` integrations and activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StateMachineType {
    /// `STANDARD` (the default).
    #[default]
    Standard,
    /// `EXPRESS`.
    Express,
}

/// What a definition is checked against, besides its own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ParseOptions {
    /// `STANDARD` or `EXPRESS`.
    pub state_machine_type: StateMachineType,
}

/// Parses and validates a definition given as JSON text, as a `STANDARD`
/// state machine. `Err` holds every diagnostic (warnings included) when at
/// least one is an error.
pub fn parse_definition(text: &str) -> Result<Definition, Vec<Diagnostic>> {
    parse_definition_with(text, &ParseOptions::default())
}

/// Like [`parse_definition`], with explicit options (e.g. `EXPRESS`).
pub fn parse_definition_with(
    text: &str,
    options: &ParseOptions,
) -> Result<Definition, Vec<Diagnostic>> {
    let (definition, diags) = run_text(text, options);
    finish(definition, diags)
}

/// Parses and validates a definition that is already a JSON value. Values
/// nested deeper than JSON text may be (128 levels) are refused rather than
/// walked, so any value is safe to pass.
pub fn parse_definition_value(
    value: &Value,
    options: &ParseOptions,
) -> Result<Definition, Vec<Diagnostic>> {
    let (definition, diags) = run_value(value, &[], options);
    finish(definition, diags)
}

/// Every diagnostic for a definition given as JSON text, warnings included
/// (empty when it is valid and clean). For `stepgate validate`.
pub fn validate_definition(text: &str, options: &ParseOptions) -> Vec<Diagnostic> {
    run_text(text, options).1.into_vec()
}

fn run_text(text: &str, options: &ParseOptions) -> (Option<Definition>, Diagnostics) {
    if text.trim().is_empty() {
        let mut diags = Diagnostics::new();
        // AWS's answer to an empty definition.
        diags.schema("/", "Definition must be a valid JSON object");
        return (None, diags);
    }
    match json::parse(text) {
        Ok((value, duplicates)) => run_value(&value, &duplicates, options),
        Err(e) => {
            let mut diags = Diagnostics::new();
            diags.error(codes::INVALID_JSON_DESCRIPTION, "/", json_error_message(&e));
            (None, diags)
        }
    }
}

fn run_value(
    value: &Value,
    duplicates: &[json::DuplicateKey],
    options: &ParseOptions,
) -> (Option<Definition>, Diagnostics) {
    if json::depth_exceeds(value, json::MAX_DEPTH) {
        let mut diags = Diagnostics::new();
        diags.schema(
            "/",
            format!(
                "The definition nests arrays and objects more than {} levels deep",
                json::MAX_DEPTH
            ),
        );
        return (None, diags);
    }
    let mut builder = states::Builder::new(options, duplicates);
    let definition = builder.definition(value);
    (definition, builder.diags)
}

fn finish(
    definition: Option<Definition>,
    diags: Diagnostics,
) -> Result<Definition, Vec<Diagnostic>> {
    match definition {
        Some(d) if !diags.has_errors() => Ok(d),
        _ => Err(diags.into_vec()),
    }
}

/// serde_json's message already ends with "at line L column C"; only the
/// depth limit gets a plainer explanation.
fn json_error_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        format!(
            "Invalid JSON: arrays and objects are nested more than {} levels deep (at line {} column {})",
            json::MAX_DEPTH,
            e.line(),
            e.column()
        )
    } else {
        format!("Invalid JSON: {text}")
    }
}
