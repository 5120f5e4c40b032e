//! Cutting `start`'s work set into stored chunks of `scope` items (an iterable's items are
//! copied into its chunks; a query locator's chunks are key ranges, see [`super::locator`]).

use asyncapex_core::{BatchChunksInsertParams, NewBatchChunk};

use super::Batchable;
use super::runner::Run;
use crate::runtime::job_error::JobError;

/// Chunks written per store call while `start`'s work set is cut.
const CHUNKS_PER_INSERT: usize = 64;
/// Bytes of chunk items held before they are written, whatever the chunk count: an
/// iterable's scope has no upper limit, so 64 chunks could otherwise be any size.
const BYTES_PER_INSERT: usize = 8 << 20;

/// Accumulates items into chunk JSON and writes chunks in groups.
pub(super) struct Cutter<'a> {
    run: &'a Run,
    scope: usize,
    seq: u64,
    current: String,
    in_current: usize,
    ready: Vec<NewBatchChunk>,
    ready_bytes: usize,
}

impl<'a> Cutter<'a> {
    pub(super) fn new(run: &'a Run, scope: usize) -> Cutter<'a> {
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

    /// Adds a chunk whose stored items are `items` as given (a query locator's key range)
    /// holding `count` records.
    pub(super) async fn push_chunk(&mut self, items: String, count: u32) -> Result<(), JobError> {
        self.ready_bytes += items.len();
        self.ready.push(NewBatchChunk {
            id: self.run.rt.ids.job_id(self.run.rt.clock.now()),
            seq: self.seq,
            item_count: count,
            items,
        });
        self.seq += 1;
        if self.ready.len() == CHUNKS_PER_INSERT || self.ready_bytes >= BYTES_PER_INSERT {
            self.flush().await?;
        }
        Ok(())
    }

    pub(super) async fn finish(mut self) -> Result<u64, JobError> {
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
