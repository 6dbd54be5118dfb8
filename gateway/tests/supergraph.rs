//! Loading supergraphs: every fixture loads, the API schema loses the federation machinery and
//! every `@inaccessible` element, and a malformed supergraph is refused with what and where.

use std::path::PathBuf;

use gateway::supergraph::{NO_OVERRIDE_LABELS, Supergraph, SupergraphError};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("supergraph.graphql");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_fixture_and_the_demo_supergraph_load() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut loaded = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let supergraph =
            Supergraph::parse(&fixture(&name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
        assert!(!supergraph.subgraphs().is_empty());
        loaded += 1;
    }
    assert!(loaded >= 10);
    let demo = include_str!("../../schema/supergraph.graphql");
    let supergraph = Supergraph::parse(demo).unwrap();
    let names: Vec<&str> = supergraph.subgraphs().iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["accounts", "inventory", "products", "reviews"]);
}

#[test]
fn the_model_records_keys_requires_provides_and_interface_objects() {
    let sg = Supergraph::parse(&fixture("entities")).unwrap();
    let orders = sg.subgraph_by_name("orders").unwrap().id;
    let users = sg.subgraph_by_name("users").unwrap().id;
    let user = sg.type_def("User").unwrap();
    let in_orders = user.in_subgraph(orders).unwrap();
    assert_eq!(in_orders.keys.len(), 1);
    assert!(!in_orders.keys[0].resolvable);
    let keys: Vec<&str> = user
        .in_subgraph(users)
        .unwrap()
        .keys
        .iter()
        .map(|k| k.source.as_str())
        .collect();
    assert_eq!(keys, ["id", "email"]);

    let sg = Supergraph::parse(&fixture("requires")).unwrap();
    let shipping = sg.subgraph_by_name("shipping").unwrap().id;
    let cost = sg
        .field_in_subgraph("Product", "shippingCost", shipping)
        .unwrap();
    assert!(cost.requires.is_some() && cost.resolves(&NO_OVERRIDE_LABELS));
    assert!(
        !sg.resolves_field("Product", "weight", shipping, &NO_OVERRIDE_LABELS),
        "@external"
    );

    let sg = Supergraph::parse(&fixture("provides")).unwrap();
    let reviews = sg.subgraph_by_name("reviews").unwrap().id;
    assert!(
        sg.field_in_subgraph("Review", "author", reviews)
            .unwrap()
            .provides
            .is_some()
    );

    let sg = Supergraph::parse(&fixture("override")).unwrap();
    let billing = sg.subgraph_by_name("billing").unwrap().id;
    assert_eq!(
        sg.subgraphs_resolving("Account", "plan", &NO_OVERRIDE_LABELS),
        [billing]
    );

    let sg = Supergraph::parse(&fixture("interface_object")).unwrap();
    let ratings = sg.subgraph_by_name("ratings").unwrap().id;
    assert!(
        sg.type_def("Item")
            .unwrap()
            .in_subgraph(ratings)
            .unwrap()
            .is_interface_object
    );
    assert_eq!(sg.possible_types("Item"), ["Book", "Movie"]);
}

#[test]
fn the_api_schema_drops_machinery_and_inaccessible_elements() {
    let sg = Supergraph::parse(&fixture("inaccessible")).unwrap();
    insta::assert_snapshot!(sg.api_schema().to_string(), @r#"
    """Delivers the fragment after the rest of the response."""
    directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT

    type Query {
      users(filter: UserFilter): [User!]!
    }

    enum Role {
      ADMIN
      MEMBER
    }

    type User {
      id: ID!
      lastLogin: String
      name: String!
      role: Role!
    }

    input UserFilter {
      role: Role
    }
    "#);
}

fn refusal(sdl: &str) -> String {
    Supergraph::parse(sdl).unwrap_err().to_string()
}

const HEADER: &str = r#"schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
{
  query: Query
}

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph {
  A @join__graph(name: "a", url: "http://a.example/graphql")
}
"#;

#[test]
fn a_plain_schema_is_not_a_supergraph() {
    let message = refusal("type Query { hello: String }");
    assert!(
        message.contains("not a Federation v2 supergraph"),
        "{message}"
    );
}

#[test]
fn an_unknown_subgraph_is_named_with_its_location() {
    let sdl = format!(
        "{HEADER}type Query @join__type(graph: A) {{\n  hello: String @join__field(graph: B)\n}}\n"
    );
    let message = refusal(&sdl);
    assert!(
        message.contains("`B` does not exist on `join__Graph`"),
        "{message}"
    );
    let line = sdl.lines().position(|l| l.contains("graph: B")).unwrap() + 1;
    assert!(
        message.contains(&format!("supergraph.graphql:{line}:")),
        "{message}"
    );
}

#[test]
fn an_invalid_key_is_named_with_its_location() {
    let sdl = format!(
        "{HEADER}type Query @join__type(graph: A) {{\n  user: User\n}}\ntype User @join__type(graph: A, key: \"uuid\") {{\n  id: ID!\n}}\n"
    );
    let error = Supergraph::parse(&sdl).unwrap_err();
    assert!(matches!(error, SupergraphError::InvalidFieldSet { .. }));
    let message = error.to_string();
    assert!(
        message.contains("invalid key field set \"uuid\" on `User`"),
        "{message}"
    );
    assert!(message.contains("uuid"), "{message}");
}

#[test]
fn a_bad_directive_argument_is_explained() {
    let sdl =
        format!("{HEADER}type Query @join__type(graph: A, key: 42) {{\n  hello: String\n}}\n");
    let message = refusal(&sdl);
    assert!(
        message.contains("join__FieldSet") || message.contains("key"),
        "{message}"
    );
}

#[test]
fn unparsable_sdl_is_refused_with_the_parser_message() {
    let message = refusal("type Query {");
    assert!(message.contains("not a valid GraphQL schema"), "{message}");
}

/// A security regression: a field hidden with `@inaccessible` imported under another name
/// (`{name: "@inaccessible", as: "@private"}`, as rover writes it), and the same supergraph
/// with the link spec and a join directive renamed, must be neither planned nor listed.
#[test]
fn renamed_links_and_imports_hide_what_they_hide() {
    use gateway::config::Config;
    use gateway::gateway::GraphQLRequest;
    use gateway::startup::{build_gateway, load_supergraph};

    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/rover-supergraphs/renamed-links");
    for file in ["supergraph.graphql", "renamed.graphql"] {
        let supergraph = load_supergraph(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let a = supergraph.subgraph_by_name("a").unwrap().id;
        assert!(
            supergraph.resolves_field("User", "name", a, &NO_OVERRIDE_LABELS),
            "{file}"
        );
        let api = supergraph.api_schema();
        let user = api.get_object("User").unwrap();
        let fields: Vec<&str> = user.fields.keys().map(|f| f.as_str()).collect();
        assert_eq!(fields, ["id", "name", "email"], "{file}");
        let directives: Vec<&str> = api
            .directive_definitions
            .keys()
            .map(|d| d.as_str())
            .filter(|d| {
                ![
                    "skip",
                    "include",
                    "deprecated",
                    "specifiedBy",
                    "oneOf",
                    "defer",
                    "stream",
                ]
                .contains(d)
            })
            .collect();
        assert!(directives.is_empty(), "{file}: {directives:?}");
        let gateway = build_gateway(supergraph, &Config::default()).unwrap();
        let request = |query: &str| GraphQLRequest {
            query: Some(query.to_string()),
            ..Default::default()
        };
        let Err(errors) = gateway.plan(&request("{ user(id: 1) { secret } }")) else {
            panic!("{file}: a hidden field is planned");
        };
        assert!(errors[0].message.contains("secret"), "{file}: {errors:?}");
        assert!(
            gateway
                .plan(&request("{ user(id: 1) { name email } }"))
                .is_ok()
        );
    }
}

/// `@context` and `@join__field(contextArguments:)` are read into the model, through the
/// names the context spec is linked under (an import rename included), and stay out of the
/// API schema: the contextual argument is not even a field argument there.
#[test]
fn contexts_are_read_under_their_linked_names_and_stay_out_of_the_api() {
    let plain = fixture("contexts");
    let renamed = plain
        .replace(
            "@link(url: \"https://specs.apollo.dev/context/v0.1\", for: SECURITY)",
            "@link(url: \"https://specs.apollo.dev/context/v0.1\", for: SECURITY, import: [{name: \"@context\", as: \"@scope\"}])",
        )
        .replace("directive @context(", "directive @scope(")
        .replace("  @context(name:", "  @scope(name:");
    assert_ne!(plain, renamed);
    for sdl in [plain, renamed] {
        let sg = Supergraph::parse(&sdl).unwrap();
        assert!(sg.has_contexts());
        assert_eq!(sg.context_types("main__org"), ["Org"]);
        assert_eq!(sg.context_types("main__node"), ["Node"]);
        let main = sg.subgraph_by_name("main").unwrap().id;
        let price = sg.field_in_subgraph("Item", "price", main).unwrap();
        let names: Vec<&str> = price
            .context_arguments
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["currency", "locale"]);
        assert_eq!(price.context_arguments[0].context, "main__org");
        assert_eq!(price.context_arguments[0].selections.len(), 1);
        assert_eq!(price.context_arguments[0].selections[0].0, "Org");
        let api = sg.api_schema();
        let text = api.to_string();
        for hidden in [
            "@scope",
            "@context",
            "contextArguments",
            "ContextArgument",
            "context__",
        ] {
            assert!(
                !text.contains(hidden),
                "{hidden} in the API schema:\n{text}"
            );
        }
        let item = api.get_object("Item").unwrap();
        assert!(item.fields["price"].arguments.is_empty());
    }
}

/// A context argument naming a context no type sets is refused with where it is.
#[test]
fn a_context_argument_without_a_setter_is_refused() {
    let sdl = fixture("contexts").replace("context: \"main__org\"", "context: \"main__nowhere\"");
    let error = Supergraph::parse(&sdl).unwrap_err().to_string();
    assert!(error.contains("main__nowhere"), "{error}");
    assert!(error.contains("Item.price"), "{error}");
}
