//! The oracle and calibration tables in tests/data: a minimal CSV reader (quoted fields with doubled
//! quotes, `#` comment lines and blank lines skipped) and its rows by column name.

use std::collections::HashMap;

pub struct Row {
    pub f: HashMap<String, String>,
}

impl Row {
    pub fn s(&self, k: &str) -> &str {
        self.f
            .get(k)
            .map(|s| s.as_str())
            .unwrap_or_else(|| panic!("column {k}"))
    }

    pub fn u(&self, k: &str) -> u64 {
        let v = self.s(k);
        v.parse().unwrap_or_else(|_| panic!("{k}={v}"))
    }
}

/// The rows of `text`, by the names in its header line.
pub fn read_csv(text: &str) -> Vec<Row> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let split = |line: &str| -> Vec<String> {
        let mut out = vec![];
        let mut cur = String::new();
        let mut q = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if q && chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                '"' => q = !q,
                ',' if !q => out.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        out.push(cur);
        out
    };
    let header = split(lines.next().expect("header"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| Row {
            f: header.iter().cloned().zip(split(l)).collect(),
        })
        .collect()
}
