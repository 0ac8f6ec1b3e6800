//! `bootstrap`: once per account and region, the customer-managed KMS key and the encrypted Terraform state bucket,
//! and the account layer (the GitLab OIDC provider: everything that exists once per account, so that no stage owns it).
//! The second stack takes the key's ARN from the first stack's outputs, so nothing is copied by hand. `--stage` says
//! which stage's account this is: the account check refuses any other.

use clap::Args;

use super::{Procedure, stack_output};
use crate::Ctx;
use crate::names::{
    ACCOUNT_STACK, ACCOUNT_TEMPLATE, BOOTSTRAP_TAGS, KMS_KEY_STACK, KMS_KEY_TEMPLATE, STATE_STACK,
    STATE_TEMPLATE,
};
use crate::step::{Arg, Step};

#[derive(Debug, Args)]
pub struct Bootstrap {
    /// The GitLab instance whose CI id_tokens the stages' roles accept (the OIDC provider's URL and audience).
    #[arg(long, default_value = DEFAULT_GITLAB_URL, value_name = "URL")]
    gitlab_url: String,
    /// Adopt a GitLab OIDC provider an administrator already created in this account instead of creating one.
    #[arg(long, value_name = "ARN")]
    existing_gitlab_oidc_provider_arn: Option<String>,
}

const DEFAULT_GITLAB_URL: &str = "https://gitlab.com";

impl Default for Bootstrap {
    fn default() -> Bootstrap {
        Bootstrap {
            gitlab_url: DEFAULT_GITLAB_URL.to_owned(),
            existing_gitlab_oidc_provider_arn: None,
        }
    }
}

impl Bootstrap {
    pub fn procedure(&self, ctx: &Ctx) -> Procedure {
        let missing = |output: &str, stack: &str| {
            format!("stack {stack} has no output {output} after its deploy")
        };
        Procedure::new("bootstrap")
            .on_aws()
            .step(deploy_stack(
                ctx,
                KMS_KEY_STACK,
                KMS_KEY_TEMPLATE,
                "deploy the KMS key stack",
            ))
            .step(stack_output(
                ctx,
                KMS_KEY_STACK,
                "KeyArn",
                "kms_key_arn",
                missing("KeyArn", KMS_KEY_STACK),
            ))
            .step(
                deploy_stack(
                    ctx,
                    STATE_STACK,
                    STATE_TEMPLATE,
                    "deploy the Terraform state bucket stack, encrypted with that key",
                )
                .arg("--parameter-overrides".into())
                .arg(Arg::prefixed(
                    "KmsKeyArn=",
                    "kms_key_arn",
                    format!("KeyArn of {KMS_KEY_STACK}"),
                )),
            )
            .step(stack_output(
                ctx,
                STATE_STACK,
                "StateBucketName",
                "state_bucket",
                missing("StateBucketName", STATE_STACK),
            ))
            .step({
                let mut parameters = vec![format!("GitLabUrl={}", self.gitlab_url)];
                parameters.extend(
                    self.existing_gitlab_oidc_provider_arn
                        .iter()
                        .map(|arn| format!("ExistingGitLabOidcProviderArn={arn}")),
                );
                let stack = deploy_stack(
                    ctx,
                    ACCOUNT_STACK,
                    ACCOUNT_TEMPLATE,
                    "deploy the account layer stack (the GitLab OIDC provider every stage's roles trust)",
                )
                .arg("--parameter-overrides".into());
                parameters
                    .into_iter()
                    .fold(stack, |stack, parameter| stack.arg(parameter.into()))
            })
            .step(stack_output(
                ctx,
                ACCOUNT_STACK,
                "GitLabOidcProviderArn",
                "gitlab_oidc_provider_arn",
                missing("GitLabOidcProviderArn", ACCOUNT_STACK),
            ))
            .step(Step::internal(
                "print the backend settings that `plan` reads from these stacks",
                |outputs| {
                    let get = |key: &str| outputs.get(key).map_or("?", String::as_str);
                    println!(
                        "Terraform backend (read by `cargo xtask plan` from the stacks' outputs):"
                    );
                    println!("  bucket       = {}", get("state_bucket"));
                    println!("  key          = pmp/<stage>/terraform.tfstate");
                    println!("  kms_key_id   = {}", get("kms_key_arn"));
                    println!("  encrypt      = true");
                    println!("  use_lockfile = true   (S3-native locking: no DynamoDB table)");
                    println!(
                        "Account layer: GitLab OIDC provider {} (the stages' roles trust it; no stage owns it)",
                        get("gitlab_oidc_provider_arn")
                    );
                    Ok(())
                },
            ))
    }
}

/// `aws cloudformation deploy`: creates or updates the stack; a re-run without changes changes nothing.
fn deploy_stack(ctx: &Ctx, stack: &str, template: &str, purpose: &str) -> Step {
    let mut args = vec![
        "cloudformation",
        "deploy",
        "--region",
        &ctx.region,
        "--stack-name",
        stack,
        "--template-file",
        template,
        "--no-fail-on-empty-changeset",
        "--tags",
    ];
    args.extend(BOOTSTRAP_TAGS);
    Step::command(purpose, "aws", args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn the_key_stack_is_deployed_first_and_its_arn_feeds_the_state_stack() {
        let lines = Bootstrap::default().procedure(&ctx("dev")).rendered();
        let expected = [
            "$ aws cloudformation deploy --region eu-central-1 --stack-name pmp-bootstrap-kms-key --template-file cloudformation/kms-key.yml --no-fail-on-empty-changeset --tags project=pmp component=bootstrap managed-by=cargo-xtask",
            "$ aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-kms-key --query \"Stacks[0].Outputs[?OutputKey=='KeyArn'].OutputValue\" --output text",
            "$ aws cloudformation deploy --region eu-central-1 --stack-name pmp-bootstrap-terraform-state --template-file cloudformation/terraform-state.yml --no-fail-on-empty-changeset --tags project=pmp component=bootstrap managed-by=cargo-xtask --parameter-overrides 'KmsKeyArn=<KeyArn of pmp-bootstrap-kms-key>'",
            "$ aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-terraform-state --query \"Stacks[0].Outputs[?OutputKey=='StateBucketName'].OutputValue\" --output text",
            "$ aws cloudformation deploy --region eu-central-1 --stack-name pmp-bootstrap-account --template-file cloudformation/account.yml --no-fail-on-empty-changeset --tags project=pmp component=bootstrap managed-by=cargo-xtask --parameter-overrides GitLabUrl=https://gitlab.com",
            "$ aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-account --query \"Stacks[0].Outputs[?OutputKey=='GitLabOidcProviderArn'].OutputValue\" --output text",
            "# print the backend settings that `plan` reads from these stacks",
        ];
        assert_eq!(lines, expected);
    }

    #[test]
    fn bootstrap_is_the_same_for_every_stage() {
        assert_eq!(
            Bootstrap::default().procedure(&ctx("dev")).rendered(),
            Bootstrap::default().procedure(&ctx("prod")).rendered()
        );
    }

    #[test]
    fn an_existing_oidc_provider_is_adopted_and_another_gitlab_named() {
        let bootstrap = Bootstrap {
            gitlab_url: "https://gitlab.example.org".to_owned(),
            existing_gitlab_oidc_provider_arn: Some(
                "arn:aws:iam::123456789012:oidc-provider/gitlab.example.org".to_owned(),
            ),
        };
        let lines = bootstrap.procedure(&ctx("dev")).rendered();
        let account = lines
            .iter()
            .find(|line| line.contains("--stack-name pmp-bootstrap-account --template-file"))
            .expect("the account stack is deployed");
        assert!(
            account.ends_with(
                "--parameter-overrides GitLabUrl=https://gitlab.example.org ExistingGitLabOidcProviderArn=arn:aws:iam::123456789012:oidc-provider/gitlab.example.org"
            ),
            "{account}"
        );
    }
}
