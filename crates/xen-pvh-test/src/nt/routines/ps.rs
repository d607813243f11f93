// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Processes, images and the loaded-module list: `PsSetCreateProcessNotifyRoutine`,
//! `PsSetLoadImageNotifyRoutine`, `PsRemoveLoadImageNotifyRoutine`,
//! `PsGetProcessImageFileName` and `ZwQuerySystemInformation(SystemModuleInformation)`.
//!
//! * **Image notifications.** Every image the loader maps after a routine was registered is
//!   reported to it ([`image_loaded`], called by `loader::load` once the image is mapped and
//!   before anything of it runs, as Windows reports a driver before its `DriverEntry`): at
//!   `PASSIVE_LEVEL`, `FullImageName` `\SystemRoot\System32\drivers\<name>`, `ProcessId` 0 and
//!   an `IMAGE_INFO` with `SystemModeImage` set, the image's base and `SizeOfImage`.
//! * **Process notifications.** The stand-in has no processes; [`process_exit`] plays one
//!   process's creation and exit ([`SIMULATED_PROCESS_ID`], a child of System) to every
//!   registered routine at `PASSIVE_LEVEL`, the exit in the address space the stand-in runs in
//!   (the one `CR3` names), as Windows calls it in the exiting process's context.
//! * **`PsGetProcessImageFileName`** knows one process object, System's ([`SYSTEM_PROCESS`]).
//! * **The module list** (`SystemModuleInformation`): the stand-in itself first, as
//!   `\SystemRoot\system32\ntoskrnl.exe` (its whole image, `HAL.dll`'s routines included), then
//!   every image still loaded, in load order, with its base and `SizeOfImage`. The answer
//!   follows Windows': with too small a buffer, the header and the entries that fit are
//!   written, the status is `STATUS_INFO_LENGTH_MISMATCH` and `ReturnLength` (optional) says
//!   how many bytes the whole list needs.
//!
//! Checked: `PASSIVE_LEVEL` for every routine but `PsGetProcessImageFileName`; a notify routine
//! outside a loaded image's code; a routine registered twice; the removal of one never
//! registered (Windows answers `STATUS_PROCEDURE_NOT_FOUND`; a driver's teardown that removes
//! what it never registered is a bug, so it fails the run here); at most 64 of each kind
//! (Windows' limit); a notify routine whose image was unloaded still registered when the
//! stand-in would call it; a `PsGetProcessImageFileName` of something not a process; a NULL
//! buffer with a nonzero length; and (at unload, [`routines_in`]) routines still registered
//! into the image.

use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, PASSIVE_LEVEL};
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use core::sync::atomic::{AtomicU32, Ordering};
use ntddk::{
    IMAGE_INFO, RTL_MODULE_PATH_LENGTH, RTL_PROCESS_MODULE_INFORMATION, RTL_PROCESS_MODULES,
    SystemModuleInformation, UNICODE_STRING,
};
use ntstatus::{
    NtStatus, STATUS_INFO_LENGTH_MISMATCH, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_INVALID_INFO_CLASS, STATUS_SUCCESS,
};

/// Windows' limit of each kind of notify routine.
const LIMIT: usize = 64;
/// The process id of System, the parent of the process [`process_exit`] plays.
pub const SYSTEM_PROCESS_ID: usize = 4;
/// The id of the process [`process_exit`] plays.
pub const SIMULATED_PROCESS_ID: usize = 0x9f0;
/// Where a driver's image is, as `FullImageName` and the module list name it.
const DRIVERS: &str = r"\SystemRoot\System32\drivers\";
/// The stand-in's own entry in the module list.
const NTOSKRNL: &str = r"\SystemRoot\system32\ntoskrnl.exe";

/// Registered process and image notify routines.
static PROCESS: spin::Mutex<Vec<usize>> = spin::Mutex::new(Vec::new());
static IMAGE: spin::Mutex<Vec<usize>> = spin::Mutex::new(Vec::new());
/// Calls made of process and image notify routines.
static PROCESS_CALLS: AtomicU32 = AtomicU32::new(0);
static IMAGE_CALLS: AtomicU32 = AtomicU32::new(0);

/// System's process object: opaque to drivers; its image file name is at [`NAME_AT`].
#[repr(C, align(16))]
pub struct ProcessObject([u8; 0x40]);
const NAME_AT: usize = 0x20;
/// The System process (`PsInitialSystemProcess`'s object).
pub static SYSTEM_PROCESS: ProcessObject = ProcessObject({
    let mut bytes = [0u8; 0x40];
    let name = *b"System\0";
    let mut i = 0;
    while i < name.len() {
        bytes[NAME_AT + i] = name[i];
        i += 1;
    }
    bytes
});

fn add(call: &verifier::Call, list: &spin::Mutex<Vec<usize>>, routine: usize) -> NtStatus {
    call.at_most(PASSIVE_LEVEL);
    let at = u64::try_from(routine).unwrap_or(0);
    call.require(
        loader::is_loaded_code(at),
        format_args!(
            "NotifyRoutine {} is not in a loaded image's code",
            Where(at)
        ),
    );
    let mut list = list.lock();
    if list.contains(&routine) {
        drop(list);
        call.fail(format_args!(
            "NotifyRoutine {} is already registered (registered twice)",
            Where(at)
        ));
    }
    if list.len() >= LIMIT {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    list.push(routine);
    STATUS_SUCCESS
}

fn remove(call: &verifier::Call, list: &spin::Mutex<Vec<usize>>, routine: usize) -> NtStatus {
    call.at_most(PASSIVE_LEVEL);
    let mut list = list.lock();
    let Some(index) = list.iter().position(|&r| r == routine) else {
        drop(list);
        call.fail(format_args!(
            "NotifyRoutine {} was never registered",
            Where(routine as u64)
        ));
    };
    list.remove(index);
    STATUS_SUCCESS
}

/// `NTSTATUS PsSetCreateProcessNotifyRoutine(PCREATE_PROCESS_NOTIFY_ROUTINE NotifyRoutine,
/// BOOLEAN Remove)`.
pub extern "win64" fn ps_set_create_process_notify_routine(
    routine: usize,
    remove_it: u8,
) -> NtStatus {
    let call = verifier::enter("PsSetCreateProcessNotifyRoutine");
    if remove_it != 0 {
        remove(&call, &PROCESS, routine)
    } else {
        add(&call, &PROCESS, routine)
    }
}

/// `NTSTATUS PsSetLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine)`.
pub extern "win64" fn ps_set_load_image_notify_routine(routine: usize) -> NtStatus {
    let call = verifier::enter("PsSetLoadImageNotifyRoutine");
    add(&call, &IMAGE, routine)
}

/// `NTSTATUS PsRemoveLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine)`.
pub extern "win64" fn ps_remove_load_image_notify_routine(routine: usize) -> NtStatus {
    let call = verifier::enter("PsRemoveLoadImageNotifyRoutine");
    remove(&call, &IMAGE, routine)
}

/// `PCHAR PsGetProcessImageFileName(PEPROCESS Process)`: the name in the process object. Any
/// IRQL (a field of a non-paged object).
pub extern "win64" fn ps_get_process_image_file_name(process: usize) -> *const u8 {
    let call = verifier::enter("PsGetProcessImageFileName");
    let system = (&raw const SYSTEM_PROCESS).addr();
    call.require(
        process == system,
        format_args!("Process {process:#x} is not a process object"),
    );
    (&raw const SYSTEM_PROCESS.0)
        .cast::<u8>()
        .wrapping_add(NAME_AT)
}

/// The notify routines of both kinds still registered that lie in image `index`.
pub fn routines_in(index: usize) -> Vec<usize> {
    PROCESS
        .lock()
        .iter()
        .chain(IMAGE.lock().iter())
        .copied()
        .filter(|&r| loader::containing(r as u64) == Some(index))
        .collect()
}

/// The process and image notify routines registered from image `index`.
pub fn registered_in(index: usize) -> (usize, usize) {
    let count = |list: &spin::Mutex<Vec<usize>>| {
        list.lock()
            .iter()
            .filter(|&&r| loader::containing(r as u64) == Some(index))
            .count()
    };
    (count(&PROCESS), count(&IMAGE))
}

/// Calls made so far of process and of image notify routines.
pub fn notifications() -> (u32, u32) {
    (
        PROCESS_CALLS.load(Ordering::SeqCst),
        IMAGE_CALLS.load(Ordering::SeqCst),
    )
}

/// The routines of `list`, each checked to be still in a loaded image's code (a routine of an
/// unloaded image is a driver that forgot to remove it: Windows would jump into freed memory).
fn callable(list: &spin::Mutex<Vec<usize>>, what: &str) -> Vec<usize> {
    let routines = list.lock().clone();
    for &r in &routines {
        if !loader::is_loaded_code(r as u64) {
            verifier::violation(
                what,
                r as u64,
                format_args!("a notify routine of an unloaded image is still registered"),
            );
        }
    }
    routines
}

/// Plays one process's creation and exit to every registered process notify routine, at
/// `PASSIVE_LEVEL` (the caller's). Returns how many routines were called.
pub fn process_exit() -> usize {
    type Notify = unsafe extern "win64" fn(usize, usize, u8);
    let routines = callable(&PROCESS, "process notify routine");
    for &r in &routines {
        // SAFETY: a routine `PsSetCreateProcessNotifyRoutine` recorded, in a loaded image's
        // code (checked above), of this signature in the Microsoft x64 convention.
        let f = unsafe { core::mem::transmute::<usize, Notify>(r) };
        for create in [1u8, 0] {
            PROCESS_CALLS.fetch_add(1, Ordering::SeqCst);
            // SAFETY: as above; handles by value, no pointers.
            crate::nt::call_driver("process notify routine", || unsafe {
                f(SYSTEM_PROCESS_ID, SIMULATED_PROCESS_ID, create);
            });
        }
    }
    routines.len()
}

/// Reports image `index`, just mapped, to every registered load-image notify routine.
pub fn image_loaded(index: usize) {
    type Notify = unsafe extern "win64" fn(*mut UNICODE_STRING, usize, *mut IMAGE_INFO);
    if IMAGE.lock().is_empty() {
        return;
    }
    let Some(image) = loader::image(index) else {
        return;
    };
    if verifier::irql() != PASSIVE_LEVEL {
        verifier::violation(
            "load-image notification",
            0,
            format_args!(
                "{} mapped at IRQL {}, not PASSIVE_LEVEL",
                image.name,
                verifier::irql()
            ),
        );
    }
    let mut path: Vec<u16> = DRIVERS
        .encode_utf16()
        .chain(image.name.encode_utf16())
        .collect();
    let routines = callable(&IMAGE, "load-image notify routine");
    for &r in &routines {
        let mut name = crate::nt::unicode_string(&mut path);
        let mut info = IMAGE_INFO {
            Properties: IMAGE_INFO::SystemModeImage,
            ImageBase: core::ptr::with_exposed_provenance_mut(
                usize::try_from(image.base).unwrap_or(0),
            ),
            ImageSelector: 0,
            ImageSize: usize::try_from(image.size).unwrap_or(0),
            ImageSectionNumber: 0,
        };
        // SAFETY: a routine `PsSetLoadImageNotifyRoutine` recorded, in a loaded image's code
        // (checked above), of this signature in the Microsoft x64 convention.
        let f = unsafe { core::mem::transmute::<usize, Notify>(r) };
        IMAGE_CALLS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: as above; the name and the IMAGE_INFO live on this stack for the call.
        crate::nt::call_driver("load-image notify routine", || unsafe {
            f(&raw mut name, 0, &raw mut info);
        });
    }
}

/// One module of the list: path, base, size.
pub(super) fn listing() -> Vec<(String, u64, u64)> {
    let (start, end) = crate::nt::own_image();
    let mut modules = alloc::vec![(String::from(NTOSKRNL), start, end.saturating_sub(start))];
    for image in loader::loaded_images() {
        let mut path = String::from(DRIVERS);
        path.push_str(&image.name);
        modules.push((path, image.base, image.size));
    }
    modules
}

/// The `RTL_PROCESS_MODULE_INFORMATION` of module `index` of the list.
fn entry(index: usize, path: &str, base: u64, size: u64) -> RTL_PROCESS_MODULE_INFORMATION {
    let mut full = [0u8; RTL_MODULE_PATH_LENGTH];
    let bytes = path.as_bytes();
    let len = bytes.len().min(RTL_MODULE_PATH_LENGTH - 1);
    full[..len].copy_from_slice(&bytes[..len]);
    let file = bytes[..len]
        .iter()
        .rposition(|&b| b == b'\\')
        .map_or(0, |at| at + 1);
    let order = u16::try_from(index).unwrap_or(u16::MAX);
    RTL_PROCESS_MODULE_INFORMATION {
        Section: core::ptr::null_mut(),
        MappedBase: core::ptr::null_mut(),
        ImageBase: core::ptr::with_exposed_provenance_mut(usize::try_from(base).unwrap_or(0)),
        ImageSize: u32::try_from(size).unwrap_or(u32::MAX),
        Flags: 0,
        LoadOrderIndex: order,
        InitOrderIndex: order,
        LoadCount: 1,
        OffsetToFileName: u16::try_from(file).unwrap_or(0),
        FullPathName: full,
    }
}

/// `NTSTATUS ZwQuerySystemInformation(SYSTEM_INFORMATION_CLASS SystemInformationClass, PVOID
/// SystemInformation, ULONG SystemInformationLength, PULONG ReturnLength)`: the
/// `SystemModuleInformation` class only (others: `STATUS_INVALID_INFO_CLASS`). PASSIVE_LEVEL.
///
/// # Safety
/// Called by driver code: `info` writable for `length` bytes, `returned` NULL or writable.
pub unsafe extern "win64" fn zw_query_system_information(
    class: i32,
    info: *mut u8,
    length: u32,
    returned: *mut u32,
) -> NtStatus {
    let call = verifier::enter("ZwQuerySystemInformation");
    call.at_most(PASSIVE_LEVEL);
    if class != SystemModuleInformation {
        return STATUS_INVALID_INFO_CLASS;
    }
    call.require(
        length == 0 || !info.is_null(),
        format_args!("SystemInformation is NULL with SystemInformationLength {length}"),
    );
    let length = usize::try_from(length).unwrap_or(0);
    let header = offset_of!(RTL_PROCESS_MODULES, Modules);
    let stride = size_of::<RTL_PROCESS_MODULE_INFORMATION>();
    let modules = listing();
    let mut needed = header;
    let mut written = 0u32;
    for (index, (path, base, size)) in modules.iter().enumerate() {
        needed += stride;
        if needed <= length {
            let at = header + index * stride;
            // SAFETY: `at + stride <= length`: inside the caller's buffer; written unaligned,
            // as nothing requires the caller to align it.
            unsafe {
                info.wrapping_add(at)
                    .cast::<RTL_PROCESS_MODULE_INFORMATION>()
                    .write_unaligned(entry(index, path, *base, *size));
            }
            written += 1;
        }
    }
    if length >= header {
        // SAFETY: the header's four bytes are inside the caller's buffer (checked).
        unsafe { info.cast::<u32>().write_unaligned(written) };
    }
    if !returned.is_null() {
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { returned.write_unaligned(u32::try_from(needed).unwrap_or(u32::MAX)) };
    }
    if needed <= length {
        STATUS_SUCCESS
    } else {
        STATUS_INFO_LENGTH_MISMATCH
    }
}
