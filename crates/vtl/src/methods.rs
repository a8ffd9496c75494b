//! Method calls: `$s.replaceAll(...)`, `$list.size()`, `$input.json(...)`,
//! `$util.escapeJavaScript(...)` and the rest.
//!
//! Owns which Java methods exist on which value type and what they do, with
//! Java's semantics (UTF-16 indices, regex syntax, exceptions). A method
//! that does not exist for the receiver and arguments returns null, so the
//! reference renders as its source text, as Velocity does when
//! introspection finds no method. A method that exists but throws in Java
//! (an index out of range, a bad regex, invalid JSON) is a [`RenderError`]:
//! Velocity 1.7 propagates it as a MethodInvocationException, which fails
//! the request on API Gateway. It must not know about syntax or output.

use std::rc::Rc;

use asl::path::{NoVariables, Path, PathEnv};

use crate::error::RenderError;
use crate::render::{MAX_CACHED_PATHS, MAX_OUTPUT, Renderer};

/// Step cost of evaluating one distinct non-reference JSONPath. Such a path
/// may run up to the ASL evaluator's own budget (about a quarter of a
/// second on a large body); this bounds how many one render can evaluate.
const INDEFINITE_PATH_STEPS: u64 = 100_000;
use crate::util;
use crate::value::{VMap, Value};

impl Renderer<'_> {
    pub(crate) fn call_method(
        &mut self,
        receiver: &Value,
        name: &str,
        args: &[Value],
    ) -> Result<Value, RenderError> {
        match receiver {
            Value::Null => Ok(Value::Null),
            Value::Str(s) => {
                let s = s.clone();
                self.string_method(&s, name, args)
            }
            Value::List(id) => self.list_method(*id, receiver, name, args),
            Value::Map(id) => self.map_method(*id, receiver, name, args),
            Value::Int(_) | Value::Float(_) => self.number_method(receiver, name, args),
            Value::Bool(b) => Ok(match (name, args) {
                ("toString", []) => Value::str(if *b { "true" } else { "false" }),
                ("booleanValue", []) => Value::Bool(*b),
                ("equals", [other]) => Value::Bool(self.heap.java_equals(receiver, other)?),
                _ => Value::Null,
            }),
            Value::Input => self.input_method(name, args),
            Value::Util => self.util_method(name, args),
            Value::Foreach { index, has_next } => Ok(match (name, args) {
                ("hasNext" | "getHasNext", []) => Value::Bool(*has_next),
                ("getIndex", []) => Value::Int(*index),
                ("getCount", []) => Value::Int(index + 1),
                ("isFirst" | "getFirst", []) => Value::Bool(*index == 0),
                ("isLast" | "getLast", []) => Value::Bool(!has_next),
                _ => Value::Null,
            }),
        }
    }

    fn string_method(&mut self, s: &str, name: &str, args: &[Value]) -> Result<Value, RenderError> {
        self.step(s.len() as u64 / 256)?;
        let result = match (name, args) {
            ("length", []) => Value::Int(utf16_len(s) as i64),
            ("isEmpty", []) => Value::Bool(s.is_empty()),
            ("toString", []) => Value::str(s),
            ("toLowerCase", []) => Value::str(s.to_lowercase()),
            ("toUpperCase", []) => Value::str(s.to_uppercase()),
            // Java's trim removes every char <= U+0020 at both ends.
            ("trim", []) => Value::str(s.trim_matches(|c: char| c <= ' ')),
            ("substring", [Value::Int(begin)]) => {
                Value::str(substring(s, *begin, utf16_len(s) as i64)?)
            }
            ("substring", [Value::Int(begin), Value::Int(end)]) => {
                Value::str(substring(s, *begin, *end)?)
            }
            ("charAt", [Value::Int(i)]) => {
                let units: Vec<u16> = s.encode_utf16().collect();
                let unit = usize::try_from(*i)
                    .ok()
                    .and_then(|i| units.get(i))
                    .ok_or_else(|| RenderError::new(format!("String index out of range: {i}")))?;
                Value::str(String::from_utf16_lossy(&[*unit]))
            }
            ("indexOf", [Value::Str(needle)]) => Value::Int(index_of(s, needle, 0)),
            ("indexOf", [Value::Str(needle), Value::Int(from)]) => {
                Value::Int(index_of(s, needle, *from))
            }
            ("lastIndexOf", [Value::Str(needle)]) => Value::Int(last_index_of(s, needle, i64::MAX)),
            ("lastIndexOf", [Value::Str(needle), Value::Int(from)]) => {
                Value::Int(last_index_of(s, needle, *from))
            }
            ("contains", [Value::Str(needle)]) => Value::Bool(s.contains(needle.as_ref())),
            ("startsWith", [Value::Str(prefix)]) => Value::Bool(s.starts_with(prefix.as_ref())),
            ("startsWith", [Value::Str(prefix), Value::Int(offset)]) => {
                let starts = usize::try_from(*offset)
                    .ok()
                    .and_then(|o| byte_offset(s, o))
                    .is_some_and(|b| {
                        s.get(b..)
                            .is_some_and(|rest| rest.starts_with(prefix.as_ref()))
                    });
                Value::Bool(starts)
            }
            ("endsWith", [Value::Str(suffix)]) => Value::Bool(s.ends_with(suffix.as_ref())),
            ("equals", [other]) => Value::Bool(matches!(other, Value::Str(o) if o.as_ref() == s)),
            ("equalsIgnoreCase", [other]) => {
                Value::Bool(matches!(other, Value::Str(o) if equals_ignore_case(s, o)))
            }
            ("concat", [Value::Str(other)]) => {
                self.built(s.len() + other.len())?;
                Value::str(format!("{s}{other}"))
            }
            ("replace", [Value::Str(from), Value::Str(to)]) => {
                let replaced = replace_literal(s, from, to)?;
                self.built(replaced.len())?;
                Value::str(replaced)
            }
            ("replaceAll" | "replaceFirst", [Value::Str(pattern), Value::Str(replacement)]) => {
                let re = self.regex(pattern, false)?;
                let replaced = crate::java_regex::replace(
                    &re,
                    s,
                    replacement,
                    name == "replaceFirst",
                    MAX_OUTPUT,
                )
                .map_err(RenderError::new)?;
                self.built(replaced.len())?;
                Value::str(replaced)
            }
            ("matches", [Value::Str(pattern)]) => {
                let re = self.regex(pattern, true)?;
                Value::Bool(re.is_match(s))
            }
            ("split", [Value::Str(pattern)]) => self.split(s, pattern, 0)?,
            ("split", [Value::Str(pattern), Value::Int(limit)]) => {
                self.split(s, pattern, *limit)?
            }
            _ => Value::Null,
        };
        Ok(result)
    }

    fn split(&mut self, s: &str, pattern: &str, limit: i64) -> Result<Value, RenderError> {
        let re = self.regex(pattern, false)?;
        let parts = crate::java_regex::split(&re, s, limit).map_err(RenderError::new)?;
        self.step(parts.len() as u64)?;
        let items = parts.into_iter().map(Value::str).collect();
        Ok(self.heap.new_list(items))
    }

    fn list_method(
        &mut self,
        id: usize,
        receiver: &Value,
        name: &str,
        args: &[Value],
    ) -> Result<Value, RenderError> {
        let len = self.heap.list(id).len();
        Ok(match (name, args) {
            ("size", []) => Value::Int(len as i64),
            ("isEmpty", []) => Value::Bool(len == 0),
            ("get", [Value::Int(i)]) => usize::try_from(*i)
                .ok()
                .and_then(|i| self.heap.list(id).get(i))
                .cloned()
                .ok_or_else(|| {
                    RenderError::new(format!("index {i} out of bounds for length {len}"))
                })?,
            ("contains", [item]) => {
                self.step(len as u64)?;
                let items = self.heap.list(id).to_vec();
                let mut found = false;
                for candidate in &items {
                    if self.heap.java_equals(candidate, item)? {
                        found = true;
                        break;
                    }
                }
                Value::Bool(found)
            }
            ("indexOf", [item]) => {
                self.step(len as u64)?;
                let items = self.heap.list(id).to_vec();
                let mut found = -1;
                for (n, candidate) in items.iter().enumerate() {
                    if self.heap.java_equals(candidate, item)? {
                        found = n as i64;
                        break;
                    }
                }
                Value::Int(found)
            }
            ("add", [item]) => {
                if let Some(list) = self.heap.list_mut(id) {
                    list.push(item.clone());
                }
                Value::Bool(true)
            }
            ("add", [Value::Int(i), item]) => {
                let at = usize::try_from(*i)
                    .ok()
                    .filter(|at| *at <= len)
                    .ok_or_else(|| {
                        RenderError::new(format!("index {i} out of bounds for length {len}"))
                    })?;
                if let Some(list) = self.heap.list_mut(id) {
                    list.insert(at, item.clone());
                }
                // `void add(int, E)` renders as the reference's source text.
                Value::Null
            }
            ("toString", []) => self.java_string_value(receiver)?,
            ("equals", [other]) => Value::Bool(self.heap.java_equals(receiver, other)?),
            _ => Value::Null,
        })
    }

    fn map_method(
        &mut self,
        id: usize,
        receiver: &Value,
        name: &str,
        args: &[Value],
    ) -> Result<Value, RenderError> {
        let Some(map) = self.heap.map(id) else {
            return Ok(Value::Null);
        };
        let len = map.len();
        Ok(match (name, args) {
            ("get", [key]) => map.get(key).cloned().unwrap_or(Value::Null),
            ("containsKey", [key]) => Value::Bool(map.get(key).is_some()),
            ("size", []) => Value::Int(len as i64),
            ("isEmpty", []) => Value::Bool(len == 0),
            ("keySet", []) => {
                let keys: Vec<Value> = map.entries().iter().map(|(k, _)| k.clone()).collect();
                self.step(len as u64)?;
                self.heap.new_list(keys)
            }
            ("values", []) => {
                let values: Vec<Value> = map.entries().iter().map(|(_, v)| v.clone()).collect();
                self.step(len as u64)?;
                self.heap.new_list(values)
            }
            ("put", [key, value]) => match self.heap.map_mut(id) {
                Some(map) => map.put(key.clone(), value.clone()),
                None => Value::Null,
            },
            ("toString", []) => self.java_string_value(receiver)?,
            ("equals", [other]) => Value::Bool(self.heap.java_equals(receiver, other)?),
            _ => Value::Null,
        })
    }

    fn number_method(
        &mut self,
        receiver: &Value,
        name: &str,
        args: &[Value],
    ) -> Result<Value, RenderError> {
        Ok(match (receiver, name, args) {
            (_, "toString", []) => self.java_string_value(receiver)?,
            (_, "equals", [other]) => Value::Bool(self.heap.java_equals(receiver, other)?),
            // Java's Long.intValue keeps the low 32 bits.
            (Value::Int(i), "intValue", []) => Value::Int(i64::from(*i as i32)),
            (Value::Int(i), "longValue", []) => Value::Int(*i),
            (Value::Int(i), "doubleValue", []) => Value::Float(*i as f64),
            // Java's (int) and (long) casts saturate and map NaN to 0, as `as` does.
            (Value::Float(f), "intValue", []) => Value::Int(i64::from(*f as i32)),
            (Value::Float(f), "longValue", []) => Value::Int(*f as i64),
            (Value::Float(f), "doubleValue", []) => Value::Float(*f),
            _ => Value::Null,
        })
    }

    fn java_string_value(&mut self, value: &Value) -> Result<Value, RenderError> {
        let s = self.heap.to_java_string(value)?;
        self.built(s.len())?;
        Ok(Value::str(s))
    }

    /// `$input`: API Gateway's request accessor.
    fn input_method(&mut self, name: &str, args: &[Value]) -> Result<Value, RenderError> {
        let input = self.input;
        Ok(match (name, args) {
            ("getBody", []) => Value::str(input.body.as_str()),
            ("json", [Value::Str(path)]) => self.selected(path, |renderer, selected| {
                // JSON text of what the path selects; nothing selected is "".
                let Some(selected) = selected else {
                    return Ok(Value::str(""));
                };
                let text = serde_json::to_string(selected)
                    .map_err(|e| RenderError::new(format!("$input.json('{path}'): {e}")))?;
                renderer.built(text.len())?;
                Ok(Value::str(text))
            })?,
            ("path", [Value::Str(path)]) => self.selected(path, |renderer, selected| {
                let Some(selected) = selected else {
                    return Ok(Value::Null);
                };
                let (value, nodes) = renderer.heap.import_json(selected)?;
                renderer.step(4 * nodes)?;
                Ok(value)
            })?,
            ("params", []) => {
                let mut all = VMap::default();
                for (section, params) in [
                    ("path", &input.path),
                    ("querystring", &input.querystring),
                    ("header", &input.header),
                ] {
                    let mut map = VMap::default();
                    for (k, v) in params {
                        map.put(Value::str(k.as_str()), Value::str(v.as_str()));
                    }
                    self.step(params.len() as u64)?;
                    let map = self.heap.new_map(map);
                    all.put(Value::str(section), map);
                }
                self.heap.new_map(all)
            }
            ("params", [Value::Str(name)]) => {
                // Path, then query string, then header (headers ignore case);
                // a parameter that is nowhere is "".
                let found = input
                    .path
                    .get(name.as_ref())
                    .or_else(|| input.querystring.get(name.as_ref()))
                    .or_else(|| input.header.get(name.as_ref()))
                    .or_else(|| {
                        input
                            .header
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v)
                    });
                Value::str(found.map(String::as_str).unwrap_or(""))
            }
            _ => Value::Null,
        })
    }

    /// Evaluates a JSONPath against the body (Jayway semantics, shared with
    /// the ASL engine) and hands the selection to `f`. Reference paths are
    /// walked in place. Other paths (wildcards, filters, deep scans) may be
    /// costly, so their results are cached per render and each distinct one
    /// costs [`INDEFINITE_PATH_STEPS`].
    fn selected<T>(
        &mut self,
        path: &str,
        f: impl FnOnce(&mut Self, Option<&serde_json::Value>) -> Result<T, RenderError>,
    ) -> Result<T, RenderError> {
        let body = self.body_json()?;
        let context = serde_json::Value::Null;
        let env = PathEnv {
            input: &body,
            context: &context,
            variables: &NoVariables,
        };
        if let Some(cached) = self.path_cache.get(path).cloned() {
            return f(self, cached.as_ref().as_ref());
        }
        let parsed = Path::parse(path).map_err(|e| RenderError::new(e.to_string()))?;
        if parsed.is_definite() {
            return f(self, parsed.select_ref(&env));
        }
        self.step(INDEFINITE_PATH_STEPS)?;
        let result = Rc::new(parsed.select(&env));
        if self.path_cache.len() >= MAX_CACHED_PATHS {
            self.path_cache.clear();
        }
        self.path_cache.insert(path.to_owned(), result.clone());
        f(self, result.as_ref().as_ref())
    }

    /// `$util`: AWS's six functions; any other name renders as source text.
    fn util_method(&mut self, name: &str, args: &[Value]) -> Result<Value, RenderError> {
        let [arg] = args else {
            return Ok(Value::Null);
        };
        if !matches!(
            name,
            "escapeJavaScript"
                | "parseJson"
                | "urlEncode"
                | "urlDecode"
                | "base64Encode"
                | "base64Decode"
        ) {
            return Ok(Value::Null);
        }
        // Strings, and values with a plain toString (numbers, lists, ...);
        // API Gateway's own objects are not strings: no such method.
        let text = match arg {
            Value::Null | Value::Input | Value::Util | Value::Foreach { .. } => {
                return Ok(Value::Null);
            }
            Value::Str(s) => s.to_string(),
            other => self.heap.to_java_string(other)?,
        };
        self.step(text.len() as u64 / 1024)?;
        let result = match name {
            "escapeJavaScript" => util::escape_javascript(&text),
            "urlEncode" => util::url_encode(&text),
            "urlDecode" => util::url_decode(&text).map_err(RenderError::new)?,
            "base64Encode" => util::base64_encode(&text),
            "base64Decode" => util::base64_decode(&text).map_err(RenderError::new)?,
            _ => {
                let json: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| RenderError::new(format!("$util.parseJson: invalid JSON: {e}")))?;
                let (value, nodes) = self.heap.import_json(&json)?;
                self.step(4 * nodes)?;
                return Ok(value);
            }
        };
        self.built(result.len())?;
        Ok(Value::str(result))
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The byte offset of UTF-16 index `index` (rounded up to a character
/// boundary inside a surrogate pair); `None` past the end.
fn byte_offset(s: &str, index: usize) -> Option<usize> {
    let mut units = 0;
    for (b, c) in s.char_indices() {
        if units >= index {
            return Some(b);
        }
        units += c.len_utf16();
    }
    (units >= index).then_some(s.len())
}

fn utf16_index(s: &str, byte: usize) -> i64 {
    s.get(..byte).map(utf16_len).unwrap_or(0) as i64
}

/// Java `substring(begin, end)` on UTF-16 indices.
fn substring(s: &str, begin: i64, end: i64) -> Result<String, RenderError> {
    let len = utf16_len(s) as i64;
    if begin < 0 || end > len || begin > end {
        return Err(RenderError::new(format!(
            "String index out of range: begin {begin}, end {end}, length {len}"
        )));
    }
    let units: Vec<u16> = s.encode_utf16().collect();
    let slice = units.get(begin as usize..end as usize).unwrap_or(&[]);
    Ok(String::from_utf16_lossy(slice))
}

fn index_of(s: &str, needle: &str, from: i64) -> i64 {
    let from = usize::try_from(from.max(0)).unwrap_or(usize::MAX);
    let len = utf16_len(s);
    if from >= len {
        return if needle.is_empty() { len as i64 } else { -1 };
    }
    let Some(start) = byte_offset(s, from) else {
        return -1;
    };
    match s.get(start..).and_then(|rest| rest.find(needle)) {
        Some(b) => utf16_index(s, start + b),
        None => -1,
    }
}

fn last_index_of(s: &str, needle: &str, from: i64) -> i64 {
    if from < 0 {
        return -1;
    }
    let from = usize::try_from(from).unwrap_or(usize::MAX);
    // Matches may start at or before `from`: search the prefix that ends
    // `needle.len()` bytes after it.
    let start_limit = byte_offset(s, from).unwrap_or(s.len());
    let mut end = (start_limit + needle.len()).min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    match s.get(..end).and_then(|prefix| prefix.rfind(needle)) {
        Some(b) => utf16_index(s, b),
        None => -1,
    }
}

/// Java `equalsIgnoreCase`: equal lengths and each character equal after
/// upper-casing or lower-casing.
fn equals_ignore_case(a: &str, b: &str) -> bool {
    if utf16_len(a) != utf16_len(b) {
        return false;
    }
    let fold = |c: char| -> (char, char) {
        let upper = c.to_uppercase().next().unwrap_or(c);
        let lower = upper.to_lowercase().next().unwrap_or(upper);
        (upper, lower)
    };
    a.chars().zip(b.chars()).all(|(x, y)| {
        let (xu, xl) = fold(x);
        let (yu, yl) = fold(y);
        x == y || xu == yu || xl == yl
    })
}

/// Java `String.replace(CharSequence, CharSequence)`: every occurrence,
/// literally; an empty target inserts the replacement between characters.
fn replace_literal(s: &str, from: &str, to: &str) -> Result<String, RenderError> {
    let occurrences = if from.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(from).count()
    };
    let len = s.len() + occurrences.saturating_mul(to.len());
    if len > MAX_OUTPUT {
        return Err(RenderError::new(format!(
            "a string value exceeds {MAX_OUTPUT} bytes"
        )));
    }
    Ok(s.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_helpers() {
        let s = "a😀b";
        assert_eq!(utf16_len(s), 4);
        assert_eq!(index_of(s, "b", 0), 3);
        assert_eq!(index_of(s, "b", 4), -1);
        assert_eq!(index_of(s, "", 9), 4);
        assert_eq!(last_index_of("aaa", "aa", i64::MAX), 1);
        assert_eq!(last_index_of("abcabc", "abc", 2), 0);
        assert_eq!(last_index_of("abcabc", "abc", 3), 3);
        assert_eq!(substring(s, 0, 1).unwrap(), "a");
        assert_eq!(substring(s, 3, 4).unwrap(), "b");
        assert!(substring(s, 2, 1).is_err());
        assert!(substring(s, 0, 5).is_err());
        assert!(equals_ignore_case("ÉtÉ", "été"));
        assert!(!equals_ignore_case("a", "ab"));
    }
}
