//! Intrinsic functions (`States.Format(...)`, `States.Array(...)`, ...).
//!
//! Owns parsing an intrinsic call (AWS's quoting and escaping rules, nested
//! calls, path arguments) and evaluating it against a [`PathEnv`], raising
//! `States.IntrinsicFailure` / `States.Runtime` exactly where AWS does. It
//! must not know about states; randomness comes only from the [`Entropy`]
//! the caller passes.
//!
//! Where AWS's behaviour comes from, because none of it is in the ASL spec:
//! AWS runs intrinsics in Java on plain Java objects (`String`, `Integer`,
//! `Double`, `List`, `Map`). That explains the odd corners reproduced here:
//! `States.Format` prints objects the way `Map.toString()` does
//! (`{Arg1=1, Arg2=[]}`), `States.ArrayContains` compares those strings,
//! `States.ArrayUnique` returns elements in `HashSet` order and
//! `States.JsonMerge` returns keys in `HashMap` order, `States.MathAdd`
//! rounds with `Math.round` while the other integer arguments are truncated
//! with an `(int)` cast, and `States.StringSplit` is a `StringTokenizer`.
//! Every one of these was observed on AWS (the conformance corpus, or
//! third-party test suites run against AWS); the unit tests name the case.
//!
//! Syntax errors are definition-time errors ([`IntrinsicError`]); everything
//! else, including a wrong argument count, fails at run time with
//! `States.Runtime` and the cause
//! `The function '<call as written>' had the following error: <detail>`.
//!
//! Work is bounded: nesting by [`MAX_NESTING`], ranges by
//! [`MAX_RANGE_ITEMS`], hashing and Base64 by [`MAX_STRING_INPUT`], and path
//! arguments by [`crate::path::EVAL_BUDGET`] (shared by all the paths of the
//! payload template the call is in). The other functions are linear in
//! their arguments, which AWS's payload limit keeps to 256 KiB, except
//! `States.ArrayUnique` and `States.JsonMerge`: they reproduce Java's
//! `HashMap` buckets as plain lists, so values whose hashes collide make them
//! quadratic. That is bounded by the payload limit: the worst 256 KiB input
//! (8,192 distinct strings with one hash) takes about 0.2 s.

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::path::{Budget, EVAL_BUDGET, Path, PathEnv, PathRoot};

/// How deep intrinsic calls may nest in one field. AWS documents "up to 10
/// nested intrinsic functions"; the cap also bounds the parser's recursion.
pub const MAX_NESTING: usize = 10;

/// AWS's input limit (in Java `String.length()` units, i.e. UTF-16 code
/// units) for `States.Base64Encode`, `States.Base64Decode` and `States.Hash`.
pub const MAX_STRING_INPUT: usize = 10_000;

/// The most elements `States.ArrayRange` may produce.
pub const MAX_RANGE_ITEMS: i64 = 1000;

/// How deeply nested a value may be before functions that walk it give up
/// (with "Invalid arguments"); keeps the recursive walks off the stack limit.
const MAX_VALUE_DEPTH: usize = 1000;

/// A syntax error in an intrinsic call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid intrinsic function '{text}': {reason}")]
pub struct IntrinsicError {
    /// The call as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

/// The 18 intrinsic functions. Names are case-sensitive (AWS rejects
/// `States.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `States.Format(template, args...)`
    Format,
    /// `States.StringToJson(string)`
    StringToJson,
    /// `States.JsonToString(value)`
    JsonToString,
    /// `States.Array(values...)`
    Array,
    /// `States.ArrayPartition(array, chunkSize)`
    ArrayPartition,
    /// `States.ArrayContains(array, value)`
    ArrayContains,
    /// `States.ArrayRange(start, end, step)`
    ArrayRange,
    /// `States.ArrayGetItem(array, index)`
    ArrayGetItem,
    /// `States.ArrayLength(array)`
    ArrayLength,
    /// `States.ArrayUnique(array)`
    ArrayUnique,
    /// `States.Base64Encode(string)`
    Base64Encode,
    /// `States.Base64Decode(string)`
    Base64Decode,
    /// `States.Hash(data, algorithm)`
    Hash,
    /// `States.JsonMerge(object, object, false)`
    JsonMerge,
    /// `States.MathRandom(start, end[, seed])`
    MathRandom,
    /// `States.MathAdd(a, b)`
    MathAdd,
    /// `States.StringSplit(string, delimiters)`
    StringSplit,
    /// `States.UUID()`
    Uuid,
}

impl Function {
    /// Every function, in AWS's documentation order.
    pub const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    /// The full name, e.g. `States.Format`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    /// Looks a function up by its full name (`States.Format`).
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string literal argument, kept as written between the quotes so that
/// `States.Format` can tell an escaped `\{` from a placeholder `{}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringLiteral {
    raw: String,
}

impl StringLiteral {
    /// The literal whose value is `value`, escaping `'`, `{`, `}` and `\`.
    pub fn new(value: &str) -> Self {
        let mut raw = String::with_capacity(value.len());
        for c in value.chars() {
            if matches!(c, '\'' | '{' | '}' | '\\') {
                raw.push('\\');
            }
            raw.push(c);
        }
        StringLiteral { raw }
    }

    /// Validates the text between the quotes: a backslash may only escape
    /// `'`, `{`, `}` or `\` (AWS rejects `\"` and `\n` at definition time).
    pub fn from_raw(raw: &str) -> Result<Self, String> {
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('\'' | '{' | '}' | '\\') => {}
                    Some(other) => {
                        return Err(format!(
                            "illegal escape sequence '\\{other}' in a string literal"
                        ));
                    }
                    None => return Err("a string literal ends with a lone backslash".into()),
                },
                '\'' => return Err("unescaped quote inside a string literal".into()),
                _ => {}
            }
        }
        Ok(StringLiteral {
            raw: raw.to_owned(),
        })
    }

    /// The text between the quotes, escapes included.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The string the literal denotes.
    pub fn value(&self) -> String {
        let mut out = String::with_capacity(self.raw.len());
        let mut chars = self.raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                // `from_raw` guarantees an escaped character follows.
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// A number literal, kept as written (JSON number syntax). AWS accepts
/// literals a double cannot hold (`1e309`); those fail at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberLiteral {
    text: String,
}

impl NumberLiteral {
    /// Validates JSON number syntax: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    pub fn parse(text: &str) -> Option<Self> {
        (number_len(text.as_bytes()) == Some(text.len())).then(|| NumberLiteral {
            text: text.to_owned(),
        })
    }

    /// The literal for an integer.
    pub fn from_i64(n: i64) -> Self {
        NumberLiteral {
            text: n.to_string(),
        }
    }

    /// The literal for a finite float (always written with a fraction or an
    /// exponent, so it stays a float when parsed back).
    pub fn from_f64(x: f64) -> Option<Self> {
        Number::from_f64(x).map(|n| NumberLiteral {
            text: n.to_string(),
        })
    }

    /// The literal as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value: an integer when written without fraction or exponent and
    /// it fits 64 bits (Java's `Integer`/`Long`), else a double. `None` when
    /// the double overflows.
    pub fn value(&self) -> Option<Value> {
        if !self.text.contains(['.', 'e', 'E']) {
            if let Ok(i) = self.text.parse::<i64>() {
                return Some(Value::from(i));
            }
            if let Ok(u) = self.text.parse::<u64>() {
                return Some(Value::from(u));
            }
        }
        self.text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
    }
}

/// Length of the JSON number at the start of `b`, if there is one.
fn number_len(b: &[u8]) -> Option<usize> {
    let digits = |from: usize| {
        b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    Some(i)
}

/// One argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `'text'`
    String(StringLiteral),
    /// `42`, `-1.5`, `1e3`
    Number(NumberLiteral),
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
    /// `$.a`, `$$.Execution.Id`, `$var.x`
    Path(Path),
    /// A nested call.
    Call(Call),
}

impl Arg {
    fn uses_context(&self) -> bool {
        match self {
            Arg::Path(p) => p.uses_context(),
            Arg::Call(c) => c.uses_context(),
            _ => false,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::String(s) => write!(f, "'{}'", s.raw),
            Arg::Number(n) => f.write_str(&n.text),
            Arg::Bool(b) => write!(f, "{b}"),
            Arg::Null => f.write_str("null"),
            Arg::Path(p) => f.write_str(p.text()),
            Arg::Call(c) => write!(f, "{c}"),
        }
    }
}

/// A call: a function and its arguments (any number; the count is checked at
/// run time, as AWS does).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    function: Function,
    args: Vec<Arg>,
}

impl Call {
    /// A call of `function` with `args`.
    pub fn new(function: Function, args: Vec<Arg>) -> Self {
        Call { function, args }
    }

    /// The function called.
    pub fn function(&self) -> Function {
        self.function
    }

    /// The arguments, in order.
    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    /// How deep calls nest here (1 for a call without nested calls).
    pub fn depth(&self) -> usize {
        1 + self
            .args
            .iter()
            .map(|a| match a {
                Arg::Call(c) => c.depth(),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    fn uses_context(&self) -> bool {
        self.args.iter().any(Arg::uses_context)
    }
}

impl fmt::Display for Call {
    /// The canonical form: `States.Name(arg, arg)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.function.name())?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        f.write_str(")")
    }
}

/// A parsed intrinsic function call.
///
/// Equality compares the syntax tree, not the spelling: `States.Array( 1 )`
/// equals `States.Array(1)`. [`Display`](fmt::Display) prints the canonical
/// spelling, and parsing it gives back an equal value.
#[derive(Debug, Clone)]
pub struct Intrinsic {
    text: String,
    call: Call,
}

impl PartialEq for Intrinsic {
    fn eq(&self, other: &Self) -> bool {
        self.call == other.call
    }
}

impl fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.call)
    }
}

impl Intrinsic {
    /// Whether a `.$` value is meant as an intrinsic call rather than a path.
    pub fn looks_like_call(text: &str) -> bool {
        text.starts_with("States.")
    }

    /// Parses a call such as `States.Format('Hello {}', $.name)`.
    pub fn parse(text: &str) -> Result<Intrinsic, IntrinsicError> {
        let err = |reason: String| IntrinsicError {
            text: text.to_owned(),
            reason,
        };
        let mut p = Parser { src: text, pos: 0 };
        let call = p.call(1).map_err(err)?;
        p.skip_ws();
        if p.pos != text.len() {
            return Err(err(format!(
                "unexpected text after the call at offset {}",
                p.pos
            )));
        }
        Ok(Intrinsic {
            text: text.to_owned(),
            call,
        })
    }

    /// An intrinsic from a syntax tree (its text is the canonical spelling).
    pub fn from_call(call: Call) -> Result<Intrinsic, IntrinsicError> {
        let text = call.to_string();
        if call.depth() > MAX_NESTING {
            return Err(IntrinsicError {
                text,
                reason: format!("more than {MAX_NESTING} nested intrinsic functions"),
            });
        }
        Ok(Intrinsic { text, call })
    }

    /// The call exactly as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The syntax tree.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// Whether any argument reads the context object.
    pub fn uses_context(&self) -> bool {
        self.call.uses_context()
    }

    /// Evaluates the call. Failures name the whole call as written, even when
    /// a nested call failed (as AWS does).
    pub fn eval(&self, env: &PathEnv<'_>, entropy: &mut dyn Entropy) -> Result<Value, Failure> {
        self.eval_within(env, entropy, &Budget::new(EVAL_BUDGET))
    }

    /// [`Intrinsic::eval`] with path arguments drawing on a shared budget
    /// (the one of the payload template the call is in).
    pub(crate) fn eval_within(
        &self,
        env: &PathEnv<'_>,
        entropy: &mut dyn Entropy,
        budget: &Budget,
    ) -> Result<Value, Failure> {
        eval_call(&self.call, env, entropy, budget)
            .map(|e| e.value)
            .map_err(|e| {
                let cause = format!(
                    "The function '{}' had the following error: {}",
                    self.text, e.detail
                );
                match e.kind {
                    ErrorKind::Runtime => Failure::runtime(cause),
                    ErrorKind::Intrinsic => Failure::intrinsic(cause),
                }
            })
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Whitespace between tokens: AWS accepts `States.Array( $.a , $.b )`.
    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > MAX_NESTING {
            return Err(format!(
                "more than {MAX_NESTING} nested intrinsic functions"
            ));
        }
        let Some(after) = self.rest().strip_prefix("States.") else {
            return Err(format!("expected 'States.' at offset {}", self.pos));
        };
        let name_len = after.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let name = &self.rest()[..7 + name_len];
        let function = Function::from_name(name)
            .ok_or_else(|| format!("unknown intrinsic function '{name}'"))?;
        self.pos += name.len();
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.pos += 1;
        self.skip_ws();
        let mut args = Vec::new();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(Call { function, args });
        }
        loop {
            args.push(self.arg(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(')') => {
                    self.pos += 1;
                    return Ok(Call { function, args });
                }
                _ => return Err(format!("expected ',' or ')' at offset {}", self.pos)),
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some('-' | '0'..='9') => {
                let len = number_len(self.rest().as_bytes())
                    .ok_or_else(|| format!("invalid number at offset {}", self.pos))?;
                let text = &self.rest()[..len];
                self.pos += len;
                self.expect_delimiter()?;
                NumberLiteral::parse(text)
                    .map(Arg::Number)
                    .ok_or_else(|| format!("invalid number '{text}'"))
            }
            Some('S') => self.call(depth + 1).map(Arg::Call),
            Some(_) => {
                for (word, arg) in [
                    ("true", Arg::Bool(true)),
                    ("false", Arg::Bool(false)),
                    ("null", Arg::Null),
                ] {
                    if self.rest().starts_with(word) {
                        self.pos += word.len();
                        self.expect_delimiter()?;
                        return Ok(arg);
                    }
                }
                Err(format!("unexpected argument at offset {}", self.pos))
            }
            None => Err("unexpected end of the call".into()),
        }
    }

    /// A literal must be followed by whitespace, `,` or `)`.
    fn expect_delimiter(&self) -> Result<(), String> {
        match self.peek() {
            Some(' ' | '\t' | '\n' | '\r' | ',' | ')') => Ok(()),
            _ => Err(format!("unexpected character at offset {}", self.pos)),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        let body = &self.rest()[1..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '\'' {
                end = Some(i);
                break;
            }
        }
        let end = end.ok_or("unterminated string literal")?;
        let lit = StringLiteral::from_raw(&body[..end])?;
        self.pos += end + 2;
        Ok(Arg::String(lit))
    }

    /// A path runs to the first whitespace, `,` or `)` outside brackets (and
    /// outside quotes within brackets, for `$['a,b']` and filters); its text
    /// is then validated by [`Path::parse`].
    fn path(&mut self) -> Result<Arg, String> {
        let rest = self.rest();
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let mut escaped = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                '\'' | '"' if depth > 0 => quote = Some(c),
                ' ' | '\t' | '\n' | '\r' | ',' | ')' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let text = &rest[..end];
        let path = Path::parse(text).map_err(|e| e.to_string())?;
        self.pos += end;
        Ok(Arg::Path(path))
    }
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// An evaluated argument. `json_node` marks a `States.StringToJson` result,
/// which AWS keeps as a JSON node: `States.Format` prints it as JSON text
/// (`"x"` with quotes) rather than the plain Java string.
struct Evaluated {
    value: Value,
    json_node: bool,
}

impl Evaluated {
    fn plain(value: Value) -> Self {
        Evaluated {
            value,
            json_node: false,
        }
    }
}

enum ErrorKind {
    Runtime,
    Intrinsic,
}

struct EvalError {
    kind: ErrorKind,
    detail: String,
}

type EvalResult = Result<Evaluated, EvalError>;

/// AWS's detail for any argument a function rejects (wrong count, type or
/// range): `Invalid arguments in States.MathAdd`.
fn invalid(f: Function) -> EvalError {
    EvalError {
        kind: ErrorKind::Runtime,
        detail: format!("Invalid arguments in {}", f.name()),
    }
}

fn eval_call(
    call: &Call,
    env: &PathEnv<'_>,
    entropy: &mut dyn Entropy,
    budget: &Budget,
) -> EvalResult {
    let f = call.function;
    let mut args = Vec::with_capacity(call.args.len());
    for arg in &call.args {
        args.push(eval_arg(arg, f, env, entropy, budget)?);
    }
    match f {
        Function::Format => states_format(call, args),
        Function::StringToJson => string_to_json(f, args),
        Function::JsonToString => {
            let [v] = exact::<1>(f, args)?;
            Ok(Evaluated::plain(Value::String(java_json(&v.value))))
        }
        Function::Array => Ok(Evaluated::plain(Value::Array(
            args.into_iter().map(|a| a.value).collect(),
        ))),
        Function::ArrayPartition => array_partition(f, args),
        Function::ArrayContains => array_contains(f, args),
        Function::ArrayRange => array_range(f, args),
        Function::ArrayGetItem => array_get_item(f, args),
        Function::ArrayLength => {
            let [v] = exact::<1>(f, args)?;
            let items = as_array(f, &v.value)?;
            Ok(Evaluated::plain(Value::from(items.len())))
        }
        Function::ArrayUnique => array_unique(f, args),
        Function::Base64Encode => {
            let [v] = exact::<1>(f, args)?;
            let s = limited_string(f, &v.value)?;
            Ok(Evaluated::plain(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s),
            )))
        }
        Function::Base64Decode => {
            let [v] = exact::<1>(f, args)?;
            let s = limited_string(f, &v.value)?;
            let bytes = lenient_base64_decode(s);
            Ok(Evaluated::plain(Value::String(
                String::from_utf8_lossy(&bytes).into_owned(),
            )))
        }
        Function::Hash => hash(f, args),
        Function::JsonMerge => json_merge(f, args),
        Function::MathRandom => math_random(f, args, entropy),
        Function::MathAdd => math_add(f, args),
        Function::StringSplit => {
            let [s, d] = exact::<2>(f, args)?;
            let (Value::String(s), Value::String(d)) = (&s.value, &d.value) else {
                return Err(invalid(f));
            };
            let parts = string_tokenizer(s, d)
                .into_iter()
                .map(|p| Value::String(p.to_owned()))
                .collect();
            Ok(Evaluated::plain(Value::Array(parts)))
        }
        Function::Uuid => {
            exact::<0>(f, args)?;
            Ok(Evaluated::plain(Value::String(entropy.uuid_v4())))
        }
    }
}

fn eval_arg(
    arg: &Arg,
    parent: Function,
    env: &PathEnv<'_>,
    entropy: &mut dyn Entropy,
    budget: &Budget,
) -> EvalResult {
    match arg {
        Arg::String(s) => Ok(Evaluated::plain(Value::String(s.value()))),
        // A literal a double cannot hold (`1e309`) is accepted by the parser
        // but is not a usable number.
        Arg::Number(n) => n.value().map(Evaluated::plain).ok_or_else(|| invalid(parent)),
        Arg::Bool(b) => Ok(Evaluated::plain(Value::Bool(*b))),
        Arg::Null => Ok(Evaluated::plain(Value::Null)),
        Arg::Path(p) => p.select_within(env, budget).map(Evaluated::plain).ok_or_else(|| {
            if budget.exhausted() {
                return over_budget(p);
            }
            // AWS names `$$` paths rewritten against the context object
            // (`$$.Nope` is reported as `$.Nope`) but still prints the
            // state input, as Step Functions Local does.
            let field = match p.root() {
                PathRoot::Context => p.text().strip_prefix('$').unwrap_or(p.text()),
                _ => p.text(),
            };
            EvalError {
                kind: ErrorKind::Runtime,
                detail: format!(
                    "The JsonPath argument for the field '{field}' could not be found in the input '{}'",
                    java_json(env.input)
                ),
            }
        }),
        Arg::Call(c) => eval_call(c, env, entropy, budget),
    }
}

/// A path argument needed more work than [`EVAL_BUDGET`] allows.
fn over_budget(p: &Path) -> EvalError {
    EvalError {
        kind: ErrorKind::Runtime,
        detail: format!(
            "The JsonPath argument '{}' needs more work to evaluate than the limit allows",
            p.text()
        ),
    }
}

/// The arguments as a fixed-size array, or "Invalid arguments" when the
/// count is wrong (AWS checks arity at run time, not at definition time).
fn exact<const N: usize>(f: Function, args: Vec<Evaluated>) -> Result<[Evaluated; N], EvalError> {
    args.try_into().map_err(|_| invalid(f))
}

fn as_array(f: Function, v: &Value) -> Result<&Vec<Value>, EvalError> {
    v.as_array().ok_or_else(|| invalid(f))
}

/// A string argument of at most [`MAX_STRING_INPUT`] UTF-16 code units.
fn limited_string(f: Function, v: &Value) -> Result<&str, EvalError> {
    match v {
        Value::String(s) if utf16_len(s) <= MAX_STRING_INPUT => Ok(s),
        _ => Err(invalid(f)),
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// A number argument as Java's `(int)` cast of its double value: truncated
/// toward zero, saturating. AWS truncates this way for ArrayRange,
/// ArrayPartition, ArrayGetItem and MathRandom (`ArrayPartition(x, 2.6)`
/// chunks by 2, `MathRandom(1.6, 5.4)` can return 1).
fn truncated_int(f: Function, v: &Value) -> Result<i32, EvalError> {
    v.as_f64().map(|x| x as i32).ok_or_else(|| invalid(f))
}

// --- States.Format -----------------------------------------------------------

fn states_format(call: &Call, args: Vec<Evaluated>) -> EvalResult {
    let f = Function::Format;
    let mut args = args.into_iter();
    let Some(template) = args.next() else {
        return Err(invalid(f));
    };
    let Value::String(template_value) = &template.value else {
        // Observed: AWS does not report a non-string template as States.Runtime.
        return Err(EvalError {
            kind: ErrorKind::Intrinsic,
            detail: format!("Invalid arguments in {}", f.name()),
        });
    };
    // A literal template keeps its escapes, so `\{` is a brace, not a placeholder.
    let (text, escapes) = match call.args.first() {
        Some(Arg::String(lit)) => (lit.raw(), true),
        _ => (template_value.as_str(), false),
    };
    let values: Vec<Evaluated> = args.collect();
    let mut out = String::with_capacity(text.len());
    let mut next = values.iter();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escapes => {
                if let Some(e) = chars.next() {
                    out.push(e);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let v = next.next().ok_or_else(|| invalid(f))?;
                if v.json_node {
                    out.push_str(&java_json(&v.value));
                } else {
                    write_value(&v.value, Style::JavaToString, &mut out);
                }
            }
            // AWS fails on `'Hello {'`, `'Hello {{}}'` and `'}'`.
            '{' | '}' => return Err(invalid(f)),
            c => out.push(c),
        }
    }
    if next.next().is_some() {
        return Err(invalid(f));
    }
    Ok(Evaluated::plain(Value::String(out)))
}

// --- JSON --------------------------------------------------------------------

fn string_to_json(f: Function, args: Vec<Evaluated>) -> EvalResult {
    let [v] = exact::<1>(f, args)?;
    let Value::String(s) = &v.value else {
        return Err(invalid(f));
    };
    let s = s.trim_matches([' ', '\t', '\n', '\r']);
    // Jackson reads an empty or blank document as null (corpus: "" and " ").
    let value = if s.is_empty() {
        Value::Null
    } else {
        // Jackson reads the first value and ignores what follows it.
        let text = minus_zero_as_int(s);
        match serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .next()
        {
            Some(Ok(v)) => v,
            _ => return Err(invalid(f)),
        }
    };
    Ok(Evaluated {
        value,
        json_node: true,
    })
}

/// Rewrites the integer token `-0` to `0`: Jackson reads it as the integer
/// 0 (corpus: `StringToJson("-0")` is `0`), serde_json as the float `-0.0`.
fn minus_zero_as_int(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains("-0") {
        return s.into();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '-'
            && b.get(i + 1) == Some(&b'0')
            && !matches!(b.get(i + 2), Some(b'.' | b'e' | b'E' | b'0'..=b'9'))
        {
            continue;
        }
        out.push(c);
    }
    out.into()
}

fn json_merge(f: Function, args: Vec<Evaluated>) -> EvalResult {
    let [a, b, deep] = exact::<3>(f, args)?;
    // Only shallow merging exists; AWS requires the literal `false`.
    let (Value::Object(a), Value::Object(b), Value::Bool(false)) = (a.value, b.value, deep.value)
    else {
        return Err(invalid(f));
    };
    // AWS builds a java.util.HashMap (`new HashMap<>(a); putAll(b)`), so keys
    // come out in hash-bucket order (corpus: merging {"constant_in_literal"}
    // with {"constant_input_field"} puts the second key first).
    let mut map: JavaHashMap<(String, Value)> = JavaHashMap::new();
    for m in [a, b] {
        map.put_all_presize(m.len());
        for (k, v) in m {
            map.put(
                java_string_hash(&k),
                (k, v),
                |x, y| x.0 == y.0,
                |old, new| old.1 = new.1,
            );
        }
    }
    Ok(Evaluated::plain(Value::Object(
        map.into_ordered().into_iter().collect::<Map<_, _>>(),
    )))
}

// --- Arrays ------------------------------------------------------------------

fn array_partition(f: Function, args: Vec<Evaluated>) -> EvalResult {
    let [a, n] = exact::<2>(f, args)?;
    let items = as_array(f, &a.value)?;
    let size = truncated_int(f, &n.value)?;
    if size <= 0 {
        return Err(invalid(f));
    }
    let chunks = items
        .chunks(size as usize)
        .map(|c| Value::Array(c.to_vec()))
        .collect();
    Ok(Evaluated::plain(Value::Array(chunks)))
}

fn array_contains(f: Function, args: Vec<Evaluated>) -> EvalResult {
    let [a, x] = exact::<2>(f, args)?;
    let items = as_array(f, &a.value)?;
    // AWS compares Java toString() forms: `true` matches "true", a number
    // matches its digits as a string, and object key order matters.
    let needle = java_to_string(&x.value);
    Ok(Evaluated::plain(Value::Bool(
        items.iter().any(|i| java_to_string(i) == needle),
    )))
}

fn array_range(f: Function, args: Vec<Evaluated>) -> EvalResult {
    let [a, b, c] = exact::<3>(f, args)?;
    let (start, end, step) = (
        i64::from(truncated_int(f, &a.value)?),
        i64::from(truncated_int(f, &b.value)?),
        i64::from(truncated_int(f, &c.value)?),
    );
    if step == 0 {
        return Err(invalid(f));
    }
    // Count first so a huge range fails without being built.
    let count = if (step > 0 && start > end) || (step < 0 && start < end) {
        0
    } else {
        (end - start) / step + 1
    };
    if count > MAX_RANGE_ITEMS {
        return Err(invalid(f));
    }
    let values = (0..count).map(|i| Value::from(start + i * step)).collect();
    Ok(Evaluated::plain(Value::Array(values)))
}

fn array_get_item(f: Function, args: Vec<Evaluated>) -> EvalResult {
    let [a, i] = exact::<2>(f, args)?;
    let Value::Array(mut items) = a.value else {
        return Err(invalid(f));
    };
    let index = truncated_int(f, &i.value)?;
    // Observed on AWS: any index into an empty array gives null, while an
    // out-of-range index into a non-empty array fails.
    if items.is_empty() {
        return Ok(Evaluated::plain(Value::Null));
    }
    if index < 0 || index as usize >= items.len() {
        return Err(invalid(f));
    }
    Ok(Evaluated::plain(items.swap_remove(index as usize)))
}

fn array_unique(f: Function, args: Vec<Evaluated>) -> EvalResult {
    let [a] = exact::<1>(f, args)?;
    let Value::Array(items) = a.value else {
        return Err(invalid(f));
    };
    if items.iter().any(|v| exceeds_depth(v, MAX_VALUE_DEPTH)) {
        return Err(invalid(f));
    }
    // AWS returns `new ArrayList<>(new HashSet<>(list))`: hash-bucket order,
    // not first occurrence ([true, false] comes out as [false, true]).
    let n = items.len();
    let mut set: JavaHashMap<Value> =
        JavaHashMap::with_capacity((((n as f32) / 0.75) as usize + 1).max(16));
    for v in items {
        set.put(java_hash(&v), v, java_equals, |_, _| {});
    }
    Ok(Evaluated::plain(Value::Array(set.into_ordered())))
}

// --- Encoding and hashing ----------------------------------------------------

/// Decodes Base64 the way Apache commons-codec does by default, which is what
/// AWS's results match: characters outside the alphabet are skipped, `=`
/// ends the data, and a short last group still yields its whole bytes
/// (AWS decodes `'!!!invalid!!!'`, `'abc'` and `' YWJjZA== '`).
fn lenient_base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut n = 0;
    for b in s.bytes() {
        let v = match b {
            b'=' => break,
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

fn hash(f: Function, args: Vec<Evaluated>) -> EvalResult {
    use sha2::Digest as _;
    let [data, algorithm] = exact::<2>(f, args)?;
    // AWS hashes non-string data by its string form (observed for numbers
    // and objects).
    let text = match data.value {
        Value::String(s) => s,
        other => java_to_string(&other),
    };
    if utf16_len(&text) > MAX_STRING_INPUT {
        return Err(invalid(f));
    }
    let bytes = text.as_bytes();
    let digest: Vec<u8> = match algorithm.value.as_str() {
        Some("MD5") => md5::Md5::digest(bytes).to_vec(),
        Some("SHA-1") => sha1::Sha1::digest(bytes).to_vec(),
        Some("SHA-256") => sha2::Sha256::digest(bytes).to_vec(),
        Some("SHA-384") => sha2::Sha384::digest(bytes).to_vec(),
        Some("SHA-512") => sha2::Sha512::digest(bytes).to_vec(),
        _ => return Err(invalid(f)),
    };
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Evaluated::plain(Value::String(hex)))
}

// --- Math --------------------------------------------------------------------

fn math_add(f: Function, args: Vec<Evaluated>) -> EvalResult {
    let [a, b] = exact::<2>(f, args)?;
    // Each operand is rounded with Java's Math.round (half up) before adding:
    // corpus -0.5 + 0.5 = 1, 1.5 + 1.51 = 4, -2.5 + 0 = -2.
    let operand = |v: &Value| -> Result<i64, EvalError> {
        let n = match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) => i,
                None if n.is_u64() => return Err(invalid(f)),
                None => java_round(n.as_f64().unwrap_or(f64::NAN)),
            },
            _ => return Err(invalid(f)),
        };
        // AWS documents the int range -2147483648..2147483647.
        if i32::try_from(n).is_ok() {
            Ok(n)
        } else {
            Err(invalid(f))
        }
    };
    let sum = operand(&a.value)? + operand(&b.value)?;
    if i32::try_from(sum).is_err() {
        return Err(invalid(f));
    }
    Ok(Evaluated::plain(Value::from(sum)))
}

/// Java's `Math.round(double)`: floor(x + 0.5), computed without the
/// rounding error of adding 0.5 (0.49999999999999994 rounds to 0).
fn java_round(x: f64) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let floor = x.floor();
    let r = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    r as i64
}

fn math_random(f: Function, args: Vec<Evaluated>, entropy: &mut dyn Entropy) -> EvalResult {
    if !(2..=3).contains(&args.len()) {
        return Err(invalid(f));
    }
    let start = truncated_int(f, &args[0].value)?;
    let end = truncated_int(f, &args[1].value)?;
    let seed = match args.get(2) {
        Some(s) => Some(
            s.value
                .as_f64()
                .map(|x| x as i64)
                .ok_or_else(|| invalid(f))?,
        ),
        None => None,
    };
    // The result lies in [start, end). Java's nextInt(bound) rejects a bound
    // that is not positive, including one that overflowed.
    let bound = end.wrapping_sub(start);
    if bound <= 0 {
        return Err(invalid(f));
    }
    // With a seed this is `new java.util.Random(seed).nextInt(end - start) + start`,
    // so the same seed always gives the same number.
    let mut rng = JavaRandom::new(seed.unwrap_or_else(|| entropy.next_u64() as i64));
    Ok(Evaluated::plain(Value::from(
        rng.next_int(bound).wrapping_add(start),
    )))
}

/// `java.util.Random`: the 48-bit linear congruential generator.
struct JavaRandom {
    seed: i64,
}

impl JavaRandom {
    const MULTIPLIER: i64 = 0x5_DEEC_E66D;
    const MASK: i64 = (1 << 48) - 1;

    fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB) & Self::MASK;
        (self.seed >> (48 - bits)) as i32
    }

    /// `nextInt(bound)` for `bound > 0`, including its rejection loop.
    fn next_int(&mut self, bound: i32) -> i32 {
        let mut r = self.next(31);
        let m = bound - 1;
        if (bound & m) == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

// --- Strings -----------------------------------------------------------------

/// `java.util.StringTokenizer`: splits on any of the delimiter characters and
/// drops empty tokens (corpus: `", , ,"` on `","` gives `[" ", " "]`, and
/// `".+,="` splits on each of the four characters).
fn string_tokenizer<'a>(s: &'a str, delimiters: &str) -> Vec<&'a str> {
    s.split(|c: char| delimiters.contains(c))
        .filter(|t| !t.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------
// Java views of JSON values
// ---------------------------------------------------------------------------

/// Whether `v` nests deeper than `limit` (checked without recursion).
fn exceeds_depth(v: &Value, limit: usize) -> bool {
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        if d > limit {
            return true;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    false
}

/// `String.valueOf(x)` of the Java object AWS holds for `v`: strings bare,
/// `[a, b]` for lists, `{k=v, k2=v2}` for maps, Java's double notation.
pub fn java_to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(v, Style::JavaToString, &mut out);
    out
}

/// Compact JSON as Jackson writes it: like serde_json, except that doubles
/// use Java's notation (`1.0E20`).
pub fn java_json(v: &Value) -> String {
    let mut out = String::new();
    write_value(v, Style::Json, &mut out);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Json,
    JavaToString,
}

/// Writes `v` without recursion, so values of any depth are safe.
fn write_value(v: &Value, style: Style, out: &mut String) {
    enum Work<'a> {
        Value(&'a Value),
        Text(&'static str),
        Key(&'a str),
    }
    let separator = if style == Style::Json { "," } else { ", " };
    let mut stack = vec![Work::Value(v)];
    while let Some(work) = stack.pop() {
        match work {
            Work::Text(t) => out.push_str(t),
            Work::Key(k) => {
                if style == Style::Json {
                    push_json_string(k, out);
                    out.push(':');
                } else {
                    out.push_str(k);
                    out.push('=');
                }
            }
            Work::Value(v) => match v {
                Value::Null => out.push_str("null"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => out.push_str(&java_number(n)),
                Value::String(s) if style == Style::Json => push_json_string(s, out),
                Value::String(s) => out.push_str(s),
                Value::Array(a) => {
                    out.push('[');
                    stack.push(Work::Text("]"));
                    for (i, x) in a.iter().enumerate().rev() {
                        stack.push(Work::Value(x));
                        if i > 0 {
                            stack.push(Work::Text(separator));
                        }
                    }
                }
                Value::Object(o) => {
                    out.push('{');
                    stack.push(Work::Text("}"));
                    for (i, (k, x)) in o.iter().enumerate().rev() {
                        stack.push(Work::Value(x));
                        stack.push(Work::Key(k));
                        if i > 0 {
                            stack.push(Work::Text(separator));
                        }
                    }
                }
            },
        }
    }
}

fn push_json_string(s: &str, out: &mut String) {
    // serde_json escapes strings exactly as Jackson does (short escapes for
    // \b \t \n \f \r, \u00XX for other controls, nothing else).
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn java_number(n: &Number) -> String {
    match n.as_f64() {
        Some(x) if n.is_f64() => java_double_to_string(x),
        _ => n.to_string(),
    }
}

/// Java's `Double.toString`: plain notation with at least one fraction digit
/// for 1e-3 <= |x| < 1e7 (`1.0`, `0.001`), else `d.dddE[-]n` (`1.0E7`).
pub fn java_double_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Shortest round-trip digits, as Java (JDK 19+) also produces.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if point >= digits.len() {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

/// `hashCode()` of the Java object Jackson makes of `v` (`Integer` when the
/// number fits, else `Long`/`BigInteger`; `Double`; `ArrayList`;
/// `LinkedHashMap`).
fn java_hash(v: &Value) -> i32 {
    match v {
        Value::Null => 0,
        Value::Bool(b) => {
            if *b {
                1231
            } else {
                1237
            }
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                match i32::try_from(i) {
                    Ok(small) => small,
                    Err(_) => (i ^ ((i as u64) >> 32) as i64) as i32,
                }
            } else if let Some(u) = n.as_u64() {
                // BigInteger: 31 * high word + low word, sign positive.
                ((u >> 32) as u32 as i32)
                    .wrapping_mul(31)
                    .wrapping_add(u as u32 as i32)
            } else {
                let bits = n.as_f64().unwrap_or(0.0).to_bits();
                (bits ^ (bits >> 32)) as i32
            }
        }
        Value::String(s) => java_string_hash(s),
        Value::Array(a) => a
            .iter()
            .fold(1i32, |h, x| h.wrapping_mul(31).wrapping_add(java_hash(x))),
        Value::Object(o) => o.iter().fold(0i32, |h, (k, x)| {
            h.wrapping_add(java_string_hash(k) ^ java_hash(x))
        }),
    }
}

fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// `equals()` between the Java objects of two values: numbers of different
/// kinds differ (`1` vs `1.0`), doubles compare bit patterns, maps ignore
/// key order.
fn java_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.is_f64(), y.is_f64()) {
            (true, true) => x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits),
            (false, false) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| java_equals(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| java_equals(v, w)))
        }
        _ => a == b,
    }
}

/// Iteration order of a `java.util.HashMap` (or the `HashSet` built on it):
/// entries sit in buckets `spread(hash) & (capacity - 1)`, appended in
/// insertion order; the table doubles when it holds more than 3/4 of its
/// capacity, or when a bucket grows past 8 while the table is smaller than
/// 64. (Treeified buckets, which need 8+ collisions in a table of 64+, are
/// not modelled.)
struct JavaHashMap<T> {
    /// Empty until the first insertion (Java allocates lazily).
    table: Vec<Vec<(i32, T)>>,
    threshold: usize,
    size: usize,
}

impl<T> JavaHashMap<T> {
    fn new() -> Self {
        JavaHashMap {
            table: Vec::new(),
            threshold: 0,
            size: 0,
        }
    }

    /// `new HashMap<>(initialCapacity)`.
    fn with_capacity(initial: usize) -> Self {
        JavaHashMap {
            table: Vec::new(),
            threshold: table_size_for(initial),
            size: 0,
        }
    }

    /// The pre-sizing step of `putAll(m)` (JDK 8–17 `putMapEntries`).
    fn put_all_presize(&mut self, s: usize) {
        if s == 0 {
            return;
        }
        if self.table.is_empty() {
            let t = ((s as f32) / 0.75 + 1.0) as usize;
            if t > self.threshold {
                self.threshold = table_size_for(t);
            }
        } else if s > self.threshold {
            self.resize();
        }
    }

    fn resize(&mut self) {
        let old_cap = self.table.len();
        let new_cap = if old_cap > 0 {
            old_cap * 2
        } else if self.threshold > 0 {
            self.threshold
        } else {
            16
        };
        self.threshold = new_cap * 3 / 4;
        let mut table: Vec<Vec<(i32, T)>> = (0..new_cap).map(|_| Vec::new()).collect();
        // Re-bucketing in old iteration order keeps each bucket's relative
        // order, as Java's lo/hi split does.
        for bucket in std::mem::take(&mut self.table) {
            for (h, item) in bucket {
                table[(h as u32 as usize) & (new_cap - 1)].push((h, item));
            }
        }
        self.table = table;
    }

    fn put(
        &mut self,
        hash: i32,
        item: T,
        same: impl Fn(&T, &T) -> bool,
        on_duplicate: impl FnOnce(&mut T, T),
    ) {
        if self.table.is_empty() {
            self.resize();
        }
        let h = hash ^ ((hash as u32) >> 16) as i32;
        let cap = self.table.len();
        let bucket = &mut self.table[(h as u32 as usize) & (cap - 1)];
        if let Some(existing) = bucket.iter_mut().find(|(eh, e)| *eh == h && same(e, &item)) {
            on_duplicate(&mut existing.1, item);
            return;
        }
        let before = bucket.len();
        bucket.push((h, item));
        if before >= 8 && cap < 64 {
            self.resize();
        }
        self.size += 1;
        if self.size > self.threshold {
            self.resize();
        }
    }

    fn into_ordered(self) -> Vec<T> {
        self.table
            .into_iter()
            .flatten()
            .map(|(_, item)| item)
            .collect()
    }
}

/// `HashMap.tableSizeFor`: the smallest power of two >= `c` (at least 1).
fn table_size_for(c: usize) -> usize {
    c.max(1).next_power_of_two().min(1 << 30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SplitMix64;
    use crate::failure::{STATES_INTRINSIC_FAILURE, STATES_RUNTIME};
    use crate::path::NoVariables;
    use serde_json::json;

    fn parse(text: &str) -> Intrinsic {
        match Intrinsic::parse(text) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        }
    }

    fn eval_in(text: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
        let env = PathEnv {
            input,
            context,
            variables: &NoVariables,
        };
        parse(text).eval(&env, &mut SplitMix64(7))
    }

    fn ok(text: &str) -> Value {
        ok_with(text, &json!({}))
    }

    fn ok_with(text: &str, input: &Value) -> Value {
        match eval_in(text, input, &json!({})) {
            Ok(v) => v,
            Err(f) => panic!("{text}: {f:?}"),
        }
    }

    fn fail_with(text: &str, input: &Value) -> Failure {
        match eval_in(text, input, &json!({})) {
            Ok(v) => panic!("{text} gave {v}"),
            Err(f) => f,
        }
    }

    /// The cause AWS writes for rejected arguments.
    fn invalid_cause(text: &str, f: &str) -> String {
        format!("The function '{text}' had the following error: Invalid arguments in {f}")
    }

    fn assert_invalid(text: &str, f: &str) {
        assert_invalid_with(text, &json!({}), f);
    }

    fn assert_invalid_with(text: &str, input: &Value, f: &str) {
        let failure = fail_with(text, input);
        assert_eq!(failure.error.as_deref(), Some(STATES_RUNTIME), "{text}");
        assert_eq!(failure.cause, Some(invalid_cause(text, f)), "{text}");
    }

    fn path_works() -> bool {
        Path::parse("$.a").is_ok_and(|p| {
            p.select(&PathEnv {
                input: &json!({"a": 1}),
                context: &Value::Null,
                variables: &NoVariables,
            }) == Some(json!(1))
        })
    }

    // --- syntax --------------------------------------------------------------

    #[test]
    fn parses_literals_and_whitespace() {
        let i = parse("States.Array( 'a' ,1, -2.5e3 , true,false ,null )");
        assert_eq!(
            i.to_string(),
            "States.Array('a', 1, -2.5e3, true, false, null)"
        );
        assert_eq!(
            i.text(),
            "States.Array( 'a' ,1, -2.5e3 , true,false ,null )"
        );
        assert_eq!(parse("States.UUID()").call().args().len(), 0);
        assert_eq!(parse("States.Array()").to_string(), "States.Array()");
    }

    #[test]
    fn equality_ignores_spelling() {
        assert_eq!(
            parse("States.Array( 1 ,'x')"),
            parse("States.Array(1, 'x')")
        );
        assert_ne!(parse("States.Array(1.0)"), parse("States.Array(1)"));
    }

    #[test]
    fn rejects_malformed_calls() {
        for bad in [
            "States.format('x')",          // names are case-sensitive
            "States.Nope()",               // unknown function
            "States.Array(",               // unfinished
            "States.Array(1,)",            // empty argument
            "States.Array(,1)",            // empty argument
            "States.Array(1) trailing",    // text after the call
            "States.Array([1,2])",         // no JSON literals
            "States.Array(1.)",            // JSON number syntax
            "States.Array(.5)",            //
            "States.Array(01)",            //
            "States.Array(1x)",            //
            "States.Array(truex)",         //
            "States.Array('unterminated)", //
            "States.Array(\"x\")",         // double quotes are not strings
            " States.Array()",             // must start with States.
            "States.Array",                // no argument list
        ] {
            assert!(Intrinsic::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn illegal_escapes_are_definition_errors() {
        // localstack-asl-invalid-definitions.jsonl ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_FUNCTION(_2):
        // `\"` inside an intrinsic string makes CreateStateMachine fail.
        assert!(
            Intrinsic::parse(
                r#"States.StringToJson('{"text":"An \"escaped double quote\" here"}')"#
            )
            .is_err()
        );
        assert!(
            Intrinsic::parse(r#"States.Format('He said, \"Hello, {}!\"', 'Test \"Name\" Here')"#)
                .is_err()
        );
        // AWS also refuses `\n` (third-party AWS observation, B64D-025).
        assert!(Intrinsic::parse(r"States.Base64Decode('YWJj\nZA==')").is_err());
    }

    #[test]
    fn documented_escapes_and_raw_control_characters() {
        assert_eq!(
            ok(r"States.Array('it\'s', '\{\}', 'back\\slash')"),
            json!(["it's", "{}", "back\\slash"])
        );
        // Corpus test_escape_sequence: a real newline inside a literal is fine.
        assert_eq!(
            ok("States.StringSplit('Hello\nWorld', '\n')"),
            json!(["Hello", "World"])
        );
        // Plain double quotes need no escape (third-party AWS case FMT "preserve escaped quotes").
        assert_eq!(
            ok(r#"States.Format('Name: \'{}\', Surname: "{}"', 'G', 'M')"#),
            json!("Name: 'G', Surname: \"M\"")
        );
    }

    #[test]
    fn nesting_is_capped_at_ten() {
        let nest = |n: usize| format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
        assert!(Intrinsic::parse(&nest(10)).is_ok());
        assert!(Intrinsic::parse(&nest(11)).is_err());
        assert!(Intrinsic::parse(&nest(100_000)).is_err());
    }

    #[test]
    fn string_literal_round_trip() {
        let lit = StringLiteral::new(r"a'b{c}d\e");
        assert_eq!(lit.raw(), r"a\'b\{c\}d\\e");
        assert_eq!(lit.value(), r"a'b{c}d\e");
        assert!(StringLiteral::from_raw(r"a\qb").is_err());
    }

    #[test]
    fn number_literals() {
        assert_eq!(
            NumberLiteral::parse("-0").and_then(|n| n.value()),
            Some(json!(0))
        );
        assert_eq!(
            NumberLiteral::parse("1e2").and_then(|n| n.value()),
            Some(json!(100.0))
        );
        assert_eq!(
            NumberLiteral::parse("18446744073709551615").and_then(|n| n.value()),
            Some(json!(u64::MAX))
        );
        assert_eq!(NumberLiteral::parse("1e309").map(|n| n.value()), Some(None));
        assert!(NumberLiteral::parse("1.").is_none());
        assert_eq!(
            NumberLiteral::from_f64(1.0).map(|n| n.text().to_owned()),
            Some("1.0".to_owned())
        );
    }

    // --- arity and errors ------------------------------------------------------

    #[test]
    fn wrong_argument_counts_fail_at_run_time() {
        // Third-party AWS observations: Hash(), Hash('hello'), Base64Encode('a', 'b'),
        // ArrayContains($.arr) all fail with States.Runtime, not at definition time.
        for (text, f) in [
            ("States.Hash()", "States.Hash"),
            ("States.Hash('hello')", "States.Hash"),
            ("States.Hash('hello', 'SHA-256', 'extra')", "States.Hash"),
            ("States.Base64Encode('a', 'b')", "States.Base64Encode"),
            ("States.Base64Decode()", "States.Base64Decode"),
            ("States.ArrayRange(1, 5)", "States.ArrayRange"),
            ("States.ArrayRange(1, 5, 1, 99)", "States.ArrayRange"),
            ("States.MathRandom(1)", "States.MathRandom"),
            ("States.MathRandom(1, 10, 5, 99)", "States.MathRandom"),
            ("States.MathAdd(1)", "States.MathAdd"),
            ("States.MathAdd(1, 2, 999)", "States.MathAdd"),
            ("States.UUID(1)", "States.UUID"),
            ("States.JsonToString()", "States.JsonToString"),
            ("States.Format()", "States.Format"),
            (
                "States.JsonMerge(States.StringToJson('{}'), States.StringToJson('{}'))",
                "States.JsonMerge",
            ),
        ] {
            assert_invalid(text, f);
        }
    }

    #[test]
    fn failures_name_the_whole_call_as_written() {
        let text = "States.Format('{}',  States.MathAdd('a', 1))";
        assert_invalid(text, "States.MathAdd");
    }

    // --- States.Format --------------------------------------------------------

    #[test]
    fn format_renders_like_java_to_string() {
        // Corpus test_format_1 / test_format_2.
        let cases = [
            (json!(""), "Formatting argument ."),
            (json!(" "), "Formatting argument  ."),
            (json!("HelloWorld"), "Formatting argument HelloWorld."),
            (json!(null), "Formatting argument null."),
            (json!(1), "Formatting argument 1."),
            (json!(1.1), "Formatting argument 1.1."),
            (
                json!("{\"Arg1\": 1, \"Arg2\": []}"),
                "Formatting argument {\"Arg1\": 1, \"Arg2\": []}.",
            ),
            (
                json!({"Arg1": 1, "Arg2": []}),
                "Formatting argument {Arg1=1, Arg2=[]}.",
            ),
        ];
        for (arg, want) in cases {
            assert_eq!(
                format!("Formatting argument {}.", java_to_string(&arg)),
                want
            );
        }
        // Literal arguments of every kind.
        assert_eq!(
            ok("States.Format('{}|{}|{}|{}', null, false, -1, 3.5)"),
            json!("null|false|-1|3.5")
        );
        assert_eq!(
            ok("States.Format('{} {}', States.Array(1, 'a', States.Array()), 1e20)"),
            json!("[1, a, []] 1.0E20")
        );
        assert_eq!(
            ok("States.Format('no placeholders')"),
            json!("no placeholders")
        );
        assert_eq!(ok("States.Format('  {}  ', 'x')"), json!("  x  "));
        // Third-party AWS case FMT-03: a nested JsonToString result is a plain string.
        assert_eq!(
            ok(
                "States.Format('arn:{}:{}', 'lambda', States.JsonToString(States.StringToJson('{\"k\":1}')))"
            ),
            json!("arn:lambda:{\"k\":1}")
        );
    }

    #[test]
    fn format_escaped_braces_are_literal() {
        assert_eq!(ok(r"States.Format('\{\} is {}', 'x')"), json!("{} is x"));
        assert_eq!(ok(r"States.Format('a\\{}b', 'x')"), json!(r"a\xb"));
    }

    #[test]
    fn format_checks_placeholders_against_arguments() {
        assert_invalid("States.Format('{} {}', 'x')", "States.Format");
        assert_invalid("States.Format('{}', 'x', 'y')", "States.Format");
        // AWS fails on these templates at run time (third-party AWS observations).
        assert_invalid("States.Format('Hello {', 'x')", "States.Format");
        assert_invalid("States.Format('Hello {{}}', 'x')", "States.Format");
        assert_invalid("States.Format('}')", "States.Format");
    }

    #[test]
    fn format_template_must_be_a_string() {
        let f = fail_with("States.Format(123, 'x')", &json!({}));
        assert_eq!(f.error.as_deref(), Some(STATES_INTRINSIC_FAILURE));
    }

    #[test]
    fn format_prints_string_to_json_results_as_json() {
        assert_eq!(
            ok(r#"States.Format('{}', States.StringToJson('"x"'))"#),
            json!("\"x\"")
        );
        assert_eq!(
            ok(r#"States.Format('{}', States.StringToJson('\{"a": [1.5]\}'))"#),
            json!("{\"a\":[1.5]}")
        );
    }

    // --- JSON ------------------------------------------------------------------

    #[test]
    fn string_to_json_corpus() {
        // Corpus test_string_to_json.
        for (s, want) in [
            ("", json!(null)),
            (" ", json!(null)),
            ("null", json!(null)),
            ("-0", json!(0)),
            ("1", json!(1)),
            ("1.1", json!(1.1)),
            ("true", json!(true)),
            ("\"HelloWorld\"", json!("HelloWorld")),
            ("[1, 2, \"HelloWorld\"]", json!([1, 2, "HelloWorld"])),
            (
                "{\"Arg1\": 1, \"Arg2\": []}",
                json!({"Arg1": 1, "Arg2": []}),
            ),
        ] {
            let text = Call::new(
                Function::StringToJson,
                vec![Arg::String(StringLiteral::new(s))],
            )
            .to_string();
            assert_eq!(ok(&text), want, "{s:?}");
        }
    }

    #[test]
    fn string_to_json_edges() {
        assert_eq!(
            minus_zero_as_int(r#"[-0, -0.5, "-0", -0e1, -01]"#),
            r#"[0, -0.5, "-0", -0e1, -01]"#
        );
        assert_eq!(ok(r"States.StringToJson('[-0.0]')"), json!([-0.0]));
        assert_eq!(ok("States.StringToJson('1 2')"), json!(1));
        assert_invalid("States.StringToJson('not json')", "States.StringToJson");
        assert_invalid("States.StringToJson(1)", "States.StringToJson");
    }

    #[test]
    fn json_to_string_corpus() {
        // Corpus test_json_to_string (as literals / nested calls).
        assert_eq!(ok("States.JsonToString(null)"), json!("null"));
        assert_eq!(ok("States.JsonToString(0)"), json!("0"));
        assert_eq!(ok("States.JsonToString(1.1)"), json!("1.1"));
        assert_eq!(ok("States.JsonToString(true)"), json!("true"));
        assert_eq!(
            ok("States.JsonToString('HelloWorld')"),
            json!("\"HelloWorld\"")
        );
        assert_eq!(
            ok("States.JsonToString(States.Array(1, 2, 'HelloWorld'))"),
            json!("[1,2,\"HelloWorld\"]")
        );
        assert_eq!(
            ok(r#"States.JsonToString(States.StringToJson('\{"Arg1": 1, "Arg2": []\}'))"#),
            json!("{\"Arg1\":1,\"Arg2\":[]}")
        );
        assert_eq!(
            ok("States.JsonToString(States.Array(1e20, 1.0, 'a\nb'))"),
            json!("[1.0E20,1.0,\"a\\nb\"]")
        );
    }

    #[test]
    fn json_merge_is_shallow_in_hashmap_order() {
        // Corpus test_json_merge: second object wins, nested objects are not merged,
        // keys come out as AWS printed them (a, b, c, d).
        let v = ok(
            r#"States.JsonMerge(States.StringToJson('\{"a": \{"a1": 1, "a2": 2\}, "b": 2, "d": 3\}'), States.StringToJson('\{"a": \{"a3": 1, "a4": 2\}, "c": 3, "d": 4\}'), false)"#,
        );
        assert_eq!(v, json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}));
        assert_eq!(
            v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["a".into(), "b".into(), "c".into(), "d".into()])
        );
        // Corpus test_json_merge_escaped_argument: AWS output lists the second
        // object's key first.
        let v = ok(
            r#"States.JsonMerge(States.StringToJson('\{"constant_in_literal": "false"\}'), States.StringToJson('\{"constant_input_field": "constant_value"\}'), false)"#,
        );
        assert_eq!(
            serde_json::to_string(&v).ok().as_deref(),
            Some(r#"{"constant_input_field":"constant_value","constant_in_literal":"false"}"#)
        );
    }

    #[test]
    fn json_merge_rejects_deep_and_non_objects() {
        let a = r"States.StringToJson('\{\}')";
        assert_invalid(
            &format!("States.JsonMerge({a}, {a}, true)"),
            "States.JsonMerge",
        );
        assert_invalid(
            &format!("States.JsonMerge({a}, {a}, 'false')"),
            "States.JsonMerge",
        );
        assert_invalid(
            &format!("States.JsonMerge(States.Array(), {a}, false)"),
            "States.JsonMerge",
        );
        assert_eq!(ok(&format!("States.JsonMerge({a}, {a}, false)")), json!({}));
    }

    // --- arrays ----------------------------------------------------------------

    #[test]
    fn array_keeps_values() {
        assert_eq!(ok("States.Array()"), json!([]));
        assert_eq!(
            ok("States.Array(42, true, null, 'hello', States.Array(2, 3))"),
            json!([42, true, null, "hello", [2, 3]])
        );
    }

    #[test]
    fn array_partition_corpus() {
        // Corpus test_array_partition: every size 1..5 over arrays of length 0..4.
        for len in 0..5i64 {
            for size in 1..6usize {
                let items: Vec<i64> = (0..len).collect();
                let arr = format!(
                    "States.Array({})",
                    items
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let want: Vec<Value> = items.chunks(size).map(|c| json!(c)).collect();
                assert_eq!(
                    ok(&format!("States.ArrayPartition({arr}, {size})")),
                    Value::Array(want)
                );
            }
        }
    }

    #[test]
    fn array_partition_truncates_and_validates() {
        // Third-party AWS observations: 2.4 and 2.6 both chunk by 2; 0.6, 0.49,
        // -0.4, -0.6, 0, -1, '2' and null are invalid; a huge size is one chunk.
        let arr = "States.Array(1, 2, 3, 4, 5)";
        assert_eq!(
            ok(&format!("States.ArrayPartition({arr}, 2.6)")),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            ok(&format!("States.ArrayPartition({arr}, 2.4)")),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            ok(&format!("States.ArrayPartition({arr}, 2147483647)")),
            json!([[1, 2, 3, 4, 5]])
        );
        for bad in ["0.6", "0.49", "-0.4", "-0.6", "0", "-1", "'2'", "null"] {
            assert_invalid(
                &format!("States.ArrayPartition({arr}, {bad})"),
                "States.ArrayPartition",
            );
        }
        assert_invalid(
            "States.ArrayPartition('not-array', 2)",
            "States.ArrayPartition",
        );
    }

    #[test]
    fn array_contains_corpus() {
        // Corpus test_array_contains.
        let cases = [
            (json!([]), json!(null), false),
            (json!([]), json!([]), false),
            (json!([]), json!(1), false),
            (json!([[1, 2, 3], 2]), json!(null), false),
            (json!([[1, 2, 3], 2]), json!([1, 2, 3]), true),
            (json!([{"1": 2, "2": []}]), json!([]), false),
            (json!([{"1": 2, "2": []}]), json!({"1": 2, "2": []}), true),
            (json!([true, false]), json!(true), true),
            (json!([true, false]), json!(false), true),
        ];
        for (arr, x, want) in cases {
            let args = vec![Evaluated::plain(arr.clone()), Evaluated::plain(x.clone())];
            let got = array_contains(Function::ArrayContains, args)
                .ok()
                .map(|e| e.value);
            assert_eq!(got, Some(Value::Bool(want)), "{arr} contains {x}");
        }
    }

    #[test]
    fn array_contains_compares_java_strings() {
        // Third-party AWS observations: true matches "true", a number matches its
        // digits, reordered keys do not match, booleans do not match numbers.
        let check = |arr: Value, x: Value| {
            array_contains(
                Function::ArrayContains,
                vec![Evaluated::plain(arr), Evaluated::plain(x)],
            )
            .ok()
            .map(|e| e.value)
        };
        assert_eq!(
            check(json!(["true", "false"]), json!(true)),
            Some(json!(true))
        );
        assert_eq!(
            check(json!(["9007199254740991"]), json!(9007199254740991u64)),
            Some(json!(true))
        );
        assert_eq!(
            check(json!([{"a": 1, "b": 2}]), json!({"b": 2, "a": 1})),
            Some(json!(false))
        );
        assert_eq!(
            check(json!([0, 1, -1, -1.5]), json!(false)),
            Some(json!(false))
        );
        assert_eq!(
            check(json!([{"a": 1}]), json!({"a": 1, "extra": null})),
            Some(json!(false))
        );
        assert_invalid(
            "States.ArrayContains('not-array', 'x')",
            "States.ArrayContains",
        );
    }

    #[test]
    fn array_range_corpus_and_limits() {
        // Corpus test_array_range.
        assert_eq!(ok("States.ArrayRange(0, 9, 3)"), json!([0, 3, 6, 9]));
        assert_eq!(ok("States.ArrayRange(0, 10, 3)"), json!([0, 3, 6, 9]));
        assert_eq!(ok("States.ArrayRange(1, 9, 9)"), json!([1]));
        assert_eq!(ok("States.ArrayRange(1, 9, 2)"), json!([1, 3, 5, 7, 9]));
        // Corpus scenarios (map reentrant): ArrayRange(0, 3, 1).
        assert_eq!(ok("States.ArrayRange(0, 3, 1)"), json!([0, 1, 2, 3]));
        // Third-party AWS observations.
        assert_eq!(ok("States.ArrayRange(-2, 2, 2)"), json!([-2, 0, 2]));
        assert_eq!(ok("States.ArrayRange(3, 3, -1)"), json!([3]));
        assert_eq!(ok("States.ArrayRange(5, 1, -2)"), json!([5, 3, 1]));
        assert_eq!(ok("States.ArrayRange(5, 1, 1)"), json!([]));
        assert_eq!(ok("States.ArrayRange(1, 5, -1)"), json!([]));
        assert_eq!(ok("States.ArrayRange(1.6, 1.4, 1)"), json!([1]));
        assert_eq!(ok("States.ArrayRange(5.4, -0.6, -2.4)"), json!([5, 3, 1]));
        assert_eq!(
            ok("States.ArrayRange(1, 1000, 1)").as_array().map(Vec::len),
            Some(1000)
        );
        assert_eq!(
            ok("States.ArrayRange(1000, 1, -1)")
                .as_array()
                .map(Vec::len),
            Some(1000)
        );
        for bad in [
            "States.ArrayRange(1, 1001, 1)",
            "States.ArrayRange(1001, 1, -1)",
            "States.ArrayRange(1, 10, 0)",
            "States.ArrayRange(1, 10, 0.49)",
            "States.ArrayRange('a', 5, 1)",
            "States.ArrayRange(1, 'b', 1)",
            "States.ArrayRange(1, 5, 'c')",
            "States.ArrayRange(-2147483648, 2147483647, 1)",
        ] {
            assert_invalid(bad, "States.ArrayRange");
        }
    }

    #[test]
    fn array_get_item() {
        // Corpus test_array_get_item and the nested-call cases.
        assert_eq!(
            ok("States.ArrayGetItem(States.Array(1, 2, 3, 4, 5, 6, 7, 8, 9), 5)"),
            json!(6)
        );
        assert_eq!(
            ok("States.ArrayGetItem(States.StringSplit('a-b-c', '-'), 0)"),
            json!("a")
        );
        assert_eq!(
            ok(
                "States.ArrayGetItem(States.StringSplit('a-b-c', '-'), States.MathAdd(States.ArrayLength(States.StringSplit('a-b-c', '-')), -1))"
            ),
            json!("c")
        );
        // Third-party AWS observations: 1.2 truncates to 1; empty array gives null.
        assert_eq!(
            ok("States.ArrayGetItem(States.Array(10, 20, 30), 1.2)"),
            json!(20)
        );
        assert_eq!(ok("States.ArrayGetItem(States.Array(), 999)"), json!(null));
        for bad in [
            "States.ArrayGetItem(States.Array(10, 20, 30), 3)",
            "States.ArrayGetItem(States.Array(10, 20, 30), -1)",
            "States.ArrayGetItem(States.Array(10, 20, 30), '1')",
            "States.ArrayGetItem('not-array', 0)",
        ] {
            assert_invalid(bad, "States.ArrayGetItem");
        }
    }

    #[test]
    fn array_length() {
        // Corpus test_array_length / test_array_unique (which calls ArrayLength).
        assert_eq!(
            ok("States.ArrayLength(States.Array(1, 2, 3, 4, 5, 6, 7, 8, 9))"),
            json!(9)
        );
        assert_eq!(ok("States.ArrayLength(States.Array())"), json!(0));
        assert_invalid("States.ArrayLength('not-array')", "States.ArrayLength");
    }

    #[test]
    fn array_unique_in_hashset_order() {
        let unique = |v: Value| {
            array_unique(Function::ArrayUnique, vec![Evaluated::plain(v)])
                .ok()
                .map(|e| e.value)
        };
        // Third-party AWS observations (including the two where AWS's order
        // differs from first occurrence).
        assert_eq!(unique(json!([1, 2, 3, 3, 3, 4])), Some(json!([1, 2, 3, 4])));
        assert_eq!(
            unique(json!(["a", "b", "a", "c", "b"])),
            Some(json!(["a", "b", "c"]))
        );
        assert_eq!(
            unique(json!([true, false, true, false])),
            Some(json!([false, true]))
        );
        assert_eq!(unique(json!([null, null, 1, null])), Some(json!([null, 1])));
        assert_eq!(
            unique(json!([1, "1", 1, "01"])),
            Some(json!([1, "1", "01"]))
        );
        assert_eq!(
            unique(json!([{"a": 1, "b": 2}, {"b": 2, "a": 1}])),
            Some(json!([{"a": 1, "b": 2}]))
        );
        assert_eq!(
            unique(json!([[1, 2], [1, 2], [2, 1]])),
            Some(json!([[2, 1], [1, 2]]))
        );
        assert_eq!(unique(json!([1, 2, 1, 3, 2, 4])), Some(json!([1, 2, 3, 4])));
        assert_eq!(unique(json!([1, 1.0])), Some(json!([1.0, 1])));
        assert_eq!(unique(json!([])), Some(json!([])));
        assert_invalid("States.ArrayUnique('not-array')", "States.ArrayUnique");
    }

    #[test]
    fn java_hashmap_resizes_like_java() {
        // 0, 16, 32, ... collide in a 16-bucket table; the 9th in one bucket
        // forces a resize, which reorders them.
        let items: Vec<Value> = (0..20).map(|i| json!(i * 16)).collect();
        let mut set: JavaHashMap<Value> = JavaHashMap::with_capacity(16);
        for v in items {
            set.put(java_hash(&v), v, java_equals, |_, _| {});
        }
        assert!(set.table.len() >= 64);
        let out = set.into_ordered();
        assert_eq!(out.len(), 20);
        assert_eq!(out.first(), Some(&json!(0)));
    }

    // --- encoding and hashing -----------------------------------------------

    #[test]
    fn base64_corpus_and_limits() {
        // Corpus test_base_64_encode / test_base_64_decode.
        assert_eq!(ok("States.Base64Encode('')"), json!(""));
        assert_eq!(
            ok("States.Base64Encode('Data to encode')"),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(ok("States.Base64Decode('')"), json!(""));
        assert_eq!(
            ok("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')"),
            json!("Data to encode")
        );
        assert_eq!(ok("States.Base64Encode('🚀')"), json!("8J+agA=="));
        assert_eq!(
            ok("States.Base64Decode('44GT44KT44Gr44Gh44Gv')"),
            json!("こんにちは")
        );
        // 10,000 characters pass, 10,001 fail (third-party AWS observations).
        let at = |n: usize, f: &str| format!("{f}('{}')", "a".repeat(n));
        assert!(eval_in(&at(10_000, "States.Base64Encode"), &json!({}), &json!({})).is_ok());
        assert_invalid(&at(10_001, "States.Base64Encode"), "States.Base64Encode");
        assert!(eval_in(&at(10_000, "States.Base64Decode"), &json!({}), &json!({})).is_ok());
        assert_invalid(&at(10_001, "States.Base64Decode"), "States.Base64Decode");
        assert_invalid("States.Base64Encode(123)", "States.Base64Encode");
        assert_invalid("States.Base64Decode(States.Array())", "States.Base64Decode");
    }

    #[test]
    fn base64_decode_is_lenient() {
        // AWS decodes these instead of failing (third-party AWS observations).
        assert_eq!(ok("States.Base64Decode(' YWJjZA== ')"), json!("abcd"));
        assert_eq!(lenient_base64_decode("abc"), b"i\xb7".to_vec());
        assert_eq!(lenient_base64_decode("ab==cd"), b"i".to_vec());
        assert_eq!(
            lenient_base64_decode("!!!invalid!!!"),
            lenient_base64_decode("invalid")
        );
        assert_eq!(
            ok("States.Base64Decode('YWJjAGRlZg==')"),
            json!("abc\u{0}def")
        );
    }

    #[test]
    fn hash_corpus() {
        // Corpus test_hash, "input data" under each algorithm.
        for (alg, want) in [
            ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
            ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
            (
                "SHA-256",
                "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
            ),
            (
                "SHA-384",
                "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
            ),
            (
                "SHA-512",
                "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
            ),
        ] {
            assert_eq!(
                ok(&format!("States.Hash('input data', '{alg}')")),
                json!(want)
            );
        }
        // Corpus assign case: SHA-256 of "Hash this string".
        assert_eq!(
            ok("States.Hash('Hash this string', 'SHA-256')"),
            json!("1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e")
        );
    }

    #[test]
    fn hash_inputs_and_algorithms() {
        // Numbers are hashed by their string form (third-party AWS observation).
        assert_eq!(
            ok("States.Hash(123, 'MD5')"),
            ok("States.Hash('123', 'MD5')")
        );
        assert_eq!(
            ok("States.Hash('', 'SHA-256')"),
            json!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        for alg in ["'sha-256'", "'SHA256'", "''", "'MD-5'", "'SHA-257'", "123"] {
            assert_invalid(&format!("States.Hash('data', {alg})"), "States.Hash");
        }
        let long = format!("States.Hash('{}', 'SHA-256')", "a".repeat(10_001));
        assert_invalid(&long, "States.Hash");
    }

    // --- math ----------------------------------------------------------------

    #[test]
    fn math_add_corpus() {
        // Corpus test_math_add: each operand rounds with Java's Math.round.
        for (a, b, want) in [
            ("-9", "3", -6),
            ("1.49", "1.5", 3),
            ("1.5", "1.51", 4),
            ("-1.49", "-1.5", -2),
            ("-1.5", "-1.51", -3),
            ("1.49", "0", 1),
            ("1.49", "-1.49", 0),
            ("1.5", "0", 2),
            ("1.51", "0", 2),
            ("-1.49", "0", -1),
            ("-1.5", "0", -1),
            ("-1.51", "0", -2),
            ("0.5", "0", 1),
            ("2.5", "0", 3),
            ("3.5", "0", 4),
            ("-0.5", "0.5", 1),
            ("-0.5", "0", 0),
            ("-2.5", "0", -2),
            ("-3.5", "0", -3),
        ] {
            assert_eq!(
                ok(&format!("States.MathAdd({a}, {b})")),
                json!(want),
                "{a} + {b}"
            );
        }
    }

    #[test]
    fn math_add_limits() {
        // Third-party AWS observations: int32 operands and result.
        assert_eq!(ok("States.MathAdd(2147483647, 0)"), json!(2147483647));
        assert_eq!(ok("States.MathAdd(-2147483647, -1)"), json!(-2147483648i64));
        assert_eq!(ok("States.MathAdd(1.6, 2.7)"), json!(5));
        assert_eq!(ok("States.MathAdd(0.1, 0.2)"), json!(0));
        for bad in [
            "States.MathAdd(2147483647, 1)",
            "States.MathAdd(-2147483648, -1)",
            "States.MathAdd(3000000000, 1)",
            "States.MathAdd('a', 1)",
            "States.MathAdd(null, 1)",
            "States.MathAdd(true, 1)",
            "States.MathAdd('-1', 2)",
            "States.MathAdd(1e309, 1)",
            "States.MathAdd(18446744073709551615, 1)",
        ] {
            assert_invalid(bad, "States.MathAdd");
        }
        assert_eq!(java_round(0.49999999999999994), 0);
        assert_eq!(java_round(-0.5), 0);
    }

    #[test]
    fn java_random_matches_java() {
        // Well-known values: new Random(0).nextInt() and new Random(42).nextInt().
        assert_eq!(JavaRandom::new(0).next(32), -1155484576);
        assert_eq!(JavaRandom::new(42).next(32), -1170105035);
    }

    #[test]
    fn math_random() {
        // Corpus test_math_random / _seeded (values redacted): results are integers in [start, end).
        for (s, e) in [(12.5, 44.51), (9999.0, 99999.0), (-99999.0, -9999.0)] {
            for seed in 0..50 {
                let env_in = json!({});
                let env = PathEnv {
                    input: &env_in,
                    context: &Value::Null,
                    variables: &NoVariables,
                };
                let call = format!("States.MathRandom({s:?}, {e:?})");
                let v = parse(&call)
                    .eval(&env, &mut SplitMix64(seed))
                    .ok()
                    .and_then(|v| v.as_i64());
                let v = v.unwrap_or(i64::MIN);
                assert!(v >= s as i64 && v < e as i64, "{call} gave {v}");
            }
        }
        // A seed makes it deterministic.
        assert_eq!(
            ok("States.MathRandom(0, 999, 3)"),
            ok("States.MathRandom(0, 999, 3)")
        );
        assert_eq!(
            ok("States.MathRandom(1, 101, 42)"),
            json!(1 + JavaRandom::new(42).next_int(100))
        );
        // Truncation: (1.6, 5.4) is [1, 5); (1.4, 1.6) is empty (third-party AWS observations).
        assert_eq!(ok("States.MathRandom(1.4, 2, 1)"), json!(1));
        for bad in [
            "States.MathRandom(1, 1)",
            "States.MathRandom(10, 5)",
            "States.MathRandom(1.4, 1.6)",
            "States.MathRandom(1.49, 1.49)",
            "States.MathRandom('a', 10)",
            "States.MathRandom(1, 'b')",
            "States.MathRandom(1, 10, 'seed')",
            "States.MathRandom(1, 10, null)",
        ] {
            assert_invalid(bad, "States.MathRandom");
        }
    }

    // --- strings and UUID ---------------------------------------------------

    #[test]
    fn string_split_corpus() {
        // Corpus test_string_split and test_string_split_context_object.
        for (s, d, want) in [
            (" ", ",", json!([" "])),
            (" , ", ",", json!([" ", " "])),
            (", , ,", ",", json!([" ", " "])),
            (",,,,", ",", json!([])),
            ("1,2,3,4,5", ",", json!(["1", "2", "3", "4", "5"])),
            (
                "This.is+a,test=string",
                ".+,=",
                json!(["This", "is", "a", "test", "string"]),
            ),
            (
                "split on T and \nnew line",
                "T\n",
                json!(["split on ", " and ", "new line"]),
            ),
            (
                "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n",
                ",",
                json!([
                    "Value1",
                    "Value2",
                    "Value3\nValue4",
                    "Value5",
                    "Value6\n",
                    "\ntrue",
                    "1",
                    "'HelloWorld'\nNull",
                    "None",
                    "\n   \n"
                ]),
            ),
        ] {
            let call = Call::new(
                Function::StringSplit,
                vec![
                    Arg::String(StringLiteral::new(s)),
                    Arg::String(StringLiteral::new(d)),
                ],
            );
            assert_eq!(ok(&call.to_string()), want, "{s:?} / {d:?}");
        }
        assert_eq!(
            ok("States.StringSplit('a😀b😁c', '😀')"),
            json!(["a", "b😁c"])
        );
        assert_eq!(ok("States.StringSplit('abc', '')"), json!(["abc"]));
        assert_invalid("States.StringSplit(7, ',')", "States.StringSplit");
    }

    #[test]
    fn uuid_is_v4() {
        let v = ok("States.UUID()");
        let s = v.as_str().unwrap_or_default();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
    }

    // --- Java views ---------------------------------------------------------

    #[test]
    fn java_double_notation() {
        for (x, want) in [
            (1.0, "1.0"),
            (1.1, "1.1"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1e7, "1.0E7"),
            (9999999.0, "9999999.0"),
            (123456789.0, "1.23456789E8"),
            (1e20, "1.0E20"),
            (-1.5e-7, "-1.5E-7"),
            (-0.0, "-0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(java_double_to_string(x), want);
        }
    }

    #[test]
    fn java_hashes() {
        assert_eq!(java_string_hash("Id"), 2363);
        assert_eq!(java_hash(&json!("a")), 97);
        assert_eq!(java_hash(&json!([1, 2])), 994);
        assert_eq!(java_hash(&json!(-1)), -1);
        assert_eq!(java_hash(&json!(1.0)), 1072693248);
        assert_eq!(java_hash(&json!(4294967296i64)), 1);
    }

    #[test]
    fn deep_values_do_not_overflow_the_stack() {
        let mut v = json!(1);
        for _ in 0..1500 {
            v = Value::Array(vec![v]);
        }
        assert!(exceeds_depth(&v, MAX_VALUE_DEPTH));
        assert_eq!(java_json(&v).len(), 3001);
        assert_eq!(java_to_string(&v).len(), 3001);
        let contains = array_contains(
            Function::ArrayContains,
            vec![Evaluated::plain(json!([1])), Evaluated::plain(json!(1))],
        );
        assert!(contains.is_ok());
        assert!(
            array_unique(
                Function::ArrayUnique,
                vec![Evaluated::plain(Value::Array(vec![v]))]
            )
            .is_err()
        );
    }

    // --- paths (need crate::path) --------------------------------------------

    #[test]
    fn path_arguments() {
        if !path_works() {
            eprintln!("skipping: crate::path is not implemented yet");
            return;
        }
        let input = json!({"FunctionInput": {"fst": {"Arg1": 1, "Arg2": []}, "snd": 1.1}, "arr": [1, 2], "s": "x"});
        assert_eq!(
            ok_with(
                "States.Format('fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
                &input
            ),
            json!("fst={Arg1=1, Arg2=[]} and snd=1.1.")
        );
        assert_eq!(
            ok_with("States.Array($.arr, $.s)", &input),
            json!([[1, 2], "x"])
        );
        assert_eq!(
            ok_with("States.JsonToString($)", &json!({"other": 1})),
            json!("{\"other\":1}")
        );
        assert!(parse("States.Array($$.Execution.Id)").uses_context());
        assert!(!parse("States.Array($.a, States.Array($.b))").uses_context());
        assert!(parse("States.Array(1, States.Array($$.Execution.Id))").uses_context());
        let ctx = json!({"StateMachine": {"Id": "arn:sm", "Name": "sm-name"}, "Execution": {"Name": "ex"}});
        assert_eq!(
            eval_in(
                "States.Format('fst={} and snd={}.', $$.Execution.Name, $$.StateMachine)",
                &json!({}),
                &ctx
            )
            .ok(),
            Some(json!("fst=ex and snd={Id=arn:sm, Name=sm-name}."))
        );
        assert_eq!(
            eval_in(
                "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
                &json!({}),
                &ctx
            )
            .ok(),
            Some(json!("sm"))
        );
    }

    #[test]
    fn missing_path_arguments() {
        if !path_works() {
            eprintln!("skipping: crate::path is not implemented yet");
            return;
        }
        // Causes as captured from AWS (floci's AWS-recorded tests).
        let input = json!({"other": 1});
        for (text, field) in [
            ("States.Format('{}', $.nope)", "$.nope"),
            ("States.Format('{}',$.nope)", "$.nope"),
            ("States.Format('{} {}', $.other, $.a.b)", "$.a.b"),
            ("States.Format($.nope, 1)", "$.nope"),
            ("States.Format('{}', States.Format('{}', $.nope))", "$.nope"),
            ("States.ArrayLength($.nope)", "$.nope"),
            ("States.MathAdd($.nope, 1)", "$.nope"),
            ("States.Format('{}', $$.Nope.Deep)", "$.Nope.Deep"),
        ] {
            let f = fail_with(text, &input);
            assert_eq!(f.error.as_deref(), Some(STATES_RUNTIME));
            assert_eq!(
                f.cause,
                Some(format!(
                    "The function '{text}' had the following error: The JsonPath argument for the field '{field}' could not be found in the input '{{\"other\":1}}'"
                ))
            );
        }
        // An explicit null is a value, not a miss.
        assert_eq!(
            ok_with("States.Format('{}', $.nul)", &json!({"nul": null})),
            json!("null")
        );
        // As an intrinsic argument an index past the end is a miss (AWS-recorded),
        // and a wildcard matching nothing is an empty array.
        let items = json!({"items": [1, 2]});
        let f = fail_with("States.Format('{}', $.items[5])", &items);
        assert_eq!(
            f.cause.as_deref(),
            Some(
                "The function 'States.Format('{}', $.items[5])' had the following error: The JsonPath argument for the field '$.items[5]' could not be found in the input '{\"items\":[1,2]}'"
            )
        );
        assert_eq!(
            ok_with("States.ArrayLength($.items[*].nope)", &items),
            json!(0)
        );
    }

    #[test]
    fn path_arguments_share_one_budget_and_say_so() {
        // `$..*..*` on a 60-level chain copies ~35,000 nodes; a hundred of
        // them in one call run out of the shared budget instead of adding up.
        let mut doc = json!(1);
        for _ in 0..60 {
            let mut map = Map::new();
            map.insert("a".into(), doc);
            doc = Value::Object(map);
        }
        let args = vec!["$..*..*"; 100].join(", ");
        let text = format!("States.Array({args})");
        let started = std::time::Instant::now();
        let f = fail_with(&text, &doc);
        assert!(started.elapsed().as_secs() < 10);
        assert_eq!(f.error.as_deref(), Some(STATES_RUNTIME));
        assert_eq!(
            f.cause,
            Some(format!(
                "The function '{text}' had the following error: The JsonPath argument '$..*..*' needs more work to evaluate than the limit allows"
            ))
        );
        assert_eq!(
            ok_with("States.ArrayLength($..*..*)", &doc),
            json!(60 * 59 / 2)
        );
    }
}
