//! The `fksim` command line: the commands, their arguments, and what each one runs.

/// The model allocates many small values while exploring; mimalloc makes that about twice as fast.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::conform_specs::{conform, conform_fk_arg, conform_fks, ConformArgs, ConformFk};
use crate::interrupt::{self, DataDir, EXIT_INTERRUPTED};
use crate::see::{self, GraphDir, RunBoth};
use crate::{args, calibrate, conform_load, load, stress};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use fksim::conform::Timing;
use fksim::engine::{Engine, EngineKind, EngineTask, Plain, StoreOf};
use fksim::explore::{Space, Tracing};
use fksim::report::{json, text};
use fksim::run::Runner;
use fksim::scenario::{LoadError, Scenario};
use fksim::schema::{Base, SchemaFile};
use fksim::spec::parse_spec_file;
use fksim::store::{MemStore, SledStore};
use fksim::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, Error>;

/// `--engine`: the engine names, parsed into the library's kinds.
pub fn engine_arg() -> impl TypedValueParser<Value = EngineKind> {
    let names: Vec<&'static str> = EngineKind::ALL.iter().map(|k| k.name()).collect();
    PossibleValuesParser::new(names).map(|name| EngineKind::from_name(&name).expect("a possible value"))
}

/// `--store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    Memory,
    Sled,
}

#[derive(Parser)]
#[command(
    name = "fksim",
    version,
    about = "Model InnoDB's and PostgreSQL's row locks to see what dropping a foreign key does"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fk {
    On,
    Off,
}

/// The engines `--engine` of `conform` names: one, or `both`.
#[derive(Debug, Clone)]
pub struct Engines(pub Vec<EngineKind>);

pub fn engines_arg() -> impl TypedValueParser<Value = Engines> {
    let mut names: Vec<&'static str> = EngineKind::ALL.iter().map(|k| k.name()).collect();
    names.push("both");
    PossibleValuesParser::new(names).map(|name| match EngineKind::from_name(&name) {
        Some(kind) => Engines(vec![kind]),
        None => Engines(EngineKind::ALL.to_vec()),
    })
}

/// `--fk` of `conform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which2 {
    On,
    Off,
    Both,
}

impl Which2 {
    /// The FK settings to run, FK on first.
    pub fn settings(self) -> Vec<bool> {
        match self {
            Which2::On => vec![true],
            Which2::Off => vec![false],
            Which2::Both => vec![true, false],
        }
    }
}

/// One `--fk` value: `on`, `off`, or `off=TABLE.COLUMN[,TABLE.COLUMN...]` (only those foreign
/// keys unenforced, the others on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FkArg {
    All(Fk),
    Off(Vec<String>),
    /// `both` (run and explore): FK on and FK off, side by side.
    Both,
}

pub fn fk_arg(s: &str) -> std::result::Result<FkArg, String> {
    match s {
        "on" => Ok(FkArg::All(Fk::On)),
        "off" => Ok(FkArg::All(Fk::Off)),
        "both" => Ok(FkArg::Both),
        _ => match s.strip_prefix("off=") {
            Some(list) => Ok(FkArg::Off(list.split(',').map(|x| x.trim().to_string()).collect())),
            None => Err("expected on, off, both (run, explore) or off=TABLE.COLUMN[,TABLE.COLUMN...]".into()),
        },
    }
}

/// The `--fk` values of a command: the global setting (`off` if any says so) and the foreign
/// keys `off=` names.
pub fn fk_settings(args: &[FkArg], schema: Option<&std::path::Path>) -> Result<(Fk, Base)> {
    if args.contains(&FkArg::Both) {
        return Err(Error::Usage(
            "--fk both is for fksim run and fksim explore (load and conform have their own)".into(),
        ));
    }
    let fk = if args.contains(&FkArg::All(Fk::Off)) { Fk::Off } else { Fk::On };
    let fk_off = args.iter().flat_map(|a| if let FkArg::Off(v) = a { v.clone() } else { vec![] }).collect();
    let schema = schema.map(SchemaFile::read).transpose()?;
    Ok((fk, Base { schema, fk_off }))
}

#[derive(clap::Args)]
struct Common {
    /// The isolation spec file (PostgreSQL isolationtester format).
    spec: PathBuf,
    /// The engine whose locking rules to model.
    #[arg(long, value_parser = engine_arg(), default_value = "innodb")]
    engine: EngineKind,
    /// `off` strips every FOREIGN KEY / REFERENCES clause and keeps the index on the column;
    /// `off=TABLE.COLUMN` (repeatable, or comma-separated) only that one; `both` (run, explore)
    /// runs FK on and FK off and shows them side by side.
    #[arg(long = "fk", value_parser = fk_arg, default_value = "on")]
    fk_args: Vec<FkArg>,
    /// DDL to create before the spec's setup runs (`python manage.py sqlmigrate` output).
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// Where rows live: in memory (fast) or in a sled database in `--data-dir` (removed at the
    /// end); `explore` runs in memory only.
    #[arg(long, value_enum, default_value = "memory")]
    store: StoreKind,
    /// With `--store sled`: the directory of its files, missing or empty, removed at the end and
    /// on Ctrl-C (default: a fresh temporary directory, printed).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl Common {
    /// The store `--store` and `--data-dir` ask for.
    fn store(&self) -> Result<StoreChoice> {
        match (self.store, &self.data_dir) {
            (StoreKind::Memory, Some(_)) => Err(Error::Usage("--data-dir is for --store sled".into())),
            (StoreKind::Memory, None) => Ok(StoreChoice::Memory),
            (StoreKind::Sled, dir) => Ok(StoreChoice::Sled(dir.clone())),
        }
    }
}

/// Where a run keeps its rows.
#[derive(PartialEq, Eq)]
enum StoreChoice {
    Memory,
    /// In sled, in this directory (or a fresh one).
    Sled(Option<PathBuf>),
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every permutation of a spec (its permutation lines, or every interleaving).
    Run {
        #[command(flatten)]
        common: Common,
        /// JSON Lines instead of the transcript.
        #[arg(long)]
        json: bool,
        /// Run this permutation ("s1a s2a s1b ...") instead of the spec's.
        #[arg(long, value_parser = args::permutation)]
        permutation: Option<String>,
        /// Start every session with `SET NAME = VALUE` (a server default, e.g. `lock_timeout=0`
        /// for PostgreSQL's own isolation specs); repeatable.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Write each waiting step's wait-for graph (DIR/N-STEP.dot, Graphviz) and each
        /// permutation's timeline (DIR/N.svg), N counting permutations from 1; with `--fk both`
        /// in DIR/fk-on and DIR/fk-off.
        #[arg(long, value_name = "DIR")]
        graph: Option<PathBuf>,
    },
    /// Run every interleaving of a spec's sessions (or a seeded random sample) and summarise the
    /// outcomes: orphans, deadlocks, errors, waits on the parent table, one example each.
    Explore {
        #[command(flatten)]
        common: Common,
        /// One JSON object (the summary) instead of the text.
        #[arg(long)]
        json: bool,
        /// Run this many random interleavings (drawn with replacement) instead of all of them; a
        /// number beyond the interleavings there are runs each of them once instead, and says so.
        #[arg(long, value_parser = args::at_least_one())]
        sample: Option<u64>,
        /// The seed of the random sample (printed when not given).
        #[arg(long, requires = "sample")]
        seed: Option<u64>,
        /// Worker threads (default: every core). The result does not depend on it.
        #[arg(long, value_parser = args::threads())]
        threads: Option<u64>,
        /// Run every interleaving, also those that only reorder commuting steps (by default each
        /// such class runs once, with sleep sets).
        #[arg(long, conflicts_with = "sample")]
        no_reduce: bool,
    },
    /// Run specs on the live MariaDB and PostgreSQL and compare each outcome with the model's;
    /// or, with `--load`, a workload's load run live beside the simulator's.
    Conform {
        /// Spec files.
        #[arg(required_unless_present = "load")]
        specs: Vec<PathBuf>,
        /// Run this workload's load live (client threads over real connections) and print it
        /// beside the simulator's run of the same settings and seed.
        #[arg(long, value_name = "WORKLOAD", conflicts_with_all = ["specs", "record"])]
        load: Option<PathBuf>,
        #[command(flatten)]
        settings: load::SettingsFlags,
        /// With `--load`: the seed of the clients' streams (printed when not given).
        #[arg(long, requires = "load")]
        seed: Option<u64>,
        /// With `--load`: one JSON line per engine and FK setting, and a ratio line per engine.
        #[arg(long, requires = "load")]
        json: bool,
        /// With `--load`: cost files for the simulated side (default: the shipped ones).
        #[arg(long, value_name = "FILE", requires = "load")]
        costs: Vec<PathBuf>,
        /// The engine whose live server and model to compare, or both.
        #[arg(long, value_parser = engines_arg(), default_value = "both")]
        engine: Engines,
        /// `on`, `off`, `both`, or `off=TABLE.COLUMN` (repeatable, or comma-separated): an FK-on
        /// run with only those constraints dropped (not recorded).
        #[arg(long, value_parser = conform_fk_arg, default_value = "both")]
        fk: Vec<ConformFk>,
        /// DDL created on the server (sent as the file has it) and in the model in place of the
        /// default schema, before the spec's setup; a spec may name its own (`# fksim-schema
        /// ENGINE: PATH`). With `--fk off` its foreign key constraints are dropped after it.
        #[arg(long, value_name = "FILE", conflicts_with = "load")]
        schema: Option<PathBuf>,
        /// Write the live outcomes to DIR/expected/NAME.ENGINE.fk-FK.jsonl.
        #[arg(long, value_name = "DIR")]
        record: Option<PathBuf>,
        /// MariaDB's server, user and database (`mysql://USER[:PASSWORD]@HOST:PORT/DB`; a password is
        /// never printed).
        #[arg(long, default_value = "mysql://root@127.0.0.1:3306/test")]
        mysql_url: String,
        /// PostgreSQL's server, user and database (`postgresql://USER[:PASSWORD]@HOST:PORT/DB`; a
        /// password is never printed).
        #[arg(long, default_value = "postgresql://postgres@127.0.0.1:5432/test")]
        postgres_url: String,
        /// A step still running this long after it was sent counts as waiting.
        #[arg(long, default_value_t = 600)]
        wait_ms: u64,
    },
    /// Run random scripts and schedules of a workload file (model/workloads/*.toml) and summarise
    /// orphans, errors and waits; `--write DIR` keeps each run as a spec whose first line is the
    /// `fksim run` command that replays it.
    Workload {
        /// The workload file (model/workloads/*.toml).
        file: PathBuf,
        /// The engine whose locking rules to model.
        #[arg(long, value_parser = engine_arg(), default_value = "innodb")]
        engine: EngineKind,
        /// `on`, `off`, or `off=TABLE.COLUMN` (repeatable): only that foreign key off.
        #[arg(long = "fk", value_parser = fk_arg, default_value = "off")]
        fk_args: Vec<FkArg>,
        /// DDL the runs start from (`python manage.py sqlmigrate` output) in place of the built-in
        /// tables.
        #[arg(long, value_name = "FILE")]
        schema: Option<PathBuf>,
        /// The seed (printed when not given).
        #[arg(long)]
        seed: Option<u64>,
        /// How many runs: each a random script per session and a random schedule of their steps.
        #[arg(long, default_value_t = 100, value_parser = args::at_least_one())]
        runs: u64,
        /// Keep each run as DIR/run-N.spec, whose first line is the `fksim run` command that
        /// replays it.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
    /// Simulate a workload's clients on a virtual clock, FK on and off: throughput, latency,
    /// lock waits, aborts and CPU, from the engines' own lock rules and a fitted cost model.
    Load(load::LoadArgs),
    /// From a schema and a workload to a verdict per FK and engine: the races explored, the
    /// workload's runs, the load swept over clients, FK on, each FK off, all off; writes
    /// report.md, report.json and SVG figures to --out.
    Report(crate::report::ReportArgs),
    /// Fit an engine's cost file (model/costs/*.toml) on its live server: each statement kind
    /// the load runs, one client at a time, FK on and off; the server's CPU time from /proc.
    Calibrate(calibrate::CalibrateArgs),
    /// Run a spec's sessions as real threads over the threaded engine, again and again with
    /// seeded random delays between steps, and check each run against the step runner's run of
    /// the order its steps reached the engine; exit 1 on a divergence.
    Stress(stress::StressArgs),
    /// Measure how many permutations per second the model runs on a spec.
    Bench {
        #[command(flatten)]
        common: Common,
        /// Run for at least this many seconds.
        #[arg(long, default_value_t = 3.0, value_parser = args::positive_seconds, allow_negative_numbers = true)]
        seconds: f64,
        /// One JSON object instead of the line of text.
        #[arg(long)]
        json: bool,
    },
}

/// Load and bind a spec on its `--schema`, with its `--fk`; every failure here is bad input.
fn load(common: &Common) -> Result<(Scenario, Fk)> {
    load_fk(common, &common.fk_args)
}

/// [`load`] with these `--fk` values.
fn load_fk(common: &Common, fk_args: &[FkArg]) -> Result<(Scenario, Fk)> {
    let schema = spec_schema(&common.spec, common.schema.as_deref(), common.engine)?;
    let (fk, base) = fk_settings(fk_args, schema.as_deref())?;
    let spec = parse_spec_file(&common.spec)?;
    Ok((base.scenario(spec, common.engine.schema(fk == Fk::On))?, fk))
}

/// Load and bind a spec for an engine, on the schema file it names for that engine (`#
/// fksim-schema ENGINE: PATH`) if any; every failure here is bad input.
pub fn load_as(path: &std::path::Path, engine: EngineKind, fk_on: bool) -> Result<Scenario> {
    let schema = spec_schema(path, None, engine)?;
    let base = Base { schema: schema.as_deref().map(SchemaFile::read).transpose()?, fk_off: Vec::new() };
    Ok(base.scenario(parse_spec_file(path)?, engine.schema(fk_on))?)
}

/// The schema file a spec runs on for `engine`: `--schema` if given, else the one the spec names
/// for the engine (`# fksim-schema ENGINE: PATH`, relative to the spec), else none.
pub fn spec_schema(
    spec: &std::path::Path,
    given: Option<&std::path::Path>,
    engine: EngineKind,
) -> Result<Option<PathBuf>> {
    if let Some(path) = given {
        return Ok(Some(path.to_path_buf()));
    }
    // A spec that cannot be read names no schema: parsing it reports why.
    let Ok(text) = std::fs::read_to_string(spec) else { return Ok(None) };
    Ok(fksim::schema::named_by_spec(spec, &text, engine.name())?)
}

/// The steps of a `--permutation` argument, each checked against the spec.
fn parse_permutation(sc: &Scenario, text: &str) -> Result<Vec<fksim::spec::PermStep>> {
    text.split_whitespace()
        .map(|name| {
            sc.spec
                .find_step(name)
                .map(|_| fksim::spec::PermStep { name: name.into(), markers: vec![], pos: Default::default() })
                .ok_or_else(|| {
                    Error::Load(LoadError {
                        file: sc.spec.file.clone(),
                        pos: Default::default(),
                        what: format!("unknown step `{name}` in --permutation"),
                    })
                })
        })
        .collect()
}

/// The most permutations `fksim run` starts on: each prints its transcript, and at a few thousand
/// permutations a second 100000 is already half a minute and a few hundred MB of text; beyond it
/// a random sample (`fksim explore --sample`) says more, sooner.
const MAX_RUN_PERMUTATIONS: u128 = 100_000;

/// Refuse, before anything runs, a `fksim run` of every interleaving when there are too many.
fn check_run_size(spec: &std::path::Path, count: u128) -> Result<()> {
    if count <= MAX_RUN_PERMUTATIONS {
        return Ok(());
    }
    // The count saturates at u128::MAX (spec::count_interleavings).
    let how_many = if count == u128::MAX { "more than 2^128".to_string() } else { count.to_string() };
    Err(Error::Usage(format!(
        "{}: {how_many} interleavings, and `fksim run` runs at most {MAX_RUN_PERMUTATIONS}; \
         sample them with `fksim explore {} --sample N`, or run one with --permutation",
        spec.display(),
        spec.display()
    )))
}

/// Work on an engine and the store `--store` chose.
trait StoreTask {
    fn run_on<E: Engine>(self, store: StoreOf<E>) -> Result<()>;
}

/// A [`StoreTask`] on the engine `--engine` chose.
struct OnStore<T>(StoreChoice, T);

impl<T: StoreTask> EngineTask for OnStore<T> {
    type Output = Result<()>;
    fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(self) -> Result<()>
    where
        E::With<Tracing>: Clone,
    {
        match self.0 {
            StoreChoice::Memory => self.1.run_on::<E>(MemStore::default()),
            StoreChoice::Sled(dir) => {
                // Dropped after the store (run_on owns it): the directory goes last.
                let dir = DataDir::new(dir.as_deref(), "sled")?;
                self.1.run_on::<E::With<Plain<SledStore>>>(SledStore::temporary_in(dir.path())?)
            }
        }
    }
}

/// `fksim run`: every permutation (or `only`), as a transcript or JSON Lines.
struct RunAll<'a> {
    sc: &'a Scenario,
    as_json: bool,
    only: Option<Vec<fksim::spec::PermStep>>,
    /// The transcript's first line: what the run models ([`run_first_line`]).
    first_line: String,
    /// `--graph DIR`, and the engine and FK setting for the pictures' titles.
    graphs: Option<(GraphDir, String)>,
}

/// The isolation level a session of `engine` starts with: InnoDB's REPEATABLE READ, PostgreSQL's
/// READ COMMITTED (each engine's `begin`, src/engine/innodb/mod.rs and src/engine/postgres/mod.rs).
fn server_default_isolation(engine: EngineKind) -> &'static str {
    match engine {
        EngineKind::Innodb => "repeatable read",
        EngineKind::Postgres => "read committed",
    }
}

/// The transcript's first line, an fksim note (`--`, as its wait notes) before isolationtester's
/// own: the engine, the FK setting and the isolation level the sessions start with.
fn run_first_line(common: &Common, both: bool) -> Result<String> {
    let fks = if both {
        "left fk on | right fk off".to_string()
    } else {
        let (fk, base) = fk_settings(&common.fk_args, None)?;
        let mut fks = format!("fk {}", if fk == Fk::On { "on" } else { "off" });
        for off in base.fk_off {
            fks.push_str(&format!(", off={off}"));
        }
        fks
    };
    Ok(format!(
        "-- fksim run: engine {}, {fks}, isolation {} (the server's default; sessions may SET their own)\n",
        common.engine.name(),
        server_default_isolation(common.engine)
    ))
}

impl StoreTask for RunAll<'_> {
    fn run_on<E: Engine>(mut self, store: StoreOf<E>) -> Result<()> {
        let sc = self.sc;
        let mut runner = Runner::<E>::new(sc, store)?;
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        let io = || Error::io("writing the output");
        if !self.as_json {
            out.write_all(self.first_line.as_bytes()).map_err(io())?;
            out.write_all(text::header(sc).as_bytes()).map_err(io())?;
        }
        let perms: Box<dyn Iterator<Item = Vec<fksim::spec::PermStep>>> = match self.only {
            Some(p) => Box::new(std::iter::once(p)),
            None => sc.permutations(),
        };
        let total = sc.permutation_count();
        let started = Instant::now();
        let mut last = started;
        for (n, perm) in perms.enumerate() {
            if interrupt::interrupted() {
                break;
            }
            let report = runner.run(&perm)?;
            let chunk = if self.as_json { json::permutation(&report) } else { text::permutation(sc, &report) };
            out.write_all(chunk.as_bytes()).map_err(io())?;
            if let Some((dir, what)) = &mut self.graphs {
                dir.write(sc, n + 1, &report, what)?;
            }
            if last.elapsed() > Duration::from_secs(2) {
                last = Instant::now();
                eprintln!("fksim: {} of {total} permutations ({:.0?})", n + 1, started.elapsed());
            }
        }
        match &self.graphs {
            Some((dir, _)) if self.as_json => eprintln!("fksim: {}", dir.summary()),
            Some((dir, _)) => writeln!(out, "{}", dir.summary()).map_err(io())?,
            None => {}
        }
        out.flush().map_err(io())
    }
}

/// `fksim bench`: the permutations, again and again, for `seconds`.
struct Bench<'a> {
    sc: &'a Scenario,
    common: &'a Common,
    fk: Fk,
    seconds: f64,
    as_json: bool,
}

impl StoreTask for Bench<'_> {
    fn run_on<E: Engine>(self, store: StoreOf<E>) -> Result<()> {
        let (sc, common) = (self.sc, self.common);
        let mut runner = Runner::<E>::new(sc, store)?;
        let perms: Vec<_> = sc.permutations().collect();
        let started = Instant::now();
        let mut runs: u64 = 0;
        let mut checksum: u64 = 0;
        while started.elapsed().as_secs_f64() < self.seconds || runs == 0 {
            for p in &perms {
                let r = runner.run(p)?;
                checksum = checksum.wrapping_add(r.events.len() as u64 + r.orphans as u64);
                runs += 1;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let rate = runs as f64 / secs;
        if self.as_json {
            println!(
                "{}",
                json::to_line(
                    &serde_json::json!({"spec": common.spec.display().to_string(), "permutations": perms.len(), "runs": runs, "seconds": secs, "per_second": rate.round(), "checksum": checksum})
                )
            );
        } else {
            println!(
                "{}: {} permutations, {runs} runs in {secs:.2} s: {rate:.0} permutations/s (engine {:?}, store {:?}, fk {:?})",
                common.spec.display(),
                perms.len(),
                common.engine,
                common.store,
                self.fk
            );
        }
        Ok(())
    }
}

/// explore's progress on stderr (drawn only on a terminal): interleavings run of the space (or
/// the sample), with an ETA; under reduction fewer run than the space has, so its ETA is a bound.
pub fn explore_bar(space: Space, total: u128) -> ProgressBar {
    let len = match space {
        Space::Sample { count, .. } => count,
        Space::All | Space::Reduced => u64::try_from(total).unwrap_or(u64::MAX),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let of = if matches!(space, Space::Reduced) { "at most " } else { "" };
    let template =
        format!("explore [{{bar:30}}] {{pos}} of {of}{{len}} interleavings, {{elapsed}} elapsed, ETA {{eta}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("a valid template").progress_chars("=> "));
    bar
}

fn main_inner(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Conform {
            specs,
            load,
            settings,
            seed,
            json,
            costs,
            engine,
            fk,
            schema,
            record,
            mysql_url,
            postgres_url,
            wait_ms,
        } => {
            let engines = engine.0;
            let (fks, _) = conform_fks(&fk);
            if let Some(workload) = load {
                let a = conform_load::ConformLoad {
                    workload,
                    engines,
                    fks,
                    settings,
                    seed,
                    json,
                    costs,
                    mysql_url,
                    postgres_url,
                };
                conform_load::conform_load(a)?;
                return Ok(ExitCode::SUCCESS);
            }
            let timing = Timing { wait: Duration::from_millis(wait_ms), ..Timing::default() };
            let ok = conform(ConformArgs { specs, engines, fk, schema, record, mysql_url, postgres_url, timing })?;
            Ok(if interrupt::interrupted() {
                ExitCode::from(EXIT_INTERRUPTED)
            } else if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Run { common, json, permutation, set, graph } => {
            let (both, sides) = see::fk_sides(&common.fk_args)?;
            let mut scs = Vec::new();
            for fk_args in &sides {
                let (mut sc, _) = load_fk(&common, fk_args)?;
                for nv in &set {
                    let (name, value) = nv
                        .split_once('=')
                        .ok_or_else(|| Error::Usage(format!("--set takes NAME=VALUE, not `{nv}`")))?;
                    sc.set_session_default(name.trim(), value.trim());
                }
                scs.push(sc);
            }
            let only = permutation.map(|p| parse_permutation(&scs[0], &p)).transpose()?;
            if only.is_none() {
                check_run_size(&common.spec, scs[0].permutation_count())?;
            }
            let first_line = run_first_line(&common, both)?;
            let what =
                first_line.trim_start_matches("-- fksim run: ").split(", isolation").next().unwrap_or("").to_string();
            if both {
                if common.store()? != StoreChoice::Memory {
                    return Err(Error::Usage("--fk both runs in memory: --store sled is for --fk on or off".into()));
                }
                let engine = what.split(", ").next().unwrap_or("").to_string();
                let graphs = graph.as_deref().map(|d| see::graph_dirs(d, &engine)).transpose()?;
                interrupt::graceful();
                common.engine.run(RunBoth { sides: [&scs[0], &scs[1]], as_json: json, only, first_line, graphs })?;
                return Ok(if interrupt::interrupted() { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS });
            }
            let graphs = graph.as_deref().map(GraphDir::new).transpose()?.map(|g| (g, what));
            interrupt::graceful();
            let sc = &scs[0];
            common.engine.run(OnStore(common.store()?, RunAll { sc, as_json: json, only, first_line, graphs }))?;
            Ok(if interrupt::interrupted() { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS })
        }
        Cmd::Explore { common, json, sample, seed, threads, no_reduce } => {
            if common.store == StoreKind::Sled || common.data_dir.is_some() {
                return Err(Error::Usage(
                    "fksim explore runs in memory only (it copies the engines' state at every branch): --store sled and \
                     --data-dir are for fksim run and bench"
                        .into(),
                ));
            }
            let (_, sides) = see::fk_sides(&common.fk_args)?;
            let scs = sides.iter().map(|a| load_fk(&common, a)).collect::<Result<Vec<_>>>()?;
            let total = fksim::spec::count_interleavings(&scs[0].0.spec.step_counts());
            let space = match sample {
                None if no_reduce => Space::All,
                None => Space::Reduced,
                Some(count) if u128::from(count) > total => {
                    eprintln!(
                        "fksim explore: --sample {count} is more than the {total} interleavings there are: running each of them once instead (as --no-reduce does)"
                    );
                    Space::All
                }
                Some(count) => {
                    let seed = seed.unwrap_or_else(|| {
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_nanos() as u64)
                            .unwrap_or(0)
                    });
                    eprintln!("fksim explore: random sample of {count} interleavings, seed {seed}");
                    Space::Sample { count, seed }
                }
            };
            let threads = threads.map_or_else(
                || std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
                |n| usize::try_from(n).unwrap_or(usize::MAX),
            );
            let mut summaries = Vec::new();
            for ((sc, fk), fk_args) in scs.iter().zip(&sides) {
                summaries.push(see::explore_one(common.engine, sc, *fk, fk_args, space, total, threads)?);
            }
            match (&summaries[..], json) {
                ([on, off], true) => println!("{}", json::to_line(&serde_json::json!({"fk_on": on, "fk_off": off}))),
                ([on, off], false) => print!("{}", fksim::explore::compare::compare_text(on, off)),
                (_, true) => println!("{}", json::to_line(&summaries[0])),
                (_, false) => print!("{}", fksim::explore::text(&summaries[0])),
            }
            // A broken end invariant is a defect of the model: fail loudly.
            Ok(if summaries.iter().any(|s| s.partial) {
                ExitCode::from(EXIT_INTERRUPTED)
            } else if summaries.iter().any(|s| s.stranded > 0) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Cmd::Workload { file, engine, fk_args, schema, seed, runs, write } => {
            let mut w = fksim::app::workload::Workload::load(&file)?;
            let (fk, base) = fk_settings(&fk_args, schema.as_deref())?;
            let fk_on = fk == Fk::On;
            let shown = base.args();
            w.set_sql(fksim::app::sql::AppSql::new(base, engine.schema(fk_on))?)?;
            let seed = seed.unwrap_or_else(rand::random);
            let bar = ProgressBar::with_draw_target(Some(runs), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("workload [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}");
            bar.set_style(style.expect("a valid template").progress_chars("=> "));
            let stop = interrupt::graceful();
            let mut progress = |done: u64| bar.set_position(done);
            let sum = fksim::app::summary::run_workload_until(
                &w,
                engine,
                fk_on,
                seed,
                runs,
                write.as_deref(),
                &mut progress,
                stop,
            )?;
            bar.finish_and_clear();
            println!("workload {} engine {engine:?} fk {fk:?}{shown} seed {seed}", file.display());
            print!("{}", sum.text());
            Ok(if sum.partial { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS })
        }
        Cmd::Load(args) => {
            load::load(args)?;
            Ok(if interrupt::interrupted() { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS })
        }
        Cmd::Report(args) => {
            crate::report::report(args)?;
            Ok(if interrupt::interrupted() { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS })
        }
        Cmd::Stress(args) => stress::run(args),
        Cmd::Calibrate(args) => {
            calibrate::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench { common, seconds, json } => {
            let (sc, fk) = load(&common)?;
            common
                .engine
                .run(OnStore(common.store()?, Bench { sc: &sc, common: &common, fk, seconds, as_json: json }))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    interrupt::install();
    match main_inner(cli) {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fksim: {e}");
            // Bad input (exit 2) versus a failure of the tool (exit 1).
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}
