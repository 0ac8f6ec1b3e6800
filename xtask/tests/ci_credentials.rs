//! The pipeline's credential setup (`.aws` before_script in .gitlab-ci.yml) run as GitLab runs it, with bash: an empty
//! role ARN, key or id_token stops the job with one sentence naming the variable, before anything else runs.

use std::process::{Command, Output};

use yaml_rust2::YamlLoader;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

/// The `.aws` template's setup script, followed by a line that shows what a job would go on with.
fn setup_script() -> String {
    let text = std::fs::read_to_string(root().join(".gitlab-ci.yml")).expect(".gitlab-ci.yml");
    let pipeline = YamlLoader::load_from_str(&text).expect("YAML");
    let script = pipeline[0][".aws"]["before_script"][0]
        .as_str()
        .expect(".aws has a before_script")
        .to_owned();
    format!(
        "set -eo pipefail\n{script}\necho \"continues with AWS_ROLE_ARN=${{AWS_ROLE_ARN:-}} AWS_ACCESS_KEY_ID=${{AWS_ACCESS_KEY_ID:-}}\"\n"
    )
}

fn run(env: &[(&str, &str)]) -> Output {
    let token = std::env::temp_dir().join(format!("xtask-ci-token-{}", std::process::id()));
    let script = setup_script().replace("/tmp/aws-web-identity-token", &token.to_string_lossy());
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    let _ = std::fs::remove_file(token);
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_pipeline_turns_off_instance_metadata_credentials() {
    let text = std::fs::read_to_string(root().join(".gitlab-ci.yml")).expect(".gitlab-ci.yml");
    let pipeline = YamlLoader::load_from_str(&text).expect("YAML");
    assert_eq!(
        pipeline[0]["variables"]["AWS_EC2_METADATA_DISABLED"].as_str(),
        Some("true")
    );
}

#[test]
fn an_empty_role_arn_stops_the_job_naming_the_variable() {
    for empty in ["", "$PMP_DEPLOY_ROLE_ARN"] {
        let output = run(&[
            ("PMP_AWS_AUTH", "oidc"),
            ("PMP_AWS_ROLE_ARN", empty),
            ("PMP_AWS_ROLE_ARN_VARIABLE", "PMP_DEPLOY_ROLE_ARN"),
            ("AWS_ID_TOKEN", "token"),
        ]);
        assert!(!output.status.success(), "{empty:?} must stop the job");
        let message = stderr(&output);
        assert!(
            message.starts_with("PMP_DEPLOY_ROLE_ARN is empty in this job"),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1, "one sentence: {message}");
        assert!(output.stdout.is_empty(), "nothing after the setup ran");
    }
}

#[test]
fn empty_keys_or_token_stop_the_job_naming_the_variable() {
    let keys = run(&[
        ("PMP_AWS_AUTH", "keys"),
        ("PMP_AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("PMP_AWS_SECRET_ACCESS_KEY", ""),
        ("PMP_AWS_KEYS_VARIABLE_PREFIX", "PMP_TERRAFORM_AWS"),
    ]);
    assert!(!keys.status.success());
    assert!(
        stderr(&keys).starts_with("PMP_TERRAFORM_AWS_SECRET_ACCESS_KEY is empty in this job"),
        "{}",
        stderr(&keys)
    );
    let token = run(&[
        ("PMP_AWS_AUTH", "oidc"),
        (
            "PMP_AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/pmp-api-dev-plan",
        ),
        ("PMP_AWS_ROLE_ARN_VARIABLE", "PMP_PLAN_ROLE_ARN"),
    ]);
    assert!(!token.status.success());
    assert!(
        stderr(&token).starts_with("AWS_ID_TOKEN is empty in this job"),
        "{}",
        stderr(&token)
    );
}

#[test]
fn a_complete_identity_goes_on_with_only_its_own_credentials() {
    let output = run(&[
        ("PMP_AWS_AUTH", "oidc"),
        (
            "PMP_AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/pmp-api-dev-plan",
        ),
        ("PMP_AWS_ROLE_ARN_VARIABLE", "PMP_PLAN_ROLE_ARN"),
        ("AWS_ID_TOKEN", "token"),
        ("AWS_ACCESS_KEY_ID", "AKIASTRAY"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "continues with AWS_ROLE_ARN=arn:aws:iam::123456789012:role/pmp-api-dev-plan AWS_ACCESS_KEY_ID=",
        "the role, and no stray key that would win over it"
    );
}
