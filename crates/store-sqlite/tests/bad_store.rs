//! A store that cannot be used is refused with a `StoreError::Open` that
//! names the file and the fix, and is left as it was: locked by another
//! process (or another open in this one), read-only, not a SQLite file,
//! corrupted, someone else's database, or written by a newer stepgate.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use store::testkit::{new_execution, new_state_machine};
use store::{ExecutionFilter, StateMachineType, Store, StoreError};
use store_sqlite::{SqliteOptions, SqliteStore};

fn open_error(path: &Path, options: SqliteOptions) -> String {
    match SqliteStore::open(path, options) {
        Err(StoreError::Open(m)) => m,
        Err(other) => panic!("expected StoreError::Open, got {other:?}"),
        Ok(_) => panic!("{} opened, expected an error", path.display()),
    }
}

/// A store with one state machine and one execution, closed again.
async fn make_store(path: &Path) {
    let store = SqliteStore::open(path, SqliteOptions::default()).unwrap();
    let sm = store
        .put_state_machine(new_state_machine("sample", StateMachineType::Standard))
        .await
        .unwrap();
    store
        .start_execution(new_execution(&sm, "one", "{}"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_of_a_locked_store_is_refused_and_the_first_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let first = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    let m = open_error(&path, SqliteOptions::default());
    assert!(
        m.contains("locked.db is in use by another stepgate process"),
        "{m}"
    );
    assert!(
        m.contains("locked.db.lock") && m.contains("stop that process"),
        "{m}"
    );
    // The refused open must not have disturbed the first store's locks.
    let sm = first
        .put_state_machine(new_state_machine("still", StateMachineType::Standard))
        .await
        .unwrap();
    first
        .start_execution(new_execution(&sm, "works", "{}"))
        .await
        .unwrap();
    assert_eq!(
        first
            .list_executions(ExecutionFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    drop(first);
    // Released with the store.
    let again = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    assert_eq!(
        again
            .list_executions(ExecutionFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_clone_keeps_the_lock_until_the_last_one_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clones.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    let clone = store.clone();
    drop(store);
    open_error(&path, SqliteOptions::default());
    drop(clone);
    SqliteStore::open(&path, SqliteOptions::default()).unwrap();
}

#[tokio::test]
async fn a_read_only_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("readonly.db");
    make_store(&path).await;
    let before = std::fs::read(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let m = open_error(&path, SqliteOptions::default());
    assert!(
        m.contains("readonly.db is read-only") && m.contains("chmod u+w"),
        "{m}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    SqliteStore::open(&path, SqliteOptions::default()).unwrap();
}

#[test]
fn a_missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope").join("store.db");
    let m = open_error(&path, SqliteOptions::default());
    assert!(
        m.contains("directory") && m.contains("nope") && m.contains("does not exist"),
        "{m}"
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let m = open_error(&path, SqliteOptions::default());
    assert!(
        m.contains("garbage.db is not a SQLite database") && m.contains("move it aside"),
        "{m}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
    assert!(!dir.path().join("garbage.db-wal").exists());
}

#[test]
fn an_empty_file_becomes_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    SqliteStore::open(&path, SqliteOptions::default()).unwrap();
}

/// Damaged pages behind an intact header: `quick_check_on_open` finds them
/// when opening; without it, the read that meets them says the file is
/// corrupted (and nothing panics).
#[tokio::test]
async fn a_corrupted_store_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.db");
    make_store(&path).await;
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 3 * page, "the store has several pages");
    for b in &mut bytes[page..] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();

    let m = open_error(
        &path,
        SqliteOptions {
            quick_check_on_open: true,
            ..SqliteOptions::default()
        },
    );
    assert!(
        m.contains("corrupt.db is corrupted") && m.contains(".recover"),
        "{m}"
    );

    match SqliteStore::open(&path, SqliteOptions::default()) {
        Err(StoreError::Open(m)) => assert!(m.contains("corrupt"), "{m}"),
        Err(other) => panic!("unexpected {other:?}"),
        Ok(store) => match store.list_executions(ExecutionFilter::default()).await {
            Err(StoreError::Backend(m)) => assert!(m.contains("is corrupted"), "{m}"),
            other => panic!("reading damaged pages: {other:?}"),
        },
    }
}

#[test]
fn a_store_from_a_newer_stepgate_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    drop(SqliteStore::open(&path, SqliteOptions::default()).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99; PRAGMA journal_mode = DELETE;")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let m = open_error(&path, SqliteOptions::default());
    assert!(
        m.contains("newer.db has schema version 99") && m.contains("newer stepgate"),
        "{m}"
    );
    assert!(m.contains("was not modified"), "{m}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "not even switched to WAL"
    );
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE customers (id INTEGER);")
        .unwrap();
    let m = open_error(&path, SqliteOptions::default());
    assert!(
        m.contains("is a SQLite database but not a stepgate store"),
        "{m}"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "no tables added");
}
