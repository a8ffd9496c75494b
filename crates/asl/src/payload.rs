//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`,
//! `Assign`, `Credentials` and friends.
//!
//! Owns compiling a JSON template once (keys ending in `.$` hold a path or an
//! intrinsic call; everything else is copied) and evaluating it per state
//! entry. It must not know which field it fills or where `$` points: the
//! caller passes the [`PathEnv`] and the field name used in causes.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostics, pointer_push};
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::intrinsics::Intrinsic;
use crate::path::{Path, PathEnv};

/// A value selected at run time by a `.$` key.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// A path (`$.a`, `$$.Execution.Id`, `$var`).
    Path(Path),
    /// An intrinsic call (`States.Format(...)`).
    Intrinsic(Intrinsic),
}

impl Expression {
    /// Parses the string value of a `.$` key; `field` is the key (with `.$`),
    /// named in the diagnostic as AWS does.
    pub fn compile(
        text: &str,
        field: &str,
        location: &str,
        diags: &mut Diagnostics,
    ) -> Option<Self> {
        let parsed = if Intrinsic::looks_like_call(text) {
            Intrinsic::parse(text).map(Expression::Intrinsic).ok()
        } else {
            Path::parse(text).map(Expression::Path).ok()
        };
        if parsed.is_none() {
            diags.schema(
                location,
                format!("The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"),
            );
        }
        parsed
    }

    /// Whether evaluating this reads the context object.
    pub fn uses_context(&self) -> bool {
        match self {
            Expression::Path(p) => p.uses_context(),
            Expression::Intrinsic(i) => i.uses_context(),
        }
    }

    /// Evaluates the expression. `field` names the key in AWS's cause text
    /// when a path selects nothing.
    pub fn eval(
        &self,
        field: &str,
        env: &PathEnv<'_>,
        entropy: &mut dyn Entropy,
    ) -> Result<Value, Failure> {
        match self {
            Expression::Path(p) => p.select(env).ok_or_else(|| path_not_found(p, field, env)),
            Expression::Intrinsic(i) => i.eval(env, entropy),
        }
    }
}

/// AWS's cause when a path in a payload template selects nothing.
pub fn path_not_found(path: &Path, field: &str, env: &PathEnv<'_>) -> Failure {
    Failure::runtime(format!(
        "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
        path.text(),
        field,
        compact_json(env.input)
    ))
}

/// JSON text as AWS prints values inside causes.
pub fn compact_json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A compiled template node.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// Copied as is.
    Static(Value),
    /// An object whose entries may be dynamic.
    Object(Vec<(Arc<str>, Entry)>),
    /// An array whose elements may be dynamic.
    Array(Vec<Template>),
}

/// One entry of an object template.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// `"key": <template>`.
    Value(Template),
    /// `"key.$": "<path or intrinsic>"`; the stored key is the output key
    /// (without `.$`), the original key is kept for cause texts.
    Dynamic {
        /// The key as written, with `.$`.
        field: Arc<str>,
        /// What to evaluate.
        expression: Expression,
    },
}

impl Template {
    /// Compiles a template at `location`, reporting bad `.$` entries.
    pub fn compile(value: &Value, location: &str, diags: &mut Diagnostics) -> Template {
        match value {
            Value::Object(map) => {
                if !contains_dynamic(value) {
                    return Template::Static(value.clone());
                }
                let mut entries = Vec::with_capacity(map.len());
                for (key, v) in map {
                    let loc = pointer_push(location, key);
                    if let Some(out_key) = key.strip_suffix(".$") {
                        match v {
                            Value::String(text) => {
                                if let Some(expression) = Expression::compile(text, key, location, diags) {
                                    entries.push((
                                        Arc::from(out_key),
                                        Entry::Dynamic { field: Arc::from(key.as_str()), expression },
                                    ));
                                }
                            }
                            _ => diags.schema(
                                &loc,
                                format!(
                                    "The value for the field '{key}' must be a STRING that contains a JSONPath or an intrinsic function call"
                                ),
                            ),
                        }
                    } else {
                        entries.push((
                            Arc::from(key.as_str()),
                            Entry::Value(Template::compile(v, &loc, diags)),
                        ));
                    }
                }
                Template::Object(entries)
            }
            Value::Array(items) if contains_dynamic(value) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        Template::compile(v, &pointer_push(location, &i.to_string()), diags)
                    })
                    .collect(),
            ),
            other => Template::Static(other.clone()),
        }
    }

    /// Whether evaluating this reads the context object.
    pub fn uses_context(&self) -> bool {
        match self {
            Template::Static(_) => false,
            Template::Object(entries) => entries.iter().any(|(_, e)| match e {
                Entry::Value(t) => t.uses_context(),
                Entry::Dynamic { expression, .. } => expression.uses_context(),
            }),
            Template::Array(items) => items.iter().any(Template::uses_context),
        }
    }

    /// Evaluates the template.
    pub fn eval(&self, env: &PathEnv<'_>, entropy: &mut dyn Entropy) -> Result<Value, Failure> {
        match self {
            Template::Static(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut out = Map::with_capacity(entries.len());
                for (key, entry) in entries {
                    let v = match entry {
                        Entry::Value(t) => t.eval(env, entropy)?,
                        Entry::Dynamic { field, expression } => {
                            expression.eval(field, env, entropy)?
                        }
                    };
                    out.insert(key.to_string(), v);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.eval(env, entropy))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }
}

fn contains_dynamic(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.ends_with(".$") || contains_dynamic(v)),
        Value::Array(items) => items.iter().any(contains_dynamic),
        _ => false,
    }
}
