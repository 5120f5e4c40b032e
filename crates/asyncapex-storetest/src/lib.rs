//! The conformance suite every asyncapex store must pass, unchanged.
//!
//! A store crate runs it with one line in its tests, giving a factory expression that yields a
//! fresh, empty store (a new file, database or schema per test):
//!
//! ```ignore
//! asyncapex_storetest::store_tests!(async { SqliteStore::in_memory().await.unwrap() });
//! ```
//!
//! It covers refusals as well as happy paths, the status machine (every status-changing
//! operation applied to a job in every status must move it only as
//! [`JobStatus::can_become`](asyncapex_core::JobStatus::can_become) allows) and races between
//! concurrent callers on one store. A change to a store that is not covered here is not done.
//!
//! # Adding a case
//!
//! A case is a `pub(crate) async fn name(store: &dyn Store)` in one of the `*_cases.rs`
//! modules, named after the behaviour it checks, and one line `module::name` in the list at
//! the foot of this file. That list is the only way a case is reached: it generates both the
//! public [`cases`] module and the [`store_tests!`] macro. A case that is written but not
//! listed is therefore dead code, which the workspace's `-D warnings` refuses, so it cannot
//! silently never run.
//!
//! [`job_in`] puts a job directly in any status, for cases that need one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batch_cases;
mod count_cases;
mod factory;
mod finalizer_cases;
mod job_cases;
mod queue_cases;
mod race_cases;
mod retention_cases;
mod transition_cases;
mod trigger_cases;

pub use count_cases::{
    assert_counts_match_rows, assert_v5_demo_survived, assert_v13_store_survived,
};
pub use factory::{FACTORY_OWNER, factory_lease_until, job_in};

/// A minimal queued job, for a store crate's own tests.
pub use job_cases::job as queued_job;

/// Defines, from one list of `module::case` paths, the public [`cases`] wrappers and the
/// [`store_tests!`] macro that stamps one test per case. `$d` is a literal `$`, so the macro
/// it defines can have metavariables of its own.
macro_rules! conformance_suite {
    ($d:tt $($module:ident :: $name:ident),* $(,)?) => {
        /// Every conformance case by name, each running the case on the store it is given.
        /// Generated from the suite's one list, like [`store_tests!`].
        pub mod cases {
            /// The name of every case, in list order.
            pub const NAMES: &[&str] = &[$(stringify!($name)),*];

            $(
                #[doc = concat!("Runs the conformance case `", stringify!($name), "` on `store`.")]
                pub async fn $name(store: &dyn asyncapex_core::Store) {
                    crate::$module::$name(store).await;
                }
            )*
        }

        /// Stamps one `#[tokio::test]` per conformance case, each on a fresh store from
        /// `$factory`.
        ///
        /// `store_tests!(optional: $factory)` takes a factory that yields `Option<S>` instead:
        /// a test whose factory yields `None` (its database is not configured) returns at
        /// once, passing. The factory should print why; a store crate that must not skip (in
        /// CI) panics there instead.
        ///
        /// `store_tests!(optional: $factory, unless_cfg: $cfg)` also marks each test
        /// `ignore`d unless `cfg($cfg)` is set (a store crate's build script sets it when its
        /// database is configured), so a test summary counts skipped cases as ignored, not
        /// passed.
        #[macro_export]
        macro_rules! store_tests {
            (optional: $d factory:expr, unless_cfg: $d cfg:meta) => {
                $(
                    #[tokio::test]
                    #[cfg_attr(not($d cfg), ignore = "the store's database is not configured")]
                    async fn $name() {
                        let Some(store) = $d factory.await else {
                            return;
                        };
                        $d crate::cases::$name(&store).await;
                    }
                )*
            };
            (optional: $d factory:expr) => {
                $(
                    #[tokio::test]
                    async fn $name() {
                        let Some(store) = $d factory.await else {
                            return;
                        };
                        $d crate::cases::$name(&store).await;
                    }
                )*
            };
            ($d factory:expr) => {
                $(
                    #[tokio::test]
                    async fn $name() {
                        let store = $d factory.await;
                        $d crate::cases::$name(&store).await;
                    }
                )*
            };
        }
    };
}

conformance_suite!($
    job_cases::nodes_register_heartbeat_and_list_their_running_jobs,
    job_cases::nodes_say_who_runs_jobs_who_stopped_and_stale_ones_are_forgotten,
    job_cases::list_searches_by_link_class_and_time_and_counts_what_it_lists,
    job_cases::delete_removes_only_finished_jobs_with_their_chunks,
    job_cases::attempts_record_rescues_and_failures_but_not_completions,
    job_cases::sensitive_fields_are_recorded_per_class_and_replaced,
    job_cases::insert_then_get_round_trips_every_field,
    job_cases::get_of_unknown_id_is_none,
    job_cases::insert_many_is_all_or_nothing_on_duplicate_signature,
    job_cases::a_large_bulk_insert_is_all_or_nothing,
    job_cases::duplicate_signature_is_refused_while_waiting_and_accepted_once_started,
    job_cases::claim_takes_due_jobs_oldest_first_up_to_the_limit,
    job_cases::claim_skips_jobs_not_yet_due,
    job_cases::claim_sets_lease_attempt_start_and_clears_signature,
    job_cases::aborted_job_is_never_claimed,
    job_cases::finish_completes_a_running_job_and_inserts_children_atomically,
    job_cases::finish_by_another_owner_changes_nothing,
    job_cases::finish_of_a_job_no_longer_running_changes_nothing_and_inserts_nothing,
    job_cases::finish_with_a_duplicate_child_signature_leaves_the_job_running,
    job_cases::complete_many_ends_only_the_jobs_the_owner_still_runs,
    job_cases::failed_finish_records_the_message,
    job_cases::abort_reports_waiting_running_finished_and_unknown,
    job_cases::heartbeat_extends_only_owned_leases_and_reports_abort_requests,
    job_cases::rescue_requeues_expired_leases_and_spares_live_ones,
    job_cases::rescue_fails_a_job_after_its_last_attempt,
    job_cases::rescue_spares_the_excluded_owner,
    job_cases::rescue_ends_an_abort_requested_job_as_aborted,
    finalizer_cases::a_stored_finalizer_is_stranded_only_when_a_rescue_fails_its_job,
    finalizer_cases::a_stranded_finalizer_is_dispatched_once_with_its_run,
    finalizer_cases::a_released_job_keeps_no_stored_finalizer,
    queue_cases::claims_serve_only_the_queues_named_each_up_to_its_limit,
    queue_cases::priorities_order_claims_and_a_step_of_waiting_outranks_one,
    queue_cases::a_paused_queue_claims_nothing_until_resumed,
    queue_cases::a_global_cap_counts_running_jobs_of_every_owner,
    queue_cases::a_rate_limit_allows_its_starts_per_window_and_says_when_more_may_start,
    queue_cases::a_retry_requeues_with_the_same_id_after_its_backoff_and_keeps_each_error,
    queue_cases::a_tenant_past_its_limit_waits_behind_other_tenants,
    queue_cases::the_next_run_time_is_a_queues_earliest_and_skips_times_not_after_the_bound,
    job_cases::release_requeues_without_counting_the_attempt,
    job_cases::list_filters_and_pages_newest_first,
    job_cases::counts_by_status_and_pending,
    job_cases::job_stats_count_by_type_status_minute_and_duration,
    job_cases::job_stats_are_exact_at_minute_edges_and_days_back,
    job_cases::count_created_since_counts_only_the_window_and_the_types,
    job_cases::count_created_since_is_exact_at_minute_edges_and_days_back,
    job_cases::count_created_since_is_exact_at_hour_edges,
    job_cases::next_run_at_is_the_earliest_queued_run_time,
    trigger_cases::trigger_insert_then_get_round_trips_every_field,
    trigger_cases::trigger_names_are_unique_among_active_triggers,
    trigger_cases::trigger_insert_refuses_past_the_active_cap,
    trigger_cases::due_lists_only_waiting_triggers_whose_time_has_come,
    trigger_cases::a_fire_time_fires_exactly_once_with_its_job,
    trigger_cases::a_trigger_never_fires_while_its_previous_run_is_active,
    trigger_cases::firing_without_a_next_time_completes_the_trigger,
    trigger_cases::pause_resume_delete_and_fail_move_only_from_their_states,
    trigger_cases::trigger_list_hides_ended_triggers_unless_asked,
    trigger_cases::trigger_next_fire_time_is_the_earliest_waiting_one,
    batch_cases::holding_jobs_join_the_flex_queue_in_order_up_to_its_cap,
    batch_cases::promote_takes_the_front_of_the_flex_queue_up_to_the_active_cap,
    batch_cases::flex_queue_moves_reorder_and_report_whether_they_moved,
    batch_cases::moving_a_job_that_is_not_holding_is_refused,
    batch_cases::a_batch_moves_through_its_chunks_under_its_lease,
    batch_cases::chunks_reset_clears_a_restarted_start_for_the_lease_holder_only,
    batch_cases::error_events_list_newest_first_by_job,
    factory::the_factory_puts_a_job_in_every_status,
    transition_cases::every_status_change_is_one_the_status_machine_allows,
    transition_cases::rules_decide_the_stores_abort_and_rescue,
    race_cases::two_owners_claiming_at_once_never_claim_the_same_job,
    race_cases::a_finish_racing_a_rescue_leaves_exactly_one_ending,
    race_cases::a_trigger_fired_by_two_callers_at_once_fires_once,
    race_cases::inserts_racing_past_the_flex_queue_cap_never_exceed_it,
    retention_cases::purge_deletes_only_jobs_that_ended_before_the_cut,
    retention_cases::purge_never_touches_waiting_or_running_jobs,
    retention_cases::purge_is_bounded_oldest_first_and_filtered,
    retention_cases::purge_from_a_cursor_starts_at_it_and_reports_the_last_end,
    retention_cases::purge_takes_a_batchs_chunks_and_error_events,
    retention_cases::delete_takes_a_batchs_chunks_and_error_events,
    count_cases::counts_stay_true_through_every_change,
);
