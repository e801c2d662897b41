//! `CREATE TABLE ... PARTITION BY LIST | RANGE (col)` and `CREATE TABLE name PARTITION OF parent FOR VALUES ...`.

use super::{ident_name, literal, table_of, LowerError, R};
use crate::sql::catalog::Catalog;
use crate::sql::partition::{list_bound, range_bound, Partition, PartitionKey};
use crate::sql::plan::Cond;
use sqlparser::ast;

/// The partition key column of `PARTITION BY LIST (col)` or `RANGE (col)`: one column (an
/// expression or several columns are not modelled; HASH partitioning neither).
pub(super) fn key(catalog: &Catalog, table: usize, by: &ast::Expr) -> R<PartitionKey> {
    let text = by.to_string();
    let unsupported =
        || LowerError::Unsupported(format!("only PARTITION BY LIST (col) or RANGE (col) is modelled, not `{text}`"));
    let (method, rest) = text.split_once('(').ok_or_else(unsupported)?;
    let range = match method.trim().to_ascii_uppercase().as_str() {
        "LIST" => false,
        "RANGE" => true,
        _ => return Err(unsupported()),
    };
    let col = rest.strip_suffix(')').ok_or_else(unsupported)?.trim().trim_matches('"');
    if col.contains([',', '(', ' ']) {
        return Err(unsupported());
    }
    Ok(PartitionKey { col: super::column_of(&catalog.tables[table], col)?, range })
}

/// `CREATE TABLE name PARTITION OF parent FOR VALUES ...`: the partition, with its bound on the
/// parent's key (`transformPartitionBound`, parse_utilcmd.c). A partition that is itself
/// partitioned, a DEFAULT or HASH partition, and a partition with its own column list or
/// constraints are not modelled.
pub(super) fn partition_of(catalog: &mut Catalog, ct: &ast::CreateTable, parent: &ast::ObjectName) -> R<()> {
    let name = ident_name(&ct.name);
    if ct.partition_by.is_some() {
        return Err(LowerError::NotModelled("sub-partitioned tables (a PARTITION OF that is PARTITION BY)"));
    }
    if !ct.columns.is_empty() || !ct.constraints.is_empty() {
        return Err(LowerError::NotModelled("columns or constraints declared on a partition"));
    }
    if catalog.table_id(&name).is_some() {
        return Err(LowerError::Exists(format!("table `{name}`")));
    }
    let table = table_of(catalog, parent)?;
    let (bound, sql) = bound(catalog, table, &name, &ct.for_values)?;
    catalog.partitions.push(Partition { name, parent: table, bound, sql, attached_from: None });
    Ok(())
}

/// A partition's bound on the key of the partitioned `table`, as conjuncts and as SQL
/// (`transformPartitionBound`, parse_utilcmd.c): `FOR VALUES IN (...)` of a LIST table, `FOR
/// VALUES FROM (v) TO (v)` of a RANGE table on its one key column; new partition `name` may not
/// share a value with another.
pub(super) fn bound(
    catalog: &Catalog,
    table: usize,
    name: &str,
    for_values: &Option<ast::ForValues>,
) -> R<(Vec<Cond>, String)> {
    let Some(&PartitionKey { col: key, range }) = catalog.partition_keys.get(&table) else {
        return Err(LowerError::Invalid(format!("`{}` is not partitioned", catalog.tables[table].name)));
    };
    let bound_value = |v: &ast::PartitionBoundValue| match v {
        ast::PartitionBoundValue::Expr(e) => literal(e).map(Some),
        _ => Ok(None),
    };
    let bound: Vec<Cond> = match for_values {
        Some(ast::ForValues::In(vs)) if !range => list_bound(key, vs.iter().map(literal).collect::<R<_>>()?),
        Some(ast::ForValues::From { from, to }) if range && from.len() == 1 && to.len() == 1 => {
            range_bound(key, bound_value(&from[0])?, bound_value(&to[0])?)
        }
        other => {
            let what = other.as_ref().map(|f| f.to_string()).unwrap_or_default();
            return Err(LowerError::Unsupported(format!(
                "only FOR VALUES IN (...) and FROM (v) TO (v) partitions are modelled, not `{what}`"
            )));
        }
    };
    if let Some(other) = catalog.overlapping(table, &bound) {
        return Err(LowerError::Invalid(format!("partition \"{name}\" would overlap partition \"{}\"", other.name)));
    }
    Ok((bound, for_values.as_ref().map(|f| f.to_string()).unwrap_or_default()))
}
