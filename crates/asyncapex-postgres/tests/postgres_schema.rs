//! The schema, read back from PostgreSQL, matches the canonical lists in `asyncapex-core`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use asyncapex_core::{JobStatus, JobType};
use asyncapex_postgres::PostgresStore;

/// The quoted words of a CHECK constraint as `pg_get_constraintdef` renders an `IN` list:
/// `CHECK ((status = ANY (ARRAY['Holding'::text, ...])))`.
fn quoted_words(definition: &str) -> Vec<String> {
    definition
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The definition of one CHECK constraint of the job table in a fresh schema.
async fn job_check(constraint: &str) -> Option<String> {
    let url = common::url()?;
    let schema = common::fresh_schema();
    PostgresStore::connect_with(&url, common::options(&schema))
        .await
        .expect("connect and migrate");
    let admin = common::admin(&url).await;
    let row = admin
        .query_one(
            include_str!("../src/queries/schema_check_constraint.sql"),
            &[&schema, &"asyncapex_job", &constraint],
        )
        .await
        .unwrap_or_else(|e| panic!("read {constraint} back: {e}"));
    common::drop_schema(&url, &schema).await;
    Some(row.get("definition"))
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn the_status_check_lists_exactly_job_status_all() {
    let Some(definition) = job_check("asyncapex_job_status_check").await else {
        return;
    };
    let canonical: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(quoted_words(&definition), canonical, "{definition}");
}

#[tokio::test]
#[cfg_attr(
    not(asyncapex_postgres_tests),
    ignore = "needs ASYNCAPEX_TEST_POSTGRES_URL (a PostgreSQL database)"
)]
async fn the_job_type_check_lists_exactly_job_type_all() {
    let Some(definition) = job_check("asyncapex_job_job_type_check").await else {
        return;
    };
    let canonical: Vec<&str> = JobType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(quoted_words(&definition), canonical, "{definition}");
}
