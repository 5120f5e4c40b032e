//! The Apex Jobs page and the job detail page.

use asyncapex::{JobStatus, JobType};
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::{Ctx, ReturnTo, action_button, layout_with, sign_in_hint, status_badge, time_el, when};
use crate::WebState;
use crate::error::{ApiForm, ApiPath, WebError, WebResult};
use crate::views::{
    BatchProgress, FilterQuery, JobDetail, JobFilters, JobPage, JobView, work_is_running,
};

/// `GET /jobs`: the Apex Jobs list. A search for a job ID opens that job.
pub async fn list(
    State(state): State<WebState>,
    ctx: Ctx,
    uri: Uri,
    FilterQuery(filters): FilterQuery,
) -> Response {
    if let Some(id) = filters.searched_id() {
        return axum::response::Redirect::to(&ctx.job_url(id)).into_response();
    }
    let here = uri
        .path_and_query()
        .map_or("/jobs".to_owned(), |p| p.as_str().to_owned());
    let result = list_page(&state, &ctx, &filters, &here).await;
    ctx.render(result)
}

/// Whether a comma-separated filter holds `option` (any letter case).
fn holds(value: &Option<String>, option: &str) -> bool {
    value
        .as_deref()
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case(option)))
}

/// "12,345"
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn count_text(page: &JobPage) -> String {
    let n = thousands(page.count);
    match (page.count_is_lower_bound, page.count) {
        (true, _) => format!("more than {n} jobs"),
        (false, 1) => "1 job".into(),
        (false, _) => format!("{n} jobs"),
    }
}

fn text_filter(label: &str, name: &str, value: &Option<String>, kind: &str, hint: &str) -> Markup {
    html! {
        label { span { (label) }
            input type=(kind) name=(name) value=(value.clone().unwrap_or_default()) placeholder=(hint);
        }
    }
}

async fn list_page(
    state: &WebState,
    ctx: &Ctx,
    filters: &JobFilters,
    here: &str,
) -> WebResult<Markup> {
    let page = JobPage::load(state, filters).await?;
    let refresh = filters.before.is_none() && work_is_running(state).await?;
    let more_open = [
        &filters.class,
        &filters.parent,
        &filters.schedule,
        &filters.retry_of,
        &filters.submitted_from,
        &filters.submitted_to,
        &filters.completed_from,
        &filters.completed_to,
    ]
    .iter()
    .any(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()));
    let body = html! {
        div.title-row {
            h1 { "Apex Jobs" " " span.muted.count #job-count { (count_text(&page)) } }
            a.button href=(ctx.url("/flex-queue")) { "Apex Flex Queue" }
        }
        form.filters #filters method="get" action=(ctx.url("/jobs")) {
            label.search { span { "Search" }
                input type="search" name="q" value=(filters.q.clone().unwrap_or_default())
                    placeholder="Job ID or class name" aria-label="Job ID or the start of a class name";
            }
            label { span { "Status" }
                select name="status" multiple size="3" {
                    @for s in JobStatus::ALL {
                        option value=(s.as_str()) selected[holds(&filters.status, s.as_str())] { (s.as_str()) }
                    }
                }
            }
            label { span { "Job type" }
                select name="job_type" multiple size="3" {
                    @for t in JobType::ALL {
                        option value=(t.as_str()) selected[holds(&filters.job_type, t.as_str())] { (t.as_str()) }
                    }
                }
            }
            details.more open[more_open] {
                summary { "More filters" }
                div.more-fields {
                    (text_filter("Apex class", "class", &filters.class, "search", "Exact class name"))
                    (text_filter("Submitted from", "submitted_from", &filters.submitted_from, "date", "2026-12-01"))
                    (text_filter("Submitted to", "submitted_to", &filters.submitted_to, "date", "2026-12-03"))
                    (text_filter("Completed from", "completed_from", &filters.completed_from, "date", "2026-12-01"))
                    (text_filter("Completed to", "completed_to", &filters.completed_to, "date", "2026-12-03"))
                    (text_filter("Parent job", "parent", &filters.parent, "search", "707… ID"))
                    (text_filter("Schedule", "schedule", &filters.schedule, "search", "08e… ID"))
                    (text_filter("Retry of", "retry_of", &filters.retry_of, "search", "707… ID"))
                }
            }
            @if let Some(limit) = filters.limit { input type="hidden" name="limit" value=(limit); }
            div.filter-buttons {
                button.primary type="submit" { "Filter" }
                a.button href=(ctx.url("/jobs")) { "Clear" }
            }
        }
        @if !ctx.signed_in { (sign_in_hint(ctx, "abort, retry and delete jobs", here)) }
        @if ctx.signed_in {
            form.bulk #bulk method="post" action=(ctx.url("/jobs/bulk")) {
                @for (name, value) in filters.fields() {
                    @if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                        input type="hidden" name={ "f_" (name) } value=(v);
                    }
                }
                label { span.visually-hidden { "Bulk action" }
                    select name="action" aria-label="Bulk action" {
                        option value="abort" { "Abort" }
                        option value="retry" { "Retry" }
                        option value="delete" { "Delete" }
                    }
                }
                button.small type="submit" name="scope" value="selected" { "Selected jobs…" }
                @if filters.is_filtered() {
                    button.small type="submit" name="scope" value="filter" { "All " (count_text(&page)) " matching…" }
                }
            }
        }
        section.card.flush {
            div.table-wrap {
                table.data.cards #jobs {
                    thead { tr {
                        @if ctx.signed_in { th { span.visually-hidden { "Select" } } }
                        th { "Action" } th.wrap.opt { "Submitted Date" } th.opt { "Job Type" } th { "Status" }
                        th.opt { "Status Detail" } th.num.opt { "Total Batches" } th.num.opt { "Batches Processed" }
                        th.num.opt { "Failures" } th { "Apex Class" } th.opt { "Apex Method" }
                        th.wrap.opt { "Completion Date" } th { "Apex Job ID" }
                    } }
                    tbody {
                        @for job in &page.jobs { (job_row(ctx, job, here)) }
                        @if page.jobs.is_empty() {
                            tr { td.empty colspan="13" { "No jobs match these filters." } }
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

/// The one action a row offers: abort what has not finished, retry what failed or aborted.
fn row_action(ctx: &Ctx, job: &JobView, here: &str) -> Markup {
    html! {
        @if ctx.signed_in {
            @if !job.status.is_terminal() {
                (action_button(ctx, &format!("/jobs/{}/abort", job.id), "Abort", "danger small",
                    Some("Abort this job?"), here))
            } @else if matches!(job.status, JobStatus::Failed | JobStatus::Aborted) && job.job_type != JobType::Finalizer {
                (action_button(ctx, &format!("/jobs/{}/retry", job.id), "Retry", "small",
                    None, here))
            }
        }
    }
}

fn job_row(ctx: &Ctx, job: &JobView, here: &str) -> Markup {
    let batch = job.job_type == JobType::BatchApex;
    html! {
        tr data-job-id=(job.id) {
            @if ctx.signed_in {
                td.select { input type="checkbox" form="bulk" name={ "id_" (job.id) } aria-label={ "Select " (job.id) }; }
            }
            td.action { (row_action(ctx, job, here)) }
            td.when.opt { (when(Some(job.created_at))) }
            td.opt { (job.job_type.as_str()) }
            td.status { (status_badge(job.status)) }
            td.detail.opt { (job.extended_status.clone().unwrap_or_default()) }
            td.num.opt { @if batch { (job.total_items) } }
            td.num.opt { @if batch { (job.items_processed) } }
            td.num.opt { @if batch || job.number_of_errors > 0 { (job.number_of_errors) } }
            td.class { (job.class_name) }
            td.opt { (job.method_name.clone().unwrap_or_default()) }
            td.when.opt { (when(job.completed_at)) }
            td.mono.id { a href=(ctx.job_url(job.id)) { (job.id) } }
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
            html! { @if let Some(t) = job.cron_trigger_id { a.mono href=(ctx.url(&format!("/schedules/{t}"))) { (t) } } },
        ),
        ("Attempt", html! { (job.attempt) " of " (job.max_attempts) }),
        (
            "Queue",
            html! { (job.queue) " · priority " (job.priority) @if let Some(t) = &job.tenant { " · tenant " (t) } },
        ),
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
        (
            "Retry Of",
            match job.retry_of {
                Some(r) => html! { a.mono href=(ctx.job_url(r)) { (r) } },
                None => html! { span.muted { "—" } },
            },
        ),
    ];
    let body = html! {
        p.crumbs { a href=(ctx.url("/jobs")) { "Apex Jobs" } " › " span.mono { (job.id) } }
        div.title-row {
            h1 { (job.class_name) " " span.muted { (job.job_type.as_str()) } " " (status_badge(job.status)) }
            div.actions {
                @if !ctx.signed_in {
                    (sign_in_hint(ctx, "abort, retry or delete this job", &here))
                } @else if !job.status.is_terminal() {
                    (action_button(ctx, &format!("/jobs/{}/abort", job.id), "Abort", "danger",
                        Some("Abort this job?"), &here))
                } @else {
                    @if matches!(job.status, JobStatus::Failed | JobStatus::Aborted) && job.job_type != JobType::Finalizer {
                        (action_button(ctx, &format!("/jobs/{}/retry", job.id), "Retry", "primary",
                            None, &here))
                    }
                    (action_button(ctx, &format!("/jobs/{}/delete", job.id), "Delete", "danger",
                        Some("Delete this job's record? This cannot be undone."), "/jobs"))
                }
            }
        }
        @if let Some(original) = job.retry_of {
            p.notice #retry-of { "Retry of " a.mono href=(ctx.job_url(original)) { (original) } }
        }
        @if !d.retries.is_empty() {
            p.notice #retried-as {
                "Retried as "
                @for (i, r) in d.retries.iter().enumerate() {
                    @if i > 0 { ", " }
                    a.mono href=(ctx.job_url(r.id)) { (r.id) } " (" (r.status.as_str()) ")"
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
        section.card.flush {
            h2 { "Attempts" }
            @if d.attempts.is_empty() {
                p.pad.muted { "It has not started." }
            } @else {
                div.table-wrap {
                    table.data #attempts {
                        thead { tr { th.num { "#" } th { "Started" } th { "Ended" } th { "Node" } th { "Outcome" } th { "Error" } } }
                        tbody {
                            @for a in &d.attempts {
                                tr {
                                    td.num { (a.attempt) }
                                    td.nowrap { (time_el(a.started_at)) }
                                    td.nowrap { (time_el(a.ended_at)) }
                                    td.mono { (a.node.clone().unwrap_or_default()) }
                                    td { span class={ "badge s-" (a.outcome.to_ascii_lowercase()) } { (a.outcome) } }
                                    td.detail { (a.error.clone().unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
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
    let result = crate::api::abort(&state, &id).await;
    ctx.after_action(result, form, |r| format!("/jobs/{}", r.job.id))
}

/// `POST /jobs/{id}/retry` from the pages: to the new job's page.
pub async fn retry(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
) -> Response {
    match crate::api::retry(&state, &id).await {
        Ok(created) => ctx.redirect(None, &format!("/jobs/{}", created.id)),
        Err(e) => ctx.error_page(&e),
    }
}

/// `POST /jobs/{id}/delete` from the pages: back to the list.
pub async fn delete(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    form: Result<ApiForm<ReturnTo>, WebError>,
) -> Response {
    let result = crate::api::delete(&state, &id).await;
    ctx.after_action(result, form, |_| "/jobs".to_owned())
}

/// `POST /jobs/bulk`: a bulk action from the list's bar, over the selected rows
/// (`id_<ID>` checkboxes) or every job the list's filters (`f_<name>` fields) match. Without
/// `confirm=yes` it only counts and asks; with it, it acts and says what it did.
pub async fn bulk(
    State(state): State<WebState>,
    ctx: Ctx,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> Response {
    let result = bulk_page(&state, &ctx, &pairs).await;
    ctx.render(result)
}

async fn bulk_page(state: &WebState, ctx: &Ctx, pairs: &[(String, String)]) -> WebResult<Markup> {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let action: asyncapex::BulkAction = field("action").unwrap_or("").parse()?;
    let filter_pairs: Vec<(String, String)> = pairs
        .iter()
        .filter_map(|(n, v)| n.strip_prefix("f_").map(|n| (n.to_owned(), v.clone())))
        .collect();
    let filters = JobFilters::from_pairs(&filter_pairs)?;
    let ids: Vec<String> = pairs
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("id_").map(str::to_owned))
        .collect();
    let by_filter = field("scope") == Some("filter");
    if !by_filter && ids.is_empty() {
        return Err(WebError::BadRequest(
            "select at least one job (the checkboxes in the list), or act on all matching jobs"
                .into(),
        ));
    }
    let target = if by_filter {
        crate::api::BulkTarget::read(state, Some(&filters), None).await?
    } else {
        crate::api::BulkTarget::read(state, None, Some(&ids)).await?
    };
    let back = format!("/jobs?{}", filters.query_with_before(None));
    let verb = match action {
        asyncapex::BulkAction::Abort => "Abort",
        asyncapex::BulkAction::Retry => "Retry",
        asyncapex::BulkAction::Delete => "Delete",
    };
    if field("confirm") != Some("yes") {
        let (matched, applicable) = target.count(state, action).await?;
        let body = html! {
            h1 { (verb) " jobs?" }
            section.card.narrow #bulk-confirm {
                p {
                    @if by_filter { "The filters match " } @else { "You selected " }
                    strong { (thousands(matched)) } @if matched == 1 { " job" } @else { " jobs" } "; "
                    strong #bulk-applicable { (thousands(applicable)) } " can be "
                    (match action { asyncapex::BulkAction::Abort => "aborted", asyncapex::BulkAction::Retry => "retried", asyncapex::BulkAction::Delete => "deleted" })
                    " (the others are skipped)."
                }
                @if action == asyncapex::BulkAction::Delete { p.alert { "Deleted records cannot be brought back." } }
                p.muted { "It runs in steps of " (asyncapex::BULK_BATCH) " jobs, so other work keeps running meanwhile." }
                form method="post" action=(ctx.url("/jobs/bulk")) {
                    @for (n, v) in pairs {
                        @if n != "confirm" { input type="hidden" name=(n) value=(v); }
                    }
                    input type="hidden" name="confirm" value="yes";
                    div.filter-buttons {
                        button type="submit" class=(if action == asyncapex::BulkAction::Retry { "primary" } else { "danger" }) disabled[applicable == 0] {
                            (verb) " " (thousands(applicable)) @if applicable == 1 { " job" } @else { " jobs" }
                        }
                        a.button href=(ctx.url(&back)) { "Cancel" }
                    }
                }
            }
        };
        return Ok(super::layout(ctx, &format!("{verb} jobs?"), "jobs", body));
    }
    let report = target.run(state, action).await?;
    let body = html! {
        h1 { (verb) " jobs: done" }
        section.card.narrow #bulk-done {
            p {
                strong #bulk-count { (thousands(report.done)) } " "
                (match action { asyncapex::BulkAction::Abort => "aborted", asyncapex::BulkAction::Retry => "retried", asyncapex::BulkAction::Delete => "deleted" })
                ", " (thousands(report.skipped)) " skipped, of " (thousands(report.matched)) " matched."
            }
            p { a.button href=(ctx.url(&back)) { "Back to the list" } }
        }
    };
    Ok(super::layout(
        ctx,
        &format!("{verb} jobs: done"),
        "jobs",
        body,
    ))
}
