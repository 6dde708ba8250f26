//! Stellar primitives for Mooring, shared by the server and the client.
//!
//! Nothing in this crate does I/O or holds global state: strkeys and keypairs
//! ([`keys`]), client account addresses ([`account`]), amounts ([`amount`]), network ids
//! ([`network`]), transaction envelopes ([`envelope`]) and the few
//! transactions a wallet builds ([`tx`]), the SEP-10 challenge ([`sep10`]),
//! the SEP-1 `stellar.toml` fields a client reads ([`stellar_toml`]) and
//! the Horizon resources both sides read ([`horizon`]).

pub mod account;
pub mod amount;
pub mod attest;
pub mod envelope;
pub mod horizon;
pub mod keys;
pub mod network;
pub mod sep10;
pub mod stellar_toml;
pub mod tx;

pub use account::{ClientAccount, IdMemo};
pub use amount::Amount;
pub use keys::{Keypair, PublicKey};
pub use network::Network;

/// The generated Stellar XDR types, re-exported so callers use the same version.
pub use stellar_xdr as xdr;
