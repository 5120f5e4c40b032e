//! Running an application's query page by page (a batch's query locator), on the store's own
//! connection or on a read-only connection to another SQLite file.

use std::path::Path;

use async_trait::async_trait;
use asyncapex_core::query::is_plain_identifier;
use asyncapex_core::{Error, QueryPageParams, QuerySource, Result, StoreErrorKind};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Number, Value};

use crate::connection::ConnectionThread;
use crate::errors::from_sqlite;

/// Runs one page of `p` on `conn`.
pub(crate) fn page(conn: &Connection, p: &QueryPageParams) -> Result<Vec<Map<String, Value>>> {
    if !is_plain_identifier(&p.key_column) {
        return Err(Error::InvalidInput {
            what: "query locator key column",
            input: p.key_column.clone(),
            rule: "the key column must be a plain identifier (letters, digits, underscores)",
        });
    }
    // The application's query is wrapped, not edited, so keyset paging works for any SELECT.
    let sql = format!(
        "SELECT * FROM ({query}) AS asyncapex_locator \
         WHERE (?1 IS NULL OR asyncapex_locator.\"{key}\" > ?1) \
         ORDER BY asyncapex_locator.\"{key}\" LIMIT ?2",
        query = p.query.trim().trim_end_matches(';'),
        key = p.key_column
    );
    let after = p.after.as_ref().map(json_to_sql);
    let refuse = |e: rusqlite::Error| {
        let err = from_sqlite(e);
        match err {
            Error::Store { kind, message } => Error::Store {
                kind,
                message: format!("query locator {:?}: {message}", p.query),
            },
            other => other,
        }
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(refuse)?;
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt
        .query(rusqlite::params![after, p.limit])
        .map_err(refuse)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(refuse)? {
        let mut map = Map::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let v = row.get_ref(i).map_err(refuse)?;
            map.insert(name.clone(), sql_to_json(v));
        }
        out.push(map);
    }
    Ok(out)
}

fn json_to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

fn sql_to_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::from(b.to_vec()),
    }
}

/// A read-only connection to another SQLite file, for batches over its tables. It never
/// writes to that file (no asyncapex tables are created there).
#[derive(Debug, Clone)]
pub struct SqliteQuerySource {
    conn: ConnectionThread,
}

impl SqliteQuerySource {
    /// Opens `path` read-only.
    ///
    /// # Errors
    /// [`StoreErrorKind::Unavailable`] when it does not exist or cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteQuerySource> {
        let path = path.as_ref();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            Error::store(
                StoreErrorKind::Unavailable,
                format!("cannot open {} for a query locator: {e}", path.display()),
            )
        })?;
        Ok(SqliteQuerySource {
            conn: ConnectionThread::spawn_reader(conn, "query")?,
        })
    }
}

#[async_trait]
impl QuerySource for SqliteQuerySource {
    async fn query_page(&self, params: QueryPageParams) -> Result<Vec<Map<String, Value>>> {
        self.conn.call(move |conn| page(conn, &params)).await
    }
}
