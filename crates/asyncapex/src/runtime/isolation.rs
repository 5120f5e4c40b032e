//! Running user code in isolation: a panic becomes a failure of that execution (not a dead
//! worker), and the execution time limit stops it. The one place both rules live, for every
//! kind and every batch phase.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use asyncapex_core::Clock;
use asyncapex_core::clock::add;
use futures_util::FutureExt;

use super::job_error::JobError;
use super::limits::ContextKind;

/// How an isolated run of user code ended.
pub(crate) enum Ended<T> {
    /// The code returned.
    Returned(Result<T, JobError>),
    /// The code panicked, with this message.
    Panicked(String),
    /// The code was stopped at the time limit.
    TimedOut(Duration),
}

/// Runs `work` as an execution of `kind` (what [`super::current`] reports to its code) until
/// it returns, panics or passes `limit` on `clock`.
///
/// Dropping the future at the limit stops it at its next `.await`; code that never awaits
/// keeps its thread until it returns, but its result is discarded either way.
pub(crate) async fn isolate<T>(
    clock: &dyn Clock,
    limit: Duration,
    kind: ContextKind,
    work: impl Future<Output = Result<T, JobError>>,
) -> Ended<T> {
    record_panic_locations();
    let deadline = add(clock.now(), limit);
    let run = AssertUnwindSafe(super::current::scoped(kind, work)).catch_unwind();
    tokio::select! {
        ran = run => match ran {
            Ok(result) => Ended::Returned(result),
            Err(payload) => {
                let message = panic_message(payload);
                // The hook ran on this thread, in the poll that unwound to here.
                match PANIC_AT.with(|at| at.borrow_mut().take()) {
                    Some(at) => Ended::Panicked(format!("{message} (at {at})")),
                    None => Ended::Panicked(message),
                }
            }
        },
        _ = clock.sleep_until(deadline) => Ended::TimedOut(limit),
    }
}

thread_local! {
    /// Where the last panic on this thread happened, as the panic hook saw it.
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Chains a panic hook (once per process) that notes where each panic happened, so a job's
/// recorded failure says where its code panicked, not only what it said. The previous hook
/// (the default one prints to stderr) still runs.
fn record_panic_locations() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(at) = info.location() {
                let text = format!("{}:{}:{}", at.file(), at.line(), at.column());
                PANIC_AT.with(|p| *p.borrow_mut() = Some(text));
            }
            previous(info);
        }));
    });
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}
