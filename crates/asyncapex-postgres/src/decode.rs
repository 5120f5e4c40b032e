//! Listings that survive a row they cannot decode.
//!
//! A row asyncapex cannot read back (an instant past what jiff represents, a status this
//! version does not know) may come from a bug since fixed, from another version, or from a
//! hand edit. Failing the whole listing for it would take down every page that row falls on
//! — the dashboard, `jobs list`, the flex queue — for good. So a listing skips such a row and
//! logs it at error level with its ID and the reason, and the other rows are returned. Asking
//! for that one record by ID still fails with the reason, so it is not hidden from whoever
//! looks for it.
//!
//! Why skip rather than return a marked row: the records are plain structs shared by every
//! store, the engine, the web layer and the CLI; a "could not decode" variant would change all
//! of them for a case that should not occur, while the log names the row to repair.

use asyncapex_core::Result;
use tokio_postgres::Row;

/// The rows of a listing of `table` that `decode` can read; the others are logged (with
/// their `id` column) and left out.
pub(crate) fn skip_undecodable<T>(
    table: &'static str,
    rows: &[Row],
    decode: impl Fn(&Row) -> Result<T>,
) -> Vec<T> {
    rows.iter()
        .filter_map(|row| match decode(row) {
            Ok(record) => Some(record),
            Err(e) => {
                let id = row.try_get::<_, Option<String>>("id").ok().flatten();
                tracing::error!(
                    table,
                    id = id.as_deref().unwrap_or("<unreadable>"),
                    error = %e,
                    "skipping a row that cannot be decoded; the rest of the list is returned"
                );
                None
            }
        })
        .collect()
}
