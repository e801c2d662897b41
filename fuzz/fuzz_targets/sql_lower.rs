//! Any text, as one statement and as a block split into statements (DDL applied as it goes),
//! parses and lowers on every catalog of `fksim_fuzz::catalogs` (the built-in schema on InnoDB
//! and PostgreSQL, FK on and off, and Open edX's schema on each): a plan or an error at a line of
//! the text, never a panic. Run with `cargo fuzz run sql_lower` (see docs/fuzzing.md).
#![no_main]

use fksim::spec::{Pos, SqlBlock};
use fksim::sql::{parse_statement, split_block, RawStatement, SqlError};
use libfuzzer_sys::fuzz_target;

/// Statements a block may split into that are lowered (a long block adds nothing new per line).
const MAX_STATEMENTS: usize = 8;

/// An error must point into the text: its line is between 1 and the text's last line.
fn check(err: &SqlError, text: &str) {
    let lines = text.matches('\n').count() + 1;
    assert!((1..=lines).contains(&err.pos.line), "error at line {} of a {lines}-line text: {err}", err.pos.line);
    assert!(!err.what.is_empty(), "an error that says nothing");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let start = Pos { line: 1, col: 1 };
    for bound in fksim_fuzz::catalogs::all() {
        let mut catalog = bound.catalog.clone();
        let raw = RawStatement { text: text.to_string(), pos: start };
        if let Err(e) = parse_statement(&raw, &mut catalog, bound.opts) {
            check(&e, text);
        }
        let mut catalog = bound.catalog.clone();
        match split_block(&SqlBlock { sql: text.to_string(), pos: start }) {
            Err(e) => check(&e, text),
            Ok(raws) => {
                for raw in raws.iter().take(MAX_STATEMENTS) {
                    if let Err(e) = parse_statement(raw, &mut catalog, bound.opts) {
                        check(&e, text);
                    }
                }
            }
        }
    }
});
