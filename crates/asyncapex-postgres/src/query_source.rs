//! Running an application's query page by page (a batch's query locator) on the store's
//! database, in a read-only transaction.

use asyncapex_core::query::is_plain_identifier;
use asyncapex_core::{Error, QueryPageParams, Result};
use deadpool_postgres::Object;
use serde_json::{Map, Number, Value};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};

use crate::errors::{corrupt, from_pg};

/// Column types read as themselves; every other column is cast to text in the query.
const NATIVE: &[Type] = &[
    Type::BOOL,
    Type::INT2,
    Type::INT4,
    Type::INT8,
    Type::OID,
    Type::FLOAT4,
    Type::FLOAT8,
    Type::TEXT,
    Type::VARCHAR,
    Type::BPCHAR,
    Type::NAME,
    Type::JSON,
    Type::JSONB,
    Type::TIMESTAMPTZ,
];

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Runs one page of `p`.
pub(crate) async fn page(
    client: &mut Object,
    p: &QueryPageParams,
) -> Result<Vec<Map<String, Value>>> {
    if !is_plain_identifier(&p.key_column) {
        return Err(Error::InvalidInput {
            what: "query locator key column",
            input: p.key_column.clone(),
            rule: "the key column must be a plain identifier (letters, digits, underscores)",
        });
    }
    let refuse = |e: tokio_postgres::Error| match from_pg(e) {
        Error::Store { kind, message } => Error::Store {
            kind,
            message: format!("query locator {:?}: {message}", p.query),
        },
        other => other,
    };
    let query = p.query.trim().trim_end_matches(';');
    let tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(from_pg)?;
    // Prepared, not run: its columns say how to read each one and how to bind the last key.
    let probe = tx
        .prepare(&include_str!("queries/query_page_probe.sql").replace("{query}", query))
        .await
        .map_err(refuse)?;
    let key_type = probe
        .columns()
        .iter()
        .find(|c| c.name() == p.key_column)
        .map(|c| c.type_().clone())
        .ok_or_else(|| Error::InvalidInput {
            what: "query locator key column",
            input: p.key_column.clone(),
            rule: "the key column must be one of the query's columns",
        })?;
    let columns: Vec<String> = probe
        .columns()
        .iter()
        .filter(|c| !p.keys_only || c.name() == p.key_column)
        .map(|c| {
            let col = format!("asyncapex_locator.{}", quote_ident(c.name()));
            if NATIVE.contains(c.type_()) {
                format!("{col} AS {}", quote_ident(c.name()))
            } else {
                format!("{col}::text AS {}", quote_ident(c.name()))
            }
        })
        .collect();
    let key_type = format!(
        "{}.{}",
        quote_ident(key_type.schema()),
        quote_ident(key_type.name())
    );
    let as_text = |v: &Value| -> Option<String> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    let limit = i64::from(p.limit);
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&limit];
    let keys: Vec<(String, &str)> = [(&p.after, ">"), (&p.through, "<=")]
        .into_iter()
        .filter_map(|(bound, op)| bound.as_ref().and_then(as_text).map(|k| (k, op)))
        .collect();
    let mut bounds = vec!["true".to_owned()];
    for (key, op) in &keys {
        params.push(key);
        bounds.push(format!(
            "asyncapex_locator.{} {op} CAST(${}::text AS {key_type})",
            quote_ident(&p.key_column),
            params.len()
        ));
    }
    // The application's query goes in last, so nothing in it is taken for a placeholder.
    let sql = include_str!("queries/query_page.sql")
        .replace("{columns}", &columns.join(", "))
        .replace("{key}", &p.key_column)
        .replace("{bounds}", &bounds.join(" AND "))
        .replace("{query}", query);
    let rows = tx.query(&sql, &params).await.map_err(refuse)?;
    tx.commit().await.map_err(from_pg)?;
    rows.iter().map(row_to_json).collect()
}

fn row_to_json(row: &Row) -> Result<Map<String, Value>> {
    let mut map = Map::with_capacity(row.len());
    for (i, c) in row.columns().iter().enumerate() {
        let name = c.name();
        let get_err = |e: tokio_postgres::Error| corrupt(name, e);
        let value = match *c.type_() {
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(get_err)?
                .map(Value::from),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(get_err)?
                .map(Value::from),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(get_err)?
                .map(Value::from),
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map_err(get_err)?
                .map(Value::from),
            Type::OID => row
                .try_get::<_, Option<u32>>(i)
                .map_err(get_err)?
                .map(Value::from),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map_err(get_err)?
                .map(|f| Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number)),
            Type::FLOAT8 => row
                .try_get::<_, Option<f64>>(i)
                .map_err(get_err)?
                .map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
            Type::JSON | Type::JSONB => row.try_get::<_, Option<Value>>(i).map_err(get_err)?,
            Type::TIMESTAMPTZ => row
                .try_get::<_, Option<PgTimestamp>>(i)
                .map_err(get_err)?
                .map(|t| Value::String(t.0)),
            _ => row
                .try_get::<_, Option<String>>(i)
                .map_err(get_err)?
                .map(Value::from),
        };
        map.insert(name.to_owned(), value.unwrap_or(Value::Null));
    }
    Ok(map)
}

/// A `timestamptz` as RFC 3339 text (UTC), read from PostgreSQL's binary form: microseconds
/// since 2000-01-01.
struct PgTimestamp(String);

/// 2000-01-01T00:00:00Z in Unix microseconds.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl<'a> FromSql<'a> for PgTimestamp {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let micros = i64::from_sql(&Type::INT8, raw).map_err(|e| format!("{ty}: {e}"))?;
        Ok(PgTimestamp(match micros {
            i64::MAX => "infinity".to_owned(),
            i64::MIN => "-infinity".to_owned(),
            m => jiff::Timestamp::from_microsecond(m.saturating_add(PG_EPOCH_MICROS))?.to_string(),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }
}
