//! Config problems: where they are (file, line, column, key path) and what to do.
//!
//! Owns [`ConfigError`], [`ConfigErrors`], the byte-offset → line/column
//! conversion and the "did you mean" suggestion. It must not decide what is
//! valid — `read` and `validate` do; this module only records and renders.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a config file.
///
/// Rendered as `FILE:LINE:COLUMN: KEY: MESSAGE` (line and column 1-based,
/// column in characters); parts that are unknown are left out, e.g. a file
/// that cannot be read prints `FILE: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The config file, as the caller named it.
    pub file: PathBuf,
    /// 1-based line and column (in characters) of the offending key or value.
    pub location: Option<(usize, usize)>,
    /// Dotted key path, e.g. `routes[0].state_machine`; empty for the whole file.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    fn render(&self) -> String {
        let mut out = self.file.display().to_string();
        if let Some((line, column)) = self.location {
            out.push_str(&format!(":{line}:{column}"));
        }
        if !self.key.is_empty() {
            out.push_str(": ");
            out.push_str(&self.key);
        }
        out.push_str(": ");
        out.push_str(&self.message);
        out
    }

    /// 1-based line, if known.
    pub fn line(&self) -> Option<usize> {
        self.location.map(|(line, _)| line)
    }

    /// 1-based column, if known.
    pub fn column(&self) -> Option<usize> {
        self.location.map(|(_, column)| column)
    }
}

/// Every problem found in a config file, in file order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The problems, sorted by line and column.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects problems while a file is read; knows the text to turn spans into
/// lines and columns.
#[derive(Debug)]
pub(crate) struct Problems<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
    /// Key paths offered as "did you mean" fixes: a missing `runtime` next to
    /// an unknown `runtim` is the same problem, reported once.
    suggested: HashSet<String>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        Self {
            file,
            text,
            errors: Vec::new(),
            suggested: HashSet::new(),
        }
    }

    /// Remembers that `key` was offered as the fix of a misspelled key.
    pub(crate) fn suggested(&mut self, key: String) {
        self.suggested.insert(key);
    }

    /// Whether `key` was offered as the fix of a misspelled key.
    pub(crate) fn was_suggested(&self, key: &str) -> bool {
        self.suggested.contains(key)
    }

    /// Records a problem at a byte span of the text.
    pub(crate) fn at(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let location = Some(line_column(self.text, span.start));
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            location,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// Records a problem about the whole file.
    pub(crate) fn whole_file(&mut self, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            location: None,
            key: String::new(),
            message: message.into(),
        });
    }

    /// `Ok(value)` when nothing was recorded, else every problem in file order.
    pub(crate) fn finish<T>(mut self, value: Option<T>) -> Result<T, ConfigErrors> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => {
                if self.errors.is_empty() {
                    // Defensive: a caller gave up without saying why.
                    self.whole_file("the config could not be read");
                }
                // Stable: problems at the same place keep the order found.
                self.errors.sort_by_key(|e| e.location);
                Err(ConfigErrors {
                    errors: self.errors,
                })
            }
        }
    }
}

/// 1-based line and column (in characters) of a byte offset; offsets past
/// the end or inside a character are clamped.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The closest candidate to `word` if it is close enough to be a typo
/// (Levenshtein distance at most a third of the word's length, at least 1).
pub(crate) fn suggest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` or `; expected one of: a, b` — the tail of an
/// "unknown name" message.
pub(crate) fn hint(word: &str, candidates: &[&str]) -> String {
    match suggest(word, candidates.iter().copied()) {
        Some(s) => format!("; did you mean `{s}`?"),
        None if candidates.is_empty() => String::new(),
        None => format!("; expected one of: {}", candidates.join(", ")),
    }
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("stat_machine", "state_machine"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestion_only_when_close() {
        assert_eq!(suggest("lissten", ["listen", "store"]), Some("listen"));
        assert_eq!(suggest("zzzz", ["listen", "store"]), None);
        assert_eq!(suggest("Post", ["POST", "GET"]), Some("POST"));
    }

    #[test]
    fn line_column_counts_characters() {
        let text = "a = 1\né = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // byte 11 is after "é = " (é is two bytes): column 5
        assert_eq!(line_column(text, 11), (2, 5));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
