//! Ctrl-C: a command that can stop early (explore, run) stops where it is and prints what it has,
//! marked partial, and exits 130; any other command, or a second Ctrl-C, exits 130 at once. Either
//! way the data directories registered here (sled's files) are removed first.

use crate::cli::Result;
use fksim::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The exit code of a run stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
pub const EXIT_INTERRUPTED: u8 = 130;

static STOP: AtomicBool = AtomicBool::new(false);
static GRACEFUL: AtomicBool = AtomicBool::new(false);
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Take over Ctrl-C for the whole process.
pub fn install() {
    let handled = ctrlc::set_handler(|| {
        if GRACEFUL.load(Ordering::SeqCst) && !STOP.swap(true, Ordering::SeqCst) {
            return;
        }
        remove_all();
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
    if let Err(e) = handled {
        eprintln!("fksim: Ctrl-C will not clean up: {e}");
    }
}

/// From now on the first Ctrl-C only sets the flag returned, which the command checks.
pub fn graceful() -> &'static AtomicBool {
    GRACEFUL.store(true, Ordering::SeqCst);
    &STOP
}

/// Has a Ctrl-C asked a graceful command to stop?
pub fn interrupted() -> bool {
    STOP.load(Ordering::SeqCst)
}

fn remove_all() {
    let dirs = std::mem::take(&mut *DIRS.lock().unwrap_or_else(|e| e.into_inner()));
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A directory of files a run makes (`--data-dir`, or a fresh one under the temporary directory),
/// removed when dropped and on Ctrl-C.
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// `given`, which must be missing or empty (it is removed at the end), or a fresh directory.
    pub fn new(given: Option<&Path>, what: &str) -> Result<DataDir> {
        let path = match given {
            Some(p) => {
                let busy = std::fs::read_dir(p).map(|mut d| d.next().is_some()).unwrap_or(false);
                if busy {
                    return Err(Error::Usage(format!(
                        "--data-dir {}: the directory is not empty (fksim removes its data directory at the end)",
                        p.display()
                    )));
                }
                p.to_path_buf()
            }
            None => {
                let nanos =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
                std::env::temp_dir().join(format!("fksim-{what}-{}-{nanos}", std::process::id()))
            }
        };
        std::fs::create_dir_all(&path).map_err(Error::io(format!("creating {}", path.display())))?;
        DIRS.lock().unwrap_or_else(|e| e.into_inner()).push(path.clone());
        eprintln!("fksim: {what} files in {} (removed at the end)", path.display());
        Ok(DataDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        DIRS.lock().unwrap_or_else(|e| e.into_inner()).retain(|d| d != &self.path);
    }
}
