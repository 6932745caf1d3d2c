//! The cases, by topic. Each is `pub async fn <sentence><S: Store>(store: &S)` (the two
//! concurrency cases take two handles) and panics when the store breaks the contract.

pub mod changes;
pub mod concurrency;
pub mod conflicts;
pub mod groups;
pub mod idempotency;
pub mod queries;
pub mod records;
pub mod tenancy;
pub mod transactions;
