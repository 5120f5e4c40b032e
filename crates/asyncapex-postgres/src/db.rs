//! Where a store query runs: a transaction, whoever opened it (the store's own, with its
//! statement cache, or the application's for `job_insert_in`), or a pooled connection in
//! autocommit mode for a call that is one statement (one round trip instead of three). Every
//! query function of the store runs on a [`Tx`].

use async_trait::async_trait;
use asyncapex_core::Result;
use jiff::Timestamp;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Row, Statement};

use crate::errors::{corrupt, from_pg};

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

/// A transaction (or an autocommit connection) the store's queries can run in.
#[async_trait]
pub(crate) trait Tx: Send + Sync {
    /// The statement for `sql`, prepared (and cached when the connection has a cache).
    async fn stmt(&self, sql: &str) -> PgResult<Statement>;
    /// Runs a prepared statement, returning its rows.
    async fn rows(&self, stmt: &Statement, params: Params<'_>) -> PgResult<Vec<Row>>;
    /// Runs a prepared statement, returning how many rows it changed.
    async fn changed(&self, stmt: &Statement, params: Params<'_>) -> PgResult<u64>;
}

/// Implements [`Tx`] for a client type whose `prepare` is the given method.
macro_rules! tx_impl {
    ($ty:ty, $prepare:ident) => {
        #[async_trait]
        impl Tx for $ty {
            async fn stmt(&self, sql: &str) -> PgResult<Statement> {
                self.$prepare(sql).await
            }
            async fn rows(&self, stmt: &Statement, params: Params<'_>) -> PgResult<Vec<Row>> {
                self.query(stmt, params).await
            }
            async fn changed(&self, stmt: &Statement, params: Params<'_>) -> PgResult<u64> {
                self.execute(stmt, params).await
            }
        }
    };
}

tx_impl!(deadpool_postgres::Transaction<'_>, prepare_cached);
tx_impl!(tokio_postgres::Transaction<'_>, prepare);
// A pooled connection outside any transaction: each statement commits on its own.
tx_impl!(deadpool_postgres::Object, prepare_cached);

/// Query parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Runs `sql`, returning its rows.
pub(crate) async fn query(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    tx.rows(&stmt, params).await.map_err(from_pg)
}

/// Runs `sql`, returning its one row or none.
pub(crate) async fn query_opt(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    let mut rows = tx.rows(&stmt, params).await.map_err(from_pg)?;
    if rows.len() > 1 {
        return Err(corrupt(
            "(row count)",
            "a query for one row returned several",
        ));
    }
    Ok(rows.pop())
}

/// Runs `sql`, returning how many rows it changed.
pub(crate) async fn execute(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<u64> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    tx.changed(&stmt, params).await.map_err(from_pg)
}

/// Runs a `SELECT COUNT(*)`-like query whose one row holds one BIGINT.
pub(crate) async fn count(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<u64> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    let row = one_row(tx.rows(&stmt, params).await.map_err(from_pg)?)?;
    let n: i64 = get(&row, 0)?;
    Ok(n.max(0) as u64)
}

/// Runs a query whose one row holds one nullable BIGINT instant.
pub(crate) async fn instant(tx: &dyn Tx, sql: &str, column: &str) -> Result<Option<Timestamp>> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    let row = one_row(tx.rows(&stmt, &[]).await.map_err(from_pg)?)?;
    let v: Option<i64> = get(&row, 0)?;
    v.map(|v| ts(column, v)).transpose()
}

/// The one row of a query that always returns exactly one.
fn one_row(mut rows: Vec<Row>) -> Result<Row> {
    match (rows.pop(), rows.is_empty()) {
        (Some(row), true) => Ok(row),
        _ => Err(corrupt(
            "(row count)",
            "a query that returns one row returned none or several",
        )),
    }
}

/// A column by name or index, as `T`.
pub(crate) fn get<'a, I, T>(row: &'a Row, column: I) -> Result<T>
where
    I: tokio_postgres::row::RowIndex + std::fmt::Display,
    T: FromSql<'a>,
{
    row.try_get(&column)
        .map_err(|e| corrupt(&column.to_string(), e))
}

/// An instant stored as microseconds since the Unix epoch.
pub(crate) fn ts(column: &str, v: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(v).map_err(|e| corrupt(column, e))
}

/// A nullable instant column.
pub(crate) fn opt_ts(row: &Row, column: &str) -> Result<Option<Timestamp>> {
    get::<_, Option<i64>>(row, column)?
        .map(|v| ts(column, v))
        .transpose()
}

/// A non-negative count column that fits a `u32`.
pub(crate) fn u32_col(row: &Row, column: &str) -> Result<u32> {
    let v: i64 = get(row, column)?;
    u32::try_from(v).map_err(|e| corrupt(column, e))
}

/// A non-negative count column.
pub(crate) fn u64_col(row: &Row, column: &str) -> Result<u64> {
    let v: i64 = get(row, column)?;
    Ok(v.max(0) as u64)
}

/// Microseconds since the Unix epoch.
pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}
