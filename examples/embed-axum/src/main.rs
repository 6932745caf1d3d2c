//! Runs the example service: `cargo run -p embed-axum`, then see README.md for a curl session.

use embed_axum::{BoxError, demo_sessions};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let database =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://embed-axum.db?mode=rwc".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("embed-axum listening on http://{}", listener.local_addr()?);
    let app = embed_axum::app(&database, demo_sessions()?).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
