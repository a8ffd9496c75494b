//! Java regular expressions on top of the `regex` crate.
//!
//! Owns the translation of `java.util.regex.Pattern` syntax into `regex`
//! syntax, Java's replacement strings (`$1`, `${name}`, `\$`), and Java's
//! `replaceAll` / `replaceFirst` / `split` / `matches` semantics. What
//! `regex` cannot express (lookaround, backreferences, atomic groups,
//! possessive quantifiers, `\G`, `\Z`) is an error, never a silent
//! approximation. It must not know about templates.
//!
//! Known differences that remain: `.` also matches `\r`, `\u0085`,
//! `\u2028` and `\u2029` (Java's `.` stops at every line terminator), and
//! `\b` uses Unicode word characters (Java: ASCII unless
//! `UNICODE_CHARACTER_CLASS`).

use regex::{Captures, Regex, RegexBuilder};

/// Compiled-program size limit: enough for any sane pattern, and it stops a
/// pattern such as `(a{1000}){1000}` from using lots of memory.
const SIZE_LIMIT: usize = 2 << 20;

/// Compiles a Java pattern. `whole` anchors it at both ends (`matches`).
pub(crate) fn compile(java: &str, whole: bool) -> Result<Regex, String> {
    let translated = translate(java)?;
    let pattern = if whole {
        format!(r"\A(?:{translated})\z")
    } else {
        translated
    };
    RegexBuilder::new(&pattern)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regular expression '{java}': {e}"))
}

/// Translates Java regex syntax into `regex` syntax.
pub(crate) fn translate(java: &str) -> Result<String, String> {
    let chars: Vec<char> = java.chars().collect();
    let unsupported = |what: &str| {
        Err(format!(
            "regular expression '{java}' uses {what}, which is not supported"
        ))
    };
    let mut out = String::with_capacity(java.len() + 8);
    let mut class_depth = 0usize;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(format!(
                        "invalid regular expression '{java}': trailing backslash"
                    ));
                };
                i += 2;
                match e {
                    '1'..='9' => return unsupported("a backreference"),
                    'k' => return unsupported("a named backreference"),
                    'G' => return unsupported(r"\G"),
                    'Z' => return unsupported(r"\Z"),
                    'Q' => {
                        let mut literal = String::new();
                        while let Some(&q) = chars.get(i) {
                            if q == '\\' && chars.get(i + 1) == Some(&'E') {
                                i += 2;
                                break;
                            }
                            literal.push(q);
                            i += 1;
                        }
                        out.push_str(&regex::escape(&literal));
                    }
                    'E' => {}
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str("[a-zA-Z0-9_]"),
                    'W' => out.push_str("[^a-zA-Z0-9_]"),
                    's' => out.push_str(r"[\t\n\x0B\f\r ]"),
                    'S' => out.push_str(r"[^\t\n\x0B\f\r ]"),
                    'h' => out.push_str(HORIZONTAL),
                    'H' => out.push_str(&negate(HORIZONTAL)),
                    'v' => out.push_str(VERTICAL),
                    'V' => out.push_str(&negate(VERTICAL)),
                    'R' if class_depth == 0 => {
                        out.push_str(r"(?:\r\n|[\n\x0B\f\r\x{85}\x{2028}\x{2029}])")
                    }
                    'b' | 'B' | 'A' | 'z' if class_depth == 0 => {
                        out.push('\\');
                        out.push(e);
                    }
                    't' => out.push_str(r"\t"),
                    'n' => out.push_str(r"\n"),
                    'r' => out.push_str(r"\r"),
                    'f' => out.push_str(r"\f"),
                    'a' => out.push_str(r"\x07"),
                    'e' => out.push_str(r"\x1B"),
                    '0' => {
                        // Octal: \0n, \0nn, \0mnn (m <= 3).
                        let mut value = 0u32;
                        let mut digits = 0;
                        while digits < 3 {
                            let Some(d) = chars.get(i).and_then(|d| d.to_digit(8)) else {
                                break;
                            };
                            if digits == 2 && value > 0o37 {
                                break;
                            }
                            value = value * 8 + d;
                            digits += 1;
                            i += 1;
                        }
                        if digits == 0 {
                            return Err(format!(
                                "invalid regular expression '{java}': illegal octal escape"
                            ));
                        }
                        push_code_point(&mut out, value);
                    }
                    'x' => {
                        if chars.get(i) == Some(&'{') {
                            let close = chars[i..].iter().position(|c| *c == '}');
                            let Some(close) = close else {
                                return Err(format!(
                                    "invalid regular expression '{java}': unclosed \\x{{"
                                ));
                            };
                            let hex: String = chars[i + 1..i + close].iter().collect();
                            let value = u32::from_str_radix(&hex, 16).map_err(|_| {
                                format!("invalid regular expression '{java}': bad \\x{{{hex}}}")
                            })?;
                            push_code_point(&mut out, value);
                            i += close + 1;
                        } else {
                            let value = hex_digits(&chars, i, 2).ok_or_else(|| {
                                format!("invalid regular expression '{java}': bad \\x escape")
                            })?;
                            push_code_point(&mut out, value);
                            i += 2;
                        }
                    }
                    'u' => {
                        let unit = hex_digits(&chars, i, 4).ok_or_else(|| {
                            format!("invalid regular expression '{java}': bad \\u escape")
                        })?;
                        i += 4;
                        let mut value = unit;
                        // A surrogate pair written as two escapes is one
                        // code point, as in Java.
                        if (0xD800..0xDC00).contains(&unit)
                            && chars.get(i) == Some(&'\\')
                            && chars.get(i + 1) == Some(&'u')
                            && let Some(low) = hex_digits(&chars, i + 2, 4)
                            && (0xDC00..0xE000).contains(&low)
                        {
                            value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            i += 6;
                        }
                        if (0xD800..0xE000).contains(&value) {
                            return unsupported("a lone surrogate");
                        }
                        push_code_point(&mut out, value);
                    }
                    'c' => {
                        let Some(&x) = chars.get(i) else {
                            return Err(format!(
                                "invalid regular expression '{java}': bad \\c escape"
                            ));
                        };
                        i += 1;
                        push_code_point(&mut out, (x as u32) ^ 64);
                    }
                    'p' | 'P' => {
                        let (name, used) = if chars.get(i) == Some(&'{') {
                            let close = chars[i..].iter().position(|c| *c == '}');
                            let Some(close) = close else {
                                return Err(format!(
                                    "invalid regular expression '{java}': unclosed \\p{{"
                                ));
                            };
                            (
                                chars[i + 1..i + close].iter().collect::<String>(),
                                close + 1,
                            )
                        } else if let Some(&n) = chars.get(i) {
                            (n.to_string(), 1)
                        } else {
                            return Err(format!(
                                "invalid regular expression '{java}': bad \\p escape"
                            ));
                        };
                        i += used;
                        out.push_str(&property_class(&name, e == 'P').ok_or_else(|| {
                            format!(
                                "regular expression '{java}' uses the character class \\p{{{name}}}, which is not supported"
                            )
                        })?);
                    }
                    other if other.is_ascii_alphanumeric() => {
                        return Err(format!(
                            "invalid regular expression '{java}': illegal escape \\{other}"
                        ));
                    }
                    other => {
                        // Java lets any other character be escaped to mean itself.
                        let mut buf = [0u8; 4];
                        out.push_str(&regex::escape(other.encode_utf8(&mut buf)));
                    }
                }
                continue;
            }
            '(' if class_depth == 0 => {
                if chars.get(i + 1) == Some(&'?') {
                    let next = chars.get(i + 2).copied();
                    let after = chars.get(i + 3).copied();
                    match (next, after) {
                        (Some('=' | '!'), _) => return unsupported("lookahead"),
                        (Some('<'), Some('=' | '!')) => return unsupported("lookbehind"),
                        (Some('>'), _) => return unsupported("an atomic group"),
                        (Some('<'), _) => {
                            out.push_str("(?P<");
                            i += 3;
                            continue;
                        }
                        (Some(':'), _) => {
                            out.push_str("(?:");
                            i += 3;
                            continue;
                        }
                        _ => {
                            // Inline flags: keep i, m, s, x; drop Java-only
                            // ones (d, u, U) whose effect regex has anyway
                            // or that do not change matching here.
                            let mut k = i + 2;
                            let mut flags = String::new();
                            while let Some(&f) = chars.get(k) {
                                match f {
                                    'i' | 'm' | 's' | 'x' | '-' => flags.push(f),
                                    'd' | 'u' | 'U' => {}
                                    ')' | ':' => break,
                                    _ => {
                                        return Err(format!(
                                            "invalid regular expression '{java}': unknown inline flag '{f}'"
                                        ));
                                    }
                                }
                                k += 1;
                            }
                            let flags = flags.trim_end_matches('-').to_owned();
                            match chars.get(k) {
                                Some(')') => {
                                    if !flags.is_empty() && flags != "-" {
                                        out.push_str(&format!("(?{flags})"));
                                    }
                                }
                                Some(':') => {
                                    if flags.is_empty() || flags == "-" {
                                        out.push_str("(?:");
                                    } else {
                                        out.push_str(&format!("(?{flags}:"));
                                    }
                                }
                                _ => {
                                    return Err(format!(
                                        "invalid regular expression '{java}': unclosed group"
                                    ));
                                }
                            }
                            i = k + 1;
                            continue;
                        }
                    }
                }
                out.push('(');
            }
            '*' | '+' | '?' | '}' if class_depth == 0 => {
                out.push(c);
                if chars.get(i + 1) == Some(&'+') && (c != '}' || closes_repetition(&chars, i)) {
                    return unsupported("a possessive quantifier");
                }
            }
            '[' => {
                class_depth += 1;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` right after `[` or `[^` is a literal in Java.
                if chars.get(i + 1) == Some(&']') {
                    out.push_str(r"\]");
                    i += 1;
                }
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            // Inside classes regex gives `~~` and `--` meanings Java lacks.
            '~' if class_depth > 0 => out.push_str(r"\~"),
            '-' if class_depth > 0 && chars.get(i + 1) == Some(&'-') => out.push_str(r"\-"),
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// Whether the `}` at `i` closes a `{n}`, `{n,}` or `{n,m}` repetition (so
/// a following `+` makes it possessive) rather than being a literal.
fn closes_repetition(chars: &[char], i: usize) -> bool {
    let mut k = i;
    while k > 0 {
        k -= 1;
        match chars.get(k) {
            Some('{') => return k + 1 < i && chars.get(k + 1).is_some_and(char::is_ascii_digit),
            Some(c) if c.is_ascii_digit() || *c == ',' => {}
            _ => return false,
        }
    }
    false
}

const HORIZONTAL: &str = r"[ \t\x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]";
const VERTICAL: &str = r"[\n\x0B\f\r\x{85}\x{2028}\x{2029}]";

fn negate(class: &str) -> String {
    format!("[^{}", class.trim_start_matches('['))
}

fn hex_digits(chars: &[char], at: usize, n: usize) -> Option<u32> {
    let digits: String = chars.get(at..at + n)?.iter().collect();
    if digits.chars().all(|c| c.is_ascii_hexdigit()) {
        u32::from_str_radix(&digits, 16).ok()
    } else {
        None
    }
}

fn push_code_point(out: &mut String, value: u32) {
    out.push_str(&format!(r"\x{{{value:X}}}"));
}

/// Java's `\p{...}` classes: the POSIX ones are ASCII in Java; `IsX` and
/// plain Unicode names go to regex's Unicode tables.
fn property_class(name: &str, negated: bool) -> Option<String> {
    let posix = match name {
        "Lower" => Some("a-z"),
        "Upper" => Some("A-Z"),
        "ASCII" => Some(r"\x00-\x7F"),
        "Alpha" => Some("a-zA-Z"),
        "Digit" => Some("0-9"),
        "Alnum" => Some("a-zA-Z0-9"),
        "Punct" => Some(r"!-/:-@\[-`{-\~"),
        "Graph" => Some(r"!-\~"),
        "Print" => Some(r" -\~"),
        "Blank" => Some(r" \t"),
        "Cntrl" => Some(r"\x00-\x1F\x7F"),
        "XDigit" => Some("0-9a-fA-F"),
        "Space" => Some(r" \t\n\x0B\f\r"),
        _ => None,
    };
    if let Some(body) = posix {
        return Some(format!("[{}{body}]", if negated { "^" } else { "" }));
    }
    if name.starts_with("java") || name.starts_with("In") {
        return None;
    }
    let unicode = name.strip_prefix("Is").unwrap_or(name);
    if unicode.is_empty()
        || !unicode
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '=')
    {
        return None;
    }
    Some(format!(
        r"\{}{{{unicode}}}",
        if negated { 'P' } else { 'p' }
    ))
}

/// Java's `Matcher.find` loop: after an empty match the search resumes one
/// character later, and an empty match right after a non-empty one counts.
fn for_each_match<'h>(
    re: &Regex,
    haystack: &'h str,
    mut f: impl FnMut(&Captures<'h>) -> Result<bool, String>,
) -> Result<(), String> {
    let mut at = 0;
    while at <= haystack.len() {
        let Some(caps) = re.captures_at(haystack, at) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        if !f(&caps)? {
            break;
        }
        if m.end() > m.start() {
            at = m.end();
        } else {
            match haystack.get(m.end()..).and_then(|rest| rest.chars().next()) {
                Some(c) => at = m.end() + c.len_utf8(),
                None => break,
            }
        }
    }
    Ok(())
}

/// `String.replaceAll` (`first` = false) and `String.replaceFirst`.
pub(crate) fn replace(
    re: &Regex,
    haystack: &str,
    replacement: &str,
    first: bool,
    max_len: usize,
) -> Result<String, String> {
    let mut out = String::new();
    let mut last = 0;
    for_each_match(re, haystack, |caps| {
        let Some(m) = caps.get(0) else {
            return Ok(false);
        };
        out.push_str(haystack.get(last..m.start()).unwrap_or(""));
        append_replacement(re, caps, replacement, &mut out)?;
        last = m.end();
        if out.len() > max_len {
            return Err(format!(
                "the result of a replacement exceeds {max_len} bytes"
            ));
        }
        Ok(!first)
    })?;
    out.push_str(haystack.get(last..).unwrap_or(""));
    Ok(out)
}

/// Java's `Matcher.appendReplacement` syntax: `$n` / `${name}` insert a
/// group (a group that did not participate inserts nothing), `\x` is `x`.
fn append_replacement(
    re: &Regex,
    caps: &Captures<'_>,
    replacement: &str,
    out: &mut String,
) -> Result<(), String> {
    let group_count = re.captures_len().saturating_sub(1);
    let chars: Vec<char> = replacement.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err(
                        "character to be escaped is missing at the end of the replacement".into(),
                    );
                };
                out.push(next);
                i += 2;
            }
            '$' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err("illegal group reference: '$' at the end of the replacement".into());
                };
                if next == '{' {
                    let close = chars[i + 2..].iter().position(|c| *c == '}');
                    let Some(close) = close else {
                        return Err("named capturing group is missing its trailing '}'".into());
                    };
                    let name: String = chars[i + 2..i + 2 + close].iter().collect();
                    if re.capture_names().all(|n| n != Some(name.as_str())) {
                        return Err(format!("no group with name {{{name}}}"));
                    }
                    if let Some(g) = caps.name(&name) {
                        out.push_str(g.as_str());
                    }
                    i += close + 3;
                } else if let Some(first) = next.to_digit(10) {
                    let mut group = first as usize;
                    if group > group_count {
                        return Err(format!("no group {group}"));
                    }
                    i += 2;
                    // Java takes further digits while the number stays a group.
                    while let Some(d) = chars.get(i).and_then(|d| d.to_digit(10)) {
                        let candidate = group * 10 + d as usize;
                        if candidate > group_count {
                            break;
                        }
                        group = candidate;
                        i += 1;
                    }
                    if let Some(g) = caps.get(group) {
                        out.push_str(g.as_str());
                    }
                } else {
                    return Err("illegal group reference in the replacement".into());
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(())
}

/// `String.split(regex, limit)`: with limit 0 trailing empty strings are
/// removed; a zero-width match at the start gives no leading empty string.
pub(crate) fn split(re: &Regex, haystack: &str, limit: i64) -> Result<Vec<String>, String> {
    let mut parts: Vec<String> = Vec::new();
    let mut index = 0;
    let mut matched = false;
    for_each_match(re, haystack, |caps| {
        let Some(m) = caps.get(0) else {
            return Ok(false);
        };
        if limit > 0 && parts.len() as i64 >= limit - 1 {
            return Ok(false);
        }
        if index == 0 && m.start() == 0 && m.end() == 0 {
            return Ok(true);
        }
        matched = true;
        parts.push(haystack.get(index..m.start()).unwrap_or("").to_owned());
        index = m.end();
        Ok(true)
    })?;
    if !matched {
        return Ok(vec![haystack.to_owned()]);
    }
    parts.push(haystack.get(index..).unwrap_or("").to_owned());
    if limit == 0 {
        while parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace_all(s: &str, re: &str, rep: &str) -> Result<String, String> {
        replace(&compile(re, false)?, s, rep, false, 1 << 20)
    }

    #[test]
    fn seed_pattern_is_backslash_quote() {
        // The VTL literal "\\'" reaches Java as \\' : a backslash, then a quote.
        assert_eq!(replace_all(r#"a\'b'c"#, r"\\'", "'").unwrap(), "a'b'c");
        // One backslash (\') is an escaped quote: it matches a plain quote.
        assert_eq!(replace_all(r#"a\'b"#, r"\'", "'").unwrap(), r"a\'b");
    }

    #[test]
    fn replacement_syntax() {
        assert_eq!(
            replace_all("john smith", r"(\w+) (\w+)", "$2, $1").unwrap(),
            "smith, john"
        );
        assert_eq!(replace_all("a.b", r"\.", r"\$").unwrap(), "a$b");
        assert_eq!(replace_all("ab", "(?<x>a)", "${x}${x}").unwrap(), "aab");
        assert_eq!(replace_all("ab", "(a)", "$11").unwrap(), "a1b");
        assert!(replace_all("ab", "(a)", "$2").is_err());
        assert!(replace_all("ab", "a", "x\\").is_err());
        assert!(replace_all("ab", "a", "$").is_err());
        assert_eq!(replace_all("ab", "(x)?a", "[$1]").unwrap(), "[]b");
    }

    #[test]
    fn empty_matches_follow_java() {
        assert_eq!(replace_all("abc", "", "-").unwrap(), "-a-b-c-");
        assert_eq!(replace_all("baaac", "a*", "-").unwrap(), "-b--c-");
        assert_eq!(replace_all("日本", "", "-").unwrap(), "-日-本-");
    }

    #[test]
    fn java_classes_are_ascii() {
        assert_eq!(replace_all("a1٣", r"\d", "#").unwrap(), "a#٣");
        assert_eq!(replace_all("é_x", r"\w", "#").unwrap(), "é##");
        assert_eq!(replace_all("a b\u{a0}c", r"\s", "_").unwrap(), "a_b\u{a0}c");
        assert_eq!(replace_all("aB1", r"\p{Upper}", "_").unwrap(), "a_1");
        assert_eq!(replace_all("a{b}", r"\{|\}", "").unwrap(), "ab");
        assert_eq!(replace_all("x'y", r"\Qx'\E", "").unwrap(), "y");
        assert_eq!(replace_all("AbC", "(?i)abc", "z").unwrap(), "z");
        assert_eq!(replace_all("a]b", "[]]", "").unwrap(), "ab");
        assert_eq!(replace_all("😀", r"\uD83D\uDE00", "x").unwrap(), "x");
    }

    #[test]
    fn unsupported_features_fail() {
        for re in [
            r"a(?=b)", r"(?<!a)b", r"(a)\1", r"a*+", r"(?>a)", r"\G", r"\k<x>", r"a++",
        ] {
            let err = compile(re, false).unwrap_err();
            assert!(err.contains("not supported"), "{re}: {err}");
        }
        assert!(compile("(", false).is_err());
        assert!(compile(r"\y", false).is_err());
    }

    #[test]
    fn split_follows_java() {
        let s =
            |h: &str, re: &str, limit: i64| split(&compile(re, false).unwrap(), h, limit).unwrap();
        assert_eq!(s("a,b,,c,,", ",", 0), ["a", "b", "", "c"]);
        assert_eq!(s("a,b,,c,,", ",", -1), ["a", "b", "", "c", "", ""]);
        assert_eq!(s("a,b,c", ",", 2), ["a", "b,c"]);
        assert_eq!(s("", ",", 0), [""]);
        assert_eq!(s(",a", ",", 0), ["", "a"]);
        assert_eq!(s("abc", "", 0), ["a", "b", "c"]);
        assert_eq!(s(",,,", ",", 0), Vec::<String>::new());
        assert_eq!(s("a1b22c", r"\d+", 0), ["a", "b", "c"]);
    }

    #[test]
    fn matches_is_whole_string() {
        assert!(compile("a|ab", true).unwrap().is_match("ab"));
        assert!(!compile("b", true).unwrap().is_match("ab"));
    }
}
