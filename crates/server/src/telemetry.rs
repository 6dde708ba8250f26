//! Logs and metrics. Log lines carry the method, the route template and a
//! request id — never a URI (queries can hold a `jwt=`), a header, a body, a
//! key or an account's personal data.

use std::convert::Infallible;
use std::io::IsTerminal as _;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower::{Layer, Service};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Latency histogram buckets, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Sets up the process's log output. Call once, early.
pub fn init_logging(filter: &str, format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| {
        format!("invalid setting `log_level`: {e} (try \"info\" or \"mooring_server=debug,info\")")
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colour codes only for a person at a terminal: in a file or a log
        // collector they are bytes on every line.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| e.to_string())
}

/// The process-wide Prometheus recorder (a metrics recorder is global by
/// nature; several servers in one test process share it).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &LATENCY_BUCKETS,
            )
            .expect("buckets are non-empty")
            .build_recorder();
        let handle = recorder.handle();
        // If another recorder was installed first, metrics go there and
        // this handle renders an empty page; nothing else breaks.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Whether an incoming `x-request-id` may be kept: at most 64 characters
/// of letters, digits, `-`, `_`, `.`. Any other is replaced by a new one:
/// the header is copied into every log line of the request, and must not
/// carry a token or anything else a client chose to put there.
pub fn acceptable_request_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A layer recording a request count and a latency histogram per method,
/// route template and status. A plain layer rather than
/// `axum::middleware::from_fn`, which boxes a copy of the service and the
/// future of every request: a held long poll would carry both.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics;

impl<S> Layer<S> for Metrics {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService { inner }
    }
}

/// [`Metrics`] around a service.
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
}

impl<S> Service<Request> for MetricsService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Measured<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // A label per method a client invents would grow the registry
        // without bound: anything unusual is counted as OTHER.
        let method = match *req.method() {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::DELETE => "DELETE",
            Method::PATCH => "PATCH",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            _ => "OTHER",
        };
        Measured {
            route: req.extensions().get::<MatchedPath>().cloned(),
            method,
            start: Instant::now(),
            inner: self.inner.call(req),
        }
    }
}

/// A request being answered, recorded when it is.
#[derive(Debug)]
pub struct Measured<F> {
    inner: F,
    start: Instant,
    method: &'static str,
    route: Option<MatchedPath>,
}

impl<F> Future for Measured<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Ok(res) = ready!(Pin::new(&mut this.inner).poll(cx));
        let route = this
            .route
            .as_ref()
            .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
        let status = res.status().as_u16().to_string();
        metrics::counter!("http_requests_total", "method" => this.method, "route" => route.clone(), "status" => status)
            .increment(1);
        metrics::histogram!("http_request_duration_seconds", "method" => this.method, "route" => route)
            .record(this.start.elapsed().as_secs_f64());
        Poll::Ready(Ok(res))
    }
}
