// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Registry keys as owned handles: open, create, read, write, delete and enumerate, over the
//! `Zw*` routines. Mechanical: what to read and what a value means is decided by the portable
//! crates.
//!
//! IRQL: every routine here is PASSIVE_LEVEL only (the `Zw*` contract); a call above stops the
//! machine with [`crate::runtime::fatal`], as Driver Verifier would.
//!
//! Every handle is a kernel handle (`OBJ_KERNEL_HANDLE`), closed when its [`Key`] drops; the
//! number open is counted ([`open_keys`]) so an image can prove it released them all.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::consts::{
    KEY_ALL_ACCESS, KeyBasicInformation, KeyValuePartialInformation, OBJ_CASE_INSENSITIVE,
    OBJ_KERNEL_HANDLE, REG_OPTION_NON_VOLATILE, REG_OPTION_VOLATILE,
};
use crate::irql::{self, PASSIVE_LEVEL};
use crate::routines;
use crate::types::{HANDLE, NTSTATUS, OBJECT_ATTRIBUTES, UNICODE_STRING};
use ntstatus::{
    STATUS_BUFFER_OVERFLOW, STATUS_BUFFER_TOO_SMALL, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY, STATUS_NO_MORE_ENTRIES, nt_success,
};

/// The most subkeys [`Key::subkeys`] enumerates before giving up.
const MAX_SUBKEYS: u32 = 1 << 16;

/// Handles open now.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Registry handles this image holds.
#[must_use]
pub fn open_keys() -> usize {
    OPEN.load(Ordering::Relaxed)
}

/// Stops the machine unless at PASSIVE_LEVEL.
fn passive_only(routine: &'static core::ffi::CStr) {
    let level = irql::current();
    if level != PASSIVE_LEVEL {
        crate::runtime::fatal(routine, usize::from(level));
    }
}

/// A UTF-16 copy of a name, with the `UNICODE_STRING` describing it.
pub struct WideName {
    units: Vec<u16>,
}

impl WideName {
    /// Encodes `text`.
    ///
    /// # Errors
    /// `STATUS_INVALID_PARAMETER` when longer than a `UNICODE_STRING` can describe,
    /// `STATUS_NO_MEMORY` when the copy cannot be allocated.
    pub fn new(text: &str) -> Result<Self, NTSTATUS> {
        let mut units = Vec::new();
        units
            .try_reserve_exact(text.len())
            .map_err(|_| STATUS_NO_MEMORY)?;
        units.extend(text.encode_utf16());
        if units.len() > usize::from(u16::MAX / 2) {
            return Err(STATUS_INVALID_PARAMETER);
        }
        Ok(Self { units })
    }

    /// A `UNICODE_STRING` over the copy, valid while `self` lives and is not moved out of.
    #[must_use]
    pub fn as_unicode(&mut self) -> UNICODE_STRING {
        // Bounded by `new`: at most u16::MAX / 2 units.
        let bytes = u16::try_from(self.units.len().saturating_mul(2)).unwrap_or(u16::MAX);
        UNICODE_STRING {
            Length: bytes,
            MaximumLength: bytes,
            Buffer: self.units.as_mut_ptr(),
        }
    }
}

/// An open registry key.
#[derive(Debug)]
pub struct Key {
    handle: HANDLE,
}

// SAFETY: a kernel handle (`OBJ_KERNEL_HANDLE`) is valid in every thread of the system process
// and any process context; the key object itself serialises access.
unsafe impl Send for Key {}
// SAFETY: as for `Send`; every method only passes the handle to thread-safe `Zw*` routines.
unsafe impl Sync for Key {}

impl Key {
    fn attributes(name: &mut UNICODE_STRING, parent: Option<&Self>) -> OBJECT_ATTRIBUTES {
        OBJECT_ATTRIBUTES {
            Length: u32::try_from(core::mem::size_of::<OBJECT_ATTRIBUTES>()).unwrap_or(0),
            RootDirectory: parent.map_or(core::ptr::null_mut(), |p| p.handle),
            ObjectName: name,
            Attributes: OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE,
            SecurityDescriptor: core::ptr::null_mut(),
            SecurityQualityOfService: core::ptr::null_mut(),
        }
    }

    fn adopt(handle: HANDLE) -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Self { handle }
    }

    /// Opens `path` (absolute, `\Registry\Machine\...`, or relative to `parent`).
    ///
    /// # Errors
    /// The NTSTATUS of `ZwOpenKey` (`STATUS_OBJECT_NAME_NOT_FOUND` when missing).
    pub fn open(parent: Option<&Self>, path: &str, access: u32) -> Result<Self, NTSTATUS> {
        let mut name = WideName::new(path)?;
        let mut unicode = name.as_unicode();
        Self::open_unicode(parent, &mut unicode, access)
    }

    /// Opens the key a `UNICODE_STRING` names (a registry path the kernel passed).
    ///
    /// # Errors
    /// The NTSTATUS of `ZwOpenKey`.
    pub fn open_unicode(
        parent: Option<&Self>,
        path: &mut UNICODE_STRING,
        access: u32,
    ) -> Result<Self, NTSTATUS> {
        passive_only(c"ZwOpenKey above PASSIVE_LEVEL");
        let mut attrs = Self::attributes(path, parent);
        let mut handle: HANDLE = core::ptr::null_mut();
        // SAFETY: valid attributes and an out-pointer, at PASSIVE_LEVEL.
        let status = unsafe { routines::ZwOpenKey(&raw mut handle, access, &raw mut attrs) };
        if nt_success(status) {
            Ok(Self::adopt(handle))
        } else {
            Err(status)
        }
    }

    /// Creates or opens `path` (relative to `parent`, or absolute), volatile or not.
    ///
    /// # Errors
    /// The NTSTATUS of `ZwCreateKey`.
    pub fn create(parent: Option<&Self>, path: &str, volatile: bool) -> Result<Self, NTSTATUS> {
        let mut name = WideName::new(path)?;
        let mut unicode = name.as_unicode();
        Self::create_unicode(parent, &mut unicode, volatile)
    }

    /// [`Key::create`] with a `UNICODE_STRING` path.
    ///
    /// # Errors
    /// The NTSTATUS of `ZwCreateKey`.
    pub fn create_unicode(
        parent: Option<&Self>,
        path: &mut UNICODE_STRING,
        volatile: bool,
    ) -> Result<Self, NTSTATUS> {
        passive_only(c"ZwCreateKey above PASSIVE_LEVEL");
        let mut attrs = Self::attributes(path, parent);
        let mut handle: HANDLE = core::ptr::null_mut();
        let options = if volatile {
            REG_OPTION_VOLATILE
        } else {
            REG_OPTION_NON_VOLATILE
        };
        let mut disposition = 0u32;
        // SAFETY: valid attributes and out-pointers, no class, at PASSIVE_LEVEL.
        let status = unsafe {
            routines::ZwCreateKey(
                &raw mut handle,
                KEY_ALL_ACCESS,
                &raw mut attrs,
                0,
                core::ptr::null_mut(),
                options,
                &raw mut disposition,
            )
        };
        if nt_success(status) {
            Ok(Self::adopt(handle))
        } else {
            Err(status)
        }
    }

    /// A `Key` over a handle someone else owns, to read through it. Wrap it in
    /// `ManuallyDrop`: dropping it would close the owner's handle.
    ///
    /// # Safety
    /// `handle` is an open registry key handle that outlives the returned value.
    #[must_use]
    pub const unsafe fn borrow_raw(handle: HANDLE) -> Self {
        Self { handle }
    }

    /// The raw handle (for exports that hand keys to callers, such as `LogReadLogLevel`).
    #[must_use]
    pub const fn raw(&self) -> HANDLE {
        self.handle
    }

    /// Reads value `name` and calls `visit` with its `REG_*` type and data.
    ///
    /// # Errors
    /// The NTSTATUS of `ZwQueryValueKey` (`STATUS_OBJECT_NAME_NOT_FOUND` when missing), or
    /// `STATUS_NO_MEMORY`.
    pub fn query<T>(&self, name: &str, visit: impl FnOnce(u32, &[u8]) -> T) -> Result<T, NTSTATUS> {
        let mut wide = WideName::new(name)?;
        let mut unicode = wide.as_unicode();
        query_value(self.handle, &mut unicode, visit)
    }

    /// Writes value `name`.
    ///
    /// # Errors
    /// The NTSTATUS of `ZwSetValueKey`.
    pub fn set(&self, name: &str, kind: u32, data: &[u8]) -> Result<(), NTSTATUS> {
        passive_only(c"ZwSetValueKey above PASSIVE_LEVEL");
        let mut wide = WideName::new(name)?;
        let mut unicode = wide.as_unicode();
        let size = u32::try_from(data.len()).map_err(|_| STATUS_INVALID_PARAMETER)?;
        // SAFETY: `data` is readable for `size` bytes; the routine copies it.
        let status = unsafe {
            routines::ZwSetValueKey(
                self.handle,
                &raw mut unicode,
                0,
                kind,
                data.as_ptr().cast_mut().cast(),
                size,
            )
        };
        if nt_success(status) {
            Ok(())
        } else {
            Err(status)
        }
    }

    /// Deletes value `name`.
    ///
    /// # Errors
    /// The NTSTATUS of `ZwDeleteValueKey`.
    pub fn delete_value(&self, name: &str) -> Result<(), NTSTATUS> {
        passive_only(c"ZwDeleteValueKey above PASSIVE_LEVEL");
        let mut wide = WideName::new(name)?;
        let mut unicode = wide.as_unicode();
        // SAFETY: a valid handle and name, at PASSIVE_LEVEL.
        let status = unsafe { routines::ZwDeleteValueKey(self.handle, &raw mut unicode) };
        if nt_success(status) {
            Ok(())
        } else {
            Err(status)
        }
    }

    /// Calls `visit` with the UTF-16 name of every subkey, in the registry's order.
    ///
    /// # Errors
    /// The NTSTATUS of `ZwEnumerateKey`, or `STATUS_NO_MEMORY`.
    pub fn subkeys(&self, mut visit: impl FnMut(&[u16])) -> Result<(), NTSTATUS> {
        passive_only(c"ZwEnumerateKey above PASSIVE_LEVEL");
        let mut buffer: Vec<u64> = Vec::new();
        // Names are at most 255 characters; header plus 512 bytes fits in 66 words.
        buffer.try_reserve_exact(80).map_err(|_| STATUS_NO_MEMORY)?;
        buffer.resize(80, 0);
        let capacity = u32::try_from(buffer.len().saturating_mul(8)).unwrap_or(0);
        for index in 0..MAX_SUBKEYS {
            let mut needed = 0u32;
            // SAFETY: `buffer` is writable for `capacity` bytes and 8-byte aligned.
            let status = unsafe {
                routines::ZwEnumerateKey(
                    self.handle,
                    index,
                    KeyBasicInformation,
                    buffer.as_mut_ptr().cast(),
                    capacity,
                    &raw mut needed,
                )
            };
            if status == STATUS_NO_MORE_ENTRIES {
                return Ok(());
            }
            if !nt_success(status) {
                return Err(status);
            }
            let bytes = words_as_bytes(&buffer);
            // KEY_BASIC_INFORMATION: LastWriteTime(8) TitleIndex(4) NameLength(4) Name[].
            let name_len = bytes
                .get(12..16)
                .and_then(|b| b.try_into().ok())
                .map_or(0, |b: [u8; 4]| u32::from_ne_bytes(b) as usize);
            let name = bytes
                .get(16..16usize.saturating_add(name_len))
                .unwrap_or(&[]);
            let units: Vec<u16> = name
                .chunks_exact(2)
                .map(|c| {
                    u16::from_ne_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            visit(&units);
        }
        // A key never shows this many subkeys; stop rather than loop for ever on a registry
        // that never reports the end.
        Err(STATUS_INSUFFICIENT_RESOURCES)
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        passive_only(c"ZwClose above PASSIVE_LEVEL");
        // SAFETY: our handle, closed exactly once.
        let _status = unsafe { routines::ZwClose(self.handle) };
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The bytes of a word buffer.
const fn words_as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: any initialised u64 slice is a valid u8 slice of eight times the length.
    unsafe {
        core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len().saturating_mul(8))
    }
}

/// `ZwQueryValueKey` with `KeyValuePartialInformation` into a buffer sized by a first call.
fn query_value<T>(
    key: HANDLE,
    name: &mut UNICODE_STRING,
    visit: impl FnOnce(u32, &[u8]) -> T,
) -> Result<T, NTSTATUS> {
    passive_only(c"ZwQueryValueKey above PASSIVE_LEVEL");
    let mut needed = 0u32;
    // SAFETY: a size query: no buffer, an out-pointer for the size.
    let status = unsafe {
        routines::ZwQueryValueKey(
            key,
            name,
            KeyValuePartialInformation,
            core::ptr::null_mut(),
            0,
            &raw mut needed,
        )
    };
    if status != STATUS_BUFFER_TOO_SMALL && status != STATUS_BUFFER_OVERFLOW {
        return Err(if nt_success(status) {
            STATUS_INVALID_PARAMETER
        } else {
            status
        });
    }
    let words = (needed as usize).div_ceil(8).max(2);
    let mut buffer: Vec<u64> = Vec::new();
    buffer
        .try_reserve_exact(words)
        .map_err(|_| STATUS_NO_MEMORY)?;
    buffer.resize(words, 0);
    let capacity = u32::try_from(words.saturating_mul(8)).map_err(|_| STATUS_NO_MEMORY)?;
    // SAFETY: `buffer` is writable for `capacity` bytes and 8-byte aligned.
    let status = unsafe {
        routines::ZwQueryValueKey(
            key,
            name,
            KeyValuePartialInformation,
            buffer.as_mut_ptr().cast(),
            capacity,
            &raw mut needed,
        )
    };
    if !nt_success(status) {
        return Err(status);
    }
    let bytes = words_as_bytes(&buffer);
    // KEY_VALUE_PARTIAL_INFORMATION: TitleIndex(4) Type(4) DataLength(4) Data[].
    let word = |at: usize| {
        bytes
            .get(at..at.saturating_add(4))
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_ne_bytes)
    };
    let kind = word(4);
    let length = word(8) as usize;
    let data = bytes
        .get(12..12usize.saturating_add(length))
        .ok_or(STATUS_INVALID_PARAMETER)?;
    Ok(visit(kind, data))
}
