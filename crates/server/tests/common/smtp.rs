//! A small SMTP server on loopback (RFC 5321: EHLO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT) that keeps what it receives, for tests to read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A received message: its recipients and its text (headers and body).
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The body as a mail client shows it: after the headers, with a
    /// quoted-printable transfer encoding (RFC 2045 §6.7) undone.
    pub fn body(&self) -> String {
        let (headers, body) = self.data.split_once("\n\n").unwrap_or(("", &self.data));
        if !headers
            .to_ascii_lowercase()
            .contains("content-transfer-encoding: quoted-printable")
        {
            return body.to_owned();
        }
        let joined = body.replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && let Some(hex) = joined.get(i + 1..i + 3)
                && let Ok(b) = u8::from_str_radix(hex, 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The server; mail arrives in `inbox`.
#[derive(Clone)]
pub struct SmtpServer {
    pub url: String,
    pub inbox: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let kept = inbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = kept.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 localhost ESMTP test\r\n").await;
                    let mut to = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                            "HELO" | "MAIL" | "NOOP" => b"250 OK\r\n",
                            "RSET" => {
                                to.clear();
                                b"250 OK\r\n"
                            }
                            "RCPT" => {
                                let addr = line
                                    .split_once('<')
                                    .and_then(|(_, r)| r.split_once('>'))
                                    .map(|(a, _)| a.to_owned())
                                    .unwrap_or_default();
                                to.push(addr);
                                b"250 OK\r\n"
                            }
                            "DATA" => {
                                let _ = write.write_all(b"354 go ahead\r\n").await;
                                let mut data = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    // RFC 5321 §4.5.2: a leading dot is doubled.
                                    data.push_str(
                                        l.strip_prefix('.')
                                            .filter(|_| l.starts_with(".."))
                                            .unwrap_or(&l),
                                    );
                                    data.push('\n');
                                }
                                inbox.lock().unwrap().push(Mail {
                                    to: std::mem::take(&mut to),
                                    data,
                                });
                                b"250 OK queued\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"502 command not implemented\r\n",
                        };
                        if write.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpServer { url, inbox }
    }

    /// Waits for the `n`th message (0-based) to arrive.
    pub async fn mail(&self, n: usize) -> Mail {
        for _ in 0..200 {
            if let Some(m) = self.inbox.lock().unwrap().get(n) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no mail #{n} arrived");
    }

    /// How many messages arrived.
    pub fn count(&self) -> usize {
        self.inbox.lock().unwrap().len()
    }
}

/// The first run of six digits in `text`: a sign-in code.
pub fn code_in(text: &str) -> String {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5))
        .find(|&i| {
            b[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i == 0 || !b[i - 1].is_ascii_digit())
                && b.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
        })
        .map(|i| text[i..i + 6].to_owned())
        .expect("a six-digit code")
}
