//! ALTER TABLE as Django's `sqlmigrate` emits it (constraints added after CREATE TABLE, column
//! changes of later migrations), and the foreign keys that CREATE TABLE and ALTER TABLE share.

use super::{
    col_type, column_of, ident_name, index_cols, ref_action, unquote, LowerError, PendingFk, SchemaOptions, R,
};
use crate::sql::catalog::{pg_object_name, Catalog, ForeignKey, Index, RefAction, Table, TableId};
use sqlparser::ast::{self, AlterColumnOperation, AlterTableOperation, ColumnOption, TableConstraint};

/// Apply an `ALTER TABLE` to the catalog.
pub(super) fn alter_table(catalog: &mut Catalog, at: &ast::AlterTable, opts: SchemaOptions) -> R<()> {
    let name = ident_name(&at.name);
    let t = catalog.table_id(&name).ok_or_else(|| LowerError::NoSuchTable(name.clone()))?;
    for op in &at.operations {
        match op {
            AlterTableOperation::AddConstraint { constraint, not_valid: false } => {
                add_constraint(catalog, t, constraint, opts)?
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                let table = &mut catalog.tables[t];
                let c = column_of(table, &unquote(column_name))?;
                match op {
                    AlterColumnOperation::SetNotNull => table.columns[c].not_null = true,
                    AlterColumnOperation::DropNotNull if table.pk().contains(&c) => {
                        return Err(LowerError::Invalid(format!(
                            "column `{}` is in the primary key",
                            table.columns[c].name
                        )))
                    }
                    AlterColumnOperation::DropNotNull => table.columns[c].not_null = false,
                    AlterColumnOperation::SetDataType { data_type, using: None, .. } => retype(table, c, data_type)?,
                    other => return Err(unsupported(&format!("ALTER COLUMN ... {other}"))),
                }
            }
            // MySQL's MODIFY restates the whole column: NULL unless it says NOT NULL.
            AlterTableOperation::ModifyColumn { col_name, data_type, options, column_position: None } => {
                let table = &mut catalog.tables[t];
                let c = column_of(table, &unquote(col_name))?;
                retype(table, c, data_type)?;
                let mut not_null = table.pk().contains(&c);
                for o in options {
                    match o {
                        ColumnOption::NotNull => not_null = true,
                        ColumnOption::Null | ColumnOption::Default(_) => {}
                        other => return Err(unsupported(&format!("MODIFY ... {other}"))),
                    }
                }
                table.columns[c].not_null = not_null;
            }
            AlterTableOperation::DropColumn { column_names, if_exists: false, .. } => {
                for n in column_names {
                    drop_column(catalog, t, &unquote(n))?;
                }
            }
            AlterTableOperation::SetOptionsParens { options } => {
                let partition = matches!(catalog.relation(&name), Some(crate::sql::Relation::Partition { .. }));
                super::reloptions::set_options(catalog, t, partition, options, opts.dialect)?
            }
            other => return Err(unsupported(&other.to_string())),
        }
    }
    Ok(())
}

fn unsupported(what: &str) -> LowerError {
    LowerError::Unsupported(format!("unsupported ALTER TABLE operation `{what}`"))
}

/// A column's new type (Django's AlterField of a max_length).
fn retype(table: &mut Table, c: usize, dt: &ast::DataType) -> R<()> {
    let (ty, serial, width) = col_type(dt)?;
    let col = &mut table.columns[c];
    if serial || ty != col.ty {
        return Err(LowerError::NotModelled("changes of a column's kind of type"));
    }
    col.width = width;
    Ok(())
}

/// `ADD CONSTRAINT name UNIQUE (...)` or `ADD CONSTRAINT name FOREIGN KEY (...) REFERENCES ...`.
fn add_constraint(catalog: &mut Catalog, t: TableId, constraint: &TableConstraint, opts: SchemaOptions) -> R<()> {
    match constraint {
        TableConstraint::ForeignKey(fk) => {
            let pending = PendingFk::new(fk.name.as_ref().map(unquote), fk.columns.iter().map(unquote).collect(), fk);
            add_fk(catalog, t, pending, opts)
        }
        TableConstraint::Unique(u) => {
            let table = &catalog.tables[t];
            let cols = index_cols(table, &u.columns)?;
            let given = u.name.as_ref().map(unquote);
            let pg_name = given.clone().unwrap_or_else(|| {
                let names: Vec<&str> = cols.iter().map(|&c| table.columns[c].name.as_str()).collect();
                pg_object_name(&table.name, Some(&names.join("_")), "key", |n| catalog.pg_name_taken(n, true))
            });
            let name = given.unwrap_or_else(|| table.columns[cols[0]].name.clone());
            if table.indexes.iter().any(|ix| ix.name.eq_ignore_ascii_case(&name)) {
                return Err(LowerError::Invalid(format!("index `{name}` already exists on `{}`", table.name)));
            }
            let table = &mut catalog.tables[t];
            // MySQL's key order (sql_table.cc, sort_keys; the table is rebuilt): primary, unique
            // NOT NULL, other unique, the rest.
            let not_null = cols.iter().all(|&c| table.columns[c].not_null);
            let pos = table
                .indexes
                .iter()
                .position(|ix| {
                    !ix.clustered && (!ix.unique || (not_null && !ix.cols.iter().all(|&c| table.columns[c].not_null)))
                })
                .unwrap_or(table.indexes.len());
            let ix = Index {
                name,
                pg_name,
                cols: cols.clone(),
                unique: true,
                clustered: false,
                implicit: false,
                exprs: Vec::new(),
                include: Vec::new(),
            };
            table.indexes.insert(pos, ix);
            for fk in &mut table.fks {
                fk.child_index = fk.child_index.map(|i| if i >= pos { i + 1 } else { i });
            }
            serve_fks(table, pos);
            Ok(())
        }
        TableConstraint::PrimaryKey(_) => Err(LowerError::NotModelled("primary keys added by ALTER TABLE")),
        other => Err(unsupported(&format!("ADD {other}"))),
    }
}

/// Index `new` serves the foreign keys it leads with: an index InnoDB made for one of them goes
/// (MariaDB drops the generated key, `mysql_prepare_alter_table` / `Key::generated`), and a
/// foreign key with no index takes it.
fn serve_fks(table: &mut Table, mut new: usize) {
    let cols = table.indexes[new].cols.clone();
    let served = |ix: &Index, fk_cols: &[usize]| ix.implicit && ix.cols == fk_cols && cols.starts_with(fk_cols);
    if let Some(gone) =
        (0..table.indexes.len()).find(|&i| table.fks.iter().any(|fk| served(&table.indexes[i], &fk.cols)))
    {
        table.indexes.remove(gone);
        if gone < new {
            new -= 1;
        }
        for fk in &mut table.fks {
            fk.child_index = match fk.child_index {
                Some(i) if i == gone => None,
                Some(i) if i > gone => Some(i - 1),
                other => other,
            };
        }
    }
    for fk in table.fks.iter_mut().filter(|fk| fk.child_index.is_none() && cols.starts_with(&fk.cols)) {
        fk.child_index = Some(new);
    }
}

/// `DROP COLUMN` of a column no index or foreign key uses (Django's RemoveField of
/// `django_content_type.name`).
fn drop_column(catalog: &mut Catalog, t: TableId, name: &str) -> R<()> {
    let c = column_of(&catalog.tables[t], name)?;
    let table = &catalog.tables[t];
    let used = table.indexes.iter().any(|ix| ix.cols.contains(&c))
        || table.fks.iter().any(|fk| fk.cols.contains(&c))
        || catalog.referencing(t).any(|(ct, k)| catalog.tables[ct].fks[k].parent_cols.contains(&c));
    if used {
        return Err(LowerError::NotModelled("dropping a column an index or foreign key uses"));
    }
    let shift = |cols: &mut Vec<usize>| cols.iter_mut().filter(|x| **x > c).for_each(|x| *x -= 1);
    let table = &mut catalog.tables[t];
    table.columns.remove(c);
    table.indexes.iter_mut().for_each(|ix| shift(&mut ix.cols));
    table.fks.iter_mut().for_each(|fk| shift(&mut fk.cols));
    for other in &mut catalog.tables {
        other.fks.iter_mut().filter(|fk| fk.parent == t).for_each(|fk| shift(&mut fk.parent_cols));
    }
    Ok(())
}

/// Add a foreign key to table `id` (just created, or altered), with its child index: the first
/// index led by its columns or, where the engine makes one (InnoDB), a new one.
pub(super) fn add_fk(catalog: &mut Catalog, id: TableId, fk: PendingFk, opts: SchemaOptions) -> R<()> {
    if fk.deferrable && opts.dialect == super::SqlDialect::MySql {
        // MariaDB checks every foreign key row by row (row0ins.cc); its grammar has no
        // DEFERRABLE (sql_yacc.yy `references`), and Django's MySQL backend never writes one.
        return Err(LowerError::Unsupported(
            "DEFERRABLE foreign keys are PostgreSQL's: MariaDB checks each row at once".into(),
        ));
    }
    let name = catalog.tables[id].name.clone();
    let parent_name = ident_name(&fk.parent);
    let parent = if parent_name.eq_ignore_ascii_case(&name) { Some(id) } else { catalog.table_id(&parent_name) };
    let Some(parent) = parent else {
        return Err(LowerError::Invalid(format!("referenced table `{parent_name}` does not exist")));
    };
    let child = &catalog.tables[id];
    let cols = fk.cols.iter().map(|c| column_of(child, c)).collect::<R<Vec<_>>>()?;
    let ptable = &catalog.tables[parent];
    let parent_cols = if fk.parent_cols.is_empty() {
        ptable.pk().to_vec()
    } else {
        fk.parent_cols.iter().map(|c| column_of(ptable, c)).collect::<R<Vec<_>>>()?
    };
    if parent_cols.len() != cols.len() {
        return Err(LowerError::Invalid("foreign key column counts differ".into()));
    }
    if !ptable.indexes.iter().any(|ix| ix.unique && ix.cols == parent_cols) {
        return Err(LowerError::Invalid(format!("no unique index on the referenced columns of `{}`", ptable.name)));
    }
    let given = fk.name.clone();
    if given.as_ref().is_some_and(|g| child.fks.iter().any(|f| f.name.eq_ignore_ascii_case(g))) {
        return Err(LowerError::Exists(format!("foreign key `{}`", given.unwrap_or_default())));
    }
    let pg_name = fk.name.clone().unwrap_or_else(|| {
        let names: Vec<&str> = cols.iter().map(|&c| catalog.tables[id].columns[c].name.as_str()).collect();
        pg_object_name(&name, Some(&names.join("_")), "fkey", |n| catalog.pg_name_taken(n, false))
    });
    let fk_name = fk.name.unwrap_or_else(|| format!("{}_ibfk_{}", name, catalog.tables[id].fks.len() + 1));
    let (on_delete, on_update) = (ref_action(&fk.on_delete)?, ref_action(&fk.on_update)?);
    let set_null = on_delete == RefAction::SetNull || on_update == RefAction::SetNull;
    if set_null && opts.fk_enforced && opts.implicit_fk_index && cols.iter().any(|&c| child.columns[c].not_null) {
        // InnoDB's DDL (the schema flavour that creates FK indexes) refuses SET NULL on a NOT
        // NULL column (`dict_foreign_find_index` with `check_null`, dict0dict.cc: "one of the ON
        // ... SET NULL columns is declared NOT NULL"); PostgreSQL accepts it and fails the delete
        // at run time with a NOT NULL error.
        return Err(LowerError::Invalid(format!(
            "Can't create table `{name}` (errno: 150 \"Foreign key constraint is incorrectly formed\"): SET NULL on a NOT NULL column"
        )));
    }
    let child = &mut catalog.tables[id];
    let mut child_index = child.indexes.iter().position(|ix| !ix.has_exprs() && ix.cols.starts_with(&cols));
    if child_index.is_none() && opts.implicit_fk_index {
        // Named as MariaDB names the key it generates: the constraint's name, or the first
        // column's (`mysql_prepare_create_table`, sql_table.cc; SHOW INDEX).
        let name = given.unwrap_or_else(|| child.columns[cols[0]].name.clone());
        let pg_name = name.clone();
        child.indexes.push(Index {
            name,
            pg_name,
            cols: cols.clone(),
            unique: false,
            clustered: false,
            implicit: true,
            exprs: Vec::new(),
            include: Vec::new(),
        });
        child_index = Some(child.indexes.len() - 1);
    }
    child.fks.push(ForeignKey {
        name: fk_name,
        pg_name,
        cols,
        parent,
        parent_cols,
        on_delete,
        on_update,
        enforced: opts.fk_enforced,
        child_index,
        deferrable: fk.deferrable,
        initially_deferred: fk.initially_deferred,
        logical: false,
    });
    Ok(())
}

#[cfg(test)]
#[path = "alter_tests.rs"]
mod tests;
