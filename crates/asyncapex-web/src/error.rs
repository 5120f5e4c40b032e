//! The one mapping from errors to HTTP responses.
//!
//! Every handler returns [`WebError`]; [`WebError::status_and_code`] decides the HTTP status
//! and the stable code for each [`asyncapex::Error`] variant, and both the JSON API
//! (`{"error": {"code": "unknown_job", "message": "…"}}`) and the pages (an HTML error page)
//! use it. Bad input is always a 4xx; only store failures and the like are 5xx.

use asyncapex::{Error, StoreErrorKind};
use axum::extract::FromRequest;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// An engine or store error.
    #[error(transparent)]
    Engine(#[from] Error),
    /// No bearer token, or a wrong one, on a request that changes something.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A browser request made by another site (see [`crate::auth`]).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The request body is not the JSON (or form) the endpoint takes.
    #[error("{0}")]
    BadBody(String),
    /// A query string or path parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The body is not JSON at all (wrong `Content-Type`).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No route matches.
    #[error("no page or endpoint at {0}")]
    NotFound(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A stable machine-readable code and a human message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `unknown_job`, `invalid_id`, `unauthorized`.
    pub code: &'static str,
    /// What went wrong, naming the input and the rule.
    pub message: String,
}

impl WebError {
    /// The HTTP status and the stable code: the one place errors meet HTTP.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            WebError::Engine(e) => match e {
                Error::InvalidId { .. } => (S::BAD_REQUEST, "invalid_id"),
                Error::WrongIdKind { .. } => (S::BAD_REQUEST, "wrong_id_kind"),
                Error::InvalidInput { .. } => (S::BAD_REQUEST, "invalid_input"),
                Error::InvalidCron { .. } => (S::BAD_REQUEST, "invalid_cron"),
                Error::UnknownJob { .. } => (S::NOT_FOUND, "unknown_job"),
                Error::UnknownSchedule { .. } => (S::NOT_FOUND, "unknown_schedule"),
                Error::UnknownJobType { .. } => (S::UNPROCESSABLE_ENTITY, "unknown_job_type"),
                Error::Payload { .. } => (S::UNPROCESSABLE_ENTITY, "invalid_payload"),
                Error::MaxStackDepth { .. } => (S::UNPROCESSABLE_ENTITY, "max_stack_depth"),
                Error::NotAllowed { .. } => (S::UNPROCESSABLE_ENTITY, "not_allowed"),
                Error::WrongStatus { .. } => (S::CONFLICT, "wrong_status"),
                Error::LimitExceeded { .. } => (S::CONFLICT, "limit_exceeded"),
                Error::DuplicateSignature { .. } => (S::CONFLICT, "duplicate_signature"),
                Error::DuplicateScheduleName { .. } => (S::CONFLICT, "duplicate_schedule_name"),
                Error::NotInFlexQueue { .. } => (S::CONFLICT, "not_in_flex_queue"),
                Error::Callout { .. } => (S::BAD_GATEWAY, "callout_failed"),
                Error::Store {
                    kind: StoreErrorKind::Unavailable,
                    ..
                } => (S::SERVICE_UNAVAILABLE, "store_unavailable"),
                Error::Store { .. } => (S::INTERNAL_SERVER_ERROR, "store_error"),
                Error::Shutdown => (S::SERVICE_UNAVAILABLE, "shutdown"),
                Error::Timeout { .. } => (S::GATEWAY_TIMEOUT, "timeout"),
                Error::DuplicateRegistration { .. } => (S::INTERNAL_SERVER_ERROR, "internal"),
                _ => (S::INTERNAL_SERVER_ERROR, "internal"),
            },
            WebError::Unauthorized(_) => (S::UNAUTHORIZED, "unauthorized"),
            WebError::Forbidden(_) => (S::FORBIDDEN, "cross_site"),
            WebError::BadBody(_) => (S::BAD_REQUEST, "invalid_body"),
            WebError::BadRequest(_) => (S::BAD_REQUEST, "bad_request"),
            WebError::UnsupportedMediaType(_) => {
                (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            WebError::NotFound(_) => (S::NOT_FOUND, "not_found"),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.status_and_code().1,
                message: self.to_string(),
            },
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"asyncapex\""),
            );
        }
        response
    }
}

impl From<JsonRejection> for WebError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => WebError::UnsupportedMediaType(
                "the body must be JSON with Content-Type: application/json".into(),
            ),
            other => WebError::BadBody(format!("invalid JSON body: {}", other.body_text())),
        }
    }
}

impl From<FormRejection> for WebError {
    fn from(r: FormRejection) -> Self {
        WebError::BadBody(format!("invalid form: {}", r.body_text()))
    }
}

impl From<QueryRejection> for WebError {
    fn from(r: QueryRejection) -> Self {
        WebError::BadRequest(format!("invalid query string: {}", r.body_text()))
    }
}

impl From<PathRejection> for WebError {
    fn from(r: PathRejection) -> Self {
        WebError::BadRequest(format!("invalid path: {}", r.body_text()))
    }
}

/// `axum::Json` whose rejections are [`WebError`]s (JSON error bodies, 4xx).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(WebError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejections are [`WebError`]s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejections are [`WebError`]s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(WebError))]
pub struct ApiPath<T>(pub T);

/// `axum::Form` whose rejections are [`WebError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Form), rejection(WebError))]
pub struct ApiForm<T>(pub T);

/// `Result` with [`WebError`].
pub type WebResult<T> = Result<T, WebError>;
