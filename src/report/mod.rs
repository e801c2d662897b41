//! Reports of runs: the isolationtester-style transcript and the JSON Lines contract.

pub mod json;
pub mod text;
