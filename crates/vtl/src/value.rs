//! Run-time values and their Java behaviour.
//!
//! Owns what a Velocity value is while one template renders (null, booleans,
//! `Integer`/`Long` as `i64`, `Double` as `f64`, strings, `ArrayList`s and
//! `LinkedHashMap`s), how Java prints them (`toString`), compares them
//! (`equals`) and how JSON converts to and from them. Lists and maps live in
//! a per-render [`Heap`] and values refer to them by index: they are shared
//! and mutable as in Java, yet a list that contains itself cannot leak
//! memory past the render. This module must not evaluate templates.

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::RenderError;

/// How deeply values may nest when printed, compared or converted (Java
/// would overflow its stack on a list that contains itself indirectly).
const MAX_VALUE_DEPTH: usize = 200;

/// A value during rendering.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    /// An index into [`Heap::lists`].
    List(usize),
    /// An index into [`Heap::maps`].
    Map(usize),
    /// API Gateway's `$input` object.
    Input,
    /// API Gateway's `$util` object.
    Util,
    /// `$foreach` inside a loop (Velocity's ForeachScope).
    Foreach {
        index: i64,
        has_next: bool,
    },
}

impl Value {
    pub(crate) fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Velocity 1.7 truthiness: null and `false` are false, all else true
    /// (an empty string or list is true; Velocity 2 changed that).
    pub(crate) fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }
}

/// A map key: Java's `equals`/`hashCode` for the value types maps hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(Rc<str>),
    /// Collections and built-in objects are keyed by identity.
    List(usize),
    Map(usize),
    Other(&'static str),
}

impl Key {
    pub(crate) fn of(value: &Value) -> Key {
        match value {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            Value::Float(f) => Key::Float(f.to_bits()),
            Value::Str(s) => Key::Str(s.clone()),
            Value::List(id) => Key::List(*id),
            Value::Map(id) => Key::Map(*id),
            Value::Input => Key::Other("input"),
            Value::Util => Key::Other("util"),
            Value::Foreach { .. } => Key::Other("foreach"),
        }
    }
}

/// An insertion-ordered map (Java's `LinkedHashMap`).
#[derive(Debug, Default, Clone)]
pub(crate) struct VMap {
    entries: Vec<(Value, Value)>,
    index: HashMap<Key, usize>,
}

impl VMap {
    pub(crate) fn get(&self, key: &Value) -> Option<&Value> {
        let slot = *self.index.get(&Key::of(key))?;
        self.entries.get(slot).map(|(_, v)| v)
    }

    pub(crate) fn get_str(&self, key: &str) -> Option<&Value> {
        let slot = *self.index.get(&Key::Str(Rc::from(key)))?;
        self.entries.get(slot).map(|(_, v)| v)
    }

    /// Java `put`: returns the previous value (null when there was none).
    pub(crate) fn put(&mut self, key: Value, value: Value) -> Value {
        let k = Key::of(&key);
        if let Some(slot) = self.index.get(&k).copied()
            && let Some(entry) = self.entries.get_mut(slot)
        {
            return std::mem::replace(&mut entry.1, value);
        }
        self.index.insert(k, self.entries.len());
        self.entries.push((key, value));
        Value::Null
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn entries(&self) -> &[(Value, Value)] {
        &self.entries
    }
}

/// The lists and maps of one render.
#[derive(Debug, Default)]
pub(crate) struct Heap {
    pub(crate) lists: Vec<Vec<Value>>,
    pub(crate) maps: Vec<VMap>,
}

impl Heap {
    pub(crate) fn new_list(&mut self, items: Vec<Value>) -> Value {
        self.lists.push(items);
        Value::List(self.lists.len() - 1)
    }

    pub(crate) fn new_map(&mut self, map: VMap) -> Value {
        self.maps.push(map);
        Value::Map(self.maps.len() - 1)
    }

    pub(crate) fn list(&self, id: usize) -> &[Value] {
        self.lists.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    pub(crate) fn list_mut(&mut self, id: usize) -> Option<&mut Vec<Value>> {
        self.lists.get_mut(id)
    }

    pub(crate) fn map(&self, id: usize) -> Option<&VMap> {
        self.maps.get(id)
    }

    pub(crate) fn map_mut(&mut self, id: usize) -> Option<&mut VMap> {
        self.maps.get_mut(id)
    }

    /// Java `toString()`: `[a, b]` for lists, `{k=v, k2=v2}` for maps,
    /// `Double.toString` for floats.
    pub(crate) fn to_java_string(&self, value: &Value) -> Result<String, RenderError> {
        let mut out = String::new();
        self.write_java(value, &mut out, 0)?;
        Ok(out)
    }

    fn write_java(&self, value: &Value, out: &mut String, depth: usize) -> Result<(), RenderError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(RenderError::new(
                "a list or map nests too deeply (or contains itself) to be printed",
            ));
        }
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(id) => {
                out.push('[');
                for (n, item) in self.list(*id).iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    if matches!(item, Value::List(other) if other == id) {
                        out.push_str("(this Collection)");
                    } else {
                        self.write_java(item, out, depth + 1)?;
                    }
                }
                out.push(']');
            }
            Value::Map(id) => {
                out.push('{');
                if let Some(map) = self.map(*id) {
                    for (n, (k, v)) in map.entries().iter().enumerate() {
                        if n > 0 {
                            out.push_str(", ");
                        }
                        for (part, sep) in [(k, "="), (v, "")] {
                            if matches!(part, Value::Map(other) if other == id) {
                                out.push_str("(this Map)");
                            } else {
                                self.write_java(part, out, depth + 1)?;
                            }
                            out.push_str(sep);
                        }
                    }
                }
                out.push('}');
            }
            // Java would print the class name and an identity hash; these
            // are stable stand-ins.
            Value::Input => out.push_str("$input"),
            Value::Util => out.push_str("$util"),
            Value::Foreach { .. } => out.push_str("$foreach"),
        }
        Ok(())
    }

    /// Java `a.equals(b)`: same type and same content (`Integer` never
    /// equals `Double`).
    pub(crate) fn java_equals(&self, a: &Value, b: &Value) -> Result<bool, RenderError> {
        self.equals_at(a, b, 0)
    }

    fn equals_at(&self, a: &Value, b: &Value, depth: usize) -> Result<bool, RenderError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(RenderError::new(
                "a list or map nests too deeply (or contains itself) to be compared",
            ));
        }
        Ok(match (a, b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits() || x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if x == y {
                    return Ok(true);
                }
                let (xs, ys) = (self.list(*x), self.list(*y));
                if xs.len() != ys.len() {
                    return Ok(false);
                }
                for (p, q) in xs.iter().zip(ys) {
                    if !self.equals_at(p, q, depth + 1)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Map(x), Value::Map(y)) => {
                if x == y {
                    return Ok(true);
                }
                let (Some(xm), Some(ym)) = (self.map(*x), self.map(*y)) else {
                    return Ok(false);
                };
                if xm.len() != ym.len() {
                    return Ok(false);
                }
                for (k, v) in xm.entries() {
                    match ym.get(k) {
                        Some(w) if self.equals_at(v, w, depth + 1)? => {}
                        _ => return Ok(false),
                    }
                }
                true
            }
            (Value::Input, Value::Input) | (Value::Util, Value::Util) => true,
            (Value::Foreach { index: i, .. }, Value::Foreach { index: j, .. }) => i == j,
            _ => false,
        })
    }

    /// JSON to a value: objects become maps, arrays lists, integral numbers
    /// that fit `i64` become Int and other numbers Float.
    /// Returns the value and the number of nodes created (for the budget).
    pub(crate) fn import_json(
        &mut self,
        json: &serde_json::Value,
    ) -> Result<(Value, u64), RenderError> {
        let mut nodes = 0;
        let value = self.convert_json_at(json, 0, &mut nodes)?;
        Ok((value, nodes))
    }

    fn convert_json_at(
        &mut self,
        json: &serde_json::Value,
        depth: usize,
        nodes: &mut u64,
    ) -> Result<Value, RenderError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(RenderError::new("a JSON value nests too deeply"));
        }
        *nodes += 1;
        Ok(match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(items) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    list.push(self.convert_json_at(item, depth + 1, nodes)?);
                }
                self.new_list(list)
            }
            serde_json::Value::Object(object) => {
                let mut map = VMap::default();
                for (k, v) in object {
                    let v = self.convert_json_at(v, depth + 1, nodes)?;
                    map.put(Value::str(k.as_str()), v);
                }
                self.new_map(map)
            }
        })
    }

    /// A value back to JSON (map keys printed with `toString`; NaN and the
    /// infinities, which JSON lacks, become null).
    pub(crate) fn to_json(&self, value: &Value) -> Result<serde_json::Value, RenderError> {
        self.to_json_at(value, 0)
    }

    fn to_json_at(&self, value: &Value, depth: usize) -> Result<serde_json::Value, RenderError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(RenderError::new(
                "a list or map nests too deeply (or contains itself) to be converted to JSON",
            ));
        }
        Ok(match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(id) => {
                let mut items = Vec::new();
                for item in self.list(*id) {
                    items.push(self.to_json_at(item, depth + 1)?);
                }
                serde_json::Value::Array(items)
            }
            Value::Map(id) => {
                let mut object = serde_json::Map::new();
                if let Some(map) = self.map(*id) {
                    for (k, v) in map.entries() {
                        let key = match k {
                            Value::Str(s) => s.to_string(),
                            other => self.to_java_string(other)?,
                        };
                        object.insert(key, self.to_json_at(v, depth + 1)?);
                    }
                }
                serde_json::Value::Object(object)
            }
            Value::Input | Value::Util | Value::Foreach { .. } => {
                serde_json::Value::String(self.to_java_string(value)?)
            }
        })
    }
}

/// Java's `Double.toString`: plain notation with at least one fractional
/// digit for magnitudes in [10^-3, 10^7), otherwise `d.dddE±n`; the
/// shortest digits that round-trip (as Java 19+ prints them).
pub(crate) fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // `{:e}` gives the shortest round-trip digits: "1.2345e-5", "1e10".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = (exp as usize) + 1;
            let (int_part, frac_part) = if digits.len() > int_len {
                (digits[..int_len].to_owned(), digits[int_len..].to_owned())
            } else {
                let mut int_part = digits.clone();
                while int_part.len() < int_len {
                    int_part.push('0');
                }
                (int_part, "0".to_owned())
            };
            format!("{sign}{int_part}.{frac_part}")
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(0.5), "0.5");
        assert_eq!(java_double(1e10), "1.0E10");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(1234567.0), "1234567.0");
        assert_eq!(java_double(12345678.0), "1.2345678E7");
        assert_eq!(java_double(-2.25), "-2.25");
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(-0.0), "-0.0");
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(java_double(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn collections_print_as_java() {
        let mut heap = Heap::default();
        let inner = heap.new_list(vec![Value::Int(1), Value::Null, Value::Float(2.0)]);
        let mut map = VMap::default();
        map.put(Value::str("a"), inner);
        map.put(Value::str("b"), Value::str("x y"));
        let m = heap.new_map(map);
        assert_eq!(
            heap.to_java_string(&m).unwrap(),
            "{a=[1, null, 2.0], b=x y}"
        );
    }

    #[test]
    fn self_containing_list_prints_and_deep_cycles_fail() {
        let mut heap = Heap::default();
        let l = heap.new_list(Vec::new());
        let Value::List(id) = l else { unreachable!() };
        heap.list_mut(id).unwrap().push(l.clone());
        assert_eq!(heap.to_java_string(&l).unwrap(), "[(this Collection)]");
        let outer = heap.new_list(vec![l.clone()]);
        let Value::List(oid) = outer else {
            unreachable!()
        };
        heap.list_mut(id).unwrap().push(outer.clone());
        assert!(heap.to_java_string(&outer).is_err());
        let empty = heap.new_list(vec![]);
        assert!(!heap.java_equals(&outer, &empty).unwrap());
        // Two distinct cycles compared by content run out of depth.
        let other = heap.new_list(Vec::new());
        let Value::List(other_id) = other else {
            unreachable!()
        };
        heap.list_mut(other_id).unwrap().push(other.clone());
        let third = heap.new_list(Vec::new());
        let Value::List(third_id) = third else {
            unreachable!()
        };
        heap.list_mut(third_id).unwrap().push(third.clone());
        assert!(heap.java_equals(&third, &other).is_err());
        let _ = oid;
    }
}
