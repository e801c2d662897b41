//! `VACUUM` and `ANALYZE` (PostgreSQL 15's grammar, gram.y `VacuumStmt` / `AnalyzeStmt`), read
//! into a [`Maintenance`] plan with the options `ExecVacuum` (vacuum.c) accepts and checks.

use super::{LowerError, SqlDialect, R};
use crate::sql::catalog::Catalog;
use crate::sql::plan::{Maintenance, Plan, Relation};
use sqlparser::tokenizer::{Token, Tokenizer};

/// A word as PostgreSQL reads it: an unquoted identifier folded to lower case, a quoted one as
/// written.
fn word(t: &Token) -> Option<(String, bool)> {
    match t {
        Token::Word(w) if w.quote_style.is_some() => Some((w.value.clone(), true)),
        Token::Word(w) => Some((w.value.to_ascii_lowercase(), false)),
        _ => None,
    }
}

/// MariaDB's own statements that start with ANALYZE (`ANALYZE TABLE t`, `ANALYZE SELECT ...`):
/// not this one, so they go the usual way.
const MARIADB_ANALYZE: &[&str] = &["table", "local", "no_write_to_binlog", "select", "update", "delete", "insert"];

/// `VACUUM ...` or `ANALYZE ...`, bound to the catalog; None for any other statement.
pub(crate) fn maintenance(catalog: &Catalog, text: &str, dialect: SqlDialect) -> Option<R<Plan>> {
    use sqlparser::dialect::PostgreSqlDialect;
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, text).tokenize().ok()?;
    let tokens: Vec<Token> =
        tokens.into_iter().filter(|t| !matches!(t, Token::Whitespace(_) | Token::SemiColon)).collect();
    let (first, quoted) = word(tokens.first()?)?;
    let vacuum = match first.as_str() {
        _ if quoted => return None,
        "vacuum" => true,
        "analyze" | "analyse" => false,
        _ => return None,
    };
    if !vacuum && dialect == SqlDialect::MySql {
        let second = tokens.get(1).and_then(word).map(|(w, _)| w);
        if second.as_deref().is_some_and(|w| MARIADB_ANALYZE.contains(&w)) {
            return None;
        }
    }
    Some(Reader { tokens: &tokens[1..], at: 0 }.statement(catalog, vacuum))
}

struct Reader<'a> {
    tokens: &'a [Token],
    at: usize,
}

/// What the options say, before the checks of `ExecVacuum` and `vacuum`.
#[derive(Default)]
struct Options {
    skip_locked: bool,
    analyze: bool,
    full: bool,
    disable_page_skipping: bool,
    process_toast: Option<bool>,
    parallel: Option<i64>,
}

fn invalid(what: String) -> LowerError {
    LowerError::Invalid(what)
}

impl Reader<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_word(&self) -> Option<String> {
        self.peek().and_then(word).filter(|(_, q)| !q).map(|(w, _)| w)
    }

    fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek_word().as_deref() == Some(w) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn near(&self) -> String {
        match self.peek() {
            Some(t) => format!("syntax error at or near \"{t}\""),
            None => "syntax error at end of input".into(),
        }
    }

    fn statement(mut self, catalog: &Catalog, vacuum: bool) -> R<Plan> {
        let cmd = if vacuum { "VACUUM" } else { "ANALYZE" };
        let mut o = Options::default();
        if self.eat(&Token::LParen) {
            loop {
                let Some((name, _)) = self.peek().and_then(word) else { return Err(invalid(self.near())) };
                self.at += 1;
                let arg = match self.peek() {
                    Some(Token::Comma | Token::RParen) | None => None,
                    Some(t) => {
                        let t = t.clone();
                        self.at += 1;
                        Some(t)
                    }
                };
                self.option(&mut o, vacuum, cmd, &name, arg.as_ref())?;
                if self.eat(&Token::RParen) {
                    break;
                }
                if !self.eat(&Token::Comma) {
                    return Err(invalid(self.near()));
                }
            }
        } else if vacuum {
            // VACUUM opt_full opt_freeze opt_verbose opt_analyze, in that order.
            o.full = self.eat_word("full");
            self.eat_word("freeze");
            self.eat_word("verbose");
            o.analyze = self.eat_word("analyze") || self.eat_word("analyse");
        } else {
            self.eat_word("verbose");
        }
        let rels = self.relations(catalog)?;
        let analyze = o.analyze || !vacuum;
        // ExecVacuum's and vacuum()'s checks, in their order.
        if o.full && o.parallel.is_some_and(|n| n > 0) {
            return Err(invalid("VACUUM FULL cannot be performed in parallel".into()));
        }
        if !analyze && rels.iter().any(|(_, _, cols)| *cols) {
            return Err(invalid("ANALYZE option must be specified when a column list is provided".into()));
        }
        if o.full && o.disable_page_skipping {
            return Err(invalid("VACUUM option DISABLE_PAGE_SKIPPING cannot be used with FULL".into()));
        }
        if o.full && o.process_toast == Some(false) {
            return Err(invalid("PROCESS_TOAST required with VACUUM FULL".into()));
        }
        let rels = rels.into_iter().map(|(r, n, _)| (r, n)).collect();
        Ok(Plan::Maintenance(Maintenance { vacuum, analyze, full: o.full, skip_locked: o.skip_locked, rels }))
    }

    /// One parenthesized option (`ExecVacuum`'s loop over `vacstmt->options`).
    fn option(&self, o: &mut Options, vacuum: bool, cmd: &str, name: &str, arg: Option<&Token>) -> R<()> {
        let flag = || boolean(name, arg);
        match name {
            "verbose" => {
                flag()?;
            }
            "skip_locked" => o.skip_locked = flag()?,
            _ if !vacuum => return Err(invalid(format!("unrecognized {cmd} option \"{name}\""))),
            "analyze" => o.analyze = flag()?,
            "freeze" => {
                flag()?;
            }
            "full" => o.full = flag()?,
            "disable_page_skipping" => o.disable_page_skipping = flag()?,
            "index_cleanup" if arg.and_then(word).is_some_and(|(w, _)| w.eq_ignore_ascii_case("auto")) => {}
            "index_cleanup" | "truncate" => {
                flag()?;
            }
            "process_toast" => o.process_toast = Some(flag()?),
            "parallel" => {
                let n = match arg {
                    Some(Token::Number(n, _)) => n.parse::<i64>().ok(),
                    _ => None,
                };
                match n {
                    Some(n) if (0..=1024).contains(&n) => o.parallel = Some(n),
                    Some(_) => return Err(invalid("parallel workers for vacuum must be between 0 and 1024".into())),
                    None => return Err(invalid("parallel option requires a value between 0 and 1024".into())),
                }
            }
            _ => return Err(invalid(format!("unrecognized {cmd} option \"{name}\""))),
        }
        Ok(())
    }

    /// `opt_vacuum_relation_list`: `name [(col, ...)] [, ...]`, each name a relation (a partition
    /// by itself); the flag says a column list was given.
    fn relations(&mut self, catalog: &Catalog) -> R<Vec<(Relation, String, bool)>> {
        let mut out = Vec::new();
        if self.peek().is_none() {
            return Ok(out);
        }
        loop {
            let Some((mut name, _)) = self.peek().and_then(word) else { return Err(invalid(self.near())) };
            self.at += 1;
            // A qualified name: the relation is its last part.
            while self.eat(&Token::Period) {
                let Some((part, _)) = self.peek().and_then(word) else { return Err(invalid(self.near())) };
                self.at += 1;
                name = part;
            }
            let rel = catalog.relation(&name).ok_or_else(|| LowerError::NoSuchTable(name.clone()))?;
            let mut cols = false;
            if self.eat(&Token::LParen) {
                cols = true;
                let table = &catalog.tables[rel.table()];
                loop {
                    let Some((col, _)) = self.peek().and_then(word) else { return Err(invalid(self.near())) };
                    self.at += 1;
                    if table.col(&col).is_none() {
                        return Err(invalid(format!("column \"{col}\" of relation \"{name}\" does not exist")));
                    }
                    if self.eat(&Token::RParen) {
                        break;
                    }
                    if !self.eat(&Token::Comma) {
                        return Err(invalid(self.near()));
                    }
                }
            }
            out.push((rel, name, cols));
            if self.peek().is_none() {
                return Ok(out);
            }
            if !self.eat(&Token::Comma) {
                return Err(invalid(self.near()));
            }
        }
    }
}

/// `defGetBoolean` (define.c): no value is true; 0 / 1, true / false, on / off.
fn boolean(name: &str, arg: Option<&Token>) -> R<bool> {
    let text = match arg {
        None => return Ok(true),
        Some(Token::Number(n, _)) => n.clone(),
        Some(Token::SingleQuotedString(s)) => s.clone(),
        Some(t) => word(t).map(|(w, _)| w).unwrap_or_default(),
    };
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" => Ok(true),
        "0" | "false" | "off" => Ok(false),
        _ => Err(invalid(format!("{name} requires a Boolean value"))),
    }
}

#[cfg(test)]
#[path = "vacuum_tests.rs"]
mod tests;
