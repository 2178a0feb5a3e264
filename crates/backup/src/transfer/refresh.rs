//! What an upload does with a file whose key is already stored: with a [`RefreshObject`] in
//! [`TransferOptions::refresh`](super::TransferOptions::refresh), the object is refreshed
//! (made to look newly written, without its bytes being sent) so that lifecycle rules by age
//! do not expire an object the new backup references; without one it is left as it is
//! (`skipRefreshing`). How a store refreshes is the store's; this module only names the hook.

use futures::future::BoxFuture;
use object_store::path::Path as ObjectKey;

/// Refreshes an object that is already stored, in place.
pub trait RefreshObject: Send + Sync {
    /// Makes the object at `key`, of `size` bytes, count as newly written.
    fn refresh<'a>(
        &'a self,
        key: &'a ObjectKey,
        size: u64,
    ) -> BoxFuture<'a, Result<(), object_store::Error>>;
}
