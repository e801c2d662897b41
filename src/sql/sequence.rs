//! PostgreSQL's sequences: their parameters (`pg_sequence`), their one data tuple (`last_value`,
//! `is_called`), the options of CREATE / ALTER SEQUENCE (`init_params`) and `nextval`'s step
//! (`nextval_internal`), all from src/backend/commands/sequence.c (PostgreSQL 15).

/// A sequence's parameters, its `pg_sequence` row (`seqstart`, `seqincrement`, `seqmin`,
/// `seqmax`, `seqcache`, `seqcycle`). The type is always bigint (`AS` is not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqParams {
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
}

/// The sequence relation's one tuple (`FormData_pg_sequence_data`; `log_cnt` changes no value a
/// session sees and is not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqData {
    pub last_value: i64,
    pub is_called: bool,
}

/// A sequence's parameters and data: what one relfilenode of it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqState {
    pub params: SeqParams,
    pub data: SeqData,
}

/// A sequence as CREATE SEQUENCE made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub name: String,
    pub created: SeqState,
}

/// One option of CREATE or ALTER SEQUENCE (gram.y `SeqOptElem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqOption {
    Increment(i64),
    /// `MINVALUE n`, or `NO MINVALUE` (None).
    Min(Option<i64>),
    /// `MAXVALUE n`, or `NO MAXVALUE` (None).
    Max(Option<i64>),
    Start(i64),
    /// `RESTART [WITH n]` (ALTER only): None restarts at the start value.
    Restart(Option<i64>),
    Cache(i64),
    Cycle(bool),
}

impl SeqOption {
    /// The option's name, as `init_params` reports a repeated one.
    fn kind(self) -> u8 {
        match self {
            SeqOption::Increment(_) => 0,
            SeqOption::Min(_) => 1,
            SeqOption::Max(_) => 2,
            SeqOption::Start(_) => 3,
            SeqOption::Restart(_) => 4,
            SeqOption::Cache(_) => 5,
            SeqOption::Cycle(_) => 6,
        }
    }
}

/// `init_params` (sequence.c): apply `options` to `state` (`is_init` for CREATE SEQUENCE, where
/// every option left out takes its default), with its checks and their messages. Every option
/// it takes sets `need_seq_rewrite`, so an ALTER SEQUENCE with any of them writes a new
/// relfilenode (the change is transactional).
pub fn init_params(state: &mut SeqState, options: &[SeqOption], is_init: bool) -> Result<(), String> {
    let find = |k: u8| options.iter().copied().find(|o| o.kind() == k);
    for (i, o) in options.iter().enumerate() {
        if options[..i].iter().any(|p| p.kind() == o.kind()) {
            return Err("conflicting or redundant options".into());
        }
    }
    let (p, d) = (&mut state.params, &mut state.data);
    match find(0) {
        Some(SeqOption::Increment(0)) => return Err("INCREMENT must not be zero".into()),
        Some(SeqOption::Increment(n)) => p.increment = n,
        _ if is_init => p.increment = 1,
        _ => {}
    }
    match find(6) {
        Some(SeqOption::Cycle(c)) => p.cycle = c,
        _ if is_init => p.cycle = false,
        _ => {}
    }
    // MAXVALUE / MINVALUE (NO ...: the type's bound, or -1 / 1 against the direction).
    match find(2) {
        Some(SeqOption::Max(Some(n))) => p.max = n,
        o if is_init || o.is_some() => p.max = if p.increment > 0 { i64::MAX } else { -1 },
        _ => {}
    }
    match find(1) {
        Some(SeqOption::Min(Some(n))) => p.min = n,
        o if is_init || o.is_some() => p.min = if p.increment < 0 { i64::MIN } else { 1 },
        _ => {}
    }
    if p.min >= p.max {
        return Err(format!("MINVALUE ({}) must be less than MAXVALUE ({})", p.min, p.max));
    }
    match find(3) {
        Some(SeqOption::Start(n)) => p.start = n,
        _ if is_init => p.start = if p.increment > 0 { p.min } else { p.max },
        _ => {}
    }
    if p.start < p.min {
        return Err(format!("START value ({}) cannot be less than MINVALUE ({})", p.start, p.min));
    }
    if p.start > p.max {
        return Err(format!("START value ({}) cannot be greater than MAXVALUE ({})", p.start, p.max));
    }
    match find(4) {
        Some(SeqOption::Restart(n)) => {
            d.last_value = n.unwrap_or(p.start);
            d.is_called = false;
        }
        _ if is_init => {
            d.last_value = p.start;
            d.is_called = false;
        }
        _ => {}
    }
    // The RESTART value, or the current one when MINVALUE / MAXVALUE change.
    if d.last_value < p.min {
        return Err(format!("RESTART value ({}) cannot be less than MINVALUE ({})", d.last_value, p.min));
    }
    if d.last_value > p.max {
        return Err(format!("RESTART value ({}) cannot be greater than MAXVALUE ({})", d.last_value, p.max));
    }
    match find(5) {
        Some(SeqOption::Cache(n)) if n <= 0 => return Err(format!("CACHE ({n}) must be greater than zero")),
        Some(SeqOption::Cache(n)) => p.cache = n,
        _ if is_init => p.cache = 1,
        _ => {}
    }
    Ok(())
}

/// A new sequence's state: `init_params` with `is_init` from the defaults.
pub fn created(options: &[SeqOption]) -> Result<SeqState, String> {
    let zero = SeqParams { start: 0, increment: 0, min: 0, max: 0, cache: 0, cycle: false };
    let mut state = SeqState { params: zero, data: SeqData { last_value: 0, is_called: false } };
    init_params(&mut state, options, true)?;
    Ok(state)
}

/// One `nextval` of sequence `name` (`nextval_internal` with a cache of 1, so no value is
/// fetched ahead): the first call after CREATE or RESTART returns `last_value` itself; later ones
/// add the increment, unless that passes MAXVALUE (MINVALUE, descending): then a cycling
/// sequence wraps to MINVALUE (MAXVALUE) and any other fails with "nextval: reached maximum value
/// of sequence". The tuple is changed in place, so the value is never given back.
pub fn next_value(data: &mut SeqData, p: &SeqParams, name: &str) -> Result<i64, String> {
    if !data.is_called {
        data.is_called = true;
        return Ok(data.last_value);
    }
    let (next, incby) = (data.last_value, p.increment);
    let value = if incby > 0 {
        // "check for overflow" without overflowing: next > maxv - incby.
        if (p.max >= 0 && next > p.max - incby) || (p.max < 0 && next + incby > p.max) {
            if !p.cycle {
                return Err(format!("nextval: reached maximum value of sequence \"{name}\" ({})", p.max));
            }
            p.min
        } else {
            next + incby
        }
    } else if (p.min < 0 && next < p.min - incby) || (p.min >= 0 && next + incby < p.min) {
        if !p.cycle {
            return Err(format!("nextval: reached minimum value of sequence \"{name}\" ({})", p.min));
        }
        p.max
    } else {
        next + incby
    };
    data.last_value = value;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_sequence_counts_from_one_to_its_maximum() {
        let mut s = created(&[SeqOption::Max(Some(3))]).unwrap();
        let vals: Vec<_> = (0..3).map(|_| next_value(&mut s.data, &s.params, "q").unwrap()).collect();
        assert_eq!(vals, [1, 2, 3]);
        assert_eq!(
            next_value(&mut s.data, &s.params, "q").unwrap_err(),
            "nextval: reached maximum value of sequence \"q\" (3)"
        );
        // The failed call changed nothing.
        assert_eq!(s.data, SeqData { last_value: 3, is_called: true });
    }

    #[test]
    fn restart_and_cycle_and_descending() {
        let mut s = created(&[SeqOption::Max(Some(3)), SeqOption::Cycle(true)]).unwrap();
        init_params(&mut s, &[SeqOption::Restart(Some(3))], false).unwrap();
        let vals: Vec<_> = (0..3).map(|_| next_value(&mut s.data, &s.params, "q").unwrap()).collect();
        assert_eq!(vals, [3, 1, 2]);
        let mut d = created(&[SeqOption::Increment(-2)]).unwrap();
        assert_eq!((d.params.max, d.params.min, d.data.last_value), (-1, i64::MIN, -1));
        assert_eq!(next_value(&mut d.data, &d.params, "d").unwrap(), -1);
        assert_eq!(next_value(&mut d.data, &d.params, "d").unwrap(), -3);
    }

    #[test]
    fn alter_checks_the_current_value_against_new_bounds() {
        let mut s = created(&[]).unwrap();
        s.data = SeqData { last_value: 15, is_called: true };
        let before = s;
        let e = init_params(&mut s, &[SeqOption::Max(Some(10))], false).unwrap_err();
        assert_eq!(e, "RESTART value (15) cannot be greater than MAXVALUE (10)");
        let mut s = before;
        init_params(&mut s, &[SeqOption::Max(Some(20))], false).unwrap();
        assert_eq!((s.params.max, s.data.last_value), (20, 15));
        assert!(created(&[SeqOption::Max(Some(1))])
            .unwrap_err()
            .contains("MINVALUE (1) must be less than MAXVALUE (1)"));
        assert_eq!(
            created(&[SeqOption::Cache(2), SeqOption::Cache(3)]).unwrap_err(),
            "conflicting or redundant options"
        );
    }
}
