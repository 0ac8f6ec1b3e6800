//! Terraform: formatting, the offline schema check, the provider-free modules' tests, `terraform validate` of every
//! configuration and the root module's plan-level tests (with the real hashicorp/aws provider when the registry can
//! be reached, else with the team's schema-only stand-in), and checkov.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::{Validator, checkov, files_with_extension, relative};
use crate::step::Step;

const TF_CHECK: &str = "../shared/tools/tf-check";
const STANDIN: &str = "../shared/tools/tf-aws-standin";
/// Where validate and the root tests run: a copy, so that no lock file or `.terraform/` a provider writes ever lands in
/// the checkout (a stand-in's lock file would make a later real `terraform init` refuse the real provider).
const WORK: &str = "target/terraform-check";
/// The region the root tests plan for; their mocks describe it (three AZs, partition aws).
const TEST_REGION: &str = "eu-central-1";
/// Chooses the provider instead of probing the registry: `registry` or `standin`.
const PROVIDER_ENV: &str = "PMP_TERRAFORM_PROVIDER";
const TERRAFORM_HINT: &str = "install Terraform 1.10 or later";

pub fn validators(root: &Path) -> Vec<Validator> {
    if !root.join("terraform").is_dir() {
        return Vec::new();
    }
    let mut all = vec![
        Validator::new("terraform fmt", "terraform/**/*.tf")
            .needs_program("terraform", TERRAFORM_HINT)
            .step(Step::command(
                "check the formatting",
                "terraform",
                ["fmt", "-check", "-recursive", "-diff", "terraform"],
            )),
        Validator::new(
            "tf-check",
            "terraform/ against the hashicorp/aws 6.47.0 schema",
        )
        .unavailable_because((!root.join(TF_CHECK).exists()).then(|| {
            format!(
                "{TF_CHECK} is not beside this checkout (it ships with the team's shared folder)"
            )
        }))
        .step(Step::command(
            "check resources, arguments, blocks and references",
            TF_CHECK,
            ["terraform"],
        )),
    ];
    for module in tested_modules(root) {
        let shown = relative(&root.join("terraform"), &module);
        let chdir = format!("-chdir={}", relative(root, &module));
        all.push(
            Validator::new(
                format!("terraform test {shown}"),
                format!("terraform/{shown}/tests/*.tftest.hcl"),
            )
            .needs_program("terraform", TERRAFORM_HINT)
            .step(init_without_backend(
                &chdir,
                "initialise the provider-free module",
            ))
            .step(Step::command(
                "run its tests",
                "terraform",
                [chdir.as_str(), "test", "-no-color"],
            )),
        );
    }
    all.extend(provider_validators(root));
    all.push(
        Validator::new("checkov terraform", "terraform/").step(checkov(
            "scan the Terraform configuration",
            &["--directory", "terraform", "--framework", "terraform"],
        )),
    );
    all
}

/// `terraform init` of a folder that keeps no state remotely (tests, the policy render root).
pub fn init_without_backend(chdir: &str, purpose: &str) -> Step {
    Step::command(
        purpose,
        "terraform",
        [chdir, "init", "-backend=false", "-input=false", "-no-color"],
    )
}

/// Modules with `terraform test` files: the provider-free logic (concurrency, policies, SSM contract).
fn tested_modules(root: &Path) -> Vec<PathBuf> {
    // The root module's tests need the aws provider: provider_validators runs them.
    let mut folders: Vec<PathBuf> = Vec::new();
    for parent in ["terraform/modules", "terraform"] {
        let entries = std::fs::read_dir(root.join(parent))
            .into_iter()
            .flatten()
            .flatten();
        folders.extend(
            entries
                .map(|entry| entry.path())
                .filter(|path| path.is_dir()),
        );
    }
    let mut tested: Vec<PathBuf> = folders
        .into_iter()
        .filter(|folder| !files_with_extension(&folder.join("tests"), "hcl").is_empty())
        .collect();
    tested.sort();
    tested.dedup();
    tested
}

/// Where the hashicorp/aws provider comes from for validate and the root tests.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Provider {
    /// registry.terraform.io, as `terraform init` installs it anywhere else.
    Registry,
    /// `../shared/tools/tf-aws-standin`: the real 6.47.0 schema, served offline, no provider-side validation.
    StandIn,
    /// Neither: the reason.
    Missing(String),
}

impl Provider {
    fn choose(root: &Path) -> Provider {
        let standin_here = root.join(STANDIN).exists();
        match std::env::var(PROVIDER_ENV).as_deref() {
            Ok("registry") => return Provider::Registry,
            Ok("standin") if standin_here => return Provider::StandIn,
            Ok("standin") => {
                return Provider::Missing(format!(
                    "{PROVIDER_ENV}=standin but {STANDIN} is not beside this checkout"
                ));
            }
            _ => {}
        }
        if registry_reachable() {
            Provider::Registry
        } else if standin_here {
            Provider::StandIn
        } else {
            Provider::Missing(format!(
                "registry.terraform.io cannot be reached and {STANDIN} is not beside this checkout"
            ))
        }
    }

    /// What the table shows beside the validator's name.
    fn label(&self) -> &'static str {
        match self {
            Provider::Registry => "aws from the registry",
            Provider::StandIn => "aws stand-in",
            Provider::Missing(_) => "no aws provider",
        }
    }

    fn folder(&self) -> &'static str {
        match self {
            Provider::Registry => "registry",
            Provider::StandIn | Provider::Missing(_) => "standin",
        }
    }
}

/// A connection to the registry (or a proxy configured for it) decides; a failed `terraform init` is still reported
/// as "not run" with the reason, in case something between here and the registry refuses it.
fn registry_reachable() -> bool {
    if ["HTTPS_PROXY", "https_proxy"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
    {
        return true;
    }
    ("registry.terraform.io", 443)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| TcpStream::connect_timeout(&address, Duration::from_secs(3)).is_ok())
}

/// `terraform validate` of every configuration, and the root module's tests once per stage, in a prepared copy.
fn provider_validators(root: &Path) -> Vec<Validator> {
    let provider = Provider::choose(root);
    let work = format!("{WORK}/{}", provider.folder());
    let configurations = configurations(root);
    let label = provider.label();
    let mut validate = Validator::new(
        format!("terraform validate ({label})"),
        format!(
            "{} configurations: root, modules/*, policy-render",
            configurations.len()
        ),
    )
    .steps(prepare(root, &provider, &work));
    for configuration in &configurations {
        let chdir = format!("-chdir={work}/{configuration}");
        let shown = if configuration == "terraform" {
            "the root module"
        } else {
            configuration.trim_start_matches("terraform/")
        };
        validate = validate
            .step(with_provider(
                &provider,
                root,
                init_without_backend(&chdir, &format!("initialise {shown}")),
            ))
            .step(with_provider(
                &provider,
                root,
                Step::command(
                    format!("validate {shown}"),
                    "terraform",
                    [chdir.as_str(), "validate", "-no-color"],
                ),
            ));
    }
    let mut all = vec![validate];
    let stages = stage_names(root);
    let test_files = files_with_extension(&root.join("terraform/tests"), "hcl");
    if !test_files.is_empty() {
        for stage in &stages {
            let chdir = format!("-chdir={work}/terraform");
            let var_file = format!("-var-file=stages/{stage}.tfvars");
            let stage_var = format!("-var=stage={stage}");
            let region_var = format!("-var=region={TEST_REGION}");
            let mut test = vec![
                chdir.clone(),
                "test".to_owned(),
                "-no-color".to_owned(),
                stage_var,
                region_var,
                var_file,
            ];
            // A file named after a stage runs with that stage only; the others run with every stage.
            test.extend(
                test_files
                    .iter()
                    .filter_map(|file| file.file_name()?.to_str())
                    .filter(|name| {
                        let for_stage = name.trim_end_matches(".tftest.hcl");
                        for_stage == stage || !stages.iter().any(|other| other == for_stage)
                    })
                    .map(|name| format!("-filter=tests/{name}")),
            );
            all.push(
                Validator::new(
                    format!("terraform test root {stage} ({label})"),
                    format!("terraform/tests/*.tftest.hcl, stages/{stage}.tfvars"),
                )
                .steps(prepare(root, &provider, &work))
                .step(with_provider(
                    &provider,
                    root,
                    init_without_backend(&chdir, "initialise the root module"),
                ))
                .step(with_provider(
                    &provider,
                    root,
                    Step::command(
                        format!("plan {stage} with a mocked provider and check what it plans"),
                        "terraform",
                        test,
                    ),
                )),
            );
        }
    }
    all.into_iter()
        .map(|validator| {
            let validator = validator
                .needs_program("terraform", TERRAFORM_HINT)
                .unavailable_because(match &provider {
                    Provider::Missing(reason) => Some(reason.clone()),
                    _ => None,
                });
            match provider {
                Provider::Registry => validator.not_run_if_output_contains(
                    &[
                        "Failed to query available provider packages",
                        "Failed to install provider",
                        "could not connect to registry.terraform.io",
                    ],
                    "the hashicorp/aws provider cannot be installed from the registry here; set PMP_TERRAFORM_PROVIDER=standin to use ../shared/tools/tf-aws-standin",
                ),
                _ => validator,
            }
        })
        .collect()
}

/// The configurations `terraform validate` checks, relative to the repository: the root module, every module, and
/// the policy render root.
fn configurations(root: &Path) -> Vec<String> {
    let mut all = vec!["terraform".to_owned()];
    let mut modules: Vec<String> = std::fs::read_dir(root.join("terraform/modules"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| !files_with_extension(path, "tf").is_empty())
        .map(|path| relative(root, &path))
        .collect();
    modules.sort();
    all.extend(modules);
    if !files_with_extension(&root.join("terraform/policy-render"), "tf").is_empty() {
        all.push("terraform/policy-render".to_owned());
    }
    all
}

/// The stages with a variable file, sorted.
fn stage_names(root: &Path) -> Vec<String> {
    files_with_extension(&root.join("terraform/stages"), "tfvars")
        .iter()
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .collect()
}

/// A fresh copy of what the configurations read (terraform/ without its working data, and the files the root tests
/// compare with), and, for the stand-in, its CLI configuration beside it.
fn prepare(root: &Path, provider: &Provider, work: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    if *provider == Provider::StandIn {
        steps.push(
            Step::command(
                "build the hashicorp/aws stand-in (cached after the first run)",
                STANDIN,
                ["install"],
            )
            .capture(
                "standin_install",
                format!("{STANDIN} install printed nothing"),
            ),
        );
        let config = root.join(format!("{WORK}/standin.tfrc"));
        steps.push(Step::internal(
            format!("copy the stand-in's CLI configuration to {WORK}/standin.tfrc"),
            move |outputs| {
                let printed = outputs.get("standin_install").map_or("", String::as_str);
                let source = printed.lines().last().unwrap_or_default().trim();
                let parent = config.parent().context("the work folder has no parent")?;
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
                std::fs::copy(source, &config).with_context(|| {
                    format!(
                        "cannot copy the stand-in's CLI configuration `{source}` to {}",
                        config.display()
                    )
                })?;
                Ok(())
            },
        ));
    }
    let source = root.to_path_buf();
    let target = root.join(work);
    let plugin_cache = root.join(format!("{WORK}/plugin-cache"));
    // Real lock files travel with the copy; the stand-in's never go back, and a committed one is left out for it.
    let keep_lock_files = *provider == Provider::Registry;
    steps.push(Step::internal(
        format!("copy terraform/, serverless.yml and docs/ to {work}"),
        move |_| {
            if target.exists() {
                std::fs::remove_dir_all(&target)
                    .with_context(|| format!("cannot empty {}", target.display()))?;
            }
            // Terraform uses a plugin cache folder only when it exists; it outlives the copy.
            std::fs::create_dir_all(&plugin_cache)
                .with_context(|| format!("cannot create {}", plugin_cache.display()))?;
            for part in ["terraform", "docs"] {
                copy_tree(&source.join(part), &target.join(part), keep_lock_files)?;
            }
            let serverless = source.join("serverless.yml");
            if serverless.exists() {
                std::fs::copy(&serverless, target.join("serverless.yml"))
                    .with_context(|| format!("cannot copy {}", serverless.display()))?;
            }
            Ok(())
        },
    ));
    steps
}

/// Copies a folder, leaving out Terraform's working data, state and plans.
fn copy_tree(from: &Path, to: &Path, keep_lock_files: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let skipped = name == ".terraform"
            || name.ends_with(".tfstate")
            || name.contains(".tfstate.")
            || name.ends_with(".tfplan")
            || (name == ".terraform.lock.hcl" && !keep_lock_files);
        if skipped {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(&*name), keep_lock_files)?;
        } else {
            std::fs::copy(&path, to.join(&*name))
                .with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

/// The stand-in's CLI configuration for a terraform command, and no shared plugin cache (it would keep the stand-in).
fn with_provider(provider: &Provider, root: &Path, step: Step) -> Step {
    match provider {
        Provider::StandIn => step
            .env(
                "TF_CLI_CONFIG_FILE",
                root.join(format!("{WORK}/standin.tfrc"))
                    .to_string_lossy()
                    .into_owned(),
            )
            .env("TF_PLUGIN_CACHE_DIR", ""),
        // One download of the provider for all configurations, unless the user has a cache of their own. The lock
        // files this may leave incomplete (one platform's checksum) live and die in the copy.
        Provider::Registry if std::env::var_os("TF_PLUGIN_CACHE_DIR").is_none() => step
            .env(
                "TF_PLUGIN_CACHE_DIR",
                root.join(format!("{WORK}/plugin-cache"))
                    .to_string_lossy()
                    .into_owned(),
            )
            .env("TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE", "true"),
        _ => step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(validator: &Validator) -> Vec<String> {
        validator.steps.iter().map(Step::render).collect()
    }

    #[test]
    fn validate_covers_the_root_every_module_and_the_policy_render() -> anyhow::Result<()> {
        let root = crate::project_root();
        let configurations = configurations(&root);
        assert_eq!(configurations[0], "terraform");
        assert!(configurations.contains(&"terraform/policy-render".to_owned()));
        let modules = std::fs::read_dir(root.join("terraform/modules"))?.count();
        assert_eq!(configurations.len(), modules + 2, "{configurations:?}");
        Ok(())
    }

    #[test]
    fn provider_steps_run_in_the_copy_never_in_the_checkout() {
        let root = crate::project_root();
        for provider in [Provider::Registry, Provider::StandIn] {
            let work = format!("{WORK}/{}", provider.folder());
            let prepared = prepare(&root, &provider, &work);
            assert_eq!(
                prepared.iter().filter(|step| step.is_command()).count(),
                usize::from(provider == Provider::StandIn),
                "only the stand-in's install is a command before the copy"
            );
            let step = with_provider(
                &provider,
                &root,
                init_without_backend(&format!("-chdir={work}/terraform"), "init"),
            );
            let line = step.render();
            assert!(line.contains("-chdir=target/terraform-check/"), "{line}");
            assert_eq!(
                line.contains("TF_CLI_CONFIG_FILE="),
                provider == Provider::StandIn,
                "{line}"
            );
        }
    }

    #[test]
    fn root_tests_run_once_per_stage_with_their_own_file_and_the_shared_ones() {
        let root = crate::project_root();
        let all = provider_validators(&root);
        let dev = all
            .iter()
            .find(|v| v.name.starts_with("terraform test root dev"))
            .expect("a dev run");
        let test = lines(dev).pop().expect("a test step");
        assert!(test.contains("-var-file=stages/dev.tfvars"), "{test}");
        assert!(test.contains("-var=stage=dev"), "{test}");
        assert!(test.contains("-filter=tests/dev.tftest.hcl"), "{test}");
        assert!(test.contains("-filter=tests/stage.tftest.hcl"), "{test}");
        assert!(!test.contains("prod.tftest.hcl"), "{test}");
        assert!(
            all.iter()
                .any(|v| v.name.starts_with("terraform test root prod"))
        );
        // The provider-free runner must not pick the root module up: it has no aws provider there.
        assert!(!tested_modules(&root).contains(&root.join("terraform")));
    }

    #[test]
    fn the_copy_leaves_out_working_data_and_a_stand_in_lock_file() -> anyhow::Result<()> {
        let scratch = std::env::temp_dir().join(format!("xtask-tf-copy-{}", std::process::id()));
        let from = scratch.join("from");
        std::fs::create_dir_all(from.join(".terraform/providers"))?;
        std::fs::write(from.join("main.tf"), "")?;
        std::fs::write(from.join(".terraform.lock.hcl"), "real")?;
        std::fs::write(from.join("terraform.tfstate"), "{}")?;
        copy_tree(&from, &scratch.join("standin"), false)?;
        copy_tree(&from, &scratch.join("registry"), true)?;
        assert!(scratch.join("standin/main.tf").exists());
        assert!(!scratch.join("standin/.terraform.lock.hcl").exists());
        assert!(!scratch.join("standin/.terraform").exists());
        assert!(!scratch.join("standin/terraform.tfstate").exists());
        assert!(scratch.join("registry/.terraform.lock.hcl").exists());
        std::fs::remove_dir_all(&scratch)?;
        Ok(())
    }
}
