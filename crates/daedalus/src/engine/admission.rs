//! Admission: whether a validated request may be accepted now, given the deployment's settings
//! and the operations not yet finished.
//!
//! Owns applying the rules (documented in docs/OPERATIONS.md): what the deployment allows (each
//! operation's `Operation::allowed`); while an exclusive operation (drain, decommission, restart)
//! is unfinished nothing new is accepted; two unfinished operations with the same conflict key
//! are refused. It must not change records or talk to the node.

use uuid::Uuid;

use crate::journal::JournalError;
use crate::operations::{OperationSettings, Request, ValidationError};
use crate::record::OperationRecord;

/// Why `Engine::submit` did not accept a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// 400: the deployment does not allow this operation.
    #[error(transparent)]
    Refused(#[from] ValidationError),
    /// 409: an unfinished operation conflicts with this one.
    #[error("{message}")]
    Conflict {
        id: Uuid,
        message: String,
        /// The conflicting operation.
        record: Box<OperationRecord>,
    },
    /// 503: the journal could not store it.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// 503 + `Retry-After`: `--max-pending` operations already wait; nothing was journaled.
    #[error("{pending} operations are already waiting; try again later")]
    QueueFull { pending: usize },
}

/// The unfinished operations admission looks at, found without walking them all.
pub(super) trait Unfinished {
    /// The oldest unfinished exclusive operation.
    fn first_exclusive(&self) -> Option<&OperationRecord>;
    /// The oldest unfinished operation whose `Request::duplicate_key` is `key`.
    fn unfinished_with_key(&self, key: &str) -> Option<&OperationRecord>;
}

/// Checks `request` against the settings and the unfinished operations: two lookups, whatever
/// the number of records.
pub(super) fn admit(
    request: &Request,
    settings: &OperationSettings,
    unfinished: &impl Unfinished,
) -> Result<(), SubmitError> {
    request.operation().allowed(settings)?;
    if let Some(record) = unfinished.first_exclusive() {
        return Err(conflict(
            record,
            format!(
                "operation {} ({}, {}) changes the node's state; nothing new is accepted \
                 until it finishes",
                record.id,
                record.type_name(),
                record.state.as_str()
            ),
        ));
    }
    if let Some(record) = request
        .duplicate_key()
        .and_then(|key| unfinished.unfinished_with_key(&key))
    {
        return Err(conflict(
            record,
            format!(
                "an identical operation {} ({}) is already {}",
                record.id,
                record.type_name(),
                record.state.as_str()
            ),
        ));
    }
    Ok(())
}

fn conflict(record: &OperationRecord, message: String) -> SubmitError {
    SubmitError::Conflict {
        id: record.id,
        message,
        record: Box::new(record.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::State;
    use serde_json::{json, Value};

    fn request(body: Value) -> Request {
        Request::from_json(&body, &Default::default()).unwrap()
    }

    /// What the table's indexes answer, found by scanning instead.
    struct Scan<'a>(Vec<&'a OperationRecord>);

    impl Unfinished for Scan<'_> {
        fn first_exclusive(&self) -> Option<&OperationRecord> {
            self.0
                .iter()
                .find(|r| !r.state.is_finished() && r.request.is_exclusive())
                .copied()
        }

        fn unfinished_with_key(&self, key: &str) -> Option<&OperationRecord> {
            self.0
                .iter()
                .find(|r| {
                    !r.state.is_finished() && r.request.duplicate_key().as_deref() == Some(key)
                })
                .copied()
        }
    }

    fn record(body: Value, state: State) -> OperationRecord {
        let mut r = OperationRecord::new(Uuid::new_v4(), 0, request(body), 0);
        r.state = state;
        r
    }

    #[test]
    fn rules() {
        let settings = OperationSettings::default();
        let cleanup = json!({"type": "cleanup", "keyspace": "ks", "tables": ["b", "a"]});
        let running = record(
            json!({"type": "cleanup", "keyspace": "ks", "tables": ["a", "b"]}),
            State::Running,
        );
        // Identical (table order does not matter) → conflict naming the running one.
        match admit(&request(cleanup.clone()), &settings, &Scan(vec![&running])) {
            Err(SubmitError::Conflict { id, .. }) => assert_eq!(id, running.id),
            other => panic!("{other:?}"),
        }
        // Other tables, other type, or the first one finished → accepted.
        let other = json!({"type": "cleanup", "keyspace": "ks", "tables": ["a"]});
        assert!(admit(&request(other), &settings, &Scan(vec![&running])).is_ok());
        let flush = json!({"type": "flush", "keyspace": "ks", "tables": ["a", "b"]});
        assert!(admit(&request(flush), &settings, &Scan(vec![&running])).is_ok());
        let done = record(cleanup.clone(), State::Completed);
        assert!(admit(&request(cleanup.clone()), &settings, &Scan(vec![&done])).is_ok());

        // A pending drain blocks everything, a drain included.
        let drain = record(json!({"type": "drain"}), State::Pending);
        for body in [
            cleanup,
            json!({"type": "decommission"}),
            json!({"type": "drain"}),
        ] {
            match admit(&request(body), &settings, &Scan(vec![&drain])) {
                Err(SubmitError::Conflict { id, .. }) => assert_eq!(id, drain.id),
                other => panic!("{other:?}"),
            }
        }
        // A drain is accepted while other operations run.
        assert!(admit(
            &request(json!({"type": "drain"})),
            &settings,
            &Scan(vec![&running])
        )
        .is_ok());
    }

    #[test]
    fn disabled_operations_say_how_to_enable_them() {
        let settings = OperationSettings::default();
        let truncate = json!({"type": "truncate", "keyspace": "ks", "table": "t"});
        match admit(&request(truncate.clone()), &settings, &Scan(vec![])) {
            Err(SubmitError::Refused(e)) => assert!(e.message.contains("--enable-truncate")),
            other => panic!("{other:?}"),
        }
        match admit(
            &request(json!({"type": "restart"})),
            &settings,
            &Scan(vec![]),
        ) {
            Err(SubmitError::Refused(e)) => assert!(e.message.contains("--restart-command")),
            other => panic!("{other:?}"),
        }
        let enabled = OperationSettings {
            enable_truncate: true,
            restart_command: Some("true".into()),
            ..OperationSettings::default()
        };
        assert!(admit(&request(truncate), &enabled, &Scan(vec![])).is_ok());
        assert!(admit(
            &request(json!({"type": "restart"})),
            &enabled,
            &Scan(vec![])
        )
        .is_ok());
    }
}
