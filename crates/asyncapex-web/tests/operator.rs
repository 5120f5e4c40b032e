//! What an operator reaches for, through the router without a socket: retry, delete, bulk
//! actions with their count and confirmation, search and filters in the URL, and a
//! schedule's page — each with its happy path, 4xx for bad input and 401 without the token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use asyncapex::JobStatus;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use support::{TOKEN, call, cookie, fixture, form, get, post, send};

fn ids(page: &serde_json::Value) -> Vec<String> {
    page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn retry_makes_a_linked_copy_of_a_failed_or_aborted_job_only() {
    let f = fixture().await;
    f.engine.abort_job(f.queued).await.unwrap();
    let path = format!("/api/jobs/{}/retry", f.queued);
    let refused = call(&f.app, Method::POST, &path, None, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let r = post(&f.app, &path, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let created = r.json();
    let new = created["id"].as_str().unwrap().to_owned();
    assert_ne!(new, f.queued.to_string());
    assert_eq!(created["job"]["retry_of"], f.queued.to_string());
    assert_eq!(created["job"]["status"], "Queued");
    let original = get(&f.app, &format!("/api/jobs/{}", f.queued)).await.json();
    assert_eq!(created["job"]["class_name"], original["job"]["class_name"]);
    assert_eq!(created["job"]["payload"], original["job"]["payload"]);
    // Shown both ways: the original lists its retry.
    assert_eq!(original["retries"][0]["id"], new);
    let retries = get(&f.app, &format!("/api/jobs?retry_of={}", f.queued))
        .await
        .json();
    assert_eq!(ids(&retries), vec![new.clone()]);

    // A completed job, a queued one, an unknown one and a malformed ID are refused.
    let completed = post(&f.app, &format!("/api/jobs/{}/retry", f.chain.0), None).await;
    assert_eq!(
        (completed.status, completed.code()),
        (StatusCode::CONFLICT, "wrong_status".into())
    );
    assert!(completed.body.contains("only a Failed or Aborted job"));
    let queued = post(&f.app, &format!("/api/jobs/{new}/retry"), None).await;
    assert_eq!(queued.status, StatusCode::CONFLICT);
    let unknown = post(&f.app, "/api/jobs/707000000000001/retry", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad = post(&f.app, "/api/jobs/nope/retry", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_batch_retry_rerun_whole_joins_the_flex_queue() {
    let f = fixture().await;
    f.engine.abort_job(f.holding[0]).await.unwrap();
    let r = post(&f.app, &format!("/api/jobs/{}/retry", f.holding[0]), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let job = &r.json()["job"];
    assert_eq!(job["status"], "Holding");
    assert_eq!(job["job_type"], "BatchApex");
    assert_eq!(job["batch_scope"], 200);
    assert_eq!(job["items_processed"], 0);
}

#[tokio::test]
async fn delete_removes_a_finished_record_and_refuses_a_waiting_one() {
    let f = fixture().await;
    let path = format!("/api/jobs/{}", f.batch);
    let refused = call(&f.app, Method::DELETE, &path, None, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let r = call(&f.app, Method::DELETE, &path, None, Some(TOKEN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["deleted"], f.batch.to_string());
    assert_eq!(get(&f.app, &path).await.status, StatusCode::NOT_FOUND);
    // Its chunks and error events went with it.
    assert!(
        f.engine
            .batch_chunks(f.batch, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let waiting = call(
        &f.app,
        Method::DELETE,
        &format!("/api/jobs/{}", f.queued),
        None,
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        (waiting.status, waiting.code()),
        (StatusCode::CONFLICT, "wrong_status".into())
    );
    let again = call(&f.app, Method::DELETE, &path, None, Some(TOKEN)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_bulk_action_counts_first_then_acts_on_every_match_or_a_selection() {
    let f = fixture().await;
    let body = |action: &str, dry_run: bool| json!({ "action": action, "filter": { "status": "Holding" }, "dry_run": dry_run });
    let refused = call(
        &f.app,
        Method::POST,
        "/api/jobs/bulk",
        Some(body("abort", true)),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let dry = post(&f.app, "/api/jobs/bulk", Some(body("abort", true))).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let dry = dry.json();
    assert_eq!(
        (&dry["matched"], &dry["applicable"], &dry["done"]),
        (&json!(3), &json!(3), &json!(0))
    );
    // Nothing changed on a dry run.
    let holding = get(&f.app, "/api/jobs?status=Holding").await.json();
    assert_eq!(ids(&holding).len(), 3);
    let done = post(&f.app, "/api/jobs/bulk", Some(body("abort", false)))
        .await
        .json();
    assert_eq!((&done["done"], &done["skipped"]), (&json!(3), &json!(0)));
    for id in &f.holding {
        assert_eq!(f.engine.job(*id).await.unwrap().status, JobStatus::Aborted);
    }
    // Retry every aborted one: three new holding batches, linked.
    let retried = post(
        &f.app,
        "/api/jobs/bulk",
        Some(json!({ "action": "retry", "filter": { "status": "Aborted" } })),
    )
    .await
    .json();
    assert_eq!(retried["done"], 3);
    assert_eq!(retried["retries"].as_array().unwrap().len(), 3);
    // A selection: delete two of the aborted originals and skip a queued job.
    let selection = json!({
        "action": "delete",
        "ids": [f.holding[0].to_string(), f.holding[1].to_string(), f.queued.to_string()],
    });
    let deleted = post(&f.app, "/api/jobs/bulk", Some(selection)).await.json();
    assert_eq!(
        (&deleted["done"], &deleted["skipped"]),
        (&json!(2), &json!(1))
    );
    // Bad requests: neither target, both, an empty filter, an unknown action, a bad ID.
    for bad in [
        json!({ "action": "abort" }),
        json!({ "action": "abort", "filter": { "status": "Queued" }, "ids": [f.queued.to_string()] }),
        json!({ "action": "abort", "filter": {} }),
        json!({ "action": "explode", "filter": { "status": "Queued" } }),
        json!({ "action": "abort", "ids": ["nope"] }),
        json!({ "action": "abort", "ids": [] }),
        json!({ "action": "abort", "filter": { "status": "Sleeping" } }),
    ] {
        let r = post(&f.app, "/api/jobs/bulk", Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
}

#[tokio::test]
async fn the_list_searches_by_id_any_case_and_class_prefix_and_counts_the_filter() {
    let f = fixture().await;
    // An 18-character ID in any letter case, and the 15-character form.
    let id18 = f.batch.to_string();
    for q in [
        id18.to_lowercase(),
        id18.to_uppercase(),
        f.batch.as_15().to_owned(),
    ] {
        let page = get(&f.app, &format!("/api/jobs?q={q}")).await.json();
        assert_eq!(ids(&page), vec![id18.clone()], "q={q}");
        assert_eq!(page["count"], 1);
    }
    // A class-name prefix in any case: the chain's two Step jobs and the queued one.
    let steps = get(&f.app, "/api/jobs?q=sTe").await.json();
    assert_eq!(ids(&steps).len(), 3, "{steps}");
    assert!(
        steps["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["class_name"].as_str().unwrap().ends_with("Step"))
    );
    assert_eq!(steps["count"], 3);
    let none = get(&f.app, "/api/jobs?q=NoSuchClass").await.json();
    assert_eq!((ids(&none).len(), &none["count"]), (0, &json!(0)));
    // Several statuses, as repeated parameters (a form's multiple select) or a list.
    let both = get(&f.app, "/api/jobs?status=Completed&status=Holding")
        .await
        .json();
    assert_eq!(both["count"], 6);
    assert_eq!(ids(&both).len(), 6);
    // Date ranges: nothing was submitted tomorrow; everything today; bad input is a 400.
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let tomorrow = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24))
        .strftime("%Y-%m-%d")
        .to_string();
    let later = get(&f.app, &format!("/api/jobs?submitted_from={tomorrow}"))
        .await
        .json();
    assert_eq!(later["count"], 0);
    let now = get(
        &f.app,
        &format!("/api/jobs?submitted_from={today}&submitted_to={today}&completed_from={today}"),
    )
    .await
    .json();
    assert_eq!(now["count"], 3, "the three finished jobs: {now}");
    for bad in [
        "submitted_from=yesterday",
        "completed_to=2026-13-01",
        "schedule=707000000000001",
        "parent=nope",
        "status=Completed&class=A&class=B",
    ] {
        let r = get(&f.app, &format!("/api/jobs?{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    // A range that ends before it starts matches nothing; the last day there is is a day.
    let inverted = get(
        &f.app,
        "/api/jobs?submitted_from=2026-12-03&submitted_to=2026-12-01",
    )
    .await;
    assert_eq!(inverted.status, StatusCode::OK, "{}", inverted.body);
    assert_eq!(inverted.json()["count"], 0);
    let last = get(
        &f.app,
        "/api/jobs?submitted_to=9999-12-31&completed_from=0001-01-01",
    )
    .await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.body);
    // By parent.
    let children = get(&f.app, &format!("/api/jobs?parent={}", f.chain.0))
        .await
        .json();
    assert_eq!(ids(&children), vec![f.chain.1.to_string()]);
}

#[tokio::test]
async fn the_pages_search_retry_delete_and_confirm_a_bulk_action() {
    let f = fixture().await;
    // A search for an ID opens the job.
    let r = get(
        &f.app,
        &format!("/jobs?q={}", f.batch.to_string().to_lowercase()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], format!("/jobs/{}", f.batch));
    // The filters stay in the URL of the next page, and the count shows.
    let page = get(&f.app, "/jobs?status=Holding&limit=2").await.body;
    assert!(page.contains("3 jobs"), "{page}");
    assert!(page.contains("status=Holding&amp;limit=2&amp;before="));
    // Signed in: per-row retry for an aborted job, bulk bar, checkboxes.
    f.engine.abort_job(f.queued).await.unwrap();
    let signed = send(
        &f.app,
        Request::get("/jobs?status=Aborted")
            .header(header::COOKIE, cookie())
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .body;
    assert!(signed.contains(&format!("action=\"/jobs/{}/retry\"", f.queued)));
    assert!(signed.contains(&format!("name=\"id_{}\"", f.queued)));
    assert!(signed.contains("action=\"/jobs/bulk\""));
    // Retry from the button: to the new job's page.
    let r = form(
        &f.app,
        &format!("/jobs/{}/retry", f.queued),
        "",
        Some(&cookie()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let new_page = r.headers["location"].to_str().unwrap().to_owned();
    let detail = send(
        &f.app,
        Request::get(&new_page)
            .header(header::COOKIE, cookie())
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .body;
    assert!(detail.contains("Retry of"), "{detail}");
    assert!(detail.contains(&f.queued.to_string()));
    // Bulk abort of the holding batches: a confirmation with the count, then the action.
    let ask = form(
        &f.app,
        "/jobs/bulk",
        "action=abort&scope=filter&f_status=Holding",
        Some(&cookie()),
    )
    .await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    assert!(
        ask.body.contains("id=\"bulk-applicable\">3<"),
        "{}",
        ask.body
    );
    assert!(ask.body.contains("name=\"confirm\" value=\"yes\""));
    for id in &f.holding {
        assert_eq!(
            f.engine.job(*id).await.unwrap().status,
            JobStatus::Holding,
            "not yet"
        );
    }
    let done = form(
        &f.app,
        "/jobs/bulk",
        "action=abort&scope=filter&f_status=Holding&confirm=yes",
        Some(&cookie()),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("id=\"bulk-count\">3<"), "{}", done.body);
    // Without the cookie the bulk form is refused; with no selection it says why.
    let anon = form(&f.app, "/jobs/bulk", "action=abort&scope=selected", None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let empty = form(
        &f.app,
        "/jobs/bulk",
        "action=abort&scope=selected",
        Some(&cookie()),
    )
    .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    // Delete from the detail page's button.
    let r = form(
        &f.app,
        &format!("/jobs/{}/delete", f.batch),
        "return_to=/jobs",
        Some(&cookie()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&f.app, &format!("/jobs/{}", f.batch)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_schedule_has_a_page_with_its_next_ten_runs_dst_marked_and_past_runs() {
    let f = fixture().await;
    // Noon on the first of each month in New York: ten runs cross a DST change.
    let monthly = f
        .engine
        .schedule_with(
            "Monthly report",
            "0 0 12 1 * ?",
            support::Tick {},
            asyncapex::ScheduleOptions::default().time_zone("America/New_York"),
        )
        .await
        .unwrap();
    let api = get(&f.app, &format!("/api/schedules/{monthly}")).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let d = api.json();
    assert_eq!(d["name"], "Monthly report");
    let upcoming = d["upcoming"].as_array().unwrap();
    assert_eq!(upcoming.len(), 10);
    assert!(
        upcoming
            .iter()
            .all(|u| u["local"].as_str().unwrap().contains(" 12:00:00 "))
    );
    assert!(upcoming.iter().any(|u| u["dst"] == true));
    assert!(upcoming.iter().any(|u| u["dst"] == false));
    // Ten months always cross a change; each change is marked on the first run after it.
    let changes = upcoming
        .iter()
        .filter(|u| u["offset_changed"] == true)
        .count();
    assert!((1..=2).contains(&changes), "{upcoming:?}");
    for pair in upcoming.windows(2) {
        assert_eq!(
            pair[1]["offset_changed"] == true,
            pair[0]["dst"] != pair[1]["dst"],
            "{pair:?}"
        );
    }
    assert_eq!(d["recent_runs"], json!([]));
    // The page: fields, the ten runs, and links from the list and from a job's "Scheduled By".
    let page = get(&f.app, &format!("/schedules/{monthly}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("America/New_York"));
    assert_eq!(
        page.body.matches("span class=\"tag dst\"").count(),
        upcoming.iter().filter(|u| u["dst"] == true).count()
    );
    assert!(page.body.contains("clocks changed"));
    let list = get(&f.app, "/schedules").await.body;
    assert!(list.contains(&format!("href=\"/schedules/{monthly}\"")));
    let unknown = get(&f.app, "/schedules/08e000000000001").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad = get(&f.app, "/schedules/nope").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // A deleted schedule's page still shows (its history), with no runs to come.
    f.engine.abort_job(monthly).await.unwrap();
    let gone = get(&f.app, &format!("/schedules/{monthly}")).await;
    assert_eq!(gone.status, StatusCode::OK);
    assert!(gone.body.contains("It will not fire again."));
}

#[tokio::test]
async fn a_job_shows_its_attempts_on_its_page_and_in_the_api() {
    let f = fixture().await;
    let api = get(&f.app, &format!("/api/jobs/{}", f.chain.0))
        .await
        .json();
    let attempts = api["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["outcome"], "Completed");
    assert_eq!(attempts[0]["attempt"], 1);
    assert!(attempts[0]["node"].as_str().unwrap().contains('#'));
    let queued = get(&f.app, &format!("/api/jobs/{}", f.queued)).await.json();
    assert_eq!(queued["attempts"], json!([]));
    let page = get(&f.app, &format!("/jobs/{}", f.chain.0)).await.body;
    assert!(page.contains("id=\"attempts\""));
    assert!(page.contains(">Completed</span>"));
}

/// A card number, marked sensitive by its job type.
#[derive(serde::Serialize, serde::Deserialize)]
struct Charge {
    card: String,
    amount: u32,
}

impl asyncapex::Queueable for Charge {
    const SENSITIVE_FIELDS: &'static [&'static str] = &["card"];

    async fn execute(
        &mut self,
        _ctx: &mut asyncapex::QueueableContext,
    ) -> Result<(), asyncapex::JobError> {
        Ok(())
    }
}

#[tokio::test]
async fn sensitive_payload_fields_are_redacted_on_pages_and_in_the_api() {
    const CARD: &str = "4111 1111 1111 1111";
    let f = fixture().await;
    // A worker that registers the type records its sensitive fields; the dashboard's own
    // engine registers nothing and still redacts.
    let worker = asyncapex::Engine::builder()
        .store(f.engine.store().clone())
        .register::<Charge>()
        .concurrency(0)
        .scheduler(false)
        .start()
        .await
        .unwrap();
    let id = worker
        .enqueue_job(Charge {
            card: CARD.into(),
            amount: 12,
        })
        .await
        .unwrap();
    // The job itself keeps the number.
    assert!(worker.job(id).await.unwrap().payload.contains(CARD));
    for path in [
        format!("/api/jobs/{id}"),
        "/api/jobs".to_owned(),
        format!("/jobs/{id}"),
        "/jobs".to_owned(),
    ] {
        let r = get(&f.app, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(!r.body.contains(CARD), "{path} shows the card number");
    }
    let detail = get(&f.app, &format!("/api/jobs/{id}")).await.json();
    assert_eq!(
        detail["job"]["payload"],
        json!({ "card": "[redacted]", "amount": 12 })
    );
    worker
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}
