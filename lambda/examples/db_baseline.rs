//! The client code alone: connect to `DATABASE_URL` (TLS and authentication as the URL says), run the database
//! route's query once, print what it read, close. `cargo xtask bench` times this process from start to exit against
//! the function's cold start on `GET /database`: the difference is what the Lambda runtime and the handler add.

use sqlx::Connection;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut connection = sqlx::PgConnection::connect(&url).await?;
        let (role, purposes, pid): (String, i64, i32) = sqlx::query_as(pmp_api::db::READ_QUERY)
            .fetch_one(&mut connection)
            .await?;
        println!("{{\"role\":\"{role}\",\"purposes\":{purposes},\"backend_pid\":{pid}}}");
        connection.close().await?;
        Ok(())
    })
}
