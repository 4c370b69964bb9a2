//! "Did you mean": the nearest candidate to a misspelt name by edit distance, for error messages about
//! unknown spec fields, quant names, profile ids, fields and options. The one edit-distance in the crate.

/// Levenshtein distance between two strings, counted in chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate nearest to `name`, if it is near enough to be a plausible misspelling: at most a
/// third of the longer name's length away (and at least 2 edits are always allowed). Ties go to the
/// candidate listed first.
pub fn nearest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = edit_distance(&name.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.and_then(|(d, c)| {
        let allowed = (name.chars().count().max(c.chars().count()) / 3).max(2);
        (d <= allowed).then_some(c)
    })
}

/// "; did you mean `x`?" or "" when nothing is near.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    match nearest(name, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("bandwith_gbs", "bandwidth_gbs"), 1);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn nearest_respects_threshold() {
        let c = ["m3-max-40c", "m3-max-30c", "rtx-4090"];
        assert_eq!(nearest("m3-max-40", c), Some("m3-max-40c"));
        assert_eq!(nearest("rtx4090", c), Some("rtx-4090"));
        assert_eq!(nearest("completely-different-thing", c), None);
    }
}
