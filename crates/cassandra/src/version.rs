//! Cassandra release versions (`StorageService.ReleaseVersion`) and what each one supports.
//!
//! Owns parsing the version string and the version predicates the operations branch on. It must
//! not call the node.
//!
//! Grammar, as the DataStax driver's `CassandraVersion` (used by esop/Icarus) accepts it:
//! `MAJOR.MINOR[.PATCH[.DSEPATCH]][-LABEL[-LABEL…]][+BUILD]`, e.g. `4.0.6`, `5.0-beta2`,
//! `4.1.3-SNAPSHOT`, `3.11.20`, `5.0.0-rc1-SNAPSHOT`. A missing patch is 0.

use std::fmt;

/// A parsed Cassandra release version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CassandraVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The fourth number of DSE-style versions (`6.0.11.2`), when present.
    pub dse_patch: Option<u32>,
    /// Pre-release labels, e.g. `["beta2"]` for `5.0-beta2`.
    pub pre_release: Vec<String>,
    /// Build metadata after `+`, when present.
    pub build: Option<String>,
    /// The string the node reported.
    pub raw: String,
}

/// The version string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse Cassandra version {0:?}")]
pub struct VersionParseError(pub String);

impl CassandraVersion {
    pub fn parse(text: &str) -> Result<CassandraVersion, VersionParseError> {
        let err = || VersionParseError(text.to_owned());
        let raw = text.trim();
        let (rest, build) = match raw.split_once('+') {
            Some((rest, build)) if !build.is_empty() => (rest, Some(build.to_owned())),
            Some(_) => return Err(err()),
            None => (raw, None),
        };
        let (numbers, labels) = match rest.find(['-', '~']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let numbers: Vec<u32> = numbers
            .split('.')
            .map(|n| {
                if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                    n.parse().map_err(|_| err())
                } else {
                    Err(err())
                }
            })
            .collect::<Result<_, _>>()?;
        if !(2..=4).contains(&numbers.len()) {
            return Err(err());
        }
        let pre_release = match labels {
            None => Vec::new(),
            Some(labels) => {
                let labels: Vec<String> = labels.split('-').map(str::to_owned).collect();
                let valid = labels.iter().all(|l| {
                    !l.is_empty()
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
                });
                if !valid {
                    return Err(err());
                }
                labels
            }
        };
        Ok(CassandraVersion {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers.get(2).copied().unwrap_or(0),
            dse_patch: numbers.get(3).copied(),
            pre_release,
            build,
            raw: raw.to_owned(),
        })
    }

    /// True when this version is `major.minor` or newer (pre-releases of `major.minor` count).
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// `importNewSSTables` exists (4.0+).
    pub fn has_import(&self) -> bool {
        self.at_least(4, 0)
    }

    /// The 10-argument `importNewSSTables` with the SAI flags (5.0+).
    pub fn has_import_with_index_flags(&self) -> bool {
        self.at_least(5, 0)
    }

    /// `decommission(boolean force)` (4.0+); 3.x only has `decommission()`.
    pub fn has_decommission_force(&self) -> bool {
        self.at_least(4, 0)
    }

    /// The non-deprecated `upgradeSSTables` takes `maxSSTableTimestamp` (4.1+).
    pub fn has_upgrade_max_timestamp(&self) -> bool {
        self.at_least(4, 1)
    }

    /// `…WithPort` attributes (`EndpointWithPortToHostId`, `LiveNodesWithPort`, ...) (4.0+).
    pub fn has_port_aware_endpoints(&self) -> bool {
        self.at_least(4, 0)
    }

    /// `rebuild(String, String, String, String, boolean)` (5.0+).
    pub fn has_rebuild_exclude_local_dc(&self) -> bool {
        self.at_least(5, 0)
    }

    /// `clearSnapshot(Map, String, String[])` (5.0+; the older form is deprecated there).
    pub fn has_clear_snapshot_options(&self) -> bool {
        self.at_least(5, 0)
    }

    /// Snapshot `ttl` option (4.1+).
    pub fn has_snapshot_ttl(&self) -> bool {
        self.at_least(4, 1)
    }
}

impl fmt::Display for CassandraVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_versions() {
        let v = CassandraVersion::parse("4.0.6").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (4, 0, 6));
        assert!(v.pre_release.is_empty());
        assert_eq!(v.dse_patch, None);
        assert_eq!(v.raw, "4.0.6");

        let v = CassandraVersion::parse("5.0-beta2").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (5, 0, 0));
        assert_eq!(v.pre_release, ["beta2"]);

        let v = CassandraVersion::parse("5.0.0-rc1-SNAPSHOT").unwrap();
        assert_eq!(v.pre_release, ["rc1", "SNAPSHOT"]);

        let v = CassandraVersion::parse("6.0.11.2+build7").unwrap();
        assert_eq!(v.dse_patch, Some(2));
        assert_eq!(v.build.as_deref(), Some("build7"));

        let v = CassandraVersion::parse(" 3.11.20\n").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (3, 11, 20));
        assert_eq!(v.to_string(), "3.11.20");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "4",
            "four.0",
            "4.0.",
            "4..0",
            "4.0.1.2.3",
            "4.0-",
            "4.0+",
            "4.0-be ta",
            "-4.0",
        ] {
            assert!(CassandraVersion::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn feature_gates() {
        let v311 = CassandraVersion::parse("3.11.20").unwrap();
        let v40 = CassandraVersion::parse("4.0.6").unwrap();
        let v41 = CassandraVersion::parse("4.1.0").unwrap();
        let v50 = CassandraVersion::parse("5.0-beta2").unwrap();
        assert!(!v311.has_import() && v40.has_import() && v50.has_import());
        assert!(!v41.has_import_with_index_flags() && v50.has_import_with_index_flags());
        assert!(!v311.has_decommission_force() && v40.has_decommission_force());
        assert!(!v40.has_upgrade_max_timestamp() && v41.has_upgrade_max_timestamp());
        assert!(!v311.has_port_aware_endpoints() && v40.has_port_aware_endpoints());
    }
}
