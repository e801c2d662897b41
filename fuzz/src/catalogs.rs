//! The catalogs `sql_lower` binds statements on, built once: the model's built-in schema (the
//! workloads' tables) on each engine, FK on and off, and Open edX's schema file on its engine.

use fksim::run::EngineKind;
use fksim::schema::SchemaFile;
use fksim::sql::{Catalog, SchemaOptions};
use std::path::Path;
use std::sync::OnceLock;

/// A catalog and the options statements are bound with on it.
pub struct Bound {
    pub name: String,
    pub catalog: Catalog,
    pub opts: SchemaOptions,
}

/// The repository's `model/schemas/openedx.ENGINE.sql` (the fuzz crate sits in `fuzz/`).
fn openedx(engine: &str) -> SchemaFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../model/schemas/openedx.{engine}.sql"));
    SchemaFile::read(&path).unwrap_or_else(|e| panic!("the fuzz target needs Open edX's schema: {e}"))
}

fn build() -> Vec<Bound> {
    let builtin = SchemaFile {
        file: "the built-in schema".into(),
        text: fksim::app::SCHEMA.into(),
        references: Default::default(),
        bound: Default::default(),
    };
    let mut out = Vec::new();
    for (engine, file) in [(EngineKind::Innodb, "mysql"), (EngineKind::Postgres, "postgres")] {
        for fk_on in [true, false] {
            let opts = engine.schema(fk_on);
            let catalog = builtin.catalog(opts).unwrap_or_else(|e| panic!("the built-in schema: {e}"));
            out.push(Bound { name: format!("built-in {engine:?} fk {fk_on}"), catalog, opts });
        }
        let opts = engine.schema(true);
        let catalog = openedx(file).catalog(opts).unwrap_or_else(|e| panic!("Open edX's schema: {e}"));
        out.push(Bound { name: format!("openedx {engine:?}"), catalog, opts });
    }
    out
}

/// Every catalog, built on first use.
pub fn all() -> &'static [Bound] {
    static CATALOGS: OnceLock<Vec<Bound>> = OnceLock::new();
    CATALOGS.get_or_init(build)
}
