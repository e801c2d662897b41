//! `ALTER TABLE t SET (storage_parameter = value, ...)` (PostgreSQL): checked against the heap's
//! storage parameters and otherwise a no-op, since none of them changes a lock the model takes.

use super::{LowerError, SqlDialect, R};
use crate::sql::catalog::{Catalog, TableId};
use sqlparser::ast::{Expr, SqlOption, Value};

/// How a parameter's value is read (reloptions.c: `boolRelOpts`, `intRelOpts`, `realRelOpts`,
/// `enumRelOpts`; `parse_one_reloption` words the errors).
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Real,
    /// `vacuum_index_cleanup`: auto, or a boolean.
    AutoOrBool,
}

/// PostgreSQL 15's storage parameters of a heap table (reloptions.c, RELOPT_KIND_HEAP).
const HEAP: &[(&str, Kind)] = &[
    ("autovacuum_enabled", Kind::Bool),
    ("user_catalog_table", Kind::Bool),
    ("vacuum_truncate", Kind::Bool),
    ("vacuum_index_cleanup", Kind::AutoOrBool),
    ("fillfactor", Kind::Int),
    ("toast_tuple_target", Kind::Int),
    ("parallel_workers", Kind::Int),
    ("log_autovacuum_min_duration", Kind::Int),
    ("autovacuum_vacuum_threshold", Kind::Int),
    ("autovacuum_vacuum_insert_threshold", Kind::Int),
    ("autovacuum_analyze_threshold", Kind::Int),
    ("autovacuum_vacuum_cost_limit", Kind::Int),
    ("autovacuum_vacuum_cost_delay", Kind::Real),
    ("autovacuum_vacuum_scale_factor", Kind::Real),
    ("autovacuum_vacuum_insert_scale_factor", Kind::Real),
    ("autovacuum_analyze_scale_factor", Kind::Real),
    ("autovacuum_freeze_min_age", Kind::Int),
    ("autovacuum_freeze_max_age", Kind::Int),
    ("autovacuum_freeze_table_age", Kind::Int),
    ("autovacuum_multixact_freeze_min_age", Kind::Int),
    ("autovacuum_multixact_freeze_max_age", Kind::Int),
    ("autovacuum_multixact_freeze_table_age", Kind::Int),
];

/// The text of a value as `parse_bool` would see it (`on`, `false`, `1`, `'off'`).
fn text(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(id) => Some(id.value.to_ascii_lowercase()),
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => Some(n.clone()),
            Value::SingleQuotedString(s) => Some(s.to_ascii_lowercase()),
            Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        },
        Expr::UnaryOp { expr, .. } => text(expr).map(|t| format!("-{t}")),
        _ => None,
    }
}

/// Check `SET (...)` on `table` as `ATExecSetRelOptions` (tablecmds.c) and `heap_reloptions` /
/// `partitioned_table_reloptions` (reloptions.c) do: a partitioned table has no storage
/// parameters ("unrecognized parameter"), a name must be a heap parameter and its value of its
/// kind. Nothing is kept: the parameters steer autovacuum, page fill and planning, which the
/// model does not have.
pub(super) fn set_options(
    catalog: &Catalog,
    table: TableId,
    partition: bool,
    options: &[SqlOption],
    dialect: SqlDialect,
) -> R<()> {
    if dialect == SqlDialect::MySql {
        return Err(LowerError::Unsupported("ALTER TABLE ... SET (storage parameters) is PostgreSQL's".into()));
    }
    for o in options {
        let SqlOption::KeyValue { key, value } = o else {
            return Err(LowerError::Unsupported(format!("unsupported storage parameter `{o}`")));
        };
        let name = key.value.to_ascii_lowercase();
        let kind = HEAP.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
        let kind = match kind {
            Some(k) if partition || !catalog.is_partitioned(table) => k,
            _ => return Err(LowerError::Invalid(format!("unrecognized parameter \"{name}\""))),
        };
        let v = text(value).unwrap_or_default();
        let ok = match kind {
            Kind::Bool => matches!(v.as_str(), "true" | "false" | "on" | "off" | "yes" | "no" | "1" | "0"),
            Kind::AutoOrBool => {
                matches!(v.as_str(), "auto" | "true" | "false" | "on" | "off" | "yes" | "no" | "1" | "0")
            }
            Kind::Int => v.parse::<i64>().is_ok(),
            Kind::Real => v.parse::<f64>().is_ok(),
        };
        if !ok {
            let what = match kind {
                Kind::Bool => "boolean",
                Kind::AutoOrBool => "enum",
                Kind::Int => "integer",
                Kind::Real => "floating point",
            };
            return Err(LowerError::Invalid(format!("invalid value for {what} option \"{name}\": {value}")));
        }
    }
    Ok(())
}
