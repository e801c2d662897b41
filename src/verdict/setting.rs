//! The FK settings a report compares: every FK on, each FK of a written child table off, all off.

use crate::app::sql::USER_TABLES;
use crate::app::workload::Workload;
use crate::schema::Base;
use crate::sql::Catalog;
use serde::Serialize;

/// One setting of the foreign keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// The schema as declared.
    AllOn,
    /// This one foreign key (`table.column`) unenforced, as `db_constraint=False` on its field
    /// would leave it; the others as declared.
    Off(String),
    /// Every foreign key unenforced.
    AllOff,
}

impl Setting {
    /// `fk on`, `off=T.C`, `fk off`: as the CLI's `--fk` spells it.
    pub fn name(&self) -> String {
        match self {
            Setting::AllOn => "fk on".into(),
            Setting::Off(fk) => format!("off={fk}"),
            Setting::AllOff => "fk off".into(),
        }
    }

    /// The `--fk` argument that gives this setting.
    pub fn fk_arg(&self) -> String {
        match self {
            Setting::AllOn => "on".into(),
            Setting::Off(fk) => format!("off={fk}"),
            Setting::AllOff => "off".into(),
        }
    }

    /// Are the engine's foreign keys enforced at all (the schema options' `fk_enforced`)?
    pub fn fk_on(&self) -> bool {
        !matches!(self, Setting::AllOff)
    }

    /// `base` with this setting's `--fk off=`.
    pub fn base(&self, base: &Base) -> Base {
        let mut b = base.clone();
        if let Setting::Off(fk) = self {
            b.fk_off.push(fk.clone());
        }
        b
    }

    /// Is `table`'s foreign key to `auth_user` unenforced in this setting?
    pub fn drops(&self, table: &str) -> bool {
        match self {
            Setting::AllOn => false,
            Setting::Off(fk) => fk.split_once('.').is_some_and(|(t, _)| t == table),
            Setting::AllOff => true,
        }
    }
}

/// The child tables of `auth_user` the workload's actions write (its mix gives them weight),
/// in [`USER_TABLES`] order, with their user column.
pub fn written_tables(w: &Workload) -> Vec<(&'static str, &'static str)> {
    let m = w.mix.get_ref();
    let weights = [
        m.enroll + m.get_or_create + m.get_or_create_new_user,
        m.bookmark_add + m.bookmark_delete,
        m.studentmodule,
        m.completion,
    ];
    USER_TABLES.iter().zip(weights).filter(|(_, w)| *w > 0).map(|(&tc, _)| tc).collect()
}

/// How the schema relates a written child table to `auth_user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildFk {
    /// `table.column`.
    pub fk: String,
    pub table: String,
    /// The DDL declares the constraint (false: Django's `db_constraint=False`, a reference of the
    /// schema's references file only, or none at all).
    pub declared: bool,
    /// Django's models know the reference (declared, or in the references file).
    pub known: bool,
}

/// The reference of each written child table's user column to `auth_user` in `catalog`.
pub fn child_fks(catalog: &Catalog, tables: &[(&str, &str)]) -> Vec<ChildFk> {
    let user = catalog.table_id("auth_user");
    tables
        .iter()
        .map(|&(t, c)| {
            let fks = catalog.table_id(t).map(|id| &catalog.tables[id]).and_then(|table| {
                let col = table.col(c)?;
                let mut on_col = table.fks.iter().filter(|fk| fk.cols == [col] && Some(fk.parent) == user);
                let first = on_col.clone().next()?;
                Some((on_col.any(|fk| !fk.logical), first.logical))
            });
            ChildFk {
                fk: format!("{t}.{c}"),
                table: t.to_string(),
                declared: fks.is_some_and(|(declared, _)| declared),
                known: fks.is_some(),
            }
        })
        .collect()
}

/// The settings to compare: all on, each declared FK off alone (when there are two or more),
/// all off.
pub fn settings(fks: &[ChildFk]) -> Vec<Setting> {
    let declared: Vec<&ChildFk> = fks.iter().filter(|f| f.declared).collect();
    let mut out = vec![Setting::AllOn];
    if declared.len() > 1 {
        out.extend(declared.iter().map(|f| Setting::Off(f.fk.clone())));
    }
    out.push(Setting::AllOff);
    out
}
