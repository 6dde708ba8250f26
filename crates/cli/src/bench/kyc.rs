//! `mooring bench kyc` and `mooring bench upload`: SEP-12 throughput, and
//! the server's memory across one large document upload.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use futures::FutureExt as _;
use mooring_client::sep10::WebAuth;
use reqwest::Url;

use super::{Conn, LoadArgs, Op, measure, proc_kib, report, server};

/// Options of `mooring bench kyc`.
#[derive(Args)]
pub struct KycArgs {
    #[command(flatten)]
    load: LoadArgs,
}

const COUNTRIES: [&str; 4] = ["USA", "BRA", "DEU", "KEN"];

/// Ten SEP-9 text fields, nine of them different from one iteration to the
/// next (the name stays the worker's), so that every PUT rewrites them.
pub(super) fn ten_fields(worker: usize, i: u64) -> String {
    serde_json::json!({
        "type": "sep31-sender",
        "first_name": format!("Ann{worker}"),
        "last_name": format!("Lee{i}"),
        "email_address": format!("ann{worker}.{i}@example.com"),
        "mobile_number": format!("+1415{:07}", i % 10_000_000),
        "birth_date": format!("19{:02}-0{}-{:02}", 50 + i % 50, 1 + i % 9, 1 + i % 28),
        "address": format!("{i} Main Street\nSpringfield"),
        "city": format!("Springfield {}", i % 97),
        "postal_code": format!("{:05}", i % 100_000),
        "address_country_code": COUNTRIES[(i % 4) as usize],
        "occupation": format!("{}", 1000 + i % 9000),
    })
    .to_string()
}

/// Logs each worker in with its own fresh account.
async fn logged_in(base: &Url, n: usize) -> Result<(Arc<WebAuth>, Vec<(usize, Conn)>)> {
    let http = reqwest::Client::new();
    let web_auth = Arc::new(WebAuth::discover(http, base).await?);
    let path = web_auth.endpoint().path().to_owned();
    let mut workers = Vec::with_capacity(n);
    for w in 0..n {
        let mut c = Conn::open(base).await?;
        let token = c.login(&path, web_auth.network()).await?;
        c.token = Some(token);
        workers.push((w, c));
    }
    Ok((web_auth, workers))
}

/// Runs the SEP-12 benchmark: a PUT phase, then a GET phase.
pub async fn run(args: KycArgs) -> Result<()> {
    let load = &args.load;
    let (own, base, pid) = server(load, &[]).await?;
    let (_, workers) = logged_in(&base, load.concurrency).await?;
    let customer_path = format!("{}customer", base.path());
    let put_path = customer_path.clone();
    let put: Op<(usize, Conn)> = Arc::new(move |(w, mut c), i| {
        let path = put_path.clone();
        async move {
            let r = c
                .call("PUT", &path, Some(ten_fields(w, i)))
                .await
                .map(|_| ());
            ((w, c), r)
        }
        .boxed()
    });
    let puts = measure(workers, load.warmup, load.duration, pid, put).await?;
    report(
        "sep12-put",
        "SEP-12 PUT /customer, ten SEP-9 fields",
        load.concurrency,
        &puts,
        pid.and_then(|p| proc_kib(p, "VmHWM:")),
        load.json,
    )?;

    let (_, workers) = logged_in(&base, load.concurrency).await?;
    let get_path = format!("{customer_path}?type=sep31-sender");
    // Each worker reads its own customer: create it first.
    let mut ready = Vec::with_capacity(workers.len());
    for (w, mut c) in workers {
        c.call("PUT", &customer_path, Some(ten_fields(w, 0)))
            .await?;
        ready.push((w, c));
    }
    let get: Op<(usize, Conn)> = Arc::new(move |(w, mut c), _| {
        let path = get_path.clone();
        async move {
            let r = c.call("GET", &path, None).await.and_then(|v| {
                if v["id"].is_string() {
                    Ok(())
                } else {
                    bail!("no customer in {v}")
                }
            });
            ((w, c), r)
        }
        .boxed()
    });
    let gets = measure(ready, load.warmup, load.duration, pid, get).await?;
    let rss = pid.and_then(|p| proc_kib(p, "VmHWM:"));
    drop(own);
    report(
        "sep12-get",
        "SEP-12 GET /customer",
        load.concurrency,
        &gets,
        rss,
        load.json,
    )
}

/// Options of `mooring bench upload`.
#[derive(Args)]
pub struct UploadArgs {
    /// Base URL of a running server (with `--server-pid`); without it one
    /// is started, allowing uploads of `--size`.
    #[arg(long)]
    url: Option<Url>,
    /// PID of the server at `--url`.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Document size in MiB.
    #[arg(long, default_value_t = 50)]
    size_mib: u64,
}

/// Uploads one large document (streamed, never held whole by the client)
/// and reports the server's resident memory before and its peak after.
pub async fn upload(args: UploadArgs) -> Result<()> {
    let limit = ((args.size_mib + 1) * 1024 * 1024).to_string();
    let load = LoadArgs {
        url: args.url.clone(),
        concurrency: 1,
        duration: std::time::Duration::ZERO,
        warmup: std::time::Duration::ZERO,
        server_pid: args.server_pid,
        json: false,
        wrap: None,
    };
    let env = [
        ("MOORING_SEP12__MAX_FILE_BYTES", limit.as_str()),
        ("MOORING_SEP12__MAX_REQUEST_BYTES", limit.as_str()),
    ];
    let (own, base, pid) = server(&load, &env).await?;
    let pid = pid.context("pass --server-pid with --url: memory is read from /proc")?;
    let (_, mut workers) = logged_in(&base, 1).await?;
    let token = workers.remove(0).1.token.expect("logged in");
    // A small warm-up request, so the baseline is a server that has served.
    let http = reqwest::Client::new();
    http.put(base.join("customer")?)
        .bearer_auth(&token)
        .json(&serde_json::json!({"first_name": "Big"}))
        .send()
        .await?;
    // Reset the peak to the current size where the kernel allows it
    // (Linux: "5" to clear_refs), so the peak after is the upload's.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let before = proc_kib(pid, "VmRSS:").context("cannot read the server's memory")?;

    let size = args.size_mib * 1024 * 1024;
    let chunk = 256 * 1024;
    let head = bytes::Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let chunks = (0..size.div_ceil(chunk)).map(move |n| {
        let len = chunk.min(size - n * chunk) as usize;
        let mut b = vec![(n % 251) as u8; len];
        if n == 0 {
            b[..4].copy_from_slice(&head);
        }
        Ok::<_, std::io::Error>(b)
    });
    let part = reqwest::multipart::Part::stream_with_length(
        reqwest::Body::wrap_stream(futures::stream::iter(chunks)),
        size,
    )
    .file_name("big.jpg")
    .mime_str("image/jpeg")?;
    let form = reqwest::multipart::Form::new().part("photo_id_front", part);
    let t0 = Instant::now();
    let res = http
        .put(base.join("customer")?)
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await?;
    let status = res.status();
    let secs = t0.elapsed().as_secs_f64();
    let peak = proc_kib(pid, "VmHWM:").unwrap_or(0);
    drop(own);
    if !status.is_success() {
        bail!(
            "upload answered {status}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    let growth = peak.saturating_sub(before);
    println!(
        "SEP-12 upload of one {} MiB document (multipart PUT /customer)",
        args.size_mib
    );
    println!(
        "  time              {secs:.2} s ({:.0} MiB/s)",
        args.size_mib as f64 / secs
    );
    println!("  server RSS before {:.1} MiB", before as f64 / 1024.0);
    println!("  server peak RSS   {:.1} MiB", peak as f64 / 1024.0);
    println!("  growth            {:.1} MiB", growth as f64 / 1024.0);
    Ok(())
}
