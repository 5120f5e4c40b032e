//! Nothing to import: this package holds the cron comparison benchmark
//! (`cargo bench -p asyncapex-cron-bench`), kept out of the default build so that `cargo test`
//! does not compile criterion, chrono, `cron` and `croner` for everyone.
