//! The benchmark's result: one row per figure with the function, the baseline, their ratio and the target, printed as
//! a table and written as JSON. Targets are reported (✓/✗), never enforced: a miss is a finding to explain.

use std::time::Duration;

use serde_json::{Value, json};

use super::measure::Samples;

/// 1 MB = 10^6 bytes throughout (the stricter reading of the size targets).
const MB: f64 = 1_000_000.0;

/// What a figure is held to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Reported only.
    None,
    /// The function's value at most this much (in the row's unit).
    AtMost(f64),
    /// The function's value at most this multiple of the baseline's.
    RatioAtMost(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Megabytes,
    Milliseconds,
    Microseconds,
}

impl Unit {
    fn key(self) -> &'static str {
        match self {
            Unit::Megabytes => "MB",
            Unit::Milliseconds => "ms",
            Unit::Microseconds => "us",
        }
    }

    fn format(self, value: f64) -> String {
        match self {
            Unit::Megabytes => format!("{value:.3} MB"),
            Unit::Milliseconds => format!("{value:.2} ms"),
            Unit::Microseconds => format!("{value:.0} µs"),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub figure: &'static str,
    pub unit: Unit,
    pub function: f64,
    pub baseline: f64,
    pub target: Target,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        if self.baseline > 0.0 {
            self.function / self.baseline
        } else {
            f64::NAN
        }
    }

    /// `None` when the row has no target.
    pub fn met(&self) -> Option<bool> {
        match self.target {
            Target::None => None,
            Target::AtMost(limit) => Some(self.function <= limit),
            Target::RatioAtMost(limit) => Some(self.ratio() <= limit),
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::None => "—".to_owned(),
            Target::AtMost(limit) => format!("≤ {}", self.unit.format(limit)),
            Target::RatioAtMost(limit) => format!("≤ {limit:.2}× baseline"),
        }
    }
}

/// Sizes of the two arm64 zips, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Zips {
    pub function: u64,
    pub baseline: u64,
}

/// The rows, from the measurements of the function and the baseline.
pub fn rows(zips: Zips, function: &Samples, baseline: &Samples) -> Vec<Row> {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    vec![
        Row {
            figure: "zip size (arm64)",
            unit: Unit::Megabytes,
            function: zips.function as f64 / MB,
            baseline: zips.baseline as f64 / MB,
            target: Target::AtMost(1.3),
        },
        Row {
            figure: "cold init, p50",
            unit: Unit::Milliseconds,
            function: ms(percentile(&function.cold_init, 50.0)),
            baseline: ms(percentile(&baseline.cold_init, 50.0)),
            target: Target::RatioAtMost(1.15),
        },
        Row {
            figure: "first invocation, p50",
            unit: Unit::Milliseconds,
            function: ms(percentile(&function.first_invocation, 50.0)),
            baseline: ms(percentile(&baseline.first_invocation, 50.0)),
            target: Target::None,
        },
        Row {
            figure: "warm invocation, p50",
            unit: Unit::Microseconds,
            function: us(percentile(&function.warm, 50.0)),
            baseline: us(percentile(&baseline.warm, 50.0)),
            target: Target::RatioAtMost(1.2),
        },
        Row {
            figure: "warm invocation, p99",
            unit: Unit::Microseconds,
            function: us(percentile(&function.warm, 99.0)),
            baseline: us(percentile(&baseline.warm, 99.0)),
            target: Target::None,
        },
        Row {
            figure: "peak RSS (VmHWM)",
            unit: Unit::Megabytes,
            function: function.peak_rss_bytes as f64 / MB,
            baseline: baseline.peak_rss_bytes as f64 / MB,
            target: Target::AtMost(20.0),
        },
    ]
}

/// Nearest-rank percentile (the smallest sample with at least `p` % of the samples at or below it).
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The table, as printed and as pasted into docs/benchmarks.md (a Markdown table).
pub fn table(rows: &[Row]) -> String {
    let mut lines = vec![
        "| figure | function | baseline | function / baseline | target | met |".to_owned(),
        "|---|---:|---:|---:|---|:---:|".to_owned(),
    ];
    for row in rows {
        let met = match row.met() {
            None => "",
            Some(true) => "✓",
            Some(false) => "✗",
        };
        lines.push(format!(
            "| {} | {} | {} | {:.2} | {} | {met} |",
            row.figure,
            row.unit.format(row.function),
            row.unit.format(row.baseline),
            row.ratio(),
            row.target_text()
        ));
    }
    lines.join("\n")
}

/// The machine the figures were taken on: they mean little without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
}

impl Machine {
    pub fn this() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                line.strip_prefix("model name")
                    .and_then(|rest| rest.split_once(':'))
            })
            .map_or_else(
                || "unknown".to_owned(),
                |(_, model)| model.trim().to_owned(),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(
            |_| "unknown".to_owned(),
            |release| release.trim().to_owned(),
        );
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
            kernel,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} CPUs ({}), Linux {}",
            self.cpus, self.cpu_model, self.kernel
        )
    }
}

/// What the run used, for the JSON.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub cold_starts: usize,
    pub warm_invocations: usize,
}

/// The JSON written to target/bench/latest.json.
pub fn json(rows: &[Row], machine: &Machine, settings: Settings, unix_seconds: u64) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let (kind, limit) = match row.target {
                Target::None => (Value::Null, Value::Null),
                Target::AtMost(limit) => (json!("at_most"), json!(limit)),
                Target::RatioAtMost(limit) => (json!("ratio_at_most"), json!(limit)),
            };
            json!({
                "figure": row.figure,
                "unit": row.unit.key(),
                "function": row.function,
                "baseline": row.baseline,
                "ratio": row.ratio(),
                "target": { "kind": kind, "limit": limit },
                "met": row.met(),
            })
        })
        .collect();
    json!({
        "measured_at_unix": unix_seconds,
        "machine": {
            "cpus": machine.cpus,
            "cpu_model": machine.cpu_model,
            "kernel": machine.kernel,
        },
        "settings": {
            "cold_starts": settings.cold_starts,
            "warm_invocations": settings.warm_invocations,
            "timing_build": "native x86_64, release profile",
            "zip_build": "cargo lambda build --release --arm64",
        },
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples = ms(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(5));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(10));
        assert_eq!(percentile(&samples, 10.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn targets_are_judged_on_the_function_or_the_ratio() {
        let function = Samples {
            cold_init: ms(&[12]),
            first_invocation: ms(&[2]),
            warm: vec![Duration::from_micros(130)],
            peak_rss_bytes: 25_000_000,
        };
        let baseline = Samples {
            cold_init: ms(&[10]),
            first_invocation: ms(&[1]),
            warm: vec![Duration::from_micros(100)],
            peak_rss_bytes: 5_000_000,
        };
        let rows = rows(
            Zips {
                function: 1_200_000,
                baseline: 600_000,
            },
            &function,
            &baseline,
        );
        let met: Vec<Option<bool>> = rows.iter().map(Row::met).collect();
        // zip 1.2 MB ≤ 1.3; cold 1.2× > 1.15; first: no target; warm 1.3× > 1.2; p99: none; RSS 25 MB > 20.
        assert_eq!(
            met,
            [
                Some(true),
                Some(false),
                None,
                Some(false),
                None,
                Some(false)
            ]
        );
        let table = table(&rows);
        assert!(
            table.contains("| zip size (arm64) | 1.200 MB | 0.600 MB | 2.00 | ≤ 1.300 MB | ✓ |"),
            "{table}"
        );
        assert!(
            table
                .contains("| cold init, p50 | 12.00 ms | 10.00 ms | 1.20 | ≤ 1.15× baseline | ✗ |"),
            "{table}"
        );
        let json = json(
            &rows,
            &Machine {
                cpus: 2,
                cpu_model: "cpu".into(),
                kernel: "6.1".into(),
            },
            Settings {
                cold_starts: 1,
                warm_invocations: 1,
            },
            0,
        );
        assert_eq!(json["rows"][3]["figure"], "warm invocation, p50");
        assert_eq!(json["rows"][3]["met"], false);
        assert_eq!(json["rows"][2]["met"], Value::Null);
    }
}
