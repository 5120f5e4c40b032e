//! Reading an application's own tables page by page: what a batch's query locator needs.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::Result;

/// One page of a query, by keyset: rows whose `key_column` is greater than `after` (and at
/// most `through`), in key order.
///
/// ```
/// use asyncapex_core::QueryPageParams;
/// let first = QueryPageParams::new("SELECT id, name FROM account", "id", 10_000);
/// assert_eq!((first.after, first.through, first.keys_only), (None, None, false));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPageParams {
    /// The application's query (a `SELECT`); it is wrapped, not changed.
    pub query: String,
    /// A column of the query with unique, ordered values (the primary key, typically).
    pub key_column: String,
    /// The last key of the previous page; `None` for the first page.
    pub after: Option<Value>,
    /// The last key to read, inclusive; `None` for no upper bound (a query locator's chunk
    /// is the key range `after` (exclusive) to `through`).
    pub through: Option<Value>,
    /// Read only the key column (a batch's `start` cuts key ranges without reading rows).
    pub keys_only: bool,
    /// Rows per page.
    pub limit: u32,
}

impl QueryPageParams {
    /// The first page of `query`, every column, `limit` rows.
    pub fn new(query: impl Into<String>, key_column: impl Into<String>, limit: u32) -> Self {
        QueryPageParams {
            query: query.into(),
            key_column: key_column.into(),
            after: None,
            through: None,
            keys_only: false,
            limit,
        }
    }
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
