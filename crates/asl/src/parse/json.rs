//! Reading the definition text into a [`Value`] without losing what
//! `serde_json::Value` would silently drop.
//!
//! `serde_json` keeps the last of two equal keys in an object. For a `States`
//! object that would hide a copy-pasted state, which AWS refuses as
//! `DUPLICATE_STATE_NAME`, so this reader records every repeated key with the
//! pointer of its object. Nesting stays bounded by `serde_json`'s own
//! recursion limit (128), which this reader relies on for stack safety.
//! The pointer is one string that each child extends and truncates back, so
//! reading stays linear in the text: a pointer copied per value made a long
//! key above a wide array quadratic (seconds for a 1 MB definition).

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// How deep arrays and objects may nest. `serde_json` refuses deeper text;
/// [`depth_exceeds`] applies the same bound to values built in memory.
pub(super) const MAX_DEPTH: usize = 128;

/// A key that appeared twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DuplicateKey {
    /// JSON pointer of the object holding the key (`/` for the root).
    pub(super) object: String,
    /// The repeated key.
    pub(super) key: String,
}

/// Parses `text` as one JSON document, collecting repeated object keys.
pub(super) fn parse(text: &str) -> Result<(Value, Vec<DuplicateKey>), serde_json::Error> {
    let mut duplicates = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let mut pointer = String::new();
    let value = ValueSeed {
        pointer: &mut pointer,
        duplicates: &mut duplicates,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, duplicates))
}

/// Whether `value` nests arrays/objects more than `limit` levels deep.
/// Iterative, so that a value built in memory with any depth is safe to check.
pub(super) fn depth_exceeds(value: &Value, limit: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((v, depth)) = stack.pop() {
        let (Value::Array(_) | Value::Object(_)) = v else {
            continue;
        };
        if depth >= limit {
            return true;
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    false
}

struct ValueSeed<'a> {
    /// JSON pointer of the value being read, empty for the root.
    pointer: &'a mut String,
    duplicates: &'a mut Vec<DuplicateKey>,
}

/// Appends `/segment` to a JSON pointer, escaped as RFC 6901 (and
/// [`crate::diagnostic::pointer_push`]) escape it.
fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    for c in segment.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot spell NaN or infinity, so this is always Some.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let base = self.pointer.len();
        loop {
            // Writing to a String cannot fail.
            let _ = write!(self.pointer, "/{}", items.len());
            let item = seq.next_element_seed(ValueSeed {
                pointer: &mut *self.pointer,
                duplicates: &mut *self.duplicates,
            });
            self.pointer.truncate(base);
            match item? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        let base = self.pointer.len();
        while let Some(key) = access.next_key::<String>()? {
            push_segment(self.pointer, &key);
            let value = access.next_value_seed(ValueSeed {
                pointer: &mut *self.pointer,
                duplicates: &mut *self.duplicates,
            });
            self.pointer.truncate(base);
            let value = value?;
            if map.contains_key(&key) {
                self.duplicates.push(DuplicateKey {
                    object: if self.pointer.is_empty() {
                        "/".to_owned()
                    } else {
                        self.pointer.clone()
                    },
                    key: key.clone(),
                });
            }
            // Last one wins, as with serde_json and Jackson.
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicates(text: &str) -> Vec<(String, String)> {
        match parse(text) {
            Ok((_, dups)) => dups.into_iter().map(|d| (d.object, d.key)).collect(),
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn duplicate_keys_carry_the_pointer_of_their_object() {
        assert_eq!(
            duplicates(r#"{"a": 1, "a": 2}"#),
            [("/".into(), "a".into())]
        );
        assert_eq!(
            duplicates(r#"{"x": [0, {"k": 1, "k": 2}], "y/~z": {"q": [], "q": {}}, "w": 3}"#),
            [("/x/1".into(), "k".into()), ("/y~1~0z".into(), "q".into())]
        );
        // Siblings after a nested object see their own pointer again.
        assert_eq!(
            duplicates(r#"{"a": {"b": {"c": 1}}, "d": {"e": 1, "e": 2}}"#),
            [("/d".into(), "e".into())]
        );
        assert!(duplicates(r#"[{"a": 1}, {"a": 1}]"#).is_empty());
    }

    #[test]
    fn long_key_above_wide_array_is_read_in_linear_time() {
        // AWS's largest definition (1 MB): half a key, half an array. A
        // pointer copied per element made this 125 GB of copying (seconds
        // in release builds); a linear reader takes milliseconds.
        let text = format!(
            "{{\"{}\": [{}0]}}",
            "k".repeat(500_000),
            "0,".repeat(250_000)
        );
        let started = std::time::Instant::now();
        assert!(parse(&text).is_ok());
        let took = started.elapsed();
        assert!(took.as_secs() < 2, "took {took:?}");
    }
}
