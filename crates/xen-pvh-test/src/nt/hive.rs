// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The in-memory registry the stand-in's `Zw*Key` routines serve.
//!
//! A tree of keys from `\Registry`, each with a name (kept as created), a volatile flag, its
//! subkeys and its values. Names compare without regard to case (upper-casing ASCII and
//! Latin-1, what driver paths use); subkeys enumerate in that case-insensitive order, as the
//! Windows registry stores them, and values in the order they were first set. A key is
//! deleted only when it has no subkeys; a deleted key stays in the arena (handles to it then
//! see `STATUS_KEY_DELETED`).
//!
//! The stand-in fills it before loading a driver ([`Hive::standard`]): the service keys of the
//! images under `HKLM\SYSTEM\CurrentControlSet\Services` and
//! `Control\SystemStartOptions`, as Windows has them at boot.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// A key's index in the arena.
pub type KeyId = usize;

/// `REG_SZ`, `REG_MULTI_SZ`, `REG_DWORD`.
pub const REG_SZ: u32 = 1;
/// `REG_MULTI_SZ`.
pub const REG_MULTI_SZ: u32 = 7;
/// `REG_DWORD`.
pub const REG_DWORD: u32 = 4;

/// One value.
#[derive(Debug, Clone)]
pub struct Value {
    /// Its name (empty: the default value).
    pub name: Vec<u16>,
    /// `REG_*`.
    pub kind: u32,
    /// Its data.
    pub data: Vec<u8>,
}

/// One key.
#[derive(Debug, Clone)]
pub struct Key {
    /// Its name.
    pub name: Vec<u16>,
    /// Its parent (`None` for `\Registry`).
    pub parent: Option<KeyId>,
    /// Created with `REG_OPTION_VOLATILE`.
    pub volatile: bool,
    /// Subkeys, in case-insensitive name order.
    pub subkeys: Vec<KeyId>,
    /// Values, in the order they were first set.
    pub values: Vec<Value>,
    /// Deleted.
    pub deleted: bool,
}

/// The registry.
#[derive(Debug)]
pub struct Hive {
    keys: Vec<Key>,
}

/// Upper case of one UTF-16 unit for name comparison (ASCII and Latin-1).
const fn upcase(u: u16) -> u16 {
    match u {
        0x61..=0x7a | 0xe0..=0xf6 | 0xf8..=0xfe => u - 0x20,
        _ => u,
    }
}

/// Case-insensitive order of two names.
pub fn compare(a: &[u16], b: &[u16]) -> Ordering {
    a.iter()
        .map(|&u| upcase(u))
        .cmp(b.iter().map(|&u| upcase(u)))
}

/// UTF-16 of `text`.
pub fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().collect()
}

impl Hive {
    /// A registry with only `\Registry`.
    pub fn new() -> Self {
        Self {
            keys: alloc::vec![Key {
                name: wide("REGISTRY"),
                parent: None,
                volatile: false,
                subkeys: Vec::new(),
                values: Vec::new(),
                deleted: false,
            }],
        }
    }

    /// `\Registry`.
    pub const fn root() -> KeyId {
        0
    }

    /// Key `id`.
    pub fn key(&self, id: KeyId) -> Option<&Key> {
        self.keys.get(id)
    }

    /// The live subkey of `parent` called `name`.
    pub fn subkey(&self, parent: KeyId, name: &[u16]) -> Option<KeyId> {
        let key = self.keys.get(parent)?;
        key.subkeys.iter().copied().find(|&k| {
            self.keys
                .get(k)
                .is_some_and(|k| !k.deleted && compare(&k.name, name).is_eq())
        })
    }

    /// The `index`-th live subkey of `parent`, in enumeration order.
    pub fn nth_subkey(&self, parent: KeyId, index: usize) -> Option<KeyId> {
        let key = self.keys.get(parent)?;
        key.subkeys
            .iter()
            .copied()
            .filter(|&k| self.keys.get(k).is_some_and(|k| !k.deleted))
            .nth(index)
    }

    /// Creates `name` under `parent` (or finds it): the key and whether it was created.
    /// `None` if `parent` is gone.
    pub fn create(&mut self, parent: KeyId, name: &[u16], volatile: bool) -> Option<(KeyId, bool)> {
        if let Some(existing) = self.subkey(parent, name) {
            return Some((existing, false));
        }
        if self.keys.get(parent).is_none_or(|k| k.deleted) {
            return None;
        }
        let id = self.keys.len();
        self.keys.push(Key {
            name: name.to_vec(),
            parent: Some(parent),
            volatile,
            subkeys: Vec::new(),
            values: Vec::new(),
            deleted: false,
        });
        let names: Vec<Vec<u16>> = self
            .keys
            .get(parent)?
            .subkeys
            .iter()
            .map(|&k| self.keys.get(k).map(|k| k.name.clone()).unwrap_or_default())
            .collect();
        let at = names
            .iter()
            .position(|n| compare(n, name).is_gt())
            .unwrap_or(names.len());
        self.keys.get_mut(parent)?.subkeys.insert(at, id);
        Some((id, true))
    }

    /// Deletes `key` (which must have no live subkeys); false if it has some.
    pub fn delete(&mut self, key: KeyId) -> bool {
        if self.nth_subkey(key, 0).is_some() {
            return false;
        }
        if let Some(k) = self.keys.get_mut(key) {
            k.deleted = true;
        }
        true
    }

    /// Value `name` of `key`.
    pub fn value(&self, key: KeyId, name: &[u16]) -> Option<&Value> {
        self.keys
            .get(key)?
            .values
            .iter()
            .find(|v| compare(&v.name, name).is_eq())
    }

    /// Sets value `name` of `key`.
    pub fn set_value(&mut self, key: KeyId, name: &[u16], kind: u32, data: &[u8]) {
        let Some(k) = self.keys.get_mut(key) else {
            return;
        };
        if let Some(v) = k.values.iter_mut().find(|v| compare(&v.name, name).is_eq()) {
            v.kind = kind;
            v.data = data.to_vec();
        } else {
            k.values.push(Value {
                name: name.to_vec(),
                kind,
                data: data.to_vec(),
            });
        }
    }

    /// Deletes value `name` of `key`; false if it had none.
    pub fn delete_value(&mut self, key: KeyId, name: &[u16]) -> bool {
        let Some(k) = self.keys.get_mut(key) else {
            return false;
        };
        let before = k.values.len();
        k.values.retain(|v| !compare(&v.name, name).is_eq());
        k.values.len() != before
    }

    /// The key at `path` (`\Registry\Machine\...`, components separated by `\`).
    pub fn find(&self, path: &str) -> Option<KeyId> {
        let mut parts = path.split('\\').filter(|p| !p.is_empty());
        let first = parts.next()?;
        if !compare(&wide(first), &wide("REGISTRY")).is_eq() {
            return None;
        }
        parts.try_fold(Self::root(), |key, part| self.subkey(key, &wide(part)))
    }

    /// Creates every key on `path` (non-volatile) and returns the last.
    pub fn create_path(&mut self, path: &str) -> Option<KeyId> {
        let mut parts = path.split('\\').filter(|p| !p.is_empty());
        parts.next()?;
        parts.try_fold(Self::root(), |key, part| {
            self.create(key, &wide(part), false).map(|(k, _)| k)
        })
    }

    /// The key's full path, for messages.
    pub fn path(&self, key: KeyId) -> String {
        let mut parts = Vec::new();
        let mut at = Some(key);
        while let Some(k) = at.and_then(|k| self.keys.get(k)) {
            parts.push(String::from_utf16_lossy(&k.name));
            at = k.parent;
        }
        parts.reverse();
        let mut out = String::new();
        for p in parts {
            out.push('\\');
            out.push_str(&p);
        }
        out
    }
}

/// `REG_SZ` data for `text` (UTF-16, NUL-terminated, as `RegSetValueEx` stores it).
pub fn sz(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain(core::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// `REG_MULTI_SZ` data for `items`.
pub fn multi_sz(items: &[&str]) -> Vec<u8> {
    let mut out: Vec<u8> = items.iter().flat_map(|i| sz(i)).collect();
    out.extend_from_slice(&[0, 0]);
    out
}
