//! The conformance suite every asyncapex store must pass, unchanged.
//!
//! A store crate runs it with one line in its tests, giving a factory expression that yields a
//! fresh, empty store (a new file, database or schema per test):
//!
//! ```ignore
//! asyncapex_storetest::store_tests!(async { SqliteStore::in_memory().await.unwrap() });
//! ```
//!
//! Every case is a public async function in [`cases`], named after the behaviour it checks.
//! It covers refusals as well as happy paths: a change to a store that is not covered here is
//! not done.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cases;

/// Stamps one `#[tokio::test]` per conformance case, each on a fresh store from `$factory`.
#[macro_export]
macro_rules! store_tests {
    ($factory:expr) => {
        $crate::store_tests!(@cases $factory;
            node_register_hands_out_distinct_numbers,
            insert_then_get_round_trips_every_field,
            get_of_unknown_id_is_none,
            insert_many_is_all_or_nothing_on_duplicate_signature,
            duplicate_signature_is_refused_while_waiting_and_accepted_once_started,
            claim_takes_due_jobs_oldest_first_up_to_the_limit,
            claim_skips_jobs_not_yet_due,
            claim_sets_lease_attempt_start_and_clears_signature,
            aborted_job_is_never_claimed,
            finish_completes_a_running_job_and_inserts_children_atomically,
            finish_by_another_owner_changes_nothing,
            finish_of_a_job_no_longer_running_changes_nothing_and_inserts_nothing,
            finish_with_a_duplicate_child_signature_leaves_the_job_running,
            failed_finish_records_the_message,
            abort_reports_waiting_running_finished_and_unknown,
            heartbeat_extends_only_owned_leases_and_reports_abort_requests,
            rescue_requeues_expired_leases_and_spares_live_ones,
            rescue_fails_a_job_after_its_last_attempt,
            rescue_spares_the_excluded_owner,
            rescue_ends_an_abort_requested_job_as_aborted,
            release_requeues_without_counting_the_attempt,
            list_filters_and_pages_newest_first,
            counts_by_status_and_pending,
            count_created_since_counts_only_the_window_and_the_types,
            next_run_at_is_the_earliest_queued_run_time
        );
    };
    (@cases $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = $factory.await;
                $crate::cases::$name(&store).await;
            }
        )*
    };
}
