//! JSON bodies for the answers hyper gives on its own. A request that
//! cannot be parsed (a malformed request line or header, a header section
//! over hyper's buffer, too many headers) never reaches the router: hyper
//! answers 400, 414 or 431 itself, with no body, and closes the
//! connection — and offers no hook to give that answer a body. Every other
//! answer of this server has the SEP error shape `{"error": "…"}`, so
//! this adapter between hyper and the socket recognises hyper's bodiless
//! error head and writes the same status with a JSON body in its place.
//!
//! Nothing the router answers looks like that head: its answers always
//! carry `x-request-id` and `access-control-allow-origin`, and its errors
//! always have a body.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's error heads are about 110 bytes; the router's are longer.
const LONGEST_HEAD: usize = 192;

/// A connection whose hyper-made error answers get a JSON body.
pub(crate) struct JsonParseErrors<T> {
    inner: T,
    state: State,
}

enum State {
    /// Passing writes through, looking at each.
    Watching,
    /// Writing the answer that replaces hyper's.
    Replacing { bytes: Vec<u8>, written: usize },
    /// The answer was replaced; hyper closes the connection next.
    Replaced,
}

impl<T> JsonParseErrors<T> {
    pub(crate) fn new(inner: T) -> Self {
        JsonParseErrors {
            inner,
            state: State::Watching,
        }
    }
}

/// The answer to write instead of `head`, when `head` is one of hyper's
/// own error answers (status line, `connection: close`,
/// `content-length: 0`, `date`, nothing else).
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    if head.len() > LONGEST_HEAD || !head.starts_with(b"HTTP/1.1 ") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let (status_line, headers) = text["HTTP/1.1 ".len()..].split_once("\r\n")?;
    let headers = headers.strip_suffix("\r\n\r\n")?;
    let mut date = None;
    let mut shape = (false, false);
    for line in headers.split("\r\n") {
        let (name, value) = line.split_once(": ")?;
        match name {
            "connection" if value == "close" => shape.0 = true,
            "content-length" if value == "0" => shape.1 = true,
            "date" => date = Some(value),
            _ => return None,
        }
    }
    if shape != (true, true) {
        return None;
    }
    let message = match status_line.get(..4)? {
        // RFC 9112 §2.2, §5: a request line or field that is not HTTP.
        "400 " => "the request is not valid HTTP/1.1",
        // RFC 9110 §15.5.15.
        "414 " => "the request target (URI) is too long",
        // RFC 6585 §5.
        "431 " => "the request's header fields are too large or too many",
        _ => return None,
    };
    let body = serde_json::json!({ "error": message }).to_string();
    let mut out = format!(
        "HTTP/1.1 {status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\naccess-control-allow-origin: *\r\n",
        body.len()
    );
    if let Some(date) = date {
        out.push_str("date: ");
        out.push_str(date);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Some(out.into_bytes())
}

impl<T: AsyncWrite + Unpin> JsonParseErrors<T> {
    /// Writes what is left of the replacing answer.
    fn poll_replacing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let State::Replacing { bytes, written } = &mut self.state {
            if *written == bytes.len() {
                self.state = State::Replaced;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Writes `buf`, or the answer replacing it; hyper is told all of
    /// `buf` was written either way.
    fn poll_write_one(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if matches!(self.state, State::Watching)
            && let Some(bytes) = replacement(buf)
        {
            self.state = State::Replacing { bytes, written: 0 };
        }
        if matches!(self.state, State::Replacing { .. }) {
            ready!(self.poll_replacing(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonParseErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_one(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        // An error head comes alone: no body follows it.
        if !matches!(this.state, State::Replaced)
            && let (Some(only), None) = (filled.next(), filled.next())
        {
            return this.poll_write_one(cx, only);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacing(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacing(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYPER_431: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 14:04:57 GMT\r\n\r\n";

    #[test]
    fn hyper_error_heads_get_a_json_body() {
        let out = String::from_utf8(replacement(HYPER_431).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\ncontent-type: application/json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(head.contains("\r\ndate: Sun, 06 Dec 2026 14:04:57 GMT"));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(v["error"].as_str().unwrap().contains("header"));
    }

    #[test]
    fn other_heads_pass_unchanged() {
        let router_head = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\naccess-control-allow-origin: *\r\nx-request-id: x\r\ncontent-length: 2\r\ndate: Sun, 06 Dec 2026 14:04:57 GMT\r\n\r\n";
        assert!(replacement(router_head).is_none());
        let keep_alive =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert!(replacement(keep_alive).is_none());
        let ok = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert!(replacement(ok).is_none());
        let mut long = HYPER_431.to_vec();
        long.extend_from_slice(&[b' '; LONGEST_HEAD]);
        assert!(replacement(&long).is_none());
    }

    #[tokio::test]
    async fn the_replacement_is_written_in_full_and_hyper_told_its_head_was() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (a, mut b) = tokio::io::duplex(16);
        let mut w = JsonParseErrors::new(a);
        let reader = tokio::spawn(async move {
            let mut out = Vec::new();
            b.read_to_end(&mut out).await.unwrap();
            out
        });
        let n = w.write(HYPER_431).await.unwrap();
        assert_eq!(n, HYPER_431.len());
        w.shutdown().await.unwrap();
        drop(w);
        let out = reader.await.unwrap();
        assert_eq!(out, replacement(HYPER_431).unwrap());
    }
}
