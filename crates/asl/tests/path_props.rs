//! Property tests for `asl::path`: parsing never panics, the canonical
//! printout parses back to the same path, and evaluation never panics.

use asl::path::{NoVariables, Path, PathEnv, Variables, set_at_reference_path};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Variables for `$v...` paths: `v` holds a copy of the generated document.
struct OneVar(Value);

impl Variables for OneVar {
    fn get(&self, name: &str) -> Option<&Value> {
        (name == "v").then_some(&self.0)
    }
}

/// Fragments that exercise every branch of the path and filter parsers.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$".to_owned()),
        Just("$$".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("*".to_owned()),
        Just("[?(".to_owned()),
        Just(")]".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("@".to_owned()),
        Just(" == ".to_owned()),
        Just("<".to_owned()),
        Just("!".to_owned()),
        Just(" && ".to_owned()),
        Just(" || ".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("-".to_owned()),
        Just(" ".to_owned()),
        Just("length()".to_owned()),
        Just(" in ".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        "[0-9]{1,3}",
        "[a-zé_]{1,3}",
    ]
}

fn pathish() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..30).prop_map(|parts| parts.concat())
}

/// Bracket- and paren-heavy strings, long and deeply nested.
fn nested() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("["),
            Just("[?("),
            Just("("),
            Just("!"),
            Just("['"),
            Just("[?(@.a[?(")
        ],
        1usize..3000,
        prop_oneof![Just(""), Just("]"), Just(")]"), Just("'")],
        0usize..3000,
    )
        .prop_map(|(open, n, close, m)| format!("$.a{}@.b{}", open.repeat(n), close.repeat(m)))
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_:-]{0,4}",
        "[a-z]{0,3}[ .'\"\\[\\]()é,*]{1,2}[a-z]{0,3}"
    ]
}

/// Names with any characters, biased towards the ones the path and filter
/// scanners treat specially (quotes, backslashes, brackets, operators,
/// blanks, control characters), in every notation a name can be written in.
fn arbitrary_name() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\\', '\'', '"', '[', ']', '.', ' ', '$', '@', '(', ')', '*', '!', '=', '<', '>', '~', ',',
        '?', ':', '&', '|', '\0', '\u{1}', '\n', '\u{7f}', 'é', '😀',
    ]);
    let c = prop_oneof![2 => special, 1 => any::<char>(), 2 => prop::char::range('a', 'c')];
    prop::collection::vec(c, 0..6).prop_map(String::from_iter)
}

/// A path segment or filter that names `n` in one of the ways a user could
/// write it; many of these do not parse, the round trip is checked for those
/// that do.
fn arbitrary_name_segment() -> impl Strategy<Value = String> {
    let notation = 0usize..9;
    (arbitrary_name(), arbitrary_name(), notation).prop_map(|(n, m, how)| match how {
        0 => format!(".{n}"),
        1 => format!("['{n}']"),
        2 => format!("[\"{n}\"]"),
        3 => format!("['{n}','{m}']"),
        4 => format!("..{n}"),
        5 => format!("[?(@.{n})]"),
        6 => format!("[?(@['{n}'] == '{m}')]"),
        7 => format!("[?(@.{n}.{m} || $[\"{m}\"])]"),
        _ => format!("[?(@.a[?(@.{n})])]"),
    })
}

fn arbitrary_name_path() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("$"), Just("$$"), Just("$v")],
        prop::collection::vec(arbitrary_name_segment(), 1..4),
    )
        .prop_map(|(root, segs)| format!("{root}{}", segs.concat()))
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("-2.5".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("'x'".to_owned()),
        Just("'it\\'s'".to_owned()),
        Just("\"d\"".to_owned()),
        Just("[1,'a']".to_owned()),
        Just("$.k".to_owned()),
        "@\\.[a-z]{1,2}",
    ]
}

fn filter() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("=="),
        Just("!="),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">="),
        Just("in"),
        Just("nin"),
        Just("contains"),
        Just("size"),
    ];
    let atom = prop_oneof![
        ("[a-z]{1,2}", op, literal()).prop_map(|(n, op, lit)| format!("@.{n} {op} {lit}")),
        "[a-z]{1,2}".prop_map(|n| format!("@.{n}")),
        "[a-z]{1,2}".prop_map(|n| format!("!@.{n}")),
        "[a-z]{1,2}".prop_map(|n| format!("@['{n} x']")),
    ];
    atom.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} && {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} || {b})")),
            inner.prop_map(|a| format!("!({a})")),
        ]
    })
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_:-]{0,4}".prop_map(|n| format!(".{n}")),
        name().prop_filter_map("quotable", |n| (!n.contains('\'') && !n.ends_with('\\'))
            .then(|| format!("['{n}']"))),
        name().prop_filter_map("quotable", |n| (!n.contains('"') && !n.ends_with('\\'))
            .then(|| format!("[\"{n}\"]"))),
        (name(), name()).prop_filter_map("quotable", |(a, b)| {
            (!a.contains('\'') && !b.contains('\'') && !a.ends_with('\\') && !b.ends_with('\\'))
                .then(|| format!("['{a}', '{b}']"))
        }),
        (-4i32..6).prop_map(|i| format!("[{i}]")),
        (-4i32..6, -4i32..6).prop_map(|(i, j)| format!("[{i},{j}]")),
        (prop::option::of(-4i32..6), prop::option::of(-4i32..6)).prop_filter_map(
            "bound",
            |(a, b)| (a.is_some() || b.is_some()).then(|| {
                let show = |x: Option<i32>| x.map(|x| x.to_string()).unwrap_or_default();
                format!("[{}:{}]", show(a), show(b))
            })
        ),
        Just("[*]".to_owned()),
        Just(".*".to_owned()),
        "[a-z]{1,3}".prop_map(|n| format!("..{n}")),
        Just("..*".to_owned()),
        Just("..[0]".to_owned()),
        filter().prop_map(|f| format!("[?({f})]")),
    ]
}

/// Mostly valid paths built from the grammar.
fn valid_path() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("$"), Just("$$"), Just("$v")],
        prop::collection::vec(segment(), 0..6),
        prop_oneof![3 => Just(""), 1 => Just(".length()")],
    )
        .prop_map(|(root, segs, tail)| format!("{root}{}{tail}", segs.concat()))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..20).prop_map(Value::from),
        (-10.0f64..10.0).prop_map(Value::from),
        "[a-z ]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,2}|a b|x'y", inner), 0..5)
                .prop_map(|kvs| Value::Object(kvs.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn check_round_trip(text: &str) -> Result<(), TestCaseError> {
    if let Ok(path) = Path::parse(text) {
        let printed = path.to_string();
        let reparsed = Path::parse(&printed);
        prop_assert!(
            reparsed.is_ok(),
            "{text:?} printed as {printed:?} does not parse: {reparsed:?}"
        );
        if let Ok(reparsed) = reparsed {
            prop_assert_eq!(&reparsed, &path, "{:?} printed as {:?}", text, printed);
            prop_assert_eq!(reparsed.to_string(), printed.clone());
            prop_assert_eq!(reparsed.normalized(), path.normalized());
            prop_assert_eq!(reparsed.is_definite(), path.is_definite());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = Path::parse(&s);
        let _ = Path::parse(&format!("${s}"));
        let _ = Path::parse(&format!("$.{s}"));
        let _ = Path::parse(&format!("$[?({s})]"));
    }

    #[test]
    fn parse_never_panics_on_pathish_strings(s in pathish()) {
        let _ = Path::parse(&s);
        let _ = Path::parse(&format!("${s}"));
    }

    #[test]
    fn parse_never_panics_on_nested_strings(s in nested()) {
        let _ = Path::parse(&s);
    }

    #[test]
    fn pathish_strings_that_parse_round_trip(s in pathish()) {
        check_round_trip(&s)?;
        check_round_trip(&format!("${s}"))?;
    }

    #[test]
    fn generated_paths_parse_and_round_trip(s in valid_path()) {
        prop_assert!(Path::parse(&s).is_ok(), "{s:?}: {:?}", Path::parse(&s).err());
        check_round_trip(&s)?;
    }

    #[test]
    fn names_with_arbitrary_characters_round_trip(s in arbitrary_name_path()) {
        check_round_trip(&s)?;
    }

    #[test]
    fn select_never_panics(s in valid_path(), doc in json_value(), value in json_value()) {
        let Ok(path) = Path::parse(&s) else { return Ok(()) };
        let vars = OneVar(doc.clone());
        let env = PathEnv { input: &doc, context: &doc, variables: &vars };
        let selected = path.select(&env);
        let by_ref = path.select_ref(&env);
        let _ = path.normalized();
        if path.is_definite() {
            // The two readers agree on reference paths.
            prop_assert_eq!(selected.as_ref(), by_ref);
        } else {
            prop_assert_eq!(by_ref, None);
        }
        let mut target = doc.clone();
        match set_at_reference_path(&mut target, &path, value.clone()) {
            Ok(()) => {
                let env = PathEnv { input: &target, context: &Value::Null, variables: &NoVariables };
                prop_assert_eq!(path.select(&env), Some(value));
            }
            Err(_) => prop_assert_eq!(target, doc),
        }
    }

    #[test]
    fn select_never_panics_on_pathish(s in pathish(), doc in json_value()) {
        if let Ok(path) = Path::parse(&s) {
            let env = PathEnv { input: &doc, context: &doc, variables: &NoVariables };
            let _ = path.select(&env);
            let _ = path.select_ref(&env);
        }
    }
}
