//! Reading the definition text into a [`Value`] without losing what
//! `serde_json::Value` would silently drop.
//!
//! `serde_json` keeps the last of two equal keys in an object. For a `States`
//! object that would hide a copy-pasted state, which AWS refuses as
//! `DUPLICATE_STATE_NAME`, so this reader records every repeated key with the
//! pointer of its object. Nesting stays bounded by `serde_json`'s own
//! recursion limit (128), which this reader relies on for stack safety.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::diagnostic::pointer_push;

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
    let value = ValueSeed {
        pointer: "/".to_owned(),
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
    pointer: String,
    duplicates: &'a mut Vec<DuplicateKey>,
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
        loop {
            let pointer = pointer_push(&self.pointer, &items.len().to_string());
            match seq.next_element_seed(ValueSeed {
                pointer,
                duplicates: &mut *self.duplicates,
            })? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let pointer = pointer_push(&self.pointer, &key);
            let value = access.next_value_seed(ValueSeed {
                pointer,
                duplicates: &mut *self.duplicates,
            })?;
            if map.contains_key(&key) {
                self.duplicates.push(DuplicateKey {
                    object: self.pointer.clone(),
                    key: key.clone(),
                });
            }
            // Last one wins, as with serde_json and Jackson.
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}
