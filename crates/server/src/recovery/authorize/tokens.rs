//! The random tokens of the sign-in, how they are stored (hashed), the
//! short code a person compares, and the network an address is counted in.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

pub(super) fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

pub(super) fn hashed(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// What an IP address is counted as: itself (IPv4), or its /64 (IPv6,
/// where one subscriber holds a whole /64).
pub(super) fn client_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The short code both the wallet and the page show for a request:
/// `ABC-DEF`, six letters and digits a person can compare (no 0/O, 1/I).
pub fn user_code(token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let digest = Sha256::digest(format!("mooring:user-code:{token}").as_bytes());
    let chars: String = digest[..6]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..3], &chars[3..])
}

/// Random tokens are 43 base64url characters; anything else is refused
/// before a lookup.
pub(super) fn well_formed(t: &str) -> bool {
    t.len() == 43
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_counted_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(client_network(a), client_network(b));
        assert_eq!(
            client_network("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1"
        );
        assert_eq!(client_network("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }

    #[test]
    fn user_codes_are_short_and_unambiguous() {
        let c = user_code("some-token");
        assert_eq!(c.len(), 7);
        assert!(!c.contains(['0', 'O', '1', 'I']));
        assert_eq!(c, user_code("some-token"));
        assert_ne!(c, user_code("another-token"));
    }
}
