//! The handler never panics on input (the release build aborts on panic): arbitrary JSON, and API events with
//! arbitrary parts, always get an answer or a function error, and every answer serialises.

use pmp_api::api::ServiceInfo;
use pmp_api::db::DbConfig;
use pmp_api::handler::{Answer, App};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        // Values that mean something to the handler, so that the interesting branches are reached.
        prop_oneof![
            Just("2.0"),
            Just("1.0"),
            Just("migrate"),
            Just("GET"),
            Just("/health"),
            Just("application/json"),
            Just("e30=")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("version"),
                    Just("requestContext"),
                    Just("http"),
                    Just("method"),
                    Just("path"),
                    Just("rawPath"),
                    Just("headers"),
                    Just("body"),
                    Just("isBase64Encoded"),
                    Just("command"),
                    Just("content-type"),
                ]
                .prop_map(str::to_owned)
                .boxed()
                .prop_union(".{0,12}".boxed()),
                inner,
                0..8
            )
            .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid HTTP API event with one part (top level, requestContext or http) replaced by arbitrary JSON.
fn mutated_api_event() -> impl Strategy<Value = Value> {
    let fields = prop_oneof![
        Just(("", "version")),
        Just(("", "rawPath")),
        Just(("", "headers")),
        Just(("", "body")),
        Just(("", "isBase64Encoded")),
        Just(("", "queryStringParameters")),
        Just(("", "cookies")),
        Just(("requestContext", "http")),
        Just(("requestContext", "requestId")),
        Just(("requestContext", "timeEpoch")),
        Just(("requestContext", "authorizer")),
        Just(("http", "method")),
        Just(("http", "path")),
    ];
    (fields, arbitrary_json()).prop_map(|((parent, field), value)| {
        let mut event = json!({
            "version": "2.0",
            "rawPath": "/v1/things",
            "headers": {"content-type": "application/json"},
            "body": "{\"a\": 1}",
            "requestContext": {"http": {"method": "POST", "path": "/v1/things"}, "requestId": "r"},
            "isBase64Encoded": false
        });
        let target = match parent {
            "" => &mut event,
            "requestContext" => &mut event["requestContext"],
            _ => &mut event["requestContext"]["http"],
        };
        target[field] = value;
        event
    })
}

fn app() -> App {
    App::new(
        ServiceInfo::new("prop"),
        Ok(DbConfig::Url("postgres://pmp@127.0.0.1:1/pmp".into())),
    )
}

fn handle(event: Value) -> Result<Answer, pmp_api::handler::FunctionError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(app().handle(event, "prop-request"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(event in arbitrary_json()) {
        let has_context = event.get("requestContext").is_some();
        match handle(event) {
            Ok(answer) => {
                let wire = serde_json::to_value(&answer).expect("every answer serialises");
                prop_assert!(has_context, "only API events get an API answer");
                let status = wire["statusCode"].as_i64().expect("a status");
                prop_assert!([200, 400, 405].contains(&status), "status {}", status);
            }
            Err(error) => {
                prop_assert!(!has_context, "API events never become function errors: {}", error);
                prop_assert!(!error.to_string().is_empty());
            }
        }
    }

    #[test]
    fn api_events_with_arbitrary_parts_get_an_http_answer(event in mutated_api_event()) {
        let answer = handle(event).expect("API events always get an HTTP answer");
        let wire = serde_json::to_value(&answer).expect("every answer serialises");
        let status = wire["statusCode"].as_i64().expect("a status");
        prop_assert!([200, 400, 405].contains(&status), "status {}", status);
        let body: Value = serde_json::from_str(wire["body"].as_str().expect("a text body")).expect("a JSON body");
        prop_assert!(body.is_object());
    }
}
