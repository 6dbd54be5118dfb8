//! `subgraph <accounts|products|reviews|inventory> [--listen ADDR] [--redis-url URL]`: runs
//! one demo subgraph on its own, e.g. to point a gateway at it; with Redis, each mutation
//! publishes a change event to the gateways' stream.

use std::net::{Ipv4Addr, SocketAddr};

use clap::{Parser, builder::PossibleValuesParser, builder::TypedValueParser};
use subgraphs::Service;

/// The allocator the gateway uses too: async-graphql allocates many small values per field,
/// and with the system allocator a third of a service's time went to malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(version, about = "Runs one of the demo federation subgraphs")]
struct Args {
    /// Which subgraph to run.
    #[arg(value_parser = service_parser())]
    service: Service,

    /// Address to listen on [default: 127.0.0.1:4001 for accounts, 4002
    /// products, 4003 reviews, 4004 inventory].
    #[arg(long)]
    listen: Option<SocketAddr>,

    /// Publish a change event per mutation to this Redis (gateways' caches stay fresh).
    #[arg(long, env = "SUBGRAPH_REDIS_URL")]
    redis_url: Option<String>,

    /// The Redis Stream gateways tail.
    #[arg(long, default_value = "gateway:invalidations")]
    stream: String,
}

fn service_parser() -> impl TypedValueParser<Value = Service> {
    PossibleValuesParser::new(Service::ALL.map(Service::name))
        .try_map(|name| name.parse::<Service>())
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
    let addr = args
        .listen
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, args.service.default_port())));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        service = args.service.name(),
        "serving http://{}/graphql",
        listener.local_addr()?
    );
    let publisher: subgraphs::events::Publisher = match &args.redis_url {
        Some(url) => std::sync::Arc::new(
            subgraphs::events::RedisPublisher::start(url, args.stream.clone())
                .map_err(std::io::Error::other)?,
        ),
        None => std::sync::Arc::new(subgraphs::events::Nowhere),
    };
    let (signalled, stopping) = tokio::sync::oneshot::channel();
    let shutdown = async move {
        let name = signal.await;
        tracing::info!("{name}: finishing the requests in flight");
        let _ = signalled.send(());
    };
    let server = subgraphs::serve_until(args.service, listener, publisher, shutdown);
    // A client that keeps a request open must not hold the service past its stop deadline.
    let deadline = async {
        if stopping.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_TIMEOUT).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!("requests still in flight after {SHUTDOWN_TIMEOUT:?}: stopping");
            Ok(())
        }
    }
}

/// How long requests in flight may take once a stop signal arrived.
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
