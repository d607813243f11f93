// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The string and runtime routines upstream's C xen.sys imports that our images do not:
//! the C runtime's `strchr`, `strrchr`, `strstr`, `strncmp`, `_stricmp`, `isdigit`, `wcslen`,
//! `wcschr`, `wcsrchr`, `_wcsnicmp` (all exported by `ntoskrnl.exe`; any IRQL for the byte
//! routines, as for `strlen`); the counted-string routines `RtlInitAnsiString`,
//! `RtlAnsiStringToUnicodeString`, `RtlUnicodeStringToAnsiString`, `RtlUpcaseUnicodeString`,
//! `RtlFreeAnsiString`, `RtlFreeUnicodeString`, `RtlStringFromGUID`; `RtlIsNtDdiVersionAvailable`
//! (what the WDK's `ExInitializeDriverRuntime(DrvRtPoolNxOptIn)` asks); and
//! `RtlQueryModuleInformation` (the kernel's module list, what the WDK's `aux_klib` library
//! reads for `AuxKlibQueryModuleInformation`).
//!
//! Checked, as Microsoft documents them: NULL strings; the conversion and case routines and
//! `RtlStringFromGUID` at `PASSIVE_LEVEL` only (they use the pageable NLS tables and allocate
//! from paged pool); a destination string the caller sized too small; a string freed with
//! `RtlFree*String` that a conversion with `AllocateDestinationString` did not allocate (the
//! pool's checks: the block must be the kernel's allocation for the caller, tag [`STRING_TAG`]),
//! and at unload such strings not freed (the pool's leak audit). The conversions are
//! ASCII-only: a byte above 0x7f or a unit above 0x7f fails the run (the stand-in has no code
//! page tables; nothing in our runs uses one).

use super::pool;
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::vec::Vec;
use core::ffi::c_void;
use ntddk::UNICODE_STRING;
use ntstatus::{
    NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_BUFFER_TOO_SMALL, STATUS_INVALID_PARAMETER,
    STATUS_NO_MEMORY, STATUS_SUCCESS,
};

/// The pool tag of strings the conversion routines allocate for the caller (`Strg`).
pub const STRING_TAG: u32 = u32::from_le_bytes(*b"Strg");

/// `STRING` / `ANSI_STRING`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AnsiString {
    length: u16,
    maximum_length: u16,
    buffer: *mut u8,
}

/// The bytes of NUL-terminated `s` (without the NUL), after checking it is not NULL.
///
/// # Safety
/// `s` is NULL or NUL-terminated.
unsafe fn c_bytes<'a>(call: &Call, s: *const u8, what: &str) -> &'a [u8] {
    call.require(!s.is_null(), format_args!("{what} is NULL"));
    // SAFETY: the caller's contract: NUL-terminated (NULL checked).
    unsafe { core::ffi::CStr::from_ptr(s.cast()) }.to_bytes()
}

/// The units of NUL-terminated UTF-16 `s` (without the NUL), after checking it is not NULL.
///
/// # Safety
/// `s` is NULL or NUL-terminated.
unsafe fn w_units<'a>(call: &Call, s: *const u16, what: &str) -> &'a [u16] {
    call.require(!s.is_null(), format_args!("{what} is NULL"));
    let mut n = 0usize;
    // SAFETY: the caller's contract: NUL-terminated; each unit read before the next.
    while unsafe { s.wrapping_add(n).read_unaligned() } != 0 {
        n += 1;
    }
    // SAFETY: `n` units readable (just read), 2-byte aligned by the C type.
    unsafe { core::slice::from_raw_parts(s, n) }
}

/// Where `p` points inside `base` (a pointer into the caller's string), as the C routines
/// return it.
fn at<T>(base: *const T, index: Option<usize>) -> *mut T {
    index.map_or(core::ptr::null_mut(), |i| base.wrapping_add(i).cast_mut())
}

/// Where `c` is in the string `units` (its terminator excluded), first or `last`, as the
/// `strchr` family finds it: `c == 0` finds the terminator.
fn find<T: Copy + PartialEq + Default>(units: &[T], c: T, last: bool) -> Option<usize> {
    if c == T::default() {
        Some(units.len())
    } else if last {
        units.iter().rposition(|&x| x == c)
    } else {
        units.iter().position(|&x| x == c)
    }
}

/// `char *strchr(const char *s, int c)`: the first `c` (the NUL itself for `c == 0`).
///
/// # Safety
/// The C contract.
pub unsafe extern "win64" fn strchr(s: *const u8, c: i32) -> *mut u8 {
    let call = verifier::enter("strchr");
    // SAFETY: the C contract.
    let b = unsafe { c_bytes(&call, s, "the string") };
    let c = c.to_le_bytes()[0];
    at(s, find(b, c, false))
}

/// `char *strrchr(const char *s, int c)`: the last `c`.
///
/// # Safety
/// The C contract.
pub unsafe extern "win64" fn strrchr(s: *const u8, c: i32) -> *mut u8 {
    let call = verifier::enter("strrchr");
    // SAFETY: the C contract.
    let b = unsafe { c_bytes(&call, s, "the string") };
    let c = c.to_le_bytes()[0];
    at(s, find(b, c, true))
}

/// `char *strstr(const char *s, const char *find)`: the first occurrence (`s` for "").
///
/// # Safety
/// The C contract.
pub unsafe extern "win64" fn strstr(s: *const u8, find: *const u8) -> *mut u8 {
    let call = verifier::enter("strstr");
    // SAFETY: the C contract.
    let hay = unsafe { c_bytes(&call, s, "the string") };
    // SAFETY: the C contract.
    let needle = unsafe { c_bytes(&call, find, "the string to find") };
    let found = if needle.is_empty() {
        Some(0)
    } else {
        hay.windows(needle.len()).position(|w| w == needle)
    };
    at(s, found)
}

/// The sign of comparing `a` with `b`.
const fn sign(o: core::cmp::Ordering) -> i32 {
    match o {
        core::cmp::Ordering::Less => -1,
        core::cmp::Ordering::Equal => 0,
        core::cmp::Ordering::Greater => 1,
    }
}

/// `int strncmp(const char *a, const char *b, size_t n)`: at most `n` bytes, unsigned.
///
/// # Safety
/// The C contract: both readable up to their NUL or `n` bytes.
pub unsafe extern "win64" fn strncmp(first: *const u8, second: *const u8, n: usize) -> i32 {
    let call = verifier::enter("strncmp");
    if n == 0 {
        return 0;
    }
    call.require(!first.is_null(), format_args!("the first string is NULL"));
    call.require(!second.is_null(), format_args!("the second string is NULL"));
    for i in 0..n {
        // SAFETY: the C contract: readable up to the first NUL or `n` bytes (stopped at NUL).
        let left = unsafe { first.wrapping_add(i).read() };
        // SAFETY: as above.
        let right = unsafe { second.wrapping_add(i).read() };
        if left != right || left == 0 {
            return sign(left.cmp(&right));
        }
    }
    0
}

/// `int _stricmp(const char *a, const char *b)`: ASCII letters folded to lower case (the C
/// locale, which is the kernel's).
///
/// # Safety
/// The C contract.
pub unsafe extern "win64" fn stricmp(a: *const u8, b: *const u8) -> i32 {
    let call = verifier::enter("_stricmp");
    // SAFETY: the C contract.
    let a = unsafe { c_bytes(&call, a, "the first string") };
    // SAFETY: the C contract.
    let b = unsafe { c_bytes(&call, b, "the second string") };
    let fold = |s: &[u8]| s.iter().map(u8::to_ascii_lowercase).collect::<Vec<u8>>();
    sign(fold(a).cmp(&fold(b)))
}

/// `int isdigit(int c)`: non-zero for '0'..'9'. `c` must be EOF (-1) or an `unsigned char`
/// value (the C rule; a negative `char` passed unconverted is a caller's bug).
pub extern "win64" fn isdigit(c: i32) -> i32 {
    let call = verifier::enter("isdigit");
    call.require(
        c == -1 || (0..=255).contains(&c),
        format_args!("{c} is neither EOF nor an unsigned char value"),
    );
    i32::from((0x30..=0x39).contains(&c))
}

/// `size_t wcslen(const wchar_t *s)`.
///
/// # Safety
/// The C contract.
pub unsafe extern "win64" fn wcslen(s: *const u16) -> usize {
    let call = verifier::enter("wcslen");
    // SAFETY: the C contract.
    unsafe { w_units(&call, s, "the string") }.len()
}

/// `wchar_t *wcschr(const wchar_t *s, wchar_t c)`.
///
/// # Safety
/// The C contract.
pub unsafe extern "win64" fn wcschr(s: *const u16, c: u16) -> *mut u16 {
    let call = verifier::enter("wcschr");
    // SAFETY: the C contract.
    let u = unsafe { w_units(&call, s, "the string") };
    at(s, find(u, c, false))
}

/// `wchar_t *wcsrchr(const wchar_t *s, wchar_t c)`.
///
/// # Safety
/// The C contract.
pub unsafe extern "win64" fn wcsrchr(s: *const u16, c: u16) -> *mut u16 {
    let call = verifier::enter("wcsrchr");
    // SAFETY: the C contract.
    let u = unsafe { w_units(&call, s, "the string") };
    at(s, find(u, c, true))
}

/// ASCII lower case of a UTF-16 unit (others unchanged).
fn lower(u: u16) -> u16 {
    if (0x41..=0x5a).contains(&u) {
        u + 0x20
    } else {
        u
    }
}

/// `int _wcsnicmp(const wchar_t *a, const wchar_t *b, size_t n)`.
///
/// # Safety
/// The C contract: both readable up to their NUL or `n` units.
pub unsafe extern "win64" fn wcsnicmp(first: *const u16, second: *const u16, n: usize) -> i32 {
    let call = verifier::enter("_wcsnicmp");
    if n == 0 {
        return 0;
    }
    call.require(!first.is_null(), format_args!("the first string is NULL"));
    call.require(!second.is_null(), format_args!("the second string is NULL"));
    for i in 0..n {
        // SAFETY: the C contract: readable up to the first NUL or `n` units (stopped at NUL).
        let left = lower(unsafe { first.wrapping_add(i).read_unaligned() });
        // SAFETY: as above.
        let right = lower(unsafe { second.wrapping_add(i).read_unaligned() });
        if left != right || left == 0 {
            return sign(left.cmp(&right));
        }
    }
    0
}

/// `VOID RtlInitAnsiString(PANSI_STRING Destination, PCSZ Source)`: <= DISPATCH_LEVEL.
///
/// # Safety
/// `destination` writable; `source` NULL or NUL-terminated.
pub unsafe extern "win64" fn rtl_init_ansi_string(destination: *mut AnsiString, source: *const u8) {
    let call = verifier::enter("RtlInitAnsiString");
    call.at_most(DISPATCH_LEVEL);
    call.require(
        !destination.is_null(),
        format_args!("DestinationString is NULL"),
    );
    let len = if source.is_null() {
        0
    } else {
        // SAFETY: the contract: NUL-terminated.
        unsafe { c_bytes(&call, source, "SourceString") }.len()
    };
    call.require(
        len < 65_535,
        format_args!("SourceString is longer than an ANSI_STRING can describe"),
    );
    let length = u16::try_from(len).unwrap_or(u16::MAX);
    let value = AnsiString {
        length,
        maximum_length: if source.is_null() { 0 } else { length + 1 },
        buffer: source.cast_mut(),
    };
    // SAFETY: checked not NULL; writable by the contract.
    unsafe { destination.write_unaligned(value) };
}

/// The counted bytes of an `ANSI_STRING`.
///
/// # Safety
/// `s` points to a valid `ANSI_STRING`.
unsafe fn ansi_bytes<'a>(call: &Call, s: *const AnsiString, what: &str) -> &'a [u8] {
    call.require(!s.is_null(), format_args!("{what} is NULL"));
    // SAFETY: the contract: a valid ANSI_STRING.
    let v = unsafe { s.read_unaligned() };
    call.require(
        v.length <= v.maximum_length,
        format_args!(
            "{what}'s Length {} exceeds its MaximumLength {}",
            v.length, v.maximum_length
        ),
    );
    if v.length == 0 {
        return &[];
    }
    call.require(!v.buffer.is_null(), format_args!("{what}'s Buffer is NULL"));
    // SAFETY: the contract: `Length` readable bytes at `Buffer`.
    unsafe { core::slice::from_raw_parts(v.buffer, usize::from(v.length)) }
}

/// The counted units of a `UNICODE_STRING`.
///
/// # Safety
/// `s` points to a valid `UNICODE_STRING`.
unsafe fn unicode_units<'a>(call: &Call, s: *const UNICODE_STRING, what: &str) -> &'a [u16] {
    call.require(!s.is_null(), format_args!("{what} is NULL"));
    // SAFETY: the contract: a valid UNICODE_STRING.
    let v = unsafe { s.read_unaligned() };
    call.require(
        v.Length % 2 == 0 && v.Length <= v.MaximumLength,
        format_args!(
            "{what}'s Length {} is odd or exceeds its MaximumLength {}",
            v.Length, v.MaximumLength
        ),
    );
    if v.Length == 0 {
        return &[];
    }
    call.require(!v.Buffer.is_null(), format_args!("{what}'s Buffer is NULL"));
    // SAFETY: the contract: `Length` readable bytes at `Buffer`.
    unsafe { core::slice::from_raw_parts(v.Buffer.cast_const(), usize::from(v.Length / 2)) }
}

/// Writes `units` (then a NUL if it fits) into `destination`, allocating its buffer for the
/// caller when `allocate`; what the conversion routines share.
///
/// # Safety
/// `destination` points to a writable `UNICODE_STRING` (with a valid buffer unless `allocate`).
unsafe fn put_unicode(
    call: &Call,
    destination: *mut UNICODE_STRING,
    units: &[u16],
    allocate: bool,
) -> NtStatus {
    call.require(
        !destination.is_null(),
        format_args!("DestinationString is NULL"),
    );
    let Ok(bytes) = u16::try_from(units.len() * 2) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: checked not NULL; readable by the contract.
    let mut d = unsafe { destination.read_unaligned() };
    if allocate {
        let buffer = pool::allocate_for(call, usize::from(bytes) + 2, STRING_TAG).cast::<u16>();
        if buffer.is_null() {
            return STATUS_NO_MEMORY;
        }
        d = UNICODE_STRING {
            Length: 0,
            MaximumLength: bytes.saturating_add(2),
            Buffer: buffer,
        };
    } else if d.MaximumLength < bytes {
        return STATUS_BUFFER_OVERFLOW;
    } else {
        call.require(
            !d.Buffer.is_null() || bytes == 0,
            format_args!("DestinationString's Buffer is NULL"),
        );
    }
    for (i, &u) in units.iter().enumerate() {
        // SAFETY: `i < units.len()` and the buffer holds `MaximumLength >= 2 * len` bytes.
        unsafe { d.Buffer.wrapping_add(i).write_unaligned(u) };
    }
    if usize::from(d.MaximumLength) >= units.len() * 2 + 2 {
        // SAFETY: room for the NUL (checked).
        unsafe { d.Buffer.wrapping_add(units.len()).write_unaligned(0) };
    }
    d.Length = bytes;
    // SAFETY: checked not NULL; writable by the contract.
    unsafe { destination.write_unaligned(d) };
    STATUS_SUCCESS
}

/// `NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING Destination, PCANSI_STRING Source,
/// BOOLEAN AllocateDestinationString)`: PASSIVE_LEVEL.
///
/// # Safety
/// The routine's contract.
pub unsafe extern "win64" fn rtl_ansi_string_to_unicode_string(
    destination: *mut UNICODE_STRING,
    source: *const AnsiString,
    allocate: u8,
) -> NtStatus {
    let call = verifier::enter("RtlAnsiStringToUnicodeString");
    call.at_most(PASSIVE_LEVEL);
    // SAFETY: the contract.
    let bytes = unsafe { ansi_bytes(&call, source, "SourceString") };
    call.require(
        bytes.is_ascii(),
        format_args!("SourceString holds a byte above 0x7f: the stand-in has no code page"),
    );
    let units: Vec<u16> = bytes.iter().map(|&b| u16::from(b)).collect();
    // SAFETY: the contract.
    unsafe { put_unicode(&call, destination, &units, allocate != 0) }
}

/// `NTSTATUS RtlUpcaseUnicodeString(PUNICODE_STRING Destination, PCUNICODE_STRING Source,
/// BOOLEAN AllocateDestinationString)`: PASSIVE_LEVEL.
///
/// # Safety
/// The routine's contract.
pub unsafe extern "win64" fn rtl_upcase_unicode_string(
    destination: *mut UNICODE_STRING,
    source: *const UNICODE_STRING,
    allocate: u8,
) -> NtStatus {
    let call = verifier::enter("RtlUpcaseUnicodeString");
    call.at_most(PASSIVE_LEVEL);
    // SAFETY: the contract.
    let units = unsafe { unicode_units(&call, source, "SourceString") };
    call.require(
        units.iter().all(|&u| u < 0x80),
        format_args!("SourceString holds a unit above 0x7f: the stand-in has no case table"),
    );
    let upper: Vec<u16> = units
        .iter()
        .map(|&u| {
            if (0x61..=0x7a).contains(&u) {
                u - 0x20
            } else {
                u
            }
        })
        .collect();
    // SAFETY: the contract.
    unsafe { put_unicode(&call, destination, &upper, allocate != 0) }
}

/// `NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING Destination, PCUNICODE_STRING Source,
/// BOOLEAN AllocateDestinationString)`: PASSIVE_LEVEL. Without allocation a destination too
/// small gets what fits and `STATUS_BUFFER_OVERFLOW`, as documented.
///
/// # Safety
/// The routine's contract.
pub unsafe extern "win64" fn rtl_unicode_string_to_ansi_string(
    destination: *mut AnsiString,
    source: *const UNICODE_STRING,
    allocate: u8,
) -> NtStatus {
    let call = verifier::enter("RtlUnicodeStringToAnsiString");
    call.at_most(PASSIVE_LEVEL);
    // SAFETY: the contract.
    let units = unsafe { unicode_units(&call, source, "SourceString") };
    call.require(
        units.iter().all(|&u| u < 0x80),
        format_args!("SourceString holds a unit above 0x7f: the stand-in has no code page"),
    );
    call.require(
        !destination.is_null(),
        format_args!("DestinationString is NULL"),
    );
    let len = units.len();
    // SAFETY: checked not NULL; readable by the contract.
    let mut d = unsafe { destination.read_unaligned() };
    let mut status = STATUS_SUCCESS;
    let mut copy = len;
    if allocate != 0 {
        let buffer = pool::allocate_for(&call, len + 1, STRING_TAG).cast::<u8>();
        if buffer.is_null() {
            return STATUS_NO_MEMORY;
        }
        d = AnsiString {
            length: 0,
            maximum_length: u16::try_from(len + 1).unwrap_or(u16::MAX),
            buffer,
        };
    } else {
        call.require(
            !d.buffer.is_null() || d.maximum_length == 0,
            format_args!("DestinationString's Buffer is NULL"),
        );
        if usize::from(d.maximum_length) < len {
            copy = usize::from(d.maximum_length);
            status = STATUS_BUFFER_OVERFLOW;
        }
    }
    for (i, &u) in units.iter().take(copy).enumerate() {
        // SAFETY: `i < copy <= MaximumLength` bytes of the destination's buffer.
        unsafe { d.buffer.wrapping_add(i).write(u.to_le_bytes()[0]) };
    }
    if usize::from(d.maximum_length) > copy {
        // SAFETY: room for the NUL (checked).
        unsafe { d.buffer.wrapping_add(copy).write(0) };
    }
    d.length = u16::try_from(copy).unwrap_or(u16::MAX);
    // SAFETY: checked not NULL; writable by the contract.
    unsafe { destination.write_unaligned(d) };
    status
}

/// Frees a string buffer a conversion allocated for the caller (NULL buffer: nothing).
fn free_string(call: &Call, buffer: *mut c_void) {
    if !buffer.is_null() {
        pool::free_for(call, buffer, STRING_TAG);
    }
}

/// `VOID RtlFreeAnsiString(PANSI_STRING AnsiString)`: PASSIVE_LEVEL; the buffer must be one
/// `RtlUnicodeStringToAnsiString` allocated.
///
/// # Safety
/// The routine's contract.
pub unsafe extern "win64" fn rtl_free_ansi_string(s: *mut AnsiString) {
    let call = verifier::enter("RtlFreeAnsiString");
    call.at_most(PASSIVE_LEVEL);
    call.require(!s.is_null(), format_args!("AnsiString is NULL"));
    // SAFETY: checked not NULL; a valid ANSI_STRING by the contract.
    let v = unsafe { s.read_unaligned() };
    free_string(&call, v.buffer.cast());
    let cleared = AnsiString {
        length: 0,
        maximum_length: 0,
        buffer: core::ptr::null_mut(),
    };
    // SAFETY: as above.
    unsafe { s.write_unaligned(cleared) };
}

/// `VOID RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)`: PASSIVE_LEVEL; the buffer must
/// be one a conversion routine allocated.
///
/// # Safety
/// The routine's contract.
pub unsafe extern "win64" fn rtl_free_unicode_string(s: *mut UNICODE_STRING) {
    let call = verifier::enter("RtlFreeUnicodeString");
    call.at_most(PASSIVE_LEVEL);
    call.require(!s.is_null(), format_args!("UnicodeString is NULL"));
    // SAFETY: checked not NULL; a valid UNICODE_STRING by the contract.
    let v = unsafe { s.read_unaligned() };
    free_string(&call, v.Buffer.cast());
    let cleared = UNICODE_STRING {
        Length: 0,
        MaximumLength: 0,
        Buffer: core::ptr::null_mut(),
    };
    // SAFETY: as above.
    unsafe { s.write_unaligned(cleared) };
}

/// `NTSTATUS RtlStringFromGUID(REFGUID Guid, PUNICODE_STRING GuidString)`: PASSIVE_LEVEL;
/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` in upper case, allocated for the caller (freed with
/// `RtlFreeUnicodeString`).
///
/// # Safety
/// The routine's contract: `guid` readable (16 bytes), `string` writable.
pub unsafe extern "win64" fn rtl_string_from_guid(
    guid: *const [u8; 16],
    string: *mut UNICODE_STRING,
) -> NtStatus {
    let call = verifier::enter("RtlStringFromGUID");
    call.at_most(PASSIVE_LEVEL);
    call.require(!guid.is_null(), format_args!("Guid is NULL"));
    // SAFETY: checked not NULL; 16 readable bytes by the contract.
    let g = unsafe { guid.read_unaligned() };
    let d1 = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
    let d2 = u16::from_le_bytes([g[4], g[5]]);
    let d3 = u16::from_le_bytes([g[6], g[7]]);
    let text = alloc::format!(
        "{{{d1:08X}-{d2:04X}-{d3:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}",
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    );
    let units: Vec<u16> = text.encode_utf16().collect();
    // SAFETY: the contract: `string` writable (NULL checked inside).
    unsafe { put_unicode(&call, string, &units, true) }
}

/// The `NTDDI_VERSION` of the Windows the stand-in reports ([`super::ke::VERSION`]): Windows 10
/// (`NTDDI_WIN10` = 0x0A000000 and its later releases' sub-versions; build 19045 is 22H2,
/// `NTDDI_WIN10_VB` = 0x0A000008).
pub const NTDDI_VERSION: u32 = 0x0A00_0008;

/// `BOOLEAN RtlIsNtDdiVersionAvailable(ULONG Version)`: whether the running Windows is at
/// least `Version`. Any IRQL.
pub extern "win64" fn rtl_is_nt_ddi_version_available(version: u32) -> u8 {
    let _call = verifier::enter("RtlIsNtDdiVersionAvailable");
    u8::from(version <= NTDDI_VERSION)
}

/// `RTL_MODULE_EXTENDED_INFO` (the layout of the WDK's `AUX_MODULE_EXTENDED_INFO`).
#[repr(C)]
#[derive(Clone, Copy)]
struct ModuleExtendedInfo {
    image_base: u64,
    image_size: u32,
    file_name_offset: u16,
    full_path_name: [u8; 256],
}

/// `NTSTATUS RtlQueryModuleInformation(PULONG InformationLength, ULONG SizePerModule, PVOID
/// InformationBuffer)`: the loaded modules (the kernel first, then the images, as
/// `ZwQuerySystemInformation` lists them) as `RTL_MODULE_EXTENDED_INFO`, the only size per
/// module the stand-in knows; a NULL buffer asks for the length;
/// `STATUS_BUFFER_TOO_SMALL` with the length needed when it does not fit. PASSIVE_LEVEL.
///
/// # Safety
/// The routine's contract: `length` writable, the buffer writable for `*length` bytes.
pub unsafe extern "win64" fn rtl_query_module_information(
    length: *mut u32,
    size_per_module: u32,
    buffer: *mut c_void,
) -> NtStatus {
    let call = verifier::enter("RtlQueryModuleInformation");
    call.at_most(PASSIVE_LEVEL);
    call.require(!length.is_null(), format_args!("InformationLength is NULL"));
    let stride = size_of::<ModuleExtendedInfo>();
    call.require(
        size_per_module as usize == stride,
        format_args!(
            "SizePerModule {size_per_module} is not sizeof(RTL_MODULE_EXTENDED_INFO) ({stride})"
        ),
    );
    let modules = super::ps::listing();
    let needed = modules.len() * stride;
    // SAFETY: checked not NULL; readable and writable by the contract.
    let room = unsafe { length.read_unaligned() } as usize;
    // SAFETY: as above.
    unsafe { length.write_unaligned(u32::try_from(needed).unwrap_or(u32::MAX)) };
    if buffer.is_null() {
        return STATUS_SUCCESS;
    }
    if room < needed {
        return STATUS_BUFFER_TOO_SMALL;
    }
    for (i, (path, base, size)) in modules.iter().enumerate() {
        let mut full = [0u8; 256];
        let bytes = path.as_bytes();
        let n = bytes.len().min(255);
        full[..n].copy_from_slice(&bytes[..n]);
        let file = bytes[..n]
            .iter()
            .rposition(|&b| b == b'\\')
            .map_or(0, |p| p + 1);
        let info = ModuleExtendedInfo {
            image_base: *base,
            image_size: u32::try_from(*size).unwrap_or(u32::MAX),
            file_name_offset: u16::try_from(file).unwrap_or(0),
            full_path_name: full,
        };
        // SAFETY: `(i + 1) * stride <= needed <= room` bytes of the caller's buffer.
        unsafe {
            buffer
                .cast::<u8>()
                .wrapping_add(i * stride)
                .cast::<ModuleExtendedInfo>()
                .write_unaligned(info);
        };
    }
    STATUS_SUCCESS
}
