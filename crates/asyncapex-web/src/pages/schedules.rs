//! The Scheduled Jobs page.

use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use maud::{Markup, html};

use super::{
    Ctx, ReturnTo, action_button, layout_with, relative, sign_in_hint, state_badge, time_el, when,
};
use crate::WebState;
use crate::api::{ScheduleAction, change_schedule};
use crate::error::{ApiForm, ApiPath, ApiQuery, WebError, WebResult};
use crate::views::{ScheduleDetail, ScheduleFilters, ScheduleView};

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
                table.data.cards #schedules {
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
            td.actions.action {
                @if ctx.signed_in {
                    @if s.can_pause { (action_button(ctx, &format!("{base}/pause"), "Pause", "small", None, here)) }
                    @if s.can_resume { (action_button(ctx, &format!("{base}/resume"), "Resume", "small", None, here)) }
                    @if s.can_delete { (action_button(ctx, &format!("{base}/delete"), "Del", "danger small", Some("Delete this schedule? It will not fire again."), here)) }
                }
            }
            td.name { a href=(ctx.url(&base)) { strong { (s.name) } } }
            td.class { (s.class_name) @if s.job_type != asyncapex::JobType::ScheduledApex { " " span.tag { (s.job_type.as_str()) } } }
            td.expr.opt {
                code { (s.cron_expression) }
                div.explain { (s.explanation) }
            }
            td.opt { (s.time_zone) }
            td.status { (state_badge(&s.state)) @if let Some(d) = &s.state_detail { div.detail { (d) } } }
            td.when {
                (when(s.next_fire_time))
                @if let Some(n) = s.next_fire_time { div.muted { (relative(n, now)) } }
            }
            td.when.opt {
                (when(s.previous_fire_time))
                @if let Some(p) = s.previous_fire_time { div.muted { (relative(p, now)) } }
            }
            td.num.opt { (s.times_triggered) }
            td.when.opt { (when(Some(s.start_time))) }
            td.mono.id { a href=(ctx.url(&base)) { (s.id) } }
        }
    }
}

/// `GET /schedules/{id}`: the trigger's fields, its next ten fire times in its zone (DST
/// marked), its past runs, and pause / resume / delete.
pub async fn detail(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
) -> Response {
    let result = detail_page(&state, &ctx, &id).await;
    ctx.render(result)
}

async fn detail_page(state: &WebState, ctx: &Ctx, id: &str) -> WebResult<Markup> {
    let d = ScheduleDetail::load(state, id).await?;
    let s = &d.schedule;
    let now = Timestamp::now();
    let base = format!("/schedules/{}", s.id);
    let body = html! {
        p.crumbs { a href=(ctx.url("/schedules")) { "Scheduled Jobs" } " › " span.mono { (s.id) } }
        div.title-row {
            h1 { (s.name) " " (state_badge(&s.state)) }
            div.actions {
                @if ctx.signed_in {
                    @if s.can_pause { (action_button(ctx, &format!("{base}/pause"), "Pause", "", None, &base)) }
                    @if s.can_resume { (action_button(ctx, &format!("{base}/resume"), "Resume", "primary", None, &base)) }
                    @if s.can_delete { (action_button(ctx, &format!("{base}/delete"), "Delete", "danger", Some("Delete this schedule? It will not fire again."), "/schedules")) }
                } @else {
                    (sign_in_hint(ctx, "pause, resume or delete this schedule", &base))
                }
            }
        }
        section.card {
            h2 { "Details" }
            dl.fields.schedule {
                div { dt { "Job Name" } dd { (s.name) } }
                div { dt { "Apex Class" } dd { (s.class_name) " " span.tag { (s.job_type.as_str()) } } }
                div { dt { "Expression" } dd { code { (s.cron_expression) } div.explain { (s.explanation) } } }
                div { dt { "Time Zone" } dd { (s.time_zone) } }
                div { dt { "DST Policy" } dd { (s.dst_policy) } }
                div { dt { "State" } dd { (state_badge(&s.state)) @if let Some(x) = &s.state_detail { div.detail { (x) } } } }
                div { dt { "Next Scheduled Run" } dd { (time_el(s.next_fire_time)) @if let Some(n) = s.next_fire_time { " " span.muted { (relative(n, now)) } } } }
                div { dt { "Previous Run" } dd { (time_el(s.previous_fire_time)) } }
                div { dt { "Times Triggered" } dd { (s.times_triggered) } }
                div { dt { "Submitted" } dd { (time_el(Some(s.start_time))) } }
                div { dt { "Ended" } dd { (time_el(s.end_time)) } }
                div { dt { "Schedule ID" } dd.mono { (s.id) } }
            }
        }
        section.card.flush {
            h2 { "Next " (crate::views::UPCOMING) " runs (" (s.time_zone) ")" }
            @if d.upcoming.is_empty() {
                p.pad.muted { "It will not fire again." }
            } @else {
                div.table-wrap {
                    table.data #upcoming {
                        thead { tr { th { "Local time" } th { "UTC" } th { "DST" } } }
                        tbody {
                            @for f in &d.upcoming {
                                tr {
                                    td.nowrap { (f.local) }
                                    td.nowrap { (time_el(Some(f.at))) }
                                    td {
                                        @if f.dst { span.tag.dst { "DST" } }
                                        @if f.offset_changed { " " span.badge.t-paused { "clocks changed" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card.flush {
            h2 { "Past runs" }
            @if d.recent_runs.is_empty() {
                p.pad.muted { "It has not fired yet (or its runs were purged)." }
            } @else {
                div.table-wrap {
                    table.data.cards #runs {
                        thead { tr { th { "Apex Job ID" } th { "Status" } th { "Submitted" } th { "Completed" } th { "Status Detail" } } }
                        tbody {
                            @for j in &d.recent_runs {
                                tr {
                                    td.mono.id { a href=(ctx.job_url(j.id)) { (j.id) } }
                                    td.status { (super::status_badge(j.status)) }
                                    td.when.opt { (when(Some(j.created_at))) }
                                    td.when.opt { (when(j.completed_at)) }
                                    td.detail.opt { (j.extended_status.clone().unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
                p.pad { a href={ (ctx.url("/jobs")) "?schedule=" (s.id) } { "All its runs in Apex Jobs »" } }
            }
        }
    };
    Ok(super::layout(
        ctx,
        &format!("Schedule {}", s.name),
        "schedules",
        body,
    ))
}

async fn act(
    state: WebState,
    ctx: Ctx,
    id: String,
    form: Result<ApiForm<ReturnTo>, WebError>,
    action: ScheduleAction,
) -> Response {
    let result = change_schedule(&state, &id, action).await;
    ctx.after_action(result, form, |_| "/schedules".to_owned())
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
