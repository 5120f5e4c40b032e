//! A live progress bar for one job, drawn from its record until it ends.
//!
//! Until the batch's chunks exist (Holding, Queued, Preparing) there is nothing to measure, so
//! a spinner shows the status instead of a bar; the bar then takes the terminal's width that is
//! left, so the line never wraps. Lines printed meanwhile (through [`crate::output`]) go above
//! the bar, and the bar is cleared when the job ends: the caller prints the outcome.

use std::time::Duration;

use asyncapex::unstable::store::Store;
use asyncapex::{JobId, JobRecord};
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::CliError;
use crate::output::outln;

/// Polls the job every `every` and draws chunks processed / total, failures and rate; returns
/// the final record.
pub(crate) async fn watch(
    store: &dyn Store,
    id: JobId,
    every: Duration,
) -> Result<JobRecord, CliError> {
    let bar = ProgressBar::new(0);
    let waiting = ProgressStyle::with_template("{spinner} {msg}")
        .map_err(|e| e.to_string())?
        .tick_chars("-\\|/ ");
    // The rate goes in the prefix, measured here: indicatif's own estimate starts wild when
    // the first poll finds many chunks already done.
    let running = ProgressStyle::with_template("{msg} [{wide_bar}] {pos}/{len} · {prefix}")
        .map_err(|e| e.to_string())?
        .progress_chars("=> ");
    bar.set_style(waiting);
    bar.enable_steady_tick(Duration::from_millis(120));
    crate::output::set_bar(&bar);
    let result = draw(store, id, every, &bar, running).await;
    crate::output::clear_bar();
    bar.finish_and_clear();
    result
}

async fn draw(
    store: &dyn Store,
    id: JobId,
    every: Duration,
    bar: &ProgressBar,
    running: ProgressStyle,
) -> Result<JobRecord, CliError> {
    // When and at which position the bar started measuring.
    let mut measuring: Option<(std::time::Instant, u64)> = None;
    let mut first_error: Option<String> = None;
    loop {
        let job = store
            .job_get(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| CliError::Failed(format!("no job with ID {id}")))?;
        if job.total_items > 0 && measuring.is_none() {
            measuring = Some((std::time::Instant::now(), job.items_processed));
            bar.disable_steady_tick();
            bar.set_style(running.clone());
        }
        bar.set_length(job.total_items);
        bar.set_position(job.items_processed);
        if let Some((since, from)) = measuring {
            let seconds = since.elapsed().as_secs_f64();
            // Whole chunks per second, once there is half a second to measure over.
            bar.set_prefix(if seconds >= 0.5 {
                format!(
                    "{:.0} chunks/s",
                    job.items_processed.saturating_sub(from) as f64 / seconds
                )
            } else {
                "… chunks/s".to_owned()
            });
        }
        bar.set_message(if measuring.is_some() {
            format!("{}, {} failed", job.status, job.number_of_errors)
        } else {
            format!("{}: no chunks yet", job.status)
        });
        // The first error is too long for the bar's line: printed once above it.
        if job.extended_status.is_some() && job.extended_status != first_error {
            first_error.clone_from(&job.extended_status);
            if let Some(detail) = &first_error {
                outln!("  {id} status detail: {detail}")?;
            }
        }
        if job.status.is_terminal() {
            return Ok(job);
        }
        tokio::time::sleep(every).await;
    }
}
