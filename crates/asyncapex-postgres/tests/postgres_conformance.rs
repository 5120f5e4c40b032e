//! The shared conformance suite, unchanged, on a fresh schema per test.
//!
//! Needs `ASYNCAPEX_TEST_POSTGRES_URL`; without it every case is ignored (the build script
//! sets `cfg(asyncapex_postgres_tests)` only with it), and `ASYNCAPEX_REQUIRE_POSTGRES=1` (CI)
//! makes a missing database fail instead.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

asyncapex_storetest::store_tests!(optional: common::fresh_store(), unless_cfg: asyncapex_postgres_tests);
