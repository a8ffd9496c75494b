//! The typed model a valid definition parses into: scopes, resolved
//! transitions, defaults, locations.

use asl::definition::{
    Definition, FailField, JitterStrategy, NumberOrPath, ProcessorMode, StateId, StateKind,
    Transition, WaitFor,
};
use asl::parse::{ParseOptions, parse_definition, parse_definition_value};
use asl::path::Path;
use serde_json::json;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/definitions")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ready() -> bool {
    // The fixture uses paths (and a Choice rule); both modules must work.
    let ok = Path::parse("$.a[0]").is_ok_and(|p| p.is_definite());
    if !ok {
        eprintln!("note: path.rs is not ready; skipping");
    }
    ok
}

fn id(def: &Definition, name: &str) -> StateId {
    def.states
        .iter()
        .position(|s| &*s.name == name)
        .unwrap_or_else(|| panic!("no state {name}"))
}

#[test]
fn every_state_type_builds_the_model() {
    if !ready() {
        return;
    }
    let def = parse_definition(&fixture("all_states.json")).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(
        def.comment.as_deref(),
        Some("Every state type, nested scopes, Retry and Catch")
    );
    assert_eq!(def.version.as_deref(), Some("1.0"));
    assert_eq!(def.timeout_seconds, Some(300));

    // Scopes: top level, two Parallel branches, the Map processor, the legacy Iterator.
    assert_eq!(def.scopes.len(), 5);
    let root = &def.scopes[Definition::ROOT];
    assert_eq!(root.parent, None);
    assert_eq!(root.start_at, id(&def, "Start"));
    let top: Vec<&str> = root.states.iter().map(|&s| &*def.states[s].name).collect();
    assert_eq!(
        top,
        [
            "Start", "Route", "Work", "Fan", "Legacy", "Until", "Done", "Stop"
        ]
    );
    for (sid, state) in def.states.iter().enumerate() {
        assert!(
            def.scopes[state.scope].states.contains(&sid),
            "{} is listed in its scope",
            state.name
        );
    }

    let start = def.state(id(&def, "Start"));
    assert_eq!(start.location, "/States/Start");
    assert_eq!(start.comment.as_deref(), Some("first"));
    assert_eq!(start.input_path, None, "InputPath: null");
    assert_eq!(
        start.output_path,
        Path::parse("$").ok(),
        "absent OutputPath is $"
    );
    assert!(start.assign.is_some());
    let StateKind::Pass(pass) = &start.kind else {
        panic!("Start is a Pass")
    };
    assert_eq!(pass.result, Some(json!({"items": [1, 2, 3]})));
    assert_eq!(pass.result_path, Path::parse("$.data").ok());
    assert_eq!(pass.transition, Transition::Next(id(&def, "Route")));

    let StateKind::Choice(choice) = &def.state(id(&def, "Route")).kind else {
        panic!("Route is a Choice")
    };
    assert_eq!(choice.default, Some(id(&def, "Stop")));
    assert_eq!(choice.choices.len(), 1);
    assert_eq!(choice.choices[0].next, id(&def, "Work"));
    assert!(choice.choices[0].assign.is_some());

    let work = def.state(id(&def, "Work"));
    assert_eq!(work.output_path, Path::parse("$.body").ok());
    let StateKind::Task(task) = &work.kind else {
        panic!("Work is a Task")
    };
    assert_eq!(task.resource, "arn:aws:states:::lambda:invoke");
    assert!(task.parameters.is_some() && task.result_handling.result_selector.is_some());
    assert_eq!(task.result_handling.result_path, Path::parse("$").ok());
    assert_eq!(task.timeout_seconds, Some(NumberOrPath::Literal(60.0)));
    assert_eq!(task.heartbeat_seconds, Some(NumberOrPath::Literal(10.0)));
    assert_eq!(task.retry.len(), 2);
    let defaults = &task.retry[0];
    assert_eq!(
        (
            defaults.interval_seconds,
            defaults.max_attempts,
            defaults.backoff_rate,
            defaults.max_delay_seconds
        ),
        (1, 3, 2.0, None)
    );
    assert_eq!(defaults.jitter_strategy, JitterStrategy::None);
    let custom = &task.retry[1];
    assert_eq!(custom.error_equals, ["States.ALL"]);
    assert_eq!(
        (
            custom.interval_seconds,
            custom.max_attempts,
            custom.backoff_rate,
            custom.max_delay_seconds
        ),
        (5, 0, 1.5, Some(30))
    );
    assert_eq!(custom.jitter_strategy, JitterStrategy::Full);
    assert_eq!(task.catch.len(), 1);
    assert_eq!(task.catch[0].next, id(&def, "Stop"));
    assert_eq!(task.catch[0].result_path, Path::parse("$.error").ok());
    assert_eq!(task.transition, Transition::Next(id(&def, "Fan")));

    let fan_id = id(&def, "Fan");
    let StateKind::Parallel(fan) = &def.state(fan_id).kind else {
        panic!("Fan is a Parallel")
    };
    assert_eq!(fan.result_handling.result_path, None, "ResultPath: null");
    assert_eq!(fan.branches.len(), 2);
    for &b in &fan.branches {
        assert_eq!(def.scopes[b].parent, Some(fan_id));
    }
    let nap = def.state(id(&def, "Nap"));
    assert_eq!(nap.location, "/States/Fan/Branches/0/States/Nap");
    assert_eq!(nap.scope, fan.branches[0]);
    assert_eq!(def.scopes[fan.branches[0]].start_at, id(&def, "Nap"));
    let StateKind::Wait(nap_wait) = &nap.kind else {
        panic!("Nap is a Wait")
    };
    assert_eq!(nap_wait.wait_for, WaitFor::Seconds(1));
    assert_eq!(nap_wait.transition, Transition::End);

    let each_id = id(&def, "Each");
    let StateKind::Map(each) = &def.state(each_id).kind else {
        panic!("Each is a Map")
    };
    assert_eq!(each.mode, ProcessorMode::Distributed);
    assert_eq!(each.items_path, Path::parse("$.data.items").unwrap());
    assert_eq!(each.max_concurrency, Some(NumberOrPath::Literal(2.0)));
    assert_eq!(def.scopes[each.processor].parent, Some(each_id));
    assert_eq!(
        def.state(id(&def, "Item")).location,
        "/States/Fan/Branches/1/States/Each/ItemProcessor/States/Item"
    );

    let StateKind::Map(legacy) = &def.state(id(&def, "Legacy")).kind else {
        panic!("Legacy is a Map")
    };
    assert_eq!(legacy.mode, ProcessorMode::Inline);
    assert_eq!(
        legacy.items_path,
        Path::parse("$").unwrap(),
        "absent ItemsPath is $"
    );
    assert!(
        legacy.item_selector.is_some(),
        "legacy Parameters become the item selector"
    );
    assert_eq!(
        def.state(id(&def, "Inner")).location,
        "/States/Legacy/Iterator/States/Inner"
    );

    let StateKind::Wait(until) = &def.state(id(&def, "Until")).kind else {
        panic!("Until is a Wait")
    };
    assert_eq!(
        until.wait_for,
        WaitFor::Timestamp("2030-01-01T00:00:00Z".into())
    );
    assert!(matches!(
        def.state(id(&def, "Done")).kind,
        StateKind::Succeed
    ));
    let StateKind::Fail(stop) = &def.state(id(&def, "Stop")).kind else {
        panic!("Stop is a Fail")
    };
    assert_eq!(stop.error, Some(FailField::Literal("Stopped".into())));
    assert!(matches!(stop.cause, Some(FailField::Dynamic(_))));
}

#[test]
fn text_and_value_entry_points_agree() {
    if !ready() {
        return;
    }
    let text = fixture("all_states.json");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let from_text = parse_definition(&text).unwrap();
    let from_value = parse_definition_value(&value, &ParseOptions::default()).unwrap();
    assert_eq!(format!("{from_text:?}"), format!("{from_value:?}"));
}

#[test]
fn a_minimal_definition_without_paths() {
    // Needs nothing from path.rs beyond the `$` defaults.
    let def = parse_definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}"#)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(def.states.len(), 2);
    assert_eq!(def.scopes.len(), 1);
    let StateKind::Pass(a) = &def.states[0].kind else {
        panic!("A is a Pass")
    };
    assert_eq!(a.transition, Transition::Next(1));
    assert_eq!(def.states[1].location, "/States/B");
}
