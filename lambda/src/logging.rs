//! JSON logs on stdout, one object per line, for CloudWatch Logs (and its JSON log format).
//!
//! The Lambda runtime wraps every invocation in a span carrying `requestId`; the formatter writes the current span's
//! fields into each line, so every log line of an invocation carries its request id.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// Installs the subscriber for the process; `RUST_LOG` filters (default `info`), as `target=level` pairs.
pub fn init() {
    let (filter, invalid) = filter(std::env::var("RUST_LOG").ok().as_deref());
    let subscriber = Registry::default().with(layer(std::io::stdout).with_filter(filter));
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("a tracing subscriber was already installed; keeping it");
    }
    if let Some(value) = invalid {
        tracing::warn!(
            rust_log = value,
            "RUST_LOG is not a valid filter; logging at info"
        );
    }
}

/// The JSON formatting layer, writing to `writer` (stdout in Lambda, a buffer in tests).
pub fn layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .with_writer(writer)
}

/// The filter for a `RUST_LOG` value (`info`, `warn,pmp_api=debug`, ...); an invalid value falls back to `info` and
/// is returned so that it can be reported.
pub fn filter(rust_log: Option<&str>) -> (Targets, Option<String>) {
    let default = Targets::new().with_default(Level::INFO);
    match rust_log.map(str::trim).filter(|value| !value.is_empty()) {
        None => (default, None),
        Some(value) => match value.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(_) => (default, Some(value.to_owned())),
        },
    }
}
