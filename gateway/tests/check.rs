//! `gateway check`, data-driven: each directory under `tests/check/` holds an `old.graphql`
//! and a `new.graphql` (plain schemas or supergraphs) and, beside them, `changes.snap`, the
//! expected report. Add a case by adding a directory, then run
//! `cargo insta test -p gateway --test check` and review the new snapshot.
//! The command line is tested through the built binary: exit codes, formats, bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gateway::check::{self, Severity, load, render};

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/check")
}

fn case(name: &str) -> PathBuf {
    cases_dir().join(name)
}

/// Every fixture case, sorted by name.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/check exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

fn changes(old: &Path, new: &Path) -> Vec<check::Change> {
    let old = load::read_api_schema(old).unwrap_or_else(|e| panic!("{e}"));
    let new = load::read_api_schema(new).unwrap_or_else(|e| panic!("{e}"));
    check::diff(&old, &new)
}

/// What a snapshot holds: the text report as the command prints it, then the kind of each
/// change in the same order, because tools filter on kinds and people read the text.
fn report(case: &Path) -> String {
    let changes = changes(&case.join("old.graphql"), &case.join("new.graphql"));
    let mut report = render::text(&changes);
    if !changes.is_empty() {
        report.push_str("\nkinds:\n");
        for change in &changes {
            let kind = serde_json::to_value(change.kind).expect("a kind serialises");
            let kind = kind.as_str().expect("a kind serialises to a string");
            report.push_str(&format!("  {kind} {}\n", change.coordinate));
        }
    }
    report
}

#[test]
fn every_case_reports_its_snapshot() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    for case in cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .expect("case directory name is UTF-8")
            .to_string();
        insta::with_settings!({
            snapshot_path => format!("check/{name}"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("gateway check --old {name}/old.graphql --new {name}/new.graphql"),
        }, {
            insta::assert_snapshot!("changes", report(&case));
        });
    }
}

#[test]
fn a_schema_has_no_changes_with_itself() {
    for case in cases() {
        for file in ["old.graphql", "new.graphql"] {
            let path = case.join(file);
            assert_eq!(changes(&path, &path), [], "{}", path.display());
        }
    }
}

#[test]
fn changes_are_sorted_by_coordinate_then_kind() {
    for case in cases() {
        let changes = changes(&case.join("old.graphql"), &case.join("new.graphql"));
        let keys: Vec<_> = changes.iter().map(|c| (&c.coordinate, c.kind)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{}", case.display());
    }
}

#[test]
fn hiding_elements_with_inaccessible_is_no_change() {
    let case = case("supergraph_inaccessible_only");
    assert_eq!(
        changes(&case.join("old.graphql"), &case.join("new.graphql")),
        []
    );
}

#[test]
fn hiding_a_field_with_inaccessible_removes_it() {
    let case = case("supergraph_changed");
    let changes = changes(&case.join("old.graphql"), &case.join("new.graphql"));
    assert!(
        changes.iter().any(|c| c.coordinate == "User.lastLogin"
            && c.kind == check::ChangeKind::FieldRemoved
            && c.severity == Severity::Breaking),
        "{changes:#?}"
    );
}

// The command line.

fn gateway_check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("check")
        .args(args)
        .output()
        .expect("the gateway binary runs")
}

/// `gateway check --old <case>/old.graphql --new <case>/new.graphql` plus `extra`.
fn check_case(name: &str, extra: &[&str]) -> Output {
    let dir = case(name);
    let old = dir.join("old.graphql");
    let new = dir.join("new.graphql");
    let mut args = vec![
        "--old",
        old.to_str().expect("UTF-8 path"),
        "--new",
        new.to_str().expect("UTF-8 path"),
    ];
    args.extend_from_slice(extra);
    gateway_check(&args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("check-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("temp file written");
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

#[test]
fn exits_0_when_nothing_is_breaking() {
    let output = check_case("enum_value_added", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "DANGEROUS Role.GUEST  Enum value 'GUEST' was added to enum type 'Role'\n\
         1 change: 0 breaking, 1 dangerous, 0 safe\n"
    );
}

#[test]
fn exits_0_when_nothing_changed() {
    let output = check_case("no_changes", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "No changes.\n");
}

#[test]
fn exits_1_on_a_breaking_change() {
    let output = check_case("field_removed", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "BREAKING  Node.createdAt  Field 'createdAt' was removed from interface type 'Node'\n\
         BREAKING  User.email      Field 'email' was removed from object type 'User'\n\
         2 changes: 2 breaking, 0 dangerous, 0 safe\n"
    );
    assert!(
        stderr(&output).contains("2 breaking changes (pass --allow-breaking to accept)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn allow_breaking_reports_but_exits_0() {
    let output = check_case("field_removed", &["--allow-breaking"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("BREAKING"), "{}", stdout(&output));
}

#[test]
fn json_format_is_json() {
    let output = check_case("argument_added_optional", &["--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("stdout is JSON");
    assert_eq!(
        report,
        serde_json::json!({
            "changes": [
                {
                    "severity": "dangerous",
                    "kind": "ARGUMENT_ADDED",
                    "coordinate": "Query.users(after:)",
                    "message": "Argument 'after: String' was added to field 'Query.users'"
                },
                {
                    "severity": "dangerous",
                    "kind": "ARGUMENT_ADDED",
                    "coordinate": "Query.users(first:)",
                    "message": "Argument 'first: Int! = 10' was added to field 'Query.users'"
                }
            ],
            "summary": { "breaking": 0, "dangerous": 2, "safe": 0 }
        })
    );
}

#[test]
fn json_format_still_exits_1_on_a_breaking_change() {
    let output = check_case("type_removed", &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("stdout is JSON");
    assert_eq!(report["summary"]["breaking"], 2);
}

#[test]
fn a_missing_file_exits_2_naming_it() {
    let new = case("no_changes").join("new.graphql");
    let output = gateway_check(&[
        "--old",
        "/nonexistent/old.graphql",
        "--new",
        new.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read /nonexistent/old.graphql"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn an_invalid_schema_exits_2_naming_file_and_line() {
    let bad = TempFile::new(
        "invalid.graphql",
        "type Query {\n  me: User\n  name: Strin\n}\n\ntype User {\n  id: ID!\n}\n",
    );
    let new = case("no_changes").join("new.graphql");
    let output = gateway_check(&[
        "--old",
        bad.path(),
        "--new",
        new.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(
        stderr.contains(&format!("{} is not a valid GraphQL schema", bad.path())),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{}:3:", bad.path())), "{stderr}");
    assert!(stderr.contains("cannot find type `Strin`"), "{stderr}");
}

#[test]
fn a_syntax_error_exits_2_naming_file_and_line() {
    let bad = TempFile::new(
        "syntax.graphql",
        "type Query {\n  me: User\n\ntype User {\n  id: ID!\n}\n",
    );
    let output = gateway_check(&["--old", bad.path(), "--new", bad.path()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(stderr.contains(&format!("{}:4:", bad.path())), "{stderr}");
}

#[test]
fn a_supergraph_that_does_not_load_exits_2_naming_file_and_line() {
    let old = case("supergraph_changed").join("old.graphql");
    let sdl = std::fs::read_to_string(&old)
        .expect("fixture readable")
        .replace(
            "@join__type(graph: USERS, key: \"id\")",
            "@join__type(graph: USERS, key: \"uuid\")",
        );
    let bad = TempFile::new("supergraph.graphql", &sdl);
    let output = gateway_check(&[
        "--old",
        old.to_str().expect("UTF-8 path"),
        "--new",
        bad.path(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(stderr.contains(bad.path()), "{stderr}");
    assert!(
        stderr.contains("invalid key field set \"uuid\""),
        "{stderr}"
    );
    let line = sdl
        .lines()
        .position(|l| l.contains("key: \"uuid\""))
        .expect("the edited line")
        + 1;
    assert!(stderr.contains(&format!("{line}:")), "{stderr}");
}

#[test]
fn an_unknown_format_exits_2() {
    let output = check_case("no_changes", &["--format", "yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("yaml"), "{}", stderr(&output));
}
