//! Demo subgraphs for the federation gateway: accounts, products, reviews and
//! inventory, each an Apollo Federation v2 subgraph with its own in-memory,
//! deterministically seeded data.
//!
//! The gateway's `demo` command and the end-to-end tests start them through
//! [`Service::router`] or [`serve`]; the `subgraph` binary runs one of them on
//! its own. Every router owns fresh state, so tests never see each other's
//! mutations.

use std::{fmt, str::FromStr};

pub mod accounts;
pub mod cheap;
pub mod events;
pub mod feed;
mod http;
pub mod inventory;
pub mod products;
pub mod reviews;
pub mod seed;

use async_graphql::SDLExportOptions;

/// One of the four demo subgraphs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    Accounts,
    Products,
    Reviews,
    Inventory,
}

impl Service {
    /// Every service, in the order of their default ports and of the supergraph.
    pub const ALL: [Service; 4] = [
        Service::Accounts,
        Service::Products,
        Service::Reviews,
        Service::Inventory,
    ];

    /// The subgraph name used in the supergraph ("accounts", ...).
    pub fn name(self) -> &'static str {
        match self {
            Service::Accounts => "accounts",
            Service::Products => "products",
            Service::Reviews => "reviews",
            Service::Inventory => "inventory",
        }
    }

    /// The port the `subgraph` binary and `schema/supergraph.graphql` use:
    /// 4001 to 4004 in [`Service::ALL`] order.
    pub fn default_port(self) -> u16 {
        match self {
            Service::Accounts => 4001,
            Service::Products => 4002,
            Service::Reviews => 4003,
            Service::Inventory => 4004,
        }
    }

    /// The federation SDL, exactly what `{ _service { sdl } }` returns.
    pub fn sdl(self) -> String {
        // The same options async-graphql uses to answer `_service { sdl }`.
        let options = SDLExportOptions::new().federation().compose_directive();
        match self {
            Service::Accounts => accounts::schema().sdl_with_options(options),
            Service::Products => products::schema().sdl_with_options(options),
            Service::Reviews => reviews::schema().sdl_with_options(options),
            Service::Inventory => inventory::schema().sdl_with_options(options),
        }
    }

    /// An HTTP router with `POST /graphql` and `GET /health`, over freshly
    /// seeded state (each call gets its own copy).
    pub fn router(self) -> axum::Router {
        self.router_with(std::sync::Arc::new(events::Nowhere))
    }

    /// Like [`Service::router`], publishing a change event for each mutation.
    pub fn router_with(self, publisher: events::Publisher) -> axum::Router {
        match self {
            Service::Accounts => http::router(accounts::schema_with(publisher)),
            Service::Products => http::router(products::schema_with(publisher)),
            Service::Reviews => http::router(reviews::schema_with(publisher)),
            Service::Inventory => http::router(inventory::schema_with(publisher)),
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a string that names no service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownService(pub String);

impl fmt::Display for UnknownService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown service {:?}; expected accounts, products, reviews or inventory",
            self.0
        )
    }
}

impl std::error::Error for UnknownService {}

impl FromStr for Service {
    type Err = UnknownService;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|service| service.name() == s)
            .ok_or_else(|| UnknownService(s.to_owned()))
    }
}

/// Serves `service` (fresh state) on `listener` until the task is dropped or
/// the listener fails.
pub async fn serve(service: Service, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, service.router()).await
}

/// Like [`serve`], publishing a change event for each mutation.
pub async fn serve_with(
    service: Service,
    listener: tokio::net::TcpListener,
    publisher: events::Publisher,
) -> std::io::Result<()> {
    axum::serve(listener, service.router_with(publisher)).await
}

/// Like [`serve_with`] until `shutdown` resolves; then no new connections, idle ones closed,
/// and it returns once the requests in flight are done.
pub async fn serve_until(
    service: Service,
    listener: tokio::net::TcpListener,
    publisher: events::Publisher,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, service.router_with(publisher))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Installs the SIGTERM and SIGINT handlers now, and resolves with the signal's name when one
/// arrives. Installed first thing, so that as PID 1 (where the kernel drops a signal the process
/// has no handler for) the service still stops.
pub fn on_signal()
-> std::io::Result<impl std::future::Future<Output = &'static str> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    })
}

/// Turns a `first` argument into a count: `null` means the default, negative
/// numbers are rejected rather than silently treated as zero.
pub(crate) fn limit(first: Option<i32>, default: usize) -> async_graphql::Result<usize> {
    match first {
        None => Ok(default),
        Some(n) => {
            usize::try_from(n).map_err(|_| format!("`first` must not be negative, got {n}").into())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, path::PathBuf};

    use super::*;

    fn schema_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema")
    }

    /// `schema/*.graphql` must be exactly what the services export; run with
    /// `UPDATE_SDL=1` to rewrite them after a schema change (and recompose
    /// `schema/supergraph.graphql`).
    #[test]
    fn checked_in_sdl_files_match_the_services() {
        let update = std::env::var_os("UPDATE_SDL").is_some_and(|v| v != "0");
        for service in Service::ALL {
            let path = schema_dir().join(format!("{}.graphql", service.name()));
            let sdl = service.sdl();
            if update {
                fs::write(&path, &sdl)
                    .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
                continue;
            }
            let on_disk = fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "reading {}: {e}; run UPDATE_SDL=1 cargo test -p subgraphs",
                    path.display()
                )
            });
            assert!(
                on_disk == sdl,
                "{} is stale; run UPDATE_SDL=1 cargo test -p subgraphs",
                path.display()
            );
        }
    }

    /// A cheap guard against forgetting to recompose after a schema change:
    /// every subgraph, its routing url and every field it declares must be in
    /// the checked-in supergraph and rover config.
    #[test]
    fn supergraph_covers_every_subgraph() {
        let read = |name: &str| {
            let path = schema_dir().join(name);
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        };
        let supergraph = read("supergraph.graphql");
        let config = read("supergraph.yaml");
        assert!(
            supergraph
                .contains(r#"@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)"#)
        );
        let accounts_fields = declared_fields(&Service::Accounts.sdl());
        assert!(
            ["me", "createUser", "email"]
                .iter()
                .all(|f| accounts_fields.iter().any(|d| d == f)),
            "{accounts_fields:?}"
        );
        for service in Service::ALL {
            let (name, port) = (service.name(), service.default_port());
            let url = format!("http://127.0.0.1:{port}/graphql");
            assert!(
                supergraph.contains(&format!(r#"@join__graph(name: "{name}", url: "{url}")"#)),
                "{name} is not in supergraph.graphql"
            );
            assert!(
                config.contains(&format!("  {name}:\n    routing_url: {url}\n")),
                "{name}"
            );
            for field_name in declared_fields(&service.sdl()) {
                assert!(
                    supergraph.contains(&format!("  {field_name}:"))
                        || supergraph.contains(&format!("  {field_name}(")),
                    "{name}'s field {field_name} is missing from supergraph.graphql; recompose it"
                );
            }
        }
    }

    /// The names of the fields declared inside `type` blocks of an SDL as
    /// async-graphql prints it (one field a line, descriptions in `"""`).
    fn declared_fields(sdl: &str) -> Vec<String> {
        let (mut in_type, mut in_description) = (false, false);
        let mut fields = Vec::new();
        for line in sdl.lines().map(str::trim) {
            if line.starts_with("type ") && line.ends_with('{') {
                in_type = true;
            } else if line == "}" {
                in_type = false;
            } else if line == "\"\"\"" {
                in_description = !in_description;
            } else if in_type && !in_description && !line.starts_with('"') {
                let name = line.split(['(', ':']).next().unwrap_or_default();
                fields.push(name.to_owned());
            }
        }
        fields
    }

    #[tokio::test]
    async fn service_query_returns_the_same_sdl() {
        for service in Service::ALL {
            let query = "{ _service { sdl } }";
            let response = match service {
                Service::Accounts => accounts::schema().execute(query).await,
                Service::Products => products::schema().execute(query).await,
                Service::Reviews => reviews::schema().execute(query).await,
                Service::Inventory => inventory::schema().execute(query).await,
            };
            assert!(
                response.errors.is_empty(),
                "{service}: {:?}",
                response.errors
            );
            let data = response.data.into_json().expect("data is JSON");
            assert_eq!(data["_service"]["sdl"], service.sdl(), "{service}");
        }
    }

    #[test]
    fn sdl_declares_the_federation_directives_of_the_contract() {
        let accounts = Service::Accounts.sdl();
        assert!(accounts.contains(r#"type User @key(fields: "id")"#));
        assert!(accounts.contains("username: String! @shareable"));
        assert!(accounts.contains("users(first: Int = 10): [User!]!"));
        let products = Service::Products.sdl();
        assert!(products.contains(r#"type Product @key(fields: "upc")"#));
        assert!(products.contains("topProducts(first: Int = 5): [Product!]!"));
        let inventory = Service::Inventory.sdl();
        assert!(inventory.contains(r#"type Product @key(fields: "upc")"#));
        assert!(inventory.contains("weight: Int! @external"));
        assert!(inventory.contains("price: Int! @external"));
        assert!(inventory.contains(r#"shippingEstimate: Int! @requires(fields: "price weight")"#));
        assert!(inventory.contains("setStock(upc: String!, inStock: Boolean!): Product"));
        let reviews = Service::Reviews.sdl();
        assert!(reviews.contains(r#"author: User! @provides(fields: "username")"#));
        assert!(reviews.contains("username: String! @external"));
        assert!(reviews.contains(r#"type Review @key(fields: "id")"#));
        for service in Service::ALL {
            assert!(
                service
                    .sdl()
                    .contains("https://specs.apollo.dev/federation/v2"),
                "{service}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for service in Service::ALL {
            assert_eq!(service.name().parse::<Service>(), Ok(service));
            assert_eq!(service.to_string(), service.name());
        }
        assert!("gateway".parse::<Service>().is_err());
        let ports: Vec<u16> = Service::ALL.iter().map(|s| s.default_port()).collect();
        assert_eq!(ports, [4001, 4002, 4003, 4004]);
    }

    #[test]
    fn limit_defaults_and_rejects_negatives() {
        assert_eq!(limit(None, 7).ok(), Some(7));
        assert_eq!(limit(Some(3), 7).ok(), Some(3));
        assert!(limit(Some(-1), 7).is_err());
    }
}
