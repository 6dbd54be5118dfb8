//! The `server:` section of the config: how many client connections the gateway keeps, how
//! long each may take to say what it wants, and how large a request may be. Every key and its
//! default is documented in docs/config.md (`## server`).

use std::time::Duration;

use serde::Deserialize;

use super::open_files;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Client connections open at once. `None`: derived from the open-file limit
    /// ([`open_files::default_max_connections`]).
    pub max_connections: Option<usize>,
    /// From a connection's first byte (or its opening) to the end of a request's headers.
    pub header_read_timeout_ms: u64,
    /// How long a connection may stay open with no request in flight between requests.
    pub keep_alive_timeout_ms: u64,
    /// From the end of a request's headers to the end of its body.
    pub body_read_timeout_ms: u64,
    /// From the end of a request's body to its response: the work is dropped after it.
    pub request_timeout_ms: u64,
    /// The largest request body, and the largest request target (a GET's query string).
    pub max_request_bytes: usize,
    /// The largest request line and header block (HTTP/1.1), header list (HTTP/2).
    pub max_header_bytes: usize,
    /// The most header fields one HTTP/1.1 request may have.
    pub max_headers: usize,
    /// Requests in flight at once on one HTTP/2 connection.
    pub http2_max_concurrent_streams: u32,
    /// How often an HTTP/2 connection is pinged to find dead peers; 0 turns pings off.
    pub http2_keep_alive_interval_ms: u64,
    /// How long a ping may go unanswered before the connection is closed.
    pub http2_keep_alive_timeout_ms: u64,
    /// After SIGTERM or SIGINT, how long requests in flight may take to finish.
    pub shutdown_timeout_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: None,
            header_read_timeout_ms: 10_000,
            keep_alive_timeout_ms: 75_000,
            body_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_request_bytes: 2 << 20,
            max_header_bytes: 64 << 10,
            max_headers: 100,
            http2_max_concurrent_streams: 100,
            http2_keep_alive_interval_ms: 30_000,
            http2_keep_alive_timeout_ms: 10_000,
            shutdown_timeout_ms: 25_000,
        }
    }
}

/// hyper refuses (panics on) a smaller HTTP/1.1 read buffer.
pub const MIN_HEADER_BYTES: usize = 8192;

impl ServerConfig {
    /// Refuses values the server cannot work with, naming the key.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("keep_alive_timeout_ms", self.keep_alive_timeout_ms),
            ("body_read_timeout_ms", self.body_read_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("max_request_bytes", self.max_request_bytes as u64),
            ("max_headers", self.max_headers as u64),
            (
                "http2_max_concurrent_streams",
                u64::from(self.http2_max_concurrent_streams),
            ),
            (
                "http2_keep_alive_timeout_ms",
                self.http2_keep_alive_timeout_ms,
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("server.{key} must be greater than 0"));
        }
        if self.max_connections == Some(0) {
            return Err("server.max_connections must be greater than 0".into());
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(format!(
                "server.max_header_bytes must be at least {MIN_HEADER_BYTES}, got {}",
                self.max_header_bytes
            ));
        }
        if u32::try_from(self.max_header_bytes).is_err() {
            return Err("server.max_header_bytes must fit in 32 bits".into());
        }
        Ok(())
    }

    /// The connection cap in force: the configured one, else one the open-file limit allows.
    pub fn max_connections(&self) -> usize {
        self.max_connections
            .unwrap_or_else(|| open_files::default_max_connections(open_files::soft_limit()))
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    pub fn keep_alive_timeout(&self) -> Duration {
        Duration::from_millis(self.keep_alive_timeout_ms)
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_their_own_check() {
        assert_eq!(ServerConfig::default().check(), Ok(()));
    }

    #[test]
    fn keys_are_read_from_yaml_and_unknown_ones_refused() {
        let config: ServerConfig =
            serde_yaml::from_str("max_connections: 20\nrequest_timeout_ms: 500\n").unwrap();
        assert_eq!(config.max_connections(), 20);
        assert_eq!(config.request_timeout(), Duration::from_millis(500));
        assert_eq!(
            config.max_request_bytes,
            2 << 20,
            "unset keys keep defaults"
        );
        let error = serde_yaml::from_str::<ServerConfig>("max_conections: 20\n").unwrap_err();
        assert!(error.to_string().contains("max_conections"), "{error}");
    }

    #[test]
    fn values_the_server_cannot_use_are_refused_by_name() {
        let small_headers = ServerConfig {
            max_header_bytes: 4096,
            ..Default::default()
        };
        assert!(
            small_headers
                .check()
                .unwrap_err()
                .contains("max_header_bytes")
        );
        let no_timeout = ServerConfig {
            request_timeout_ms: 0,
            ..Default::default()
        };
        assert!(
            no_timeout
                .check()
                .unwrap_err()
                .contains("request_timeout_ms")
        );
        let no_connections = ServerConfig {
            max_connections: Some(0),
            ..Default::default()
        };
        assert!(no_connections.check().is_err());
    }
}
