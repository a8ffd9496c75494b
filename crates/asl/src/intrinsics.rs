//! Intrinsic functions (`States.Format(...)`, `States.Array(...)`, ...).
//!
//! Owns parsing an intrinsic call (AWS's quoting and escaping rules, nested
//! calls, path arguments) and evaluating it against a [`PathEnv`], raising
//! `States.IntrinsicFailure` / `States.Runtime` exactly where AWS does. It
//! must not know about states; randomness comes only from the [`Entropy`]
//! the caller passes.

use serde_json::Value;

use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::path::PathEnv;

/// A syntax error in an intrinsic call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid intrinsic function '{text}': {reason}")]
pub struct IntrinsicError {
    /// The call as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    text: String,
}

impl Intrinsic {
    /// Whether a `.$` value is meant as an intrinsic call rather than a path.
    pub fn looks_like_call(text: &str) -> bool {
        text.starts_with("States.")
    }

    /// Parses a call such as `States.Format('Hello {}', $.name)`.
    pub fn parse(text: &str) -> Result<Intrinsic, IntrinsicError> {
        Err(IntrinsicError { text: text.to_owned(), reason: "intrinsics are being implemented".into() })
    }

    /// The call exactly as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether any argument reads the context object.
    pub fn uses_context(&self) -> bool {
        true
    }

    /// Evaluates the call.
    pub fn eval(&self, env: &PathEnv<'_>, entropy: &mut dyn Entropy) -> Result<Value, Failure> {
        let _ = (env, entropy);
        Err(Failure::intrinsic("not implemented"))
    }
}
