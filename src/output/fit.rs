//! A list's table that fits the terminal and streams: its layout is decided from the first
//! rows (a page), so later pages print at once in the same columns. On a narrow terminal
//! the table gives way in a documented order: columns are dropped (for `tokens list`:
//! CREATED, then LAST USED), then the columns that may be cut (NAME, ORIGINS) are shortened
//! with `…`. A column of origins gives up `https://` before anything else: the host is the
//! information (`http://` stays, so the two read apart). A host still too long keeps its start, and in a column wide
//! enough its end too (`checkout.exa…le.com`). `-o wide` keeps every column whole.
//!
//! The same engine lays out the other tables ([`Layout::wrapping`]): there nothing is cut or
//! dropped; the columns that may wrap share the width the others leave and break their lines.

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
    /// Columns whose lines wrap at their width.
    wrap: Vec<usize>,
    /// Cells are split at every line break, so a cell ending in one shows an empty line (as
    /// the tables of [`Layout::wrapping`] always have); a list's cells keep to their text.
    every_line: bool,
}

/// The narrowest a wrapping column may get before wrapping stops helping.
pub(super) const MIN_WRAP_WIDTH: usize = 14;

fn cell_width(text: &str) -> usize {
    text.lines().map(measure_text_width).max().unwrap_or(0)
}

/// Each column's width with every cell (and its header) whole.
fn natural_widths(headers: &[&str], rows: &[Vec<String>]) -> Vec<usize> {
    (0..headers.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| cell_width(c))
                .chain([measure_text_width(headers[i])])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// The widest line of column `index` (its header too) once wrapped at `width`.
fn longest_wrapped(headers: &[&str], rows: &[Vec<String>], index: usize, width: usize) -> usize {
    rows.iter()
        .filter_map(|r| r.get(index).map(String::as_str))
        .chain(headers.get(index).copied())
        .flat_map(|cell| cell.lines().flat_map(move |l| wrap_words(l, width)))
        .map(|line| measure_text_width(&line))
        .max()
        .unwrap_or(0)
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
        let natural = natural_widths(headers, rows);
        let mut widths: Vec<Option<usize>> = natural.iter().copied().map(Some).collect();
        let Some(width) = width else {
            return Layout {
                widths,
                cut_long: false,
                bare: Vec::new(),
                origins: Vec::new(),
                wrap: Vec::new(),
                every_line: false,
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
            wrap: Vec::new(),
            every_line: false,
        }
    }

    /// The layout of a table in `width` columns (`None`: no width known, everything whole)
    /// where only the columns in `wrap` may give way, by wrapping: ids, states and times stay
    /// whole, so they can be read and copied. The wrapping columns share what the others
    /// leave: one that fits an equal share keeps its width, the rest split what remains. When
    /// that is less than [`MIN_WRAP_WIDTH`] each, nothing wraps: long lines read better than
    /// text shredded a few letters a line.
    pub(super) fn wrapping(
        headers: &[&str],
        rows: &[Vec<String>],
        width: Option<usize>,
        wrap: &[usize],
    ) -> Layout {
        let natural = natural_widths(headers, rows);
        let whole = Layout {
            widths: natural.iter().copied().map(Some).collect(),
            cut_long: false,
            bare: Vec::new(),
            origins: Vec::new(),
            wrap: Vec::new(),
            every_line: true,
        };
        let total: usize = natural.iter().map(|n| n + PADDING).sum();
        let Some(width) = width.filter(|&w| total > w) else {
            return whole;
        };
        let fixed: usize = (0..natural.len())
            .filter(|i| !wrap.contains(i))
            .map(|i| natural[i] + PADDING)
            .sum();
        let room = width.saturating_sub(fixed);
        if wrap.is_empty() || room < MIN_WRAP_WIDTH * wrap.len() {
            return whole;
        }
        let mut widths = whole.widths.clone();
        let mut remaining = room - PADDING * wrap.len();
        let mut open: Vec<usize> = wrap.to_vec();
        // Columns narrower than an equal share keep their width, until none is.
        while let Some(at) = open
            .iter()
            .position(|&i| natural[i] <= remaining / open.len())
        {
            remaining -= natural[open.remove(at)];
        }
        // A column whose lines, wrapped at the share, leave room to spare takes only what its
        // longest line needs.
        let mut settled = true;
        while settled && !open.is_empty() {
            settled = false;
            let share = remaining / open.len();
            if let Some(at) = open
                .iter()
                .position(|&i| share.saturating_sub(longest_wrapped(headers, rows, i, share)) >= 3)
            {
                let column = open.remove(at);
                let longest = longest_wrapped(headers, rows, column, share);
                widths[column] = Some(longest);
                remaining -= longest;
                settled = true;
            }
        }
        // The rest split what remains, the first ones taking the odd columns.
        if !open.is_empty() {
            let share = remaining / open.len();
            let mut odd = remaining % open.len();
            for &column in &open {
                let extra = usize::from(odd > 0);
                odd = odd.saturating_sub(1);
                widths[column] = Some((share + extra).max(1));
            }
        }
        Layout {
            widths,
            cut_long: false,
            bare: Vec::new(),
            origins: Vec::new(),
            wrap: wrap.to_vec(),
            every_line: true,
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
        let lines: Vec<Vec<std::borrow::Cow<'_, str>>> = row
            .iter()
            .enumerate()
            .map(|(column, cell)| {
                let lines: Box<dyn Iterator<Item = &str>> = match self.every_line {
                    true => Box::new(cell.split('\n')),
                    false => Box::new(cell.lines()),
                };
                match self.widths.get(column) {
                    Some(Some(width)) if self.wrap.contains(&column) => lines
                        .flat_map(|l| wrap_words(l, *width))
                        .map(std::borrow::Cow::Owned)
                        .collect(),
                    _ => lines.map(std::borrow::Cow::Borrowed).collect(),
                }
            })
            .collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for line in 0..height {
            let mut out = String::new();
            for (column, width) in self.widths.iter().enumerate() {
                let Some(width) = *width else { continue };
                let cell = lines
                    .get(column)
                    .and_then(|l| l.get(line))
                    .map_or("", |l| l.as_ref());
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

/// `line` in lines of at most `width` columns, broken between words (at spaces), a word
/// longer than a line broken where the line ends: a table cell's text wrapped in place. Words
/// fill a line until two columns or fewer are left; a long word starts on the same line
/// when more are.
pub(super) fn wrap_words(line: &str, width: usize) -> Vec<String> {
    /// Columns a line may leave empty rather than start a long word in them.
    const SPARE: usize = 2;
    if measure_text_width(line) <= width {
        return vec![line.to_string()];
    }
    // A line with two columns or fewer left is done.
    let done = |current: &str| measure_text_width(current) > width.saturating_sub(SPARE);
    let mut lines = Vec::new();
    let mut words: Vec<String> = line.split(' ').rev().map(str::to_string).collect();
    let mut current = String::new();
    while let Some(word) = words.pop() {
        let used = measure_text_width(&current);
        let needed = measure_text_width(&word);
        let gap = usize::from(!current.is_empty());
        if used + gap + needed <= width {
            if gap == 1 {
                current.push(' ');
            }
            current.push_str(&word);
            if done(&current) {
                lines.push(std::mem::take(&mut current));
            }
            continue;
        }
        let left = width.saturating_sub(used + gap);
        if !current.is_empty() && left <= SPARE {
            words.push(word);
            lines.push(std::mem::take(&mut current));
            continue;
        }
        if needed > width {
            if gap == 1 {
                current.push(' ');
            }
            let (head, rest) = split_word(&word, left, current.is_empty());
            current.push_str(head);
            words.push(rest.to_string());
            lines.push(std::mem::take(&mut current));
            continue;
        }
        lines.push(std::mem::replace(&mut current, word));
        if done(&current) {
            lines.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// `word` split after at most `width` columns; on a line of its own at least one character
/// goes first, however wide, so the text always moves on.
fn split_word(word: &str, width: usize, alone: bool) -> (&str, &str) {
    let mut used = 0;
    let mut end = 0;
    for (at, c) in word.char_indices() {
        let columns = char_width(c);
        if used + columns > width {
            break;
        }
        used += columns;
        end = at + c.len_utf8();
    }
    if end == 0 && alone {
        end = word.chars().next().map_or(0, char::len_utf8);
    }
    word.split_at(end)
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

    #[test]
    fn wrapping_columns_share_what_the_others_leave() {
        // What the table engine before this one (comfy-table) printed, byte for byte.
        let rows = vec![
            vec![
                "https://averyveryveryveryverylongsubdomainname.example.com:8443".to_string(),
                "exact".into(),
            ],
            vec![
                "https://shop.example.com\nhttp://localhost:3000".into(),
                "exact".into(),
            ],
        ];
        let layout = Layout::wrapping(&["origin", "kind"], &rows, Some(40), &[0]);
        assert_eq!(
            layout.render(Some(&["origin", "kind"]), &rows),
            " ORIGIN                           KIND\n \
             https://averyveryveryveryverylo  exact\n \
             ngsubdomainname.example.com:844\n \
             3\n \
             https://shop.example.com         exact\n \
             http://localhost:3000\n"
        );
        let headers = ["product", "surface", "id", "status", "tokens"];
        let rows = vec![
            vec![
                "Example Docs".to_string(),
                "Support widget for the docs site".into(),
                "s_0123".into(),
                "active".into(),
                "2".into(),
            ],
            vec![
                "Store".to_string(),
                "Web chat".into(),
                "s_4567".into(),
                "draft".into(),
                "0".into(),
            ],
        ];
        let wrapped = Layout::wrapping(&headers, &rows, Some(60), &[0, 1]).render(None, &rows);
        assert_eq!(
            wrapped,
            " Example Docs  Support widget for    s_0123  active  2\n               \
             the docs site\n Store         Web chat              s_4567  draft   0\n"
        );
        // Too little room left to wrap in: long lines, whole.
        let whole = Layout::wrapping(&headers, &rows, Some(50), &[0, 1]).render(None, &rows);
        assert!(
            whole.contains("Support widget for the docs site"),
            "{whole}"
        );
        // No width, or room enough: nothing wraps.
        for width in [None, Some(200)] {
            let text = Layout::wrapping(&headers, &rows, width, &[0, 1]).render(None, &rows);
            assert_eq!(text.lines().count(), 2, "{text}");
        }
    }

    #[test]
    fn words_wrap_between_words_and_long_ones_where_the_line_ends() {
        assert_eq!(wrap_words("short", 10), vec!["short"]);
        assert_eq!(
            wrap_words("Support widget for the docs site", 18),
            vec!["Support widget for", "the docs site"]
        );
        // A long word starts on the line when more than two columns are left.
        assert_eq!(
            wrap_words("ab https://shop.example.com", 10),
            vec!["ab https:/", "/shop.exam", "ple.com"]
        );
        for width in 1..12 {
            for line in wrap_words("日本語のテキスト and some text", width) {
                assert!(
                    measure_text_width(&line) <= width.max(2),
                    "{width}: {line:?}"
                );
            }
        }
    }
}
