//! One module per subcommand.

pub(crate) mod check_config;
pub(crate) mod durable;
pub(crate) mod init;
pub(crate) mod run;
pub(crate) mod run_concurrent;
pub(crate) mod serve;
pub(crate) mod serve_config;
pub(crate) mod validate;

use std::path::Path;

use anyhow::{Context, Result};

/// Reads a UTF-8 text file, naming the file in every error.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not valid UTF-8 (first invalid byte at offset {}); definitions and inputs must be UTF-8 JSON",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}
