//! SELECT: one table, its projection, WHERE, locking clause, ORDER BY and LIMIT.

use super::{column_ref, filter, ident_name, single_table, LowerError, Subqueries, R};
use crate::sql::catalog::{Catalog, Table};
use crate::sql::plan::{LockClause, LockWait, Plan, Projection, RowLock, SortKey};
use crate::sql::value::Value;
use sqlparser::ast::{self, SelectItem, SetExpr};

/// `ORDER BY col [ASC | DESC] [NULLS FIRST | LAST], ...` over columns of the table.
fn order_by(t: &Table, ob: Option<&ast::OrderBy>) -> R<Vec<SortKey>> {
    let Some(ob) = ob else { return Ok(Vec::new()) };
    let ast::OrderByKind::Expressions(exprs) = &ob.kind else {
        return Err(LowerError::Unsupported("ORDER BY ALL is not supported".into()));
    };
    exprs
        .iter()
        .map(|e| {
            let col = column_ref(t, &e.expr)
                .unwrap_or_else(|| Err(LowerError::Unsupported(format!("unsupported ORDER BY key `{}`", e.expr))))?;
            let desc = match e.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(_) => return Err(LowerError::Unsupported("ORDER BY ... USING is not supported".into())),
            };
            if e.with_fill.is_some() {
                return Err(LowerError::Unsupported("ORDER BY ... WITH FILL is not supported".into()));
            }
            Ok(SortKey { col, desc, nulls_first: e.options.nulls_first.unwrap_or(desc) })
        })
        .collect()
}

/// `LIMIT n` (a non-negative integer literal; `LIMIT ALL` is no limit).
fn limit(lc: Option<&ast::LimitClause>) -> R<Option<usize>> {
    let unsupported = || LowerError::Unsupported("only LIMIT n (an integer) is supported".into());
    match lc {
        None => Ok(None),
        Some(ast::LimitClause::LimitOffset { limit, offset: None, limit_by }) if limit_by.is_empty() => match limit {
            None => Ok(None),
            Some(ast::Expr::Value(v)) => match &v.value {
                ast::Value::Number(n, _) => n.parse().map(Some).map_err(|_| unsupported()),
                _ => Err(unsupported()),
            },
            Some(_) => Err(unsupported()),
        },
        Some(_) => Err(unsupported()),
    }
}

/// `SELECT 1, 'a' AS x` without FROM: every item a literal.
fn constants(items: &[SelectItem]) -> Option<R<Plan>> {
    let mut names = Vec::new();
    let mut row = Vec::new();
    for i in items {
        let (e, name) = match i {
            SelectItem::UnnamedExpr(e) => (e, "?column?".to_string()),
            SelectItem::ExprWithAlias { expr, alias } => (expr, alias.value.clone()),
            _ => return None,
        };
        row.push(constant(e)?);
        names.push(name);
    }
    (!row.is_empty()).then_some(Ok(Plan::Values { names, row }))
}

/// A constant: a literal, `current_setting('default_transaction_isolation')` (the server's
/// default, `read committed`: guc_tables.c, the model's sessions start with it), or `=` / `<>` of
/// two constants.
fn constant(e: &ast::Expr) -> Option<Value> {
    match e {
        ast::Expr::Nested(inner) => constant(inner),
        ast::Expr::Function(f) if ident_name(&f.name).eq_ignore_ascii_case("current_setting") => {
            let ast::FunctionArguments::List(l) = &f.args else { return None };
            match l.args.as_slice() {
                [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a))] => match super::literal(a).ok()? {
                    Value::Str(s) if s.eq_ignore_ascii_case("default_transaction_isolation") => {
                        Some(Value::Str("read committed".into()))
                    }
                    _ => None,
                },
                _ => None,
            }
        }
        ast::Expr::BinaryOp { left, op: op @ (ast::BinaryOperator::Eq | ast::BinaryOperator::NotEq), right } => {
            let (a, b) = (constant(left)?, constant(right)?);
            Some(match a.sql_cmp(&b) {
                None => Value::Null,
                Some(o) => Value::Bool((o == std::cmp::Ordering::Equal) == (*op == ast::BinaryOperator::Eq)),
            })
        }
        _ => super::literal(e).ok(),
    }
}

pub(super) fn select(catalog: &Catalog, q: &ast::Query, clause: Option<LockClause>) -> R<Plan> {
    let SetExpr::Select(s) = &*q.body else {
        return Err(LowerError::Unsupported("unsupported query form".into()));
    };
    if q.with.is_some() || q.fetch.is_some() {
        return Err(LowerError::Unsupported("WITH and FETCH are not supported".into()));
    }
    if s.distinct.is_some() || s.having.is_some() || s.group_by != ast::GroupByExpr::Expressions(vec![], vec![]) {
        return Err(LowerError::Unsupported("DISTINCT, GROUP BY and HAVING are not supported".into()));
    }
    if q.locks.iter().any(|l| l.of.is_some()) {
        return Err(LowerError::Unsupported("FOR ... OF is not supported".into()));
    }
    if s.from.is_empty() && q.locks.is_empty() && clause.is_none() && s.selection.is_none() {
        if let Some(calls) = super::advisory::select_calls(&s.projection) {
            return Ok(Plan::Advisory(calls?));
        }
        if let Some(values) = constants(&s.projection) {
            return values;
        }
    }
    if q.locks.is_empty() && clause.is_none() {
        if let Some(plan) = super::sequence::nextval_select(catalog, s) {
            return plan;
        }
    }
    let table = single_table(catalog, &s.from)?;
    let t = &catalog.tables[table];
    let clause = match (clause, q.locks.as_slice()) {
        (c, []) => c,
        (None, [lc]) => Some(LockClause {
            lock: match lc.lock_type {
                ast::LockType::Update => RowLock::Update,
                ast::LockType::Share => RowLock::Share,
            },
            wait: match lc.nonblock {
                None => LockWait::Wait,
                Some(ast::NonBlock::Nowait) => LockWait::NoWait,
                Some(ast::NonBlock::SkipLocked) => LockWait::SkipLocked,
            },
        }),
        _ => return Err(LowerError::Unsupported("unsupported locking clause".into())),
    };
    let (lock, wait) = clause.map_or((None, LockWait::Wait), |c| (Some(c.lock), c.wait));
    // PostgreSQL's system columns (heap.c `SystemAttributeByName`) that the table does not shadow.
    let system: Vec<String> = s
        .projection
        .iter()
        .filter_map(|i| match i {
            SelectItem::UnnamedExpr(ast::Expr::Identifier(id)) => Some(id.value.to_ascii_lowercase()),
            _ => None,
        })
        .filter(|n| SYSTEM_COLUMNS.contains(&n.as_str()) && t.col(n).is_none())
        .collect();
    let proj = match s.projection.as_slice() {
        _ if !system.is_empty() => Projection::SystemColumns(system),
        [SelectItem::Wildcard(_)] => Projection::Star,
        [SelectItem::UnnamedExpr(e)] if e.to_string().eq_ignore_ascii_case("COUNT(*)") => Projection::CountStar,
        [SelectItem::UnnamedExpr(ast::Expr::Value(v))] if v.value.to_string() == "1" => Projection::One,
        items => Projection::Cols(
            items
                .iter()
                .map(|i| match i {
                    SelectItem::UnnamedExpr(e) => column_ref(t, e)
                        .unwrap_or_else(|| Err(LowerError::Unsupported(format!("unsupported select item `{e}`")))),
                    other => Err(LowerError::Unsupported(format!("unsupported select item `{other}`"))),
                })
                .collect::<R<Vec<_>>>()?,
        ),
    };
    let order = order_by(t, q.order_by.as_ref())?;
    let limit = limit(q.limit_clause.as_ref())?;
    let mut filter = filter(Subqueries::Denied("SELECT"), t, &s.selection)?;
    filter.conds.extend(super::partition_conds(catalog, &s.from));
    Ok(Plan::Select { table, proj, filter, lock, wait, order, limit })
}

/// The system columns of every heap table (heap.c `SysAtt`).
const SYSTEM_COLUMNS: &[&str] = &["ctid", "xmin", "cmin", "xmax", "cmax", "tableoid"];
