//! What each Durable Object of a running server has stored: the tables in its SQLite file
//! under the state dir (`v3/do/<script>-<Class>/<id>.sqlite`), read with Node's built-in
//! `node:sqlite` (Node >= 22.13, already needed for wrangler), read-only.
//!
//! Files are named by object id, not by name; `wrangler dev` (miniflare's wrapper around
//! each object class) stores the object's name in a table of its own,
//! `__miniflare_do_name`, when it constructs the object. That is how a trial finds the file
//! of the room or inbox it used, on a server other trials use at the same time.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use super::Server;

/// Lists, for every object's SQLite file in the dir given, its tables and the object name
/// miniflare stored. A file that cannot be read (being created right now) is skipped.
const READ_TABLES: &str = r#"
const fs = require('node:fs');
const path = require('node:path');
const { DatabaseSync } = require('node:sqlite');
const dir = process.argv[1];
const out = [];
for (const f of fs.readdirSync(dir)) {
  if (!f.endsWith('.sqlite') || f === 'metadata.sqlite') continue;
  try {
    const db = new DatabaseSync(path.join(dir, f), { readOnly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map(r => r.name);
    const row = tables.includes('__miniflare_do_name')
      ? db.prepare('SELECT name FROM __miniflare_do_name WHERE id = 1').get() : undefined;
    db.close();
    out.push({ file: f, name: row ? row.name : null, tables });
  } catch (e) {}
}
console.log(JSON.stringify(out));
"#;

/// Runs one statement (with one text parameter) in the SQLite file of the object named
/// `argv[2]` in dir `argv[1]`; fails if there is no such object.
const WRITE_OBJECT: &str = r#"
const fs = require('node:fs');
const path = require('node:path');
const { DatabaseSync } = require('node:sqlite');
const [dir, name, sql, param] = process.argv.slice(1);
for (const f of fs.readdirSync(dir)) {
  if (!f.endsWith('.sqlite') || f === 'metadata.sqlite') continue;
  const db = new DatabaseSync(path.join(dir, f));
  const row = db.prepare('SELECT name FROM __miniflare_do_name WHERE id = 1').get();
  if (row && row.name === name) { db.prepare(sql).run(param); db.close(); process.exit(0); }
  db.close();
}
console.error('no object named ' + name + ' in ' + dir);
process.exit(1);
"#;

/// Runs `sql` with the one parameter `param` in the storage of object `name` of `class`,
/// in a state dir no server is running on (a fixture being prepared).
pub fn write_object(
    state_dir: &Path,
    (class, name): (&str, &str),
    sql: &str,
    param: &str,
) -> Result<(), String> {
    let dir = state_dir
        .join("v3/do")
        .join(format!("edge-realtime-{class}"));
    let out = Command::new("node")
        .args(["--no-warnings", "-e", WRITE_OBJECT])
        .arg(&dir)
        .args([name, sql, param])
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "node:sqlite: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// Tables that are not the objects' own: SQLite's, the runtime's (`_cf_*`) and miniflare's.
fn is_ours(table: &str) -> bool {
    !(table.starts_with("sqlite_") || table.starts_with("_cf_") || table.starts_with("__miniflare"))
}

impl Server {
    /// Object name (e.g. `conversation:<id>`) → the tables the object itself created, for
    /// every object of `class` (e.g. `ConversationRoom`) with a SQLite file.
    pub fn object_tables(&self, class: &str) -> Result<HashMap<String, Vec<String>>, String> {
        let dir = self
            .state_dir()
            .join("v3/do")
            .join(format!("edge-realtime-{class}"));
        let out = Command::new("node")
            .args(["--no-warnings", "-e", READ_TABLES])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run node: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "node:sqlite: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let listed: Vec<serde_json::Value> =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("node:sqlite output: {e}"))?;
        Ok(listed
            .iter()
            .filter_map(|f| {
                let name = f["name"].as_str()?.to_string();
                let tables = f["tables"].as_array()?.iter().filter_map(|t| t.as_str());
                Some((
                    name,
                    tables.filter(|t| is_ours(t)).map(String::from).collect(),
                ))
            })
            .collect())
    }
}
