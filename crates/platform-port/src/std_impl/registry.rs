// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! An in-memory registry with Windows' case-insensitive names.

use std::collections::BTreeMap;
use std::string::String;
use std::sync::Mutex;
use std::vec::Vec;

use super::locked;
use crate::traits::{PortError, RegValue};

#[derive(Debug, Default)]
struct Key {
    /// Lower-cased name -> (name as written, value).
    values: BTreeMap<String, (String, RegValue)>,
    volatile: bool,
}

/// Keys by lower-cased path (`\`-separated, no leading or trailing separator).
#[derive(Debug, Default)]
pub struct MemoryRegistry {
    keys: Mutex<BTreeMap<String, (String, Key)>>,
}

fn normal(path: &str) -> String {
    path.trim_matches('\\').to_ascii_lowercase()
}

impl MemoryRegistry {
    /// Reads a value.
    ///
    /// # Errors
    /// [`PortError::NotFound`].
    pub fn read_value(&self, key: &str, name: &str) -> Result<RegValue, PortError> {
        let keys = locked(&self.keys);
        let (_, key) = keys.get(&normal(key)).ok_or(PortError::NotFound)?;
        key.values
            .get(&name.to_ascii_lowercase())
            .map(|(_, value)| value.clone())
            .ok_or(PortError::NotFound)
    }

    /// Writes a value, creating the key (non-volatile) and its parents if needed.
    ///
    /// # Errors
    /// [`PortError::InvalidParameter`] for an empty key path.
    pub fn write_value(&self, key: &str, name: &str, value: RegValue) -> Result<(), PortError> {
        self.create_key(key, false)?;
        let mut keys = locked(&self.keys);
        let (_, node) = keys.get_mut(&normal(key)).ok_or(PortError::NotFound)?;
        node.values
            .insert(name.to_ascii_lowercase(), (name.into(), value));
        Ok(())
    }

    /// Deletes a value.
    ///
    /// # Errors
    /// [`PortError::NotFound`].
    pub fn delete_value(&self, key: &str, name: &str) -> Result<(), PortError> {
        let mut keys = locked(&self.keys);
        let (_, node) = keys.get_mut(&normal(key)).ok_or(PortError::NotFound)?;
        node.values
            .remove(&name.to_ascii_lowercase())
            .map(|_| ())
            .ok_or(PortError::NotFound)
    }

    /// Creates a key and its missing parents (parents are never volatile).
    ///
    /// # Errors
    /// [`PortError::InvalidParameter`] for an empty path.
    pub fn create_key(&self, key: &str, volatile: bool) -> Result<(), PortError> {
        let trimmed = key.trim_matches('\\');
        if trimmed.is_empty() {
            return Err(PortError::InvalidParameter);
        }
        let mut keys = locked(&self.keys);
        let mut path = String::new();
        let parts: Vec<&str> = trimmed.split('\\').collect();
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.iter().enumerate() {
            if !path.is_empty() {
                path.push('\\');
            }
            path.push_str(part);
            keys.entry(path.to_ascii_lowercase()).or_insert_with(|| {
                (
                    path.clone(),
                    Key {
                        values: BTreeMap::new(),
                        volatile: volatile && i == last,
                    },
                )
            });
        }
        Ok(())
    }

    /// Whether the key exists and was created volatile.
    #[must_use]
    pub fn is_volatile(&self, key: &str) -> Option<bool> {
        locked(&self.keys)
            .get(&normal(key))
            .map(|(_, k)| k.volatile)
    }

    /// The direct sub-key names of a key, as written.
    ///
    /// # Errors
    /// [`PortError::NotFound`] for a missing key.
    pub fn subkeys(&self, key: &str) -> Result<Vec<String>, PortError> {
        let keys = locked(&self.keys);
        let base = normal(key);
        if !keys.contains_key(&base) {
            return Err(PortError::NotFound);
        }
        let prefix = std::format!("{base}\\");
        Ok(keys
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix) && !k[prefix.len()..].contains('\\'))
            .filter_map(|(_, (written, _))| written.rsplit('\\').next().map(String::from))
            .collect())
    }
}
