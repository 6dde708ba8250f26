//! A throwaway PostgreSQL server of its own, which a fault test can stop
//! and start again without disturbing the server other tests share.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// A PostgreSQL server in a temporary folder, stopped on drop.
pub struct Postgres {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub url: String,
    bin: PathBuf,
    data: PathBuf,
    /// `runuser -u postgres --` when running as root, which PostgreSQL
    /// refuses.
    run_as: Vec<String>,
    /// The server's options (`pg_ctl -o`).
    options: String,
    log: String,
    _dir: tempfile::TempDir,
}

/// The newest installed PostgreSQL's `bin` folder (Debian's layout).
fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl Postgres {
    /// Makes and starts a fresh cluster on a free loopback port.
    pub fn start() -> Result<Postgres> {
        let bin = find_bin()
            .context("no PostgreSQL under /usr/lib/postgresql (Debian's postgresql package)")?;
        let dir = tempfile::Builder::new().prefix("mooring-pg-").tempdir()?;
        let run_as: Vec<String> = if is_root() {
            let owned = Command::new("chown")
                .args(["postgres"])
                .arg(dir.path())
                .status()?;
            if !owned.success() {
                bail!("cannot give {} to the postgres user", dir.path().display());
            }
            ["runuser", "-u", "postgres", "--"]
                .map(String::from)
                .to_vec()
        } else {
            vec![]
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let folder = dir.path().to_str().context("a UTF-8 temporary path")?;
        let pg = Postgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            data: dir.path().join("data"),
            run_as,
            options: format!(
                "-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
            ),
            log: format!("{folder}/log"),
            _dir: dir,
        };
        pg.run("initdb", &["-U", "postgres", "--auth=trust", "-E", "UTF8"])?;
        pg.start_again()?;
        Ok(pg)
    }

    /// Runs a PostgreSQL program on this cluster's data folder.
    fn run(&self, program: &str, args: &[&str]) -> Result<()> {
        let (first, rest) = match self.run_as.split_first() {
            Some((first, rest)) => (first.clone(), rest.to_vec()),
            None => (self.bin.join(program).display().to_string(), vec![]),
        };
        let mut command = Command::new(first);
        command.args(rest);
        if !self.run_as.is_empty() {
            command.arg(self.bin.join(program));
        }
        let out = command
            .arg("-D")
            .arg(&self.data)
            .args(args)
            .output()
            .with_context(|| format!("cannot run {program}"))?;
        if !out.status.success() {
            bail!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Stops the server (`-m fast`: sessions are ended, as on a restart
    /// for an upgrade).
    pub fn stop(&self) -> Result<()> {
        self.run("pg_ctl", &["-w", "-m", "fast", "stop"])
    }

    /// The server's process id (the postmaster; its backends are its
    /// children), while it runs.
    pub fn pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Starts it (again, after [`Postgres::stop`]).
    pub fn start_again(&self) -> Result<()> {
        let options = ["-w", "-l", &self.log, "-o", &self.options, "start"];
        self.run("pg_ctl", &options).map_err(|e| {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            e.context(format!("its log ends:\n{}", tail.join("\n")))
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-w", "-m", "immediate", "stop"]);
    }
}
