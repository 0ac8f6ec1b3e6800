//! What the emulator must hold after each rehearsed command, judged on the JSON that read_state.py prints. Expected
//! values come from what the rehearsal seeded (the stage's SSM parameters) and from the names xtask uses, so a change
//! to serverless.yml that the commands carry out differently from what was meant fails here.

use std::collections::BTreeMap;

use anyhow::bail;
use serde_json::Value;

use crate::names::{ACCOUNT_STACK, KMS_KEY_STACK, STATE_STACK};
use crate::stage::Stage;

/// The stage's SSM parameters as seeded: full name → value.
pub type Seeded = BTreeMap<String, String>;

fn seeded<'a>(values: &'a Seeded, stage: &Stage, name: &str) -> &'a str {
    values
        .get(&format!("/pmp/{stage}/{name}"))
        .map_or("", String::as_str)
}

fn finish(what: &str, problems: Vec<String>) -> anyhow::Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    bail!("{what}: {}", problems.join("; "))
}

fn stack_complete(state: &Value, name: &str, problems: &mut Vec<String>) {
    match state["stacks"][name]["status"].as_str() {
        Some(status) if status.ends_with("_COMPLETE") && !status.contains("ROLLBACK") => {}
        Some(status) => problems.push(format!("stack {name} is {status}")),
        None => problems.push(format!("stack {name} does not exist")),
    }
}

fn output(state: &Value, stack: &str, key: &str, problems: &mut Vec<String>) {
    if state["stacks"][stack]["outputs"][key]
        .as_str()
        .is_none_or(str::is_empty)
    {
        problems.push(format!("stack {stack} has no output {key}"));
    }
}

/// After `bootstrap`: the three stacks complete, with the outputs `plan` reads, and the account layer's GitLab OIDC
/// provider in IAM under the ARN its output names (the ARN Terraform derives and every stage's roles trust).
pub fn bootstrapped(state: &Value) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    stack_complete(state, KMS_KEY_STACK, &mut problems);
    stack_complete(state, STATE_STACK, &mut problems);
    stack_complete(state, ACCOUNT_STACK, &mut problems);
    output(state, KMS_KEY_STACK, "KeyArn", &mut problems);
    output(state, STATE_STACK, "StateBucketName", &mut problems);
    output(state, ACCOUNT_STACK, "GitLabOidcProviderArn", &mut problems);
    let provider = &state["stacks"][ACCOUNT_STACK]["outputs"]["GitLabOidcProviderArn"];
    if provider.is_string()
        && !state["oidc_providers"]
            .as_array()
            .is_some_and(|providers| providers.contains(provider))
    {
        problems.push(format!(
            "the account stack names the OIDC provider {provider}, which IAM does not have"
        ));
    }
    finish("after bootstrap", problems)
}

/// After `deploy`: the stack, every function of the stage configured from Terraform's values, the custom domain
/// mapped to the stack's API with its DNS record, and the artifacts in the deployment bucket.
pub fn deployed(
    state: &Value,
    values: &Seeded,
    stage: &Stage,
    architecture: &str,
) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let stack = crate::names::stack(stage);
    stack_complete(state, &stack, &mut problems);
    output(state, &stack, "HttpApiId", &mut problems);
    let functions = state["functions"].as_object().cloned().unwrap_or_default();
    let api = crate::names::function(stage);
    let migration = crate::names::migration_function(stage);
    for name in [&api, &migration] {
        if !functions.contains_key(name) {
            problems.push(format!("function {name} does not exist"));
        }
    }
    let mut subnets: Vec<&str> = seeded(values, stage, "private-subnet-ids")
        .split(',')
        .collect();
    subnets.sort_unstable();
    let roles: Vec<&str> = values
        .iter()
        .filter(|(name, _)| name.ends_with("-role-arn"))
        .map(|(_, value)| value.as_str())
        .collect();
    for (name, function) in &functions {
        let mut expect = |what: &str, found: Value, wanted: Value| {
            if found != wanted {
                problems.push(format!(
                    "function {name}: {what} is {found}, expected {wanted}"
                ));
            }
        };
        expect(
            "runtime",
            function["runtime"].clone(),
            "provided.al2023".into(),
        );
        expect(
            "architectures",
            function["architectures"].clone(),
            serde_json::json!([architecture]),
        );
        expect(
            "subnets",
            function["subnets"].clone(),
            serde_json::json!(subnets),
        );
        expect(
            "security groups",
            function["security_groups"].clone(),
            serde_json::json!([seeded(values, stage, "lambda-security-group-id")]),
        );
        expect(
            "KMS key",
            function["kms_key_arn"].clone(),
            seeded(values, stage, "kms-key-arn").into(),
        );
        let environment = &function["environment"];
        for (variable, wanted) in [
            ("PMP_STAGE", stage.name()),
            ("DB_HOST", seeded(values, stage, "db-proxy-endpoint")),
            ("DB_NAME", seeded(values, stage, "db-name")),
            ("DATA_BUCKET", seeded(values, stage, "data-bucket-name")),
            (
                "THIRD_PARTY_API_URL",
                seeded(values, stage, "third-party-api-url"),
            ),
        ] {
            expect(
                &format!("environment {variable}"),
                environment[variable].clone(),
                wanted.into(),
            );
        }
        let role = function["role"].as_str().unwrap_or_default();
        if !roles.contains(&role) {
            problems.push(format!(
                "function {name}: role {role} is none of Terraform's roles"
            ));
        }
        if function["reserved_concurrency"].as_u64().is_none() {
            problems.push(format!("function {name} has no reserved concurrency"));
        }
    }
    if let Some(function) = functions.get(&api) {
        if function["role"].as_str() != Some(seeded(values, stage, "lambda-role-arn")) {
            problems.push(format!(
                "function {api} does not run as the Lambda execution role"
            ));
        }
        let wanted: u64 = seeded(values, stage, "reserved-concurrency")
            .parse()
            .unwrap_or(0);
        if function["reserved_concurrency"].as_u64() != Some(wanted) {
            problems.push(format!(
                "function {api}: reserved concurrency {} instead of {wanted}",
                function["reserved_concurrency"]
            ));
        }
    }
    if let Some(function) = functions.get(&migration) {
        if function["role"].as_str() != Some(seeded(values, stage, "migration-role-arn")) {
            problems.push(format!(
                "function {migration} does not run as the migration role"
            ));
        }
        // One migration at a time: the advisory lock serialises runs anyway, reserved concurrency 1 keeps a second
        // invocation from even waiting for it.
        if function["reserved_concurrency"].as_u64() != Some(1) {
            problems.push(format!(
                "function {migration}: reserved concurrency {} instead of 1",
                function["reserved_concurrency"]
            ));
        }
        if function["environment"]["DB_USER"].as_str()
            != Some(seeded(values, stage, "db-migrator-user"))
        {
            problems.push(format!(
                "function {migration} does not sign in as the migrator database user"
            ));
        }
    }
    let domain = &state["domain"];
    if domain.is_null() {
        problems.push("the custom domain does not exist".to_owned());
    } else {
        let api_id = &state["stacks"][&stack]["outputs"]["HttpApiId"];
        if !domain["api_ids"]
            .as_array()
            .is_some_and(|ids| ids.contains(api_id))
        {
            problems.push(format!(
                "the custom domain is not mapped to the stack's API {api_id}"
            ));
        }
        if domain["endpoint_type"] != "REGIONAL" || domain["security_policy"] != "TLS_1_2" {
            problems.push(format!(
                "the custom domain is {} with {}",
                domain["endpoint_type"], domain["security_policy"]
            ));
        }
        if domain["certificate_arn"] != seeded(values, stage, "certificate-arn") {
            problems.push("the custom domain does not use Terraform's certificate".to_owned());
        }
    }
    if !records(state).contains(&"A") {
        problems.push("the custom domain has no A record".to_owned());
    }
    let objects = objects(state);
    if !objects.iter().any(|key| key.ends_with(".zip"))
        || !objects.iter().any(|key| key.ends_with(".json"))
    {
        problems.push(format!(
            "the deployment bucket lacks the zip or the template: {objects:?}"
        ));
    }
    finish("after deploy", problems)
}

/// After `teardown`: nothing of the service is left; the bootstrap stacks (account layer included) are.
pub fn removed(state: &Value, stage: &Stage) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let stack = crate::names::stack(stage);
    if !state["stacks"][&stack].is_null() {
        problems.push(format!("stack {stack} still exists"));
    }
    if let Some(functions) = state["functions"]
        .as_object()
        .filter(|functions| !functions.is_empty())
    {
        problems.push(format!(
            "functions remain: {:?}",
            functions.keys().collect::<Vec<_>>()
        ));
    }
    if !state["domain"].is_null() {
        problems.push("the custom domain still exists".to_owned());
    }
    if !records(state).is_empty() {
        problems.push(format!("DNS records remain: {:?}", records(state)));
    }
    if !objects(state).is_empty() {
        problems.push(format!(
            "the deployment bucket still holds {:?}",
            objects(state)
        ));
    }
    stack_complete(state, KMS_KEY_STACK, &mut problems);
    stack_complete(state, STATE_STACK, &mut problems);
    stack_complete(state, ACCOUNT_STACK, &mut problems);
    finish("after teardown", problems)
}

fn records(state: &Value) -> Vec<&str> {
    state["records"]
        .as_array()
        .map_or_else(Vec::new, |records| {
            records
                .iter()
                .filter_map(|record| record["type"].as_str())
                .collect()
        })
}

fn objects(state: &Value) -> Vec<&str> {
    state["objects"]
        .as_array()
        .map_or_else(Vec::new, |objects| {
            objects.iter().filter_map(Value::as_str).collect()
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dev() -> Stage {
        Stage::known("dev", &crate::project_root()).expect("dev is known")
    }

    fn values() -> Seeded {
        [
            ("private-subnet-ids", "subnet-b,subnet-a"),
            ("lambda-security-group-id", "sg-1"),
            ("lambda-role-arn", "arn:role/lambda"),
            ("migration-role-arn", "arn:role/migration"),
            ("db-migrator-user", "pmp_migrator"),
            ("reserved-concurrency", "5"),
            ("kms-key-arn", "arn:key"),
            ("db-proxy-endpoint", "proxy"),
            ("db-name", "pmp"),
            ("data-bucket-name", "data"),
            ("third-party-api-url", "https://x"),
            ("certificate-arn", "arn:cert"),
        ]
        .into_iter()
        .map(|(name, value)| (format!("/pmp/dev/{name}"), value.to_owned()))
        .collect()
    }

    fn deployed_state() -> Value {
        json!({
            "stacks": {
                "pmp-api-dev": {"status": "CREATE_COMPLETE", "outputs": {"HttpApiId": "abc"}},
            },
            "functions": {
                "pmp-api-dev-api": {
                    "runtime": "provided.al2023", "architectures": ["arm64"], "role": "arn:role/lambda",
                    "subnets": ["subnet-a", "subnet-b"], "security_groups": ["sg-1"], "kms_key_arn": "arn:key",
                    "environment": {"PMP_STAGE": "dev", "DB_HOST": "proxy", "DB_NAME": "pmp", "DATA_BUCKET": "data",
                                    "THIRD_PARTY_API_URL": "https://x"},
                    "reserved_concurrency": 5,
                },
                "pmp-api-dev-migrate": {
                    "runtime": "provided.al2023", "architectures": ["arm64"], "role": "arn:role/migration",
                    "subnets": ["subnet-a", "subnet-b"], "security_groups": ["sg-1"], "kms_key_arn": "arn:key",
                    "environment": {"PMP_STAGE": "dev", "DB_HOST": "proxy", "DB_NAME": "pmp", "DATA_BUCKET": "data",
                                    "THIRD_PARTY_API_URL": "https://x", "DB_USER": "pmp_migrator"},
                    "reserved_concurrency": 1,
                },
            },
            "domain": {"endpoint_type": "REGIONAL", "security_policy": "TLS_1_2", "certificate_arn": "arn:cert",
                       "api_ids": ["abc"]},
            "records": [{"name": "api.dev.example.com", "type": "A"}],
            "objects": ["serverless/pmp-api/dev/1/pmp-api.zip", "serverless/pmp-api/dev/1/compiled.json"],
        })
    }

    #[test]
    fn a_deployment_as_meant_passes() {
        deployed(&deployed_state(), &values(), &dev(), "arm64").expect("as meant");
    }

    #[test]
    fn a_migration_function_with_the_api_role_or_concurrency_is_refused() {
        let mut state = deployed_state();
        state["functions"]["pmp-api-dev-migrate"]["role"] = json!("arn:role/lambda");
        state["functions"]["pmp-api-dev-migrate"]["reserved_concurrency"] = json!(5);
        state["functions"]["pmp-api-dev-migrate"]["environment"]["DB_USER"] = json!("pmp_api");
        let error = deployed(&state, &values(), &dev(), "arm64")
            .expect_err("wrong")
            .to_string();
        for part in [
            "does not run as the migration role",
            "reserved concurrency 5 instead of 1",
            "migrator database user",
        ] {
            assert!(error.contains(part), "{part}: {error}");
        }
        state["functions"]
            .as_object_mut()
            .expect("functions")
            .remove("pmp-api-dev-migrate");
        let error = deployed(&state, &values(), &dev(), "arm64")
            .expect_err("missing")
            .to_string();
        assert!(
            error.contains("function pmp-api-dev-migrate does not exist"),
            "{error}"
        );
    }

    #[test]
    fn each_difference_from_terraform_values_is_named() {
        let mut state = deployed_state();
        state["functions"]["pmp-api-dev-api"]["subnets"] = json!(["subnet-a"]);
        state["functions"]["pmp-api-dev-api"]["reserved_concurrency"] = json!(null);
        state["domain"]["api_ids"] = json!([]);
        state["objects"] = json!([]);
        let error = deployed(&state, &values(), &dev(), "arm64")
            .expect_err("wrong")
            .to_string();
        for part in [
            "subnets",
            "no reserved concurrency",
            "not mapped",
            "deployment bucket",
        ] {
            assert!(error.contains(part), "{part}: {error}");
        }
        assert!(
            deployed(&deployed_state(), &values(), &dev(), "x86_64").is_err(),
            "architecture"
        );
    }

    #[test]
    fn a_teardown_leaves_only_the_bootstrap_stacks() {
        let complete = json!({"status": "UPDATE_COMPLETE", "outputs": {}});
        let mut state = json!({"stacks": {KMS_KEY_STACK: complete, STATE_STACK: complete, ACCOUNT_STACK: complete},
                               "functions": {}, "domain": null, "records": [], "objects": []});
        removed(&state, &dev()).expect("clean");
        state["domain"] = json!({"api_ids": []});
        assert!(removed(&state, &dev()).is_err());
        assert!(bootstrapped(&state).is_err(), "no outputs");
    }

    #[test]
    fn a_bootstrap_needs_the_account_stack_and_the_provider_it_names() {
        let provider = "arn:aws:iam::123456789012:oidc-provider/gitlab.com";
        let with = |outputs: Value| json!({"status": "CREATE_COMPLETE", "outputs": outputs});
        let mut state = json!({
            "stacks": {
                KMS_KEY_STACK: with(json!({"KeyArn": "arn:key"})),
                STATE_STACK: with(json!({"StateBucketName": "state"})),
                ACCOUNT_STACK: with(json!({"GitLabOidcProviderArn": provider})),
            },
            "oidc_providers": [provider],
        });
        bootstrapped(&state).expect("as meant");
        state["oidc_providers"] = json!([]);
        let error = bootstrapped(&state).expect_err("no provider").to_string();
        assert!(error.contains("which IAM does not have"), "{error}");
        state["stacks"]
            .as_object_mut()
            .expect("stacks")
            .remove(ACCOUNT_STACK);
        let error = bootstrapped(&state).expect_err("no stack").to_string();
        assert!(error.contains(ACCOUNT_STACK), "{error}");
    }
}
