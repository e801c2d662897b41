//! Value parsers of the command line's numbers and lists: each refuses what cannot be used, with
//! a message that names the flag and what it takes (clap exits 2 and prints it).

/// `--sample`, `--runs`: a count of at least one (clap's message names the range).
pub fn at_least_one() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..)
}

/// `--seconds`: a finite number of seconds above 0.
pub fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err("--seconds must be a positive number of seconds (finite, above 0)".into()),
    }
}

/// `--permutation`: at least one step name.
pub fn permutation(s: &str) -> Result<String, String> {
    if s.split_whitespace().next().is_none() {
        return Err("--permutation needs at least one step name (\"s1a s2a s1b ...\")".into());
    }
    Ok(s.to_string())
}

/// `--threads`: 1 to 1024 worker threads.
pub fn threads() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=1024)
}
