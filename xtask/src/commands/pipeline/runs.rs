//! What `cargo xtask pipeline` runs, in order: the jobs of `.gitlab-ci.yml`, each with the credentials it gets, who
//! answers its AWS calls and what it must do; and between them what happens outside the pipeline (an administrator's
//! bootstrap, what Terraform made where the fake Terraform made nothing) and the checks on the emulator's state. Data
//! only: mod.rs prints it (`--dry-run`) or runs it.

use std::fmt;

/// The production stage, whose path is shown after the stage's own.
pub const PROD: &str = "prod";
/// The tag of the simulated release-tag pipeline (the pattern `release-*` is what the prod rules and roles trust).
pub const RELEASE_TAG: &str = "release-pipeline-rehearsal";

/// How the job's `.aws` set-up gets credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// IAM user access keys from `PMP_<IDENTITY>_AWS_ACCESS_KEY_ID` / `_SECRET_ACCESS_KEY`.
    Keys,
    /// A role ARN and the job's ID token, written to the token file the AWS tools read.
    Oidc,
}

/// Who answers the job's `aws` calls (its `terraform` is always the recording fake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsSide {
    /// The rehearsal's emulator, through the real AWS CLI, osls and the domain plugin; only `aws lambda invoke` is the
    /// fake's (the emulator runs no function code).
    Emulator,
    /// The recording fake, answering as the principals of this account. Used where the real client cannot reach the
    /// emulator: with `oidc`, the AWS CLI exchanges the token with STS itself, and the CLI a machine can install
    /// (Debian's 2.9) sends that exchange to real AWS whatever AWS_ENDPOINT_URL says.
    Fake { account: String },
}

/// The pipeline a job runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    DefaultBranch,
    ReleaseTag,
}

/// What a run must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Must {
    Pass,
    /// Fail, and say this in its log.
    FailSaying(String),
}

/// One run of one job.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub job: String,
    /// `None` for a job without AWS credentials (build).
    pub auth: Option<Auth>,
    /// A credential variable left out: the job must stop in its `.aws` set-up, before any AWS call.
    pub without: Option<String>,
    pub aws: AwsSide,
    pub on: Ref,
    pub must: Must,
}

impl JobRun {
    fn new(job: String, auth: Option<Auth>, aws: AwsSide) -> JobRun {
        JobRun {
            job,
            auth,
            without: None,
            aws,
            on: Ref::DefaultBranch,
            must: Must::Pass,
        }
    }

    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if self.on == Ref::ReleaseTag {
            parts.push("release tag".to_owned());
        }
        match self.auth {
            Some(Auth::Keys) => parts.push("keys".to_owned()),
            Some(Auth::Oidc) => parts.push("oidc, token file".to_owned()),
            None => {}
        }
        if let Some(variable) = &self.without {
            parts.push(format!("no {variable}"));
        }
        match &self.aws {
            AwsSide::Emulator if self.auth.is_some() => parts.push("emulator".to_owned()),
            AwsSide::Fake { account } => parts.push(format!("fake AWS as account {account}")),
            AwsSide::Emulator => {}
        }
        if parts.is_empty() {
            return self.job.clone();
        }
        format!("{} ({})", self.job, parts.join(", "))
    }
}

/// What happens outside the jobs, between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    /// `cargo xtask bootstrap`, as the account's administrator runs it once, against the emulator.
    Bootstrap,
    /// The plan and Terraform identities that an administrator makes per account (docs/bootstrap.md), each an IAM user
    /// with an access key here, for `keys` mode.
    AdministratorIdentities,
    /// What apply made, since the fake Terraform made nothing: the stage's resources and SSM parameters (the
    /// rehearsal's seed), the GitLab user with its access key, and the state object.
    AppliedStage,
    /// The emulator after deploy: what the rehearsal checks after its deploy, and every function of the stage runs the
    /// zip that the build job made.
    Deployed,
    /// The emulator after teardown: nothing of the stage is left.
    Removed,
    /// The jobs of a default-branch and of a release-tag pipeline, as gitlab-ci-local lists them: the stage's jobs
    /// follow each other by their `needs`; prod is applied and deployed only from a release tag, and only by a person.
    PipelineShape,
}

impl fmt::Display for Outside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outside::Bootstrap => "bootstrap, as the administrator (emulator)",
            Outside::AdministratorIdentities => "the administrator's plan and Terraform identities",
            Outside::AppliedStage => "the stage as apply made it (seed, GitLab user, state)",
            Outside::Deployed => "check: deployed, running build's zip",
            Outside::Removed => "check: the stage is removed",
            Outside::PipelineShape => "check: the stage's needs; prod manual, from release tags",
        })
    }
}

#[derive(Debug, Clone)]
pub enum Step {
    Job(JobRun),
    Outside(Outside),
}

/// The stage's path through the default-branch pipeline, then prod's through a release-tag pipeline.
pub fn steps(stage: &str, stage_account: &str, prod_account: &str) -> Vec<Step> {
    let job = |name: &str| format!("{name}:{stage}");
    let fake = |account: &str| AwsSide::Fake {
        account: account.to_owned(),
    };
    let passes =
        |name: &str, auth: Auth, aws: AwsSide| Step::Job(JobRun::new(job(name), Some(auth), aws));
    let fails_closed = |name: &str, auth: Auth, variable: &str| {
        Step::Job(JobRun {
            without: Some(variable.to_owned()),
            must: Must::FailSaying(format!("{variable} is empty in this job")),
            ..JobRun::new(job(name), Some(auth), fake(stage_account))
        })
    };
    let on_release_tag = |aws: AwsSide, must: Must| {
        Step::Job(JobRun {
            on: Ref::ReleaseTag,
            must,
            ..JobRun::new(format!("plan:{PROD}"), Some(Auth::Keys), aws)
        })
    };
    vec![
        Step::Outside(Outside::Bootstrap),
        Step::Outside(Outside::AdministratorIdentities),
        fails_closed("plan", Auth::Keys, "PMP_PLAN_AWS_ACCESS_KEY_ID"),
        fails_closed("plan", Auth::Oidc, "PMP_PLAN_ROLE_ARN"),
        Step::Job(JobRun::new("build".to_owned(), None, AwsSide::Emulator)),
        passes("plan", Auth::Keys, AwsSide::Emulator),
        // GitLab sets the ID token only in jobs that ask for it (`id_tokens`): without one, no role can be assumed.
        fails_closed("apply", Auth::Oidc, "AWS_ID_TOKEN"),
        passes("apply", Auth::Oidc, fake(stage_account)),
        Step::Outside(Outside::AppliedStage),
        fails_closed("deploy", Auth::Keys, "PMP_DEPLOY_AWS_SECRET_ACCESS_KEY"),
        passes("deploy", Auth::Keys, AwsSide::Emulator),
        Step::Outside(Outside::Deployed),
        passes("migrate", Auth::Keys, AwsSide::Emulator),
        passes("teardown", Auth::Keys, AwsSide::Emulator),
        Step::Outside(Outside::Removed),
        Step::Outside(Outside::PipelineShape),
        on_release_tag(fake(prod_account), Must::Pass),
        // The stage's own plan credentials against prod: xtask's account guard stops the job.
        on_release_tag(
            fake(stage_account),
            Must::FailSaying(format!("lives in account {prod_account}")),
        ),
    ]
}

/// The identity template a job extends in .gitlab-ci.yml (`PMP_IDENTITY`), from its name.
pub fn identity(job: &str) -> Option<&'static str> {
    match job.split(':').next()? {
        "plan" | "drift" => Some("plan"),
        "apply" | "teardown" => Some("terraform"),
        "deploy" | "migrate" => Some("deployer"),
        _ => None,
    }
}

/// The `PMP_<PREFIX>_…` variables of an identity, as .gitlab-ci.yml names them.
pub fn variable_prefix(identity: &str) -> &'static str {
    match identity {
        "plan" => "PLAN",
        "terraform" => "TERRAFORM",
        _ => "DEPLOY",
    }
}

/// The principal name of an identity in a stage (docs/iam.md, "Principals"): the name of its IAM user in `keys` mode,
/// of its role in `oidc` mode.
pub fn principal(identity: &str, stage: &str, auth: Auth) -> String {
    match (identity, auth) {
        ("deployer", Auth::Keys) => format!("pmp-api-{stage}-gitlab"),
        ("deployer", Auth::Oidc) => format!("pmp-api-{stage}-gitlab-oidc"),
        (other, _) => format!("pmp-api-{stage}-{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(|step| match step {
                Step::Job(run) => Some(run.job.clone()),
                Step::Outside(_) => None,
            })
            .collect()
    }

    #[test]
    fn the_stage_runs_in_pipeline_order_then_prod() {
        let steps = steps("dev", "123456789012", "210987654321");
        let passing: Vec<String> = steps
            .iter()
            .filter_map(|step| match step {
                Step::Job(run) if run.must == Must::Pass => Some(run.job.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            passing,
            [
                "build",
                "plan:dev",
                "apply:dev",
                "deploy:dev",
                "migrate:dev",
                "teardown:dev",
                "plan:prod"
            ]
        );
        assert!(
            !jobs(&steps)
                .iter()
                .any(|job| job == "apply:prod" || job == "deploy:prod"),
            "prod is changed only by a person"
        );
        let position = |wanted: Outside| {
            steps
                .iter()
                .position(|step| matches!(step, Step::Outside(outside) if *outside == wanted))
                .expect("the run list has it")
        };
        let job_position = |wanted: &str| {
            steps
                .iter()
                .position(|step| matches!(step, Step::Job(run) if run.job == wanted))
                .expect("the run list has it")
        };
        assert!(position(Outside::Bootstrap) < job_position("plan:dev"));
        assert!(job_position("apply:dev") < position(Outside::AppliedStage));
        assert!(position(Outside::AppliedStage) < job_position("deploy:dev"));
        assert!(job_position("deploy:dev") < position(Outside::Deployed));
        assert!(job_position("teardown:dev") < position(Outside::Removed));
    }

    #[test]
    fn both_credential_modes_run_and_both_fail_closed() {
        let steps = steps("dev", "123456789012", "210987654321");
        let runs: Vec<&JobRun> = steps
            .iter()
            .filter_map(|step| match step {
                Step::Job(run) => Some(run),
                Step::Outside(_) => None,
            })
            .collect();
        for auth in [Auth::Keys, Auth::Oidc] {
            assert!(
                runs.iter()
                    .any(|run| run.auth == Some(auth) && run.must == Must::Pass)
            );
            let closed = runs
                .iter()
                .find(|run| run.auth == Some(auth) && run.without.is_some())
                .expect("the run list has it");
            let Must::FailSaying(sentence) = &closed.must else {
                panic!("{closed:?} must fail");
            };
            assert!(sentence.starts_with(closed.without.as_deref().unwrap_or("?")));
        }
        let wrong_account = runs
            .iter()
            .find(|run| run.job == "plan:prod" && run.must != Must::Pass)
            .expect("the run list has it");
        assert_eq!(
            wrong_account.aws,
            AwsSide::Fake {
                account: "123456789012".to_owned()
            }
        );
    }

    #[test]
    fn identities_follow_the_templates_of_the_jobs() {
        assert_eq!(identity("plan:prod"), Some("plan"));
        assert_eq!(identity("teardown:dev"), Some("terraform"));
        assert_eq!(identity("migrate:dev"), Some("deployer"));
        assert_eq!(identity("build"), None);
        assert_eq!(
            principal("deployer", "dev", Auth::Keys),
            "pmp-api-dev-gitlab"
        );
        assert_eq!(
            principal("deployer", "dev", Auth::Oidc),
            "pmp-api-dev-gitlab-oidc"
        );
        assert_eq!(principal("plan", "prod", Auth::Keys), "pmp-api-prod-plan");
    }
}
