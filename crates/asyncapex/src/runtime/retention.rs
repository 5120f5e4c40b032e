//! How long finished job records are kept (Apex deletes `AsyncApexJob` rows 7 days after they
//! end), and which cut applies to which jobs.

use std::time::Duration;

use asyncapex_core::{JobStatus, JobType};

/// How long finished job records (Completed, Failed, Aborted) are kept after they end before
/// the cleaner deletes them with their batch chunks and error events. The default is Apex's:
/// 7 days for everything.
///
/// When several rules apply to a job (its status and its job type), the **longest** wins, so
/// a rule can only keep records longer than the default, never cut one that another rule
/// keeps.
///
/// ```
/// use std::time::Duration;
/// use asyncapex::{JobStatus, JobType, Retention};
///
/// const DAY: Duration = Duration::from_secs(86_400);
/// let retention = Retention::default()                 // 7 days, as Apex
///     .keep_status(JobStatus::Failed, 30 * DAY)        // failures a month
///     .keep_job_type(JobType::Future, DAY);            // (a failed future: 30 days still)
/// assert_eq!(retention.for_job(JobStatus::Failed, JobType::Future), Some(30 * DAY));
/// assert_eq!(retention.for_job(JobStatus::Completed, JobType::Queueable), Some(7 * DAY));
/// assert_eq!(Retention::forever().for_job(JobStatus::Completed, JobType::Queueable), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    default: Option<Duration>,
    by_status: Vec<(JobStatus, Duration)>,
    by_job_type: Vec<(JobType, Duration)>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            default: Some(Duration::from_secs(7 * 86_400)),
            by_status: Vec::new(),
            by_job_type: Vec::new(),
        }
    }
}

impl Retention {
    /// Keep every finished record forever: no cleaner runs (records can still be purged
    /// with `Engine::purge_old_async_jobs`).
    pub fn forever() -> Retention {
        Retention {
            default: None,
            by_status: Vec::new(),
            by_job_type: Vec::new(),
        }
    }

    /// Keep records this long unless a status or job type rule keeps them longer.
    pub fn keep(mut self, period: Duration) -> Retention {
        self.default = Some(period);
        self
    }

    /// Keep records that ended with `status` at least this long.
    pub fn keep_status(mut self, status: JobStatus, period: Duration) -> Retention {
        self.by_status.retain(|(s, _)| *s != status);
        self.by_status.push((status, period));
        self
    }

    /// Keep records of `job_type` at least this long.
    pub fn keep_job_type(mut self, job_type: JobType, period: Duration) -> Retention {
        self.by_job_type.retain(|(t, _)| *t != job_type);
        self.by_job_type.push((job_type, period));
        self
    }

    /// How long a record that ended with `status`, of `job_type`, is kept; `None`: forever.
    pub fn for_job(&self, status: JobStatus, job_type: JobType) -> Option<Duration> {
        let default = self.default?;
        let by_status = self.by_status.iter().find(|(s, _)| *s == status);
        let by_type = self.by_job_type.iter().find(|(t, _)| *t == job_type);
        Some(
            [Some(default), by_status.map(|r| r.1), by_type.map(|r| r.1)]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(default),
        )
    }

    /// Whether anything is ever deleted.
    pub fn is_forever(&self) -> bool {
        self.default.is_none()
    }

    /// The cuts to apply: for each terminal status, the job types that share one retention
    /// period, with that period.
    pub(crate) fn groups(&self) -> Vec<(JobStatus, Vec<JobType>, Duration)> {
        let mut groups: Vec<(JobStatus, Vec<JobType>, Duration)> = Vec::new();
        for status in [JobStatus::Completed, JobStatus::Failed, JobStatus::Aborted] {
            for job_type in JobType::ALL {
                let Some(period) = self.for_job(status, job_type) else {
                    continue;
                };
                match groups
                    .iter_mut()
                    .find(|(s, _, p)| *s == status && *p == period)
                {
                    Some(group) => group.1.push(job_type),
                    None => groups.push((status, vec![job_type], period)),
                }
            }
        }
        groups
    }
}
