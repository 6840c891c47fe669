//! `aerie`: one binary for the server, its database and its administration.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = aerie_server::cli::Cli::parse();
    aerie_server::cli::run(cli)
}
