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

mod batch_cases;
mod job_cases;
mod trigger_cases;

/// A minimal queued job, for a store crate's own tests.
pub use job_cases::job as queued_job;

/// Every conformance case, as a public async function named after the behaviour it checks.
pub mod cases {
    pub use crate::batch_cases::*;
    pub use crate::job_cases::*;
    pub use crate::trigger_cases::*;
}

/// Stamps one `#[tokio::test]` per conformance case, each on a fresh store from `$factory`.
///
/// `store_tests!(optional: $factory)` takes a factory that yields `Option<S>` instead: a test
/// whose factory yields `None` (its database is not configured) returns at once, passing. The
/// factory should print why; a store crate that must not skip (in CI) panics there instead.
#[macro_export]
macro_rules! store_tests {
    (optional: $factory:expr) => {
        $crate::store_tests!(@list optional $factory);
    };
    (@list $mode:ident $factory:expr) => {
        $crate::store_tests!(@cases $mode $factory;
            nodes_register_heartbeat_and_list_their_running_jobs,
            insert_then_get_round_trips_every_field,
            get_of_unknown_id_is_none,
            insert_many_is_all_or_nothing_on_duplicate_signature,
            a_large_bulk_insert_is_all_or_nothing,
            duplicate_signature_is_refused_while_waiting_and_accepted_once_started,
            claim_takes_due_jobs_oldest_first_up_to_the_limit,
            claim_skips_jobs_not_yet_due,
            claim_sets_lease_attempt_start_and_clears_signature,
            aborted_job_is_never_claimed,
            finish_completes_a_running_job_and_inserts_children_atomically,
            finish_by_another_owner_changes_nothing,
            finish_of_a_job_no_longer_running_changes_nothing_and_inserts_nothing,
            finish_with_a_duplicate_child_signature_leaves_the_job_running,
            complete_many_ends_only_the_jobs_the_owner_still_runs,
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
            job_stats_count_by_type_status_minute_and_duration,
            count_created_since_counts_only_the_window_and_the_types,
            next_run_at_is_the_earliest_queued_run_time,
            trigger_insert_then_get_round_trips_every_field,
            trigger_names_are_unique_among_active_triggers,
            trigger_insert_refuses_past_the_active_cap,
            due_lists_only_waiting_triggers_whose_time_has_come,
            a_fire_time_fires_exactly_once_with_its_job,
            a_trigger_never_fires_while_its_previous_run_is_active,
            firing_without_a_next_time_completes_the_trigger,
            pause_resume_delete_and_fail_move_only_from_their_states,
            trigger_list_hides_ended_triggers_unless_asked,
            trigger_next_fire_time_is_the_earliest_waiting_one,
            holding_jobs_join_the_flex_queue_in_order_up_to_its_cap,
            promote_takes_the_front_of_the_flex_queue_up_to_the_active_cap,
            flex_queue_moves_reorder_and_report_whether_they_moved,
            moving_a_job_that_is_not_holding_is_refused,
            a_batch_moves_through_its_chunks_under_its_lease,
            chunks_reset_clears_a_restarted_start_for_the_lease_holder_only,
            error_events_list_newest_first_by_job
        );
    };
    (@cases required $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = $factory.await;
                $crate::cases::$name(&store).await;
            }
        )*
    };
    (@cases optional $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(store) = $factory.await else {
                    return;
                };
                $crate::cases::$name(&store).await;
            }
        )*
    };
    ($factory:expr) => {
        $crate::store_tests!(@list required $factory);
    };
}
