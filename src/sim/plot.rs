//! Figures as SVG, drawn with plotters: lines over a sweep (transactions per second against the
//! swept value, a line per engine and FK setting) and grouped bars (`fksim report`).

use super::LoadResult;
use plotters::prelude::*;

/// One measured point: which line it is on, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotPoint {
    /// The line's name, e.g. `innodb fk on` or `mariadb live fk off`.
    pub line: String,
    pub x: f64,
    /// Transactions per second, or the figure's other quantity.
    pub y: f64,
}

impl PlotPoint {
    /// The point of a simulated run at swept value `x`.
    pub fn simulated(r: &LoadResult, x: f64) -> PlotPoint {
        PlotPoint { line: format!("{} fk {}", r.engine, r.fk), x, y: r.txn_per_s }
    }
}

/// The figure as SVG text: `title`, the swept value `x_name` on the x axis.
pub fn txn_per_s_svg(title: &str, x_name: &str, points: &[PlotPoint]) -> Result<String, String> {
    line_svg(title, x_name, "committed transactions / s", points)
}

/// A line per distinct `PlotPoint::line`, `y_name` on the y axis.
pub fn line_svg(title: &str, x_name: &str, y_name: &str, points: &[PlotPoint]) -> Result<String, String> {
    let mut lines: Vec<&str> = Vec::new();
    for p in points {
        if !lines.contains(&p.line.as_str()) {
            lines.push(&p.line);
        }
    }
    let x_max = points.iter().map(|p| p.x).fold(1.0, f64::max);
    let x_min = points.iter().map(|p| p.x).fold(x_max, f64::min).min(0.0);
    let y_max = points.iter().map(|p| p.y).fold(1.0, f64::max) * 1.1;
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
        chart.configure_mesh().x_desc(x_name).y_desc(y_name).draw().map_err(e)?;
        for (i, line) in lines.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let mut xy: Vec<(f64, f64)> = points.iter().filter(|p| p.line == *line).map(|p| (p.x, p.y)).collect();
            xy.sort_by(|a, b| a.0.total_cmp(&b.0));
            let style = if line.ends_with("off") { colour.stroke_width(2) } else { colour.stroke_width(3) };
            chart
                .draw_series(LineSeries::new(xy.clone(), style))
                .map_err(e)?
                .label(*line)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3)));
            chart.draw_series(xy.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled()))).map_err(e)?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight).map_err(e)?;
        root.present().map_err(e)?;
    }
    Ok(svg)
}

/// Grouped bars: for each of `categories` (the x axis), one bar per series, `y_name` on the y axis.
pub fn bars_svg(
    title: &str,
    y_name: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> Result<String, String> {
    let n = categories.len().max(1);
    let per = series.len().max(1) as f64;
    // Headroom above the bars for the legend.
    let y_max = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(1.0, f64::max) * (1.25 + 0.1 * per);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (170 * n as u32 + 200, 460)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..n as f64, 0.0..y_max)
            .map_err(e)?;
        let label = |x: &f64| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 1e-9 {
                categories.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(2 * n + 1)
            .x_label_formatter(&label)
            .y_desc(y_name)
            .draw()
            .map_err(e)?;
        for (k, (name, values)) in series.iter().enumerate() {
            let colour = Palette99::pick(k).to_rgba();
            let bars = values.iter().enumerate().map(|(i, &v)| {
                let x0 = i as f64 + 0.1 + 0.8 * k as f64 / per;
                Rectangle::new([(x0, 0.0), (x0 + 0.8 / per, v)], colour.filled())
            });
            chart
                .draw_series(bars)
                .map_err(e)?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight).map_err(e)?;
        root.present().map_err(e)?;
    }
    Ok(svg)
}

/// The legend of a chart's labelled series, at `at`.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    at: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart.configure_series_labels().position(at).background_style(WHITE.mix(0.8)).border_style(BLACK).draw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figure_names_every_line_and_is_svg() {
        let pts = vec![
            PlotPoint { line: "innodb fk on".into(), x: 1.0, y: 100.0 },
            PlotPoint { line: "innodb fk on".into(), x: 2.0, y: 150.0 },
            PlotPoint { line: "innodb fk off".into(), x: 1.0, y: 120.0 },
        ];
        let svg = txn_per_s_svg("t", "clients", &pts).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("innodb fk on") && svg.contains("innodb fk off"));
    }
}
