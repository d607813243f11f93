// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The loaded-module list behind `ModuleLookup` and the bug-check dump's `module + offset`, as
//! upstream's `ModuleInitialize`/`ModuleTeardown` (`src/xen/module.c`); every decision is
//! [`crate::module`]'s.
//!
//! * [`initialize`] (`DllInitialize`, at `PASSIVE_LEVEL`): the kernel's listing of the loaded
//!   modules, `ZwQuerySystemInformation(SystemModuleInformation)` (what upstream's
//!   `AuxKlibQueryModuleInformation` asks the kernel for), asked again while the answer grows
//!   between the size query and the copy; read by [`crate::module::listing`] and turned into
//!   the list ([`ModuleList::from_snapshot`]); then the load-image notify routine.
//! * [`load_image`] (PASSIVE_LEVEL, for every image mapped afterwards): system-mode images only,
//!   named after the last component of `FullImageName` (UTF-16 narrowed as for ASCII, anything
//!   else `?`, where upstream's `RtlUnicodeStringToAnsiString` would use the ANSI code page).
//! * [`lookup`] (any IRQL, the bug-check callback's `HIGH_LEVEL` included): the list sits behind
//!   a [`HighLock`], as upstream's `HIGH_LOCK`. Nothing under it allocates or frees: an
//!   insertion measures under the lock, allocates outside, inserts under it again
//!   ([`ModuleList::commit`]) and frees what it replaced after releasing it.
//! * [`Registered`]'s drop (`DllUnload`, or a later step's failure unwind): removes the notify
//!   routine (the kernel returns once no call of it runs), then frees the list.

use alloc::vec::Vec;

use ntddk::{
    HANDLE, IMAGE_INFO, NTSTATUS, STATUS_INFO_LENGTH_MISMATCH, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_NO_MEMORY, STATUS_UNSUCCESSFUL, SystemModuleInformation, UNICODE_STRING,
};

use crate::export::{DebugLevel, HighLock, debug_message};
use crate::log::LogArg;
use crate::module::{
    self, Commit, ListingError, MAX_LISTING, MAX_NAME, Module, ModuleError, ModuleList, Reservation,
};

/// The list: built at `DllInitialize`, edited by load notifications, read at any IRQL.
static MODULES: HighLock<ModuleList> = HighLock::new(ModuleList::new());

/// Times the listing is asked for before giving up on a kernel whose module count keeps
/// changing.
const QUERY_ATTEMPTS: usize = 8;
/// Times an insertion measures and reserves before giving up on a list that keeps changing.
const INSERT_ATTEMPTS: usize = 4;

/// The notify routine is registered and the list built; dropping it undoes both.
#[must_use = "the notify routine stays registered until `teardown`"]
pub(super) struct Registered(());

/// `ModuleInitialize` (PASSIVE_LEVEL).
///
/// # Errors
/// The listing's failure (the kernel's status, `STATUS_NO_MEMORY`, `STATUS_UNSUCCESSFUL` for
/// an answer that does not add up), or `PsSetLoadImageNotifyRoutine`'s.
pub(super) fn initialize() -> Result<Registered, NTSTATUS> {
    let bytes = query()?;
    let listed = match module::listing(&bytes) {
        Ok(listed) => listed,
        Err(e) => {
            let (count, fits) = match e {
                ListingError::NoHeader { bytes } => (0, bytes),
                ListingError::Truncated { count, fits } => (u64::from(count), fits),
            };
            debug_message(
                DebugLevel::Error,
                "ModuleInitialize",
                b"module listing does not add up (%u modules, room for %u)\n",
                &[
                    LogArg::Int(count),
                    LogArg::Int(fits.try_into().unwrap_or(u64::MAX)),
                ],
            );
            return Err(STATUS_UNSUCCESSFUL);
        }
    };
    let mut list = ModuleList::from_snapshot(listed, &mut |index, error| {
        debug_message(
            DebugLevel::Warning,
            "ModuleInitialize",
            b"module %u of the listing ignored (%s)\n",
            &[
                LogArg::Int(index.try_into().unwrap_or(u64::MAX)),
                LogArg::Str(Some(error_text(error))),
            ],
        );
    })
    .map_err(|_| STATUS_NO_MEMORY)?;
    drop(bytes);
    for m in list.modules() {
        log_module(m);
    }
    MODULES.with(|installed| core::mem::swap(installed, &mut list));
    // SAFETY: PASSIVE_LEVEL; the routine is this image's and stays registered until
    // `Registered`'s drop removes it, before the image can unload.
    let status = unsafe { ntddk::routines::PsSetLoadImageNotifyRoutine(load_image) };
    if !ntddk::nt_success(status) {
        drop(MODULES.with(core::mem::take));
        return Err(status);
    }
    Ok(Registered(()))
}

impl Registered {
    /// `ModuleTeardown` (PASSIVE_LEVEL). Dropping the token does the same.
    pub(super) fn teardown(self) {
        drop(self);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // SAFETY: PASSIVE_LEVEL (the token lives in `DllInitialize` and `DllUnload`'s state
        // only); the routine `initialize` registered, which this token proves.
        let _removed = unsafe { ntddk::routines::PsRemoveLoadImageNotifyRoutine(load_image) };
        // Freed here, at PASSIVE_LEVEL, after the lock.
        drop(MODULES.with(core::mem::take));
    }
}

/// `ModuleLookup`: the stored NUL-terminated name of the module holding `address` and the
/// offset into it. Any IRQL; no allocation.
pub(super) fn lookup(address: usize) -> Option<(*const u8, usize)> {
    MODULES.with(|list| {
        list.lookup(address)
            .map(|(module, offset)| (module.name_ptr(), offset))
    })
}

/// The listing's bytes (what the kernel returned), asked for until it fits.
fn query() -> Result<Vec<u8>, NTSTATUS> {
    let mut needed = 0u32;
    // SAFETY: PASSIVE_LEVEL; no buffer (length 0): the kernel only writes the length needed.
    let status = unsafe {
        ntddk::routines::ZwQuerySystemInformation(
            SystemModuleInformation,
            core::ptr::null_mut(),
            0,
            &raw mut needed,
        )
    };
    if status != STATUS_INFO_LENGTH_MISMATCH {
        return Err(if ntddk::nt_success(status) {
            STATUS_UNSUCCESSFUL
        } else {
            status
        });
    }
    for _ in 0..QUERY_ATTEMPTS {
        let size = usize::try_from(needed).unwrap_or(usize::MAX);
        if size == 0 || size > MAX_LISTING {
            return Err(STATUS_INSUFFICIENT_RESOURCES);
        }
        let mut buffer = Vec::new();
        buffer
            .try_reserve_exact(size)
            .map_err(|_| STATUS_NO_MEMORY)?;
        buffer.resize(size, 0u8);
        let mut returned = 0u32;
        // SAFETY: PASSIVE_LEVEL; `buffer` is `needed` writable bytes, which the kernel fills
        // at most, and `returned` is ours.
        let status = unsafe {
            ntddk::routines::ZwQuerySystemInformation(
                SystemModuleInformation,
                buffer.as_mut_ptr().cast(),
                needed,
                &raw mut returned,
            )
        };
        if status == STATUS_INFO_LENGTH_MISMATCH {
            // Modules were loaded since the size query: ask again with the new size.
            needed = returned;
            continue;
        }
        if !ntddk::nt_success(status) {
            return Err(status);
        }
        buffer.truncate(usize::try_from(returned).unwrap_or(usize::MAX));
        return Ok(buffer);
    }
    Err(STATUS_UNSUCCESSFUL)
}

/// `PLOAD_IMAGE_NOTIFY_ROUTINE` (upstream's `ModuleLoad`), at PASSIVE_LEVEL.
unsafe extern "system" fn load_image(
    full_name: *mut UNICODE_STRING,
    _process: HANDLE,
    info: *mut IMAGE_INFO,
) {
    // SAFETY: the kernel passes its IMAGE_INFO (or NULL), readable for the call.
    let Some(info) = (unsafe { info.as_ref() }) else {
        return;
    };
    if info.Properties & IMAGE_INFO::SystemModeImage == 0 {
        return;
    }
    // SAFETY: the kernel passes the image's name (or NULL), readable for the call.
    let Some(name) = (unsafe { base_name(full_name) }) else {
        debug_message(
            DebugLevel::Warning,
            "ModuleLoad",
            b"%p: an image without a name is not recorded\n",
            &[LogArg::Int(info.ImageBase.addr() as u64)],
        );
        return;
    };
    let not_recorded = |e| {
        debug_message(
            DebugLevel::Error,
            "ModuleLoad",
            b"%p [%s] not recorded (%s)\n",
            &[
                LogArg::Int(info.ImageBase.addr() as u64),
                LogArg::Str(Some(&name)),
                LogArg::Str(Some(error_text(e))),
            ],
        );
    };
    let module = match Module::new(info.ImageBase.addr(), info.ImageSize, &name) {
        Ok(module) => module,
        Err(e) => {
            not_recorded(e);
            return;
        }
    };
    log_module(&module);
    match insert(module) {
        // What it replaced (images unloaded since) is freed here, after the lock.
        Ok(reservation) => drop(reservation),
        Err(e) => not_recorded(e),
    }
}

/// Adds `module` to the list: measured and reserved outside the lock, committed under it.
fn insert(mut module: Module) -> Result<Reservation, ModuleError> {
    for _ in 0..INSERT_ATTEMPTS {
        let room = MODULES.with(|list| list.room(&module))?;
        let mut reservation = Reservation::new(room)?;
        match MODULES.with(|list| list.commit(module, &mut reservation)) {
            Commit::Done => return Ok(reservation),
            // The list changed meanwhile; the reservation and the module come back outside.
            Commit::Retry(back) => module = back,
            Commit::Refused(e, back) => {
                drop(back);
                return Err(e);
            }
        }
    }
    Err(ModuleError::Contended)
}

/// The last component of `full_name`, narrowed to bytes, at most [`MAX_NAME`] characters.
///
/// # Safety
/// `full_name` is NULL or a readable `UNICODE_STRING` whose buffer holds `Length` bytes.
unsafe fn base_name(full_name: *const UNICODE_STRING) -> Option<Vec<u8>> {
    // SAFETY: the caller's contract.
    let string = unsafe { full_name.as_ref() }?;
    let units = usize::from(string.Length) / 2;
    if units == 0 || string.Buffer.is_null() {
        return None;
    }
    let unit = |index: usize| {
        // SAFETY: `index < Length / 2`, inside the buffer by the caller's contract; read
        // unaligned, as nothing promises the buffer's alignment.
        unsafe { string.Buffer.wrapping_add(index).read_unaligned() }
    };
    let start = (0..units)
        .rev()
        .find(|&index| unit(index) == u16::from(b'\\'))
        .map_or(0, |at| at.saturating_add(1));
    let end = units.min(start.saturating_add(MAX_NAME));
    let mut name = Vec::new();
    name.try_reserve_exact(end.saturating_sub(start)).ok()?;
    name.extend((start..end).map(|index| {
        u8::try_from(unit(index))
            .ok()
            .filter(u8::is_ascii)
            .unwrap_or(b'?')
    }));
    Some(name)
}

/// Upstream's line for each module it adds: `start - end [name]`.
fn log_module(module: &Module) {
    debug_message(
        DebugLevel::Info,
        "ModuleAdd",
        b"%p - %p [%s]\n",
        &[
            LogArg::Int(module.start as u64),
            LogArg::Int(module.end as u64),
            LogArg::Str(Some(module.name())),
        ],
    );
}

const fn error_text(error: ModuleError) -> &'static [u8] {
    match error {
        ModuleError::Empty => b"empty",
        ModuleError::Wraps => b"wraps",
        ModuleError::Overlaps => b"overlaps another",
        ModuleError::Full => b"list full",
        ModuleError::NoMemory => b"no memory",
        ModuleError::Contended => b"list kept changing",
    }
}
