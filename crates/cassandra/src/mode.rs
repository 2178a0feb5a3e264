//! The node's operation mode (`StorageService.OperationMode`).
//!
//! Owns the mapping between the mode strings and [`OperationMode`]. Unknown strings pass through
//! as [`OperationMode::Other`], so a newer Cassandra never makes this fail. It must not call the
//! node.

use std::fmt;

/// `StorageService.Mode` (fact sheet §3.6): the eight values of 3.11–4.1, the two 5.0 adds, and
/// anything else as `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OperationMode {
    Starting,
    Normal,
    Joining,
    Leaving,
    Decommissioned,
    Moving,
    Draining,
    Drained,
    /// 5.0+.
    JoiningFailed,
    /// 5.0+.
    DecommissionFailed,
    Other(String),
}

impl OperationMode {
    pub fn parse(text: &str) -> OperationMode {
        match text {
            "STARTING" => OperationMode::Starting,
            "NORMAL" => OperationMode::Normal,
            "JOINING" => OperationMode::Joining,
            "LEAVING" => OperationMode::Leaving,
            "DECOMMISSIONED" => OperationMode::Decommissioned,
            "MOVING" => OperationMode::Moving,
            "DRAINING" => OperationMode::Draining,
            "DRAINED" => OperationMode::Drained,
            "JOINING_FAILED" => OperationMode::JoiningFailed,
            "DECOMMISSION_FAILED" => OperationMode::DecommissionFailed,
            other => OperationMode::Other(other.to_owned()),
        }
    }

    /// The string Cassandra uses.
    pub fn as_str(&self) -> &str {
        match self {
            OperationMode::Starting => "STARTING",
            OperationMode::Normal => "NORMAL",
            OperationMode::Joining => "JOINING",
            OperationMode::Leaving => "LEAVING",
            OperationMode::Decommissioned => "DECOMMISSIONED",
            OperationMode::Moving => "MOVING",
            OperationMode::Draining => "DRAINING",
            OperationMode::Drained => "DRAINED",
            OperationMode::JoiningFailed => "JOINING_FAILED",
            OperationMode::DecommissionFailed => "DECOMMISSION_FAILED",
            OperationMode::Other(s) => s,
        }
    }
}

impl fmt::Display for OperationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_passes_unknown_through() {
        for s in [
            "STARTING",
            "NORMAL",
            "JOINING",
            "LEAVING",
            "DECOMMISSIONED",
            "MOVING",
            "DRAINING",
            "DRAINED",
            "JOINING_FAILED",
            "DECOMMISSION_FAILED",
        ] {
            let m = OperationMode::parse(s);
            assert!(!matches!(m, OperationMode::Other(_)), "{s}");
            assert_eq!(m.as_str(), s);
        }
        assert_eq!(
            OperationMode::parse("RESUMING_BOOTSTRAP"),
            OperationMode::Other("RESUMING_BOOTSTRAP".into())
        );
        assert_eq!(OperationMode::parse("normal").as_str(), "normal");
    }
}
