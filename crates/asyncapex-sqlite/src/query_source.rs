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
    let columns = if p.keys_only {
        format!("asyncapex_locator.\"{}\"", p.key_column)
    } else {
        "*".to_owned()
    };
    let (sql, values) = page_sql(p, &columns);
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
        .query(rusqlite::params_from_iter(
            std::iter::once(SqlValue::Integer(i64::from(p.limit))).chain(values),
        ))
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

/// The statement of one page and its bound values after the limit (`?1`). Only the bounds
/// given are written: `(?2 IS NULL OR key > ?2)` would hide the range from the planner, and
/// every page would scan the query from its first row (a 1 M-row locator read 51 k rows/s).
fn page_sql(p: &QueryPageParams, columns: &str) -> (String, Vec<SqlValue>) {
    let key = format!("asyncapex_locator.\"{}\"", p.key_column);
    let mut bounds = vec!["1".to_owned()];
    let mut values = Vec::new();
    for (bound, op) in [(&p.after, ">"), (&p.through, "<=")] {
        if let Some(v) = bound {
            values.push(json_to_sql(v));
            bounds.push(format!("{key} {op} ?{}", values.len() + 1));
        }
    }
    let sql = format!(
        "SELECT {columns} FROM ({query}) AS asyncapex_locator WHERE {bounds} ORDER BY {key} LIMIT ?1",
        query = p.query.trim().trim_end_matches(';'),
        bounds = bounds.join(" AND "),
    );
    (sql, values)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A page with both bounds is a range search of the key, not a scan of the query.
    #[test]
    fn a_key_range_page_searches_the_key_index() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
            .unwrap();
        let mut p = QueryPageParams::new("SELECT id, total FROM orders WHERE total > 0", "id", 10);
        p.after = Some(Value::from(100));
        p.through = Some(Value::from(2100));
        let (sql, _) = page_sql(&p, "*");
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(rusqlite::params![10, 100, 2100], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|l| l.contains("SEARCH") && l.contains("rowid>? AND rowid<?")),
            "{plan:?}"
        );
    }
}
