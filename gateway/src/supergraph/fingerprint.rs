//! A fingerprint per subgraph of what the supergraph says about it: the types it knows (kind,
//! keys, interface objects, implemented interfaces, union members, enum values) and the fields
//! it resolves (arguments, type, `@requires`, `@provides`, `@external`, `@override`). Its
//! routing URL is not part of it: the URL says where the service is, not what it answers.
//!
//! The planner mixes it into every fetch's selection hash, which the entity cache keys by: a
//! supergraph that changes what a subgraph's schema is gives all of that subgraph's cache
//! entries new keys, so nothing cached under the old schema is served under the new one, in
//! this process or, through Redis, in another instance still on the old schema.

use std::fmt::Write;

use xxhash_rust::xxh3::Xxh3;

use super::{SubgraphId, TypeDef};
use apollo_compiler::Schema;
use apollo_compiler::schema::ExtendedType;

/// One fingerprint per subgraph, in subgraph order.
pub(super) fn fingerprints<'a>(
    schema: &Schema,
    subgraph_count: usize,
    types: impl Iterator<Item = &'a TypeDef> + Clone,
) -> Vec<u64> {
    (0..subgraph_count)
        .map(|index| fingerprint(schema, SubgraphId(index as u16), types.clone()))
        .collect()
}

fn fingerprint<'a>(
    schema: &Schema,
    id: SubgraphId,
    types: impl Iterator<Item = &'a TypeDef>,
) -> u64 {
    let mut hasher = Xxh3::new();
    let mut text = String::new();
    for def in types {
        let Some(known) = def.in_subgraph(id) else {
            continue;
        };
        text.clear();
        let _ = write!(
            text,
            "type {} {:?} io={} ext={}",
            def.name, def.kind, known.is_interface_object, known.extension
        );
        for key in &known.keys {
            let _ = write!(text, " key({} {})", key.source, key.resolvable);
        }
        for (_, interface) in def.implements.iter().filter(|(s, _)| *s == id) {
            let _ = write!(text, " implements {interface}");
        }
        for (_, member) in def.union_members.iter().filter(|(s, _)| *s == id) {
            let _ = write!(text, " member {member}");
        }
        for (value, subgraphs) in &def.enum_values {
            if subgraphs.contains(&id) {
                let _ = write!(text, " value {value}");
            }
        }
        let fields = match schema.types.get(&def.name) {
            Some(ExtendedType::Object(t)) => Some(&t.fields),
            Some(ExtendedType::Interface(t)) => Some(&t.fields),
            _ => None,
        };
        for field in def.fields.values() {
            let source = match &field.sources {
                None => None,
                Some(sources) => match sources.iter().find(|s| s.subgraph == id) {
                    Some(source) => Some(source),
                    None => continue,
                },
            };
            let _ = write!(text, "\n  {}", field.name);
            if let Some(definition) = fields.and_then(|f| f.get(&field.name)) {
                for argument in &definition.arguments {
                    let _ = write!(text, " ({argument})");
                }
            }
            match source {
                None => {
                    let _ = write!(text, ": {}", field.ty);
                }
                Some(source) => {
                    let ty = source.ty.as_ref().unwrap_or(&field.ty);
                    let _ = write!(
                        text,
                        ": {ty} external={} overridden={} overrides={:?}",
                        source.external, source.used_overridden, source.overrides
                    );
                    if let Some(label) = &source.override_label {
                        let _ = write!(text, " label({label})");
                    }
                    if let Some(requires) = &source.requires {
                        let _ = write!(text, " requires({})", requires.serialize().no_indent());
                    }
                    if let Some(provides) = &source.provides {
                        let _ = write!(text, " provides({})", provides.serialize().no_indent());
                    }
                }
            }
        }
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.digest()
}

#[cfg(test)]
mod tests {
    use crate::supergraph::Supergraph;

    const DEMO: &str = include_str!("../../../schema/supergraph.graphql");

    fn fingerprint(supergraph: &Supergraph, name: &str) -> u64 {
        supergraph.subgraph_fingerprint(supergraph.subgraph_by_name(name).unwrap().id)
    }

    #[test]
    fn a_subgraph_changes_its_fingerprint_and_no_other() {
        let before = Supergraph::parse(DEMO).unwrap();
        let line = "  inStock: Boolean! @join__field(graph: INVENTORY)\n";
        assert!(DEMO.contains(line));
        let after = Supergraph::parse(&DEMO.replace(line, "")).unwrap();
        assert_ne!(
            fingerprint(&before, "inventory"),
            fingerprint(&after, "inventory")
        );
        for name in ["products", "reviews", "accounts"] {
            assert_eq!(
                fingerprint(&before, name),
                fingerprint(&after, name),
                "{name}"
            );
        }
        // A type change in the subgraph, same selection text: another fingerprint.
        let retyped = DEMO.replace(line, "  inStock: Int! @join__field(graph: INVENTORY)\n");
        let retyped = Supergraph::parse(&retyped).unwrap();
        assert_ne!(
            fingerprint(&before, "inventory"),
            fingerprint(&retyped, "inventory")
        );
        // The routing URL is where the service is, not what it answers.
        let url = "http://127.0.0.1:4001/graphql";
        assert!(DEMO.contains(url));
        let moved = Supergraph::parse(&DEMO.replace(url, "http://elsewhere:1/graphql")).unwrap();
        let name = "accounts";
        assert_ne!(
            moved.subgraph_by_name(name).unwrap().url,
            before.subgraph_by_name(name).unwrap().url
        );
        assert_eq!(fingerprint(&before, name), fingerprint(&moved, name));
    }
}
