//! The load client of `benches/realtime/subscriptions.py`: opens N subscriptions to one
//! gateway (GraphQL over SSE, one connection each; or `graphql-transport-ws`, several per
//! connection), waits until all hold a warm-up event, reads the gateway's memory idle, then
//! triggers events by posting `addReview` to the reviews service and records, per event and
//! subscriber, the time from the post to the subscriber holding the event. Prints one JSON
//! line: memory per idle subscription and the latency percentiles (docs/realtime.md).
//!
//! Written in Rust so that the client is not what is measured: each subscriber is a task that
//! reads its socket and scans for the event's name, timestamping it on arrival.

mod arrivals;
mod sse;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use arrivals::{Arrivals, Event, MAX_WARM_UPS};

const QUERY: &str = r#"subscription { reviewAdded(upc: "1") { id body rating } }"#;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    Sse,
    Ws,
}

#[derive(Parser)]
#[command(about = "Opens N subscriptions to a gateway and times the fan-out of events")]
struct Args {
    /// The gateway, host:port.
    #[arg(long)]
    gateway: String,
    /// The reviews service, host:port (events are triggered by `addReview` posted there).
    #[arg(long)]
    reviews: String,
    /// The gateway's process id, to read its resident memory (VmRSS) before and idle.
    #[arg(long)]
    gateway_pid: Option<u32>,
    #[arg(long, value_enum, default_value = "sse")]
    transport: Transport,
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Subscriptions per WebSocket connection (`--transport ws`).
    #[arg(long, default_value_t = 1)]
    per_connection: usize,
    #[arg(long, default_value_t = 50)]
    samples: usize,
    /// Pause between two events.
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
    /// Connections opened at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
}

fn main() {
    let args = Args::parse();
    raise_open_files(args.subscribers + 1024);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(run(args)) {
        Ok(line) => println!("{line}"),
        Err(error) => {
            eprintln!("realtime-client: {error}");
            std::process::exit(1);
        }
    }
    // The subscriber tasks are still reading: leave without waiting for them.
    runtime.shutdown_background();
}

async fn run(args: Args) -> Result<serde_json::Value, String> {
    let n = args.subscribers;
    let arrivals = Arc::new(Arrivals::new(n, args.samples));
    let before = args.gateway_pid.map(rss_kib).transpose()?;
    let body = serde_json::json!({ "query": QUERY }).to_string();
    let per_connection = match args.transport {
        Transport::Sse => 1,
        Transport::Ws => args.per_connection.max(1),
    };
    let connections = n.div_ceil(per_connection);
    let opened: Vec<Result<(), String>> = futures::stream::iter(0..connections)
        .map(|c| {
            let arrivals = arrivals.clone();
            let (gateway, body) = (&args.gateway, &body);
            async move {
                match args.transport {
                    Transport::Sse => sse::open(gateway, body, c, arrivals).await,
                    Transport::Ws => {
                        let first = c * per_connection;
                        let here = per_connection.min(n - first);
                        ws::open(gateway, QUERY, first, here, arrivals).await
                    }
                }
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    if let Some(error) = opened.into_iter().find_map(Result::err) {
        return Err(error);
    }
    // Every subscription is open upstream once a warm-up event reaches all of them.
    let mut warm = false;
    for attempt in 0..MAX_WARM_UPS {
        let event = Event::WarmUp(attempt);
        trigger(&args.reviews, event).await?;
        if wait_for(&arrivals, event, n, Duration::from_secs(2)).await {
            warm = true;
            break;
        }
    }
    if !warm {
        return Err(format!(
            "{n} subscribers never all received a warm-up event"
        ));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = args.gateway_pid.map(rss_kib).transpose()?;
    let cpu_before = args.gateway_pid.map(cpu_seconds).transpose()?;
    let (mut first, mut every, mut each, mut missed) = (vec![], vec![], vec![], 0);
    for sample in 0..args.samples {
        let event = Event::Sample(sample);
        let sent = arrivals.now();
        trigger(&args.reviews, event).await?;
        if !wait_for(&arrivals, event, n, Duration::from_secs(10)).await {
            missed += 1;
        }
        let delays: Vec<f64> = arrivals
            .delays(sample, sent)
            .into_iter()
            .flatten()
            .collect();
        if delays.len() == n {
            first.push(delays.iter().copied().fold(f64::INFINITY, f64::min));
            every.push(delays.iter().copied().fold(0.0, f64::max));
        }
        each.extend(delays);
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    let cpu_after = args.gateway_pid.map(cpu_seconds).transpose()?;
    let per_subscription = match (before, idle) {
        (Some(b), Some(i)) => {
            serde_json::json!(((i as f64 - b as f64) / n as f64 * 100.0).round() / 100.0)
        }
        _ => serde_json::Value::Null,
    };
    let gateway_cpu_ms_per_event = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) if args.samples > 0 => {
            serde_json::json!(((a - b) * 1000.0 / args.samples as f64 * 100.0).round() / 100.0)
        }
        _ => serde_json::Value::Null,
    };
    Ok(serde_json::json!({
        "client": "rust",
        "transport": match args.transport { Transport::Sse => "sse", Transport::Ws => "ws" },
        "subscribers": n,
        "per_connection": per_connection,
        "connections": connections,
        "samples": first.len(),
        "missed": missed,
        "gateway_rss_before_kib": before,
        "gateway_rss_idle_kib": idle,
        "kib_per_idle_subscription": per_subscription,
        "event_to_first_subscriber": percentiles(&mut first),
        "event_to_every_subscriber": percentiles(&mut every),
        "event_to_each_subscriber": percentiles(&mut each),
        "gateway_cpu_ms_per_event": gateway_cpu_ms_per_event,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    }))
}

/// Posts `addReview` with `event`'s body to the reviews service; returns once answered.
async fn trigger(reviews: &str, event: Event) -> Result<(), String> {
    let query = format!(
        r#"mutation {{ addReview(productUpc: "1", authorId: "1", body: "{}", rating: 5) {{ id }} }}"#,
        event.body()
    );
    let body = serde_json::json!({ "query": query }).to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {reviews}\r\nContent-Type: application/json\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(reviews)
        .await
        .map_err(|e| format!("reviews: {e}"))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("reviews: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("reviews: {e}"))?;
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "addReview failed: {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    Ok(())
}

async fn wait_for(arrivals: &Arrivals, event: Event, n: usize, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if arrivals.holding(event) >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    false
}

/// p50, p95, p99 and max, in milliseconds, of durations in seconds.
fn percentiles(values: &mut [f64]) -> serde_json::Value {
    if values.is_empty() {
        return serde_json::json!({});
    }
    values.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        let v = values[((q * values.len() as f64) as usize).min(values.len() - 1)];
        (v * 1e5).round() / 100.0
    };
    serde_json::json!({
        "p50_ms": pick(0.50),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "max_ms": pick(1.0),
    })
}

fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no VmRSS for {pid}"))
}

/// User + system CPU time of a process, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz.max(1.0))
}

fn raise_open_files(needed: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid pointer to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
            && (limit.rlim_cur as usize) < needed
        {
            limit.rlim_cur = (needed as libc::rlim_t).min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
