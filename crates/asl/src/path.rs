//! ASL paths: JSONPath as Step Functions evaluates it (Jayway semantics).
//!
//! Owns parsing and evaluating `$...` (the state input), `$$...` (the context
//! object) and `$name...` (workflow variables), the distinction between ASL
//! "Paths" (may select many nodes) and "Reference Paths" (definite: one node),
//! and writing a value at a reference path (for `ResultPath`). It must not
//! know about states or format state-specific error causes: callers do that
//! with [`Path::text`] and [`Path::normalized`].

use std::fmt;

use serde_json::Value;

/// Where workflow variables (`$name`) are looked up.
pub trait Variables {
    /// The current value of variable `name`, if it is defined in scope.
    fn get(&self, name: &str) -> Option<&Value>;
}

/// No variables in scope.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVariables;

impl Variables for NoVariables {
    fn get(&self, _name: &str) -> Option<&Value> {
        None
    }
}

/// What a path is evaluated against.
#[derive(Clone, Copy)]
pub struct PathEnv<'a> {
    /// `$`: the effective input of the field being evaluated.
    pub input: &'a Value,
    /// `$$`: the context object.
    pub context: &'a Value,
    /// `$name`: workflow variables.
    pub variables: &'a dyn Variables,
}

impl fmt::Debug for PathEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathEnv").field("input", self.input).field("context", self.context).finish()
    }
}

/// What a path starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRoot {
    /// `$`
    Input,
    /// `$$`
    Context,
    /// `$name`
    Variable(String),
}

/// A syntax error in a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath '{text}': {reason}")]
pub struct PathError {
    /// The path as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

/// Why a value could not be written at a reference path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetPathError(pub String);

/// A parsed ASL path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    root: PathRoot,
}

impl Path {
    /// Parses a path (`$`, `$.a.b[0]`, `$$.Execution.Id`, `$var.x`, `$..a`, `$.a[*]`, filters...).
    pub fn parse(text: &str) -> Result<Path, PathError> {
        Err(PathError { text: text.to_owned(), reason: "path parsing is being implemented".into() })
    }

    /// The path exactly as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the path starts from.
    pub fn root(&self) -> &PathRoot {
        &self.root
    }

    /// Whether this is a Reference Path (selects at most one node: names and
    /// indices only, no wildcards, filters, slices, unions or deep scans).
    pub fn is_definite(&self) -> bool {
        false
    }

    /// Whether the path reads the context object.
    pub fn uses_context(&self) -> bool {
        self.root == PathRoot::Context
    }

    /// Jayway's normalized form, e.g. `$['a'][0]`, as quoted in AWS's causes
    /// ("No results for path: $['NoSuchInputPath']").
    pub fn normalized(&self) -> String {
        self.text.clone()
    }

    /// Evaluates the path as an ASL "Path": a definite path gives the node it
    /// names (`None` when it does not exist); an indefinite path gives the
    /// array of the nodes it matches.
    pub fn select(&self, env: &PathEnv<'_>) -> Option<Value> {
        let _ = env;
        None
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Writes `value` at the reference path `path` inside `target` (for
/// `ResultPath`), creating intermediate objects as AWS does. `$` replaces
/// `target` entirely.
pub fn set_at_reference_path(target: &mut Value, path: &Path, value: Value) -> Result<(), SetPathError> {
    let _ = (target, path, value);
    Err(SetPathError("not implemented".into()))
}
