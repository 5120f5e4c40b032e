//! Turning SQLite's errors into asyncapex's, at the store boundary.

use asyncapex_core::{Error, StoreErrorKind};
use rusqlite::ErrorCode;

/// Classifies a rusqlite error.
pub(crate) fn from_sqlite(e: rusqlite::Error) -> Error {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => StoreErrorKind::Corrupt,
            ErrorCode::CannotOpen
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull => StoreErrorKind::Unavailable,
            ErrorCode::ConstraintViolation => StoreErrorKind::Constraint,
            _ => StoreErrorKind::Other,
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::InvalidColumnName(..) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Other,
    };
    let message = match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::NotADatabase => {
            "the file is not an SQLite database".to_owned()
        }
        _ => e.to_string(),
    };
    Error::store(kind, message)
}

/// Whether `e` is the unique index on duplicate signatures refusing an insert.
pub(crate) fn is_signature_conflict(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) => {
            f.code == ErrorCode::ConstraintViolation && msg.contains("asyncapex_job.signature")
        }
        _ => false,
    }
}

/// A value read back from the database that asyncapex did not write.
pub(crate) fn corrupt(column: &str, detail: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("column {column}: {detail}").into(),
    )
}
