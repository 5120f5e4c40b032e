//! A live progress bar for one job, drawn from its record until it ends.

use std::time::Duration;

use asyncapex::unstable::store::Store;
use asyncapex::{JobId, JobRecord};
use indicatif::{ProgressBar, ProgressStyle};

/// Polls the job every `every` and draws chunks processed / total, failures and rate; returns
/// the final record.
pub(crate) async fn watch(
    store: &dyn Store,
    id: JobId,
    every: Duration,
) -> Result<JobRecord, String> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:40.cyan/blue}] {pos}/{len} chunks  {per_sec}  {msg}",
        )
        .map_err(|e| e.to_string())?
        .progress_chars("=> "),
    );
    bar.set_prefix(id.to_string());
    loop {
        let job = store
            .job_get(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no job with ID {id}"))?;
        bar.set_length(job.total_items);
        bar.set_position(job.items_processed);
        bar.set_message(format!(
            "{} · {} failed{}",
            job.status,
            job.number_of_errors,
            job.extended_status
                .as_deref()
                .map(|s| format!(" · first error: {s}"))
                .unwrap_or_default()
        ));
        if job.status.is_terminal() {
            bar.finish();
            return Ok(job);
        }
        tokio::time::sleep(every).await;
    }
}
