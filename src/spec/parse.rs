//! A hand-written lexer and recursive-descent parser for isolationtester spec files.

use super::{Marker, PermStep, Permutation, Pos, Session, Spec, SpecError, SqlBlock, Step};
use std::collections::HashMap;
use std::path::Path;

/// Reads and parses a spec file; the file name in errors is `path` as displayed.
pub fn parse_spec_file(path: &Path) -> Result<Spec, SpecError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_spec(&file, &text),
        Err(err) => Err(SpecError::Io { file, why: err.to_string() }),
    }
}

/// Parses the text of a spec file; `file` is only used in error messages.
///
/// `step(a notices N)` markers are rejected ("notices markers are not supported"):
/// the model has no notices, and treating them as `step(a)` would change their meaning.
pub fn parse_spec(file: &str, text: &str) -> Result<Spec, SpecError> {
    let mut lexer = Lexer::new(file, text);
    let tok = lexer.next_token()?;
    Parser {
        lexer,
        tok,
        spec: Spec {
            file: file.to_string(),
            setup: Vec::new(),
            teardown: Vec::new(),
            sessions: Vec::new(),
            permutations: Vec::new(),
        },
        step_index: HashMap::new(),
    }
    .parse_file()
}

/// Words that are keywords when written bare (a quoted word is always a name).
const KEYWORDS: [&str; 5] = ["permutation", "session", "setup", "step", "teardown"];

#[derive(Debug, Clone, PartialEq)]
enum TokKind {
    /// A bare identifier or keyword.
    Word(String),
    /// A double-quoted name, with `""` already unescaped.
    Quoted(String),
    /// A `{ ... }` block: the text between the braces, verbatim.
    Block(String),
    LParen,
    RParen,
    Comma,
    Star,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokKind,
    /// Position of the token's first character.
    pos: Pos,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn syntax_error(file: &str, pos: Pos, what: impl Into<String>) -> SpecError {
    SpecError::Syntax { file: file.to_string(), pos, what: what.into() }
}

/// Splits the text into tokens on demand, tracking line and column.
struct Lexer<'a> {
    file: &'a str,
    chars: Vec<char>,
    at: usize,
    line: usize,
    col: usize,
}

impl<'a> Lexer<'a> {
    fn new(file: &'a str, text: &str) -> Self {
        Lexer { file, chars: text.chars().collect(), at: 0, line: 1, col: 1 }
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, col: self.col }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    /// Skips whitespace and `#` comments.
    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.bump();
            } else if c == '#' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, SpecError> {
        self.skip_blanks();
        let pos = self.pos();
        let Some(c) = self.bump() else {
            return Ok(Token { kind: TokKind::Eof, pos });
        };
        let kind = match c {
            '{' => self.block(pos)?,
            '"' => self.quoted(pos)?,
            '(' => TokKind::LParen,
            ')' => TokKind::RParen,
            ',' => TokKind::Comma,
            '*' => TokKind::Star,
            '}' => return Err(syntax_error(self.file, pos, "unexpected `}` (no block is open)")),
            c if is_name_char(c) => {
                let mut word = String::from(c);
                while let Some(c) = self.peek().filter(|&c| is_name_char(c)) {
                    word.push(c);
                    self.bump();
                }
                TokKind::Word(word)
            }
            other => {
                return Err(syntax_error(self.file, pos, format!("unexpected character `{}`", other.escape_debug())))
            }
        };
        Ok(Token { kind, pos })
    }

    /// The rest of a `{ ... }` block whose `{` (at `open`) was just consumed.
    fn block(&mut self, open: Pos) -> Result<TokKind, SpecError> {
        let mut sql = String::new();
        loop {
            let here = self.pos();
            match self.bump() {
                Some('}') => return Ok(TokKind::Block(sql)),
                // SQL blocks never contain `{`: a second one means this block was not closed.
                Some('{') => {
                    return Err(syntax_error(
                        self.file,
                        open,
                        format!(
                            "unterminated block: `{{` opened at line {} is not closed before the `{{` at line {}",
                            open.line, here.line
                        ),
                    ))
                }
                Some(c) => sql.push(c),
                None => {
                    return Err(syntax_error(
                        self.file,
                        open,
                        format!("unterminated block: `{{` opened at line {} has no closing `}}`", open.line),
                    ))
                }
            }
        }
    }

    /// The rest of a `"..."` name whose opening quote (at `open`) was just consumed.
    fn quoted(&mut self, open: Pos) -> Result<TokKind, SpecError> {
        let mut name = String::new();
        loop {
            match self.peek() {
                Some('"') => {
                    self.bump();
                    if self.peek() == Some('"') {
                        self.bump();
                        name.push('"');
                    } else if name.is_empty() {
                        return Err(syntax_error(self.file, open, "empty quoted name"));
                    } else {
                        return Ok(TokKind::Quoted(name));
                    }
                }
                Some(c) if c != '\n' => {
                    self.bump();
                    name.push(c);
                }
                _ => {
                    return Err(syntax_error(
                        self.file,
                        open,
                        "unterminated quoted name: `\"` has no closing `\"` on the same line",
                    ))
                }
            }
        }
    }
}

/// How a token is shown in "found ..." messages.
fn describe(kind: &TokKind) -> String {
    match kind {
        TokKind::Word(w) => format!("`{w}`"),
        TokKind::Quoted(q) => format!("`\"{}\"`", q.replace('"', "\"\"")),
        TokKind::Block(_) => "a `{ }` block".to_string(),
        TokKind::LParen => "`(`".to_string(),
        TokKind::RParen => "`)`".to_string(),
        TokKind::Comma => "`,`".to_string(),
        TokKind::Star => "`*`".to_string(),
        TokKind::Eof => "end of file".to_string(),
    }
}

/// Where a step was defined: its session index and the position of its name.
#[derive(Debug, Clone, Copy)]
struct StepDef {
    session: usize,
    pos: Pos,
}

/// A permutation step as parsed, with the positions of its `After` markers' names.
struct ParsedPermStep {
    step: PermStep,
    marker_pos: Vec<Pos>,
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The current (not yet consumed) token.
    tok: Token,
    spec: Spec,
    /// Every step name defined so far (step names are global across sessions).
    step_index: HashMap<String, StepDef>,
}

impl Parser<'_> {
    /// Consumes the current token and returns it.
    fn advance(&mut self) -> Result<Token, SpecError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn error(&self, pos: Pos, what: impl Into<String>) -> SpecError {
        syntax_error(self.lexer.file, pos, what)
    }

    fn found(&self) -> String {
        describe(&self.tok.kind)
    }

    /// The current token's keyword, if it is a bare keyword.
    fn keyword(&self) -> Option<&'static str> {
        match &self.tok.kind {
            TokKind::Word(w) => KEYWORDS.iter().copied().find(|k| k == w),
            _ => None,
        }
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        self.keyword() == Some(keyword)
    }

    /// Whether the current token can be a name (bare non-keyword word or quoted).
    fn at_name(&self) -> bool {
        match &self.tok.kind {
            TokKind::Word(_) => self.keyword().is_none(),
            TokKind::Quoted(_) => true,
            _ => false,
        }
    }

    /// Consumes a name; `what` describes it ("a session name") for the error.
    fn expect_name(&mut self, what: &str) -> Result<(String, Pos), SpecError> {
        if !self.at_name() {
            return Err(self.error(self.tok.pos, format!("expected {what}, found {}", self.found())));
        }
        let tok = self.advance()?;
        match tok.kind {
            TokKind::Word(name) | TokKind::Quoted(name) => Ok((name, tok.pos)),
            _ => Err(self.error(tok.pos, format!("expected {what}"))),
        }
    }

    /// Consumes a `{ }` block; `after` says what it belongs to ("`setup`").
    fn expect_block(&mut self, after: &str) -> Result<SqlBlock, SpecError> {
        if !matches!(self.tok.kind, TokKind::Block(_)) {
            return Err(
                self.error(self.tok.pos, format!("expected a `{{ }}` SQL block after {after}, found {}", self.found()))
            );
        }
        let tok = self.advance()?;
        let pos = Pos { line: tok.pos.line, col: tok.pos.col + 1 };
        match tok.kind {
            TokKind::Block(sql) => Ok(SqlBlock { sql, pos }),
            _ => Err(self.error(tok.pos, "expected a `{ }` SQL block")),
        }
    }

    /// Consumes a keyword followed by a `{ }` block.
    fn keyword_block(&mut self, keyword: &str) -> Result<SqlBlock, SpecError> {
        self.advance()?;
        self.expect_block(&format!("`{keyword}`"))
    }

    /// Parses the whole file: global `setup`/`teardown` blocks, sessions, permutations.
    fn parse_file(mut self) -> Result<Spec, SpecError> {
        loop {
            let pos = self.tok.pos;
            match self.keyword() {
                Some("setup") => {
                    if !self.spec.teardown.is_empty() || !self.spec.sessions.is_empty() {
                        return Err(self.error(
                            pos,
                            "misplaced `setup`: global `setup` blocks must come before `teardown` \
                             and `session` blocks (a session's `setup` comes before its steps)",
                        ));
                    }
                    let block = self.keyword_block("setup")?;
                    self.spec.setup.push(block);
                }
                Some("teardown") => {
                    if !self.spec.sessions.is_empty() {
                        return Err(self.error(
                            pos,
                            "misplaced `teardown`: global `teardown` blocks must come before \
                             `session` blocks (a session has at most one `teardown`, after its steps)",
                        ));
                    }
                    let block = self.keyword_block("teardown")?;
                    self.spec.teardown.push(block);
                }
                Some("session") => {
                    if !self.spec.permutations.is_empty() {
                        return Err(
                            self.error(pos, "misplaced `session`: `session` blocks must come before permutations")
                        );
                    }
                    self.parse_session()?;
                }
                Some("permutation") => {
                    if self.spec.sessions.is_empty() {
                        return Err(self.error(pos, "no session blocks before `permutation`"));
                    }
                    self.parse_permutation()?;
                }
                _ if self.tok.kind == TokKind::Eof => break,
                _ => {
                    return Err(self.error(
                        pos,
                        format!("expected `session`, `setup`, `teardown` or `permutation`, found {}", self.found()),
                    ))
                }
            }
        }
        if self.spec.sessions.is_empty() {
            return Err(self.error(self.tok.pos, "no session blocks"));
        }
        Ok(self.spec)
    }

    /// `session NAME [setup {..}] step NAME {..} ... [teardown {..}]`
    fn parse_session(&mut self) -> Result<(), SpecError> {
        self.advance()?;
        let (name, pos) = self.expect_name("a session name")?;
        if let Some(first) = self.spec.sessions.iter().find(|s| s.name == name) {
            return Err(
                self.error(pos, format!("duplicate session name `{name}` (first defined at line {})", first.pos.line))
            );
        }
        let session_index = self.spec.sessions.len();
        let setup = if self.at_keyword("setup") { Some(self.keyword_block("setup")?) } else { None };
        let mut steps = Vec::new();
        while self.at_keyword("step") {
            self.advance()?;
            let (step_name, step_pos) = self.expect_name("a step name")?;
            if let Some(first) = self.step_index.get(&step_name) {
                return Err(self.error(
                    step_pos,
                    format!("duplicate step name `{step_name}` (first defined at line {})", first.pos.line),
                ));
            }
            let sql = self.expect_block(&format!("step `{step_name}`"))?;
            self.step_index.insert(step_name.clone(), StepDef { session: session_index, pos: step_pos });
            steps.push(Step { name: step_name, sql, pos: step_pos });
        }
        if steps.is_empty() {
            let ends_session =
                matches!(self.keyword(), Some("teardown" | "session" | "permutation")) || self.tok.kind == TokKind::Eof;
            if ends_session {
                return Err(self.error(pos, format!("session `{name}` has no steps")));
            }
            let expected = if setup.is_none() { "`setup` or `step`" } else { "`step`" };
            return Err(
                self.error(self.tok.pos, format!("expected {expected} in session `{name}`, found {}", self.found()))
            );
        }
        let teardown = if self.at_keyword("teardown") { Some(self.keyword_block("teardown")?) } else { None };
        self.spec.sessions.push(Session { name, setup, steps, teardown, pos });
        Ok(())
    }

    /// `permutation STEP[(MARKER, ...)] ...`, then checks it against the sessions.
    fn parse_permutation(&mut self) -> Result<(), SpecError> {
        let pos = self.advance()?.pos;
        let mut steps = Vec::new();
        while self.at_name() {
            steps.push(self.parse_perm_step()?);
        }
        if steps.is_empty() {
            return Err(self.error(
                pos,
                format!("empty permutation: expected a step name after `permutation`, found {}", self.found()),
            ));
        }
        self.check_permutation(&steps)?;
        self.spec.permutations.push(Permutation { steps: steps.into_iter().map(|s| s.step).collect(), pos });
        Ok(())
    }

    /// `NAME` or `NAME(MARKER, ...)`, where a marker is `*` or a step name.
    fn parse_perm_step(&mut self) -> Result<ParsedPermStep, SpecError> {
        let (name, pos) = self.expect_name("a step name")?;
        let mut markers = Vec::new();
        let mut marker_pos = Vec::new();
        if self.tok.kind != TokKind::LParen {
            return Ok(ParsedPermStep { step: PermStep { name: name.into(), markers, pos }, marker_pos });
        }
        let open = self.advance()?.pos;
        let unclosed =
            |p: &Self| p.error(open, format!("unclosed `(` after `{name}`: expected `,` or `)`, found {}", p.found()));
        loop {
            if self.tok.kind == TokKind::Star {
                marker_pos.push(self.advance()?.pos);
                markers.push(Marker::Star);
            } else if self.at_name() {
                let (other, other_pos) = self.expect_name("a step name")?;
                if matches!(&self.tok.kind, TokKind::Word(w) if w == "notices") {
                    return Err(self.error(self.tok.pos, "notices markers are not supported"));
                }
                marker_pos.push(other_pos);
                markers.push(Marker::After(other));
            } else if self.tok.kind == TokKind::Eof || self.keyword().is_some() {
                return Err(unclosed(self));
            } else {
                return Err(self.error(
                    self.tok.pos,
                    format!("expected a step name or `*` in the markers of `{name}`, found {}", self.found()),
                ));
            }
            match self.tok.kind {
                TokKind::Comma => {
                    self.advance()?;
                }
                TokKind::RParen => {
                    self.advance()?;
                    break;
                }
                _ => return Err(unclosed(self)),
            }
        }
        Ok(ParsedPermStep { step: PermStep { name: name.into(), markers, pos }, marker_pos })
    }

    /// Checks that every step and marker of a permutation names a suitable step.
    fn check_permutation(&self, steps: &[ParsedPermStep]) -> Result<(), SpecError> {
        for parsed in steps {
            let step = &parsed.step;
            let Some(def) = self.step_index.get(&*step.name) else {
                return Err(self.error(step.pos, format!("unknown step `{}` in permutation", step.name)));
            };
            for (marker, &pos) in step.markers.iter().zip(&parsed.marker_pos) {
                let Marker::After(other) = marker else {
                    continue;
                };
                let Some(other_def) = self.step_index.get(other) else {
                    return Err(self.error(pos, format!("unknown step `{other}` in marker on `{}`", step.name)));
                };
                if other_def.session == def.session {
                    return Err(self.error(
                        pos,
                        format!("marker `({other})` on `{}` names a step of the same session", step.name),
                    ));
                }
                if !steps.iter().any(|s| *s.step.name == **other) {
                    return Err(self.error(
                        pos,
                        format!("marker `({other})` on `{}` names a step that is not in this permutation", step.name),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = r#"setup
{
  CREATE TABLE parent (id INT PRIMARY KEY, note VARCHAR(20));
  INSERT INTO parent VALUES (1, 'a');
}
teardown
{
  DROP TABLE parent;
}
# a comment
session s1
setup { BEGIN; }
step s1i { INSERT INTO child VALUES (1, 1); }
step s1c { COMMIT; }
session "s 2"
step s2u { UPDATE parent SET note = 'b' WHERE id = 1; }
permutation s1i s1c s2u
permutation s1i s2u(s1c) s1c
permutation s2u(*) s1i s1c
"#;

    fn pos(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    fn parse(text: &str) -> Spec {
        match parse_spec("t.spec", text) {
            Ok(spec) => spec,
            Err(err) => panic!("unexpected error: {err}"),
        }
    }

    /// Parses text that must fail, returning (line, col, message).
    fn fail(text: &str) -> (usize, usize, String) {
        match parse_spec("t.spec", text) {
            Ok(spec) => panic!("expected an error, got {spec:?}"),
            Err(SpecError::Syntax { file, pos, what }) => {
                assert_eq!(file, "t.spec");
                (pos.line, pos.col, what)
            }
            Err(other) => panic!("expected a syntax error, got {other}"),
        }
    }

    fn names(perm: &Permutation) -> Vec<&str> {
        perm.steps.iter().map(|s| &*s.name).collect()
    }

    #[test]
    fn parses_the_example() {
        let spec = parse(EXAMPLE);
        assert_eq!(spec.file, "t.spec");
        assert_eq!(spec.setup.len(), 1);
        assert!(spec.setup[0].sql.contains("CREATE TABLE parent"));
        assert!(spec.setup[0].sql.starts_with('\n'));
        assert_eq!(spec.setup[0].pos, pos(2, 2));
        assert_eq!(spec.teardown.len(), 1);
        assert_eq!(spec.teardown[0].sql.trim(), "DROP TABLE parent;");

        assert_eq!(spec.sessions.len(), 2);
        let s1 = &spec.sessions[0];
        assert_eq!(s1.name, "s1");
        assert_eq!(s1.pos, pos(11, 9));
        let setup = s1.setup.as_ref().map(|b| (b.sql.as_str(), b.pos));
        assert_eq!(setup, Some((" BEGIN; ", pos(12, 8))));
        assert_eq!(s1.steps.len(), 2);
        assert_eq!(s1.steps[0].name, "s1i");
        assert_eq!(s1.steps[0].pos, pos(13, 6));
        assert_eq!(s1.steps[0].sql.sql, " INSERT INTO child VALUES (1, 1); ");
        assert_eq!(s1.steps[0].sql.pos, pos(13, 11));
        assert_eq!(s1.steps[1].name, "s1c");
        assert!(s1.teardown.is_none());

        let s2 = &spec.sessions[1];
        assert_eq!(s2.name, "s 2");
        assert_eq!(s2.pos, pos(15, 9));
        assert!(s2.setup.is_none());
        assert_eq!(s2.steps.len(), 1);

        assert_eq!(spec.permutations.len(), 3);
        let p = &spec.permutations;
        assert_eq!(p[0].pos, pos(17, 1));
        assert_eq!(names(&p[0]), ["s1i", "s1c", "s2u"]);
        assert!(p[0].steps.iter().all(|s| s.markers.is_empty()));
        assert_eq!(names(&p[1]), ["s1i", "s2u", "s1c"]);
        assert_eq!(p[1].steps[1].markers, [Marker::After("s1c".into())]);
        assert_eq!(p[1].steps[1].pos, pos(18, 17));
        assert_eq!(names(&p[2]), ["s2u", "s1i", "s1c"]);
        assert_eq!(p[2].steps[0].markers, [Marker::Star]);
        assert_eq!(spec.find_step("s2u"), Some((1, 0)));
    }

    #[test]
    fn quoted_names_with_spaces_and_escaped_quotes() {
        let spec = parse(
            "session \"my session\"\nstep \"step one\" { SELECT 1; }\n\
             session \"say \"\"hi\"\"\"\nstep \"two\" {}\n\
             permutation \"step one\" two(\"step one\")",
        );
        assert_eq!(spec.sessions[0].name, "my session");
        assert_eq!(spec.sessions[0].steps[0].name, "step one");
        assert_eq!(spec.sessions[1].name, "say \"hi\"");
        assert_eq!(spec.sessions[1].steps[0].name, "two");
        assert_eq!(spec.sessions[1].steps[0].sql.sql, "");
        let perm = &spec.permutations[0];
        assert_eq!(names(perm), ["step one", "two"]);
        assert_eq!(perm.steps[1].markers, [Marker::After("step one".into())]);
    }

    #[test]
    fn quoted_keywords_are_names() {
        let spec = parse("session \"session\" step \"step\" { x } permutation \"step\"");
        assert_eq!(spec.sessions[0].name, "session");
        assert_eq!(names(&spec.permutations[0]), ["step"]);
    }

    #[test]
    fn comments_are_skipped_outside_blocks_and_kept_inside() {
        let spec = parse(
            "# leading comment\nsession s1 # trailing\n# whole line\n\
             step a { SELECT 1; # not a comment\n}#c\npermutation a # end\n# last",
        );
        assert_eq!(spec.sessions[0].steps[0].sql.sql, " SELECT 1; # not a comment\n");
        assert_eq!(names(&spec.permutations[0]), ["a"]);
    }

    #[test]
    fn multiple_setup_and_teardown_blocks() {
        let spec = parse(
            "setup { A } setup { B }\nsetup{C}\nteardown { X }\nteardown { Y }\n\
             session s setup { S } step a { 1 } teardown { T }",
        );
        let setups: Vec<&str> = spec.setup.iter().map(|b| b.sql.as_str()).collect();
        assert_eq!(setups, [" A ", " B ", "C"]);
        assert_eq!(spec.setup[2].pos, pos(2, 7));
        let teardowns: Vec<&str> = spec.teardown.iter().map(|b| b.sql.as_str()).collect();
        assert_eq!(teardowns, [" X ", " Y "]);
        let s = &spec.sessions[0];
        assert_eq!(s.setup.as_ref().map(|b| b.sql.as_str()), Some(" S "));
        assert_eq!(s.teardown.as_ref().map(|b| b.sql.as_str()), Some(" T "));
        assert!(spec.permutations.is_empty());
    }

    #[test]
    fn markers_lists_and_whitespace() {
        let spec = parse(
            "session a step a1 {} step a2 {}\nsession b step b1 {}\nsession c step c1 {}\n\
             permutation a1 b1 ( a2 , c1 ) a2\nc1(*, a2) permutation a1",
        );
        let perm = &spec.permutations[0];
        assert_eq!(names(perm), ["a1", "b1", "a2", "c1"]);
        assert_eq!(perm.steps[1].markers, [Marker::After("a2".into()), Marker::After("c1".into())]);
        assert_eq!(perm.steps[3].markers, [Marker::Star, Marker::After("a2".into())]);
        assert_eq!(perm.steps[3].pos, pos(5, 1));
        assert_eq!(names(&spec.permutations[1]), ["a1"]);
    }

    #[test]
    fn columns_count_chars_not_bytes() {
        let spec = parse("setup {é}\nsession \"ééé\" step s { x }");
        assert_eq!(spec.sessions[0].pos, pos(2, 9));
        assert_eq!(spec.sessions[0].steps[0].pos, pos(2, 20));
        assert_eq!(spec.sessions[0].steps[0].sql.pos, pos(2, 23));
        let (l, c, what) = fail("session é");
        assert_eq!((l, c, what.as_str()), (1, 9, "unexpected character `é`"));
    }

    #[test]
    fn io_error_names_the_file() {
        let path = Path::new("/nonexistent/dir/x.spec");
        match parse_spec_file(path) {
            Err(SpecError::Io { file, why }) => {
                assert_eq!(file, "/nonexistent/dir/x.spec");
                assert_eq!(why, "No such file or directory (os error 2)");
            }
            other => panic!("expected an IO error, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_file() {
        let path = std::env::temp_dir().join(format!("fksim-spec-{}.spec", std::process::id()));
        std::fs::write(&path, EXAMPLE).expect("write temp file");
        let result = parse_spec_file(&path);
        let _ = std::fs::remove_file(&path);
        let spec = result.expect("example parses");
        assert_eq!(spec.file, path.display().to_string());
        assert_eq!(spec.sessions.len(), 2);
    }

    #[test]
    fn error_display_includes_file_and_position() {
        let err = parse_spec("x.spec", "session s1\nstep a {").expect_err("unterminated");
        assert_eq!(err.to_string(), "x.spec:2:8: unterminated block: `{` opened at line 2 has no closing `}`");
    }

    #[test]
    fn error_block_running_into_the_next() {
        let (l, c, what) = fail("session s\n  step a { SELECT 1;\n  step b { SELECT 2; }\n");
        assert_eq!((l, c), (2, 10));
        assert!(what.contains("not closed before the `{` at line 3"), "{what}");
    }

    #[test]
    fn error_unterminated_block() {
        let (l, c, what) = fail("setup { ok }\nsession s\n  step a { SELECT 1;\n");
        assert_eq!((l, c), (3, 10));
        assert_eq!(what, "unterminated block: `{` opened at line 3 has no closing `}`");
    }

    #[test]
    fn error_unterminated_quoted_name() {
        let (l, c, what) = fail("session s\nstep \"abc {}\npermutation x");
        assert_eq!((l, c), (2, 6));
        assert!(what.starts_with("unterminated quoted name"), "{what}");
        let (l, c, _) = fail("session \"abc");
        assert_eq!((l, c), (1, 9));
        let (l, c, what) = fail("session \"\" step a {}");
        assert_eq!((l, c, what.as_str()), (1, 9, "empty quoted name"));
    }

    #[test]
    fn error_unexpected_tokens() {
        let (l, c, what) = fail("setup {}\n foo");
        assert_eq!((l, c), (2, 2));
        assert_eq!(what, "expected `session`, `setup`, `teardown` or `permutation`, found `foo`");
        let (l, c, what) = fail("session s step a {}\npermutation a {}");
        assert_eq!((l, c), (2, 15));
        assert!(what.ends_with("found a `{ }` block"), "{what}");
        let (l, c, what) = fail("setup SELECT");
        assert_eq!((l, c), (1, 7));
        assert_eq!(what, "expected a `{ }` SQL block after `setup`, found `SELECT`");
        let (l, c, what) = fail("session s step {}");
        assert_eq!((l, c), (1, 16));
        assert_eq!(what, "expected a step name, found a `{ }` block");
        let (l, c, what) = fail("session setup");
        assert_eq!((l, c), (1, 9));
        assert_eq!(what, "expected a session name, found `setup`");
        let (l, c, what) = fail("session s step a { } }");
        assert_eq!((l, c), (1, 22));
        assert_eq!(what, "unexpected `}` (no block is open)");
        let (l, c, what) = fail("session s step a {}\n  @");
        assert_eq!((l, c, what.as_str()), (2, 3, "unexpected character `@`"));
        let (l, c, what) = fail("session s x");
        assert_eq!((l, c), (1, 11));
        assert_eq!(what, "expected `setup` or `step` in session `s`, found `x`");
        let (l, c, _) = fail("session s step a {} permutation a session t step b {}");
        assert_eq!((l, c), (1, 35));
        let (l, c, _) = fail("session s step a {} setup {}");
        assert_eq!((l, c), (1, 21));
        let (l, c, _) = fail("session s step a {} teardown {} teardown {}");
        assert_eq!((l, c), (1, 33));
        let (l, c, _) = fail("session s step a {} step b");
        assert_eq!((l, c), (1, 27));
    }

    #[test]
    fn error_session_without_steps() {
        let (l, c, what) = fail("session s1 setup { x }\nsession s2 step a {}");
        assert_eq!((l, c), (1, 9));
        assert_eq!(what, "session `s1` has no steps");
        let (l, c, _) = fail("session s1 step a {}\nsession s2");
        assert_eq!((l, c), (2, 9));
        let (l, c, _) = fail("session s1 teardown {}");
        assert_eq!((l, c), (1, 9));
    }

    #[test]
    fn error_duplicate_names() {
        let (l, c, what) = fail("session s1 step a {}\nsession s1 step b {}");
        assert_eq!((l, c), (2, 9));
        assert_eq!(what, "duplicate session name `s1` (first defined at line 1)");
        let (l, c, what) = fail("session s1\n step s1a {}\nsession s2\n step s1a {}");
        assert_eq!((l, c), (4, 7));
        assert_eq!(what, "duplicate step name `s1a` (first defined at line 2)");
        let (l, c, _) = fail("session s1 step a {} step a {}");
        assert_eq!((l, c), (1, 27));
    }

    #[test]
    fn error_unknown_step_in_permutation() {
        let (l, c, what) = fail("session s step a {}\npermutation a x");
        assert_eq!((l, c), (2, 15));
        assert_eq!(what, "unknown step `x` in permutation");
    }

    #[test]
    fn error_empty_permutation() {
        let (l, c, what) = fail("session s step a {}\npermutation\npermutation a");
        assert_eq!((l, c), (2, 1));
        assert_eq!(what, "empty permutation: expected a step name after `permutation`, found `permutation`");
        let (l, c, _) = fail("session s step a {}\n  permutation # nothing");
        assert_eq!((l, c), (2, 3));
    }

    #[test]
    fn error_markers() {
        let base = "session s1 step s1a {} step s1b {}\nsession s2 step s2a {} step s2b {}\n";
        let (l, c, what) = fail(&format!("{base}permutation s1a(x) s2a"));
        assert_eq!((l, c), (3, 17));
        assert_eq!(what, "unknown step `x` in marker on `s1a`");
        let (l, c, what) = fail(&format!("{base}permutation s1a(s2a, s1b) s1b s2a"));
        assert_eq!((l, c), (3, 22));
        assert_eq!(what, "marker `(s1b)` on `s1a` names a step of the same session");
        let (l, c, what) = fail(&format!("{base}permutation s1a(s1a)"));
        assert_eq!((l, c), (3, 17));
        assert!(what.ends_with("names a step of the same session"), "{what}");
        let (l, c, what) = fail(&format!("{base}permutation s1a(s2b) s2a"));
        assert_eq!((l, c), (3, 17));
        assert_eq!(what, "marker `(s2b)` on `s1a` names a step that is not in this permutation");
        let (l, c, what) = fail(&format!("{base}permutation s1a(s2a s2a"));
        assert_eq!((l, c), (3, 16));
        assert_eq!(what, "unclosed `(` after `s1a`: expected `,` or `)`, found `s2a`");
        let (l, c, what) = fail(&format!("{base}permutation s1a(s2a"));
        assert_eq!((l, c), (3, 16));
        assert!(what.ends_with("found end of file"), "{what}");
        let (l, c, _) = fail(&format!("{base}permutation s1a(s2a,\npermutation s1a"));
        assert_eq!((l, c), (3, 16));
        let (l, c, what) = fail(&format!("{base}permutation s1a()"));
        assert_eq!((l, c), (3, 17));
        assert_eq!(what, "expected a step name or `*` in the markers of `s1a`, found `)`");
        let (l, c, what) = fail(&format!("{base}permutation s1a(s2a notices 1) s2a"));
        assert_eq!((l, c), (3, 21));
        assert_eq!(what, "notices markers are not supported");
    }

    #[test]
    fn error_no_sessions() {
        let (l, c, what) = fail("");
        assert_eq!((l, c, what.as_str()), (1, 1, "no session blocks"));
        let (l, c, what) = fail("setup { x }\n# only a comment\n");
        assert_eq!((l, c, what.as_str()), (3, 1, "no session blocks"));
        let (l, c, what) = fail("setup { x }\npermutation a");
        assert_eq!((l, c), (2, 1));
        assert_eq!(what, "no session blocks before `permutation`");
    }

    #[test]
    fn keywords_are_case_sensitive() {
        let (l, c, what) = fail("Session s step a {}");
        assert_eq!((l, c), (1, 1));
        assert!(what.ends_with("found `Session`"), "{what}");
    }

    /// Characters that matter to the lexer, to make mutations interesting.
    fn interesting_char() -> impl Strategy<Value = char> {
        prop_oneof![any::<char>(), prop::sample::select(vec!['{', '}', '(', ')', '"', '#', ',', '*', '\n', ' ', 'é']),]
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse_spec("p.spec", &text);
        }

        #[test]
        fn spec_like_text_never_panics(text in "[a-z0-9 \n{}()\",*#é]{0,80}") {
            let _ = parse_spec("p.spec", &text);
        }

        #[test]
        fn mutated_example_never_panics(
            edits in prop::collection::vec((any::<usize>(), prop::option::of(interesting_char())), 1..10)
        ) {
            let mut chars: Vec<char> = EXAMPLE.chars().collect();
            for (at, insert) in edits {
                match insert {
                    Some(c) => {
                        let at = at % (chars.len() + 1);
                        chars.insert(at, c);
                    }
                    None if !chars.is_empty() => {
                        let at = at % chars.len();
                        chars.remove(at);
                    }
                    None => {}
                }
            }
            let text: String = chars.into_iter().collect();
            if let Err(SpecError::Syntax { pos, .. }) = parse_spec("p.spec", &text) {
                prop_assert!(pos.line >= 1 && pos.col >= 1);
                prop_assert!(pos.line <= text.lines().count() + 1);
            }
        }
    }
}
