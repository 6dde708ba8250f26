//! `mooring bench mixed`: logins, SEP-12 PUTs and GETs in turn for a long
//! run, reported window by window (p99 per kind, the server's RSS and CPU),
//! so that stalls (a purge, a checkpoint) and memory creep show.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use hdrhistogram::Histogram;
use mooring_client::sep10::WebAuth;

use super::kyc::ten_fields;
use super::{Conn, LoadArgs, cpu_secs, kind_of, parse_duration, proc_kib, server};

/// Options of `mooring bench mixed`.
#[derive(Args)]
pub struct MixedArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Length of one reporting window, e.g. 60s.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    window: Duration,
}

const KINDS: [&str; 3] = ["login", "put", "get"];

/// One window's latencies (µs) per kind, and its errors.
struct Window {
    hist: [Histogram<u64>; 3],
    errors: u64,
}

impl Window {
    fn new() -> Window {
        let h = || Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        Window {
            hist: [h(), h(), h()],
            errors: 0,
        }
    }
}

/// Runs the mixed benchmark.
pub async fn run(args: MixedArgs) -> Result<()> {
    let load = &args.load;
    if args.window.is_zero() {
        bail!("--window must be longer than zero");
    }
    let (own, base, pid) = server(load, &[]).await?;
    let web_auth = WebAuth::discover(reqwest::Client::new(), &base).await?;
    let auth_path = web_auth.endpoint().path().to_owned();
    let network = web_auth.network().clone();
    let customer = format!("{}customer", base.path());
    let windows = (load.duration.as_secs_f64() / args.window.as_secs_f64()).ceil() as usize;
    let stats: Arc<Mutex<Vec<Window>>> = Arc::new(Mutex::new(
        (0..windows.max(1)).map(|_| Window::new()).collect(),
    ));
    let start = Instant::now() + load.warmup;
    let end = start + load.duration;

    let mut tasks = Vec::new();
    for w in 0..load.concurrency {
        let mut c = Conn::open(&base).await?;
        c.token = Some(c.login(&auth_path, &network).await?);
        c.call("PUT", &customer, Some(ten_fields(w, 0)))
            .await
            .context("the first PUT /customer")?;
        let (stats, auth_path, network, customer) = (
            stats.clone(),
            auth_path.clone(),
            network.clone(),
            customer.clone(),
        );
        let get = format!("{customer}?type=sep31-sender");
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            let mut first_error = None;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let kind = (i % 3) as usize;
                let result = match kind {
                    0 => {
                        // The login is a new wallet's: no session token.
                        let token = c.token.take();
                        let r = c.login(&auth_path, &network).await.map(|_| ());
                        c.token = token;
                        r
                    }
                    1 => c
                        .call("PUT", &customer, Some(ten_fields(w, i)))
                        .await
                        .map(|_| ()),
                    _ => c.call("GET", &get, None).await.map(|_| ()),
                };
                i += 1;
                let Some(at) = t0.checked_duration_since(start) else {
                    continue;
                };
                let n = (at.as_secs_f64() / args.window.as_secs_f64()) as usize;
                let mut all = stats.lock().expect("not poisoned");
                let Some(win) = all.get_mut(n) else {
                    continue;
                };
                match result {
                    Ok(()) => {
                        let _ = win.hist[kind].record(t0.elapsed().as_micros() as u64);
                    }
                    Err(e) => {
                        win.errors += 1;
                        first_error.get_or_insert_with(|| format!("{}: {e}", kind_of(&e)));
                    }
                }
            }
            first_error
        }));
    }

    // One line a window, as each ends: the server's RSS and CPU beside.
    tokio::time::sleep_until(start.into()).await;
    let mut cpu_before = pid.and_then(cpu_secs);
    let mut worst_p99 = [0f64; 3];
    for n in 0..windows {
        let window_start = start + args.window * n as u32;
        let window_end = (window_start + args.window).min(end);
        tokio::time::sleep_until(window_end.into()).await;
        // Answers still arriving land in this window's histograms: wait a
        // moment so that its slowest are counted.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let cpu_now = pid.and_then(cpu_secs);
        let rss = pid.and_then(|p| proc_kib(p, "VmRSS:"));
        let win = std::mem::replace(&mut stats.lock().expect("not poisoned")[n], Window::new());
        // The last window may be shorter than the others.
        let secs = (window_end - window_start).as_secs_f64();
        let ops: u64 = win.hist.iter().map(Histogram::len).sum();
        let cpu_ms = match (cpu_before, cpu_now) {
            (Some(a), Some(b)) if ops > 0 => Some((b - a) * 1000.0 / ops as f64),
            _ => None,
        };
        cpu_before = cpu_now;
        let p99 = |k: usize| win.hist[k].value_at_quantile(0.99) as f64 / 1000.0;
        for (k, worst) in worst_p99.iter_mut().enumerate() {
            *worst = worst.max(p99(k));
        }
        let rss_mib = rss.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0);
        if load.json {
            let mut line = serde_json::json!({
                "benchmark": "mixed", "window": n + 1, "window_secs": secs,
                "errors": win.errors, "server_rss_mib": rss_mib,
                "server_cpu_ms_per_op": cpu_ms.map(|c| (c * 1000.0).round() / 1000.0),
            });
            for (k, name) in KINDS.iter().enumerate() {
                line[format!("{name}_per_sec")] = (win.hist[k].len() as f64 / secs).round().into();
                line[format!("{name}_p99_ms")] = p99(k).into();
            }
            println!("{line}");
        } else {
            let kinds: Vec<String> = KINDS
                .iter()
                .enumerate()
                .map(|(k, name)| {
                    format!(
                        "{name} {:.0}/s p99 {:.1} ms",
                        win.hist[k].len() as f64 / secs,
                        p99(k)
                    )
                })
                .collect();
            println!(
                "window {:>3}: {} | errors {} | RSS {} | CPU {}",
                n + 1,
                kinds.join(", "),
                win.errors,
                rss_mib.map_or("?".into(), |m| format!("{m:.1} MiB")),
                cpu_ms.map_or("?".into(), |c| format!("{c:.3} ms/op")),
            );
        }
    }
    for t in tasks {
        if let Some(e) = t.await? {
            eprintln!("first error: {e}");
        }
    }
    let end_rss = pid.and_then(|p| proc_kib(p, "VmRSS:"));
    if !load.json {
        println!(
            "worst window p99: login {:.1} ms, put {:.1} ms, get {:.1} ms; server RSS at the end {}",
            worst_p99[0],
            worst_p99[1],
            worst_p99[2],
            end_rss.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        );
    }
    drop(own);
    Ok(())
}
