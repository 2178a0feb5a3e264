//! [`Secret`]: a request value that records, journals, logs and failure causes never show.
//!
//! Owns the secret's three forms: shown (`"***"` when serialized, in `Debug` too), withheld (what
//! a shown form reads back as: the value is gone) and revealed (the value itself, only inside
//! [`Secret::revealed`], for a request sent on to a node's sidecar). It must not know which
//! request fields are secrets: the request types declare them by their type.

use std::cell::Cell;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What is shown instead of a secret.
pub const REDACTED: &str = "***";

thread_local! {
    /// Set while [`Secret::revealed`] runs on this thread. Serialization is synchronous, so
    /// the flag cannot leak into another task's serialization.
    static REVEALED: Cell<bool> = const { Cell::new(false) };
}

/// A secret of a request: the value as given, or withheld (read back from a form that showed
/// `"***"`, such as the journal).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Option<String>);

impl Secret {
    /// A secret with its value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Some(value.into()))
    }

    /// A secret whose value is gone.
    pub fn withheld() -> Secret {
        Secret(None)
    }

    /// The value, unless withheld.
    pub fn expose(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub fn is_withheld(&self) -> bool {
        self.0.is_none()
    }

    /// A submitted request holds no withheld secret: `"***"` there is the value itself.
    pub fn as_given(self) -> Secret {
        Secret(Some(self.0.unwrap_or_else(|| REDACTED.to_string())))
    }

    /// Runs `f` with every secret serialized as its value (a withheld one as `null`, never as
    /// the placeholder): for a request a node's sidecar must be able to use.
    pub fn revealed<R>(f: impl FnOnce() -> R) -> R {
        struct Reset(bool);
        impl Drop for Reset {
            fn drop(&mut self) {
                REVEALED.with(|r| r.set(self.0));
            }
        }
        let _reset = Reset(REVEALED.with(|r| r.replace(true)));
        f()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if REVEALED.with(Cell::get) {
            return match &self.0 {
                Some(value) => serializer.serialize_str(value),
                None => serializer.serialize_none(),
            };
        }
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Ok(if value == REDACTED {
            Secret::withheld()
        } else {
            Secret::new(value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_withheld_and_revealed() {
        let secret = Secret::new("hunter2");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(
            Secret::revealed(|| serde_json::to_string(&secret).unwrap()),
            "\"hunter2\""
        );
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
        let back: Secret = serde_json::from_str("\"***\"").unwrap();
        assert!(back.is_withheld() && back.expose().is_none());
        assert_eq!(
            Secret::revealed(|| serde_json::to_string(&back).unwrap()),
            "null"
        );
        assert_eq!(back.as_given().expose(), Some("***"));
        let other: Secret = serde_json::from_str("\"pw\"").unwrap();
        assert_eq!(other.expose(), Some("pw"));
    }
}
