//! `stepgate init DIR`: writes the seed project, which then passes
//! `check-config`; never overwrites without `--force`.

use std::process::Command;

fn stepgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args(args)
        .output()
        .expect("run stepgate")
}

#[test]
fn init_writes_the_example_project_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("hooks");
    let project_arg = project.to_str().expect("utf-8 path");
    let out = stepgate(&["init", project_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("curl"), "{stdout}");
    for file in [
        "stepgate.toml",
        "state_machines/sample.asl.json",
        "functions/print_event.py",
    ] {
        let written = std::fs::read_to_string(project.join(file)).expect(file);
        let example = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/webhook")
                .join(file),
        )
        .expect("example file");
        assert_eq!(written, example, "{file} is the example's");
    }
    let config = project.join("stepgate.toml");
    let out = stepgate(&["check-config", config.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A second init changes nothing and says why.
    std::fs::write(&config, "# mine\n").expect("edit");
    let out = stepgate(&["init", project_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stepgate.toml"));
    assert_eq!(std::fs::read_to_string(&config).expect("read"), "# mine\n");
    let out = stepgate(&["init", "--force", project_arg]);
    assert!(out.status.success());
    assert_ne!(std::fs::read_to_string(&config).expect("read"), "# mine\n");
}
