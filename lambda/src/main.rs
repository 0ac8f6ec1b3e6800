//! The Lambda entry point (`bootstrap` for the `provided.al2023` runtime). Everything else is in the library.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use pmp_api::handler::App;
use serde_json::Value;

fn main() -> Result<(), lambda_runtime::Error> {
    pmp_api::logging::init();
    // Cold start reads the environment only: the database connection opens on the first invocation that needs it.
    let app = Arc::new(App::from_env());
    // One invocation at a time per execution environment: a single-threaded runtime is enough and starts faster.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| {
            let app = app.clone();
            async move { app.handle(event.payload, &event.context.request_id).await }
        },
    )))
}
