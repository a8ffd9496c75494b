//! Choice rules: parsing every comparison operator and evaluating them as AWS does.
//!
//! Owns [`ChoiceRule`] and [`Condition`]: `And`/`Or`/`Not`, the `String*`,
//! `Numeric*`, `Boolean*`, `Timestamp*` comparisons and their `*Path` forms,
//! `StringMatches`, and the `Is*` type tests, with AWS's type strictness. It
//! must not decide transitions: the Choice state in `states` picks `Next` or
//! `Default` from the first rule that matches.

use serde_json::Value;

use crate::diagnostic::Diagnostics;
use crate::failure::Failure;
use crate::path::PathEnv;

/// One top-level entry of a Choice state's `Choices`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    /// What must hold for this rule to match.
    pub condition: Condition,
    /// The state to go to when it matches.
    pub next: String,
    /// The rule's raw `Assign` block, if any (compiled by the Choice state).
    pub assign: Option<Value>,
}

/// A boolean expression over the state input.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Placeholder while the full set of operators is implemented.
    Never,
}

/// Parses one top-level rule (which must have `Next`) at `location`
/// (e.g. `/States/Route/Choices/0`), reporting problems into `diags`.
pub fn parse_choice_rule(value: &Value, location: &str, diags: &mut Diagnostics) -> Option<ChoiceRule> {
    let _ = value;
    diags.schema(location, "Choice rules are being implemented");
    None
}

impl Condition {
    /// Evaluates the condition. A `Variable` path that selects nothing is a
    /// `States.Runtime` failure with AWS's cause text.
    pub fn evaluate(&self, env: &PathEnv<'_>) -> Result<bool, Failure> {
        let _ = env;
        Ok(false)
    }
}
