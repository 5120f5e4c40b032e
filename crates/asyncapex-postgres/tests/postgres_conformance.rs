//! The shared conformance suite, unchanged, on a fresh schema per test.
//!
//! Needs `ASYNCAPEX_TEST_POSTGRES_URL`; without it every case is skipped with a notice, unless
//! `ASYNCAPEX_REQUIRE_POSTGRES=1` (CI), which makes them fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

asyncapex_storetest::store_tests!(optional: common::fresh_store());
