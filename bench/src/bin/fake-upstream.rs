//! `fake-upstream`: the OpenAI-compatible upstream of `bench/chat.sh`. Serves unscripted
//! default replies (`"echo: …"`) forever, without recording requests.

use std::net::SocketAddr;
use std::process::ExitCode;

use aerie_bench::{FakeUpstream, Options};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "A fake OpenAI-compatible upstream for benchmarks (never part of the product)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9100")]
    listen: SocketAddr,
    /// Wait this long before every answer.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Split streamed answers into about this many pieces.
    #[arg(long, default_value_t = 8)]
    stream_chunks: usize,
    /// Pause between streamed pieces.
    #[arg(long, default_value_t = 0)]
    chunk_interval_ms: u64,
    /// Tokio worker threads (1 leaves the other core of a 2-core machine to Aerie).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fake-upstream: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let opts = Options {
            latency_ms: args.latency_ms,
            stream_chunks: args.stream_chunks,
            chunk_interval_ms: args.chunk_interval_ms,
        };
        let upstream = match FakeUpstream::start_on(args.listen, opts).await {
            Ok(upstream) => upstream,
            Err(e) => {
                eprintln!("fake-upstream: cannot listen on {}: {e}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        upstream.set_recording(false);
        println!("listening on {}", upstream.base_url());
        // Serve until interrupted (SIGTERM ends the process as usual).
        let _ = tokio::signal::ctrl_c().await;
        ExitCode::SUCCESS
    })
}
