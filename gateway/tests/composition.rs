//! The composition corpus (tests/composition/, see its README): every case composed and held to
//! what Apollo's composition answers for it, cases that do not match yet listed in
//! `known_gaps.txt`. Prints how many cases match, per kind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gateway::compose::{Composition, SubgraphInput, compose};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/composition")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_COMPOSITION").is_some()
}

/// Every `<family>/<case>` folder, sorted.
fn cases() -> Vec<String> {
    let mut cases = Vec::new();
    for family in std::fs::read_dir(root()).unwrap() {
        let family = family.unwrap();
        if !family.file_type().unwrap().is_dir() {
            continue;
        }
        for case in std::fs::read_dir(family.path()).unwrap() {
            let case = case.unwrap();
            cases.push(format!(
                "{}/{}",
                family.file_name().to_string_lossy(),
                case.file_name().to_string_lossy()
            ));
        }
    }
    cases.sort();
    cases
}

fn inputs(case: &str) -> Vec<SubgraphInput> {
    let dir = Path::new("tests/composition").join(case);
    let mut inputs: Vec<SubgraphInput> = std::fs::read_dir(root().join(case))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "supergraph"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            SubgraphInput {
                url: format!("http://{name}"),
                sdl: std::fs::read_to_string(&path).unwrap(),
                path: dir.join(path.file_name().unwrap()),
                name,
            }
        })
        .collect();
    inputs.sort_by(|a, b| a.name.cmp(&b.name));
    inputs
}

/// What Apollo answers for a case.
struct Expected {
    composes: bool,
    errors: BTreeSet<String>,
    hints: BTreeSet<String>,
}

fn expected(case: &str) -> Expected {
    let text = std::fs::read_to_string(root().join(case).join("apollo.txt"))
        .unwrap_or_else(|e| panic!("{case}: apollo.txt: {e}"));
    let mut expected = Expected {
        composes: false,
        errors: BTreeSet::new(),
        hints: BTreeSet::new(),
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once(' ') {
            None if line == "composes" => expected.composes = true,
            Some(("error", code)) => {
                expected.errors.insert(code.to_string());
            }
            Some(("hint", code)) => {
                expected.hints.insert(code.to_string());
            }
            _ => panic!("{case}: apollo.txt: cannot read {line:?}"),
        }
    }
    assert!(
        expected.composes == expected.errors.is_empty(),
        "{case}: apollo.txt says either composes or errors"
    );
    expected
}

/// Why our answer differs from Apollo's, if it does.
fn mismatch(expected: &Expected, composition: &Composition) -> Option<String> {
    let ours: BTreeSet<&str> = composition.report.errors.iter().map(|e| e.code).collect();
    match (expected.composes, composition.supergraph.is_some()) {
        (true, true) => None,
        (true, false) => Some(format!("Apollo composes, we reject with {ours:?}")),
        (false, true) => Some(format!(
            "Apollo rejects with {:?}, we compose",
            expected.errors
        )),
        (false, false) if ours.iter().any(|code| expected.errors.contains(*code)) => None,
        (false, false) => Some(format!(
            "Apollo rejects with {:?}, we with {ours:?}",
            expected.errors
        )),
    }
}

#[test]
fn every_case_answers_as_apollo_does_or_is_a_known_gap() {
    let gaps_path = root().join("known_gaps.txt");
    let known: BTreeSet<String> = std::fs::read_to_string(&gaps_path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let mut gaps = Vec::new();
    let (mut valid, mut valid_ok, mut invalid, mut invalid_ok, mut hints_ok) = (0, 0, 0, 0, 0);
    for case in cases() {
        let expected = expected(&case);
        let composition = compose(inputs(&case));
        let supergraph_path = root().join(&case).join("supergraph.graphql");
        if let Some(supergraph) = &composition.supergraph {
            if updating() {
                std::fs::write(&supergraph_path, supergraph).unwrap();
            }
            let checked_in = std::fs::read_to_string(&supergraph_path).unwrap_or_default();
            assert_eq!(
                checked_in.trim_end(),
                supergraph.trim_end(),
                "{case}: supergraph.graphql is stale: rerun with UPDATE_COMPOSITION=1"
            );
        } else if updating() && supergraph_path.exists() {
            std::fs::remove_file(&supergraph_path).unwrap();
        }
        let our_hints: BTreeSet<String> = composition
            .report
            .hints
            .iter()
            .map(|h| h.code.to_string())
            .collect();
        // Apollo's composition reports hints with a supergraph only.
        if expected.composes {
            if our_hints != expected.hints && std::env::var_os("SHOW_HINTS").is_some() {
                println!(
                    "hints {case}: ours {our_hints:?}, Apollo {:?}",
                    expected.hints
                );
            }
            hints_ok += usize::from(our_hints == expected.hints);
        }
        let wrong = mismatch(&expected, &composition);
        if expected.composes {
            valid += 1;
            valid_ok += usize::from(wrong.is_none());
        } else {
            invalid += 1;
            invalid_ok += usize::from(wrong.is_none());
            // Every error we give points into a subgraph's SDL (file:line), but those about
            // the whole composition.
            for error in &composition.report.errors {
                assert!(
                    error.places.iter().any(|p| p.span.is_some())
                        || [
                            "NO_QUERIES",
                            "SATISFIABILITY_ERROR",
                            "INVALID_SUBGRAPH_NAME"
                        ]
                        .contains(&error.code),
                    "{case}: {error} has no location"
                );
            }
        }
        if let Some(wrong) = wrong {
            gaps.push((case, wrong));
        }
    }
    println!(
        "invalid cases rejected with Apollo's code: {invalid_ok}/{invalid}; \
         valid cases composed: {valid_ok}/{valid}; hint codes as Apollo's: {hints_ok}/{valid}"
    );
    let found: BTreeSet<String> = gaps.iter().map(|(case, _)| case.clone()).collect();
    if updating() {
        let mut text = String::from(
            "# Cases where gateway compose does not answer as Apollo's composition does yet.\n",
        );
        for (case, wrong) in &gaps {
            text.push_str(&format!("{case}  # {wrong}\n"));
        }
        std::fs::write(&gaps_path, text).unwrap();
        return;
    }
    let fixed: Vec<&String> = known.difference(&found).collect();
    let broken: Vec<&(String, String)> = gaps.iter().filter(|(c, _)| !known.contains(c)).collect();
    assert!(
        fixed.is_empty() && broken.is_empty(),
        "now answering as Apollo (remove from known_gaps.txt): {fixed:?}\nnewly wrong: {broken:#?}"
    );
}

/// The security directives a composition carries reach the gateway's access rules: what
/// `gateway compose` writes is what `gateway serve` enforces.
#[test]
fn composed_access_directives_are_read_by_the_gateway() {
    let composition = compose(inputs("auth/auth_directives_carried"));
    let supergraph =
        gateway::supergraph::Supergraph::parse(composition.supergraph.as_deref().unwrap()).unwrap();
    let access = supergraph.access();
    assert!(access.of_field("Query", "me").unwrap().authenticated);
    assert_eq!(
        access.of_field("U", "email").unwrap().scopes,
        [[["email".to_string()]]]
    );
    assert_eq!(
        access.of_field("U", "notes").unwrap().policies,
        [[["support".to_string()]]]
    );
    let api = supergraph.api_schema();
    assert!(!api.directive_definitions.contains_key("requiresScopes"));
}

/// Several subgraphs' requirements on one field all hold: they are combined, not overwritten.
#[test]
fn scopes_from_several_subgraphs_are_all_required() {
    let dir = std::env::temp_dir().join(format!("composition-scopes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let header = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.6\", import: [\"@key\", \"@shareable\", \"@requiresScopes\"])\n";
    let a = format!(
        "{header}type Query {{ t: T @shareable @requiresScopes(scopes: [[\"a\"], [\"b\"]]) }}\ntype T @shareable {{ x: Int }}\n"
    );
    let b = format!(
        "{header}type Query {{ t: T @shareable @requiresScopes(scopes: [[\"c\"]]) }}\ntype T @shareable {{ x: Int }}\n"
    );
    let inputs = [("a", a), ("b", b)]
        .into_iter()
        .map(|(name, sdl)| SubgraphInput {
            name: name.into(),
            url: format!("http://{name}"),
            sdl,
            path: dir.join(format!("{name}.graphql")),
        })
        .collect();
    let composition = compose(inputs);
    let sdl = composition.supergraph.expect("composes");
    assert!(
        sdl.contains("@requiresScopes(scopes: [[\"a\", \"c\"], [\"b\", \"c\"]])"),
        "{sdl}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The subgraphs of rover-supergraphs/ (composed there by Apollo's composition) composed by
/// us: the same API schema, and the same access requirements on every type and field.
#[test]
fn rover_subgraph_sets_compose_to_the_same_api_and_access_rules() {
    use gateway::supergraph::Supergraph;
    for set in ["authorization", "demo-secured"] {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/rover-supergraphs")
            .join(set);
        let inputs: Vec<SubgraphInput> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
            .filter(|p| p.file_stem().is_some_and(|s| s != "supergraph"))
            .map(|path| {
                let name = path.file_stem().unwrap().to_string_lossy().to_string();
                SubgraphInput {
                    url: format!("http://{name}"),
                    sdl: std::fs::read_to_string(&path).unwrap(),
                    path,
                    name,
                }
            })
            .collect();
        let composition = compose(inputs);
        let ours = Supergraph::parse(
            composition
                .supergraph
                .as_deref()
                .unwrap_or_else(|| panic!("{set}:\n{}", composition.report.render_text())),
        )
        .unwrap();
        let apollo =
            Supergraph::parse(&std::fs::read_to_string(dir.join("supergraph.graphql")).unwrap())
                .unwrap();
        assert_eq!(
            ours.api_schema().to_string(),
            apollo.api_schema().to_string(),
            "{set}: API schemas differ"
        );
        for (type_name, ty) in &apollo.api_schema().types {
            assert_eq!(
                ours.access().of_type(type_name),
                apollo.access().of_type(type_name),
                "{set}: {type_name}"
            );
            let fields = match ty {
                apollo_compiler::schema::ExtendedType::Object(o) => &o.fields,
                apollo_compiler::schema::ExtendedType::Interface(i) => &i.fields,
                _ => continue,
            };
            for field in fields.keys() {
                assert_eq!(
                    ours.access().of_field(type_name, field),
                    apollo.access().of_field(type_name, field),
                    "{set}: {type_name}.{field}"
                );
            }
        }
    }
}
