//! One invocation: recognise the event, dispatch it, and turn every failure into an answer — a 4xx JSON response
//! for API events, a function error for direct invocations. Never a panic: the release build aborts on panic.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::{self, DatabaseFailure, DatabaseRead, Routed, ServiceInfo};
use crate::db::{Database, DbConfig, DbError};
use crate::migrations::{self, MigrationError, MigrationReport, MigrationStatus, Settings};

/// The function's state for the life of the execution environment.
#[derive(Debug)]
pub struct App {
    info: ServiceInfo,
    /// The configuration error, if any, is kept for the invocations that need the database: the API routes that do
    /// not need it keep working.
    database: Result<Database, String>,
    role: Role,
    /// The migration session's limits (migration function only); a bad value is reported by the command.
    settings: Result<Settings, String>,
}

/// Which of the two functions built from this zip this is (`PMP_FUNCTION`, set by serverless.yml). Each signs in as
/// its own database role and refuses the other's events, so the API role can never run DDL through a direct
/// invocation and the migration function has no API surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves API Gateway events; refuses commands. The default: an unset variable never enables migrations.
    Api,
    /// Runs the `migrate` and `status` commands; refuses API events.
    Migrate,
}

impl Role {
    /// `PMP_FUNCTION`: `migrate` for the migration function, anything else (or nothing) for the API function.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        match lookup("PMP_FUNCTION").as_deref().map(str::trim) {
            Some("migrate") => Self::Migrate,
            _ => Self::Api,
        }
    }
}

/// A successful answer: serialised as is to the caller.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Api(Box<ApiGatewayV2httpResponse>),
    Migrated(MigrationReport),
    Status(MigrationStatus),
}

/// A direct invocation that did not succeed. Reported by Lambda as a function error (`errorType`, `errorMessage`).
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error(
        "unrecognised event: expected an API Gateway HTTP API event (payload format 2.0) or a direct invocation {{\"command\": \"migrate\"}}; {0}"
    )]
    InvalidEvent(String),
    #[error("unknown command {0:?}; the commands are \"migrate\" and \"status\"")]
    UnknownCommand(String),
    #[error(
        "this is the API function: it does not run database commands; invoke the migration function \
         (pmp-api-<stage>-migrate, `cargo xtask migrate`)"
    )]
    CommandRefused,
    #[error("this is the migration function: it serves no API events")]
    ApiEventRefused,
    #[error("{0}")]
    DatabaseUnavailable(String),
    #[error("{0}")]
    MigrationFailed(#[from] MigrationError),
}

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Self {
        let error_type = match error {
            FunctionError::InvalidEvent(_) => "InvalidEvent",
            FunctionError::UnknownCommand(_) => "UnknownCommand",
            FunctionError::CommandRefused => "CommandRefused",
            FunctionError::ApiEventRefused => "ApiEventRefused",
            FunctionError::DatabaseUnavailable(_) => "DatabaseUnavailable",
            FunctionError::MigrationFailed(_) => "MigrationFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

impl From<DbError> for FunctionError {
    fn from(error: DbError) -> Self {
        Self::DatabaseUnavailable(error.to_string())
    }
}

/// What a direct invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Migrate,
    Status,
}

enum Event {
    Api(Value),
    Command(Command),
}

impl App {
    /// Reads `PMP_STAGE`, `PMP_FUNCTION`, the database configuration and the migration settings. Opens nothing.
    pub fn from_env() -> Self {
        let stage = std::env::var("PMP_STAGE")
            .ok()
            .filter(|stage| !stage.is_empty());
        Self::new(
            ServiceInfo::new(stage.unwrap_or_else(|| "unknown".to_owned())),
            DbConfig::from_env(),
        )
        .with_role(
            Role::from_lookup(|name| std::env::var(name).ok()),
            Settings::from_env(),
        )
    }

    /// The API function (the role of [`Self::from_env`] without `PMP_FUNCTION`).
    pub fn new(info: ServiceInfo, database: Result<DbConfig, DbError>) -> Self {
        Self {
            info,
            database: database
                .map(Database::new)
                .map_err(|error| error.to_string()),
            role: Role::Api,
            settings: Ok(Settings::default()),
        }
    }

    /// The same app as the given function, with these migration settings.
    pub fn with_role(mut self, role: Role, settings: Result<Settings, String>) -> Self {
        self.role = role;
        self.settings = settings;
        self
    }

    /// Handles one event; `request_id` is the Lambda request id.
    pub async fn handle(&self, event: Value, request_id: &str) -> Result<Answer, FunctionError> {
        let outcome = match (classify(event), self.role) {
            (Ok(Event::Api(event)), Role::Api) => {
                Ok(Answer::Api(Box::new(self.api(event, request_id).await)))
            }
            (Ok(Event::Api(_)), Role::Migrate) => Err(FunctionError::ApiEventRefused),
            (Ok(Event::Command(_)), Role::Api) => Err(FunctionError::CommandRefused),
            (Ok(Event::Command(Command::Migrate)), Role::Migrate) => {
                self.migrate().await.map(Answer::Migrated)
            }
            (Ok(Event::Command(Command::Status)), Role::Migrate) => {
                self.status().await.map(Answer::Status)
            }
            (Err(error), _) => Err(error),
        };
        if let Err(error) = &outcome {
            tracing::error!(error = %error, "invocation failed");
        }
        outcome
    }

    /// An API event: answered from the event alone, except the database route, which reads through the one
    /// connection of this execution environment (opened now if it is the first read).
    async fn api(&self, event: Value, request_id: &str) -> ApiGatewayV2httpResponse {
        match api::route_event(event, &self.info, request_id) {
            Routed::Answer(response) => response,
            Routed::ReadDatabase(request) => request.answer(self.read_database().await),
        }
    }

    /// One small query as the API's role. A failed query closes the connection: the next request opens a new one
    /// rather than reuse a session the pooler or the server may already have dropped.
    async fn read_database(&self) -> Result<DatabaseRead, DatabaseFailure> {
        let database = self.database.as_ref().map_err(|error| {
            tracing::error!(%error, "the database route has no database configuration");
            DatabaseFailure::Unavailable
        })?;
        let read: Result<DatabaseRead, ReadError> = async {
            let mut connection = database.connection().await.map_err(ReadError::Connect)?;
            let (role, purposes, backend_pid): (String, i64, i32) =
                sqlx::query_as(crate::db::READ_QUERY)
                    .fetch_one(&mut *connection)
                    .await
                    .map_err(ReadError::Query)?;
            Ok(DatabaseRead {
                role,
                purposes,
                backend_pid,
            })
        }
        .await;
        match read {
            Ok(read) => Ok(read),
            Err(error) => {
                let failure = error.failure();
                tracing::error!(error = %error, code = failure.code(), "the database read failed");
                // The guard is gone by now: `reset` takes the same lock.
                if matches!(error, ReadError::Query(_)) {
                    database.reset().await;
                }
                Err(failure)
            }
        }
    }

    fn database(&self) -> Result<&Database, FunctionError> {
        self.database
            .as_ref()
            .map_err(|error| FunctionError::DatabaseUnavailable(error.clone()))
    }

    /// A connection of its own for the run (not the cached one), closed at the end whatever happened: a closed
    /// session holds no advisory lock, so a failed or interrupted run never leaves one pinned on the proxy.
    async fn migrate(&self) -> Result<MigrationReport, FunctionError> {
        let settings = self
            .settings
            .clone()
            .map_err(FunctionError::DatabaseUnavailable)?;
        let connection = self.database()?.open_dedicated().await?;
        let result = migrations::run_and_close(connection, &settings, None).await;
        match result {
            Ok(report) => {
                tracing::info!(applied = ?report.applied, current_version = ?report.current_version, "migrations done");
                Ok(report)
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn status(&self) -> Result<MigrationStatus, FunctionError> {
        let mut connection = self.database()?.open_dedicated().await?;
        let status = migrations::status(&mut connection, &migrations::MIGRATOR).await;
        if let Err(error) = sqlx::Connection::close(connection).await {
            tracing::debug!(%error, "closing the status connection failed");
        }
        Ok(status?)
    }
}

/// Why the database route failed.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Connect(DbError),
    #[error("the query failed: {0}")]
    Query(sqlx::Error),
}

impl ReadError {
    /// The kind a client sees. PgBouncer ends a client that waited longer than `query_wait_timeout` with an error of
    /// that text (SQLSTATE 08P01); PostgreSQL refuses a connection beyond `max_connections` with SQLSTATE 53300
    /// (too_many_connections, https://www.postgresql.org/docs/17/errcodes-appendix.html).
    fn failure(&self) -> DatabaseFailure {
        let source = match self {
            Self::Connect(DbError::Connect { source, .. }) | Self::Query(source) => source,
            Self::Connect(_) => return DatabaseFailure::Unavailable,
        };
        match source {
            sqlx::Error::Database(error) if error.code().as_deref() == Some("53300") => {
                DatabaseFailure::TooManyConnections
            }
            sqlx::Error::Database(error) if error.message().contains("query_wait_timeout") => {
                DatabaseFailure::PoolWaitTimeout
            }
            _ => DatabaseFailure::Unavailable,
        }
    }
}

/// API Gateway events carry a `requestContext`; a direct command is an object with the single key `command`, a shape
/// API Gateway never sends, so an HTTP client can never trigger a command.
fn classify(event: Value) -> Result<Event, FunctionError> {
    let Value::Object(object) = event else {
        return Err(FunctionError::InvalidEvent(format!("got {}", kind(&event))));
    };
    if object.contains_key("requestContext") {
        return Ok(Event::Api(Value::Object(object)));
    }
    match object.get("command") {
        Some(Value::String(command)) if object.len() == 1 => match command.as_str() {
            "migrate" => Ok(Event::Command(Command::Migrate)),
            "status" => Ok(Event::Command(Command::Status)),
            _ => Err(FunctionError::UnknownCommand(command.clone())),
        },
        Some(Value::String(_)) => Err(FunctionError::InvalidEvent(format!(
            "a command invocation has no other keys than \"command\", got {}",
            keys(&object)
        ))),
        Some(other) => Err(FunctionError::InvalidEvent(format!(
            "\"command\" must be a string, got {}",
            kind(other)
        ))),
        None => Err(FunctionError::InvalidEvent(format!(
            "got an object with keys {}",
            keys(&object)
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most a few key names, truncated: an error message must stay short whatever the event.
fn keys(object: &Map<String, Value>) -> String {
    let mut names: Vec<String> = object
        .keys()
        .take(5)
        .map(|key| format!("{:?}", key.chars().take(40).collect::<String>()))
        .collect();
    if object.len() > 5 {
        names.push("...".to_owned());
    }
    format!("[{}]", names.join(", "))
}
