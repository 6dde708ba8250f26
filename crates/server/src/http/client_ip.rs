//! Who is on the other end of a request: the peer's address, or — when the
//! peer is a proxy the operator trusts (`http.trusted_proxies`) — the
//! client named in its `X-Forwarded-For`, read from the right, skipping
//! trusted hops (the entries to the left are whatever the client sent).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;

#[cfg(test)]
use crate::config::parse_ip_range as parse_range;
use crate::state::AppState;

/// Whether `ip` is in `range`, an IPv4-mapped IPv6 address counting as
/// its IPv4 address.
fn in_range(range: &IpNet, ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    range.contains(&ip)
}

/// The client's address, as far as the server can tell.
pub fn client_of(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let trusts = |ip: IpAddr| trusted.iter().any(|n| in_range(n, ip));
    if !trusts(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusts(ip) {
                    break;
                }
            }
            // Not an address: nothing left of it can be believed.
            Err(_) => break,
        }
    }
    client
}

/// The client's IP address, when the server knows it.
pub struct ClientIp(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(ClientIp(None));
        };
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientIp(Some(client_of(
            peer,
            &forwarded,
            AppState::from_ref(state).trusted_proxies(),
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges() {
        let has = |range: &str, addr: &str| in_range(&parse_range(range).unwrap(), ip(addr));
        assert!(has("10.0.0.0/8", "10.1.2.3") && !has("10.0.0.0/8", "11.0.0.1"));
        assert!(has("10.0.0.0/8", "::ffff:10.9.9.9"));
        assert!(has("127.0.0.1", "127.0.0.1"));
        assert!(has("2001:db8::/32", "2001:db8:1::5"));
        assert!(has("0.0.0.0/0", "203.0.113.9"));
        assert!(parse_range("10.0.0.0/33").is_none());
        assert!(parse_range("proxy.internal").is_none());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = [parse_range("10.0.0.0/8").unwrap()];
        // An untrusted peer: its header is ignored.
        assert_eq!(
            client_of(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        // A trusted proxy: the right-most address it did not add itself.
        assert_eq!(
            client_of(
                ip("10.0.0.2"),
                &["6.6.6.6, 198.51.100.7, 10.0.0.3"],
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Several headers are one list.
        assert_eq!(
            client_of(ip("10.0.0.2"), &["6.6.6.6", "198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // No header: the proxy itself.
        assert_eq!(client_of(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
        // Garbage stops the walk.
        assert_eq!(
            client_of(ip("10.0.0.2"), &["1.1.1.1, junk"], &trusted),
            ip("10.0.0.2")
        );
    }
}
