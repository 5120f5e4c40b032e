//! Which store a command talks to, from `--database` / `ASYNCAPEX_DATABASE_URL`.

use std::path::PathBuf;
use std::sync::Arc;

use asyncapex::unstable::store::Store;
use asyncapex::{EngineBuilder, PostgresStore, SqliteOptions, SqliteStore};

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Parses a database argument: a path, `sqlite://PATH`, or `postgres://…`.
pub(crate) fn parse(database: &str) -> Result<Location, String> {
    let text = database.trim();
    if text.is_empty() {
        return Err(
            "--database is empty; give a path to an SQLite file or a postgres:// URL".into(),
        );
    }
    if let Some(path) = text.strip_prefix("sqlite://") {
        return Ok(Location::Sqlite(PathBuf::from(path)));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Ok(Location::Postgres(text.to_owned()));
    }
    if let Some((scheme, _)) = text.split_once("://") {
        return Err(format!(
            "unknown database scheme {scheme:?} in {text:?}; use a file path, sqlite://PATH or postgres://…"
        ));
    }
    Ok(Location::Sqlite(PathBuf::from(text)))
}

/// A URL without its password, for messages.
pub(crate) fn describe(location: &Location) -> String {
    match location {
        Location::Sqlite(path) => path.display().to_string(),
        Location::Postgres(url) => match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let creds = &url[scheme + 3..at];
                let user = creds.split(':').next().unwrap_or("");
                format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
            }
            _ => url.clone(),
        },
    }
}

/// Opens an existing store for an admin command: a missing SQLite file is an error, never a
/// new empty database.
pub(crate) async fn open_existing(database: &str) -> Result<Arc<dyn Store>, String> {
    let location = parse(database)?;
    let opened: Result<Arc<dyn Store>, asyncapex::Error> = match &location {
        Location::Sqlite(path) => SqliteStore::open_with(
            path,
            SqliteOptions {
                create: false,
                ..Default::default()
            },
        )
        .await
        .map(|s| Arc::new(s) as Arc<dyn Store>),
        Location::Postgres(url) => PostgresStore::connect(url)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>),
    };
    opened.map_err(|e| format!("cannot open the database {}: {e}", describe(&location)))
}

/// An engine builder on this database (an SQLite file is created if missing).
pub(crate) fn builder(location: &Location) -> EngineBuilder {
    let builder = asyncapex::Engine::builder();
    match location {
        Location::Sqlite(path) => builder.sqlite(path),
        Location::Postgres(url) => builder.postgres(url.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_urls_and_refuses_other_schemes() {
        assert_eq!(
            parse("./a.db").unwrap(),
            Location::Sqlite(PathBuf::from("./a.db"))
        );
        assert_eq!(
            parse("sqlite:///tmp/x.db").unwrap(),
            Location::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            parse("postgres://u:p@h/db").unwrap(),
            Location::Postgres("postgres://u:p@h/db".into())
        );
        assert!(parse("mysql://x").unwrap_err().contains("\"mysql\""));
        assert!(parse("  ").unwrap_err().contains("empty"));
        assert_eq!(
            describe(&Location::Postgres(
                "postgres://bench:secret@127.0.0.1:5432/bench".into()
            )),
            "postgres://bench:***@127.0.0.1:5432/bench"
        );
    }
}
