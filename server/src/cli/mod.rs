//! The command line. `aerie` alone runs `aerie serve`.

mod admin;
mod audit;
mod billing;
mod dev;
mod jobs;
mod keys;
mod migrate;
mod serve;
mod tenants;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use aerie_backend::config::Config;

use crate::startup::StartupError;

/// Aerie: a self-hosted, multi-tenant AI agent platform in one binary.
///
/// With no configuration, `aerie` keeps everything in ./data (SQLite database, vector store,
/// generated secrets) and serves the web dashboard and APIs on http://127.0.0.1:3000.
/// Settings come from an optional TOML file and AERIE_* environment variables; see the README's
/// configuration reference.
#[derive(Debug, Parser)]
#[command(
    name = "aerie",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (default: <data dir>/aerie.toml when it exists) [env: AERIE_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder for the database, vectors and secrets (default: ./data) [env: AERIE_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: web dashboard and APIs (the default command).
    Serve(ListenArgs),
    /// Run the server for local development: loopback only, authentication OFF.
    Dev(ListenArgs),
    /// Apply pending database migrations, or list them with --status.
    Migrate {
        /// Only list applied and pending migrations; change nothing.
        #[arg(long)]
        status: bool,
    },
    /// Administer the instance.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// List and cancel background jobs (every organisation's).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// List, create and change plans (credits, limits, features).
    #[command(subcommand)]
    Plans(PlansCommand),
    /// List and set model prices (credits per million tokens).
    #[command(subcommand)]
    Prices(PricesCommand),
    /// The instance operator's organisations: list, create, suspend, resume, delete, plan.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Grant or revoke the instance operator's role.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Approve or reject the email domains organisations claim for single sign-on.
    #[command(subcommand)]
    Domains(DomainsCommand),
    /// Show, apply or remove the instance's licence.
    #[command(subcommand)]
    License(LicenseCommand),
    /// Check the audit trail's hash chains.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Args, Default)]
pub struct ListenArgs {
    /// Address to listen on, e.g. 127.0.0.1:3000 or 0.0.0.0:8080 [env: AERIE_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the first organisation and its owner (an admin account).
    Create {
        /// Email address of the admin.
        #[arg(long)]
        email: String,
        /// Display name of the admin.
        #[arg(long)]
        name: Option<String>,
        /// Name of the organisation to create.
        #[arg(long)]
        org: Option<String>,
        /// Read the password from the first line of standard input (otherwise a strong one is
        /// generated and printed once).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key for a user; the secret is printed once.
    Create {
        /// Email of the user the key acts as.
        #[arg(long)]
        user: String,
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// Expiry, e.g. 2027-01-31 or 30d.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List API keys (prefix, name, dates; never the secret).
    List {
        /// Only the keys of this user.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke an API key by id, prefix or the key itself; it stops working at once.
    Revoke {
        /// Key id or prefix.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The most recent jobs, newest first.
    List {
        /// Only jobs in this status (queued, running, cancelling, succeeded, failed, cancelled).
        #[arg(long)]
        status: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Cancel a job: a queued one at once, a running one at its runner's next heartbeat.
    Cancel {
        /// The job's id.
        id: String,
    },
}

/// A limit: a number, or `unlimited`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub Option<i64>);

impl std::str::FromStr for Limit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("unlimited") {
            return Ok(Limit(None));
        }
        match s.replace('_', "").parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Limit(Some(n))),
            _ => Err(format!(
                "`{s}` is not a number of zero or more, nor `unlimited`"
            )),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PlansCommand {
    /// Every plan.
    List,
    /// Create a plan, or change the given fields of an existing one.
    Set {
        /// The plan's slug (lower-case letters, digits, dashes).
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// What it costs, as customers read it (e.g. "$20 per user per month").
        #[arg(long)]
        price_label: Option<String>,
        /// Credits per month, or `unlimited`.
        #[arg(long)]
        credits: Option<Limit>,
        /// Tokens per user per month, or `unlimited`.
        #[arg(long)]
        tokens_per_user: Option<Limit>,
        /// Requests per minute per key and per user, or `unlimited`.
        #[arg(long)]
        requests_per_minute: Option<Limit>,
        /// Tokens per minute per key and per user, or `unlimited`.
        #[arg(long)]
        tokens_per_minute: Option<Limit>,
        /// Feature flags, comma-separated.
        #[arg(long)]
        features: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Every model price (`*` prices the models without one).
    List,
    /// Set a model's price in credits per million tokens.
    Set {
        /// The model name as providers call it, or `*` for every model without a price.
        model: String,
        /// Credits per million input (prompt) tokens.
        #[arg(long)]
        input: i64,
        /// Credits per million output (generated) tokens.
        #[arg(long)]
        output: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// List every organisation with its plan, status and members.
    List,
    /// Create an organisation and print the invitation link for its first owner.
    Create {
        /// The organisation's name (its address is made from it).
        name: String,
        /// The email of its first owner (a new account).
        #[arg(long)]
        owner: String,
        /// A plan's slug (`aerie plans list`); the default plan when absent.
        #[arg(long)]
        plan: Option<String>,
    },
    /// Suspend an organisation: its keys, sessions and chats stop at once.
    Suspend {
        /// The organisation's slug.
        org: String,
    },
    /// Resume a suspended organisation.
    Resume {
        /// The organisation's slug.
        org: String,
    },
    /// Delete a suspended organisation and everything it holds.
    Delete {
        /// The organisation's slug.
        org: String,
        /// Confirms the deletion: the organisation's slug again.
        #[arg(long)]
        confirm: String,
    },
    /// Move an organisation to a plan (a running server applies it within 10 seconds).
    Plan {
        /// The organisation's slug.
        org: String,
        /// The plan's slug.
        plan: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Make the person with this email an instance operator.
    Grant { email: String },
    /// Take the instance operator's role from the person with this email.
    Revoke { email: String },
}

#[derive(Debug, Subcommand)]
pub enum DomainsCommand {
    /// List the organisations' claims to email domains (pending ones with --pending).
    List {
        #[arg(long)]
        pending: bool,
    },
    /// Approve a claim: the domain then routes, provisions and links through its organisation.
    Approve { domain: String },
    /// Reject a claim: the domain routes nobody to its organisation.
    Reject { domain: String },
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// The tier in force, its features and limits, and the licence behind them.
    Status,
    /// Apply a licence: the key itself (`eyJ…`) or the path of a file holding it.
    Apply { license: String },
    /// Remove the licence: back to Community.
    Remove,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk every organisation's chain: name each event that was changed or removed (exit
    /// code 1 when any was).
    Verify,
}

/// Exit code for commands whose domain has not landed yet (sysexits' EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: u8 = 69;

/// Runs the parsed command and turns any failure into one line on stderr and a non-zero code.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(dispatch(cli));
    // Do not wait for detached blocking tasks at exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(StartupError::Unavailable(what)) => {
            eprintln!("aerie: {what}");
            ExitCode::from(EXIT_UNAVAILABLE)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<(), StartupError> {
    let command = cli.command.unwrap_or(Command::Serve(ListenArgs::default()));
    let load = |listen: Option<SocketAddr>| -> Result<Config, StartupError> {
        let mut config = Config::load(cli.global.config.as_deref())?;
        if let Some(dir) = &cli.global.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(listen) = listen {
            config.listen = listen;
        }
        Ok(config)
    };
    match command {
        Command::Serve(args) => serve::run(load(args.listen)?).await,
        Command::Dev(args) => dev::run(load(args.listen)?).await,
        Command::Migrate { status } => migrate::run(load(None)?, status).await,
        Command::Admin(cmd) => admin::run(load(None)?, cmd).await,
        Command::Keys(cmd) => keys::run(load(None)?, cmd).await,
        Command::Jobs(cmd) => jobs::run(load(None)?, cmd).await,
        Command::Plans(cmd) => billing::plans(load(None)?, cmd).await,
        Command::Prices(cmd) => billing::prices(load(None)?, cmd).await,
        Command::Org(cmd) => tenants::org(load(None)?, cmd).await,
        Command::Operator(cmd) => tenants::operator(load(None)?, cmd).await,
        Command::Domains(cmd) => tenants::domains(load(None)?, cmd).await,
        Command::License(cmd) => tenants::license(load(None)?, cmd).await,
        Command::Audit(cmd) => audit::run(load(None)?, cmd).await,
    }
}
