//! The client's address behind a load balancer: `X-Forwarded-For` and
//! `Forwarded` are believed only from the proxies the county names
//! (`--trusted-proxies`), so nobody else can choose the address their
//! requests are counted under.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// An address block such as `10.0.0.0/8` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

/// The header the county's proxies write the client's address into. Only
/// that one is read: a proxy passes a header it does not write on from the
/// client untouched, and believing it would let anyone pick an address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx, HAProxy, most cloud load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

impl std::str::FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            other => Err(format!("{other:?}: use x-forwarded-for or forwarded")),
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an address or address/length"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("{s:?}: the length must be 0 to {max}"))?,
        };
        // `::ffff:10.0.0.0/104` is the IPv4 block 10.0.0.0/8 (addresses are compared as IPv4).
        if let IpAddr::V6(v6) = addr {
            if let Some(v4) = v6.to_ipv4_mapped() {
                if len >= 96 {
                    return Ok(Cidr {
                        addr: IpAddr::V4(v4),
                        len: len - 96,
                    });
                }
            }
        }
        Ok(Cidr { addr, len })
    }
}

impl Cidr {
    /// Whether `ip` is in the block (an IPv4 address given as IPv6-mapped counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.len),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.len),
            _ => false,
        }
    }

    /// Parses a comma-separated list (`10.0.0.0/8, 192.168.1.5`).
    pub fn parse_list(s: &str) -> Result<Vec<Cidr>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let full = usize::from(len / 8);
    let rest = len % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

/// One address of a forwarding header: `1.2.3.4`, `1.2.3.4:5678`,
/// `[2001:db8::1]:443`, `"[2001:db8::1]"`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(a, _)| a.parse().ok())
}

/// The addresses a request passed through, nearest the client first, from
/// the configured header. `None` for an entry that is not an address
/// (`unknown`, an obfuscated name).
fn forwarded_chain(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    if header == ForwardedHeader::Forwarded {
        return headers
            .get_all("forwarded")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_node(v))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(parse_node)
        .collect()
}

/// The client's address: the connecting peer, unless the peer is a trusted
/// proxy; then the nearest address in the forwarding chain of `header`
/// (read from the right) that is not itself a trusted proxy.
pub fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[Cidr],
    header: ForwardedHeader,
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_chain(headers, header).into_iter().rev() {
        match hop {
            Some(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    return client;
                }
            }
            // A hop that names no address: nothing beyond it can be believed.
            None => return client,
        }
    }
    client
}

/// The client's address as [`client_ip`] found it for this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Finds the client's address once per request (see [`client_ip`]).
pub async fn layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let config = state.config();
    let ip = client_ip(
        peer,
        req.headers(),
        &config.trusted_proxies,
        config.forwarded_header,
    );
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| canonical(c.0.ip()))
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(peer))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_contain() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains(ip("10.1.200.3")));
        assert!(!c.contains(ip("10.2.0.1")));
        assert!(c.contains(ip("::ffff:10.1.0.9")));
        let c: Cidr = "192.168.1.77".parse().unwrap();
        assert!(c.contains(ip("192.168.1.77")));
        assert!(!c.contains(ip("192.168.1.78")));
        let c: Cidr = "fd00::/8".parse().unwrap();
        assert!(c.contains(ip("fd12:3456::1")));
        assert!(!c.contains(ip("fe80::1")));
        let c: Cidr = "10.0.0.1/5".parse().unwrap();
        assert!(c.contains(ip("8.0.0.0")) && c.contains(ip("15.255.255.255")));
        assert!(!c.contains(ip("16.0.0.0")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("1.2.3.4")));
        for bad in ["10.0.0.0/33", "fd00::/129", "nonsense", "10.0.0/8", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert_eq!(Cidr::parse_list(" 10.0.0.0/8 ,127.0.0.1").unwrap().len(), 2);
    }

    #[test]
    fn forwarding_headers_are_believed_only_from_trusted_proxies() {
        let trusted = Cidr::parse_list("10.0.0.0/8").unwrap();
        let x = ForwardedHeader::XForwardedFor;
        let f = ForwardedHeader::Forwarded;
        let xff = headers(&[("x-forwarded-for", "203.0.113.7")]);
        // Straight from the internet: the header is the client's own claim.
        assert_eq!(
            client_ip(ip("198.51.100.2"), &xff, &trusted, x),
            ip("198.51.100.2")
        );
        assert_eq!(
            client_ip(ip("10.0.0.5"), &xff, &trusted, x),
            ip("203.0.113.7")
        );
        // The client's own made-up entries to the left are not believed.
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.9")]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &spoofed, &trusted, x),
            ip("203.0.113.7")
        );
        // Two header lines count as one list.
        let two = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.8"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &two, &trusted, x),
            ip("203.0.113.8")
        );
        // RFC 7239, with ports and IPv6.
        let fwd = headers(&[(
            "forwarded",
            "for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.3",
        )]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &fwd, &trusted, f),
            ip("2001:db8::1")
        );
        let fwd = headers(&[("forwarded", "for=203.0.113.9:1234")]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &fwd, &trusted, f),
            ip("203.0.113.9")
        );
        // An unknown hop ends the chain at the last believed address.
        let unknown = headers(&[("x-forwarded-for", "203.0.113.7, unknown")]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &unknown, &trusted, x),
            ip("10.0.0.5")
        );
        // No proxies configured: always the peer.
        assert_eq!(client_ip(ip("10.0.0.5"), &xff, &[], x), ip("10.0.0.5"));
        // Only the configured header: a Forwarded the client sent through an
        // X-Forwarded-For proxy is not believed, nor the other way round.
        let both = headers(&[
            ("forwarded", "for=198.51.100.99"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &both, &trusted, x),
            ip("203.0.113.7")
        );
        let spoof_xff = headers(&[
            ("forwarded", "for=203.0.113.8"),
            ("x-forwarded-for", "198.51.100.99"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &spoof_xff, &trusted, f),
            ip("203.0.113.8")
        );
        assert_eq!("Forwarded".parse::<ForwardedHeader>().unwrap(), f);
        assert!("via".parse::<ForwardedHeader>().is_err());
        // An IPv4 block written as IPv6-mapped.
        let mapped: Cidr = "::ffff:10.0.0.0/104".parse().unwrap();
        assert!(mapped.contains(ip("10.9.8.7")) && mapped.contains(ip("::ffff:10.1.1.1")));
    }

    proptest! {
        #[test]
        fn a_block_contains_exactly_the_addresses_sharing_its_prefix(a: u32, b: u32, len in 0u8..=32) {
            let net = std::net::Ipv4Addr::from(a);
            let c: Cidr = format!("{net}/{len}").parse().unwrap();
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
            prop_assert_eq!(c.contains(IpAddr::V4(b.into())), (a & mask) == (b & mask));
        }

        #[test]
        fn an_untrusted_peer_is_always_the_client(peer: u32, forged in "[0-9., ]{0,40}") {
            let trusted = Cidr::parse_list("10.0.0.0/8").unwrap();
            let peer = IpAddr::V4(std::net::Ipv4Addr::from(peer));
            prop_assume!(!trusted[0].contains(peer));
            let h = headers(&[("x-forwarded-for", forged.as_str())]);
            prop_assert_eq!(client_ip(peer, &h, &trusted, ForwardedHeader::XForwardedFor), peer);
        }
    }
}
