//! Field rules shared by the maintenance operations: keyspace/table identifiers, table lists,
//! `jobs`, tokens; and durations, as requests and settings write them.
//!
//! Owns turning an optional decoded value into a checked one or a `ValidationError` naming the
//! field. It must not know which operation uses which field.

use std::time::Duration;

use super::import::identifier;
use super::validation::ValidationError;

/// A required keyspace or table name.
pub(crate) fn name(field: &str, value: Option<String>) -> Result<String, ValidationError> {
    identifier(field, value)
}

/// An optional keyspace name: absent or `null` stays `None`.
pub(crate) fn optional_name(
    field: &str,
    value: Option<String>,
) -> Result<Option<String>, ValidationError> {
    value.map(|v| identifier(field, Some(v))).transpose()
}

/// A table list: absent or empty means every table of the keyspace.
pub(crate) fn tables(value: Option<Vec<String>>) -> Result<Vec<String>, ValidationError> {
    value
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| identifier(&format!("tables[{i}]"), Some(t)))
        .collect()
}

/// `jobs`: 0 (all compaction threads, the default) or more.
pub(crate) fn jobs(value: Option<i64>) -> Result<i32, ValidationError> {
    let jobs = value.unwrap_or(0);
    if jobs < 0 {
        return Err(ValidationError::invalid(
            "jobs",
            format!("'jobs' must be 0 (all compaction threads) or more, got {jobs}"),
        ));
    }
    i32::try_from(jobs)
        .map_err(|_| ValidationError::invalid("jobs", format!("'jobs' is too large: {jobs}")))
}

/// A token: an integer written as a string (Murmur3 and Random partitioner tokens).
pub(crate) fn token(field: &str, value: Option<String>) -> Result<String, ValidationError> {
    let value = value.ok_or_else(|| ValidationError::missing(field))?;
    let digits = value.strip_prefix('-').unwrap_or(&value);
    if digits.is_empty() || digits.len() > 39 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(ValidationError::invalid(
            field,
            format!("'{field}' must be an integer token written as a string, got {value:?}"),
        ));
    }
    Ok(value)
}

/// A host given as `specificSources`: an IP address or host name, optionally with a port.
pub(crate) fn host(field: &str, value: String) -> Result<String, ValidationError> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_' | '[' | ']'));
    if !ok {
        return Err(ValidationError::invalid(
            field,
            format!("'{field}' must be a host address, got {value:?}"),
        ));
    }
    Ok(value)
}

/// `500ms`, `90s`, `30m`, `1h`, `2d`, `1h 30m` (humantime's forms); a bare whole number is
/// `bare_unit_secs` seconds per unit.
pub fn parse_duration(text: &str, bare_unit_secs: u64) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let units: u64 = text.parse().map_err(|_| format!("{text:?} is too long"))?;
        return units
            .checked_mul(bare_unit_secs)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{text:?} is too long"));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration like 90s, 30m or 1h ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(jobs(None), Ok(0));
        assert_eq!(jobs(Some(4)), Ok(4));
        assert_eq!(jobs(Some(-1)).unwrap_err().field.as_deref(), Some("jobs"));
        assert!(jobs(Some(i64::from(i32::MAX) + 1)).is_err());
        assert_eq!(
            tables(Some(vec!["a".into(), "b c".into()]))
                .unwrap_err()
                .field
                .as_deref(),
            Some("tables[1]")
        );
        assert_eq!(tables(None), Ok(vec![]));
        assert!(token("start", Some("-9223372036854775808".into())).is_ok());
        assert!(token("start", Some("12a".into())).is_err());
        assert!(token("start", Some("-".into())).is_err());
        assert_eq!(token("end", None).unwrap_err().error, "missing_field");
        assert!(host("specificSources[0]", "127.0.0.2".into()).is_ok());
        assert!(host("specificSources[0]", "a b".into()).is_err());
        assert_eq!(optional_name("keyspace", None), Ok(None));
        assert!(optional_name("keyspace", Some("bad-name".into())).is_err());
    }
}
