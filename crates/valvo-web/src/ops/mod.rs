//! Running Valvo behind a load balancer: the client's address
//! (`--trusted-proxies`), rate limits that hold across instances, health
//! and readiness, Prometheus metrics, and a server with read timeouts and a
//! graceful drain.

pub mod client_ip;
pub mod health;
pub mod limits;
pub mod mailer;
pub mod metrics;
mod serve;

pub use client_ip::{Cidr, ClientIp, ForwardedHeader};
pub use serve::serve;
