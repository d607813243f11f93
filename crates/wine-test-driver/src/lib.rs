// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `wine-test.sys`: a test-only kernel driver image for `scripts/wine-test`, never shipped.
//!
//! Wine 8 loads export drivers for their importers but never calls their `DllInitialize`, so
//! this image imports xen.sys's `DllInitialize` and `DllUnload` and calls them from its
//! `DriverEntry` as the Windows kernel would, printing what they return (`wine-test|...`
//! lines through `DbgPrintEx`).
//!
//! It works around exactly two Wine gaps, and says so in its output:
//!
//! 1. `DbgSetDebugFilterState` is an aborting stub in Wine and `DbgSetDebugPrintCallback` is
//!    missing: their slots in xen.sys's import table are rebound to counting routines
//!    (module `pe`), so a call is counted instead of aborting the host process;
//! 2. port I/O faults in Wine's user-mode driver host: a vectored exception handler emulates
//!    `in`/`out` for a machine without the Xen platform device or debug ports (reads return
//!    all ones, writes are recorded) (module `ports`).
//!
//! The image imports only from ntoskrnl.exe and xen.sys: Wine's loader treats a native image
//! that imports ntdll.dll or kernel32.dll as an ordinary DLL and calls its entry point as
//! `DllMain` first. ntdll's vectored-handler routines are read from the import table of Wine's
//! ntoskrnl.exe instead.
//!
//! Every other privileged instruction (the `mov cr8` of IRQL changes, which Wine's ntoskrnl
//! emulates) is passed on untouched and counted; any other fault, and any call to a Wine stub,
//! is printed before Wine handles it, so a run that stops says where.
//!
//! On the host this is an empty `no_std` library: the image exists only for Windows targets.

#![no_std]

// A host cdylib links std's panic handler; the image itself uses `core` only.
#[cfg(not(windows))]
extern crate std;

#[cfg(windows)]
mod driver;
#[cfg(windows)]
mod pe;
#[cfg(windows)]
mod ports;
