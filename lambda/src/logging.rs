//! JSON logs on stdout, one object per line, for CloudWatch Logs (and its JSON log format).
//!
//! The Lambda runtime wraps every invocation in a span carrying `requestId`; the layer writes the current span's
//! fields into each line, so every log line of an invocation carries its request id.
//!
//! A line is `{"timestamp":..,"level":..,<the event's fields>,"target":..,"span":{<its fields>,"name":..}}`: the
//! shape tracing-subscriber's `fmt().json()` wrote (flattened event, current span, no span list), which the
//! CloudWatch queries use. The layer is written here instead of using `fmt` because `fmt`'s generic formatting
//! machinery (and its round trip of span fields through a JSON string) cost the deployment zip more than its
//! 1.3 MB budget allowed; this one writes the line directly with serde_json.

use std::fmt;
use std::io::Write;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
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

/// The JSON layer, writing each line to a writer that `make_writer` returns (stdout in Lambda, a buffer in tests).
pub fn layer<S, M, W>(make_writer: M) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    M: Fn() -> W + Send + Sync + 'static,
    W: Write,
{
    JsonLayer { make_writer }
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

struct JsonLayer<M> {
    make_writer: M,
}

/// A span's fields, kept in its extensions when it opens. A `Map` (sorted by name, as `fmt` wrote them).
struct SpanFields(Map<String, Value>);

impl<S, M, W> Layer<S> for JsonLayer<M>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    M: Fn() -> W + Send + Sync + 'static,
    W: Write,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut fields = SpanFields(Map::new());
            attrs.record(&mut fields);
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // One buffer, one write: a line is never interleaved with another.
        let mut line = Vec::with_capacity(256);
        line.extend_from_slice(b"{\"timestamp\":\"");
        write_timestamp(&mut line, std::time::SystemTime::now());
        line.extend_from_slice(b"\",\"level\":\"");
        line.extend_from_slice(meta.level().as_str().as_bytes());
        line.push(b'"');
        event.record(&mut EventFields(&mut line));
        line.extend_from_slice(b",\"target\":");
        write_json(&mut line, meta.target());
        // The event's explicit parent, else the current span (both as seen through this layer's filter).
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            line.extend_from_slice(b",\"span\":{");
            if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                for (name, value) in fields {
                    write_json(&mut line, name);
                    line.push(b':');
                    write_json(&mut line, value);
                    line.push(b',');
                }
            }
            line.extend_from_slice(b"\"name\":");
            write_json(&mut line, span.name());
            line.push(b'}');
        }
        line.extend_from_slice(b"}\n");
        if let Err(error) = (self.make_writer)().write_all(&line) {
            eprintln!("could not write a log line: {error}");
        }
    }
}

/// Writes a value as JSON; a `Vec` cannot fail to be written to, and strings, numbers and maps of them always
/// serialise.
fn write_json<T: serde::Serialize + ?Sized>(line: &mut Vec<u8>, value: &T) {
    if serde_json::to_writer(&mut *line, value).is_err() {
        line.extend_from_slice(b"null");
    }
}

/// The event's fields, flattened into the line in their order (`message` first, as `tracing`'s macros put it).
struct EventFields<'a>(&'a mut Vec<u8>);

impl EventFields<'_> {
    fn field<T: serde::Serialize + ?Sized>(&mut self, field: &Field, value: &T) {
        self.0.push(b',');
        write_json(self.0, field.name());
        self.0.push(b':');
        write_json(self.0, value);
    }
}

impl Visit for EventFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, &value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, &value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, &value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, &value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, &format!("{value:?}"));
    }
}

impl SpanFields {
    fn insert(&mut self, field: &Field, value: Value) {
        // `r#type = ..` is recorded as `type`, as `fmt` did.
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for SpanFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field, format!("{value:?}").into());
    }
}

/// RFC 3339 UTC with microseconds (`2024-05-01T12:34:56.123456Z`), the format `fmt`'s default timer wrote.
fn write_timestamp(line: &mut Vec<u8>, now: std::time::SystemTime) {
    let since_epoch = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let in_day = secs % 86_400;
    // Writing into a Vec cannot fail.
    let _ = write!(
        line,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
        since_epoch.subsec_micros()
    );
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timestamp(secs: u64, micros: u64) -> String {
        let mut line = Vec::new();
        let at = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(secs)
            + std::time::Duration::from_micros(micros);
        write_timestamp(&mut line, at);
        String::from_utf8(line).expect("ASCII")
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        assert_eq!(timestamp(0, 0), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29 (leap day) 23:59:59.999999
        assert_eq!(
            timestamp(1_709_251_199, 999_999),
            "2024-02-29T23:59:59.999999Z"
        );
        assert_eq!(timestamp(1_709_251_200, 42), "2024-03-01T00:00:00.000042Z");
        assert_eq!(timestamp(951_782_400, 0), "2000-02-29T00:00:00.000000Z");
        assert_eq!(timestamp(4_102_444_799, 0), "2099-12-31T23:59:59.000000Z");
    }
}
