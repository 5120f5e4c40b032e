//! The pages through the router: what they show, that job data is escaped, the sign-in
//! cookie and the page actions, and mounting under a prefix.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use asyncapex::JobStatus;
use axum::http::StatusCode;
use support::{SCRIPT, TOKEN, cookie, fixture, form, get};

#[tokio::test]
async fn a_script_in_a_payload_is_escaped_on_the_list_and_detail_pages() {
    let f = fixture().await;
    for path in [
        "/jobs".to_owned(),
        format!("/jobs/{}", f.xss),
        "/jobs?status=Queued".into(),
    ] {
        let r = get(&f.app, &path).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.body.contains(SCRIPT), "{path} has the raw script");
        assert!(!r.body.contains("<script>alert"), "{path}");
    }
    let detail = get(&f.app, &format!("/jobs/{}", f.xss)).await.body;
    assert!(
        detail.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;")
            || detail.contains("&lt;script&gt;alert('pwned')&lt;/script&gt;"),
        "the payload is shown, escaped"
    );
    // No inline script may run anyway: the policy allows only the served file.
    let r = get(&f.app, "/jobs").await;
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
}

#[tokio::test]
async fn the_apex_jobs_page_shows_apex_columns_filters_and_pages() {
    let f = fixture().await;
    let body = get(&f.app, "/jobs").await.body;
    for column in [
        "Submitted Date",
        "Job Type",
        "Status",
        "Status Detail",
        "Total Batches",
        "Batches Processed",
        "Failures",
        "Apex Class",
        "Apex Method",
        "Completion Date",
        "Apex Job ID",
        "Action",
    ] {
        assert!(body.contains(&format!(">{column}</th>")), "{column}");
    }
    assert!(body.contains(&f.batch.to_string()));
    // Newest first: the last holding batch is listed before the finished batch.
    let newest = body.find(&f.holding[2].to_string()).unwrap();
    let older = body.find(&f.batch.to_string()).unwrap();
    assert!(newest < older);
    // Filters narrow the list; a page of 2 links to the next.
    let failed_only = get(&f.app, "/jobs?job_type=BatchApex&status=Completed")
        .await
        .body;
    assert!(failed_only.contains(&f.batch.to_string()));
    assert!(!failed_only.contains(&f.queued.to_string()));
    let paged = get(&f.app, "/jobs?limit=2").await.body;
    assert!(paged.contains("id=\"older\""));
    assert!(paged.contains(&format!("before={}", f.holding[1])));
    // A bad filter is a 400 page, not a 500.
    let bad = get(&f.app, "/jobs?status=Running").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("invalid_input"));
    // Signed out: no abort buttons, a sign-in hint instead. Signed in: abort buttons.
    assert!(!body.contains("/abort\""));
    assert!(body.contains("Sign in</a> to abort, retry and delete jobs"));
}

#[tokio::test]
async fn the_batch_detail_page_shows_progress_chunks_events_and_the_payload() {
    let f = fixture().await;
    let body = get(&f.app, &format!("/jobs/{}", f.batch)).await.body;
    assert!(body.contains("<progress max=\"100\" value=\"100.0\">"));
    assert!(body.contains("5 of 5 batches processed"));
    assert!(body.contains("id=\"failed-chunks\""));
    assert!(body.contains("item 3 is bad"));
    assert!(body.contains("id=\"error-events\""));
    assert!(body.contains("EXECUTE"));
    assert!(
        body.contains("&quot;fail_on&quot;: 3"),
        "pretty-printed payload"
    );
    let (root, child) = f.chain;
    let chain = get(&f.app, &format!("/jobs/{root}")).await.body;
    assert!(chain.contains(&format!("href=\"/jobs/{child}\"")));
    let back = get(&f.app, &format!("/jobs/{child}")).await.body;
    assert!(back.contains(&format!(
        "Enqueued by <a class=\"mono\" href=\"/jobs/{root}\""
    )));
    let missing = get(&f.app, "/jobs/707000000000001").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let malformed = get(&f.app, "/jobs/nope").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_overview_draws_counts_and_an_svg_chart() {
    let f = fixture().await;
    let body = get(&f.app, "/").await.body;
    assert!(body.contains("<svg id=\"throughput\""));
    assert!(body.contains("class=\"completed\""));
    assert!(body.contains("Completed <strong>3</strong>"));
    assert!(body.contains("data-status=\"Holding\""));
    // Jobs are queued, so the page refreshes itself.
    assert!(body.contains("data-refresh=\"5\""));
}

#[tokio::test]
async fn the_scheduled_jobs_page_explains_expressions() {
    let f = fixture().await;
    let body = get(&f.app, "/schedules").await.body;
    assert!(body.contains("Nightly cleanup"));
    assert!(body.contains("0 0 2 * * ?"));
    assert!(body.contains("02:00"));
    assert!(body.contains("WAITING"));
    assert!(body.contains("UTC"));
}

#[tokio::test]
async fn the_flex_queue_page_lists_holding_jobs_in_order() {
    let f = fixture().await;
    let body = get(&f.app, "/flex-queue").await.body;
    let positions: Vec<usize> = f
        .holding
        .iter()
        .map(|id| body.find(&format!("data-job-id=\"{id}\"")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    assert!(body.contains("No batch job is queued or running."));
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_that_page_actions_use() {
    let f = fixture().await;
    let wrong = form(&f.app, "/login", "token=wrong-token-123&next=/jobs", None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!wrong.headers.contains_key("set-cookie"));
    let ok = form(&f.app, "/login", &format!("token={TOKEN}&next=/jobs"), None).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.headers["location"], "/jobs");
    let set_cookie = ok.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("asyncapex_session="), "{set_cookie}");
    assert!(
        !set_cookie.contains(TOKEN),
        "the cookie never holds the token: {set_cookie}"
    );
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    assert!(set_cookie.contains("Max-Age=43200"), "{set_cookie}");
    // Never redirected off-site.
    let off = form(
        &f.app,
        "/login",
        &format!("token={TOKEN}&next=//evil.example"),
        None,
    )
    .await;
    assert_eq!(off.headers["location"], "/");

    // Signed in, the pages show actions and the forms work.
    let page = support::send(
        &f.app,
        axum::http::Request::get("/jobs")
            .header("cookie", cookie())
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        page.body
            .contains(&format!("action=\"/jobs/{}/abort\"", f.queued))
    );
    assert!(page.body.contains("Sign out"));
    let r = form(
        &f.app,
        &format!("/jobs/{}/abort", f.queued),
        "return_to=%2Fjobs%3Fstatus%3DQueued",
        Some(&cookie()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/jobs?status=Queued");
    assert_eq!(
        f.engine.job(f.queued).await.unwrap().status,
        JobStatus::Aborted
    );

    let base = format!("/schedules/{}", f.schedule);
    assert_eq!(
        form(&f.app, &format!("{base}/pause"), "", Some(&cookie()))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(get(&f.app, "/schedules").await.body.contains("PAUSED"));
    form(&f.app, &format!("{base}/resume"), "", Some(&cookie())).await;
    assert!(get(&f.app, "/schedules").await.body.contains("WAITING"));
    form(&f.app, &format!("{base}/delete"), "", Some(&cookie())).await;
    assert!(
        get(&f.app, "/schedules")
            .await
            .body
            .contains("No schedules.")
    );

    let [a, b, c] = [0, 1, 2].map(|i| f.holding[i]);
    let r = form(
        &f.app,
        &format!("/flex-queue/{c}/move"),
        "to=before&other=".to_owned().as_str(),
        Some(&cookie()),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = form(
        &f.app,
        &format!("/flex-queue/{c}/move"),
        &format!("to=before&other={a}"),
        Some(&cookie()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let order: Vec<_> = f
        .engine
        .flex_queue()
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(order, vec![c, a, b]);

    let out = form(&f.app, "/logout", "", Some(&cookie())).await;
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn the_router_mounts_under_a_prefix_with_its_links() {
    let f = fixture().await;
    let state =
        asyncapex_web::WebState::new(f.engine.clone(), asyncapex_web::Auth::new(TOKEN).unwrap())
            .base_path("/ops");
    let app = axum::Router::new().nest("/ops", asyncapex_web::router(state));
    let r = get(&app, "/ops/jobs").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&format!("href=\"/ops/jobs/{}\"", f.batch)));
    assert!(r.body.contains("href=\"/ops/static/style.css\""));
    let api = get(&app, "/ops/api/flex-queue").await;
    assert_eq!(api.status, StatusCode::OK);
    let refused = support::call(
        &app,
        axum::http::Method::POST,
        &format!("/ops/api/jobs/{}/abort", f.queued),
        None,
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let login = form(
        &app,
        "/ops/login",
        &format!("token={TOKEN}&next=/flex-queue"),
        None,
    )
    .await;
    assert_eq!(login.headers["location"], "/ops/flex-queue");
    assert!(
        login.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Path=/ops")
    );
}

#[tokio::test]
async fn a_line_break_in_next_signs_in_and_goes_home_instead_of_failing() {
    let f = fixture().await;
    for next in ["/jobs%0d%0aSet-Cookie:%20x=y", "/jobs%0a", "/jobs%00"] {
        let r = form(
            &f.app,
            "/login",
            &format!("token={TOKEN}&next={next}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "next={next}: {}", r.body);
        assert_eq!(r.headers["location"], "/", "next={next}");
        assert!(r.headers.contains_key("set-cookie"), "next={next}");
    }
}

#[tokio::test]
async fn a_control_character_or_space_in_next_or_return_to_never_leads_off_site() {
    let f = fixture().await;
    // Browsers strip tabs and line breaks from a Location, so `/\t/evil.example` would be
    // followed to `//evil.example`, another site.
    for next in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "/%0d/evil.example",
        "%09//evil.example",
        "/%20/evil.example",
        "/\u{00a0}/evil.example",
    ] {
        let r = form(
            &f.app,
            "/login",
            &format!("token={TOKEN}&next={next}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "next={next}");
        assert_eq!(r.headers["location"], "/", "next={next}");
        let r = form(
            &f.app,
            &format!("/jobs/{}/abort", f.queued),
            &format!("return_to={next}"),
            Some(&cookie()),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "return_to={next}");
        assert_eq!(
            r.headers["location"],
            format!("/jobs/{}", f.queued),
            "return_to={next}"
        );
    }
    // A plain local path with a query still works.
    let r = form(
        &f.app,
        "/login",
        &format!("token={TOKEN}&next=%2Fjobs%3Fstatus%3DQueued"),
        None,
    )
    .await;
    assert_eq!(r.headers["location"], "/jobs?status=Queued");
}

/// A page form post with the session cookie and the given extra headers.
async fn cookie_post(app: &axum::Router, path: &str, headers: &[(&str, &str)]) -> support::Reply {
    let mut request = axum::http::Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie())
        .header("host", "127.0.0.1:7070");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    support::send(app, request.body(axum::body::Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_cookie_post_from_another_site_is_refused() {
    let f = fixture().await;
    let pause = format!("/schedules/{}/pause", f.schedule);
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
        // Sec-Fetch-Site decides when present, whatever Origin says.
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:7070"),
        ][..],
    ] {
        let r = cookie_post(&f.app, &pause, headers).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{headers:?}: {}", r.body);
        assert!(r.body.contains("another site"), "{}", r.body);
    }
    assert!(get(&f.app, "/schedules").await.body.contains("WAITING"));
    // Sign-in and sign-out are covered too: no other site may sign the browser in or out.
    let r = cookie_post(&f.app, "/logout", &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The same site's own forms pass, with either header or (older browsers) neither.
    for headers in [
        &[("sec-fetch-site", "same-origin")][..],
        &[("origin", "http://127.0.0.1:7070")][..],
        &[][..],
    ] {
        let r = cookie_post(&f.app, &pause, headers).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{headers:?}: {}", r.body);
    }
    // An API client with the bearer token is not a browser: no cross-site check.
    let r = send_bearer_cross_site(&f.app, &format!("/api/schedules/{}/resume", f.schedule)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn send_bearer_cross_site(app: &axum::Router, path: &str) -> support::Reply {
    support::send(
        app,
        axum::http::Request::post(path)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("origin", "https://evil.example")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
}

/// A browser that follows a stale link gets a page it can read and a way back; only the
/// JSON API answers an unknown path in JSON.
#[tokio::test]
async fn an_unknown_page_is_an_html_404_and_an_unknown_api_path_is_json() {
    let f = fixture().await;
    let page = get(&f.app, "/no-such-page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let kind = page.headers["content-type"].to_str().unwrap();
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(page.body.contains("404 Not Found"), "{}", page.body);
    assert!(page.body.contains("Back to the overview"));

    let api = get(&f.app, "/api/no-such-endpoint").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    let kind = api.headers["content-type"].to_str().unwrap();
    assert!(kind.starts_with("application/json"), "{kind}");
    assert!(api.body.contains("\"not_found\""), "{}", api.body);
}
