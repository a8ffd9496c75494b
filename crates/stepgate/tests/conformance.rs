//! Runs the AWS-recorded conformance corpus (`../shared/conformance/`) against
//! the real `stepgate run` binary. Floor: 98% of the non-JSONata cases.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn aws_recorded_corpus_passes_at_least_98_percent() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpus = root.join("../shared/conformance/check.py");
    assert!(
        corpus.exists(),
        "conformance corpus missing at {}",
        corpus.display()
    );
    let out = Command::new("python3")
        .arg(root.join("scripts/conformance.py"))
        .args([
            "--binary",
            env!("CARGO_BIN_EXE_stepgate"),
            "--min-rate",
            "0.98",
        ])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "conformance under the floor:\n{stdout}"
    );
}
