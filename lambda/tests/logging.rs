//! Log lines are JSON objects that carry the Lambda request id of the invocation they belong to.

use std::io::Write;
use std::sync::{Arc, Mutex};

use pmp_api::api::ServiceInfo;
use pmp_api::db::DbConfig;
use pmp_api::handler::App;
use pmp_api::logging;
use serde_json::Value;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The function's subscriber (its layer and default filter), writing into a buffer the test reads back.
fn capture() -> (Buffer, impl tracing::Subscriber + Send + Sync) {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let (filter, _) = logging::filter(None);
    let subscriber = tracing_subscriber::registry()
        .with(logging::layer(move || writer.clone()).with_filter(filter));
    (buffer, subscriber)
}

fn lines(buffer: &Buffer) -> Vec<Value> {
    let bytes = buffer.0.lock().expect("buffer").clone();
    String::from_utf8(bytes)
        .expect("UTF-8 logs")
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect()
}

#[test]
fn every_line_of_an_invocation_carries_its_request_id() {
    let (buffer, subscriber) = capture();

    let mut context = lambda_runtime::Context::default();
    context.request_id = "0f1e2d3c-aaaa-bbbb-cccc-000000000001".to_owned();
    let health: Value =
        serde_json::from_str(include_str!("../events/health.json")).expect("sample event");
    let app = App::new(ServiceInfo::new("test"), DbConfig::from_lookup(|_| None));
    tracing::subscriber::with_default(subscriber, || {
        // The span lambda_runtime opens around each invocation.
        let _span = lambda_runtime::layers::trace::request_span(&context).entered();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime
            .block_on(app.handle(health, &context.request_id))
            .expect("health answers");
        runtime
            .block_on(app.handle(serde_json::json!({"command": "nope"}), &context.request_id))
            .expect_err("refused");
    });

    let lines = lines(&buffer);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert_eq!(
            line["span"]["requestId"], "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
            "{line}"
        );
        assert!(
            line["timestamp"].is_string()
                && line["level"].is_string()
                && line["target"].is_string(),
            "{line}"
        );
    }
    assert_eq!(lines[0]["message"], "request handled");
    assert_eq!(lines[0]["http.status"], 200);
    assert_eq!(lines[1]["level"], "ERROR");
    assert!(
        lines[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown command")),
        "{}",
        lines[1]
    );
}

#[test]
fn rust_log_filters_and_invalid_values_fall_back_to_info() {
    assert_eq!(logging::filter(None).1, None);
    assert_eq!(logging::filter(Some("warn,pmp_api=debug")).1, None);
    assert_eq!(
        logging::filter(Some("pmp_api=loud")).1.as_deref(),
        Some("pmp_api=loud")
    );
}

#[test]
fn lines_keep_the_shape_the_cloudwatch_queries_read() {
    // Key order and nesting as tracing-subscriber's `fmt().json()` wrote them (flattened event, current span).
    let (buffer, subscriber) = capture();
    let mut context = lambda_runtime::Context::default();
    context.request_id = "req-1".to_owned();
    tracing::subscriber::with_default(subscriber, || {
        let _span = lambda_runtime::layers::trace::request_span(&context).entered();
        tracing::info!(count = 2, quoted = "a\"b", shown = %"d", "done {}", 1);
        tracing::debug!("below the default level");
    });
    let bytes = buffer.0.lock().expect("buffer").clone();
    let text = String::from_utf8(bytes).expect("UTF-8 logs");
    let line = text
        .strip_suffix('\n')
        .expect("one line, newline-terminated");
    assert!(!line.contains('\n'), "{text}");
    let (timestamp, rest) = line
        .strip_prefix("{\"timestamp\":\"")
        .and_then(|rest| rest.split_once('"'))
        .expect("the timestamp comes first");
    // RFC 3339 UTC with microseconds: 2024-05-01T12:34:56.123456Z
    assert_eq!(timestamp.len(), 27, "{timestamp}");
    assert!(
        timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T',
        "{timestamp}"
    );
    assert_eq!(
        rest,
        ",\"level\":\"INFO\",\"message\":\"done 1\",\"count\":2,\"quoted\":\"a\\\"b\",\"shown\":\"d\",\
         \"target\":\"logging\",\"span\":{\"requestId\":\"req-1\",\"name\":\"Lambda runtime invoke\"}}"
    );
}
