//! The overview: counts by status, the last hour's completions and failures per minute as an
//! inline SVG bar chart (drawn here, no script), the daily cap and the nodes.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::{Ctx, layout_with, status_badge, time_el};
use crate::WebState;
use crate::error::WebResult;
use crate::views::{MinuteView, Overview, period_text};

/// `GET /`.
pub async fn page(State(state): State<WebState>, ctx: Ctx) -> Response {
    let result = render(&state, &ctx).await;
    ctx.render(result)
}

const CHART_H: u64 = 160;
const BAR_SLOT: u64 = 10;

/// A stacked bar per minute: completed (bottom) and failed (top). The SVG holds only shapes
/// and stretches to the card's width; the labels are HTML, so they stay readable on a phone.
pub fn chart(minutes: &[MinuteView]) -> Markup {
    let peak = minutes
        .iter()
        .map(|m| m.completed + m.failed)
        .max()
        .unwrap_or(0);
    let max = peak.max(1);
    let scale = |n: u64| n * CHART_H / max;
    let total_completed: u64 = minutes.iter().map(|m| m.completed).sum();
    let total_failed: u64 = minutes.iter().map(|m| m.failed).sum();
    let width = minutes.len() as u64 * BAR_SLOT;
    let label = |i: usize| {
        minutes
            .get(i)
            .map(|m| m.minute.strftime("%H:%M").to_string())
            .unwrap_or_default()
    };
    let last = minutes.len().saturating_sub(1);
    html! {
        figure.chart {
            div.plot {
                svg #throughput viewBox={ "0 0 " (width) " " (CHART_H) } preserveAspectRatio="none" role="img"
                    aria-label={ "Jobs completed (" (total_completed) ") and failed (" (total_failed) ") per minute over the last hour" } {
                    line.grid x1="0" y1="0.5" x2=(width) y2="0.5" {}
                    line.grid x1="0" y1=(CHART_H / 2) x2=(width) y2=(CHART_H / 2) {}
                    @for (i, m) in minutes.iter().enumerate() {
                        @let x = i as u64 * BAR_SLOT;
                        @let c = scale(m.completed);
                        @let f = scale(m.failed);
                        g {
                            title { (m.minute.strftime("%H:%M")) " UTC: " (m.completed) " completed, " (m.failed) " failed" }
                            rect.hover x=(x) y="0" width=(BAR_SLOT) height=(CHART_H) {}
                            @if c > 0 { rect.completed x=(x + 1) y=(CHART_H - c) width=(BAR_SLOT - 2) height=(c) {} }
                            @if f > 0 { rect.failed x=(x + 1) y=(CHART_H - c - f) width=(BAR_SLOT - 2) height=(f) {} }
                        }
                    }
                }
                div.y-axis aria-hidden="true" { span { (max) } span { (max / 2) } span { "0" } }
            }
            div.x-axis aria-hidden="true" {
                span { (label(0)) } span { (label(15)) } span { (label(30)) } span { (label(45)) } span { (label(last)) }
            }
            figcaption {
                span.key.completed-key {} "Completed " strong { (total_completed) }
                span.key.failed-key {} "Failed " strong { (total_failed) }
                span.muted { " per minute, last 60 minutes (UTC); busiest minute: " (peak) }
            }
        }
    }
}

async fn render(state: &WebState, ctx: &Ctx) -> WebResult<Markup> {
    let o = Overview::load(state).await?;
    let refresh = o.active() > 0;
    let body = html! {
        h1 { "Overview" }
        section.tiles aria-label="Jobs by status" {
            @for c in &o.counts {
                a.tile href={ (ctx.url("/jobs")) "?status=" (c.status.as_str()) } data-status=(c.status.as_str()) {
                    span.count { (c.count) }
                    (status_badge(c.status))
                }
            }
        }
        section.card {
            h2 { "Throughput" }
            (chart(&o.per_minute))
        }
        div.columns {
            section.card {
                h2 { "Limits and queues" }
                dl.fields.compact {
                    div { dt { "Async jobs, last 24 h" } dd { (o.daily_used) @if let Some(l) = o.daily_limit { " of " (l) } } }
                    div { dt { "Flex queue" } dd { a href=(ctx.url("/flex-queue")) { (o.flex_queue_size) " holding" } } }
                    div { dt { "Rescued, last hour" } dd { (o.rescued) } }
                    @for r in &o.retention {
                        div.retention {
                            dt { (r.status.as_str()) " kept" }
                            dd {
                                @match r.kept_seconds {
                                    Some(s) => { (period_text(s)) }
                                    None => { "forever" }
                                }
                                @for l in &r.longer {
                                    br; span.muted { (l.job_type.as_str()) ": " (period_text(l.kept_seconds)) }
                                }
                            }
                        }
                    }
                }
            }
            section.card.flush {
                h2 { "By job type" }
                div.table-wrap {
                    table.data #by-type {
                        thead { tr { th { "Job Type" } th { "Status" } th.num { "Jobs" } } }
                        tbody {
                            @for t in &o.by_type {
                                tr {
                                    td { a href={ (ctx.url("/jobs")) "?job_type=" (t.job_type.as_str()) } { (t.job_type.as_str()) } }
                                    td { (status_badge(t.status)) }
                                    td.num { (t.count) }
                                }
                            }
                            @if o.by_type.is_empty() { tr { td.empty colspan="3" { "No jobs yet." } } }
                        }
                    }
                }
            }
        }
        section.card.flush {
            h2 { "Nodes" }
            div.table-wrap {
                table.data #nodes {
                    thead { tr { th { "Process" } th { "State" } th.num { "Running Jobs" } th { "Started" } th { "Last Heartbeat" } } }
                    tbody {
                        @for n in &o.nodes {
                            tr {
                                td.mono { (n.name) }
                                td { @match n.state { "alive" => span.badge.s-completed { "Alive" }, "stopped" => span.badge.s-aborted { "Stopped" }, _ => span.badge.s-failed { "Dead" } } }
                                td.num { (n.running_jobs) }
                                td.nowrap { (time_el(Some(n.started_at))) }
                                td.nowrap { (time_el(Some(n.heartbeat_at))) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout_with(ctx, "Overview", "overview", refresh, body))
}
