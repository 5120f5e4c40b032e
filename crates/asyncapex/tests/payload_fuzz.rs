//! Property test of payload decoding: whatever text sits in a stored job's payload (a payload
//! written by an older version, by another language over the API, or by hand), running it
//! ends the job — `Completed` when it fits the type, `Failed` naming the type otherwise —
//! and never panics the worker or leaves the job stuck (issue 13, fuzzing).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use asyncapex::unstable::NewJob;
use asyncapex::unstable::store::JobInsertManyParams;
use asyncapex::{Engine, JobError, JobStatus, Queueable, QueueableContext};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use support::WAIT;

#[derive(Serialize, Deserialize)]
struct Order {
    id: u64,
    lines: Vec<String>,
}

impl Queueable for Order {
    async fn execute(&mut self, _ctx: &mut QueueableContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// Payload texts: arbitrary text, arbitrary JSON-looking text, and near-misses of the type.
fn payload() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        "[{}\\[\\]\":,0-9a-z ]{0,60}",
        (any::<u64>(), prop::collection::vec(".{0,8}", 0..4))
            .prop_map(|(id, lines)| serde_json::json!({"id": id, "lines": lines}).to_string()),
        any::<i64>().prop_map(|id| format!(r#"{{"id": {id}, "lines": "not a list"}}"#)),
        Just("null".to_owned()),
        Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_stored_payload_ends_its_job_with_a_reason(payloads in prop::collection::vec(payload(), 1..32)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let engine = Engine::builder().in_memory().register::<Order>().start().await.unwrap();
            let now = engine.clock().now();
            let ids = asyncapex::unstable::IdGenerator::new(9);
            let jobs: Vec<NewJob> = payloads
                .iter()
                .map(|p| NewJob::queueable(ids.job_id(now), "Order", p.clone(), now).max_attempts(3))
                .collect();
            engine
                .store()
                .job_insert_many(JobInsertManyParams { jobs: jobs.clone(), max_holding: 100 })
                .await
                .unwrap();
            for (job, text) in jobs.iter().zip(&payloads) {
                let done = engine.wait_for(job.id, WAIT).await.unwrap();
                let fits = serde_json::from_str::<Order>(text).is_ok();
                if fits {
                    prop_assert_eq!(done.status, JobStatus::Completed);
                } else {
                    prop_assert_eq!(done.status, JobStatus::Failed);
                    let reason = done.extended_status.unwrap_or_default();
                    prop_assert!(reason.contains("no longer deserializes into Order"), "{}", reason);
                }
            }
            engine.shutdown(std::time::Duration::from_secs(5)).await.unwrap();
            Ok(())
        })?;
    }
}
