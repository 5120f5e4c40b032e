//! The Queues page (an extension beyond Apex): each named queue's depth, latency and
//! running jobs with pause and resume, and the tenants with the most live jobs.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::{Ctx, ReturnTo, action_button, layout_with, sign_in_hint};
use crate::WebState;
use crate::api::change_queue;
use crate::error::{ApiForm, ApiPath, WebError, WebResult};
use crate::views::{QueueView, QueuesView};

/// `GET /queues`.
pub async fn page(State(state): State<WebState>, ctx: Ctx) -> Response {
    let result = render(&state, &ctx).await;
    ctx.render(result)
}

/// A wait in milliseconds, as people read it.
fn latency(ms: u64) -> String {
    match ms {
        0 => "–".to_owned(),
        1..=999 => format!("{ms} ms"),
        1_000..=119_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min", ms / 60_000),
    }
}

fn rules(q: &QueueView) -> String {
    let mut parts = Vec::new();
    if let Some(cap) = q.global_limit {
        parts.push(format!("at most {cap} running"));
    }
    if let (Some(n), Some(ms)) = (q.rate_limit, q.rate_window_ms) {
        parts.push(format!("{n} starts per {}", latency(ms)));
    }
    parts.push(format!("tenant limit {}", q.tenant_limit));
    parts.join(" · ")
}

fn queue_row(ctx: &Ctx, q: &QueueView) -> Markup {
    let path = format!("/queues/{}", q.name);
    html! {
        tr data-queue=(q.name) {
            td.name { strong { (q.name) } }
            td.status {
                @if q.paused { span.badge.t-paused { "Paused" } } @else { span.badge.t-waiting { "Active" } }
            }
            td.num.queued { span.card-label { "waiting " } (q.queued) }
            td.num.due { span.card-label { "due " } (q.due) }
            td.num.running { span.card-label { "running " } (q.running) }
            td.num.latency { span.card-label { "latency " } (latency(q.latency_ms)) }
            td.detail.opt { (rules(q)) }
            @if ctx.signed_in {
                td.actions.action {
                    @if q.paused {
                        (action_button(ctx, &format!("{path}/resume"), "Resume", "small", None, "/queues"))
                    } @else {
                        (action_button(ctx, &format!("{path}/pause"), "Pause", "small danger",
                            Some("Pause this queue on every node? Its jobs wait until it is resumed."), "/queues"))
                    }
                }
            }
        }
    }
}

async fn render(state: &WebState, ctx: &Ctx) -> WebResult<Markup> {
    let view = QueuesView::load(state).await?;
    let refresh = view.queues.iter().any(|q| q.running > 0 || q.due > 0);
    let body = html! {
        div.title-row { h1 { "Queues" } }
        p.muted {
            "Named queues, each worked with its own concurrency: an extension beyond Apex, whose one shared pool is the "
            code { "default" } " queue. A paused queue claims nothing on any node until resumed."
        }
        @if !ctx.signed_in { (sign_in_hint(ctx, "pause or resume queues", "/queues")) }
        section.card.flush {
            h2 { "Queues (" (view.queues.len()) ")" }
            div.table-wrap {
                table.data.cards #queues {
                    thead { tr {
                        th { "Queue" } th { "State" } th.num { "Waiting" } th.num { "Due" } th.num { "Running" }
                        th.num { "Latency" } th { "Rules" }
                        @if ctx.signed_in { th { "Actions" } }
                    } }
                    tbody {
                        @for q in &view.queues { (queue_row(ctx, q)) }
                        @if view.queues.is_empty() {
                            tr { td.empty colspan="8" { "No job is waiting or running." } }
                        }
                    }
                }
            }
        }
        section.card.flush {
            h2 { "Tenants (" (view.tenants.len()) ")" }
            p.muted.pad { "Jobs enqueued with a tenant, the busiest first. A tenant past its queue's tenant limit has its further jobs wait behind other tenants' (Apex's fair share between orgs)." }
            div.table-wrap {
                table.data.cards #tenants {
                    thead { tr { th { "Tenant" } th { "Queue" } th.num { "Waiting" } th.num { "Running" } } }
                    tbody {
                        @for t in &view.tenants {
                            tr {
                                td.name { (t.tenant) }
                                td.class { (t.queue) }
                                td.num { span.card-label { "waiting " } (t.queued) }
                                td.num { span.card-label { "running " } (t.running) }
                            }
                        }
                        @if view.tenants.is_empty() {
                            tr { td.empty colspan="4" { "No waiting or running job has a tenant." } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout_with(ctx, "Queues", "queues", refresh, body))
}

async fn act(
    state: WebState,
    ctx: Ctx,
    name: String,
    form: Result<ApiForm<ReturnTo>, WebError>,
    pause: bool,
) -> Response {
    let result = change_queue(&state, &name, pause).await;
    ctx.after_action(result, form, |_| "/queues".to_owned())
}

/// `POST /queues/{name}/pause`.
pub async fn pause(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(name): ApiPath<String>,
    form: Result<ApiForm<ReturnTo>, WebError>,
) -> Response {
    act(state, ctx, name, form, true).await
}

/// `POST /queues/{name}/resume`.
pub async fn resume(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(name): ApiPath<String>,
    form: Result<ApiForm<ReturnTo>, WebError>,
) -> Response {
    act(state, ctx, name, form, false).await
}
