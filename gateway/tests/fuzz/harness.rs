//! Feeds one input at a time through `Gateway::plan` (and some through `Gateway::execute`),
//! catching panics and timing each input, and keeps what a report needs: counts by kind and
//! outcome, the slowest inputs, panics, inputs over the time bound, and valid inputs the gateway
//! refused (which point at the gateway or at the generator).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use gateway::gateway::Transport;

use super::case::{Case, Kind, Target};

/// Where and why the gateway panicked.
#[derive(Debug, Clone)]
pub struct PanicReport {
    pub message: String,
    pub location: String,
    pub backtrace: String,
}

#[derive(Debug, Clone)]
pub enum Verdict {
    Planned,
    /// Rejected with this `extensions.code` and first message.
    Rejected {
        code: String,
        message: String,
    },
    Panicked(PanicReport),
}

pub struct Outcome {
    pub verdict: Verdict,
    pub elapsed: Duration,
    /// For valid inputs that planned: a subgraph operation of the plan that is not valid
    /// GraphQL, with why (see `fetch_check`).
    pub invalid_fetch: Option<String>,
}

thread_local! {
    /// Set while an input runs on this thread: its panic is recorded, not printed.
    static CAPTURE: RefCell<Option<Option<PanicReport>>> = const { RefCell::new(None) };
}

/// Installs (once) the panic hook that records panics of inputs instead of printing them.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let captured = CAPTURE.with(|capture| {
                let mut capture = capture.borrow_mut();
                let slot = capture.as_mut()?;
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic payload)".into());
                *slot = Some(PanicReport {
                    message,
                    location: info
                        .location()
                        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                        .unwrap_or_default(),
                    backtrace: std::backtrace::Backtrace::force_capture().to_string(),
                });
                Some(())
            });
            if captured.is_none() {
                default(info);
            }
        }));
    });
}

/// Runs `case` on its target: plan, then execute when the case asks and it planned.
pub fn run(target: &Target, runtime: &tokio::runtime::Runtime, case: &Case) -> Outcome {
    install_panic_hook();
    CAPTURE.with(|c| *c.borrow_mut() = Some(None));
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let planned = target.gateway.plan(&case.request);
        if case.execute && planned.is_ok() {
            target.fetcher.reseed(case.seed ^ case.index);
            let request = case.request.clone();
            runtime.block_on(
                target
                    .gateway
                    .execute(request, Transport::Post, Default::default()),
            );
        }
        planned
    }));
    let elapsed = start.elapsed();
    let captured = CAPTURE.with(|c| c.borrow_mut().take()).flatten();
    // Checked after the clock stopped: the check is the fuzzer's cost, not the gateway's.
    let invalid_fetch = match (&result, &target.fetch_checker) {
        (Ok(Ok(planned)), Some(checker)) if case.kind == Kind::Valid => {
            checker.first_invalid(&planned.plan)
        }
        _ => None,
    };
    let verdict = match result {
        Ok(Ok(_)) => Verdict::Planned,
        Ok(Err(errors)) => {
            let first = errors.first();
            Verdict::Rejected {
                code: first
                    .and_then(|e| e.extensions.get("code"))
                    .and_then(|c| c.as_str())
                    .unwrap_or("NO_CODE")
                    .to_string(),
                message: first.map(|e| e.message.clone()).unwrap_or_default(),
            }
        }
        Err(_) => Verdict::Panicked(captured.unwrap_or(PanicReport {
            message: "(panic not captured)".into(),
            location: String::new(),
            backtrace: String::new(),
        })),
    };
    Outcome {
        verdict,
        elapsed,
        invalid_fetch,
    }
}

/// One input worth a look, with what it did.
pub struct Finding {
    pub what: String,
    pub case_label: String,
    pub target: String,
    pub index: u64,
    pub elapsed: Duration,
    /// Where its text was written.
    pub file: Option<PathBuf>,
}

/// What a run saw, for its report.
pub struct Stats {
    pub seed: u64,
    pub bound: Duration,
    pub inputs: u64,
    pub total_time: Duration,
    /// (kind, outcome) → count.
    pub outcomes: BTreeMap<(Kind, String), u64>,
    /// The slowest inputs, slowest first.
    pub slowest: Vec<(Duration, u64, String, String)>,
    pub panics: Vec<Finding>,
    pub over_time: Vec<Finding>,
    /// Valid inputs the gateway refused, by code and message (a few examples each).
    pub refused_valid: BTreeMap<String, Vec<u64>>,
    /// Plans sending a subgraph an invalid operation, by reason (a few examples each).
    pub invalid_fetches: BTreeMap<String, (u64, Vec<String>)>,
    findings_dir: PathBuf,
}

const SLOWEST_KEPT: usize = 8;

impl Stats {
    pub fn new(seed: u64, bound: Duration, findings_dir: PathBuf) -> Self {
        Self {
            seed,
            bound,
            inputs: 0,
            total_time: Duration::ZERO,
            outcomes: BTreeMap::new(),
            slowest: Vec::new(),
            panics: Vec::new(),
            over_time: Vec::new(),
            refused_valid: BTreeMap::new(),
            invalid_fetches: BTreeMap::new(),
            findings_dir,
        }
    }

    pub fn record(&mut self, target: &Target, case: &Case, outcome: &Outcome) {
        self.inputs += 1;
        self.total_time += outcome.elapsed;
        let summary = match &outcome.verdict {
            Verdict::Planned => "planned".to_string(),
            Verdict::Rejected { code, .. } => code.clone(),
            Verdict::Panicked(_) => "PANIC".to_string(),
        };
        *self.outcomes.entry((case.kind, summary)).or_default() += 1;
        if self.slowest.len() < SLOWEST_KEPT
            || outcome.elapsed > self.slowest.last().expect("kept").0
        {
            self.slowest.push((
                outcome.elapsed,
                case.index,
                target.name.clone(),
                format!("{:?}: {}", case.kind, short(&case.label, 100)),
            ));
            self.slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
            self.slowest.truncate(SLOWEST_KEPT);
        }
        if let (Kind::Valid, Verdict::Rejected { code, message }) = (case.kind, &outcome.verdict)
            && code != "INTROSPECTION_FAILED"
        {
            let examples = self
                .refused_valid
                .entry(format!("{code}: {}", short(message, 120)))
                .or_default();
            if examples.len() < 3 {
                examples.push(case.index);
            }
        }
        if let Some(reason) = &outcome.invalid_fetch {
            // Grouped by what is wrong, whichever supergraph and subgraph it was sent to.
            let (fetch, why) = reason.split_once(": ").unwrap_or(("", reason));
            let (count, examples) = self.invalid_fetches.entry(short(why, 160)).or_default();
            *count += 1;
            if examples.len() < 5 {
                examples.push(format!("#{} on {} ({fetch})", case.index, target.name));
            }
        }
        if let Verdict::Panicked(report) = &outcome.verdict {
            let what = format!("panicked at {}: {}", report.location, report.message);
            let file = self.write(target, case, &what, Some(&report.backtrace));
            self.panics
                .push(self.finding(target, case, outcome, what, file));
        }
        if outcome.elapsed > self.bound {
            let what = format!("took {:?} (bound {:?})", outcome.elapsed, self.bound);
            let file = self.write(target, case, &what, None);
            self.over_time
                .push(self.finding(target, case, outcome, what, file));
        }
    }

    fn finding(
        &self,
        target: &Target,
        case: &Case,
        outcome: &Outcome,
        what: String,
        file: Option<PathBuf>,
    ) -> Finding {
        Finding {
            what,
            case_label: format!("{:?}: {}", case.kind, short(&case.label, 200)),
            target: target.name.clone(),
            index: case.index,
            elapsed: outcome.elapsed,
            file,
        }
    }

    /// Writes the input as a regression file (see `regressions/README.md` for the format).
    fn write(
        &self,
        target: &Target,
        case: &Case,
        what: &str,
        backtrace: Option<&str>,
    ) -> Option<PathBuf> {
        std::fs::create_dir_all(&self.findings_dir).ok()?;
        let path = self
            .findings_dir
            .join(format!("seed{}-input{}.graphql", self.seed, case.index));
        let mut text = regression_header(target, case, what);
        text.push_str(case.request.query.as_deref().unwrap_or_default());
        text.push('\n');
        if let Some(backtrace) = backtrace {
            let _ = std::fs::write(path.with_extension("backtrace.txt"), backtrace);
        }
        std::fs::write(&path, text).ok()?;
        Some(path)
    }

    pub fn is_clean(&self) -> bool {
        self.panics.is_empty() && self.over_time.is_empty()
    }

    pub fn report(&self) -> String {
        let mut out = String::new();
        let seconds = self.total_time.as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "fuzz_plan: seed {} — {} inputs in {:.1} s of gateway time ({:.0} inputs/s), bound {:?}",
            self.seed,
            self.inputs,
            seconds,
            self.inputs as f64 / seconds,
            self.bound
        );
        let _ = writeln!(out, "outcomes by kind:");
        for ((kind, outcome), count) in &self.outcomes {
            let _ = writeln!(out, "  {kind:?} → {outcome}: {count}");
        }
        let _ = writeln!(out, "slowest inputs:");
        for (elapsed, index, target, label) in &self.slowest {
            let _ = writeln!(out, "  {elapsed:>12.3?}  #{index} on {target}: {label}");
        }
        if !self.refused_valid.is_empty() {
            let _ = writeln!(out, "valid inputs refused (generator or gateway disagree):");
            for (reason, examples) in &self.refused_valid {
                let _ = writeln!(out, "  {reason}  e.g. inputs {examples:?}");
            }
        }
        if !self.invalid_fetches.is_empty() {
            let _ = writeln!(out, "plans sending a subgraph an invalid operation:");
            for (reason, (count, examples)) in &self.invalid_fetches {
                let _ = writeln!(
                    out,
                    "  {reason}: {count} inputs\n    e.g. {}",
                    examples.join(", ")
                );
            }
        }
        for (title, findings) in [("PANICS", &self.panics), ("OVER TIME", &self.over_time)] {
            if findings.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{title}: {}", findings.len());
            for f in findings.iter().take(20) {
                let _ = writeln!(
                    out,
                    "  #{} on {} ({:?}): {}\n    input: {}\n    reproduce: FUZZ_SEED={} FUZZ_INDEX={} cargo test -p gateway --test fuzz_plan -- --nocapture\n    written to {}",
                    f.index,
                    f.target,
                    f.elapsed,
                    f.what,
                    f.case_label,
                    self.seed,
                    f.index,
                    f.file
                        .as_deref()
                        .map(Path::display)
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "(not written)".into()),
                );
            }
        }
        out
    }
}

/// The comment lines a regression file starts with: GraphQL comments, so the file is the
/// request's text as it was sent.
pub fn regression_header(target: &Target, case: &Case, what: &str) -> String {
    let mut header = format!(
        "# supergraph: {}\n# found: seed {} input {} ({:?}: {})\n# result: {}\n",
        target.name,
        case.seed,
        case.index,
        case.kind,
        short(&case.label, 200).replace('\n', " "),
        what.replace('\n', " ")
    );
    if let Some(name) = &case.request.operation_name {
        let _ = writeln!(header, "# operationName: {name}");
    }
    if let Some(variables) = &case.request.variables {
        let _ = writeln!(
            header,
            "# variables: {}",
            serde_json::to_string(variables).unwrap_or_default()
        );
    }
    if case.execute {
        header.push_str("# execute: true\n");
    }
    header
}

/// At most `max` characters of `text`, marked when cut.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}
