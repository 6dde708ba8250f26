//! A round-robin HTTP/1.1 reverse proxy on loopback: what a load balancer
//! in front of Mooring's replicas does, in a few lines of hyper.
//!
//! - Every request goes to the next replica in turn, so consecutive
//!   requests of one client, even on one kept-alive connection, land on
//!   different replicas (nginx's `upstream` round robin does the same).
//! - The request body is read whole before it is sent (nginx's
//!   `proxy_request_buffering on`), so a request whose replica refuses the
//!   connection is sent to the next one (`proxy_next_upstream error`); a
//!   replica that refused is skipped for a second. A replica that fails
//!   once the request is sent gets the client a 502, as nginx answers:
//!   the request may have had effects, so it is not sent again.
//! - The client's address is appended to the `X-Forwarded-For` it sent
//!   (nginx's `$proxy_add_x_forwarded_for`; the tests use this to speak
//!   for several clients from loopback), and the answer names the replica
//!   that gave it in `X-Upstream` (its index). An edge proxy facing the
//!   internet should replace the header instead.
//!
//! No crate on crates.io is a reverse proxy to embed, and Debian's (nginx,
//! haproxy) would make the tests need root to install them; this is about
//! as long as their configuration would be.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::task::JoinHandle;
use url::Url;

/// The largest request body the proxy buffers (nginx's
/// `client_max_body_size`); Mooring's own limits are all below it.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// How long a replica that refused a connection is skipped.
const SKIP_FOR: Duration = Duration::from_secs(1);

/// The response header naming the replica that answered (its index).
pub const UPSTREAM: &str = "x-upstream";

type Body = BoxBody<Bytes, hyper::Error>;

/// One replica as the proxy sees it.
struct Backend {
    addr: SocketAddr,
    skip_until: Mutex<Option<Instant>>,
    answered: AtomicU64,
}

struct Shared {
    backends: Vec<Backend>,
    next: AtomicUsize,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A running proxy, stopped on drop.
pub struct Proxy {
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub url: Url,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Starts a proxy to `backends` on `listener`.
    pub fn start(
        listener: std::net::TcpListener,
        backends: &[SocketAddr],
    ) -> std::io::Result<Proxy> {
        Proxy::start_with(listener, backends, true)
    }

    /// Starts a proxy that closes each client connection after one answer
    /// (`Connection: close`), as servers with one-request workers do
    /// (gunicorn's sync workers): for clients that must cope with them.
    pub fn start_closing(
        listener: std::net::TcpListener,
        backends: &[SocketAddr],
    ) -> std::io::Result<Proxy> {
        Proxy::start_with(listener, backends, false)
    }

    fn start_with(
        listener: std::net::TcpListener,
        backends: &[SocketAddr],
        keep_alive: bool,
    ) -> std::io::Result<Proxy> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let url = Url::parse(&format!("http://{}", listener.local_addr()?))
            .expect("a socket address makes a URL");
        let client = Client::builder(TokioExecutor::new())
            // Below Mooring's idle timeout (10 s by default), so the pool
            // never reuses a connection the replica is closing.
            .pool_idle_timeout(Duration::from_secs(4))
            .build_http();
        let shared = Arc::new(Shared {
            backends: backends
                .iter()
                .map(|&addr| Backend {
                    addr,
                    skip_until: Mutex::new(None),
                    answered: AtomicU64::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
            client,
        });
        let task = tokio::spawn(accept(listener, shared.clone(), keep_alive));
        Ok(Proxy { url, shared, task })
    }

    /// The base URL with `path` appended.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.url.as_str().trim_end_matches('/'), path)
    }

    /// How many answers each replica gave through the proxy.
    pub fn answered(&self) -> Vec<u64> {
        self.shared
            .backends
            .iter()
            .map(|b| b.answered.load(Ordering::Relaxed))
            .collect()
    }
}

async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>, keep_alive: bool) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| forward(shared.clone(), peer, req));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(keep_alive)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// RFC 9110 §7.6.1: headers meant for one connection, not forwarded.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
    ] {
        headers.remove(name);
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed();
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res
}

async fn forward(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (mut parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Ok(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ));
        }
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "request body unreadable")),
    };
    drop_hop_by_hop(&mut parts.headers);
    let client_ip = peer.ip().to_string();
    let forwarded = match parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(before) => format!("{before}, {client_ip}"),
        None => client_ip,
    };
    if let Ok(v) = HeaderValue::try_from(forwarded) {
        parts.headers.insert("x-forwarded-for", v);
    }
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();

    let n = shared.backends.len();
    let first = shared.next.fetch_add(1, Ordering::Relaxed);
    for k in 0..n {
        let index = (first + k) % n;
        let backend = &shared.backends[index];
        let skipped = backend
            .skip_until
            .lock()
            .expect("not poisoned")
            .is_some_and(|until| Instant::now() < until);
        // The last one is tried even when skipped: better than no answer.
        if skipped && k + 1 < n {
            continue;
        }
        let mut out = Request::new(Full::new(body.clone()));
        *out.method_mut() = parts.method.clone();
        *out.headers_mut() = parts.headers.clone();
        *out.uri_mut() = match format!("http://{}{path}", backend.addr).parse() {
            Ok(uri) => uri,
            Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "bad request target")),
        };
        match shared.client.request(out).await {
            Ok(res) => {
                backend.answered.fetch_add(1, Ordering::Relaxed);
                let (mut head, body) = res.into_parts();
                drop_hop_by_hop(&mut head.headers);
                head.headers.insert(UPSTREAM, HeaderValue::from(index));
                return Ok(Response::from_parts(head, body.boxed()));
            }
            Err(e) if e.is_connect() => {
                *backend.skip_until.lock().expect("not poisoned") = Some(Instant::now() + SKIP_FOR);
            }
            Err(_) => {
                return Ok(plain(
                    StatusCode::BAD_GATEWAY,
                    "the replica failed to answer",
                ));
            }
        }
    }
    Ok(plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "no replica accepted the connection",
    ))
}
