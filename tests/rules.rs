//! The engines' rule tests, data-driven: each file in `tests/rules/` holds specs and the
//! transcripts `fksim run` prints for them (CockroachDB's `testdata/lock_table` style, through
//! `goldenscript`). A failing test shows the diff; `UPDATE_GOLDENFILES=1` rewrites the expected
//! transcripts, to be reviewed before they are committed.
//!
//! Commands: a line after `>` is a line of the spec being written; `schema` makes the lines so far
//! the setup of every later block; `run engine=innodb|postgres fk=on|off` runs the schema and the
//! block's lines and prints the transcript.

mod common;
use common::*;
use fksim::report::text;
use fksim::run::EngineKind;
use std::error::Error;

#[derive(Default)]
struct Rules {
    schema: String,
    block: String,
}

impl goldenscript::Runner for Rules {
    fn run(&mut self, command: &goldenscript::Command) -> Result<String, Box<dyn Error>> {
        match command.name.as_str() {
            "schema" => {
                self.schema = std::mem::take(&mut self.block);
                Ok(String::new())
            }
            "run" => {
                let mut args = command.consume_args();
                let engine = args.lookup("engine").map(|a| a.value.as_str()).unwrap_or("innodb");
                let engine = EngineKind::from_name(engine).ok_or_else(|| format!("no engine `{engine}`"))?;
                let fk_on = args.lookup("fk").map(|a| a.value.as_str()).unwrap_or("on") == "on";
                args.reject_rest()?;
                let sc = load_text_for("rules.spec", &format!("{}{}", self.schema, self.block), engine, fk_on);
                let out: String = run_on(&sc, engine).iter().map(|r| text::permutation(&sc, r)).collect();
                Ok(out.trim_start().to_string())
            }
            // A line of the spec.
            line => {
                self.block.push_str(line);
                self.block.push('\n');
                Ok(String::new())
            }
        }
    }

    fn end_block(&mut self) -> Result<String, Box<dyn Error>> {
        self.block.clear();
        Ok(String::new())
    }
}

#[test]
fn innodb() {
    goldenscript::run(&mut Rules::default(), repo().join("tests/rules/innodb")).expect("the script runs");
}

#[test]
fn postgres() {
    goldenscript::run(&mut Rules::default(), repo().join("tests/rules/postgres")).expect("the script runs");
}

#[test]
fn postgres_maintenance() {
    goldenscript::run(&mut Rules::default(), repo().join("tests/rules/postgres_maintenance")).expect("the script runs");
}
