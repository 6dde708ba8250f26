//! The payments of the Horizon stand-in as server-sent events, and the
//! switches that make streaming fail or come in pieces.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt as _;

use super::HorizonStub;
use super::horizon_payments::{PaymentsFeed, after};

impl HorizonStub {
    /// While `true`, event-stream requests get 500 and open streams end:
    /// the observer must poll.
    pub fn fail_streaming(&self, fail: bool) {
        self.payments.ledger.lock().unwrap().streaming_fails = fail;
        self.payments.bump();
    }

    /// While `Some(status)`, every payments request (pages and streams)
    /// gets `status` with Horizon's problem JSON, and open streams end.
    pub fn fail_payments(&self, status: Option<u16>) {
        self.payments.ledger.lock().unwrap().fail_with = status;
        self.payments.bump();
    }

    /// Streams opened from now on are written `n` bytes at a time (events
    /// split anywhere, as TCP may split them); `None` for whole events.
    pub fn stream_in_pieces(&self, n: Option<usize>) {
        self.payments.ledger.lock().unwrap().pieces = n;
    }

    /// While `true`, streams send the records there are, then `"byebye"`,
    /// and close (as Horizon does when it goes down, or a proxy in front
    /// of it that cuts long requests).
    pub fn end_streams_at_once(&self, end: bool) {
        self.payments.ledger.lock().unwrap().end_at_once = end;
    }
}

/// `text` in pieces of `n` bytes, or whole.
fn pieces(text: String, n: Option<usize>) -> Vec<Bytes> {
    match n {
        Some(n) => text
            .into_bytes()
            .chunks(n.max(1))
            .map(Bytes::copy_from_slice)
            .collect(),
        None => vec![Bytes::from(text)],
    }
}

/// The records of `account` after `cursor` as Horizon streams them: a
/// `"hello"`, then one event per record, old ones first, then each new one
/// as it is added, until the client goes or streaming is switched off.
pub(super) fn events(feed: PaymentsFeed, account: String, cursor: u64) -> Response {
    let rx = feed.changed.subscribe();
    let (n, end_at_once) = {
        let l = feed.ledger.lock().unwrap();
        (l.pieces, l.end_at_once)
    };
    if end_at_once {
        let mut text = "retry: 1000\nevent: open\ndata: \"hello\"\n\n".to_owned();
        for (id, r) in after(&feed.ledger.lock().unwrap(), &account, cursor) {
            text.push_str(&format!("id: {id}\ndata: {r}\n\n"));
        }
        text.push_str("event: close\ndata: \"byebye\"\n\n");
        return sse(Body::from(text));
    }
    let hello = pieces(
        "retry: 1000\nevent: open\ndata: \"hello\"\n\n".to_owned(),
        n,
    );
    let hello = futures::stream::iter(hello);
    let state = (feed, account, cursor, rx);
    let records =
        futures::stream::unfold(state, move |(feed, account, cursor, mut rx)| async move {
            loop {
                rx.borrow_and_update();
                let (fresh, off) = {
                    let l = feed.ledger.lock().unwrap();
                    let off = l.streaming_fails || l.fail_with.is_some();
                    (after(&l, &account, cursor), off)
                };
                if off {
                    return None;
                }
                if let Some(last) = fresh.last().map(|r| r.0) {
                    let mut text = String::new();
                    for (id, r) in fresh {
                        text.push_str(&format!("id: {id}\ndata: {r}\n\n"));
                    }
                    let chunks = futures::stream::iter(pieces(text, n));
                    return Some((chunks, (feed, account, last, rx)));
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        })
        .flatten();
    let body = hello.chain(records).map(Ok::<_, std::convert::Infallible>);
    sse(Body::from_stream(body))
}

fn sse(body: Body) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("access-control-allow-origin", "*")
        .body(body)
        .unwrap()
}
