//! Typed reads of one field of a JSON object, each reporting a wrong type or
//! value at the field's JSON pointer.
//!
//! Every helper returns `None` both when the field is absent and when it is
//! invalid (after reporting), so callers fall back to the default and keep
//! going: one pass finds every problem instead of stopping at the first.

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostics, pointer_push};

/// A JSON object.
pub(super) type Obj = Map<String, Value>;

/// Reports every key of `obj` that is not in `allowed`, at `location` (the
/// object), as AWS does: "Field 'X' is not supported".
pub(super) fn unknown(obj: &Obj, location: &str, allowed: &[&str], diags: &mut Diagnostics) {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            diags.schema(location, format!("Field '{key}' is not supported"));
        }
    }
}

/// Reports, once, the keys of `required` that `obj` lacks; true if none.
pub(super) fn required(
    obj: &Obj,
    location: &str,
    required: &[&str],
    diags: &mut Diagnostics,
) -> bool {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| !obj.contains_key(*k))
        .collect();
    if missing.is_empty() {
        return true;
    }
    diags.schema(
        location,
        format!("These fields are required: [{}]", missing.join(", ")),
    );
    false
}

/// Reports when more than one of `keys` is present; true if at most one is.
pub(super) fn exclusive(obj: &Obj, location: &str, keys: &[&str], diags: &mut Diagnostics) -> bool {
    if keys.iter().filter(|k| obj.contains_key(**k)).count() <= 1 {
        return true;
    }
    diags.schema(
        location,
        format!(
            "There should only be one of the following fields: [{}]",
            keys.join(", ")
        ),
    );
    false
}

/// Same wording as the Choice rule parser, so that one definition reads the
/// same everywhere.
fn wrong_type(key: &str, location: &str, what: &str, diags: &mut Diagnostics) {
    diags.schema(
        &pointer_push(location, key),
        format!("Expected value of type {what}"),
    );
}

/// A string field.
pub(super) fn string<'v>(
    obj: &'v Obj,
    key: &str,
    location: &str,
    diags: &mut Diagnostics,
) -> Option<&'v str> {
    match obj.get(key)? {
        Value::String(s) => Some(s),
        _ => {
            wrong_type(key, location, "String", diags);
            None
        }
    }
}

/// An object field.
pub(super) fn object<'v>(
    obj: &'v Obj,
    key: &str,
    location: &str,
    diags: &mut Diagnostics,
) -> Option<&'v Obj> {
    match obj.get(key)? {
        Value::Object(m) => Some(m),
        _ => {
            wrong_type(key, location, "Object", diags);
            None
        }
    }
}

/// An array field.
pub(super) fn array<'v>(
    obj: &'v Obj,
    key: &str,
    location: &str,
    diags: &mut Diagnostics,
) -> Option<&'v [Value]> {
    match obj.get(key)? {
        Value::Array(items) => Some(items),
        _ => {
            wrong_type(key, location, "Array", diags);
            None
        }
    }
}

/// A boolean field.
pub(super) fn boolean(
    obj: &Obj,
    key: &str,
    location: &str,
    diags: &mut Diagnostics,
) -> Option<bool> {
    match obj.get(key)? {
        Value::Bool(b) => Some(*b),
        _ => {
            wrong_type(key, location, "Boolean", diags);
            None
        }
    }
}

/// An integer field within `min..=max`. A JSON number with a zero fraction
/// (`5.0`) counts as an integer, as JSON Schema's `integer` does.
pub(super) fn integer(
    obj: &Obj,
    key: &str,
    location: &str,
    min: u64,
    max: u64,
    diags: &mut Diagnostics,
) -> Option<u64> {
    let value = obj.get(key)?;
    let n = match value {
        Value::Number(n) => n,
        _ => {
            wrong_type(key, location, "Integer", diags);
            return None;
        }
    };
    let as_int = n
        .as_u64()
        .map(i128::from)
        .or_else(|| n.as_i64().map(i128::from))
        .or_else(|| {
            // Exactly representable whole floats only; 1e300 is out of range anyway.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e19)
                .map(|f| f as i128)
        });
    match as_int {
        Some(i) if i >= i128::from(min) && i <= i128::from(max) => u64::try_from(i).ok(),
        Some(_) => {
            diags.schema(
                &pointer_push(location, key),
                format!("The value for the field '{key}' must be between {min} and {max}"),
            );
            None
        }
        None => {
            wrong_type(key, location, "Integer", diags);
            None
        }
    }
}

/// A number field within `min..=max`.
pub(super) fn number(
    obj: &Obj,
    key: &str,
    location: &str,
    min: f64,
    max: f64,
    diags: &mut Diagnostics,
) -> Option<f64> {
    let value = obj.get(key)?;
    let Some(n) = value.as_f64() else {
        wrong_type(key, location, "Number", diags);
        return None;
    };
    if n < min || n > max {
        let range = if max == f64::MAX {
            format!("greater than or equal to {min:?}")
        } else {
            format!("between {min:?} and {max:?}")
        };
        diags.schema(
            &pointer_push(location, key),
            format!("The value for the field '{key}' must be {range}"),
        );
        return None;
    }
    Some(n)
}

/// One of the listed string values (`Mode`, `JitterStrategy`, ...).
pub(super) fn one_of<'v>(
    obj: &'v Obj,
    key: &str,
    location: &str,
    values: &[&str],
    diags: &mut Diagnostics,
) -> Option<&'v str> {
    let s = string(obj, key, location, diags)?;
    if values.contains(&s) {
        return Some(s);
    }
    diags.schema(
        &pointer_push(location, key),
        format!(
            "Value should be one of the following: [{}]",
            values.join(", ")
        ),
    );
    None
}
