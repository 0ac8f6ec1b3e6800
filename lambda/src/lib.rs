//! The PMP API function: an API Gateway HTTP API handler and the database migrations it embeds.
//!
//! Without the default `runtime` feature only [`migrations`], [`db`] and [`iam_token`] are built: that is what
//! `cargo xtask migrate --database-url` needs, without compiling the Lambda runtime.

#[cfg(feature = "runtime")]
pub mod api;
pub mod db;
#[cfg(feature = "runtime")]
pub mod handler;
pub mod iam_token;
#[cfg(feature = "runtime")]
pub mod logging;
pub mod migrations;
pub mod roles;
