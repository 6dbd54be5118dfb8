//! Reading the two schemas `gateway check` compares. A file is either a Federation v2
//! supergraph, compared through the API schema clients see, or a plain GraphQL schema.
//! Every error names the file, and the line when there is one, because the person reading
//! it is fixing a CI job and needs to know where to look.

use std::path::{Path, PathBuf};

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;

use crate::supergraph::{Supergraph, SupergraphError};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// apollo-compiler's diagnostics, rendered with the file path, line and a snippet.
    #[error("{} is not a valid GraphQL schema:\n{diagnostics}", path.display())]
    InvalidSchema { path: PathBuf, diagnostics: String },
    #[error("{}: {source}", path.display())]
    Supergraph {
        path: PathBuf,
        source: Box<SupergraphError>,
    },
}

/// Reads `path` and returns the API schema it describes.
pub fn read_api_schema(path: &Path) -> Result<Valid<Schema>, LoadError> {
    let sdl = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    api_schema(&sdl, path)
}

/// The API schema of `sdl`, read from `path` (used in diagnostics only): the schema itself
/// when it is plain GraphQL, or the supergraph's API schema, without join machinery and
/// `@inaccessible` elements, when it links the join spec.
pub fn api_schema(sdl: &str, path: &Path) -> Result<Valid<Schema>, LoadError> {
    // Validate first under the real path, so that diagnostics name the user's file even
    // when it turns out to be a supergraph.
    let schema = Schema::parse_and_validate(sdl, path).map_err(|e| LoadError::InvalidSchema {
        path: path.to_path_buf(),
        diagnostics: e.errors.to_string(),
    })?;
    if !crate::supergraph::links_join_spec(&schema) {
        // The gateway serves `@defer` on every API schema: a plain schema compared with a
        // supergraph's is read as the gateway would serve it.
        return Ok(crate::supergraph::with_defer(&schema));
    }
    let supergraph = Supergraph::parse(sdl).map_err(|source| LoadError::Supergraph {
        path: path.to_path_buf(),
        source: Box::new(source),
    })?;
    Ok(Valid::clone(supergraph.api_schema()))
}
