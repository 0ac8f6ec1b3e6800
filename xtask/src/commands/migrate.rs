//! `migrate`: the database is private, so in AWS the migrations run inside the VPC, in the deployed function, invoked
//! directly with `{"command": "migrate"}` (an event the API can never produce). With `--database-url` the same
//! embedded migrations run from here (a local PostgreSQL, or a runner inside the VPC).

use anyhow::{Context, bail};
use clap::Args;
use xshell::Shell;

use super::Procedure;
use crate::Ctx;
use crate::names::{MIGRATE_EVENT, function};
use crate::step::Step;

#[derive(Debug, Args)]
pub struct Migrate {
    /// Apply the migrations directly to this database instead of through the deployed function.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl Migrate {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        match &self.database_url {
            Some(url) => direct(ctx, url),
            None => self.procedure(ctx).execute(ctx, sh),
        }
    }

    pub fn procedure(&self, ctx: &Ctx) -> Procedure {
        let answer_file = format!("target/migrate-{}.json", ctx.stage);
        let answer_path = ctx.root.join(&answer_file);
        let payload = format!("fileb://{MIGRATE_EVENT}");
        Procedure::new(format!("migrate {}", ctx.stage))
            .on_aws()
            .step(
                Step::command(
                    "invoke the deployed function with the migrate command",
                    "aws",
                    [
                        "lambda",
                        "invoke",
                        "--region",
                        &ctx.region,
                        "--function-name",
                        &function(&ctx.stage),
                        "--payload",
                        &payload,
                        "--cli-read-timeout",
                        "900",
                        &answer_file,
                    ],
                )
                .capture("invoke_status", None),
            )
            .step(Step::internal(
                "check the function's answer and report what it applied",
                move |outputs| {
                    let status = outputs.get("invoke_status").map_or("", String::as_str);
                    let answer = std::fs::read_to_string(&answer_path).with_context(|| {
                        format!("the invocation left no answer in {}", answer_path.display())
                    })?;
                    let report = judge(status, &answer)?;
                    println!("{report}");
                    Ok(())
                },
            ))
    }
}

/// Applies the embedded migrations straight to `url`, the same code the function runs.
fn direct(ctx: &Ctx, url: &str) -> anyhow::Result<()> {
    let shown = redact(url);
    if ctx.dry_run {
        println!("# apply the embedded migrations to {shown}");
        return Ok(());
    }
    eprintln!("==> apply the embedded migrations to {shown}");
    let started = std::time::Instant::now();
    let report = pmp_api::migrations::run_with_url_blocking(url)
        .with_context(|| format!("migrating {shown} failed"))?;
    eprintln!("    done in {}", crate::runner::seconds(started.elapsed()));
    let answer = serde_json::to_string(&report)?;
    println!("{}", judge(r#"{"StatusCode": 200}"#, &answer)?);
    Ok(())
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<database URL>".to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let shown_authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            format!("{user}:***@{host}")
        }
        None => authority.to_owned(),
    };
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    format!("{scheme}://{shown_authority}/{path}")
}

/// Reads `aws lambda invoke`'s status line and the function's answer; a function error, or an answer that reports
/// one, fails with the function's own reason.
pub fn judge(status: &str, answer: &str) -> anyhow::Result<String> {
    let status: serde_json::Value = serde_json::from_str(status)
        .context("`aws lambda invoke` did not print its JSON status")?;
    let answer: serde_json::Value =
        serde_json::from_str(answer).context("the function's answer is not JSON")?;
    if let Some(kind) = status.get("FunctionError").and_then(|kind| kind.as_str()) {
        let message = answer
            .get("errorMessage")
            .and_then(|m| m.as_str())
            .unwrap_or("no message");
        bail!("the migration failed in the function ({kind}): {message}");
    }
    if let Some(error) = answer.get("error") {
        bail!("the function reported a failed migration: {error}");
    }
    let applied = answer
        .get("applied")
        .and_then(|a| a.as_array())
        .context("the answer does not list the applied migrations")?;
    let current = answer
        .get("current_version")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let versions: Vec<String> = applied.iter().map(|version| version.to_string()).collect();
    Ok(if versions.is_empty() {
        format!("migrations: nothing to apply; current version {current}")
    } else {
        format!(
            "migrations: applied {}; current version {current}",
            versions.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn migrate_invokes_the_stage_function_with_the_migrate_event() {
        for stage in ["dev", "prod"] {
            let lines = Migrate { database_url: None }
                .procedure(&ctx(stage))
                .rendered();
            assert_eq!(
                lines,
                [
                    format!(
                        "$ aws lambda invoke --region eu-central-1 --function-name pmp-api-{stage}-api --payload fileb://lambda/events/migrate.json --cli-read-timeout 900 target/migrate-{stage}.json"
                    ),
                    "# check the function's answer and report what it applied".to_owned(),
                ]
            );
        }
    }

    #[test]
    fn passwords_never_reach_the_output() {
        assert_eq!(
            redact("postgres://pmp:s3cret@127.0.0.1:5432/pmp?sslmode=disable"),
            "postgres://pmp:***@127.0.0.1:5432/pmp"
        );
        assert_eq!(
            redact("postgres://pmp@localhost/pmp"),
            "postgres://pmp:***@localhost/pmp"
        );
        assert_eq!(
            redact("postgres://localhost:5433/db"),
            "postgres://localhost:5433/db"
        );
        assert_eq!(redact("not a url with password"), "<database URL>");
    }

    #[test]
    fn function_errors_and_reported_errors_fail() {
        let ok = r#"{"StatusCode": 200, "ExecutedVersion": "$LATEST"}"#;
        let failed = r#"{"StatusCode": 200, "FunctionError": "Unhandled"}"#;
        let applied = judge(
            ok,
            r#"{"applied": [20260101000000], "current_version": 20260101000000}"#,
        );
        assert_eq!(
            applied.ok().as_deref(),
            Some("migrations: applied 20260101000000; current version 20260101000000")
        );
        let nothing = judge(ok, r#"{"applied": [], "current_version": 1}"#);
        assert_eq!(
            nothing.ok().as_deref(),
            Some("migrations: nothing to apply; current version 1")
        );
        let error = judge(
            failed,
            r#"{"errorType": "Migrate", "errorMessage": "migration 2 failed: syntax error"}"#,
        );
        assert!(
            error
                .expect_err("function error")
                .to_string()
                .contains("migration 2 failed: syntax error")
        );
        assert!(judge(ok, r#"{"error": "boom"}"#).is_err());
        assert!(judge(ok, r#"{"unexpected": true}"#).is_err());
        assert!(judge("", "{}").is_err());
    }
}
