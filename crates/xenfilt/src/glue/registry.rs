// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xenfilt's `Parameters` key as [`crate::registry::Parameters`] reads it: the handle opened by
//! `DriverEntry`, shared (`Arc`) so a reader never holds a lock while the registry answers,
//! and closed when `DriverUnload` drops the last share. PASSIVE_LEVEL only.

use alloc::sync::Arc;

use ntddk::registry::Key;
use ntddk::{KEY_READ, NTSTATUS, STATUS_OBJECT_NAME_NOT_FOUND};
use platform_port::IrqlLock;
use platform_windows::Kernel;

use crate::registry::{PRECEDENCE_KEY, Parameters, RegistryError, Value};

/// The `Parameters` key, from `DriverEntry` to `DriverUnload`. The lock is only held to
/// clone or take the share, never while the registry is read.
static PARAMETERS: IrqlLock<Kernel, Option<Arc<Key>>> = IrqlLock::dispatch(Kernel, None);

/// Keeps the key `DriverEntry` opened.
pub fn install(key: Key) {
    let key = Arc::new(key);
    let old = PARAMETERS.lock().replace(key);
    drop(old);
}

/// Gives up the driver's share (`DriverUnload`); the handle closes with the last share.
pub fn remove() {
    let key = PARAMETERS.lock().take();
    drop(key);
}

/// A share of the `Parameters` key, read through [`Parameters`]: every value missing when the
/// key is not open.
pub struct ParametersKey(Option<Arc<Key>>);

impl ParametersKey {
    /// The key as it is now.
    pub fn current() -> Self {
        let key = PARAMETERS.lock().clone();
        Self(key)
    }
}

/// A registry failure as the core names it.
const fn registry_error(status: NTSTATUS) -> RegistryError {
    if status == STATUS_OBJECT_NAME_NOT_FOUND {
        RegistryError::NotFound
    } else {
        RegistryError::Os(status)
    }
}

/// Value `name` of `key`.
fn read(key: &Key, name: &[u8]) -> Result<Value, RegistryError> {
    // Names are IDs (printable ASCII) or the core's own constants.
    let name = core::str::from_utf8(name).map_err(|_| RegistryError::NotFound)?;
    key.query(name, |kind, data| Value::new(kind, data.to_vec()))
        .map_err(registry_error)
}

impl Parameters for ParametersKey {
    fn value(&self, name: &[u8]) -> Result<Value, RegistryError> {
        let key = self.0.as_deref().ok_or(RegistryError::NotFound)?;
        read(key, name)
    }

    fn precedence_value(&self, name: &[u8]) -> Result<Value, RegistryError> {
        let key = self.0.as_deref().ok_or(RegistryError::NotFound)?;
        let subkey = core::str::from_utf8(PRECEDENCE_KEY).map_err(|_| RegistryError::NotFound)?;
        let precedence = Key::open(Some(key), subkey, KEY_READ).map_err(registry_error)?;
        read(&precedence, name)
    }
}
