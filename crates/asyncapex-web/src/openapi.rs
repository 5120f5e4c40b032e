//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! views' `ToSchema` derives; served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{api, error, views};

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "asyncapex",
        description = "Apex Jobs, Scheduled Jobs and the Apex Flex Queue over HTTP. Reads are open; changes need `Authorization: Bearer <token>`. Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        api::overview,
        api::list_jobs,
        api::job_detail,
        api::enqueue_job,
        api::abort_job,
        api::execute_batch,
        api::list_schedules,
        api::create_schedule,
        api::schedule,
        api::pause_schedule,
        api::resume_schedule,
        api::delete_schedule,
        api::flex_queue,
        api::move_in_flex_queue,
    ),
    components(schemas(
        error::ErrorBody,
        error::ErrorDetail,
        views::JobView,
        views::JobPage,
        views::JobDetail,
        views::ChunkView,
        views::ErrorEventView,
        views::BatchProgress,
        views::ScheduleView,
        views::FlexQueueView,
        views::ActiveBatch,
        views::Overview,
        views::StatusCount,
        views::TypeStatusCount,
        views::MinuteView,
        views::NodeView,
        api::EnqueueRequest,
        api::BatchRequest,
        api::ScheduleRequest,
        api::Created,
        api::AbortResult,
        api::ScheduleChange,
        api::MoveTo,
        api::MoveRequest,
        api::MoveResult,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "overview", description = "Counts and the last hour"),
        (name = "jobs", description = "Apex Jobs"),
        (name = "schedules", description = "Scheduled Jobs"),
        (name = "flex-queue", description = "Apex Flex Queue and batch submission"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn handler() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
