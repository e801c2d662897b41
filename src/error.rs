//! Every layer's failures in one type for the command line, which says for each whether it is bad
//! input (exit 2: a file, a line, what is wrong) or a failure of the tool or a server (exit 1).

use crate::app::drive::AppError;
use crate::app::workload::WorkloadError;
#[cfg(all(not(loom), feature = "live"))]
use crate::conform::LiveError;
use crate::engine::EngineError;
use crate::run::RunError;
use crate::scenario::LoadError;
use crate::sim::SimError;
use crate::spec::SpecError;
use crate::store::StoreError;

/// A failure of a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    #[error(transparent)]
    #[cfg(all(not(loom), feature = "live"))]
    Live(#[from] LiveError),
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Threaded(#[from] crate::threaded::ThreadedError),
    #[error(transparent)]
    Verdict(#[from] crate::verdict::VerdictError),
    #[error(transparent)]
    Draw(#[from] crate::report::timeline::DrawError),
    /// A command-line value that cannot be used (`--clients 0`).
    #[error("{0}")]
    Usage(String),
    /// A file the command writes or reads besides its input.
    #[error("{what}: {cause}")]
    Io { what: String, cause: std::io::Error },
}

impl Error {
    /// Is this bad input (exit 2) rather than a failure of the tool (exit 1)? A spec that does not
    /// parse or bind, a setup or teardown statement that fails, a permutation naming no step, SQL
    /// the model does not support, a bad workload file, a server that cannot be reached.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Spec(_) | Error::Load(_) | Error::Schema(_) | Error::Workload(_) | Error::Usage(_) => true,
            #[cfg(all(not(loom), feature = "live"))]
            Error::Live(_) => true,
            Error::Run(e) => e.is_bad_input(),
            Error::Sim(SimError::Costs(_)) => true,
            Error::Sim(_) => false,
            Error::Threaded(crate::threaded::ThreadedError::Run(e)) => e.is_bad_input(),
            Error::Threaded(_) => false,
            Error::Verdict(e) => e.is_bad_input(),
            // A generated run that cannot be made is the generator's fault.
            Error::App(_) | Error::Store(_) | Error::Io { .. } | Error::Draw(_) => false,
        }
    }

    /// Is this a write to a closed pipe (`fksim run ... | head`), which is no failure?
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { cause, .. } if cause.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |cause| Error::Io { what, cause }
    }
}

impl RunError {
    /// Is this bad input rather than a failure of the tool?
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            RunError::Setup { .. }
                | RunError::Teardown { .. }
                | RunError::Permutation { .. }
                | RunError::Engine(EngineError::Unsupported(_))
        )
    }
}
