//! One fuzz input: which supergraph, which request, and what kind of input it is. Input
//! `index` of seed `seed` is generated from its own random stream, so any input can be
//! regenerated alone from (seed, index).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gateway::config::QueryPlanningConfig;
use gateway::gateway::{Gateway, GraphQLRequest};
use gateway::supergraph::Supergraph;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::chaos_fetcher::ChaosFetcher;
use super::fetch_check::FetchChecker;
use super::generator::{self, Knobs};
use super::hostile::{self, Shape};
use super::mutator;
use super::schema_view::SchemaView;
use super::values::garbage_json;

/// A supergraph to fuzz against, with its gateway.
pub struct Target {
    pub name: String,
    pub supergraph: Arc<Supergraph>,
    pub gateway: Gateway,
    pub fetcher: Arc<ChaosFetcher>,
    pub fetch_checker: Option<FetchChecker>,
}

impl Target {
    fn load(name: String, path: &Path) -> Self {
        let sdl = std::fs::read_to_string(path).expect("supergraph file reads");
        let supergraph = Arc::new(Supergraph::parse(&sdl).expect("supergraph loads"));
        let (gateway, fetcher) = new_gateway(&supergraph);
        Self {
            name,
            fetch_checker: FetchChecker::new(&supergraph),
            supergraph,
            gateway,
            fetcher,
        }
    }

    /// A fresh gateway (empty caches), e.g. after one panicked.
    pub fn reset(&mut self) {
        (self.gateway, self.fetcher) = new_gateway(&self.supergraph);
    }
}

pub fn new_gateway(supergraph: &Arc<Supergraph>) -> (Gateway, Arc<ChaosFetcher>) {
    let fetcher = Arc::new(ChaosFetcher::default());
    let gateway = Gateway::new(
        supergraph.clone(),
        fetcher.clone(),
        &QueryPlanningConfig::default(),
    );
    (gateway, fetcher)
}

/// The demo supergraph, every test fixture's and every rover-composed one's, in a stable
/// order.
pub fn targets() -> Vec<Target> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut targets = vec![Target::load(
        "demo".into(),
        &manifest.join("../schema/supergraph.graphql"),
    )];
    let mut fixtures: Vec<PathBuf> = ["tests/fixtures", "tests/rover-supergraphs"]
        .iter()
        .flat_map(|folder| std::fs::read_dir(manifest.join(folder)).expect("fixtures folder"))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|dir| dir.join("supergraph.graphql").exists())
        .collect();
    fixtures.sort();
    for dir in fixtures {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        targets.push(Target::load(name, &dir.join("supergraph.graphql")));
    }
    targets
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// From the generator, unchanged: the gateway should accept it.
    Valid,
    /// Valid text with random edits.
    MutatedText,
    /// Valid text with wrong, missing or extra variables.
    MutatedVariables,
    /// A shape built to be expensive (see `hostile`).
    Hostile,
    /// Schema words, punctuation and odd characters in no order.
    Garbage,
}

pub struct Case {
    pub seed: u64,
    pub index: u64,
    pub target: usize,
    pub kind: Kind,
    /// What was done to make it, for reports.
    pub label: String,
    pub request: GraphQLRequest,
    /// Also run it through `Gateway::execute` against the chaos fetcher.
    pub execute: bool,
}

/// What the generators may produce.
#[derive(Debug, Clone)]
pub struct Settings {
    pub knobs: Knobs,
    pub shape: Shape,
    /// The share of inputs that are also executed.
    pub execute_share: f64,
}

pub fn generate(seed: u64, index: u64, views: &[SchemaView], settings: &Settings) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let rng = &mut rng;
    let target = rng.random_range(0..views.len());
    let view = &views[target];
    let roll = rng.random_range(0..100);
    let kind = match roll {
        0..40 => Kind::Valid,
        40..65 => Kind::MutatedText,
        65..77 => Kind::MutatedVariables,
        77..95 => Kind::Hostile,
        _ => Kind::Garbage,
    };
    let mut request = GraphQLRequest::default();
    let label = match kind {
        Kind::Hostile => {
            let hostile = hostile::generate(view, rng, settings.shape);
            request.query = Some(hostile.text);
            request.operation_name = hostile.operation_name;
            request.variables = Some(hostile.variables);
            hostile.label
        }
        Kind::Garbage => {
            let text = garbage_text(view, rng);
            request.query = Some(text);
            if rng.random_bool(0.3) {
                request.variables = garbage_json(rng, 2).as_object().cloned();
            }
            "garbage".into()
        }
        Kind::Valid | Kind::MutatedText | Kind::MutatedVariables => {
            let knobs = match kind {
                Kind::MutatedText => Knobs {
                    wrong_arguments: 0.1,
                    ..settings.knobs.clone()
                },
                _ => settings.knobs.clone(),
            };
            let document = generator::generate(view, rng, &knobs);
            let mut variables = document.variables;
            let mut text = document.text;
            let label = match kind {
                Kind::MutatedText => {
                    let (mutated, done) = mutator::mutate_text(view, rng, &text);
                    text = mutated;
                    done
                }
                Kind::MutatedVariables => {
                    mutator::mutate_variables(view, rng, &mut variables, &document.variable_types)
                }
                _ => "valid".into(),
            };
            request.query = Some(text);
            request.operation_name = document.operation_name;
            if kind == Kind::MutatedText && rng.random_bool(0.1) {
                request.operation_name = Some("NoSuchOperation".into());
            }
            request.variables =
                (!variables.is_empty() || rng.random_bool(0.5)).then_some(variables);
            label
        }
    };
    let executable = matches!(kind, Kind::Valid | Kind::MutatedVariables);
    Case {
        seed,
        index,
        target,
        kind,
        label,
        request,
        execute: executable && rng.random_bool(settings.execute_share),
    }
}

/// Words and punctuation of GraphQL in random order: the lexer and parser's error paths.
fn garbage_text(view: &SchemaView, rng: &mut ChaCha8Rng) -> String {
    const PIECES: &[&str] = &[
        "{", "}", "(", ")", "[", "]", ":", "!", "$", "@", "...", "=", "|", "&", "query",
        "mutation", "fragment", "on", "\"", "\"\"\"", "#", "1", "-", "1.e", "0x1", "\\u", "\u{0}",
        "\u{feff}", "é", "🦀", "\n", ",",
    ];
    (0..rng.random_range(1..200))
        .map(|_| {
            if rng.random_bool(0.3) {
                view.vocabulary.choose(rng).cloned().unwrap_or_default()
            } else {
                PIECES.choose(rng).expect("pieces").to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(if rng.random_bool(0.5) { " " } else { "" })
}
