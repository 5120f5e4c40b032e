//! Which store a command talks to, from `--database` / `ASYNCAPEX_DATABASE_URL`.

use std::path::PathBuf;

use asyncapex::{SqliteOptions, SqliteStore};

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Sqlite(PathBuf),
}

/// Parses a database argument: a path, or `sqlite://PATH`.
pub(crate) fn parse(database: &str) -> Result<Location, String> {
    let text = database.trim();
    if text.is_empty() {
        return Err("--database is empty; give a path to an SQLite file".into());
    }
    if let Some(path) = text.strip_prefix("sqlite://") {
        return Ok(Location::Sqlite(PathBuf::from(path)));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Err(format!(
            "{text:?} is a PostgreSQL URL, but this build of asyncapex has only the SQLite store so far"
        ));
    }
    if let Some((scheme, _)) = text.split_once("://") {
        return Err(format!(
            "unknown database scheme {scheme:?} in {text:?}; use a file path or sqlite://PATH"
        ));
    }
    Ok(Location::Sqlite(PathBuf::from(text)))
}

/// Opens an existing store for an admin command: a missing file is an error, never a new
/// empty database.
pub(crate) async fn open_existing(database: &str) -> Result<SqliteStore, String> {
    match parse(database)? {
        Location::Sqlite(path) => SqliteStore::open_with(
            &path,
            SqliteOptions {
                create: false,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_refuses_other_schemes() {
        assert_eq!(
            parse("./a.db").unwrap(),
            Location::Sqlite(PathBuf::from("./a.db"))
        );
        assert_eq!(
            parse("sqlite:///tmp/x.db").unwrap(),
            Location::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert!(
            parse("postgres://localhost/db")
                .unwrap_err()
                .contains("PostgreSQL")
        );
        assert!(parse("mysql://x").unwrap_err().contains("\"mysql\""));
        assert!(parse("  ").unwrap_err().contains("empty"));
    }
}
