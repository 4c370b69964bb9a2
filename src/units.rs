//! units: the byte units every module uses. Sizes are integer bytes inside headroom; GiB and MiB appear
//! only where a number is shown or a user gives one. The shells format through `cli::fmt`; the core's
//! own messages (advice, notes) use [`gib1`].

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// `bytes` in GiB.
pub fn gib(bytes: u64) -> f64 {
    bytes as f64 / GIB as f64
}

/// "x.y GiB".
pub fn gib1(bytes: u64) -> String {
    format!("{:.1} GiB", gib(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_units() {
        assert_eq!(GIB, 1024 * MIB);
        assert_eq!(MIB, 1024 * KIB);
        assert_eq!(gib(3 * GIB / 2), 1.5);
        assert_eq!(gib1(48 * GIB), "48.0 GiB");
    }
}
