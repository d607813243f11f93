// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`Registry`]'s kernel calls through `ntddk::registry::Key` (`ZwOpenKey`, `ZwCreateKey`,
//! `ZwQueryValueKey`, `ZwSetValueKey`, `ZwDeleteValueKey`, `ZwEnumerateKey`, `ZwClose`; every
//! one `PASSIVE_LEVEL` only, which `Key` checks). Paths and values are converted by
//! [`crate::convert`].
//!
//! [`Registry`]: platform_port::Registry

use alloc::string::String;
use alloc::vec::Vec;

use ntddk::registry::Key;
use ntddk::{KEY_ALL_ACCESS, KEY_READ};
use platform_port::{PortError, RegValue};

use crate::convert::{
    MACHINE, decode_value, encode_value, key_components, machine_path, port_error,
};

/// Opens `key` (below `HKEY_LOCAL_MACHINE`) for `access`.
fn open(key: &str, access: u32) -> Result<Key, PortError> {
    Key::open(None, &machine_path(key)?, access).map_err(port_error)
}

/// Creates (or opens) `key` and every missing parent, each with `volatile`.
fn create(key: &str, volatile: bool) -> Result<Key, PortError> {
    let components = key_components(key)?;
    let mut parent = Key::open(None, MACHINE, KEY_ALL_ACCESS).map_err(port_error)?;
    for component in components {
        parent = Key::create(Some(&parent), component, volatile).map_err(port_error)?;
    }
    Ok(parent)
}

/// `ZwOpenKey` + `ZwQueryValueKey`.
pub fn read_value(key: &str, name: &str) -> Result<RegValue, PortError> {
    open(key, KEY_READ)?
        .query(name, decode_value)
        .map_err(port_error)?
}

/// `ZwCreateKey` (the key and its parents) + `ZwSetValueKey`.
pub fn write_value(key: &str, name: &str, value: &RegValue) -> Result<(), PortError> {
    let (kind, data) = encode_value(value)?;
    create(key, false)?
        .set(name, kind, &data)
        .map_err(port_error)
}

/// `ZwOpenKey` + `ZwDeleteValueKey`.
pub fn delete_value(key: &str, name: &str) -> Result<(), PortError> {
    open(key, KEY_ALL_ACCESS)?
        .delete_value(name)
        .map_err(port_error)
}

/// `ZwCreateKey` for the key and its parents.
pub fn create_key(key: &str, volatile: bool) -> Result<(), PortError> {
    create(key, volatile).map(drop)
}

/// `ZwOpenKey` + `ZwEnumerateKey`.
pub fn subkeys(key: &str) -> Result<Vec<String>, PortError> {
    let mut names = Vec::new();
    open(key, KEY_READ)?
        .subkeys(|units| names.push(String::from_utf16_lossy(units)))
        .map_err(port_error)?;
    Ok(names)
}
