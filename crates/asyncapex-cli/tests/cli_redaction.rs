//! Sensitive payload fields stay hidden on the command line: `jobs show` and `jobs list
//! --json` print them as "[redacted]", though the CLI registers no job types itself.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;

use asyncapex::{Engine, JobError, Queueable, QueueableContext};
use serde::{Deserialize, Serialize};

const CARD: &str = "4111 1111 1111 1111";

#[derive(Serialize, Deserialize)]
struct Charge {
    card: String,
    amount: u32,
}

impl Queueable for Charge {
    const SENSITIVE_FIELDS: &'static [&'static str] = &["card"];

    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        Ok(())
    }
}

#[tokio::test]
async fn jobs_show_and_list_print_sensitive_fields_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let engine = Engine::builder()
        .sqlite(&path)
        .register::<Charge>()
        .concurrency(0)
        .scheduler(false)
        .start()
        .await
        .unwrap();
    let id = engine
        .enqueue_job(Charge {
            card: CARD.into(),
            amount: 12,
        })
        .await
        .unwrap();
    engine
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let db = path.to_str().unwrap();
    for args in [
        vec!["jobs", "show", &id.to_string()],
        vec!["jobs", "show", &id.to_string(), "--json"],
        vec!["jobs", "list", "--json"],
        vec!["jobs", "list"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_asyncapex"))
            .args(&args)
            .args(["--database", db])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(CARD), "{args:?} shows the card: {text}");
        if args[1] == "show" {
            assert!(text.contains("[redacted]"), "{args:?}: {text}");
        }
    }
}
