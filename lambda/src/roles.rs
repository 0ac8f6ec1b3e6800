//! The database roles, as code: `pmp_migrator` owns the application schema (`public`) and everything the migrations
//! create in it; `pmp_api` gets only the DML each table needs, granted by the migrations (the owner grants). Both are
//! members of `rds_iam`, so they sign in with IAM tokens only: they have no password at all.
//!
//! Roles belong to the cluster, not to a migration (a migration runs as `pmp_migrator`, which must exist first, and
//! must not be able to create roles). So [`bootstrap`] runs once per database as the RDS master user, before the first
//! migration — see docs/runbooks/database-first-run.md for who runs it and how the master secret reaches it. It is
//! idempotent: a second run changes nothing.

use sqlx::PgConnection;

/// The role the API function signs in as (through the RDS Proxy, IAM token).
pub const API_ROLE: &str = "pmp_api";
/// The role the migration function signs in as; owner of the schema and its objects.
pub const MIGRATOR_ROLE: &str = "pmp_migrator";
/// The RDS role whose members authenticate with IAM tokens. RDS creates it; a local server does not have it.
pub const RDS_IAM_ROLE: &str = "rds_iam";

/// What [`bootstrap`] changed; empty lists on a second run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BootstrapReport {
    /// Roles this run created.
    pub created_roles: Vec<String>,
    /// Objects in `public` that belonged to the connecting user (migrations run as the master user before the roles
    /// existed) and now belong to `pmp_migrator`.
    pub reassigned: Vec<String>,
}

/// Creates both roles when missing and puts the schema in `pmp_migrator`'s hands. Runs as the RDS master user (a
/// member of `rds_superuser`, with CREATEROLE) or, locally, a superuser. In one transaction: all or nothing.
///
/// PostgreSQL 16 and later: a CREATEROLE user receives only ADMIN on the roles it creates, so the master grants
/// itself `SET` (not `INHERIT`) on `pmp_migrator` to be allowed to hand it the schema.
pub async fn bootstrap(conn: &mut PgConnection) -> Result<BootstrapReport, sqlx::Error> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let has_rds_iam: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
            .bind(RDS_IAM_ROLE)
            .fetch_one(&mut *tx)
            .await?;
    if !has_rds_iam {
        return Err(sqlx::Error::Protocol(format!(
            "the role {RDS_IAM_ROLE} does not exist: this is not an RDS database (locally, create it as a NOLOGIN \
             role first, as the tests and `cargo xtask local` do)"
        )));
    }
    let mut report = BootstrapReport::default();
    for role in [MIGRATOR_ROLE, API_ROLE] {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
                .bind(role)
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            // No password: the only way in is an IAM token (rds_iam). No CREATEDB, CREATEROLE, REPLICATION,
            // BYPASSRLS; spelled out so that a reader does not have to know the defaults.
            sqlx::query(&format!(
                "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            ))
            .execute(&mut *tx)
            .await?;
            report.created_roles.push(role.to_owned());
        }
        let iam: bool = sqlx::query_scalar("SELECT pg_has_role($1, $2, 'MEMBER')")
            .bind(role)
            .bind(RDS_IAM_ROLE)
            .fetch_one(&mut *tx)
            .await?;
        if !iam {
            sqlx::query(&format!("GRANT {RDS_IAM_ROLE} TO {role}"))
                .execute(&mut *tx)
                .await?;
        }
    }
    let can_set: bool = sqlx::query_scalar("SELECT pg_has_role(current_user, $1, 'SET')")
        .bind(MIGRATOR_ROLE)
        .fetch_one(&mut *tx)
        .await?;
    if !can_set {
        sqlx::query(&format!(
            "GRANT {MIGRATOR_ROLE} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE"
        ))
        .execute(&mut *tx)
        .await?;
    }
    // The schema: the migrator owns it (CREATE), nobody else may create in it, the API may look up names in it.
    for statement in [
        format!("ALTER SCHEMA public OWNER TO {MIGRATOR_ROLE}"),
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_owned(),
        format!("GRANT USAGE ON SCHEMA public TO {API_ROLE}"),
    ] {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    // A database migrated before the roles existed: its tables and functions belong to the master user. Identity
    // sequences and indexes follow their table.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.oid::regclass::text FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v') \
           AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) \
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await?;
    for table in tables {
        sqlx::query(&format!("ALTER TABLE {table} OWNER TO {MIGRATOR_ROLE}"))
            .execute(&mut *tx)
            .await?;
        report.reassigned.push(table);
    }
    let routines: Vec<String> = sqlx::query_scalar(
        "SELECT p.oid::regprocedure::text FROM pg_proc p \
         WHERE p.pronamespace = 'public'::regnamespace \
           AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) \
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') \
         ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await?;
    for routine in routines {
        sqlx::query(&format!("ALTER ROUTINE {routine} OWNER TO {MIGRATOR_ROLE}"))
            .execute(&mut *tx)
            .await?;
        report.reassigned.push(routine);
    }
    tx.commit().await?;
    Ok(report)
}

/// Locally only: the stand-in for RDS's `rds_iam`, a role nobody can sign in as, so that the grants are the same as on
/// RDS. Idempotent.
pub async fn create_rds_iam_stand_in(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
            .bind(RDS_IAM_ROLE)
            .fetch_one(&mut *conn)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE ROLE {RDS_IAM_ROLE} NOLOGIN"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// `cargo xtask migrate --bootstrap-roles --database-url URL` and `cargo xtask local`: [`bootstrap`] through `URL`,
/// which names an administrator (the RDS master user, or a local superuser). With `local_server`, a missing database
/// is created first. A server that is not RDS (no `rds_superuser`) gets the `rds_iam` stand-in.
pub async fn bootstrap_with_url(
    database_url: &str,
    local_server: bool,
) -> Result<BootstrapReport, sqlx::Error> {
    use sqlx::{ConnectOptions, Connection};
    use std::str::FromStr;

    let options =
        sqlx::postgres::PgConnectOptions::from_str(database_url)?.disable_statement_logging();
    let mut conn = match options.connect().await {
        Err(sqlx::Error::Database(error))
            if local_server && error.code().as_deref() == Some("3D000") =>
        {
            // 3D000 invalid_catalog_name: the database does not exist yet.
            let name = options.get_database().unwrap_or("pmp").to_owned();
            let mut admin = options.clone().database("postgres").connect().await?;
            sqlx::query(&format!(
                "CREATE DATABASE {}",
                crate::migrations::quote_ident(&name)
            ))
            .execute(&mut admin)
            .await?;
            admin.close().await?;
            options.connect().await?
        }
        other => other?,
    };
    // RDS always has rds_superuser and rds_iam; a server without rds_superuser is not RDS and gets the stand-in.
    let on_rds: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_superuser')")
            .fetch_one(&mut conn)
            .await?;
    if !on_rds {
        create_rds_iam_stand_in(&mut conn).await?;
    }
    let report = bootstrap(&mut conn).await;
    let _ = conn.close().await;
    report
}

/// [`bootstrap_with_url`] for synchronous callers (xtask).
pub fn bootstrap_with_url_blocking(
    database_url: &str,
    local_server: bool,
) -> Result<BootstrapReport, sqlx::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(sqlx::Error::Io)?
        .block_on(bootstrap_with_url(database_url, local_server))
}
