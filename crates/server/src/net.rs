//! Outbound HTTP to addresses the internet chose (client domains' stellar.toml,
//! customers' callback URLs): HTTPS on the default port to public addresses
//! only — checked on every DNS answer and every redirect — never through a
//! proxy, so that no one can point the server at its own network. Hosts the
//! operator lists for development are exempt.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// An HTTP client that only reaches what [`url_allowed`] allows, following
/// at most `max_redirects` redirects (each checked).
pub fn guarded_client(
    dev_hosts: Arc<Vec<String>>,
    timeout: Duration,
    max_redirects: usize,
) -> Result<reqwest::Client, reqwest::Error> {
    let redirect_hosts = dev_hosts.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= max_redirects {
            attempt.error("too many redirects")
        } else if !url_allowed(attempt.url(), &redirect_hosts) {
            attempt.error("redirect to a non-public or non-HTTPS address")
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        // A proxy would resolve the name itself, past the address filter.
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(policy)
        .dns_resolver(Arc::new(PublicOnly { dev_hosts }))
        .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// `host` or `host:port`, as the development hosts are listed.
pub fn host_port(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

/// HTTPS on its default port to a name or public IP; plain http, another
/// port or a private address only for the operator's development hosts
/// (exactly as listed, `host` or `host:port`).
pub fn url_allowed(url: &Url, dev_hosts: &[String]) -> bool {
    let Some(hp) = host_port(url) else {
        return false;
    };
    if dev_hosts.contains(&hp) {
        return true;
    }
    url.scheme() == "https"
        && url.port().is_none()
        && match url.host() {
            Some(Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
            Some(Host::Domain(d)) => !d.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

/// Resolves `url`'s host now, as a registration check: a name any of whose
/// addresses is not public is refused (development hosts excepted). A name
/// that does not resolve (yet) is let through: every delivery resolves it
/// again through the same filter.
pub async fn resolves_public(url: &Url, dev_hosts: &[String]) -> Result<(), &'static str> {
    let (Some(Host::Domain(name)), Some(hp)) = (url.host(), host_port(url)) else {
        return Ok(());
    };
    if dev_hosts.contains(&hp) {
        return Ok(());
    }
    let lookup = tokio::net::lookup_host((name, 443));
    match tokio::time::timeout(Duration::from_secs(3), lookup).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.iter().any(|a| !is_public(a.ip())) {
                return Err("url's host resolves to an address that is not public");
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A DNS resolver that drops every non-public address, so no name can lead
/// the server to its own network (development hosts excepted).
#[derive(Debug)]
struct PublicOnly {
    dev_hosts: Arc<Vec<String>>,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let dev = self
            .dev_hosts
            .iter()
            .any(|h| h.split(':').next() == Some(host.as_str()));
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| dev || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("no public address".into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// True for globally routable unicast addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = ip.segments();
            !(ip.is_unspecified()
                || ip.is_loopback()
                || ip.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 64:ff9b::/96
                || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard 100::/64
                || s[..6].iter().all(|x| *x == 0) // IPv4-compatible ::a.b.c.d (deprecated)
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32, embeds an IPv4
                || (s[0] == 0x2002)) // 6to4, embeds any IPv4
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240) // reserved
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(v6(ip)), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "93.184.216.34"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public(v6("2606:4700::1111")));
    }

    #[test]
    fn only_https_to_public_hosts_unless_listed_for_development() {
        let dev = vec!["localhost:9999".to_string()];
        let ok = |u: &str| url_allowed(&Url::parse(u).unwrap(), &dev);
        assert!(ok("https://wallet.example.com/.well-known/stellar.toml"));
        assert!(ok("http://localhost:9999/.well-known/stellar.toml"));
        assert!(!ok("http://wallet.example.com/.well-known/stellar.toml"));
        assert!(!ok("https://localhost/.well-known/stellar.toml"));
        assert!(!ok("https://127.0.0.1/.well-known/stellar.toml"));
        assert!(!ok("https://[::1]/.well-known/stellar.toml"));
        assert!(!ok("https://169.254.169.254/latest/meta-data"));
        assert!(!ok("http://localhost:9998/.well-known/stellar.toml"));
        // Other ports only for hosts listed with them.
        assert!(!ok(
            "https://wallet.example.com:8443/.well-known/stellar.toml"
        ));
    }
}
