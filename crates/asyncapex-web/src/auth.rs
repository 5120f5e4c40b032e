//! Who may read and who may change things.
//!
//! By default reading is open: every `GET` (pages, the JSON API, `/metrics`, the OpenAPI
//! document) needs no credentials. With [`Auth::protect_reads`] (`asyncapex serve
//! --protect-reads`) every read needs the token too — payloads often hold customer data —
//! except the sign-in form and the stylesheet, script and icon it needs. Every request that
//! changes something (`POST`, `PUT`, `PATCH`, `DELETE`) always needs the server's token,
//! given either way:
//!
//! * **API clients** send `Authorization: Bearer <token>`.
//! * **The pages** use a session cookie: the operator types the token once into the sign-in
//!   form (`/login`), which sets `asyncapex_session` — `HttpOnly` (no script can read it) and
//!   `SameSite=Strict` (no other site can make the browser send it, which is what stops
//!   cross-site form posts). The page forms then post with that cookie. "Sign out" clears it.
//!   A change that does not carry the bearer token must also come from this site's own
//!   pages, by `Sec-Fetch-Site` or `Origin` (a 403 otherwise), so no other site can post on
//!   the operator's behalf even where `SameSite` is not honoured.
//!
//! The cookie never holds the token: it holds the sign-in time and an HMAC-SHA256 of it keyed
//! with the token, so a cookie read from a browser profile or a proxy log cannot be used as a
//! bearer token, it stops working after [`SESSION_LIFETIME`], and changing the token signs
//! every browser out.
//!
//! The token and sessions are compared in constant time. Without a configured token,
//! [`Auth::generated`] makes a random one to print at start-up; serving on a non-loopback
//! address requires a configured one ([`crate::check_bind`]).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use maud::html;
use serde::Deserialize;
use sha2::Sha256;

use crate::error::{ApiForm, WebError};
use crate::pages::{self, Ctx};
use crate::{StartError, WebState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "asyncapex_session";

/// How long a sign-in lasts: a working day. The cookie carries the same `Max-Age`, and the
/// server refuses an older session even if a browser keeps the cookie.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The token that actions (and, with [`Auth::protect_reads`], reads) require, and whether an
/// operator chose it.
#[derive(Clone)]
pub struct Auth {
    token: String,
    configured: bool,
    protect_reads: bool,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("token", &"<redacted>")
            .field("configured", &self.configured)
            .field("protect_reads", &self.protect_reads)
            .finish()
    }
}

impl Auth {
    /// A token chosen by the operator (`--token`, `ASYNCAPEX_TOKEN`).
    ///
    /// # Errors
    /// [`StartError::BadToken`] for a token shorter than 8 characters or one with characters
    /// that cannot travel in a header or a cookie (only visible ASCII without `;`, `,`, `"`
    /// and `\`).
    pub fn new(token: impl Into<String>) -> Result<Auth, StartError> {
        let token = token.into();
        if token.len() < 8 {
            return Err(StartError::BadToken(
                "the token must have at least 8 characters".into(),
            ));
        }
        if !token
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
        {
            return Err(StartError::BadToken(
                "the token may contain only visible ASCII characters other than ; , \" and \\"
                    .into(),
            ));
        }
        Ok(Auth {
            token,
            configured: true,
            protect_reads: false,
        })
    }

    /// A random 32-byte token (64 hex digits), for a server started without one: print it so
    /// the operator can sign in.
    ///
    /// # Errors
    /// [`StartError::BadToken`] when the operating system has no randomness to give.
    pub fn generated() -> Result<Auth, StartError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| StartError::BadToken(format!("cannot generate a token: {e}")))?;
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Auth {
            token,
            configured: false,
            protect_reads: false,
        })
    }

    /// The configured token if there is one, else a generated one.
    ///
    /// # Errors
    /// As [`Auth::new`] and [`Auth::generated`].
    pub fn from_option(token: Option<String>) -> Result<Auth, StartError> {
        match token.filter(|t| !t.is_empty()) {
            Some(t) => Auth::new(t),
            None => Auth::generated(),
        }
    }

    /// The token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether an operator chose the token (rather than [`Auth::generated`]).
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    /// Every read needs the token too: pages (through the sign-in cookie), the JSON API,
    /// `/metrics` and the OpenAPI document (through the bearer header). Only the sign-in form
    /// and the files it loads stay open.
    ///
    /// ```
    /// use asyncapex_web::Auth;
    /// let auth = Auth::new("a-long-secret")?.protect_reads();
    /// assert!(auth.protects_reads());
    /// # Ok::<(), asyncapex_web::StartError>(())
    /// ```
    #[must_use]
    pub fn protect_reads(mut self) -> Auth {
        self.protect_reads = true;
        self
    }

    /// Whether reads need the token ([`Auth::protect_reads`]).
    pub fn protects_reads(&self) -> bool {
        self.protect_reads
    }

    /// Whether `candidate` is the token, compared in constant time.
    pub fn accepts(&self, candidate: &str) -> bool {
        let (a, b) = (self.token.as_bytes(), candidate.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn session_mac(&self, issued: i64) -> Hmac<Sha256> {
        // Any key length is valid for HMAC, so this cannot fail; the fallback keeps the
        // signature of a broken build unusable rather than panicking.
        let mut mac = Hmac::<Sha256>::new_from_slice(self.token.as_bytes())
            .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        mac.update(b"asyncapex-session/v1/");
        mac.update(issued.to_string().as_bytes());
        mac
    }

    /// A session cookie's value for a sign-in at `now`: `<unix seconds>.<HMAC hex>`.
    pub fn session_value(&self, now: Timestamp) -> String {
        let issued = now.as_second();
        let tag = self.session_mac(issued).finalize().into_bytes();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        format!("{issued}.{hex}")
    }

    /// Whether `value` is a session this token signed, no older than [`SESSION_LIFETIME`]
    /// at `now` (and not from the future, beyond a minute of clock skew).
    pub fn accepts_session(&self, value: &str, now: Timestamp) -> bool {
        let Some((issued, hex)) = value.split_once('.') else {
            return false;
        };
        let Ok(issued) = issued.parse::<i64>() else {
            return false;
        };
        let age = now.as_second().saturating_sub(issued);
        let lifetime = i64::try_from(SESSION_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        if !(-60..=lifetime).contains(&age) || hex.len() != 64 {
            return false;
        }
        let tag: Option<Vec<u8>> = (0..32)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        tag.is_some_and(|tag| self.session_mac(issued).verify_slice(&tag).is_ok())
    }

    /// Whether the request carries the token as a bearer header, or a valid session cookie.
    pub fn authorizes(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|t| self.accepts(t))
            || session_cookie(headers).is_some_and(|v| self.accepts_session(v, Timestamp::now()))
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// Whether the browser holds a valid session (the pages then show their actions).
pub fn signed_in(state: &WebState, headers: &HeaderMap) -> bool {
    session_cookie(headers).is_some_and(|v| state.auth().accepts_session(v, Timestamp::now()))
}

/// What a signed-out browser may load when reads are protected: the sign-in form and what
/// it needs to render.
fn open_under_protection(path: &str) -> bool {
    path == "/login" || path == "/favicon.ico" || path.starts_with("/static/")
}

/// Refuses changes without the token; reads pass unless [`Auth::protect_reads`] is on. The
/// sign-in form and sign-out are exempt (they are how the token is given and dropped).
pub(crate) async fn require_token(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if reads {
        let path = request.uri().path();
        if !state.auth().protects_reads()
            || open_under_protection(path)
            || state.auth().authorizes(request.headers())
        {
            return next.run(request).await;
        }
        if path == "/api" || path.starts_with("/api/") || path == "/metrics" {
            return WebError::Unauthorized(
                "reading needs the server's token on this server: send Authorization: Bearer <token>",
            )
            .into_response();
        }
        let next_path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let ctx = Ctx::new(&state, false);
        return (
            StatusCode::UNAUTHORIZED,
            login_form(&ctx, local_path(&next_path).unwrap_or("/"), None),
        )
            .into_response();
    }
    // A bearer token is never sent by a browser on its own, so a request carrying it was
    // made on purpose; a cookie is, so a cookie-carried change must come from our own pages.
    let by_bearer = bearer(request.headers()).is_some_and(|t| state.auth().accepts(t));
    if !by_bearer && let Err(refusal) = same_origin(request.headers()) {
        return refusal.into_response();
    }
    let path = request.uri().path();
    if by_bearer
        || path == "/login"
        || path == "/logout"
        || state.auth().authorizes(request.headers())
    {
        return next.run(request).await;
    }
    let error = WebError::Unauthorized(
        "this action needs the server's token: send Authorization: Bearer <token>, or sign in on the dashboard",
    );
    if path.starts_with("/api/") {
        return error.into_response();
    }
    let ctx = Ctx::new(&state, false);
    let body = pages::layout(
        &ctx,
        "Sign in required",
        "",
        html! {
            h1 { "Sign in required" }
            p { "Aborting, pausing and reordering need the server's token. " a href=(ctx.url("/login")) { "Sign in" } " and try again." }
        },
    );
    (StatusCode::UNAUTHORIZED, body).into_response()
}

/// Refuses a browser request that another site made: `SameSite=Strict` stops the cookie
/// going along in today's browsers, and this is the second lock, for browsers or proxies that
/// get cookies wrong and for sign-in and sign-out, which need no cookie.
///
/// `Sec-Fetch-Site` decides when the browser sends it (every current one does): only
/// `same-origin` and `none` (typed by the user) pass. Without it, an `Origin` must name the
/// `Host` the request was sent to. Without either, the client is not a browser that could be
/// tricked (or one too old to say), and the request passes. This is the check Go's
/// `net/http.CrossOriginProtection` makes.
fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    const REFUSED: &str =
        "this change was requested by another site: post it from this dashboard's own pages";
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or(""));
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(WebError::Forbidden(REFUSED)),
        };
    }
    let Some(origin) = text(header::ORIGIN) else {
        return Ok(());
    };
    // `scheme://host[:port]`: compare the authority with the Host header.
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .filter(|rest| !rest.is_empty() && !rest.contains('/'));
    match (authority, text(header::HOST)) {
        (Some(a), Some(host)) if a.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(WebError::Forbidden(REFUSED)),
    }
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

/// `candidate` if it is a path on this site, to redirect to after a form post; `None` for
/// anything that could lead elsewhere or cannot be a header value.
///
/// Only visible ASCII is allowed: browsers strip tabs and line breaks from a `Location`
/// before following it (so `/\t/evil.example` becomes `//evil.example`, another site), a
/// line break cannot be a header value at all, and a backslash is read as a slash. Then the
/// path must start with one `/` and not two (`//host` is another site).
pub(crate) fn local_path(candidate: &str) -> Option<&str> {
    let visible = candidate
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'\\');
    let local = candidate.starts_with('/') && !candidate.starts_with("//");
    (visible && local).then_some(candidate)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// `GET /login`: the sign-in form.
pub(crate) async fn login_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    crate::error::ApiQuery(query): crate::error::ApiQuery<LoginQuery>,
) -> Response {
    let ctx = Ctx::new(&state, signed_in(&state, &headers));
    login_form(&ctx, local_path(&query.next).unwrap_or("/"), None).into_response()
}

fn login_form(ctx: &Ctx, next: &str, error: Option<&str>) -> maud::Markup {
    pages::layout(
        ctx,
        "Sign in",
        "",
        html! {
            h1 { "Sign in" }
            section.card.narrow {
                @if ctx.protected_reads {
                    p { "This server shows its jobs only to operators: sign in with the token the server printed at start-up (or was given with " code { "--token" } " / " code { "ASYNCAPEX_TOKEN" } ")." }
                } @else {
                    p { "Viewing needs no sign-in. Aborting jobs, pausing schedules and reordering the flex queue need the token the server printed at start-up (or was given with " code { "--token" } " / " code { "ASYNCAPEX_TOKEN" } ")." }
                }
                @if let Some(e) = error { p.alert role="alert" { (e) } }
                form method="post" action=(ctx.url("/login")) {
                    input type="hidden" name="next" value=(next);
                    label for="token" { "Token" }
                    input #token type="password" name="token" autocomplete="current-password" required autofocus;
                    button.primary type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// `POST /login`: checks the token and sets the session cookie.
pub(crate) async fn login(
    State(state): State<WebState>,
    ApiForm(form): ApiForm<LoginForm>,
) -> Response {
    let next = local_path(&form.next).unwrap_or("/");
    if !state.auth().accepts(form.token.trim()) {
        let ctx = Ctx::new(&state, false);
        return (
            StatusCode::UNAUTHORIZED,
            login_form(&ctx, next, Some("That is not the server's token.")),
        )
            .into_response();
    }
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}",
        state.auth().session_value(Timestamp::now()),
        state.cookie_path(),
        SESSION_LIFETIME.as_secs()
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&state.url(next)),
    )
        .into_response()
}

/// `POST /logout`: clears the session cookie.
pub(crate) async fn logout(State(state): State<WebState>) -> Response {
    let cookie = format!(
        "{SESSION_COOKIE}=; Path={}; HttpOnly; SameSite=Strict; Max-Age=0",
        state.cookie_path()
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&state.url("/")),
    )
        .into_response()
}
