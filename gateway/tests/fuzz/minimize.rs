//! Shrinks a failing input: drops runs of tokens (halving the run length down to single
//! tokens) while the input still fails the same way (panics at the same place, or is refused
//! with the same error).

use gateway::gateway::GraphQLRequest;

use super::case::{Case, Target};
use super::harness::{self, Verdict};
use super::mutator::{join, tokenize};

/// The smallest text found for which `same_failure` still holds, trying at most `budget`
/// inputs.
pub fn minimize(
    target: &mut Target,
    runtime: &tokio::runtime::Runtime,
    case: &Case,
    same_failure: &dyn Fn(&Verdict) -> bool,
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
        if let Verdict::Panicked(_) = outcome.verdict {
            // A gateway that panicked may hold half-updated caches.
            target.reset();
        }
        same_failure(&outcome.verdict)
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
