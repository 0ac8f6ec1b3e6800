//! Serverless: package each stage offline (every Terraform value given as a placeholder `--param`, so no AWS call is
//! made), check what the generated CloudFormation template holds, then cfn-lint and checkov on it.

use std::path::Path;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::{Validator, checkov};
use crate::stage::known_stages;
use crate::step::Step;

/// Placeholder values for the SSM contract, shaped like the real ones so that cfn-lint's patterns apply. The tidy
/// test checks that they cover docs/architecture.md's table exactly.
pub const PLACEHOLDER_PARAMS: &[(&str, &str)] = &[
    (
        "privateSubnetIds",
        "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2,subnet-0aaaaaaaaaaaaaaa3",
    ),
    ("lambdaSecurityGroupId", "sg-0aaaaaaaaaaaaaaa1"),
    (
        "dbProxyEndpoint",
        "pmp-placeholder.proxy-cexample.eu-central-1.rds.amazonaws.com",
    ),
    ("dbProxyResourceId", "prx-0aaaaaaaaaaaaaaa1"),
    ("dbName", "pmp"),
    ("dbUser", "pmp_api"),
    ("dbMigratorUser", "pmp_migrator"),
    (
        "dataBucketName",
        "pmp-placeholder-data-123456789012-eu-central-1",
    ),
    (
        "deploymentBucketName",
        "pmp-placeholder-deployments-123456789012-eu-central-1",
    ),
    (
        "lambdaRoleArn",
        "arn:aws:iam::123456789012:role/pmp-api-placeholder-lambda",
    ),
    (
        "migrationRoleArn",
        "arn:aws:iam::123456789012:role/pmp-api-placeholder-migration",
    ),
    (
        "cloudformationRoleArn",
        "arn:aws:iam::123456789012:role/pmp-api-placeholder-cloudformation",
    ),
    ("apiDomainName", "api.placeholder.example.com"),
    (
        "certificateArn",
        "arn:aws:acm:eu-central-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
    ),
    ("hostedZoneId", "Z0000000000000000000A"),
    ("reservedConcurrency", "20"),
    (
        "alarmTopicArn",
        "arn:aws:sns:eu-central-1:123456789012:pmp-placeholder-alarms",
    ),
    (
        "kmsKeyArn",
        "arn:aws:kms:eu-central-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    ),
    ("thirdPartyApiUrl", "https://third-party.example.com"),
];

/// Where `serverless package` writes a stage's package; the policy checks read the template from there too.
pub fn package_folder(stage: &str) -> String {
    format!("target/serverless/{stage}")
}

pub fn template_path(stage: &str) -> String {
    format!(
        "{}/cloudformation-template-update-stack.json",
        package_folder(stage)
    )
}

pub fn validators(root: &Path) -> Vec<Validator> {
    if !root.join("serverless.yml").exists() {
        return Vec::new();
    }
    let stages = known_stages(root).unwrap_or_default();
    let mut all = Vec::new();
    for stage in &stages {
        let template = template_path(stage);
        let absolute = root.join(&template);
        all.push(
            Validator::new(format!("serverless package {stage}"), format!("serverless.yml → {template}"))
                .step(package(stage))
                .step(Step::internal("check the template: the API and migration functions in the VPC, an HTTP API, log retention, no IAM role", move |_| {
                    let text = std::fs::read_to_string(&absolute).with_context(|| format!("cannot read {}", absolute.display()))?;
                    check_template(&serde_json::from_str(&text).context("the generated template is not JSON")?)
                }))
                .step(Step::command("lint the generated template", ".venv/bin/cfn-lint", ["--format", "parseable", &template]))
                .step(checkov(
                    "scan the generated template",
                    &["--file", &template, "--framework", "cloudformation"],
                )),
        );
    }
    all.push(
        Validator::new("checkov serverless", "serverless.yml").step(checkov(
            "scan serverless.yml",
            &["--file", "serverless.yml", "--framework", "serverless"],
        )),
    );
    all
}

/// `serverless package` with every Terraform value as a placeholder and no credentials at all. It packages the real
/// zip, which `check` builds first when it is missing.
fn package(stage: &str) -> Step {
    let mut args = vec![
        "--no".to_owned(),
        "--".to_owned(),
        "serverless".to_owned(),
        "package".to_owned(),
        "--stage".to_owned(),
        stage.to_owned(),
        "--region".to_owned(),
        "eu-central-1".to_owned(),
        "--package".to_owned(),
        package_folder(stage),
    ];
    args.extend(
        PLACEHOLDER_PARAMS
            .iter()
            .map(|(name, value)| format!("--param={name}={value}")),
    );
    Step::command(format!("package the {stage} stage offline"), "npx", args)
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_SECRET_ACCESS_KEY", "")
        .env("AWS_SESSION_TOKEN", "")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// What the issue asks of the generated template.
pub fn check_template(template: &Value) -> anyhow::Result<()> {
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .context("the template has no Resources")?;
    let of_type = |kind: &str| {
        resources
            .values()
            .filter(|r| r.get("Type").and_then(Value::as_str) == Some(kind))
            .collect::<Vec<_>>()
    };
    let functions = of_type("AWS::Lambda::Function");
    ensure!(
        functions.len() == 2,
        "expected two AWS::Lambda::Function (the API and the migration function), found {}",
        functions.len()
    );
    for function in &functions {
        let properties = &function["Properties"];
        ensure!(
            properties["Runtime"] == "provided.al2023",
            "a function's runtime is {}, not provided.al2023",
            properties["Runtime"]
        );
        let architectures = &properties["Architectures"];
        ensure!(
            architectures
                .as_array()
                .is_some_and(|a| a.len() == 1 && a[0] == "arm64"),
            "a function is not arm64: {architectures}"
        );
        let vpc = &properties["VpcConfig"];
        ensure!(
            vpc.get("SubnetIds").is_some() && vpc.get("SecurityGroupIds").is_some(),
            "a function is not in the VPC"
        );
        ensure!(
            properties.get("ReservedConcurrentExecutions").is_some(),
            "a function has no reserved concurrency"
        );
    }
    // The migration function: one run at a time, up to Lambda's 900 s, told it is the migration function, and no
    // event source (no permission lets any service invoke it).
    let migrate = &resources
        .get("MigrateLambdaFunction")
        .context("the template has no MigrateLambdaFunction")?["Properties"];
    ensure!(
        migrate["ReservedConcurrentExecutions"] == 1,
        "the migration function's reserved concurrency is not 1"
    );
    ensure!(
        migrate["Timeout"].as_u64().is_some_and(|t| t <= 900),
        "the migration function's timeout is not a number of seconds up to 900"
    );
    ensure!(
        migrate["Environment"]["Variables"]["PMP_FUNCTION"] == "migrate",
        "the migration function does not set PMP_FUNCTION=migrate"
    );
    let invokers = resources
        .values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Lambda::Permission"))
        .filter(|r| {
            r["Properties"]["FunctionName"]
                .to_string()
                .contains("MigrateLambdaFunction")
        })
        .count();
    ensure!(
        invokers == 0,
        "a Lambda permission lets a service invoke the migration function"
    );
    ensure!(
        !of_type("AWS::ApiGatewayV2::Api").is_empty(),
        "the template has no AWS::ApiGatewayV2::Api"
    );
    let log_groups = of_type("AWS::Logs::LogGroup");
    ensure!(!log_groups.is_empty(), "the template has no log group");
    for group in &log_groups {
        ensure!(
            group["Properties"].get("RetentionInDays").is_some(),
            "a log group has no retention: {group}"
        );
    }
    let roles = of_type("AWS::IAM::Role");
    if !roles.is_empty() {
        bail!(
            "the template creates {} IAM role(s); every role must come from Terraform",
            roles.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(function: Value, extra: Value) -> Value {
        let mut migrate = good_function();
        migrate["ReservedConcurrentExecutions"] = serde_json::json!(1);
        migrate["Timeout"] = serde_json::json!(900);
        migrate["Environment"] = serde_json::json!({"Variables": {"PMP_FUNCTION": "migrate"}});
        let mut resources = serde_json::json!({
            "ApiLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": function},
            "MigrateLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": migrate},
            "HttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
            "ApiLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}}
        });
        if let (Some(resources), Some(extra)) = (resources.as_object_mut(), extra.as_object()) {
            resources.extend(extra.clone());
        }
        serde_json::json!({"Resources": resources})
    }

    fn good_function() -> Value {
        serde_json::json!({
            "Runtime": "provided.al2023", "Architectures": ["arm64"],
            "VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
            "ReservedConcurrentExecutions": 20
        })
    }

    /// (SSM name, Serverless param) rows of docs/architecture.md's contract table.
    fn contract_rows() -> Vec<(String, String)> {
        let docs = std::fs::read_to_string(crate::project_root().join("docs/architecture.md"))
            .expect("docs/architecture.md");
        let table = docs
            .split("### SSM parameters")
            .nth(1)
            .expect("the SSM table section");
        table
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line
                    .split('|')
                    .map(|cell| cell.trim().trim_matches('`'))
                    .collect();
                (cells.len() > 3
                    && cells[1].contains('-')
                    && !cells[2].is_empty()
                    && !cells[2].starts_with('-'))
                .then(|| (cells[1].to_owned(), cells[2].to_owned()))
            })
            .collect()
    }

    #[test]
    fn placeholders_cover_the_documented_contract_exactly() {
        let rows = contract_rows();
        let mut documented: Vec<&str> = rows.iter().map(|(_, param)| param.as_str()).collect();
        let mut placeholders: Vec<&str> =
            PLACEHOLDER_PARAMS.iter().map(|(name, _)| *name).collect();
        documented.sort_unstable();
        placeholders.sort_unstable();
        assert_eq!(documented, placeholders);
    }

    #[test]
    fn serverless_reads_each_documented_parameter_from_its_param_or_ssm() {
        let serverless = std::fs::read_to_string(crate::project_root().join("serverless.yml"))
            .expect("serverless.yml");
        for (name, param) in contract_rows() {
            let plain = format!("${{param:{param}, ssm:/pmp/${{sls:stage}}/{name}}}");
            let raw = format!("${{param:{param}, ssm(raw):/pmp/${{sls:stage}}/{name}}}");
            let used = serverless.contains(&plain) || serverless.contains(&raw);
            // The proxy's resource id is for Terraform's rds-db:connect policy; the function does not need it.
            assert!(
                used || name == "db-proxy-resource-id",
                "serverless.yml does not read {name} as {plain}"
            );
        }
    }

    #[test]
    fn a_template_as_required_passes() {
        assert!(check_template(&template(good_function(), serde_json::json!({}))).is_ok());
    }

    #[test]
    fn each_requirement_is_enforced() {
        let role = serde_json::json!({"Role": {"Type": "AWS::IAM::Role", "Properties": {}}});
        assert!(
            check_template(&template(good_function(), role)).is_err(),
            "an IAM role"
        );
        for (key, value) in [
            ("Runtime", serde_json::json!("provided.al2")),
            ("Architectures", serde_json::json!(["x86_64"])),
            ("VpcConfig", serde_json::json!({})),
        ] {
            let mut function = good_function();
            function[key] = value;
            assert!(
                check_template(&template(function, serde_json::json!({}))).is_err(),
                "{key}"
            );
        }
        let mut unbounded = good_function();
        unbounded
            .as_object_mut()
            .map(|f| f.remove("ReservedConcurrentExecutions"));
        assert!(
            check_template(&template(unbounded, serde_json::json!({}))).is_err(),
            "no reserved concurrency"
        );
        let mut loose = good_function();
        loose["ReservedConcurrentExecutions"] = serde_json::json!(2);
        loose["Timeout"] = serde_json::json!(900);
        loose["Environment"] = serde_json::json!({"Variables": {"PMP_FUNCTION": "migrate"}});
        let two_at_once = serde_json::json!({
            "MigrateLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": loose}
        });
        assert!(
            check_template(&template(good_function(), two_at_once)).is_err(),
            "two migrations at once"
        );
        let exposed = serde_json::json!({"MigratePermission": {"Type": "AWS::Lambda::Permission",
            "Properties": {"FunctionName": {"Fn::GetAtt": ["MigrateLambdaFunction", "Arn"]}}}});
        assert!(
            check_template(&template(good_function(), exposed)).is_err(),
            "an event source on the migration function"
        );
        let forever =
            serde_json::json!({"ApiLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {}}});
        assert!(
            check_template(&template(good_function(), forever)).is_err(),
            "a log group without retention"
        );
    }
}
