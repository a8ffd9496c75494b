//! Rendering: the syntax tree, a request, and Velocity's evaluation rules.
//!
//! Owns variables and `#set`, `#if`, `#foreach` (with `$foreach`,
//! `$velocityCount` and AWS's 1,000-iteration cap), `#break`, `#stop`,
//! references and Velocity's non-strict rendering of nulls (the source text,
//! or nothing after `$!`), escapes, operators and their Velocity 1.7 type
//! rules, and the limits that keep one render bounded (steps, output and
//! string size). Method behaviour lives in [`crate::methods`]. It must not
//! do IO or read clocks; a render is a pure function of template and input.

use std::collections::HashMap;
use std::rc::Rc;

use regex::Regex;

use crate::ast::{BinOp, Block, Expr, Modifier, Node, Pos, Reference};
use crate::error::RenderError;
use crate::value::{Heap, VMap, Value};
use crate::{Context, Input, java_regex};

/// Largest output, and largest string value, one render may build. API
/// Gateway's payload limit is 10 MB.
pub(crate) const MAX_OUTPUT: usize = 10 << 20;

/// AWS: "#foreach ... limited to 1,000 iterations".
pub(crate) const MAX_ITERATIONS: usize = 1000;

/// Work units one render may use: about one per node, expression, method
/// call and loop iteration, one per 256 bytes of string built or searched,
/// four per JSON node converted, 100,000 per distinct non-reference JSONPath.
/// Real templates use a few thousand; running out takes well under a second.
pub(crate) const MAX_STEPS: u64 = 10_000_000;

/// Largest `[a..b]` range (Velocity builds the whole list).
const MAX_RANGE: i64 = 100_000;

/// Regexes compiled during one render are cached by pattern; the cache is
/// cleared when it grows past this many entries.
const MAX_CACHED_REGEXES: usize = 256;

/// The same for the results of non-reference JSONPaths.
pub(crate) const MAX_CACHED_PATHS: usize = 256;

/// What `#break` and `#stop` do to the blocks around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Stop,
}

pub(crate) struct Renderer<'c> {
    pub(crate) input: &'c Input,
    pub(crate) vars: HashMap<String, Value>,
    pub(crate) heap: Heap,
    steps: u64,
    body_json: Option<Rc<serde_json::Value>>,
    regexes: HashMap<(String, bool), Rc<Regex>>,
    /// Results of non-reference JSONPaths on the body, by path text.
    pub(crate) path_cache: HashMap<String, Rc<Option<serde_json::Value>>>,
}

/// Renders `block`; returns the output and `$context` as it stands at the
/// end (a template may `#set($context.responseOverride.status = 400)`).
pub(crate) fn render(
    block: &Block,
    ctx: &Context,
) -> Result<(String, serde_json::Value), RenderError> {
    let mut renderer = Renderer {
        input: &ctx.input,
        vars: HashMap::new(),
        heap: Heap::default(),
        steps: 0,
        body_json: None,
        regexes: HashMap::new(),
        path_cache: HashMap::new(),
    };
    let (context, n) = renderer.heap.import_json(&ctx.context)?;
    let (stage_variables, m) = renderer.heap.import_json(&ctx.stage_variables)?;
    renderer.step(4 * (n + m))?;
    renderer.vars.insert("input".into(), Value::Input);
    renderer.vars.insert("util".into(), Value::Util);
    renderer.vars.insert("context".into(), context.clone());
    renderer
        .vars
        .insert("stageVariables".into(), stage_variables);
    let mut out = String::new();
    renderer.render_block(block, &mut out)?;
    let context = renderer.heap.to_json(&context)?;
    Ok((out, context))
}

impl Renderer<'_> {
    /// Spends `n` units of the step budget.
    pub(crate) fn step(&mut self, n: u64) -> Result<(), RenderError> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > MAX_STEPS {
            return Err(RenderError::new(format!(
                "the template used more than {MAX_STEPS} evaluation steps"
            )));
        }
        Ok(())
    }

    /// Accounts for a newly built string of `len` bytes.
    pub(crate) fn built(&mut self, len: usize) -> Result<(), RenderError> {
        if len > MAX_OUTPUT {
            return Err(RenderError::new(format!(
                "a string value exceeds {MAX_OUTPUT} bytes"
            )));
        }
        self.step(len as u64 / 256)
    }

    fn push_out(&mut self, out: &mut String, s: &str) -> Result<(), RenderError> {
        if out.len() + s.len() > MAX_OUTPUT {
            return Err(RenderError::new(format!(
                "the output exceeds {MAX_OUTPUT} bytes"
            )));
        }
        self.step(s.len() as u64 / 1024)?;
        out.push_str(s);
        Ok(())
    }

    fn render_block(&mut self, block: &Block, out: &mut String) -> Result<Flow, RenderError> {
        for node in block {
            self.step(1)?;
            match node {
                Node::Text(text) => self.push_out(out, text)?,
                Node::Ref { reference, escapes } => self.render_ref(reference, *escapes, out)?,
                Node::Set { target, value, pos } => {
                    let value = self.eval(value).map_err(|e| e.at(*pos))?;
                    self.assign(target, value).map_err(|e| e.at(*pos))?;
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mut chosen = otherwise.as_ref();
                    for (condition, body) in branches {
                        if self.eval(condition)?.truthy() {
                            chosen = Some(body);
                            break;
                        }
                    }
                    if let Some(body) = chosen {
                        let flow = self.render_block(body, out)?;
                        if flow != Flow::Normal {
                            return Ok(flow);
                        }
                    }
                }
                Node::Foreach {
                    var,
                    iterable,
                    body,
                    pos,
                } => {
                    if self.foreach(var, iterable, body, *pos, out)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                // Outside a loop Velocity 1.7's #break leaves the template.
                Node::Break => return Ok(Flow::Break),
                Node::Stop => return Ok(Flow::Stop),
            }
        }
        Ok(Flow::Normal)
    }

    /// Renders a reference. Velocity's escapes: each pair of backslashes
    /// prints one; an odd one left over prints the reference's source text
    /// (with that backslash too when the reference is null).
    fn render_ref(
        &mut self,
        reference: &Reference,
        escapes: usize,
        out: &mut String,
    ) -> Result<(), RenderError> {
        let value = self.eval_ref(reference)?;
        let prefix = "\\".repeat(escapes / 2);
        self.push_out(out, &prefix)?;
        if escapes % 2 == 1 {
            if value.is_null() {
                self.push_out(out, "\\")?;
            }
            return self.push_out(out, &reference.source);
        }
        match value {
            Value::Null if reference.quiet => Ok(()),
            Value::Null => self.push_out(out, &reference.source),
            Value::Str(s) => self.push_out(out, &s),
            other => {
                let text = self
                    .heap
                    .to_java_string(&other)
                    .map_err(|e| e.at(reference.pos))?;
                self.push_out(out, &text)
            }
        }
    }

    pub(crate) fn eval_ref(&mut self, reference: &Reference) -> Result<Value, RenderError> {
        self.eval_chain(&reference.root, &reference.modifiers)
            .map_err(|e| e.at(reference.pos))
    }

    /// `$root` followed by `modifiers`; null as soon as any step is null.
    fn eval_chain(&mut self, root: &str, modifiers: &[Modifier]) -> Result<Value, RenderError> {
        let mut value = self.vars.get(root).cloned().unwrap_or(Value::Null);
        for modifier in modifiers {
            if value.is_null() {
                return Ok(Value::Null);
            }
            self.step(1)?;
            value = match modifier {
                Modifier::Property(name) => self.property(&value, name),
                Modifier::Method { name, args, pos } => {
                    let mut values = Vec::with_capacity(args.len());
                    for arg in args {
                        values.push(self.eval(arg)?);
                    }
                    self.call_method(&value, name, &values)
                        .map_err(|e| e.at(*pos))?
                }
                Modifier::Index(index) => {
                    let index = self.eval(index)?;
                    self.index(&value, &index)?
                }
            };
        }
        Ok(value)
    }

    /// `$a.name`: a map key, or a bean property (`getName()` / `isName()`).
    fn property(&mut self, value: &Value, name: &str) -> Value {
        match value {
            Value::Map(id) => self
                .heap
                .map(*id)
                .and_then(|m| m.get_str(name))
                .cloned()
                .unwrap_or(Value::Null),
            Value::Input if name == "body" => Value::str(self.input.body.as_str()),
            Value::Foreach { index, has_next } => match name {
                "hasNext" => Value::Bool(*has_next),
                "index" => Value::Int(*index),
                "count" => Value::Int(index + 1),
                "first" => Value::Bool(*index == 0),
                "last" => Value::Bool(!has_next),
                _ => Value::Null,
            },
            Value::Str(s) if name == "empty" => Value::Bool(s.is_empty()),
            Value::List(id) if name == "empty" => Value::Bool(self.heap.list(*id).is_empty()),
            _ => Value::Null,
        }
    }

    /// `$a[i]`: list element (negative counts from the end, out of range is
    /// Java's IndexOutOfBoundsException) or map value.
    fn index(&mut self, value: &Value, index: &Value) -> Result<Value, RenderError> {
        match (value, index) {
            (Value::List(id), Value::Int(i)) => {
                let list = self.heap.list(*id);
                let len = list.len() as i64;
                let at = if *i < 0 { i + len } else { *i };
                usize::try_from(at)
                    .ok()
                    .and_then(|at| list.get(at))
                    .cloned()
                    .ok_or_else(|| {
                        RenderError::new(format!("index {i} out of bounds for length {len}"))
                    })
            }
            (Value::Map(id), key) => Ok(self
                .heap
                .map(*id)
                .and_then(|m| m.get(key))
                .cloned()
                .unwrap_or(Value::Null)),
            _ => Ok(Value::Null),
        }
    }

    /// `#set`. A null value assigns nothing (Velocity 1.7's default: "If the
    /// RHS is a property or method reference that evaluates to null, it will
    /// not be assigned to the LHS").
    fn assign(&mut self, target: &Reference, value: Value) -> Result<(), RenderError> {
        if value.is_null() {
            return Ok(());
        }
        let Some((last, parents)) = target.modifiers.split_last() else {
            self.set_var(&target.root, value);
            return Ok(());
        };
        let parent = self.eval_chain(&target.root, parents)?;
        let key = match last {
            Modifier::Property(name) => Value::str(name.as_str()),
            Modifier::Index(index) => self.eval(index)?,
            Modifier::Method { .. } => return Ok(()),
        };
        match (&parent, &key) {
            (Value::Map(id), _) => {
                if let Some(map) = self.heap.map_mut(*id) {
                    map.put(key, value);
                }
            }
            (Value::List(id), Value::Int(i)) => {
                let Some(list) = self.heap.list_mut(*id) else {
                    return Ok(());
                };
                let len = list.len();
                match usize::try_from(*i).ok().and_then(|i| list.get_mut(i)) {
                    Some(slot) => *slot = value,
                    None => {
                        return Err(RenderError::new(format!(
                            "index {i} out of bounds for length {len}"
                        )));
                    }
                }
            }
            // Velocity logs and carries on when the left side cannot be set.
            _ => {}
        }
        Ok(())
    }

    fn foreach(
        &mut self,
        var: &str,
        iterable: &Expr,
        body: &Block,
        pos: Pos,
        out: &mut String,
    ) -> Result<Flow, RenderError> {
        let collection = self.eval(iterable).map_err(|e| e.at(pos))?;
        // Velocity iterates lists and a map's values; anything else (null, a
        // string, a number) is "not iterable" and renders nothing.
        let items: Vec<Value> = match collection {
            Value::List(id) => self.heap.list(id).to_vec(),
            Value::Map(id) => self
                .heap
                .map(id)
                .map(|m| m.entries().iter().map(|(_, v)| v.clone()).collect())
                .unwrap_or_default(),
            _ => return Ok(Flow::Normal),
        };
        self.step(items.len() as u64)?;
        const SCOPE_VARS: [&str; 3] = ["foreach", "velocityCount", "velocityHasNext"];
        // Velocity restores the loop variable and the scope variables after
        // the loop (so nested loops and an outer `$item` survive).
        let saved_var = self.vars.get(var).cloned();
        let saved_scope: Vec<Option<Value>> = SCOPE_VARS
            .iter()
            .map(|k| self.vars.get(*k).cloned())
            .collect();
        let mut flow = Flow::Normal;
        let len = items.len();
        for (n, item) in items.into_iter().enumerate() {
            if n >= MAX_ITERATIONS {
                return Err(RenderError::new(format!(
                    "#foreach exceeded API Gateway's limit of {MAX_ITERATIONS} iterations ({len} items)"
                ))
                .at(pos));
            }
            self.step(1)?;
            if item.is_null() {
                self.vars.remove(var);
            } else {
                self.set_var(var, item);
            }
            let has_next = n + 1 < len;
            self.set_var(
                "foreach",
                Value::Foreach {
                    index: n as i64,
                    has_next,
                },
            );
            self.set_var("velocityCount", Value::Int(n as i64 + 1));
            self.set_var("velocityHasNext", Value::Bool(has_next));
            match self.render_block(body, out)? {
                Flow::Normal => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        restore(&mut self.vars, var, saved_var);
        for (k, v) in SCOPE_VARS.iter().zip(saved_scope) {
            restore(&mut self.vars, k, v);
        }
        Ok(flow)
    }

    /// Sets a variable without allocating its name when it exists already.
    fn set_var(&mut self, name: &str, value: Value) {
        match self.vars.get_mut(name) {
            Some(slot) => *slot = value,
            None => {
                self.vars.insert(name.to_owned(), value);
            }
        }
    }

    pub(crate) fn eval(&mut self, expr: &Expr) -> Result<Value, RenderError> {
        self.step(1)?;
        Ok(match expr {
            Expr::Ref(reference) => self.eval_ref(reference)?,
            Expr::Str(s) => Value::str(s.as_str()),
            Expr::Interpolated(block) => {
                let mut buf = String::new();
                self.render_block(block, &mut buf)?;
                self.built(buf.len())?;
                Value::str(buf)
            }
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Null => Value::Null,
            Expr::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval(item)?);
                }
                self.heap.new_list(values)
            }
            Expr::Range(from, to) => {
                let from = self.eval(from)?;
                let to = self.eval(to)?;
                let (Some(from), Some(to)) = (range_end(&from), range_end(&to)) else {
                    return Ok(Value::Null);
                };
                let len = (i128::from(to) - i128::from(from)).abs() + 1;
                if len > i128::from(MAX_RANGE) {
                    return Err(RenderError::new(format!(
                        "the range [{from}..{to}] has more than {MAX_RANGE} elements"
                    )));
                }
                self.step(len as u64)?;
                let values: Vec<Value> = if from <= to {
                    (from..=to).map(Value::Int).collect()
                } else {
                    (to..=from).rev().map(Value::Int).collect()
                };
                self.heap.new_list(values)
            }
            Expr::Map(entries) => {
                let mut map = VMap::default();
                for (k, v) in entries {
                    let k = self.eval(k)?;
                    let v = self.eval(v)?;
                    map.put(k, v);
                }
                self.heap.new_map(map)
            }
            Expr::Not(inner) => Value::Bool(!self.eval(inner)?.truthy()),
            Expr::Binary(op, left, right) => self.binary(*op, left, right)?,
        })
    }

    fn binary(&mut self, op: BinOp, left: &Expr, right: &Expr) -> Result<Value, RenderError> {
        match op {
            BinOp::And => {
                return Ok(Value::Bool(
                    self.eval(left)?.truthy() && self.eval(right)?.truthy(),
                ));
            }
            BinOp::Or => {
                return Ok(Value::Bool(
                    self.eval(left)?.truthy() || self.eval(right)?.truthy(),
                ));
            }
            _ => {}
        }
        let a = self.eval(left)?;
        let b = self.eval(right)?;
        match op {
            BinOp::Eq => Ok(Value::Bool(self.velocity_equals(&a, &b)?)),
            BinOp::Ne => Ok(Value::Bool(!self.velocity_equals(&a, &b)?)),
            BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                // Velocity 1.7 compares numbers only; anything else is false.
                let (Some(x), Some(y)) = (Num::of(&a), Num::of(&b)) else {
                    return Ok(Value::Bool(false));
                };
                let ordering = x.compare(y);
                Ok(Value::Bool(match op {
                    BinOp::Lt => ordering == Some(std::cmp::Ordering::Less),
                    BinOp::Gt => ordering == Some(std::cmp::Ordering::Greater),
                    BinOp::Le => matches!(
                        ordering,
                        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                    ),
                    _ => matches!(
                        ordering,
                        Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                    ),
                }))
            }
            BinOp::Add if matches!(a, Value::Str(_)) || matches!(b, Value::Str(_)) => {
                if a.is_null() || b.is_null() {
                    return Ok(Value::Null);
                }
                let mut s = self.heap.to_java_string(&a)?;
                s.push_str(&self.heap.to_java_string(&b)?);
                self.built(s.len())?;
                Ok(Value::str(s))
            }
            _ => {
                let (Some(x), Some(y)) = (Num::of(&a), Num::of(&b)) else {
                    return Ok(Value::Null);
                };
                arithmetic(op, x, y)
            }
        }
    }

    /// Velocity 1.7's `==`: two nulls are equal, a null equals nothing else,
    /// numbers compare by value, values of one type with `equals`, and
    /// values of different types by their `toString()`.
    pub(crate) fn velocity_equals(&self, a: &Value, b: &Value) -> Result<bool, RenderError> {
        match (a, b) {
            (Value::Null, Value::Null) => Ok(true),
            (Value::Null, _) | (_, Value::Null) => Ok(false),
            _ => {
                if let (Some(x), Some(y)) = (Num::of(a), Num::of(b)) {
                    return Ok(x.compare(y) == Some(std::cmp::Ordering::Equal));
                }
                if std::mem::discriminant(a) == std::mem::discriminant(b) {
                    return self.heap.java_equals(a, b);
                }
                Ok(self.heap.to_java_string(a)? == self.heap.to_java_string(b)?)
            }
        }
    }

    /// The request body parsed as JSON (once per render); an empty body is
    /// `{}`, as on API Gateway.
    pub(crate) fn body_json(&mut self) -> Result<Rc<serde_json::Value>, RenderError> {
        if let Some(json) = &self.body_json {
            return Ok(json.clone());
        }
        let body = self.input.body.trim();
        let json = if body.is_empty() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_str(body).map_err(|e| {
                RenderError::new(format!("the request body is not valid JSON ({e}), so $input.json and $input.path cannot read it"))
            })?
        };
        self.step(self.input.body.len() as u64 / 256)?;
        let json = Rc::new(json);
        self.body_json = Some(json.clone());
        Ok(json)
    }

    /// A Java regex, compiled once per render.
    pub(crate) fn regex(&mut self, pattern: &str, whole: bool) -> Result<Rc<Regex>, RenderError> {
        let key = (pattern.to_owned(), whole);
        if let Some(re) = self.regexes.get(&key) {
            return Ok(re.clone());
        }
        self.step(100 + pattern.len() as u64)?;
        let re = Rc::new(java_regex::compile(pattern, whole).map_err(RenderError::new)?);
        if self.regexes.len() >= MAX_CACHED_REGEXES {
            self.regexes.clear();
        }
        self.regexes.insert(key, re.clone());
        Ok(re)
    }
}

fn restore(vars: &mut HashMap<String, Value>, key: &str, saved: Option<Value>) {
    match saved {
        Some(value) => {
            vars.insert(key.to_owned(), value);
        }
        None => {
            vars.remove(key);
        }
    }
}

/// A range end: a number (Velocity takes `intValue()`).
fn range_end(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.is_finite() => Some(*f as i64),
        _ => None,
    }
}

/// A number operand.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn of(value: &Value) -> Option<Num> {
        match value {
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Float(f) => Some(Num::Float(*f)),
            _ => None,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn compare(self, other: Num) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    fn is_zero(self) -> bool {
        match self {
            Num::Int(i) => i == 0,
            Num::Float(f) => f == 0.0,
        }
    }
}

/// `+ - * / %` on numbers. Integers stay integers (Java division
/// truncates); a zero divisor gives null, as Velocity 1.7 does.
fn arithmetic(op: BinOp, x: Num, y: Num) -> Result<Value, RenderError> {
    if matches!(op, BinOp::Div | BinOp::Rem) && y.is_zero() {
        return Ok(Value::Null);
    }
    match (x, y) {
        (Num::Int(a), Num::Int(b)) => {
            let result = match op {
                BinOp::Add => a.checked_add(b),
                BinOp::Sub => a.checked_sub(b),
                BinOp::Mul => a.checked_mul(b),
                BinOp::Div => a.checked_div(b),
                BinOp::Rem => a.checked_rem(b),
                _ => None,
            };
            result.map(Value::Int).ok_or_else(|| {
                RenderError::new(format!("integer overflow in {a} {} {b}", op_symbol(op)))
            })
        }
        (a, b) => {
            let (a, b) = (a.as_f64(), b.as_f64());
            Ok(Value::Float(match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                _ => a % b,
            }))
        }
    }
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        _ => "%",
    }
}
