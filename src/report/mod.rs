//! Reports of runs: the isolationtester-style transcript and the JSON Lines contract, FK on and
//! off side by side, and the pictures of a run (wait-for graphs as DOT, timelines as SVG).

pub mod graph;
pub mod json;
pub mod side_by_side;
pub mod text;
pub mod timeline;
