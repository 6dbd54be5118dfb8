//! Shrinks a panicking input: drops runs of tokens (halving the run length down to single
//! tokens) while the input still panics at the same place.

use gateway::gateway::GraphQLRequest;

use super::case::{Case, Target};
use super::harness::{self, Verdict};
use super::mutator::{join, tokenize};

/// The smallest text found that still panics at `location`, trying at most `budget` inputs.
pub fn minimize(
    target: &mut Target,
    runtime: &tokio::runtime::Runtime,
    case: &Case,
    location: &str,
    budget: usize,
) -> String {
    let mut tokens = tokenize(case.request.query.as_deref().unwrap_or_default());
    let mut attempts = 0;
    let still_panics = |text: String, target: &mut Target| {
        let candidate = Case {
            request: GraphQLRequest {
                query: Some(text),
                ..case.request.clone()
            },
            label: case.label.clone(),
            ..*case
        };
        let outcome = harness::run(target, runtime, &candidate);
        match outcome.verdict {
            Verdict::Panicked(report) => {
                // A gateway that panicked may hold half-updated caches.
                target.reset();
                report.location == location
            }
            _ => false,
        }
    };
    let mut run = (tokens.len() / 2).max(1);
    loop {
        let mut shrunk = false;
        let mut start = 0;
        while start < tokens.len() && attempts < budget {
            let end = (start + run).min(tokens.len());
            let mut candidate = tokens.clone();
            candidate.drain(start..end);
            attempts += 1;
            if still_panics(join(&candidate), target) {
                tokens = candidate;
                shrunk = true;
            } else {
                start = end;
            }
        }
        if attempts >= budget || (run == 1 && !shrunk) {
            break;
        }
        if !shrunk {
            run = (run / 2).max(1);
        }
    }
    join(&tokens)
}
