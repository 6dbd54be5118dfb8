//! The config files and examples the repository ships are valid configs: the docker setup, the
//! load benchmark's scenario files, and the YAML examples in docs/config.md and docs/cache.md
//! (unknown keys are refused, so a renamed key breaks this test, not a user's deployment).

use std::path::PathBuf;

use gateway::cache::Mode;
use gateway::config::Config;
use gateway::supergraph::Supergraph;

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

/// The ```yaml blocks of a Markdown file.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn demo_subgraph_names() -> Vec<String> {
    let supergraph = Supergraph::parse(&repo_file("schema/supergraph.graphql")).unwrap();
    supergraph
        .subgraphs()
        .iter()
        .map(|s| s.name.to_string())
        .collect()
}

#[test]
fn the_docker_config_routes_to_every_demo_subgraph_with_the_cache_on() {
    let config = Config::parse(&repo_file("docker/gateway.yaml")).expect("docker/gateway.yaml");
    let routed: Vec<String> = config.subgraphs.keys().cloned().collect();
    let mut demo = demo_subgraph_names();
    demo.sort();
    assert_eq!(routed, demo);
    assert!(config.cache.enabled);
    assert!(config.cache.redis_url.is_some());
    assert_eq!(config.cache.defaults.mode, Some(Mode::Events));
}

#[test]
fn the_load_benchmark_scenario_files_extend_a_base_config() {
    let base = "subgraphs:\n  products: { url: http://127.0.0.1:1/graphql }\n";
    let cache = Config::parse(&format!(
        "{base}\n{}",
        repo_file("benches/load/scenarios/cache.yaml")
    ))
    .expect("cache.yaml");
    assert!(cache.cache.enabled);
    assert_eq!(cache.cache.defaults.mode, Some(Mode::Ttl));
    let dedup = Config::parse(&format!(
        "{base}\n{}",
        repo_file("benches/load/scenarios/dedup.yaml")
    ))
    .expect("dedup.yaml");
    assert!(dedup.deduplication.inbound);
    let unlimited = Config::parse(&format!(
        "{base}\n{}",
        repo_file("benches/load/scenarios/unlimited.yaml")
    ))
    .expect("unlimited.yaml");
    assert_eq!(unlimited.limits, gateway::limits::LimitsConfig::unlimited());
    let scenario = |file: &str| {
        let text = repo_file(&format!("benches/load/scenarios/{file}"))
            .replace("@OTLP_HTTP@", "http://127.0.0.1:4318/v1/traces");
        Config::parse(&format!("{base}\n{text}")).unwrap_or_else(|e| panic!("{file}: {e}"))
    };
    let off = scenario("observability-off.yaml");
    assert!(!off.telemetry.metrics.enabled && !off.log.access_log);
    assert!(!off.telemetry.tracing.enabled);
    for (file, sampling) in [("sampling-0.01.yaml", 0.01), ("sampling-1.yaml", 1.0)] {
        let on = scenario(file);
        assert!(on.telemetry.tracing.enabled, "{file}");
        assert_eq!(on.telemetry.tracing.sampling, sampling, "{file}");
    }
    let cheap = scenario("cheap/dedup-off.yaml");
    assert!(!cheap.subgraph_defaults.deduplicate);
}

#[test]
fn the_examples_in_the_docs_are_valid_configs() {
    for doc in ["docs/config.md", "docs/cache.md", "docs/realtime.md"] {
        let blocks = yaml_blocks(&repo_file(doc));
        assert!(!blocks.is_empty(), "{doc} has a YAML example");
        for block in blocks {
            if let Err(error) = Config::parse(&block) {
                panic!("an example in {doc} is not a valid config: {error}\n{block}");
            }
        }
    }
    let cache = yaml_blocks(&repo_file("docs/cache.md"))
        .into_iter()
        .map(|block| Config::parse(&block).unwrap())
        .find(|config| !config.cache.subgraphs.is_empty())
        .expect("docs/cache.md shows per-subgraph policies");
    assert!(cache.cache.private.header.is_some());
    assert!(cache.cache.invalidation_endpoint.is_some());
}

#[test]
fn subgraph_protections_are_read_per_subgraph_and_a_zero_connection_cap_is_refused() {
    let config = Config::parse(
        "subgraph_defaults:\n  max_connections: 0\n  circuit_breaker: { open_ms: 100 }\n\
         subgraphs:\n  inventory:\n    max_connections: 8\n    circuit_breaker: { enabled: false }\n",
    )
    .expect("valid keys");
    assert_eq!(config.subgraphs["inventory"].max_connections, Some(8));
    assert_eq!(config.subgraph_defaults.circuit_breaker.open_ms, 100);
    assert!(config.subgraph_defaults.circuit_breaker.enabled);
    let supergraph = Supergraph::parse(&repo_file("schema/supergraph.graphql")).unwrap();
    let error = gateway::startup::build_gateway(supergraph, &config)
        .err()
        .expect("a cap of 0 would block every fetch");
    assert!(
        error
            .to_string()
            .contains("`max_connections` must be at least 1"),
        "{error}"
    );
    assert!(
        Config::parse("subgraphs:\n  inventory:\n    circuit_breaker: { threshold: 1 }\n").is_err()
    );
}
