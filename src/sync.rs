//! The threaded engine's synchronisation, in one place: parking_lot and std normally, loom's
//! models under `cfg(loom)` (loom's `src/lib.rs` and redb's `src/sync.rs` pattern).
//!
//! Code that must be model-checked takes its `Mutex`, `Condvar`, `Arc` and `thread` from here and
//! nowhere else. loom has no parking_lot mocks, so under `cfg(loom)` a thin adapter gives loom's
//! `Mutex` and `Condvar` parking_lot's API: `lock()` returns the guard (no poisoning), and
//! `Condvar::wait` takes the guard by `&mut`.

#[cfg(not(loom))]
pub use parking_lot::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub use std::sync::Arc;
#[cfg(not(loom))]
pub use std::thread;

#[cfg(loom)]
pub use loom::sync::Arc;
#[cfg(loom)]
pub use loom::thread;
#[cfg(loom)]
pub use loom_adapter::{Condvar, Mutex, MutexGuard};

#[cfg(loom)]
mod loom_adapter {
    use std::ops::{Deref, DerefMut};

    /// loom's mutex with parking_lot's API.
    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub fn lock(&self) -> MutexGuard<'_, T> {
            // A panic while the lock was held fails the model anyway; no poisoning, as parking_lot.
            MutexGuard(Some(self.0.lock().unwrap_or_else(|e| e.into_inner())))
        }

        pub fn into_inner(self) -> T {
            self.0.into_inner().unwrap_or_else(|e| e.into_inner())
        }
    }

    /// The guard; `None` only while a [`Condvar::wait`] has given it to loom.
    pub struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().expect("guard held")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().expect("guard held")
        }
    }

    /// loom's condition variable with parking_lot's API.
    #[derive(Debug)]
    pub struct Condvar(loom::sync::Condvar);

    impl Default for Condvar {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Condvar {
        pub fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().expect("guard held");
            guard.0 = Some(self.0.wait(inner).unwrap_or_else(|e| e.into_inner()));
        }

        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        pub fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}
