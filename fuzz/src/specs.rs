//! Small specs decoded from the fuzzer's bytes: a parent and a child table (the schema of
//! tests/explore.rs's random specs), 2 or 3 sessions of 1 to 3 steps, each step one statement
//! from a menu of inserts, key and non-key updates, deletes, locking and plain reads, `NOT IN`
//! sweeps, commits and rollbacks, at READ COMMITTED, REPEATABLE READ or in autocommit.

use arbitrary::{Result, Unstructured};

/// The setup every decoded spec starts from (tests/explore.rs's `random_spec`).
pub const SETUP: &str = "setup\n{\n  CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(10) UNIQUE, v INT);\n  \
     CREATE TABLE c (id INT PRIMARY KEY, pid INT, v INT, FOREIGN KEY (pid) REFERENCES p (id));\n  \
     CREATE INDEX c_pid ON c (pid);\n  \
     INSERT INTO p VALUES (1, 'a', 0), (2, 'b', 1), (3, 'c', 0);\n  \
     INSERT INTO c VALUES (10, 1, 0), (11, 2, 1);\n}\nteardown\n{\n  DROP TABLE c;\n  DROP TABLE p;\n}\n";

/// One statement of the menu, its numbers drawn from `u`.
fn statement(u: &mut Unstructured) -> Result<String> {
    let k = u.int_in_range(1..=4)?;
    let j = u.int_in_range(10..=13)?;
    let v = u.int_in_range(0..=2)?;
    Ok(match u.int_in_range(0..=15)? {
        0 => format!("INSERT INTO c VALUES ({}, {k}, {v});", u.int_in_range(12..=14)?),
        1 => format!("INSERT INTO p VALUES ({}, 'n{k}', {v});", u.int_in_range(4..=5)?),
        2 => format!("UPDATE p SET v = v + 1 WHERE id = {k};"),
        3 => format!("UPDATE p SET v = {v} WHERE v = {};", u.int_in_range(0..=2)?),
        4 => format!("UPDATE p SET id = {} WHERE id = {k};", k + 4),
        5 => format!("UPDATE p SET name = 'x' WHERE id = {k};"),
        6 => format!("UPDATE c SET pid = {k} WHERE id = {j};"),
        7 => format!("UPDATE c SET v = {v} WHERE pid = {k};"),
        8 => format!("DELETE FROM p WHERE id = {k};"),
        9 => format!("DELETE FROM c WHERE pid = {k};"),
        10 => format!("SELECT * FROM p WHERE v = {v} FOR UPDATE;"),
        11 => format!("SELECT * FROM p WHERE id = {k} FOR KEY SHARE;"),
        12 => format!("SELECT * FROM c WHERE v = {v};"),
        13 => "DELETE FROM c WHERE pid NOT IN (SELECT id FROM p);".to_string(),
        14 => "ROLLBACK;".to_string(),
        _ => "COMMIT;".to_string(),
    })
}

/// A spec's text: the setup, then 2 or 3 sessions of 1 to 3 steps, with no permutation lines
/// (every interleaving is explored).
pub fn small_spec(u: &mut Unstructured) -> Result<String> {
    let mut text = String::from(SETUP);
    for s in 1..=u.int_in_range(2..=3)? {
        text.push_str(&format!("session s{s}\n"));
        match u.int_in_range(0..=2)? {
            0 => text.push_str("setup { BEGIN; }\n"),
            1 => text.push_str("setup { BEGIN ISOLATION LEVEL REPEATABLE READ; }\n"),
            _ => {}
        }
        for i in 1..=u.int_in_range(1..=3)? {
            text.push_str(&format!("step s{s}x{i} {{ {} }}\n", statement(u)?));
        }
    }
    Ok(text)
}
