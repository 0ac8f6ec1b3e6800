//! The function's database connection: configured from the environment, opened on first need, reused across
//! invocations, and reopened (with a fresh IAM token) when it is gone.
//!
//! One connection per execution environment, by design: the function's reserved concurrency is derived from the RDS
//! Proxy's connection budget assuming every environment pins at most one database connection (see DESIGN, "Network and
//! database"). A pool would only add idle connections.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Connection, PgConnection};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::iam_token::{AwsCredentials, rds_auth_token};

/// Longest wait for a new connection: half the shortest function timeout (10 s in dev), so the clear error comes first.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the liveness check of a reused connection before replacing it.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
const APPLICATION_NAME: &str = "pmp-api";
/// The database route's one query (`GET /database`): who the session is, one table `pmp_api` may read, and which
/// server session answered. Also the query of the bench's client-only baseline (`examples/db_baseline.rs`).
pub const READ_QUERY: &str =
    "SELECT current_user::text, (SELECT count(*) FROM purpose), pg_backend_pid()";
/// The roots of ACM's public certificates, hence of the RDS Proxy's (see the file's header).
const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// Where and how to connect, read once at start-up (reading it opens nothing).
#[derive(Clone, PartialEq, Eq)]
pub enum DbConfig {
    /// `DATABASE_URL`, used as is (local development: password or trust authentication, TLS optional).
    Url(String),
    /// The RDS Proxy with IAM authentication (`DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_USER`).
    Iam(IamConfig),
}

// The URL may carry a password: never print it.
impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(_) => f.write_str("Url(<DATABASE_URL, redacted>)"),
            Self::Iam(config) => f.debug_tuple("Iam").field(config).finish(),
        }
    }
}

/// The RDS Proxy endpoint and the database user the function connects as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamConfig {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// The region the token is signed for (`AWS_REGION`, set by Lambda).
    pub region: String,
}

impl IamConfig {
    /// Connection options for one new connection; `token` is its password. TLS with full verification: IAM
    /// authentication requires TLS anyway, and `verify-full` also checks the proxy's host name. RDS Proxy presents
    /// ACM-issued public certificates, so public roots verify it (no RDS CA bundle): the Amazon Trust Services roots
    /// those certificates chain to are embedded, so verification does not depend on the image's CA store.
    pub fn connect_options(&self, token: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .database(&self.database)
            .username(&self.user)
            .password(token)
            .ssl_mode(PgSslMode::VerifyFull)
            .ssl_root_cert_from_pem(AMAZON_TRUST_SERVICES_ROOTS.to_vec())
            .application_name(APPLICATION_NAME)
    }
}

impl DbConfig {
    /// Reads the function's environment (see docs/architecture.md, "The function's environment").
    pub fn from_env() -> Result<Self, DbError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Self::from_env`], reading variables through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, DbError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        if let Some(url) = get("DATABASE_URL") {
            // Checked now so that a typo fails with a clear message, not a connect error.
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(DbError::Config(
                    "DATABASE_URL must start with postgres:// or postgresql://".to_owned(),
                ));
            }
            PgConnectOptions::from_str(&url).map_err(|error| {
                DbError::Config(format!(
                    "DATABASE_URL is not a valid PostgreSQL URL: {error}"
                ))
            })?;
            return Ok(Self::Url(url));
        }
        let required = |name: &str| {
            get(name).ok_or_else(|| {
                DbError::Config(format!(
                    "{name} is not set (set DB_HOST, DB_PORT, DB_NAME and DB_USER, or DATABASE_URL)"
                ))
            })
        };
        let host = required("DB_HOST")?;
        let port = required("DB_PORT")?;
        let port = port
            .trim()
            .parse()
            .map_err(|_| DbError::Config(format!("DB_PORT is not a port number: {port:?}")))?;
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                DbError::Config("AWS_REGION is not set (needed to sign the IAM token)".to_owned())
            })?;
        Ok(Self::Iam(IamConfig {
            host,
            port,
            database: required("DB_NAME")?,
            user: required("DB_USER")?,
            region,
        }))
    }

    /// Options for a new connection. For IAM, signs a fresh token with the current credentials: a token only opens
    /// connections for 15 minutes, so every new connection needs its own.
    fn connect_options(&self) -> Result<PgConnectOptions, DbError> {
        // sqlx logs statements at debug level and slow ones (over 1 s) as warnings: its defaults suit production.
        match self {
            Self::Url(url) => PgConnectOptions::from_str(url).map_err(|error| {
                DbError::Config(format!(
                    "DATABASE_URL is not a valid PostgreSQL URL: {error}"
                ))
            }),
            Self::Iam(config) => {
                let credentials = AwsCredentials::from_env().map_err(DbError::Credentials)?;
                let token = rds_auth_token(
                    &config.host,
                    config.port,
                    &config.region,
                    &config.user,
                    &credentials,
                    SystemTime::now(),
                );
                Ok(config.connect_options(&token))
            }
        }
    }
}

/// Why the database is unavailable. Messages name the target, never a credential.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database configuration: {0}")]
    Config(String),
    #[error("AWS credentials for the database IAM token: {0}")]
    Credentials(String),
    #[error("cannot connect to the database {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("connecting to the database {target} timed out after {} s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout { target: String },
}

/// The one connection of this execution environment.
#[derive(Debug)]
pub struct Database {
    config: DbConfig,
    connection: Mutex<Option<PgConnection>>,
}

impl Database {
    /// Opens nothing: cold start does no database work.
    pub fn new(config: DbConfig) -> Self {
        Self {
            config,
            connection: Mutex::new(None),
        }
    }

    /// The connection, opened now if there is none or the previous one stopped answering (the proxy closes idle
    /// client connections, and a frozen environment can outlive them). Held exclusively until the guard drops.
    pub async fn connection(&self) -> Result<MappedMutexGuard<'_, PgConnection>, DbError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_mut() {
            let alive = matches!(
                tokio::time::timeout(PING_TIMEOUT, connection.ping()).await,
                Ok(Ok(()))
            );
            if !alive {
                tracing::info!("the database connection stopped answering; reconnecting");
                *slot = None;
            }
        }
        if slot.is_none() {
            *slot = Some(self.open().await?);
        }
        MutexGuard::try_map(slot, Option::as_mut)
            .map_err(|_| DbError::Config("no connection after opening one".into()))
    }

    /// Closes the connection (if any); the next [`Self::connection`] opens a new one. Used after a failure that may
    /// leave session state behind (a held advisory lock, an aborted transaction).
    pub async fn reset(&self) {
        let connection = self.connection.lock().await.take();
        if let Some(connection) = connection
            && let Err(error) = connection.close().await
        {
            tracing::debug!(%error, "closing the database connection failed");
        }
    }

    /// A new connection that is not the cached one, for a job that must end with its own session (a migration run):
    /// the caller closes it.
    pub async fn open_dedicated(&self) -> Result<PgConnection, DbError> {
        self.open().await
    }

    async fn open(&self) -> Result<PgConnection, DbError> {
        let options = self.config.connect_options()?;
        let target = describe(&options);
        let started = std::time::Instant::now();
        let connection =
            tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
                .await
                .map_err(|_| DbError::ConnectTimeout {
                    target: target.clone(),
                })?
                .map_err(|source| DbError::Connect {
                    target: target.clone(),
                    source,
                })?;
        tracing::info!(database = %target, elapsed_ms = started.elapsed().as_millis(), "database connection opened");
        Ok(connection)
    }
}

/// `user@host:port/database`: enough to debug a connection, nothing secret.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    const IAM_ENV: &[(&str, &str)] = &[
        (
            "DB_HOST",
            "pmp-dev.proxy-abc.eu-central-1.rds.amazonaws.com",
        ),
        ("DB_PORT", "5432"),
        ("DB_NAME", "pmp"),
        ("DB_USER", "pmp_api"),
        ("AWS_REGION", "eu-central-1"),
    ];

    #[test]
    fn iam_configuration_comes_from_the_environment() {
        let config = DbConfig::from_lookup(env(IAM_ENV)).expect("complete IAM configuration");
        assert_eq!(
            config,
            DbConfig::Iam(IamConfig {
                host: "pmp-dev.proxy-abc.eu-central-1.rds.amazonaws.com".into(),
                port: 5432,
                database: "pmp".into(),
                user: "pmp_api".into(),
                region: "eu-central-1".into(),
            })
        );
    }

    #[test]
    fn iam_connections_verify_the_proxy_certificate_and_host_name() {
        let DbConfig::Iam(config) =
            DbConfig::from_lookup(env(IAM_ENV)).expect("complete IAM configuration")
        else {
            panic!("expected the IAM configuration");
        };
        let options = config.connect_options("token");
        assert!(matches!(options.get_ssl_mode(), PgSslMode::VerifyFull));
        assert_eq!(
            options.get_host(),
            "pmp-dev.proxy-abc.eu-central-1.rds.amazonaws.com"
        );
        assert_eq!(options.get_port(), 5432);
        assert_eq!(options.get_username(), "pmp_api");
        assert_eq!(options.get_database(), Some("pmp"));
        assert_eq!(options.get_application_name(), Some(APPLICATION_NAME));
    }

    #[test]
    fn the_embedded_roots_are_the_amazon_trust_services_roots() {
        use base64::Engine as _;
        use sha2::{Digest, Sha256};

        let pem = std::str::from_utf8(AMAZON_TRUST_SERVICES_ROOTS).expect("PEM is ASCII");
        let fingerprints: Vec<String> = pem
            .split("-----BEGIN CERTIFICATE-----")
            .skip(1)
            .map(|block| {
                let body: String = block
                    .split("-----END CERTIFICATE-----")
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .expect("base64 DER");
                Sha256::digest(der)
                    .iter()
                    .map(|byte| format!("{byte:02X}"))
                    .collect()
            })
            .collect();
        // Published at https://www.amazontrust.com/repository/ (and in Mozilla's root store).
        assert_eq!(
            fingerprints,
            [
                "8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E", // Amazon Root CA 1
                "1BA5B2AA8C65401A82960118F80BEC4F62304D83CEC4713A19C39C011EA46DB4", // Amazon Root CA 2
                "18CE6CFE7BF14E60B2E347B8DFE868CB31D02EBB3ADA271569F50343B46DB3A4", // Amazon Root CA 3
                "E35D28419ED02025CFA69038CD623962458DA5C695FBDEA3C22B0BFB25897092", // Amazon Root CA 4
                "568D6905A2C88708A4B3025190EDCFEDB1974A606A13C6E5290FCB2AE63EDAB5", // Starfield Services G2
            ]
        );
    }

    #[test]
    fn database_url_wins_and_is_never_printed() {
        let mut pairs = IAM_ENV.to_vec();
        pairs.push(("DATABASE_URL", "postgres://me:hunter2@localhost:5433/pmp"));
        let config = DbConfig::from_lookup(env(&pairs)).expect("a valid URL");
        assert_eq!(
            config,
            DbConfig::Url("postgres://me:hunter2@localhost:5433/pmp".into())
        );
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn incomplete_or_invalid_configuration_is_explained() {
        let message = |pairs: &[(&str, &str)]| {
            DbConfig::from_lookup(env(pairs))
                .expect_err("configuration must be refused")
                .to_string()
        };
        assert!(message(&[]).contains("DB_HOST is not set"));
        let without = |name: &str| {
            IAM_ENV
                .iter()
                .copied()
                .filter(|(key, _)| *key != name)
                .collect::<Vec<_>>()
        };
        assert!(message(&without("DB_USER")).contains("DB_USER is not set"));
        assert!(message(&without("AWS_REGION")).contains("AWS_REGION is not set"));
        let mut bad_port = without("DB_PORT");
        bad_port.push(("DB_PORT", "54x"));
        assert!(message(&bad_port).contains("DB_PORT is not a port number"));
        assert!(
            message(&[("DATABASE_URL", "mysql://nope")])
                .contains("DATABASE_URL must start with postgres://")
        );
        assert!(
            message(&[("DATABASE_URL", "postgres://h:notaport/db")])
                .contains("DATABASE_URL is not a valid")
        );
    }

    #[tokio::test]
    async fn nothing_connects_until_needed_and_failures_name_the_target() {
        // Port 1 on loopback refuses at once: creating the database must not notice, the first use must.
        let database = Database::new(DbConfig::Url("postgres://pmp@127.0.0.1:1/pmp".into()));
        let error = database
            .connection()
            .await
            .expect_err("nothing listens on port 1");
        let message = error.to_string();
        assert!(message.contains("pmp@127.0.0.1:1/pmp"), "{message}");
    }
}
