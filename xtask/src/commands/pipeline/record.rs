//! What passed between the jobs, judged on the fakes' record (`job|identity|credentials|command` lines, plus the
//! `planned:`/`applied:` checksum lines of the fake Terraform), on gitlab-ci-local's listings, and on the jobs' logs.

use std::collections::BTreeMap;

use anyhow::{Context, bail, ensure};

use super::runs::{Auth, PROD, identity, principal};

/// One recorded call.
#[derive(Debug, Clone, Copy)]
struct Call<'a> {
    job: &'a str,
    identity: &'a str,
    credentials: &'a str,
    command: &'a str,
}

fn calls(record: &str) -> Vec<(usize, Call<'_>)> {
    record
        .lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let mut parts = line.splitn(4, '|');
            let call = Call {
                job: parts.next()?,
                identity: parts.next()?,
                credentials: parts.next()?,
                command: parts.next()?,
            };
            Some((index, call))
        })
        .collect()
}

/// Checks the record of a whole run. `keys` holds the access key id each identity was given in `keys` mode (identity
/// → key id); the oidc runs write `fake-id-token` to the token file.
pub fn check_record(
    record: &str,
    stage: &str,
    keys: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let calls = calls(record);
    // Every call of a job is made as the identity of the template the job extends, with credentials the set-up gave.
    for (_, call) in &calls {
        let expected = identity(call.job).unwrap_or("none");
        ensure!(
            call.identity == expected,
            "{} called `{}` as identity `{}`, not `{expected}` (the identity template it extends)",
            call.job,
            call.command,
            call.identity
        );
        // And with that identity's own credentials: its user's key, or its role with the job's ID token.
        let given = keys.get(expected).map(String::as_str);
        let job_stage = call.job.split(':').nth(1).unwrap_or_default();
        let role = format!(":role/{}", principal(expected, job_stage, Auth::Oidc));
        let own_credentials = match call.credentials.split_once(':') {
            Some(("oidc", rest)) => rest
                .strip_prefix("fake-id-token:arn:aws:iam::")
                .is_some_and(|arn| arn.ends_with(&role)),
            Some(("keys", key)) => Some(key) == given || key == fake_key(expected),
            _ => false,
        };
        ensure!(
            own_credentials,
            "{} called `{}` with credentials `{}`, which are not identity `{expected}`'s",
            call.job,
            call.command,
            call.credentials
        );
    }
    let find = |job: &str, credentials: &str, command: &str| {
        calls.iter().position(|(_, call)| {
            call.job == job
                && call.credentials.starts_with(credentials)
                && call.command.starts_with(command)
        })
    };
    let key = |identity: &str| format!("keys:{}", keys.get(identity).cloned().unwrap_or_default());
    let required = [
        (
            format!("plan:{stage}"),
            key("plan"),
            "terraform -chdir=terraform plan ",
        ),
        (
            format!("apply:{stage}"),
            "oidc:fake-id-token".to_owned(),
            "terraform -chdir=terraform apply ",
        ),
        (
            format!("deploy:{stage}"),
            key("deployer"),
            "aws sts get-caller-identity",
        ),
        (
            format!("migrate:{stage}"),
            key("deployer"),
            "aws lambda invoke ",
        ),
        (
            format!("teardown:{stage}"),
            key("terraform"),
            "terraform -chdir=terraform destroy ",
        ),
    ];
    let mut positions = Vec::new();
    for (job, credentials, command) in &required {
        let Some(position) = find(job, credentials, command) else {
            bail!("{job} did not run `{command}…` with credentials `{credentials}`:\n{record}");
        };
        positions.push((job.as_str(), position));
    }
    for pair in positions.windows(2) {
        ensure!(
            pair[0].1 < pair[1].1,
            "{} ran before {}:\n{record}",
            pair[1].0,
            pair[0].0
        );
    }
    let (_, invoke) = calls[positions[3].1];
    ensure!(
        invoke
            .command
            .contains(&format!("--function-name pmp-api-{stage}-migrate ")),
        "migrate:{stage} invoked another function than pmp-api-{stage}-migrate: `{}`",
        invoke.command
    );
    let last_deploy = calls
        .iter()
        .rposition(|(_, call)| call.job == format!("deploy:{stage}"));
    ensure!(
        last_deploy.is_some_and(|deployed| positions[3].1 > deployed),
        "migrate:{stage} invoked the migration function before deploy:{stage} had finished:\n{record}"
    );
    ensure!(
        find(
            &format!("plan:{PROD}"),
            &format!("keys:{}", fake_key("plan")),
            "terraform -chdir=terraform plan "
        )
        .is_some_and(|position| calls[position]
            .1
            .command
            .contains(&format!("-var-file=stages/{PROD}.tfvars"))),
        "plan:{PROD} did not plan prod as the plan identity:\n{record}"
    );
    let checksums = |prefix: &str| {
        record
            .lines()
            .filter_map(|line| line.strip_prefix(prefix))
            .collect::<Vec<_>>()
    };
    let planned = checksums(&format!("planned:plan:{stage}:"));
    let applied = checksums(&format!("applied:apply:{stage}:"));
    ensure!(
        planned.len() == 1 && applied == planned,
        "apply:{stage} did not apply exactly the plan file and lock file that plan:{stage} made (plan file and lock \
         file sha256 made: {planned:?}, applied: {applied:?})"
    );
    Ok(())
}

/// The access key id a fake-AWS run gets for an identity (the fake accepts any).
pub fn fake_key(identity: &str) -> String {
    format!("AKIAFAKE{}", identity.to_uppercase())
}

/// The lines of the record that a run added, from `before` (the record's length in lines before the run).
pub fn added(record: &str, before: usize) -> Vec<&str> {
    record.lines().skip(before).collect()
}

/// What xtask runs before its caller check: the tool versions (preflight), then the caller.
const BEFORE_THE_CALLER_CHECK: &[&str] = &[
    "aws --version",
    "terraform version",
    "aws sts get-caller-identity",
];

/// A run that must fail: with a credential variable missing it made no call at all; otherwise (a wrong account) no
/// call but the preflight and the caller check.
pub fn check_failed_run(
    label: &str,
    added: &[&str],
    credential_missing: bool,
) -> anyhow::Result<()> {
    for line in added {
        let command = line.splitn(4, '|').nth(3).unwrap_or(line);
        ensure!(
            !credential_missing,
            "{label} called `{command}` although its credentials were missing"
        );
        ensure!(
            BEFORE_THE_CALLER_CHECK
                .iter()
                .any(|allowed| command.starts_with(allowed)),
            "{label} called `{command}` after its caller check must have stopped it"
        );
    }
    Ok(())
}

/// One row of `gitlab-ci-local --list-csv`: name → (when, allow failure, needs).
fn listed(listing: &str) -> BTreeMap<&str, (&str, &str, &str)> {
    listing
        .lines()
        .filter(|line| line.contains(';') && !line.starts_with("name;"))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(';').collect();
            Some((
                *fields.first()?,
                (
                    *fields.get(2)?,
                    *fields.get(3)?,
                    *fields.get(5).unwrap_or(&""),
                ),
            ))
        })
        .collect()
}

fn needs<'a>(row: &(&str, &str, &'a str)) -> Vec<&'a str> {
    row.2
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter(|need| !need.is_empty())
        .collect()
}

/// The order GitLab runs the stage's jobs in is their `needs`, not the order this run starts them in: plan takes
/// nothing from earlier jobs, apply needs plan, deploy needs build and apply, migrate needs deploy, and teardown is
/// manual and optional.
pub fn check_stage_chain(default_branch: &str, stage: &str) -> anyhow::Result<()> {
    let branch = listed(default_branch);
    let job = |name: &str| format!("{name}:{stage}");
    for (name, wanted) in [
        (job("plan"), vec![]),
        (job("apply"), vec![job("plan")]),
        (job("deploy"), vec!["build".to_owned(), job("apply")]),
        (job("migrate"), vec![job("deploy")]),
    ] {
        let row = branch.get(name.as_str()).with_context(|| {
            format!("a default-branch pipeline has no {name}:\n{default_branch}")
        })?;
        let mut found = needs(row);
        found.sort_unstable();
        let mut wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        ensure!(
            found == wanted && row.0 == "on_success",
            "{name} must run on success after {wanted:?}; it needs {found:?} and runs {}",
            row.0
        );
    }
    ensure!(
        branch
            .get(job("teardown").as_str())
            .is_some_and(|row| row.0 == "manual" && row.1 == "true"),
        "{} must be a manual, optional job of the default branch",
        job("teardown")
    );
    Ok(())
}

/// The prod path: a default-branch pipeline only plans prod (a preview); a release-tag pipeline plans prod, and a person
/// starts apply:prod and deploy:prod (manual, and blocking: the pipeline waits for them), each after its predecessor.
pub fn check_prod_path(default_branch: &str, release_tag: &str) -> anyhow::Result<()> {
    let (branch, tag) = (listed(default_branch), listed(release_tag));
    ensure!(
        branch.contains_key(format!("plan:{PROD}").as_str()),
        "a default-branch pipeline has no plan:{PROD}:\n{default_branch}"
    );
    for job in [
        format!("apply:{PROD}"),
        format!("deploy:{PROD}"),
        format!("migrate:{PROD}"),
    ] {
        ensure!(
            !branch.contains_key(job.as_str()),
            "a default-branch pipeline has {job}: prod must change only from a release tag"
        );
    }
    ensure!(
        tag.get(format!("plan:{PROD}").as_str())
            .is_some_and(|(when, ..)| *when == "on_success"),
        "a release-tag pipeline does not plan {PROD}:\n{release_tag}"
    );
    for (job, after) in [
        (format!("apply:{PROD}"), format!("plan:{PROD}")),
        (format!("deploy:{PROD}"), format!("apply:{PROD}")),
    ] {
        match tag.get(job.as_str()) {
            Some(("manual", "false", needs)) if needs.contains(after.as_str()) => {}
            Some(row) => bail!(
                "in a release-tag pipeline {job} must be manual, not allowed to fail and after {after}; it is {row:?}"
            ),
            None => bail!("a release-tag pipeline has no {job}:\n{release_tag}"),
        }
    }
    if let Some(job) = tag.keys().find(|job| job.ends_with(":dev")) {
        bail!("a release-tag pipeline runs {job}: release tags deploy prod only");
    }
    Ok(())
}

/// Every command a job's log shows it running is `cargo xtask …`, after the `.aws` credential set-up.
pub fn check_scripts(job: &str, log: &str) -> anyhow::Result<()> {
    let prefix = format!("{job} $ ");
    let commands: Vec<&str> = log
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .collect();
    ensure!(
        commands
            .iter()
            .any(|command| command.starts_with("cargo xtask ")),
        "{job} ran no `cargo xtask` command"
    );
    for command in commands {
        ensure!(
            command.starts_with("cargo xtask ") || command.starts_with("missing() {"),
            "{job} ran `{command}`, which is neither `cargo xtask …` nor the .aws credential set-up"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> BTreeMap<String, String> {
        [
            ("plan", "AKIAP"),
            ("terraform", "AKIAT"),
            ("deployer", "AKIAD"),
        ]
        .into_iter()
        .map(|(identity, key)| (identity.to_owned(), key.to_owned()))
        .collect()
    }

    const GOOD: &str = "\
plan:dev|plan|keys:AKIAP|aws sts get-caller-identity --region eu-central-1
plan:dev|plan|keys:AKIAP|terraform -chdir=terraform plan -input=false -var-file=stages/dev.tfvars -out=plans/dev.tfplan
planned:plan:dev:aa:bb
apply:dev|terraform|oidc:fake-id-token:arn:aws:iam::123456789012:role/pmp-api-dev-terraform|terraform -chdir=terraform apply -input=false plans/dev.tfplan
applied:apply:dev:aa:bb
deploy:dev|deployer|keys:AKIAD|aws sts get-caller-identity --region eu-central-1
deploy:dev|deployer|keys:AKIAD|aws cloudformation describe-stacks --stack-name pmp-api-dev
migrate:dev|deployer|keys:AKIAD|aws lambda invoke --region eu-central-1 --function-name pmp-api-dev-migrate out.json
teardown:dev|terraform|keys:AKIAT|terraform -chdir=terraform destroy -input=false -auto-approve
plan:prod|plan|keys:AKIAFAKEPLAN|terraform -chdir=terraform plan -input=false -var-file=stages/prod.tfvars -out=plans/prod.tfplan
";

    #[test]
    fn a_whole_run_passes() {
        check_record(GOOD, "dev", &keys()).expect("a whole run passes");
    }

    #[test]
    fn apply_must_use_the_plan_and_lock_file_that_plan_made() {
        let other_lock = GOOD.replace("applied:apply:dev:aa:bb", "applied:apply:dev:aa:cc");
        assert!(check_record(&other_lock, "dev", &keys()).is_err());
        let not_applied = GOOD.replace("applied:apply:dev:aa:bb\n", "");
        assert!(check_record(&not_applied, "dev", &keys()).is_err());
    }

    #[test]
    fn migrate_must_invoke_the_migration_function_after_deploy() {
        let lines: Vec<&str> = GOOD.lines().collect();
        let mut early = lines.clone();
        let invoke = early.remove(7);
        early.insert(5, invoke);
        assert!(check_record(&(early.join("\n") + "\n"), "dev", &keys()).is_err());
        let api = GOOD.replace("pmp-api-dev-migrate ", "pmp-api-dev-api ");
        assert!(check_record(&api, "dev", &keys()).is_err());
    }

    #[test]
    fn each_job_must_run_as_its_own_identity_with_its_own_credentials() {
        let wrong = GOOD.replace("plan:dev|plan|", "plan:dev|terraform|");
        assert!(check_record(&wrong, "dev", &keys()).is_err());
        let keys_for_apply = GOOD.replace(
            "oidc:fake-id-token:arn:aws:iam::123456789012:role/pmp-api-dev-terraform",
            "keys:AKIAT",
        );
        assert!(check_record(&keys_for_apply, "dev", &keys()).is_err());
        let plan_role_for_apply =
            GOOD.replace("role/pmp-api-dev-terraform", "role/pmp-api-dev-plan");
        assert!(check_record(&plan_role_for_apply, "dev", &keys()).is_err());
        let plan_key_for_deploy = GOOD.replace(
            "deploy:dev|deployer|keys:AKIAD|aws cloud",
            "deploy:dev|deployer|keys:AKIAP|aws cloud",
        );
        assert!(check_record(&plan_key_for_deploy, "dev", &keys()).is_err());
        let stray = GOOD.replace(
            "deploy:dev|deployer|keys:AKIAD|aws cloud",
            "deploy:dev|deployer|keys:AKIAX|aws cloud",
        );
        assert!(check_record(&stray, "dev", &keys()).is_err());
        let no_destroy = GOOD.replace(
            "terraform -chdir=terraform destroy",
            "terraform -chdir=terraform init",
        );
        assert!(check_record(&no_destroy, "dev", &keys()).is_err());
        let prod_not_planned = GOOD.replace("stages/prod.tfvars", "stages/dev.tfvars");
        assert!(check_record(&prod_not_planned, "dev", &keys()).is_err());
    }

    #[test]
    fn a_failed_run_calls_nothing_or_only_the_caller_check() {
        let sts = [
            "plan:prod|plan|keys:AKIA|aws --version",
            "plan:prod|plan|keys:AKIA|aws sts get-caller-identity",
        ];
        assert!(check_failed_run("x", &sts, false).is_ok());
        assert!(check_failed_run("x", &sts, true).is_err());
        assert!(check_failed_run("x", &[], true).is_ok());
        let went_on = ["plan:prod|plan|keys:AKIA|terraform -chdir=terraform init"];
        assert!(check_failed_run("x", &went_on, false).is_err());
        assert_eq!(added("a\nb\nc\n", 1), ["b", "c"]);
    }

    const BRANCH: &str = "name;stage;when;allowFailure;environment;needs
build;build;on_success;false;;
plan:dev;plan;on_success;false;plan/dev;
plan:prod;plan;on_success;false;plan/prod;
apply:dev;apply;on_success;false;dev;[plan:dev]
";
    const TAG: &str = "name;stage;when;allowFailure;environment;needs
build;build;on_success;false;;
plan:prod;plan;on_success;false;plan/prod;
apply:prod;apply;manual;false;prod;[plan:prod]
deploy:prod;deploy;manual;false;prod;[build,apply:prod]
migrate:prod;migrate;on_success;false;prod;[deploy:prod]
";

    const DEV: &str = "name;stage;when;allowFailure;environment;needs
build;build;on_success;false;;
plan:dev;plan;on_success;false;plan/dev;
apply:dev;apply;on_success;false;dev;[plan:dev]
deploy:dev;deploy;on_success;false;dev;[build,apply:dev]
migrate:dev;migrate;on_success;false;dev;[deploy:dev]
teardown:dev;teardown;manual;true;dev;[ci-image]
";

    #[test]
    fn the_stage_runs_in_the_order_of_its_needs() {
        check_stage_chain(DEV, "dev").expect("the chain holds");
        let migrate_early = DEV.replace(
            "migrate;on_success;false;dev;[deploy:dev]",
            "migrate;on_success;false;dev;[apply:dev]",
        );
        assert!(check_stage_chain(&migrate_early, "dev").is_err());
        let other_zip = DEV.replace("[build,apply:dev]", "[apply:dev]");
        assert!(check_stage_chain(&other_zip, "dev").is_err());
        let automatic_teardown = DEV.replace("teardown;manual;true", "teardown;on_success;false");
        assert!(check_stage_chain(&automatic_teardown, "dev").is_err());
    }

    #[test]
    fn prod_changes_only_from_a_release_tag_by_a_person() {
        check_prod_path(BRANCH, TAG).expect("the prod path holds");
        let automatic = TAG.replace("apply;manual", "apply;on_success");
        assert!(check_prod_path(BRANCH, &automatic).is_err());
        let optional = TAG.replace("deploy;manual;false", "deploy;manual;true");
        assert!(check_prod_path(BRANCH, &optional).is_err());
        let from_branch =
            format!("{BRANCH}deploy:prod;deploy;manual;false;prod;[build,apply:prod]\n");
        assert!(check_prod_path(&from_branch, TAG).is_err());
        let dev_on_tag = format!("{TAG}deploy:dev;deploy;on_success;false;dev;[build]\n");
        assert!(check_prod_path(BRANCH, &dev_on_tag).is_err());
    }

    #[test]
    fn a_job_runs_cargo_xtask_and_nothing_else() {
        let good = "plan:dev $ missing() { echo … # collapsed multi-line command\nplan:dev $ cargo xtask plan --stage dev\n";
        assert!(check_scripts("plan:dev", good).is_ok());
        let extra = format!("{good}plan:dev $ curl https://example.com\n");
        assert!(check_scripts("plan:dev", &extra).is_err());
        assert!(
            check_scripts("plan:dev", "plan:dev $ missing() {\n").is_err(),
            "no cargo xtask"
        );
    }
}
