//! Execution logs, like Step Functions' CloudWatch log groups.
//!
//! Owns [`LoggingConfig`] (per state machine: `level` ALL | ERROR | FATAL |
//! OFF, `include_execution_data`, a destination file or stdout), which
//! events each level keeps, and the JSON-lines format with AWS's fields
//! (`id`, `type`, `details`, `previous_event_id`, `event_timestamp`,
//! `execution_arn`). It must not decide what happened: the scheduler hands it
//! the history events of each committed step. Process logs go through
//! `tracing`, not here.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use asl::history::{EventType, HistoryEvent};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Which events are logged (AWS's `LoggingConfiguration.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Every event.
    All,
    /// Failures of states, tasks, branches and iterations, and FATAL.
    Error,
    /// Only how executions failed, timed out or were aborted.
    Fatal,
    /// Nothing.
    #[default]
    Off,
}

/// A state machine's logging configuration, stored as JSON text with the
/// state machine (`{"level": "ALL", "include_execution_data": true,
/// "destination": "logs/sample.jsonl"}`; destination `"stdout"` or absent =
/// standard output).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    /// Which events.
    #[serde(default)]
    pub level: LogLevel,
    /// Whether inputs, outputs and parameters are logged.
    #[serde(default)]
    pub include_execution_data: bool,
    /// A file to append to, or `stdout`.
    #[serde(default)]
    pub destination: Option<String>,
}

impl LoggingConfig {
    /// Reads the stored JSON text (`{}` or empty = logging off).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text)
    }

    /// Whether `level` keeps events of this type (AWS's level matrix).
    pub fn keeps(&self, event_type: EventType) -> bool {
        use EventType::*;
        let fatal = matches!(
            event_type,
            ExecutionAborted | ExecutionFailed | ExecutionTimedOut
        );
        let error = fatal
            || matches!(
                event_type,
                FailStateEntered
                    | MapIterationAborted
                    | MapIterationFailed
                    | MapStateAborted
                    | MapStateFailed
                    | ParallelStateAborted
                    | ParallelStateFailed
                    | TaskFailed
                    | TaskTimedOut
            );
        match self.level {
            LogLevel::All => true,
            LogLevel::Error => error,
            LogLevel::Fatal => fatal,
            LogLevel::Off => false,
        }
    }
}

/// Writes one state machine's execution logs.
#[derive(Clone)]
pub struct ExecutionLogger {
    config: LoggingConfig,
    sink: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
}

impl std::fmt::Debug for ExecutionLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionLogger")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ExecutionLogger {
    /// A logger for `config`, opening (creating) its destination file.
    pub fn open(config: LoggingConfig) -> std::io::Result<Self> {
        let sink: Option<Box<dyn Write + Send>> =
            match (config.level, config.destination.as_deref()) {
                (LogLevel::Off, _) => None,
                (_, None | Some("stdout")) => Some(Box::new(std::io::stdout())),
                (_, Some(path)) => {
                    let path = PathBuf::from(path);
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)?;
                    }
                    Some(Box::new(
                        OpenOptions::new().create(true).append(true).open(path)?,
                    ))
                }
            };
        Ok(Self {
            config,
            sink: sink.map(|s| Arc::new(Mutex::new(s))),
        })
    }

    /// The configured level.
    pub fn level(&self) -> LogLevel {
        self.config.level
    }

    /// A logger that logs nothing.
    pub fn off() -> Self {
        Self {
            config: LoggingConfig::default(),
            sink: None,
        }
    }

    /// Logs the events of one committed step.
    pub fn log(&self, execution_arn: &str, events: &[HistoryEvent]) {
        let Some(sink) = &self.sink else { return };
        let mut lines = String::new();
        for event in events.iter().filter(|e| self.config.keeps(e.event_type)) {
            lines.push_str(
                &log_line(execution_arn, event, self.config.include_execution_data).to_string(),
            );
            lines.push('\n');
        }
        if lines.is_empty() {
            return;
        }
        let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = sink.write_all(lines.as_bytes()).and_then(|()| sink.flush()) {
            tracing::warn!(error = %e, "cannot write execution log");
        }
    }
}

/// One log line in Step Functions' CloudWatch format: numbers as strings,
/// the details object flattened, data fields dropped unless
/// `include_execution_data`.
pub fn log_line(execution_arn: &str, event: &HistoryEvent, include_execution_data: bool) -> Value {
    let aws = event.to_aws_json();
    let mut details = aws
        .as_object()
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.ends_with("EventDetails"))
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| Value::Object(Map::new()));
    if let Value::Object(d) = &mut details {
        for field in ["input", "output", "parameters"] {
            if d.contains_key(field) {
                if include_execution_data {
                    d.insert(format!("{field}Details"), json!({"truncated": false}));
                } else {
                    d.remove(field);
                }
            }
        }
    }
    json!({
        "id": event.id.to_string(),
        "type": event.event_type.as_str(),
        "details": details,
        "previous_event_id": event.previous_event_id.to_string(),
        "event_timestamp": event.timestamp.to_string(),
        "execution_arn": execution_arn,
    })
}

#[cfg(test)]
mod tests {
    use asl::history::EventDetails;

    use super::*;

    fn event(t: EventType, input: Option<Value>) -> HistoryEvent {
        HistoryEvent {
            id: 2,
            previous_event_id: 1,
            timestamp: 1_700_000_000_123,
            event_type: t,
            details: EventDetails {
                name: Some("P".into()),
                input: input.map(Arc::new),
                ..Default::default()
            },
        }
    }

    #[test]
    fn levels_follow_aws_matrix() {
        let cfg = |level| LoggingConfig {
            level,
            ..Default::default()
        };
        assert!(cfg(LogLevel::All).keeps(EventType::PassStateEntered));
        assert!(!cfg(LogLevel::Error).keeps(EventType::PassStateEntered));
        assert!(cfg(LogLevel::Error).keeps(EventType::TaskFailed));
        assert!(!cfg(LogLevel::Fatal).keeps(EventType::TaskFailed));
        assert!(cfg(LogLevel::Fatal).keeps(EventType::ExecutionFailed));
        assert!(!cfg(LogLevel::Off).keeps(EventType::ExecutionFailed));
    }

    #[test]
    fn lines_have_aws_fields_and_hide_data_unless_asked() {
        let e = event(EventType::PassStateEntered, Some(json!({"secret": 1})));
        let without = log_line("arn:x", &e, false);
        assert_eq!(without["id"], "2");
        assert_eq!(without["previous_event_id"], "1");
        assert_eq!(without["event_timestamp"], "1700000000123");
        assert_eq!(without["type"], "PassStateEntered");
        assert_eq!(without["execution_arn"], "arn:x");
        assert_eq!(without["details"], json!({"name": "P"}));
        let with = log_line("arn:x", &e, true);
        assert_eq!(with["details"]["input"], "{\"secret\":1}");
        assert_eq!(with["details"]["inputDetails"], json!({"truncated": false}));
    }

    #[test]
    fn config_parses_and_rejects_unknown_keys() {
        let c =
            LoggingConfig::from_json(r#"{"level":"ERROR","include_execution_data":true}"#).unwrap();
        assert_eq!((c.level, c.include_execution_data), (LogLevel::Error, true));
        assert_eq!(LoggingConfig::from_json("{}").unwrap().level, LogLevel::Off);
        assert!(LoggingConfig::from_json(r#"{"levle":"ALL"}"#).is_err());
    }

    #[test]
    fn file_destination_gets_json_lines() {
        let path = std::env::temp_dir().join(format!("stepgate-log-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let logger = ExecutionLogger::open(LoggingConfig {
            level: LogLevel::All,
            include_execution_data: false,
            destination: Some(path.display().to_string()),
        })
        .unwrap();
        logger.log(
            "arn:x",
            &[
                event(EventType::PassStateEntered, None),
                event(EventType::ExecutionFailed, None),
            ],
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<Value>(l).is_ok())
        );
        let _ = std::fs::remove_file(&path);
    }
}
