//! The `asyncapex` command line, as a library: your own worker binary can call [`run`] to
//! expose the same commands.
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     asyncapex_cli::run(std::env::args_os())
//! }
//! ```

mod batch_errors;
#[cfg(feature = "bench")]
mod bench;
mod cron;
mod database;
mod demo;
mod error;
mod flex_queue;
mod jobs;
mod jobs_bulk;
mod json;
mod limits;
mod nodes;
mod output;
mod progress;
mod queues;
mod schedules;
mod serve;
mod table;

pub use error::CliError;

/// The code blocks of `docs/guide.md` (moved there from the README), compiled as doctests so
/// they cannot drift from the API. Here because this crate depends on the engine with every
/// store; the engine's own `ReadmeDoctests` could take them instead.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
pub struct GuideDoctests;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The database the commands use when neither `--database` nor `ASYNCAPEX_DATABASE_URL` names
/// one.
pub const DEFAULT_DATABASE: &str = "./asyncapex.db";

/// Salesforce Apex's asynchronous execution models, rebuilt in Rust.
#[derive(Debug, Parser)]
#[command(
    name = "asyncapex",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 done (also when the reader closes the pipe early), 1 the command \
                  could not be done (no database, unknown ID, a watched job that failed, a cron \
                  expression that never fires), 2 the command line is wrong."
)]
pub struct Cli {
    /// The store: a path to an SQLite file (or `sqlite://PATH`), or a `postgres://…` URL.
    #[arg(
        long,
        global = true,
        env = "ASYNCAPEX_DATABASE_URL",
        default_value = DEFAULT_DATABASE
    )]
    pub database: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and steer job records (Apex's "Apex Jobs" page).
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Run the demo on the database: a chain of queueables that ends in a future call, and a
    /// failing job whose finalizer retries it; prints each job's ID and final status.
    Demo(demo::DemoArgs),
    /// List and steer schedules (Apex's "Scheduled Jobs" page).
    #[command(subcommand)]
    Schedules(schedules::SchedulesCommand),
    /// The worker processes sharing this store (alive ones, and dead ones still holding jobs)
    /// with their running jobs.
    Nodes(nodes::NodesArgs),
    /// See and reorder holding batch jobs (Apex's "Apex Flex Queue").
    #[command(subcommand)]
    FlexQueue(flex_queue::FlexQueueCommand),
    /// Named queues (beyond Apex): depth, latency, running jobs; pause and resume them on
    /// every node; the busiest tenants.
    #[command(subcommand)]
    Queues(queues::QueuesCommand),
    /// Stored batch error events (Apex's BatchApexErrorEvent).
    #[command(subcommand)]
    BatchErrors(batch_errors::BatchErrorsCommand),
    /// Benchmark programs that print figures (built with the `bench` feature).
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Evaluate and explain cron expressions (no database).
    Cron(cron::CronArgs),
    /// Serve the dashboard, the JSON API and Prometheus metrics over the store (runs no jobs).
    Serve(serve::ServeArgs),
    /// Show the governor limits and the store's daily async execution count.
    Limits {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Parses `args` and runs the command; returns the process exit code: 0 when it did what
/// was asked (or its reader closed the pipe), 1 when it could not, 2 for a wrong command line
/// (see [`CliError`]).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASYNCAPEX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn execute(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Jobs(cmd) => jobs::run(&cli.database, cmd).await,
        Command::Demo(args) => demo::run(&cli.database, args).await,
        Command::Serve(args) => serve::run(&cli.database, args, false).await,
        Command::Limits { json } => limits::run(&cli.database, json).await,
        Command::Schedules(cmd) => schedules::run(&cli.database, cmd).await,
        Command::Cron(args) => cron::run(args.command),
        Command::FlexQueue(cmd) => flex_queue::run(&cli.database, cmd).await,
        Command::Queues(cmd) => queues::run(&cli.database, cmd).await,
        Command::Nodes(args) => nodes::run(&cli.database, args).await,
        Command::BatchErrors(cmd) => batch_errors::run(&cli.database, cmd).await,
        #[cfg(feature = "bench")]
        Command::Bench(cmd) => Ok(bench::run(&cli.database, cmd).await?),
    }
}
