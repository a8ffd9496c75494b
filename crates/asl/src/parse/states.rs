//! Building the typed [`Definition`] from a JSON value: scopes, the eight
//! state types, Retry/Catch, transitions.
//!
//! Every rule reports into one [`Diagnostics`] and keeps going with a default,
//! so a single run lists every problem. The arena is filled in document order:
//! a scope's states get their ids before any nested scope is parsed, which lets
//! `Next` resolve while the states are parsed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::fields::{self, Obj};
use super::json::DuplicateKey;
use super::{ParseOptions, StateMachineType, graph, resource};
use crate::choice::parse_choice_rule;
use crate::definition::{
    Catcher, Choice, ChoiceBranch, Definition, Fail, FailField, ItemBatcher, JitterStrategy, Map,
    NumberOrPath, Parallel, Pass, ProcessorMode, ResultHandling, Retrier, Scope, ScopeId, State,
    StateId, StateKind, Task, Transition, Wait, WaitFor,
};
use crate::diagnostic::{Diagnostics, Severity, codes, pointer_push};
use crate::path::{Path, PathRoot};
use crate::payload::{Expression, PointerBuf, Template};
use crate::timestamp::is_rfc3339_timestamp;

/// AWS's limits (Step Functions quotas and field references).
const MAX_STATE_NAME_CHARS: usize = 80;
const MAX_LABEL_CHARS: usize = 40;
const MAX_SECONDS: u64 = 99_999_999;
const MAX_DELAY_SECONDS: u64 = 31_622_400;
const MAX_BATCH_BYTES: u64 = 262_144;

const ROOT_FIELDS: &[&str] = &[
    "Comment",
    "StartAt",
    "States",
    "Version",
    "TimeoutSeconds",
    "QueryLanguage",
];
const BRANCH_FIELDS: &[&str] = &["Comment", "StartAt", "States"];
const PROCESSOR_FIELDS: &[&str] = &["Comment", "StartAt", "States", "ProcessorConfig"];
const TYPES: &[&str] = &[
    "Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

const PASS_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Assign",
    "Parameters",
    "Result",
    "ResultPath",
    "Next",
    "End",
];
const TASK_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Assign",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Resource",
    "Credentials",
    "Retry",
    "Catch",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Next",
    "End",
];
const CHOICE_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Assign",
    "Choices",
    "Default",
];
const WAIT_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Assign",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Next",
    "End",
];
const SUCCEED_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
];
const FAIL_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
];
const PARALLEL_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Assign",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "Branches",
    "Next",
    "End",
];
const MAP_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Assign",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "ItemProcessor",
    "Iterator",
    "ItemsPath",
    "ItemSelector",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
    "Next",
    "End",
];
/// `Comment` is accepted in retriers and catchers: Workflow Studio writes it.
const RETRIER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];
const CATCHER_FIELDS: &[&str] = &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"];
const BATCHER_FIELDS: &[&str] = &[
    "MaxItemsPerBatch",
    "MaxItemsPerBatchPath",
    "MaxInputBytesPerBatch",
    "MaxInputBytesPerBatchPath",
    "BatchInput",
];

/// What a path field must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathRule {
    /// Any ASL Path (`InputPath`, `OutputPath`).
    Any,
    /// A Reference Path: definite (`ItemsPath`, `SecondsPath`, `...Path` numbers).
    Reference,
    /// `ResultPath`: a Reference Path into the state input (`$...`).
    Result,
}

/// `Path::parse("$")`: what an absent `InputPath`/`OutputPath`/`ResultPath`
/// means. `None` only while `path.rs` cannot parse `$`, which no diagnostic can
/// blame on the definition.
fn dollar() -> Option<Path> {
    Path::parse("$").ok()
}

/// Name → id of the states of the scope being parsed.
type Names<'v> = HashMap<&'v str, StateId>;

/// Builds a [`Definition`], collecting diagnostics.
pub(super) struct Builder<'a> {
    options: &'a ParseOptions,
    /// Repeated keys of the source text, by the pointer of their object
    /// (looked up once per scope: scanning them all per scope is quadratic).
    duplicates: HashMap<&'a str, Vec<&'a str>>,
    /// Everything found so far.
    pub(super) diags: Diagnostics,
    states: Vec<State>,
    scopes: Vec<Scope>,
    /// Every state name seen in any scope.
    names: HashSet<String>,
    /// Every Map `Label` seen.
    labels: HashSet<String>,
}

impl<'a> Builder<'a> {
    /// A builder; `duplicates` are the repeated object keys of the source text.
    pub(super) fn new(options: &'a ParseOptions, duplicates: &'a [DuplicateKey]) -> Self {
        let mut by_object: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
        for dup in duplicates {
            by_object
                .entry(dup.object.as_str())
                .or_default()
                .push(dup.key.as_str());
        }
        Self {
            options,
            duplicates: by_object,
            diags: Diagnostics::new(),
            states: Vec::new(),
            scopes: Vec::new(),
            names: HashSet::new(),
            labels: HashSet::new(),
        }
    }

    /// Parses the whole definition. `None` when it is not even an object or is
    /// written in JSONata; otherwise a definition that is only meaningful if no
    /// error was recorded.
    pub(super) fn definition(&mut self, value: &Value) -> Option<Definition> {
        let Value::Object(root) = value else {
            self.diags
                .schema("/", "Definition must be a valid JSON object");
            return None;
        };
        if let Some(language) = root.get("QueryLanguage") {
            match language {
                // Stop here: the rest of a JSONata definition (Arguments,
                // Output, Condition...) would only produce noise.
                Value::String(s) if s == "JSONata" => {
                    self.jsonata("/QueryLanguage");
                    return None;
                }
                _ => {
                    fields::one_of(
                        root,
                        "QueryLanguage",
                        "/",
                        &["JSONPath", "JSONata"],
                        &mut self.diags,
                    );
                }
            }
        }
        fields::unknown(root, "/", ROOT_FIELDS, &mut self.diags);
        // AWS lists them in this order ("These fields are required: [States, StartAt]").
        fields::required(root, "/", &["States", "StartAt"], &mut self.diags);
        let comment = fields::string(root, "Comment", "/", &mut self.diags).map(str::to_owned);
        let version = fields::string(root, "Version", "/", &mut self.diags).map(str::to_owned);
        if version.as_deref().is_some_and(|v| v != "1.0") {
            self.diags
                .schema("/Version", "Value should be one of the following: [1.0]");
        }
        let timeout_seconds =
            fields::integer(root, "TimeoutSeconds", "/", 1, MAX_SECONDS, &mut self.diags);
        let root_scope = self.scope(root, "/", None);
        debug_assert_eq!(root_scope, Definition::ROOT);
        Some(Definition {
            comment,
            version,
            timeout_seconds,
            scopes: std::mem::take(&mut self.scopes),
            states: std::mem::take(&mut self.states),
        })
    }

    /// Whether an error was recorded after the first `since` diagnostics.
    fn errors_since(&self, since: usize) -> bool {
        self.diags.items()[since.min(self.diags.items().len())..]
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    fn jsonata(&mut self, location: &str) {
        self.diags.error(
            codes::NOT_SUPPORTED_YET,
            location,
            "JSONata is not supported yet; use JSONPath",
        );
    }

    /// Parses `StartAt` and `States` of `obj` (at `location`) into a new scope.
    fn scope(&mut self, obj: &Obj, location: &str, parent: Option<StateId>) -> ScopeId {
        let id = self.scopes.len();
        self.scopes.push(Scope {
            start_at: 0,
            states: Vec::new(),
            parent,
        });
        let start_at = fields::string(obj, "StartAt", location, &mut self.diags);
        let Some(states) = fields::object(obj, "States", location, &mut self.diags) else {
            return id;
        };
        let states_location = pointer_push(location, "States");

        // Ids first, so that `Next` can resolve while the states are parsed.
        let mut names: Names<'_> = HashMap::with_capacity(states.len());
        for name in states.keys() {
            let state_location = pointer_push(&states_location, name);
            let sid = self.states.len();
            self.states.push(placeholder(name, id, &state_location));
            self.scopes[id].states.push(sid);
            names.insert(name.as_str(), sid);
            self.check_name(name, &state_location);
        }
        let duplicate_names = self
            .duplicates
            .get(states_location.as_str())
            .cloned()
            .unwrap_or_default();
        for key in duplicate_names {
            self.diags.error(
                codes::DUPLICATE_STATE_NAME,
                &pointer_push(&states_location, key),
                format!("Duplicate State name: {key}"),
            );
        }
        if let Some(start) = start_at {
            match names.get(start) {
                Some(&sid) => self.scopes[id].start_at = sid,
                None => self.diags.error(
                    codes::MISSING_TRANSITION_TARGET,
                    &pointer_push(location, "StartAt"),
                    format!("Missing 'StartAt' target: {start}"),
                ),
            }
        }
        for (name, value) in states {
            let Some(&sid) = names.get(name.as_str()) else {
                continue;
            };
            // A name over the limit was reported above. Its body is not
            // looked into: every location inside it would repeat the name,
            // and a name as long as the definition made that quadratic
            // (gigabytes of diagnostics for a 1 MB definition).
            if name.chars().nth(MAX_STATE_NAME_CHARS).is_some() {
                continue;
            }
            let state_location = pointer_push(&states_location, name);
            if let Some(state) = self.state(name, value, &state_location, id, sid, &names) {
                self.states[sid] = state;
            }
        }
        graph::check_scope(
            states,
            start_at,
            &states_location,
            location,
            &mut self.diags,
        );
        id
    }

    fn check_name(&mut self, name: &str, location: &str) {
        if name.is_empty() {
            self.diags.error(
                codes::INVALID_STATE_NAME,
                location,
                "State name must not be empty",
            );
        } else if name.chars().count() > MAX_STATE_NAME_CHARS {
            self.diags.error(
                codes::INVALID_STATE_NAME,
                location,
                format!("State name is longer than {MAX_STATE_NAME_CHARS} characters: {name}"),
            );
        }
        // Names are unique across every scope: the history and the context
        // object identify a state by name alone.
        if !self.names.insert(name.to_owned()) {
            self.diags.error(
                codes::DUPLICATE_STATE_NAME,
                location,
                format!("Duplicate State name: {name}"),
            );
        }
    }

    fn state(
        &mut self,
        name: &str,
        value: &Value,
        location: &str,
        scope: ScopeId,
        id: StateId,
        names: &Names<'_>,
    ) -> Option<State> {
        let Value::Object(obj) = value else {
            self.diags.schema(location, "Expected value of type Object");
            return None;
        };
        let ty = match obj.get("Type") {
            None => {
                self.diags
                    .schema(location, "These fields are required: [Type]");
                return None;
            }
            Some(_) => fields::string(obj, "Type", location, &mut self.diags)?,
        };
        match obj.get("QueryLanguage") {
            Some(Value::String(s)) if s == "JSONata" => {
                self.jsonata(&pointer_push(location, "QueryLanguage"));
                return None;
            }
            Some(_) => {
                fields::one_of(
                    obj,
                    "QueryLanguage",
                    location,
                    &["JSONPath", "JSONata"],
                    &mut self.diags,
                );
            }
            None => {}
        }
        let allowed = match ty {
            "Pass" => PASS_FIELDS,
            "Task" => TASK_FIELDS,
            "Choice" => CHOICE_FIELDS,
            "Wait" => WAIT_FIELDS,
            "Succeed" => SUCCEED_FIELDS,
            "Fail" => FAIL_FIELDS,
            "Parallel" => PARALLEL_FIELDS,
            "Map" => MAP_FIELDS,
            _ => {
                self.diags.schema(
                    &pointer_push(location, "Type"),
                    format!(
                        "Value should be one of the following: [{}]",
                        TYPES.join(", ")
                    ),
                );
                return None;
            }
        };
        fields::unknown(obj, location, allowed, &mut self.diags);
        let comment = fields::string(obj, "Comment", location, &mut self.diags).map(str::to_owned);
        // Fields the type does not allow were reported above; reading them
        // anyway would only add noise about their values.
        let (input_path, output_path) = if allowed.contains(&"InputPath") {
            (
                self.nullable_path(obj, "InputPath", location, PathRule::Any),
                self.nullable_path(obj, "OutputPath", location, PathRule::Any),
            )
        } else {
            (dollar(), dollar())
        };
        let assign = if allowed.contains(&"Assign") {
            self.template(obj, "Assign", location)
        } else {
            None
        };
        let kind = match ty {
            "Pass" => StateKind::Pass(self.pass(obj, location, names)),
            "Task" => StateKind::Task(self.task(obj, location, names)?),
            "Choice" => StateKind::Choice(self.choice(obj, location, names)),
            "Wait" => StateKind::Wait(self.wait(obj, location, names)?),
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail(self.fail(obj, location)),
            "Parallel" => StateKind::Parallel(self.parallel(obj, location, id, names)),
            _ => StateKind::Map(self.map(obj, location, id, names)?),
        };
        Some(State {
            name: Arc::from(name),
            scope,
            location: location.to_owned(),
            comment,
            input_path,
            output_path,
            assign,
            kind,
        })
    }

    // ----- shared fields -------------------------------------------------

    /// `Next` / `End` of a non-terminal-type state.
    fn transition(&mut self, obj: &Obj, location: &str, names: &Names<'_>) -> Transition {
        let next = fields::string(obj, "Next", location, &mut self.diags);
        let end = fields::boolean(obj, "End", location, &mut self.diags) == Some(true);
        let has_next = obj.contains_key("Next");
        if has_next && end {
            self.diags.schema(
                location,
                "There should only be one of the following fields: [Next, End]",
            );
            return Transition::End;
        }
        if end {
            return Transition::End;
        }
        if !has_next {
            self.diags
                .schema(location, "One of these fields is required: [Next, End]");
            return Transition::End;
        }
        match next {
            Some(target) => Transition::Next(self.resolve(
                target,
                "Next",
                &pointer_push(location, "Next"),
                names,
            )),
            None => Transition::End,
        }
    }

    /// Resolves a transition target in the current scope.
    fn resolve(&mut self, target: &str, field: &str, location: &str, names: &Names<'_>) -> StateId {
        match names.get(target) {
            Some(&id) => id,
            None => {
                // AWS's text (recorded: "Missing 'Next' target: pass3 at /States/pass1/Next").
                self.diags.error(
                    codes::MISSING_TRANSITION_TARGET,
                    location,
                    format!("Missing '{field}' target: {target}"),
                );
                0
            }
        }
    }

    /// A payload template field (`Parameters`, `ResultSelector`, `Assign`...):
    /// a JSON object whose `.$` keys are compiled.
    fn template(&mut self, obj: &Obj, key: &str, location: &str) -> Option<Template> {
        let value = obj.get(key)?;
        let field_location = pointer_push(location, key);
        if !value.is_object() {
            self.diags
                .schema(&field_location, "Expected value of type Object");
            return None;
        }
        self.warn_no_dollar(value, &field_location);
        Some(Template::compile(value, &field_location, &mut self.diags))
    }

    /// Warns about template entries that look like a path or an intrinsic but
    /// whose key lacks `.$`, so they would be copied literally.
    fn warn_no_dollar(&mut self, value: &Value, location: &str) {
        self.warn_no_dollar_at(value, &mut PointerBuf::new(location));
    }

    /// [`Builder::warn_no_dollar`] with the location in one buffer, so that a
    /// long key above a wide object costs no copy per entry.
    fn warn_no_dollar_at(&mut self, value: &Value, location: &mut PointerBuf) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let mark = location.push(key);
                    if let Value::String(s) = v {
                        if !key.ends_with(".$") && looks_dynamic(s) {
                            self.diags.warning(
                                codes::NO_DOLLAR,
                                location.as_str(),
                                format!(
                                    "The value of '{key}' looks like a JSONPath or an intrinsic function, but the key does not end with '.$', so it is used as a literal string"
                                ),
                            );
                        }
                    } else {
                        self.warn_no_dollar_at(v, location);
                    }
                    location.truncate(mark);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    let mark = location.push_index(i);
                    self.warn_no_dollar_at(v, location);
                    location.truncate(mark);
                }
            }
            _ => {}
        }
    }

    /// Parses `text` of field `key` (at `field_location`) under `rule`.
    fn path(
        &mut self,
        text: &str,
        key: &str,
        field_location: &str,
        rule: PathRule,
    ) -> Option<Path> {
        let path = match Path::parse(text) {
            Ok(p) => p,
            Err(_) => {
                self.diags.schema(
                    field_location,
                    format!("The value for the field '{key}' must be a valid JSONPath"),
                );
                return None;
            }
        };
        let ok = match rule {
            PathRule::Any => true,
            PathRule::Reference => path.is_definite(),
            PathRule::Result => path.is_definite() && *path.root() == PathRoot::Input,
        };
        if !ok {
            self.diags.schema(
                field_location,
                format!("The value for the field '{key}' must be a valid Reference Path"),
            );
            return None;
        }
        Some(path)
    }

    /// `InputPath`/`OutputPath`/`ResultPath`: absent means `$`, `null` means
    /// `None` (discard).
    fn nullable_path(
        &mut self,
        obj: &Obj,
        key: &str,
        location: &str,
        rule: PathRule,
    ) -> Option<Path> {
        match obj.get(key) {
            None => dollar(),
            Some(Value::Null) => None,
            Some(Value::String(text)) => {
                let parsed = self.path(text, key, &pointer_push(location, key), rule);
                parsed.or_else(dollar)
            }
            Some(_) => {
                fields::string(obj, key, location, &mut self.diags);
                dollar()
            }
        }
    }

    /// A path field that cannot be `null` (`ItemsPath`, `SecondsPath`...).
    fn path_field(&mut self, obj: &Obj, key: &str, location: &str, rule: PathRule) -> Option<Path> {
        let text = fields::string(obj, key, location, &mut self.diags)?;
        self.path(text, key, &pointer_push(location, key), rule)
    }

    /// A number given literally (`key`, an integer within `min..=max`) or by a
    /// Reference Path (`key` + `Path`); at most one of the two.
    fn int_or_path(
        &mut self,
        obj: &Obj,
        location: &str,
        key: &str,
        min: u64,
        max: u64,
    ) -> Option<NumberOrPath> {
        let path_key = format!("{key}Path");
        fields::exclusive(obj, location, &[key, &path_key], &mut self.diags);
        if let Some(n) = fields::integer(obj, key, location, min, max, &mut self.diags) {
            // Exact: every bound used here is far below 2^53.
            return Some(NumberOrPath::Literal(n as f64));
        }
        self.path_field(obj, &path_key, location, PathRule::Reference)
            .map(NumberOrPath::Path)
    }

    fn retriers(&mut self, obj: &Obj, location: &str) -> Vec<Retrier> {
        let Some(items) = fields::array(obj, "Retry", location, &mut self.diags) else {
            return Vec::new();
        };
        let list_location = pointer_push(location, "Retry");
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let loc = pointer_push(&list_location, &i.to_string());
            let Value::Object(r) = item else {
                self.diags.schema(&loc, "Expected value of type Object");
                continue;
            };
            fields::unknown(r, &loc, RETRIER_FIELDS, &mut self.diags);
            fields::string(r, "Comment", &loc, &mut self.diags);
            fields::required(r, &loc, &["ErrorEquals"], &mut self.diags);
            let error_equals = self.error_equals(r, &loc, i + 1 == items.len());
            let d = &mut self.diags;
            let interval_seconds =
                fields::integer(r, "IntervalSeconds", &loc, 1, MAX_SECONDS, d).unwrap_or(1);
            let max_attempts =
                fields::integer(r, "MaxAttempts", &loc, 0, MAX_SECONDS, d).unwrap_or(3);
            let backoff_rate =
                fields::number(r, "BackoffRate", &loc, 1.0, f64::MAX, d).unwrap_or(2.0);
            let max_delay_seconds =
                fields::integer(r, "MaxDelaySeconds", &loc, 1, MAX_DELAY_SECONDS, d);
            let jitter_strategy =
                match fields::one_of(r, "JitterStrategy", &loc, &["NONE", "FULL"], d) {
                    Some("FULL") => JitterStrategy::Full,
                    _ => JitterStrategy::None,
                };
            out.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter_strategy,
            });
        }
        out
    }

    fn catchers(&mut self, obj: &Obj, location: &str, names: &Names<'_>) -> Vec<Catcher> {
        let Some(items) = fields::array(obj, "Catch", location, &mut self.diags) else {
            return Vec::new();
        };
        let list_location = pointer_push(location, "Catch");
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let loc = pointer_push(&list_location, &i.to_string());
            let Value::Object(c) = item else {
                self.diags.schema(&loc, "Expected value of type Object");
                continue;
            };
            fields::unknown(c, &loc, CATCHER_FIELDS, &mut self.diags);
            fields::string(c, "Comment", &loc, &mut self.diags);
            fields::required(c, &loc, &["ErrorEquals", "Next"], &mut self.diags);
            let error_equals = self.error_equals(c, &loc, i + 1 == items.len());
            let next = fields::string(c, "Next", &loc, &mut self.diags)
                .map(|target| self.resolve(target, "Next", &pointer_push(&loc, "Next"), names));
            let result_path = self.nullable_path(c, "ResultPath", &loc, PathRule::Result);
            let assign = self.template(c, "Assign", &loc);
            if let Some(next) = next {
                out.push(Catcher {
                    error_equals,
                    next,
                    result_path,
                    assign,
                });
            }
        }
        out
    }

    /// `ErrorEquals` of a retrier or catcher; `last` says whether it is the
    /// last of its list (the only place `States.ALL` may appear).
    fn error_equals(&mut self, obj: &Obj, location: &str, last: bool) -> Vec<String> {
        let Some(items) = fields::array(obj, "ErrorEquals", location, &mut self.diags) else {
            return Vec::new();
        };
        let loc = pointer_push(location, "ErrorEquals");
        if items.is_empty() {
            self.diags.schema(&loc, "Value cannot be empty");
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                _ => self.diags.schema(
                    &pointer_push(&loc, &i.to_string()),
                    "Expected value of type String",
                ),
            }
        }
        if out.iter().any(|e| e == "States.ALL") && (out.len() > 1 || !last) {
            self.diags
                .schema(&loc, "States.ALL must appear alone and at end of list");
        }
        out
    }

    fn result_handling(&mut self, obj: &Obj, location: &str) -> ResultHandling {
        ResultHandling {
            result_selector: self.template(obj, "ResultSelector", location),
            result_path: self.nullable_path(obj, "ResultPath", location, PathRule::Result),
        }
    }

    // ----- the eight types -----------------------------------------------

    fn pass(&mut self, obj: &Obj, location: &str, names: &Names<'_>) -> Pass {
        let parameters = self.template(obj, "Parameters", location);
        let result = obj.get("Result").cloned();
        if result.as_ref().is_some_and(has_dollar_key) {
            self.diags.warning(
                codes::PASS_RESULT_IS_STATIC,
                &pointer_push(location, "Result"),
                "Result is static: keys ending in '.$' are not evaluated here (use Parameters to select from the input)",
            );
        }
        let result_path = self.nullable_path(obj, "ResultPath", location, PathRule::Result);
        let transition = self.transition(obj, location, names);
        Pass {
            parameters,
            result,
            result_path,
            transition,
        }
    }

    fn task(&mut self, obj: &Obj, location: &str, names: &Names<'_>) -> Option<Task> {
        let resource = if obj.contains_key("Resource") {
            let r = fields::string(obj, "Resource", location, &mut self.diags);
            if let Some(r) = r {
                let express = self.options.state_machine_type == StateMachineType::Express;
                resource::check(
                    r,
                    &pointer_push(location, "Resource"),
                    express,
                    &mut self.diags,
                );
            }
            r
        } else {
            fields::required(obj, location, &["Resource"], &mut self.diags);
            None
        };
        let parameters = self.template(obj, "Parameters", location);
        let result_handling = self.result_handling(obj, location);
        let timeout_seconds = self.int_or_path(obj, location, "TimeoutSeconds", 1, MAX_SECONDS);
        let heartbeat_seconds = self.int_or_path(obj, location, "HeartbeatSeconds", 1, MAX_SECONDS);
        if let (Some(NumberOrPath::Literal(t)), Some(NumberOrPath::Literal(h))) =
            (&timeout_seconds, &heartbeat_seconds)
            && h >= t
        {
            self.diags.schema(
                &pointer_push(location, "HeartbeatSeconds"),
                "The value for the field 'HeartbeatSeconds' must be smaller than the value for the field 'TimeoutSeconds'",
            );
        }
        let credentials = self.credentials(obj, location);
        let retry = self.retriers(obj, location);
        let catch = self.catchers(obj, location, names);
        let transition = self.transition(obj, location, names);
        Some(Task {
            resource: resource?.to_owned(),
            parameters,
            result_handling,
            timeout_seconds,
            heartbeat_seconds,
            credentials,
            retry,
            catch,
            transition,
        })
    }

    fn credentials(&mut self, obj: &Obj, location: &str) -> Option<Template> {
        let creds = fields::object(obj, "Credentials", location, &mut self.diags)?;
        let loc = pointer_push(location, "Credentials");
        if !creds.contains_key("RoleArn") && !creds.contains_key("RoleArn.$") {
            // AWS's text, recorded at /States/State0/Credentials.
            self.diags
                .schema(&loc, "The field 'RoleArn' is required but was missing");
        } else if creds.get("RoleArn").is_some_and(|role| !role.is_string()) {
            self.diags.schema(
                &pointer_push(&loc, "RoleArn"),
                "Expected value of type String",
            );
        }
        self.template(obj, "Credentials", location)
    }

    fn choice(&mut self, obj: &Obj, location: &str, names: &Names<'_>) -> Choice {
        fields::required(obj, location, &["Choices"], &mut self.diags);
        let mut choices = Vec::new();
        if let Some(items) = fields::array(obj, "Choices", location, &mut self.diags) {
            let list_location = pointer_push(location, "Choices");
            if items.is_empty() {
                self.diags.schema(&list_location, "Value cannot be empty");
            }
            for (i, item) in items.iter().enumerate() {
                let loc = pointer_push(&list_location, &i.to_string());
                let diags_before = self.diags.items().len();
                let Some(rule) = parse_choice_rule(item, &loc, &mut self.diags) else {
                    // Never let a dropped rule pass silently: that would
                    // change which branch runs.
                    if !self.errors_since(diags_before) {
                        self.diags.schema(&loc, "Invalid Choice Rule");
                    }
                    continue;
                };
                let next = self.resolve(&rule.next, "Next", &pointer_push(&loc, "Next"), names);
                let assign = match &rule.assign {
                    Some(value) if value.is_object() => {
                        let assign_location = pointer_push(&loc, "Assign");
                        self.warn_no_dollar(value, &assign_location);
                        Some(Template::compile(value, &assign_location, &mut self.diags))
                    }
                    Some(_) => {
                        self.diags.schema(
                            &pointer_push(&loc, "Assign"),
                            "Expected value of type Object",
                        );
                        None
                    }
                    None => None,
                };
                choices.push(ChoiceBranch { rule, next, assign });
            }
        }
        let default = fields::string(obj, "Default", location, &mut self.diags).map(|target| {
            self.resolve(target, "Default", &pointer_push(location, "Default"), names)
        });
        Choice { choices, default }
    }

    fn wait(&mut self, obj: &Obj, location: &str, names: &Names<'_>) -> Option<Wait> {
        const KEYS: [&str; 4] = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"];
        let present = KEYS.iter().filter(|k| obj.contains_key(**k)).count();
        if present > 1 {
            // The order AWS prints, per a third-party record of the message.
            self.diags.schema(
                location,
                "There should only be one of the following fields: [SecondsPath, Seconds, TimestampPath, Timestamp]",
            );
        } else if present == 0 {
            self.diags.schema(
                location,
                "One of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath]",
            );
        }
        let seconds = fields::integer(obj, "Seconds", location, 0, MAX_SECONDS, &mut self.diags)
            .map(WaitFor::Seconds);
        let timestamp = fields::string(obj, "Timestamp", location, &mut self.diags).and_then(|t| {
            if is_rfc3339_timestamp(t) {
                Some(WaitFor::Timestamp(t.to_owned()))
            } else {
                // AWS's text (six recordings).
                self.diags.schema(
                    &pointer_push(location, "Timestamp"),
                    "String does not match RFC3339 timestamp",
                );
                None
            }
        });
        let seconds_path = self
            .path_field(obj, "SecondsPath", location, PathRule::Reference)
            .map(WaitFor::SecondsPath);
        let timestamp_path = self
            .path_field(obj, "TimestampPath", location, PathRule::Reference)
            .map(WaitFor::TimestampPath);
        let transition = self.transition(obj, location, names);
        let wait_for = seconds.or(timestamp).or(seconds_path).or(timestamp_path)?;
        Some(Wait {
            wait_for,
            transition,
        })
    }

    fn fail(&mut self, obj: &Obj, location: &str) -> Fail {
        Fail {
            error: self.fail_field(obj, location, "Error", "ErrorPath"),
            cause: self.fail_field(obj, location, "Cause", "CausePath"),
        }
    }

    fn fail_field(
        &mut self,
        obj: &Obj,
        location: &str,
        key: &str,
        path_key: &str,
    ) -> Option<FailField> {
        fields::exclusive(obj, location, &[key, path_key], &mut self.diags);
        if let Some(text) = fields::string(obj, key, location, &mut self.diags) {
            if text.starts_with("$.") || text.starts_with("$$.") {
                self.diags.warning(
                    codes::NO_PATH,
                    &pointer_push(location, key),
                    format!("The value of '{key}' looks like a JSONPath, but it is used literally; use '{path_key}' to read it from the input"),
                );
            }
            return Some(FailField::Literal(text.to_owned()));
        }
        let text = fields::string(obj, path_key, location, &mut self.diags)?;
        Expression::compile(
            text,
            path_key,
            &pointer_push(location, path_key),
            &mut self.diags,
        )
        .map(FailField::Dynamic)
    }

    fn parallel(&mut self, obj: &Obj, location: &str, id: StateId, names: &Names<'_>) -> Parallel {
        fields::required(obj, location, &["Branches"], &mut self.diags);
        let mut branches = Vec::new();
        if let Some(items) = fields::array(obj, "Branches", location, &mut self.diags) {
            let list_location = pointer_push(location, "Branches");
            if items.is_empty() {
                self.diags.schema(&list_location, "Value cannot be empty");
            }
            for (i, item) in items.iter().enumerate() {
                let loc = pointer_push(&list_location, &i.to_string());
                let Value::Object(branch) = item else {
                    self.diags.schema(&loc, "Expected value of type Object");
                    continue;
                };
                fields::unknown(branch, &loc, BRANCH_FIELDS, &mut self.diags);
                fields::required(branch, &loc, &["States", "StartAt"], &mut self.diags);
                fields::string(branch, "Comment", &loc, &mut self.diags);
                branches.push(self.scope(branch, &loc, Some(id)));
            }
        }
        let parameters = self.template(obj, "Parameters", location);
        let result_handling = self.result_handling(obj, location);
        let retry = self.retriers(obj, location);
        let catch = self.catchers(obj, location, names);
        let transition = self.transition(obj, location, names);
        Parallel {
            branches,
            parameters,
            result_handling,
            retry,
            catch,
            transition,
        }
    }

    fn map(&mut self, obj: &Obj, location: &str, id: StateId, names: &Names<'_>) -> Option<Map> {
        for key in ["ItemReader", "ResultWriter"] {
            if obj.contains_key(key) {
                self.diags.error(
                    codes::NOT_SUPPORTED_YET,
                    &pointer_push(location, key),
                    format!("{key} is not supported yet"),
                );
            }
        }
        // Processor: `ItemProcessor`, or its legacy name `Iterator`.
        let (processor, mode) = self.processor(obj, location, id);

        let items_path = match obj.get("ItemsPath") {
            Some(_) => self
                .path_field(obj, "ItemsPath", location, PathRule::Reference)
                .or_else(dollar),
            None => dollar(),
        };
        fields::exclusive(
            obj,
            location,
            &["ItemSelector", "Parameters"],
            &mut self.diags,
        );
        let item_selector = match self.template(obj, "ItemSelector", location) {
            Some(t) => Some(t),
            None => self.template(obj, "Parameters", location),
        };
        let item_batcher = self.item_batcher(obj, location);
        let max_concurrency = self.int_or_path(obj, location, "MaxConcurrency", 0, MAX_SECONDS);
        let tolerated_failure_count =
            self.int_or_path(obj, location, "ToleratedFailureCount", 0, MAX_SECONDS);
        fields::exclusive(
            obj,
            location,
            &[
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
            ],
            &mut self.diags,
        );
        let tolerated_failure_percentage = match fields::number(
            obj,
            "ToleratedFailurePercentage",
            location,
            0.0,
            100.0,
            &mut self.diags,
        ) {
            Some(p) => Some(NumberOrPath::Literal(p)),
            None => self
                .path_field(
                    obj,
                    "ToleratedFailurePercentagePath",
                    location,
                    PathRule::Reference,
                )
                .map(NumberOrPath::Path),
        };
        let label = self.label(obj, location);
        let result_handling = self.result_handling(obj, location);
        let retry = self.retriers(obj, location);
        let catch = self.catchers(obj, location, names);
        let transition = self.transition(obj, location, names);
        let Some(items_path) = items_path else {
            // Only reachable while `path.rs` cannot parse `$`.
            self.diags.schema(
                location,
                "internal error: the default ItemsPath '$' could not be parsed",
            );
            return None;
        };
        Some(Map {
            processor: processor?,
            mode,
            items_path,
            item_selector,
            item_batcher,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            label,
            result_handling,
            retry,
            catch,
            transition,
        })
    }

    fn processor(
        &mut self,
        obj: &Obj,
        location: &str,
        id: StateId,
    ) -> (Option<ScopeId>, ProcessorMode) {
        let key = match (
            obj.contains_key("ItemProcessor"),
            obj.contains_key("Iterator"),
        ) {
            (true, true) => {
                fields::exclusive(
                    obj,
                    location,
                    &["ItemProcessor", "Iterator"],
                    &mut self.diags,
                );
                "ItemProcessor"
            }
            (true, false) => "ItemProcessor",
            (false, true) => "Iterator",
            (false, false) => {
                self.diags.schema(
                    location,
                    "One of these fields is required: [ItemProcessor, Iterator]",
                );
                return (None, ProcessorMode::Inline);
            }
        };
        let Some(processor) = fields::object(obj, key, location, &mut self.diags) else {
            return (None, ProcessorMode::Inline);
        };
        let loc = pointer_push(location, key);
        fields::unknown(processor, &loc, PROCESSOR_FIELDS, &mut self.diags);
        fields::required(processor, &loc, &["States", "StartAt"], &mut self.diags);
        fields::string(processor, "Comment", &loc, &mut self.diags);
        let mut mode = ProcessorMode::Inline;
        if let Some(config) = fields::object(processor, "ProcessorConfig", &loc, &mut self.diags) {
            let config_location = pointer_push(&loc, "ProcessorConfig");
            let d = &mut self.diags;
            fields::unknown(config, &config_location, &["Mode", "ExecutionType"], d);
            if fields::one_of(
                config,
                "Mode",
                &config_location,
                &["INLINE", "DISTRIBUTED"],
                d,
            ) == Some("DISTRIBUTED")
            {
                mode = ProcessorMode::Distributed;
            }
            fields::one_of(
                config,
                "ExecutionType",
                &config_location,
                &["STANDARD", "EXPRESS"],
                d,
            );
            let has_type = config.contains_key("ExecutionType");
            if mode == ProcessorMode::Distributed && !has_type {
                d.schema(
                    &config_location,
                    "These fields are required: [ExecutionType]",
                );
            } else if mode == ProcessorMode::Inline && has_type {
                d.schema(&config_location, "Field 'ExecutionType' is not supported");
            }
        }
        (Some(self.scope(processor, &loc, Some(id))), mode)
    }

    fn item_batcher(&mut self, obj: &Obj, location: &str) -> Option<ItemBatcher> {
        let batcher = fields::object(obj, "ItemBatcher", location, &mut self.diags)?;
        let loc = pointer_push(location, "ItemBatcher");
        fields::unknown(batcher, &loc, BATCHER_FIELDS, &mut self.diags);
        Some(ItemBatcher {
            max_items_per_batch: self.int_or_path(
                batcher,
                &loc,
                "MaxItemsPerBatch",
                1,
                MAX_SECONDS,
            ),
            max_input_bytes_per_batch: self.int_or_path(
                batcher,
                &loc,
                "MaxInputBytesPerBatch",
                1,
                MAX_BATCH_BYTES,
            ),
            batch_input: self.template(batcher, "BatchInput", &loc),
        })
    }

    /// `Label`: at most 40 characters, none of the ones AWS forbids, unique
    /// across the definition.
    fn label(&mut self, obj: &Obj, location: &str) -> Option<String> {
        let label = fields::string(obj, "Label", location, &mut self.diags)?;
        let loc = pointer_push(location, "Label");
        let forbidden =
            |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
        if label.is_empty()
            || label.chars().count() > MAX_LABEL_CHARS
            || label.chars().any(forbidden)
        {
            self.diags.error(
                codes::INVALID_LABEL_NAME,
                &loc,
                format!(
                    "Invalid Label '{label}': it must have 1 to {MAX_LABEL_CHARS} characters and no whitespace, brackets, wildcards, control characters or any of \" # % \\ ^ | ~ ` $ & , ; : /"
                ),
            );
        }
        if !self.labels.insert(label.to_owned()) {
            self.diags.error(
                codes::DUPLICATE_LABEL_NAME,
                &loc,
                format!("Duplicate Label name: {label}"),
            );
        }
        Some(label.to_owned())
    }
}

fn placeholder(name: &str, scope: ScopeId, location: &str) -> State {
    State {
        name: Arc::from(name),
        scope,
        location: location.to_owned(),
        comment: None,
        input_path: None,
        output_path: None,
        assign: None,
        kind: StateKind::Succeed,
    }
}

/// Whether a literal string looks like something meant to be evaluated.
fn looks_dynamic(s: &str) -> bool {
    s.starts_with("$.")
        || s.starts_with("$$.")
        || (s.starts_with("States.") && s.ends_with(')') && s.contains('('))
}

fn has_dollar_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.ends_with(".$") || has_dollar_key(v)),
        Value::Array(items) => items.iter().any(has_dollar_key),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::diagnostic::Diagnostic;
    use crate::parse::{ParseOptions, validate_definition};

    /// Far above what these linear walks take in a debug build (well under
    /// a second), far below what the quadratic ones they replace took.
    const BUDGET: Duration = Duration::from_secs(5);

    fn timed(text: &str) -> Vec<Diagnostic> {
        let started = Instant::now();
        let diags = validate_definition(text, &ParseOptions::default());
        let took = started.elapsed();
        assert!(took < BUDGET, "took {took:?}");
        diags
    }

    #[test]
    fn overlong_state_names_are_not_looked_into() {
        // Every location under a state repeats its name: a 500 KB name above
        // 15,000 unreachable states made 15,000 diagnostics of 500 KB each
        // (7.5 GB, 47 s in a release build).
        let inner: String = (0..15_000)
            .map(|i| format!(r#""s{i}": {{"Type": "Succeed"}}, "#))
            .collect();
        let name = "N".repeat(500_000);
        let text = format!(
            r#"{{"StartAt": "{name}", "States": {{"{name}": {{"Type": "Parallel", "End": true,
                "Branches": [{{"StartAt": "s0", "States": {{{inner} "z": {{"Type": "Succeed"}}}}}}]}}}}}}"#
        );
        let diags = timed(&text);
        assert_eq!(diags.len(), 1, "{:?}", diags.first());
        assert_eq!(diags[0].code, "INVALID_STATE_NAME");
        // A name at the limit is still looked into.
        let name = "n".repeat(80);
        let text = format!(
            r#"{{"StartAt": "{name}", "States": {{"{name}": {{"Type": "Pass", "End": true, "Bogus": 1}}}}}}"#
        );
        let diags = validate_definition(&text, &ParseOptions::default());
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "Field 'Bogus' is not supported");
    }

    #[test]
    fn many_invalid_choice_rules_are_checked_in_linear_time() {
        // Each dropped rule used to count every diagnostic so far.
        let rules: String = (0..60_000)
            .map(|_| r#"{"Variable": "$.a", "Next": "E"}, "#)
            .collect();
        let text = format!(
            r#"{{"StartAt": "C", "States": {{"C": {{"Type": "Choice", "Choices": [{rules}
                {{"Variable": "$.a", "IsNull": true, "Next": "E"}}]}}, "E": {{"Type": "Succeed"}}}}}}"#
        );
        let diags = timed(&text);
        assert_eq!(diags.len(), 60_000);
        assert!(
            diags
                .iter()
                .all(|d| d.location.starts_with("/States/C/Choices/"))
        );
    }

    #[test]
    fn duplicate_keys_are_matched_to_scopes_in_linear_time() {
        // Each scope used to scan every repeated key of the document.
        let repeated: String = (0..100_000).map(|_| r#""d": 1, "#).collect();
        let branches: String = (0..20_000)
            .map(|i| {
                format!(r#"{{"StartAt": "b{i}", "States": {{"b{i}": {{"Type": "Succeed"}}}}}}, "#)
            })
            .collect();
        let text = format!(
            r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Parallel", "End": true, "Comment": "x",
                "Branches": [{branches} {{"StartAt": "x", "States": {{"x": {{"Type": "Succeed"}},
                "x": {{"Type": "Succeed"}}}}}}]}}}}, "Comment": {{{repeated} "e": 0}}}}"#
        );
        let diags = timed(&text);
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        // The root's repeated `Comment` keys belong to no scope; the branch's
        // repeated `x` is reported once, where it is.
        assert!(codes.contains(&"DUPLICATE_STATE_NAME"), "{diags:?}");
        assert!(
            diags
                .iter()
                .filter(|d| d.code == "DUPLICATE_STATE_NAME")
                .all(|d| d.location == "/States/P/Branches/20000/States/x")
        );
    }

    #[test]
    fn long_key_above_a_wide_template_is_checked_in_linear_time() {
        // NO_DOLLAR's walk copied the (500 KB) location for every entry.
        let entries: String = (0..60_000).map(|i| format!(r#""k{i}": [], "#)).collect();
        let key = "K".repeat(500_000);
        let text = format!(
            r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Pass", "End": true,
                "Parameters": {{"{key}": {{{entries} "d": "$.x"}}}}}}}}}}"#
        );
        let diags = timed(&text);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "NO_DOLLAR");
        assert_eq!(diags[0].location, format!("/States/P/Parameters/{key}/d"));
    }
}
