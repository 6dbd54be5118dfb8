//! `gateway plan`: print the query plan of an operation.

use std::path::PathBuf;

use gateway::config::Config;
use gateway::gateway::GraphQLRequest;
use gateway::startup::{build_gateway, load_supergraph};

pub fn plan(
    supergraph: PathBuf,
    query: PathBuf,
    operation_name: Option<String>,
    variables: Option<String>,
) -> Result<(), String> {
    let supergraph = load_supergraph(&supergraph).map_err(|e| e.to_string())?;
    let gateway = build_gateway(supergraph, &Config::default()).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&query)
        .map_err(|e| format!("cannot read {}: {e}", query.display()))?;
    let variables = match variables {
        Some(json) => Some(
            serde_json::from_str(&json)
                .map_err(|e| format!("--variables is not a JSON object: {e}"))?,
        ),
        None => None,
    };
    let request = GraphQLRequest {
        query: Some(text),
        operation_name,
        variables,
        ..Default::default()
    };
    match gateway.plan(&request) {
        Ok(planned) => {
            super::output::print(&format!("{}\n", planned.plan));
            Ok(())
        }
        Err(errors) => Err(errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}
