//! Text tables that fit the terminal: `comfy-table` lays them out. On a terminal (or with
//! `$COLUMNS` set) the table fits its width: columns marked [`Column::wrap`] wrap, columns
//! marked [`Column::optional`] are left out, least needed first, when the rest would not fit,
//! and the others keep their full width (IDs and timestamps are never broken). Into a pipe or a
//! file, with no width to fit, every column shows and every row stays on one line, so `grep`
//! and `awk` see one record per line.

use comfy_table::{ColumnConstraint, ContentArrangement, Table, presets};

/// The narrowest a wrapping column is made before optional columns are left out.
const MIN_WRAP: usize = 16;

/// Space between two columns.
const GAP: usize = 2;

/// One column's header and how it gives way to a narrow terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    header: &'static str,
    wrap: bool,
    /// Left out when space is short: the highest first.
    drop_rank: Option<u8>,
}

impl Column {
    /// A column shown at its full width.
    pub(crate) const fn new(header: &'static str) -> Self {
        Column {
            header,
            wrap: false,
            drop_rank: None,
        }
    }

    /// Its cells may wrap onto more lines (free text: details, messages, names).
    pub(crate) const fn wrap(mut self) -> Self {
        self.wrap = true;
        self
    }

    /// It may be left out when the terminal is too narrow; of two, the higher `rank` goes
    /// first.
    pub(crate) const fn optional(mut self, rank: u8) -> Self {
        self.drop_rank = Some(rank);
        self
    }
}

/// The width to fit: `$COLUMNS` when set (scripts and tests choose one), else the terminal's
/// when standard output is one, else none.
fn width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(columns);
    }
    console::Term::stdout()
        .size_checked()
        .map(|(_rows, columns)| usize::from(columns))
}

/// Renders rows under the columns' headers, fitted to the terminal (see the module docs).
pub(crate) fn render(columns: &[Column], rows: &[Vec<String>]) -> String {
    render_width(columns, rows, width())
}

fn render_width(columns: &[Column], rows: &[Vec<String>], width: Option<usize>) -> String {
    // A cell's own line breaks would break a record over lines even in a pipe.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.replace(['\n', '\r', '\t'], " "))
                .collect()
        })
        .collect();
    let content: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.chars().count())
                .chain([c.header.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    if let Some(width) = width {
        let needed = |shown: &[usize]| -> usize {
            shown
                .iter()
                .map(|&i| {
                    if columns[i].wrap {
                        content[i].min(MIN_WRAP)
                    } else {
                        content[i]
                    }
                })
                .sum::<usize>()
                + GAP * shown.len().saturating_sub(1)
        };
        while needed(&shown) > width {
            let Some(pos) = shown
                .iter()
                .enumerate()
                .filter_map(|(pos, &i)| columns[i].drop_rank.map(|rank| (rank, pos)))
                .max()
                .map(|(_, pos)| pos)
            else {
                break;
            };
            shown.remove(pos);
        }
    }

    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(shown.iter().map(|&i| columns[i].header));
    for row in &rows {
        table.add_row(
            shown
                .iter()
                .map(|&i| row.get(i).cloned().unwrap_or_default()),
        );
    }
    match width {
        Some(width) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    let last = shown.len().saturating_sub(1);
    for (pos, column) in table.column_iter_mut().enumerate() {
        // Two spaces between columns and none before the first: lines start with the ID.
        column.set_padding((0, if pos == last { 0 } else { GAP as u16 }));
        if !columns[shown[pos]].wrap {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 4] = [
        Column::new("Job ID"),
        Column::new("Class"),
        Column::new("Completed").optional(1),
        Column::new("Status Detail").wrap(),
    ];

    fn rows() -> Vec<Vec<String>> {
        vec![vec![
            "7072FfkIhm7t02CQEQ".into(),
            "SyncInvoice".into(),
            "2026-12-02 05:48:04".into(),
            "callout to the billing service failed for INV-1001 (HTTP 503)".into(),
        ]]
    }

    #[test]
    fn pads_columns_and_keeps_rows_whole_without_a_width() {
        let out = render_width(&COLUMNS, &rows(), None);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "Job ID              Class        Completed            Status Detail"
        );
        assert_eq!(
            lines[1],
            "7072FfkIhm7t02CQEQ  SyncInvoice  2026-12-02 05:48:04  \
             callout to the billing service failed for INV-1001 (HTTP 503)"
        );
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn wraps_free_text_and_leaves_out_optional_columns_to_fit() {
        let wide = render_width(&COLUMNS, &rows(), Some(70));
        assert!(wide.lines().all(|l| l.chars().count() <= 70), "{wide}");
        assert!(wide.contains("2026-12-02 05:48:04"), "room for it: {wide}");
        let narrow = render_width(&COLUMNS, &rows(), Some(50));
        assert!(narrow.lines().all(|l| l.chars().count() <= 50), "{narrow}");
        assert!(!narrow.contains("Completed"), "left out: {narrow}");
        assert!(
            narrow
                .lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("7072FfkIhm7t02CQEQ  SyncInvoice  ")),
            "IDs and names whole: {narrow}"
        );
        let words: String = narrow.split_whitespace().collect();
        assert!(words.contains("(HTTP503)"), "nothing is cut: {narrow}");
    }
}
