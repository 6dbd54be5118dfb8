//! Prints a plan the way people review it: one node per block, selections indented, entity
//! fetches as `representation requires => selection`.

use std::fmt::{self, Write};

use super::plan::DeferredNode;
use super::plan::{EntityPart, FetchNode, PathSegment, PlanNode, QueryPlan};
use crate::operation::selection::{Field, Selection, SelectionSet, write_arguments};

impl fmt::Display for QueryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "QueryPlan {{")?;
        if let Some(root) = &self.root {
            write_node(f, root, 1)?;
        }
        for (key, reason) in &self.unplannable {
            indent(f, 1)?;
            writeln!(f, "Unplannable(field: \"{key}\") {{ {reason} }},")?;
        }
        write!(f, "}}")
    }
}

fn indent(f: &mut impl Write, level: usize) -> fmt::Result {
    for _ in 0..level {
        f.write_str("  ")?;
    }
    Ok(())
}

fn write_node(f: &mut impl Write, node: &PlanNode, level: usize) -> fmt::Result {
    indent(f, level)?;
    match node {
        PlanNode::Fetch(fetch) => write_fetch(f, fetch, level)?,
        PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
            let label = if matches!(node, PlanNode::Sequence(_)) {
                "Sequence"
            } else {
                "Parallel"
            };
            writeln!(f, "{label} {{")?;
            for child in nodes {
                write_node(f, child, level + 1)?;
            }
            indent(f, level)?;
            f.write_str("}")?;
        }
        PlanNode::Flatten { path, node } => {
            let more = match &**node {
                PlanNode::Fetch(fetch) => fetch.entity.as_ref().map_or(&[][..], |e| &e.more[..]),
                _ => &[],
            };
            if more.is_empty() {
                writeln!(f, "Flatten(path: \"{}\") {{", PathDisplay(path))?;
            } else {
                // A merged fetch: one request for the objects at every path.
                write!(f, "Flatten(paths: [\"{}\"", PathDisplay(path))?;
                for input in more {
                    write!(f, ", \"{}\"", PathDisplay(&input.path))?;
                }
                writeln!(f, "]) {{")?;
            }
            write_node(f, node, level + 1)?;
            indent(f, level)?;
            f.write_str("}")?;
        }
        PlanNode::Defer { primary, deferred } => {
            f.write_str("Defer {\n")?;
            indent(f, level + 1)?;
            f.write_str("Primary {\n")?;
            if let Some(primary) = primary {
                write_node(f, primary, level + 2)?;
            }
            indent(f, level + 1)?;
            f.write_str("},\n")?;
            indent(f, level + 1)?;
            f.write_str("[\n")?;
            for node in deferred {
                write_deferred(f, node, level + 2)?;
            }
            indent(f, level + 1)?;
            f.write_str("]\n")?;
            indent(f, level)?;
            f.write_str("}")?;
        }
    }
    f.write_str(",\n")
}

/// `Deferred(depends: [..], path: "..", label: "..") { fetches }`, as Apollo prints it; the
/// dependency is the id of the enclosing deferred fragment (none: the primary part).
fn write_deferred(f: &mut impl Write, node: &DeferredNode, level: usize) -> fmt::Result {
    indent(f, level)?;
    let depends = node.depends.map(|d| d.to_string()).unwrap_or_default();
    write!(
        f,
        "Deferred(id: {}, depends: [{depends}], path: \"{}\"",
        node.id,
        PathDisplay(&node.path)
    )?;
    if let Some(label) = &node.label {
        write!(f, ", label: {:?}", label)?;
    }
    f.write_str(") {\n")?;
    if let Some(inner) = &node.node {
        write_node(f, inner, level + 1)?;
    }
    indent(f, level)?;
    f.write_str("},\n")
}

fn write_fetch(f: &mut impl Write, fetch: &FetchNode, level: usize) -> fmt::Result {
    // A subscription's root fetch is opened as a stream; the rest runs once per event.
    let name = match fetch.kind {
        super::OperationKind::Subscription => "Subscription",
        _ => "Fetch",
    };
    writeln!(f, "{name}(service: \"{}\") {{", fetch.subgraph_name)?;
    match &fetch.entity {
        Some(entity) => {
            // Every path's parts; the same part at several paths printed once.
            let mut parts: Vec<&EntityPart> = Vec::new();
            for part in entity
                .parts
                .iter()
                .chain(entity.more.iter().flat_map(|input| input.parts.iter()))
            {
                if !parts.contains(&part) {
                    parts.push(part);
                }
            }
            write_representations(f, &parts, level + 1)?;
            f.write_str(" =>\n")?;
            write_selection(f, &fetch.selection, level + 1)?;
        }
        None => write_selection(f, &fetch.selection, level + 1)?,
    }
    f.write_char('\n')?;
    for rename in &fetch.output_renames {
        indent(f, level + 1)?;
        let mut path = PathDisplay(&rename.path).to_string();
        if !path.is_empty() {
            path.push('.');
        }
        writeln!(f, "rename {path}{} => {}", rename.from, rename.to)?;
    }
    indent(f, level)?;
    f.write_str("}")
}

/// The representations an entity fetch sends: per part, `... on Type { __typename keys }`,
/// with `|[Types]` when only objects of some types send that part.
fn write_representations(f: &mut impl Write, parts: &[&EntityPart], level: usize) -> fmt::Result {
    indent(f, level)?;
    f.write_str("{\n")?;
    for part in parts {
        indent(f, level + 1)?;
        write!(f, "... on {}", part.typename)?;
        if let Some(types) = &part.applies_to
            && (types.len() > 1 || types[0] != part.typename)
        {
            write!(f, "|[{}]", types.join(","))?;
        }
        f.write_str(" ")?;
        let mut inner = SelectionSet::default();
        inner.items.push(Selection::Field(Field::typename()));
        inner.items.extend(part.requires.items.iter().cloned());
        let mut nested = String::new();
        write_selection(&mut nested, &inner, level + 1)?;
        f.write_str(nested.trim_start())?;
        // Contextual variables, each bound from the nearest object along the path that has
        // the key of the same name.
        if !part.contexts.is_empty() {
            let contexts: Vec<String> = part.contexts.iter().map(|c| format!("${c}")).collect();
            write!(f, " with context {}", contexts.join(", "))?;
        }
        f.write_char('\n')?;
    }
    indent(f, level)?;
    f.write_str("}")
}

fn write_selection(f: &mut impl Write, selection: &SelectionSet, level: usize) -> fmt::Result {
    indent(f, level)?;
    f.write_str("{\n")?;
    for item in &selection.items {
        indent(f, level + 1)?;
        let inner = match item {
            Selection::Field(field) => {
                if let Some(alias) = &field.alias {
                    write!(f, "{alias}: ")?;
                }
                f.write_str(&field.name)?;
                write_arguments(f, &field.arguments)?;
                &field.selection_set
            }
            Selection::InlineFragment(fragment) => {
                write!(f, "... on {}", fragment.type_condition)?;
                &fragment.selection_set
            }
        };
        if !inner.is_empty() {
            f.write_str(" ")?;
            let mut nested = String::new();
            write_selection(&mut nested, inner, level + 1)?;
            f.write_str(nested.trim_start())?;
        }
        f.write_char('\n')?;
    }
    indent(f, level)?;
    f.write_str("}")
}

/// `a.@.b|[T1,T2]`: fields by name, `@` for every list element, type conditions in brackets.
pub struct PathDisplay<'a>(pub &'a [PathSegment]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in self.0 {
            match segment {
                PathSegment::Field(name) => {
                    if !first {
                        f.write_char('.')?;
                    }
                    f.write_str(name)?;
                }
                PathSegment::List => {
                    if !first {
                        f.write_char('.')?;
                    }
                    f.write_char('@')?;
                }
                PathSegment::TypeCondition(types) => {
                    write!(f, "|[{}]", types.join(","))?;
                }
            }
            first = false;
        }
        Ok(())
    }
}
