// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Path composition (`Prefix + "/" + Node`) and the C package's length check.

use alloc::vec::Vec;

use super::error::StoreError;
use super::wire::{XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX};

/// The limit (terminator included) for a path starting with `first`: absolute paths (and an
/// empty prefix, as upstream treats it) get `XENSTORE_ABS_PATH_MAX`, relative ones
/// `XENSTORE_REL_PATH_MAX`.
const fn limit(start: &[u8]) -> usize {
    match start.first() {
        None | Some(b'/') => XENSTORE_ABS_PATH_MAX,
        Some(_) => XENSTORE_REL_PATH_MAX,
    }
}

/// Builds the NUL-terminated key for `prefix`/`node`.
///
/// # Errors
/// [`StoreError::InvalidParameter`] if either part holds a NUL (a C caller cannot express
/// one), [`StoreError::InvalidBufferSize`] if the key and its terminator exceed the limit
/// (`StoreCheckPathLength`).
pub fn compose(prefix: Option<&[u8]>, node: &[u8]) -> Result<Vec<u8>, StoreError> {
    if node.contains(&0) || prefix.is_some_and(|p| p.contains(&0)) {
        return Err(StoreError::InvalidParameter);
    }
    // With no prefix, an empty node counts as relative (the C check looks at `Node[0]`).
    let (max, len) = prefix.map_or_else(
        || {
            let max = if node.first() == Some(&b'/') {
                XENSTORE_ABS_PATH_MAX
            } else {
                XENSTORE_REL_PATH_MAX
            };
            (max, Some(node.len()))
        },
        |p| {
            let len = p
                .len()
                .checked_add(1)
                .and_then(|l| l.checked_add(node.len()));
            (limit(p), len)
        },
    );
    let total = len
        .and_then(|l| l.checked_add(1))
        .ok_or(StoreError::InvalidBufferSize)?;
    if total > max {
        return Err(StoreError::InvalidBufferSize);
    }
    let mut key = Vec::new();
    key.try_reserve_exact(total)
        .map_err(|_| StoreError::InsufficientResources)?;
    if let Some(p) = prefix {
        key.extend_from_slice(p);
        key.push(b'/');
    }
    key.extend_from_slice(node);
    key.push(0);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn prefix_and_node_are_joined_with_a_slash() {
        assert_eq!(compose(Some(b"/a"), b"b").unwrap(), b"/a/b\0");
        assert_eq!(compose(None, b"device/vif").unwrap(), b"device/vif\0");
    }

    #[test]
    fn absolute_paths_may_fill_the_limit_with_the_terminator() {
        let mut node = vec![b'/'];
        node.resize(XENSTORE_ABS_PATH_MAX - 1, b'x');
        assert_eq!(compose(None, &node).unwrap().len(), XENSTORE_ABS_PATH_MAX);
        node.push(b'x');
        assert_eq!(compose(None, &node), Err(StoreError::InvalidBufferSize));
    }

    #[test]
    fn relative_paths_have_the_smaller_limit() {
        let node = vec![b'x'; XENSTORE_REL_PATH_MAX - 1];
        assert!(compose(None, &node).is_ok());
        let node = vec![b'x'; XENSTORE_REL_PATH_MAX];
        assert_eq!(compose(None, &node), Err(StoreError::InvalidBufferSize));
        let prefix = vec![b'p'; 1000];
        let node = vec![b'n'; XENSTORE_REL_PATH_MAX - 1002];
        assert!(compose(Some(&prefix), &node).is_ok());
        let node = vec![b'n'; XENSTORE_REL_PATH_MAX - 1001];
        assert_eq!(
            compose(Some(&prefix), &node),
            Err(StoreError::InvalidBufferSize)
        );
    }

    #[test]
    fn embedded_nuls_are_refused() {
        assert_eq!(compose(None, b"/a\0b"), Err(StoreError::InvalidParameter));
        assert_eq!(
            compose(Some(b"/a\0"), b"b"),
            Err(StoreError::InvalidParameter)
        );
    }
}
