//! Turning PostgreSQL's errors into asyncapex's, at the store boundary.

use asyncapex_core::{Error, StoreErrorKind};
use tokio_postgres::error::SqlState;

/// Classifies a tokio-postgres error.
pub(crate) fn from_pg(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let kind = match code {
            // Operator intervention that ends sessions (shutdown, terminate, crash) and
            // "cannot connect now"; a cancelled query is not an outage.
            c if c.starts_with("57P") => StoreErrorKind::Unavailable,
            c if c.starts_with("08") || c.starts_with("53") || c.starts_with("28") => {
                StoreErrorKind::Unavailable
            }
            "3D000" => StoreErrorKind::Unavailable,
            // A deadlock or serialization failure rolled the whole transaction back, so
            // running it again is safe and is what the caller would do by hand.
            "40P01" | "40001" => StoreErrorKind::Unavailable,
            c if c.starts_with("23") => StoreErrorKind::Constraint,
            c if c.starts_with("XX") => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Other,
        };
        let mut message = format!("{} (SQLSTATE {code})", db.message());
        if let Some(detail) = db.detail() {
            message.push_str(": ");
            message.push_str(detail);
        }
        return Error::store(kind, message);
    }
    let kind = if is_connection_lost(&e) {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Other
    };
    Error::store(kind, e.to_string())
}

/// Classifies a pool error: the server could not be reached, or no connection freed up.
pub(crate) fn from_pool(e: deadpool_postgres::PoolError) -> Error {
    use deadpool_postgres::PoolError;
    match e {
        PoolError::Backend(e) => match from_pg(e) {
            Error::Store { message, .. } => Error::store(
                StoreErrorKind::Unavailable,
                format!("cannot connect to PostgreSQL: {message}"),
            ),
            other => other,
        },
        PoolError::Timeout(t) => Error::store(
            StoreErrorKind::Unavailable,
            format!("timed out waiting for a PostgreSQL connection ({t:?})"),
        ),
        other => Error::store(
            StoreErrorKind::Unavailable,
            format!("no PostgreSQL connection: {other}"),
        ),
    }
}

/// Whether the connection under `e` is gone (the server restarted, the backend was
/// terminated, the network dropped): the statement never ran, or its transaction rolled back.
pub(crate) fn is_connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return code.starts_with("57P") || code.starts_with("08");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Whether `e` is the unique index `index` refusing a row.
pub(crate) fn is_unique_violation(e: &tokio_postgres::Error, index: &str) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code() == &SqlState::UNIQUE_VIOLATION && db.constraint() == Some(index)
    })
}

/// A value read back from the database that asyncapex did not write.
pub(crate) fn corrupt(column: &str, detail: impl std::fmt::Display) -> Error {
    Error::store(
        StoreErrorKind::Corrupt,
        format!("column {column}: {detail}"),
    )
}
