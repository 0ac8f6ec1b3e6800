//! Every route and every error case of the handler, without a database (the `migrate` command against a real
//! database is in tests/db/function.rs).

use pmp_api::api::ServiceInfo;
use pmp_api::db::DbConfig;
use pmp_api::handler::{Answer, App, FunctionError, Role};
use pmp_api::migrations::Settings;
use serde_json::{Value, json};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// An app whose database refuses connections at once (nothing listens on port 1).
fn app() -> App {
    App::new(
        ServiceInfo::new("test"),
        Ok(DbConfig::Url("postgres://pmp@127.0.0.1:1/pmp".into())),
    )
}

/// The migration function built from the same zip, with the same unreachable database.
fn migration_app() -> App {
    app().with_role(Role::Migrate, Ok(Settings::DEFAULT))
}

fn event(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read a sample event"))
        .expect("sample events are JSON")
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// The API answer as the caller sees it (serialised), with its body parsed.
struct Http {
    status: i64,
    headers: Value,
    body: Value,
}

fn call(event: Value) -> Http {
    let answer =
        block_on(app().handle(event, REQUEST_ID)).expect("API events always get an answer");
    assert!(
        matches!(answer, Answer::Api(_)),
        "not an API answer: {answer:?}"
    );
    let wire = serde_json::to_value(&answer).expect("answers serialise");
    assert_eq!(wire["isBase64Encoded"], json!(false));
    let body = wire["body"].as_str().expect("a text body");
    Http {
        status: wire["statusCode"].as_i64().expect("a status code"),
        headers: wire["headers"].clone(),
        body: serde_json::from_str(body).expect("bodies are JSON"),
    }
}

fn fails(event: Value) -> FunctionError {
    block_on(app().handle(event, REQUEST_ID)).expect_err("a function error")
}

fn bad_request(response: &Http, fragment: &str) {
    assert_eq!(response.status, 400, "{:?}", response.body);
    assert_eq!(response.body["error"]["code"], "bad_request");
    let message = response.body["error"]["message"]
        .as_str()
        .expect("an error message");
    assert!(
        message.contains(fragment),
        "{message:?} does not mention {fragment:?}"
    );
    assert_eq!(response.body["request_id"], REQUEST_ID);
}

#[test]
fn health_answers_ok() {
    let response = call(event("health.json"));
    assert_eq!(response.status, 200);
    assert_eq!(response.body["status"], "ok");
    assert_eq!(response.body["service"], "pmp-api");
    assert_eq!(response.body["stage"], "test");
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(response.headers["cache-control"], "no-store");
}

#[test]
fn health_answers_get_only() {
    let mut health = event("health.json");
    health["requestContext"]["http"]["method"] = json!("DELETE");
    let response = call(health);
    assert_eq!(response.status, 405);
    assert_eq!(response.body["error"]["code"], "method_not_allowed");
    assert_eq!(response.headers["allow"], "GET");
}

#[test]
fn other_routes_get_the_labelled_placeholder() {
    let response = call(event("get-preferences.json"));
    assert_eq!(response.status, 200);
    assert_eq!(response.body["placeholder"], true);
    assert!(
        response.body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Placeholder answer"))
    );
    assert_eq!(response.body["service"], "pmp-api");
    assert_eq!(response.body["stage"], "test");
    assert_eq!(response.body["method"], "GET");
    assert_eq!(response.body["path"], "/v1/subjects/crm-1/preferences");
    assert_eq!(response.body["request_id"], REQUEST_ID);
    assert_eq!(response.body["api_request_id"], "Bk3ZcjK1GiAEMlR=");
}

#[test]
fn json_bodies_are_accepted_plain_or_base64() {
    for name in ["post-consent.json", "post-consent-base64.json"] {
        let response = call(event(name));
        assert_eq!(response.status, 200, "{name}: {:?}", response.body);
        assert_eq!(response.body["method"], "POST");
        assert_eq!(response.body["path"], "/v1/subjects/crm-1/consent-events");
    }
}

#[test]
fn a_body_declared_as_json_must_be_json() {
    let mut post = event("post-consent.json");
    post["body"] = json!("{\"choice\": ");
    bad_request(&call(post.clone()), "not valid JSON");
    post["headers"]["content-type"] = json!("application/merge-patch+json");
    bad_request(&call(post.clone()), "not valid JSON");
    // Not declared as JSON: not the function's business yet.
    post["headers"]["content-type"] = json!("text/plain");
    assert_eq!(call(post).status, 200);
}

#[test]
fn a_base64_body_must_decode() {
    let mut post = event("post-consent-base64.json");
    post["body"] = json!("not base64!");
    bad_request(&call(post), "base64");
}

#[test]
fn other_api_payload_formats_are_refused() {
    bad_request(
        &call(event("rest-api-v1.json")),
        "payload format version 2.0",
    );
    let mut health = event("health.json");
    health["version"] = json!("1.0");
    bad_request(&call(health), "payload format version 2.0");
    let mut no_http = event("health.json");
    no_http["requestContext"]["http"] = json!("GET /health");
    bad_request(&call(no_http), "payload format version 2.0");
}

#[test]
fn malformed_api_events_are_refused() {
    let mut bad_method = event("health.json");
    bad_method["requestContext"]["http"]["method"] = json!(42);
    bad_request(&call(bad_method), "malformed API Gateway event");
    let mut bad_headers = event("health.json");
    bad_headers["headers"] = json!(["not", "a", "map"]);
    bad_request(&call(bad_headers), "malformed API Gateway event");
    let mut no_path = event("health.json");
    no_path["requestContext"]["http"]
        .as_object_mut()
        .expect("an object")
        .remove("path");
    no_path
        .as_object_mut()
        .expect("an object")
        .remove("rawPath");
    bad_request(&call(no_path), "no request path");
    let mut relative = event("health.json");
    relative["requestContext"]["http"]["path"] = json!("health");
    bad_request(&call(relative), "must start with '/'");
}

#[test]
fn the_migrate_event_file_is_the_command() {
    // What `cargo xtask migrate` sends. No database here: the command must fail as a function error naming the target.
    let error = block_on(migration_app().handle(event("migrate.json"), REQUEST_ID))
        .expect_err("no database");
    assert!(
        matches!(error, FunctionError::DatabaseUnavailable(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("pmp@127.0.0.1:1/pmp"), "{error}");
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "DatabaseUnavailable");
}

#[test]
fn migrate_without_database_configuration_explains_what_is_missing() {
    let app = App::new(ServiceInfo::new("test"), DbConfig::from_lookup(|_| None))
        .with_role(Role::Migrate, Ok(Settings::DEFAULT));
    let error = block_on(app.handle(json!({"command": "migrate"}), REQUEST_ID))
        .expect_err("no configuration");
    assert!(error.to_string().contains("DB_HOST is not set"), "{error}");
    // The API keeps working without a database configuration.
    let app = App::new(ServiceInfo::new("test"), DbConfig::from_lookup(|_| None));
    let answer =
        block_on(app.handle(event("health.json"), REQUEST_ID)).expect("health needs no database");
    assert_eq!(
        serde_json::to_value(answer).expect("serialise")["statusCode"],
        200
    );
}

#[test]
fn unknown_commands_are_refused() {
    let error = fails(json!({"command": "drop-database"}));
    assert!(matches!(&error, FunctionError::UnknownCommand(name) if name == "drop-database"));
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_type,
        "UnknownCommand"
    );
    // Names are exact.
    assert!(matches!(
        fails(json!({"command": "MIGRATE"})),
        FunctionError::UnknownCommand(_)
    ));
}

#[test]
fn events_of_unknown_shape_are_function_errors() {
    for event in [
        json!(null),
        json!(true),
        json!(7),
        json!("migrate"),
        json!([{"command": "migrate"}]),
        json!({}),
        json!({"Records": []}),
        json!({"command": 1}),
        json!({"command": "migrate", "force": true}),
    ] {
        let error = fails(event.clone());
        assert!(
            matches!(error, FunctionError::InvalidEvent(_)),
            "{event}: {error:?}"
        );
        assert_eq!(
            lambda_runtime::Diagnostic::from(error).error_type,
            "InvalidEvent"
        );
    }
}

#[test]
fn error_messages_stay_short_whatever_the_event() {
    let huge: serde_json::Map<String, Value> = (0..10_000)
        .map(|i| (format!("{}{i}", "k".repeat(1000)), json!(i)))
        .collect();
    let message = fails(Value::Object(huge)).to_string();
    assert!(message.len() < 600, "{} characters", message.len());
}

#[test]
fn the_api_function_refuses_database_commands() {
    for command in ["migrate", "status"] {
        let error = fails(json!({ "command": command }));
        assert!(matches!(error, FunctionError::CommandRefused), "{error:?}");
        assert!(
            error.to_string().contains("pmp-api-<stage>-migrate"),
            "{error}"
        );
        assert_eq!(
            lambda_runtime::Diagnostic::from(error).error_type,
            "CommandRefused"
        );
    }
}

#[test]
fn the_migration_function_serves_no_api_events() {
    let error = block_on(migration_app().handle(event("health.json"), REQUEST_ID))
        .expect_err("no API on the migration function");
    assert!(matches!(error, FunctionError::ApiEventRefused), "{error:?}");
}

#[test]
fn only_pmp_function_migrate_makes_the_migration_function() {
    let role = |value: Option<&str>| Role::from_lookup(|_| value.map(str::to_owned));
    assert_eq!(role(Some("migrate")), Role::Migrate);
    assert_eq!(role(None), Role::Api);
    assert_eq!(role(Some("api")), Role::Api);
    assert_eq!(role(Some("MIGRATE")), Role::Api);
}

#[test]
fn a_bad_migration_setting_fails_the_command_not_the_start() {
    let settings = Settings::from_lookup(|name| {
        (name == pmp_api::migrations::LOCK_TIMEOUT_VAR).then(|| "5m".to_owned())
    });
    let message = settings.clone().expect_err("5m is not whole seconds");
    assert!(
        message.contains("MIGRATION_LOCK_TIMEOUT_SECONDS must be a positive number of seconds"),
        "{message}"
    );
    let app = app().with_role(Role::Migrate, settings);
    let error =
        block_on(app.handle(json!({"command": "migrate"}), REQUEST_ID)).expect_err("refused");
    assert!(
        error.to_string().contains("MIGRATION_LOCK_TIMEOUT_SECONDS"),
        "{error}"
    );
    let custom = Settings::from_lookup(|name| match name {
        "MIGRATION_LOCK_TIMEOUT_SECONDS" => Some("2".to_owned()),
        "MIGRATION_STATEMENT_TIMEOUT_SECONDS" => Some("600".to_owned()),
        _ => None,
    })
    .expect("valid settings");
    assert_eq!(custom.lock_timeout, std::time::Duration::from_secs(2));
    assert_eq!(
        custom.statement_timeout,
        std::time::Duration::from_secs(600)
    );
    assert_eq!(
        custom.wait_for_other_run,
        Settings::DEFAULT.wait_for_other_run
    );
}

#[test]
fn the_database_route_answers_503_with_a_code_when_the_database_is_unreachable() {
    let mut database = event("health.json");
    database["rawPath"] = json!("/database");
    database["requestContext"]["http"]["path"] = json!("/database");
    let response = call(database.clone());
    assert_eq!(response.status, 503, "{:?}", response.body);
    assert_eq!(response.body["error"]["code"], "database_unavailable");
    assert_eq!(response.headers["retry-after"], "1");
    // The error names no host, role or database message: those are in the function's log only.
    let text = response.body.to_string();
    assert!(!text.contains("127.0.0.1"), "{text}");
    database["requestContext"]["http"]["method"] = json!("PUT");
    let response = call(database);
    assert_eq!(response.status, 405);
    assert_eq!(response.headers["allow"], "GET");
}
