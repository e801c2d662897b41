//! Upserts: PostgreSQL's `ON CONFLICT`, MariaDB's `ON DUPLICATE KEY UPDATE` and `INSERT IGNORE`,
//! each taken only in its own server's dialect.

use super::{column_of, conds, ident_name, literal, LowerError, SqlDialect, Subqueries, R};
use crate::sql::catalog::Table;
use crate::sql::plan::{Cond, Expr, Filter, OnConflict};
use crate::sql::value::Value;
use sqlparser::ast::{self, BinaryOperator};

/// What `ins` (whose text is `text`) does with a conflicting row, read as `dialect` reads it. `alias` is the name the
/// existing row goes by (the table's, or its `AS` alias).
pub(super) fn on_conflict(t: &Table, ins: &ast::Insert, dialect: SqlDialect, text: &str) -> R<Option<OnConflict>> {
    let alias = ins.table_alias.as_ref().map(|a| a.alias.value.clone()).unwrap_or_else(|| t.name.clone());
    if ins.replace_into || ins.or.is_some() || ins.insert_alias.is_some() {
        return Err(LowerError::Unsupported(
            "REPLACE / INSERT OR ... / INSERT ... AS row alias are not supported".into(),
        ));
    }
    let pg_only = |what: &str| {
        LowerError::Unsupported(format!(
            "{what} is PostgreSQL's: MariaDB refuses it (it has INSERT IGNORE and ON DUPLICATE KEY UPDATE)"
        ))
    };
    let my_only = |what: &str| {
        LowerError::Unsupported(format!("{what} is MariaDB's: PostgreSQL refuses it (it has INSERT ... ON CONFLICT)"))
    };
    if ins.ignore {
        if dialect == SqlDialect::Postgres {
            return Err(my_only("INSERT IGNORE"));
        }
        if ins.on.is_some() {
            return Err(LowerError::Unsupported("INSERT IGNORE with ON DUPLICATE KEY UPDATE is not modelled".into()));
        }
        return Ok(Some(OnConflict::Ignore));
    }
    match &ins.on {
        None => Ok(None),
        Some(ast::OnInsert::DuplicateKeyUpdate(assignments)) => {
            if dialect == SqlDialect::Postgres {
                return Err(my_only("INSERT ... ON DUPLICATE KEY UPDATE"));
            }
            Ok(Some(OnConflict::DuplicateKey { set: assignments_of(t, &alias, assignments, SqlDialect::MySql)? }))
        }
        Some(ast::OnInsert::OnConflict(oc)) => {
            if dialect == SqlDialect::MySql {
                return Err(pg_only("INSERT ... ON CONFLICT"));
            }
            let arbiters = match &oc.conflict_target {
                None => Vec::new(),
                Some(target) => arbiters(t, target, text)?,
            };
            match &oc.action {
                ast::OnConflictAction::DoNothing => Ok(Some(OnConflict::Nothing { arbiters })),
                ast::OnConflictAction::DoUpdate(du) => {
                    if arbiters.is_empty() {
                        // transformOnConflictClause (parse_clause.c), SQLSTATE 42601.
                        return Err(LowerError::Invalid(
                            "ON CONFLICT DO UPDATE requires inference specification or constraint name".into(),
                        ));
                    }
                    let set = assignments_of(t, &alias, &du.assignments, SqlDialect::Postgres)?;
                    let filter = du.selection.as_ref().map(|w| where_of(t, &alias, w)).transpose()?;
                    Ok(Some(OnConflict::Update { arbiters, set, filter }))
                }
            }
        }
        Some(other) => Err(LowerError::Unsupported(format!("unsupported INSERT clause `{other}`"))),
    }
}

/// The unique indexes a conflict target names (`infer_arbiter_indexes`, plancat.c): every unique
/// index whose plain key columns are exactly the listed columns and whose expression keys are
/// exactly the listed expressions (INCLUDE columns do not count), or the constraint named; none
/// is 42P10.
fn arbiters(t: &Table, target: &ast::ConflictTarget, text: &str) -> R<Vec<usize>> {
    let found: Vec<usize> = match target {
        ast::ConflictTarget::Columns(cols) => {
            let mut want = cols.iter().map(|c| super::inference::element(t, &c.value, text)).collect::<R<Vec<_>>>()?;
            want.sort_unstable_by_key(|&(c, f)| (c, f.map(|f| f.sql())));
            want.dedup();
            (0..t.indexes.len())
                .filter(|&i| {
                    let ix = &t.indexes[i];
                    let mut have: Vec<_> =
                        ix.cols.iter().enumerate().map(|(k, &c)| (c, ix.exprs.get(k).copied().flatten())).collect();
                    have.sort_unstable_by_key(|&(c, f)| (c, f.map(|f| f.sql())));
                    have.dedup();
                    ix.unique && !t.columns[ix.cols[0]].hidden && have == want
                })
                .collect()
        }
        ast::ConflictTarget::OnConstraint(name) => {
            let n = ident_name(name);
            let i = t.indexes.iter().position(|ix| ix.unique && ix.pg_name == n);
            match i {
                Some(i) => vec![i],
                None => {
                    return Err(LowerError::Invalid(format!(
                        "constraint \"{n}\" for table \"{}\" does not exist",
                        t.name
                    )))
                }
            }
        }
    };
    if found.is_empty() {
        return Err(LowerError::Invalid(
            "there is no unique or exclusion constraint matching the ON CONFLICT specification".into(),
        ));
    }
    Ok(found)
}

fn assignments_of(t: &Table, alias: &str, list: &[ast::Assignment], dialect: SqlDialect) -> R<Vec<(usize, Expr)>> {
    let mut set = Vec::with_capacity(list.len());
    for a in list {
        let ast::AssignmentTarget::ColumnName(c) = &a.target else {
            return Err(LowerError::Unsupported("unsupported SET target".into()));
        };
        set.push((column_of(t, &ident_name(c))?, value_of(t, alias, &a.value, dialect)?));
    }
    Ok(set)
}

/// A column reference: `col` or `alias.col` is the existing row's, `EXCLUDED.col` (PostgreSQL)
/// the proposed row's.
fn column(t: &Table, alias: &str, e: &ast::Expr, dialect: SqlDialect) -> Option<R<Expr>> {
    match e {
        ast::Expr::Identifier(id) if !(id.quote_style.is_none() && id.value.eq_ignore_ascii_case("DEFAULT")) => {
            Some(column_of(t, &id.value).map(|c| Expr::ColPlus(c, 0)))
        }
        ast::Expr::CompoundIdentifier(ids) if ids.len() == 2 => {
            let (q, c) = (&ids[0].value, &ids[1].value);
            Some(if dialect == SqlDialect::Postgres && q.eq_ignore_ascii_case("excluded") {
                column_of(t, c).map(Expr::Excluded)
            } else if q.eq_ignore_ascii_case(alias) {
                column_of(t, c).map(|c| Expr::ColPlus(c, 0))
            } else {
                Err(LowerError::Unsupported(format!("unknown row `{q}` in `{e}` (use {alias}.col or EXCLUDED.col)")))
            })
        }
        _ => None,
    }
}

/// A SET value: a literal, a column of either row, `col + n`, MariaDB's `VALUES(col)`,
/// PostgreSQL's `a || b`.
fn value_of(t: &Table, alias: &str, e: &ast::Expr, dialect: SqlDialect) -> R<Expr> {
    let unsupported = || {
        LowerError::Unsupported(format!(
            "unsupported upsert SET value `{e}` (use a literal, a column, EXCLUDED.col / VALUES(col), col + n, a || b)"
        ))
    };
    if let Some(c) = column(t, alias, e, dialect) {
        return c;
    }
    match e {
        ast::Expr::Nested(inner) => value_of(t, alias, inner, dialect),
        ast::Expr::Function(f)
            if dialect == SqlDialect::MySql && ident_name(&f.name).eq_ignore_ascii_case("VALUES") =>
        {
            let ast::FunctionArguments::List(list) = &f.args else { return Err(unsupported()) };
            match list.args.as_slice() {
                [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id)))] => {
                    column_of(t, &id.value).map(Expr::Excluded)
                }
                _ => Err(unsupported()),
            }
        }
        ast::Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right } if dialect == SqlDialect::Postgres => Ok(
            Expr::Concat(Box::new(value_of(t, alias, left, dialect)?), Box::new(value_of(t, alias, right, dialect)?)),
        ),
        ast::Expr::BinaryOp { left, op: op @ (BinaryOperator::Plus | BinaryOperator::Minus), right } => {
            let Some(Ok(Expr::ColPlus(c, 0))) = column(t, alias, left, dialect) else { return Err(unsupported()) };
            let Value::Int(n) = literal(right)? else { return Err(unsupported()) };
            Ok(Expr::ColPlus(c, if *op == BinaryOperator::Minus { -n } else { n }))
        }
        _ => super::expr(t, e).map_err(|_| unsupported()),
    }
}

/// DO UPDATE's WHERE, over the existing row: `WHERE false` / `true`, a boolean column, or
/// the conditions an UPDATE takes (columns qualified by the table's name or alias).
fn where_of(t: &Table, alias: &str, e: &ast::Expr) -> R<Filter> {
    let mut out = Filter::default();
    match e {
        ast::Expr::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => {
            if v.value == ast::Value::Boolean(false) {
                // `x IN ()` is false for every row.
                out.conds.push(Cond::In(0, Vec::new()));
            }
        }
        _ => {
            if let Some(c) = bool_column(t, alias, e) {
                out.conds.push(Cond::Cmp(c?, crate::sql::plan::CmpOp::Eq, Value::Bool(true)));
            } else {
                if e.to_string().to_ascii_lowercase().contains("excluded.") {
                    return Err(LowerError::Unsupported(format!(
                        "EXCLUDED in ON CONFLICT ... WHERE is not supported: `{e}`"
                    )));
                }
                conds(Subqueries::Denied("ON CONFLICT DO UPDATE"), t, e, &mut out)?;
            }
        }
    }
    Ok(out)
}

/// A bare (boolean) column used as a condition.
fn bool_column(t: &Table, alias: &str, e: &ast::Expr) -> Option<R<usize>> {
    match column(t, alias, e, SqlDialect::Postgres)? {
        Ok(Expr::ColPlus(c, 0)) => Some(Ok(c)),
        Ok(_) => {
            Some(Err(LowerError::Unsupported(format!("EXCLUDED in ON CONFLICT ... WHERE is not supported: `{e}`"))))
        }
        Err(e) => Some(Err(e)),
    }
}

#[cfg(test)]
#[path = "upsert_tests.rs"]
mod tests;
