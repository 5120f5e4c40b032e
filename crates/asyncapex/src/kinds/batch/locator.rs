//! A query locator's chunks as key ranges: `start` reads only the key column, cutting it
//! into ranges of `scope` keys, and each chunk reads its range's rows when it runs. A 50 M-row
//! locator stores 25,000 small range records, not 50 M copies of its rows.
//!
//! A range is read when its chunk runs, not when `start` ran: rows inserted into a range
//! since are seen, rows deleted are not (Apex's locator is a server-side cursor over the rows
//! as `start` found them; this is the documented difference).

use std::sync::Arc;

use asyncapex_core::{QueryPageParams, QuerySource};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cutter::Cutter;
use super::runner::Run;
use super::{Batchable, QueryLocator};
use crate::runtime::job_error::JobError;

/// Reads of a chunk's range tried before the chunk fails (100 ms, 400 ms, 1.6 s apart).
const READ_ATTEMPTS: u32 = 4;

/// What a locator's chunk stores: where to read its rows.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct KeyRange {
    query: String,
    key_column: String,
    database: Option<std::path::PathBuf>,
    page_size: u32,
    /// The last key of the previous chunk (exclusive); `None` for the first chunk.
    after: Option<Value>,
    /// The last key of this chunk (inclusive).
    through: Value,
}

/// The stored form: an object under one name, which no iterable's item list (a JSON array)
/// can be mistaken for.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    key_range: KeyRange,
}

impl KeyRange {
    /// The range a chunk's stored items describe, if they are one.
    pub(super) fn of(items: &str) -> Option<KeyRange> {
        if !items.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str::<Stored>(items)
            .ok()
            .map(|s| s.key_range)
    }

    /// Reads the range's rows, in key order, retrying a failed read a few times (a chunk
    /// whose read fails is a failed chunk, so a brief outage should not cost its rows).
    pub(super) async fn rows(self, run: &Run) -> Result<Vec<Map<String, Value>>, JobError> {
        let mut delay = std::time::Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match self.read(run).await {
                Ok(rows) => return Ok(rows),
                Err(e) if attempt < READ_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "reading a query locator chunk failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn read(&self, run: &Run) -> Result<Vec<Map<String, Value>>, JobError> {
        let source = source(run, self.database.as_deref())?;
        let mut out = Vec::new();
        let mut after = self.after.clone();
        loop {
            let page = source
                .query_page(QueryPageParams {
                    query: self.query.clone(),
                    key_column: self.key_column.clone(),
                    after: after.clone(),
                    through: Some(self.through.clone()),
                    keys_only: false,
                    limit: self.page_size,
                })
                .await?;
            let full = page.len() == self.page_size as usize;
            after = page.last().and_then(|r| r.get(&self.key_column).cloned());
            out.extend(page);
            if !full || after.is_none() {
                return Ok(out);
            }
        }
    }
}

/// Where the locator's query runs: the store's own database, or another SQLite file.
fn source(run: &Run, database: Option<&std::path::Path>) -> Result<Arc<dyn QuerySource>, JobError> {
    match database {
        #[cfg(feature = "sqlite")]
        Some(path) => Ok(Arc::new(asyncapex_sqlite::SqliteQuerySource::open(path)?)),
        #[cfg(not(feature = "sqlite"))]
        Some(path) => Err(JobError::new(format!(
            "a query locator over {} needs asyncapex's sqlite feature",
            path.display()
        ))),
        None => Ok(run.rt.store.clone()),
    }
}

/// Cuts the locator's keys into ranges of `scope` and stores them; returns the chunk count.
pub(super) async fn cut<B: Batchable>(
    run: &Run,
    locator: QueryLocator,
    scope: usize,
) -> Result<u64, JobError> {
    let source = source(run, locator.database.as_deref())?;
    let page = |after: Option<Value>, keys_only: bool, limit: u32| QueryPageParams {
        query: locator.query.clone(),
        key_column: locator.key_column.clone(),
        after,
        through: None,
        keys_only,
        limit,
    };
    // Fail at once, not in every chunk, when rows do not fit the item type.
    if let Some(first) = source.query_page(page(None, false, 1)).await?.pop() {
        serde_json::from_value::<B::Item>(Value::Object(first)).map_err(|e| {
            JobError::new(format!(
                "a query locator row does not deserialize into {}'s item type: {e}",
                B::class_name()
            ))
        })?;
    }
    let cap = run.rt.config.limits.query_locator_rows;
    let mut cutter = Cutter::new(run, scope);
    let mut rows_read: u64 = 0;
    let mut chunk_after: Option<Value> = None;
    let mut in_chunk: usize = 0;
    let mut last: Option<Value> = None;
    loop {
        let keys = source
            .query_page(page(last.clone(), true, locator.page_size))
            .await?;
        if keys.is_empty() {
            break;
        }
        for row in keys {
            rows_read += 1;
            if rows_read > cap {
                return Err(JobError::new(format!(
                    "the query locator returned more than {cap} rows, the most a batch may process"
                )));
            }
            let key = row.get(&locator.key_column).cloned().ok_or_else(|| {
                JobError::new(format!(
                    "the query locator's rows have no column {:?} to page by",
                    locator.key_column
                ))
            })?;
            if key.is_null() {
                // A NULL key sorts outside every range: its row would be counted and never
                // read (and paging past it is undefined).
                return Err(JobError::new(format!(
                    "the query locator's key column {:?} is NULL in a row: the key must be unique and never NULL (a primary key)",
                    locator.key_column
                )));
            }
            in_chunk += 1;
            if in_chunk == scope {
                seal(&mut cutter, &locator, chunk_after.take(), &key, in_chunk).await?;
                chunk_after = Some(key.clone());
                in_chunk = 0;
            }
            last = Some(key);
        }
    }
    if in_chunk > 0
        && let Some(through) = &last
    {
        seal(&mut cutter, &locator, chunk_after, through, in_chunk).await?;
    }
    cutter.finish().await
}

async fn seal(
    cutter: &mut Cutter<'_>,
    locator: &QueryLocator,
    after: Option<Value>,
    through: &Value,
    count: usize,
) -> Result<(), JobError> {
    let stored = Stored {
        key_range: KeyRange {
            query: locator.query.clone(),
            key_column: locator.key_column.clone(),
            database: locator.database.clone(),
            page_size: locator.page_size,
            after,
            through: through.clone(),
        },
    };
    let items = serde_json::to_string(&stored)
        .map_err(|e| JobError::new(format!("cannot store a query locator's key range: {e}")))?;
    cutter
        .push_chunk(items, u32::try_from(count).unwrap_or(u32::MAX))
        .await
}
