//! Opening the file: the process lock, the checks that turn a bad store into
//! a clear [`StoreError::Open`], the pragmas, and the migrations.
//!
//! Owns every message a user sees when the store cannot be used (each names
//! the file and the fix) and the mapping of SQLite error codes to them. It
//! must not write anything to a file before knowing it is a stepgate store at
//! a version this binary understands: the checks read the header first, and
//! only then switch to WAL and migrate.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use store::StoreError;

use crate::schema::{self, Found};
use crate::{Durability, SqliteOptions};

/// The advisory lock that makes one process the store's only user. Held (as
/// an open file with an exclusive `flock`) for the store's lifetime; the OS
/// drops it when the process dies, so a crash never leaves a stale lock.
///
/// It is a sidecar file, not the database: closing any descriptor of the
/// database file would drop the POSIX locks SQLite holds on it (a known
/// POSIX-lock pitfall, see <https://sqlite.org/howtocorrupt.html> §2.2), so
/// we never open the database ourselves.
#[derive(Debug)]
pub(crate) struct ProcessLock {
    _file: File,
}

pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

pub(crate) fn take_lock(db: &Path) -> Result<ProcessLock, StoreError> {
    let dir = match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(open_err(format!(
            "cannot open store {}: directory {} does not exist; create it or choose another store path",
            db.display(),
            dir.display()
        )));
    }
    let lock = lock_path(db);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(|e| io_open_error(db, &lock, &dir, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(ProcessLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(open_err(format!(
            "store {} is in use by another stepgate process (it holds the lock on {}); stop that process, \
             or give this one a different store file",
            db.display(),
            lock.display()
        ))),
        Err(TryLockError::Error(e)) => Err(io_open_error(db, &lock, &dir, &e)),
    }
}

/// Maps an IO error met while creating or locking the lock file.
pub(crate) fn io_open_error(db: &Path, lock: &Path, dir: &Path, e: &io::Error) -> StoreError {
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => open_err(format!(
            "cannot open store {}: directory {} is read-only ({e}); stepgate creates {}, the -wal and the -shm \
             files next to the store, so make the directory writable or choose another store path",
            db.display(),
            dir.display(),
            lock.display()
        )),
        _ => open_err(format!(
            "cannot open store {}: cannot lock {}: {e}",
            db.display(),
            lock.display()
        )),
    }
}

fn open_err(message: String) -> StoreError {
    StoreError::Open(message)
}

/// Checks done on the path before SQLite opens it.
pub(crate) fn check_file(db: &Path) -> Result<(), StoreError> {
    let meta = match std::fs::metadata(db) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()), // created below
        Err(e) => return Err(open_err(format!("cannot open store {}: {e}", db.display()))),
    };
    if !meta.is_file() {
        return Err(open_err(format!(
            "cannot open store {}: it is not a regular file",
            db.display()
        )));
    }
    // Checked on the mode bits, not by trying to write: root writes through a
    // 0444 file, but a read-only file is still the user saying "don't".
    if meta.permissions().readonly() {
        return Err(read_only(db, "its permissions forbid writing"));
    }
    Ok(())
}

fn read_only(db: &Path, why: &str) -> StoreError {
    open_err(format!(
        "store {} is read-only ({why}); stepgate writes every execution it accepts, so make the file and its \
         directory writable (e.g. `chmod u+w {}`) or choose another store path",
        db.display(),
        db.display()
    ))
}

/// Maps a SQLite error met while opening to a message that says what to do.
pub(crate) fn sqlite_open_error(db: &Path, e: &rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => open_err(format!(
            "{} is not a SQLite database (or it is encrypted or its header is damaged); move it aside or choose \
             another store path",
            db.display()
        )),
        Some(ErrorCode::DatabaseCorrupt) => corrupted(db, e),
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::PermissionDenied) => {
            read_only(db, &e.to_string())
        }
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => open_err(format!(
            "store {} is locked by another program ({e}); close other programs using it (e.g. a sqlite3 shell in \
             a transaction) and start again",
            db.display()
        )),
        Some(ErrorCode::CannotOpen) => open_err(format!(
            "cannot open store {} ({e}); check that the path is right and that the file and its directory are \
             readable and writable",
            db.display()
        )),
        _ => open_err(format!("cannot open store {}: {e}", db.display())),
    }
}

pub(crate) fn corrupted(db: &Path, detail: &dyn std::fmt::Display) -> StoreError {
    open_err(format!(
        "store {} is corrupted ({detail}); stop stepgate and restore it from a backup, salvage it with \
         `sqlite3 {} .recover`, or start with a new file",
        db.display(),
        db.display()
    ))
}

/// Opens a read-write connection with the pragmas every writing connection
/// (the writer, the checkpointer) needs.
pub(crate) fn open_rw(db: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(db, flags).map_err(|e| sqlite_open_error(db, &e))?;
    // SQLite silently falls back to read-only when the file cannot be opened
    // for writing (e.g. a read-only mount): say so now, not at the first start.
    if conn
        .is_readonly(rusqlite::MAIN_DB)
        .map_err(|e| sqlite_open_error(db, &e))?
    {
        return Err(read_only(db, "SQLite could only open it read-only"));
    }
    let synchronous = match options.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    // 8 MiB of page cache (it was 32): at every COMMIT SQLite's pcache1
    // scans its whole page hash (`pcache1TruncateUnsafe`), so the cost of a
    // commit grew with the cache: 10% of the writer thread's CPU at 32 MiB
    // in scripts/bench-webhook.sh, 2% at 8 MiB. The hot pages (the right
    // edges of the tables and indexes, as execution names are time-ordered)
    // fit many times over; other pages come from the OS page cache.
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 5000;
         PRAGMA synchronous = {synchronous};
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -8192;"
    ))
    .map_err(|e| sqlite_open_error(db, &e))?;
    Ok(conn)
}

/// Opens a read-only connection for the reader pool.
pub(crate) fn open_ro(db: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(db, flags)?;
    conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384;")?;
    Ok(conn)
}

/// Validates and prepares the file on the writer's connection: identity and
/// version first (read only), then WAL, then migrations.
pub(crate) fn prepare(
    db: &Path,
    conn: &mut Connection,
    options: &SqliteOptions,
) -> Result<(), StoreError> {
    match schema::inspect(conn).map_err(|e| sqlite_open_error(db, &e))? {
        Found::Ours { .. } => {}
        Found::Newer { version } => {
            return Err(open_err(format!(
                "store {} has schema version {version}, newer than this stepgate understands (version {}); it \
                 was written by a newer stepgate: run that version, or choose another store path. The file \
                 was not modified.",
                db.display(),
                schema::LATEST
            )));
        }
        Found::Foreign => {
            return Err(open_err(format!(
                "{} is a SQLite database but not a stepgate store; choose another store path",
                db.display()
            )));
        }
    }
    if options.quick_check_on_open {
        let result: String = conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|e| sqlite_open_error(db, &e))?;
        if result != "ok" {
            return Err(corrupted(db, &format!("quick_check: {result}")));
        }
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| sqlite_open_error(db, &e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_err(format!(
            "cannot put store {} in WAL mode (journal_mode stayed {mode}); WAL needs a local filesystem with \
             shared memory (not NFS/SMB): move the store to a local disk",
            db.display()
        )));
    }
    // The writer never checkpoints on its own commit path; the checkpointer
    // thread does it (see `writer::checkpointer`). The limit truncates the
    // WAL file back after a checkpoint reset so it does not stay at its peak.
    conn.execute_batch(&format!(
        "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
        options.wal_size_limit_bytes
    ))
    .map_err(|e| sqlite_open_error(db, &e))?;
    schema::migrate(conn).map_err(|e| sqlite_open_error(db, &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_for(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    fn message(e: StoreError) -> String {
        match e {
            StoreError::Open(m) => m,
            other => panic!("expected Open, got {other:?}"),
        }
    }

    #[test]
    fn sqlite_codes_map_to_messages_with_the_file_and_the_fix() {
        let db = Path::new("/data/stepgate.db");
        let m = message(sqlite_open_error(
            db,
            &err_for(rusqlite::ffi::SQLITE_READONLY),
        ));
        assert!(
            m.contains("/data/stepgate.db is read-only") && m.contains("chmod u+w"),
            "{m}"
        );
        let m = message(sqlite_open_error(
            db,
            &err_for(rusqlite::ffi::SQLITE_NOTADB),
        ));
        assert!(
            m.contains("is not a SQLite database") && m.contains("move it aside"),
            "{m}"
        );
        let m = message(sqlite_open_error(
            db,
            &err_for(rusqlite::ffi::SQLITE_CORRUPT),
        ));
        assert!(m.contains("is corrupted") && m.contains(".recover"), "{m}");
        let m = message(sqlite_open_error(db, &err_for(rusqlite::ffi::SQLITE_BUSY)));
        assert!(m.contains("locked by another program"), "{m}");
        let m = message(sqlite_open_error(
            db,
            &err_for(rusqlite::ffi::SQLITE_CANTOPEN),
        ));
        assert!(m.contains("cannot open store /data/stepgate.db"), "{m}");
    }

    #[test]
    fn a_read_only_directory_is_named_with_the_fix() {
        // Tests run as root, where a 0555 directory is still writable; the
        // mapping is what users see on a read-only mount or as another user.
        let db = Path::new("/ro/stepgate.db");
        for kind in [
            io::ErrorKind::PermissionDenied,
            io::ErrorKind::ReadOnlyFilesystem,
        ] {
            let m = message(io_open_error(
                db,
                &lock_path(db),
                Path::new("/ro"),
                &io::Error::from(kind),
            ));
            assert!(
                m.contains("directory /ro is read-only") && m.contains("/ro/stepgate.db.lock"),
                "{m}"
            );
        }
    }
}
