//! The public listener: an accept loop serving HTTP/1.1 with hyper, with
//! the limits of `[http]` that keep slow, idle and surplus connections
//! from holding the server — and the process settings the server starts
//! with (private files, the open-files limit).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use super::parse_errors::JsonParseErrors;
use crate::config::HttpConfig;
use crate::error::ApiError;
use crate::telemetry;

/// Connections over `http.max_connections` being answered 503 at once;
/// beyond these, a surplus connection is closed without waiting.
const REFUSALS_AT_ONCE: usize = 256;

/// How long a refused connection is read (and discarded) after its 503.
const LINGER: Duration = Duration::from_secs(1);

/// The pause after an accept error that is not the peer's doing.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Connections the kernel completes and queues for us to accept. Linux
/// caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 4096;

/// Descriptors the process needs besides its connections: database pool,
/// listeners, documents being written, outgoing HTTP.
const OTHER_FILES: u64 = 128;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The public listener's limits, from `[http]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    header_read: Duration,
    request: Duration,
    max_connections: usize,
}

impl Edge {
    /// The limits `http` configures.
    pub(crate) fn new(http: &HttpConfig) -> Self {
        Edge {
            header_read: Duration::from_secs(http.header_read_timeout_secs),
            request: Duration::from_secs(http.request_timeout_secs),
            max_connections: usize::try_from(http.max_connections).unwrap_or(usize::MAX),
        }
    }
}

/// Sets up the process before anything is created under the data
/// directory: every file the server creates (the SQLite database, its
/// `-wal` and `-shm`, documents) is readable by its owner alone, and the
/// open-files limit is raised as far as allowed, since every connection
/// holds a descriptor.
pub(crate) fn harden_process() {
    private_files();
    raise_open_files_limit();
}

/// Files and folders the process creates get mode 0600 and 0700.
pub(crate) fn private_files() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Raises the soft RLIMIT_NOFILE to the hard limit and logs the figure.
fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        // An unlimited hard limit (macOS) cannot be the soft one: the
        // kernel wants a number there, at most OPEN_MAX.
        let wanted = limit.maximum.unwrap_or(10_240);
        if limit.current.is_some_and(|soft| soft < wanted) {
            let raised = Rlimit {
                current: Some(wanted),
                maximum: limit.maximum,
            };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                tracing::warn!(error = %e, "could not raise the open-files limit");
            }
        }
        let now = getrlimit(Resource::Nofile);
        match now.current {
            Some(n) => tracing::info!(open_files = n, "open-files limit"),
            None => tracing::info!("open-files limit: unlimited"),
        }
    }
}

/// Warns when `http.max_connections` cannot be reached under the
/// open-files limit: past it, accepting fails instead of answering 503.
fn check_open_files(edge: &Edge) {
    #[cfg(unix)]
    {
        let Some(limit) = rustix::process::getrlimit(rustix::process::Resource::Nofile).current
        else {
            return;
        };
        let wanted = edge.max_connections as u64 + REFUSALS_AT_ONCE as u64 + OTHER_FILES;
        if limit < wanted {
            tracing::warn!(
                "http.max_connections is {} but the process may open only {limit} files: beyond about {} connections new ones cannot be accepted (EMFILE) instead of being answered 503; raise the hard limit (`ulimit -Hn`, LimitNOFILE= under systemd) or lower http.max_connections",
                edge.max_connections,
                limit.saturating_sub(REFUSALS_AT_ONCE as u64 + OTHER_FILES),
            );
        }
    }
}

/// Serves `app` on `listener` until `stop` turns true, then stops
/// accepting and waits for open connections to finish their requests (the
/// caller bounds how long). Dropping the future closes every connection.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    edge: Edge,
    mut stop: watch::Receiver<bool>,
) {
    check_open_files(&edge);
    // The listener was bound with std's backlog of 128: a burst of new
    // connections (clients coming back after a proxy restart) would
    // overflow it, and each dropped SYN costs its client a retransmit
    // (1 s, then 3 s). Listening again only changes the backlog.
    #[cfg(unix)]
    if let Err(e) = rustix::net::listen(&listener, BACKLOG) {
        tracing::warn!(error = %e, "could not lengthen the listen backlog");
    }
    let mut http = http1::Builder::new();
    // RFC 9112 §9.5: a server may close an idle connection; hyper's
    // header timer runs from a connection's start and again from the end
    // of each response, so it covers kept-alive connections waiting for
    // their next request.
    http.timer(TokioTimer::new())
        .header_read_timeout(edge.header_read);
    let open = Arc::new(Semaphore::new(edge.max_connections));
    let refusing = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let refusal = refusal();
    let mut tasks = JoinSet::new();
    let mut errors = AcceptErrors::default();
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    errors.pause(e).await;
                    continue;
                }
            },
        };
        // Responses are small and written at once: never wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let Ok(permit) = open.clone().try_acquire_owned() else {
            match refusing.clone().try_acquire_owned() {
                Ok(permit) => {
                    let refusal = refusal.clone();
                    tasks.spawn(async move {
                        refuse(tcp, &refusal).await;
                        drop(permit);
                    });
                }
                // Too many at once even to answer: close at once, saying
                // what fits in the socket's buffer without waiting.
                Err(_) => {
                    let _ = tcp.try_write(&refusal);
                }
            }
            continue;
        };
        let app = app.clone();
        let timeout = edge.request;
        let service = hyper::service::service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(handle(app, req, peer, timeout).await) }
        });
        let conn = http.serve_connection(TokioIo::new(JsonParseErrors::new(tcp)), service);
        let mut stop = stop.clone();
        tasks.spawn(async move {
            tokio::pin!(conn);
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                () = stopped(&mut stop) => {
                    // Finishes the request in progress, then closes; an
                    // idle connection closes at once.
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
        });
    }
    // New connections are refused by the kernel from here on.
    drop(listener);
    while tasks.join_next().await.is_some() {}
}

/// Resolves once the server is stopping (at once if it already is).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// One request through `app`, with the peer's address for the handlers
/// (`ConnectInfo`) and `http.request_timeout_secs` over the whole of it,
/// reading the body included.
async fn handle(
    app: Router,
    mut req: Request<Incoming>,
    peer: SocketAddr,
    timeout: Duration,
) -> Response {
    req.extensions_mut().insert(ConnectInfo(peer));
    // Known before the router runs, so that a timeout answer carries the
    // id the request's log lines have.
    let id = request_id(&mut req);
    let method = req.method().clone();
    let received = Arc::new(AtomicBool::new(req.body().is_end_stream()));
    let req = req.map(|inner| {
        Body::new(Watched {
            inner,
            received: received.clone(),
        })
    });
    match tokio::time::timeout(timeout, app.oneshot(req)).await {
        Ok(Ok(res)) => res,
        Ok(Err(never)) => match never {},
        Err(_) => {
            // RFC 9110 §15.5.9: 408 says the request did not arrive in
            // time; a request that did, but was not answered in time, is
            // the server's fault (§15.6.4).
            let error = if received.load(Ordering::Relaxed) {
                tracing::warn!(%method, request_id = ?id, "request not answered in time");
                ApiError::unavailable("the server took too long to answer; try again later")
            } else {
                tracing::info!(%method, request_id = ?id, "request body not received in time");
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request took too long to arrive; send it again, faster",
                )
            };
            let mut res = error.into_response();
            let headers = res.headers_mut();
            // RFC 9110 §15.5.9, RFC 9112 §9.6: the connection is not
            // reused; part of the body may still be unread.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            // SEP-1 and SEP-10: every response carries it, errors included.
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            headers.insert(X_REQUEST_ID, id);
            res
        }
    }
}

/// A request body that notes when it has been received to its end.
struct Watched {
    inner: Incoming,
    received: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.received.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request's id: the client's when acceptable
/// ([`telemetry::acceptable_request_id`]), otherwise a new one, set on the
/// request for the router's log lines and echoed in the response (the
/// router's `PropagateRequestIdLayer`). Every request the public listener
/// serves has passed here, so the router itself sets no id.
fn request_id(req: &mut Request<Incoming>) -> HeaderValue {
    let kept = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| telemetry::acceptable_request_id(v));
    let id = match kept {
        Some(v) => v.clone(),
        None => HeaderValue::try_from(uuid::Uuid::new_v4().to_string())
            .expect("a UUID is a valid header value"),
    };
    req.headers_mut().insert(X_REQUEST_ID, id.clone());
    id
}

/// The whole answer to a connection over `http.max_connections`.
fn refusal() -> Arc<[u8]> {
    let body = serde_json::json!({
        "error": "the server has too many connections open; try again in a moment"
    })
    .to_string();
    // RFC 9110 §10.2.3: Retry-After on a 503; RFC 9112 §9.6: `close`
    // announces that the connection ends after this response.
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\naccess-control-allow-origin: *\r\n\r\n",
        body.len()
    );
    format!("{head}{body}").into_bytes().into()
}

/// Answers a surplus connection 503 before it has sent anything, then
/// closes it the way RFC 9112 §9.6 asks: our side first, then reading what
/// the client still sends for a moment, so that closing with unread data
/// does not reset the connection and destroy the answer before the client
/// has read it.
async fn refuse(mut tcp: TcpStream, refusal: &[u8]) {
    let answered = tokio::time::timeout(LINGER, async {
        tcp.write_all(refusal).await?;
        tcp.shutdown().await
    })
    .await;
    if !matches!(answered, Ok(Ok(()))) {
        return;
    }
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(n) = tcp.read(&mut sink).await
            && n > 0
        {}
    })
    .await;
}

/// Accept errors, logged at most once a second.
#[derive(Default)]
struct AcceptErrors {
    logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    /// Notes `e` and pauses: when the process is out of descriptors
    /// (EMFILE, ENFILE), accepting again at once would only fail again.
    async fn pause(&mut self, e: io::Error) {
        // The peer gave up before we took the connection: nothing to fix.
        if matches!(
            e.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionRefused
        ) {
            return;
        }
        self.unlogged += 1;
        if self
            .logged
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            tracing::error!(
                error = %e,
                errors = self.unlogged,
                "cannot accept connections; retrying"
            );
            self.logged = Some(Instant::now());
            self.unlogged = 0;
        }
        tokio::time::sleep(ACCEPT_PAUSE).await;
    }
}
