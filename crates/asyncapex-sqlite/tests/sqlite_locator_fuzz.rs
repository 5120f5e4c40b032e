//! Property tests of a query locator's inputs: whatever query text, key column, cursor value
//! and page size reach the store, a page read answers rows or a typed error — never a panic —
//! and never changes the database (issue 13, fuzzing).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use asyncapex_core::{QueryPageParams, QuerySource, Store};
use asyncapex_sqlite::SqliteStore;
use proptest::prelude::*;
use serde_json::Value;

/// Query texts: random text, SQL-looking fragments (including writes, which a locator must
/// refuse), and the well-formed query with random tails.
fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        Just("SELECT id, name FROM account".to_owned()),
        "(SELECT|select|WITH|DELETE FROM|DROP TABLE|INSERT INTO|UPDATE) [a-z_ ,;*()'=0-9-]{0,40}",
        "SELECT id, name FROM account[ ;a-zA-Z0-9'\"-]{0,30}",
    ]
}

fn cursor() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        any::<i64>().prop_map(|n| Some(Value::from(n))),
        ".{0,20}".prop_map(|s| Some(Value::from(s))),
        Just(Some(Value::Null)),
        any::<bool>().prop_map(|b| Some(Value::from(b))),
        any::<f64>().prop_map(|f| Some(serde_json::json!(f))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_page_read_never_panics_and_never_writes(
        query in query(),
        key_column in prop_oneof![Just("id".to_owned()), "[a-z_\"';]{0,12}"],
        after in cursor(),
        limit in 0u32..5000,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("app.db");
            {
                let conn = rusqlite::Connection::open(&path).unwrap();
                conn.execute_batch(
                    "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT);
                     INSERT INTO account VALUES (1, 'a'), (2, 'b'), (3, 'c');",
                )
                .unwrap();
            }
            let store = SqliteStore::open(&path).await.unwrap();
            let _ = store
                .query_page(QueryPageParams { query, key_column, after, through: None, keys_only: false, limit })
                .await;
            // Whatever was asked, the application's rows are untouched and the store works.
            let conn = rusqlite::Connection::open(&path).unwrap();
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM account", [], |r| r.get(0)).unwrap();
            prop_assert_eq!(n, 3);
            prop_assert!(store.job_get("707000000000001".parse().unwrap()).await.is_ok());
            Ok(())
        })?;
    }
}
