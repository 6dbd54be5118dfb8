//! `cargo run --release -p consistency [-- --short] [--json report.json]`: runs the checker
//! (docs/cache.md, "What the checker proves") and prints its table; exits 1 if the cache broke
//! its promise in any phase.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Checks the cache's consistency promise under faults")]
struct Args {
    /// The short form the test command runs (tight bounds, short phases).
    #[arg(long)]
    short: bool,
    /// Also writes the report as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let plan = if args.short {
        consistency::Plan::short()
    } else {
        consistency::Plan::full()
    };
    eprintln!("consistency: {plan:?}");
    let report = consistency::run(&plan).await;
    println!("{}", report.table());
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(&report).expect("a report serialises");
        std::fs::write(&path, json).expect("the report file is writable");
    }
    if report.holds() {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("consistency: the cache broke its promise in at least one phase (see above)");
        std::process::ExitCode::FAILURE
    }
}
