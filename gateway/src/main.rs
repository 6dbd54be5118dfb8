//! The `gateway` command: `serve`, `plan` and `demo`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use gateway::config::{Config, SubgraphConfig};
use gateway::gateway::GraphQLRequest;
use gateway::startup::{build_gateway, load_supergraph};
use gateway::supergraph::Supergraph;
use tokio::net::TcpListener;

/// The supergraph of the demo services, as `gateway demo` serves it.
const DEMO_SUPERGRAPH: &str = include_str!("../../schema/supergraph.graphql");

#[derive(Parser)]
#[command(name = "gateway", version, about = "GraphQL federation gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a supergraph over HTTP.
    Serve {
        /// The supergraph SDL file (or `supergraph:` in the config).
        #[arg(long)]
        supergraph: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:4000, or `listen:` in the config).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// YAML config file (see docs/config.md).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the query plan of an operation.
    Plan {
        #[arg(long)]
        supergraph: PathBuf,
        /// File holding the operation.
        #[arg(long)]
        query: PathBuf,
        #[arg(long)]
        operation_name: Option<String>,
        /// Variables as JSON; only those used by `@skip`/`@include` change the plan.
        #[arg(long)]
        variables: Option<String>,
    },
    /// Run the four demo services and a gateway over them in this process.
    Demo {
        #[arg(long, default_value = "127.0.0.1:4000")]
        listen: SocketAddr,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve {
            supergraph,
            listen,
            config,
        } => run_async(serve(supergraph, listen, config)),
        Command::Plan {
            supergraph,
            query,
            operation_name,
            variables,
        } => plan(supergraph, query, operation_name, variables),
        Command::Demo { listen } => run_async(demo(listen)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_async(future: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(future)
}

async fn serve(
    supergraph: Option<PathBuf>,
    listen: Option<SocketAddr>,
    config: Option<PathBuf>,
) -> Result<(), String> {
    let mut config = match config {
        Some(path) => Config::load(&path).map_err(|e| e.to_string())?,
        None => {
            let mut config = Config::default();
            config.apply_env().map_err(|e| e.to_string())?;
            config
        }
    };
    if let Some(listen) = listen {
        config.listen = listen;
    }
    let path = supergraph
        .or_else(|| config.supergraph.clone())
        .ok_or("no supergraph: pass --supergraph FILE or set `supergraph:` in the config")?;
    let supergraph = load_supergraph(&path).map_err(|e| e.to_string())?;
    run_gateway(supergraph, &config).await
}

async fn run_gateway(supergraph: Supergraph, config: &Config) -> Result<(), String> {
    let gateway = Arc::new(build_gateway(supergraph, config).map_err(|e| e.to_string())?);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("gateway listening on http://{address}/graphql");
    gateway::server::serve(
        listener,
        gateway::server::router(gateway),
        shutdown_signal(),
    )
    .await
    .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn demo(listen: SocketAddr) -> Result<(), String> {
    let mut config = Config {
        listen,
        ..Config::default()
    };
    for service in subgraphs::Service::ALL {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!("{} subgraph on http://{address}/graphql", service.name());
        config.subgraphs.insert(
            service.name().to_string(),
            SubgraphConfig {
                url: Some(format!("http://{address}/graphql")),
                timeout_ms: None,
            },
        );
        tokio::spawn(async move {
            if let Err(e) = subgraphs::serve(service, listener).await {
                tracing::error!("{} subgraph stopped: {e}", service.name());
            }
        });
    }
    let supergraph = Supergraph::parse(DEMO_SUPERGRAPH).map_err(|e| e.to_string())?;
    tracing::info!("playground: http://{listen}/graphql");
    run_gateway(supergraph, &config).await
}

fn plan(
    supergraph: PathBuf,
    query: PathBuf,
    operation_name: Option<String>,
    variables: Option<String>,
) -> Result<(), String> {
    let supergraph = load_supergraph(&supergraph).map_err(|e| e.to_string())?;
    let gateway = build_gateway(supergraph, &Config::default()).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&query)
        .map_err(|e| format!("cannot read {}: {e}", query.display()))?;
    let variables = match variables {
        Some(json) => Some(
            serde_json::from_str(&json)
                .map_err(|e| format!("--variables is not a JSON object: {e}"))?,
        ),
        None => None,
    };
    let request = GraphQLRequest {
        query: Some(text),
        operation_name,
        variables,
        extensions: None,
    };
    match gateway.plan(&request) {
        Ok(planned) => {
            println!("{}", planned.plan);
            Ok(())
        }
        Err(errors) => Err(errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}
