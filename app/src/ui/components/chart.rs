//! Charts drawn as SVG: columns over time (`ColumnChart`) and ranked bars (`BarChart`). No
//! script and no inline style (the Content-Security-Policy allows none): shapes are sized by
//! their attributes and coloured by `style/main.css` (`.chart …`). Each mark carries a `<title>`
//! (the browser's tooltip, read by screen readers), and the chart an `aria-label`.

use leptos::prelude::*;

/// One mark: what it is, its size, and how its value reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    pub label: String,
    pub value: i64,
    pub shown: String,
}

const WIDTH: i64 = 640;
const HEIGHT: i64 = 180;
/// Room under the columns for the first and last labels.
const AXIS: i64 = 20;

/// A mark's extent out of `full` for `value` of `max` (a value above zero shows at least 1).
fn extent(value: i64, max: i64, full: i64) -> i64 {
    if value <= 0 || max <= 0 {
        return 0;
    }
    let e = i128::from(value) * i128::from(full) / i128::from(max);
    i64::try_from(e).unwrap_or(full).clamp(1, full)
}

/// Columns left to right (days of a range), scaled to the largest; the first and last labels
/// under them, the largest value above.
#[component]
pub fn ColumnChart(
    points: Vec<Point>,
    /// What the chart shows, for screen readers (`Credits per day`).
    title: String,
    /// Read with the largest value (`credits`).
    unit: &'static str,
) -> impl IntoView {
    let n = i64::try_from(points.len()).unwrap_or(1).max(1);
    let max = points.iter().map(|p| p.value).max().unwrap_or(0);
    let slot = WIDTH / n;
    let gap = if slot > 6 { slot / 5 } else { 0 };
    let plot = HEIGHT - AXIS;
    let peak = points
        .iter()
        .max_by_key(|p| p.value)
        .map(|p| p.shown.clone())
        .unwrap_or_default();
    let first = points.first().map(|p| p.label.clone()).unwrap_or_default();
    let last = points.last().map(|p| p.label.clone()).unwrap_or_default();
    let columns = points
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let x = i64::try_from(i).unwrap_or(0) * slot + gap / 2;
            let h = extent(p.value, max, plot - 14);
            view! {
                <rect class="chart-mark" x=x.to_string() y=(plot - h).to_string()
                    width=(slot - gap).max(1).to_string() height=h.to_string()>
                    <title>{format!("{}: {}", p.label, p.shown)}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <svg class="chart chart-columns" role="img" aria-label=title
            viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="xMidYMid meet">
            <line class="chart-axis" x1="0" y1=plot.to_string() x2=WIDTH.to_string() y2=plot.to_string()/>
            <text class="chart-note" x="0" y="10">{format!("max {peak} {unit}")}</text>
            {columns}
            <text class="chart-note" x="0" y=(HEIGHT - 4).to_string()>{first}</text>
            <text class="chart-note" x=WIDTH.to_string() y=(HEIGHT - 4).to_string() text-anchor="end">{last}</text>
        </svg>
    }
}

/// One bar per point, top to bottom in the given order, scaled to the largest: the label on the
/// left, the value after the bar.
#[component]
pub fn BarChart(points: Vec<Point>, title: String) -> impl IntoView {
    const ROW: i64 = 26;
    const LABEL: i64 = 220;
    const VALUE: i64 = 110;
    let max = points.iter().map(|p| p.value).max().unwrap_or(0);
    let rows = i64::try_from(points.len()).unwrap_or(0);
    let bars = points
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let y = i64::try_from(i).unwrap_or(0) * ROW;
            let w = extent(p.value, max, WIDTH - LABEL - VALUE);
            let label: String = if p.label.chars().count() > 30 {
                p.label.chars().take(29).chain(['…']).collect()
            } else {
                p.label.clone()
            };
            view! {
                <g>
                    <title>{format!("{}: {}", p.label, p.shown)}</title>
                    <text class="chart-label" x="0" y=(y + 17).to_string()>{label}</text>
                    <rect class="chart-mark" x=LABEL.to_string() y=(y + 4).to_string()
                        width=w.to_string() height=(ROW - 8).to_string()/>
                    <text class="chart-note" x=(LABEL + w + 6).to_string() y=(y + 17).to_string()>{p.shown.clone()}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart chart-bars" role="img" aria-label=title
            viewBox=format!("0 0 {WIDTH} {}", (rows * ROW).max(ROW))>
            {bars}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::extent;

    #[test]
    fn marks_scale_to_the_largest_and_never_vanish() {
        assert_eq!(extent(0, 10, 100), 0);
        assert_eq!(extent(10, 10, 100), 100);
        assert_eq!(extent(5, 10, 100), 50);
        // A tiny value next to a huge one still shows.
        assert_eq!(extent(1, i64::MAX, 100), 1);
        assert_eq!(extent(7, 0, 100), 0);
        assert_eq!(extent(-3, 10, 100), 0);
    }
}
