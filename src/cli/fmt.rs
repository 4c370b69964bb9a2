//! Number formatting shared by the CLI and the TUI: GiB for memory, GB/s for bandwidth, always labelled.

pub const GIB: f64 = crate::units::GIB as f64;

/// Bytes as GiB with two decimals: "42.52 GiB".
pub fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / GIB)
}

/// Bytes as GiB with one decimal, no unit: "42.5".
pub fn gib1(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / GIB)
}

/// The largest context per KV type: "f16 26624 (26k), q8_0 49920, q4_0 none", each context written by
/// `ctx` ([`ctx`] for tables, [`ctx_short`] for the TUI).
pub fn max_contexts(list: &[crate::estimate::MaxContext], ctx: fn(u64) -> String) -> String {
    list.iter()
        .map(|c| {
            format!(
                "{} {}",
                c.cache_type.name().to_ascii_lowercase(),
                c.max_context.map(ctx).unwrap_or_else(|| "none".into())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bytes/s as GB/s: "409.6 GB/s".
pub fn gbs(bytes_per_s: f64) -> String {
    format!("{:.1} GB/s", bytes_per_s / 1e9)
}

/// A parameter count: "70.55 B", "596.0 M".
pub fn params(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} B", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} M", n / 1e6)
    } else {
        format!("{:.0}", n)
    }
}

/// Tokens/s with sensible precision.
pub fn tps(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A context length: "131072 (128k)".
pub fn ctx(n: u64) -> String {
    if n >= 1024 && n.is_multiple_of(1024) {
        format!("{n} ({}k)", n / 1024)
    } else {
        n.to_string()
    }
}

/// "512", "4k", "128k", "40k": a context length on an axis.
pub fn ctx_short(n: u64) -> String {
    if n >= 1024 && n.is_multiple_of(1024) {
        format!("{}k", n / 1024)
    } else if n >= 1024 {
        format!("{:.1}k", n as f64 / 1024.0)
    } else {
        n.to_string()
    }
}

/// A per-layer list shown compactly: one value if uniform, else "min-max (per layer)".
pub fn per_layer<T: Copy + PartialOrd + std::fmt::Display>(v: &[T]) -> String {
    let Some(first) = v.first().copied() else {
        return "-".into();
    };
    if v.iter().all(|x| *x == first) {
        return first.to_string();
    }
    let (mut lo, mut hi) = (first, first);
    for &x in v {
        if x < lo {
            lo = x;
        }
        if x > hi {
            hi = x;
        }
    }
    format!("{lo}-{hi} (per layer)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(gib(42_520_000_000), "39.60 GiB");
        assert_eq!(params(70_553_706_496), "70.55 B");
        assert_eq!(ctx(131072), "131072 (128k)");
        assert_eq!(per_layer(&[8u32, 8, 8]), "8");
        assert_eq!(per_layer(&[8u32, 0, 8]), "0-8 (per layer)");
    }
}
