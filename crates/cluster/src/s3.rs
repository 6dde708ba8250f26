//! An S3-compatible store on loopback: moto's server, from a Python
//! environment that has `moto[server]` (the tests' virtualenv).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, Result, bail};
use url::Url;

/// A running moto server with one bucket; stopped on drop.
pub struct S3Store {
    /// Its endpoint.
    pub endpoint: Url,
    /// The bucket made at start.
    pub bucket: String,
    child: Child,
}

impl S3Store {
    /// Starts `python -m moto.server` on a free port and makes `bucket`.
    pub async fn moto(python: &str, bucket: &str) -> Result<S3Store> {
        let mut child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {python} -m moto.server"))?;
        // It prints " * Running on http://127.0.0.1:<port>" once listening.
        let stderr = BufReader::new(child.stderr.take().expect("piped"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut lines = stderr.lines().map_while(Result::ok);
            let url = lines.by_ref().find_map(|l| {
                l.split_once("Running on ")
                    .map(|(_, u)| u.trim().to_owned())
            });
            let _ = tx.send(url);
            // Keep draining its log so that it never blocks on a full pipe.
            lines.for_each(drop);
        });
        let started = tokio::time::timeout(std::time::Duration::from_secs(60), rx).await;
        let Ok(Ok(Some(url))) = started else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("moto's server did not start (is moto[server] installed for {python}?)");
        };
        let store = S3Store {
            endpoint: Url::parse(&url)?,
            bucket: bucket.to_owned(),
            child,
        };
        let made = reqwest::Client::new()
            .put(store.endpoint.join(bucket)?)
            .send()
            .await?;
        if !made.status().is_success() {
            bail!("moto did not make the bucket: {}", made.status());
        }
        Ok(store)
    }

    /// The keys of every object in the bucket.
    pub async fn keys(&self) -> Result<Vec<String>> {
        let list = reqwest::Client::new()
            .get(
                self.endpoint
                    .join(&format!("{}?list-type=2", self.bucket))?,
            )
            .send()
            .await?
            .text()
            .await?;
        Ok(list
            .split("<Key>")
            .skip(1)
            .filter_map(|part| part.split("</Key>").next())
            .map(str::to_owned)
            .collect())
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
