//! The asyncapex operator dashboard: Salesforce-Setup-style pages (Apex Jobs, job detail,
//! Scheduled Jobs, Apex Flex Queue, an overview), a JSON API with an OpenAPI document at
//! `/api/openapi.json`, and Prometheus metrics at `/metrics`.
//!
//! It works over any store, through an [`Engine`]: usually one that runs no jobs itself
//! (`.concurrency(0).scheduler(false)`), next to the workers.
//!
//! ```no_run
//! use asyncapex::Engine;
//! use asyncapex_web::{Auth, WebState};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::builder()
//!     .sqlite("asyncapex.db")
//!     .concurrency(0)
//!     .scheduler(false)
//!     .start()
//!     .await?;
//! let auth = Auth::new(std::env::var("ASYNCAPEX_TOKEN")?)?;
//! let state = WebState::new(engine, auth);
//! // Serve it alone…
//! // asyncapex_web::serve("127.0.0.1:7070".parse()?, state).await?;
//! // …or mount it in your own axum app (give the prefix so links stay right):
//! let app = axum::Router::new().nest("/ops", asyncapex_web::router(state.base_path("/ops")));
//! # let _ = app; Ok(()) }
//! ```
//!
//! Security: see [`auth`]. Every change needs the token; pages escape all job data (maud
//! escapes by default) and are served with a strict Content-Security-Policy.

use std::net::SocketAddr;
use std::sync::Arc;

use asyncapex::Engine;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub mod api;
pub mod auth;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod views;

pub use auth::Auth;
pub use error::WebError;

/// What every handler shares: the engine, the token, and where the router is mounted.
#[derive(Clone, Debug)]
pub struct WebState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    engine: Engine,
    auth: Auth,
    base: String,
}

impl WebState {
    /// The dashboard over `engine`, guarded by `auth`.
    pub fn new(engine: Engine, auth: Auth) -> WebState {
        WebState {
            inner: Arc::new(Inner {
                engine,
                auth,
                base: String::new(),
            }),
        }
    }

    /// The path prefix the router is nested under in your app (e.g. `/ops`), so the pages'
    /// links and the session cookie use it. Default: none.
    pub fn base_path(self, base: &str) -> WebState {
        let base = base.trim_end_matches('/').to_owned();
        WebState {
            inner: Arc::new(Inner {
                engine: self.inner.engine.clone(),
                auth: self.inner.auth.clone(),
                base,
            }),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The token.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// A local path (`/jobs`) as a link under the mount prefix.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base)
    }

    fn cookie_path(&self) -> &str {
        if self.inner.base.is_empty() {
            "/"
        } else {
            &self.inner.base
        }
    }
}

/// Every page, the JSON API, `/metrics` and `/api/openapi.json`, with the token check on
/// changes and security headers on every response.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(pages::overview::page))
        .route("/jobs", get(pages::jobs::list))
        .route("/jobs/{id}", get(pages::jobs::detail))
        .route("/jobs/{id}/abort", post(pages::jobs::abort))
        .route("/jobs/{id}/retry", post(pages::jobs::retry))
        .route("/jobs/{id}/delete", post(pages::jobs::delete))
        .route("/jobs/bulk", post(pages::jobs::bulk))
        .route("/schedules", get(pages::schedules::list))
        .route("/schedules/{id}", get(pages::schedules::detail))
        .route("/schedules/{id}/pause", post(pages::schedules::pause))
        .route("/schedules/{id}/resume", post(pages::schedules::resume))
        .route("/schedules/{id}/delete", post(pages::schedules::delete))
        .route("/flex-queue", get(pages::flex_queue::page))
        .route("/queues", get(pages::queues::page))
        .route("/queues/{name}/pause", post(pages::queues::pause))
        .route("/queues/{name}/resume", post(pages::queues::resume))
        .route(
            "/flex-queue/{id}/move",
            post(pages::flex_queue::move_job_form),
        )
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/static/style.css", get(pages::style_css))
        .route("/static/app.js", get(pages::app_js))
        .route("/static/favicon.svg", get(pages::favicon))
        .route("/favicon.ico", get(pages::favicon))
        .route("/metrics", get(metrics::handler))
        .route("/api/openapi.json", get(openapi::handler))
        .merge(api::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// An unknown path: JSON under `/api/` (a client reads the error code), an error page with a
/// way back anywhere else (a browser followed a stale link).
async fn not_found(ctx: pages::Ctx, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let error = WebError::NotFound(path.to_owned());
    if path == "/api" || path.starts_with("/api/") {
        error.into_response()
    } else {
        ctx.error_page(&error)
    }
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A non-loopback address without an operator-chosen token.
    #[error(
        "refusing to serve on {addr}, which is not a loopback address, without a configured token: pass --token or set ASYNCAPEX_TOKEN (or serve on 127.0.0.1)"
    )]
    NonLoopbackWithoutToken {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The token is unusable.
    #[error("{0}")]
    BadToken(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// Refuses a non-loopback address unless the token was configured by the operator (a
/// generated token printed to a terminal is fine for a laptop, not for a network).
///
/// # Errors
/// [`StartError::NonLoopbackWithoutToken`].
pub fn check_bind(addr: SocketAddr, auth: &Auth) -> Result<(), StartError> {
    if !addr.ip().is_loopback() && !auth.is_configured() {
        return Err(StartError::NonLoopbackWithoutToken { addr });
    }
    Ok(())
}

/// Binds `addr` (after [`check_bind`]) and returns the listener, so callers can print the
/// real address (port 0 picks a free one) before serving.
///
/// # Errors
/// [`StartError::NonLoopbackWithoutToken`], [`StartError::Bind`].
pub async fn bind(
    addr: SocketAddr,
    state: &WebState,
) -> Result<tokio::net::TcpListener, StartError> {
    check_bind(addr, state.auth())?;
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Serves [`router`] on a bound listener until Ctrl-C (or SIGTERM).
///
/// # Errors
/// [`StartError::Serve`].
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    state: WebState,
) -> Result<(), StartError> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(StartError::Serve)
}

/// Binds `addr` and serves until Ctrl-C: [`bind`] then [`serve_listener`].
///
/// # Errors
/// As [`bind`] and [`serve_listener`].
pub async fn serve(addr: SocketAddr, state: WebState) -> Result<(), StartError> {
    let listener = bind(addr, &state).await?;
    serve_listener(listener, state).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
