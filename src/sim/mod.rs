//! `fksim load`: what the FK costs in throughput, latency and lock waits, from the engines' own
//! rules on a virtual clock. One more driver of the same engines (through [`crate::drive`]).
//!
//! ```text
//!   client c (closed loop): think ─► BEGIN ─► statements ─► app work ─► COMMIT ─► think ...
//!        │ client CPU (a core, when clients share the machine)         ▲
//!        ▼ half a round trip                                           │ half a round trip
//!   server: a core (FIFO run queue) ─► engine.start ──► answered ──────┤
//!                                          │ waits in the engine's     │
//!                                          ▼ lock queue                │
//!                                       granted / victim / timeout ─► a core again
//!   COMMIT: locks released, then the log flush (InnoDB), or the flush, then the locks (PostgreSQL);
//!           flushes are shared by the commits waiting for them (group commit)
//! ```
//!
//! Everything is deterministic from the seed: each client draws its transactions and its start
//! from its own stream of it, and events at the same time run in the order they were scheduled.
//! Costs come from `model/costs/*.toml` ([`costs`]), fitted live by `fksim calibrate`.

pub mod costs;
pub mod events;
pub mod plot;
mod run;
pub mod server;
pub mod stats;

pub use costs::{Costs, CostsError};
pub use run::{ForcedStep, Simulation, VACUUM_EVERY};
pub use stats::{LoadResult, Stats};

use crate::app::workload::{LoadSettings, Workload};
use crate::engine::{Engine, EngineError, EngineKind, EngineTask, Plain};
use crate::run::RunError;
use crate::store::{IndexedStore, MemStore};

/// A load run that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Costs(#[from] CostsError),
    #[error("the load's setup: {0}")]
    Setup(String),
    #[error("a statement the model cannot run: {0}")]
    Statement(String),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl SimError {
    fn setup(e: impl std::fmt::Display) -> SimError {
        SimError::Setup(e.to_string())
    }
}

/// The cost file shipped for an engine (`model/costs/`), built into the binary.
pub fn shipped_costs(kind: EngineKind) -> Costs {
    let (file, text) = match kind.server() {
        crate::engine::Server::MariaDb => ("model/costs/mariadb.toml", include_str!("../../model/costs/mariadb.toml")),
        crate::engine::Server::Postgres => {
            ("model/costs/postgres.toml", include_str!("../../model/costs/postgres.toml"))
        }
    };
    Costs::parse(file, text).expect("the shipped cost files parse (tests/load.rs)")
}

/// One load run on engine `kind`; `progress` is told the simulated nanoseconds reached.
pub fn simulate(
    kind: EngineKind,
    w: &Workload,
    set: LoadSettings,
    costs: &Costs,
    fk_on: bool,
    seed: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<LoadResult, SimError> {
    struct Task<'a> {
        w: &'a Workload,
        set: LoadSettings,
        costs: &'a Costs,
        fk_on: bool,
        seed: u64,
        progress: &'a mut dyn FnMut(u64),
    }
    impl EngineTask for Task<'_> {
        type Output = Result<LoadResult, SimError>;
        fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(self) -> Self::Output
        where
            E::With<crate::explore::Tracing>: Clone,
        {
            // Tables grow in a long run: the store indexes every column's values.
            Simulation::<E::With<Plain<IndexedStore>>>::new(self.w, self.set, self.costs, self.fk_on, self.seed)?
                .run(self.progress)
        }
    }
    kind.run(Task { w, set, costs, fk_on, seed, progress })
}

/// `--sweep NAME=V1,V2,...`: one of the `[load]` values, run at each of these.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub name: String,
    pub values: Vec<f64>,
}

impl Sweep {
    /// The names a sweep may vary.
    pub const NAMES: [&'static str; 5] = ["clients", "app_work_ms", "think_ms", "server_cores", "seconds"];

    /// Parse `clients=1,2,4`.
    pub fn parse(text: &str) -> Result<Sweep, String> {
        let (name, values) = text.split_once('=').ok_or("--sweep wants NAME=V1,V2,... (clients=1,2,4)")?;
        let name = name.trim();
        if !Self::NAMES.contains(&name) {
            return Err(format!("--sweep: `{name}` is not one of {}", Self::NAMES.join(", ")));
        }
        let values = values
            .split(',')
            .map(|v| v.trim().parse::<f64>().map_err(|_| format!("--sweep {name}: `{v}` is not a number")))
            .collect::<Result<Vec<f64>, String>>()?;
        if values.is_empty() {
            return Err(format!("--sweep {name}: no values"));
        }
        Ok(Sweep { name: name.to_string(), values })
    }

    /// `o` with this sweep's value `v` in place.
    pub fn apply(&self, mut o: crate::app::workload::LoadOverrides, v: f64) -> crate::app::workload::LoadOverrides {
        match self.name.as_str() {
            "clients" => o.clients = Some(v as u32),
            "app_work_ms" => o.app_work_ms = Some(v),
            "think_ms" => o.think_ms = Some(v),
            "server_cores" => o.server_cores = Some(v as u32),
            _ => o.seconds = Some(v),
        }
        o
    }
}

/// FK-on throughput over FK-off throughput, for one engine at one point.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ratio {
    pub engine: &'static str,
    pub clients: u32,
    /// The swept value, when sweeping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<(String, f64)>,
    pub ratio: f64,
    pub fk_on_txn_per_s: f64,
    pub fk_off_txn_per_s: f64,
}

impl Ratio {
    /// The ratio of two runs of one engine, FK on and off (None if FK off committed nothing).
    pub fn of(on: &LoadResult, off: &LoadResult, point: Option<(String, f64)>) -> Option<Ratio> {
        (off.txn_per_s > 0.0).then(|| Ratio {
            engine: on.engine,
            clients: on.clients,
            point,
            ratio: (on.txn_per_s / off.txn_per_s * 1000.0).round() / 1000.0,
            fk_on_txn_per_s: on.txn_per_s,
            fk_off_txn_per_s: off.txn_per_s,
        })
    }

    pub fn text(&self) -> String {
        format!(
            "{}: FK on {:.1} txn/s, FK off {:.1} txn/s: ratio {:.3}{}\n",
            self.engine,
            self.fk_on_txn_per_s,
            self.fk_off_txn_per_s,
            self.ratio,
            self.point.as_ref().map(|(n, v)| format!(" at {n} = {v}")).unwrap_or_default()
        )
    }
}
