//! The crate's error and warning types.
//!
//! Owns [`ParseError`] (a template that cannot be parsed), [`RenderError`]
//! (a template that failed while rendering one request) and [`Warning`] (a
//! lint finding). It must not decide *when* these happen: the parser, the
//! renderer and the linter do.

use std::fmt;

/// A template that is not valid VTL. Positions are 1-based; the column counts
/// characters (Unicode scalar values), not bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Rendering failed. On API Gateway this is the "Internal server error" a
/// client gets when a mapping template throws; the gateway maps it to a 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RenderError {
    /// What went wrong.
    pub message: String,
    /// 1-based line of the construct that failed, when known.
    pub line: Option<usize>,
    /// 1-based column of the construct that failed, when known.
    pub column: Option<usize>,
}

impl RenderError {
    pub(crate) fn new(message: impl Into<String>) -> RenderError {
        RenderError {
            message: message.into(),
            line: None,
            column: None,
        }
    }

    /// Attaches a position unless a more precise one is already known.
    pub(crate) fn at(mut self, pos: crate::ast::Pos) -> RenderError {
        if self.line.is_none() {
            self.line = Some(pos.line);
            self.column = Some(pos.column);
        }
        self
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

/// A lint finding: the template parses and renders, but probably not as its
/// author meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What looks wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}
