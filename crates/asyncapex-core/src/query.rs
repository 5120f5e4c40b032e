//! Reading an application's own tables page by page: what a batch's query locator needs.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::Result;

/// One page of a query, by keyset: rows whose `key_column` is greater than `after`, in key
/// order.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPageParams {
    /// The application's query (a `SELECT`); it is wrapped, not changed.
    pub query: String,
    /// A column of the query with unique, ordered values (the primary key, typically).
    pub key_column: String,
    /// The last key of the previous page; `None` for the first page.
    pub after: Option<Value>,
    /// Rows per page.
    pub limit: u32,
}

/// Something that can run an application's query page by page: every store (for tables in
/// the store's own database), or a read-only connection to another database.
#[async_trait]
pub trait QuerySource: Send + Sync {
    /// One page of rows, each as a JSON object keyed by column name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a key column that is not a plain
    /// identifier; a store error naming the query when the database refuses it.
    async fn query_page(&self, params: QueryPageParams) -> Result<Vec<Map<String, Value>>>;
}

/// Whether `name` may be spliced into SQL as a quoted identifier.
pub fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}
