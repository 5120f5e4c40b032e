//! Server-rendered pages (maud: everything interpolated is HTML-escaped). One small CSS file
//! and one small script (confirmations and self-refresh while work runs) are served from the
//! binary; no CDN, no external fonts, no inline script or style (the Content-Security-Policy
//! forbids both).

pub mod flex_queue;
pub mod jobs;
pub mod overview;
pub mod queues;
pub mod schedules;

use asyncapex::{JobId, JobStatus};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, html};

use crate::WebState;
use crate::error::{WebError, WebResult};

/// How often pages refresh themselves while work runs, in seconds.
pub const REFRESH_SECONDS: u32 = 5;

/// What every page needs to render: the mount prefix and whether the browser is signed in.
#[derive(Debug, Clone)]
pub struct Ctx {
    base: String,
    /// Whether the browser holds a valid session (actions are shown).
    pub signed_in: bool,
    /// Whether the server shows nothing to a signed-out browser ([`crate::Auth::protect_reads`]).
    pub protected_reads: bool,
}

impl Ctx {
    /// The context of a request.
    pub fn new(state: &WebState, signed_in: bool) -> Ctx {
        Ctx {
            base: state.url(""),
            signed_in,
            protected_reads: state.auth().protects_reads(),
        }
    }

    /// A local path as a link under the mount prefix.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A job's detail link.
    pub fn job_url(&self, id: JobId) -> String {
        self.url(&format!("/jobs/{id}"))
    }

    /// The page for a handler's result: the markup, or an error page with the status the one
    /// error mapping chose.
    pub fn render(&self, result: WebResult<Markup>) -> Response {
        match result {
            Ok(markup) => markup.into_response(),
            Err(e) => self.error_page(&e),
        }
    }

    /// An error page with the status and code of [`WebError::status_and_code`].
    pub fn error_page(&self, error: &WebError) -> Response {
        let (status, code) = error.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %error, "page failed");
        }
        let body = layout(
            self,
            status.canonical_reason().unwrap_or("Error"),
            "",
            html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
                section.card {
                    p.alert role="alert" { (error.to_string()) }
                    p.muted { "Code: " code { (code) } }
                    p { a href=(self.url("/")) { "Back to the overview" } }
                }
            },
        );
        (status, body).into_response()
    }

    /// After a page action that posted a [`ReturnTo`] form: back where it asked on success
    /// (see [`Ctx::redirect`]; `fallback` from the result otherwise), an error page on failure.
    pub fn after_action<T>(
        &self,
        result: WebResult<T>,
        form: Result<crate::error::ApiForm<ReturnTo>, WebError>,
        fallback: impl FnOnce(&T) -> String,
    ) -> Response {
        match result {
            Ok(done) => {
                let return_to = form.ok().and_then(|crate::error::ApiForm(f)| f.return_to);
                self.redirect(return_to.as_deref(), &fallback(&done))
            }
            Err(e) => self.error_page(&e),
        }
    }

    /// After a page action: back to `return_to` if it is a local path, else to `fallback`.
    pub fn redirect(&self, return_to: Option<&str>, fallback: &str) -> Response {
        let to = return_to
            .and_then(crate::auth::local_path)
            .unwrap_or(fallback);
        Redirect::to(&self.url(to)).into_response()
    }
}

impl FromRequestParts<WebState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx::new(
            state,
            crate::auth::signed_in(state, &parts.headers),
        ))
    }
}

/// The page frame without self-refresh.
pub fn layout(ctx: &Ctx, title: &str, nav: &str, body: Markup) -> Markup {
    layout_with(ctx, title, nav, false, body)
}

/// The page frame: header with navigation, the body, and `data-refresh` while work runs.
pub fn layout_with(ctx: &Ctx, title: &str, nav: &str, refresh: bool, body: Markup) -> Markup {
    let link = |path: &str, key: &str, label: &str| {
        html! {
            a href=(ctx.url(path)) aria-current=[(nav == key).then_some("page")] { (label) }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · asyncapex" }
                link rel="icon" type="image/svg+xml" href=(ctx.url("/static/favicon.svg"));
                link rel="stylesheet" href=(ctx.url("/static/style.css"));
                script src=(ctx.url("/static/app.js")) defer {}
            }
            body data-refresh=[refresh.then_some(REFRESH_SECONDS)] {
                header.top {
                    a.brand href=(ctx.url("/")) { span.logo aria-hidden="true" { "⚡" } "asyncapex" }
                    nav.main aria-label="Pages" {
                        (link("/", "overview", "Overview"))
                        (link("/jobs", "jobs", "Apex Jobs"))
                        (link("/schedules", "schedules", "Scheduled Jobs"))
                        (link("/flex-queue", "flex", "Apex Flex Queue"))
                        (link("/queues", "queues", "Queues"))
                    }
                    div.session {
                        @if ctx.signed_in {
                            form method="post" action=(ctx.url("/logout")) {
                                button.link type="submit" { "Sign out" }
                            }
                        } @else {
                            a href=(ctx.url("/login")) { "Sign in" }
                        }
                    }
                }
                main { (body) }
                footer.muted {
                    "Times in UTC. "
                    @if refresh { "This page refreshes every " (REFRESH_SECONDS) " s while jobs run. " }
                    a href=(ctx.url("/api/openapi.json")) { "API" } " · "
                    a href=(ctx.url("/metrics")) { "Metrics" }
                }
            }
        }
    }
}

/// A timestamp as shown in tables (UTC, to the second); empty for `None`.
pub fn time(t: Option<Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A `<time>` element.
pub fn time_el(t: Option<Timestamp>) -> Markup {
    match t {
        Some(t) => html! { time datetime=(t.to_string()) { (time(Some(t))) } },
        None => html! { span.muted { "—" } },
    }
}

/// A timestamp for a table cell: date and time may wrap onto two lines (cell class `when`).
pub fn when(t: Option<Timestamp>) -> Markup {
    match t {
        Some(t) => html! {
            time datetime=(t.to_string()) {
                span.d { (t.strftime("%Y-%m-%d")) } " " span.t { (t.strftime("%H:%M:%S")) }
            }
        },
        None => html! {},
    }
}

/// How far `t` is from `now`, in words ("in 5 s", "3 min ago").
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let secs = t.as_second() - now.as_second();
    let abs = secs.unsigned_abs();
    let amount = if abs < 60 {
        format!("{abs} s")
    } else if abs < 3600 {
        format!("{} min", abs / 60)
    } else if abs < 86_400 {
        format!("{} h", abs / 3600)
    } else {
        format!("{} d", abs / 86_400)
    };
    if secs >= 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// A status badge.
pub fn status_badge(status: JobStatus) -> Markup {
    html! { span class={ "badge s-" (status.as_str().to_ascii_lowercase()) } { (status.as_str()) } }
}

/// A badge for a schedule state (`WAITING`, `PAUSED`…).
pub fn state_badge(state: &str) -> Markup {
    html! { span class={ "badge t-" (state.to_ascii_lowercase()) } { (state) } }
}

/// A one-button form that posts to `action` (the session cookie carries the token).
pub fn action_button(
    ctx: &Ctx,
    action: &str,
    label: &str,
    class: &str,
    confirm: Option<&str>,
    return_to: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(ctx.url(action)) data-confirm=[confirm] {
            input type="hidden" name="return_to" value=(return_to);
            button type="submit" class=(class) { (label) }
        }
    }
}

/// The hint shown instead of actions when the browser is not signed in.
pub fn sign_in_hint(ctx: &Ctx, what: &str, back: &str) -> Markup {
    html! {
        p.hint {
            a href={ (ctx.url("/login")) "?next=" (crate::views::encode(back)) } { "Sign in" }
            " to " (what) "."
        }
    }
}

/// `GET /static/style.css`.
pub async fn style_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../assets/style.css"),
    )
}

/// `GET /static/app.js`.
pub async fn app_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../assets/app.js"),
    )
}

/// `GET /static/favicon.svg` (and `/favicon.ico`, which browsers ask for by default).
pub async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/favicon.svg"),
    )
}

/// The form field every page action takes: where to go back to.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReturnTo {
    /// A local path.
    #[serde(default)]
    pub return_to: Option<String>,
}
