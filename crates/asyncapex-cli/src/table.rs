//! A plain text table: columns padded to their widest cell, long cells cut with an ellipsis.

/// Renders rows under a header; every row must have as many cells as the header.
pub(crate) fn render(header: &[&str], rows: &[Vec<String>], max_width: usize) -> String {
    let cut = |s: &str| -> String {
        if s.chars().count() > max_width {
            let mut t: String = s.chars().take(max_width.saturating_sub(1)).collect();
            t.push('…');
            t
        } else {
            s.to_owned()
        }
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| cut(&c.replace(['\n', '\r', '\t'], " ")))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_columns_and_cuts_long_cells() {
        let out = render(
            &["ID", "Status"],
            &[
                vec!["a".into(), "Completed".into()],
                vec!["long-id".into(), "x".repeat(50)],
            ],
            10,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "ID       Status");
        assert_eq!(lines[1], "a        Completed");
        assert_eq!(lines[2], format!("long-id  {}…", "x".repeat(9)));
    }
}
