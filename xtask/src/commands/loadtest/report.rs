//! One table per scenario, and the same figures as JSON.

use serde_json::{Value, json};

use super::bound::Bound;

/// How wrk's script sorts answers; the first is success, the others are the errors the report shows.
pub const KINDS: [&str; 6] = [
    "ok",
    "pool_wait_timeout",
    "too_many_connections",
    "other_5xx",
    "throttled",
    "other",
];

/// What one scenario measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub scenario: String,
    /// What it shows, in one line.
    pub meaning: String,
    /// `pgbouncer` or `direct`.
    pub path: &'static str,
    pub concurrency: usize,
    /// The emulator's concurrency limit (reserved concurrency, or lifted).
    pub function_limit: usize,
    /// wrk's `PMP_RESULT` object.
    pub wrk: Value,
    /// Most `pmp_api` sessions PostgreSQL had at once, sampled from pg_stat_activity.
    pub peak_server_connections: u64,
    /// The most the path may open: the pool size through PgBouncer, max_connections direct.
    pub server_connection_cap: u32,
}

impl Measured {
    fn kind(&self, kind: &str) -> u64 {
        self.wrk["kinds"][kind].as_u64().unwrap_or(0)
    }

    /// Connect, read, write errors and client timeouts; not wrk's `status` count (every non-2xx answer, which the
    /// kinds already sort).
    fn socket_errors(&self) -> u64 {
        ["connect", "read", "write", "timeout"]
            .iter()
            .filter_map(|name| self.wrk["socket_errors"][name].as_u64())
            .sum()
    }

    pub fn requests(&self) -> u64 {
        self.wrk["requests"].as_u64().unwrap_or(0)
    }

    /// Errors that reached the database: the ones the bound must prevent.
    pub fn database_errors(&self) -> u64 {
        self.kind("pool_wait_timeout") + self.kind("too_many_connections")
    }

    fn rps(&self) -> f64 {
        let seconds = self.wrk["duration_us"].as_f64().unwrap_or(0.0) / 1e6;
        if seconds > 0.0 {
            self.requests() as f64 / seconds
        } else {
            0.0
        }
    }

    fn latency_ms(&self, name: &str) -> f64 {
        self.wrk["latency_us"][name].as_f64().unwrap_or(0.0) / 1000.0
    }

    /// The scenario's table.
    pub fn table(&self) -> String {
        let rows = [
            ("requests", self.requests().to_string()),
            ("ok (200)", self.kind("ok").to_string()),
            (
                "pool wait timeout",
                self.kind("pool_wait_timeout").to_string(),
            ),
            (
                "too many connections",
                self.kind("too_many_connections").to_string(),
            ),
            ("other 5xx", self.kind("other_5xx").to_string()),
            ("throttled (429)", self.kind("throttled").to_string()),
            ("other answers", self.kind("other").to_string()),
            (
                "socket errors / client timeouts",
                self.socket_errors().to_string(),
            ),
            (
                "p50 / p95 / p99 (ms)",
                format!(
                    "{:.1} / {:.1} / {:.1}",
                    self.latency_ms("p50"),
                    self.latency_ms("p95"),
                    self.latency_ms("p99")
                ),
            ),
            ("requests per second", format!("{:.0}", self.rps())),
            (
                "peak server connections",
                format!(
                    "{} (cap {})",
                    self.peak_server_connections, self.server_connection_cap
                ),
            ),
        ];
        let mut text = format!(
            "{}: {} callers, {} via {}, function limit {}\n{}\n",
            self.scenario,
            self.concurrency,
            "GET /database",
            self.path,
            self.function_limit,
            self.meaning
        );
        for (name, value) in rows {
            text.push_str(&format!("  {name:<32} {value:>20}\n"));
        }
        text
    }

    pub fn json(&self) -> Value {
        let mut errors: serde_json::Map<String, Value> = KINDS[1..]
            .iter()
            .map(|kind| ((*kind).to_owned(), Value::from(self.kind(kind))))
            .collect();
        errors.insert("socket".to_owned(), Value::from(self.socket_errors()));
        json!({
            "scenario": self.scenario,
            "meaning": self.meaning,
            "path": self.path,
            "concurrency": self.concurrency,
            "function_limit": self.function_limit,
            "requests": self.requests(),
            "errors": errors,
            "ok": self.kind("ok"),
            "latency_ms": {
                "p50": self.latency_ms("p50"),
                "p95": self.latency_ms("p95"),
                "p99": self.latency_ms("p99"),
            },
            "requests_per_second": self.rps(),
            "peak_server_connections": self.peak_server_connections,
            "server_connection_cap": self.server_connection_cap,
        })
    }
}

/// The whole run as JSON: the stage's figures, the machine and every scenario.
pub fn document(
    stage: &str,
    bound: &Bound,
    machine: &str,
    seconds: u64,
    results: &[Measured],
) -> Value {
    json!({
        "stage": stage,
        "bound": bound.json(),
        "machine": machine,
        "duration_seconds": seconds,
        "scenarios": results.iter().map(Measured::json).collect::<Vec<_>>(),
    })
}

/// What a reviewer should read first: the bound held (no database error, connections within the pool) or not.
pub fn verdict(at_bound: &Measured) -> String {
    if at_bound.database_errors() == 0
        && at_bound.peak_server_connections <= u64::from(at_bound.server_connection_cap)
    {
        format!(
            "at the derived bound ({} callers): 0 database errors, at most {} server connections of a pool of {}",
            at_bound.concurrency, at_bound.peak_server_connections, at_bound.server_connection_cap
        )
    } else {
        format!(
            "THE BOUND DID NOT HOLD at {} callers: {} database errors, {} server connections for a pool of {}: \
             the formula in terraform/modules/concurrency is too loose",
            at_bound.concurrency,
            at_bound.database_errors(),
            at_bound.peak_server_connections,
            at_bound.server_connection_cap
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(ok: u64, timeouts: u64, peak: u64) -> Measured {
        Measured {
            scenario: "pgbouncer-1x".into(),
            meaning: "at the bound".into(),
            path: "pgbouncer",
            concurrency: 32,
            function_limit: 32,
            wrk: json!({
                "requests": ok + timeouts,
                "duration_us": 2_000_000,
                "kinds": {"ok": ok, "pool_wait_timeout": timeouts},
                "socket_errors": {"connect": 0, "read": 1, "status": 4, "timeout": 2},
                "latency_us": {"p50": 1500, "p95": 3000, "p99": 9000},
            }),
            peak_server_connections: peak,
            server_connection_cap: 35,
        }
    }

    #[test]
    fn the_table_and_the_json_show_the_same_figures() {
        let result = measured(100, 4, 33);
        let table = result.table();
        assert!(table.contains("pool wait timeout"), "{table}");
        assert!(table.contains("1.5 / 3.0 / 9.0"), "{table}");
        assert!(table.contains("33 (cap 35)"), "{table}");
        let json = result.json();
        assert_eq!(json["requests"], 104);
        assert_eq!(json["errors"]["pool_wait_timeout"], 4);
        assert_eq!(json["errors"]["socket"], 3);
        assert_eq!(json["requests_per_second"], 52.0);
    }

    #[test]
    fn the_verdict_fails_on_database_errors_or_too_many_connections() {
        assert!(verdict(&measured(100, 0, 35)).starts_with("at the derived bound"));
        assert!(verdict(&measured(100, 1, 30)).starts_with("THE BOUND DID NOT HOLD"));
        assert!(verdict(&measured(100, 0, 36)).starts_with("THE BOUND DID NOT HOLD"));
    }
}
