//! A spec bound to a schema: the setup DDL applied to a catalog, every statement parsed and bound.

use crate::spec::{PermStep, Pos, Spec, SqlBlock};
use crate::sql::{parse_block, Catalog, Plan, SchemaOptions, SqlError, Statement};
use std::sync::Arc;

mod attach;

/// A spec that cannot be run: bad syntax, unsupported SQL, or a name that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{}:{}: {what}", pos.line, pos.col)]
pub struct LoadError {
    pub file: String,
    pub pos: Pos,
    pub what: String,
}

#[derive(Debug, Clone)]
pub struct StepPlan {
    pub name: Arc<str>,
    /// The step's SQL as written, trimmed (as isolationtester prints it).
    pub sql: String,
    pub stmts: Arc<[Arc<Statement>]>,
}

#[derive(Debug, Clone)]
pub struct SessionPlan {
    pub name: String,
    pub setup: Vec<Arc<Statement>>,
    pub steps: Vec<StepPlan>,
    pub teardown: Vec<Arc<Statement>>,
}

/// Everything a run needs from a spec file.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub spec: Spec,
    pub catalog: Arc<Catalog>,
    /// Setup DML (DDL is already in the catalog), in order.
    pub setup: Vec<Arc<Statement>>,
    /// The spec's teardown blocks, run after every permutation (after the sessions' teardowns).
    pub teardown: Vec<Arc<Statement>>,
    pub sessions: Vec<SessionPlan>,
}

/// A step's text as isolationtester prints it: the block without the blanks next to its braces,
/// line breaks kept (specscanner.l drops `{space}*` after `{` and before `}`, where space is
/// `[ \t\r\f]`). A one-line block reads as its statement; a block that starts on a new line
/// prints its first statement on the next line.
fn step_text(sql: &str) -> String {
    let blank = |c: char| matches!(c, ' ' | '\t' | '\r' | '\x0c');
    let t = sql.trim_start_matches(blank).trim_end_matches(blank);
    // A block that is only blanks and line breaks reads as empty.
    if t.trim().is_empty() {
        String::new()
    } else {
        t.to_string()
    }
}

impl Scenario {
    /// Start every session with `SET name = value`, before its own setup: a server default other
    /// than the model's (whose `lock_timeout` of 10 s is that of fksim's recordings). A `SET` in
    /// the spec still wins.
    pub fn set_session_default(&mut self, name: &str, value: &str) {
        let plan = Plan::SetVar { name: name.to_ascii_lowercase(), value: value.to_string() };
        let stmt = Arc::new(Statement {
            plan,
            text: format!("SET {name} = {value}"),
            pos: Pos { line: 0, col: 0 },
            drop: None,
        });
        for s in &mut self.sessions {
            s.setup.insert(0, stmt.clone());
        }
    }

    /// Bind a parsed spec. DDL in the setup blocks builds the catalog; every other statement is
    /// checked against it, so a bad table or column is reported before anything runs.
    pub fn load(spec: Spec, opts: SchemaOptions) -> Result<Scenario, LoadError> {
        Scenario::load_with(spec, opts, Catalog::default())
    }

    /// [`Scenario::load`] on a schema that exists already (`--schema`): the setup's DDL adds to
    /// `catalog`, and creating a table it has is an error.
    pub fn load_with(spec: Spec, opts: SchemaOptions, catalog: Catalog) -> Result<Scenario, LoadError> {
        let file = spec.file.clone();
        let fail = |e: SqlError| LoadError { file: file.clone(), pos: e.pos, what: e.what };
        let mut catalog = catalog;
        let mut setup = Vec::new();
        let mut attached = Vec::new();
        for block in &spec.setup {
            for st in parse_block(block, &mut catalog, opts).map_err(fail)? {
                // Only the partitions attached by the statements before it.
                attach::refuse_attached(&catalog, &st, &attached, usize::MAX)
                    .map_err(|what| fail(SqlError { pos: st.pos, what }))?;
                if let Plan::AttachPartition { partition, .. } = st.plan {
                    attached.push(partition);
                }
                if st.plan != Plan::Ddl {
                    setup.push(Arc::new(st));
                }
            }
        }
        let frozen = catalog.clone();
        // The partitions ATTACH steps add: in the catalog of the run from the start, their rows
        // the partitioned table's only once the ATTACH has run.
        let step_parts = std::cell::RefCell::new(Vec::new());
        let bind = |block: &SqlBlock| -> Result<Vec<Arc<Statement>>, LoadError> {
            let mut cat = frozen.clone();
            let mut stmts = parse_block(block, &mut cat, opts).map_err(fail)?;
            let added = cat.partitions.split_off(frozen.partitions.len());
            if cat != frozen || added.iter().any(|p| p.attached_from.is_none()) {
                return Err(LoadError {
                    file: file.clone(),
                    pos: block.pos,
                    what: "DDL is only supported in the global setup (and ALTER TABLE ... ATTACH PARTITION)".into(),
                });
            }
            let mut parts = step_parts.borrow_mut();
            for st in &mut stmts {
                if let Plan::AttachPartition { partition, table, .. } = &mut st.plan {
                    if parts.iter().any(|p: &crate::sql::partition::Partition| p.attached_from == Some(*table)) {
                        let what = "one table attached by two steps is not modelled".to_string();
                        return Err(fail(SqlError { pos: st.pos, what }));
                    }
                    parts.push(added[*partition - frozen.partitions.len()].clone());
                    *partition = frozen.partitions.len() + parts.len() - 1;
                }
            }
            Ok(stmts.into_iter().map(Arc::new).collect())
        };
        let mut teardown = Vec::new();
        for block in &spec.teardown {
            teardown.extend(bind(block)?);
        }
        let mut sessions = Vec::new();
        for s in &spec.sessions {
            let mut steps = Vec::new();
            for st in &s.steps {
                let stmts = bind(&st.sql)?;
                // DROP TABLE binds without changing the catalog (the teardown runner checks it);
                // in a step the model would not run it.
                if let Some(ddl) = stmts.iter().find(|x| x.plan == Plan::Ddl) {
                    return Err(LoadError {
                        file: file.clone(),
                        pos: ddl.pos,
                        what: "DDL in a step is not modelled (DROP TABLE runs only in teardowns)".into(),
                    });
                }
                steps.push(StepPlan {
                    name: Arc::from(st.name.as_str()),
                    sql: step_text(&st.sql.sql),
                    stmts: stmts.into(),
                });
            }
            sessions.push(SessionPlan {
                name: s.name.clone(),
                setup: s.setup.as_ref().map(&bind).transpose()?.unwrap_or_default(),
                steps,
                teardown: s.teardown.as_ref().map(&bind).transpose()?.unwrap_or_default(),
            });
        }
        let steps_from = catalog.partitions.len();
        catalog.partitions.extend(step_parts.into_inner());
        let attached: Vec<usize> = (0..catalog.partitions.len()).collect();
        let every = sessions.iter().flat_map(|s| s.setup.iter().chain(s.steps.iter().flat_map(|st| st.stmts.iter())));
        for st in every.chain(&teardown) {
            attach::refuse_attached(&catalog, st, &attached, steps_from)
                .map_err(|what| fail(SqlError { pos: st.pos, what }))?;
        }
        attach::refuse_repeated_attach(&spec, &sessions).map_err(|(pos, what)| fail(SqlError { pos, what }))?;
        Ok(Scenario { spec, catalog: Arc::new(catalog), setup, teardown, sessions })
    }

    /// A copy that shares no reference counts with this one, for a worker thread: threads that
    /// bump the same counters slow each other down.
    pub fn detached(&self) -> Scenario {
        let own = |v: &[Arc<Statement>]| -> Vec<Arc<Statement>> { v.iter().map(|s| Arc::new((**s).clone())).collect() };
        Scenario {
            spec: self.spec.clone(),
            catalog: Arc::new((*self.catalog).clone()),
            setup: own(&self.setup),
            teardown: own(&self.teardown),
            sessions: self
                .sessions
                .iter()
                .map(|s| SessionPlan {
                    name: s.name.clone(),
                    setup: own(&s.setup),
                    steps: s
                        .steps
                        .iter()
                        .map(|st| StepPlan {
                            name: Arc::from(&*st.name),
                            sql: st.sql.clone(),
                            stmts: own(&st.stmts).into(),
                        })
                        .collect(),
                    teardown: own(&s.teardown),
                })
                .collect(),
        }
    }

    pub fn session_names(&self) -> Vec<String> {
        self.sessions.iter().map(|s| s.name.clone()).collect()
    }

    /// The permutations to run: the spec's, or every interleaving of the sessions' steps.
    pub fn permutations(&self) -> Box<dyn Iterator<Item = Vec<PermStep>> + '_> {
        if !self.spec.permutations.is_empty() {
            return Box::new(self.spec.permutations.iter().map(|p| p.steps.clone()));
        }
        let counts = self.spec.step_counts();
        Box::new(crate::spec::all_interleavings(&counts).map(move |il| {
            self.spec
                .interleaving_names(&il)
                .into_iter()
                .map(|name| PermStep { name: name.into(), markers: vec![], pos: Pos::default() })
                .collect()
        }))
    }

    /// How many permutations `permutations` yields.
    pub fn permutation_count(&self) -> u128 {
        if self.spec.permutations.is_empty() {
            crate::spec::count_interleavings(&self.spec.step_counts())
        } else {
            self.spec.permutations.len() as u128
        }
    }
}

#[cfg(test)]
mod attach_tests;
