//! The built `xtask` binary against recording fakes of `aws`, `terraform`, `npx`, `npm`, `node`, `cargo` and
//! `cargo-lambda`: PATH holds nothing else, so every program xtask starts is recorded, in order, with its arguments.
//! Each test works on a throwaway project folder (`PMP_PROJECT_ROOT`) so that nothing lands in the repository.

use std::path::{Path, PathBuf};
use std::process::Output;

/// One shell script answers for every fake program, by the name it was called with. It records the call, fails
/// when the call contains `$FAKE_FAIL`, and prints what the real tool would for the calls xtask reads.
const FAKE: &str = r#"#!/bin/sh
name=${0##*/}
printf '%s %s\n' "$name" "$*" >> "$FAKE_LOG"
case " $* " in *"$FAKE_FAIL"*) [ -n "$FAKE_FAIL" ] && { echo "$name: simulated failure" >&2; exit 3; } ;; esac
case "$name $*" in
  "aws --version") echo "aws-cli/2.17.0 Python/3.11.9 Linux/6 exe/x86_64" ;;
  "aws sts get-caller-identity"*) echo "$FAKE_CALLER_ARN" ;;
  *"OutputKey=='KeyArn'"*) echo "arn:aws:kms:eu-central-1:123456789012:key/0000-fake" ;;
  *"OutputKey=='StateBucketName'"*) echo "pmp-terraform-state-123456789012-eu-central-1" ;;
  *"OutputKey=='GitLabOidcProviderArn'"*) echo "arn:aws:iam::123456789012:oidc-provider/gitlab.com" ;;
  *"OutputKey=='HttpApiId'"*) echo "abc123" ;;
  "aws ssm get-parameter"*) echo "api.dev.example.com" ;;
  "aws lambda invoke"*)
    for last in "$@"; do :; done
    if [ -n "$FAKE_MIGRATION_ERROR" ]; then
      echo '{"errorType": "MigrationError", "errorMessage": "migration 20261122140300 failed and was rolled back"}' > "$last"
      echo '{"StatusCode": 200, "FunctionError": "Unhandled"}'
    else
      echo '{"applied": [20261122140300], "current_version": 20261122140300}' > "$last"
      echo '{"StatusCode": 200}'
    fi ;;
  "terraform version") echo "Terraform v1.11.4" ;;
  "terraform -chdir=terraform plan"*"-detailed-exitcode"*) exit "${FAKE_PLAN_EXIT:-0}" ;;
  "terraform -chdir=terraform show -json plans/"*"-drift.tfplan")
    echo '{"resource_drift": [{"address": "aws_security_group.lambda", "change": {"actions": ["update"]}}], "resource_changes": [{"address": "aws_security_group.lambda", "change": {"actions": ["update"]}}]}' ;;
  "aws cloudformation detect-stack-drift"*) echo "drift-detection-0001" ;;
  "aws cloudformation describe-stack-drift-detection-status"*) printf 'DETECTION_COMPLETE\tIN_SYNC\tNone\n' ;;
  "terraform -chdir=terraform show -json"*) echo '{"resource_changes": [{"change": {"actions": ["create"]}}]}' ;;
  "node --version") echo "v20.19.0" ;;
  "npm --version") echo "10.8.2" ;;
  "cargo-lambda lambda --version") echo "cargo-lambda 1.9.2" ;;
esac
exit 0
"#;

const PROGRAMS: &[&str] = &[
    "aws",
    "terraform",
    "npx",
    "npm",
    "node",
    "cargo",
    "cargo-lambda",
];

/// The account each stage file of the sandbox names (the repository's placeholders).
const STAGE_ACCOUNTS: &[(&str, &str)] = &[("dev", "123456789012"), ("prod", "210987654321")];

struct Sandbox {
    root: PathBuf,
    bin: PathBuf,
    log: PathBuf,
}

impl Sandbox {
    /// A project folder with what the commands read, and a bin folder with `fakes` in it.
    fn new(name: &str, fakes: &[&str]) -> Sandbox {
        let base = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (root, bin) = (base.join("project"), base.join("bin"));
        for folder in [
            "terraform/stages",
            "node_modules",
            "lambda/events",
            "target/lambda/arm64/bootstrap",
        ] {
            std::fs::create_dir_all(root.join(folder)).expect("sandbox folders");
        }
        for (stage, account) in STAGE_ACCOUNTS {
            std::fs::write(
                root.join(format!("terraform/stages/{stage}.tfvars")),
                format!("account_id = \"{account}\"\n"),
            )
            .expect("stage file");
        }
        std::fs::write(root.join("package-lock.json"), "{\"lockfileVersion\": 3}").expect("lock");
        std::fs::write(
            root.join("lambda/events/migrate.json"),
            "{\"command\": \"migrate\"}",
        )
        .expect("event");
        std::fs::write(
            root.join("target/lambda/arm64/bootstrap/bootstrap.zip"),
            b"PK\x05\x06",
        )
        .expect("zip");
        std::fs::create_dir_all(&bin).expect("bin");
        let script = bin.join("fake.sh");
        std::fs::write(&script, FAKE).expect("fake script");
        make_executable(&script);
        for program in fakes {
            std::os::unix::fs::symlink(&script, bin.join(program)).expect("fake link");
        }
        let log = base.join("calls.log");
        std::fs::write(&log, "").expect("log");
        Sandbox { root, bin, log }
    }

    /// Marks node_modules as installed from the current lock, so no `npm ci` is planned.
    fn with_node_modules_installed(self) -> Sandbox {
        std::fs::copy(
            self.root.join("package-lock.json"),
            self.root.join("node_modules/.installed-package-lock.json"),
        )
        .expect("stamp");
        self
    }

    /// Runs xtask as a caller in the stage's account (the `--stage` argument, else dev) unless `env` says otherwise.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let stage = args
            .windows(2)
            .find(|pair| pair[0] == "--stage")
            .map_or("dev", |pair| pair[1]);
        let account = STAGE_ACCOUNTS
            .iter()
            .find(|(name, _)| *name == stage)
            .map_or("123456789012", |(_, account)| account);
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(args)
            .env_clear()
            .env(
                "FAKE_CALLER_ARN",
                format!("arn:aws:iam::{account}:user/pmp-api-{stage}-gitlab"),
            )
            .env("PATH", &self.bin)
            .env("HOME", self.root.parent().expect("base"))
            .env("PMP_PROJECT_ROOT", &self.root)
            .env("AWS_REGION", "eu-central-1")
            .env("FAKE_LOG", &self.log)
            .stdin(std::process::Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().expect("xtask runs")
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .expect("log")
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(base) = self.root.parent() {
            let _ = std::fs::remove_dir_all(base);
        }
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const STS: &str = "aws sts get-caller-identity --region eu-central-1 --query Arn --output text";
const KEY_ARN: &str = "aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-kms-key --query Stacks[0].Outputs[?OutputKey=='KeyArn'].OutputValue --output text";
const STATE_BUCKET: &str = "aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-terraform-state --query Stacks[0].Outputs[?OutputKey=='StateBucketName'].OutputValue --output text";

#[test]
fn bootstrap_passes_the_key_arn_from_the_first_stack_to_the_second() {
    let sandbox = Sandbox::new("bootstrap", PROGRAMS);
    let output = sandbox.run(&["bootstrap"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let tags = "--tags project=pmp component=bootstrap managed-by=cargo-xtask";
    assert_eq!(
        sandbox.calls(),
        [
            "aws --version".to_owned(),
            STS.to_owned(),
            format!(
                "aws cloudformation deploy --region eu-central-1 --stack-name pmp-bootstrap-kms-key --template-file cloudformation/kms-key.yml --no-fail-on-empty-changeset {tags}"
            ),
            KEY_ARN.to_owned(),
            format!(
                "aws cloudformation deploy --region eu-central-1 --stack-name pmp-bootstrap-terraform-state --template-file cloudformation/terraform-state.yml --no-fail-on-empty-changeset {tags} --parameter-overrides KmsKeyArn=arn:aws:kms:eu-central-1:123456789012:key/0000-fake"
            ),
            STATE_BUCKET.to_owned(),
            format!(
                "aws cloudformation deploy --region eu-central-1 --stack-name pmp-bootstrap-account --template-file cloudformation/account.yml --no-fail-on-empty-changeset {tags} --parameter-overrides GitLabUrl=https://gitlab.com"
            ),
            "aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-account --query Stacks[0].Outputs[?OutputKey=='GitLabOidcProviderArn'].OutputValue --output text".to_owned(),
        ]
    );
    assert!(
        stdout(&output).contains("bucket       = pmp-terraform-state-123456789012-eu-central-1")
    );
    assert!(
        stdout(&output)
            .contains("GitLab OIDC provider arn:aws:iam::123456789012:oidc-provider/gitlab.com")
    );
}

#[test]
fn plan_initialises_the_stage_backend_then_saves_and_summarises_the_plan() {
    let sandbox = Sandbox::new("plan", PROGRAMS);
    let output = sandbox.run(&["plan", "--stage", "prod"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        sandbox.calls(),
        [
            "aws --version",
            "terraform version",
            STS,
            STATE_BUCKET,
            KEY_ARN,
            "terraform -chdir=terraform init -input=false -reconfigure -backend-config=bucket=pmp-terraform-state-123456789012-eu-central-1 -backend-config=key=pmp/prod/terraform.tfstate -backend-config=region=eu-central-1 -backend-config=encrypt=true -backend-config=kms_key_id=arn:aws:kms:eu-central-1:123456789012:key/0000-fake -backend-config=use_lockfile=true",
            "terraform -chdir=terraform plan -input=false -var-file=stages/prod.tfvars -var=stage=prod -var=region=eu-central-1 -out=plans/prod.tfplan",
            "terraform -chdir=terraform show -json plans/prod.tfplan",
        ]
    );
    let report = std::fs::read_to_string(sandbox.root.join("terraform/plans/prod.json"))
        .expect("plan report");
    assert_eq!(report, "{\"create\": 1, \"update\": 0, \"delete\": 0}\n");
}

#[test]
fn deploy_builds_then_creates_the_domain_then_deploys_then_reads_the_urls() {
    let sandbox = Sandbox::new("deploy", PROGRAMS).with_node_modules_installed();
    let output = sandbox.run(&["deploy", "--stage", "dev"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        sandbox.calls(),
        [
            "aws --version",
            "node --version",
            "npm --version",
            "cargo-lambda lambda --version",
            STS,
            "cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda/arm64 --package pmp-api --bin bootstrap",
            "npx --no -- serverless create_domain --stage dev --region eu-central-1",
            "npx --no -- serverless deploy --stage dev --region eu-central-1 --param=architecture=arm64",
            "aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-api-dev --query Stacks[0].Outputs[?OutputKey=='HttpApiId'].OutputValue --output text",
            "aws ssm get-parameter --region eu-central-1 --name /pmp/dev/api-domain-name --query Parameter.Value --output text",
        ]
    );
    assert!(
        stdout(&output).contains("Custom domain: https://api.dev.example.com"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_changed_lock_installs_the_node_tools_before_serverless_runs() {
    let sandbox = Sandbox::new("npm-ci", PROGRAMS);
    let output = sandbox.run(&["deploy", "--no-build"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let calls = sandbox.calls();
    let npm_ci = calls
        .iter()
        .position(|call| call == "npm ci --no-audit --no-fund")
        .expect("npm ci ran");
    let first_serverless = calls
        .iter()
        .position(|call| call.contains("serverless"))
        .expect("serverless ran");
    assert!(npm_ci < first_serverless, "{calls:?}");
    assert!(
        !calls.iter().any(|call| call.starts_with("cargo ")),
        "--no-build builds nothing: {calls:?}"
    );
    assert!(
        sandbox
            .root
            .join("node_modules/.installed-package-lock.json")
            .exists(),
        "the install is recorded"
    );
}

#[test]
fn migrate_invokes_the_function_and_fails_on_its_error() {
    let sandbox = Sandbox::new("migrate", PROGRAMS);
    let output = sandbox.run(&["migrate", "--stage", "dev"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        sandbox.calls().last().map(String::as_str),
        Some(
            "aws lambda invoke --region eu-central-1 --function-name pmp-api-dev-migrate --payload fileb://lambda/events/migrate.json --cli-read-timeout 900 target/migrate-dev.json"
        )
    );
    assert!(
        stdout(&output).contains("applied 20261122140300"),
        "{}",
        stdout(&output)
    );

    let failing = sandbox.run(
        &["migrate", "--stage", "dev"],
        &[("FAKE_MIGRATION_ERROR", "1")],
    );
    assert!(!failing.status.success());
    assert!(
        stderr(&failing).contains("migration 20261122140300 failed and was rolled back"),
        "{}",
        stderr(&failing)
    );
}

#[test]
fn teardown_goes_service_first_and_prod_needs_its_name() {
    let sandbox = Sandbox::new("teardown", PROGRAMS).with_node_modules_installed();
    let refused = sandbox.run(&["--stage", "prod", "teardown"], &[]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("refusing to tear down the protected stage prod"),
        "{}",
        stderr(&refused)
    );
    assert!(
        sandbox.calls().is_empty(),
        "nothing may run: {:?}",
        sandbox.calls()
    );

    // Teardown looks before each step: in this world everything still exists (see `WORLD_AWS` below).
    let mut env = teardown_world(&sandbox);
    env.extend(
        ["WORLD_SSM", "WORLD_STACK", "WORLD_DOMAIN", "WORLD_STATE"]
            .map(|name| (name, "1".to_owned())),
    );
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let confirmed = sandbox.run(
        &["--stage", "prod", "teardown", "--confirm-stage", "prod"],
        &env,
    );
    assert!(confirmed.status.success(), "{}", stderr(&confirmed));
    let calls = sandbox.calls();
    let position = |text: &str| {
        calls
            .iter()
            .position(|call| call.contains(text))
            .unwrap_or(usize::MAX)
    };
    assert!(
        position("serverless remove") < position("serverless delete_domain"),
        "{calls:?}"
    );
    assert!(
        position("serverless delete_domain") < position("terraform -chdir=terraform destroy"),
        "{calls:?}"
    );
    assert!(calls.iter().any(|call| {
        call.contains("destroy -input=false -auto-approve -var-file=stages/prod.tfvars")
    }));
}

#[test]
fn bad_and_unknown_stages_run_nothing() {
    let sandbox = Sandbox::new("stages", PROGRAMS);
    let bad = sandbox.run(&["--stage", "Bad Stage", "--dry-run", "plan"], &[]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("`Bad Stage` is not a valid stage name"),
        "{}",
        stderr(&bad)
    );
    let unknown = sandbox.run(&["plan", "--stage", "qa"], &[]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("the known stages are dev, prod"),
        "{}",
        stderr(&unknown)
    );
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
}

#[test]
fn a_dry_run_prints_and_runs_nothing() {
    let sandbox = Sandbox::new("dry-run", PROGRAMS);
    let output = sandbox.run(&["deploy", "--dry-run", "--stage", "prod"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("$ npx --no -- serverless deploy --stage prod"),
        "{}",
        stdout(&output)
    );
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
}

#[test]
fn a_missing_tool_stops_before_anything_runs() {
    let without_terraform: Vec<&str> = PROGRAMS
        .iter()
        .copied()
        .filter(|program| *program != "terraform")
        .collect();
    let sandbox = Sandbox::new("missing-tool", &without_terraform);
    let output = sandbox.run(&["plan"], &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("`terraform` is needed but was not found on PATH"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        sandbox.calls(),
        ["aws --version"],
        "only version checks may have run"
    );
}

#[test]
fn failed_credentials_stop_before_anything_runs() {
    let sandbox = Sandbox::new("credentials", PROGRAMS);
    let output = sandbox.run(&["bootstrap"], &[("FAKE_FAIL", "sts get-caller-identity")]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no usable AWS credentials"),
        "{}",
        stderr(&output)
    );
    assert_eq!(sandbox.calls(), ["aws --version", STS]);
}

#[test]
fn a_failing_step_stops_the_rest_and_is_named() {
    let sandbox = Sandbox::new("failing-step", PROGRAMS);
    let output = sandbox.run(
        &["bootstrap"],
        &[("FAKE_FAIL", "pmp-bootstrap-kms-key --template-file")],
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("step 1/7 (deploy the KMS key stack) failed"),
        "{message}"
    );
    assert!(message.contains("exited with exit status 3"), "{message}");
    assert!(
        !sandbox
            .calls()
            .iter()
            .any(|call| call.contains("terraform-state")),
        "{:?}",
        sandbox.calls()
    );
}

/// What a dry run of an AWS command prints before its steps (issue 14): the identity call and the account check.
#[test]
fn a_dry_run_shows_the_account_check_before_any_change() {
    let sandbox = Sandbox::new("dry-run-account", PROGRAMS);
    for (command, stage, account) in [
        ("plan", "dev", "123456789012"),
        ("deploy", "prod", "210987654321"),
        ("bootstrap", "prod", "210987654321"),
    ] {
        let output = sandbox.run(&[command, "--dry-run", "--stage", stage], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let printed = stdout(&output);
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(
            lines[0],
            "$ aws sts get-caller-identity --region eu-central-1 --query Arn --output text",
            "{printed}"
        );
        assert!(
            lines[1].starts_with(&format!(
                "# stop unless the caller is in account {account} (terraform/stages/{stage}.tfvars)"
            )),
            "{printed}"
        );
    }
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
}

#[test]
fn a_caller_in_the_wrong_account_stops_before_any_change() {
    let sandbox = Sandbox::new("wrong-account", PROGRAMS);
    let output = sandbox.run(
        &["plan", "--stage", "prod"],
        &[(
            "FAKE_CALLER_ARN",
            "arn:aws:iam::123456789012:user/pmp-api-dev-gitlab",
        )],
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(
            "the AWS caller arn:aws:iam::123456789012:user/pmp-api-dev-gitlab is in account 123456789012, but stage prod lives in account 210987654321"
        ),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "one sentence: {message}");
    assert_eq!(sandbox.calls(), ["aws --version", "terraform version", STS]);
}

#[test]
fn an_empty_role_arn_stops_before_anything_runs() {
    let sandbox = Sandbox::new("empty-role", PROGRAMS).with_node_modules_installed();
    let output = sandbox.run(
        &["deploy", "--stage", "dev", "--no-build"],
        &[
            ("AWS_ROLE_ARN", ""),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/token"),
        ],
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.starts_with("error: AWS_ROLE_ARN is set but empty"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "one sentence: {message}");
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
}

#[test]
fn an_unexpected_identity_in_ci_stops_before_any_change() {
    let sandbox = Sandbox::new("unexpected-identity", PROGRAMS).with_node_modules_installed();
    let ci = [
        ("GITLAB_CI", "true"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("PMP_IDENTITY", "deployer"),
    ];
    let mut wrong = ci.to_vec();
    wrong.push((
        "FAKE_CALLER_ARN",
        "arn:aws:sts::123456789012:assumed-role/pmp-api-dev-plan/gitlab-1-2",
    ));
    let output = sandbox.run(&["deploy", "--stage", "dev", "--no-build"], &wrong);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(
            "is `pmp-api-dev-plan`, but this job must run as `pmp-api-dev-gitlab-oidc` or `pmp-api-dev-gitlab` in stage dev"
        ),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "one sentence: {message}");
    assert_eq!(sandbox.calls().last().map(String::as_str), Some(STS));
    assert!(
        !sandbox
            .calls()
            .iter()
            .any(|call| call.contains("serverless")),
        "{:?}",
        sandbox.calls()
    );

    let mut right = ci.to_vec();
    right.push((
        "FAKE_CALLER_ARN",
        "arn:aws:sts::123456789012:assumed-role/pmp-api-dev-gitlab-oidc/gitlab-1-2",
    ));
    let output = sandbox.run(&["deploy", "--stage", "dev", "--no-build"], &right);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// A dry run in CI (the `test` job) reads no credentials environment: it prints the check, it does not make it.
#[test]
fn a_dry_run_in_ci_needs_no_identity() {
    let sandbox = Sandbox::new("dry-run-ci", PROGRAMS);
    let output = sandbox.run(
        &["apply", "--dry-run", "--stage", "dev"],
        &[("GITLAB_CI", "true"), ("AWS_ROLE_ARN", "")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("$ aws sts get-caller-identity"),
        "{}",
        stdout(&output)
    );
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
}

#[test]
fn drift_exits_2_with_the_summary_when_terraform_finds_a_difference() {
    let sandbox = Sandbox::new("drift", PROGRAMS);
    let plan = "terraform -chdir=terraform plan -input=false -lock=false -detailed-exitcode -var-file=stages/prod.tfvars -var=stage=prod -var=region=eu-central-1 -out=plans/prod-drift.tfplan";
    let detect = "aws cloudformation detect-stack-drift --region eu-central-1 --stack-name pmp-api-prod --query StackDriftDetectionId --output text";
    let status = "aws cloudformation describe-stack-drift-detection-status --region eu-central-1 --stack-drift-detection-id drift-detection-0001 --query [DetectionStatus,StackDriftStatus,DetectionStatusReason] --output text";

    let drifted = sandbox.run(&["drift", "--stage", "prod"], &[("FAKE_PLAN_EXIT", "2")]);
    assert_eq!(drifted.status.code(), Some(2), "{}", stderr(&drifted));
    assert_eq!(
        sandbox.calls(),
        [
            "aws --version",
            "terraform version",
            STS,
            STATE_BUCKET,
            KEY_ARN,
            "terraform -chdir=terraform init -input=false -reconfigure -backend-config=bucket=pmp-terraform-state-123456789012-eu-central-1 -backend-config=key=pmp/prod/terraform.tfstate -backend-config=region=eu-central-1 -backend-config=encrypt=true -backend-config=kms_key_id=arn:aws:kms:eu-central-1:123456789012:key/0000-fake -backend-config=use_lockfile=true",
            plan,
            "terraform -chdir=terraform show -json plans/prod-drift.tfplan",
            detect,
            status,
        ]
    );
    let summary = stdout(&drifted);
    assert!(
        summary.contains("drift prod: 2 difference(s)")
            && summary.contains("aws_security_group.lambda changed outside Terraform (update)"),
        "{summary}"
    );
    assert!(
        stderr(&drifted).contains("stage prod differs from its code"),
        "{}",
        stderr(&drifted)
    );

    std::fs::write(&sandbox.log, "").expect("log");
    let clean = sandbox.run(&["drift", "--stage", "prod"], &[("FAKE_PLAN_EXIT", "0")]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(stdout(&clean).contains("drift prod: nothing differs"));
    assert!(
        !sandbox
            .calls()
            .iter()
            .any(|call| call.contains("show -json")),
        "nothing to show: {:?}",
        sandbox.calls()
    );

    std::fs::write(&sandbox.log, "").expect("log");
    let broken = sandbox.run(&["drift", "--stage", "prod"], &[("FAKE_PLAN_EXIT", "1")]);
    assert_eq!(broken.status.code(), Some(1), "{}", stderr(&broken));
    assert!(
        stderr(&broken).contains("Terraform could not compare the stage"),
        "{}",
        stderr(&broken)
    );
    assert!(
        !sandbox
            .calls()
            .iter()
            .any(|call| call.contains("detect-stack-drift")),
        "a failed plan stops the check: {:?}",
        sandbox.calls()
    );
}

#[test]
fn a_drift_dry_run_prints_the_detailed_exitcode_plan_and_runs_nothing() {
    let sandbox = Sandbox::new("drift-dry-run", PROGRAMS);
    let output = sandbox.run(&["--dry-run", "--stage", "prod", "drift"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("$ terraform -chdir=terraform plan -input=false -lock=false -detailed-exitcode -var-file=stages/prod.tfvars"),
        "{}",
        stdout(&output)
    );
    assert!(sandbox.calls().is_empty(), "{:?}", sandbox.calls());
}

/// An `aws` in front of the fake that answers teardown's look-ups from a made-up world: which of the stage's SSM
/// parameters, service stack, custom domain, state bucket and state object exist (`WORLD_*` set to 1) and how many
/// Lambda network interfaces are left. It records what it answers, like the fake; everything else goes to the fake.
const WORLD_AWS: &str = r#"#!/bin/sh
case "$*" in
  *"get-parameters-by-path"*|*"StackName=='pmp-api-"*|*"get-domain-names"*|*"StackName=='pmp-bootstrap-terraform-state'] |"*|*"list-objects-v2"*|*"describe-network-interfaces"*)
    printf 'aws %s\n' "$*" >> "$FAKE_LOG" ;;
  *) exec "$FAKE_BIN/aws" "$@" ;;
esac
case "$*" in
  *"get-parameters-by-path"*) [ "$WORLD_SSM" = 1 ] && printf '/pmp/dev/api-domain-name\tapi.dev.example.com\n/pmp/dev/deployment-bucket-name\tpmp-dev-deployments\n/pmp/dev/private-subnet-ids\tsubnet-1,subnet-2\n' ;;
  *"StackName=='pmp-api-"*) [ "$WORLD_STACK" = 1 ] && echo pmp-api-dev ;;
  *"get-domain-names"*) [ "$WORLD_DOMAIN" = 1 ] && echo api.dev.example.com ;;
  *"StackName=='pmp-bootstrap-terraform-state'] |"*) if [ "$WORLD_STATE" = 1 ]; then echo pmp-terraform-state; else echo None; fi ;;
  *"list-objects-v2"*) if [ "$WORLD_STATE" = 1 ]; then echo pmp/dev/terraform.tfstate; else echo None; fi ;;
  *"describe-network-interfaces"*) echo 0 ;;
esac
exit 0
"#;

/// The sandbox with the repository's serverless.yml and a dev variable file naming the domain, and the `aws` of
/// [`WORLD_AWS`]; returns the environment that puts it first.
fn teardown_world(sandbox: &Sandbox) -> Vec<(&'static str, String)> {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root");
    std::fs::copy(
        repository.join("serverless.yml"),
        sandbox.root.join("serverless.yml"),
    )
    .expect("serverless.yml");
    std::fs::write(
        sandbox.root.join("terraform/stages/dev.tfvars"),
        "account_id = \"123456789012\"\napi_domain_name = \"api.dev.example.com\"\n",
    )
    .expect("tfvars");
    let world = sandbox.root.parent().expect("base").join("world");
    std::fs::create_dir_all(&world).expect("world");
    std::fs::write(world.join("aws"), WORLD_AWS).expect("world aws");
    make_executable(&world.join("aws"));
    vec![
        (
            "PATH",
            format!("{}:{}", world.display(), sandbox.bin.display()),
        ),
        ("FAKE_BIN", sandbox.bin.display().to_string()),
    ]
}

fn world_run(sandbox: &Sandbox, exists: &[&'static str]) -> Output {
    let mut env = teardown_world(sandbox);
    env.extend(exists.iter().map(|name| (*name, "1".to_owned())));
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    sandbox.run(&["teardown", "--yes"], &env)
}

#[test]
fn teardown_passes_the_values_it_read_first_and_never_asks_ssm_again() {
    let sandbox = Sandbox::new("teardown-all", PROGRAMS).with_node_modules_installed();
    let output = world_run(
        &sandbox,
        &["WORLD_SSM", "WORLD_STACK", "WORLD_DOMAIN", "WORLD_STATE"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let calls = sandbox.calls();
    let remove = calls
        .iter()
        .find(|call| call.contains("serverless remove"))
        .expect("remove ran");
    assert!(
        remove.contains("--param=deploymentBucketName=pmp-dev-deployments"),
        "{remove}"
    );
    assert!(
        remove.contains("--param=privateSubnetIds=subnet-1,subnet-2"),
        "{remove}"
    );
    let delete = calls
        .iter()
        .find(|call| call.contains("serverless delete_domain"))
        .expect("delete ran");
    assert!(
        delete.contains("--param=apiDomainName=api.dev.example.com"),
        "{delete}"
    );
    let position = |text: &str| {
        calls
            .iter()
            .position(|call| call.contains(text))
            .unwrap_or(usize::MAX)
    };
    assert!(
        position("get-parameters-by-path") < position("serverless remove"),
        "{calls:?}"
    );
    assert!(
        position("describe-network-interfaces") < position("terraform -chdir=terraform destroy"),
        "{calls:?}"
    );
    assert!(
        position("terraform -chdir=terraform destroy") < usize::MAX,
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|call| call.contains("ssm get-parameter ")),
        "{calls:?}"
    );
}

#[test]
fn a_rerun_after_terraform_deleted_the_parameters_finishes_the_destroy_only() {
    let sandbox = Sandbox::new("teardown-rerun", PROGRAMS).with_node_modules_installed();
    // The first run removed the service and the domain, then failed in `terraform destroy` after the SSM parameters
    // went: only the state is left.
    let output = world_run(&sandbox, &["WORLD_STATE"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let calls = sandbox.calls();
    assert!(
        !calls.iter().any(|call| call.contains("serverless")),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|call| call.contains("terraform -chdir=terraform destroy")),
        "{calls:?}"
    );
    let said = stderr(&output);
    assert!(
        said.contains("skipped: the stack pmp-api-dev does not exist"),
        "{said}"
    );
    assert!(
        said.contains("skipped: the custom domain does not exist"),
        "{said}"
    );
}

#[test]
fn a_stack_left_without_its_parameters_is_still_removed_with_placeholders_and_the_stage_domain() {
    let sandbox = Sandbox::new("teardown-orphan", PROGRAMS).with_node_modules_installed();
    let output = world_run(&sandbox, &["WORLD_STACK", "WORLD_DOMAIN"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let calls = sandbox.calls();
    let remove = calls
        .iter()
        .find(|call| call.contains("serverless remove"))
        .expect("remove ran");
    assert!(
        remove.contains("--param=reservedConcurrency=20"),
        "a placeholder osls accepts: {remove}"
    );
    let delete = calls
        .iter()
        .find(|call| call.contains("serverless delete_domain"))
        .expect("delete ran");
    assert!(
        delete.contains("--param=apiDomainName=api.dev.example.com"),
        "from dev.tfvars: {delete}"
    );
    assert!(
        !calls.iter().any(|call| call.contains("terraform -chdir")),
        "no state, no Terraform: {calls:?}"
    );
}

#[test]
fn a_teardown_with_nothing_left_runs_nothing_and_says_why() {
    let sandbox = Sandbox::new("teardown-none", PROGRAMS).with_node_modules_installed();
    let output = world_run(&sandbox, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let calls = sandbox.calls();
    assert!(
        !calls
            .iter()
            .any(|call| call.contains("serverless") || call.contains("terraform -chdir")),
        "{calls:?}"
    );
    assert!(
        stderr(&output).contains("nothing of Terraform's to destroy"),
        "{}",
        stderr(&output)
    );
}
