//! The stage's connection figures, from the one place they are computed: the provider-free Terraform module
//! `terraform/modules/concurrency`, evaluated with `terraform console` on the stage's own variables (read from
//! `terraform/stages/<stage>.tfvars`). No second table of instance classes: a change to the module's arithmetic is
//! what the load test then exercises. The proxy's borrow timeout is the database module's default for
//! `proxy_connection_borrow_timeout_seconds` (the root module does not override it).

use anyhow::{Context, bail};
use serde_json::Value;

/// The module, copied to a scratch folder so that `terraform init` writes nothing into the source tree.
pub const MODULE: &str = "terraform/modules/concurrency";
/// Where the borrow timeout's default is declared.
pub const DATABASE_VARIABLES: &str = "terraform/modules/database/variables.tf";
const BORROW_TIMEOUT_VARIABLE: &str = "proxy_connection_borrow_timeout_seconds";

/// The expression `terraform console` prints, as one JSON string.
pub const EXPRESSION: &str = "jsonencode({max_connections = local.max_connections, \
     proxy_connection_budget = local.proxy_connection_budget, reserved_concurrency = local.reserved_concurrency})";

/// The module's inputs, as the root module passes them for the stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInputs {
    pub instance_class: String,
    pub max_connections_percent: u32,
    pub headroom: u32,
    pub reserved_concurrency_limit: Option<u32>,
}

/// What the load test sizes everything from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub instance_class: String,
    /// PostgreSQL's `max_connections` (the module's estimate of RDS's default for the class).
    pub max_connections: u32,
    pub max_connections_percent: u32,
    /// What the proxy may open: the PgBouncer pool size.
    pub pool_size: u32,
    pub headroom: u32,
    /// The function's reserved concurrency: the emulator's limit.
    pub reserved_concurrency: u32,
    /// RDS Proxy's connection borrow timeout: PgBouncer's `query_wait_timeout`.
    pub borrow_timeout_seconds: u32,
}

impl Bound {
    pub fn json(&self) -> Value {
        serde_json::json!({
            "instance_class": self.instance_class,
            "max_connections": self.max_connections,
            "max_connections_percent": self.max_connections_percent,
            "pool_size": self.pool_size,
            "headroom": self.headroom,
            "reserved_concurrency": self.reserved_concurrency,
            "borrow_timeout_seconds": self.borrow_timeout_seconds,
        })
    }
}

/// Reads the module's inputs from a stage's variable file (`name = value` lines, as `terraform fmt` writes them).
pub fn stage_inputs(tfvars: &str, stage: &str) -> anyhow::Result<StageInputs> {
    let value = |name: &str| -> Option<String> {
        tfvars.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == name).then(|| {
                let value = value.split('#').next().unwrap_or_default().trim();
                value.trim_matches('"').to_owned()
            })
        })
    };
    let required = |name: &str| {
        value(name).with_context(|| format!("terraform/stages/{stage}.tfvars does not set {name}"))
    };
    let number = |name: &str, text: String| -> anyhow::Result<u32> {
        text.parse().with_context(|| {
            format!("{name} in terraform/stages/{stage}.tfvars is not a whole number: {text:?}")
        })
    };
    Ok(StageInputs {
        instance_class: required("db_instance_class")?,
        max_connections_percent: number(
            "proxy_max_connections_percent",
            required("proxy_max_connections_percent")?,
        )?,
        headroom: number("concurrency_headroom", required("concurrency_headroom")?)?,
        reserved_concurrency_limit: match value("reserved_concurrency_limit") {
            None => None,
            Some(text) if text == "null" => None,
            Some(text) => Some(number("reserved_concurrency_limit", text)?),
        },
    })
}

/// `terraform console`'s `-var` arguments for these inputs.
pub fn console_vars(inputs: &StageInputs) -> Vec<String> {
    let mut vars = vec![
        format!("-var=instance_class={}", inputs.instance_class),
        format!(
            "-var=max_connections_percent={}",
            inputs.max_connections_percent
        ),
        format!("-var=headroom={}", inputs.headroom),
    ];
    if let Some(limit) = inputs.reserved_concurrency_limit {
        vars.push(format!("-var=reserved_concurrency_limit={limit}"));
    }
    vars
}

/// The default of `proxy_connection_borrow_timeout_seconds` in the database module's variables.
pub fn borrow_timeout(variables_tf: &str) -> anyhow::Result<u32> {
    let start = variables_tf
        .find(&format!("variable \"{BORROW_TIMEOUT_VARIABLE}\""))
        .with_context(|| format!("{DATABASE_VARIABLES} declares no {BORROW_TIMEOUT_VARIABLE}"))?;
    let block = &variables_tf[start..];
    let block = &block[..block.find("\n}").unwrap_or(block.len())];
    let default = block
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "default").then(|| value.trim().to_owned())
        })
        .with_context(|| {
            format!("{BORROW_TIMEOUT_VARIABLE} in {DATABASE_VARIABLES} has no default")
        })?;
    default.parse().with_context(|| {
        format!("the default of {BORROW_TIMEOUT_VARIABLE} is not a whole number: {default:?}")
    })
}

/// The figures from `terraform console`'s answer to [`EXPRESSION`]: a quoted HCL string holding JSON.
pub fn parse_console(
    output: &str,
    inputs: &StageInputs,
    borrow_timeout_seconds: u32,
) -> anyhow::Result<Bound> {
    let line = output
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with('"'))
        .with_context(|| format!("terraform console printed no value: {output:?}"))?;
    let json: String =
        serde_json::from_str(line).context("terraform console's value is not a string")?;
    let figures: Value =
        serde_json::from_str(&json).context("terraform console's value is not JSON")?;
    let figure = |name: &str| -> anyhow::Result<u32> {
        figures
            .get(name)
            .and_then(Value::as_u64)
            .and_then(|value| u32::try_from(value).ok())
            .with_context(|| {
                format!("the concurrency module gave no whole number for {name}: {figures}")
            })
    };
    let bound = Bound {
        instance_class: inputs.instance_class.clone(),
        max_connections: figure("max_connections")?,
        max_connections_percent: inputs.max_connections_percent,
        pool_size: figure("proxy_connection_budget")?,
        headroom: inputs.headroom,
        reserved_concurrency: figure("reserved_concurrency")?,
        borrow_timeout_seconds,
    };
    if bound.reserved_concurrency == 0 || bound.reserved_concurrency > bound.pool_size {
        bail!(
            "the concurrency module's reserved concurrency {} does not fit its pool of {}",
            bound.reserved_concurrency,
            bound.pool_size
        );
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &str = r#"
db_instance_class                      = "db.t4g.micro"
# max_connections ~70 (db.t4g.micro) x 50 % = 35 proxy connections
proxy_max_connections_percent      = 50 # a comment
concurrency_headroom               = 3
"#;

    #[test]
    fn the_stage_inputs_are_read_from_its_variable_file() {
        let inputs = stage_inputs(DEV, "dev").expect("complete");
        assert_eq!(
            inputs,
            StageInputs {
                instance_class: "db.t4g.micro".into(),
                max_connections_percent: 50,
                headroom: 3,
                reserved_concurrency_limit: None,
            }
        );
        assert_eq!(
            console_vars(&inputs),
            [
                "-var=instance_class=db.t4g.micro",
                "-var=max_connections_percent=50",
                "-var=headroom=3"
            ]
        );
        let limited =
            stage_inputs(&format!("{DEV}reserved_concurrency_limit = 20\n"), "dev").expect("limit");
        assert_eq!(limited.reserved_concurrency_limit, Some(20));
        let missing = stage_inputs("concurrency_headroom = 3", "x").expect_err("incomplete");
        assert!(
            missing
                .to_string()
                .contains("does not set db_instance_class"),
            "{missing}"
        );
    }

    #[test]
    fn every_stage_file_names_the_inputs() {
        let root = crate::project_root();
        for stage in crate::stage::known_stages(&root).expect("stages") {
            let text =
                std::fs::read_to_string(root.join(format!("terraform/stages/{stage}.tfvars")))
                    .expect("read");
            stage_inputs(&text, &stage).expect("the load test can size every stage");
        }
    }

    #[test]
    fn the_borrow_timeout_is_the_database_modules_default() {
        let text = "variable \"other\" {\n  default = 9\n}\n\nvariable \"proxy_connection_borrow_timeout_seconds\" {\n  type    = number\n  default = 5\n}\n";
        assert_eq!(borrow_timeout(text).expect("found"), 5);
        let real =
            std::fs::read_to_string(crate::project_root().join(DATABASE_VARIABLES)).expect("read");
        assert!(borrow_timeout(&real).expect("declared") >= 1);
        assert!(borrow_timeout("variable \"x\" {}").is_err());
    }

    #[test]
    fn the_console_answer_is_parsed_and_checked() {
        let inputs = stage_inputs(DEV, "dev").expect("complete");
        let output = "\"{\\\"max_connections\\\":70,\\\"proxy_connection_budget\\\":35,\\\"reserved_concurrency\\\":32}\"\n";
        let bound = parse_console(output, &inputs, 5).expect("parsed");
        assert_eq!(
            (
                bound.max_connections,
                bound.pool_size,
                bound.reserved_concurrency
            ),
            (70, 35, 32)
        );
        let too_high = output.replace("32", "36");
        assert!(parse_console(&too_high, &inputs, 5).is_err());
        assert!(parse_console("Error: nothing", &inputs, 5).is_err());
    }
}
