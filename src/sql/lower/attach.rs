//! `ALTER TABLE parent ATTACH PARTITION table FOR VALUES ...` (PostgreSQL), which sqlparser does not parse: read from the text.
//!
//! The statement is recognised word by word (as `SET CONSTRAINTS` is); its bound is read by
//! sqlparser as the `FOR VALUES` clause of `CREATE TABLE table PARTITION OF parent ...`, the
//! grammar both share (`PartitionBoundSpec`, gram.y). Binding checks what `ATExecAttachPartition`
//! (tablecmds.c) checks before it touches a row: the parent is partitioned, the table is a table
//! of its own and not a partition yet, and the two have the same columns by name and type
//! (`MergeAttributesIntoExisting`, which matches them by name, so their order may differ). The
//! catalog gets the partition at once; its rows move when the statement runs (see
//! `engine/postgres/attach.rs`).

use super::{partition, LowerError, SqlDialect, R};
use crate::sql::catalog::{Catalog, TableId};
use crate::sql::partition::Partition;
use crate::sql::plan::Plan;
use sqlparser::ast::Statement as Ast;

/// The words of `ALTER TABLE [IF EXISTS] [ONLY] parent {ATTACH | DETACH} PARTITION name rest`:
/// (parent, ATTACH?, name, rest), or None for any other statement.
fn words(text: &str) -> Option<(String, bool, String, String)> {
    let words: Vec<&str> = text.trim().trim_end_matches(';').split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    if upper.len() < 6 || upper[0] != "ALTER" || upper[1] != "TABLE" {
        return None;
    }
    let mut i = 2;
    if upper[i] == "IF" && upper.get(i + 1).is_some_and(|w| w == "EXISTS") {
        i += 2;
    }
    if upper.get(i).is_some_and(|w| w == "ONLY") {
        i += 1;
    }
    let attach = match upper.get(i + 1).map(String::as_str) {
        Some("ATTACH") => true,
        Some("DETACH") => false,
        _ => return None,
    };
    if upper.get(i + 2).map(String::as_str) != Some("PARTITION") {
        return None;
    }
    let name = |w: &str| w.rsplit('.').next().unwrap_or(w).trim_matches('"').trim_matches('`').to_string();
    let child = name(words.get(i + 3)?);
    Some((name(words[i]), attach, child, words[i + 4..].join(" ")))
}

/// `ALTER TABLE parent ATTACH PARTITION table bound` bound to `catalog` (which gets the new
/// partition), `DETACH PARTITION` refused; None when `text` is another statement. MariaDB has
/// no such statement (its partitions are not tables of their own), so its dialect refuses both.
pub(crate) fn attach_partition(catalog: &mut Catalog, text: &str, dialect: SqlDialect) -> Option<R<Plan>> {
    let (parent, attach, child, rest) = words(text)?;
    if dialect == SqlDialect::MySql {
        return Some(Err(LowerError::Unsupported(
            "ALTER TABLE ... ATTACH / DETACH PARTITION is PostgreSQL's; MariaDB has no such statement \
             (its partitions are not tables of their own)"
                .into(),
        )));
    }
    if !attach {
        return Some(Err(LowerError::NotModelled("ALTER TABLE ... DETACH PARTITION statements")));
    }
    Some(bind(catalog, &parent, &child, &rest))
}

fn bind(catalog: &mut Catalog, parent: &str, child: &str, rest: &str) -> R<Plan> {
    let p = own_table(catalog, parent)?;
    let t = own_table(catalog, child)?;
    if !catalog.is_partitioned(p) {
        return Err(LowerError::Invalid(format!("table \"{parent}\" is not partitioned")));
    }
    if catalog.partitions.iter().any(|x| x.attached_from == Some(t)) || p == t {
        return Err(LowerError::Invalid(format!("\"{child}\" is already a partition")));
    }
    if catalog.is_partitioned(t) {
        return Err(LowerError::NotModelled("sub-partitioned tables (an attached table that is PARTITION BY)"));
    }
    if !catalog.tables[t].fks.is_empty() || catalog.referencing(t).next().is_some() {
        return Err(LowerError::NotModelled("foreign keys of a table attached as a partition, or to it"));
    }
    let cols = columns(catalog, p, t)?;
    // The partitioned table's unique indexes are one index over all its partitions (see
    // `sql::partition`); a unique index of the table's own would stop checking once its rows
    // are the parent's.
    let (pt, ct) = (&catalog.tables[p], &catalog.tables[t]);
    for ix in ct.indexes.iter().filter(|ix| ix.unique && !ix.cols.iter().any(|&c| ct.columns[c].hidden)) {
        let names: Vec<&str> = ix.cols.iter().map(|&c| ct.columns[c].name.as_str()).collect();
        let on_parent = pt
            .indexes
            .iter()
            .any(|px| px.unique && px.cols.iter().map(|&c| pt.columns[c].name.as_str()).eq(names.iter().copied()));
        if !on_parent {
            return Err(LowerError::NotModelled(
                "unique indexes of an attached table that its partitioned table does not have",
            ));
        }
    }
    let sql = format!("CREATE TABLE \"{child}\" PARTITION OF \"{parent}\" {rest}");
    let asts = SqlDialect::Postgres
        .parse(&sql)
        .map_err(|e| LowerError::Unsupported(format!("cannot parse the partition bound `{rest}` ({e})")))?;
    let [Ast::CreateTable(ct)] = asts.as_slice() else {
        return Err(LowerError::Unsupported(format!("cannot read the partition bound `{rest}`")));
    };
    let name = catalog.tables[t].name.clone();
    let (bound, sql) = partition::bound(catalog, p, &name, &ct.for_values)?;
    catalog.partitions.push(Partition { name, parent: p, bound, sql, attached_from: Some(t) });
    Ok(Plan::AttachPartition { parent: p, table: t, partition: catalog.partitions.len() - 1, cols })
}

/// A table by its own name (not a partition's).
fn own_table(catalog: &Catalog, name: &str) -> R<TableId> {
    catalog
        .tables
        .iter()
        .position(|t| t.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| LowerError::NoSuchTable(name.to_string()))
}

/// For each column of `parent`, the column of `table` with its name: the two must have the same
/// columns, of the same types (`MergeAttributesIntoExisting`, tablecmds.c: "table ... contains
/// column ... not found in parent", "child table is missing column ...", "child table ... has
/// different type for column ..."). The hidden row id of a table without a primary key is the
/// model's, and maps to the table's own.
fn columns(catalog: &Catalog, parent: TableId, table: TableId) -> R<Vec<usize>> {
    let (pt, ct) = (&catalog.tables[parent], &catalog.tables[table]);
    if let Some((_, c)) = ct.visible_columns().find(|(_, c)| pt.col(&c.name).is_none()) {
        return Err(LowerError::Invalid(format!(
            "table \"{}\" contains column \"{}\" not found in parent \"{}\"",
            ct.name, c.name, pt.name
        )));
    }
    let mut out = Vec::new();
    for c in &pt.columns {
        let Some(i) = ct.columns.iter().position(|x| x.name.eq_ignore_ascii_case(&c.name)) else {
            if c.hidden {
                return Err(LowerError::NotModelled(
                    "an attached table with a primary key under a partitioned table without one",
                ));
            }
            return Err(LowerError::Invalid(format!("child table is missing column \"{}\"", c.name)));
        };
        if ct.columns[i].ty != c.ty {
            return Err(LowerError::Invalid(format!(
                "child table \"{}\" has different type for column \"{}\"",
                ct.name, c.name
            )));
        }
        out.push(i);
    }
    Ok(out)
}
