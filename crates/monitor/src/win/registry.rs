// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Registry keys under `HKEY_LOCAL_MACHINE`, owned (closed when dropped), and the few things
//! the service does with them. Errors are Win32 error codes.

use core::ptr::{null, null_mut};

use monitor::settings::{self, Value};
use monitor::text::{from_wide, wide};
use windows_sys::Win32::Foundation::{ERROR_MORE_DATA, ERROR_SUCCESS, HANDLE};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, REG_DWORD, REG_NOTIFY_CHANGE_LAST_SET, REG_OPTION_NON_VOLATILE,
    REG_SAM_FLAGS, RegCloseKey, RegCreateKeyExW, RegDeleteKeyW, RegDeleteTreeW, RegDeleteValueW,
    RegEnumKeyExW, RegFlushKey, RegNotifyChangeKeyValue, RegOpenKeyExW, RegQueryInfoKeyW,
    RegQueryValueExW, RegSetValueExW,
};

/// A Win32 error code.
pub type Error = u32;

const fn check(status: u32) -> Result<(), Error> {
    if status == ERROR_SUCCESS {
        Ok(())
    } else {
        Err(status)
    }
}

/// An open registry key.
pub struct Key(HKEY);

// SAFETY: a registry handle may be used from any thread; `Key` only passes it to registry
// calls, which Windows serialises itself.
unsafe impl Send for Key {}
// SAFETY: as above: every use is a registry call on the handle, safe from several threads.
unsafe impl Sync for Key {}

impl Key {
    /// Opens `HKLM\path` with `access`.
    pub fn open(path: &str, access: REG_SAM_FLAGS) -> Result<Self, Error> {
        Self::open_under(HKEY_LOCAL_MACHINE, path, access)
    }

    /// Opens the subkey `name` of this key.
    pub fn open_sub(&self, name: &str, access: REG_SAM_FLAGS) -> Result<Self, Error> {
        Self::open_under(self.0, name, access)
    }

    fn open_under(parent: HKEY, path: &str, access: REG_SAM_FLAGS) -> Result<Self, Error> {
        let path = wide(path);
        let mut key: HKEY = null_mut();
        // SAFETY: `parent` is a predefined or open key; `path` is NUL-terminated; `key`
        // receives the handle, which `Self` then owns.
        check(unsafe { RegOpenKeyExW(parent, path.as_ptr(), 0, access, &raw mut key) })?;
        Ok(Self(key))
    }

    /// Creates (or opens) `HKLM\path`, non-volatile, with every missing parent.
    pub fn create(path: &str, access: REG_SAM_FLAGS) -> Result<Self, Error> {
        let path = wide(path);
        let mut key: HKEY = null_mut();
        // SAFETY: `path` is NUL-terminated; no class, default security; `key` receives the
        // handle, which `Self` then owns.
        check(unsafe {
            RegCreateKeyExW(
                HKEY_LOCAL_MACHINE,
                path.as_ptr(),
                0,
                null(),
                REG_OPTION_NON_VOLATILE,
                access,
                null(),
                &raw mut key,
                null_mut(),
            )
        })?;
        Ok(Self(key))
    }

    /// Value `name`: `Ok(None)` when absent.
    pub fn read(&self, name: &str) -> Result<Option<Value>, Error> {
        let name = wide(name);
        let mut data = vec![0u8; 256];
        loop {
            let mut kind = 0u32;
            let mut size = u32::try_from(data.len()).unwrap_or(u32::MAX);
            // SAFETY: `self.0` is open; `name` is NUL-terminated; `data` holds `size` bytes.
            let status = unsafe {
                RegQueryValueExW(
                    self.0,
                    name.as_ptr(),
                    null(),
                    &raw mut kind,
                    data.as_mut_ptr(),
                    &raw mut size,
                )
            };
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            match status {
                ERROR_SUCCESS => {
                    data.truncate(size);
                    return Ok(Some(Value { kind, data }));
                }
                ERROR_MORE_DATA if size > data.len() && size <= 1 << 20 => data.resize(size, 0),
                2 => return Ok(None), // ERROR_FILE_NOT_FOUND
                e => return Err(e),
            }
        }
    }

    /// Sets DWORD `name` to `value`.
    pub fn set_dword(&self, name: &str, value: u32) -> Result<(), Error> {
        let name = wide(name);
        let data = value.to_le_bytes();
        // SAFETY: `self.0` is open; `name` is NUL-terminated; `data` holds the 4 bytes.
        check(unsafe { RegSetValueExW(self.0, name.as_ptr(), 0, REG_DWORD, data.as_ptr(), 4) })
    }

    /// Deletes value `name`.
    pub fn delete_value(&self, name: &str) -> Result<(), Error> {
        let name = wide(name);
        // SAFETY: `self.0` is open; `name` is NUL-terminated.
        check(unsafe { RegDeleteValueW(self.0, name.as_ptr()) })
    }

    /// Writes the key to disk now.
    pub fn flush(&self) -> Result<(), Error> {
        // SAFETY: `self.0` is open.
        check(unsafe { RegFlushKey(self.0) })
    }

    /// The names of the key's subkeys.
    pub fn subkeys(&self) -> Result<Vec<String>, Error> {
        let mut count = 0u32;
        let mut longest = 0u32;
        // SAFETY: `self.0` is open; only the subkey count and longest name are asked for.
        check(unsafe {
            RegQueryInfoKeyW(
                self.0,
                null_mut(),
                null_mut(),
                null(),
                &raw mut count,
                &raw mut longest,
                null_mut(),
                null_mut(),
                null_mut(),
                null_mut(),
                null_mut(),
                null_mut(),
            )
        })?;
        let mut names = Vec::new();
        let mut buffer = vec![0u16; usize::try_from(longest).unwrap_or(255).saturating_add(1)];
        for index in 0..count {
            let mut len = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
            // SAFETY: `self.0` is open; `buffer` holds `len` UTF-16 units.
            let status = unsafe {
                RegEnumKeyExW(
                    self.0,
                    index,
                    buffer.as_mut_ptr(),
                    &raw mut len,
                    null(),
                    null_mut(),
                    null_mut(),
                    null_mut(),
                )
            };
            match status {
                ERROR_SUCCESS => {
                    let len = usize::try_from(len).unwrap_or(0).min(buffer.len());
                    names.push(from_wide(buffer.get(..len).unwrap_or_default()));
                }
                259 => break, // ERROR_NO_MORE_ITEMS: a subkey went away meanwhile
                e => return Err(e),
            }
        }
        Ok(names)
    }

    /// Arms `event` to be signalled once when a value is set anywhere below this key.
    pub fn notify(&self, event: HANDLE) -> Result<(), Error> {
        // SAFETY: `self.0` is open; `event` is an event handle the caller keeps open.
        check(unsafe { RegNotifyChangeKeyValue(self.0, 1, REG_NOTIFY_CHANGE_LAST_SET, event, 1) })
    }

    /// Deletes every subkey and value of this key (the key itself stays).
    pub fn delete_tree(&self) -> Result<(), Error> {
        // SAFETY: `self.0` is open; a null subkey name means this key's contents.
        check(unsafe { RegDeleteTreeW(self.0, null()) })
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: `self.0` was opened by `Self` and is closed once, here.
        unsafe { RegCloseKey(self.0) };
    }
}

/// Deletes the key `HKLM\path` (it must have no subkeys).
pub fn delete_key(path: &str) -> Result<(), Error> {
    let path = wide(path);
    // SAFETY: `path` is NUL-terminated.
    check(unsafe { RegDeleteKeyW(HKEY_LOCAL_MACHINE, path.as_ptr()) })
}

/// A key read as settings.
pub struct Values<'a>(pub &'a Key);

impl settings::Values for Values<'_> {
    fn value(&mut self, name: &str) -> Option<Value> {
        self.0.read(name).ok().flatten()
    }
}
