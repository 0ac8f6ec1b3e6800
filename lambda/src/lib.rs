//! The PMP API function: an API Gateway HTTP API handler and the database migrations it embeds.
//!
//! Without the default `runtime` feature only [`migrations`], [`db`] and [`iam_token`] are built: that is what
//! `cargo xtask migrate --database-url` needs, without compiling the Lambda runtime.

pub mod db;
pub mod iam_token;
pub mod migrations;
