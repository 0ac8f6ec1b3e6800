//! `migrate`: the database is private, so in AWS the migrations run inside the VPC, in the stage's migration function
//! (`pmp-api-<stage>-migrate`, the same zip as the API function, signed in as `pmp_migrator`), invoked directly with
//! `{"command": "migrate"}`. `--status` asks it what is pending or modified instead, changing nothing. With
//! `--database-url` the same embedded code runs from here (a local PostgreSQL, or a runner inside the VPC), and
//! `--bootstrap-roles` creates the database roles first (docs/runbooks/database-first-run.md).

use anyhow::{Context, bail};
use clap::Args;
use xshell::Shell;

use super::Procedure;
use crate::Ctx;
use crate::names::{MIGRATE_EVENT, STATUS_EVENT, migration_function};
use crate::step::Step;

#[derive(Debug, Args)]
pub struct Migrate {
    /// Apply the migrations directly to this database instead of through the deployed function.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Show which migrations are applied and pending, and any checksum mismatch; change nothing. Fails when the
    /// database has a migration this build modified or lacks.
    #[arg(long)]
    pub status: bool,
    /// First run only: create the database roles pmp_api and pmp_migrator (idempotent) before migrating. Needs
    /// --database-url naming the master user (docs/runbooks/database-first-run.md).
    #[arg(long, requires = "database_url", conflicts_with = "status")]
    pub bootstrap_roles: bool,
}

impl Migrate {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        match &self.database_url {
            Some(url) if self.status => direct_status(ctx, url),
            Some(url) => direct(ctx, url, self.bootstrap_roles),
            None => self.procedure(ctx).execute(ctx, sh),
        }
    }

    pub fn procedure(&self, ctx: &Ctx) -> Procedure {
        let (kind, event) = if self.status {
            ("status", STATUS_EVENT)
        } else {
            ("migrate", MIGRATE_EVENT)
        };
        let answer_file = format!("target/{kind}-{}.json", ctx.stage);
        let answer_path = ctx.root.join(&answer_file);
        let payload = format!("fileb://{event}");
        let status = self.status;
        Procedure::new(format!("migrate {}", ctx.stage))
            .on_aws()
            .step(
                Step::command(
                    format!("invoke the stage's migration function with the {kind} command"),
                    "aws",
                    [
                        "lambda",
                        "invoke",
                        "--region",
                        &ctx.region,
                        "--function-name",
                        &migration_function(&ctx.stage),
                        "--payload",
                        &payload,
                        // Longer than the function's 900 s timeout, so the answer of a migration that runs to the
                        // limit is read; and no retry: the CLI retries read timeouts, which would start the
                        // migration again while the first run may still hold the lock.
                        // https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
                        "--cli-read-timeout",
                        "960",
                        &answer_file,
                    ],
                )
                .env("AWS_MAX_ATTEMPTS", "1")
                .capture("invoke_status", None),
            )
            .step(Step::internal(
                if status {
                    "check the function's answer and report pending, applied and modified migrations"
                } else {
                    "check the function's answer and report what it applied"
                },
                move |outputs| {
                    let invoke_status = outputs.get("invoke_status").map_or("", String::as_str);
                    let answer = std::fs::read_to_string(&answer_path).with_context(|| {
                        format!("the invocation left no answer in {}", answer_path.display())
                    })?;
                    let report = if status {
                        judge_status(invoke_status, &answer)?
                    } else {
                        judge(invoke_status, &answer)?
                    };
                    println!("{report}");
                    Ok(())
                },
            ))
    }
}

/// Applies the embedded migrations straight to `url` as pmp_migrator, the same code the function runs; with
/// `bootstrap_roles`, creates the roles first (the URL then names the master user).
fn direct(ctx: &Ctx, url: &str, bootstrap_roles: bool) -> anyhow::Result<()> {
    let shown = redact(url);
    if ctx.dry_run {
        if bootstrap_roles {
            println!(
                "# create the database roles pmp_api and pmp_migrator in {shown} (idempotent)"
            );
        }
        println!("# apply the embedded migrations to {shown} as pmp_migrator");
        return Ok(());
    }
    if bootstrap_roles {
        eprintln!("==> create the database roles pmp_api and pmp_migrator in {shown}");
        let report = pmp_api::roles::bootstrap_with_url_blocking(url, false)
            .with_context(|| format!("creating the database roles in {shown} failed"))?;
        eprintln!(
            "    created roles: {:?}; now owned by pmp_migrator: {:?}",
            report.created_roles, report.reassigned
        );
    }
    eprintln!("==> apply the embedded migrations to {shown} as pmp_migrator");
    let started = std::time::Instant::now();
    let report = pmp_api::migrations::run_with_url_blocking(url)
        .with_context(|| format!("migrating {shown} failed"))?;
    eprintln!("    done in {}", crate::runner::seconds(started.elapsed()));
    let answer = serde_json::to_string(&report)?;
    println!("{}", judge(r#"{"StatusCode": 200}"#, &answer)?);
    Ok(())
}

/// `--status --database-url`: the same comparison the function's `status` command makes.
fn direct_status(ctx: &Ctx, url: &str) -> anyhow::Result<()> {
    let shown = redact(url);
    if ctx.dry_run {
        println!("# compare the migrations applied in {shown} with this build's");
        return Ok(());
    }
    let status = pmp_api::migrations::status_with_url_blocking(url)
        .with_context(|| format!("reading the migration status of {shown} failed"))?;
    let answer = serde_json::to_string(&status)?;
    println!("{}", judge_status(r#"{"StatusCode": 200}"#, &answer)?);
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

/// The function's answer as JSON, or its error: a function error, or an answer that reports one, fails with the
/// function's own reason.
fn parse_answer(status: &str, answer: &str) -> anyhow::Result<serde_json::Value> {
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
    Ok(answer)
}

/// Reads `aws lambda invoke`'s status line and the function's answer to `migrate`.
pub fn judge(status: &str, answer: &str) -> anyhow::Result<String> {
    let answer = parse_answer(status, answer)?;
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

/// Reads the answer to `status`: one line per kind; fails when a migration was modified after it was applied, is
/// missing from this build, or is marked dirty (a run would refuse to start).
pub fn judge_status(status: &str, answer: &str) -> anyhow::Result<String> {
    let answer = parse_answer(status, answer)?;
    let versions = |key: &str| -> anyhow::Result<Vec<String>> {
        Ok(answer
            .get(key)
            .and_then(|list| list.as_array())
            .with_context(|| format!("the status answer has no {key} list"))?
            .iter()
            .map(ToString::to_string)
            .collect())
    };
    let (applied, pending, modified, missing) = (
        versions("applied")?,
        versions("pending")?,
        versions("modified")?,
        versions("missing")?,
    );
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    let mut lines = vec![
        format!("applied: {} ({})", applied.len(), list(&applied)),
        format!("pending: {} ({})", pending.len(), list(&pending)),
    ];
    let dirty = answer.get("dirty").filter(|dirty| !dirty.is_null());
    if modified.is_empty() && missing.is_empty() && dirty.is_none() {
        return Ok(lines.join("\n"));
    }
    lines.push(format!(
        "checksum mismatch (edited after it was applied): {}",
        list(&modified)
    ));
    lines.push(format!(
        "applied but missing from this build: {}",
        list(&missing)
    ));
    if let Some(dirty) = dirty {
        lines.push(format!("partially applied (dirty): {dirty}"));
    }
    bail!(
        "the database and this build disagree:\n{}",
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn migrate_invokes_the_stage_function_with_the_migrate_event() {
        for stage in ["dev", "prod"] {
            let lines = Migrate {
                database_url: None,
                status: false,
                bootstrap_roles: false,
            }
            .procedure(&ctx(stage))
            .rendered();
            assert_eq!(
                lines,
                [
                    format!(
                        "$ AWS_MAX_ATTEMPTS=1 aws lambda invoke --region eu-central-1 --function-name pmp-api-{stage}-migrate --payload fileb://lambda/events/migrate.json --cli-read-timeout 960 target/migrate-{stage}.json"
                    ),
                    "# check the function's answer and report what it applied".to_owned(),
                ]
            );
        }
    }

    #[test]
    fn status_asks_the_migration_function_and_changes_nothing() {
        let lines = Migrate {
            database_url: None,
            status: true,
            bootstrap_roles: false,
        }
        .procedure(&ctx("dev"))
        .rendered();
        assert_eq!(
            lines,
            [
                "$ AWS_MAX_ATTEMPTS=1 aws lambda invoke --region eu-central-1 --function-name pmp-api-dev-migrate --payload fileb://lambda/events/status.json --cli-read-timeout 960 target/status-dev.json",
                "# check the function's answer and report pending, applied and modified migrations",
            ]
        );
    }

    #[test]
    fn status_fails_on_a_checksum_mismatch_and_lists_pending_ones() {
        let ok = r#"{"StatusCode": 200}"#;
        let clean = judge_status(
            ok,
            r#"{"applied": [1, 2], "pending": [3], "modified": [], "missing": [], "dirty": null}"#,
        )
        .expect("pending migrations are no error");
        assert_eq!(clean, "applied: 2 (1, 2)\npending: 1 (3)");
        let mismatch = judge_status(
            ok,
            r#"{"applied": [2], "pending": [], "modified": [1], "missing": [], "dirty": null}"#,
        )
        .expect_err("a modified migration fails")
        .to_string();
        assert!(
            mismatch.contains("checksum mismatch (edited after it was applied): 1"),
            "{mismatch}"
        );
        assert!(
            judge_status(
                ok,
                r#"{"applied": [], "pending": [], "modified": [], "missing": [9], "dirty": null}"#
            )
            .is_err()
        );
        assert!(
            judge_status(ok, r#"{"applied": []}"#).is_err(),
            "incomplete answer"
        );
        let refused = judge_status(
            r#"{"StatusCode": 200, "FunctionError": "Unhandled"}"#,
            r#"{"errorType": "CommandRefused", "errorMessage": "this is the API function"}"#,
        )
        .expect_err("a function error fails");
        assert!(refused.to_string().contains("this is the API function"));
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
