//! The SQL subset: statements parsed with sqlparser and lowered to a small plan bound to a catalog.

pub mod catalog;
mod lower;
mod memo;
pub mod partition;
pub mod plan;
pub mod sequence;
mod split;
pub mod value;

pub use catalog::{Catalog, ColType, Column, ForeignKey, Index, RefAction, Table, TableId, Width};
pub use lower::{SchemaOptions, SqlDialect};
pub use plan::{
    Advisory, AdvisoryOp, Cond, DropTables, Expr, Filter, Isolation, LockClause, LockWait, Maintenance, OnConflict,
    Plan, Projection, Relation, RowLock, SortKey, Statement, TableLock,
};
pub use split::{peel_lock_clause, requote, split_block, RawStatement};
pub use value::Value;

use crate::spec::{Pos, SqlBlock};

/// A statement that could not be parsed or is outside the supported subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {what}", pos.line, pos.col)]
pub struct SqlError {
    pub pos: Pos,
    pub what: String,
}

/// The first line of a statement, shortened, for error messages.
fn excerpt(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 60 {
        format!("{}...", line.chars().take(57).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Parse and bind one statement; DDL is applied to `catalog`.
pub fn parse_statement(raw: &RawStatement, catalog: &mut Catalog, opts: SchemaOptions) -> Result<Statement, SqlError> {
    let fail = |what: String| SqlError { pos: raw.pos, what: format!("{what}: `{}`", excerpt(&raw.text)) };
    // VACUUM and ANALYZE (vacuum.c): their relation locks; they take no row locks and change no
    // row a transaction can see.
    if let Some(plan) = lower::maintenance(catalog, &raw.text, opts.dialect) {
        let plan = plan.map_err(|e| fail(e.to_string()))?;
        return Ok(Statement { plan, text: raw.text.clone(), pos: raw.pos, drop: None });
    }
    if let Some(plan) = lower::sequence_statement(&raw.text, catalog, opts.dialect) {
        let plan = plan.map_err(|e| fail(e.to_string()))?;
        return Ok(Statement { plan, text: raw.text.clone(), pos: raw.pos, drop: None });
    }
    if let Some(plan) = lower::set_constraints(&raw.text, opts.dialect) {
        let plan = plan.map_err(|e| fail(e.to_string()))?;
        return Ok(Statement { plan, text: raw.text.clone(), pos: raw.pos, drop: None });
    }
    if let Some(plan) = lower::attach_partition(catalog, &raw.text, opts.dialect) {
        let plan = plan.map_err(|e| fail(e.to_string()))?;
        return Ok(Statement { plan, text: raw.text.clone(), pos: raw.pos, drop: None });
    }
    // A quoted name is read as each server would read it quoted its own way (MariaDB reads
    // `"x"` as a string unless ANSI_QUOTES is set; `fksim conform` sends `` `x` `` there).
    let own = match opts.dialect {
        SqlDialect::MySql => requote(&raw.text, '`'),
        SqlDialect::Postgres => requote(&raw.text, '"'),
        SqlDialect::Generic => raw.text.clone(),
    };
    let (text, lock) = peel_lock_clause(&own).map_err(fail)?;
    // ON CONFLICT's expression elements are parsed as placeholder names (sqlparser reads only
    // names there) and read back from `text` when bound.
    let parsed = lower::inference_placeholders(&text).unwrap_or_else(|| text.clone());
    let asts = opts.dialect.parse(&parsed).map_err(|e| fail(format!("cannot parse SQL ({e})")))?;
    let [ast] = asts.as_slice() else {
        return Err(fail("expected one statement".into()));
    };
    let mut plan = lower::lower(catalog, ast, lock, &text, opts).map_err(|e| fail(e.to_string()))?;
    if let Plan::Prepare { stmt, .. } = &mut plan {
        // Its own text as written, locking clause included (lowering saw it peeled).
        stmt.text = lower::prepared_text(&raw.text).to_string();
        stmt.pos = raw.pos;
    }
    let drop = lower::drop_tables(catalog, ast);
    Ok(Statement { plan, text: raw.text.clone(), pos: raw.pos, drop })
}

/// Parse and bind every statement of a block.
pub fn parse_block(block: &SqlBlock, catalog: &mut Catalog, opts: SchemaOptions) -> Result<Vec<Statement>, SqlError> {
    split_block(block)?.iter().map(|raw| parse_statement(raw, catalog, opts)).collect()
}

/// A duration setting in milliseconds: `'100ms'`, `'2s'`, `'1min'`, or a bare number of ms
/// (PostgreSQL's convention for deadlock_timeout and lock_timeout).
pub fn duration_ms(value: &str) -> Option<f64> {
    let v = value.trim().trim_matches('\'').trim().to_ascii_lowercase();
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("min") {
        (n, 60_000.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (v.as_str(), 1.0)
    };
    num.trim().parse::<f64>().ok().map(|x| x * scale)
}
