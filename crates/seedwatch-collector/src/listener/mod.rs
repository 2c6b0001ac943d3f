//! The collector's listeners (OTLP/gRPC, OTLP/HTTP, admin), served one way: a connection limit
//! that closes the longest-idle connection to make room, header-read, idle and maximum-age
//! timeouts enforced by a watchdog, HTTP/2 keepalive pings and a stream limit, and request
//! bodies that must arrive at a minimum rate, within a timeout and within the memory limit.
//! Every default and the reason for it: `docs/operations.md`.

mod body;
mod config;
mod connections;
mod fd_limit;
mod io;
mod serve;
mod stats;

pub use body::{BODY_GRACE, BodyError, BodyLimits, GuardedBody};
pub use config::{ConnectionLimits, ConnectionsConfig};
pub use connections::{CloseReason, Connections};
pub use fd_limit::{RESERVED_FDS, fit_connections, raise_fd_limit};
pub use serve::{InFlight, ListenerSpec, Peer, serve};
pub use stats::{Cut, ListenerSet, ListenerStats};
