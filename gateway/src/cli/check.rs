//! `gateway check`: compare two API schemas and fail CI on breaking changes.
//!
//! Exit codes: 0 when nothing is breaking (or `--allow-breaking`), 1 when something is
//! breaking, 2 when an input cannot be read, parsed or loaded. Unlike the other commands it
//! returns its own [`ExitCode`], because "breaking" and "bad input" must be told apart by CI.

use std::path::PathBuf;
use std::process::ExitCode;

use gateway::check::{self, Summary, load, render};

/// Arguments of `gateway check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The schema clients use today: a supergraph or a plain GraphQL schema.
    #[arg(long)]
    old: PathBuf,
    /// The schema about to replace it.
    #[arg(long)]
    new: PathBuf,
    /// Exit 0 even when a change is breaking (the report still lists it).
    #[arg(long)]
    allow_breaking: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

const BAD_INPUT: u8 = 2;
const BREAKING: u8 = 1;

pub fn check(args: CheckArgs) -> ExitCode {
    let schemas = load::read_api_schema(&args.old)
        .and_then(|old| Ok((old, load::read_api_schema(&args.new)?)));
    let (old, new) = match schemas {
        Ok(schemas) => schemas,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let changes = check::diff(&old, &new);
    match args.format {
        Format::Text => super::output::print(&render::text(&changes)),
        Format::Json => super::output::print(&render::json(&changes)),
    }
    let breaking = Summary::of(&changes).breaking;
    if breaking > 0 && !args.allow_breaking {
        eprintln!(
            "error: {breaking} breaking change{} (pass --allow-breaking to accept)",
            if breaking == 1 { "" } else { "s" }
        );
        return ExitCode::from(BREAKING);
    }
    ExitCode::SUCCESS
}
