//! PostgreSQL's advisory lock functions (lockfuncs.c) as a SELECT without FROM or a WHERE
//! conjunct `f(key) IS NOT NULL`.

use super::{literal, LowerError, R};
use crate::sql::plan::{Advisory, AdvisoryOp};
use crate::sql::value::Value;
use sqlparser::ast;

/// The advisory lock call `e` is, if it is one.
pub(super) fn call(e: &ast::Expr) -> Option<R<Advisory>> {
    let ast::Expr::Function(f) = e else { return None };
    let name = f.name.to_string().to_ascii_lowercase();
    let (op, xact, shared) = match name.as_str() {
        "pg_advisory_lock" => (AdvisoryOp::Lock, false, false),
        "pg_advisory_lock_shared" => (AdvisoryOp::Lock, false, true),
        "pg_advisory_xact_lock" => (AdvisoryOp::Lock, true, false),
        "pg_advisory_xact_lock_shared" => (AdvisoryOp::Lock, true, true),
        "pg_try_advisory_lock" => (AdvisoryOp::TryLock, false, false),
        "pg_try_advisory_lock_shared" => (AdvisoryOp::TryLock, false, true),
        "pg_try_advisory_xact_lock" => (AdvisoryOp::TryLock, true, false),
        "pg_try_advisory_xact_lock_shared" => (AdvisoryOp::TryLock, true, true),
        "pg_advisory_unlock" => (AdvisoryOp::Unlock, false, false),
        "pg_advisory_unlock_shared" => (AdvisoryOp::Unlock, false, true),
        "pg_advisory_unlock_all" => (AdvisoryOp::UnlockAll, false, false),
        _ => return None,
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return Some(if op == AdvisoryOp::UnlockAll {
            Ok(Advisory { name, op, key: 0, xact, shared })
        } else {
            Err(LowerError::Unsupported(format!("`{e}` needs a key")))
        });
    };
    let int = |a: &ast::FunctionArg| match a {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => match literal(x)? {
            Value::Int(n) => Ok(n),
            _ => Err(LowerError::Unsupported(format!("an advisory lock key must be an integer literal: `{e}`"))),
        },
        _ => Err(LowerError::Unsupported(format!("unsupported argument in `{e}`"))),
    };
    let key = match (op, list.args.as_slice()) {
        (AdvisoryOp::UnlockAll, []) => Ok(0),
        (AdvisoryOp::UnlockAll, _) => Err(LowerError::Invalid(format!("`{e}` takes no arguments"))),
        (_, [k]) => int(k),
        (_, [a, b]) => int(a).and_then(|a| Ok((a << 32) | (int(b)? & 0xffff_ffff))),
        _ => Err(LowerError::Invalid(format!("`{e}` takes one bigint or two ints"))),
    };
    Some(key.map(|key| Advisory { name, op, key, xact, shared }))
}

/// `SELECT f(k), ...` without FROM, every item an advisory lock call.
pub(super) fn select_calls(items: &[ast::SelectItem]) -> Option<R<Vec<Advisory>>> {
    let calls: Vec<Option<R<Advisory>>> = items
        .iter()
        .map(|i| match i {
            ast::SelectItem::UnnamedExpr(e) => call(e),
            _ => None,
        })
        .collect();
    if calls.is_empty() || calls.iter().any(Option::is_none) {
        return None;
    }
    Some(calls.into_iter().map(|c| c.expect("checked")).collect())
}
