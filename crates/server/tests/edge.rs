//! The public listener's edge, over raw TCP against a real server: slow,
//! idle and surplus connections are closed, and what the server writes
//! under its data directory is private. Behaviour, not timing: limits are
//! set to one second and each test waits up to ten for the outcome, which
//! a server without the limit never reaches.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use common::customer::upload_file;
use common::{Engine, TestServer};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long a test waits for the server to act on a one-second limit.
const PATIENCE: Duration = Duration::from_secs(10);

async fn connect(srv: &TestServer) -> TcpStream {
    let port = srv.base.port().expect("the test server's URL has a port");
    TcpStream::connect(("127.0.0.1", port)).await.unwrap()
}

/// Everything the server sends until it closes the connection (a reset
/// counts as closed), or `None` if it is still open after [`PATIENCE`].
async fn until_closed(tcp: &mut TcpStream) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(got)
}

/// Reads one response (head and `content-length` body) and leaves the
/// connection open: (head, body).
async fn read_response(tcp: &mut TcpStream) -> (String, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if got.len() >= end + 4 + len {
                    return (head, got[end + 4..end + 4 + len].to_vec());
                }
            }
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed mid-response: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a response in time")
}

/// Splits a whole response as [`until_closed`] returned it: (head in
/// lower case, JSON body).
fn parse(raw: &[u8]) -> (String, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not a response: {text:?}"));
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    (head.to_ascii_lowercase(), body)
}

const GET_HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Requests hyper refuses before the router sees them — a header over its
/// buffer, too many headers, a URI over its buffer, a request line that is
/// not HTTP — get the JSON error shape too, and the connection is closed.
#[tokio::test]
async fn requests_refused_while_parsing_get_json_bodies() {
    let srv = TestServer::start(Engine::Sqlite).await;
    let big_header = [
        &b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "[..],
        &vec![b'a'; 1 << 20],
        b"\r\n\r\n",
    ]
    .concat();
    let mut many = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_vec();
    for i in 0..10_000 {
        many.extend_from_slice(format!("X-{i}: a\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let long_uri = [
        &b"GET /"[..],
        &vec![b'a'; 2 << 20],
        b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ]
    .concat();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("1 MiB header", big_header, "431"),
        ("10,000 headers", many, "431"),
        ("2 MiB URI", long_uri, "431"),
        ("not HTTP", b"GARBAGE\r\n\r\n".to_vec(), "400"),
    ];
    for (what, request, status) in cases {
        let tcp = connect(&srv).await;
        let (mut rx, mut tx) = tcp.into_split();
        // The server stops reading at its limit and answers: write and read
        // at once, and let the write fail when the server closes.
        let writer = tokio::spawn(async move {
            let _ = tx.write_all(&request).await;
        });
        let mut got = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, rx.read_to_end(&mut got)).await;
        writer.abort();
        let text = String::from_utf8_lossy(&got);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{what}: {text}"));
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status} ")),
            "{what}: {head}"
        );
        assert!(
            head.contains("content-type: application/json"),
            "{what}: {head}"
        );
        assert!(head.contains("connection: close"), "{what}: {head}");
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: {body}"));
        assert!(body["error"].is_string(), "{what}: {body}");
    }
    // The server still answers.
    let mut tcp = connect(&srv).await;
    tcp.write_all(GET_HEALTH).await.unwrap();
    assert!(read_response(&mut tcp).await.0.starts_with("http/1.1 200"));
    srv.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_half_a_request_head_and_goes_silent_is_disconnected() {
    let srv = TestServer::start_with(Engine::Sqlite, |c| c.http.header_read_timeout_secs = 1).await;
    let mut tcp = connect(&srv).await;
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let got = until_closed(&mut tcp).await;
    assert!(got.is_some(), "the connection is still open");
    srv.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let srv = TestServer::start_with(Engine::Sqlite, |c| c.http.header_read_timeout_secs = 1).await;
    let mut tcp = connect(&srv).await;
    tcp.write_all(GET_HEALTH).await.unwrap();
    let (head, _) = read_response(&mut tcp).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "kept alive: {head}");
    // No next request: the connection waits for one, then is closed.
    let got = until_closed(&mut tcp).await;
    assert_eq!(
        got.as_deref(),
        Some(&b""[..]),
        "closed without another word"
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_with_a_json_408() {
    let srv = TestServer::start_with(Engine::Sqlite, |c| c.http.request_timeout_secs = 1).await;
    let tcp = connect(&srv).await;
    let (mut rd, mut wr) = tcp.into_split();
    // A body announced whole but sent a byte at a time: 1000 bytes at ten
    // a second would take 100 seconds.
    let trickle = tokio::spawn(async move {
        let head = "POST /auth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
        wr.write_all(head.as_bytes()).await?;
        for _ in 0..999 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            wr.write_all(b" ").await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    trickle.abort();
    assert!(closed.is_ok(), "the server waited for the whole body");
    let (head, body) = parse(&got);
    assert!(head.starts_with("http/1.1 408"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
    assert!(head.contains("x-request-id: "), "{head}");
    assert!(body["error"].is_string(), "{body}");
    srv.stop().await;
}

#[tokio::test]
async fn connections_beyond_max_connections_get_a_json_503_and_health_answers_once_they_close() {
    let srv = TestServer::start_with(Engine::Sqlite, |c| {
        c.http.max_connections = 2;
        c.http.header_read_timeout_secs = 60;
    })
    .await;
    // Two connections, each served once and kept open: the limit is full.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut tcp = connect(&srv).await;
        tcp.write_all(GET_HEALTH).await.unwrap();
        let (head, _) = read_response(&mut tcp).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        held.push(tcp);
    }
    // Surplus connections are answered before they send anything.
    for _ in 0..3 {
        let mut tcp = connect(&srv).await;
        let got = until_closed(&mut tcp)
            .await
            .expect("a surplus connection is answered and closed");
        let (head, body) = parse(&got);
        assert!(head.starts_with("http/1.1 503"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(body["error"].is_string(), "{body}");
    }
    // The held ones still work.
    tcp_health(&mut held[0]).await;
    drop(held);
    // Their places free up as the server sees them close.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut tcp = connect(&srv).await;
        tcp.write_all(GET_HEALTH).await.unwrap();
        let got = tokio::time::timeout(PATIENCE, read_first_line(&mut tcp))
            .await
            .unwrap();
        if got.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(got.starts_with("HTTP/1.1 503"), "{got}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "closed connections never gave their places back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.stop().await;
}

/// `GET /health` on an open connection answers 200.
async fn tcp_health(tcp: &mut TcpStream) {
    tcp.write_all(GET_HEALTH).await.unwrap();
    let (head, _) = read_response(tcp).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
}

/// The status line of the next response.
async fn read_first_line(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n") {
        if tcp.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        got.push(byte[0]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn files_the_server_creates_under_its_data_directory_are_private() {
    // The embedded default database, under data/, rather than the
    // harness's own file.
    let srv = TestServer::start_with(Engine::Sqlite, |c| c.database_url = None).await;
    let (_, token) = srv.login().await;
    let png = [
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D,
    ];
    let form = Form::new().part(
        "file",
        Part::bytes(png.to_vec())
            .file_name("id.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let (status, file) = upload_file(&srv, &token, form).await;
    assert_eq!(status, 200, "{file}");
    let data = srv.dir.path().join("data");
    for name in ["mooring.db", "mooring.db-wal", "mooring.db-shm"] {
        assert!(data.join(name).is_file(), "{name} exists");
    }
    let mut found = Vec::new();
    walk(&data, &mut found);
    let documents = found
        .iter()
        .filter(|(p, _)| p.starts_with(data.join("blobs")) && p.is_file())
        .count();
    assert!(documents > 0, "the document is under data/blobs: {found:?}");
    for (path, mode) in &found {
        assert_eq!(
            mode & 0o077,
            0,
            "{} has mode {mode:o}: others can read it",
            path.display()
        );
    }
    srv.stop().await;
}

/// Every file and folder under `dir` (itself included), with its mode.
fn walk(dir: &Path, found: &mut Vec<(std::path::PathBuf, u32)>) {
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    found.push((dir.to_owned(), mode));
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            walk(&entry.unwrap().path(), found);
        }
    }
}

/// A guard rather than a new behaviour (it passes on the old accept loop
/// too): stopping lets a request in flight finish and closes idle
/// kept-alive connections at once.
#[tokio::test]
async fn shutdown_finishes_a_request_in_flight_and_closes_idle_connections() {
    let mut srv = TestServer::start(Engine::Sqlite).await;
    let mut idle = connect(&srv).await;
    tcp_health(&mut idle).await;
    // RFC 9110 §10.1.1: the server says `100 Continue` once the handler
    // reads the body, so the request is in flight before the stop.
    let mut busy = connect(&srv).await;
    busy.write_all(
        b"POST /auth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let (head, _) = read_response(&mut busy).await;
    assert!(head.starts_with("http/1.1 100"), "{head}");
    let clients = async {
        // Closed once the server is stopping; then the body arrives.
        let idle_closed = until_closed(&mut idle).await;
        busy.write_all(b"{}").await.unwrap();
        (idle_closed, until_closed(&mut busy).await)
    };
    let ((), (idle_closed, answer)) = tokio::join!(srv.shutdown(), clients);
    assert_eq!(
        idle_closed.as_deref(),
        Some(&b""[..]),
        "idle closed at once"
    );
    let (head, body) = parse(&answer.expect("the request in flight is answered"));
    assert!(head.starts_with("http/1.1 400"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(body["error"].is_string(), "{body}");
    srv.stop().await;
}
