//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! views' `ToSchema` derives; served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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
        api::retry_job,
        api::delete_job,
        api::bulk_jobs,
        api::purge_jobs,
        api::execute_batch,
        api::list_schedules,
        api::create_schedule,
        api::schedule,
        api::pause_schedule,
        api::resume_schedule,
        api::delete_schedule,
        api::list_queues,
        api::pause_queue,
        api::resume_queue,
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
        views::ScheduleDetail,
        views::AttemptView,
        views::FireTime,
        views::FlexQueueView,
        views::QueueView,
        views::QueuesView,
        views::TenantView,
        api::QueueChange,
        views::ActiveBatch,
        views::Overview,
        views::StatusCount,
        views::TypeStatusCount,
        views::MinuteView,
        views::NodeView,
        views::RetentionView,
        views::RetentionException,
        api::PurgeRequest,
        api::PurgeResult,
        api::EnqueueRequest,
        api::BatchRequest,
        api::ScheduleRequest,
        api::Created,
        api::AbortResult,
        api::Deleted,
        api::BulkRequest,
        api::BulkResult,
        api::ScheduleChange,
        api::MoveTo,
        api::MoveRequest,
        api::MoveResult,
    )),
    modifiers(&BearerAuth, &Contract),
    tags(
        (name = "overview", description = "Counts and the last hour"),
        (name = "jobs", description = "Apex Jobs"),
        (name = "schedules", description = "Scheduled Jobs"),
        (name = "flex-queue", description = "Apex Flex Queue and batch submission"),
        (name = "queues", description = "Named queues and tenants (beyond Apex)"),
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

/// Makes the document state what the server enforces and answers, beyond what the handlers'
/// annotations say one by one: the exact form of every ID and list parameter, and the
/// statuses every operation of a kind can return (the one error mapping in [`crate::error`]
/// decides them, so they are added here in one place rather than on each handler).
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let id_pattern = if path.starts_with("/api/schedules") {
                id_pattern("08", 'e')
            } else {
                id_pattern("70", '7')
            };
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                state_parameters(op, &id_pattern);
                add_statuses(op);
            }
        }
        if let Some(components) = openapi.components.as_mut()
            && let Some(schema) = move_request_schema()
        {
            components.schemas.insert("MoveRequest".to_owned(), schema);
        }
    }
}

/// `MoveRequest` as the server takes it: `before` and `after` need `other` (a job ID); `front`
/// and `end` ignore it, but a non-blank one must still be a job ID. The derive cannot say that
/// one field's requirement depends on another's value, so the schema is written out here.
fn move_request_schema() -> Option<RefOr<utoipa::openapi::schema::Schema>> {
    let id = id_pattern("70", '7');
    let schema = serde_json::json!({
        "description": "A flex-queue move.",
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "to": { "type": "string", "enum": ["front", "end"], "description": "To the front (promoted next) or to the end." },
                    "other": {
                        "type": ["string", "null"],
                        "pattern": format!("^{TRIMMED}$|{id}"),
                        "description": "Ignored for these moves."
                    }
                },
                "required": ["to"],
                "additionalProperties": false
            },
            {
                "type": "object",
                "properties": {
                    "to": { "type": "string", "enum": ["before", "after"], "description": "Immediately before or after `other`." },
                    "other": { "type": "string", "pattern": id, "description": "The holding job to move next to." }
                },
                "required": ["to", "other"],
                "additionalProperties": false
            }
        ]
    });
    serde_json::from_value(schema).ok()
}

/// The pattern of a job ID (`70` + `7`) or a schedule ID (`08` + `e`), exactly as
/// [`asyncapex::id`] parses them: the 15-character form, case-sensitive; or the 18-character
/// form, case-insensitive, whose three-character suffix (from `A`–`Z` and `0`–`5`) says which
/// of the first 15 characters are upper case — so it may not flag a digit (one lookahead per
/// position refuses that).
fn id_pattern(digits: &str, last: char) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let short = format!("^{digits}{last}[0-9A-Za-z]{{12}}$");
    let mut long = String::from("^");
    // Positions 0-2 hold the key prefix: digits, and a letter whose case the suffix must
    // leave lower; so the first suffix character flags none of them (A, I, Q or Y).
    for position in 3..15 {
        let (chunk, bit) = (position / 5, position % 5);
        let flagged: String = ALPHABET
            .iter()
            .enumerate()
            .filter(|(i, _)| i & (1 << bit) != 0)
            .flat_map(|(_, &c)| {
                let c = char::from(c);
                if c.is_ascii_alphabetic() {
                    vec![c, c.to_ascii_lowercase()]
                } else {
                    vec![c]
                }
            })
            .collect();
        let between = 15 + chunk - position - 1;
        long.push_str(&format!(
            "(?!.{{{position}}}[0-9].{{{between}}}[{flagged}])"
        ));
    }
    let upper = last.to_ascii_uppercase();
    let lower = last.to_ascii_lowercase();
    let last_class = if upper == lower {
        last.to_string()
    } else {
        format!("[{upper}{lower}]")
    };
    long.push_str(&format!(
        "{digits}{last_class}[0-9A-Za-z]{{12}}[AIQYaiqy][A-Za-z0-5]{{2}}$"
    ));
    format!("{short}|{long}")
}

/// Whitespace as Rust's `str::trim` removes it (Unicode `White_Space`), which the list
/// parameters are trimmed of; ECMA's `\s` differs by U+0085 and U+FEFF.
const TRIMMED: &str = "[\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*";

/// A comma-separated list of `names` in any case, each optionally surrounded by whitespace,
/// empty items allowed: what the job list's `status` and `job_type` parameters take.
fn names_pattern(names: &[&str]) -> String {
    let any_case = |name: &str| -> String {
        name.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    let one = format!(
        "{TRIMMED}(?:{})?{TRIMMED}",
        names
            .iter()
            .map(|n| any_case(n))
            .collect::<Vec<_>>()
            .join("|")
    );
    format!("^{one}(?:,{one})*$")
}

fn string_schema(pattern: String) -> RefOr<utoipa::openapi::schema::Schema> {
    RefOr::T(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .into(),
    )
}

/// The exact form of the ID path parameter and of the job list's parameters.
fn state_parameters(op: &mut Operation, id: &str) {
    for param in op.parameters.iter_mut().flatten() {
        let pattern = match (&param.parameter_in, param.name.as_str()) {
            (ParameterIn::Path, "id") => id.to_owned(),
            (ParameterIn::Path, "name") => "^[A-Za-z0-9_.-]{1,63}$".to_owned(),
            // An empty `before` (or only whitespace) means the first page. (The server also
            // trims whitespace around an ID, which the pattern leaves out: the lookaheads
            // count positions from the start.)
            (ParameterIn::Query, "before" | "parent" | "retry_of") => {
                format!("^{TRIMMED}$|{}", id_pattern("70", '7'))
            }
            (ParameterIn::Query, "schedule") => format!("^{TRIMMED}$|{}", id_pattern("08", 'e')),
            (
                ParameterIn::Query,
                "submitted_from" | "submitted_to" | "completed_from" | "completed_to",
            ) => {
                // A calendar date (the server also takes an RFC 3339 instant and blanks).
                param.schema = Some(date_schema());
                continue;
            }
            (ParameterIn::Query, "status") => {
                let names: Vec<&str> = asyncapex::JobStatus::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect();
                names_pattern(&names)
            }
            (ParameterIn::Query, "job_type") => {
                let names: Vec<&str> = asyncapex::JobType::ALL.iter().map(|t| t.as_str()).collect();
                names_pattern(&names)
            }
            _ => continue,
        };
        param.schema = Some(string_schema(pattern));
    }
}

/// A calendar date, or blank (what an empty date input of the page's form sends: no bound).
fn date_schema() -> RefOr<utoipa::openapi::schema::Schema> {
    let date = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
            utoipa::openapi::schema::KnownFormat::Date,
        )))
        .build();
    let blank = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^{TRIMMED}$")))
        .build();
    RefOr::T(utoipa::openapi::schema::Schema::AnyOf(
        utoipa::openapi::schema::AnyOfBuilder::new()
            .item(date)
            .item(blank)
            .build(),
    ))
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// The statuses the error mapping can give any operation of a kind.
fn add_statuses(op: &mut Operation) {
    let has_input =
        op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = op.request_body.is_some();
    let changes = op.security.is_some();
    let responses = &mut op.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    };
    if has_input {
        add(
            "400",
            "The input breaks a rule: the message names it (`invalid_id`, `invalid_input`, `bad_request`, `invalid_body`, ...).",
        );
    }
    if has_body {
        add(
            "415",
            "The body is not sent as `Content-Type: application/json`.",
        );
    }
    if changes {
        add("401", "No token, or a wrong one.");
        add(
            "403",
            "A cookie-authenticated browser request made by another site (`cross_site`).",
        );
    }
    add("500", "The store failed (`store_error`).");
    add(
        "503",
        "The store is unreachable (`store_unavailable`) or the engine is shutting down (`shutdown`).",
    );
}

/// `GET /api/openapi.json`.
pub async fn handler() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
