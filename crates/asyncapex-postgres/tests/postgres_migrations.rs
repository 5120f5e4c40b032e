//! Both stores reach the same logical schema version: same migration versions and names.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

/// (version, name) from `NNNN_name.sql` files in a migrations directory, sorted.
fn migration_files(dir: &Path) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let stem = name.strip_suffix(".sql").expect("only .sql files");
            let (version, rest) = stem.split_once('_').expect("NNNN_name.sql");
            (version.parse().expect("numeric version"), rest.to_owned())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn both_stores_have_the_same_migration_versions_and_names() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let postgres = migration_files(&here.join("migrations"));
    let sqlite = migration_files(&here.join("../asyncapex-sqlite/migrations"));
    assert_eq!(postgres, sqlite);
    let listed: Vec<(i64, String)> = asyncapex_postgres::migration_versions()
        .into_iter()
        .map(|(v, n)| (v, n.to_owned()))
        .collect();
    assert_eq!(listed, postgres, "the built-in list matches the files");
}
