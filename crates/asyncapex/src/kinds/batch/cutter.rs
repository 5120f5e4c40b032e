//! Cutting `start`'s work set into stored chunks of `scope` items.

use std::sync::Arc;

use asyncapex_core::{BatchChunksInsertParams, NewBatchChunk, QueryPageParams, QuerySource};
use serde_json::Value;

use super::runner::Run;
use super::{Batchable, QueryLocator};
use crate::runtime::job_error::JobError;

/// Chunks written per store call while `start`'s work set is cut.
const CHUNKS_PER_INSERT: usize = 64;
/// Bytes of chunk items held before they are written, whatever the chunk count: an
/// iterable's scope has no upper limit, so 64 chunks could otherwise be any size.
const BYTES_PER_INSERT: usize = 8 << 20;

/// Accumulates items into chunk JSON and writes chunks in groups.
struct Cutter<'a> {
    run: &'a Run,
    scope: usize,
    seq: u64,
    current: String,
    in_current: usize,
    ready: Vec<NewBatchChunk>,
    ready_bytes: usize,
}

impl<'a> Cutter<'a> {
    fn new(run: &'a Run, scope: usize) -> Cutter<'a> {
        Cutter {
            run,
            scope,
            seq: 0,
            current: String::from("["),
            in_current: 0,
            ready: Vec::with_capacity(CHUNKS_PER_INSERT),
            ready_bytes: 0,
        }
    }

    async fn push_json(&mut self, item: &str) -> Result<(), JobError> {
        if self.in_current > 0 {
            self.current.push(',');
        }
        self.current.push_str(item);
        self.in_current += 1;
        if self.in_current == self.scope {
            self.seal();
            if self.ready.len() == CHUNKS_PER_INSERT || self.ready_bytes >= BYTES_PER_INSERT {
                self.flush().await?;
            }
        }
        Ok(())
    }

    fn seal(&mut self) {
        let mut items = std::mem::replace(&mut self.current, String::from("["));
        items.push(']');
        self.ready_bytes += items.len();
        self.ready.push(NewBatchChunk {
            id: self.run.rt.ids.job_id(self.run.rt.clock.now()),
            seq: self.seq,
            item_count: self.in_current as u32,
            items,
        });
        self.seq += 1;
        self.in_current = 0;
    }

    async fn flush(&mut self) -> Result<(), JobError> {
        if self.ready.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut self.ready);
        self.ready_bytes = 0;
        if !self
            .run
            .rt
            .store
            .batch_chunks_insert(BatchChunksInsertParams {
                job_id: self.run.job.id,
                owner: self.run.rt.owner.clone(),
                chunks,
            })
            .await?
        {
            return Err(self.run.lost());
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<u64, JobError> {
        if self.in_current > 0 {
            self.seal();
        }
        self.flush().await?;
        Ok(self.seq)
    }
}

pub(super) async fn cut_iterable<B: Batchable>(
    run: &Run,
    items: Box<dyn Iterator<Item = B::Item> + Send>,
    scope: usize,
) -> Result<u64, JobError> {
    let mut cutter = Cutter::new(run, scope);
    let mut json = String::new();
    for item in items {
        json.clear();
        // Writing into a String cannot fail for I/O reasons; only the item's Serialize can.
        let text = serde_json::to_string(&item)
            .map_err(|e| JobError::new(format!("cannot serialize a work-set item: {e}")))?;
        json.push_str(&text);
        cutter.push_json(&json).await?;
    }
    cutter.finish().await
}

pub(super) async fn cut_query<B: Batchable>(
    run: &Run,
    locator: QueryLocator,
    scope: usize,
) -> Result<u64, JobError> {
    let source: Arc<dyn QuerySource> = match &locator.database {
        #[cfg(feature = "sqlite")]
        Some(path) => Arc::new(asyncapex_sqlite::SqliteQuerySource::open(path)?),
        #[cfg(not(feature = "sqlite"))]
        Some(path) => {
            return Err(JobError::new(format!(
                "a query locator over {} needs asyncapex's sqlite feature",
                path.display()
            )));
        }
        None => run.rt.store.clone(),
    };
    let cap = run.rt.config.limits.query_locator_rows;
    let mut cutter = Cutter::new(run, scope);
    let mut after: Option<Value> = None;
    let mut rows_read: u64 = 0;
    loop {
        let page = source
            .query_page(QueryPageParams {
                query: locator.query.clone(),
                key_column: locator.key_column.clone(),
                after: after.clone(),
                limit: locator.page_size,
            })
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.get(&locator.key_column).cloned().ok_or_else(|| {
            JobError::new(format!(
                "the query locator's rows have no column {:?} to page by",
                locator.key_column
            ))
        })?);
        for row in page {
            rows_read += 1;
            if rows_read > cap {
                return Err(JobError::new(format!(
                    "the query locator returned more than {cap} rows, the most a batch may process"
                )));
            }
            let value = Value::Object(row);
            if rows_read == 1 {
                // Fail at once, not in every chunk, when rows do not fit the item type.
                serde_json::from_value::<B::Item>(value.clone()).map_err(|e| {
                    JobError::new(format!(
                        "a query locator row does not deserialize into {}'s item type: {e}",
                        B::class_name()
                    ))
                })?;
            }
            cutter.push_json(&value.to_string()).await?;
        }
    }
    cutter.finish().await
}
