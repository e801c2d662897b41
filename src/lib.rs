//! fksim: a pure model of InnoDB's and PostgreSQL's row locks, for testing what dropping a foreign
//! key from hot child tables really does.
//!
//! Data flows one way: spec text (`spec`) -> statements bound to a schema (`sql`, `scenario`) ->
//! an engine profile turning each statement into lock requests and row changes (`engine`, over the
//! pure `lock` table and a row `store`) -> the step runner (`run`) -> transcripts and JSON (`report`).
//! The same rules run on a virtual clock under load (`sim`) and on a thread per session
//! (`threaded`, over `sync`); `verdict` gathers what all of them say about dropping each FK.

pub mod app;
#[cfg(all(not(loom), feature = "live"))]
pub mod conform;
pub mod drive;
pub mod engine;
pub mod error;
pub mod explore;
pub mod lock;
pub mod references;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schema;
pub mod sim;
pub mod spec;
pub mod sql;
pub mod store;
pub mod sync;
pub mod threaded;
pub mod verdict;

pub use error::Error;
