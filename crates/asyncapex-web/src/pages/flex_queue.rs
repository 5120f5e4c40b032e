//! The Apex Flex Queue page: holding batch jobs in order, with moves, and the active batches.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, action_button, layout_with, sign_in_hint, status_badge, time_el};
use crate::WebState;
use crate::api::{MoveRequest, MoveTo, move_job};
use crate::error::{ApiForm, ApiPath, WebResult};
use crate::views::{FlexQueueView, JobView};

/// `GET /flex-queue`.
pub async fn page(State(state): State<WebState>, ctx: Ctx) -> Response {
    let result = render(&state, &ctx).await;
    ctx.render(result)
}

fn move_button(
    ctx: &Ctx,
    job: &JobView,
    to: &str,
    other: Option<&JobView>,
    label: &str,
    title: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(ctx.url(&format!("/flex-queue/{}/move", job.id))) {
            input type="hidden" name="to" value=(to);
            @if let Some(o) = other { input type="hidden" name="other" value=(o.id); }
            input type="hidden" name="return_to" value="/flex-queue";
            button.small type="submit" title=(title) aria-label=(title) { (label) }
        }
    }
}

fn holding_row(ctx: &Ctx, queue: &[JobView], i: usize) -> Markup {
    let job = &queue[i];
    let others: Vec<&JobView> = queue.iter().filter(|o| o.id != job.id).collect();
    html! {
        tr data-job-id=(job.id) {
            td.num.position { "#" (i + 1) }
            td.mono.id { a href=(ctx.job_url(job.id)) { (job.id) } }
            td.class { (job.class_name) }
            td.nowrap.opt { (time_el(Some(job.created_at))) }
            td.num.opt { (job.batch_scope.map(|s| s.to_string()).unwrap_or_default()) }
            @if ctx.signed_in {
                td.actions.action {
                    div.moves {
                        @if i > 0 {
                            (move_button(ctx, job, "front", None, "⇈ Front", "Move to the front"))
                            (move_button(ctx, job, "before", Some(&queue[i - 1]), "↑ Up", "Move up one place"))
                        }
                        @if i + 1 < queue.len() {
                            (move_button(ctx, job, "after", Some(&queue[i + 1]), "↓ Down", "Move down one place"))
                            (move_button(ctx, job, "end", None, "⇊ End", "Move to the end"))
                        }
                        (action_button(ctx, &format!("/jobs/{}/abort", job.id), "Abort", "danger small",
                            Some("Abort this batch job?"), "/flex-queue"))
                    }
                    @if !others.is_empty() {
                        form.move-to method="post" action=(ctx.url(&format!("/flex-queue/{}/move", job.id))) {
                            input type="hidden" name="return_to" value="/flex-queue";
                            select name="to" aria-label="Before or after" {
                                option value="before" { "Before" }
                                option value="after" { "After" }
                            }
                            select name="other" aria-label="Which job" {
                                @for o in &others {
                                    @let pos = queue.iter().position(|q| q.id == o.id).unwrap_or(0) + 1;
                                    option value=(o.id) { "#" (pos) " " (o.class_name) }
                                }
                            }
                            button.small type="submit" { "Move" }
                        }
                    }
                }
            }
        }
    }
}

async fn render(state: &WebState, ctx: &Ctx) -> WebResult<Markup> {
    let view = FlexQueueView::load(state).await?;
    let refresh = !view.active.is_empty();
    let body = html! {
        div.title-row {
            h1 { "Apex Flex Queue" }
            a.button href={ (ctx.url("/jobs")) "?job_type=BatchApex" } { "All batch jobs" }
        }
        p.muted { "Batch jobs wait here in Holding, in this order, until one of the five active batch slots frees up; the first is promoted next." }
        @if !ctx.signed_in { (sign_in_hint(ctx, "reorder or abort holding jobs", "/flex-queue")) }
        section.card.flush {
            h2 { "Holding (" (view.holding.len()) ")" }
            div.table-wrap {
                table.data.cards #holding {
                    thead { tr {
                        th.num { "Position" } th { "Apex Job ID" } th { "Apex Class" } th { "Submitted Date" } th.num { "Scope" }
                        @if ctx.signed_in { th { "Actions" } }
                    } }
                    tbody {
                        @for i in 0..view.holding.len() { (holding_row(ctx, &view.holding, i)) }
                        @if view.holding.is_empty() {
                            tr { td.empty colspan="6" { "No batch job is holding." } }
                        }
                    }
                }
            }
        }
        section.card.flush {
            h2 { "Active batch jobs (" (view.active.len()) ")" }
            div.table-wrap {
                table.data.cards #active {
                    thead { tr { th { "Apex Job ID" } th { "Apex Class" } th { "Status" } th { "Progress" } th.num { "Failures" } th { "Started" } } }
                    tbody {
                        @for a in &view.active {
                            tr data-job-id=(a.job.id) {
                                td.mono.id { a href=(ctx.job_url(a.job.id)) { (a.job.id) } }
                                td.class { (a.job.class_name) }
                                td.status { (status_badge(a.job.status)) }
                                td.progress-cell.progress {
                                    progress max="100" value=(format!("{:.1}", a.progress.percent)) { (format!("{:.0}%", a.progress.percent)) }
                                    span.muted { (a.progress.processed) " / " (a.progress.total) }
                                }
                                td.num.opt { (a.progress.failures) }
                                td.nowrap.opt { (time_el(a.job.started_at)) }
                            }
                        }
                        @if view.active.is_empty() {
                            tr { td.empty colspan="6" { "No batch job is queued or running." } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout_with(ctx, "Apex Flex Queue", "flex", refresh, body))
}

/// The move form's fields.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    to: MoveTo,
    #[serde(default)]
    other: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
}

/// `POST /flex-queue/{id}/move` from the page.
pub async fn move_job_form(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiForm(form): ApiForm<MoveForm>,
) -> Response {
    let request = MoveRequest {
        to: form.to,
        other: form.other,
    };
    match move_job(&state, &id, &request).await {
        Ok(_) => ctx.redirect(form.return_to.as_deref(), "/flex-queue"),
        Err(e) => ctx.error_page(&e),
    }
}
