//! Seeing a run: `--fk both` (FK on beside FK off) for `run` and `explore`, and `run --graph DIR`
//! (the wait-for graph of each waiting step as DOT, a timeline per permutation as SVG).

use crate::cli::{explore_bar, fk_settings, Fk, FkArg, Result};
use crate::interrupt;
use fksim::engine::EngineKind;
use fksim::engine::{Engine, EngineTask, Plain};
use fksim::explore::Tracing;
use fksim::explore::{explore_kind_until, Space};
use fksim::report::{graph, json, side_by_side, text, timeline};
use fksim::run::{PermutationReport, Runner};
use fksim::scenario::Scenario;
use fksim::spec::PermStep;
use fksim::store::MemStore;
use fksim::Error;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Does `--fk` say `both`? Only alone: with `off=TABLE.COLUMN` (or another value) it is refused.
pub fn fk_both(args: &[FkArg]) -> Result<bool> {
    if !args.contains(&FkArg::Both) {
        return Ok(false);
    }
    if args.iter().any(|a| matches!(a, FkArg::Off(_))) {
        return Err(Error::Usage(
            "--fk both runs every foreign key on and then every one off; it cannot be combined with --fk off=TABLE.COLUMN \
             (run that one on its own)"
                .into(),
        ));
    }
    if args.len() > 1 {
        return Err(Error::Usage("--fk both is given alone, without --fk on or --fk off".into()));
    }
    Ok(true)
}

/// The `--fk` values of each side of `--fk both`: FK on, then FK off.
pub const BOTH: [(Fk, &str); 2] = [(Fk::On, "on"), (Fk::Off, "off")];

/// Is it `--fk both`, and the `--fk` values of each run: FK on and FK off for `both`, else the
/// ones given.
pub fn fk_sides(args: &[FkArg]) -> Result<(bool, Vec<Vec<FkArg>>)> {
    Ok(if fk_both(args)? {
        (true, BOTH.iter().map(|(fk, _)| vec![FkArg::All(*fk)]).collect())
    } else {
        (false, vec![args.to_vec()])
    })
}

/// One exploration of `sc` (bound with `fk_args`), its progress on stderr.
pub fn explore_one(
    engine: EngineKind,
    sc: &Scenario,
    fk: Fk,
    fk_args: &[FkArg],
    space: Space,
    total: u128,
    threads: usize,
) -> Result<fksim::explore::Summary> {
    let started = Instant::now();
    let bar = explore_bar(space, total);
    let progress = |done: u64| bar.set_position(done);
    let stop = interrupt::graceful();
    let mut summary = explore_kind_until(engine, sc, space, threads, &progress, stop)?;
    bar.finish_and_clear();
    summary.fk = format!("{fk:?}").to_lowercase();
    for off in fk_settings(fk_args, None)?.1.fk_off {
        summary.fk.push_str(&format!(" off={off}"));
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "fksim explore: fk {}: {} interleavings run in {secs:.2} s on {threads} threads ({:.0} interleavings/s)",
        summary.fk,
        summary.explored,
        summary.explored as f64 / secs.max(1e-9)
    );
    Ok(summary)
}

/// `fksim run --fk both`: each permutation run FK on and FK off, side by side (or, with `--json`,
/// FK on's lines and then FK off's, each with `"fk": "on"` or `"fk": "off"`), in memory.
pub struct RunBoth<'a> {
    /// The scenario bound FK on, and FK off.
    pub sides: [&'a Scenario; 2],
    pub as_json: bool,
    pub only: Option<Vec<PermStep>>,
    /// The header line (engine, isolation, which side is which).
    pub first_line: String,
    /// `--graph DIR`: DIR/fk-on and DIR/fk-off, with the titles' engine and FK setting.
    pub graphs: Option<[(GraphDir, String); 2]>,
}

/// `--graph DIR` with `--fk both`: the pictures of each side in a directory of their own.
pub fn graph_dirs(dir: &Path, engine: &str) -> Result<[(GraphDir, String); 2]> {
    GraphDir::new(dir)?;
    let side = |(_, fk): (Fk, &str)| -> Result<(GraphDir, String)> {
        Ok((GraphDir::new(&dir.join(format!("fk-{fk}")))?, format!("{engine}, fk {fk}")))
    };
    Ok([side(BOTH[0])?, side(BOTH[1])?])
}

impl EngineTask for RunBoth<'_> {
    type Output = Result<()>;
    fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(mut self) -> Result<()>
    where
        E::With<Tracing>: Clone,
    {
        let [on, off] = self.sides;
        let mut runners = [Runner::<E>::new(on, MemStore::default())?, Runner::<E>::new(off, MemStore::default())?];
        let mut out = BufWriter::new(std::io::stdout().lock());
        let io = || Error::io("writing the output");
        if !self.as_json {
            out.write_all(self.first_line.as_bytes()).map_err(io())?;
            out.write_all(text::header(on).as_bytes()).map_err(io())?;
        }
        let perms: Box<dyn Iterator<Item = Vec<PermStep>>> = match self.only {
            Some(p) => Box::new(std::iter::once(p)),
            None => on.permutations(),
        };
        for (n, perm) in perms.enumerate() {
            if interrupt::interrupted() {
                break;
            }
            let reports: Vec<PermutationReport> =
                runners.iter_mut().map(|r| r.run(&perm)).collect::<std::result::Result<_, _>>()?;
            let chunk = if self.as_json {
                format!(
                    "{}{}",
                    json::tagged(&json::permutation(&reports[0]), "fk", BOTH[0].1),
                    json::tagged(&json::permutation(&reports[1]), "fk", BOTH[1].1)
                )
            } else {
                let parts = [text::permutation_parts(on, &reports[0]), text::permutation_parts(off, &reports[1])];
                side_by_side::side_by_side(&parts[0], &parts[1], side_by_side::COLUMN_WIDTH)
            };
            out.write_all(chunk.as_bytes()).map_err(io())?;
            for (side, (dir, what)) in self.graphs.iter_mut().flatten().enumerate() {
                dir.write(self.sides[side], n + 1, &reports[side], what)?;
            }
        }
        for (dir, _) in self.graphs.iter().flatten() {
            if self.as_json {
                eprintln!("fksim: {}", dir.summary());
            } else {
                writeln!(out, "{}", dir.summary()).map_err(io())?;
            }
        }
        out.flush().map_err(io())
    }
}

/// `--graph DIR`: where the pictures of a run go, and how many were written.
pub struct GraphDir {
    dir: PathBuf,
    dots: usize,
    timelines: usize,
}

impl GraphDir {
    /// `dir`, created if missing; a path that exists and is not a directory is refused.
    pub fn new(dir: &Path) -> Result<GraphDir> {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::Usage(format!("--graph {}: exists and is not a directory", dir.display())));
        }
        std::fs::create_dir_all(dir).map_err(Error::io(format!("creating --graph {}", dir.display())))?;
        Ok(GraphDir { dir: dir.to_path_buf(), dots: 0, timelines: 0 })
    }

    /// The pictures of permutation `n` (counted from 1): `N-STEP.dot` for each step that waits or
    /// reports a deadlock (`N-STEP-2.dot` for the same step's second, in a permutation that
    /// repeats it), and `N.svg`; `what` (the engine and FK setting) goes into their titles.
    pub fn write(&mut self, sc: &Scenario, n: usize, report: &PermutationReport, what: &str) -> Result<()> {
        let perm = report.steps.join(" ");
        let mut names: Vec<String> = Vec::new();
        for g in graph::step_graphs(sc, report) {
            // A quoted step name may hold any character: keep those a file name can.
            let step: String =
                g.step.chars().map(|c| if c.is_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
            let base = format!("{n}-{step}");
            let repeats = names.iter().filter(|x| **x == base).count();
            let file = if repeats == 0 { format!("{base}.dot") } else { format!("{base}-{}.dot", repeats + 1) };
            names.push(base);
            let title = format!("permutation {n} ({perm}), {what}: wait-for graph at step {}", g.step);
            self.put(&file, &graph::to_dot(&g, &title))?;
            self.dots += 1;
        }
        let title = format!("permutation {n}: {perm} ({what})");
        self.put(&format!("{n}.svg"), &timeline::timeline_svg(sc, report, &title)?)?;
        self.timelines += 1;
        Ok(())
    }

    fn put(&self, file: &str, content: &str) -> Result<()> {
        let path = self.dir.join(file);
        std::fs::write(&path, content).map_err(Error::io(format!("writing {}", path.display())))
    }

    /// The line printed at the end of the run.
    pub fn summary(&self) -> String {
        format!("graphs: {} DOT files and {} timelines in {}", self.dots, self.timelines, self.dir.display())
    }
}
