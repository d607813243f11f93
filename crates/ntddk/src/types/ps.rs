// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Processes and loaded images: the notify routines' signatures, `IMAGE_INFO`, and the loaded
//! kernel modules as `ZwQuerySystemInformation(SystemModuleInformation)` lists them.
//!
//! `IMAGE_INFO` and the notify routines are `ntddk.h`'s. `RTL_PROCESS_MODULES` and its
//! entries are not in any WDK header: the information class is undocumented for drivers, which
//! are pointed at `AuxKlibQueryModuleInformation` (a static WDK library that makes this very
//! query and copies each entry into an `AUX_MODULE_EXTENDED_INFO`). The layout here is the one
//! that library reads, the same on every 64-bit Windows; offsets asserted below.

use super::basic::{
    BOOLEAN, EPROCESS, HANDLE, PVOID, SIZE_T, UCHAR, ULONG, UNICODE_STRING, USHORT,
};

/// `PCREATE_PROCESS_NOTIFY_ROUTINE`'s function (`PsSetCreateProcessNotifyRoutine`).
///
/// Called at `PASSIVE_LEVEL` when a process is created (`Create` TRUE, in the creator's
/// context) or exits (`Create` FALSE, in the context of the exiting process's last thread).
pub type CREATE_PROCESS_NOTIFY_ROUTINE =
    unsafe extern "system" fn(ParentId: HANDLE, ProcessId: HANDLE, Create: BOOLEAN);

/// `PLOAD_IMAGE_NOTIFY_ROUTINE`'s function (`PsSetLoadImageNotifyRoutine`).
///
/// Called at `PASSIVE_LEVEL` when an image is mapped (a driver: `ProcessId` 0,
/// `SystemModeImage` set). `FullImageName` may be NULL when the kernel cannot name the image.
pub type LOAD_IMAGE_NOTIFY_ROUTINE = unsafe extern "system" fn(
    FullImageName: *mut UNICODE_STRING,
    ProcessId: HANDLE,
    ImageInfo: *mut IMAGE_INFO,
);

/// `PsGetProcessImageFileName`: a process's image file name.
///
/// Exported by `ntoskrnl.exe` and declared by no WDK header, so resolved with
/// `MmGetSystemRoutineAddress`. Returns the first 15 characters of the name, NUL-terminated,
/// inside the process object (non-paged). Any IRQL.
pub type PS_GET_PROCESS_IMAGE_FILE_NAME =
    unsafe extern "system" fn(Process: *mut EPROCESS) -> *mut UCHAR;

/// `IMAGE_INFO`: what a load-image notify routine is told about the image.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IMAGE_INFO {
    /// `Properties` (in C a union with the bit fields `ImageAddressingMode:8`,
    /// `SystemModeImage:1`, `ImageMappedToAllPids:1`, `ExtendedInfoPresent:1`,
    /// `MachineTypeMismatch:1`, `ImageSignatureLevel:4`, `ImageSignatureType:3`,
    /// `ImagePartialMap:1`, `Reserved:12`; masks below).
    pub Properties: ULONG,
    /// `ImageBase`.
    pub ImageBase: PVOID,
    /// `ImageSelector`.
    pub ImageSelector: ULONG,
    /// `ImageSize`.
    pub ImageSize: SIZE_T,
    /// `ImageSectionNumber`.
    pub ImageSectionNumber: ULONG,
}

impl IMAGE_INFO {
    /// `SystemModeImage`: a kernel-mode image (a driver), not one mapped into a process.
    pub const SystemModeImage: ULONG = 1 << 8;
    /// `ImageMappedToAllPids`.
    pub const ImageMappedToAllPids: ULONG = 1 << 9;
    /// `ExtendedInfoPresent`: the structure is the `ImageInfo` of an `IMAGE_INFO_EX`.
    pub const ExtendedInfoPresent: ULONG = 1 << 10;
}

/// `SYSTEM_INFORMATION_CLASS` (an `enum` in C).
pub type SYSTEM_INFORMATION_CLASS = i32;

/// `SystemModuleInformation`: the loaded kernel modules, as [`RTL_PROCESS_MODULES`].
pub const SystemModuleInformation: SYSTEM_INFORMATION_CLASS = 11;

/// Bytes of [`RTL_PROCESS_MODULE_INFORMATION::FullPathName`] (`AUX_KLIB_MODULE_PATH_LEN`).
pub const RTL_MODULE_PATH_LENGTH: usize = 256;

/// `RTL_PROCESS_MODULE_INFORMATION`: one loaded kernel module.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RTL_PROCESS_MODULE_INFORMATION {
    /// `Section` (unused for kernel modules).
    pub Section: HANDLE,
    /// `MappedBase`.
    pub MappedBase: PVOID,
    /// `ImageBase`: where the module is loaded.
    pub ImageBase: PVOID,
    /// `ImageSize`: bytes from `ImageBase`.
    pub ImageSize: ULONG,
    /// `Flags` (the loader entry's).
    pub Flags: ULONG,
    /// `LoadOrderIndex`.
    pub LoadOrderIndex: USHORT,
    /// `InitOrderIndex`.
    pub InitOrderIndex: USHORT,
    /// `LoadCount`.
    pub LoadCount: USHORT,
    /// `OffsetToFileName`: where the base name starts in `FullPathName`.
    pub OffsetToFileName: USHORT,
    /// `FullPathName`: the path in the system's ANSI code page, NUL-terminated when shorter.
    pub FullPathName: [UCHAR; RTL_MODULE_PATH_LENGTH],
}

/// `RTL_PROCESS_MODULES`: a count, then that many entries (the C array is declared `[1]`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RTL_PROCESS_MODULES {
    /// `NumberOfModules`.
    pub NumberOfModules: ULONG,
    /// `Modules`: the first entry; the others follow it.
    pub Modules: [RTL_PROCESS_MODULE_INFORMATION; 1],
}

// The layout `AuxKlibQueryModuleInformation` reads on x64 (no header to check it against).
#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<IMAGE_INFO>() == 40);
    assert!(offset_of!(RTL_PROCESS_MODULE_INFORMATION, ImageBase) == 16);
    assert!(offset_of!(RTL_PROCESS_MODULE_INFORMATION, ImageSize) == 24);
    assert!(offset_of!(RTL_PROCESS_MODULE_INFORMATION, OffsetToFileName) == 38);
    assert!(offset_of!(RTL_PROCESS_MODULE_INFORMATION, FullPathName) == 40);
    assert!(size_of::<RTL_PROCESS_MODULE_INFORMATION>() == 296);
    assert!(offset_of!(RTL_PROCESS_MODULES, Modules) == 8);
};
