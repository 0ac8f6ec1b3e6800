//! The benchmark's baseline: the smallest Lambda that answers an API Gateway event, built with the function's release
//! profile. `cargo xtask bench` compares the function against it, so whatever the function adds over this (event types,
//! logging set-up, configuration, its own code) shows up as the difference.
//!
//! Only lambda_runtime, tokio and serde_json, the way `cargo lambda new` starts a function: no event types, no tracing
//! subscriber, no configuration.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handler(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json" },
        "body": r#"{"message":"hello"}"#,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
