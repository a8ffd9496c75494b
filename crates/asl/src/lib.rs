//! Amazon States Language, as AWS Step Functions runs it — a pure library.
//!
//! Module map: [`parse`] validates a definition into the typed,
//! index-resolved [`definition::Definition`] (problems are [`diagnostic`]s
//! with JSON-pointer locations); [`path`] is ASL's JSONPath; [`intrinsics`]
//! the `States.*` functions; [`payload`] the
//! `Parameters`/`ResultSelector`/`ItemSelector`/`Assign` templates; [`choice`]
//! the Choice rules; [`interpreter`] runs an execution as a step function that
//! returns history and effects as data; [`runner`] performs those effects in
//! memory.
//!
//! The key decision: nothing here does IO, reads a clock or draws random
//! numbers. Time comes in with each event, randomness through
//! [`entropy::Entropy`], tasks go out as [`interpreter::Effect`]s. That keeps
//! every rule testable in microseconds and lets the engine persist each step.
//! (The rejected alternative, a recursive async evaluator, keeps its state in
//! futures that cannot be stored.)
//!
//! ```
//! use std::sync::Arc;
//!
//! use asl::entropy::SplitMix64;
//! use asl::interpreter::{ExecutionInfo, Options, Status};
//! use asl::runner::{NoTaskHandlers, VirtualClock, run_to_completion};
//! use serde_json::json;
//!
//! let definition = asl::parse::parse_definition(
//!     r#"{"StartAt": "Hello", "States": {"Hello": {
//!         "Type": "Pass",
//!         "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"},
//!         "End": true}}}"#,
//! )
//! .expect("a valid definition");
//! let result = run_to_completion(
//!     Arc::new(definition),
//!     ExecutionInfo::local("hello", "run-1", 0),
//!     Options::default(),
//!     json!({"name": "world"}),
//!     &mut NoTaskHandlers,
//!     &mut VirtualClock(0),
//!     &mut SplitMix64(42),
//! );
//! assert_eq!(result.status, Status::Succeeded(Arc::new(json!({"greeting": "Hello, world!"}))));
//! assert_eq!(result.history.len(), 4); // ExecutionStarted, PassStateEntered, PassStateExited, ExecutionSucceeded
//! ```
#![deny(missing_docs)]

pub mod choice;
pub mod definition;
pub mod diagnostic;
pub mod entropy;
pub mod failure;
pub mod history;
pub mod interpreter;
pub mod intrinsics;
pub mod parse;
pub mod path;
pub mod payload;
pub mod runner;
pub mod timestamp;
