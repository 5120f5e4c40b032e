//! `asyncapex serve`: the dashboard, JSON API and metrics over the store, on an engine that
//! runs no jobs and fires no schedules (the workers do that).

use std::net::SocketAddr;
use std::sync::Arc;

use asyncapex::Engine;
use asyncapex::unstable::store::Store;
use asyncapex_web::{Auth, WebState};
use clap::Args;

use crate::database::open_existing;
use crate::error::CliError;
use crate::output::outln;

/// Where to serve and with which token.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on; a non-loopback address needs --token.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub addr: SocketAddr,
    /// The token that actions (POST/DELETE) require; generated and printed when absent.
    #[arg(long, env = "ASYNCAPEX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Every page and API read needs the token too (payloads often hold customer data); the
    /// pages ask the browser to sign in first.
    #[arg(long, env = "ASYNCAPEX_PROTECT_READS")]
    pub protect_reads: bool,
}

/// Serves the store at `database` until Ctrl-C. `print_token` prints even a configured token
/// (the demo does, so the operator can sign in).
pub(crate) async fn run(
    database: &str,
    args: ServeArgs,
    print_token: bool,
) -> Result<(), CliError> {
    let mut auth = Auth::from_option(args.token).map_err(|e| e.to_string())?;
    if args.protect_reads {
        auth = auth.protect_reads();
    }
    asyncapex_web::check_bind(args.addr, &auth).map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> = open_existing(database).await?;
    let engine = Engine::builder()
        .store(store)
        .concurrency(0)
        .scheduler(false)
        .start()
        .await
        .map_err(|e| format!("cannot start the engine: {e}"))?;
    let generated = !auth.is_configured();
    let token = auth.token().to_owned();
    let state = WebState::new(engine.clone(), auth);
    let listener = asyncapex_web::bind(args.addr, &state)
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    outln!("asyncapex dashboard on http://{addr}/ (API: /api, metrics: /metrics)")?;
    if generated {
        outln!("token: {token}")?;
        outln!("  (generated for this run; choose one with --token or ASYNCAPEX_TOKEN)")?;
    } else if print_token {
        outln!("token: {token}")?;
    } else {
        outln!("token: as given with --token / ASYNCAPEX_TOKEN")?;
    }
    outln!("Press Ctrl-C to stop.")?;
    let served = asyncapex_web::serve_listener(listener, state).await;
    let _ = engine.shutdown(std::time::Duration::from_secs(5)).await;
    served.map_err(|e| CliError::Failed(e.to_string()))
}
