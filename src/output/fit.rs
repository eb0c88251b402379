//! A list's table that fits the terminal and streams: its layout is decided from the first
//! rows (a page), so later pages print at once in the same columns. On a narrow terminal
//! the table gives way in a documented order: columns are dropped (for `tokens list`:
//! CREATED, then LAST USED), then the columns that may be cut (NAME, ORIGINS) are shortened
//! with `…`. `-o wide` keeps every column whole.

use console::{measure_text_width, truncate_str};

/// How a table gives way when it does not fit.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// Columns to drop, first to last, while the cut columns would otherwise fall below a
    /// readable width.
    pub drop: &'static [usize],
    /// Columns whose cells may be cut with `…`.
    pub cut: &'static [usize],
}

/// Below this a cut column is dropped before it is cut further.
const READABLE: usize = 24;
/// The least a cut column keeps.
const LEAST: usize = 6;
/// Space around each cell (one each side, as the other tables).
const PADDING: usize = 2;

/// The chosen widths, `None` for a dropped column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    widths: Vec<Option<usize>>,
    /// Whether cells longer than their column are cut (never with `-o wide`).
    cut_long: bool,
}

fn cell_width(text: &str) -> usize {
    text.lines().map(measure_text_width).max().unwrap_or(0)
}

impl Layout {
    /// The layout for `rows` under `headers` in `width` columns (`None`: no terminal width
    /// known, or `-o wide`: everything whole).
    pub(super) fn new(
        headers: &[&str],
        rows: &[Vec<String>],
        width: Option<usize>,
        fit: Fit,
    ) -> Layout {
        let natural: Vec<usize> = (0..headers.len())
            .map(|i| {
                rows.iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| cell_width(c))
                    .chain([headers[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut widths: Vec<Option<usize>> = natural.iter().copied().map(Some).collect();
        let Some(width) = width else {
            return Layout {
                widths,
                cut_long: false,
            };
        };
        let total = |w: &[Option<usize>]| w.iter().flatten().map(|n| n + PADDING).sum::<usize>();
        // The excess that cutting would have to absorb, and whether it leaves every cut
        // column readable.
        let readable_after_cuts = |w: &[Option<usize>]| {
            let excess = total(w).saturating_sub(width);
            let slack: usize = fit
                .cut
                .iter()
                .filter_map(|&i| w[i])
                .map(|n| n.saturating_sub(READABLE))
                .sum();
            excess <= slack
        };
        for &column in fit.drop {
            if readable_after_cuts(&widths) {
                break;
            }
            widths[column] = None;
        }
        // Cut the widest cut column by one until the table fits or all are at the least.
        while total(&widths) > width {
            let widest = fit
                .cut
                .iter()
                .copied()
                .filter(|&i| widths[i].is_some_and(|n| n > LEAST))
                .max_by_key(|&i| widths[i]);
            match widest {
                Some(i) => widths[i] = widths[i].map(|n| n - 1),
                None => break,
            }
        }
        Layout {
            widths,
            cut_long: true,
        }
    }

    /// The header line and `rows` as text, one line per line of their tallest cell.
    pub(super) fn render(&self, headers: Option<&[&str]>, rows: &[Vec<String>]) -> String {
        let mut text = String::new();
        if let Some(headers) = headers {
            let upper: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
            self.push_row(&mut text, &upper);
        }
        for row in rows {
            self.push_row(&mut text, row);
        }
        text
    }

    fn push_row(&self, text: &mut String, row: &[String]) {
        let lines: Vec<Vec<&str>> = row.iter().map(|c| c.lines().collect()).collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for line in 0..height {
            let mut out = String::new();
            for (column, width) in self.widths.iter().enumerate() {
                let Some(width) = *width else { continue };
                let cell = lines
                    .get(column)
                    .and_then(|l| l.get(line))
                    .copied()
                    .unwrap_or("");
                let cell = if self.cut_long {
                    truncate_str(cell, width, "…")
                } else {
                    cell.into()
                };
                let pad = width.saturating_sub(measure_text_width(&cell));
                out.push(' ');
                out.push_str(&cell);
                out.push_str(&" ".repeat(pad + 1));
            }
            text.push_str(out.trim_end());
            text.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIT: Fit = Fit {
        drop: &[3, 2],
        cut: &[1],
    };

    fn rows() -> Vec<Vec<String>> {
        vec![vec![
            "ct_0123456789abcdef".into(),
            "A rather long token name for a widget".into(),
            "2 days ago".into(),
            "3 months ago".into(),
        ]]
    }

    #[test]
    fn a_wide_enough_terminal_gets_everything_whole() {
        let layout = Layout::new(&["id", "name", "used", "created"], &rows(), Some(200), FIT);
        let text = layout.render(Some(&["id", "name", "used", "created"]), &rows());
        assert!(text.contains("A rather long token name for a widget"));
        assert!(text.contains("3 months ago"));
    }

    #[test]
    fn a_narrow_terminal_drops_then_cuts_and_every_line_fits() {
        for width in [40, 50, 60, 70, 80] {
            let layout = Layout::new(
                &["id", "name", "used", "created"],
                &rows(),
                Some(width),
                FIT,
            );
            let text = layout.render(Some(&["id", "name", "used", "created"]), &rows());
            for line in text.lines() {
                assert!(measure_text_width(line) <= width, "{width}: {line:?}");
            }
        }
        let layout = Layout::new(&["id", "name", "used", "created"], &rows(), Some(60), FIT);
        let text = layout.render(None, &rows());
        assert!(!text.contains("3 months ago"), "created goes first: {text}");
        assert!(text.contains("2 days ago"), "{text}");
        assert!(text.contains('…'), "the name is cut: {text}");
    }

    #[test]
    fn later_rows_are_cut_to_the_first_rows_columns() {
        let layout = Layout::new(
            &["id", "name"],
            &[vec!["a".into(), "short".into()]],
            Some(80),
            Fit {
                drop: &[],
                cut: &[1],
            },
        );
        let text = layout.render(None, &[vec!["b".into(), "much longer than short".into()]]);
        assert_eq!(text, " b   much…\n");
    }
}
