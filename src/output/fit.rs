//! A list's table that fits the terminal and streams: its layout is decided from the first
//! rows (a page), so later pages print at once in the same columns. On a narrow terminal
//! the table gives way in a documented order: columns are dropped (for `tokens list`:
//! CREATED, then LAST USED), then the columns that may be cut (NAME, ORIGINS) are shortened
//! with `…`. A column of origins gives up `https://` before anything else: the host is the
//! information (`http://` stays, so the two read apart). A host still too long keeps its start, and in a column wide
//! enough its end too (`checkout.exa…le.com`). `-o wide` keeps every column whole.

use console::{measure_text_width, truncate_str};

/// How a table gives way when it does not fit.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// Columns to drop, first to last, while the cut columns would otherwise fall below a
    /// readable width.
    pub drop: &'static [usize],
    /// Columns whose cells may be cut with `…`.
    pub cut: &'static [usize],
    /// Columns of origins (also in `cut`): `https://` goes first, then hosts are cut.
    pub origins: &'static [usize],
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
    /// Origin columns shown without `https://`.
    bare: Vec<usize>,
    /// Origin columns, cut as hosts.
    origins: Vec<usize>,
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
                bare: Vec::new(),
                origins: Vec::new(),
            };
        };
        let total = |w: &[Option<usize>]| w.iter().flatten().map(|n| n + PADDING).sum::<usize>();
        // A column of origins without `https://` still names every site: it goes
        // before any column is dropped or cut (and come back if a dropped column made room).
        let mut bare = Vec::new();
        if total(&widths) > width {
            for &column in fit.origins {
                let without = rows
                    .iter()
                    .filter_map(|r| r.get(column))
                    .map(|c| cell_width(&without_schemes(c)))
                    .chain([headers[column].len()])
                    .max()
                    .unwrap_or(0);
                widths[column] = Some(without);
                bare.push(column);
            }
        }
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
        // A dropped column may have made room for `https://` after all.
        if !bare.is_empty() {
            let mut whole = widths.clone();
            for &column in &bare {
                whole[column] = whole[column].map(|_| natural[column]);
            }
            if total(&whole) <= width {
                widths = whole;
                bare.clear();
            }
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
            bare,
            origins: fit.origins.to_vec(),
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
                let cell = match self.bare.contains(&column) {
                    true => without_schemes(cell),
                    false => cell.into(),
                };
                let cell = match (self.cut_long, self.origins.contains(&column)) {
                    (false, _) => cell,
                    (true, true) => cut_host(&cell, width).into(),
                    (true, false) => truncate_str(&cell, width, "…").into_owned().into(),
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

/// Every line of `cell` without `https://` (`https://shop.example.com` as
/// `shop.example.com`): the scheme nearly every origin has. Other schemes stay, so
/// `http://shop.example.com` still reads apart from it.
fn without_schemes(cell: &str) -> std::borrow::Cow<'_, str> {
    const HTTPS: &str = "https://";
    let strip = |line: &str| -> bool {
        line.get(..HTTPS.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(HTTPS))
    };
    if !cell.lines().any(strip) {
        return cell.into();
    }
    let lines: Vec<&str> = cell
        .lines()
        .map(|l| if strip(l) { &l[HTTPS.len()..] } else { l })
        .collect();
    lines.join("\n").into()
}

/// A host in at most `width` columns. Its start tells sites apart (`checkout…`); a column
/// wide enough keeps a third for its end too (`checkout.exa…le.com`), where the domain and
/// the port are.
fn cut_host(text: &str, width: usize) -> String {
    /// Below this the start alone reads better than two stubs.
    const BOTH_ENDS: usize = 13;
    if measure_text_width(text) <= width || width < BOTH_ENDS || !text.is_ascii() {
        return truncate_str(text, width, "…").into_owned();
    }
    // ASCII (a host in a URL is punycode): a byte is a column.
    let keep = width - 1;
    let tail = keep / 3;
    let head = keep - tail;
    format!("{}…{}", &text[..head], &text[text.len() - tail..])
}

/// `text` as lines of at most `width` columns: broken after a space or a comma in the second
/// half of a line when there is one (between JSON members), anywhere otherwise.
///
/// Linear: each line is measured a character at a time only as far as it reaches, so a
/// character is measured about once (again only when a break at a space hands it to the next
/// line), never the whole rest of the text a line.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = text;
    loop {
        // The longest start of `rest` that fits, and whether that is all of it.
        let mut end = 0;
        let mut used = 0;
        let mut whole = true;
        for (at, c) in rest.char_indices() {
            let columns = char_width(c);
            if used + columns > width {
                whole = false;
                break;
            }
            used += columns;
            end = at + c.len_utf8();
        }
        if whole {
            lines.push(rest.to_string());
            return lines;
        }
        // A character wider than the line goes alone.
        if end == 0 {
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let cut = rest[..end]
            .rfind([' ', ','])
            .filter(|&at| at >= end / 2)
            .map_or(end, |at| at + 1);
        lines.push(rest[..cut].trim_end().to_string());
        rest = &rest[cut..];
    }
}

/// The columns one character takes.
fn char_width(c: char) -> usize {
    width_of(c.encode_utf8(&mut [0; 4]))
}

/// The columns `text` takes; every measure wrapping makes goes through here, counted in
/// tests.
fn width_of(text: &str) -> usize {
    #[cfg(test)]
    MEASURED.with(|m| m.set(m.get() + text.len()));
    measure_text_width(text)
}

#[cfg(test)]
thread_local! {
    /// Bytes measured by [`width_of`] on this thread: the work wrapping does.
    static MEASURED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIT: Fit = Fit {
        drop: &[3, 2],
        cut: &[1],
        origins: &[],
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
                origins: &[],
            },
        );
        let text = layout.render(None, &[vec!["b".into(), "much longer than short".into()]]);
        assert_eq!(text, " b   much…\n");
    }

    #[test]
    fn origins_give_up_their_schemes_before_their_hosts() {
        let origins = Fit {
            drop: &[],
            cut: &[1, 2],
            origins: &[2],
        };
        let rows = vec![vec![
            "ct_0123456789abcdef".into(),
            "A token name".into(),
            "https://checkout.example.com\nhttp://localhost:3000".into(),
        ]];
        let headers = ["id", "name", "origins"];
        // Room for the hosts: `https://` alone goes; `http://` stays, telling them apart.
        let layout = Layout::new(&headers, &rows, Some(60), origins);
        let text = layout.render(None, &rows);
        assert!(text.contains("checkout.example.com"), "{text}");
        assert!(text.contains("http://localhost:3000"), "{text}");
        assert!(!text.contains("https://"), "{text}");
        // Less room: a host keeps its start.
        let layout = Layout::new(&headers, &rows, Some(45), origins);
        let text = layout.render(None, &rows);
        assert!(text.contains("checkout"), "{text}");
        assert!(!text.contains("https"), "{text}");
        // Everything fits: nothing changes.
        let layout = Layout::new(&headers, &rows, Some(120), origins);
        assert!(
            layout
                .render(None, &rows)
                .contains("https://checkout.example.com")
        );
    }

    #[test]
    fn hosts_keep_their_start_and_in_room_their_end() {
        assert_eq!(cut_host("checkout.example.com", 40), "checkout.example.com");
        assert_eq!(cut_host("checkout.example.com", 9), "checkout…");
        assert_eq!(cut_host("checkout.example.com", 19), "checkout.exa…le.com");
        for width in 1..30 {
            let cut = cut_host("checkout.example.com:8443", width);
            assert!(measure_text_width(&cut) <= width, "{width}: {cut}");
        }
        assert_eq!(
            without_schemes("https://a.example\nnative\n*.b.example\nhttp://c.example"),
            "a.example\nnative\n*.b.example\nhttp://c.example"
        );
        assert_eq!(without_schemes("no scheme here"), "no scheme here");
    }

    #[test]
    fn wrapping_breaks_at_a_late_space_or_anywhere_and_fits() {
        assert_eq!(wrap("short", 10), vec!["short"]);
        assert_eq!(wrap("abcdefghijkl", 5), vec!["abcde", "fghij", "kl"]);
        assert_eq!(
            wrap("one two three four", 10),
            vec!["one two", "three four"]
        );
        // A space early in the line would waste it: broken anywhere instead.
        assert_eq!(wrap("a bcdefghijklmn", 10), vec!["a bcdefghi", "jklmn"]);
        assert_eq!(
            wrap(r#"{"a":"bc","d":1}"#, 12),
            vec![r#"{"a":"bc","#, r#""d":1}"#]
        );
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("exactly10!", 10), vec!["exactly10!"]);
        for width in 1..12 {
            for line in wrap("日本語のテキスト and text", width) {
                assert!(
                    measure_text_width(&line) <= width.max(2),
                    "{width}: {line:?}"
                );
            }
        }
    }

    #[test]
    fn wrapping_measures_each_character_about_once() {
        // A megabyte of JSON-like text at 80 columns: measuring the rest of the text for
        // each line, as before, would be 13,000 lines times up to a megabyte.
        let text = r#"{"welcomeMessage":"Hello there, how can I help?","n":12345},"#.repeat(17_000);
        for (width, breaks) in [(80, &text), (80, &"x".repeat(1 << 20)), (7, &text)] {
            MEASURED.with(|m| m.set(0));
            let lines = wrap(breaks, width);
            let measured = MEASURED.with(std::cell::Cell::get);
            assert!(
                measured <= 2 * breaks.len(),
                "{measured} bytes measured for {} bytes in {} lines",
                breaks.len(),
                lines.len()
            );
            let unspaced = |t: &str| t.replace(' ', "");
            assert_eq!(
                unspaced(&lines.concat()),
                unspaced(breaks),
                "nothing is lost"
            );
            assert!(lines.iter().all(|l| measure_text_width(l) <= width));
        }
    }
}
