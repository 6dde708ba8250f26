//! `mooring send` as a child process, its lines read as they come.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::anchors::Anchors;
use crate::{DEADLINE, cli};

/// Stdout and stderr of a finished command.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `mooring send` running, its lines read as they come.
pub struct Sending {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    pub stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    until: Instant,
}

/// Reads `pipe` line by line into `all`, and to `tx` when given.
fn capture(
    pipe: impl std::io::Read + Send + 'static,
    all: Arc<Mutex<String>>,
    tx: Option<mpsc::UnboundedSender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            all.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(tx) = &tx {
                let _ = tx.send(line);
            }
        }
    });
}

impl Sending {
    pub fn start(a: &Anchors, extra: &[&str]) -> Sending {
        let mut child = Command::new(cli::BIN)
            .args(a.send_args(extra))
            .current_dir(a.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MOORING_WALLET_SECRET", a.secret())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mooring send starts");
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let (tx, lines) = mpsc::unbounded_channel();
        capture(child.stdout.take().unwrap(), Arc::clone(&stdout), Some(tx));
        capture(child.stderr.take().unwrap(), Arc::clone(&stderr), None);
        Sending {
            child,
            lines,
            stdout,
            stderr,
            until: Instant::now() + DEADLINE,
        }
    }

    /// What it printed so far, for failures.
    pub fn so_far(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// The next line (`what` names it in failures).
    pub async fn next(&mut self, what: &str) -> String {
        match tokio::time::timeout_at(self.until, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("mooring send ended before {what:?}\n{}", self.so_far()),
            Err(_) => panic!("no {what:?} in {DEADLINE:?}\n{}", self.so_far()),
        }
    }

    /// Waits for the next line, which must be `want` up to a ` (after Ns)`
    /// suffix (the time it took is not the test's business).
    pub async fn expect(&mut self, want: &str) -> String {
        let line = self.next(want).await;
        let bare = untimed(&line);
        assert_eq!(bare, want, "mooring send's next line\n{}", self.so_far());
        line
    }

    /// Waits for the next line, which must start with `prefix`; the line.
    pub async fn expect_start(&mut self, prefix: &str) -> String {
        let line = self.next(prefix).await;
        assert!(
            line.starts_with(prefix),
            "mooring send's next line is not {prefix:?}…\n{}",
            self.so_far()
        );
        line
    }

    /// Waits for it to end; its exit code.
    pub async fn exit_code(&mut self) -> Option<i32> {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < self.until,
                "mooring send did not end in {DEADLINE:?}\n{}",
                self.so_far()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `line` without the ` (after Ns)` of a status line.
fn untimed(line: &str) -> String {
    match (line.find(" (after "), line.starts_with("status ")) {
        (Some(at), true) => {
            let rest = &line[at + " (after ".len()..];
            let end = rest.find(')').map_or(rest.len(), |i| i + 1);
            format!("{}{}", &line[..at], &rest[end..])
        }
        _ => line.to_owned(),
    }
}
