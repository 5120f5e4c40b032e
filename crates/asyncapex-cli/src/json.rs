//! The `--json` shapes: the stored records, with each payload nested as the JSON it is (not a
//! string to parse again) and a schedule's one state as its list shows it.

use asyncapex::{CronTriggerRecord, JobRecord};
use serde_json::Value;

use crate::error::CliError;
use crate::output::outln;

/// A payload as JSON; a payload that is not JSON stays a string.
fn nested(payload: &str) -> Value {
    serde_json::from_str(payload).unwrap_or_else(|_| Value::String(payload.to_owned()))
}

/// The sensitive payload fields the engines on this store recorded.
pub(crate) async fn redactions(
    store: &dyn asyncapex::unstable::store::Store,
) -> Result<asyncapex::Redactions, CliError> {
    store
        .sensitive_fields_list()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))
}

/// `jobs` with their sensitive payload fields redacted, for printing.
pub(crate) fn redact_jobs(jobs: &mut [JobRecord], r: &asyncapex::Redactions) {
    for j in jobs {
        j.payload = r.redact_text(&j.class_name, &j.payload);
    }
}

/// A job record, its payload nested.
pub(crate) fn job(job: &JobRecord) -> Result<Value, CliError> {
    let mut value = serde_json::to_value(job)?;
    value["payload"] = job.payload_json();
    Ok(value)
}

/// A schedule, its payload nested; `state` is what it is now (`WAITING`, `PAUSED`, `DELETED`…),
/// in place of the stored state it is derived from.
pub(crate) fn schedule(
    trigger: &CronTriggerRecord,
    now: jiff::Timestamp,
) -> Result<Value, CliError> {
    let mut value = serde_json::to_value(trigger)?;
    if let Value::Object(fields) = &mut value {
        fields.remove("stored_state");
        fields.insert("state".into(), Value::from(trigger.state(now).as_str()));
        fields.insert("payload".into(), nested(&trigger.payload));
    }
    Ok(value)
}

/// Prints `value` pretty, then a newline.
pub(crate) fn print(value: &impl serde::Serialize) -> Result<(), CliError> {
    outln!("{}", serde_json::to_string_pretty(value)?)
}
