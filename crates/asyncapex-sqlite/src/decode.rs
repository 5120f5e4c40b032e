//! Listings that survive a row they cannot decode.
//!
//! A row asyncapex cannot read back (an instant past what jiff represents, a status this
//! version does not know, text where a number belongs) may come from a bug since fixed, from
//! another version, or from a hand edit. Failing the whole listing for it would take down
//! every page that row falls on — the dashboard, `jobs list`, the flex queue — for good. So
//! a listing skips such a row and logs it at error level with its ID and the reason, and the
//! other rows are returned. Asking for that one record by ID still fails with the reason, so
//! it is not hidden from whoever looks for it.
//!
//! Why skip rather than return a marked row: the records are plain structs shared by every
//! store, the engine, the web layer and the CLI; a "could not decode" variant would change all
//! of them for a case that should not occur, while the log names the row to repair.

use asyncapex_core::Result;
use rusqlite::Row;

use crate::errors::from_sqlite;

/// A row's ID (as stored, if it can be read as text) and the row decoded, or why not.
pub(crate) type Decoded<T> = (Option<String>, rusqlite::Result<T>);

/// Decodes `row` with `decode`, keeping the text of column `id_column` for the log.
///
/// Always `Ok`: a decoding failure travels inside, so that the statement's own failures (which
/// `rusqlite` reports through the same iterator) can still be told apart and propagated.
pub(crate) fn keep_id<T>(
    row: &Row<'_>,
    id_column: usize,
    decode: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Decoded<T>> {
    let id = row.get::<_, Option<String>>(id_column).ok().flatten();
    Ok((id, decode(row)))
}

/// The decoded rows of a listing of `table`; rows that failed to decode are logged and left
/// out. A failure of the statement itself (I/O, a lock) is returned.
///
/// # Errors
/// The statement's own failure, classified by [`from_sqlite`].
pub(crate) fn skip_undecodable<T>(
    table: &'static str,
    rows: impl Iterator<Item = rusqlite::Result<Decoded<T>>>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for row in rows {
        match row.map_err(from_sqlite)? {
            (_, Ok(record)) => out.push(record),
            (id, Err(e)) => tracing::error!(
                table,
                id = id.as_deref().unwrap_or("<unreadable>"),
                error = %e,
                "skipping a row that cannot be decoded; the rest of the list is returned"
            ),
        }
    }
    Ok(out)
}
