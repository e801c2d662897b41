//! CREATE INDEX: plain columns, or (PostgreSQL) keys on `lower(col)` / `upper(col)` and INCLUDE
//! columns, named as PostgreSQL names an index created without a name.

use super::{column_of, ident_name, table_of, LowerError, SqlDialect, R};
use crate::sql::catalog::{pg_object_name, Catalog, Index, KeyFn, Table};
use sqlparser::ast;

/// A CREATE INDEX key: a column, or (PostgreSQL) `lower(col)` / `upper(col)`.
pub(super) fn index_key(table: &Table, e: &ast::Expr, dialect: SqlDialect) -> R<(usize, Option<KeyFn>)> {
    let ast::Expr::Function(f) = e else {
        return Ok((column_of(table, e.to_string().trim_matches('"').trim_matches('`'))?, None));
    };
    if dialect == SqlDialect::MySql {
        return Err(LowerError::NotModelled("indexes on expressions (MariaDB 10.11 has none)"));
    }
    let name = ident_name(&f.name).to_ascii_lowercase();
    let col = match &f.args {
        ast::FunctionArguments::List(l) => match l.args.as_slice() {
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id)))] => {
                Some(column_of(table, &id.value)?)
            }
            _ => None,
        },
        _ => None,
    };
    match (KeyFn::named(&name), col) {
        (Some(kf), Some(c)) => Ok((c, Some(kf))),
        _ => Err(LowerError::Unsupported(format!(
            "unsupported index expression `{e}` (lower(col) and upper(col) are supported)"
        ))),
    }
}

pub(super) fn create_index(catalog: &mut Catalog, ci: &ast::CreateIndex, dialect: SqlDialect) -> R<()> {
    let t = table_of(catalog, &ci.table_name)?;
    let table = &catalog.tables[t];
    let keys = ci.columns.iter().map(|c| index_key(table, &c.column.expr, dialect)).collect::<R<Vec<_>>>()?;
    let cols: Vec<usize> = keys.iter().map(|k| k.0).collect();
    let exprs: Vec<Option<KeyFn>> =
        if keys.iter().any(|k| k.1.is_some()) { keys.iter().map(|k| k.1).collect() } else { Vec::new() };
    if !ci.include.is_empty() && dialect == SqlDialect::MySql {
        return Err(LowerError::NotModelled("INCLUDE columns (PostgreSQL's)"));
    }
    let include = ci.include.iter().map(|c| column_of(table, &c.value)).collect::<R<Vec<_>>>()?;
    let name = ci.name.as_ref().map(ident_name).unwrap_or_else(|| table.columns[cols[0]].name.clone());
    if table.indexes.iter().any(|ix| ix.name.eq_ignore_ascii_case(&name)) {
        return Err(LowerError::Invalid(format!("index `{name}` already exists on `{}`", table.name)));
    }
    // PostgreSQL names an index created without a name `table_cols_idx`, the columns being the
    // key columns (a function call by its function's name) and the INCLUDE columns
    // (`ChooseIndexName`, `ChooseIndexColumnNames`, `FigureIndexColname`, indexcmds.c).
    let pg_name = match &ci.name {
        Some(n) => ident_name(n),
        None => {
            let key_names = keys.iter().map(|&(c, f)| f.map_or(table.columns[c].name.as_str(), |f| f.sql()));
            let names: Vec<&str> = key_names.chain(include.iter().map(|&c| table.columns[c].name.as_str())).collect();
            pg_object_name(&table.name, Some(&names.join("_")), "idx", |n| catalog.pg_name_taken(n, true))
        }
    };
    let table = &mut catalog.tables[t];
    table.indexes.push(Index {
        pg_name,
        name,
        cols: cols.clone(),
        unique: ci.unique,
        clustered: false,
        implicit: false,
        exprs,
        include,
    });
    if table.indexes.last().is_some_and(Index::has_exprs) {
        // An expression index serves no foreign key.
        return Ok(());
    }
    // An index InnoDB made for a foreign key goes once this one can serve it (MariaDB drops the
    // generated key, `mysql_prepare_alter_table` / `Key::generated`; SHOW INDEX after
    // `CREATE INDEX child_parent` shows only `child_parent`).
    let served = |ix: &Index, fk_cols: &[usize]| ix.implicit && ix.cols == fk_cols && cols.starts_with(fk_cols);
    if let Some(gone) =
        (0..table.indexes.len()).find(|&i| table.fks.iter().any(|fk| served(&table.indexes[i], &fk.cols)))
    {
        table.indexes.remove(gone);
        for fk in &mut table.fks {
            fk.child_index = match fk.child_index {
                Some(i) if i == gone => None,
                Some(i) if i > gone => Some(i - 1),
                other => other,
            };
        }
    }
    let new_ix = table.indexes.len() - 1;
    for fk in table.fks.iter_mut().filter(|fk| fk.child_index.is_none() && cols.starts_with(&fk.cols)) {
        fk.child_index = Some(new_ix);
    }
    Ok(())
}
