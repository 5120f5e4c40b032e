//! The job kinds: one module per Apex model, each holding its trait, its handler and the
//! context methods it offers — including the entry points other kinds call (a queueable is
//! enqueued from every context, so `queueable` adds `enqueue_job` to each; a batch is
//! submitted from several, so `batch` adds `execute_batch`).
//!
//! The context types themselves are declared together in [`context`], the one module every
//! kind may use: so no kind imports another, and adding a kind never edits a sibling.

pub(crate) mod batch;
pub(crate) mod context;
pub(crate) mod finalizer;
pub mod future;
pub(crate) mod queueable;
pub(crate) mod schedulable;

/// `my_crate::jobs::Thing<T>` → `Thing`: the default class name of every kind's type.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Serializes a submitted job's state, naming its class when serde refuses.
pub(crate) fn to_payload<T: serde::Serialize>(
    class: &str,
    what: &str,
    value: &T,
) -> Result<String, asyncapex_core::Error> {
    serde_json::to_string(value).map_err(|e| asyncapex_core::Error::Payload {
        class: class.to_owned(),
        message: format!("cannot serialize the {what}: {e}"),
    })
}
