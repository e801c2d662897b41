//! INSERT: `VALUES` rows, or a `SELECT` of literals and one `generate_series(a, b)`, expanded
//! into rows when the statement is bound.

use super::{column_of, expr, literal, table_of, LowerError, SqlDialect, R};
use crate::sql::catalog::{Catalog, Table};
use crate::sql::plan::{Expr, Plan};
use crate::sql::value::Value;
use sqlparser::ast::{self, SelectItem, SetExpr, TableFactor, TableObject};

/// The most rows an `INSERT ... SELECT generate_series(...)` may make: the model keeps every row
/// in memory and copies it per permutation.
const MAX_SERIES_ROWS: i64 = 20_000;

/// Lower an INSERT (its text `text`), read as `dialect` reads it (each server's upsert clauses in its own only).
pub(super) fn insert(catalog: &Catalog, ins: &ast::Insert, dialect: SqlDialect, text: &str) -> R<Plan> {
    let TableObject::TableName(name) = &ins.table else {
        return Err(LowerError::Unsupported("unsupported INSERT target".into()));
    };
    let table = table_of(catalog, name)?;
    let t = &catalog.tables[table];
    let on_conflict = super::upsert::on_conflict(t, ins, dialect, text)?;
    if ins.returning.is_some() {
        return Err(LowerError::Unsupported("RETURNING is not supported".into()));
    }
    let Some(src) = &ins.source else {
        return Err(LowerError::Unsupported("INSERT needs VALUES".into()));
    };
    let visible: Vec<usize> = t.visible_columns().map(|(i, _)| i).collect();
    let targets: Vec<usize> = if ins.columns.is_empty() {
        visible
    } else {
        ins.columns.iter().map(|c| column_of(t, &c.to_string())).collect::<R<Vec<_>>>()?
    };
    let mut body = &*src.body;
    while let SetExpr::Query(q) = body {
        body = &*q.body;
    }
    let source: Vec<Vec<Expr>> = match body {
        SetExpr::Values(values) => {
            values.rows.iter().map(|row| row.iter().map(|e| expr(t, e)).collect()).collect::<R<_>>()?
        }
        SetExpr::Select(s) if src.with.is_none() && src.order_by.is_none() && src.limit_clause.is_none() => {
            select_rows(s)?
        }
        _ => {
            return Err(LowerError::Unsupported(
                "only INSERT ... VALUES and INSERT ... SELECT of literals and generate_series are supported".into(),
            ))
        }
    };
    let mut rows = Vec::with_capacity(source.len());
    for row in source {
        rows.push(full_row(t, &targets, !ins.columns.is_empty(), row)?);
    }
    Ok(Plan::Insert { table, rows, on_conflict })
}

/// One row over every column of `t`: the values for `targets`, defaults elsewhere. Fewer values
/// than columns fill the rest with defaults (PostgreSQL's rule) unless the columns were listed.
fn full_row(t: &Table, targets: &[usize], listed: bool, row: Vec<Expr>) -> R<Vec<Expr>> {
    if row.len() > targets.len() || (row.len() < targets.len() && listed) {
        return Err(LowerError::Invalid(format!("INSERT has {} values for {} columns", row.len(), targets.len())));
    }
    let mut full = vec![Expr::Default; t.columns.len()];
    for (&c, e) in targets.iter().zip(row) {
        full[c] = e;
    }
    Ok(full)
}

/// `generate_series(a, b)` with integer literal bounds.
fn series_bounds(name: &ast::ObjectName, args: &[ast::FunctionArg]) -> Option<R<(i64, i64)>> {
    if !name.to_string().eq_ignore_ascii_case("generate_series") {
        return None;
    }
    let bound = |a: &ast::FunctionArg| match a {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => match literal(e)? {
            Value::Int(n) => Ok(n),
            _ => Err(LowerError::Unsupported(format!("unsupported generate_series bound `{e}`"))),
        },
        other => Err(LowerError::Unsupported(format!("unsupported generate_series argument `{other}`"))),
    };
    Some(match args {
        [a, b] => bound(a).and_then(|a| Ok((a, bound(b)?))),
        _ => Err(LowerError::Unsupported("generate_series takes two integer bounds here".into())),
    })
}

/// A `generate_series` call in a select list.
fn series_call(e: &ast::Expr) -> Option<R<(i64, i64)>> {
    let ast::Expr::Function(f) = e else { return None };
    let ast::FunctionArguments::List(list) = &f.args else { return None };
    series_bounds(&f.name, &list.args)
}

/// The series in a FROM clause and the name its column is known by: `generate_series(a, b) [AS]
/// x`, `... AS a(x)`, or `(SELECT * FROM generate_series(a, b)) a(x)`.
pub(super) fn series_from(from: &[ast::TableWithJoins]) -> R<Option<((i64, i64), String)>> {
    let unsupported = || LowerError::Unsupported("INSERT ... SELECT reads only from generate_series(a, b)".into());
    let [twj] = from else {
        return if from.is_empty() { Ok(None) } else { Err(unsupported()) };
    };
    if !twj.joins.is_empty() {
        return Err(unsupported());
    }
    let col_name = |alias: &Option<ast::TableAlias>, default: &str| match alias {
        Some(a) => a.columns.first().map_or(a.name.value.clone(), |c| c.name.value.clone()),
        None => default.to_string(),
    };
    match &twj.relation {
        TableFactor::Table { name, args: Some(args), alias, .. } => {
            let bounds = series_bounds(name, &args.args).ok_or_else(unsupported)??;
            Ok(Some((bounds, col_name(alias, "generate_series"))))
        }
        TableFactor::Derived { subquery, alias, lateral: false, .. } => {
            let SetExpr::Select(inner) = &*subquery.body else { return Err(unsupported()) };
            let star = matches!(inner.projection.as_slice(), [SelectItem::Wildcard(_)]);
            match series_from(&inner.from)? {
                Some((bounds, inner_name)) if star && inner.selection.is_none() => {
                    Ok(Some((bounds, col_name(alias, &inner_name))))
                }
                _ => Err(unsupported()),
            }
        }
        _ => Err(unsupported()),
    }
}

/// A value of the select list: a literal, or the series' value.
enum Item {
    Lit(Value),
    Series,
}

/// The rows of `SELECT items [FROM series]`.
fn select_rows(s: &ast::Select) -> R<Vec<Vec<Expr>>> {
    if s.selection.is_some() || s.distinct.is_some() || s.having.is_some() {
        return Err(LowerError::Unsupported(
            "INSERT ... SELECT with WHERE, DISTINCT or HAVING is not supported".into(),
        ));
    }
    let mut series = series_from(&s.from)?;
    let mut items = Vec::new();
    for item in &s.projection {
        let e = match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            SelectItem::Wildcard(_) if series.is_some() => {
                items.push(Item::Series);
                continue;
            }
            other => return Err(LowerError::Unsupported(format!("unsupported INSERT ... SELECT item `{other}`"))),
        };
        if let Some(bounds) = series_call(e) {
            if series.is_some() {
                return Err(LowerError::Unsupported("only one generate_series per INSERT ... SELECT".into()));
            }
            series = Some((bounds?, String::new()));
            items.push(Item::Series);
            continue;
        }
        match (e, &series) {
            (ast::Expr::Identifier(id), Some((_, name))) if id.value.eq_ignore_ascii_case(name) => {
                items.push(Item::Series)
            }
            _ => items.push(Item::Lit(literal(e)?)),
        }
    }
    let (lo, hi) = series.map_or((1, 1), |(b, _)| b);
    if hi - lo >= MAX_SERIES_ROWS {
        return Err(LowerError::Unsupported(format!(
            "generate_series({lo}, {hi}) makes more rows than the model keeps (at most {MAX_SERIES_ROWS})"
        )));
    }
    Ok((lo..=hi)
        .map(|n| {
            items
                .iter()
                .map(|i| match i {
                    Item::Lit(v) => Expr::Lit(v.clone()),
                    Item::Series => Expr::Lit(Value::Int(n)),
                })
                .collect()
        })
        .collect())
}
