//! State dirs for servers under test, all under `target/e2e-state/`: fresh ones, and
//! fixtures unpacked from `tests/fixtures/`.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A new, empty dir under `target/e2e-state/` (named `<label>-<pid>-<ms>-<n>`) for a
/// server's state.
pub fn new_state_dir(label: &str) -> Result<PathBuf, String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("{label}-{}-{}-{n}", std::process::id(), now_millis());
    let dir = root.join("target").join("e2e-state").join(name);
    fs::create_dir_all(&dir).map_err(|e| format!("create {dir:?}: {e}"))?;
    Ok(dir)
}

/// Unpacks `tests/fixtures/<archive>` (a `.tar.gz` of a state dir) into a new state dir
/// for `Server::try_start_on`.
pub fn unpack_fixture(archive: &str) -> Result<PathBuf, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("tests").join("fixtures").join(archive);
    let dir = new_state_dir("fixture")?;
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(&path)
        .arg("-C")
        .arg(&dir)
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if out.status.success() {
        Ok(dir)
    } else {
        let _ = fs::remove_dir_all(&dir);
        Err(format!(
            "tar -xzf {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
