//! The `gateway` command: `serve`, `plan`, `compose`, `check` and `demo`.

mod cli;

/// mimalloc: a request allocates many small, short-lived JSON nodes; it serves them faster than
/// the system allocator (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
        /// Address to listen on, host:port (default 127.0.0.1:4000, or `listen:` in the
        /// config).
        #[arg(long, value_parser = listen_address)]
        listen: Option<String>,
        /// YAML config file (see docs/config.md).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Reload the supergraph file when it changes, without a restart (as
        /// `supergraph.watch: true`; see docs/operations.md).
        #[arg(long)]
        hot_reload: bool,
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
    /// List the changes between two API schemas; exit 1 if one is breaking, 2 on bad input.
    Check(cli::check::CheckArgs),
    /// Compose subgraph schemas into a supergraph (config in the shape of supergraph.yaml).
    Compose {
        #[arg(long)]
        config: PathBuf,
        /// Write the supergraph here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Write nothing; fail when FILE differs from a fresh composition (CI's stale check).
        #[arg(long, value_name = "FILE", conflicts_with = "output")]
        check: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: cli::compose::Format,
    },
    /// Run the four demo services and a gateway over them in this process.
    Demo {
        #[arg(long, default_value = "127.0.0.1:4000", value_parser = listen_address)]
        listen: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` installs its subscriber once its config (`log:`, `telemetry:`) is read.
    if !matches!(cli.command, Command::Serve { .. })
        && let Err(error) = gateway::telemetry::init_logs(&Default::default())
    {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Serve {
            supergraph,
            listen,
            config,
            hot_reload,
        } => run_async(cli::serve::serve(supergraph, listen, config, hot_reload)),
        Command::Plan {
            supergraph,
            query,
            operation_name,
            variables,
        } => cli::plan::plan(supergraph, query, operation_name, variables),
        Command::Check(args) => return cli::check::check(args),
        Command::Compose {
            config,
            output,
            check,
            format,
        } => {
            let target = match (output, check) {
                (_, Some(file)) => cli::compose::Target::Check(file),
                (Some(file), None) => cli::compose::Target::File(file),
                (None, None) => cli::compose::Target::Stdout,
            };
            run_async(cli::compose::run(config, target, format))
        }
        Command::Demo { listen } => run_async(cli::demo::demo(listen)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn listen_address(address: &str) -> Result<String, String> {
    gateway::config::check_listen(address).map(|()| address.to_string())
}

fn run_async(future: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(future)
}
