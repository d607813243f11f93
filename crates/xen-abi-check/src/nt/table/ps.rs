// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types::ps`: process and image notifications, and the loaded-module list.

use super::{NtTable, bits, fn_pointers, layout};

/// Where the module list's layout comes from (no WDK or mingw-w64 header declares it).
const MODULES_SOURCE: &str = "ntoskrnl.exe's ZwQuerySystemInformation(SystemModuleInformation), \
     the query the WDK's static aux_klib library makes for AuxKlibQueryModuleInformation (which \
     copies ImageBase, ImageSize and FullPathName out of each entry); no WDK header declares \
     it (mingw-w64's winternl.h lists other classes only); offsets asserted in \
     crates/ntddk/src/types/ps.rs";

pub fn items(t: &mut NtTable) {
    fn_pointers!(
        t,
        [
            PCREATE_PROCESS_NOTIFY_ROUTINE => CREATE_PROCESS_NOTIFY_ROUTINE,
            PLOAD_IMAGE_NOTIFY_ROUTINE => LOAD_IMAGE_NOTIFY_ROUTINE,
        ]
    );
    layout!(
        t,
        IMAGE_INFO {
            Properties,
            ImageBase,
            ImageSelector,
            ImageSize,
            ImageSectionNumber,
        }
    );
    bits!(
        t,
        IMAGE_INFO,
        Properties,
        [SystemModeImage, ImageMappedToAllPids, ExtendedInfoPresent]
    );
    t.documented(
        "PS_GET_PROCESS_IMAGE_FILE_NAME",
        "PUCHAR (NTAPI *)(PEPROCESS Process)",
        "ntoskrnl.exe's export PsGetProcessImageFileName (no WDK header declares it; upstream's \
         src/xen/process.c resolves it with MmGetSystemRoutineAddress under this signature)",
    );
    t.documented(
        "SYSTEM_INFORMATION_CLASS",
        "enum (4 bytes); ZwQuerySystemInformation's first parameter",
        "Microsoft's documentation of ZwQuerySystemInformation (winternl.h, a user-mode header)",
    );
    t.documented(
        "SystemModuleInformation",
        format!("{}", ntddk::SystemModuleInformation),
        MODULES_SOURCE,
    );
    t.documented(
        "RTL_MODULE_PATH_LENGTH",
        format!("{}", ntddk::RTL_MODULE_PATH_LENGTH),
        "the WDK's aux_klib.h (AUX_KLIB_MODULE_PATH_LEN, the size of FullPathName)",
    );
    t.documented(
        "RTL_PROCESS_MODULE_INFORMATION",
        format!(
            "{{ HANDLE Section; PVOID MappedBase; PVOID ImageBase; ULONG ImageSize; ULONG Flags; \
             USHORT LoadOrderIndex; USHORT InitOrderIndex; USHORT LoadCount; \
             USHORT OffsetToFileName; UCHAR FullPathName[256]; }}, {} bytes",
            size_of::<ntddk::RTL_PROCESS_MODULE_INFORMATION>()
        ),
        MODULES_SOURCE,
    );
    t.documented(
        "RTL_PROCESS_MODULES",
        format!(
            "{{ ULONG NumberOfModules; RTL_PROCESS_MODULE_INFORMATION Modules[1]; }}, Modules at \
             offset {}",
            core::mem::offset_of!(ntddk::RTL_PROCESS_MODULES, Modules)
        ),
        MODULES_SOURCE,
    );
}
