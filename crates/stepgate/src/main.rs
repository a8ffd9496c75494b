//! The `stepgate` binary: argument parsing and glue, nothing else.

fn main() {}
