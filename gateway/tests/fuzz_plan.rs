//! Fuzzes the request path from text to plan (`Gateway::plan`, and `Gateway::execute` for a
//! share of inputs) with generated, mutated and hostile GraphQL over the demo and fixture
//! supergraphs: no input may panic or take longer than the time bound. See docs/fuzzing.md.
//!
//! `FUZZ_SEED` (a number or `random`), `FUZZ_INPUTS`, `FUZZ_START`, `FUZZ_INDEX` (reproduce
//! one input), `FUZZ_TIME_BOUND_MS`, `FUZZ_KNOWN=1`, `FUZZ_EXECUTE_SHARE`, `FUZZ_FINDINGS`.

mod fuzz;

use std::path::{Path, PathBuf};
use std::time::Instant;

use apollo_compiler::ExecutableDocument;
use gateway::gateway::GraphQLRequest;

use fuzz::case::{self, Case, Kind};
use fuzz::harness::{self, Verdict};
use fuzz::schema_view::SchemaView;
use fuzz::{Config, driver, supervisor};

#[test]
fn fuzz_plan_requests() {
    let config = Config::from_env();
    if let Some(index) = config.only {
        driver::reproduce(&config, index);
        return;
    }
    let progress = supervisor::progress_path();
    let in_process = std::env::var_os("FUZZ_IN_PROCESS").is_some();
    if progress.is_none() && !in_process {
        println!(
            "fuzz_plan: FUZZ_SEED={} inputs {}..{}",
            config.seed,
            config.start,
            config.start + config.inputs
        );
        if let Err(failure) = supervisor::supervise("fuzz_plan_requests", config.seed) {
            panic!("{failure}");
        }
        return;
    }
    let progress_file = progress.map(|path| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("progress file")
    });
    let wall = Instant::now();
    let stats = driver::run(&config, progress_file.as_ref());
    println!("{}", stats.report());
    println!("wall time {:.1} s", wall.elapsed().as_secs_f64());
    assert!(
        stats.is_clean(),
        "fuzzing found panics or slow inputs (see above)"
    );
}

/// The generator's documents are valid by construction; this keeps it honest, so that a
/// valid input the gateway refuses points at the gateway.
#[test]
fn generated_documents_are_valid() {
    let targets = case::targets();
    let settings = Config::from_env().settings;
    let views: Vec<SchemaView> = targets
        .iter()
        .map(|t| SchemaView::new(t.supergraph.api_schema()))
        .collect();
    let mut checked = 0;
    for index in 0..3_000 {
        let case = case::generate(fuzz::DEFAULT_SEED, index, &views, &settings);
        if case.kind != Kind::Valid {
            continue;
        }
        checked += 1;
        let schema = targets[case.target].supergraph.api_schema();
        let text = case.request.query.as_deref().expect("text");
        if let Err(errors) = ExecutableDocument::parse_and_validate(schema, text, "fuzz.graphql") {
            panic!(
                "generated input #{index} on {} is invalid:\n{}\n{text}",
                targets[case.target].name, errors.errors
            );
        }
    }
    assert!(checked > 500, "only {checked} valid inputs among 3000");
}

/// Every input under `tests/fuzz/regressions/` runs without panicking and within the bound,
/// and is planned, with valid subgraph operations, when it says `# expect: planned` (those
/// marked `# known:` only run with `FUZZ_KNOWN=1`).
#[test]
fn fuzz_regressions() {
    let config = Config::from_env();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/regressions");
    let mut targets = case::targets();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut failures = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("regressions folder")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .collect();
    files.sort();
    for path in files {
        let regression = Regression::read(&path);
        if regression.known.is_some() && !config.known_regressions {
            println!("skipped (known): {}", path.display());
            continue;
        }
        let target = targets
            .iter()
            .position(|t| t.name == regression.supergraph)
            .unwrap_or_else(|| panic!("{}: unknown supergraph", path.display()));
        let case = Case {
            seed: 0,
            index: 0,
            target,
            // Valid ones also get their plan's subgraph operations checked.
            kind: if regression.expect_planned {
                Kind::Valid
            } else {
                Kind::Hostile
            },
            label: path.display().to_string(),
            request: regression.request,
            execute: regression.execute,
        };
        let outcome = harness::run(&targets[target], &runtime, &case);
        let verdict = match &outcome.verdict {
            Verdict::Panicked(report) => {
                targets[target].reset();
                Some(format!(
                    "panicked at {}: {}",
                    report.location, report.message
                ))
            }
            _ if outcome.elapsed > config.bound => Some(format!("took {:?}", outcome.elapsed)),
            Verdict::Rejected { code, message } if regression.expect_planned => {
                Some(format!("not planned: {code}: {message}"))
            }
            _ if outcome.invalid_fetch.is_some() => outcome.invalid_fetch.clone(),
            _ => None,
        };
        println!("{:>10.3?}  {}", outcome.elapsed, path.display());
        if let Some(verdict) = verdict {
            failures.push(format!("{}: {verdict}", path.display()));
        }
    }
    assert!(failures.is_empty(), "regressions:\n{}", failures.join("\n"));
}

/// Time against size for the shapes known to be expensive, printed as a table:
/// `cargo test --release -p gateway --test fuzz_plan -- --ignored --nocapture hostile_scaling`.
#[test]
#[ignore = "a measurement, not a check"]
fn hostile_scaling() {
    let targets = case::targets();
    let demo = &targets[0];
    let view = SchemaView::new(demo.supergraph.api_schema());
    println!("{:>12}  {:>12}  shape", "plan", "parse+valid.");
    for (label, text) in fuzz::hostile::scaling_shapes(&view) {
        // apollo-compiler's share of the cost: parsing and validating alone.
        let start = Instant::now();
        let parsed =
            ExecutableDocument::parse_and_validate(demo.supergraph.api_schema(), &text, "q");
        let parse_time = start.elapsed();
        drop(parsed);
        let request = GraphQLRequest {
            query: Some(text),
            ..Default::default()
        };
        let start = Instant::now();
        let result = demo.gateway.plan(&request);
        let plan_time = start.elapsed();
        let outcome = match result {
            Ok(_) => "planned".to_string(),
            Err(errors) => format!(
                "{} errors, first: {}",
                errors.len(),
                harness::short(&errors[0].message, 50)
            ),
        };
        println!("{plan_time:>12.3?}  {parse_time:>12.3?}  {label:<30} {outcome}");
    }
}

/// A regression input: GraphQL text whose leading `# key: value` comments say how to send it.
struct Regression {
    supergraph: String,
    request: GraphQLRequest,
    execute: bool,
    /// A valid operation: the gateway must plan it.
    expect_planned: bool,
    known: Option<String>,
}

impl Regression {
    fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).expect("regression file");
        let mut regression = Regression {
            supergraph: "demo".into(),
            request: GraphQLRequest::default(),
            execute: false,
            expect_planned: false,
            known: None,
        };
        for line in text.lines().map_while(|l| l.strip_prefix("# ")) {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            match key {
                "supergraph" => regression.supergraph = value.to_string(),
                "operationName" => regression.request.operation_name = Some(value.to_string()),
                "variables" => {
                    regression.request.variables =
                        Some(serde_json::from_str(value).expect("variables are a JSON object"))
                }
                "execute" => regression.execute = value == "true",
                "expect" => regression.expect_planned = value == "planned",
                "known" => regression.known = Some(value.to_string()),
                _ => {}
            }
        }
        regression.request.query = Some(text);
        regression
    }
}

/// Resident memory after planning distinct invalid documents, which the document cache keeps
/// with all their errors: `cargo test --release -p gateway --test fuzz_plan -- --ignored
/// --nocapture invalid_documents_memory`.
#[test]
#[ignore = "a measurement, not a check"]
fn invalid_documents_memory() {
    fn resident_mb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
            .unwrap_or_default()
            / 1024
    }
    let targets = case::targets();
    let demo = &targets[0];
    let before = resident_mb();
    let documents = 20;
    for i in 0..documents {
        // 100 KB each, distinct so that each is parsed and cached.
        let text = format!("{}#{i}", "{".repeat(100_000));
        let request = GraphQLRequest {
            query: Some(text),
            ..Default::default()
        };
        let _ = demo.gateway.plan(&request);
    }
    let after = resident_mb();
    println!(
        "{documents} invalid documents of 100 KB: resident {before} MB → {after} MB ({} MB each)",
        (after.saturating_sub(before)) / documents
    );
}
