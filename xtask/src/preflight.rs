//! Before anything runs: the tools a command needs are present at their minimum versions, and commands that touch
//! AWS have usable credentials. Either failure is one sentence, and nothing has run.

use std::process::Command;

use anyhow::{Context, bail};

use crate::step::{Arg, Step, Work};

/// A program a command needs, the oldest version that works, and how to get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    pub program: &'static str,
    /// Arguments that make the program print its version.
    pub version_args: &'static [&'static str],
    pub minimum: (u32, u32, u32),
    pub why_minimum: &'static str,
    pub install: &'static str,
}

pub const AWS: Tool = Tool {
    program: "aws",
    version_args: &["--version"],
    minimum: (2, 0, 0),
    why_minimum: "AWS CLI v1 is out of support",
    install: "install AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
};

pub const TERRAFORM: Tool = Tool {
    program: "terraform",
    version_args: &["version"],
    minimum: (1, 10, 0),
    why_minimum: "the S3 backend's native locking (use_lockfile) needs 1.10",
    install: "install Terraform 1.10 or later: https://developer.hashicorp.com/terraform/install",
};

pub const NODE: Tool = Tool {
    program: "node",
    version_args: &["--version"],
    minimum: (20, 19, 0),
    why_minimum: "osls, the Serverless Framework fork, needs Node 20.19",
    install: "install Node.js 20.19 or later (https://nodejs.org/en/download, or your package manager)",
};

pub const NPM: Tool = Tool {
    program: "npm",
    version_args: &["--version"],
    minimum: (10, 0, 0),
    why_minimum: "`npm ci` with lockfile version 3 needs npm 7; 10 ships with Node 20",
    install: "npm comes with Node.js: install Node.js 20.19 or later",
};

pub const CARGO_LAMBDA: Tool = Tool {
    program: "cargo-lambda",
    version_args: &["lambda", "--version"],
    minimum: (1, 0, 0),
    why_minimum: "`--output-format zip` and `--lambda-dir` need 1.0",
    install: "it is installed into .venv from tools/requirements.txt by `cargo xtask build`; or `pip install cargo-lambda`",
};

/// Checks every tool; the first one missing or too old fails with one sentence.
pub fn check_tools(tools: &[Tool]) -> anyhow::Result<()> {
    for tool in tools {
        let output = Command::new(tool.program).args(tool.version_args).output();
        let output = match output {
            Ok(output) if output.status.success() => output,
            _ => bail!(
                "`{}` is needed but was not found on PATH: {}",
                tool.program,
                tool.install
            ),
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let Some(found) = parse_version(&text) else {
            bail!(
                "could not read the version of `{}` from {:?}: {}",
                tool.program,
                first_line(&text),
                tool.install
            );
        };
        if found < tool.minimum {
            let (a, b, c) = tool.minimum;
            let (x, y, z) = found;
            bail!(
                "`{}` {x}.{y}.{z} is too old: {a}.{b}.{c} or later is needed because {}; {}",
                tool.program,
                tool.why_minimum,
                tool.install
            );
        }
    }
    Ok(())
}

/// `aws sts get-caller-identity`, as a step: the first line of every AWS command's dry run, and what the guard runs.
pub fn caller_identity(region: &str) -> Step {
    Step::command(
        "ask AWS who the caller is",
        "aws",
        [
            "sts",
            "get-caller-identity",
            "--region",
            region,
            "--query",
            "Arn",
            "--output",
            "text",
        ],
    )
}

/// Runs `aws sts get-caller-identity` and returns the caller's ARN, or one sentence on why there are no credentials.
pub fn check_credentials(region: &str) -> anyhow::Result<String> {
    let Work::Command { program, args, .. } = caller_identity(region).work else {
        unreachable!("caller_identity is a command");
    };
    let args: Vec<String> = args.iter().map(Arg::preview).collect();
    let output = Command::new(program)
        .args(&args)
        .output()
        .context("could not run `aws sts get-caller-identity`")?;
    if !output.status.success() {
        let reason = String::from_utf8_lossy(&output.stderr);
        bail!(
            "no usable AWS credentials: `aws sts get-caller-identity` failed ({}); configure a profile (AWS_PROFILE), \
             set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a web identity role",
            first_line(reason.trim())
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// What a command that touches AWS checks first: the stage's account, and in CI the identity the job runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountGuard {
    pub stage: String,
    /// From `terraform/stages/<stage>.tfvars`.
    pub account_id: String,
    /// The principal names the job may run as (`PMP_IDENTITY`); `None` outside CI when no identity is named.
    pub principals: Option<Vec<String>>,
}

/// The variables that select credentials: set but empty, the AWS tools ignore them and fall back to the next source
/// (in the end the runner's instance role), so an empty one stops the command instead.
const CREDENTIAL_VARIABLES: &[&str] = &[
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_PROFILE",
];

impl AccountGuard {
    /// The guard for `stage`, reading the job's environment through `var` (std::env::var in xtask, a map in tests).
    pub fn new(
        stage: &str,
        account_id: String,
        var: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<AccountGuard> {
        for name in CREDENTIAL_VARIABLES {
            if var(name).is_some_and(|value| value.trim().is_empty()) {
                bail!(
                    "{name} is set but empty, so the AWS tools would fall back to other credentials (such as the runner's \
                     instance role): set it, or unset it{}",
                    if *name == "AWS_ROLE_ARN" {
                        " (in CI: the job's PMP_*_ROLE_ARN variable is missing for this ref or environment)"
                    } else {
                        ""
                    }
                );
            }
        }
        let in_ci = var("GITLAB_CI").is_some_and(|value| value == "true");
        let principals = match var("PMP_IDENTITY").filter(|value| !value.is_empty()) {
            Some(kind) => Some(expected_principals(&kind, stage)?),
            None if in_ci => bail!(
                "this CI job names no identity: set PMP_IDENTITY to plan, deployer or terraform (the .gitlab-ci.yml \
                 identity templates do), so that xtask can check the caller before touching AWS"
            ),
            None => None,
        };
        if in_ci && var("AWS_EC2_METADATA_DISABLED").as_deref() != Some("true") {
            bail!(
                "AWS_EC2_METADATA_DISABLED is not true in this CI job: the AWS tools could fall back to the runner's \
                 instance role; set it to true (.gitlab-ci.yml does)"
            );
        }
        Ok(AccountGuard {
            stage: stage.to_owned(),
            account_id,
            principals,
        })
    }

    /// Compares the caller (`aws sts get-caller-identity` Arn) with the stage's account and the expected principals.
    pub fn check(&self, caller_arn: &str) -> anyhow::Result<()> {
        let (account, principal) = parse_caller(caller_arn).with_context(|| {
            format!("`aws sts get-caller-identity` answered `{caller_arn}`, which is not an IAM or STS ARN")
        })?;
        if account != self.account_id {
            bail!(
                "the AWS caller {caller_arn} is in account {account}, but stage {} lives in account {} \
                 (terraform/stages/{}.tfvars): refusing to run anything in the wrong account",
                self.stage,
                self.account_id,
                self.stage
            );
        }
        if let Some(expected) = &self.principals
            && !expected.iter().any(|name| name == principal)
        {
            bail!(
                "the AWS caller {caller_arn} is `{principal}`, but this job must run as {} in stage {}: refusing to \
                 run anything as an unexpected identity",
                expected
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                self.stage
            );
        }
        Ok(())
    }
}

/// What the guard checks, as the comment line a dry run prints (a dry run reads no environment and runs nothing).
pub fn guard_line(stage: &str, account_id: &str) -> String {
    format!(
        "# stop unless the caller is in account {account_id} (terraform/stages/{stage}.tfvars) and, with PMP_IDENTITY or \
         in CI, is the identity that the job names"
    )
}

/// The principal names an identity kind may have in a stage (docs/iam.md, "Principals").
pub fn expected_principals(kind: &str, stage: &str) -> anyhow::Result<Vec<String>> {
    let prefix = format!("pmp-api-{stage}");
    Ok(match kind {
        // Read-only: merge-request plans and plan:prod.
        "plan" => vec![format!("{prefix}-plan")],
        // Serverless deploy and the migration invoke: the OIDC role, or the IAM user with access keys.
        "deployer" => vec![format!("{prefix}-gitlab-oidc"), format!("{prefix}-gitlab")],
        // Terraform apply and teardown: created per account by an administrator (docs/bootstrap.md).
        "terraform" => vec![format!("{prefix}-terraform")],
        other => bail!("PMP_IDENTITY is `{other}`: it must be plan, deployer or terraform"),
    })
}

/// The account and the principal name (user or role, without path or session) of a caller ARN.
pub fn parse_caller(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_prefix, _partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn_prefix != "arn" || !matches!(service, "iam" | "sts") || account.len() != 12 {
        return None;
    }
    let principal = match resource.split_once('/') {
        // arn:aws:sts::<account>:assumed-role/<role>/<session>
        Some(("assumed-role", rest)) => rest.split('/').next()?,
        // arn:aws:iam::<account>:user/<path>/<name>
        Some(("user", rest)) => rest.rsplit('/').next()?,
        _ => resource,
    };
    Some((account, principal))
}

/// The first `major.minor[.patch]` in a version banner such as `aws-cli/2.17.0 Python/3.11` or `v20.19.0`.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let bytes = text.as_bytes();
    for start in 0..bytes.len() {
        let preceded_by_digit = start > 0 && bytes[start - 1].is_ascii_digit();
        if !bytes[start].is_ascii_digit() || preceded_by_digit {
            continue;
        }
        let candidate: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let numbers: Vec<u32> = candidate.split('.').map_while(|n| n.parse().ok()).collect();
        if numbers.len() >= 2 {
            return Some((numbers[0], numbers[1], numbers.get(2).copied().unwrap_or(0)));
        }
    }
    None
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_usual_banners() {
        assert_eq!(
            parse_version("aws-cli/2.17.0 Python/3.11.6 Linux/6"),
            Some((2, 17, 0))
        );
        assert_eq!(
            parse_version("Terraform v1.11.4\non linux_amd64"),
            Some((1, 11, 4))
        );
        assert_eq!(parse_version("v20.19.0"), Some((20, 19, 0)));
        assert_eq!(parse_version("10.8.2"), Some((10, 8, 2)));
        assert_eq!(
            parse_version("cargo-lambda 1.9.2 (67129fc 2026-08-21Z)"),
            Some((1, 9, 2))
        );
        assert_eq!(parse_version("tool 3.4"), Some((3, 4, 0)));
        assert_eq!(parse_version("no version here"), None);
    }

    #[test]
    fn a_missing_tool_is_one_sentence_with_the_install_hint() {
        let missing = Tool {
            program: "pmp-no-such-tool",
            ..TERRAFORM
        };
        let error = check_tools(&[missing])
            .expect_err("the tool does not exist")
            .to_string();
        assert!(
            error.contains("`pmp-no-such-tool` is needed but was not found on PATH"),
            "{error}"
        );
        assert!(error.contains("install Terraform"), "{error}");
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn callers_are_read_from_user_role_and_root_arns() {
        assert_eq!(
            parse_caller("arn:aws:sts::123456789012:assumed-role/pmp-api-dev-plan/gitlab-1-2"),
            Some(("123456789012", "pmp-api-dev-plan"))
        );
        assert_eq!(
            parse_caller("arn:aws:iam::123456789012:user/ci/pmp-api-dev-gitlab"),
            Some(("123456789012", "pmp-api-dev-gitlab"))
        );
        assert_eq!(
            parse_caller("arn:aws:iam::123456789012:root"),
            Some(("123456789012", "root"))
        );
        assert_eq!(parse_caller("arn:aws:s3:::bucket"), None);
        assert_eq!(parse_caller("None"), None);
    }

    #[test]
    fn the_caller_must_be_in_the_stage_account() -> anyhow::Result<()> {
        let guard = AccountGuard::new("prod", "210987654321".into(), env(&[]))?;
        assert_eq!(
            guard.principals, None,
            "outside CI without PMP_IDENTITY: account only"
        );
        guard.check("arn:aws:iam::210987654321:user/alice")?;
        let error = guard
            .check("arn:aws:iam::123456789012:user/alice")
            .expect_err("wrong account")
            .to_string();
        assert!(
            error.contains(
                "is in account 123456789012, but stage prod lives in account 210987654321"
            ),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn a_named_identity_must_match_the_stage_principals() -> anyhow::Result<()> {
        let guard = AccountGuard::new(
            "dev",
            "123456789012".into(),
            env(&[("PMP_IDENTITY", "deployer")]),
        )?;
        guard.check("arn:aws:sts::123456789012:assumed-role/pmp-api-dev-gitlab-oidc/job-7")?;
        guard.check("arn:aws:iam::123456789012:user/pmp-api-dev-gitlab")?;
        for wrong in [
            "arn:aws:sts::123456789012:assumed-role/pmp-api-prod-gitlab-oidc/job-7",
            "arn:aws:sts::123456789012:assumed-role/pmp-api-dev-plan/job-7",
            "arn:aws:sts::123456789012:assumed-role/runner-instance-role/i-0abc",
        ] {
            let error = guard.check(wrong).expect_err(wrong).to_string();
            assert!(
                error.contains("must run as `pmp-api-dev-gitlab-oidc` or `pmp-api-dev-gitlab`"),
                "{error}"
            );
        }
        let unknown = AccountGuard::new(
            "dev",
            "123456789012".into(),
            env(&[("PMP_IDENTITY", "admin")]),
        )
        .expect_err("unknown kind")
        .to_string();
        assert!(
            unknown.contains("must be plan, deployer or terraform"),
            "{unknown}"
        );
        Ok(())
    }

    #[test]
    fn credentials_fail_closed() {
        let empty_role =
            AccountGuard::new("dev", "123456789012".into(), env(&[("AWS_ROLE_ARN", "")]))
                .expect_err("empty role")
                .to_string();
        assert!(
            empty_role.starts_with("AWS_ROLE_ARN is set but empty"),
            "{empty_role}"
        );
        let empty_key = AccountGuard::new(
            "dev",
            "123456789012".into(),
            env(&[("AWS_ACCESS_KEY_ID", " ")]),
        )
        .expect_err("empty key")
        .to_string();
        assert!(
            empty_key.starts_with("AWS_ACCESS_KEY_ID is set but empty"),
            "{empty_key}"
        );
        let ci_without_identity = AccountGuard::new(
            "dev",
            "123456789012".into(),
            env(&[("GITLAB_CI", "true"), ("AWS_EC2_METADATA_DISABLED", "true")]),
        )
        .expect_err("CI must name the identity")
        .to_string();
        assert!(
            ci_without_identity.contains("set PMP_IDENTITY"),
            "{ci_without_identity}"
        );
        let ci_with_metadata = AccountGuard::new(
            "dev",
            "123456789012".into(),
            env(&[("GITLAB_CI", "true"), ("PMP_IDENTITY", "plan")]),
        )
        .expect_err("CI must switch the metadata fallback off")
        .to_string();
        assert!(
            ci_with_metadata.starts_with("AWS_EC2_METADATA_DISABLED is not true"),
            "{ci_with_metadata}"
        );
    }
}
