//! Property tests of the application-level integrity that replaces the FK, on both engines.
//! Each prints its seed (`FKSIM_SEED` replays it); a failure is shrunk and written as a spec.

mod appkit;

use appkit::{check, check_cases, find, workload};
use fksim::app::drive::AppRun;
use fksim::app::spec::{session_name, Tail};
use fksim::app::workload::{Concrete, IsolationChoice, Txn};
use fksim::app::Action;
use fksim::run::{EngineKind, Outcome};
use proptest::prelude::*;
use std::collections::BTreeSet;

const CASES: u32 = 1000;

fn no_tail_sweep() -> Tail {
    Tail::default()
}

/// FK on: no interleaving leaves an orphan (the model's count and the final read agree on zero).
fn no_orphans(r: &AppRun) -> Result<(), String> {
    let seen = r.observed("obs1").ok_or("obs1 did not finish")?.orphans();
    if r.report.orphans > 0 || !seen.is_empty() {
        return Err(format!("{} orphans at the end, rows {seen:?}", r.report.orphans));
    }
    Ok(())
}

/// FK off: no statement on a child table waits on a lock on an auth_user row.
fn no_child_waits_on_users(r: &AppRun) -> Result<(), String> {
    let w = r.child_waits_on_users();
    if w.is_empty() {
        Ok(())
    } else {
        Err(w.join("; "))
    }
}

/// An orphan is explained when it was written by a transaction that overlaps a committed
/// cascade deletion of its user. "Overlaps" is `TxnSpan::overlaps`: on the report's event order,
/// each of the two transactions started before the other ended, where the writer starts at its
/// request's user load (the `begin` step) and ends when its COMMIT finished, and the deleter
/// starts at its own `begin` step and ends when its COMMIT finished.
fn orphans_come_from_overlapping_writes(r: &AppRun) -> Result<(), String> {
    let before = r.observed("obs1").ok_or("obs1 did not finish")?;
    let spans = r.spans();
    for (table, id, user) in before.orphans() {
        let (s, t, _) =
            r.writer_of(table, id).ok_or(format!("orphan {table} id={id} was not written by the workload"))?;
        let w = spans.iter().find(|sp| sp.session == s && sp.txn == t).ok_or("no span")?;
        let deleters = r.deleters_of(user);
        if !deleters.iter().any(|d| d.overlaps(w)) {
            return Err(format!(
                "orphan {table} id={id} user={user} from {}t{} (events {}..{}) overlaps no deletion of user {user}: {deleters:?}",
                session_name(s),
                t + 1,
                w.start,
                w.end
            ));
        }
    }
    Ok(())
}

/// After the writers are done (every workload step finished before the sweeper started), the
/// sweeper leaves no orphan and removes no row of a live user.
fn sweeper_cleans(r: &AppRun) -> Result<(), String> {
    orphans_come_from_overlapping_writes(r)?;
    let before = r.observed("obs1").ok_or("obs1 did not finish")?;
    let times = r.times();
    let sweep_at = *times.issued.get("sweep").ok_or("the sweeper did not run")?;
    for st in r.layout.sessions.iter().flatten() {
        if times.done.get(&st.name).is_none_or(|&d| d > sweep_at) {
            return Err(format!("writer step {} still running when the sweeper started", st.name));
        }
    }
    let after = r.observed("obs2").ok_or("obs2 did not finish")?;
    if !after.orphans().is_empty() {
        return Err(format!("orphans left after the sweeper: {:?}", after.orphans()));
    }
    let orphans: BTreeSet<_> = before.orphans().into_iter().collect();
    let live: BTreeSet<_> = before.children.difference(&orphans).copied().collect();
    if after.children != live || after.users != before.users {
        let gone: Vec<_> = live.difference(&after.children).collect();
        return Err(format!("the sweeper changed live rows: removed {gone:?}"));
    }
    Ok(())
}

/// get_or_create with an unsaved user never writes a row whose user does not exist.
fn get_or_create_keeps_its_user(r: &AppRun) -> Result<(), String> {
    let seen = r.observed("obs1").ok_or("obs1 did not finish")?;
    for (table, id, user) in seen.orphans() {
        if let Some((s, t, a @ Action::GetOrCreateEnrollment { new_user: Some(_), .. })) = r.writer_of(table, id) {
            return Err(format!(
                "{table} id={id} user={user} written by {}t{} ({a}) has no user",
                session_name(s),
                t + 1
            ));
        }
    }
    Ok(())
}

/// One session inserts a child row for `user`, another updates the user's last_login, each in
/// its own open transaction; `first` says which acts first.
fn login_vs_insert() -> impl Strategy<Value = (Concrete, Vec<usize>)> {
    let iso = prop_oneof![
        Just(IsolationChoice::ReadCommitted),
        Just(IsolationChoice::RepeatableRead),
        Just(IsolationChoice::ServerDefault)
    ];
    (1i64..=3, any::<bool>(), any::<bool>(), 0u32..3, iso).prop_map(
        |(user, bookmark, insert_first, item, isolation)| {
            let insert = if bookmark {
                Action::AddBookmark { row: 0, user, key: format!("b{}", item + 1) }
            } else {
                Action::Enroll { row: 0, user, course: format!("c{}", item + 1) }
            };
            let login = Action::Login { user };
            let (a, b) = if insert_first { (insert, login) } else { (login, insert) };
            let mut c = Concrete {
                sql: Default::default(),
                users: 3,
                isolation,
                sessions: vec![vec![Txn { actions: vec![a] }], vec![Txn { actions: vec![b] }]],
            };
            c.number();
            // s1 begins and acts, s2 begins and acts, then s1 and s2 commit.
            (c, vec![0, 0, 1, 1, 0, 0])
        },
    )
}

/// The second action's report line: does it wait, and behind whom.
fn second_waits(r: &AppRun) -> (bool, Vec<String>) {
    let name = &r.layout.sessions[1][1].name;
    let e = r.report.events.iter().find(|e| *e.step == **name).expect("second action reported");
    let behind = e.wait.as_ref().map_or(vec![], |w| w.behind.iter().map(|b| b.session.to_string()).collect());
    (e.outcome == Outcome::Waiting, behind)
}

macro_rules! per_engine {
    ($($(#[$attr:meta])* $name:ident => $body:expr;)*) => {
        mod innodb {
            use super::*;
            $( $(#[$attr])* #[test] fn $name() { let engine = EngineKind::Innodb; $body(engine) } )*
        }
        mod postgres {
            use super::*;
            $( $(#[$attr])* #[test] fn $name() { let engine = EngineKind::Postgres; $body(engine) } )*
        }
    };
}

per_engine! {
    fk_on_no_interleaving_leaves_an_orphan => |e| {
        check("fk-on-no-orphans", &workload("hot-users.toml"), e, true, no_tail_sweep(), CASES, no_orphans);
        check("fk-on-no-orphans-rr", &workload("hot-users-rr.toml"), e, true, no_tail_sweep(), CASES / 2, no_orphans);
    };
    fk_off_no_child_statement_waits_on_a_user_row => |e| {
        check("fk-off-no-child-waits", &workload("hot-users.toml"), e, false, no_tail_sweep(), CASES, no_child_waits_on_users);
        check("fk-off-no-child-waits-rr", &workload("hot-users-rr.toml"), e, false, no_tail_sweep(), CASES / 2, no_child_waits_on_users);
    };
    fk_off_with_the_sweeper_only_the_sweeper_waits_on_user_rows => |e| {
        let w = workload("hot-users-sweep.toml");
        // Finding: InnoDB's sweeper locks every auth_user row it reads (S, the subquery of a
        // locking DELETE), so on InnoDB a child-table statement does wait on user rows: the
        // sweeper's. PostgreSQL reads the subquery from a snapshot, without row locks.
        check("fk-off-sweeper-waits", &w, e, false, no_tail_sweep(), CASES / 2, |r| {
            let waits = r.child_waits_on_users();
            let other: Vec<&String> = waits.iter().filter(|x| !x.contains("sw")).collect();
            match e {
                EngineKind::Innodb if other.is_empty() => Ok(()),
                EngineKind::Postgres if waits.is_empty() => Ok(()),
                _ => Err(waits.join("; ")),
            }
        });
        let found = find("fk-off-sweeper-waits-example", &w, e, false, no_tail_sweep(), 300, |r| {
            !r.child_waits_on_users().is_empty()
        });
        match e {
            EngineKind::Innodb => {
                let (r, path) = found.expect("on InnoDB the sweeper waits on a user row");
                eprintln!("example ({}): {:?}", path.display(), r.child_waits_on_users());
            }
            EngineKind::Postgres => assert!(found.is_none(), "PostgreSQL: {:?}", found.map(|f| f.1)),
        }
    };
    fk_on_child_statements_do_wait_on_user_rows => |e| {
        // The check above can fail: with the FK, child statements do wait on user rows.
        let found = find("fk-on-child-waits", &workload("hot-users.toml"), e, true, no_tail_sweep(), 200, |r| {
            !r.child_waits_on_users().is_empty()
        });
        let (r, path) = found.expect("with the FK some child statement waits on a user row");
        eprintln!("example ({}): {:?}", path.display(), r.child_waits_on_users());
    };
    fk_on_login_and_child_insert_of_one_user => |e| {
        check_cases("login-vs-insert", login_vs_insert(), e, true, no_tail_sweep(), 24, |r| {
            let (waits, behind) = second_waits(r);
            match e {
                // InnoDB: the insert's S lock on the user record and the update's X lock conflict.
                EngineKind::Innodb if waits && behind == ["s1"] => Ok(()),
                // PostgreSQL: FOR KEY SHARE and FOR NO KEY UPDATE do not conflict.
                EngineKind::Postgres if !waits => Ok(()),
                _ => Err(format!("second action waits: {waits}, behind {behind:?}")),
            }
        });
    };
    fk_off_every_orphan_comes_from_a_write_overlapping_the_deletion => |e| {
        check("cascade-overlap", &workload("delete-race.toml"), e, false, no_tail_sweep(), CASES, orphans_come_from_overlapping_writes);
    };
    fk_off_the_sweeper_removes_every_orphan_and_no_live_row => |e| {
        let tail = Tail { sweep: true, ..Tail::default() };
        check("cascade-sweeper", &workload("delete-race.toml"), e, false, tail, CASES, sweeper_cleans);
    };
    fk_off_orphans_do_happen => |e| {
        // The cascade does not prevent orphans without the FK (the sweeper is needed).
        let found = find("orphans-happen", &workload("delete-race.toml"), e, false, no_tail_sweep(), 300, |r| {
            r.observed("obs1").is_some_and(|o| !o.orphans().is_empty())
        });
        let (r, path) = found.expect("without the FK some interleaving leaves an orphan");
        eprintln!("example ({}): orphans {:?}", path.display(), r.observed("obs1").map(|o| o.orphans()));
    };
    fk_off_get_or_create_with_an_unsaved_user_writes_no_orphan => |e| {
        check("get-or-create", &workload("new-users.toml"), e, false, no_tail_sweep(), CASES, get_or_create_keeps_its_user);
    };
}
