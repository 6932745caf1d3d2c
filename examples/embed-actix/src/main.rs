//! Runs the example service: `cargo run -p embed-actix`, then see README.md for a curl session.

use embed_actix::{BoxError, demo_sessions};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let database =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://embed-actix.db?mode=rwc".into());
    let listener = std::net::TcpListener::bind(&bind)?;
    println!("embed-actix listening on http://{}", listener.local_addr()?);
    let server = embed_actix::server(listener, &database, demo_sessions()?).await?;
    server.await?;
    Ok(())
}
