//! Protected reads: with `Auth::protect_reads`, every page, API read, `/metrics` and the
//! OpenAPI document answer 401 without the token, and work with the bearer header or a
//! session cookie; the sign-in form and its files stay open. And the session cookie itself:
//! it never holds the token, and a forged, foreign or expired one is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use asyncapex_web::{Auth, WebState, router};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jiff::{SignedDuration, Timestamp};
use support::{TOKEN, call, fixture, form, get, send};

fn protected_app(f: &support::Fixture) -> axum::Router {
    router(WebState::new(
        f.engine.clone(),
        Auth::new(TOKEN).unwrap().protect_reads(),
    ))
}

/// Every read the router serves.
fn reads(f: &support::Fixture) -> Vec<String> {
    vec![
        "/".into(),
        "/jobs".into(),
        "/jobs?status=Failed".into(),
        format!("/jobs/{}", f.batch),
        "/schedules".into(),
        format!("/schedules/{}", f.schedule),
        "/flex-queue".into(),
        "/metrics".into(),
        "/api/openapi.json".into(),
        "/api/overview".into(),
        "/api/jobs".into(),
        "/api/jobs?q=step&status=Queued".into(),
        format!("/api/jobs/{}", f.queued),
        "/api/schedules".into(),
        format!("/api/schedules/{}", f.schedule),
        "/api/flex-queue".into(),
    ]
}

async fn with_cookie(app: &axum::Router, path: &str, cookie: &str) -> support::Reply {
    send(
        app,
        Request::get(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn with_protected_reads_every_read_needs_the_token() {
    let f = fixture().await;
    let app = protected_app(&f);
    for path in reads(&f) {
        let r = get(&app, &path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            !r.body.contains(&f.queued.to_string()),
            "{path} leaks a job"
        );
        if path.starts_with("/api/") || path == "/metrics" {
            assert_eq!(r.code(), "unauthorized", "{path}");
        } else {
            // A browser gets the sign-in form, which comes back to the page asked for.
            assert!(r.body.contains("action=\"/login\""), "{path}");
            assert!(
                r.body
                    .contains(&format!("value=\"{}\"", path.replace('&', "&amp;"))),
                "{path}: {}",
                r.body
            );
        }
        let by_bearer = call(&app, Method::GET, &path, None, Some(TOKEN)).await;
        assert_eq!(
            by_bearer.status,
            StatusCode::OK,
            "{path}: {}",
            by_bearer.body
        );
        let wrong = call(&app, Method::GET, &path, None, Some("not-the-token")).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // An unknown page tells nothing either until signed in.
    assert_eq!(get(&app, "/nope").await.status, StatusCode::UNAUTHORIZED);
    // The sign-in form and what it loads stay open.
    for open in [
        "/login",
        "/static/style.css",
        "/static/app.js",
        "/favicon.ico",
    ] {
        assert_eq!(get(&app, open).await.status, StatusCode::OK, "{open}");
    }
}

#[tokio::test]
async fn signing_in_opens_the_protected_pages_to_that_browser() {
    let f = fixture().await;
    let app = protected_app(&f);
    let login = form(&app, "/login", &format!("token={TOKEN}&next=/jobs"), None).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let set = login.headers["set-cookie"].to_str().unwrap();
    let cookie = set.split(';').next().unwrap();
    for path in reads(&f) {
        let r = with_cookie(&app, &path, cookie).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    assert!(
        with_cookie(&app, "/jobs", cookie)
            .await
            .body
            .contains(&f.queued.to_string())
    );
}

#[tokio::test]
async fn a_session_cookie_is_not_the_token_and_only_a_fresh_signed_one_counts() {
    let f = fixture().await;
    let app = protected_app(&f);
    let auth = Auth::new(TOKEN).unwrap();
    let now = Timestamp::now();
    let fresh = auth.session_value(now);
    assert!(!fresh.contains(TOKEN));
    assert!(auth.accepts_session(&fresh, now));
    // The raw token is no session, nor is another server's session, a changed one, or one
    // signed more than twelve hours ago or in the future.
    let other = Auth::new("another-token-456").unwrap().session_value(now);
    let (issued, tag) = fresh.split_once('.').unwrap();
    let shifted = format!("{}.{tag}", issued.parse::<i64>().unwrap() + 1);
    let expired =
        auth.session_value(now - SignedDuration::from_hours(12) - SignedDuration::from_secs(1));
    let future = auth.session_value(now + SignedDuration::from_mins(10));
    for bad in [TOKEN, &other, &shifted, &expired, &future, "", ".", "1.zz"] {
        assert!(!auth.accepts_session(bad, now), "{bad}");
        let cookie = format!("asyncapex_session={bad}");
        assert_eq!(
            with_cookie(&app, "/jobs", &cookie).await.status,
            StatusCode::UNAUTHORIZED,
            "{bad}"
        );
    }
    // Just inside the lifetime still counts.
    let old =
        auth.session_value(now - SignedDuration::from_hours(12) + SignedDuration::from_secs(5));
    assert!(auth.accepts_session(&old, now));
    assert_eq!(
        with_cookie(&app, "/jobs", &format!("asyncapex_session={fresh}"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_protected_reads_reads_stay_open_and_changes_still_need_the_token() {
    let f = fixture().await;
    for path in reads(&f) {
        assert_eq!(get(&f.app, &path).await.status, StatusCode::OK, "{path}");
    }
    let r = call(
        &f.app,
        Method::POST,
        &format!("/api/jobs/{}/abort", f.queued),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
