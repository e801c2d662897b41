//! Where an engine keeps its rows and its lock queues: plain parts for the runner and the other
//! drivers, traced parts (`explore::Tracing`) for the explorer, which must see what a step touches.

use crate::lock::{LockMode, LockTable, Locks, Resource};
use crate::sql::Value;
use crate::store::{Store, TreeId};
use std::marker::PhantomData;

/// A store for the rows and a lock table for the queues, chosen together.
pub trait Parts: Send + 'static {
    type Store: Store + Send;
    type Locks<R: Resource + Send, M: LockMode + Send>: Locks<R, M>;
    /// A commit made `key` of `tree` visible to later reads without writing it. Plain parts
    /// ignore it; traced parts record it as a write the step made.
    fn committed(_store: &Self::Store, _tree: TreeId, _key: &[Value]) {}
}

/// The pure lock table over store `S` (in memory, or sled).
pub struct Plain<S>(PhantomData<fn() -> S>);

impl<S: Store + Send + 'static> Parts for Plain<S> {
    type Store = S;
    type Locks<R: Resource + Send, M: LockMode + Send> = LockTable<R, M>;
}
