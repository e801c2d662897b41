//! Two transcripts of one permutation side by side (`fksim run --fk both`: FK on left, FK off
//! right), each step's lines beside the same step's lines on the other side where both have it.

use super::text::TranscriptParts;
use similar::{capture_diff_slices, Algorithm, DiffOp};

/// The width of each column `fksim run --fk both` prints; longer lines wrap.
pub const COLUMN_WIDTH: usize = 64;

/// Between the two columns.
pub const SEPARATOR: &str = " | ";

/// A wrapped line continues indented by this much.
const CONTINUATION: &str = "    ";

/// The two transcripts as one text of two columns, each `width` characters wide (at least 16).
/// The steps are aligned by a diff of the two sequences of step names (a step that waited has
/// two lines, its `<waiting ...>` and its `<... completed>`, where the other side may have one):
/// a step both sides report sits on the same rows, one only a side reports faces blank lines.
/// The lines after the last step end on the same row (`orphans:` beside `orphans:`).
pub fn side_by_side(left: &TranscriptParts, right: &TranscriptParts, width: usize) -> String {
    let width = width.max(16);
    let mut rows: Vec<(&str, &str)> = vec![(&left.head, &right.head)];
    let names = |t: &TranscriptParts| t.events.iter().map(|(step, _)| step.clone()).collect::<Vec<_>>();
    let (left_names, right_names) = (names(left), names(right));
    for op in capture_diff_slices(Algorithm::Myers, &left_names, &right_names) {
        let (l, r) = match op {
            DiffOp::Equal { old_index, new_index, len } => (old_index..old_index + len, new_index..new_index + len),
            DiffOp::Delete { old_index, old_len, .. } => (old_index..old_index + old_len, 0..0),
            DiffOp::Insert { new_index, new_len, .. } => (0..0, new_index..new_index + new_len),
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                (old_index..old_index + old_len, new_index..new_index + new_len)
            }
        };
        let (l, r) = (&left.events[l], &right.events[r]);
        for i in 0..l.len().max(r.len()) {
            rows.push((l.get(i).map_or("", |e| &e.1), r.get(i).map_or("", |e| &e.1)));
        }
    }
    let tail = rows.len();
    rows.push((&left.tail, &right.tail));
    let mut out = String::new();
    for (n, (l, r)) in rows.into_iter().enumerate() {
        let (mut l, mut r) = (wrap_block(l, width), wrap_block(r, width));
        if n == tail {
            let rows = l.len().max(r.len());
            for side in [&mut l, &mut r] {
                side.splice(0..0, std::iter::repeat_n(String::new(), rows - side.len()));
            }
        }
        for i in 0..l.len().max(r.len()) {
            let (a, b) = (l.get(i).map_or("", String::as_str), r.get(i).map_or("", String::as_str));
            let line = format!("{a:<width$}{SEPARATOR}{b}");
            out.push_str(if a.is_empty() && b.is_empty() { "" } else { line.trim_end() });
            out.push('\n');
        }
    }
    out
}

/// A block's lines, each wrapped to `width` characters.
fn wrap_block(block: &str, width: usize) -> Vec<String> {
    block.lines().flat_map(|line| wrap(line, width)).collect()
}

/// One line as lines of at most `width` characters, broken at the last space that fits (or
/// within a word too long to fit), the continuations indented.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = line.trim_end().chars().collect();
    let mut room = width;
    while rest.len() > room {
        let cut = rest[1..=room].iter().rposition(|&c| c == ' ').map_or(room, |i| i + 1);
        let head: String = rest[..cut].iter().collect();
        out.push(if out.is_empty() {
            head.trim_end().to_string()
        } else {
            format!("{CONTINUATION}{}", head.trim_end())
        });
        rest = rest[cut..].iter().copied().skip_while(|&c| c == ' ').collect();
        room = width - CONTINUATION.len();
    }
    let tail: String = rest.into_iter().collect();
    out.push(if out.is_empty() { tail } else { format!("{CONTINUATION}{tail}") });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(events: &[(&str, &str)]) -> TranscriptParts {
        TranscriptParts {
            head: "\nstarting permutation: s1u s2e s1c\n".into(),
            events: events.iter().map(|(s, l)| (s.to_string(), l.to_string())).collect(),
            tail: "orphans: 0\n".into(),
        }
    }

    /// The row that holds `needle` on the left (or right).
    fn row_of<'a>(text: &'a str, needle: &str) -> &'a str {
        text.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no `{needle}` in\n{text}"))
    }

    #[test]
    fn a_step_both_sides_report_sits_on_one_row_and_a_wait_faces_blank() {
        let on = parts(&[
            ("s1u", "step s1u: UPDATE\n"),
            ("s2e", "step s2e: INSERT <waiting ...>\n  -- s2e waits for S\n"),
            ("s1c", "step s1c: COMMIT\n"),
            ("s2e", "step s2e: <... completed>\n"),
        ]);
        let off = parts(&[("s1u", "step s1u: UPDATE\n"), ("s2e", "step s2e: INSERT\n"), ("s1c", "step s1c: COMMIT\n")]);
        let text = side_by_side(&on, &off, 30);
        let row = row_of(&text, "step s1c");
        assert_eq!(row, format!("{:<30} | step s1c: COMMIT", "step s1c: COMMIT"));
        let row = row_of(&text, "<waiting");
        assert!(row.ends_with("| step s2e: INSERT"), "{row}");
        // The waiter's note and its completion face nothing.
        assert!(row_of(&text, "waits for S").trim_end().ends_with('|'), "{text}");
        assert!(row_of(&text, "completed").trim_end().ends_with('|'), "{text}");
        assert_eq!(row_of(&text, "orphans"), format!("{:<30} | orphans: 0", "orphans: 0"));
        // A longer tail on one side: the orphans lines still face each other.
        let mut on = on;
        on.tail = format!("  -- multixacts: 1 created\n{}", on.tail);
        let text = side_by_side(&on, &off, 30);
        assert_eq!(row_of(&text, "orphans"), format!("{:<30} | orphans: 0", "orphans: 0"));
        assert!(row_of(&text, "multixacts").trim_end().ends_with('|'), "{text}");
        // The head's blank line stays blank.
        assert_eq!(text.lines().next(), Some(""));
    }

    #[test]
    fn steps_only_one_side_has_stand_alone() {
        let on = parts(&[("s1u", "a\n"), ("s2e", "b\n")]);
        let off = parts(&[("s1u", "a\n"), ("s1c", "c\n")]);
        let text = side_by_side(&on, &off, 20);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&format!("{:<20} | a", "a").as_str()), "{text}");
        assert!(lines.contains(&format!("{:<20} | c", "b").as_str()), "{text}");
    }

    #[test]
    fn long_lines_wrap_within_the_column() {
        let line = "  -- s2e waits for S record lock on auth_user.PRIMARY (id=1): FK check of a row";
        let wrapped = wrap(line, 30);
        assert!(wrapped.len() > 2, "{wrapped:?}");
        assert!(wrapped.iter().all(|l| l.chars().count() <= 30), "{wrapped:?}");
        assert!(wrapped[1..].iter().all(|l| l.starts_with(CONTINUATION)), "{wrapped:?}");
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&wrapped.join(" ")), words(line));
        // A word longer than the column is cut.
        let long = wrap(&"x".repeat(50), 20);
        assert!(long.iter().all(|l| l.chars().count() <= 20) && long.len() == 3, "{long:?}");
        let on = parts(&[("s1u", &format!("{line}\n"))]);
        let text = side_by_side(&on, &on, 30);
        assert!(text.lines().all(|l| l.chars().count() <= 30 + SEPARATOR.len() + 30), "{text}");
    }
}
