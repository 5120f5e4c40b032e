//! The Apex Jobs page and the job detail page.

use asyncapex::{JobStatus, JobType};
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use maud::{Markup, html};

use super::{Ctx, ReturnTo, action_button, layout_with, sign_in_hint, status_badge, time_el, when};
use crate::WebState;
use crate::error::{ApiForm, ApiPath, ApiQuery, WebError, WebResult};
use crate::views::{BatchProgress, JobDetail, JobFilters, JobPage, JobView, work_is_running};

/// `GET /jobs`: the Apex Jobs list.
pub async fn list(
    State(state): State<WebState>,
    ctx: Ctx,
    uri: Uri,
    ApiQuery(filters): ApiQuery<JobFilters>,
) -> Response {
    let here = uri
        .path_and_query()
        .map_or("/jobs".to_owned(), |p| p.as_str().to_owned());
    let result = list_page(&state, &ctx, &filters, &here).await;
    ctx.render(result)
}

async fn list_page(
    state: &WebState,
    ctx: &Ctx,
    filters: &JobFilters,
    here: &str,
) -> WebResult<Markup> {
    let page = JobPage::load(state, filters).await?;
    let refresh = filters.before.is_none() && work_is_running(state).await?;
    let selected = |value: &Option<String>, option: &str| {
        value
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case(option))
    };
    let body = html! {
        div.title-row {
            h1 { "Apex Jobs" }
            a.button href=(ctx.url("/flex-queue")) { "Apex Flex Queue" }
        }
        form.filters method="get" action=(ctx.url("/jobs")) {
            label { span { "Status" }
                select name="status" {
                    option value="" { "All" }
                    @for s in JobStatus::ALL {
                        option value=(s.as_str()) selected[selected(&filters.status, s.as_str())] { (s.as_str()) }
                    }
                }
            }
            label { span { "Job type" }
                select name="job_type" {
                    option value="" { "All" }
                    @for t in JobType::ALL {
                        option value=(t.as_str()) selected[selected(&filters.job_type, t.as_str())] { (t.as_str()) }
                    }
                }
            }
            label { span { "Apex class" }
                input type="search" name="class" value=(filters.class.clone().unwrap_or_default()) placeholder="Exact class name";
            }
            div.filter-buttons {
                button.primary type="submit" { "Filter" }
                a.button href=(ctx.url("/jobs")) { "Clear" }
            }
        }
        @if !ctx.signed_in { (sign_in_hint(ctx, "abort jobs", here)) }
        section.card.flush {
            div.table-wrap {
                table.data #jobs {
                    thead { tr {
                        th { "Action" } th.wrap { "Submitted Date" } th { "Job Type" } th { "Status" }
                        th { "Status Detail" } th.num { "Total Batches" } th.num { "Batches Processed" }
                        th.num { "Failures" } th { "Apex Class" } th { "Apex Method" }
                        th.wrap { "Completion Date" } th { "Apex Job ID" }
                    } }
                    tbody {
                        @for job in &page.jobs { (job_row(ctx, job, here)) }
                        @if page.jobs.is_empty() {
                            tr { td.empty colspan="12" { "No jobs match these filters." } }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages of jobs" {
            @if filters.before.is_some() {
                a.button href={ (ctx.url("/jobs")) "?" (filters.query_with_before(None)) } { "« Newest" }
            }
            @if let Some(next) = page.next_before {
                a.button #older href={ (ctx.url("/jobs")) "?" (filters.query_with_before(Some(next))) } { "Older »" }
            }
        }
    };
    Ok(layout_with(ctx, "Apex Jobs", "jobs", refresh, body))
}

fn job_row(ctx: &Ctx, job: &JobView, here: &str) -> Markup {
    let batch = job.job_type == JobType::BatchApex;
    html! {
        tr data-job-id=(job.id) {
            td {
                @if !job.status.is_terminal() && ctx.signed_in {
                    (action_button(ctx, &format!("/jobs/{}/abort", job.id), "Abort", "danger small",
                        Some("Abort this job?"), here))
                }
            }
            td.when { (when(Some(job.created_at))) }
            td { (job.job_type.as_str()) }
            td { (status_badge(job.status)) }
            td.detail { (job.extended_status.clone().unwrap_or_default()) }
            td.num { @if batch { (job.total_items) } }
            td.num { @if batch { (job.items_processed) } }
            td.num { @if batch || job.number_of_errors > 0 { (job.number_of_errors) } }
            td { (job.class_name) }
            td { (job.method_name.clone().unwrap_or_default()) }
            td.when { (when(job.completed_at)) }
            td.mono { a href=(ctx.job_url(job.id)) { (job.id) } }
        }
    }
}

/// `GET /jobs/{id}`: every field, the payload, the chain, and a batch's progress and failures.
pub async fn detail(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
) -> Response {
    let result = detail_page(&state, &ctx, &id).await;
    ctx.render(result)
}

fn progress(p: &BatchProgress) -> Markup {
    html! {
        div.progress {
            progress max="100" value=(format!("{:.1}", p.percent)) { (format!("{:.0}%", p.percent)) }
            p {
                strong { (format!("{:.0}%", p.percent)) } " · "
                (p.processed) " of " (p.total) " batches processed · "
                (p.failures) " failed"
                @if let Some(r) = p.per_second { " · " (format!("{r:.1}")) " batches/s" }
            }
        }
    }
}

async fn detail_page(state: &WebState, ctx: &Ctx, id: &str) -> WebResult<Markup> {
    let d = JobDetail::load(state, id).await?;
    let job = &d.job;
    let here = format!("/jobs/{}", job.id);
    let payload = serde_json::to_string_pretty(&job.payload).unwrap_or_default();
    let opt = |v: Option<String>| v.unwrap_or_default();
    let fields: Vec<(&str, Markup)> = vec![
        ("Apex Job ID", html! { span.mono { (job.id) } }),
        ("Job Type", html! { (job.job_type.as_str()) }),
        ("Status", status_badge(job.status)),
        (
            "Status Detail",
            html! { (opt(job.extended_status.clone())) },
        ),
        ("Apex Class", html! { (job.class_name) }),
        ("Apex Method", html! { (opt(job.method_name.clone())) }),
        ("Submitted Date", time_el(Some(job.created_at))),
        ("Run At", time_el(Some(job.run_at))),
        ("Started", time_el(job.started_at)),
        ("Completion Date", time_el(job.completed_at)),
        ("Total Batches", html! { (job.total_items) }),
        ("Batches Processed", html! { (job.items_processed) }),
        ("Failures", html! { (job.number_of_errors) }),
        (
            "Parent Job",
            match job.parent_job_id {
                Some(p) => html! { a.mono href=(ctx.job_url(p)) { (p) } },
                None => html! { span.muted { "—" } },
            },
        ),
        (
            "Scheduled By",
            html! { @if let Some(t) = job.cron_trigger_id { span.mono { (t) } } },
        ),
        ("Attempt", html! { (job.attempt) " of " (job.max_attempts) }),
        (
            "Stack Depth",
            html! { (job.stack_depth) @if let Some(m) = job.max_stack_depth { " (max " (m) ")" } },
        ),
        ("Finalizer Re-enqueues", html! { (job.failure_reenqueues) }),
        (
            "Duplicate Signature",
            html! { (opt(job.signature.clone())) },
        ),
        ("Lease Owner", html! { (opt(job.lease_owner.clone())) }),
        ("Lease Expires", time_el(job.lease_expires_at)),
        (
            "Abort Requested",
            html! { (if job.abort_requested { "Yes" } else { "No" }) },
        ),
        (
            "Batch Scope",
            html! { @if let Some(s) = job.batch_scope { (s) } },
        ),
        (
            "Batch Start Done",
            html! { (if job.batch_start_done { "Yes" } else { "No" }) },
        ),
        (
            "Flex Queue Position",
            html! { @if let Some(p) = job.flex_position { (p) } },
        ),
    ];
    let body = html! {
        p.crumbs { a href=(ctx.url("/jobs")) { "Apex Jobs" } " › " span.mono { (job.id) } }
        div.title-row {
            h1 { (job.class_name) " " span.muted { (job.job_type.as_str()) } " " (status_badge(job.status)) }
            @if !job.status.is_terminal() {
                @if ctx.signed_in {
                    (action_button(ctx, &format!("/jobs/{}/abort", job.id), "Abort", "danger",
                        Some("Abort this job?"), &here))
                } @else {
                    (sign_in_hint(ctx, "abort this job", &here))
                }
            }
        }
        @if let Some(p) = &d.batch {
            section.card { h2 { "Progress" } (progress(p)) }
        }
        section.card {
            h2 { "Details" }
            dl.fields {
                @for (name, value) in &fields { div { dt { (name) } dd { (value) } } }
            }
        }
        section.card {
            h2 { "Payload" }
            pre.payload { code { (payload) } }
        }
        section.card.flush {
            h2 { "Chain" }
            @if let Some(p) = &d.parent {
                p.pad { "Enqueued by " a.mono href=(ctx.job_url(p.id)) { (p.id) } " (" (p.class_name) ", " (p.status.as_str()) ")" }
            }
            @if d.children.is_empty() {
                p.pad.muted { "This job enqueued no jobs." }
            } @else {
                div.table-wrap {
                    table.data #children {
                        thead { tr { th { "Apex Job ID" } th { "Job Type" } th { "Apex Class" } th { "Status" } th { "Submitted Date" } th { "Status Detail" } } }
                        tbody {
                            @for c in &d.children {
                                tr {
                                    td.mono { a href=(ctx.job_url(c.id)) { (c.id) } }
                                    td { (c.job_type.as_str()) @if c.job_type == JobType::Finalizer { " " span.tag { "finalizer run" } } }
                                    td { (c.class_name) }
                                    td { (status_badge(c.status)) }
                                    td.nowrap { (time_el(Some(c.created_at))) }
                                    td.detail { (opt(c.extended_status.clone())) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if d.batch.is_some() {
            section.card.flush {
                h2 { "Failed batches" }
                @if d.failed_chunks.is_empty() {
                    p.pad.muted { "No batch failed." }
                } @else {
                    div.table-wrap {
                        table.data #failed-chunks {
                            thead { tr { th.num { "Batch" } th { "Chunk ID" } th.num { "Items" } th { "Error" } th { "Ended" } } }
                            tbody {
                                @for c in &d.failed_chunks {
                                    tr {
                                        td.num { (c.seq + 1) }
                                        td.mono { (c.id) }
                                        td.num { (c.item_count) }
                                        td.detail { (opt(c.error.clone())) }
                                        td.nowrap { (time_el(c.completed_at)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card.flush {
                h2 { "Error events" }
                @if d.error_events.is_empty() {
                    p.pad.muted { "No BatchApexErrorEvent was published." }
                } @else {
                    div.table-wrap {
                        table.data #error-events {
                            thead { tr { th.num { "Replay ID" } th { "Phase" } th { "Exception" } th { "Message" } th { "Job Scope" } th { "Created" } } }
                            tbody {
                                @for e in &d.error_events {
                                    tr {
                                        td.num { (e.replay_id) }
                                        td { (e.phase.as_str()) }
                                        td { (e.exception_type) }
                                        td.detail { (e.message) }
                                        td.detail { (e.job_scope) }
                                        td.nowrap { (time_el(Some(e.created_at))) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let refresh = !job.status.is_terminal() || d.children.iter().any(|c| !c.status.is_terminal());
    Ok(layout_with(
        ctx,
        &format!("Job {}", job.id),
        "jobs",
        refresh,
        body,
    ))
}

/// `POST /jobs/{id}/abort` from the pages (the session cookie carries the token).
pub async fn abort(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    form: Result<ApiForm<ReturnTo>, WebError>,
) -> Response {
    match crate::api::abort(&state, &id).await {
        Ok(result) => {
            let fallback = format!("/jobs/{}", result.job.id);
            let return_to = form.ok().and_then(|ApiForm(f)| f.return_to);
            ctx.redirect(return_to.as_deref(), &fallback)
        }
        Err(e) => ctx.error_page(&e),
    }
}
