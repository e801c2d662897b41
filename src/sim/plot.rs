//! A figure of a sweep: transactions per second against the swept value, a line per engine and
//! FK setting, drawn as SVG with plotters.

use super::LoadResult;
use plotters::prelude::*;

/// One measured point: which line it is on, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotPoint {
    /// The line's name, e.g. `innodb fk on` or `mariadb live fk off`.
    pub line: String,
    pub x: f64,
    pub txn_per_s: f64,
}

impl PlotPoint {
    /// The point of a simulated run at swept value `x`.
    pub fn simulated(r: &LoadResult, x: f64) -> PlotPoint {
        PlotPoint { line: format!("{} fk {}", r.engine, r.fk), x, txn_per_s: r.txn_per_s }
    }
}

/// The figure as SVG text: `title`, the swept value `x_name` on the x axis.
pub fn txn_per_s_svg(title: &str, x_name: &str, points: &[PlotPoint]) -> Result<String, String> {
    let mut lines: Vec<&str> = Vec::new();
    for p in points {
        if !lines.contains(&p.line.as_str()) {
            lines.push(&p.line);
        }
    }
    let x_max = points.iter().map(|p| p.x).fold(1.0, f64::max);
    let x_min = points.iter().map(|p| p.x).fold(x_max, f64::min).min(0.0);
    let y_max = points.iter().map(|p| p.txn_per_s).fold(1.0, f64::max) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 440)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_min..x_max * 1.05, 0.0..y_max)
            .map_err(e)?;
        chart.configure_mesh().x_desc(x_name).y_desc("committed transactions / s").draw().map_err(e)?;
        for (i, line) in lines.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let mut xy: Vec<(f64, f64)> =
                points.iter().filter(|p| p.line == *line).map(|p| (p.x, p.txn_per_s)).collect();
            xy.sort_by(|a, b| a.0.total_cmp(&b.0));
            let style = if line.ends_with("off") { colour.stroke_width(2) } else { colour.stroke_width(3) };
            chart
                .draw_series(LineSeries::new(xy.clone(), style))
                .map_err(e)?
                .label(*line)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3)));
            chart.draw_series(xy.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled()))).map_err(e)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figure_names_every_line_and_is_svg() {
        let pts = vec![
            PlotPoint { line: "innodb fk on".into(), x: 1.0, txn_per_s: 100.0 },
            PlotPoint { line: "innodb fk on".into(), x: 2.0, txn_per_s: 150.0 },
            PlotPoint { line: "innodb fk off".into(), x: 1.0, txn_per_s: 120.0 },
        ];
        let svg = txn_per_s_svg("t", "clients", &pts).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("innodb fk on") && svg.contains("innodb fk off"));
    }
}
