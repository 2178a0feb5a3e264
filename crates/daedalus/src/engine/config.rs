//! How the engine runs: workers, expiry, the queue bound, and the operations' settings.
//!
//! Owns [`EngineConfig`] and its defaults. It must not hold behaviour.

use std::time::Duration;

use crate::operations::{OperationSettings, ValidationPolicy};

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Operations running at once; more wait PENDING.
    pub workers: usize,
    /// Finished operations are forgotten this long after they finish.
    pub expiration: Duration,
    pub policy: ValidationPolicy,
    /// What operations may run and their bounds (truncate, restart, drain, progress polling).
    pub operations: OperationSettings,
    /// Most operations waiting PENDING; `submit` refuses beyond it (`SubmitError::QueueFull`).
    pub max_pending: usize,
}

/// Default of `EngineConfig::max_pending`.
pub const DEFAULT_MAX_PENDING: usize = 1000;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 10,
            expiration: Duration::from_secs(3600),
            policy: ValidationPolicy::default(),
            operations: OperationSettings::default(),
            max_pending: DEFAULT_MAX_PENDING,
        }
    }
}
