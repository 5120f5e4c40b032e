//! One transaction, whoever opened it: the store's own (with its statement cache) or the
//! application's (`job_insert_in`). Every query function of the store runs on a [`Tx`].

use async_trait::async_trait;
use asyncapex_core::Result;
use jiff::Timestamp;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Row, Statement};

use crate::errors::{corrupt, from_pg};

/// A transaction the store's queries can run in.
#[async_trait]
pub(crate) trait Tx: Send + Sync {
    /// The statement for `sql`, prepared (and cached when the connection has a cache).
    async fn stmt(&self, sql: &str) -> std::result::Result<Statement, tokio_postgres::Error>;
    /// The transaction itself.
    fn raw(&self) -> &tokio_postgres::Transaction<'_>;
}

#[async_trait]
impl Tx for deadpool_postgres::Transaction<'_> {
    async fn stmt(&self, sql: &str) -> std::result::Result<Statement, tokio_postgres::Error> {
        self.prepare_cached(sql).await
    }

    fn raw(&self) -> &tokio_postgres::Transaction<'_> {
        self
    }
}

#[async_trait]
impl Tx for tokio_postgres::Transaction<'_> {
    async fn stmt(&self, sql: &str) -> std::result::Result<Statement, tokio_postgres::Error> {
        self.prepare(sql).await
    }

    fn raw(&self) -> &tokio_postgres::Transaction<'_> {
        self
    }
}

/// Query parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Runs `sql`, returning its rows.
pub(crate) async fn query(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    tx.raw().query(&stmt, params).await.map_err(from_pg)
}

/// Runs `sql`, returning its one row or none.
pub(crate) async fn query_opt(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    tx.raw().query_opt(&stmt, params).await.map_err(from_pg)
}

/// Runs `sql`, returning how many rows it changed.
pub(crate) async fn execute(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<u64> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    tx.raw().execute(&stmt, params).await.map_err(from_pg)
}

/// Runs a `SELECT COUNT(*)`-like query whose one row holds one BIGINT.
pub(crate) async fn count(tx: &dyn Tx, sql: &str, params: Params<'_>) -> Result<u64> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    let row = tx.raw().query_one(&stmt, params).await.map_err(from_pg)?;
    let n: i64 = get(&row, 0)?;
    Ok(n.max(0) as u64)
}

/// Runs a query whose one row holds one nullable BIGINT instant.
pub(crate) async fn instant(tx: &dyn Tx, sql: &str, column: &str) -> Result<Option<Timestamp>> {
    let stmt = tx.stmt(sql).await.map_err(from_pg)?;
    let row = tx.raw().query_one(&stmt, &[]).await.map_err(from_pg)?;
    let v: Option<i64> = get(&row, 0)?;
    v.map(|v| ts(column, v)).transpose()
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
