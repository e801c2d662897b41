//! `fksim conform SPEC...`: each spec on the live servers beside the model, on its schema
//! (`--schema`, or the one the spec names), FK on and off or with `--fk off=TABLE.COLUMN`.

use crate::cli::{load_as, spec_schema, Which2};
use fksim::conform::{Comparison, LiveDb, LiveSchema, Timing};
use fksim::engine::{EngineKind, Server};
use fksim::scenario::Scenario;
use fksim::schema::{Base, SchemaFile};
use fksim::spec::parse_spec_file;
use fksim::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;

type Result<T> = std::result::Result<T, Error>;

/// One `--fk` value of `conform`: `on`, `off`, `both`, or `off=TABLE.COLUMN[,...]` (an FK-on
/// run with only those foreign keys dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConformFk {
    Which(Which2),
    Off(Vec<String>),
}

pub fn conform_fk_arg(s: &str) -> std::result::Result<ConformFk, String> {
    match s {
        "on" => Ok(ConformFk::Which(Which2::On)),
        "off" => Ok(ConformFk::Which(Which2::Off)),
        "both" => Ok(ConformFk::Which(Which2::Both)),
        _ => match s.strip_prefix("off=") {
            Some(list) => Ok(ConformFk::Off(list.split(',').map(|x| x.trim().to_string()).collect())),
            None => Err("expected on, off, both or off=TABLE.COLUMN[,TABLE.COLUMN...]".into()),
        },
    }
}

/// The FK settings to run (FK on first) and the foreign keys `off=` names. With only `off=`
/// values, the one FK-on run with those dropped.
pub fn conform_fks(args: &[ConformFk]) -> (Vec<bool>, Vec<String>) {
    let off: Vec<String> =
        args.iter().flat_map(|a| if let ConformFk::Off(v) = a { v.clone() } else { vec![] }).collect();
    let mut fks = Vec::new();
    for a in args {
        if let ConformFk::Which(w) = a {
            for fk in w.settings() {
                if !fks.contains(&fk) {
                    fks.push(fk);
                }
            }
        }
    }
    if fks.is_empty() {
        fks.push(true);
    }
    fks.sort_by_key(|&on| !on);
    (fks, off)
}

pub struct ConformArgs {
    pub specs: Vec<PathBuf>,
    pub engines: Vec<EngineKind>,
    pub fk: Vec<ConformFk>,
    pub schema: Option<PathBuf>,
    pub record: Option<PathBuf>,
    pub mysql_url: String,
    pub postgres_url: String,
    pub timing: Timing,
}

/// One case: a spec on one engine with one FK setting, and the schema file the live run creates.
struct Case {
    name: String,
    engine: EngineKind,
    fk_on: bool,
    sc: Scenario,
    schema: Option<LiveSchema>,
}

/// Bind a spec for a case: on `--schema` or the schema it names for the engine, the `off=`
/// foreign keys dropped from an FK-on run.
fn load_case(
    path: &std::path::Path,
    given: Option<&std::path::Path>,
    engine: EngineKind,
    fk_on: bool,
    fk_off: &[String],
) -> Result<(Scenario, Option<LiveSchema>)> {
    let Some(file) = spec_schema(path, given, engine)? else {
        if fk_off.is_empty() {
            return Ok((load_as(path, engine, fk_on)?, None));
        }
        let base = Base { schema: None, fk_off: fk_off.to_vec() };
        return Ok((base.scenario(parse_spec_file(path)?, engine.schema(fk_on))?, None));
    };
    let file = SchemaFile::read(&file)?;
    let base = Base { schema: Some(file.clone()), fk_off: if fk_on { fk_off.to_vec() } else { Vec::new() } };
    let tables = base.catalog(engine.schema(fk_on))?.tables.len();
    Ok((base.scenario(parse_spec_file(path)?, engine.schema(fk_on))?, Some(LiveSchema { file, tables })))
}

/// Returns whether every case agreed.
pub fn conform(a: ConformArgs) -> Result<bool> {
    let (fks, fk_off) = conform_fks(&a.fk);
    if a.record.is_some() && !fk_off.is_empty() {
        return Err(Error::Usage(
            "--record writes the FK-on and FK-off recordings only; --fk off=TABLE.COLUMN runs are not recorded".into(),
        ));
    }
    // Bad input first, before any server is touched.
    // With both engines, a spec only one of them takes (PostgreSQL's deferrable constraints,
    // say) runs on that one, and the other's refusal is printed; refused by both, it is bad input.
    let mut cases = Vec::new();
    for path in &a.specs {
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let mut refused = Vec::new();
        for &engine in &a.engines {
            let loaded: Result<Vec<_>> =
                fks.iter().map(|&fk_on| load_case(path, a.schema.as_deref(), engine, fk_on, &fk_off)).collect();
            match loaded {
                Ok(scs) => cases.extend(fks.iter().zip(scs).map(|(&fk_on, (sc, schema))| Case {
                    name: name.clone(),
                    engine,
                    fk_on,
                    sc,
                    schema,
                })),
                Err(e) => refused.push((engine, e)),
            }
        }
        if refused.len() == a.engines.len() {
            return Err(refused.remove(0).1);
        }
        for (engine, e) in refused {
            eprintln!("fksim conform: {name} is not for {engine:?}, which refuses it: {e}");
        }
    }
    if let Some(dir) = &a.record {
        std::fs::create_dir_all(dir.join("expected")).map_err(Error::io(format!("creating {}", dir.display())))?;
    }
    let mut agree = 0;
    let bar = ProgressBar::with_draw_target(Some(cases.len() as u64), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("conform [{bar:30}] {pos}/{len} cases, {msg}, {elapsed} elapsed, ETA {eta}");
    bar.set_style(style.expect("a valid template").progress_chars("=> "));
    // A Ctrl-C stops after the case running, and the scratch databases are dropped.
    crate::interrupt::graceful();
    let mut done = 0;
    for &engine in &a.engines {
        if crate::interrupt::interrupted() {
            break;
        }
        let url = match engine.server() {
            Server::MariaDb => &a.mysql_url,
            Server::Postgres => &a.postgres_url,
        };
        let mut db = LiveDb::connect(engine.server(), url, a.timing)?;
        for c in cases.iter().filter(|c| c.engine == engine) {
            if crate::interrupt::interrupted() {
                break;
            }
            let fk = if c.fk_on { "on" } else { "off" };
            bar.set_message(format!("{} {} fk {fk}", c.name, c.engine.name()));
            bar.suspend(|| {
                eprintln!(
                    "fksim conform: {} {:?} fk {fk} ({} permutations)",
                    c.name,
                    c.engine,
                    c.sc.permutation_count()
                )
            });
            db.set_schema(c.schema.clone());
            let mut cmp = Comparison::run(&c.name, &c.sc, c.engine, c.fk_on, &mut db)?;
            if c.fk_on {
                cmp.fk_off = fk_off.clone();
            }
            bar.suspend(|| print!("{}", cmp.report()));
            done += 1;
            bar.set_position(done);
            if cmp.differences() == 0 {
                agree += 1;
            }
            if let Some(dir) = &a.record {
                let path = dir.join("expected").join(cmp.file_name());
                std::fs::write(&path, cmp.recording()).map_err(Error::io(format!("writing {}", path.display())))?;
            }
        }
        db.close()?;
    }
    bar.finish_and_clear();
    if crate::interrupt::interrupted() {
        println!("PARTIAL (interrupted): {agree} of the {done} cases run agree ({} cases in all)", cases.len());
        return Ok(false);
    }
    println!("{agree} of {} cases agree", cases.len());
    Ok(agree == cases.len())
}
