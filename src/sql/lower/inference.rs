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

/// The tokens of `text` and, if it has `ON CONFLICT (`, where the list's elements are: each as
/// a range of token indexes.
fn find(text: &str) -> Option<(Vec<Token>, Vec<(usize, usize)>)> {
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
    let is_expr = |&(a, b): &(usize, usize)| tokens[a..b].iter().any(|t| *t == Token::LParen);
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
    super::index_key(t, &expr, SqlDialect::Postgres)
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
}
