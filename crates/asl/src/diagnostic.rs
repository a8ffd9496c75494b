//! Validation diagnostics, as `ValidateStateMachineDefinition` reports them.
//!
//! Owns the [`Diagnostic`] value (code, message, JSON-pointer location) and the
//! [`Diagnostics`] collector that the definition parser threads through every
//! field. It must not decide what is valid: the parsers in `definition`,
//! `states`, `choice`, `path` and `intrinsics` do; this module only records.

use std::fmt;

use serde::Serialize;

/// How bad a diagnostic is. AWS reports `ERROR` (the definition is refused) and
/// `WARNING` (accepted, but probably not what the author meant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// The definition is refused.
    Error,
    /// The definition is accepted.
    Warning,
}

/// One finding about a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// `ERROR` or `WARNING`.
    pub severity: Severity,
    /// AWS's code, e.g. `SCHEMA_VALIDATION_FAILED`, `INVALID_JSON_DESCRIPTION`,
    /// `MISSING_TRANSITION_TARGET`, `MISSING_END_STATE`.
    pub code: &'static str,
    /// What is wrong and, where possible, what would fix it.
    pub message: String,
    /// JSON-pointer-like location, e.g. `/States/Foo/Next`; `/` for the root.
    pub location: String,
}

impl fmt::Display for Diagnostic {
    /// AWS's `InvalidDefinition` cause format: `CODE: message at /location`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} at {}", self.code, self.message, self.location)
    }
}

/// Diagnostic codes AWS uses.
pub mod codes {
    /// A field is missing, unknown, of the wrong type or has an invalid value.
    pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    /// The document is not JSON.
    pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
    /// `Next`, `Default` or `StartAt` names a state that does not exist.
    pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    /// Two states share a name (names are unique across nested scopes too).
    pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    /// No state of a scope ends it (`End`, Succeed or Fail).
    pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
    /// A state name is empty, too long or has forbidden characters.
    pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
    /// A Map `Label` is invalid.
    pub const INVALID_LABEL_NAME: &str = "INVALID_LABEL_NAME";
    /// Two Map states share a `Label`.
    pub const DUPLICATE_LABEL_NAME: &str = "DUPLICATE_LABEL_NAME";
    /// Warning: a key without `.$` holds what looks like a path.
    pub const NO_DOLLAR: &str = "NO_DOLLAR";
    /// Warning: a `.$` key holds a plain string.
    pub const NO_PATH: &str = "NO_PATH";
    /// Warning: a Pass state's `Result` makes its input irrelevant.
    pub const PASS_RESULT_IS_STATIC: &str = "PASS_RESULT_IS_STATIC";
    /// A feature stepgate does not implement yet.
    pub const NOT_SUPPORTED_YET: &str = "NOT_SUPPORTED_YET";
}

/// Collects diagnostics while a definition is parsed.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error.
    pub fn error(&mut self, code: &'static str, location: &str, message: impl Into<String>) {
        self.items.push(Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: if location.is_empty() {
                "/".to_owned()
            } else {
                location.to_owned()
            },
        });
    }

    /// Records a `SCHEMA_VALIDATION_FAILED` error, the most common kind.
    pub fn schema(&mut self, location: &str, message: impl Into<String>) {
        self.error(codes::SCHEMA_VALIDATION_FAILED, location, message);
    }

    /// Records a warning.
    pub fn warning(&mut self, code: &'static str, location: &str, message: impl Into<String>) {
        self.items.push(Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            location: if location.is_empty() {
                "/".to_owned()
            } else {
                location.to_owned()
            },
        });
    }

    /// Whether any error (not warning) was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// All diagnostics in the order they were found.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    /// Takes the diagnostics out.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

/// Appends a JSON-pointer segment, escaping `~` and `/` as RFC 6901 says.
pub fn pointer_push(base: &str, segment: &str) -> String {
    let mut out = String::with_capacity(base.len() + segment.len() + 1);
    out.push_str(if base == "/" { "" } else { base });
    out.push('/');
    for c in segment.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}
