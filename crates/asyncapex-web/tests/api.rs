//! The JSON API through the router, without a socket: every endpoint's happy path, the token
//! on changes, and 4xx (never 5xx) for bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use asyncapex::JobStatus;
use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{TOKEN, call, fixture, get, post};

/// The overview's count of one status.
fn status_count(overview: &serde_json::Value, status: &str) -> u64 {
    overview["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == status)
        .unwrap()["count"]
        .as_u64()
        .unwrap()
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_overview_counts_jobs_by_status_and_lists_sixty_minutes() {
    let f = fixture().await;
    let r = get(&f.app, "/api/overview").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let o = r.json();
    let count = |status: &str| status_count(&o, status);
    assert_eq!(count("Completed"), 3); // the chain's two jobs and the batch
    assert_eq!(count("Queued"), 2);
    assert_eq!(count("Holding"), 3);
    assert_eq!(o["counts"].as_array().unwrap().len(), 7);
    let minutes = o["per_minute"].as_array().unwrap();
    assert_eq!(minutes.len(), 60);
    let completed: u64 = minutes
        .iter()
        .map(|m| m["completed"].as_u64().unwrap())
        .sum();
    assert_eq!(completed, 3);
    assert_eq!(o["flex_queue_size"], 3);
}

#[tokio::test]
async fn the_job_list_is_newest_first_filterable_and_keyset_paginated() {
    let f = fixture().await;
    let all = get(&f.app, "/api/jobs").await.json();
    let all_ids = ids(&all["jobs"]);
    assert_eq!(all_ids.len(), 8);
    let mut sorted = all_ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(all_ids, sorted, "newest (largest ID) first");
    assert!(all["next_before"].is_null());

    let queued = get(&f.app, "/api/jobs?status=Queued").await.json();
    assert_eq!(
        ids(&queued["jobs"]),
        vec![f.xss.to_string(), f.queued.to_string()]
    );
    let both = get(&f.app, "/api/jobs?status=queued,holding").await.json();
    assert_eq!(both["jobs"].as_array().unwrap().len(), 5);
    let batches = get(&f.app, "/api/jobs?job_type=BatchApex").await.json();
    assert_eq!(batches["jobs"].as_array().unwrap().len(), 4);
    let steps = get(&f.app, "/api/jobs?class=Step&job_type=Queueable")
        .await
        .json();
    assert_eq!(steps["jobs"].as_array().unwrap().len(), 3);

    // Pages of 3 cover the list exactly once, in order.
    let mut seen = Vec::new();
    let mut path = "/api/jobs?limit=3".to_owned();
    loop {
        let page = get(&f.app, &path).await.json();
        let page_ids = ids(&page["jobs"]);
        assert!(page_ids.len() <= 3);
        seen.extend(page_ids);
        match page["next_before"].as_str() {
            Some(before) => path = format!("/api/jobs?limit=3&before={before}"),
            None => break,
        }
    }
    assert_eq!(seen, all_ids);
}

#[tokio::test]
async fn a_batch_detail_has_progress_failed_chunks_and_error_events() {
    let f = fixture().await;
    let r = get(&f.app, &format!("/api/jobs/{}", f.batch)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = r.json();
    assert_eq!(d["job"]["status"], "Completed");
    assert_eq!(d["job"]["total_items"], 5);
    assert_eq!(d["batch"]["processed"], 5);
    assert_eq!(d["batch"]["failures"], 1);
    assert_eq!(d["batch"]["percent"], 100.0);
    let chunks = d["failed_chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0]["seq"], 1);
    assert_eq!(chunks[0]["error"], "item 3 is bad");
    let events = d["error_events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["phase"], "EXECUTE");
    assert_eq!(events[0]["job_scope"], "2,3");
}

#[tokio::test]
async fn a_job_detail_shows_its_chain_both_ways_and_every_field() {
    let f = fixture().await;
    let (root, child) = f.chain;
    let d = get(&f.app, &format!("/api/jobs/{root}")).await.json();
    assert_eq!(ids(&d["children"]), vec![child.to_string()]);
    assert!(d["parent"].is_null());
    assert!(d["batch"].is_null());
    for field in [
        "id",
        "job_type",
        "class_name",
        "method_name",
        "status",
        "extended_status",
        "items_processed",
        "total_items",
        "number_of_errors",
        "parent_job_id",
        "cron_trigger_id",
        "created_at",
        "started_at",
        "completed_at",
        "run_at",
        "attempt",
        "max_attempts",
        "stack_depth",
        "max_stack_depth",
        "failure_reenqueues",
        "signature",
        "payload",
        "lease_owner",
        "lease_expires_at",
        "abort_requested",
        "batch_scope",
        "batch_start_done",
        "flex_position",
    ] {
        assert!(d["job"].get(field).is_some(), "missing {field}");
    }
    assert_eq!(d["job"]["payload"], json!({ "remaining": 1 }));
    let c = get(&f.app, &format!("/api/jobs/{child}")).await.json();
    assert_eq!(c["parent"]["id"], root.to_string());
    assert_eq!(c["job"]["stack_depth"], 2);
}

#[tokio::test]
async fn enqueueing_a_registered_type_returns_201_and_the_queued_record() {
    let f = fixture().await;
    let r = post(
        &f.app,
        "/api/jobs",
        Some(json!({ "class_name": "Step", "payload": { "remaining": 0 }, "delay_seconds": 60 })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let created = r.json();
    assert_eq!(created["job"]["status"], "Queued");
    assert_eq!(created["job"]["class_name"], "Step");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        f.engine.job(id.parse().unwrap()).await.unwrap().status,
        JobStatus::Queued
    );
}

#[tokio::test]
async fn submitting_a_batch_appends_it_to_the_flex_queue() {
    let f = fixture().await;
    let r = post(
        &f.app,
        "/api/batches",
        Some(
            json!({ "class_name": "Numbers", "payload": { "n": 4, "fail_on": null }, "scope": 2 }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let q = get(&f.app, "/api/flex-queue").await.json();
    let holding = ids(&q["holding"]);
    assert_eq!(holding.len(), 4);
    assert_eq!(holding[3], id);
    assert_eq!(q["holding"][3]["batch_scope"], 2);
}

#[tokio::test]
async fn aborting_a_queued_job_aborts_it_once() {
    let f = fixture().await;
    let path = format!("/api/jobs/{}/abort", f.queued);
    let r = post(&f.app, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["outcome"], "aborted");
    assert_eq!(r.json()["job"]["status"], "Aborted");
    let again = post(&f.app, &path, None).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["outcome"], "already_finished");
}

#[tokio::test]
async fn schedules_list_explain_pause_resume_and_delete() {
    let f = fixture().await;
    let list = get(&f.app, "/api/schedules").await.json();
    let s = &list[0];
    assert_eq!(s["id"], f.schedule.to_string());
    assert_eq!(s["name"], "Nightly cleanup");
    assert_eq!(s["cron_expression"], "0 0 2 * * ?");
    assert!(s["explanation"].as_str().unwrap().contains("02:00"), "{s}");
    assert_eq!(s["state"], "WAITING");
    assert!(s["next_fire_time"].is_string());
    assert_eq!(s["times_triggered"], 0);

    let one = get(&f.app, &format!("/api/schedules/{}", f.schedule)).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["name"], "Nightly cleanup");

    let base = format!("/api/schedules/{}", f.schedule);
    let paused = post(&f.app, &format!("{base}/pause"), None).await.json();
    assert_eq!(
        (
            paused["changed"].clone(),
            paused["schedule"]["state"].clone()
        ),
        (json!(true), json!("PAUSED"))
    );
    let again = post(&f.app, &format!("{base}/pause"), None).await.json();
    assert_eq!(again["changed"], false);
    let resumed = post(&f.app, &format!("{base}/resume"), None).await.json();
    assert_eq!(resumed["schedule"]["state"], "WAITING");
    let deleted = call(&f.app, Method::DELETE, &base, None, Some(TOKEN)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(deleted.json()["schedule"]["state"], "DELETED");
    assert_eq!(get(&f.app, "/api/schedules").await.json(), json!([]));
    let all = get(&f.app, "/api/schedules?all=true").await.json();
    assert_eq!(all[0]["state"], "DELETED");
}

#[tokio::test]
async fn scheduling_over_the_api_returns_201_and_refuses_duplicates_and_bad_cron() {
    let f = fixture().await;
    let body = json!({
        "name": "Hourly", "cron_expression": "0 0 * * * ?", "class_name": "Tick",
        "time_zone": "Europe/Paris"
    });
    let r = post(&f.app, "/api/schedules", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let s = r.json();
    assert_eq!(
        (s["name"].clone(), s["state"].clone()),
        (json!("Hourly"), json!("WAITING"))
    );
    assert_eq!(s["time_zone"], "Europe/Paris");
    assert!(s["id"].as_str().unwrap().starts_with("08e"));
    let dup = post(&f.app, "/api/schedules", Some(body)).await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "duplicate_schedule_name".into())
    );
    let bad = post(
        &f.app,
        "/api/schedules",
        Some(json!({ "name": "Bad", "cron_expression": "0 0 25 * * ?", "class_name": "Tick" })),
    )
    .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "invalid_cron".into())
    );
    let zone = post(
        &f.app,
        "/api/schedules",
        Some(json!({ "name": "Zone", "cron_expression": "0 0 2 * * ?", "class_name": "Tick", "time_zone": "Mars/Olympus" })),
    )
    .await;
    assert_eq!(
        (zone.status, zone.code()),
        (StatusCode::BAD_REQUEST, "invalid_input".into())
    );
    let refused = call(
        &f.app,
        Method::POST,
        "/api/schedules",
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn flex_queue_moves_reorder_the_holding_jobs() {
    let f = fixture().await;
    let [a, b, c] = [0, 1, 2].map(|i| f.holding[i].to_string());
    let q = get(&f.app, "/api/flex-queue").await.json();
    assert_eq!(ids(&q["holding"]), vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(q["active"], json!([]));

    let mv = |id: &str| format!("/api/flex-queue/{id}/move");
    let r = post(&f.app, &mv(&c), Some(json!({ "to": "front" })))
        .await
        .json();
    assert_eq!(r["moved"], true);
    assert_eq!(ids(&r["holding"]), vec![c.clone(), a.clone(), b.clone()]);
    let r = post(&f.app, &mv(&c), Some(json!({ "to": "end" })))
        .await
        .json();
    assert_eq!(ids(&r["holding"]), vec![a.clone(), b.clone(), c.clone()]);
    let r = post(&f.app, &mv(&a), Some(json!({ "to": "after", "other": b })))
        .await
        .json();
    assert_eq!(ids(&r["holding"]), vec![b.clone(), a.clone(), c.clone()]);
    let r = post(&f.app, &mv(&c), Some(json!({ "to": "before", "other": b })))
        .await
        .json();
    assert_eq!(ids(&r["holding"]), vec![c.clone(), b.clone(), a.clone()]);
    let r = post(&f.app, &mv(&c), Some(json!({ "to": "front" })))
        .await
        .json();
    assert_eq!(r["moved"], false);
}

#[tokio::test]
async fn changes_without_the_token_are_401_and_reads_need_none() {
    let f = fixture().await;
    let abort = format!("/api/jobs/{}/abort", f.queued);
    for token in [None, Some("wrong-token-123"), Some("")] {
        let r = call(&f.app, Method::POST, &abort, None, token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(r.code(), "unauthorized");
        assert!(r.headers.contains_key("www-authenticate"));
    }
    let enqueue = json!({ "class_name": "Step", "payload": { "remaining": 0 } });
    let r = call(&f.app, Method::POST, "/api/jobs", Some(enqueue), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(
        &f.app,
        Method::DELETE,
        &format!("/api/schedules/{}", f.schedule),
        None,
        Some("nope-nope-nope"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(
        &f.app,
        Method::POST,
        &format!("/api/flex-queue/{}/move", f.holding[2]),
        Some(json!({ "to": "front" })),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Nothing changed.
    assert_eq!(
        f.engine.job(f.queued).await.unwrap().status,
        JobStatus::Queued
    );
    // Page forms without the session cookie are refused too.
    let r = support::form(&f.app, &format!("/jobs/{}/abort", f.queued), "", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Sign in"));
    let r = support::form(
        &f.app,
        &format!("/jobs/{}/abort", f.queued),
        "",
        Some("asyncapex_session=wrong-token-123"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        f.engine.job(f.queued).await.unwrap().status,
        JobStatus::Queued
    );

    for path in [
        "/".to_owned(),
        "/jobs".into(),
        format!("/jobs/{}", f.batch),
        "/schedules".into(),
        "/flex-queue".into(),
        "/queues".into(),
        "/login".into(),
        "/metrics".into(),
        "/api/openapi.json".into(),
        "/api/overview".into(),
        "/api/jobs".into(),
        format!("/api/jobs/{}", f.batch),
        "/api/schedules".into(),
        format!("/api/schedules/{}", f.schedule),
        "/api/flex-queue".into(),
        "/api/queues".into(),
        "/static/style.css".into(),
        "/static/app.js".into(),
    ] {
        let r = get(&f.app, &path).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.body);
    }
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_stable_code() {
    let f = fixture().await;
    let cases: Vec<(Method, String, Option<serde_json::Value>, StatusCode, &str)> = vec![
        (
            Method::GET,
            "/api/jobs/not-an-id".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            Method::GET,
            "/api/jobs/707000000000001".into(),
            None,
            StatusCode::NOT_FOUND,
            "unknown_job",
        ),
        (
            Method::GET,
            format!("/api/jobs/{}", f.schedule),
            None,
            StatusCode::BAD_REQUEST,
            "wrong_id_kind",
        ),
        (
            Method::GET,
            format!("/api/schedules/{}", f.queued),
            None,
            StatusCode::BAD_REQUEST,
            "wrong_id_kind",
        ),
        (
            Method::GET,
            "/api/schedules/08e000000000001".into(),
            None,
            StatusCode::NOT_FOUND,
            "unknown_schedule",
        ),
        (
            Method::GET,
            "/api/schedules/x".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            Method::GET,
            "/api/jobs?status=Running".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            Method::GET,
            "/api/jobs?job_type=Apex".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            Method::GET,
            "/api/jobs?limit=0".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            Method::GET,
            "/api/jobs?limit=lots".into(),
            None,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Method::GET,
            "/api/jobs?before=123".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            Method::GET,
            "/api/schedules?all=maybe".into(),
            None,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Method::GET,
            "/api/nothing-here".into(),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/api/jobs/bad/abort".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            Method::POST,
            "/api/jobs/707000000000001/abort".into(),
            None,
            StatusCode::NOT_FOUND,
            "unknown_job",
        ),
        (
            Method::POST,
            format!("/api/jobs/{}/abort", f.schedule),
            None,
            StatusCode::BAD_REQUEST,
            "wrong_id_kind",
        ),
        (
            Method::POST,
            format!("/api/schedules/{}/pause", f.queued),
            None,
            StatusCode::BAD_REQUEST,
            "wrong_id_kind",
        ),
        (
            Method::POST,
            "/api/schedules/08e000000000001/resume".into(),
            None,
            StatusCode::NOT_FOUND,
            "unknown_schedule",
        ),
        (
            Method::DELETE,
            "/api/schedules/08e0".into(),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            Method::POST,
            "/api/jobs".into(),
            Some(json!({ "class_name": "Step" })),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/jobs".into(),
            Some(json!({ "class_name": "Step", "payload": [1] })),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/jobs".into(),
            Some(json!({ "class_name": "", "payload": {} })),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/jobs".into(),
            Some(json!({ "class_name": "Step", "payload": { "remaining": "x" } })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_payload",
        ),
        (
            Method::POST,
            "/api/jobs".into(),
            Some(json!({ "class_name": "Step", "payload": {}, "extra": 1 })),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/batches".into(),
            Some(json!({ "class_name": "Numbers", "payload": { "n": 1 }, "scope": 0 })),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            Method::POST,
            format!("/api/flex-queue/{}/move", f.holding[0]),
            Some(json!({ "to": "before" })),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("/api/flex-queue/{}/move", f.holding[0]),
            Some(json!({ "to": "sideways" })),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("/api/flex-queue/{}/move", f.holding[0]),
            Some(json!({ "to": "after", "other": f.holding[0].to_string() })),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            Method::POST,
            format!("/api/flex-queue/{}/move", f.holding[0]),
            Some(json!({ "to": "after", "other": "junk" })),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            Method::POST,
            format!("/api/flex-queue/{}/move", f.queued),
            Some(json!({ "to": "front" })),
            StatusCode::CONFLICT,
            "not_in_flex_queue",
        ),
        (
            Method::POST,
            format!("/api/flex-queue/{}/move", f.holding[0]),
            Some(json!({ "to": "after", "other": f.batch.to_string() })),
            StatusCode::CONFLICT,
            "not_in_flex_queue",
        ),
        (
            Method::POST,
            "/api/flex-queue/707000000000001/move".into(),
            Some(json!({ "to": "front" })),
            StatusCode::NOT_FOUND,
            "unknown_job",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let r = call(&f.app, method.clone(), &path, body.clone(), Some(TOKEN)).await;
        assert_eq!(r.status, status, "{method} {path} {body:?}: {}", r.body);
        assert_eq!(r.code(), code, "{method} {path}");
        assert!(!r.json()["error"]["message"].as_str().unwrap().is_empty());
    }
    // Malformed JSON, and a body that is not declared as JSON.
    let r = support::send(
        &f.app,
        axum::http::Request::post("/api/jobs")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{\"class_name\": "))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid_body");
    let r = support::send(
        &f.app,
        axum::http::Request::post("/api/jobs")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(axum::body::Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.code(), "unsupported_media_type");
}

#[tokio::test]
async fn a_duplicate_signature_is_a_409() {
    let f = fixture().await;
    let options = asyncapex::EnqueueOptions::default().duplicate_signature(
        asyncapex::DuplicateSignature::builder()
            .add_string("once")
            .build()
            .unwrap(),
    );
    let mut tx = f.engine.begin();
    tx.enqueue_job_with(support::Step { remaining: 0 }, options.clone())
        .unwrap();
    tx.commit().await.unwrap();
    let err = f
        .engine
        .enqueue_job_with(support::Step { remaining: 0 }, options)
        .await
        .unwrap_err();
    let (status, code) = asyncapex_web::WebError::from(err).status_and_code();
    assert_eq!(
        (status, code),
        (StatusCode::CONFLICT, "duplicate_signature")
    );
}

#[tokio::test]
async fn the_openapi_document_is_json_listing_every_path() {
    let f = fixture().await;
    let r = get(&f.app, "/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/overview",
        "/api/jobs",
        "/api/jobs/{id}",
        "/api/jobs/{id}/abort",
        "/api/batches",
        "/api/schedules",
        "/api/schedules/{id}",
        "/api/schedules/{id}/pause",
        "/api/schedules/{id}/resume",
        "/api/flex-queue",
        "/api/flex-queue/{id}/move",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    assert!(paths["/api/jobs"].get("post").is_some());
    assert!(paths["/api/schedules/{id}"].get("delete").is_some());
    assert!(paths["/api/schedules"].get("post").is_some());
    assert!(doc["components"]["schemas"].get("JobView").is_some());
    assert!(doc["components"]["securitySchemes"].get("bearer").is_some());
}

#[tokio::test]
async fn metrics_expose_every_family_in_prometheus_text() {
    let f = fixture().await;
    let r = get(&f.app, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = &r.body;
    for (family, kind) in [
        ("asyncapex_jobs", "gauge"),
        ("asyncapex_queue_depth", "gauge"),
        ("asyncapex_flex_queue_size", "gauge"),
        ("asyncapex_active_batches", "gauge"),
        ("asyncapex_job_duration_seconds", "histogram"),
        ("asyncapex_jobs_ended_recent", "gauge"),
        ("asyncapex_jobs_rescued_recent", "gauge"),
        ("asyncapex_cron_lag_seconds", "gauge"),
        ("asyncapex_named_queue_jobs", "gauge"),
        ("asyncapex_named_queue_latency_seconds", "gauge"),
        ("asyncapex_named_queue_paused", "gauge"),
        ("asyncapex_tenant_jobs", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} {kind}\n")),
            "{family}"
        );
        assert!(text.contains(&format!("# HELP {family} ")), "{family}");
    }
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        line("asyncapex_jobs{job_type=\"Queueable\",status=\"Queued\"}"),
        "2"
    );
    assert_eq!(
        line("asyncapex_jobs{job_type=\"BatchApex\",status=\"Completed\"}"),
        "1"
    );
    assert_eq!(line("asyncapex_queue_depth "), "2");
    assert_eq!(line("asyncapex_flex_queue_size "), "3");
    assert_eq!(line("asyncapex_active_batches "), "0");
    assert_eq!(line("asyncapex_job_duration_seconds_count "), "3");
    assert_eq!(
        line("asyncapex_job_duration_seconds_bucket{le=\"+Inf\"}"),
        "3"
    );
    assert_eq!(
        line("asyncapex_jobs_ended_recent{status=\"Completed\"}"),
        "3"
    );
    assert_eq!(line("asyncapex_jobs_rescued_recent "), "0");
    assert_eq!(
        line(&format!(
            "asyncapex_cron_lag_seconds{{schedule_id=\"{}\",name=\"Nightly cleanup\"}}",
            f.schedule
        )),
        "0"
    );
    // Buckets are cumulative.
    let buckets: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("asyncapex_job_duration_seconds_bucket"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
}

#[tokio::test]
async fn serving_on_a_non_loopback_address_without_a_configured_token_is_refused() {
    use asyncapex_web::{Auth, StartError, check_bind};
    let generated = Auth::generated().unwrap();
    assert!(!generated.is_configured());
    assert_eq!(generated.token().len(), 64);
    let err = check_bind("0.0.0.0:7070".parse().unwrap(), &generated).unwrap_err();
    assert!(matches!(err, StartError::NonLoopbackWithoutToken { .. }));
    let message = err.to_string();
    assert!(
        message.contains("0.0.0.0:7070") && message.contains("--token"),
        "{message}"
    );
    assert!(check_bind("192.168.1.5:80".parse().unwrap(), &generated).is_err());
    assert!(check_bind("[::]:7070".parse().unwrap(), &generated).is_err());
    // Loopback with a generated token, or anywhere with a configured one, is fine.
    assert!(check_bind("127.0.0.1:7070".parse().unwrap(), &generated).is_ok());
    assert!(check_bind("[::1]:7070".parse().unwrap(), &generated).is_ok());
    let configured = Auth::new("a-long-enough-token").unwrap();
    assert!(check_bind("0.0.0.0:7070".parse().unwrap(), &configured).is_ok());
    // serve() itself refuses before binding anything.
    let f = fixture().await;
    let state = asyncapex_web::WebState::new(f.engine.clone(), generated);
    let err = asyncapex_web::serve("0.0.0.0:0".parse().unwrap(), state)
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::NonLoopbackWithoutToken { .. }));
    // Unusable tokens are refused at start-up too.
    assert!(Auth::new("short").is_err());
    assert!(Auth::new("has;semicolon").is_err());
    assert!(Auth::new("has space in it").is_err());
}

#[tokio::test]
async fn a_delay_past_the_documented_maximum_is_a_400_and_the_list_keeps_working() {
    let f = fixture().await;
    // The delay of issue 13: it stored a run_at the store could not read back, and every
    // listing with that row on it failed from then on.
    for delay in [115_200_858_273_512_u64, 31_536_001, u64::MAX] {
        let r = post(
            &f.app,
            "/api/jobs",
            Some(json!({ "class_name": "Step", "payload": { "remaining": 0 }, "delay_seconds": delay })),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{delay}: {}", r.body);
        assert_eq!(r.code(), "invalid_input", "{}", r.body);
        assert!(
            r.body.contains("delay_seconds") && r.body.contains("31536000"),
            "{}",
            r.body
        );
    }
    let r = post(
        &f.app,
        "/api/jobs",
        Some(json!({ "class_name": "Step", "payload": { "remaining": 0 }, "delay_seconds": 31_536_000 })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(get(&f.app, "/api/jobs").await.status, StatusCode::OK);

    // The document states the bounds the server enforces.
    let doc = get(&f.app, "/api/openapi.json").await.json();
    let delay = &doc["components"]["schemas"]["EnqueueRequest"]["properties"]["delay_seconds"];
    assert_eq!(delay["minimum"], 0, "{delay}");
    assert_eq!(delay["maximum"], 31_536_000, "{delay}");
}

#[tokio::test]
async fn a_deleted_schedule_is_gone_from_the_single_schedule_endpoints() {
    let f = fixture().await;
    let base = format!("/api/schedules/{}", f.schedule);
    let deleted = call(&f.app, Method::DELETE, &base, None, Some(TOKEN)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(deleted.json()["schedule"]["state"], "DELETED");
    for (method, path) in [
        (Method::POST, format!("{base}/pause")),
        (Method::POST, format!("{base}/resume")),
        (Method::DELETE, base.clone()),
        (Method::GET, base.clone()),
    ] {
        let r = call(&f.app, method.clone(), &path, None, Some(TOKEN)).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.body
        );
        assert_eq!(r.code(), "unknown_schedule");
    }
    // The history still lists it.
    let all = get(&f.app, "/api/schedules?all=true").await.json();
    assert_eq!(all[0]["state"], "DELETED");
}

#[tokio::test]
async fn the_openapi_document_states_the_constraints_and_every_status_the_server_uses() {
    let f = fixture().await;
    let doc = get(&f.app, "/api/openapi.json").await.json();
    let schemas = &doc["components"]["schemas"];
    // A payload can be any JSON value, null included (a job written by another client).
    let payload = &schemas["JobView"]["properties"]["payload"];
    assert!(payload.get("type").is_none(), "{payload}");
    for body in ["EnqueueRequest", "BatchRequest", "ScheduleRequest"] {
        let class = &schemas[body]["properties"]["class_name"];
        assert_eq!(class["minLength"], 1, "{body}: {class}");
    }
    assert_eq!(schemas["BatchRequest"]["properties"]["scope"]["minimum"], 1);
    // An iterable's scope has no cap (Apex); the field's own range is a u32's.
    assert_eq!(
        schemas["BatchRequest"]["properties"]["scope"]["maximum"],
        u64::from(u32::MAX)
    );
    // A format narrower than the stated range makes clients (and fuzzers) refuse values the
    // server accepts: no integer may claim `int32` with a maximum beyond `i32::MAX`.
    fn narrow_formats(path: &str, v: &serde_json::Value, found: &mut Vec<String>) {
        if let Some(o) = v.as_object() {
            let max = o.get("maximum").and_then(|m| m.as_u64()).unwrap_or(0);
            if o.get("format").and_then(|f| f.as_str()) == Some("int32") && max > i32::MAX as u64 {
                found.push(path.to_string());
            }
            for (k, child) in o {
                narrow_formats(&format!("{path}/{k}"), child, found);
            }
        } else if let Some(a) = v.as_array() {
            for (i, child) in a.iter().enumerate() {
                narrow_formats(&format!("{path}/{i}"), child, found);
            }
        }
    }
    let mut narrow = Vec::new();
    narrow_formats("", &doc, &mut narrow);
    assert!(narrow.is_empty(), "int32 with a larger maximum: {narrow:?}");

    let paths = doc["paths"].as_object().unwrap();
    let list = &paths["/api/jobs"]["get"]["parameters"];
    let limit = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    assert_eq!(limit["schema"]["maximum"], 500, "{limit}");
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for status in ["500", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path}: no {status}"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("415"), "{method} {path}: no 415");
                assert!(responses.contains_key("400"), "{method} {path}: no 400");
            }
            if op.get("security").is_some() {
                assert!(responses.contains_key("403"), "{method} {path}: no 403");
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" && param["name"] == "name" {
                    let pattern = param["schema"]["pattern"].as_str().unwrap_or("");
                    assert_eq!(pattern, "^[A-Za-z0-9_.-]{1,63}$", "{method} {path}");
                    assert!(responses.contains_key("400"), "{method} {path}: no 400");
                } else if param["in"] == "path" {
                    let pattern = param["schema"]["pattern"].as_str().unwrap_or("");
                    let prefix = if path.starts_with("/api/schedules") {
                        "08e"
                    } else {
                        "707"
                    };
                    assert!(pattern.contains(prefix), "{method} {path}: {param}");
                    assert!(responses.contains_key("400"), "{method} {path}: no 400");
                }
            }
        }
    }
    assert!(
        paths["/api/schedules"]["get"]["responses"]
            .get("400")
            .is_some()
    );
}

#[tokio::test]
async fn a_whole_number_written_with_a_zero_fraction_is_an_integer_as_the_document_says() {
    let f = fixture().await;
    let r = post(
        &f.app,
        "/api/jobs",
        Some(json!({ "class_name": "Step", "payload": { "remaining": 0 }, "delay_seconds": 96.0 })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = post(
        &f.app,
        "/api/batches",
        Some(json!({ "class_name": "Numbers", "payload": { "n": 1, "fail_on": null }, "scope": 1699.0 })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for delay in [json!(96.5), json!(-1), json!(1e300)] {
        let r = post(
            &f.app,
            "/api/jobs",
            Some(json!({ "class_name": "Step", "payload": { "remaining": 0 }, "delay_seconds": delay })),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{delay}: {}", r.body);
    }
}

#[tokio::test]
async fn the_move_request_schema_requires_other_exactly_for_before_and_after() {
    let f = fixture().await;
    let doc = get(&f.app, "/api/openapi.json").await.json();
    let variants = doc["components"]["schemas"]["MoveRequest"]["oneOf"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(variants.len(), 2, "{variants:?}");
    let needs_other = variants
        .iter()
        .find(|v| v["properties"]["to"]["enum"] == json!(["before", "after"]))
        .unwrap();
    assert_eq!(needs_other["required"], json!(["to", "other"]));
}

#[tokio::test]
async fn names_the_document_refuses_are_refused_and_names_it_allows_are_taken() {
    let f = fixture().await;
    // Longer than the document's 63 characters, though only whitespace makes it so: the
    // engine would trim and take it, which the document does not promise.
    let padded = format!("Step{}", "\u{c}".repeat(70));
    let blank = "   ".to_owned();
    for class in [padded, blank] {
        let r = post(
            &f.app,
            "/api/jobs",
            Some(json!({ "class_name": class, "payload": { "remaining": 0 } })),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{class:?}: {}", r.body);
        let r = post(
            &f.app,
            "/api/schedules",
            Some(json!({ "name": class, "cron_expression": "0 0 2 * * ?", "class_name": "Tick" })),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{class:?}: {}", r.body);
    }
    // 63 four-byte characters: the most the document allows, and the engine takes it.
    let widest = "\u{1F600}".repeat(63);
    let r = post(
        &f.app,
        "/api/schedules",
        Some(json!({ "name": widest, "cron_expression": "0 0 2 * * ?", "class_name": "Tick" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let doc = get(&f.app, "/api/openapi.json").await.json();
    let class = &doc["components"]["schemas"]["EnqueueRequest"]["properties"]["class_name"];
    assert_eq!(class["maxLength"], 63, "{class}");
    assert!(class["pattern"].is_string(), "{class}");
}

#[tokio::test]
async fn purging_needs_the_token_counts_on_a_dry_run_and_deletes_only_finished_records() {
    let f = fixture().await;
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    let count = status_count;

    let body = json!({ "before": later });
    for token in [None, Some("wrong-token-123")] {
        let r = call(
            &f.app,
            Method::POST,
            "/api/jobs/purge",
            Some(body.clone()),
            token,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?}");
    }
    let o = get(&f.app, "/api/overview").await.json();
    assert_eq!(count(&o, "Completed"), 3, "nothing went without the token");

    // The fixture's records ended moments ago: a day's cut keeps them all.
    let r = post(&f.app, "/api/jobs/purge", Some(json!({ "before": "1d" }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["deleted"], 0);

    let r = post(
        &f.app,
        "/api/jobs/purge",
        Some(json!({ "before": later, "dry_run": true })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["deleted"], 3);
    assert_eq!(r.json()["dry_run"], true);
    assert!(
        f.engine.job(f.batch).await.is_ok(),
        "a dry run deletes nothing"
    );

    let r = post(
        &f.app,
        "/api/jobs/purge",
        Some(json!({ "before": later, "statuses": ["Completed"], "job_types": ["BatchApex"] })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["deleted"], 1, "only the finished batch");
    let r = get(&f.app, &format!("/api/jobs/{}", f.batch)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "the batch is gone");

    let r = post(&f.app, "/api/jobs/purge", Some(body)).await;
    assert_eq!(r.json()["deleted"], 2, "the chain's two jobs");
    let o = get(&f.app, "/api/overview").await.json();
    assert_eq!(count(&o, "Completed"), 0);
    assert_eq!(count(&o, "Queued"), 2, "waiting jobs are never purged");
    assert_eq!(count(&o, "Holding"), 3);
    assert_eq!(
        get(&f.app, "/api/schedules")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1,
        "schedules are never purged"
    );
}

#[tokio::test]
async fn a_bad_purge_request_is_a_400_naming_what_broke() {
    let f = fixture().await;
    for (body, code, says) in [
        (json!({ "before": "last week" }), "invalid_input", "an age"),
        (json!({ "before": "-3d" }), "invalid_input", "not negative"),
        (
            json!({ "before": "1h", "statuses": ["Queued"] }),
            "invalid_input",
            "Queued",
        ),
        (
            json!({ "before": "1h", "statuses": ["Nope"] }),
            "invalid_body",
            "Nope",
        ),
        (json!({ "statuses": ["Failed"] }), "invalid_body", "before"),
        (
            json!({ "before": "1h", "extra": true }),
            "invalid_body",
            "extra",
        ),
    ] {
        let r = post(&f.app, "/api/jobs/purge", Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.code(), code, "{body}");
        assert!(r.body.contains(says), "{body}: {}", r.body);
    }
    let o = get(&f.app, "/api/overview").await.json();
    assert!(
        o["counts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "Completed" && c["count"] == 3),
        "nothing was deleted"
    );
}

#[tokio::test]
async fn the_overview_states_the_retention_in_force() {
    let f = fixture().await;
    let o = get(&f.app, "/api/overview").await.json();
    let retention = o["retention"].as_array().unwrap();
    let statuses: Vec<&str> = retention
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Completed", "Failed", "Aborted"]);
    for r in retention {
        assert_eq!(r["kept_seconds"], 7 * 86_400, "Apex's 7 days: {r}");
        assert_eq!(r["longer"], json!([]));
    }
    let page = get(&f.app, "/").await;
    assert!(page.body.contains("Completed kept"), "{}", page.body);
    assert!(page.body.contains("7 days"));
}

#[tokio::test]
async fn queues_are_listed_paused_and_resumed_with_the_token_and_jobs_name_theirs() {
    let f = fixture().await;
    let r = post(
        &f.app,
        "/api/jobs",
        Some(json!({ "class_name": "Step", "payload": { "remaining": 0 },
            "queue": "callouts", "priority": 3, "tenant": "org-42" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let job = r.json()["job"].clone();
    assert_eq!(
        (&job["queue"], &job["priority"], &job["tenant"]),
        (&json!("callouts"), &json!(3), &json!("org-42"))
    );
    for bad in [
        json!({ "class_name": "Step", "payload": { "remaining": 0 }, "queue": "has space" }),
        json!({ "class_name": "Step", "payload": { "remaining": 0 }, "priority": 10 }),
        json!({ "class_name": "Step", "payload": { "remaining": 0 }, "priority": 300 }),
        json!({ "class_name": "Step", "payload": { "remaining": 0 }, "tenant": "" }),
        json!({ "class_name": "Step", "payload": { "remaining": 0 }, "tenant": "a\u{7}b" }),
    ] {
        let r = post(&f.app, "/api/jobs", Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }

    let listed = get(&f.app, "/api/queues").await.json();
    let callouts = listed["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "callouts")
        .unwrap()
        .clone();
    assert_eq!(
        (&callouts["queued"], &callouts["paused"]),
        (&json!(1), &json!(false))
    );
    assert_eq!(listed["tenants"][0]["tenant"], "org-42");

    let r = call(
        &f.app,
        Method::POST,
        "/api/queues/callouts/pause",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = post(&f.app, "/api/queues/callouts/pause", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["changed"], true);
    assert_eq!(r.json()["queue"]["paused"], true);
    let again = post(&f.app, "/api/queues/callouts/pause", None)
        .await
        .json();
    assert_eq!(again["changed"], false);
    let r = post(&f.app, "/api/queues/bad%20name/pause", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let metrics = get(&f.app, "/metrics").await.body;
    assert!(
        metrics.contains("asyncapex_named_queue_paused{queue=\"callouts\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "asyncapex_tenant_jobs{queue=\"callouts\",tenant=\"org-42\",state=\"queued\"} 1"
    ));
    let page = get(&f.app, "/queues").await;
    assert!(page.body.contains("callouts") && page.body.contains("Paused"));
    let r = post(&f.app, "/api/queues/callouts/resume", None).await;
    assert_eq!(r.json()["queue"]["paused"], false);
}
