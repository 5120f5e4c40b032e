//! A synchronous context outside any job: enqueues committed together, in the store or in the
//! application's own database transaction.

use std::sync::Arc;

use asyncapex_core::{AppTransaction, BlockingAppTransaction, Error, JobId, Store};

use super::Engine;
use crate::kinds::batch::{self, Batchable};
use crate::kinds::future::{FutureMethod, FutureTarget, call, sealed};
use crate::kinds::queueable::{self, Queueable};
use crate::runtime::context::{Buffer, ExecContext, ExecShared};
use crate::runtime::daily::counted;
use crate::runtime::enqueue::EnqueueOptions;
use crate::runtime::limits::ContextKind;

/// A synchronous context: enqueue up to 50 jobs (Apex's synchronous limit) and commit them in
/// one store transaction, all or none.
///
/// Dropping it without [`commit`](Self::commit) discards everything, like a rolled-back Apex
/// transaction.
///
/// ```no_run
/// # use asyncapex::{Engine, JobError, Queueable, QueueableContext};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Step(u32);
/// # impl Queueable for Step { async fn execute(&mut self, _: &mut QueueableContext) -> Result<(), JobError> { Ok(()) } }
/// # async fn demo(engine: &Engine) -> Result<(), asyncapex::Error> {
/// let mut tx = engine.begin();
/// let first = tx.enqueue_job(Step(1))?;
/// let second = tx.enqueue_job(Step(2))?;
/// tx.commit().await?; // both exist now, or neither
/// # Ok(()) }
/// ```
pub struct EnqueueTransaction {
    pub(crate) inner: ExecContext,
}

impl Engine {
    /// Opens a synchronous context: up to 50 enqueues committed together.
    pub fn begin(&self) -> EnqueueTransaction {
        EnqueueTransaction {
            inner: ExecContext::new(
                self.rt.clone(),
                ContextKind::Sync,
                None,
                Arc::new(ExecShared::default()),
            ),
        }
    }
}

impl EnqueueTransaction {
    /// Buffers a job and returns its ID.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] past the synchronous limit; otherwise as
    /// [`QueueableContext::enqueue_job`](crate::QueueableContext::enqueue_job).
    pub fn enqueue_job<Q: Queueable>(&mut self, job: Q) -> Result<JobId, Error> {
        queueable::enqueue(&self.inner, &job, EnqueueOptions::default())
    }

    /// [`enqueue_job`](Self::enqueue_job) with options.
    ///
    /// # Errors
    /// As [`enqueue_job`](Self::enqueue_job); also [`Error::InvalidInput`] for a maximum
    /// stack depth of 0.
    pub fn enqueue_job_with<Q: Queueable>(
        &mut self,
        job: Q,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        queueable::enqueue(&self.inner, &job, options)
    }

    /// Submits a batch job (it joins the end of the flex queue when this commits).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a scope of 0; [`Error::UnknownJobType`].
    pub fn execute_batch<B: Batchable>(&mut self, batch: B, scope: u32) -> Result<JobId, Error> {
        batch::submit(&self.inner, &batch, scope)
    }

    /// What this context has used of its governor limits (Apex's `Limits`): a fresh context
    /// starts at zero.
    ///
    /// ```
    /// # async fn demo(engine: &asyncapex::Engine) {
    /// let tx = engine.begin();
    /// assert_eq!(tx.limits().queueable_jobs.used, 0);
    /// assert_eq!(tx.limits().queueable_jobs.limit, 50);
    /// # }
    /// ```
    pub fn limits(&self) -> crate::runtime::limits::LimitsView {
        self.inner.limits_view()
    }

    /// The buffer, once its limits and the daily cap allow it to commit.
    async fn checked(self) -> Result<Buffer, Error> {
        let buffer = self.inner.shared.take_buffer();
        if let Some(violation) = buffer.violation {
            return Err(violation);
        }
        let rt = &self.inner.rt;
        rt.daily
            .check(rt.store.as_ref(), rt.clock.now(), counted(&buffer.enqueued))
            .await?;
        Ok(buffer)
    }

    /// Commits every buffered job in one store transaction.
    ///
    /// # Errors
    /// The limit error if a limit was broken (nothing is committed);
    /// [`Error::DuplicateSignature`] when a job's signature is taken (nothing is committed);
    /// a store error.
    pub async fn commit(self) -> Result<Vec<JobId>, Error> {
        let rt = self.inner.rt.clone();
        let buffer = self.checked().await?;
        let ids = buffer.enqueued.iter().map(|j| j.id).collect();
        rt.insert(buffer.enqueued).await?;
        Ok(ids)
    }

    /// Commits every buffered job inside the application's own database transaction `tx`:
    /// the jobs exist only if `tx` commits (Apex's "enqueued work is dispatched when the
    /// transaction commits"), and other processes are woken when it does. The engine's store
    /// must be the store that `tx`'s database belongs to (today: a PostgreSQL store and a
    /// `tokio_postgres::Transaction`).
    ///
    #[cfg_attr(feature = "postgres", doc = "```no_run")]
    #[cfg_attr(not(feature = "postgres"), doc = "```ignore")]
    /// # async fn demo(engine: &asyncapex::Engine, client: &mut asyncapex::tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Welcome { id: i64 }
    /// # impl asyncapex::Queueable for Welcome { async fn execute(&mut self, _: &mut asyncapex::QueueableContext) -> Result<(), asyncapex::JobError> { Ok(()) } }
    /// let tx = client.transaction().await?;
    /// tx.execute("INSERT INTO account (id) VALUES ($1)", &[&42i64]).await?;
    /// let mut jobs = engine.begin();
    /// jobs.enqueue_job(Welcome { id: 42 })?;
    /// jobs.commit_in(&tx).await?;   // buffered into the app's transaction
    /// tx.commit().await?;           // the account and its job, or neither
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the engine's store is not the kind `tx` belongs to;
    /// otherwise as [`commit`](Self::commit).
    pub async fn commit_in<S, T>(self, tx: &T) -> Result<Vec<JobId>, Error>
    where
        S: Store,
        T: AppTransaction<S>,
    {
        let rt = self.inner.rt.clone();
        let Some(store) = rt.store.as_any().downcast_ref::<S>() else {
            return Err(Error::NotAllowed {
                rule: format!(
                    "enqueueing inside an application transaction needs an engine whose store is a {}",
                    std::any::type_name::<S>()
                ),
            });
        };
        let buffer = self.checked().await?;
        let ids = buffer.enqueued.iter().map(|j| j.id).collect();
        tx.job_insert_in(store, &buffer.enqueued, rt.config.limits.flex_queue_size)
            .await?;
        Ok(ids)
    }
}

#[cfg(feature = "sqlite")]
impl Engine {
    /// Prepares the application's own connection to the engine's SQLite file for enqueueing
    /// inside its transactions ([`EnqueueTransaction::prepare`]): see
    /// [`SqliteStore::enlist`](asyncapex_sqlite::SqliteStore::enlist) for what it checks and
    /// sets. Call it once per connection.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the engine's store is not a SQLite file, or `conn` is another
    /// file or not in WAL mode.
    pub fn enlist(&self, conn: &mut asyncapex_sqlite::rusqlite::Connection) -> Result<(), Error> {
        let Some(store) = self
            .rt
            .store
            .as_any()
            .downcast_ref::<asyncapex_sqlite::SqliteStore>()
        else {
            return Err(Error::NotAllowed {
                rule: "enlisting a SQLite connection needs an engine on a SQLite store".into(),
            });
        };
        store.enlist(conn)
    }
}

impl EnqueueTransaction {
    /// Checks the buffered jobs against the limits and the daily cap, for an insert into an
    /// application transaction that cannot be held across an `.await`: SQLite's. Then
    /// [`PreparedEnqueue::insert_in`] inserts them, without awaiting, inside the
    /// application's open `rusqlite` transaction on the store's file, and they exist if and
    /// only if it commits. The application's connection must be enlisted
    /// (`Engine::enlist`) once first, so that its commit wakes every engine on the file at
    /// once (without it they find the jobs at their next poll).
    ///
    #[cfg_attr(feature = "sqlite", doc = "```no_run")]
    #[cfg_attr(not(feature = "sqlite"), doc = "```ignore")]
    /// # async fn demo(engine: &asyncapex::Engine) -> Result<(), Box<dyn std::error::Error>> {
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Welcome { id: i64 }
    /// # impl asyncapex::Queueable for Welcome { async fn execute(&mut self, _: &mut asyncapex::QueueableContext) -> Result<(), asyncapex::JobError> { Ok(()) } }
    /// use asyncapex::rusqlite;
    /// let mut conn = rusqlite::Connection::open("app.db")?; // the engine's store file
    /// engine.enlist(&mut conn)?;                            // once per connection
    ///
    /// let mut jobs = engine.begin();
    /// jobs.enqueue_job(Welcome { id: 42 })?;
    /// let jobs = jobs.prepare().await?;                     // limits checked
    /// let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    /// tx.execute("INSERT INTO account (id) VALUES (?1)", [42])?;
    /// jobs.insert_in(&tx)?;                                 // no await inside
    /// tx.commit()?;                                         // the account and its job, or neither
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`commit`](Self::commit), for the limits and the daily cap.
    pub async fn prepare(self) -> Result<PreparedEnqueue, Error> {
        let rt = self.inner.rt.clone();
        let buffer = self.checked().await?;
        Ok(PreparedEnqueue {
            rt,
            jobs: buffer.enqueued,
        })
    }
}

/// Jobs checked against the limits, ready to be inserted into an application's own
/// transaction without awaiting (see [`EnqueueTransaction::prepare`]). Dropping it inserts
/// nothing.
pub struct PreparedEnqueue {
    rt: Arc<crate::runtime::Runtime>,
    jobs: Vec<asyncapex_core::NewJob>,
}

impl PreparedEnqueue {
    /// The IDs the jobs will have.
    pub fn ids(&self) -> Vec<JobId> {
        self.jobs.iter().map(|j| j.id).collect()
    }

    /// Inserts the jobs inside `tx`, the application's open transaction on the store's
    /// database; returns their IDs. They commit or roll back with `tx`, all or none.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the engine's store is not the kind `tx` belongs to, `tx`
    /// is on another file or no transaction is open; [`Error::DuplicateSignature`] and the
    /// flex queue's cap as for any enqueue (nothing is inserted, `tx` stays open); a store
    /// error.
    pub fn insert_in<S, T>(self, tx: &T) -> Result<Vec<JobId>, Error>
    where
        S: Store,
        T: BlockingAppTransaction<S>,
    {
        let Some(store) = self.rt.store.as_any().downcast_ref::<S>() else {
            return Err(Error::NotAllowed {
                rule: format!(
                    "enqueueing inside this application transaction needs an engine whose store is a {}",
                    std::any::type_name::<S>()
                ),
            });
        };
        tx.job_insert_in(store, &self.jobs, self.rt.config.limits.flex_queue_size)?;
        Ok(self.ids())
    }
}

impl sealed::Sealed for Engine {}
impl sealed::Sealed for EnqueueTransaction {}

impl FutureTarget for Engine {
    async fn __enqueue_future(
        &self,
        method: &'static FutureMethod,
        args: String,
    ) -> Result<JobId, Error> {
        let tx = self.begin();
        let id = call(&tx.inner, method, args)?;
        tx.commit().await?;
        Ok(id)
    }
}

impl FutureTarget for EnqueueTransaction {
    async fn __enqueue_future(
        &self,
        method: &'static FutureMethod,
        args: String,
    ) -> Result<JobId, Error> {
        call(&self.inner, method, args)
    }
}
