//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`,
//! `Assign`, `Credentials` and friends.
//!
//! Owns compiling a JSON template once (keys ending in `.$` hold a path or an
//! intrinsic call; everything else is copied) and evaluating it per state
//! entry. It must not know which field it fills or where `$` points: the
//! caller passes the [`PathEnv`] and the field name used in causes.
//!
//! Compiling is linear in the template's size times its depth (at most 128
//! levels in a parsed definition): locations are built in one buffer rather
//! than copied per key, which made a long key above a wide object quadratic.
//! Evaluating is bounded too: all the paths of one template (intrinsic
//! arguments included) share one [`crate::path::EVAL_BUDGET`].

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostics;
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::intrinsics::Intrinsic;
use crate::path::{Budget, EVAL_BUDGET, Path, PathEnv};

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
        self.eval_within(field, env, entropy, &Budget::new(EVAL_BUDGET))
    }

    fn eval_within(
        &self,
        field: &str,
        env: &PathEnv<'_>,
        entropy: &mut dyn Entropy,
        budget: &Budget,
    ) -> Result<Value, Failure> {
        match self {
            Expression::Path(p) => p.select_within(env, budget).ok_or_else(|| {
                if budget.exhausted() {
                    over_budget(p, field)
                } else {
                    path_not_found(p, field, env)
                }
            }),
            Expression::Intrinsic(i) => i.eval_within(env, entropy, budget),
        }
    }
}

/// The cause when evaluating a template's paths needs more work than
/// [`EVAL_BUDGET`] allows (an exponential deep scan, a quadratic filter).
/// AWS has no such limit; its evaluator would run for as long.
fn over_budget(path: &Path, field: &str) -> Failure {
    Failure::runtime(format!(
        "The JSONPath '{}' specified for the field '{}' needs more work to evaluate than the limit allows",
        path.text(),
        field
    ))
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
        compile_at(value, &mut PointerBuf::new(location), diags)
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

    /// Evaluates the template. All its paths and intrinsic calls share one
    /// [`EVAL_BUDGET`], so that a template of many expensive paths costs no
    /// more than one.
    pub fn eval(&self, env: &PathEnv<'_>, entropy: &mut dyn Entropy) -> Result<Value, Failure> {
        self.eval_within(env, entropy, &Budget::new(EVAL_BUDGET))
    }

    fn eval_within(
        &self,
        env: &PathEnv<'_>,
        entropy: &mut dyn Entropy,
        budget: &Budget,
    ) -> Result<Value, Failure> {
        match self {
            Template::Static(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut out = Map::with_capacity(entries.len());
                for (key, entry) in entries {
                    let v = match entry {
                        Entry::Value(t) => t.eval_within(env, entropy, budget)?,
                        Entry::Dynamic { field, expression } => {
                            expression.eval_within(field, env, entropy, budget)?
                        }
                    };
                    out.insert(key.to_string(), v);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.eval_within(env, entropy, budget))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }
}

/// [`Template::compile`] with the location in a buffer that each level
/// extends and truncates back.
fn compile_at(value: &Value, location: &mut PointerBuf, diags: &mut Diagnostics) -> Template {
    match value {
        Value::Object(map) => {
            if !contains_dynamic(value) {
                return Template::Static(value.clone());
            }
            let mut entries = Vec::with_capacity(map.len());
            for (key, v) in map {
                if let Some(out_key) = key.strip_suffix(".$") {
                    match v {
                        Value::String(text) => {
                            // AWS names the object, not the entry, here.
                            let expression =
                                Expression::compile(text, key, location.as_str(), diags);
                            if let Some(expression) = expression {
                                entries.push((
                                    Arc::from(out_key),
                                    Entry::Dynamic {
                                        field: Arc::from(key.as_str()),
                                        expression,
                                    },
                                ));
                            }
                        }
                        _ => {
                            let mark = location.push(key);
                            diags.schema(
                                location.as_str(),
                                format!(
                                    "The value for the field '{key}' must be a STRING that contains a JSONPath or an intrinsic function call"
                                ),
                            );
                            location.truncate(mark);
                        }
                    }
                } else {
                    let mark = location.push(key);
                    let template = compile_at(v, location, diags);
                    location.truncate(mark);
                    entries.push((Arc::from(key.as_str()), Entry::Value(template)));
                }
            }
            Template::Object(entries)
        }
        Value::Array(items) if contains_dynamic(value) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                let mark = location.push_index(i);
                out.push(compile_at(v, location, diags));
                location.truncate(mark);
            }
            Template::Array(out)
        }
        other => Template::Static(other.clone()),
    }
}

/// A JSON pointer that a walk over a value extends and truncates in place,
/// so that visiting a node costs its own segment, not its whole location.
/// Escapes as [`crate::diagnostic::pointer_push`] does.
#[derive(Debug)]
pub(crate) struct PointerBuf {
    /// Empty for the root (`/`).
    text: String,
}

impl PointerBuf {
    /// Starts at `pointer` (`/` is the root).
    pub(crate) fn new(pointer: &str) -> Self {
        PointerBuf {
            text: if pointer == "/" {
                String::new()
            } else {
                pointer.to_owned()
            },
        }
    }

    /// The pointer as [`crate::diagnostic::pointer_push`] would have built it.
    pub(crate) fn as_str(&self) -> &str {
        if self.text.is_empty() {
            "/"
        } else {
            &self.text
        }
    }

    /// Appends `/segment`; returns the mark to [`PointerBuf::truncate`] to.
    pub(crate) fn push(&mut self, segment: &str) -> usize {
        let mark = self.text.len();
        self.text.push('/');
        for c in segment.chars() {
            match c {
                '~' => self.text.push_str("~0"),
                '/' => self.text.push_str("~1"),
                c => self.text.push(c),
            }
        }
        mark
    }

    /// Appends `/index`.
    pub(crate) fn push_index(&mut self, index: usize) -> usize {
        let mark = self.text.len();
        // Writing to a String cannot fail.
        let _ = write!(self.text, "/{index}");
        mark
    }

    /// Goes back to what it was before the `push` that returned `mark`.
    pub(crate) fn truncate(&mut self, mark: usize) {
        self.text.truncate(mark);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_key_above_a_wide_template_compiles_in_linear_time() {
        // Each entry used to get its own copy of the (500 KB) location.
        let key = "K".repeat(500_000);
        let mut inner = Map::new();
        for i in 0..60_000 {
            inner.insert(format!("k{i}"), json!([]));
        }
        inner.insert("d.$".into(), json!("$.x"));
        inner.insert("bad.$".into(), json!(1));
        let mut outer = Map::new();
        outer.insert(key.clone(), Value::Object(inner));
        let mut diags = Diagnostics::new();
        let started = std::time::Instant::now();
        let template = Template::compile(&Value::Object(outer), "/States/P/Parameters", &mut diags);
        let took = started.elapsed();
        assert!(took.as_secs() < 5, "took {took:?}");
        assert!(matches!(template, Template::Object(_)));
        let locations: Vec<&str> = diags.items().iter().map(|d| d.location.as_str()).collect();
        assert_eq!(locations, [format!("/States/P/Parameters/{key}/bad.$")]);
    }

    /// `{"a": {"a": ... 1}}`, `depth` levels.
    fn chain(depth: usize) -> Value {
        let mut doc = json!(1);
        for _ in 0..depth {
            let mut map = Map::new();
            map.insert("a".into(), doc);
            doc = Value::Object(map);
        }
        doc
    }

    #[test]
    fn template_paths_share_one_budget() {
        // Each `$..*..*` copies ~35,000 nodes of a 60-level chain: fine once,
        // but a template of many would multiply the work without a shared
        // budget.
        let doc = chain(60);
        let env = PathEnv {
            input: &doc,
            context: &doc,
            variables: &crate::path::NoVariables,
        };
        let mut template = Map::new();
        for i in 0..200 {
            template.insert(format!("k{i}.$"), json!("$..*..*"));
        }
        let mut diags = Diagnostics::new();
        let template = Template::compile(&Value::Object(template), "/", &mut diags);
        let started = std::time::Instant::now();
        let failure = template
            .eval(&env, &mut crate::entropy::SplitMix64(1))
            .err()
            .and_then(|f| f.cause);
        assert!(started.elapsed().as_secs() < 10);
        // Which entry runs out depends on the cost model; one of them does.
        assert!(
            failure.as_deref().is_some_and(|c| c
                .starts_with("The JSONPath '$..*..*' specified for the field 'k")
                && c.ends_with("' needs more work to evaluate than the limit allows")),
            "{failure:?}"
        );
        // One of them alone is fine.
        let one = Expression::Path(Path::parse("$..*..*").unwrap_or_else(|e| panic!("{e}")));
        let found = one.eval("k.$", &env, &mut crate::entropy::SplitMix64(1));
        assert_eq!(
            found.ok().and_then(|v| v.as_array().map(Vec::len)),
            Some(1770)
        );
    }

    #[test]
    fn template_locations_are_json_pointers() {
        let template = json!({"a/b": [{"c~d": {"x.$": 2}}, {"y.$": "nope"}], "z.$": "$.ok"});
        let mut diags = Diagnostics::new();
        Template::compile(&template, "/", &mut diags);
        let locations: Vec<&str> = diags.items().iter().map(|d| d.location.as_str()).collect();
        assert_eq!(locations, ["/a~1b/0/c~0d/x.$", "/a~1b/1"]);
    }
}
