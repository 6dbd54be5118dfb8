//! `cheap-subgraphs [--listen ADDR]`: the load benchmark's cheap subgraphs (accounts, products,
//! reviews, inventory over data built at start) in one process, each on its own path:
//! `http://ADDR/accounts`, ...; `GET /requests` counts the requests each received.

use std::net::SocketAddr;

use clap::Parser;

/// The allocator of the gateway and the demo services.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Runs the load benchmark's four cheap subgraphs in one process"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4200")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let signal = subgraphs::on_signal()?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!("serving http://{addr}/{{accounts,products,reviews,inventory}}");
    subgraphs::cheap::serve_until(listener, async move {
        let name = signal.await;
        tracing::info!("{name}: stopping");
    })
    .await
}
