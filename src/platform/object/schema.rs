//! Versioned object storage. Each object class lists its SQLite migrations in order: the
//! N-th entry takes the schema from version N-1 to N, and `schema_version` records where an
//! object's storage is. Migrations run once, in one transaction with the version bump, so an
//! `ALTER TABLE` is as safe as a `CREATE TABLE`.
//!
//! A fresh object gets no tables until its first write ([`Schema::ensure`]): refused joins and
//! reads of unknown ids leave nothing behind. An object written before versioning existed
//! (its tables are there, the version row is not) counts as version 1, whose statements are
//! exactly the schema of that time.
//!
//! To add a migration: append an entry (lists of `;`-separated statements) to the object's
//! `SCHEMA` in its `store.rs` (never edit an earlier one), and cover it with a test that starts from storage
//! of the previous version (`tests/fixtures/`).

use worker::{SqlStorage, Storage};

use super::transaction::atomically;

use crate::platform::object::rows::{row, Rows};

/// The ordered migrations of one object class.
pub struct Schema {
    /// For log lines.
    pub name: &'static str,
    /// Version N is entry N-1: the `;`-separated statement lists it runs, in order.
    pub migrations: &'static [&'static [&'static str]],
}

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version \
    (id INTEGER PRIMARY KEY CHECK (id = 0), v INTEGER NOT NULL)";

row! {
    struct Version {
        v: i64,
    }
}

impl Schema {
    /// The version the newest migration leaves.
    pub fn latest(&self) -> u32 {
        self.migrations.len() as u32
    }

    /// The version of this storage: 0 when the object has never written anything.
    pub fn version(sql: &SqlStorage) -> u32 {
        let versioned = sql.rows::<Version>("SELECT v FROM schema_version WHERE id = 0", None);
        match versioned {
            Ok(rows) => rows.first().map_or(0, |r| r.v as u32),
            // Before versioning every object class had a `meta` table.
            Err(_) => u32::from(sql.exec("SELECT k FROM meta LIMIT 1", None).is_ok()),
        }
    }

    /// Brings storage that already exists up to the latest version (objects call this as
    /// they start, so reads see the current shape). Fresh storage stays empty.
    pub fn upgrade(&self, storage: &Storage) -> worker::Result<()> {
        let sql = storage.sql();
        match Self::version(&sql) {
            0 => Ok(()),
            v => self.run_from(storage, &sql, v),
        }
    }

    /// Makes sure every table exists, creating them on a fresh object (before its first write).
    pub fn ensure(&self, storage: &Storage) -> worker::Result<()> {
        let sql = storage.sql();
        let v = Self::version(&sql);
        self.run_from(storage, &sql, v)
    }

    fn run_from(&self, storage: &Storage, sql: &SqlStorage, from: u32) -> worker::Result<()> {
        if from >= self.latest() {
            return Ok(());
        }
        atomically(storage, || {
            for migration in &self.migrations[from as usize..] {
                for stmt in migration.iter().flat_map(|m| statements(m)) {
                    sql.exec(stmt, None)?;
                }
            }
            sql.exec(VERSION_TABLE, None)?;
            sql.exec(
                "INSERT OR REPLACE INTO schema_version (id, v) VALUES (0, ?)",
                Some(vec![(self.latest() as i64).into()]),
            )?;
            Ok(())
        })
        .inspect_err(|e| {
            worker::console_error!("{} schema: migration from v{from} failed: {e}", self.name)
        })?;
        if from > 0 {
            worker::console_log!("{} schema: v{from} -> v{}", self.name, self.latest());
        }
        Ok(())
    }
}

/// The `;`-separated statements of one migration (no statement of ours contains `;`).
pub fn statements(migration: &str) -> impl Iterator<Item = &str> {
    migration
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn statements_split_on_semicolons_and_skip_blanks() {
        let got: Vec<&str> =
            statements("CREATE TABLE a (x);\n  ALTER TABLE a ADD COLUMN y;\n;").collect();
        assert_eq!(got, ["CREATE TABLE a (x)", "ALTER TABLE a ADD COLUMN y"]);
    }
}
