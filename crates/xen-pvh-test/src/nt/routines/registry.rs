// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The registry routines: `ZwOpenKey`, `ZwCreateKey`, `ZwClose`, `ZwQueryValueKey`,
//! `ZwSetValueKey`, `ZwDeleteValueKey`, `ZwEnumerateKey`, `ZwEnumerateValueKey`,
//! `ZwQueryKey`, `ZwDeleteKey`, over the stand-in's hive ([`crate::nt::hive`]).
//!
//! Arguments arrive as Windows passes them: `OBJECT_ATTRIBUTES` with a `UNICODE_STRING` name,
//! absolute (`\Registry\Machine\...`, no root) or relative to a root key handle. Handles are
//! kernel handles (`0xFFFFFFFF8000xxxx`, multiples of 4, never reused) holding the access
//! granted at open; an operation the access does not allow gets `STATUS_ACCESS_DENIED`.
//! Replies use Windows' structures (`KEY_VALUE_PARTIAL_INFORMATION`, `..._BASIC_...`,
//! `..._FULL_...`, `KEY_BASIC_INFORMATION`, `KEY_NODE_INFORMATION`, `KEY_FULL_INFORMATION`)
//! and its size rules: `*ResultLength` always gets the full size; a buffer smaller than the
//! fixed part gets `STATUS_BUFFER_TOO_SMALL` and nothing written; one that holds the fixed part
//! but not everything gets the fixed part and as much of the rest as fits, with
//! `STATUS_BUFFER_OVERFLOW`.
//!
//! Checked as Driver Verifier does: `PASSIVE_LEVEL`; NULL output pointers; an
//! `OBJECT_ATTRIBUTES` of the wrong size, without `OBJ_KERNEL_HANDLE` or with unknown
//! attribute bits; a `UNICODE_STRING` whose lengths are odd, inconsistent or without a buffer;
//! a handle that is not open (closed twice, never opened, or not a key); and (at unload,
//! [`handles_in`]) handles an image opened and never closed.

use crate::nt::hive::{self, Hive, KeyId};
use crate::nt::loader;
use crate::nt::routines::unicode;
use crate::nt::verifier::{self, Call, PASSIVE_LEVEL};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ffi::c_void;
use ntddk::{OBJECT_ATTRIBUTES, UNICODE_STRING};
use ntstatus::{
    NtStatus, STATUS_ACCESS_DENIED, STATUS_BUFFER_OVERFLOW, STATUS_BUFFER_TOO_SMALL,
    STATUS_INVALID_PARAMETER, STATUS_NO_MORE_ENTRIES, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS,
};

const fn nt(bits: u32) -> NtStatus {
    NtStatus::from_ne_bytes(bits.to_ne_bytes())
}
/// `STATUS_OBJECT_NAME_INVALID`.
const STATUS_OBJECT_NAME_INVALID: NtStatus = nt(0xC000_0033);
/// `STATUS_OBJECT_PATH_SYNTAX_BAD`.
const STATUS_OBJECT_PATH_SYNTAX_BAD: NtStatus = nt(0xC000_003B);
/// `STATUS_KEY_DELETED`.
const STATUS_KEY_DELETED: NtStatus = nt(0xC000_017C);
/// `STATUS_CHILD_MUST_BE_VOLATILE`.
const STATUS_CHILD_MUST_BE_VOLATILE: NtStatus = nt(0xC000_0181);
/// `STATUS_CANNOT_DELETE`.
const STATUS_CANNOT_DELETE: NtStatus = nt(0xC000_0121);

const KEY_QUERY_VALUE: u32 = 0x1;
const KEY_SET_VALUE: u32 = 0x2;
const KEY_ENUMERATE_SUB_KEYS: u32 = 0x8;
const DELETE: u32 = 0x1_0000;
const KEY_READ: u32 = 0x2_0019;
const KEY_WRITE: u32 = 0x2_0006;
const KEY_ALL_ACCESS: u32 = 0xf_003f;
const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_EXECUTE: u32 = 0x2000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const GENERIC_READ: u32 = 0x8000_0000;

const OBJ_KERNEL_HANDLE: u32 = 0x200;
/// `OBJ_VALID_KERNEL_ATTRIBUTES`: every attribute bit a kernel caller may pass.
const OBJ_VALID_KERNEL_ATTRIBUTES: u32 = 0x1ff2;

const REG_OPTION_VOLATILE: u32 = 0x1;
/// `REG_OPTION_NON_VOLATILE` is 0; these are the options the stand-in serves.
const REG_OPTIONS_SUPPORTED: u32 = REG_OPTION_VOLATILE;
const REG_CREATED_NEW_KEY: u32 = 1;
const REG_OPENED_EXISTING_KEY: u32 = 2;

/// The first handle value: a kernel handle.
const HANDLE_BASE: u64 = 0xffff_ffff_8000_0000;

/// An open handle.
#[derive(Debug, Clone, Copy)]
pub struct Handle {
    /// The key.
    pub key: KeyId,
    /// The access granted.
    pub access: u32,
    /// Who opened it.
    pub caller: u64,
}

/// The hive and the handle table.
pub struct Registry {
    /// The keys.
    pub hive: Hive,
    handles: BTreeMap<u64, Handle>,
    next: u64,
    opened: u64,
}

static REGISTRY: spin::Mutex<Option<Registry>> = spin::Mutex::new(None);

/// Installs the hive the routines serve (before the first driver loads).
pub fn install(hive: Hive) {
    *REGISTRY.lock() = Some(Registry {
        hive,
        handles: BTreeMap::new(),
        next: 0,
        opened: 0,
    });
}

/// Runs `f` on the registry (the stand-in's own reads and writes of the hive).
pub fn with<T>(f: impl FnOnce(&mut Registry) -> T) -> Option<T> {
    REGISTRY.lock().as_mut().map(f)
}

/// The handles opened from inside image `index` and still open.
pub fn handles_in(index: usize) -> Vec<(u64, Handle)> {
    with(|r| {
        r.handles
            .iter()
            .filter(|(_, h)| loader::containing(h.caller) == Some(index))
            .map(|(&v, &h)| (v, h))
            .collect()
    })
    .unwrap_or_default()
}

/// Handles opened so far, and open now.
pub fn handle_counts() -> (u64, usize) {
    with(|r| (r.opened, r.handles.len())).unwrap_or((0, 0))
}

/// The access an open grants for `desired`.
const fn granted(desired: u32) -> u32 {
    let mut access = desired & 0x00ff_ffff;
    if desired & (GENERIC_READ | GENERIC_EXECUTE) != 0 {
        access |= KEY_READ;
    }
    if desired & GENERIC_WRITE != 0 {
        access |= KEY_WRITE;
    }
    if desired & (GENERIC_ALL | MAXIMUM_ALLOWED) != 0 {
        access |= KEY_ALL_ACCESS;
    }
    access
}

impl Registry {
    /// Whether `value` is an open key handle.
    pub fn is_handle(&self, value: u64) -> bool {
        self.handles.contains_key(&value)
    }

    /// The handle `value`, failing the call if it is not open.
    fn handle(&self, call: &Call, value: *mut c_void) -> Handle {
        let v = value.addr() as u64;
        match self.handles.get(&v) {
            Some(&h) => h,
            None => call.fail(format_args!("{v:#x} is not an open registry key handle")),
        }
    }

    fn key_live(&self, key: KeyId) -> bool {
        self.hive.key(key).is_some_and(|k| !k.deleted)
    }

    fn open_handle(&mut self, key: KeyId, access: u32, caller: u64) -> u64 {
        let value = HANDLE_BASE + self.next * 4;
        self.next += 1;
        self.opened += 1;
        self.handles.insert(
            value,
            Handle {
                key,
                access,
                caller,
            },
        );
        value
    }
}

/// Checks the call's `OBJECT_ATTRIBUTES`: returns the start key and the name's components.
///
/// # Safety
/// `attributes` is NULL or readable with a readable name (the routines' contract).
unsafe fn parse_attributes(
    call: &Call,
    registry: &Registry,
    attributes: *const OBJECT_ATTRIBUTES,
) -> Result<(KeyId, Vec<Vec<u16>>), NtStatus> {
    call.require(
        !attributes.is_null(),
        format_args!("ObjectAttributes is NULL"),
    );
    // SAFETY: non-NULL; readable by the routine's contract.
    let a = unsafe { attributes.read_unaligned() };
    call.require(
        a.Length as usize == size_of::<OBJECT_ATTRIBUTES>(),
        format_args!(
            "ObjectAttributes.Length is {}, not sizeof(OBJECT_ATTRIBUTES) = {}",
            a.Length,
            size_of::<OBJECT_ATTRIBUTES>()
        ),
    );
    call.require(
        a.Attributes & OBJ_KERNEL_HANDLE != 0,
        format_args!("OBJ_KERNEL_HANDLE is missing: a driver's handles must be kernel handles"),
    );
    call.require(
        a.Attributes & !OBJ_VALID_KERNEL_ATTRIBUTES == 0,
        format_args!("unknown attribute bits {:#x}", a.Attributes),
    );
    call.require(!a.ObjectName.is_null(), format_args!("ObjectName is NULL"));
    // SAFETY: non-NULL; readable by the routine's contract.
    let Some(name) = (unsafe { unicode(a.ObjectName) }) else {
        call.fail(format_args!("ObjectName is not a valid UNICODE_STRING"));
    };
    let absolute = name.first() == Some(&u16::from(b'\\'));
    let start = if a.RootDirectory.is_null() {
        if !absolute {
            return Err(STATUS_OBJECT_PATH_SYNTAX_BAD);
        }
        None
    } else {
        let root = registry.handle(call, a.RootDirectory);
        if absolute {
            return Err(STATUS_OBJECT_PATH_SYNTAX_BAD);
        }
        if !registry.key_live(root.key) {
            return Err(STATUS_KEY_DELETED);
        }
        Some(root.key)
    };
    let mut parts: Vec<Vec<u16>> = name
        .split(|&u| u == u16::from(b'\\'))
        .map(<[u16]>::to_vec)
        .collect();
    if absolute {
        parts.remove(0);
    }
    // One trailing separator names the same key (`\Registry\Machine\`, which upstream's C
    // `RegistryOpenRoot` opens on every load); an empty component elsewhere is invalid.
    if parts.len() > 1 && parts.last().is_some_and(Vec::is_empty) {
        parts.pop();
    }
    if parts.iter().any(Vec::is_empty) {
        return Err(STATUS_OBJECT_NAME_INVALID);
    }
    if let Some(key) = start {
        return Ok((key, parts));
    }
    // `\Registry` itself is the first component of an absolute name.
    let first = parts.first().cloned().unwrap_or_default();
    if !hive::compare(&first, &hive::wide("REGISTRY")).is_eq() {
        return Err(STATUS_OBJECT_NAME_NOT_FOUND);
    }
    parts.remove(0);
    Ok((Hive::root(), parts))
}

/// Writes a handle to the caller's out-pointer.
///
/// # Safety
/// `out` is non-NULL and writable (checked non-NULL by the routine; writable by its contract).
unsafe fn put_handle(out: *mut *mut c_void, value: u64) {
    let v = core::ptr::with_exposed_provenance_mut::<c_void>(usize::try_from(value).unwrap_or(0));
    // SAFETY: the caller's contract.
    unsafe { out.write_unaligned(v) };
}

/// `NTSTATUS ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES
/// ObjectAttributes)`.
///
/// # Safety
/// The routine's contract: valid pointers.
pub unsafe extern "win64" fn zw_open_key(
    handle: *mut *mut c_void,
    desired: u32,
    attributes: *const OBJECT_ATTRIBUTES,
) -> NtStatus {
    let call = verifier::enter("ZwOpenKey");
    call.at_most(PASSIVE_LEVEL);
    call.require(!handle.is_null(), format_args!("KeyHandle is NULL"));
    let mut guard = REGISTRY.lock();
    let Some(r) = guard.as_mut() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    // SAFETY: the routine's contract.
    let (start, parts) = match unsafe { parse_attributes(&call, r, attributes) } {
        Ok(p) => p,
        Err(status) => return status,
    };
    let found = parts
        .iter()
        .try_fold(start, |key, part| r.hive.subkey(key, part));
    let Some(key) = found else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let value = r.open_handle(key, granted(desired), call.caller);
    // SAFETY: `handle` was checked non-NULL; writable by the routine's contract.
    unsafe { put_handle(handle, value) };
    STATUS_SUCCESS
}

/// `NTSTATUS ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES
/// ObjectAttributes, ULONG TitleIndex, PUNICODE_STRING Class, ULONG CreateOptions, PULONG
/// Disposition)`: intermediate keys must exist (`STATUS_OBJECT_NAME_NOT_FOUND` otherwise), and a
/// non-volatile key cannot be created under a volatile one.
///
/// # Safety
/// The routine's contract: valid pointers.
pub unsafe extern "win64" fn zw_create_key(
    handle: *mut *mut c_void,
    desired: u32,
    attributes: *const OBJECT_ATTRIBUTES,
    _title_index: u32,
    class: *const UNICODE_STRING,
    options: u32,
    disposition: *mut u32,
) -> NtStatus {
    let call = verifier::enter("ZwCreateKey");
    call.at_most(PASSIVE_LEVEL);
    call.require(!handle.is_null(), format_args!("KeyHandle is NULL"));
    if !class.is_null() {
        // SAFETY: non-NULL; readable by the routine's contract.
        call.require(
            unsafe { unicode(class) }.is_some(),
            format_args!("Class is not a valid UNICODE_STRING"),
        );
    }
    if options & !REG_OPTIONS_SUPPORTED != 0 {
        return STATUS_INVALID_PARAMETER;
    }
    let mut guard = REGISTRY.lock();
    let Some(r) = guard.as_mut() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    // SAFETY: the routine's contract.
    let (start, mut parts) = match unsafe { parse_attributes(&call, r, attributes) } {
        Ok(p) => p,
        Err(status) => return status,
    };
    let Some(last) = parts.pop() else {
        return STATUS_OBJECT_NAME_INVALID;
    };
    let Some(parent) = parts
        .iter()
        .try_fold(start, |key, part| r.hive.subkey(key, part))
    else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let volatile = options & REG_OPTION_VOLATILE != 0;
    let exists = r.hive.subkey(parent, &last).is_some();
    if !exists && !volatile && r.hive.key(parent).is_some_and(|k| k.volatile) {
        return STATUS_CHILD_MUST_BE_VOLATILE;
    }
    let Some((key, created)) = r.hive.create(parent, &last, volatile) else {
        return STATUS_KEY_DELETED;
    };
    let value = r.open_handle(key, granted(desired), call.caller);
    // SAFETY: `handle` was checked non-NULL; writable by the routine's contract.
    unsafe { put_handle(handle, value) };
    if !disposition.is_null() {
        let d = if created {
            REG_CREATED_NEW_KEY
        } else {
            REG_OPENED_EXISTING_KEY
        };
        // SAFETY: non-NULL; writable by the routine's contract.
        unsafe { disposition.write_unaligned(d) };
    }
    STATUS_SUCCESS
}

/// `NTSTATUS ZwClose(HANDLE Handle)`: closing a handle that is not open is a bug check on
/// Windows (`INVALID_KERNEL_HANDLE` for a kernel handle).
pub extern "win64" fn zw_close(handle: *mut c_void) -> NtStatus {
    let call = verifier::enter("ZwClose");
    call.at_most(PASSIVE_LEVEL);
    let mut guard = REGISTRY.lock();
    let removed = guard
        .as_mut()
        .and_then(|r| r.handles.remove(&(handle.addr() as u64)));
    drop(guard);
    // Thread handles (`PsCreateSystemThread`) and named events' handles
    // (`IoCreateNotificationEvent`), which share the scheduler's handle table, are closed here
    // too.
    let closed = removed.is_some() || super::thread::close_handle(handle.addr() as u64);
    call.require(
        closed,
        format_args!("{:#x} is not an open handle (closed twice?)", handle.addr()),
    );
    STATUS_SUCCESS
}

/// Copies `reply` (whose fixed part is `fixed` bytes) to the caller's buffer with Windows' size
/// rules.
///
/// # Safety
/// `out` is NULL or writable for `length` bytes, `result` NULL or writable (the routine's
/// contract; NULL is checked here).
unsafe fn reply(
    call: &Call,
    reply: &[u8],
    fixed: usize,
    out: *mut c_void,
    length: u32,
    result: *mut u32,
) -> NtStatus {
    call.require(!result.is_null(), format_args!("ResultLength is NULL"));
    call.require(
        length == 0 || !out.is_null(),
        format_args!("the buffer is NULL with Length {length}"),
    );
    let full = u32::try_from(reply.len()).unwrap_or(u32::MAX);
    // SAFETY: non-NULL; writable by the routine's contract.
    unsafe { result.write_unaligned(full) };
    let length = length as usize;
    if length < fixed {
        return STATUS_BUFFER_TOO_SMALL;
    }
    let n = length.min(reply.len());
    // SAFETY: `out` is writable for `length >= n` bytes by the routine's contract.
    unsafe { core::ptr::copy_nonoverlapping(reply.as_ptr(), out.cast::<u8>(), n) };
    if n < reply.len() {
        STATUS_BUFFER_OVERFLOW
    } else {
        STATUS_SUCCESS
    }
}

fn u32s(out: &mut Vec<u8>, values: &[u32]) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn units(out: &mut Vec<u8>, name: &[u16]) {
    for u in name {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A `KEY_VALUE_*_INFORMATION` reply and its fixed size, or `None` for a class not served.
fn value_information(class: u32, value: &hive::Value) -> Option<(Vec<u8>, usize)> {
    let name_len = len32(value.name.len().saturating_mul(2));
    let data_len = len32(value.data.len());
    let mut out = Vec::new();
    match class {
        // KeyValueBasicInformation: TitleIndex, Type, NameLength, Name[].
        0 => {
            u32s(&mut out, &[0, value.kind, name_len]);
            units(&mut out, &value.name);
            Some((out, 12))
        }
        // KeyValueFullInformation: TitleIndex, Type, DataOffset, DataLength, NameLength,
        // Name[], then the data at DataOffset (4-byte aligned).
        1 => {
            let offset = value
                .name
                .len()
                .saturating_mul(2)
                .saturating_add(20)
                .next_multiple_of(4);
            u32s(
                &mut out,
                &[0, value.kind, len32(offset), data_len, name_len],
            );
            units(&mut out, &value.name);
            out.resize(offset, 0);
            out.extend_from_slice(&value.data);
            Some((out, 20))
        }
        // KeyValuePartialInformation: TitleIndex, Type, DataLength, Data[].
        2 => {
            u32s(&mut out, &[0, value.kind, data_len]);
            out.extend_from_slice(&value.data);
            Some((out, 12))
        }
        _ => None,
    }
}

/// A `KEY_*_INFORMATION` reply for `key` and its fixed size, or `None` for a class not served.
fn key_information(hive: &Hive, class: u32, key: KeyId) -> Option<(Vec<u8>, usize)> {
    let k = hive.key(key)?;
    let name_len = len32(k.name.len().saturating_mul(2));
    let mut out = Vec::new();
    // LastWriteTime: the stand-in keeps no clock; every key reads as written at time 0.
    out.extend_from_slice(&0i64.to_le_bytes());
    match class {
        // KeyBasicInformation: LastWriteTime, TitleIndex, NameLength, Name[].
        0 => {
            u32s(&mut out, &[0, name_len]);
            units(&mut out, &k.name);
            Some((out, 16))
        }
        // KeyNodeInformation: LastWriteTime, TitleIndex, ClassOffset, ClassLength, NameLength,
        // Name[] (no class: ClassOffset -1).
        1 => {
            u32s(&mut out, &[0, u32::MAX, 0, name_len]);
            units(&mut out, &k.name);
            Some((out, 24))
        }
        // KeyFullInformation: LastWriteTime, TitleIndex, ClassOffset, ClassLength, SubKeys,
        // MaxNameLen, MaxClassLen, Values, MaxValueNameLen, MaxValueDataLen, Class[].
        2 => {
            let subkeys: Vec<KeyId> = (0..).map_while(|i| hive.nth_subkey(key, i)).collect();
            let max_name = subkeys
                .iter()
                .filter_map(|&s| hive.key(s).map(|s| s.name.len().saturating_mul(2)))
                .max()
                .unwrap_or(0);
            let max_value_name = k
                .values
                .iter()
                .map(|v| v.name.len().saturating_mul(2))
                .max()
                .unwrap_or(0);
            let max_data = k.values.iter().map(|v| v.data.len()).max().unwrap_or(0);
            u32s(
                &mut out,
                &[
                    0,
                    u32::MAX,
                    0,
                    len32(subkeys.len()),
                    len32(max_name),
                    0,
                    len32(k.values.len()),
                    len32(max_value_name),
                    len32(max_data),
                ],
            );
            Some((out, 44))
        }
        _ => None,
    }
}

/// The value name a routine was passed, checked.
///
/// # Safety
/// `name` is NULL or a readable `UNICODE_STRING` (the routine's contract).
unsafe fn value_name(call: &Call, name: *const UNICODE_STRING) -> Vec<u16> {
    call.require(!name.is_null(), format_args!("ValueName is NULL"));
    // SAFETY: non-NULL; the routine's contract.
    let Some(units) = (unsafe { unicode(name) }) else {
        call.fail(format_args!("ValueName is not a valid UNICODE_STRING"));
    };
    units
}

/// `NTSTATUS ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
/// KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass, PVOID KeyValueInformation, ULONG Length,
/// PULONG ResultLength)`.
///
/// # Safety
/// The routine's contract: valid pointers.
pub unsafe extern "win64" fn zw_query_value_key(
    key: *mut c_void,
    name: *const UNICODE_STRING,
    class: u32,
    out: *mut c_void,
    length: u32,
    result: *mut u32,
) -> NtStatus {
    let call = verifier::enter("ZwQueryValueKey");
    call.at_most(PASSIVE_LEVEL);
    // SAFETY: the routine's contract.
    let name = unsafe { value_name(&call, name) };
    let guard = REGISTRY.lock();
    let Some(r) = guard.as_ref() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let h = r.handle(&call, key);
    if h.access & KEY_QUERY_VALUE == 0 {
        return STATUS_ACCESS_DENIED;
    }
    if !r.key_live(h.key) {
        return STATUS_KEY_DELETED;
    }
    let Some(value) = r.hive.value(h.key, &name) else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let Some((bytes, fixed)) = value_information(class, value) else {
        return STATUS_INVALID_PARAMETER;
    };
    drop(guard);
    // SAFETY: the routine's contract for `out` and `result`.
    unsafe { reply(&call, &bytes, fixed, out, length, result) }
}

/// `NTSTATUS ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index, KEY_VALUE_INFORMATION_CLASS
/// KeyValueInformationClass, PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)`.
///
/// # Safety
/// The routine's contract: valid pointers.
pub unsafe extern "win64" fn zw_enumerate_value_key(
    key: *mut c_void,
    index: u32,
    class: u32,
    out: *mut c_void,
    length: u32,
    result: *mut u32,
) -> NtStatus {
    let call = verifier::enter("ZwEnumerateValueKey");
    call.at_most(PASSIVE_LEVEL);
    let guard = REGISTRY.lock();
    let Some(r) = guard.as_ref() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let h = r.handle(&call, key);
    if h.access & KEY_QUERY_VALUE == 0 {
        return STATUS_ACCESS_DENIED;
    }
    if !r.key_live(h.key) {
        return STATUS_KEY_DELETED;
    }
    let Some(value) = r.hive.key(h.key).and_then(|k| k.values.get(index as usize)) else {
        return STATUS_NO_MORE_ENTRIES;
    };
    let Some((bytes, fixed)) = value_information(class, value) else {
        return STATUS_INVALID_PARAMETER;
    };
    drop(guard);
    // SAFETY: the routine's contract for `out` and `result`.
    unsafe { reply(&call, &bytes, fixed, out, length, result) }
}

/// `NTSTATUS ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG
/// Type, PVOID Data, ULONG DataSize)`.
///
/// # Safety
/// The routine's contract: valid pointers.
pub unsafe extern "win64" fn zw_set_value_key(
    key: *mut c_void,
    name: *const UNICODE_STRING,
    _title_index: u32,
    kind: u32,
    data: *const c_void,
    size: u32,
) -> NtStatus {
    let call = verifier::enter("ZwSetValueKey");
    call.at_most(PASSIVE_LEVEL);
    // SAFETY: the routine's contract.
    let name = unsafe { value_name(&call, name) };
    call.require(
        size == 0 || !data.is_null(),
        format_args!("Data is NULL with DataSize {size}"),
    );
    let bytes = if size == 0 {
        Vec::new()
    } else {
        // SAFETY: non-NULL and readable for `size` bytes by the routine's contract.
        unsafe { core::slice::from_raw_parts(data.cast::<u8>(), size as usize) }.to_vec()
    };
    let mut guard = REGISTRY.lock();
    let Some(r) = guard.as_mut() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let h = r.handle(&call, key);
    if h.access & KEY_SET_VALUE == 0 {
        return STATUS_ACCESS_DENIED;
    }
    if !r.key_live(h.key) {
        return STATUS_KEY_DELETED;
    }
    r.hive.set_value(h.key, &name, kind, &bytes);
    STATUS_SUCCESS
}

/// `NTSTATUS ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)`.
///
/// # Safety
/// The routine's contract: valid pointers.
pub unsafe extern "win64" fn zw_delete_value_key(
    key: *mut c_void,
    name: *const UNICODE_STRING,
) -> NtStatus {
    let call = verifier::enter("ZwDeleteValueKey");
    call.at_most(PASSIVE_LEVEL);
    // SAFETY: the routine's contract.
    let name = unsafe { value_name(&call, name) };
    let mut guard = REGISTRY.lock();
    let Some(r) = guard.as_mut() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let h = r.handle(&call, key);
    if h.access & KEY_SET_VALUE == 0 {
        return STATUS_ACCESS_DENIED;
    }
    if !r.key_live(h.key) {
        return STATUS_KEY_DELETED;
    }
    if r.hive.delete_value(h.key, &name) {
        STATUS_SUCCESS
    } else {
        STATUS_OBJECT_NAME_NOT_FOUND
    }
}

/// `NTSTATUS ZwEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS
/// KeyInformationClass, PVOID KeyInformation, ULONG Length, PULONG ResultLength)`.
///
/// # Safety
/// The routine's contract: valid pointers.
pub unsafe extern "win64" fn zw_enumerate_key(
    key: *mut c_void,
    index: u32,
    class: u32,
    out: *mut c_void,
    length: u32,
    result: *mut u32,
) -> NtStatus {
    let call = verifier::enter("ZwEnumerateKey");
    call.at_most(PASSIVE_LEVEL);
    let guard = REGISTRY.lock();
    let Some(r) = guard.as_ref() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let h = r.handle(&call, key);
    if h.access & KEY_ENUMERATE_SUB_KEYS == 0 {
        return STATUS_ACCESS_DENIED;
    }
    if !r.key_live(h.key) {
        return STATUS_KEY_DELETED;
    }
    let Some(sub) = r.hive.nth_subkey(h.key, index as usize) else {
        return STATUS_NO_MORE_ENTRIES;
    };
    let Some((bytes, fixed)) = key_information(&r.hive, class, sub) else {
        return STATUS_INVALID_PARAMETER;
    };
    drop(guard);
    // SAFETY: the routine's contract for `out` and `result`.
    unsafe { reply(&call, &bytes, fixed, out, length, result) }
}

/// `NTSTATUS ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass, PVOID
/// KeyInformation, ULONG Length, PULONG ResultLength)`.
///
/// # Safety
/// The routine's contract: valid pointers.
pub unsafe extern "win64" fn zw_query_key(
    key: *mut c_void,
    class: u32,
    out: *mut c_void,
    length: u32,
    result: *mut u32,
) -> NtStatus {
    let call = verifier::enter("ZwQueryKey");
    call.at_most(PASSIVE_LEVEL);
    let guard = REGISTRY.lock();
    let Some(r) = guard.as_ref() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let h = r.handle(&call, key);
    if h.access & KEY_QUERY_VALUE == 0 {
        return STATUS_ACCESS_DENIED;
    }
    if !r.key_live(h.key) {
        return STATUS_KEY_DELETED;
    }
    let Some((bytes, fixed)) = key_information(&r.hive, class, h.key) else {
        return STATUS_INVALID_PARAMETER;
    };
    drop(guard);
    // SAFETY: the routine's contract for `out` and `result`.
    unsafe { reply(&call, &bytes, fixed, out, length, result) }
}

/// `NTSTATUS ZwDeleteKey(HANDLE KeyHandle)`: needs `DELETE` access and no subkeys.
pub extern "win64" fn zw_delete_key(key: *mut c_void) -> NtStatus {
    let call = verifier::enter("ZwDeleteKey");
    call.at_most(PASSIVE_LEVEL);
    let mut guard = REGISTRY.lock();
    let Some(r) = guard.as_mut() else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    let h = r.handle(&call, key);
    if h.access & DELETE == 0 {
        return STATUS_ACCESS_DENIED;
    }
    if !r.key_live(h.key) {
        return STATUS_KEY_DELETED;
    }
    if r.hive.delete(h.key) {
        STATUS_SUCCESS
    } else {
        STATUS_CANNOT_DELETE
    }
}
