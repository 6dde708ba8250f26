//! One load-generating connection, and what an operation's failure was.

use anyhow::{Context as _, Result, bail};
use axum::http::StatusCode;
use mooring_stellar::Keypair;
use reqwest::Url;

/// One load-generating connection: HTTP/1.1 keep-alive straight over
/// hyper, the cheapest client there is, so that the machine's CPU goes to
/// the server being measured (wrk and hey do the same). When the server
/// closes the connection (after each answer, as gunicorn's sync workers
/// do, or when idle), the next request opens another.
pub struct Conn {
    sender: Option<hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>>,
    addr: (String, u16),
    host: String,
    /// Bearer token sent with every request, once logged in.
    pub token: Option<String>,
}

/// Why an operation failed, by kind: what `mooring bench` counts.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The connection could not be opened.
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// The connection ended before the answer did.
    #[error("connection closed before the answer: {0}")]
    Closed(hyper::Error),
    /// The server answered with an error status.
    #[error("{0}: {1}")]
    Status(StatusCode, String),
    /// The answer was not the JSON expected.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl Failure {
    /// The kind, as reported: `connect`, `closed`, `HTTP <status>`,
    /// `unexpected`.
    pub fn kind(&self) -> String {
        match self {
            Failure::Connect(_) => "connect".into(),
            Failure::Closed(_) => "closed".into(),
            Failure::Status(s, _) => format!("HTTP {}", s.as_u16()),
            Failure::Unexpected(_) => "unexpected".into(),
        }
    }
}

/// The kind of an operation's error (see [`Failure::kind`]); `other` for
/// errors of the benchmark's own checks.
pub fn kind_of(e: &anyhow::Error) -> String {
    e.downcast_ref::<Failure>()
        .map_or_else(|| "other".into(), Failure::kind)
}

impl Conn {
    /// Connects to the server at `base`.
    pub async fn open(base: &Url) -> Result<Conn> {
        let host = base.host_str().context("URL has no host")?;
        let port = base.port_or_known_default().context("URL has no port")?;
        if base.scheme() != "http" {
            bail!("the load generator speaks plain http; run it on the server's machine");
        }
        let mut c = Conn {
            sender: None,
            addr: (host.to_owned(), port),
            host: match base.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_owned(),
            },
            token: None,
        };
        c.connect().await?;
        Ok(c)
    }

    async fn connect(&mut self) -> Result<(), Failure> {
        self.sender = None;
        let stream = tokio::net::TcpStream::connect((self.addr.0.as_str(), self.addr.1))
            .await
            .map_err(Failure::Connect)?;
        stream.set_nodelay(true).map_err(Failure::Connect)?;
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(Failure::Closed)?;
        tokio::spawn(conn);
        self.sender = Some(sender);
        Ok(())
    }

    /// A sender ready for a request: the open connection, or a new one when
    /// the server has closed it.
    async fn ready(
        &mut self,
    ) -> Result<
        &mut hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
        Failure,
    > {
        let usable = match self.sender.as_mut() {
            Some(s) if !s.is_closed() => s.ready().await.is_ok(),
            _ => false,
        };
        if !usable {
            self.connect().await?;
        }
        Ok(self.sender.as_mut().expect("connected"))
    }

    /// One request; the JSON answer, or a [`Failure`] (a non-2xx status
    /// among them).
    pub async fn call(
        &mut self,
        method: &str,
        path_and_query: &str,
        json: Option<String>,
    ) -> Result<serde_json::Value> {
        use http_body_util::BodyExt as _;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", &self.host);
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if json.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = http_body_util::Full::new(bytes::Bytes::from(json.unwrap_or_default()));
        let req = req.body(body)?;
        let sent = self.ready().await?.send_request(req).await;
        let res = match sent {
            Ok(res) => res,
            Err(e) => {
                self.sender = None;
                return Err(Failure::Closed(e).into());
            }
        };
        let status = res.status();
        let bytes = match res.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                self.sender = None;
                return Err(Failure::Closed(e).into());
            }
        };
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(Failure::Status(status, text.chars().take(200).collect()).into());
        }
        serde_json::from_slice(&bytes).map_err(|e| Failure::Unexpected(e.to_string()).into())
    }

    /// One complete SEP-10 login with a fresh key at `auth_path`: GET the
    /// challenge, sign it, POST it, receive the JWT.
    pub async fn login(
        &mut self,
        auth_path: &str,
        network: &mooring_stellar::Network,
    ) -> Result<String> {
        self.login_as(auth_path, network, &Keypair::random()).await
    }

    /// One complete SEP-10 login as `kp`.
    pub async fn login_as(
        &mut self,
        auth_path: &str,
        network: &mooring_stellar::Network,
        kp: &Keypair,
    ) -> Result<String> {
        let get = format!("{auth_path}?account={}", kp.public_key());
        let body = self.call("GET", &get, None).await?;
        let challenge = body["transaction"]
            .as_str()
            .context("no transaction in the challenge")?;
        let signed = mooring_stellar::sep10::sign_challenge(challenge, network, &[kp])?;
        let post = serde_json::json!({ "transaction": signed }).to_string();
        let res = self.call("POST", auth_path, Some(post)).await?;
        res["token"]
            .as_str()
            .map(str::to_owned)
            .context("no token in the answer")
    }
}
