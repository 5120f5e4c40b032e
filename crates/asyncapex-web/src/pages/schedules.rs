//! The Scheduled Jobs page.

use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use maud::{Markup, html};

use super::{Ctx, ReturnTo, action_button, layout_with, relative, sign_in_hint, state_badge, when};
use crate::WebState;
use crate::api::{ScheduleAction, change_schedule};
use crate::error::{ApiForm, ApiPath, ApiQuery, WebError, WebResult};
use crate::views::{ScheduleFilters, ScheduleView};

/// `GET /schedules`: schedules, newest first (`?all=true` adds deleted and complete ones).
pub async fn list(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiQuery(filters): ApiQuery<ScheduleFilters>,
) -> Response {
    let result = list_page(&state, &ctx, &filters).await;
    ctx.render(result)
}

async fn list_page(state: &WebState, ctx: &Ctx, filters: &ScheduleFilters) -> WebResult<Markup> {
    let schedules = ScheduleView::list(state, filters.all).await?;
    let now = Timestamp::now();
    let here = if filters.all {
        "/schedules?all=true"
    } else {
        "/schedules"
    };
    // Refresh while a firing runs or one is due within the minute.
    let soon = now + jiff::SignedDuration::from_secs(60);
    let refresh = schedules.iter().any(|s| {
        matches!(s.state.as_str(), "EXECUTING" | "ACQUIRED" | "BLOCKED")
            || (s.can_pause && s.next_fire_time.is_some_and(|t| t <= soon))
    });
    let body = html! {
        div.title-row {
            h1 { "Scheduled Jobs" }
            @if filters.all {
                a.button href=(ctx.url("/schedules")) { "Active only" }
            } @else {
                a.button href=(ctx.url("/schedules?all=true")) { "Include deleted and complete" }
            }
        }
        @if !ctx.signed_in { (sign_in_hint(ctx, "pause, resume and delete schedules", here)) }
        section.card.flush {
            div.table-wrap {
                table.data #schedules {
                    thead { tr {
                        th { "Action" } th { "Job Name" } th { "Apex Class" } th { "Expression" }
                        th { "Time Zone" } th { "State" } th { "Next Scheduled Run" }
                        th { "Previous Run" } th.num { "Times Triggered" } th { "Submitted" } th { "ID" }
                    } }
                    tbody {
                        @for s in &schedules { (row(ctx, s, now, here)) }
                        @if schedules.is_empty() {
                            tr { td.empty colspan="11" { "No schedules." } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout_with(
        ctx,
        "Scheduled Jobs",
        "schedules",
        refresh,
        body,
    ))
}

fn row(ctx: &Ctx, s: &ScheduleView, now: Timestamp, here: &str) -> Markup {
    let base = format!("/schedules/{}", s.id);
    html! {
        tr data-schedule-id=(s.id) data-name=(s.name) {
            td.actions {
                @if ctx.signed_in {
                    @if s.can_pause { (action_button(ctx, &format!("{base}/pause"), "Pause", "small", None, here)) }
                    @if s.can_resume { (action_button(ctx, &format!("{base}/resume"), "Resume", "small", None, here)) }
                    @if s.can_delete { (action_button(ctx, &format!("{base}/delete"), "Del", "danger small", Some("Delete this schedule? It will not fire again."), here)) }
                }
            }
            td.name { strong { (s.name) } }
            td { (s.class_name) @if s.job_type != asyncapex::JobType::ScheduledApex { " " span.tag { (s.job_type.as_str()) } } }
            td.expr {
                code { (s.cron_expression) }
                div.explain { (s.explanation) }
            }
            td { (s.time_zone) }
            td { (state_badge(&s.state)) @if let Some(d) = &s.state_detail { div.detail { (d) } } }
            td.when {
                (when(s.next_fire_time))
                @if let Some(n) = s.next_fire_time { div.muted { (relative(n, now)) } }
            }
            td.when {
                (when(s.previous_fire_time))
                @if let Some(p) = s.previous_fire_time { div.muted { (relative(p, now)) } }
            }
            td.num { (s.times_triggered) }
            td.when { (when(Some(s.start_time))) }
            td.mono { (s.id) }
        }
    }
}

async fn act(
    state: WebState,
    ctx: Ctx,
    id: String,
    form: Result<ApiForm<ReturnTo>, WebError>,
    action: ScheduleAction,
) -> Response {
    match change_schedule(&state, &id, action).await {
        Ok(_) => {
            let return_to = form.ok().and_then(|ApiForm(f)| f.return_to);
            ctx.redirect(return_to.as_deref(), "/schedules")
        }
        Err(e) => ctx.error_page(&e),
    }
}

/// `POST /schedules/{id}/pause`.
pub async fn pause(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    form: Result<ApiForm<ReturnTo>, WebError>,
) -> Response {
    act(state, ctx, id, form, ScheduleAction::Pause).await
}

/// `POST /schedules/{id}/resume`.
pub async fn resume(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    form: Result<ApiForm<ReturnTo>, WebError>,
) -> Response {
    act(state, ctx, id, form, ScheduleAction::Resume).await
}

/// `POST /schedules/{id}/delete`.
pub async fn delete(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    form: Result<ApiForm<ReturnTo>, WebError>,
) -> Response {
    act(state, ctx, id, form, ScheduleAction::Delete).await
}
