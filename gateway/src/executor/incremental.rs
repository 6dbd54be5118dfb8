//! The incremental API: runs a plan with `@defer` and yields its response in payloads, as the
//! incremental delivery RFC describes them. The initial payload is sent as soon as the primary
//! part's fetches are done; each deferred fragment's fetches then run once what it depends on
//! has run, and each object at the fragment's path becomes one part (`{path, data, label,
//! errors}`). Transports (`crate::realtime::defer`) turn payloads into Apollo's format or the
//! RFC's (`pending`/`incremental`/`completed`).
//!
//! Deferred fragments whose fetches are answered without waiting (every entity in the
//! in-process cache, or nothing to fetch) are delivered in a payload sent right after the
//! initial one, before anything waits for a subgraph: the fragments are started, polled once,
//! and those done by then go out together.

use std::sync::Mutex;
use std::task::Poll;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;

use super::{Execution, Run, path, shape};
use crate::json::{Object, Value};
use crate::planner::{DeferredNode, PlanNode, QueryPlan};
use crate::response::{GraphQLError, JsonText, PathElement, Response};

/// One payload of an incremental response.
#[derive(Debug, Default)]
pub struct IncrementalPayload {
    /// The primary part's response (the first payload only).
    pub initial: Option<Response>,
    /// Parts announced now: they will come in a later payload.
    pub pending: Vec<Pending>,
    /// Parts delivered now (each was announced before).
    pub parts: Vec<IncrementalPart>,
    /// Whether more payloads follow.
    pub has_next: bool,
}

/// A part to come: one deferred fragment on one object.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Unique within the response, in order of announcement.
    pub id: usize,
    pub path: Vec<PathElement>,
    pub label: Option<String>,
}

/// A delivered part.
#[derive(Debug, Clone)]
pub struct IncrementalPart {
    pub id: usize,
    pub path: Vec<PathElement>,
    pub label: Option<String>,
    /// The fragment's fields on the object; `None` when a null propagated up to the object
    /// (a non-null field of the fragment is null): the part's data is then null.
    pub data: Option<JsonText>,
    pub errors: Vec<GraphQLError>,
}

/// A part announced and not delivered yet.
struct Announced {
    id: usize,
    /// The index of its deferred node.
    node: usize,
    position: Vec<u32>,
    path: Vec<PathElement>,
}

/// Executes `plan` incrementally, sending its payloads to `out` (the last has `has_next:
/// false`). A plan without `@defer` gives one payload. Stops when `out` is closed (the client
/// went away): fetches not done by then are dropped.
pub async fn execute_incremental(
    plan: &QueryPlan,
    execution: Execution<'_>,
    out: mpsc::Sender<IncrementalPayload>,
) {
    let Execution {
        supergraph: sg,
        shape,
        variables,
        fetcher,
        introspection,
        context,
    } = execution;
    let (primary, deferred): (Option<&PlanNode>, &[DeferredNode]) = match &plan.root {
        Some(PlanNode::Defer { primary, deferred }) => (primary.as_deref(), deferred),
        other => (other.as_ref(), &[]),
    };
    let data = Mutex::new(Value::Object(Object::new()));
    let run = Run::new(sg, fetcher, variables, context.clone(), &data, None);
    if let Some(primary) = primary {
        run.node(primary).await;
    }
    let initial = run.finish(shape, introspection.as_ref(), &data);

    let mut state = State {
        deferred,
        data: &data,
        sg,
        next_id: 0,
        announced: Vec::new(),
        delivered: Vec::new(),
    };
    if !deferred.is_empty() {
        // What the client holds: a fragment whose object was nulled by propagation there
        // gets no part.
        let value = initial
            .data
            .as_ref()
            .map_or(serde_json::Value::Null, |d| d.to_value());
        state.delivered.push((Vec::new(), value));
    }
    let start = |node: usize| -> BoxFuture<'_, (usize, Vec<GraphQLError>)> {
        let data = &data;
        let context = context.clone();
        Box::pin(async move {
            let run = Run::new(sg, fetcher, variables, context, data, None);
            if let Some(inner) = deferred[node].node.as_deref() {
                run.node(inner).await;
            }
            (node, run.take_errors())
        })
    };
    let mut running = FuturesUnordered::new();
    let mut pending = Vec::new();
    for node in (0..deferred.len()).filter(|&i| deferred[i].depends.is_none()) {
        if state.announce(node, &mut pending) {
            running.push(start(node));
        }
    }
    // Fragments done without waiting go out right after the initial payload.
    let mut ready = IncrementalPayload::default();
    while let Poll::Ready(Some((node, errors))) = futures::poll!(running.next()) {
        state.complete(shape, node, errors, &mut ready);
        for child in state.children(node) {
            if state.announce(child, &mut ready.pending) {
                running.push(start(child));
            }
        }
    }
    let delivered_now = !ready.parts.is_empty();
    let first = IncrementalPayload {
        initial: Some(initial),
        pending,
        parts: Vec::new(),
        has_next: delivered_now || !running.is_empty(),
    };
    if out.send(first).await.is_err() {
        return;
    }
    if delivered_now {
        ready.has_next = !running.is_empty();
        if out.send(ready).await.is_err() {
            return;
        }
    }
    while let Some((node, errors)) = running.next().await {
        let mut payload = IncrementalPayload::default();
        state.complete(shape, node, errors, &mut payload);
        for child in state.children(node) {
            if state.announce(child, &mut payload.pending) {
                running.push(start(child));
            }
        }
        payload.has_next = !running.is_empty();
        if out.send(payload).await.is_err() {
            return;
        }
    }
}

struct State<'p> {
    deferred: &'p [DeferredNode],
    data: &'p Mutex<Value>,
    sg: &'p crate::supergraph::Supergraph,
    next_id: usize,
    announced: Vec<Announced>,
    /// The data delivered so far (the initial payload's, each part's) by path, as the client
    /// has it: nulls propagated.
    delivered: Vec<(Vec<PathElement>, serde_json::Value)>,
}

impl State<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Value> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the client holds an object at `at`: read in the deepest payload delivered at
    /// or above it.
    fn visible(&self, at: &[PathElement]) -> bool {
        let Some((base, value)) = self
            .delivered
            .iter()
            .filter(|(path, _)| at.starts_with(path))
            .max_by_key(|(path, _)| path.len())
        else {
            return false;
        };
        let mut here = value;
        for step in &at[base.len()..] {
            let next = match (step, here) {
                (PathElement::Key(key), serde_json::Value::Object(object)) => object.get(key),
                (PathElement::Index(index), serde_json::Value::Array(items)) => items.get(*index),
                _ => None,
            };
            match next {
                Some(value) => here = value,
                None => return false,
            }
        }
        here.is_object()
    }

    fn children(&self, node: usize) -> Vec<usize> {
        let id = self.deferred[node].id;
        (0..self.deferred.len())
            .filter(|&i| self.deferred[i].depends == Some(id))
            .collect()
    }

    /// Announces one part per object at the node's path; false when there is none (a null
    /// parent, an empty list): the fragment then has nothing to deliver.
    fn announce(&mut self, node: usize, pending: &mut Vec<Pending>) -> bool {
        let deferred = &self.deferred[node];
        let mut found = Vec::new();
        {
            let data = self.lock();
            path::for_each_object(self.sg, &data, &deferred.path, |position, _| {
                found.push(position.to_vec());
            });
        }
        let mut any = false;
        for position in found.iter() {
            let at = path::response_path(&deferred.path, position);
            if !self.visible(&at) {
                continue;
            }
            any = true;
            let id = self.next_id;
            self.next_id += 1;
            pending.push(Pending {
                id,
                path: at.clone(),
                label: deferred.label.clone(),
            });
            self.announced.push(Announced {
                id,
                node,
                position: position.clone(),
                path: at,
            });
        }
        any
    }

    /// Writes the parts of a node whose fetches are done; its fetch errors go to the part
    /// whose object they are under (the first part when none is).
    fn complete(
        &mut self,
        shape: &shape::ResponseShape,
        node: usize,
        mut fetch_errors: Vec<GraphQLError>,
        payload: &mut IncrementalPayload,
    ) {
        let deferred = &self.deferred[node];
        let mine: Vec<Announced> = {
            let (mine, rest) = std::mem::take(&mut self.announced)
                .into_iter()
                .partition(|a| a.node == node);
            self.announced = rest;
            mine
        };
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        let mut objects: Vec<(Vec<u32>, &Object)> = Vec::new();
        path::for_each_object(self.sg, &data, &deferred.path, |position, object| {
            objects.push((position.to_vec(), object));
        });
        let first = payload.parts.len();
        for announced in mine {
            let mut errors: Vec<GraphQLError> = Vec::new();
            fetch_errors.retain(|e| {
                let under = e
                    .path
                    .as_ref()
                    .is_some_and(|p| p.starts_with(&announced.path));
                if under {
                    errors.push(e.clone());
                }
                !under
            });
            let object = objects
                .iter()
                .find(|(position, _)| *position == announced.position)
                .map(|(_, object)| *object);
            let written = object.and_then(|object| {
                shape::write_part(
                    shape,
                    deferred.id,
                    object,
                    announced.path.clone(),
                    &mut errors,
                )
            });
            let data = written.map(|out| {
                JsonText::new_unchecked(String::from_utf8(out).unwrap_or_else(|_| "null".into()))
            });
            let value = data
                .as_ref()
                .map_or(serde_json::Value::Null, |d| d.to_value());
            self.delivered.push((announced.path.clone(), value));
            payload.parts.push(IncrementalPart {
                id: announced.id,
                path: announced.path,
                label: deferred.label.clone(),
                data,
                errors,
            });
        }
        if let Some(part) = payload.parts.get_mut(first) {
            part.errors.append(&mut fetch_errors);
        }
    }
}
