//! Before anything runs: the tools a command needs are present at their minimum versions, and commands that touch
//! AWS have usable credentials. Either failure is one sentence, and nothing has run.

use std::process::Command;

use anyhow::{Context, bail};

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

/// Runs `aws sts get-caller-identity` and returns the caller's ARN, or one sentence on why there are no credentials.
pub fn check_credentials(region: &str) -> anyhow::Result<String> {
    let output = Command::new("aws")
        .args([
            "sts",
            "get-caller-identity",
            "--region",
            region,
            "--query",
            "Arn",
            "--output",
            "text",
        ])
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
}
