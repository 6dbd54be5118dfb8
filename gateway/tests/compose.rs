//! Composition: the fixture supergraphs are exactly what `gateway compose` writes, and each
//! invalid subgraph set fails with its federation error code, located in the subgraph's SDL.

use std::path::{Path, PathBuf};
use std::process::Command;

use gateway::compose::{SubgraphInput, compose};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The subgraphs of a fixture directory (every `*.graphql` but the supergraph), named after
/// their files, with paths relative to the crate so snapshots are stable.
fn inputs(dir: &Path) -> Vec<SubgraphInput> {
    let mut inputs: Vec<SubgraphInput> = std::fs::read_dir(manifest_dir().join(dir))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "supergraph"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            SubgraphInput {
                url: format!("http://{name}.example/graphql"),
                sdl: std::fs::read_to_string(&path).unwrap(),
                path: dir.join(path.file_name().unwrap()),
                name,
            }
        })
        .collect();
    inputs.sort_by(|a, b| a.name.cmp(&b.name));
    inputs
}

#[test]
fn fixture_supergraphs_are_what_compose_writes() {
    let fixtures = Path::new("tests/fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(manifest_dir().join(fixtures)).unwrap() {
        let dir = fixtures.join(entry.unwrap().file_name());
        let composition = compose(inputs(&dir));
        let supergraph = composition
            .supergraph
            .unwrap_or_else(|| panic!("{}:\n{}", dir.display(), composition.report.render_text()));
        let path = manifest_dir().join(&dir).join("supergraph.graphql");
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            std::fs::write(&path, &supergraph).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            checked_in.trim_end(),
            supergraph.trim_end(),
            "{} is stale: rerun with UPDATE_FIXTURES=1",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 10);
}

/// Each invalid case and the error code it must fail with.
const INVALID: &[(&str, &str)] = &[
    ("argument_type_mismatch", "FIELD_ARGUMENT_TYPE_MISMATCH"),
    ("empty_merged_enum", "EMPTY_MERGED_ENUM_TYPE"),
    ("empty_merged_input", "EMPTY_MERGED_INPUT_TYPE"),
    ("enum_value_mismatch", "ENUM_VALUE_MISMATCH"),
    ("external_missing_on_base", "EXTERNAL_MISSING_ON_BASE"),
    ("external_unused", "EXTERNAL_UNUSED"),
    ("field_not_shareable", "INVALID_FIELD_SHARING"),
    ("field_type_mismatch", "FIELD_TYPE_MISMATCH"),
    (
        "interface_object_without_interface",
        "INTERFACE_OBJECT_USAGE_ERROR",
    ),
    (
        "interface_object_without_key",
        "INTERFACE_OBJECT_USAGE_ERROR",
    ),
    ("invalid_interface_implementation", "INVALID_GRAPHQL"),
    ("key_field_with_arguments", "KEY_FIELDS_HAS_ARGS"),
    ("key_selects_interface", "KEY_FIELDS_SELECT_INVALID_TYPE"),
    ("key_unknown_field", "KEY_INVALID_FIELDS"),
    ("no_queries", "NO_QUERIES"),
    ("only_inaccessible_children", "ONLY_INACCESSIBLE_CHILDREN"),
    ("override_from_self", "OVERRIDE_FROM_SELF_ERROR"),
    (
        "override_on_external",
        "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
    ),
    (
        "override_source_has_override",
        "OVERRIDE_SOURCE_HAS_OVERRIDE",
    ),
    ("provides_not_external", "PROVIDES_FIELDS_MISSING_EXTERNAL"),
    ("provides_on_scalar", "PROVIDES_ON_NON_OBJECT_FIELD"),
    ("provides_unknown_field", "PROVIDES_INVALID_FIELDS"),
    ("referenced_inaccessible", "REFERENCED_INACCESSIBLE"),
    ("required_argument_inaccessible", "REQUIRED_INACCESSIBLE"),
    (
        "required_argument_missing",
        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
    ),
    ("required_input_field_inaccessible", "REQUIRED_INACCESSIBLE"),
    (
        "required_input_field_missing",
        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
    ),
    ("requires_not_external", "REQUIRES_FIELDS_MISSING_EXTERNAL"),
    ("requires_unknown_field", "REQUIRES_INVALID_FIELDS"),
    ("syntax_error", "INVALID_GRAPHQL"),
    ("type_kind_mismatch", "TYPE_KIND_MISMATCH"),
    (
        "unknown_federation_version",
        "UNKNOWN_FEDERATION_LINK_VERSION",
    ),
    ("unknown_type", "INVALID_GRAPHQL"),
    ("unsatisfiable_field", "SATISFIABILITY_ERROR"),
    ("unsatisfiable_non_resolvable_key", "SATISFIABILITY_ERROR"),
    ("value_type_not_shareable", "INVALID_FIELD_SHARING"),
];

#[test]
fn every_invalid_case_fails_with_its_code_and_location() {
    let root = Path::new("tests/compose/invalid");
    let on_disk = std::fs::read_dir(manifest_dir().join(root))
        .unwrap()
        .count();
    assert_eq!(
        on_disk,
        INVALID.len(),
        "every case directory has an expected code"
    );
    for (case, code) in INVALID {
        let composition = compose(inputs(&root.join(case)));
        assert!(composition.supergraph.is_none(), "{case} must not compose");
        let codes: Vec<&str> = composition.report.errors.iter().map(|e| e.code).collect();
        assert!(
            codes.contains(code),
            "{case}: expected {code}, got {codes:?}"
        );
        let located = composition
            .report
            .errors
            .iter()
            .filter(|e| e.code == *code)
            .all(|e| {
                e.places.iter().any(|p| p.span.is_some())
                    || e.code == "NO_QUERIES"
                    || e.code == "SATISFIABILITY_ERROR"
            });
        assert!(located, "{case}: {code} errors point into the SDL");
        insta::assert_snapshot!(format!("invalid_{case}"), composition.report.render_text());
    }
}

#[test]
fn errors_are_also_json_for_machines() {
    let composition = compose(inputs(Path::new(
        "tests/compose/invalid/field_not_shareable",
    )));
    let json = composition.report.to_json();
    let error = &json["errors"][0];
    assert_eq!(error["code"], "INVALID_FIELD_SHARING");
    assert_eq!(error["locations"][0]["subgraph"], "a");
    assert_eq!(error["locations"][0]["line"], 9);
    assert_eq!(error["locations"][0]["column"], 3);
    assert_eq!(
        error["locations"][0]["file"],
        "tests/compose/invalid/field_not_shareable/a.graphql"
    );
    assert_eq!(error["locations"][1]["subgraph"], "b");
}

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gateway"))
}

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("compose-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_demo_supergraph_is_fresh_and_a_stale_one_is_caught() {
    let repo = manifest_dir().join("..");
    let config = repo.join("schema/supergraph.yaml");
    let fresh = gateway()
        .arg("compose")
        .arg("--config")
        .arg(&config)
        .arg("--check")
        .arg(repo.join("schema/supergraph.graphql"))
        .output()
        .unwrap();
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );

    let dir = temp_dir("stale");
    let stale = dir.join("supergraph.graphql");
    let current = std::fs::read_to_string(repo.join("schema/supergraph.graphql")).unwrap();
    std::fs::write(
        &stale,
        current.replace("inStock: Boolean!", "inStock: Boolean"),
    )
    .unwrap();
    let output = gateway()
        .arg("compose")
        .arg("--config")
        .arg(&config)
        .arg("--check")
        .arg(&stale)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is stale"), "{stderr}");
}

#[test]
fn compose_writes_json_errors_and_exits_non_zero() {
    let case = manifest_dir().join("tests/compose/invalid/type_kind_mismatch");
    let dir = temp_dir("json");
    let config = dir.join("supergraph.yaml");
    std::fs::write(
        &config,
        format!(
            "subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      file: {}\n  b:\n    routing_url: http://b\n    schema:\n      file: {}\n",
            case.join("a.graphql").display(),
            case.join("b.graphql").display()
        ),
    )
    .unwrap();
    let output = gateway()
        .arg("compose")
        .arg("--config")
        .arg(&config)
        .args(["--format", "json"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(!output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["errors"][0]["code"], "TYPE_KIND_MISMATCH");
}

#[test]
fn bad_config_and_missing_files_are_named() {
    let dir = temp_dir("config");
    let cases = [
        (
            "subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      file: ./a.graphql\n    extra: 1\n",
            "unknown field `extra`",
        ),
        (
            "subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      file: ./missing.graphql\n",
            "missing.graphql",
        ),
        (
            "subgraphs:\n  a:\n    schema:\n      subgraph_url: http://127.0.0.1:9/graphql\n",
            "cannot get its SDL from http://127.0.0.1:9/graphql",
        ),
        (
            "subgraphs:\n  a:\n    routing_url: http://a\n    schema: {}\n",
            "exactly one of `file`, `subgraph_url` and `sdl`",
        ),
    ];
    for (text, needle) in cases {
        let config = dir.join("supergraph.yaml");
        std::fs::write(&config, text).unwrap();
        let output = gateway()
            .arg("compose")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{text}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A one-request HTTP server answering `_service { sdl }` only when the request carries
/// `authorization: Bearer t0ken`; returns its URL and the request it saw.
fn sdl_server(sdl: &'static str) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        // Headers, then the body its content-length announces.
        loop {
            let n = stream.read(&mut buffer).unwrap();
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let text = String::from_utf8_lossy(&request).to_string();
        let authorized = text
            .to_ascii_lowercase()
            .contains("authorization: bearer t0ken");
        let body = if authorized {
            serde_json::json!({ "data": { "_service": { "sdl": sdl } } }).to_string()
        } else {
            serde_json::json!({ "errors": [{ "message": "unauthorized" }] }).to_string()
        };
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        text
    });
    (url, handle)
}

/// rover's shapes: inline `sdl:`, `subgraph_url` with `introspection_headers`, `${env.X}`
/// expansion; and `--format json` prints `{supergraph, errors, hints}` on success.
#[test]
fn rover_config_shapes_compose_and_json_holds_the_supergraph() {
    let (url, server) = sdl_server(
        "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", import: [\"@key\"])\ntype User @key(fields: \"id\") { id: ID! name: String }\n",
    );
    let dir = temp_dir("rover-shapes");
    let config = dir.join("supergraph.yaml");
    std::fs::write(
        &config,
        format!(
            "federation_version: =2.14.1\nsubgraphs:\n  accounts:\n    routing_url: ${{env.ACCOUNTS_URL}}\n    schema:\n      subgraph_url: {url}\n      introspection_headers:\n        Authorization: Bearer ${{env.INTROSPECTION_TOKEN}}\n  orders:\n    routing_url: ${{env.ORDERS_URL:-http://orders/graphql}}\n    schema:\n      sdl: |\n        extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", import: [\"@key\"])\n        type Query {{ me: User }}\n        type User @key(fields: \"id\") {{ id: ID! }}\n"
        ),
    )
    .unwrap();
    let output = gateway()
        .arg("compose")
        .arg("--config")
        .arg(&config)
        .args(["--format", "json"])
        .env("ACCOUNTS_URL", "http://accounts/graphql")
        .env("INTROSPECTION_TOKEN", "t0ken")
        .env_remove("ORDERS_URL")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let request = server.join().unwrap();
    assert!(
        output.status.success(),
        "{}{}\nrequest:\n{request}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["errors"], serde_json::json!([]));
    assert!(json["hints"].is_array());
    let supergraph = json["supergraph"].as_str().unwrap();
    assert!(
        supergraph.contains(
            "ACCOUNTS @join__graph(name: \"accounts\", url: \"http://accounts/graphql\")"
        ),
        "{supergraph}"
    );
    assert!(
        supergraph
            .contains("ORDERS @join__graph(name: \"orders\", url: \"http://orders/graphql\")"),
        "{supergraph}"
    );
    assert!(
        supergraph.contains("name: String @join__field(graph: ACCOUNTS)"),
        "{supergraph}"
    );
}
