//! ON CONFLICT's inference elements that are expressions (`ON CONFLICT (lower(key))`), which
//! sqlparser does not read: each is replaced by a placeholder name before parsing and read back
//! from the statement's own text when the conflict target is bound.

use super::{LowerError, SqlDialect, R};
use crate::sql::catalog::{KeyFn, Table};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

/// The name an expression element is parsed as: `PLACEHOLDER` and its position in the list.
const PLACEHOLDER: &str = "fksim_inference_element_";

/// The elements of an inference list, each as a range of token indexes.
type Elements = Vec<(usize, usize)>;

/// The tokens of `text` and, if it has `ON CONFLICT (`, where the list's elements are.
fn find(text: &str) -> Option<(Vec<Token>, Elements)> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, text).tokenize().ok()?;
    let solid: Vec<usize> = (0..tokens.len()).filter(|&i| !matches!(tokens[i], Token::Whitespace(_))).collect();
    let is = |i: usize, k: Keyword| matches!(&tokens[i], Token::Word(w) if w.keyword == k);
    let at = solid
        .windows(3)
        .find(|w| is(w[0], Keyword::ON) && is(w[1], Keyword::CONFLICT) && tokens[w[2]] == Token::LParen)?;
    let mut depth = 0;
    let mut start = at[2] + 1;
    let mut elements = Vec::new();
    for (i, t) in tokens.iter().enumerate().skip(at[2] + 1) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => {
                elements.push((start, i));
                return Some((tokens, elements));
            }
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                elements.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    None
}

fn text_of(tokens: &[Token]) -> String {
    tokens.iter().map(Token::to_string).collect::<String>().trim().to_string()
}

/// `text` with each inference element that is not a plain name replaced by a placeholder (None
/// when there is none to replace).
pub(crate) fn with_placeholders(text: &str) -> Option<String> {
    let (tokens, elements) = find(text)?;
    let is_expr = |&(a, b): &(usize, usize)| tokens[a..b].contains(&Token::LParen);
    if !elements.iter().any(is_expr) {
        return None;
    }
    let mut out = String::new();
    let mut next = 0;
    for (n, &(a, b)) in elements.iter().enumerate() {
        if is_expr(&(a, b)) {
            out.push_str(&text_of(&tokens[next..a]));
            out.push_str(&format!(" {PLACEHOLDER}{n}"));
            next = b;
        }
    }
    out.push_str(&tokens[next..].iter().map(Token::to_string).collect::<String>());
    Some(out)
}

/// The element `name` stands for: a column, or (a placeholder) the expression at its place in
/// the statement's own `text`, `lower(col)` or `upper(col)`.
pub(super) fn element(t: &Table, name: &str, text: &str) -> R<(usize, Option<KeyFn>)> {
    let Some(n) = name.strip_prefix(PLACEHOLDER).and_then(|n| n.parse::<usize>().ok()) else {
        return Ok((super::column_of(t, name)?, None));
    };
    let (tokens, elements) =
        find(text).ok_or_else(|| LowerError::Invalid("cannot read the ON CONFLICT target".into()))?;
    let &(a, b) = elements.get(n).ok_or_else(|| LowerError::Invalid("cannot read the ON CONFLICT target".into()))?;
    let src = text_of(&tokens[a..b]);
    let expr = sqlparser::parser::Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&src)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| LowerError::Unsupported(format!("cannot parse the ON CONFLICT element `{src}` ({e})")))?;
    super::index::index_key(t, &expr, SqlDialect::Postgres)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_elements_become_placeholders() {
        let sql = "INSERT INTO t VALUES ('a') ON CONFLICT (lower(key), b) DO UPDATE SET b = 'x'";
        let out = with_placeholders(sql).unwrap();
        assert_eq!(out, "INSERT INTO t VALUES ('a') ON CONFLICT ( fksim_inference_element_0, b) DO UPDATE SET b = 'x'");
        assert_eq!(with_placeholders("INSERT INTO t VALUES (1) ON CONFLICT (a, b) DO NOTHING"), None);
        assert_eq!(with_placeholders("INSERT INTO t VALUES (1)"), None);
    }

    /// The arbiters `ON CONFLICT (target) DO NOTHING` infers on a table with a unique index on
    /// `lower(name)` INCLUDE (`note`) and one on `name`, or the error.
    fn arbiters(target: &str) -> Result<Vec<usize>, String> {
        use crate::sql::plan::{OnConflict, Plan};
        use crate::sql::{parse_statement, Catalog, RawStatement, SchemaOptions};
        let opts = SchemaOptions { fk_enforced: true, implicit_fk_index: false, dialect: SqlDialect::Postgres };
        let mut cat = Catalog::default();
        let raw = |text: &str| RawStatement { text: text.into(), pos: Default::default() };
        for ddl in [
            "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, note TEXT)",
            "CREATE UNIQUE INDEX ON t (lower(name)) INCLUDE (note)",
            "CREATE UNIQUE INDEX t_name ON t (name)",
        ] {
            parse_statement(&raw(ddl), &mut cat, opts).unwrap();
        }
        let ix = &cat.tables[0].indexes[1];
        assert_eq!(
            (ix.pg_name.as_str(), ix.exprs.as_slice(), ix.include.as_slice()),
            ("t_lower_note_idx", &[Some(KeyFn::Lower)][..], &[2][..])
        );
        let sql = format!("INSERT INTO t VALUES (1, 'a', 'b') ON CONFLICT ({target}) DO NOTHING");
        match parse_statement(&raw(&sql), &mut cat, opts).map_err(|e| e.what)?.plan {
            Plan::Insert { on_conflict: Some(OnConflict::Nothing { arbiters }), .. } => Ok(arbiters),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_expression_target_infers_the_index_on_that_expression_only() {
        assert_eq!(arbiters("lower(name)"), Ok(vec![1]));
        assert_eq!(arbiters("name"), Ok(vec![2]));
        // INCLUDE columns are not part of the key; upper(name) has no index.
        assert!(arbiters("lower(name), note").unwrap_err().contains("no unique or exclusion constraint"));
        assert!(arbiters("upper(name)").unwrap_err().contains("no unique or exclusion constraint"));
    }
}
