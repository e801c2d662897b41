//! What a spec with ALTER TABLE ... ATTACH PARTITION may not do, because the model's catalog is fixed when the spec loads.

use super::SessionPlan;
use crate::spec::{Pos, Spec};
use crate::sql::{Catalog, Plan, Statement};

/// Refuse a statement that names a table attached as a partition (one of the partitions
/// `attached`), other than the ATTACH itself and DROP TABLE: once attached, its rows are the
/// partitioned table's and its name a partition's, which the model does not bind again. A
/// partition from `steps_from` on is attached by a step, which may run at any point of a
/// permutation, so a statement that routes rows into its partitioned table (INSERT, UPDATE) is
/// refused too: until the ATTACH has committed PostgreSQL routes none to the partition ("no
/// partition of relation ... found for row"), and the model's routing does not wait for it.
pub(super) fn refuse_attached(
    catalog: &Catalog,
    st: &Statement,
    attached: &[usize],
    steps_from: usize,
) -> Result<(), String> {
    let plan = match &st.plan {
        Plan::Prepare { stmt, .. } => &stmt.plan,
        Plan::AttachPartition { .. } | Plan::Ddl => return Ok(()),
        other => other,
    };
    for &i in attached {
        let p = &catalog.partitions[i];
        let Some(t) = p.attached_from else { continue };
        let parent = &catalog.tables[p.parent].name;
        if plan.tables().contains(&t) {
            return Err(format!(
                "naming table `{}` after it is attached as a partition of `{parent}` is not modelled",
                p.name
            ));
        }
        let writes = matches!(plan, Plan::Insert { table, .. } | Plan::Update { table, .. } if *table == p.parent);
        if i >= steps_from && writes {
            return Err(format!(
                "writing to `{parent}` in a spec whose steps attach partition `{}` to it is not modelled",
                p.name
            ));
        }
    }
    Ok(())
}

/// Refuse a permutation that runs an ATTACH step twice: PostgreSQL's second ATTACH of a table
/// attached and committed fails ("... is already a partition", `ATExecAttachPartition`), which the
/// model, whose catalog does not change as the permutation runs, cannot tell from a retry after
/// a rollback.
pub(super) fn refuse_repeated_attach(spec: &Spec, sessions: &[SessionPlan]) -> Result<(), (Pos, String)> {
    let attaches = |name: &str| {
        sessions
            .iter()
            .flat_map(|s| &s.steps)
            .any(|st| &*st.name == name && st.stmts.iter().any(|x| matches!(x.plan, Plan::AttachPartition { .. })))
    };
    for p in &spec.permutations {
        for (i, st) in p.steps.iter().enumerate() {
            if attaches(&st.name) && p.steps[..i].iter().any(|x| x.name == st.name) {
                let what = format!("a permutation that runs ATTACH PARTITION step {} twice is not modelled", st.name);
                return Err((st.pos, what));
            }
        }
    }
    Ok(())
}
