//! Database backups for the tests of a restore (SPEC §10): a copy of a test server's database
//! taken while it runs, and a server started on that copy as if the backup had been restored.

use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use crate::{
    Backend, POSTGRES_ENV, TestApp, TestDatabase, pg_connect, start_server, with_database,
};

/// A copy of a database, not yet served.
pub struct Backup {
    db: TestDatabase,
    url: String,
}

impl TestApp {
    /// Backs the database up: SQLite by copying the database file and its WAL (taken while no
    /// write runs, which the test arranges); PostgreSQL with `pg_dump -Fc` and `pg_restore`
    /// into a new database.
    pub async fn backup(&self) -> Backup {
        let (db, url) = TestDatabase::create(self.backend).await;
        match (&self._db, &db) {
            (TestDatabase::Sqlite { path: from }, TestDatabase::Sqlite { path: to }) => {
                copy_sqlite(from, to);
            }
            (
                TestDatabase::Postgres { admin_url, name },
                TestDatabase::Postgres { name: to, .. },
            ) => {
                dump_and_restore(
                    &with_database(admin_url, name),
                    &with_database(admin_url, to),
                );
            }
            _ => panic!("a backup is made on the backend of its source"),
        }
        Backup { db, url }
    }
}

fn copy_sqlite(from: &std::path::Path, to: &std::path::Path) {
    for suffix in ["", "-wal"] {
        let mut source = from.to_path_buf().into_os_string();
        source.push(suffix);
        let source = PathBuf::from(source);
        if suffix.is_empty() || source.exists() {
            let mut target = to.to_path_buf().into_os_string();
            target.push(suffix);
            std::fs::copy(&source, PathBuf::from(target))
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", source.display()));
        }
    }
}

fn dump_and_restore(from: &str, to: &str) {
    let file = std::env::temp_dir().join(format!("syncd-e2e-{}.dump", Uuid::new_v4().simple()));
    let run = |program: &str, args: &[&str]| {
        let status = std::process::Command::new(program)
            .args(args)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {program} (needed with {POSTGRES_ENV}): {e}"));
        assert!(status.success(), "{program} failed: {status}");
    };
    let path = file.display().to_string();
    run("pg_dump", &["-Fc", "-f", &path, "-d", from]);
    run("pg_restore", &["--no-owner", "-d", to, &path]);
    let _ = std::fs::remove_file(&file);
}

impl Backup {
    /// A server on the restored copy, verifying the same tokens as `like`.
    pub async fn restore(self, like: &TestApp) -> TestApp {
        let backend: Backend = like.backend;
        if backend == Backend::Postgres {
            // The copy must be reachable like any test database.
            drop(pg_connect(&self.url).await);
        }
        let started = start_server(backend, self.url, like.secret.clone(), |_| {}).await;
        let engine = Arc::clone(&started.state.engine);
        TestApp {
            address: started.address,
            port: started.port,
            settings: started.settings,
            backend,
            http: started.http,
            secret: like.secret.clone(),
            engine,
            server: started.server,
            _db: self.db,
        }
    }
}
