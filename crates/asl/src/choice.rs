//! Choice rules: parsing every comparison operator and evaluating them as AWS does.
//!
//! Owns [`ChoiceRule`] and [`Condition`]: `And`/`Or`/`Not`, the `String*`,
//! `Numeric*`, `Boolean*`, `Timestamp*` comparisons and their `*Path` forms,
//! `StringMatches`, and the `Is*` type tests, with AWS's type strictness. It
//! must not decide transitions: the Choice state in `states` picks `Next` or
//! `Default` from the first rule that matches.
//!
//! Run-time rules, as recorded against AWS (conformance category
//! `choice_operators`) or reported by AWS users:
//!
//! * A comparison whose `Variable` has the wrong type is simply false
//!   (`NumericEquals` on `"1"`, `StringEquals` on `null`, `BooleanEquals` on
//!   `0`); so is a `*Path` operand of the wrong type.
//! * A `Variable` that selects nothing fails the execution with
//!   `States.Runtime` ("Invalid path '$.x': The choice state's condition path
//!   references an invalid value."), except under `IsPresent`, which exists to
//!   guard exactly that. A `*Path` operand that selects nothing fails the same
//!   way. `And`/`Or` short-circuit, so an `IsPresent` guard placed first
//!   protects the comparisons after it.
//! * Numbers compare by value: `1 == 1.0`. Strings compare like Java's
//!   `String.compareTo` (UTF-16 code units). Timestamps compare as instants
//!   (`…T20:00:55+01:00` equals `…T19:00:55Z`), parsed by
//!   [`crate::timestamp::parse_timestamp`].

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use crate::diagnostic::{Diagnostics, pointer_push};
use crate::failure::Failure;
use crate::path::{Path, PathEnv};
use crate::timestamp::{is_rfc3339_timestamp, parse_timestamp};

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

/// A boolean expression over the state input: a Choice Rule without its `Next`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `And`: every nested rule matches (evaluated in order, stopping at the
    /// first that does not).
    And(Vec<Condition>),
    /// `Or`: some nested rule matches (evaluated in order, stopping at the
    /// first that does).
    Or(Vec<Condition>),
    /// `Not`: the nested rule does not match.
    Not(Box<Condition>),
    /// `Variable` plus one comparison operator.
    Comparison(Comparison),
}

/// A data-test rule: the value at `Variable` tested with one operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// `Variable`: a reference path into the input, the context object
    /// (`$$`) or a workflow variable (`$name`).
    pub variable: Path,
    /// The operator and its operand.
    pub operator: ComparisonOperator,
}

/// The right-hand side of a comparison: the value written in the definition,
/// or (for the `…Path` operators) a reference path read at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand<T> {
    /// e.g. `"NumericEquals": 1`.
    Literal(T),
    /// e.g. `"NumericEqualsPath": "$.limit"`.
    Path(Path),
}

/// A comparison operator, named as in the Amazon States Language. Each
/// `Operand` variant stands for both the literal operator and its `…Path`
/// form ([`ComparisonOperator::name`] gives the exact field name).
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonOperator {
    /// `BooleanEquals` / `BooleanEqualsPath`.
    BooleanEquals(Operand<bool>),
    /// `IsBoolean`: whether the value is (`true`) or is not (`false`) a boolean.
    IsBoolean(bool),
    /// `IsNull`: whether the value is JSON `null`.
    IsNull(bool),
    /// `IsNumeric`: whether the value is a JSON number.
    IsNumeric(bool),
    /// `IsPresent`: whether `Variable` selects anything at all.
    IsPresent(bool),
    /// `IsString`: whether the value is a JSON string.
    IsString(bool),
    /// `IsTimestamp`: whether the value is a string AWS parses as a timestamp.
    IsTimestamp(bool),
    /// `NumericEquals` / `NumericEqualsPath`.
    NumericEquals(Operand<Number>),
    /// `NumericGreaterThan` / `NumericGreaterThanPath`.
    NumericGreaterThan(Operand<Number>),
    /// `NumericGreaterThanEquals` / `NumericGreaterThanEqualsPath`.
    NumericGreaterThanEquals(Operand<Number>),
    /// `NumericLessThan` / `NumericLessThanPath`.
    NumericLessThan(Operand<Number>),
    /// `NumericLessThanEquals` / `NumericLessThanEqualsPath`.
    NumericLessThanEquals(Operand<Number>),
    /// `StringEquals` / `StringEqualsPath`.
    StringEquals(Operand<String>),
    /// `StringGreaterThan` / `StringGreaterThanPath`.
    StringGreaterThan(Operand<String>),
    /// `StringGreaterThanEquals` / `StringGreaterThanEqualsPath`.
    StringGreaterThanEquals(Operand<String>),
    /// `StringLessThan` / `StringLessThanPath`.
    StringLessThan(Operand<String>),
    /// `StringLessThanEquals` / `StringLessThanEqualsPath`.
    StringLessThanEquals(Operand<String>),
    /// `StringMatches` (there is no `StringMatchesPath`).
    StringMatches(WildcardPattern),
    /// `TimestampEquals` / `TimestampEqualsPath`.
    TimestampEquals(Operand<jiff::Timestamp>),
    /// `TimestampGreaterThan` / `TimestampGreaterThanPath`.
    TimestampGreaterThan(Operand<jiff::Timestamp>),
    /// `TimestampGreaterThanEquals` / `TimestampGreaterThanEqualsPath`.
    TimestampGreaterThanEquals(Operand<jiff::Timestamp>),
    /// `TimestampLessThan` / `TimestampLessThanPath`.
    TimestampLessThan(Operand<jiff::Timestamp>),
    /// `TimestampLessThanEquals` / `TimestampLessThanEqualsPath`.
    TimestampLessThanEquals(Operand<jiff::Timestamp>),
}

/// A `StringMatches` pattern: `*` matches any run of characters (including
/// none), `\*` a literal asterisk and `\\` a literal backslash; nothing else
/// is special.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WildcardPattern {
    text: String,
    /// The literal pieces between unescaped `*`s: one more than there are stars.
    pieces: Vec<String>,
}

/// AWS's cause when a Choice rule path selects nothing. The interpreter
/// prefixes it with "An error occurred while executing the state '…' (entered
/// at the event id #…). " like every other state-level cause.
pub fn invalid_path_cause(path: &Path) -> String {
    format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.text()
    )
}

/// Parses one top-level rule (which must have `Next`) at `location`
/// (e.g. `/States/Route/Choices/0`), reporting problems into `diags`.
///
/// Returns `None` if the rule has any error; every error found is reported,
/// not just the first.
pub fn parse_choice_rule(
    value: &Value,
    location: &str,
    diags: &mut Diagnostics,
) -> Option<ChoiceRule> {
    let mut parser = RuleParser {
        diags,
        failed: false,
    };
    let Some(object) = value.as_object() else {
        parser.error(location, "Expected value of type Object");
        return None;
    };
    let next = match object.get("Next") {
        Some(Value::String(next)) => Some(next.clone()),
        Some(_) => {
            parser.error(
                &pointer_push(location, "Next"),
                "Expected value of type String",
            );
            None
        }
        None => {
            parser.error(location, "These fields are required: [Next]");
            None
        }
    };
    // JSONPath-mode Assign is a payload template the Choice state compiles;
    // keeping it raw avoids a second template compiler here.
    let assign = object.get("Assign").cloned();
    let condition = parser.condition(object, location, Level::Top);
    if parser.failed {
        return None;
    }
    Some(ChoiceRule {
        condition: condition?,
        next: next?,
        assign,
    })
}

impl Condition {
    /// Evaluates the condition. A `Variable` path that selects nothing is a
    /// `States.Runtime` failure with AWS's cause text.
    pub fn evaluate(&self, env: &PathEnv<'_>) -> Result<bool, Failure> {
        match self {
            Condition::And(rules) => {
                for rule in rules {
                    if !rule.evaluate(env)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(rules) => {
                for rule in rules {
                    if rule.evaluate(env)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(rule) => Ok(!rule.evaluate(env)?),
            Condition::Comparison(comparison) => comparison.evaluate(env),
        }
    }

    /// Whether evaluating this reads the context object (`$$…`) in a
    /// `Variable` or a `…Path` operand, so callers can skip building it.
    pub fn uses_context(&self) -> bool {
        match self {
            Condition::And(rules) | Condition::Or(rules) => {
                rules.iter().any(Condition::uses_context)
            }
            Condition::Not(rule) => rule.uses_context(),
            Condition::Comparison(comparison) => {
                comparison.variable.uses_context()
                    || comparison
                        .operator
                        .operand_path()
                        .is_some_and(Path::uses_context)
            }
        }
    }
}

impl Comparison {
    /// Selects `Variable` and applies the operator.
    pub fn evaluate(&self, env: &PathEnv<'_>) -> Result<bool, Failure> {
        // Parsing admits only reference paths, which `select_ref` reads
        // without copying the selected subtree.
        let selected = self.variable.select_ref(env);
        if let ComparisonOperator::IsPresent(expected) = self.operator {
            return Ok(selected.is_some() == expected);
        }
        match selected {
            Some(value) => self.operator.test(value, env),
            None => Err(Failure::runtime(invalid_path_cause(&self.variable))),
        }
    }
}

impl ComparisonOperator {
    /// The operator's field name as written in the definition, e.g.
    /// `NumericEqualsPath` for `NumericEquals(Operand::Path(_))`.
    pub fn name(&self) -> &'static str {
        use ComparisonOperator as C;
        fn pick<T>(
            operand: &Operand<T>,
            literal: &'static str,
            path: &'static str,
        ) -> &'static str {
            match operand {
                Operand::Literal(_) => literal,
                Operand::Path(_) => path,
            }
        }
        match self {
            C::BooleanEquals(o) => pick(o, "BooleanEquals", "BooleanEqualsPath"),
            C::IsBoolean(_) => "IsBoolean",
            C::IsNull(_) => "IsNull",
            C::IsNumeric(_) => "IsNumeric",
            C::IsPresent(_) => "IsPresent",
            C::IsString(_) => "IsString",
            C::IsTimestamp(_) => "IsTimestamp",
            C::NumericEquals(o) => pick(o, "NumericEquals", "NumericEqualsPath"),
            C::NumericGreaterThan(o) => pick(o, "NumericGreaterThan", "NumericGreaterThanPath"),
            C::NumericGreaterThanEquals(o) => pick(
                o,
                "NumericGreaterThanEquals",
                "NumericGreaterThanEqualsPath",
            ),
            C::NumericLessThan(o) => pick(o, "NumericLessThan", "NumericLessThanPath"),
            C::NumericLessThanEquals(o) => {
                pick(o, "NumericLessThanEquals", "NumericLessThanEqualsPath")
            }
            C::StringEquals(o) => pick(o, "StringEquals", "StringEqualsPath"),
            C::StringGreaterThan(o) => pick(o, "StringGreaterThan", "StringGreaterThanPath"),
            C::StringGreaterThanEquals(o) => {
                pick(o, "StringGreaterThanEquals", "StringGreaterThanEqualsPath")
            }
            C::StringLessThan(o) => pick(o, "StringLessThan", "StringLessThanPath"),
            C::StringLessThanEquals(o) => {
                pick(o, "StringLessThanEquals", "StringLessThanEqualsPath")
            }
            C::StringMatches(_) => "StringMatches",
            C::TimestampEquals(o) => pick(o, "TimestampEquals", "TimestampEqualsPath"),
            C::TimestampGreaterThan(o) => {
                pick(o, "TimestampGreaterThan", "TimestampGreaterThanPath")
            }
            C::TimestampGreaterThanEquals(o) => pick(
                o,
                "TimestampGreaterThanEquals",
                "TimestampGreaterThanEqualsPath",
            ),
            C::TimestampLessThan(o) => pick(o, "TimestampLessThan", "TimestampLessThanPath"),
            C::TimestampLessThanEquals(o) => {
                pick(o, "TimestampLessThanEquals", "TimestampLessThanEqualsPath")
            }
        }
    }

    /// The reference path of a `…Path` operator, `None` for literal operands.
    pub fn operand_path(&self) -> Option<&Path> {
        use ComparisonOperator as C;
        fn path<T>(operand: &Operand<T>) -> Option<&Path> {
            match operand {
                Operand::Literal(_) => None,
                Operand::Path(p) => Some(p),
            }
        }
        match self {
            C::BooleanEquals(o) => path(o),
            C::NumericEquals(o)
            | C::NumericGreaterThan(o)
            | C::NumericGreaterThanEquals(o)
            | C::NumericLessThan(o)
            | C::NumericLessThanEquals(o) => path(o),
            C::StringEquals(o)
            | C::StringGreaterThan(o)
            | C::StringGreaterThanEquals(o)
            | C::StringLessThan(o)
            | C::StringLessThanEquals(o) => path(o),
            C::TimestampEquals(o)
            | C::TimestampGreaterThan(o)
            | C::TimestampGreaterThanEquals(o)
            | C::TimestampLessThan(o)
            | C::TimestampLessThanEquals(o) => path(o),
            C::IsBoolean(_)
            | C::IsNull(_)
            | C::IsNumeric(_)
            | C::IsPresent(_)
            | C::IsString(_)
            | C::IsTimestamp(_)
            | C::StringMatches(_) => None,
        }
    }

    /// Applies the operator to the value `Variable` selected. `env` is only
    /// read by `…Path` operands; one that selects nothing is a
    /// `States.Runtime` failure. `IsPresent` is true here: the value exists.
    pub fn test(&self, variable: &Value, env: &PathEnv<'_>) -> Result<bool, Failure> {
        use ComparisonOperator as C;
        use Relation as R;
        Ok(match self {
            C::BooleanEquals(o) => {
                let operand = o.resolve(env, Value::as_bool)?;
                matches!((variable.as_bool(), operand), (Some(a), Some(b)) if a == *b)
            }
            C::IsBoolean(expected) => variable.is_boolean() == *expected,
            C::IsNull(expected) => variable.is_null() == *expected,
            C::IsNumeric(expected) => variable.is_number() == *expected,
            C::IsPresent(expected) => *expected,
            C::IsString(expected) => variable.is_string() == *expected,
            C::IsTimestamp(expected) => {
                variable.as_str().and_then(parse_timestamp).is_some() == *expected
            }
            C::NumericEquals(o) => numeric(R::Equals, variable, o, env)?,
            C::NumericGreaterThan(o) => numeric(R::GreaterThan, variable, o, env)?,
            C::NumericGreaterThanEquals(o) => numeric(R::GreaterThanEquals, variable, o, env)?,
            C::NumericLessThan(o) => numeric(R::LessThan, variable, o, env)?,
            C::NumericLessThanEquals(o) => numeric(R::LessThanEquals, variable, o, env)?,
            C::StringEquals(o) => string(R::Equals, variable, o, env)?,
            C::StringGreaterThan(o) => string(R::GreaterThan, variable, o, env)?,
            C::StringGreaterThanEquals(o) => string(R::GreaterThanEquals, variable, o, env)?,
            C::StringLessThan(o) => string(R::LessThan, variable, o, env)?,
            C::StringLessThanEquals(o) => string(R::LessThanEquals, variable, o, env)?,
            C::StringMatches(pattern) => variable.as_str().is_some_and(|s| pattern.matches(s)),
            C::TimestampEquals(o) => timestamp(R::Equals, variable, o, env)?,
            C::TimestampGreaterThan(o) => timestamp(R::GreaterThan, variable, o, env)?,
            C::TimestampGreaterThanEquals(o) => timestamp(R::GreaterThanEquals, variable, o, env)?,
            C::TimestampLessThan(o) => timestamp(R::LessThan, variable, o, env)?,
            C::TimestampLessThanEquals(o) => timestamp(R::LessThanEquals, variable, o, env)?,
        })
    }
}

impl<T: Clone> Operand<T> {
    /// The operand's value: the literal, or what the path selects converted
    /// with `convert` (`None` when it has the wrong type, which makes the
    /// comparison false rather than an error).
    fn resolve<'a>(
        &'a self,
        env: &PathEnv<'_>,
        convert: impl FnOnce(&Value) -> Option<T>,
    ) -> Result<Option<Cow<'a, T>>, Failure> {
        match self {
            Operand::Literal(value) => Ok(Some(Cow::Borrowed(value))),
            Operand::Path(path) => match path.select_ref(env) {
                Some(value) => Ok(convert(value).map(Cow::Owned)),
                None => Err(Failure::runtime(invalid_path_cause(path))),
            },
        }
    }
}

/// The five relations of the `Numeric*`, `String*` and `Timestamp*` families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Equals,
    GreaterThan,
    GreaterThanEquals,
    LessThan,
    LessThanEquals,
}

impl Relation {
    /// Whether `variable <relation> operand`, given how they are ordered.
    fn holds(self, order: Ordering) -> bool {
        match self {
            Relation::Equals => order == Ordering::Equal,
            Relation::GreaterThan => order == Ordering::Greater,
            Relation::GreaterThanEquals => order != Ordering::Less,
            Relation::LessThan => order == Ordering::Less,
            Relation::LessThanEquals => order != Ordering::Greater,
        }
    }
}

fn numeric(
    relation: Relation,
    variable: &Value,
    operand: &Operand<Number>,
    env: &PathEnv<'_>,
) -> Result<bool, Failure> {
    let operand = operand.resolve(env, |v| v.as_number().cloned())?;
    Ok(match (variable.as_number(), operand) {
        (Some(a), Some(b)) => compare_numbers(a, &b).is_some_and(|order| relation.holds(order)),
        _ => false,
    })
}

fn string(
    relation: Relation,
    variable: &Value,
    operand: &Operand<String>,
    env: &PathEnv<'_>,
) -> Result<bool, Failure> {
    let operand = operand.resolve(env, |v| v.as_str().map(str::to_owned))?;
    Ok(match (variable.as_str(), operand) {
        (Some(a), Some(b)) => relation.holds(compare_strings(a, &b)),
        _ => false,
    })
}

fn timestamp(
    relation: Relation,
    variable: &Value,
    operand: &Operand<jiff::Timestamp>,
    env: &PathEnv<'_>,
) -> Result<bool, Failure> {
    let operand = operand.resolve(env, |v| v.as_str().and_then(parse_timestamp))?;
    Ok(
        match (variable.as_str().and_then(parse_timestamp), operand) {
            (Some(a), Some(b)) => relation.holds(a.cmp(&b)),
            _ => false,
        },
    )
}

/// Orders two JSON numbers by their mathematical value, so `1` equals `1.0`
/// and large integers are not rounded through `f64`. `None` only for NaN,
/// which JSON cannot carry.
pub fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (exact_integer(a), exact_integer(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => compare_integer_float(x, b.as_f64()?),
        (None, Some(y)) => compare_integer_float(y, a.as_f64()?).map(Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn exact_integer(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// Orders an integer (from an `i64` or `u64`) against a float without rounding
/// the integer.
fn compare_integer_float(integer: i128, float: f64) -> Option<Ordering> {
    // Outside ±2^64 the float is beyond every i64/u64, and inside it its
    // integral part converts to i128 exactly.
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    if float.is_nan() {
        return None;
    }
    if float >= TWO_POW_64 {
        return Some(Ordering::Less);
    }
    if float <= -TWO_POW_64 {
        return Some(Ordering::Greater);
    }
    let whole = float.trunc();
    // The cast is exact: `whole` is integral and |whole| < 2^64 fits i128.
    let whole_int = whole as i128;
    Some(integer.cmp(&whole_int).then_with(|| {
        if float > whole {
            Ordering::Less
        } else if float < whole {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }))
}

/// Orders strings as Java's `String.compareTo` does: by UTF-16 code units.
/// This differs from Rust's byte order when a character above U+FFFF is
/// compared with one in U+E000..=U+FFFF.
pub fn compare_strings(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

impl WildcardPattern {
    /// Compiles a `StringMatches` pattern. Every string is a valid pattern: a
    /// backslash escapes whatever follows it (only `\*` and `\\` need it), and
    /// a trailing lone backslash stands for itself.
    pub fn new(text: &str) -> Self {
        let mut pieces = vec![String::new()];
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '*' => pieces.push(String::new()),
                '\\' => {
                    let literal = chars.next().unwrap_or('\\');
                    if let Some(piece) = pieces.last_mut() {
                        piece.push(literal);
                    }
                }
                c => {
                    if let Some(piece) = pieces.last_mut() {
                        piece.push(c);
                    }
                }
            }
        }
        WildcardPattern {
            text: text.to_owned(),
            pieces,
        }
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether `candidate` matches the whole pattern.
    pub fn matches(&self, candidate: &str) -> bool {
        let [first, middle @ .., last] = self.pieces.as_slice() else {
            // No star: the single piece must equal the whole string.
            return self.pieces.first().is_some_and(|only| only == candidate);
        };
        let Some(rest) = candidate.strip_prefix(first.as_str()) else {
            return false;
        };
        if rest.len() < last.len() || !rest.ends_with(last.as_str()) {
            return false;
        }
        // The last piece is pinned to the end; the middle pieces must fit, in
        // order, between the prefix and that suffix. Taking the leftmost
        // occurrence of each leaves the most room for the next, so it finds a
        // match whenever one exists.
        let mut window = &rest[..rest.len() - last.len()];
        for piece in middle {
            match window.find(piece.as_str()) {
                Some(at) => window = &window[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

/// Whether a rule is a `Choices` entry (may carry `Next` and `Assign`) or
/// nested inside `And`/`Or`/`Not` (may not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    Nested,
}

/// The JSON type an operator's literal must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boolean,
    Numeric,
    String,
    Timestamp,
    /// `StringMatches`: a string, with no `…Path` form.
    Pattern,
    /// `Is*`: a boolean, with no `…Path` form.
    TypeTest,
}

/// Every operator name without its `Path` suffix, with its literal's kind.
const OPERATORS: &[(&str, Kind)] = &[
    ("BooleanEquals", Kind::Boolean),
    ("IsBoolean", Kind::TypeTest),
    ("IsNull", Kind::TypeTest),
    ("IsNumeric", Kind::TypeTest),
    ("IsPresent", Kind::TypeTest),
    ("IsString", Kind::TypeTest),
    ("IsTimestamp", Kind::TypeTest),
    ("NumericEquals", Kind::Numeric),
    ("NumericGreaterThan", Kind::Numeric),
    ("NumericGreaterThanEquals", Kind::Numeric),
    ("NumericLessThan", Kind::Numeric),
    ("NumericLessThanEquals", Kind::Numeric),
    ("StringEquals", Kind::String),
    ("StringGreaterThan", Kind::String),
    ("StringGreaterThanEquals", Kind::String),
    ("StringLessThan", Kind::String),
    ("StringLessThanEquals", Kind::String),
    ("StringMatches", Kind::Pattern),
    ("TimestampEquals", Kind::Timestamp),
    ("TimestampGreaterThan", Kind::Timestamp),
    ("TimestampGreaterThanEquals", Kind::Timestamp),
    ("TimestampLessThan", Kind::Timestamp),
    ("TimestampLessThanEquals", Kind::Timestamp),
];

/// Looks up a field name: the base operator, its kind and whether it is the
/// `…Path` form. `None` for anything that is not a comparison operator.
fn operator_kind(field: &str) -> Option<(&'static str, Kind, bool)> {
    let lookup = |name: &str| {
        OPERATORS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(n, k)| (n, k))
    };
    if let Some((name, kind)) = lookup(field) {
        return Some((name, kind, false));
    }
    let (name, kind) = lookup(field.strip_suffix("Path")?)?;
    matches!(
        kind,
        Kind::Boolean | Kind::Numeric | Kind::String | Kind::Timestamp
    )
    .then_some((name, kind, true))
}

struct RuleParser<'d> {
    diags: &'d mut Diagnostics,
    failed: bool,
}

impl RuleParser<'_> {
    fn error(&mut self, location: &str, message: impl Into<String>) {
        self.failed = true;
        self.diags.schema(location, message);
    }

    /// Parses the condition part of a rule object: everything but `Next` and
    /// `Assign`, which only a top-level rule may have (the caller reads them).
    fn condition(
        &mut self,
        object: &Map<String, Value>,
        location: &str,
        level: Level,
    ) -> Option<Condition> {
        let mut variable: Option<Option<Path>> = None;
        // Each candidate is the field name plus its parse (None on error), so
        // that a bad operand does not also produce "missing operator".
        let mut operators: Vec<(&str, Option<ComparisonOperator>)> = Vec::new();
        let mut booleans: Vec<(&str, Option<Condition>)> = Vec::new();
        for (field, value) in object {
            let field_location = pointer_push(location, field);
            match field.as_str() {
                "Next" | "Assign" if level == Level::Top => {}
                "Comment" => {
                    if !value.is_string() {
                        self.error(&field_location, "Expected value of type String");
                    }
                }
                "Variable" => variable = Some(self.reference_path(value, &field_location)),
                "And" | "Or" => {
                    let rules = self.rule_list(field, value, &field_location);
                    let condition = rules.map(|rules| {
                        if field == "And" {
                            Condition::And(rules)
                        } else {
                            Condition::Or(rules)
                        }
                    });
                    booleans.push((field.as_str(), condition));
                }
                "Not" => {
                    let rule = self.nested_rule(value, &field_location);
                    booleans.push((
                        field.as_str(),
                        rule.map(|rule| Condition::Not(Box::new(rule))),
                    ));
                }
                _ => match operator_kind(field) {
                    Some((name, kind, is_path)) => {
                        let operator = self.operator(name, kind, is_path, value, &field_location);
                        operators.push((field.as_str(), operator));
                    }
                    None => self.error(location, format!("Field '{field}' is not supported")),
                },
            }
        }

        match (operators.len(), booleans.len()) {
            (1, 0) => {
                let Some(variable) = variable else {
                    self.error(location, "These fields are required: [Variable]");
                    return None;
                };
                let operator = operators.pop().and_then(|(_, operator)| operator);
                Some(Condition::Comparison(Comparison {
                    variable: variable?,
                    operator: operator?,
                }))
            }
            (0, 1) => {
                if variable.is_some() {
                    // `Variable` belongs to a comparison, never to And/Or/Not.
                    self.error(location, "Field 'Variable' is not supported");
                    return None;
                }
                booleans.pop().and_then(|(_, condition)| condition)
            }
            (0, 0) => {
                let message = if variable.is_some() {
                    "A Choice Rule with 'Variable' must have a comparison operator, e.g. 'StringEquals' or 'IsPresent'"
                } else {
                    "A Choice Rule must have a comparison ('Variable' and an operator such as 'StringEquals') \
                     or one of 'And', 'Or', 'Not'"
                };
                self.error(location, message);
                None
            }
            _ => {
                let found: Vec<String> = operators
                    .iter()
                    .map(|(name, _)| *name)
                    .chain(booleans.iter().map(|(name, _)| *name))
                    .map(|name| format!("'{name}'"))
                    .collect();
                self.error(
                    location,
                    format!(
                        "A Choice Rule must have exactly one comparison operator or one of 'And', 'Or', 'Not', \
                         but has {}",
                        found.join(", ")
                    ),
                );
                None
            }
        }
    }

    /// `And`/`Or`: a non-empty array of nested rules.
    fn rule_list(&mut self, field: &str, value: &Value, location: &str) -> Option<Vec<Condition>> {
        let Some(items) = value.as_array() else {
            self.error(location, "Expected value of type Array");
            return None;
        };
        if items.is_empty() {
            self.error(
                location,
                format!("The field '{field}' must contain at least one Choice Rule"),
            );
            return None;
        }
        // Parse every element even after a failure, to report all problems.
        let rules: Vec<Option<Condition>> = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                self.nested_rule(item, &pointer_push(location, &index.to_string()))
            })
            .collect();
        rules.into_iter().collect()
    }

    /// A rule inside `And`/`Or`/`Not`: no `Next`, no `Assign`.
    fn nested_rule(&mut self, value: &Value, location: &str) -> Option<Condition> {
        let Some(object) = value.as_object() else {
            self.error(location, "Expected value of type Object");
            return None;
        };
        self.condition(object, location, Level::Nested)
    }

    /// `Variable` and the `…Path` operands: AWS requires Reference Paths
    /// (paths that name a single node).
    fn reference_path(&mut self, value: &Value, location: &str) -> Option<Path> {
        let Some(text) = value.as_str() else {
            self.error(location, "Expected value of type String");
            return None;
        };
        match Path::parse(text) {
            Ok(path) if path.is_definite() => Some(path),
            Ok(_) => {
                self.error(
                    location,
                    "Value is not a Reference Path: only names and indices are allowed, \
                     not wildcards, filters, slices, unions or '..'",
                );
                None
            }
            Err(e) => {
                self.error(
                    location,
                    format!("Value is not a Reference Path: {}", e.reason),
                );
                None
            }
        }
    }

    /// An operator's value: a reference path for the `…Path` forms, otherwise
    /// a literal of the operator's kind.
    fn operator(
        &mut self,
        name: &str,
        kind: Kind,
        is_path: bool,
        value: &Value,
        location: &str,
    ) -> Option<ComparisonOperator> {
        use ComparisonOperator as C;
        let operand = if is_path {
            Checked::Path(self.reference_path(value, location)?)
        } else {
            match (kind, value) {
                (Kind::Boolean | Kind::TypeTest, Value::Bool(b)) => Checked::Boolean(*b),
                (Kind::Numeric, Value::Number(n)) => Checked::Number(n.clone()),
                (Kind::String | Kind::Pattern, Value::String(s)) => Checked::String(s.clone()),
                (Kind::Timestamp, Value::String(s)) => {
                    match is_rfc3339_timestamp(s).then(|| parse_timestamp(s)) {
                        Some(Some(ts)) => Checked::Timestamp(ts),
                        _ => {
                            self.error(location, "String does not match RFC3339 timestamp");
                            return None;
                        }
                    }
                }
                _ => {
                    let expected = match kind {
                        Kind::Boolean | Kind::TypeTest => "Boolean",
                        Kind::Numeric => "Number",
                        Kind::String | Kind::Pattern | Kind::Timestamp => "String",
                    };
                    self.error(location, format!("Expected value of type {expected}"));
                    return None;
                }
            }
        };
        let operator = match name {
            "BooleanEquals" => C::BooleanEquals(operand.boolean()?),
            "IsBoolean" => C::IsBoolean(operand.flag()?),
            "IsNull" => C::IsNull(operand.flag()?),
            "IsNumeric" => C::IsNumeric(operand.flag()?),
            "IsPresent" => C::IsPresent(operand.flag()?),
            "IsString" => C::IsString(operand.flag()?),
            "IsTimestamp" => C::IsTimestamp(operand.flag()?),
            "NumericEquals" => C::NumericEquals(operand.number()?),
            "NumericGreaterThan" => C::NumericGreaterThan(operand.number()?),
            "NumericGreaterThanEquals" => C::NumericGreaterThanEquals(operand.number()?),
            "NumericLessThan" => C::NumericLessThan(operand.number()?),
            "NumericLessThanEquals" => C::NumericLessThanEquals(operand.number()?),
            "StringEquals" => C::StringEquals(operand.string()?),
            "StringGreaterThan" => C::StringGreaterThan(operand.string()?),
            "StringGreaterThanEquals" => C::StringGreaterThanEquals(operand.string()?),
            "StringLessThan" => C::StringLessThan(operand.string()?),
            "StringLessThanEquals" => C::StringLessThanEquals(operand.string()?),
            "StringMatches" => match operand {
                Checked::String(s) => C::StringMatches(WildcardPattern::new(&s)),
                _ => return None,
            },
            "TimestampEquals" => C::TimestampEquals(operand.timestamp()?),
            "TimestampGreaterThan" => C::TimestampGreaterThan(operand.timestamp()?),
            "TimestampGreaterThanEquals" => C::TimestampGreaterThanEquals(operand.timestamp()?),
            "TimestampLessThan" => C::TimestampLessThan(operand.timestamp()?),
            "TimestampLessThanEquals" => C::TimestampLessThanEquals(operand.timestamp()?),
            _ => return None,
        };
        Some(operator)
    }
}

/// An operator's value once its JSON type has been checked, before it is
/// placed in the [`ComparisonOperator`] variant its name selects.
enum Checked {
    Boolean(bool),
    Number(Number),
    String(String),
    Timestamp(jiff::Timestamp),
    Path(Path),
}

impl Checked {
    fn flag(self) -> Option<bool> {
        match self {
            Checked::Boolean(b) => Some(b),
            _ => None,
        }
    }

    fn boolean(self) -> Option<Operand<bool>> {
        match self {
            Checked::Boolean(b) => Some(Operand::Literal(b)),
            Checked::Path(p) => Some(Operand::Path(p)),
            _ => None,
        }
    }

    fn number(self) -> Option<Operand<Number>> {
        match self {
            Checked::Number(n) => Some(Operand::Literal(n)),
            Checked::Path(p) => Some(Operand::Path(p)),
            _ => None,
        }
    }

    fn string(self) -> Option<Operand<String>> {
        match self {
            Checked::String(s) => Some(Operand::Literal(s)),
            Checked::Path(p) => Some(Operand::Path(p)),
            _ => None,
        }
    }

    fn timestamp(self) -> Option<Operand<jiff::Timestamp>> {
        match self {
            Checked::Timestamp(t) => Some(Operand::Literal(t)),
            Checked::Path(p) => Some(Operand::Path(p)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::path::NoVariables;

    /// The `choice_operators` matrix of `localstack-asl.jsonl` (472 executions
    /// recorded against AWS), one line per operator and operand:
    /// `<operator> <operand as JSON> <one mark per MATRIX_VALUES entry>`, where
    /// `T`/`F` says whether `{"Variable": "$.Variable", <operator>: <operand>}`
    /// matched input `{"Variable": <value>}` and `.` means not recorded. For
    /// `…Path` operators the operand is the input's `Value`, which the rule
    /// reads with `"$.Value"`.
    const MATRIX_VALUES: &str = r#"[null, "", " ", "HelloWorld", "2012-10-09T19:00:55", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55+01:00", "2023-02-24", [], [""], {}, 0, {"A": 0}, true, false, 0.0, 1, 1.1, 2.22, "\t\n", "Hello", "A", "AB", "2012-10-09T19:00:56Z", "2023-02-24 12:15:56.832957"]"#;
    const MATRIX: &str = r#"
BooleanEquals true FFFFFFFFFFFFFTFFFF.......
BooleanEquals false FFFFFFFFFFFFF.TFFF.......
BooleanEqualsPath true FFFFFFFFFFFFFTFFFF.......
BooleanEqualsPath false FFFFFFFFFFFFF.TFFF.......
IsBoolean true FFFFFFFFFFFFFTTFFF.......
IsBoolean false TTTTTTTTTTTTT.FTTT.......
IsNull true TFFFFFFFFFFFFFFFFF.......
IsNull false FTTTTTTTTTTTT.TTTT.......
IsNumeric true FFFFFFFFFFFTFFFTTT.......
IsNumeric false TTTTTTTTTTTFT.TFFF.......
IsPresent true TTTTTTTTTTTTTTTTTT.......
IsPresent false FFFFFFFFFFFFF.FFFF.......
IsString true FTTTTTTTFFFFFFFFFF.......
IsString false TFFFFFFFTTTTT.TTTT.......
NumericEquals 0 FFF.....FFFTFFFTFF.......
NumericEquals 1 FFF.....FFFFFFFFTF.......
NumericEquals 1.0 FFF.....FFFFFFFFTF.......
NumericEquals 0.0 FFF.....FFFTFFFTFF.......
NumericEquals 2.22 ..................T......
NumericEqualsPath 0 FFF.....FFFTFFFTFF.......
NumericEqualsPath 1 FFF.....FFFFFFFFTF.......
NumericEqualsPath 1.0 FFF.....FFFFFFFFTF.......
NumericEqualsPath 0.0 FFF.....FFFTFFFTFF.......
NumericEqualsPath 2.22 ..................T......
NumericGreaterThan 0 ...........F...FT........
NumericGreaterThan 1 ...........F....F........
NumericGreaterThanEquals 0 ...........T...TT........
NumericGreaterThanEquals 1 ...........F....T........
NumericGreaterThanEqualsPath 0 ...........T...TT........
NumericGreaterThanEqualsPath 1 ...........F....T........
NumericGreaterThanPath 0 ...........F...FT........
NumericGreaterThanPath 1 ...........F....F........
NumericLessThan 0 ...........F...FF........
NumericLessThan 1 ...........T....F........
NumericLessThanEquals 0 ...........T...TF........
NumericLessThanEquals 1 ...........T....T........
NumericLessThanEqualsPath 0 ...........T...TF........
NumericLessThanEqualsPath 1 ...........T....T........
NumericLessThanPath 0 ...........F...FF........
NumericLessThanPath 1 ...........T....F........
StringEquals "HelloWorld" FFF.....FFFFFFFFFF.......
StringEquals "     " ..F......................
StringEquals "\t\r\n" ...................F.....
StringEquals "Hello" ....................T....
StringEqualsPath "     " ..F......................
StringEqualsPath "\t\r\n" ...................F.....
StringEqualsPath "Hello" ....................T....
StringGreaterThan "" .F.......................
StringGreaterThan "A " .....................F...
StringGreaterThan "A\t\n\r" .....................F...
StringGreaterThan "ABC" ......................F..
StringGreaterThanEquals "" .T.......................
StringGreaterThanEquals "AB" .....................F...
StringGreaterThanEquals "A" ......................T..
StringGreaterThanEqualsPath "" .T.......................
StringGreaterThanEqualsPath "AB" .....................F...
StringGreaterThanEqualsPath "A" ......................T..
StringGreaterThanPath "" .F.......................
StringGreaterThanPath "A " .....................F...
StringGreaterThanPath "A\t\n\r" .....................F...
StringGreaterThanPath "ABC" ......................F..
StringLessThan "" .F.......................
StringLessThan "AB" .....................T...
StringLessThan "A" ......................F..
StringLessThanEquals "" .T.......................
StringLessThanEquals "AB" .....................T...
StringLessThanEquals "A" ......................F..
StringLessThanEqualsPath "" .T.......................
StringLessThanEqualsPath "AB" .....................T...
StringLessThanEqualsPath "A" ......................F..
StringLessThanPath "" .F.......................
StringLessThanPath "AB" .....................T...
StringLessThanPath "A" ......................F..
TimestampEquals "2012-10-09T19:00:55Z" FFF..T..FFFFFFFFFF.....FF
TimestampEquals "2012-10-09T19:00:56Z" .....F...................
TimestampEqualsPath "2012-10-09T19:00:55Z" .....T.................F.
TimestampEqualsPath "2012-10-09T19:00:56Z" .....F...................
TimestampGreaterThan "2012-10-09T19:00:55Z" .....F.................T.
TimestampGreaterThan "2012-10-09T19:00:56Z" .....F...................
TimestampGreaterThanEquals "2012-10-09T19:00:55Z" .....T.................T.
TimestampGreaterThanEquals "2012-10-09T19:00:56Z" .....F...................
TimestampGreaterThanEqualsPath "2012-10-09T19:00:56Z" .....F...................
TimestampGreaterThanPath "2012-10-09T19:00:56Z" .....F...................
TimestampLessThan "2012-10-09T19:00:55Z" .....F.................F.
TimestampLessThan "2012-10-09T19:00:56Z" .....T...................
TimestampLessThanEquals "2012-10-09T19:00:55Z" .....T.................F.
TimestampLessThanEquals "2012-10-09T19:00:56Z" .....T...................
TimestampLessThanEqualsPath "2012-10-09T19:00:55Z" .......................F.
TimestampLessThanPath "2012-10-09T19:00:55Z" .......................F.
"#;

    /// (operator, operand, variable value, matched) for every recorded case.
    fn matrix() -> Vec<(String, Value, Value, bool)> {
        let values: Vec<Value> = serde_json::from_str(MATRIX_VALUES).expect("values");
        let mut cases = Vec::new();
        for line in MATRIX.lines().filter(|l| !l.is_empty()) {
            let (operator, rest) = line.split_once(' ').expect("operator");
            let (operand, marks) = rest.rsplit_once(' ').expect("marks");
            let operand: Value = serde_json::from_str(operand).expect("operand");
            assert_eq!(marks.len(), values.len(), "{line}");
            for (mark, value) in marks.chars().zip(&values) {
                match mark {
                    'T' | 'F' => cases.push((
                        operator.to_owned(),
                        operand.clone(),
                        value.clone(),
                        mark == 'T',
                    )),
                    _ => assert_eq!(mark, '.', "{line}"),
                }
            }
        }
        cases
    }

    fn env(input: &Value) -> PathEnv<'_> {
        PathEnv {
            input,
            context: &Value::Null,
            variables: &NoVariables,
        }
    }

    /// Parses an operator given as a literal, as the definition parser would.
    fn literal_operator(field: &str, operand: &Value) -> ComparisonOperator {
        let (name, kind, is_path) = operator_kind(field).expect("operator");
        assert!(!is_path);
        let mut diags = Diagnostics::new();
        let mut parser = RuleParser {
            diags: &mut diags,
            failed: false,
        };
        let operator = parser.operator(name, kind, false, operand, "/op");
        assert!(
            diags.items().is_empty(),
            "{field} {operand}: {:?}",
            diags.items()
        );
        operator.expect("operator")
    }

    /// Parses a whole rule, panicking with the diagnostics if it is invalid.
    fn rule(value: Value) -> ChoiceRule {
        let mut diags = Diagnostics::new();
        let parsed = parse_choice_rule(&value, "/States/Route/Choices/0", &mut diags);
        assert!(diags.items().is_empty(), "{:?}", diags.items());
        parsed.expect("rule")
    }

    /// The (location, message) pairs a rule produces.
    fn problems(value: Value) -> Vec<(String, String)> {
        let mut diags = Diagnostics::new();
        let parsed = parse_choice_rule(&value, "/States/Route/Choices/0", &mut diags);
        assert_eq!(
            parsed.is_none(),
            diags.has_errors(),
            "None exactly when there are errors"
        );
        diags
            .items()
            .iter()
            .map(|d| (d.location.clone(), d.message.clone()))
            .collect()
    }

    fn problem(location: &str, message: &str) -> (String, String) {
        (location.to_owned(), message.to_owned())
    }

    fn matches(rule_json: Value, input: Value) -> Result<bool, Failure> {
        rule(rule_json).condition.evaluate(&env(&input))
    }

    #[test]
    fn corpus_matrix_comparison_logic() {
        // Runs every recorded case through the operator on the selected value;
        // the `…Path` rows have operands of the operator's own type, so their
        // literal twin gives the same answer without evaluating a path.
        let cases = matrix();
        assert_eq!(cases.len(), 472);
        let null = Value::Null;
        for (field, operand, variable, expected) in cases {
            let literal = field.strip_suffix("Path").unwrap_or(&field);
            let operator = literal_operator(literal, &operand);
            let actual = operator.test(&variable, &env(&null)).expect("no failure");
            assert_eq!(actual, expected, "{field} {operand} on {variable}");
        }
    }

    #[test]
    fn corpus_matrix_end_to_end() {
        // The same cases through parsing and path evaluation, as AWS ran them.
        for (field, operand, variable, expected) in matrix() {
            let operand_field = if field.ends_with("Path") {
                json!("$.Value")
            } else {
                operand.clone()
            };
            let rule_json = json!({"Variable": "$.Variable", field.clone(): operand_field, "Next": "ConditionTrue"});
            let input = json!({"Variable": variable, "Value": operand});
            assert_eq!(
                matches(rule_json, input),
                Ok(expected),
                "{field} {operand} on {variable}"
            );
        }
    }

    #[test]
    fn corpus_scenarios() {
        // test_choice_aws_docs_scenario / test_path_based_on_data.
        let rules = [
            json!({"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"}),
            json!({"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"}),
            json!({"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                           {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}),
        ];
        let first_match = |input: Value| {
            rules
                .iter()
                .map(|r| rule(r.clone()))
                .find(|r| r.condition.evaluate(&env(&input)) == Ok(true))
                .map(|r| r.next)
        };
        assert_eq!(
            first_match(json!({"type": "Private", "value": 22})).as_deref(),
            Some("ValueInTwenties")
        );
        assert_eq!(
            first_match(json!({"type": "Public", "value": 3})).as_deref(),
            Some("Public")
        );
        assert_eq!(
            first_match(json!({"type": "Private", "value": 0})).as_deref(),
            Some("ValueIsZero")
        );
        assert_eq!(first_match(json!({"type": "Private", "value": 3})), None);
        // test_assign_in_choice_state: a string is not numeric, so no match.
        assert_eq!(
            matches(
                json!({"Variable": "$.input_value", "NumericEquals": 42, "Next": "F"}),
                json!({"input_value": "42"})
            ),
            Ok(false)
        );
        // test_map_state_break_condition: `$` as the Variable.
        let guard = json!({"And": [{"IsPresent": true, "Variable": "$"},
                                   {"And": [{"IsNumeric": true, "Variable": "$"}, {"NumericEquals": 3, "Variable": "$"}]}],
                           "Next": "Break"});
        assert_eq!(matches(guard.clone(), json!(3)), Ok(true));
        assert_eq!(matches(guard.clone(), json!(2)), Ok(false));
        assert_eq!(matches(guard, json!({})), Ok(false));
    }

    #[test]
    fn missing_variable_is_a_runtime_failure() {
        let failure = matches(
            json!({"Variable": "$.processing_type", "StringEquals": "dataset", "Next": "N"}),
            json!({}),
        );
        assert_eq!(
            failure,
            Err(Failure::runtime(
                "Invalid path '$.processing_type': The choice state's condition path references an invalid value."
            ))
        );
        assert!(failure.is_err_and(|f| f.is_terminal()));
        // Every operator but IsPresent needs the value, IsNull included.
        for (field, operand) in [
            ("IsNull", json!(true)),
            ("IsString", json!(false)),
            ("StringMatches", json!("*")),
        ] {
            let result = matches(
                json!({"Variable": "$.a", field: operand, "Next": "N"}),
                json!({"b": 1}),
            );
            assert!(result.is_err(), "{field}");
        }
    }

    #[test]
    fn is_present_guards_missing_paths() {
        assert_eq!(
            matches(
                json!({"Variable": "$.a", "IsPresent": false, "Next": "N"}),
                json!({})
            ),
            Ok(true)
        );
        assert_eq!(
            matches(
                json!({"Variable": "$.a", "IsPresent": true, "Next": "N"}),
                json!({})
            ),
            Ok(false)
        );
        assert_eq!(
            matches(
                json!({"Variable": "$.a", "IsPresent": true, "Next": "N"}),
                json!({"a": null})
            ),
            Ok(true)
        );
        // AWS docs: the comparison after the guard is only evaluated when the key exists.
        let guarded = json!({"And": [{"Variable": "$.k", "IsPresent": true}, {"Variable": "$.k", "StringEquals": "foo"}], "Next": "N"});
        assert_eq!(matches(guarded.clone(), json!({})), Ok(false));
        assert_eq!(matches(guarded, json!({"k": "foo"})), Ok(true));
        let either = json!({"Or": [{"Variable": "$.k", "IsPresent": false}, {"Variable": "$.k", "NumericEquals": 1}], "Next": "N"});
        assert_eq!(matches(either.clone(), json!({})), Ok(true));
        assert_eq!(matches(either, json!({"k": 1})), Ok(true));
    }

    #[test]
    fn path_operands() {
        let rule_json =
            json!({"Variable": "$.left", "NumericLessThanPath": "$.right", "Next": "N"});
        assert_eq!(
            matches(rule_json.clone(), json!({"left": 1, "right": 2.5})),
            Ok(true)
        );
        // An operand of the wrong type makes the comparison false.
        assert_eq!(
            matches(rule_json.clone(), json!({"left": 1, "right": "2"})),
            Ok(false)
        );
        // A missing operand fails like a missing Variable, naming the operand path.
        assert_eq!(
            matches(rule_json, json!({"left": 1})),
            Err(Failure::runtime(
                "Invalid path '$.right': The choice state's condition path references an invalid value."
            ))
        );
        let ts = json!({"Variable": "$.a", "TimestampEqualsPath": "$.b", "Next": "N"});
        assert_eq!(
            matches(
                ts.clone(),
                json!({"a": "2012-10-09T19:00:55Z", "b": "2012-10-09T20:00:55+01:00"})
            ),
            Ok(true)
        );
        assert_eq!(
            matches(
                ts,
                json!({"a": "2012-10-09T19:00:55Z", "b": "not-a-timestamp"})
            ),
            Ok(false)
        );
        let b = json!({"Variable": "$.a", "BooleanEqualsPath": "$.b", "Next": "N"});
        assert_eq!(
            matches(b.clone(), json!({"a": false, "b": false})),
            Ok(true)
        );
        assert_eq!(matches(b, json!({"a": false, "b": 0})), Ok(false));
        let s = json!({"Variable": "$.a", "StringGreaterThanEqualsPath": "$.b", "Next": "N"});
        assert_eq!(matches(s, json!({"a": "b", "b": "a"})), Ok(true));
    }

    #[test]
    fn parses_the_full_model() {
        let parsed = rule(json!({
            "Comment": "route",
            "And": [
                {"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.min", "Comment": "nested comments are allowed"},
                {"Not": {"Variable": "$$.Execution.Input.x", "IsNull": true}},
                {"Or": [{"Variable": "$.s", "StringMatches": "log-*.txt"}, {"Variable": "$.t", "TimestampLessThan": "2016-08-18T17:33:00Z"}]}
            ],
            "Next": "Done",
            "Assign": {"x.$": "$.a"}
        }));
        assert_eq!(parsed.next, "Done");
        assert_eq!(parsed.assign, Some(json!({"x.$": "$.a"})));
        let Condition::And(rules) = &parsed.condition else {
            panic!("And expected")
        };
        assert_eq!(rules.len(), 3);
        let Condition::Comparison(first) = &rules[0] else {
            panic!("comparison expected")
        };
        assert_eq!(first.variable.text(), "$.a");
        assert_eq!(first.operator.name(), "NumericGreaterThanEqualsPath");
        assert!(
            matches!(&rules[1], Condition::Not(inner) if matches!(**inner, Condition::Comparison(_)))
        );
        let Condition::Or(alternatives) = &rules[2] else {
            panic!("Or expected")
        };
        let names: Vec<_> = alternatives
            .iter()
            .map(|c| match c {
                Condition::Comparison(c) => c.operator.name(),
                _ => "",
            })
            .collect();
        assert_eq!(names, ["StringMatches", "TimestampLessThan"]);
    }

    #[test]
    fn reports_structure_errors_with_locations() {
        let base = "/States/Route/Choices/0";
        assert_eq!(
            problems(json!({"Variable": "$.a", "StringEquals": "x"})),
            [problem(base, "These fields are required: [Next]")]
        );
        assert_eq!(
            problems(json!({"Variable": "$.a", "StringEquals": "x", "Next": 1})),
            [problem(
                &format!("{base}/Next"),
                "Expected value of type String"
            )]
        );
        assert_eq!(
            problems(json!({"Variable": "$.a", "StringEquals": "x", "Next": "N", "Foo": 1})),
            [problem(base, "Field 'Foo' is not supported")]
        );
        assert_eq!(
            problems(json!({"StringEquals": "x", "Next": "N"})),
            [problem(base, "These fields are required: [Variable]")]
        );
        assert_eq!(problems(json!({"Variable": "$.a", "Next": "N"})).len(), 1);
        assert_eq!(problems(json!({"Next": "N"})).len(), 1);
        assert_eq!(
            problems(
                json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "N"})
            )
            .len(),
            1
        );
        assert_eq!(
            problems(
                json!({"Variable": "$.a", "And": [{"Variable": "$.a", "IsNull": true}], "Next": "N"})
            ),
            [problem(base, "Field 'Variable' is not supported")]
        );
        assert_eq!(
            problems(json!(["not", "an", "object"])),
            [problem(base, "Expected value of type Object")]
        );
        assert_eq!(
            problems(json!({"Variable": "$.a", "StringEquals": "x", "Next": "N", "Comment": 5})),
            [problem(
                &format!("{base}/Comment"),
                "Expected value of type String"
            )]
        );
    }

    #[test]
    fn reports_nested_errors_with_locations() {
        assert_eq!(
            problems(
                json!({"And": [{"Variable": "$.a", "IsNull": true}, {"Variable": 5, "IsNull": true}], "Next": "N"})
            ),
            [problem(
                "/States/Route/Choices/0/And/1/Variable",
                "Expected value of type String"
            )]
        );
        assert_eq!(
            problems(
                json!({"Or": [{"Variable": "$.a", "IsNull": true, "Next": "N"}], "Next": "N"})
            ),
            [problem(
                "/States/Route/Choices/0/Or/0",
                "Field 'Next' is not supported"
            )]
        );
        assert_eq!(
            problems(
                json!({"Not": {"Variable": "$.a", "IsNull": true, "Assign": {}}, "Next": "N"})
            ),
            [problem(
                "/States/Route/Choices/0/Not",
                "Field 'Assign' is not supported"
            )]
        );
        assert_eq!(
            problems(json!({"And": [], "Next": "N"})),
            [problem(
                "/States/Route/Choices/0/And",
                "The field 'And' must contain at least one Choice Rule"
            )]
        );
        assert_eq!(
            problems(json!({"Or": {"Variable": "$.a", "IsNull": true}, "Next": "N"})),
            [problem(
                "/States/Route/Choices/0/Or",
                "Expected value of type Array"
            )]
        );
        assert_eq!(
            problems(json!({"Not": [], "Next": "N"})),
            [problem(
                "/States/Route/Choices/0/Not",
                "Expected value of type Object"
            )]
        );
        // Every problem is reported, not just the first.
        assert_eq!(
            problems(
                json!({"And": [{"Variable": "$.a", "NumericEquals": "1"}, {"Not": {"Variable": "$.b", "BooleanEquals": "true"}}]})
            ),
            [
                problem(
                    "/States/Route/Choices/0",
                    "These fields are required: [Next]"
                ),
                problem(
                    "/States/Route/Choices/0/And/0/NumericEquals",
                    "Expected value of type Number"
                ),
                problem(
                    "/States/Route/Choices/0/And/1/Not/BooleanEquals",
                    "Expected value of type Boolean"
                ),
            ]
        );
    }

    #[test]
    fn reports_operand_type_errors() {
        let at = |field: &str| format!("/States/Route/Choices/0/{field}");
        for (field, operand, message) in [
            ("NumericEquals", json!("1"), "Expected value of type Number"),
            (
                "NumericLessThan",
                json!(null),
                "Expected value of type Number",
            ),
            ("StringEquals", json!(1), "Expected value of type String"),
            (
                "StringMatches",
                json!(true),
                "Expected value of type String",
            ),
            (
                "BooleanEquals",
                json!("true"),
                "Expected value of type Boolean",
            ),
            ("IsPresent", json!(1), "Expected value of type Boolean"),
            ("TimestampEquals", json!(1), "Expected value of type String"),
            (
                "TimestampEquals",
                json!("2016-12-05T21:29:29"),
                "String does not match RFC3339 timestamp",
            ),
            (
                "TimestampGreaterThan",
                json!("2016-12-05 21:29:29Z"),
                "String does not match RFC3339 timestamp",
            ),
            (
                "NumericEqualsPath",
                json!(1),
                "Expected value of type String",
            ),
        ] {
            assert_eq!(
                problems(json!({"Variable": "$.a", field: operand, "Next": "N"})),
                [problem(&at(field), message)],
                "{field}"
            );
        }
        // There is no StringMatchesPath, IsNullPath, ...
        for field in [
            "StringMatchesPath",
            "IsNullPath",
            "IsPresentPath",
            "AndPath",
        ] {
            assert_eq!(
                problems(
                    json!({"Variable": "$.a", "StringEquals": "x", field: "$.b", "Next": "N"})
                ),
                [problem(
                    "/States/Route/Choices/0",
                    &format!("Field '{field}' is not supported")
                )]
            );
        }
    }

    #[test]
    fn reports_bad_paths() {
        for (field, text) in [
            ("Variable", "a.b"),
            ("Variable", "$.a[*]"),
            ("StringEqualsPath", "$..b"),
            ("Variable", "States.Format('x')"),
        ] {
            let rule_json = if field == "Variable" {
                json!({"Variable": text, "IsNull": true, "Next": "N"})
            } else {
                json!({"Variable": "$.a", field: text, "Next": "N"})
            };
            let found = problems(rule_json);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert_eq!(found[0].0, format!("/States/Route/Choices/0/{field}"));
            assert!(
                found[0].1.starts_with("Value is not a Reference Path"),
                "{text}: {found:?}"
            );
        }
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        let m = |pattern: &str, candidate: &str| WildcardPattern::new(pattern).matches(candidate);
        assert!(m("log-*.txt", "log-2024.txt"));
        assert!(m("log-*.txt", "log-.txt"));
        assert!(!m("log-*.txt", "log-2024.txt.gz"));
        assert!(m("*", ""));
        assert!(m("**", "anything"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "acb"));
        assert!(!m("ab*ba", "aba"), "prefix and suffix must not overlap");
        assert!(m("ab*ba", "abba"));
        assert!(m("*.txt", ".txt"));
        assert!(m("?", "?"), "only * is special");
        assert!(!m("?", "a"));
        assert!(m("[a]", "[a]"));
        // Escapes.
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "aXb"));
        assert!(m(r"a\\*", r"a\anything"));
        assert!(!m(r"a\\*", "a*"));
        assert!(m(r"\\", r"\"));
        assert!(m(r"a\", r"a\"), "a trailing backslash stands for itself");
        assert!(m(r"\a", "a"));
        assert!(m(r"*\**", "x*y"));
        assert!(!m(r"*\**", "xy"));
        assert!(m("é*ü", "éaöü"));
        assert_eq!(WildcardPattern::new(r"a\*").text(), r"a\*");
        // Only strings match.
        let op = literal_operator("StringMatches", &json!("*"));
        assert_eq!(op.test(&json!("x"), &env(&Value::Null)), Ok(true));
        assert_eq!(op.test(&json!(1), &env(&Value::Null)), Ok(false));
        assert_eq!(op.test(&json!(null), &env(&Value::Null)), Ok(false));
    }

    #[test]
    fn strings_order_like_java() {
        assert_eq!(compare_strings("A", "AB"), Ordering::Less);
        assert_eq!(compare_strings("a", "B"), Ordering::Greater);
        assert_eq!(compare_strings("", ""), Ordering::Equal);
        // U+FF61 is one UTF-16 unit (0xFF61); U+1F600 is a surrogate pair
        // starting 0xD83D, so Java sorts the emoji first, unlike byte order.
        assert_eq!(compare_strings("\u{1F600}", "\u{FF61}"), Ordering::Less);
        assert!("\u{1F600}" > "\u{FF61}");
        let lt = literal_operator("StringLessThan", &json!("\u{FF61}"));
        assert_eq!(lt.test(&json!("\u{1F600}"), &env(&Value::Null)), Ok(true));
    }

    #[test]
    fn numbers_compare_by_value() {
        let n = |v: Value| v.as_number().cloned().expect("number");
        let cmp = |a: Value, b: Value| compare_numbers(&n(a), &n(b));
        assert_eq!(cmp(json!(1), json!(1.0)), Some(Ordering::Equal));
        assert_eq!(cmp(json!(0), json!(-0.0)), Some(Ordering::Equal));
        assert_eq!(cmp(json!(1), json!(1.5)), Some(Ordering::Less));
        assert_eq!(cmp(json!(-1), json!(-1.5)), Some(Ordering::Greater));
        assert_eq!(cmp(json!(1.5), json!(1)), Some(Ordering::Greater));
        assert_eq!(cmp(json!(-5), json!(u64::MAX)), Some(Ordering::Less));
        assert_eq!(cmp(json!(i64::MIN), json!(-1e300)), Some(Ordering::Greater));
        assert_eq!(cmp(json!(u64::MAX), json!(1e300)), Some(Ordering::Less));
        // 2^53 + 1 is not an f64; comparing through f64 would call these equal.
        assert_eq!(
            cmp(
                json!(9_007_199_254_740_993_u64),
                json!(9_007_199_254_740_992.0)
            ),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp(json!(2.5), json!(2.25)), Some(Ordering::Greater));
    }

    #[test]
    fn timestamps_compare_as_instants() {
        let null = Value::Null;
        let eq = literal_operator("TimestampEquals", &json!("2012-10-09T19:00:55Z"));
        assert_eq!(
            eq.test(&json!("2012-10-09T20:00:55+01:00"), &env(&null)),
            Ok(true)
        );
        assert_eq!(
            eq.test(&json!("2012-10-09T19:00:55.000Z"), &env(&null)),
            Ok(true)
        );
        assert_eq!(
            eq.test(&json!("2012-10-09t19:00:55z"), &env(&null)),
            Ok(true)
        );
        assert_eq!(
            eq.test(&json!("2012-10-09T19:00:55"), &env(&null)),
            Ok(false)
        );
        let gt = literal_operator("TimestampGreaterThan", &json!("2012-10-09T19:00:55Z"));
        assert_eq!(
            gt.test(&json!("2012-10-09T19:00:55.000000001Z"), &env(&null)),
            Ok(true)
        );
        let is = literal_operator("IsTimestamp", &json!(true));
        assert_eq!(
            is.test(&json!("2016-03-14T01:59:00Z"), &env(&null)),
            Ok(true)
        );
        assert_eq!(
            is.test(&json!("2016-03-14T01:59:00"), &env(&null)),
            Ok(false)
        );
        assert_eq!(is.test(&json!("2023-02-24"), &env(&null)), Ok(false));
        assert_eq!(is.test(&json!(1_478_000_000), &env(&null)), Ok(false));
        let is_not = literal_operator("IsTimestamp", &json!(false));
        assert_eq!(is_not.test(&json!(null), &env(&null)), Ok(true));
    }

    #[test]
    fn reports_context_use() {
        let uses = |rule_json: Value| rule(rule_json).condition.uses_context();
        assert!(!uses(
            json!({"Variable": "$.a", "NumericEqualsPath": "$.b", "Next": "N"})
        ));
        assert!(uses(
            json!({"Variable": "$$.Execution.Input.x", "NumericLessThanEquals": 0, "Next": "N"})
        ));
        assert!(uses(
            json!({"Not": {"Variable": "$.a", "StringEqualsPath": "$$.State.Name"}, "Next": "N"})
        ));
        assert!(uses(
            json!({"Or": [{"Variable": "$.a", "IsNull": true}, {"Variable": "$$.Map.Item.Index", "IsNumeric": true}], "Next": "N"})
        ));
        assert!(!uses(
            json!({"And": [{"Variable": "$v", "IsNull": true}], "Next": "N"})
        ));
    }

    #[test]
    fn operator_names_round_trip() {
        for (name, kind) in OPERATORS {
            assert_eq!(operator_kind(name), Some((*name, *kind, false)));
            let path_form = format!("{name}Path");
            let has_path = !matches!(kind, Kind::Pattern | Kind::TypeTest);
            assert_eq!(operator_kind(&path_form).is_some(), has_path, "{path_form}");
        }
        assert_eq!(operator_kind("Path"), None);
        assert_eq!(operator_kind("Variable"), None);
        let sample = [
            ("BooleanEquals", json!(true)),
            ("IsTimestamp", json!(true)),
            ("NumericLessThanEquals", json!(1)),
            ("StringGreaterThan", json!("a")),
            ("TimestampLessThanEquals", json!("2016-03-14T01:59:00Z")),
        ];
        for (name, operand) in sample {
            assert_eq!(literal_operator(name, &operand).name(), name);
        }
    }
}
