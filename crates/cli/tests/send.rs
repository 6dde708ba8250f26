//! `mooring send` end to end: a receiving anchor (Mooring, in process) with
//! a partner entry for the sender, a loopback Horizon that accepts the
//! submitted payment and streams it to the receiver's observer, and staff
//! completing the transaction through `mooring admin`.

#[path = "common/mod.rs"]
mod cli;
#[path = "../../server/tests/common/mod.rs"]
mod common;

#[tokio::test]
async fn skeleton() {
    let _h = common::HorizonStub::start().await;
    let _ = cli::BIN;
}
