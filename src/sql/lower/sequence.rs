//! PostgreSQL's sequence statements: CREATE / ALTER / DROP SEQUENCE (read here word by word:
//! sqlparser has no ALTER SEQUENCE) and `SELECT nextval('name') [FROM generate_series(a, b)]`.
//! MariaDB has sequences too, with other statements and rules: its dialect refuses them.

use super::{LowerError, SqlDialect, R};
use crate::sql::catalog::Catalog;
use crate::sql::plan::Plan;
use crate::sql::sequence::{created, SeqOption, Sequence};
use sqlparser::ast::{self, SelectItem};

/// The most rows a `SELECT nextval(...) FROM generate_series(a, b)` may make.
const MAX_CALLS: i64 = 20_000;

/// A name as PostgreSQL reads it: folded to lower case unless double-quoted.
fn fold(word: &str) -> String {
    match word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => word.to_ascii_lowercase(),
    }
}

/// The words of a statement, upper-cased beside their text (a trailing `;` dropped).
fn words(text: &str) -> Vec<(String, String)> {
    text.trim().trim_end_matches(';').split_whitespace().map(|w| (w.to_ascii_uppercase(), w.to_string())).collect()
}

/// CREATE / ALTER / DROP SEQUENCE, or None when `text` is another statement. CREATE adds the
/// sequence to the catalog (DDL of the setup); DROP is accepted and not run, as DROP TABLE.
pub(crate) fn statement(text: &str, catalog: &mut Catalog, dialect: SqlDialect) -> Option<R<Plan>> {
    let w = words(text);
    let head = |i: usize| w.get(i).map(|(u, _)| u.as_str());
    let kind = match (head(0), head(1), head(2)) {
        (Some(k @ ("CREATE" | "ALTER" | "DROP")), Some("SEQUENCE"), _) => k,
        (Some("CREATE"), Some("TEMP" | "TEMPORARY" | "UNLOGGED"), Some("SEQUENCE")) => {
            return Some(Err(LowerError::NotModelled("temporary and unlogged sequences")))
        }
        _ => return None,
    };
    if dialect == SqlDialect::MySql {
        return Some(Err(LowerError::Unsupported(
            "sequences are not modelled on InnoDB (MariaDB's CREATE SEQUENCE and NEXTVAL have other statements and rules)"
                .into(),
        )));
    }
    Some(match kind {
        "CREATE" => create(&w[2..], catalog),
        "ALTER" => alter(&w[2..], catalog),
        _ => drop(&w[2..], catalog),
    })
}

fn create(w: &[(String, String)], catalog: &mut Catalog) -> R<Plan> {
    let (if_not_exists, w) = match w {
        [(a, _), (b, _), (c, _), rest @ ..] if a == "IF" && b == "NOT" && c == "EXISTS" => (true, rest),
        _ => (false, w),
    };
    let [(_, name), rest @ ..] = w else { return Err(LowerError::Invalid("CREATE SEQUENCE needs a name".into())) };
    let name = fold(name);
    let options = options(rest, false)?;
    if catalog.pg_name_taken(&name, true) {
        return if if_not_exists { Ok(Plan::Ddl) } else { Err(LowerError::Exists(format!("relation \"{name}\""))) };
    }
    let state = created(&options).map_err(LowerError::Invalid)?;
    catalog.sequences.push(Sequence { name, created: state });
    Ok(Plan::Ddl)
}

fn alter(w: &[(String, String)], catalog: &Catalog) -> R<Plan> {
    let w = match w {
        [(a, _), (b, _), rest @ ..] if a == "IF" && b == "EXISTS" => rest,
        _ => w,
    };
    let [(_, name), rest @ ..] = w else { return Err(LowerError::Invalid("ALTER SEQUENCE needs a name".into())) };
    let seq = sequence_of(catalog, name)?;
    Ok(Plan::AlterSequence { seq, options: options(rest, true)? })
}

fn drop(w: &[(String, String)], catalog: &Catalog) -> R<Plan> {
    let (if_exists, w) = match w {
        [(a, _), (b, _), rest @ ..] if a == "IF" && b == "EXISTS" => (true, rest),
        _ => (false, w),
    };
    let w = match w.split_last() {
        Some(((u, _), rest)) if u == "CASCADE" || u == "RESTRICT" => rest,
        _ => w,
    };
    let list = w.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" ");
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !if_exists {
            sequence_of(catalog, name)?;
        }
    }
    Ok(Plan::Ddl)
}

/// The sequence a (possibly quoted) name gives; none is 42P01, as `RangeVarGetRelid` reports it.
fn sequence_of(catalog: &Catalog, name: &str) -> R<usize> {
    let name = fold(name);
    catalog.sequence_id(&name).ok_or_else(|| LowerError::Invalid(format!("relation \"{name}\" does not exist")))
}

/// The options after the name (gram.y `SeqOptList`); RESTART only for ALTER. `AS type`, `OWNED
/// BY` and a CACHE above 1 (values a backend fetches ahead) are not modelled.
fn options(w: &[(String, String)], alter: bool) -> R<Vec<SeqOption>> {
    let mut out = Vec::new();
    let mut i = 0;
    let num = |i: usize| -> R<i64> {
        let (_, t) = w.get(i).ok_or_else(|| LowerError::Invalid("a sequence option needs a number".into()))?;
        t.parse().map_err(|_| LowerError::Invalid(format!("expected a number, not `{t}`")))
    };
    let word = |i: usize| w.get(i).map(|(u, _)| u.as_str());
    while i < w.len() {
        let opt = match word(i) {
            Some("INCREMENT") => {
                i += usize::from(word(i + 1) == Some("BY"));
                i += 1;
                SeqOption::Increment(num(i)?)
            }
            Some("MINVALUE") => {
                i += 1;
                SeqOption::Min(Some(num(i)?))
            }
            Some("MAXVALUE") => {
                i += 1;
                SeqOption::Max(Some(num(i)?))
            }
            Some("NO") => {
                i += 1;
                match word(i) {
                    Some("MINVALUE") => SeqOption::Min(None),
                    Some("MAXVALUE") => SeqOption::Max(None),
                    Some("CYCLE") => SeqOption::Cycle(false),
                    _ => return Err(LowerError::Invalid("expected NO MINVALUE, NO MAXVALUE or NO CYCLE".into())),
                }
            }
            Some("CYCLE") => SeqOption::Cycle(true),
            Some("START") => {
                i += usize::from(word(i + 1) == Some("WITH"));
                i += 1;
                SeqOption::Start(num(i)?)
            }
            Some("RESTART") if alter => {
                let with = word(i + 1) == Some("WITH");
                if with || w.get(i + 1).is_some_and(|(_, t)| t.parse::<i64>().is_ok()) {
                    i += usize::from(with) + 1;
                    SeqOption::Restart(Some(num(i)?))
                } else {
                    SeqOption::Restart(None)
                }
            }
            Some("CACHE") => {
                i += 1;
                match num(i)? {
                    n if n > 1 => {
                        return Err(LowerError::NotModelled("sequence caches above 1 (values fetched ahead)"))
                    }
                    n => SeqOption::Cache(n),
                }
            }
            Some("AS" | "OWNED") => return Err(LowerError::NotModelled("a sequence's AS type and OWNED BY")),
            _ => return Err(LowerError::Unsupported(format!("unsupported sequence option `{}`", w[i].1))),
        };
        out.push(opt);
        i += 1;
    }
    Ok(out)
}

/// `SELECT nextval('name') [AS x] [FROM generate_series(a, b)]`: one call per row of the FROM
/// (`nextval_oid`, sequence.c; the text argument is read as a relation name, `regclassin`).
/// None when the select list is not one nextval call.
pub(super) fn nextval_select(catalog: &Catalog, s: &ast::Select) -> Option<R<Plan>> {
    let (e, column) = match s.projection.as_slice() {
        [SelectItem::UnnamedExpr(e)] => (e, "nextval".to_string()),
        [SelectItem::ExprWithAlias { expr, alias }] => (expr, alias.value.clone()),
        _ => return None,
    };
    let ast::Expr::Function(f) = e else { return None };
    if !super::ident_name(&f.name).eq_ignore_ascii_case("nextval") {
        return None;
    }
    Some(nextval(catalog, s, f, column))
}

fn nextval(catalog: &Catalog, s: &ast::Select, f: &ast::Function, column: String) -> R<Plan> {
    let arg = match &f.args {
        ast::FunctionArguments::List(l) => match l.args.as_slice() {
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a))] => super::literal(a).ok(),
            _ => None,
        },
        _ => None,
    };
    let Some(crate::sql::Value::Str(name)) = arg else {
        return Err(LowerError::Unsupported("nextval takes the sequence's name as a string literal here".into()));
    };
    if s.selection.is_some() || s.distinct.is_some() || s.having.is_some() {
        return Err(LowerError::Unsupported(
            "SELECT nextval(...) with WHERE, DISTINCT or HAVING is not supported".into(),
        ));
    }
    let seq = sequence_of(catalog, &name)?;
    let calls = match super::insert::series_from(&s.from)? {
        None => 1,
        Some(((lo, hi), _)) if hi - lo >= MAX_CALLS => {
            return Err(LowerError::Unsupported(format!("generate_series({lo}, {hi}) makes too many rows")))
        }
        Some(((lo, hi), _)) => (hi - lo + 1).max(0) as usize,
    };
    Ok(Plan::NextVal { seq, calls, column })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::sequence::SeqData;

    fn pg(text: &str, cat: &mut Catalog) -> R<Plan> {
        statement(text, cat, SqlDialect::Postgres).expect("a sequence statement")
    }

    #[test]
    fn create_alter_drop_read_their_options() {
        let mut cat = Catalog::default();
        assert_eq!(
            pg("CREATE SEQUENCE Seq1 INCREMENT BY 2 MAXVALUE 10 START WITH 3 NO CYCLE;", &mut cat),
            Ok(Plan::Ddl)
        );
        let q = &cat.sequences[0];
        assert_eq!(q.name, "seq1");
        assert_eq!((q.created.params.increment, q.created.params.max, q.created.params.start), (2, 10, 3));
        assert_eq!(q.created.data, SeqData { last_value: 3, is_called: false });
        let alter = pg("ALTER SEQUENCE seq1 MAXVALUE 20 RESTART WITH 5", &mut cat).unwrap();
        assert_eq!(
            alter,
            Plan::AlterSequence { seq: 0, options: vec![SeqOption::Max(Some(20)), SeqOption::Restart(Some(5))] }
        );
        assert_eq!(
            pg("ALTER SEQUENCE seq1 RESTART", &mut cat).unwrap(),
            Plan::AlterSequence { seq: 0, options: vec![SeqOption::Restart(None)] }
        );
        assert_eq!(pg("DROP SEQUENCE seq1", &mut cat), Ok(Plan::Ddl));
        assert!(pg("DROP SEQUENCE nope", &mut cat).is_err());
        assert_eq!(pg("DROP SEQUENCE IF EXISTS nope", &mut cat), Ok(Plan::Ddl));
        assert!(pg("CREATE SEQUENCE seq1", &mut cat).is_err());
        assert!(pg("CREATE SEQUENCE s2 CACHE 20", &mut cat).is_err());
        assert!(pg("CREATE SEQUENCE s2 RESTART 20", &mut cat).is_err());
        assert!(statement("SELECT 1", &mut cat, SqlDialect::Postgres).is_none());
    }

    #[test]
    fn mariadb_refuses_sequences() {
        let mut cat = Catalog::default();
        let e = statement("CREATE SEQUENCE s", &mut cat, SqlDialect::MySql).unwrap().unwrap_err();
        assert!(e.to_string().contains("not modelled on InnoDB"), "{e}");
        assert!(cat.sequences.is_empty());
    }
}
