//! Which engine a command runs: the one place that turns the command line's choice into an engine
//! type, and what each engine stands for (the server it models, its name in files and output).

use super::innodb::InnoDb;
use super::postgres::PgDb;
use super::{Engine, Plain};
use crate::store::MemStore;

/// The engine profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EngineKind {
    Innodb,
    Postgres,
}

/// The live server an engine profile models, for `fksim conform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Server {
    MariaDb,
    Postgres,
}

/// Work to do with one engine type, chosen at run time by [`EngineKind::run`]: the engine over an
/// in-memory store (`E::With<..>` gives it over other parts).
pub trait EngineTask {
    type Output;
    fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(self) -> Self::Output
    where
        E::With<crate::explore::Tracing>: Clone;
}

impl EngineKind {
    /// Every engine, in the order reports list them.
    pub const ALL: [EngineKind; 2] = [EngineKind::Innodb, EngineKind::Postgres];

    /// The name used on the command line and in file names: `innodb`, `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Innodb => "innodb",
            EngineKind::Postgres => "postgres",
        }
    }

    /// The engine of a name, as [`EngineKind::name`] writes it.
    pub fn from_name(name: &str) -> Option<EngineKind> {
        EngineKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The live server the profile models.
    pub fn server(self) -> Server {
        match self {
            EngineKind::Innodb => Server::MariaDb,
            EngineKind::Postgres => Server::Postgres,
        }
    }

    /// Run `task` with this engine's type.
    pub fn run<T: EngineTask>(self, task: T) -> T::Output {
        match self {
            EngineKind::Innodb => task.run::<InnoDb<Plain<MemStore>>>(),
            EngineKind::Postgres => task.run::<PgDb<Plain<MemStore>>>(),
        }
    }

    /// What the engine implies for a schema (see [`Engine::schema`]).
    pub fn schema(self, fk_enforced: bool) -> crate::sql::SchemaOptions {
        self.run(Consts).schema(fk_enforced)
    }

    /// Does the engine keep rows in the primary key (see [`Engine::ROWS_IN_PRIMARY_KEY`])?
    pub fn rows_in_primary_key(self) -> bool {
        self.run(Consts).rows_in_primary_key
    }
}

/// An engine's constants, read through [`EngineKind::run`].
struct Consts;

struct EngineConsts {
    schema: fn(bool) -> crate::sql::SchemaOptions,
    rows_in_primary_key: bool,
}

impl EngineConsts {
    fn schema(&self, fk_enforced: bool) -> crate::sql::SchemaOptions {
        (self.schema)(fk_enforced)
    }
}

impl EngineTask for Consts {
    type Output = EngineConsts;
    fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(self) -> EngineConsts
    where
        E::With<crate::explore::Tracing>: Clone,
    {
        EngineConsts { schema: E::schema, rows_in_primary_key: E::ROWS_IN_PRIMARY_KEY }
    }
}
