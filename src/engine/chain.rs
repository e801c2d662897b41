//! An append-only list whose copies share what they have in common, so copying it is one count.

use std::sync::Arc;

struct Link<T> {
    item: T,
    prev: Option<Arc<Link<T>>>,
}

/// Items numbered from 0 in the order pushed. A copy shares every item pushed before it; pushing
/// to one copy does not change the other. Reading item `i` walks back from the newest, so it suits
/// lists that are written often, copied often and read rarely (why each lock was taken).
pub struct Chain<T> {
    head: Option<Arc<Link<T>>>,
    len: usize,
}

impl<T> Chain<T> {
    pub fn new() -> Self {
        Chain { head: None, len: 0 }
    }

    /// Append `item`; returns its number.
    pub fn push(&mut self, item: T) -> usize {
        self.head = Some(Arc::new(Link { item, prev: self.head.take() }));
        self.len += 1;
        self.len - 1
    }

    /// Item number `i`, if pushed.
    pub fn get(&self, i: usize) -> Option<&T> {
        let mut back = self.len.checked_sub(i + 1)?;
        let mut link = self.head.as_deref()?;
        while back > 0 {
            link = link.prev.as_deref()?;
            back -= 1;
        }
        Some(&link.item)
    }
}

impl<T> Default for Chain<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Chain<T> {
    fn clone(&self) -> Self {
        Chain { head: self.head.clone(), len: self.len }
    }
}

/// Dropped link by link, not recursively, so a long list cannot overflow the stack.
impl<T> Drop for Chain<T> {
    fn drop(&mut self) {
        let mut next = self.head.take();
        while let Some(link) = next {
            match Arc::try_unwrap(link) {
                Ok(mut owned) => next = owned.prev.take(),
                // Another copy still holds the rest.
                Err(_) => break,
            }
        }
    }
}

impl<T> std::fmt::Debug for Chain<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chain(len {})", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::Chain;

    #[test]
    fn copies_share_the_prefix_and_diverge_after() {
        let mut a = Chain::new();
        assert_eq!(a.push("x"), 0);
        assert_eq!(a.push("y"), 1);
        let mut b = a.clone();
        assert_eq!(a.push("a2"), 2);
        assert_eq!(b.push("b2"), 2);
        assert_eq!((a.get(0), a.get(1), a.get(2), a.get(3)), (Some(&"x"), Some(&"y"), Some(&"a2"), None));
        assert_eq!(b.get(2), Some(&"b2"));
        drop(a);
        assert_eq!((b.get(0), b.get(3)), (Some(&"x"), None));
        assert!(Chain::<u8>::new().get(0).is_none());
    }

    #[test]
    fn a_long_chain_drops_without_recursion() {
        let mut c = Chain::new();
        for i in 0..1_000_000u32 {
            c.push(i);
        }
        let copy = c.clone();
        drop(c);
        assert_eq!(copy.get(999_999), Some(&999_999));
        drop(copy);
    }
}
