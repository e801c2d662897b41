//! MariaDB's choice of the index a locking statement scans, computed as its optimizer computes it
//! from the model's own index trees: the index decides which gap and next-key locks are taken.
//!
//! - **UPDATE and DELETE** (single table: `mysql_update` / `mysql_delete` -> `SQL_SELECT::
//!   test_quick_select`, opt_range.cc) never use `const` or `ref`: the bar is the full clustered
//!   scan, and an index's range plan replaces the best so far only when strictly cheaper, indexes
//!   visited in the server's key order (`sort_keys`, sql_table.cc: PRIMARY, UNIQUE NOT NULL, other
//!   UNIQUE, the rest; declaration order within each group).
//! - **A locking SELECT** (`make_join_statistics`, sql_select.cc) first reads a table `const` when
//!   every column of a unique index (in key order) is equal to a constant; otherwise the same
//!   comparison. Where `best_access_path` may differ (an index-only plan on a covering index, a
//!   `ref` estimated from `rec_per_key`), the model says it cannot decide.
//!
//! Costs, for tables whose indexes fit in one 16 KiB page (the model's "one page per index"):
//! full scan `3 + N/5` (`ha_innobase::scan_time` + `records/TIME_FOR_COMPARE` + 2); a secondary
//! index with `r` intervals holding `K` records `0.125 r + 1.2 K + 0.2 K len/16385 + 0.02`
//! (`handler::multi_range_read_info_const`: `keyread_time`, `IDX_LOOKUP_COST`, `read_time`,
//! `TIME_FOR_COMPARE`, `MULTI_RANGE_READ_SETUP_COST`), `len` its key length plus the primary key's;
//! PRIMARY `0.125 r + L + K/U + 0.2 K + 0.02`, `L` its point lookups, `U = 32768 / minimum record
//! length` (`ha_innobase::read_time`, `estimate_rows_upper_bound`). `N` is the table's row counter
//! (`stat_n_rows`: every insert adds 1 and every delete-mark takes 1 at once, whoever's transaction
//! it is); `K` counts the index records physically in each interval, uncommitted and delete-marked
//! ones included (`records_in_range`: a B-tree dive; 0 counts 1), except that a point on every
//! column of a unique index counts 1 unlooked. A non-unique secondary index is extended with the
//! primary key (`extended_keys`). The figures were checked against MariaDB 10.11's optimizer trace.

use super::InnoDb;
use crate::engine::{EngineError, Parts};
use crate::sql::plan::{CmpOp, Cond, SortKey};
use crate::sql::{Column, Filter, Projection, Table, Value};
use crate::store::Store;
use std::ops::Bound;

/// A bound on a column: the value and whether it is included.
pub(super) type ColBound = Option<(Value, bool)>;

/// One index range to scan: an equality prefix, and optionally bounds on the next column.
#[derive(Debug, Clone)]
pub(super) struct Range {
    pub prefix: Vec<Value>,
    /// Equality-only access (InnoDB's ROW_SEL_EXACT_PREFIX): a mismatch ends the range with a gap lock.
    pub exact: bool,
    pub lower: ColBound,
    pub upper: ColBound,
}

/// The scan a statement makes: which index, which ranges, and whether it is a unique search.
#[derive(Debug, Clone)]
pub(super) struct Path {
    pub ix: usize,
    pub ranges: Vec<Range>,
    pub unique: bool,
    /// Why MariaDB may scan otherwise (the model scans this path), when it cannot be decided.
    pub undecided: Option<String>,
}

impl Path {
    fn full_scan() -> Path {
        Path {
            ix: 0,
            ranges: vec![Range { prefix: vec![], exact: false, lower: None, upper: None }],
            unique: false,
            undecided: None,
        }
    }

    /// The index name, or `full scan`.
    pub fn name(&self, table: &Table) -> String {
        if self.ranges.len() == 1
            && self.ranges[0].prefix.is_empty()
            && self.ranges[0].lower.is_none()
            && self.ranges[0].upper.is_none()
        {
            "full scan".into()
        } else {
            table.indexes[self.ix].name.clone()
        }
    }
}

/// What kind of statement is choosing.
#[derive(Debug, Clone, Copy)]
pub(super) enum Chooser<'p> {
    /// UPDATE or DELETE.
    Change,
    /// SELECT with a locking clause (or any SELECT inside a SERIALIZABLE block), and its columns.
    Select(&'p Projection),
}

fn range_bounds(filter: &Filter, col: usize) -> (ColBound, ColBound) {
    let (mut lo, mut hi) = (None, None);
    for c in &filter.conds {
        if let Cond::Cmp(cc, op, v) = c {
            if *cc != col || v.is_null() {
                continue;
            }
            match op {
                CmpOp::Gt => lo = Some((v.clone(), false)),
                CmpOp::Ge => lo = Some((v.clone(), true)),
                CmpOp::Lt => hi = Some((v.clone(), false)),
                CmpOp::Le => hi = Some((v.clone(), true)),
                _ => {}
            }
        }
    }
    (lo, hi)
}

fn in_list(filter: &Filter, col: usize) -> Option<Vec<Value>> {
    filter.conds.iter().find_map(|c| match c {
        Cond::In(cc, vs) if *cc == col => {
            let mut vs: Vec<Value> = vs.iter().filter(|v| !v.is_null()).cloned().collect();
            vs.sort();
            vs.dedup();
            Some(vs)
        }
        _ => None,
    })
}

/// The server's key order (`sort_keys`): PRIMARY, UNIQUE with only NOT NULL columns, other UNIQUE,
/// the rest, each group in the order the indexes were made.
fn key_order(t: &Table) -> Vec<usize> {
    let group = |ix: usize| {
        let index = &t.indexes[ix];
        match (index.clustered, index.unique) {
            (true, _) => 0,
            (false, true) if index.cols.iter().all(|&c| t.columns[c].not_null) => 1,
            (false, true) => 2,
            (false, false) => 3,
        }
    };
    let mut order: Vec<usize> = (0..t.indexes.len()).collect();
    order.sort_by_key(|&ix| (group(ix), ix));
    order
}

/// A key part's length (`Field::key_length` + the length bytes of a variable column + the NULL byte).
fn part_len(c: &Column) -> f64 {
    f64::from(c.width.bytes + if c.width.variable { 2 } else { 0 } + u32::from(!c.not_null))
}

/// The clustered record's minimum length (`dict_index_calc_min_rec_len`, COMPACT format): 5 header
/// bytes, the NULL bitmap, fixed-size columns, 1 or 2 length bytes per variable column, and the
/// transaction id and roll pointer.
fn min_rec_len(t: &Table) -> f64 {
    let nullable = t.columns.iter().filter(|c| !c.not_null).count() as u32;
    let mut len = 5 + nullable.div_ceil(8) + 6 + 7;
    for c in &t.columns {
        len += match (c.width.variable, c.width.bytes > 255) {
            (false, _) => c.width.bytes,
            (true, true) => 2,
            (true, false) => 1,
        };
    }
    f64::from(len)
}

/// The intervals of index `ix` for `filter`: equalities and IN lists on its leading key parts
/// (their cartesian product), then at most one range on the next part. None if it has none.
fn intervals(t: &Table, ix: usize, filter: &Filter) -> Option<(Vec<Range>, usize)> {
    let index = &t.indexes[ix];
    let mut parts: Vec<usize> = index.cols.clone();
    if !index.unique && !index.clustered {
        parts.extend(t.pk().iter().filter(|c| !index.cols.contains(c)));
    }
    let mut prefixes: Vec<Vec<Value>> = vec![Vec::new()];
    let mut n = 0;
    for &c in &parts {
        if let Some(v) = filter.eq_value(c) {
            prefixes.iter_mut().for_each(|p| p.push(v.clone()));
        } else if let Some(vs) = in_list(filter, c) {
            prefixes = prefixes
                .into_iter()
                .flat_map(|p| vs.iter().map(move |v| [p.clone(), vec![v.clone()]].concat()))
                .collect();
        } else {
            break;
        }
        n += 1;
    }
    let (lower, upper) = parts.get(n).map(|&c| range_bounds(filter, c)).unwrap_or((None, None));
    let ranged = lower.is_some() || upper.is_some();
    if n == 0 && !ranged {
        return None;
    }
    let ranges = prefixes
        .into_iter()
        .map(|prefix| Range { prefix, exact: !ranged, lower: lower.clone(), upper: upper.clone() })
        .collect();
    Some((ranges, n))
}

/// Which records to count: all that are physically there, or as if purge had removed the
/// committed delete-marked ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    Physical,
    Purged,
}

impl<P: Parts> InnoDb<P> {
    /// The path MariaDB takes for a statement on `table` with `filter`.
    pub(super) fn access_path(&self, table: usize, filter: &Filter, chooser: Chooser) -> Result<Path, EngineError> {
        let t = &self.cat.tables[table];
        if let Chooser::Select(_) = chooser {
            if let Some(path) = self.const_path(t, filter) {
                return Ok(path);
            }
        }
        let physical = self.cheapest(table, filter, Count::Physical)?;
        let purged = self.cheapest(table, filter, Count::Purged)?;
        let mut path = physical.clone();
        if physical.name(t) != purged.name(t) {
            path.undecided = Some(format!(
                "MariaDB scans {} or {}, depending on whether purge has removed rows deleted and committed",
                physical.name(t),
                purged.name(t)
            ));
        } else if let Some(why) = self.undecidable(t, filter, chooser, &path) {
            path.undecided = Some(why);
        }
        Ok(path)
    }

    /// `const` access: every column of a unique index equal to a constant, the first such index.
    fn const_path(&self, t: &Table, filter: &Filter) -> Option<Path> {
        key_order(t).into_iter().find_map(|ix| {
            let index = &t.indexes[ix];
            let vals: Option<Vec<Value>> = index.cols.iter().map(|&c| filter.eq_value(c).cloned()).collect();
            match vals {
                Some(prefix) if index.unique => Some(Path {
                    ix,
                    ranges: vec![Range { prefix, exact: true, lower: None, upper: None }],
                    unique: true,
                    undecided: None,
                }),
                _ => None,
            }
        })
    }

    /// `test_quick_select`: the full scan unless an index's range plan is strictly cheaper.
    ///
    /// What cannot change the answer is not counted, so that a statement reads (for the
    /// explorer's footprints) only the ranges and rows its choice depends on. First without the
    /// row count: an index whose cost with one record per interval already loses is not counted;
    /// if the best index then costs less than any full scan can (`3.2`, one row) and no other
    /// index could beat it with its records capped at the row count (at least one), that is the
    /// answer. Otherwise the table's rows are counted and every index compared as MariaDB does.
    fn cheapest(&self, table: usize, filter: &Filter, count: Count) -> Result<Path, EngineError> {
        let t = &self.cat.tables[table];
        let pk_len: f64 = t.pk().iter().map(|&c| part_len(&t.columns[c])).sum();
        let cost_of = |ix: usize, r: f64, k: f64, unique_point: bool| {
            if t.indexes[ix].clustered {
                let points = if unique_point { r } else { 0.0 };
                0.125 * r + points + k * min_rec_len(t) / 32768.0 + 0.2 * k + 0.02
            } else {
                let len: f64 = t.indexes[ix].cols.iter().map(|&c| part_len(&t.columns[c])).sum::<f64>() + pk_len;
                0.125 * r + 1.2 * k + 0.2 * k * len / 16385.0 + 0.02
            }
        };
        let candidates: Vec<(usize, Vec<Range>, bool)> = key_order(t)
            .into_iter()
            .filter_map(|ix| {
                let (ranges, n) = intervals(t, ix, filter)?;
                let index = &t.indexes[ix];
                Some((ix, ranges, index.unique && n == index.cols.len()))
            })
            .collect();
        let records = |ix: usize, ranges: &[Range], unique_point: bool| -> Result<f64, EngineError> {
            let mut k = 0.0;
            for range in ranges {
                k += if unique_point && range.exact {
                    1.0
                } else {
                    self.count_records(table, ix, Some(range), count, false)?.max(1) as f64
                };
            }
            Ok(k)
        };
        let path_of = |pos: usize| {
            let (ix, ranges, unique_point) = &candidates[pos];
            Path { ix: *ix, unique: *unique_point && ranges.len() == 1, ranges: ranges.clone(), undecided: None }
        };
        let least = |pos: usize| {
            let (ix, ranges, unique_point) = &candidates[pos];
            cost_of(*ix, ranges.len() as f64, 1.0, *unique_point)
        };
        // Without the row count.
        let mut best: Option<(usize, f64)> = None;
        for (pos, (ix, ranges, unique_point)) in candidates.iter().enumerate() {
            let r = ranges.len() as f64;
            if best.is_some_and(|(_, c)| cost_of(*ix, r, r, *unique_point) >= c) {
                continue;
            }
            let cost = cost_of(*ix, r, records(*ix, ranges, *unique_point)?, *unique_point);
            if best.is_none_or(|(_, c)| cost < c) {
                best = Some((pos, cost));
            }
        }
        if let Some((winner, cost)) = best {
            let unbeaten = (0..candidates.len()).filter(|&p| p != winner).all(|p| {
                if p < winner {
                    least(p) > cost
                } else {
                    least(p) >= cost
                }
            });
            if cost < 3.0 + 1.0 / 5.0 && unbeaten {
                return Ok(path_of(winner));
            }
        }
        // As MariaDB compares: from the full scan, each index's records capped at the row count.
        let rows = self.count_records(table, 0, None, count, true)?.max(1) as f64;
        let (mut best, mut best_cost) = (Path::full_scan(), 3.0 + rows / 5.0);
        for (pos, (ix, ranges, unique_point)) in candidates.iter().enumerate() {
            let k = records(*ix, ranges, *unique_point)?.min(rows);
            let cost = cost_of(*ix, ranges.len() as f64, k, *unique_point);
            if cost < best_cost {
                best_cost = cost;
                best = path_of(pos);
            }
        }
        Ok(best)
    }

    /// The records of index `ix` in range `r` (all of them with None). Delete-marked records are
    /// counted (`records_in_range`), unless `count` is `Purged` and their deleter has committed,
    /// or this is the row counter (`counter`: `stat_n_rows` goes down at the delete-mark).
    fn count_records(
        &self,
        table: usize,
        ix: usize,
        r: Option<&Range>,
        count: Count,
        counter: bool,
    ) -> Result<usize, EngineError> {
        let tree = (table as u32, ix as u32);
        let start: Vec<Value> = match r {
            None => Vec::new(),
            Some(r) => {
                let mut p = r.prefix.clone();
                if let Some((v, _)) = &r.lower {
                    p.push(v.clone());
                }
                p
            }
        };
        let mut n = 0;
        let mut from: Bound<Vec<Value>> = Bound::Included(start);
        loop {
            let next = match &from {
                Bound::Included(k) => self.store.seek(tree, Bound::Included(&k[..]))?,
                Bound::Excluded(k) => self.store.seek(tree, Bound::Excluded(&k[..]))?,
                Bound::Unbounded => None,
            };
            let Some((key, rec)) = next else { break };
            if let Some(r) = r {
                let in_prefix = key.len() >= r.prefix.len() && key[..r.prefix.len()] == r.prefix[..];
                let after = |b: &ColBound, below: bool| {
                    b.as_ref().is_some_and(|(v, incl)| {
                        let k = &key[r.prefix.len()];
                        if below {
                            k < v || (!incl && k == v)
                        } else {
                            k > v || (!incl && k == v)
                        }
                    })
                };
                if !in_prefix || after(&r.upper, false) {
                    break;
                }
                if after(&r.lower, true) {
                    from = Bound::Excluded(key.to_vec());
                    continue;
                }
            }
            let gone = rec.deleted() && (counter || (count == Count::Purged && !self.is_active(rec.trx())));
            n += usize::from(!gone);
            from = Bound::Excluded(key.to_vec());
        }
        Ok(n)
    }

    /// Shapes where MariaDB's choice rests on what the model does not compute.
    fn undecidable(&self, t: &Table, filter: &Filter, chooser: Chooser, path: &Path) -> Option<String> {
        let leads = |c: usize| t.indexes.iter().any(|ix| ix.cols.first() == Some(&c));
        if let Some(c) = filter.conds.iter().find_map(|c| match c {
            Cond::IsNull(col, true) if leads(*col) => Some(*col),
            _ => None,
        }) {
            return Some(format!("an IS NULL lookup on `{}` (ref_or_null) is not modelled", t.columns[c].name));
        }
        let Chooser::Select(proj) = chooser else { return None };
        let mut used: Vec<usize> = filter.conds.iter().map(Cond::col).collect();
        match proj {
            Projection::Star => used.extend(0..t.columns.len()),
            Projection::Cols(cs) => used.extend(cs),
            Projection::CountStar | Projection::One | Projection::SystemColumns(_) => {}
        }
        let covering = (1..t.indexes.len()).find(|&ix| {
            let index = &t.indexes[ix];
            used.iter().all(|c| index.cols.contains(c) || t.pk().contains(c))
        });
        if let Some(ix) = covering {
            return Some(format!("an index-only plan on `{}` may be cheaper (not modelled)", t.indexes[ix].name));
        }
        let ref_estimate = (1..t.indexes.len()).find(|&ix| {
            let cols = &t.indexes[ix].cols;
            let n = cols.iter().take_while(|&&c| filter.eq_value(c).is_some()).count();
            n > 0 && n < cols.len() && range_bounds(filter, cols[n]) != (None, None) && ix != path.ix
        });
        ref_estimate.map(|ix| {
            format!("`ref` on a prefix of `{}` is estimated from index statistics (rec_per_key)", t.indexes[ix].name)
        })
    }
}

impl<P: Parts> InnoDb<P> {
    /// ORDER BY and LIMIT on a locking read are modelled only where they change nothing in the
    /// plan: a scan of the primary key in its own order (ascending, ORDER BY a prefix of its
    /// columns or none), which the SQL layer stops after LIMIT rows. A secondary index, a filesort
    /// or a descending scan rests on MariaDB's `test_if_skip_sort_order`, which is not modelled.
    pub(super) fn check_ordered_scan(
        &self,
        table: usize,
        order: &[SortKey],
        limit: bool,
        path: &Path,
    ) -> Result<(), EngineError> {
        if order.is_empty() && !limit {
            return Ok(());
        }
        let t = &self.cat.tables[table];
        let pk_order = order.len() <= t.pk().len() && order.iter().zip(t.pk()).all(|(k, &c)| k.col == c && !k.desc);
        if path.ix == 0 && pk_order {
            return Ok(());
        }
        Err(EngineError::Unsupported(format!(
            "a locking read with ORDER BY / LIMIT on `{}` is not modelled on InnoDB except over the primary key in \
             ascending order",
            t.name
        )))
    }
}
