//! `PREPARE name AS statement` and `EXECUTE name` (PostgreSQL, without parameters): lowered to a named plan of the session.

use super::{lower, savepoint_name, LowerError, R};
use crate::sql::catalog::Catalog;
use crate::sql::plan::{LockClause, Plan, Statement};
use crate::sql::SchemaOptions;
use sqlparser::ast::{self, DataType, ObjectName, Statement as Ast};

/// The text of `PREPARE name AS statement` after its first `AS` word: the prepared statement's.
pub(crate) fn prepared_text(text: &str) -> &str {
    let upper = text.to_ascii_uppercase();
    let at = upper.match_indices("AS").find(|&(i, _)| {
        let before = upper[..i].chars().last().is_some_and(char::is_whitespace);
        let after = upper[i + 2..].chars().next().is_some_and(char::is_whitespace);
        before && after
    });
    at.map_or(text, |(i, _)| text[i + 2..].trim())
}

/// `PREPARE name AS statement` (PostgreSQL): the statement is bound now, as `PrepareQuery`
/// (prepare.c) analyses it when it is prepared; only SELECT, INSERT, UPDATE and DELETE can be
/// prepared ("utility statements cannot be prepared"). Parameters (`$1`) are not supported. The
/// name folds as any unquoted identifier does.
pub(super) fn prepare(
    catalog: &mut Catalog,
    name: &ast::Ident,
    data_types: &[DataType],
    statement: &Ast,
    lock: Option<LockClause>,
    text: &str,
    opts: SchemaOptions,
) -> R<Plan> {
    if !data_types.is_empty() {
        return Err(LowerError::Unsupported("PREPARE with parameters is not supported".into()));
    }
    if !matches!(statement, Ast::Query(_) | Ast::Insert(_) | Ast::Update(_) | Ast::Delete(_)) {
        return Err(LowerError::Invalid("utility statements cannot be prepared".into()));
    }
    let inner = prepared_text(text);
    let plan = lower(catalog, statement, lock, inner, opts)?;
    let stmt = Statement { plan, text: inner.to_string(), pos: Default::default(), drop: None };
    Ok(Plan::Prepare { name: savepoint_name(name), stmt: Box::new(stmt) })
}

/// `EXECUTE name`: the prepared statement is looked up when it runs (`ExecuteQuery`, prepare.c).
pub(super) fn execute(name: &ObjectName) -> Plan {
    let id = name.0.last().and_then(|p| p.as_ident()).cloned().unwrap_or_else(|| ast::Ident::new(""));
    Plan::Execute(savepoint_name(&id))
}
