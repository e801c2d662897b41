//! A permutation's timeline as SVG, drawn with plotters (`fksim run --graph DIR`): a lane per
//! session, each reported step a box in report order along x, each wait an arrow from the waiting
//! step to the lane of the session it waits behind, ending where the step completes, tagged
//! `w1`, `w2`, ... and spelled out (the lock wanted, the locks waited behind) in a key under the
//! lanes; a deadlock's cycle in red, with its victim named.

use super::graph::{in_cycle, waits, Wait};
use super::text::session_of;
use crate::engine::LockDesc;
use crate::run::{Outcome, PermutationReport};
use crate::scenario::Scenario;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// plotters could not draw the figure.
#[derive(Debug, thiserror::Error)]
#[error("drawing the timeline: {0}")]
pub struct DrawError(pub String);

const LABEL_W: i32 = 80;
const COL_W: i32 = 130;
const LANE_H: i32 = 90;
const TOP: i32 = 40;
const LINE_H: i32 = 16;
const BOTTOM: i32 = 20;
const BOX_PAD_X: i32 = 10;
const BOX_PAD_Y: i32 = 22;

const IMMEDIATE: RGBColor = RGBColor(225, 225, 225);
const WAITING: RGBColor = RGBColor(255, 214, 153);
const COMPLETED: RGBColor = RGBColor(196, 232, 196);
const WAIT_ARROW: RGBColor = RGBColor(200, 110, 0);

/// A lock in a few words: mode, where, key.
fn short(l: &LockDesc) -> String {
    match (l.index.is_empty(), l.table.is_empty()) {
        (false, _) => format!("{} {}.{} ({})", l.mode, l.table, l.index, l.key),
        (true, false) => format!("{} {} ({})", l.mode, l.table, l.key),
        (true, true) => format!("{} {}", l.mode, l.key),
    }
}

/// The timeline of one permutation as SVG text, headed by `title`.
pub fn timeline_svg(sc: &Scenario, report: &PermutationReport, title: &str) -> Result<String, DrawError> {
    let sessions: Vec<&str> = sc.sessions.iter().map(|s| s.name.as_str()).collect();
    let lane = |s: &str| sessions.iter().position(|x| *x == s).unwrap_or(0) as i32;
    let cols = report.events.len().max(1) as i32;
    let deadlocks: Vec<(usize, &crate::engine::DeadlockInfo)> =
        report.events.iter().enumerate().flat_map(|(i, e)| e.deadlocks.iter().map(move |d| (i, d))).collect();
    let top = TOP + LINE_H * deadlocks.len() as i32;
    let all_waits = waits(sc, report);
    let key: Vec<(String, bool)> =
        all_waits.iter().enumerate().map(|(k, w)| (key_line(k, w), is_red(w, &deadlocks).iter().any(|r| *r))).collect();
    let widest = key.iter().map(|(l, _)| l.chars().count()).chain([title.chars().count()]).max().unwrap_or(0);
    let width = (LABEL_W + cols * COL_W + 20).max(widest as i32 * 7 + 40);
    let lanes_end = top + LANE_H * sessions.len() as i32;
    let height = lanes_end + LINE_H * key.len() as i32 + BOTTOM;
    let x_of = |col: usize| LABEL_W + col as i32 * COL_W;
    let y_of = |s: &str| top + lane(s) * LANE_H;
    let victims: Vec<&str> = deadlocks.iter().map(|(_, d)| &*d.victim).collect();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width as u32, height as u32)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| DrawError(e.to_string());
        root.fill(&WHITE).map_err(e)?;
        let font = |size: u32, colour: RGBColor| ("sans-serif", size).into_font().color(&colour);
        root.draw(&Text::new(title.to_string(), (10, 10), font(15, BLACK))).map_err(e)?;
        for (n, (i, d)) in deadlocks.iter().enumerate() {
            let mut ring: Vec<&str> = d.cycle.iter().map(|s| &**s).collect();
            ring.push(&d.cycle[0]);
            let note = format!(
                "deadlock at {}: {} (each waits for the next); victim {}",
                report.events[*i].step,
                ring.join(" -> "),
                d.victim
            );
            root.draw(&Text::new(note, (10, TOP - 8 + LINE_H * n as i32), font(13, RED))).map_err(e)?;
        }
        for s in &sessions {
            let y = y_of(s);
            root.draw(&PathElement::new(vec![(0, y), (width, y)], RGBColor(200, 200, 200))).map_err(e)?;
            let (label, colour) =
                if victims.contains(s) { (format!("{s} (victim)"), RED) } else { (s.to_string(), BLACK) };
            let centred = font(14, colour).pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(label, (8, y + LANE_H / 2), centred)).map_err(e)?;
        }
        // The waits first, under the steps' boxes.
        for (k, w) in all_waits.iter().enumerate() {
            draw_wait(&root, k, w, &deadlocks, &x_of, &y_of, cols as usize).map_err(e)?;
        }
        for (k, (line, red)) in key.iter().enumerate() {
            let at = (10, lanes_end + 6 + LINE_H * k as i32);
            root.draw(&Text::new(line.clone(), at, font(11, if *red { RED } else { BLACK }))).map_err(e)?;
        }
        for (i, ev) in report.events.iter().enumerate() {
            let s = session_of(sc, &ev.step);
            let (x0, y0) = (x_of(i) + BOX_PAD_X, y_of(s) + BOX_PAD_Y);
            let (x1, y1) = (x_of(i + 1) - BOX_PAD_X, y_of(s) + LANE_H - BOX_PAD_Y);
            let (fill, what) = match ev.outcome {
                Outcome::Immediate => (IMMEDIATE, ""),
                Outcome::Waiting => (WAITING, "waiting"),
                Outcome::Completed => (COMPLETED, "completed"),
            };
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled())).map_err(e)?;
            let border = if ev.error.is_some() { RED.stroke_width(3) } else { BLACK.stroke_width(1) };
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], border)).map_err(e)?;
            root.draw(&Text::new(ev.step.to_string(), (x0 + 5, y0 + 5), font(13, BLACK))).map_err(e)?;
            let (what, colour) = match &ev.error {
                Some(err) => (format!("ERROR: {}", err.kind.name()), RED),
                None => (what.to_string(), BLACK),
            };
            root.draw(&Text::new(what, (x0 + 5, y0 + 25), font(11, colour))).map_err(e)?;
        }
        root.present().map_err(e)?;
    }
    Ok(svg)
}

/// The key's line for wait `k`: its tag, who waits for what, behind whom.
fn key_line(k: usize, w: &Wait) -> String {
    let behind: Vec<String> = w
        .info
        .behind
        .iter()
        .map(|b| format!("{}'s {}{}", b.session, short(b), if b.granted { " (held)" } else { " (waiting ahead)" }))
        .collect();
    format!("w{}: {} ({}) wants {}, behind {}", k + 1, w.step, w.waiter, short(&w.info.wants), behind.join(" and "))
}

/// For each session `w` waits behind (in [`Wait::holders`] order): is that edge in a deadlock
/// cycle reported while it waits?
fn is_red(w: &Wait, deadlocks: &[(usize, &crate::engine::DeadlockInfo)]) -> Vec<bool> {
    w.holders()
        .iter()
        .map(|h| {
            deadlocks
                .iter()
                .any(|(at, d)| *at >= w.from && w.until.is_none_or(|u| *at <= u) && in_cycle(d, &w.waiter, h))
        })
        .collect()
}

/// One wait: a bar along the waiter's lane while it waits, and an arrow per session it waits
/// behind, from the waiting step to that session's lane where the wait ends; red if the edge is
/// in a deadlock cycle reported while it waits.
fn draw_wait<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    k: usize,
    w: &Wait,
    deadlocks: &[(usize, &crate::engine::DeadlockInfo)],
    x_of: &dyn Fn(usize) -> i32,
    y_of: &dyn Fn(&str) -> i32,
    cols: usize,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let end = w.until.unwrap_or(cols);
    let y_w = y_of(&w.waiter) + LANE_H / 2;
    if end > w.from + 1 || w.until.is_none() {
        let (x0, x1) = (x_of(w.from + 1) - BOX_PAD_X, x_of(end) + BOX_PAD_X);
        root.draw(&Rectangle::new([(x0, y_w - 3), (x1, y_w + 3)], WAITING.filled()))?;
    }
    for (holder, red) in w.holders().into_iter().zip(is_red(w, deadlocks)) {
        let colour = if red { RED } else { WAIT_ARROW };
        // The tip at the edge of the holder's lane facing the waiter, clear of its boxes.
        let below = y_of(&holder) > y_of(&w.waiter);
        let y_h = y_of(&holder) + if below { BOX_PAD_Y / 2 } else { LANE_H - BOX_PAD_Y / 2 };
        let start =
            (x_of(w.from) + COL_W / 2, if below { y_w + LANE_H / 2 - BOX_PAD_Y } else { y_w - LANE_H / 2 + BOX_PAD_Y });
        let tip = (if w.in_deadlock_only { x_of(end) + COL_W / 2 + 20 } else { x_of(end) + BOX_PAD_X }, y_h);
        root.draw(&PathElement::new(vec![start, tip], colour.stroke_width(if red { 3 } else { 2 })))?;
        root.draw(&Polygon::new(arrow_head(start, tip), colour.filled()))?;
        // The tag, a third of the way along, beside the line.
        let at = (start.0 + (tip.0 - start.0) / 3 + 6, start.1 + (tip.1 - start.1) / 3);
        let style = ("sans-serif", 12).into_font().color(&colour);
        root.draw(&Text::new(format!("w{}", k + 1), at, style))?;
    }
    Ok(())
}

/// The triangle at the end of a line from `from` to `tip`.
fn arrow_head(from: (i32, i32), tip: (i32, i32)) -> Vec<(i32, i32)> {
    let (dx, dy) = ((tip.0 - from.0) as f64, (tip.1 - from.1) as f64);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / len, dy / len);
    let (back, half) = (12.0, 5.0);
    let base = (tip.0 as f64 - ux * back, tip.1 as f64 - uy * back);
    let corner = |sign: f64| ((base.0 - uy * half * sign).round() as i32, (base.1 + ux * half * sign).round() as i32);
    vec![tip, corner(1.0), corner(-1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arrow_head_ends_at_the_tip_and_points_back_along_the_line() {
        let head = arrow_head((0, 0), (100, 0));
        assert_eq!(head[0], (100, 0));
        assert_eq!(head[1], (88, 5));
        assert_eq!(head[2], (88, -5));
    }
}
