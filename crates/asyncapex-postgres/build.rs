//! Marks the PostgreSQL tests `ignored` (not `passed`) when no database is configured:
//! `cfg(asyncapex_postgres_tests)` is set when `ASYNCAPEX_TEST_POSTGRES_URL` is, so a test
//! summary says how many PostgreSQL tests really ran.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(asyncapex_postgres_tests)");
    println!("cargo::rerun-if-env-changed=ASYNCAPEX_TEST_POSTGRES_URL");
    if std::env::var_os("ASYNCAPEX_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=asyncapex_postgres_tests");
    }
}
