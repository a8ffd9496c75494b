//! Amazon States Language, as AWS Step Functions runs it — a pure library.
//!
//! Module map: [`definition`] parses and validates a state machine into a
//! typed, index-resolved [`definition::Definition`] (with [`diagnostic`]s
//! carrying JSON-pointer locations); [`path`] is ASL's JSONPath;
//! [`intrinsics`] the `States.*` functions; [`payload`] the
//! `Parameters`/`ResultSelector`/`ItemSelector`/`Assign` templates; [`choice`]
//! the Choice rules; [`interpreter`] runs an execution as a step function that
//! returns history and effects as data.
//!
//! The key decision: nothing here does IO, reads a clock or draws random
//! numbers. Time comes in with each event, randomness through
//! [`entropy::Entropy`], tasks go out as [`interpreter::Effect`]s. That keeps
//! every rule testable in microseconds and lets the engine persist each step.
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
