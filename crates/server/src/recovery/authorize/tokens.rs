//! The random tokens of the sign-in, how they are stored (hashed), the
//! short code a person compares.

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
    fn user_codes_are_short_and_unambiguous() {
        let c = user_code("some-token");
        assert_eq!(c.len(), 7);
        assert!(!c.contains(['0', 'O', '1', 'I']));
        assert_eq!(c, user_code("some-token"));
        assert_ne!(c, user_code("another-token"));
    }
}
