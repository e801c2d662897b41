//! Splitting a `{ ... }` block into statements with their positions, and peeling off the locking
//! clause (FOR UPDATE / FOR NO KEY UPDATE / FOR SHARE / FOR KEY SHARE / LOCK IN SHARE MODE).

use super::plan::{LockClause, LockWait, RowLock};
use super::SqlError;
use crate::spec::{Pos, SqlBlock};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// One statement's text and where it starts in the spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStatement {
    pub text: String,
    pub pos: Pos,
}

/// The position in the file of a 1-based (line, column) inside a block.
fn file_pos(block: &SqlBlock, line: u64, col: u64) -> Pos {
    let (line, col) = (line as usize, col as usize);
    if line <= 1 {
        Pos { line: block.pos.line, col: block.pos.col + col.saturating_sub(1) }
    } else {
        Pos { line: block.pos.line + line - 1, col }
    }
}

/// Byte offset of a 1-based (line, column-in-chars) location in `text`.
fn byte_offset(text: &str, line: u64, col: u64) -> usize {
    let mut cur_line = 1u64;
    let mut cur_col = 1u64;
    for (i, ch) in text.char_indices() {
        if cur_line == line && cur_col == col {
            return i;
        }
        if ch == '\n' {
            cur_line += 1;
            cur_col = 1;
        } else {
            cur_col += 1;
        }
    }
    text.len()
}

fn is_blank(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// Split a block into its statements (empty ones are dropped).
pub fn split_block(block: &SqlBlock) -> Result<Vec<RawStatement>, SqlError> {
    thread_local! {
        static SPLIT: super::memo::Memo<String, Result<Vec<RawStatement>, SqlError>> = Default::default();
    }
    // Memoized at line 1, column 1; then moved to where the block is.
    let at_origin = |r: &RawStatement| RawStatement {
        text: r.text.clone(),
        pos: file_pos(block, r.pos.line as u64, r.pos.col as u64),
    };
    let origin = SqlBlock { sql: block.sql.clone(), pos: Pos { line: 1, col: 1 } };
    match super::memo::memoized(&SPLIT, &block.sql, || split_uncached(&origin)) {
        Ok(v) => Ok(v.iter().map(at_origin).collect()),
        Err(e) => Err(SqlError { pos: file_pos(block, e.pos.line as u64, e.pos.col as u64), what: e.what }),
    }
}

fn split_uncached(block: &SqlBlock) -> Result<Vec<RawStatement>, SqlError> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, &block.sql).tokenize_with_location().map_err(|e| SqlError {
        pos: file_pos(block, e.location.line, e.location.column),
        what: format!("cannot read SQL: {}", e.message),
    })?;
    let mut out = Vec::new();
    for chunk in tokens.split(|t| t.token == Token::SemiColon) {
        let solid: Vec<&TokenWithSpan> = chunk.iter().filter(|t| !is_blank(&t.token)).collect();
        let (Some(first), Some(last)) = (solid.first(), solid.last()) else {
            continue;
        };
        let start = byte_offset(&block.sql, first.span.start.line, first.span.start.column);
        let end = byte_offset(&block.sql, last.span.end.line, last.span.end.column);
        out.push(RawStatement {
            text: block.sql[start..end.max(start)].to_string(),
            pos: file_pos(block, first.span.start.line, first.span.start.column),
        });
    }
    Ok(out)
}

/// `text` with every quoted identifier quoted with `quote` (`"` for PostgreSQL, `` ` `` for
/// MariaDB), so that a name quoted for one server reaches the other quoted its way. Strings in
/// single quotes and everything else are left as they are; text that does not tokenize is
/// returned unchanged (its parse reports the error).
pub fn requote(text: &str, quote: char) -> String {
    if !text.contains(['"', '`']) {
        return text.to_string();
    }
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, text).tokenize_with_location() else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for t in &tokens {
        let Token::Word(w) = &t.token else { continue };
        if !matches!(w.quote_style, Some('"' | '`')) || w.value.contains(quote) {
            continue;
        }
        let start = byte_offset(text, t.span.start.line, t.span.start.column);
        let end = byte_offset(text, t.span.end.line, t.span.end.column);
        out.push_str(&text[done..start]);
        out.push_str(&format!("{quote}{}{quote}", w.value));
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// If `text` ends with a locking clause (and NOWAIT or SKIP LOCKED), return the text before it
/// and the clause. PostgreSQL also takes `LIMIT n` after the locking clause (gram.y's
/// `select_limit` and `for_locking_clause` in either order): it is moved before it.
pub fn peel_lock_clause(text: &str) -> Result<(String, Option<LockClause>), String> {
    let trimmed = text.trim_end();
    let mut words = trimmed.rsplitn(3, char::is_whitespace);
    if let (Some(n), Some(kw), Some(rest)) = (words.next(), words.next(), words.next()) {
        if kw.eq_ignore_ascii_case("LIMIT") && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            if let (before, Some(clause)) = peel_trailing_lock(rest)? {
                return Ok((format!("{before} LIMIT {n}"), Some(clause)));
            }
        }
    }
    peel_trailing_lock(text)
}

fn peel_trailing_lock(text: &str) -> Result<(String, Option<LockClause>), String> {
    type Peeled = Result<(String, Option<LockClause>), String>;
    thread_local! {
        static PEELED: super::memo::Memo<String, Peeled> = Default::default();
    }
    super::memo::memoized(&PEELED, &text.to_string(), || peel_uncached(text))
}

fn peel_uncached(text: &str) -> Result<(String, Option<LockClause>), String> {
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize_with_location() else {
        return Ok((text.to_string(), None));
    };
    let words: Vec<(&TokenWithSpan, Keyword)> = tokens
        .iter()
        .filter(|t| !is_blank(&t.token))
        .map(|t| match &t.token {
            Token::Word(w) => (t, w.keyword),
            _ => (t, Keyword::NoKeyword),
        })
        .collect();
    let mut kws: Vec<Keyword> = words.iter().map(|(_, k)| *k).collect();
    // A locking clause ends a SELECT only: `LOCK TABLE t IN SHARE MODE NOWAIT` keeps its words
    // (PostgreSQL's "LOCK": NOWAIT belongs to the statement).
    if kws.first() == Some(&Keyword::LOCK) {
        return Ok((text.to_string(), None));
    }
    let wait = if kws.ends_with(&[Keyword::NOWAIT]) {
        kws.truncate(kws.len() - 1);
        LockWait::NoWait
    } else if kws.ends_with(&[Keyword::SKIP, Keyword::LOCKED]) {
        kws.truncate(kws.len() - 2);
        LockWait::SkipLocked
    } else {
        LockWait::Wait
    };
    use Keyword::*;
    let forms: [(&[Keyword], RowLock); 5] = [
        (&[FOR, NO, KEY, UPDATE], RowLock::NoKeyUpdate),
        (&[FOR, KEY, SHARE], RowLock::KeyShare),
        (&[FOR, UPDATE], RowLock::Update),
        (&[FOR, SHARE], RowLock::Share),
        (&[LOCK, IN, SHARE, MODE], RowLock::Share),
    ];
    for (form, lock) in forms {
        if kws.ends_with(form) {
            let first = words[kws.len() - form.len()].0;
            let cut = byte_offset(text, first.span.start.line, first.span.start.column);
            return Ok((text[..cut].trim_end().to_string(), Some(LockClause { lock, wait })));
        }
    }
    if wait != LockWait::Wait {
        return Err("NOWAIT and SKIP LOCKED belong after a locking clause (FOR UPDATE, FOR SHARE, ...)".into());
    }
    Ok((text.to_string(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_table_nowait_is_not_a_locking_clause() {
        let text = "LOCK TABLE t IN SHARE MODE NOWAIT";
        assert_eq!(peel_lock_clause(text).unwrap(), (text.to_string(), None));
        let (body, clause) = peel_lock_clause("SELECT * FROM t LOCK IN SHARE MODE NOWAIT").unwrap();
        assert_eq!((body.as_str(), clause.map(|c| c.wait)), ("SELECT * FROM t", Some(LockWait::NoWait)));
    }

    #[test]
    fn splits_with_positions() {
        let block = SqlBlock { sql: " BEGIN;\n  UPDATE t SET a = 1;\n".into(), pos: Pos { line: 10, col: 8 } };
        let stmts = split_block(&block).unwrap();
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0].text, "BEGIN");
        assert_eq!(stmts[0].pos, Pos { line: 10, col: 9 });
        assert_eq!(stmts[1].text, "UPDATE t SET a = 1");
        assert_eq!(stmts[1].pos, Pos { line: 11, col: 3 });
    }

    #[test]
    fn quoted_names_are_requoted_for_each_server() {
        let pg = r#"SELECT "key", `value` FROM "foo" WHERE name = 'it''s "x"'"#;
        assert_eq!(requote(pg, '`'), "SELECT `key`, `value` FROM `foo` WHERE name = 'it''s \"x\"'");
        assert_eq!(requote(pg, '"'), r#"SELECT "key", "value" FROM "foo" WHERE name = 'it''s "x"'"#);
        assert_eq!(requote("SELECT 1", '`'), "SELECT 1");
    }

    #[test]
    fn peels_every_locking_clause() {
        let cases = [
            ("SELECT * FROM t FOR UPDATE", Some(RowLock::Update)),
            ("SELECT * FROM t for no key update", Some(RowLock::NoKeyUpdate)),
            ("SELECT * FROM t FOR SHARE", Some(RowLock::Share)),
            ("SELECT * FROM t FOR KEY SHARE", Some(RowLock::KeyShare)),
            ("SELECT * FROM t LOCK IN SHARE MODE", Some(RowLock::Share)),
            ("SELECT * FROM t", None),
        ];
        for (sql, want) in cases {
            let (rest, clause) = peel_lock_clause(sql).unwrap();
            assert_eq!(clause.map(|c| c.lock), want, "{sql}");
            assert_eq!(rest, "SELECT * FROM t", "{sql}");
        }
        let waits = [
            ("SELECT * FROM t FOR UPDATE NOWAIT", RowLock::Update, LockWait::NoWait),
            ("SELECT * FROM t FOR KEY SHARE skip locked", RowLock::KeyShare, LockWait::SkipLocked),
            ("SELECT * FROM t LOCK IN SHARE MODE SKIP LOCKED", RowLock::Share, LockWait::SkipLocked),
        ];
        for (sql, lock, wait) in waits {
            let (rest, clause) = peel_lock_clause(sql).unwrap();
            assert_eq!(clause, Some(LockClause { lock, wait }), "{sql}");
            assert_eq!(rest, "SELECT * FROM t", "{sql}");
        }
        assert!(peel_lock_clause("SELECT * FROM t NOWAIT").is_err());
    }

    #[test]
    fn a_limit_after_the_locking_clause_moves_before_it() {
        let (rest, clause) = peel_lock_clause("SELECT * FROM t ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1").unwrap();
        assert_eq!(rest, "SELECT * FROM t ORDER BY id LIMIT 1");
        assert_eq!(clause, Some(LockClause { lock: RowLock::Update, wait: LockWait::SkipLocked }));
        let (rest, clause) = peel_lock_clause("SELECT * FROM t LIMIT 2").unwrap();
        assert_eq!((rest.as_str(), clause), ("SELECT * FROM t LIMIT 2", None));
        let (rest, clause) = peel_lock_clause("SELECT * FROM t LIMIT 2 FOR SHARE").unwrap();
        assert_eq!(rest, "SELECT * FROM t LIMIT 2");
        assert_eq!(clause.map(|c| c.lock), Some(RowLock::Share));
    }
}
