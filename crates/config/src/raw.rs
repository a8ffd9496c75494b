//! The serde mirror of `stepgate.toml` and the reader that fills it.
//!
//! Owns [`RawConfig`] (every key, as written, with its span) and reading the
//! TOML document into it item by item, so that one bad function does not hide
//! the problems of the next. Unknown keys are reported (with a "did you mean")
//! and dropped before serde sees an item; the field lists come from the serde
//! derives themselves ([`fields_of`]), so they cannot drift from the structs.
//! It must not judge values (ranges, references, addresses): `validate` does.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::error::{Problems, hint, suggest};

/// A string with the span of its value in the file.
pub type SpannedString = Spanned<String>;

/// The whole file. An item is `None` when it could not be read (its problems
/// are already reported), so later checks still know the name exists.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`.
    pub server: Option<Spanned<RawServer>>,
    /// `[functions.NAME]`.
    #[serde(default)]
    pub functions: BTreeMap<SpannedString, Option<Spanned<RawFunction>>>,
    /// `[state_machines.NAME]`.
    #[serde(default)]
    pub state_machines: BTreeMap<SpannedString, Option<Spanned<RawStateMachine>>>,
    /// `[[routes]]`, in file order.
    #[serde(default)]
    pub routes: Vec<Option<Spanned<RawRoute>>>,
    /// `[http_task]`.
    pub http_task: Option<Spanned<RawHttpTask>>,
    /// `[activities.NAME]`.
    #[serde(default)]
    pub activities: BTreeMap<SpannedString, Option<Spanned<RawActivity>>>,
}

/// `[activities.NAME]`: declares the activity NAME. No keys yet; the empty
/// table is the declaration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActivity {}

/// `[http_task]`: where `arn:aws:states:::http:invoke` Tasks may go.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpTask {
    /// URL prefixes, each a string or a table with headers.
    pub allow: Option<Spanned<Vec<Spanned<RawAllowEntry>>>>,
}

/// One entry of `[http_task] allow`: `"https://api.example.com/v1/"`, or
/// `{ url = "https://api.example.com/v1/", headers_env = { ... } }` when
/// requests to it carry headers read from the environment.
#[derive(Debug)]
pub enum RawAllowEntry {
    /// The URL prefix alone.
    Url(String),
    /// The URL prefix and its headers.
    Table(RawAllowTable),
}

/// The table form of an `[http_task] allow` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowTable {
    /// The URL prefix.
    pub url: SpannedString,
    /// Request headers: header name to the environment variable holding
    /// its value.
    pub headers_env: Option<Spanned<BTreeMap<SpannedString, SpannedString>>>,
}

/// A string or a table: serde's derive cannot say which of two shapes it
/// expected (an untagged enum answers "did not match any variant"), so the
/// visitor names both.
impl<'de> Deserialize<'de> for RawAllowEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawAllowEntry;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a URL string or a table `{ url = \"...\", headers_env = { ... } }`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAllowEntry, E> {
                Ok(RawAllowEntry::Url(v.to_owned()))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RawAllowEntry, A::Error> {
                RawAllowTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawAllowEntry::Table)
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Address of the webhook routes.
    pub listen: Option<SpannedString>,
    /// Address of the API, console, metrics and health endpoints.
    pub admin_listen: Option<SpannedString>,
    /// `sqlite://FILE`.
    pub store: Option<SpannedString>,
    /// Bearer token for the admin address.
    pub admin_token: Option<SpannedString>,
    /// Largest request body a route accepts, in bytes.
    pub max_body_bytes: Option<Spanned<i64>>,
}

/// `[functions.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFunction {
    /// `command` | `lambda-runtime` | `http`.
    pub runtime: SpannedString,
    /// Program and arguments (command, lambda-runtime).
    pub command: Option<Spanned<Vec<SpannedString>>>,
    /// Endpoint (http).
    pub url: Option<SpannedString>,
    /// Per-invocation timeout.
    pub timeout_seconds: Option<Spanned<i64>>,
    /// Maximum concurrent invocations.
    pub concurrency: Option<Spanned<i64>>,
    /// Extra environment variables.
    pub environment: Option<BTreeMap<SpannedString, SpannedString>>,
    /// Request headers (http): header name to the environment variable
    /// holding its value.
    pub headers_env: Option<Spanned<BTreeMap<SpannedString, SpannedString>>>,
}

/// `[state_machines.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStateMachine {
    /// Path of the ASL JSON file, relative to the config file's directory.
    pub definition_file: Option<SpannedString>,
    /// Inline ASL JSON.
    pub definition: Option<SpannedString>,
    /// `STANDARD` | `EXPRESS`.
    #[serde(rename = "type")]
    pub type_: Option<SpannedString>,
    /// Execution logging.
    pub logging: Option<Spanned<RawLogging>>,
}

/// `logging = { ... }` of a state machine.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    /// `ALL` | `ERROR` | `FATAL` | `OFF`.
    pub level: Option<SpannedString>,
    /// Whether inputs and outputs go into the log.
    pub include_execution_data: Option<bool>,
    /// JSON-lines file, relative to the config file's directory.
    pub destination: Option<SpannedString>,
}

/// `[[routes]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// HTTP method, upper case, or `ANY`.
    pub method: SpannedString,
    /// `/literal/{param}/{proxy+}`.
    pub path: SpannedString,
    /// The one state machine this route may start.
    pub state_machine: SpannedString,
    /// `async` | `sync`.
    pub mode: Option<SpannedString>,
    /// API Gateway mapping template (text; checked by the gateway).
    pub request_template: Option<SpannedString>,
    /// Request header whose value becomes the execution name.
    pub execution_name_header: Option<SpannedString>,
    /// Responses to the caller.
    pub responses: Option<Spanned<RawResponses>>,
    /// Who may call the route.
    pub auth: Option<Spanned<RawAuth>>,
    /// Token bucket of the route.
    pub rate_limit: Option<Spanned<RawRateLimit>>,
    /// Overrides `[server] max_body_bytes` for this route.
    pub max_body_bytes: Option<Spanned<i64>>,
    /// How long a sync route waits for the execution.
    pub timeout_seconds: Option<Spanned<i64>>,
}

/// `auth = { type = ... }` of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// `none` | `api_key` | `hmac_sha256`.
    #[serde(rename = "type")]
    pub type_: SpannedString,
    /// The request header that carries the key or the signature.
    pub header: Option<SpannedString>,
    /// Environment variable holding the API keys, comma-separated (api_key).
    pub keys_env: Option<SpannedString>,
    /// Environment variable holding the HMAC secret (hmac_sha256).
    pub secret_env: Option<SpannedString>,
    /// Text before the hex digest in the signature header (hmac_sha256).
    pub prefix: Option<SpannedString>,
}

/// `rate_limit = { ... }` of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// Sustained rate: tokens added per second.
    pub requests_per_second: Spanned<i64>,
    /// Bucket size: requests allowed at once.
    pub burst: Option<Spanned<i64>>,
}

/// `responses.*` of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResponses {
    /// When the execution was started (async) or succeeded (sync).
    pub success: Option<Spanned<RawResponse>>,
    /// Otherwise.
    pub failure: Option<Spanned<RawResponse>>,
}

/// One response: status and body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResponse {
    /// HTTP status, 100–599.
    pub status: Spanned<i64>,
    /// Body text; the documented default when absent.
    pub body: Option<SpannedString>,
}

/// Appends `key` to a dotted key path, quoting it unless it is a bare TOML key.
pub(crate) fn child(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// Reads a parsed document into a [`RawConfig`], reporting unknown keys and
/// ill-typed values of every item.
pub(crate) fn read(root: Spanned<DeTable<'_>>, problems: &mut Problems<'_>) -> RawConfig {
    let mut raw = RawConfig::default();
    let top = fields_of::<RawConfig>();
    for (key, value) in root.into_inner() {
        let name = key.get_ref().as_ref();
        match name {
            "server" => raw.server = item::<RawServer>(value, "server", problems),
            "functions" => {
                for (k, v) in named_items(value, "functions", "[functions.NAME]", problems) {
                    let path = child("functions", k.get_ref());
                    raw.functions.insert(k, item(v, &path, problems));
                }
            }
            "state_machines" => {
                for (k, v) in
                    named_items(value, "state_machines", "[state_machines.NAME]", problems)
                {
                    let path = child("state_machines", k.get_ref());
                    raw.state_machines.insert(k, item(v, &path, problems));
                }
            }
            "http_task" => raw.http_task = item::<RawHttpTask>(value, "http_task", problems),
            "activities" => {
                for (k, v) in named_items(value, "activities", "[activities.NAME]", problems) {
                    let path = child("activities", k.get_ref());
                    raw.activities.insert(k, item(v, &path, problems));
                }
            }
            "routes" => {
                let span = value.span();
                match value.into_inner() {
                    DeValue::Array(array) => {
                        for (i, v) in array.into_iter().enumerate() {
                            let path = format!("routes[{i}]");
                            raw.routes.push(item(v, &path, problems));
                        }
                    }
                    _ => problems.at(
                        span,
                        "routes",
                        "must be an array of tables: write each route as a `[[routes]]` section",
                    ),
                }
            }
            _ => problems.at(
                key.span(),
                &child("", name),
                format!("unknown key `{name}`{}", hint(name, top)),
            ),
        }
    }
    raw
}

/// The entries of a `[section.NAME]` table, each with its name's span.
fn named_items<'i>(
    value: Spanned<DeValue<'i>>,
    path: &str,
    example: &str,
    problems: &mut Problems<'_>,
) -> Vec<(SpannedString, Spanned<DeValue<'i>>)> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(table) => table
            .into_iter()
            .map(|(k, v)| {
                let span = k.span();
                (Spanned::new(span, k.into_inner().into_owned()), v)
            })
            .collect(),
        _ => {
            problems.at(
                span,
                path,
                format!("must be a table of named entries: write each as a `{example}` section"),
            );
            Vec::new()
        }
    }
}

/// Reads one item: reports and drops unknown keys (at every nesting level the
/// schema knows), then lets serde check types and required keys.
fn item<T: Nested>(
    mut value: Spanned<DeValue<'_>>,
    path: &str,
    problems: &mut Problems<'_>,
) -> Option<Spanned<T>> {
    if !matches!(value.get_ref(), DeValue::Table(_)) {
        problems.at(
            value.span(),
            path,
            format!("must be a table, not a {}", value.get_ref().type_str()),
        );
        return None;
    }
    T::strip_unknown(&mut value, path, problems);
    let tree = value.clone();
    match Spanned::<T>::deserialize(ValueDeserializer::from(value)) {
        Ok(v) => Some(v),
        Err(e) => {
            let span = e.span().unwrap_or_else(|| tree.span());
            let message = e.message().trim().to_owned();
            if let Some(field) = missing_field(&message) {
                // serde does not say which nested table lacks the key; ask
                // the schema, innermost table first.
                let (span, key) = T::locate_missing(&tree, path, field)
                    .unwrap_or_else(|| (tree.span(), child(path, field)));
                if problems.was_suggested(&key) {
                    return None;
                }
                problems.at(span, &key, format!("missing required key `{field}`"));
            } else {
                let key = key_at(&tree, &span, path);
                problems.at(span, &key, message);
            }
            None
        }
    }
}

fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
}

/// The key path of the deepest value whose span holds `span`.
fn key_at(value: &Spanned<DeValue<'_>>, span: &Range<usize>, path: &str) -> String {
    let inside = |v: &Spanned<DeValue<'_>>| {
        let s = v.span();
        s.start <= span.start && span.end <= s.end
    };
    match value.get_ref() {
        DeValue::Table(table) => {
            for (k, v) in table.iter() {
                if inside(v) {
                    return key_at(v, span, &child(path, k.get_ref()));
                }
            }
            path.to_owned()
        }
        DeValue::Array(array) => {
            for (i, v) in array.iter().enumerate() {
                if inside(v) {
                    return key_at(v, span, &format!("{path}[{i}]"));
                }
            }
            path.to_owned()
        }
        _ => path.to_owned(),
    }
}

/// Reports keys of a table that `fields` does not list, and removes them.
fn strip_keys(
    value: &mut Spanned<DeValue<'_>>,
    fields: &[&str],
    path: &str,
    problems: &mut Problems<'_>,
) {
    if let DeValue::Table(table) = value.get_mut() {
        let unknown: Vec<_> = table
            .keys()
            .filter(|k| !fields.contains(&k.get_ref().as_ref()))
            .cloned()
            .collect();
        for k in unknown {
            let name: &str = k.get_ref();
            if let Some(s) = suggest(name, fields.iter().copied()) {
                problems.suggested(child(path, s));
            }
            problems.at(
                k.span(),
                &child(path, name),
                format!("unknown key `{name}`{}", hint(name, fields)),
            );
            table.remove(name);
        }
    }
}

/// A raw struct whose unknown keys (and those of the tables it nests) can be
/// reported before serde reads it.
trait Nested: de::DeserializeOwned {
    fn strip_unknown(value: &mut Spanned<DeValue<'_>>, path: &str, problems: &mut Problems<'_>);

    /// Where a required `field` serde found missing belongs: the span and
    /// key path of the innermost table of this item that should have it.
    fn locate_missing(
        value: &Spanned<DeValue<'_>>,
        path: &str,
        field: &str,
    ) -> Option<(Range<usize>, String)> {
        missing_here::<Self>(value, path, field)
    }
}

/// `value`'s span and `path.field` if `field` is one of `T`'s keys and the
/// table lacks it.
fn missing_here<T: Nested>(
    value: &Spanned<DeValue<'_>>,
    path: &str,
    field: &str,
) -> Option<(Range<usize>, String)> {
    match value.get_ref() {
        DeValue::Table(table)
            if fields_of::<T>().contains(&field) && !table.contains_key(field) =>
        {
            Some((value.span(), child(path, field)))
        }
        _ => None,
    }
}

/// [`Nested::locate_missing`] in the table under `key`, if there is one.
fn missing_in<T: Nested>(
    value: &Spanned<DeValue<'_>>,
    key: &str,
    path: &str,
    field: &str,
) -> Option<(Range<usize>, String)> {
    match value.get_ref() {
        DeValue::Table(table) => table
            .get(key)
            .and_then(|v| T::locate_missing(v, &child(path, key), field)),
        _ => None,
    }
}

/// Applies `f` to the value of `key` when the table has it.
fn with_child(
    value: &mut Spanned<DeValue<'_>>,
    key: &str,
    path: &str,
    f: impl FnOnce(&mut Spanned<DeValue<'_>>, &str),
) {
    if let DeValue::Table(table) = value.get_mut()
        && let Some(v) = table.get_mut(key)
    {
        f(v, &child(path, key));
    }
}

macro_rules! flat {
    ($($t:ty),*) => {$(
        impl Nested for $t {
            fn strip_unknown(value: &mut Spanned<DeValue<'_>>, path: &str, problems: &mut Problems<'_>) {
                strip_keys(value, fields_of::<$t>(), path, problems);
            }
        }
    )*};
}
flat!(
    RawServer,
    RawFunction,
    RawLogging,
    RawResponse,
    RawAuth,
    RawRateLimit,
    RawActivity
);

impl Nested for RawStateMachine {
    fn strip_unknown(value: &mut Spanned<DeValue<'_>>, path: &str, problems: &mut Problems<'_>) {
        strip_keys(value, fields_of::<Self>(), path, problems);
        with_child(value, "logging", path, |v, p| {
            RawLogging::strip_unknown(v, p, problems);
        });
    }

    fn locate_missing(
        value: &Spanned<DeValue<'_>>,
        path: &str,
        field: &str,
    ) -> Option<(Range<usize>, String)> {
        missing_in::<RawLogging>(value, "logging", path, field)
            .or_else(|| missing_here::<Self>(value, path, field))
    }
}

impl Nested for RawResponses {
    fn strip_unknown(value: &mut Spanned<DeValue<'_>>, path: &str, problems: &mut Problems<'_>) {
        strip_keys(value, fields_of::<Self>(), path, problems);
        for key in ["success", "failure"] {
            with_child(value, key, path, |v, p| {
                RawResponse::strip_unknown(v, p, problems);
            });
        }
    }

    fn locate_missing(
        value: &Spanned<DeValue<'_>>,
        path: &str,
        field: &str,
    ) -> Option<(Range<usize>, String)> {
        missing_in::<RawResponse>(value, "success", path, field)
            .or_else(|| missing_in::<RawResponse>(value, "failure", path, field))
    }
}

impl Nested for RawHttpTask {
    fn strip_unknown(value: &mut Spanned<DeValue<'_>>, path: &str, problems: &mut Problems<'_>) {
        strip_keys(value, fields_of::<Self>(), path, problems);
        with_child(value, "allow", path, |v, p| {
            if let DeValue::Array(entries) = v.get_mut() {
                // Only the table form has keys; a string entry is a URL.
                for (i, entry) in entries.iter_mut().enumerate() {
                    strip_keys(
                        entry,
                        fields_of::<RawAllowTable>(),
                        &format!("{p}[{i}]"),
                        problems,
                    );
                }
            }
        });
    }

    fn locate_missing(
        value: &Spanned<DeValue<'_>>,
        path: &str,
        field: &str,
    ) -> Option<(Range<usize>, String)> {
        // The first table entry without the key: serde stops there.
        if let DeValue::Table(table) = value.get_ref()
            && let Some(allow) = table.get("allow")
            && let DeValue::Array(entries) = allow.get_ref()
        {
            let allow_path = child(path, "allow");
            for (i, entry) in entries.iter().enumerate() {
                if let Some(found) =
                    missing_here::<RawAllowTable>(entry, &format!("{allow_path}[{i}]"), field)
                {
                    return Some(found);
                }
            }
        }
        missing_here::<Self>(value, path, field)
    }
}

impl Nested for RawAllowTable {
    fn strip_unknown(value: &mut Spanned<DeValue<'_>>, path: &str, problems: &mut Problems<'_>) {
        strip_keys(value, fields_of::<Self>(), path, problems);
    }
}

impl Nested for RawRoute {
    fn strip_unknown(value: &mut Spanned<DeValue<'_>>, path: &str, problems: &mut Problems<'_>) {
        strip_keys(value, fields_of::<Self>(), path, problems);
        with_child(value, "responses", path, |v, p| {
            RawResponses::strip_unknown(v, p, problems);
        });
        with_child(value, "auth", path, |v, p| {
            RawAuth::strip_unknown(v, p, problems);
        });
        with_child(value, "rate_limit", path, |v, p| {
            RawRateLimit::strip_unknown(v, p, problems);
        });
    }

    fn locate_missing(
        value: &Spanned<DeValue<'_>>,
        path: &str,
        field: &str,
    ) -> Option<(Range<usize>, String)> {
        missing_in::<RawResponses>(value, "responses", path, field)
            .or_else(|| missing_in::<RawAuth>(value, "auth", path, field))
            .or_else(|| missing_in::<RawRateLimit>(value, "rate_limit", path, field))
            .or_else(|| missing_here::<Self>(value, path, field))
    }
}

/// The key names a `#[derive(Deserialize)]` struct accepts, asked of the
/// derive itself: it passes them to `deserialize_struct`, which we capture.
pub(crate) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The capture always ends in an error by design; only `fields` matters.
    let _ = T::deserialize(FieldCapture {
        fields: &mut fields,
    });
    fields
}

struct FieldCapture<'a> {
    fields: &'a mut &'static [&'static str],
}

impl<'de> Deserializer<'de> for FieldCapture<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.fields = fields;
        Err(de::Error::custom("fields captured"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_from_the_derives() {
        assert_eq!(
            fields_of::<RawConfig>(),
            [
                "server",
                "functions",
                "state_machines",
                "routes",
                "http_task",
                "activities"
            ]
        );
        assert!(fields_of::<RawActivity>().is_empty());
        assert_eq!(fields_of::<RawAllowTable>(), ["url", "headers_env"]);
        assert!(fields_of::<RawStateMachine>().contains(&"type"));
        assert!(fields_of::<RawRoute>().contains(&"execution_name_header"));
    }

    #[test]
    fn key_paths_quote_non_bare_keys() {
        assert_eq!(child("", "server"), "server");
        assert_eq!(child("functions", "sample-func"), "functions.sample-func");
        assert_eq!(child("functions", "a.b"), "functions.\"a.b\"");
    }
}
