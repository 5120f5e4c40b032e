//! HTTP callouts from inside an execution, counted against its governor limits.

use std::time::{Duration, Instant};

use asyncapex_core::Error;

use super::context::ExecContext;
use super::job_error::error_chain;

/// The callout client of one execution: a [`reqwest::Client`] whose every request is counted
/// (at most 100 per execution by default) and bounded by the execution's remaining callout
/// time (120 s in total by default, 10 s per request unless the request sets less).
///
/// ```no_run
/// # async fn demo(ctx: &asyncapex::FutureContext) -> Result<(), asyncapex::JobError> {
/// let response = ctx.callout()?.send(|http| http.get("http://127.0.0.1:8080/rates")).await?;
/// let body = response.text().await?;
/// # Ok(()) }
/// ```
pub struct Callout<'a> {
    ctx: &'a ExecContext,
}

impl<'a> Callout<'a> {
    pub(crate) fn new(ctx: &'a ExecContext) -> Result<Callout<'a>, Error> {
        if !ctx.allows_callouts {
            return Err(Error::NotAllowed {
                rule: "callouts are not allowed in this execution: declare the future with #[future(callout = true)], or set ALLOWS_CALLOUTS = true on the queueable (Apex's Database.AllowsCallouts)".into(),
            });
        }
        Ok(Callout { ctx })
    }

    /// Sends the request `build` makes from the shared client.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] past the callout count or the total callout time (these fail
    /// the execution even if ignored, like Apex's `LimitException`); [`Error::Callout`] when
    /// the request cannot be built, times out or fails to connect.
    pub async fn send(
        &self,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let limits = &self.ctx.rt.config.limits;
        let timeout = {
            let mut buffer = self.ctx.shared.lock();
            buffer.callouts += 1;
            if buffer.callouts > limits.callouts {
                let used = buffer.callouts;
                let err = Error::LimitExceeded {
                    limit: asyncapex_core::LimitName::Callouts,
                    used: u64::from(used),
                    max: u64::from(limits.callouts),
                    message: format!(
                        "too many callouts: {used} (the limit per execution is {})",
                        limits.callouts
                    ),
                };
                return Err(self.ctx.violate(&mut buffer, err));
            }
            let remaining = limits.callout_time.saturating_sub(buffer.callout_time);
            if remaining.is_zero() {
                let err = Error::LimitExceeded {
                    limit: asyncapex_core::LimitName::CalloutTime,
                    used: buffer.callout_time.as_millis() as u64,
                    max: limits.callout_time.as_millis() as u64,
                    message: format!(
                        "maximum callout time exceeded: this execution already waited {:?} on callouts (limit {:?})",
                        buffer.callout_time, limits.callout_time
                    ),
                };
                return Err(self.ctx.violate(&mut buffer, err));
            }
            remaining.min(limits.callout_timeout)
        };
        let request = build(&self.ctx.rt.http)
            .build()
            .map_err(|e| Error::Callout {
                url: e.url().map(ToString::to_string).unwrap_or_default(),
                message: format!("cannot build the request: {e}"),
            })?;
        let url = request.url().to_string();
        let started = Instant::now();
        let result = tokio::time::timeout(timeout, self.ctx.rt.http.execute(request)).await;
        let spent = started.elapsed();
        self.ctx.shared.lock().callout_time += spent;
        match result {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(Error::Callout {
                url,
                message: error_chain(&e),
            }),
            Err(_) => Err(Error::Callout {
                url,
                message: format!("no response within {}", human(timeout)),
            }),
        }
    }
}

fn human(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}
