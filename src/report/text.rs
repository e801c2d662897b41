//! The readable transcript, in isolationtester's expected-output style, with fksim's notes on who
//! waits for whom (lines starting with `--`).

use crate::engine::{Rows, WaitInfo};
use crate::run::{Outcome, PermutationReport, StepEvent};
use crate::scenario::Scenario;
use crate::sql::Value;

/// The first line isolationtester prints.
pub fn header(sc: &Scenario) -> String {
    format!("Parsed test spec with {} sessions\n", sc.sessions.len())
}

fn step_sql<'a>(sc: &'a Scenario, name: &str) -> &'a str {
    sc.spec.find_step(name).map(|(s, i)| sc.sessions[s].steps[i].sql.as_str()).unwrap_or("")
}

/// Does libpq's `PQprint` take this value for a number (fe-print.c, `do_field`): only digits,
/// `.`, `E`, `e`, spaces and `-`, a digit last and no `E` first? An empty value (NULL) says
/// nothing either way.
fn looks_numeric(v: &str) -> bool {
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '.' | 'E' | 'e' | ' ' | '-');
    v.is_empty() || (v.chars().all(allowed) && v.ends_with(|c: char| c.is_ascii_digit()) && !v.starts_with(['E', 'e']))
}

/// Results as isolationtester prints them, with libpq's `PQprint` (`align`, `|` between fields,
/// fe-print.c): each column as wide as its widest value or header; a column whose every value
/// looks like a number has its header and values right-aligned (`do_header`, `output_row`: `%*s`),
/// any other column left-aligned (`%-*s`).
fn table(rows: &Rows) -> String {
    let cells: Vec<Vec<String>> = rows.rows.iter().map(|r| r.iter().map(Value::to_string).collect()).collect();
    let numeric: Vec<bool> = (0..rows.columns.len()).map(|c| cells.iter().all(|r| looks_numeric(&r[c]))).collect();
    let widths: Vec<usize> = rows
        .columns
        .iter()
        .enumerate()
        .map(|(c, h)| cells.iter().map(|r| r[c].chars().count()).chain([h.chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |fields: &mut dyn Iterator<Item = &str>| -> String {
        let aligned: Vec<String> = fields
            .enumerate()
            .map(
                |(c, v)| if numeric[c] { format!("{v:>w$}", w = widths[c]) } else { format!("{v:<w$}", w = widths[c]) },
            )
            .collect();
        format!("{}\n", aligned.join("|").trim_end())
    };
    let mut out = line(&mut rows.columns.iter().map(String::as_str));
    out.push_str(&widths.iter().map(|&w| "-".repeat(w)).collect::<Vec<_>>().join("+"));
    out.push('\n');
    for r in &cells {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    let n = rows.rows.len();
    out.push_str(&format!("({n} row{})\n\n", if n == 1 { "" } else { "s" }));
    out
}

fn wait_lines(step: &str, w: &WaitInfo) -> String {
    let purpose = w.wants.taken_by.split_once(": ").map_or(&*w.wants.taken_by, |(_, p)| p);
    let mut out = format!("  -- {step} waits for {}: {purpose}\n", w.wants);
    for b in &w.behind {
        let state = if b.granted { "holds" } else { "waits for" };
        out.push_str(&format!("  --   behind {}, which {state} {}, taken by {}\n", b.session, b, b.taken_by));
    }
    out
}

/// The session a step belongs to.
pub fn session_of<'a>(sc: &'a Scenario, step: &str) -> &'a str {
    sc.spec.find_step(step).map(|(s, _)| sc.sessions[s].name.as_str()).unwrap_or("")
}

fn event(sc: &Scenario, e: &StepEvent) -> String {
    // isolationtester's notice processor (`isotesterNoticeProcessor`) prints each notice as
    // `session: message` when libpq reads it, which is before the step's line is printed.
    let mut out: String = e.notices.iter().map(|n| format!("{}: {n}\n", session_of(sc, &e.step))).collect();
    out.push_str(&match e.outcome {
        Outcome::Waiting => format!("step {}: {} <waiting ...>\n", e.step, step_sql(sc, &e.step)),
        Outcome::Immediate => format!("step {}: {}\n", e.step, step_sql(sc, &e.step)),
        Outcome::Completed => format!("step {}: <... completed>\n", e.step),
    });
    for r in &e.rows {
        out.push_str(&table(r));
    }
    if let Some(err) = &e.error {
        out.push_str(&format!("ERROR:  {}\n", err.message));
    }
    if let Some(w) = &e.wait {
        out.push_str(&wait_lines(&e.step, w));
    }
    if let Some(q) = &e.queued_behind {
        out.push_str(&format!("  -- {} queued behind {q}, still running in the same session\n", e.step));
    }
    for d in &e.deadlocks {
        let mut ring: Vec<&str> = d.cycle.iter().map(|s| &**s).collect();
        ring.push(&d.cycle[0]);
        out.push_str(&format!(
            "  -- deadlock: {} (each waits for the next); victim {}, its transaction rolled back\n",
            ring.join(" -> "),
            d.victim
        ));
        for w in &d.waits {
            let behind: Vec<String> = w
                .behind
                .iter()
                .map(|b| format!("{}'s {}{b}", b.session, if b.granted { "" } else { "waiting " }))
                .collect();
            out.push_str(&format!("  --   {} wants {}, behind {}\n", w.wants.session, w.wants, behind.join(" and ")));
        }
    }
    if let Some(n) = &e.note {
        out.push_str(&format!("  -- {n}\n"));
    }
    for a in &e.access {
        if let Some(why) = &a.undecided {
            out.push_str(&format!(
                "  -- {}: which index MariaDB scans on {} cannot be decided: {why}; the model scans {}\n",
                e.step, a.table, a.path
            ));
        }
    }
    out
}

/// One permutation's transcript in parts: the lines before the first step, each step event's
/// lines (with its step's name), and the lines after the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptParts {
    pub head: String,
    pub events: Vec<(String, String)>,
    pub tail: String,
}

/// The transcript of one permutation, in parts ([`permutation`] joins them).
pub fn permutation_parts(sc: &Scenario, report: &PermutationReport) -> TranscriptParts {
    let mut head = format!("\nstarting permutation: {}\n", report.steps.join(" "));
    for rows in &report.setup_rows {
        head.push_str(&table(rows));
    }
    let events = report.events.iter().map(|e| (e.step.to_string(), event(sc, e))).collect();
    let mut tail = String::new();
    for rows in &report.teardown_rows {
        tail.push_str(&table(rows));
    }
    // A note line (isolationtester's comparisons leave `  --` lines out), only when some were made.
    if let Some(m) = report.multixacts.as_ref().filter(|m| m.created > 0) {
        tail.push_str(&format!("  -- multixacts: {}\n", m.line(usize::MAX)));
    }
    // Of the orphans, those over the references the DDL does not declare (a schema file's
    // references file), one note line, only when the schema has such references.
    if !report.orphans_by_ref.is_empty() {
        let parts: Vec<String> = report.orphans_by_ref.iter().map(|(r, n)| format!("{r} {n}")).collect();
        tail.push_str(&format!("  -- orphans over references without a constraint: {}\n", parts.join(", ")));
    }
    tail.push_str(&format!("orphans: {}\n", report.orphans));
    TranscriptParts { head, events, tail }
}

/// The transcript of one permutation.
pub fn permutation(sc: &Scenario, report: &PermutationReport) -> String {
    let parts = permutation_parts(sc, report);
    let mut out = parts.head;
    for (_, lines) in parts.events {
        out.push_str(&lines);
    }
    out.push_str(&parts.tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libpq's PQprint: a column of numbers is right-aligned, header included; text, left.
    #[test]
    fn tables_align_as_pqprint() {
        let rows = Rows {
            columns: vec!["id".into(), "name".into(), "n".into()],
            rows: vec![
                vec![Value::Int(100), Value::Str("alexandra".into()), Value::Str("-1.5e3".into())],
                vec![Value::Int(7), Value::Null, Value::Str("42".into())],
            ],
        };
        assert_eq!(
            table(&rows),
            " id|name     |     n\n---+---------+------\n100|alexandra|-1.5e3\n  7|         |    42\n(2 rows)\n\n"
        );
        assert!(
            looks_numeric("12")
                && looks_numeric("")
                && !looks_numeric("e5")
                && !looks_numeric("1-")
                && !looks_numeric("t")
        );
    }
}
