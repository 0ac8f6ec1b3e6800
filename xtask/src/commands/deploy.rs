//! `deploy`: build the zip (or take the one a pipeline's build job made), bring the Node tools up to date, make sure
//! the custom domain exists, deploy the Serverless stack, and print where the API answers.

use anyhow::Context;
use clap::Args;

use super::Procedure;
use super::build::{self, Arch};
use crate::Ctx;
use crate::names::{ssm_parameter, stack};
use crate::preflight::{NODE, NPM};
use crate::step::Step;
use crate::tools::Installs;

#[derive(Debug, Args)]
pub struct Deploy {
    /// Deploy the zip already built (by a pipeline's build job) instead of building it: build once, promote the same.
    #[arg(long)]
    pub no_build: bool,
    /// The architecture of the zip to deploy.
    #[arg(long, value_enum, default_value = "arm64")]
    pub arch: Arch,
}

/// `npx --no -- serverless …`: `--no` forbids npx to download a package missing from node_modules (it would fetch
/// the unpinned Serverless v4), and `--` keeps npm from taking the command's options as its own.
pub fn serverless(ctx: &Ctx, purpose: &str, verb: &str, extra: &[&str]) -> Step {
    let mut args = vec![
        "--no",
        "--",
        "serverless",
        verb,
        "--stage",
        ctx.stage.name(),
        "--region",
        &ctx.region,
    ];
    args.extend(extra);
    Step::command(purpose, "npx", args)
}

/// The Terraform values serverless.yml reads, as (`--param` name, SSM name under /pmp/<stage>/), in its order: the
/// lines `NAME: ${param:NAME, ssm:/pmp/${sls:stage}/SSM-NAME}` of its `custom.terraform` block, the one place
/// serverless.yml names them.
pub fn terraform_parameters(root: &std::path::Path) -> Vec<(String, String)> {
    const PREFIX: &str = "/pmp/${sls:stage}/";
    let text = std::fs::read_to_string(root.join("serverless.yml")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let param = line.split_once("${param:")?.1.split_once(',')?.0.trim();
            let ssm_name = line.split_once(PREFIX)?.1.split_once('}')?.0.trim();
            Some((param.to_owned(), ssm_name.to_owned()))
        })
        .collect()
}

impl Deploy {
    pub fn procedure(&self, ctx: &Ctx, installs: &mut Installs) -> Procedure {
        let mut procedure = Procedure::new(format!("deploy {}", ctx.stage))
            .on_aws()
            .tools(&[NODE, NPM]);
        if self.no_build {
            let zip = ctx.root.join(build::zip_path(self.arch));
            procedure = procedure.step(Step::internal(format!("check that {} exists", build::zip_path(self.arch)), move |_| {
                anyhow::ensure!(zip.exists(), "{} is missing: run `cargo xtask build` first, or deploy without --no-build", zip.display());
                Ok(())
            }));
        } else {
            procedure = procedure
                .tools(&build::needed_tools(installs))
                .steps(build::steps(ctx, self.arch, installs));
        }
        let architecture = format!("--param=architecture={}", self.arch.name());
        let domain_parameter = ssm_parameter(&ctx.stage, "api-domain-name");
        procedure
            .steps(std::mem::take(&mut installs.node))
            .step(serverless(
                ctx,
                "create the custom domain if it does not exist yet",
                "create_domain",
                &[],
            ))
            .step(serverless(
                ctx,
                "deploy the function, its HTTP API and the domain mapping",
                "deploy",
                &[&architecture],
            ))
            .step(super::stack_output(
                ctx,
                &stack(&ctx.stage),
                "HttpApiId",
                "api_id",
                None,
            ))
            .step(
                Step::command(
                    "read the custom domain name",
                    "aws",
                    [
                        "ssm",
                        "get-parameter",
                        "--region",
                        &ctx.region,
                        "--name",
                        &domain_parameter,
                        "--query",
                        "Parameter.Value",
                        "--output",
                        "text",
                    ],
                )
                .capture("api_domain", None),
            )
            .step(Step::internal(
                "print the API and its custom-domain URL",
                |outputs| {
                    let api_id = outputs
                        .get("api_id")
                        .context("the stack has no HttpApiId output")?;
                    let domain = outputs
                        .get("api_domain")
                        .context("the custom domain name was not read")?;
                    // serverless.yml disables the execute-api endpoint: the domain is the only way in.
                    println!("HTTP API:      {api_id} (default endpoint disabled)");
                    println!("Custom domain: https://{domain}");
                    println!("Try:           curl https://{domain}/health");
                    Ok(())
                },
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn deploy_builds_then_creates_the_domain_then_deploys() {
        for stage in ["dev", "prod"] {
            let deploy = Deploy {
                no_build: false,
                arch: Arch::Arm64,
            };
            let lines = deploy
                .procedure(&ctx(stage), &mut Installs::none())
                .rendered();
            let expected = vec![
                "$ cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda/arm64 --package pmp-api --bin bootstrap".to_owned(),
                "# report the size of target/lambda/arm64/bootstrap/bootstrap.zip".to_owned(),
                format!("$ npx --no -- serverless create_domain --stage {stage} --region eu-central-1"),
                format!("$ npx --no -- serverless deploy --stage {stage} --region eu-central-1 --param=architecture=arm64"),
                format!("$ aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-api-{stage} --query \"Stacks[0].Outputs[?OutputKey=='HttpApiId'].OutputValue\" --output text"),
                format!("$ aws ssm get-parameter --region eu-central-1 --name /pmp/{stage}/api-domain-name --query Parameter.Value --output text"),
                "# print the API and its custom-domain URL".to_owned(),
            ];
            assert_eq!(lines, expected);
        }
    }

    /// The file `serverless deploy` will look for when it validates `function`, following osls 4.3.1's rule
    /// (node_modules/osls/lib/plugins/aws/deploy/lib/extended-validate.js): a function-level `package.artifact` counts
    /// only when the function or the service is packaged individually; otherwise the service-level artifact, else the
    /// `<service>.zip` that `package` zips from the sources, which it never makes when functions bring their own zip.
    fn artifact_deploy_looks_for(
        service: &yaml_rust2::Yaml,
        function: &str,
    ) -> Result<String, String> {
        let package = &service["package"];
        let function_package = &service["functions"][function]["package"];
        let individually = function_package["individually"].as_bool().unwrap_or(false)
            || package["individually"].as_bool().unwrap_or(false);
        if individually {
            return Ok(function_package["artifact"]
                .as_str()
                .map_or_else(|| format!(".serverless/{function}.zip"), str::to_owned));
        }
        if let Some(artifact) = package["artifact"].as_str() {
            return Ok(artifact.to_owned());
        }
        if function_package["artifact"].as_str().is_some() {
            return Err(format!(
                "function {function} names its own artifact without being packaged individually: `serverless deploy` \
                 ignores it and looks for .serverless/{}.zip, which `serverless package` never makes",
                service["service"].as_str().unwrap_or("<service>")
            ));
        }
        Err(format!(
            "function {function} has no prebuilt artifact: osls would zip the repository"
        ))
    }

    fn functions(service: &yaml_rust2::Yaml) -> Vec<String> {
        service["functions"]
            .as_hash()
            .map(|functions| {
                functions
                    .keys()
                    .filter_map(|name| name.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn serverless_deploy_finds_the_zip_xtask_builds_for_every_function() {
        let text = std::fs::read_to_string(crate::project_root().join("serverless.yml"))
            .expect("serverless.yml");
        let service =
            &yaml_rust2::YamlLoader::load_from_str(&text).expect("serverless.yml is YAML")[0];
        let names = functions(service);
        assert!(!names.is_empty(), "serverless.yml defines no function");
        for function in names {
            assert_eq!(
                artifact_deploy_looks_for(service, &function),
                Ok("${param:artifact}".to_owned()),
                "function {function}"
            );
        }
    }

    #[test]
    fn a_function_level_artifact_alone_is_what_broke_deploy() {
        let broken = "service: pmp-api\nfunctions:\n  api:\n    package:\n      artifact: a.zip\n";
        let service = &yaml_rust2::YamlLoader::load_from_str(broken).expect("YAML")[0];
        let error =
            artifact_deploy_looks_for(service, "api").expect_err("osls ignores the artifact");
        assert!(error.contains(".serverless/pmp-api.zip"), "{error}");
        let individually = format!("{broken}package:\n  individually: true\n");
        let service = &yaml_rust2::YamlLoader::load_from_str(&individually).expect("YAML")[0];
        assert_eq!(
            artifact_deploy_looks_for(service, "api"),
            Ok("a.zip".to_owned())
        );
    }

    #[test]
    fn the_terraform_values_are_read_from_serverless_yml() {
        let parameters = terraform_parameters(&crate::project_root());
        assert!(parameters.len() >= 16, "{parameters:?}");
        assert!(parameters.contains(&(
            "privateSubnetIds".to_owned(),
            "private-subnet-ids".to_owned()
        )));
        assert!(parameters.contains(&("apiDomainName".to_owned(), "api-domain-name".to_owned())));
    }

    #[test]
    fn a_prebuilt_zip_is_checked_instead_of_built_and_missing_tools_are_installed_first() {
        let deploy = Deploy {
            no_build: true,
            arch: Arch::Arm64,
        };
        let mut installs = Installs::none();
        installs.node = vec![Step::command("install", "npm", ["ci"])];
        let lines = deploy.procedure(&ctx("dev"), &mut installs).rendered();
        assert_eq!(
            lines[0],
            "# check that target/lambda/arm64/bootstrap/bootstrap.zip exists"
        );
        assert_eq!(lines[1], "$ npm ci");
        assert!(lines[2].contains("create_domain"), "{lines:?}");
        assert!(
            !lines.iter().any(|line| line.contains("cargo lambda")),
            "{lines:?}"
        );
    }
}
