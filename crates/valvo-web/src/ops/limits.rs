//! Rate limits per client address in fixed ten-minute windows: failed
//! logins and public writes. On PostgreSQL the counts live in the database,
//! so every instance behind the load balancer counts the same events; a
//! single SQLite instance keeps them in memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use valvo_store::{Backend, Store, StoreError};

/// The length of a window, in seconds.
pub const WINDOW_SECS: i64 = 600;

/// What is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Login attempts (every attempt counts when it begins, successes are taken back).
    Login,
    /// Public writes: reports, receipt look-ups and answers without login.
    PublicWrite,
}

impl Bucket {
    fn code(self) -> &'static str {
        match self {
            Bucket::Login => "login",
            Bucket::PublicWrite => "public_write",
        }
    }
}

/// The counters.
#[derive(Debug, Default)]
pub struct Limits {
    memory: Mutex<HashMap<(Bucket, IpAddr), (i64, i64)>>,
}

/// The key an address is counted under: IPv6 clients by their /64 (one
/// subscriber's whole range), IPv4 by the address.
fn key_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The start of the window now, a Unix time.
pub fn window_now() -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    now - now.rem_euclid(WINDOW_SECS)
}

impl Limits {
    /// Adds `add` (which may be negative: never below 0) to `ip`'s count in
    /// `bucket` in the window that began at `window` (see [`window_now`]) and
    /// returns the count, the addition included.
    pub async fn count(
        &self,
        store: &Store,
        bucket: Bucket,
        ip: IpAddr,
        window: i64,
        add: i64,
    ) -> Result<i64, StoreError> {
        let ip = key_of(ip);
        if store.backend() == Backend::Postgres {
            return store
                .rate_count(bucket.code(), &ip.to_string(), window, add)
                .await;
        }
        let mut map = self
            .memory
            .lock()
            .map_err(|_| StoreError::Corrupt("rate limit counters poisoned".into()))?;
        if map.len() > 100_000 {
            map.retain(|_, (w, _)| *w >= window);
        }
        let entry = map.entry((bucket, ip)).or_insert((window, 0));
        if entry.0 < window {
            *entry = (window, 0);
        } else if entry.0 > window {
            // A take-back for a window already over changes nothing.
            return Ok(0);
        }
        entry.1 = entry.1.saturating_add(add).max(0);
        Ok(entry.1)
    }
}
