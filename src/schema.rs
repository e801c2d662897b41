//! `--schema FILE` (DDL such as Django's `sqlmigrate` prints) and `--fk off=TABLE.COLUMN`: the
//! schema a spec or workload starts from, and the foreign keys left unenforced.
//!
//! The rule: the schema file is created first, then the spec's setup runs on it; a spec that
//! creates a table the file already made is an error at its own `file:line:col`. `--fk
//! off=TABLE.COLUMN` then keeps that one constraint declared (orphans are still counted) but
//! unenforced, and keeps its index, as Django's `db_constraint=False` does.

use crate::references::References;
use crate::scenario::{LoadError, Scenario};
use crate::spec::{Pos, Spec, SqlBlock};
use crate::sql::{parse_statement, split_block, Catalog, Plan, SchemaOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The comment that names a spec's schema file for one engine: `# fksim-schema ENGINE: PATH`,
/// the path relative to the spec's directory. A spec written against Django's table names carries
/// one per engine, so that `fksim run SPEC --engine E` (and every tool that runs it so) builds it
/// on the right DDL without `--schema`.
pub const SCHEMA_DIRECTIVE: &str = "# fksim-schema ";

/// The schema file `spec_text` (read from `spec_path`) names for `engine` (`innodb` or
/// `postgres`), if it names one. A directive naming another engine, or none, is skipped; a
/// malformed one is an error at its line.
pub fn named_by_spec(spec_path: &Path, spec_text: &str, engine: &str) -> Result<Option<PathBuf>, SchemaError> {
    let file = spec_path.display().to_string();
    for (i, line) in spec_text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix(SCHEMA_DIRECTIVE) else { continue };
        let pos = Pos { line: i + 1, col: 1 };
        let bad = |what: String| SchemaError::Load(LoadError { file: file.clone(), pos, what });
        let Some((name, path)) = rest.split_once(':').map(|(n, p)| (n.trim(), p.trim())) else {
            return Err(bad(format!("expected `{SCHEMA_DIRECTIVE}ENGINE: PATH`")));
        };
        if !matches!(name, "innodb" | "postgres") || path.is_empty() {
            return Err(bad(format!("expected `{SCHEMA_DIRECTIVE}innodb|postgres: PATH`, not `{}`", line.trim())));
        }
        if name == engine {
            return Ok(Some(spec_path.parent().unwrap_or(Path::new("")).join(path)));
        }
    }
    Ok(None)
}

/// A schema that cannot be used: bad DDL in the file, or an `--fk off=` naming no foreign key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("--fk off={0}: expected TABLE.COLUMN")]
    BadFk(String),
    #[error("--fk off={0}: table `{1}` has no foreign key on column `{2}`")]
    NoSuchFk(String, String, String),
}

/// A schema file's DDL, read once and bound for each engine's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaFile {
    /// The path as given, for messages and replay commands.
    pub file: String,
    pub text: Arc<str>,
    /// The logical references beside it (`NAME.references.toml`; none without that file).
    pub references: Arc<References>,
    /// The catalogs built so far, per schema options: a workload binds the same file for every
    /// run (parsing Django's DDL is most of a short run's time).
    pub bound: CatalogCache,
}

/// [`SchemaFile::catalog`]'s memo. Copies of a schema file share it; it takes no part in
/// comparisons.
#[derive(Clone, Default)]
pub struct CatalogCache(Arc<std::sync::Mutex<Vec<(SchemaOptions, Catalog)>>>);

impl PartialEq for CatalogCache {
    fn eq(&self, _: &CatalogCache) -> bool {
        true
    }
}

impl Eq for CatalogCache {}

impl std::fmt::Debug for CatalogCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogCache")
    }
}

impl SchemaFile {
    pub fn read(path: &Path) -> Result<SchemaFile, SchemaError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LoadError {
            file: file.clone(),
            pos: Pos::default(),
            what: format!("cannot read the schema file ({e})"),
        })?;
        let references = Arc::new(References::beside(path)?);
        Ok(SchemaFile { file, text: text.into(), references, bound: CatalogCache::default() })
    }

    /// The catalog the file's statements build. Each is a CREATE TABLE, CREATE INDEX or ALTER
    /// TABLE; `BEGIN;` / `COMMIT;` (sqlmigrate's wrapper) and `--` comments are skipped; anything
    /// else is an error at its line.
    pub fn catalog(&self, opts: SchemaOptions) -> Result<Catalog, SchemaError> {
        let cached = |c: &Vec<(SchemaOptions, Catalog)>| c.iter().find(|(o, _)| *o == opts).map(|(_, c)| c.clone());
        if let Some(c) = self.bound.0.lock().ok().and_then(|c| cached(&c)) {
            return Ok(c);
        }
        let catalog = self.build_catalog(opts)?;
        if let Ok(mut c) = self.bound.0.lock() {
            c.push((opts, catalog.clone()));
        }
        Ok(catalog)
    }

    fn build_catalog(&self, opts: SchemaOptions) -> Result<Catalog, SchemaError> {
        let block = SqlBlock { sql: self.text.to_string(), pos: Pos { line: 1, col: 1 } };
        let fail = |pos: Pos, what: String| LoadError { file: self.file.clone(), pos, what };
        let mut catalog = Catalog::default();
        for raw in split_block(&block).map_err(|e| fail(e.pos, e.what))? {
            let st = parse_statement(&raw, &mut catalog, opts).map_err(|e| fail(e.pos, e.what))?;
            if !matches!(st.plan, Plan::Ddl | Plan::Begin(None) | Plan::Commit) {
                return Err(fail(st.pos, format!("only DDL belongs in a schema file: `{}`", raw.text.trim())).into());
            }
        }
        self.references.apply(&mut catalog)?;
        Ok(catalog)
    }
}

/// What a run starts from besides its spec: a schema file, and the foreign keys `--fk off=`
/// leaves unenforced (`TABLE.COLUMN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base {
    pub schema: Option<SchemaFile>,
    pub fk_off: Vec<String>,
}

impl Base {
    /// The schema file's catalog (empty without one).
    pub fn catalog(&self, opts: SchemaOptions) -> Result<Catalog, SchemaError> {
        self.schema.as_ref().map_or_else(|| Ok(Catalog::default()), |s| s.catalog(opts))
    }

    /// Bind `spec` on the schema, then leave the `--fk off=` foreign keys unenforced.
    pub fn scenario(&self, spec: Spec, opts: SchemaOptions) -> Result<Scenario, SchemaError> {
        let mut sc = Scenario::load_with(spec, opts, self.catalog(opts)?)?;
        if !self.fk_off.is_empty() {
            self.unenforce(Arc::make_mut(&mut sc.catalog))?;
        }
        Ok(sc)
    }

    /// Mark each `--fk off=TABLE.COLUMN` foreign key unenforced; one naming no foreign key is an
    /// error.
    pub fn unenforce(&self, catalog: &mut Catalog) -> Result<(), SchemaError> {
        for arg in &self.fk_off {
            let Some((t, c)) = arg.split_once('.').filter(|(t, c)| !t.is_empty() && !c.is_empty()) else {
                return Err(SchemaError::BadFk(arg.clone()));
            };
            let missing = || SchemaError::NoSuchFk(arg.clone(), t.to_string(), c.to_string());
            let table = catalog.table_id(t).map(|id| &mut catalog.tables[id]).ok_or_else(missing)?;
            let col = table.col(c).ok_or_else(missing)?;
            let mut found = false;
            for fk in table.fks.iter_mut().filter(|fk| fk.cols == [col]) {
                fk.enforced = false;
                found = true;
            }
            if !found {
                return Err(missing());
            }
        }
        Ok(())
    }

    /// The `fksim` arguments that give this base (for a replay command), each with a leading space.
    pub fn args(&self) -> String {
        let mut out = String::new();
        if let Some(s) = &self.schema {
            out.push_str(&format!(" --schema {}", s.file));
        }
        for f in &self.fk_off {
            out.push_str(&format!(" --fk off={f}"));
        }
        out
    }
}
