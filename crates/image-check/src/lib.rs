// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The audit behind `scripts/check-images`: checks the three Windows kernel images the main job
//! builds (`xen.sys`, `xenbus.sys`, `xenfilt.sys`) with our own PE parser (`pe-image`) and
//! reports every problem as one line naming the image and the culprit.
//!
//! Per image: PE32+, AMD64, NATIVE subsystem, an entry point in code, a valid non-zero
//! checksum, base relocations (`.reloc`, `DIR64` only), unwind data (`.pdata`), `NX_COMPAT`,
//! `DYNAMIC_BASE` and `FORCE_INTEGRITY`, no writable and executable section. Imports: only from
//! `ntoskrnl.exe`, `HAL.dll` and `xen.sys` (xen.sys not from itself), by name, kernel routines
//! present in the real kernel's export list ([`mod@reference`]: mingw-w64's import libraries plus
//! a cited supplement), xen.sys routines exported by xen.sys. Exports: xen.sys's table names
//! `xen.sys` and holds exactly `DllInitialize`, `DllUnload` and the `XEN_API` functions of
//! `crates/xen/include/xen.h`; the other two export nothing. Version resource
//! ([`mod@version`]): `VS_VERSION_INFO` with the package version (`xen_services::PACKAGE_VERSION`)
//! and upstream's strings.
//!
//! The package step (`package-images`, [`package`]) turns the linker's `.dll` files into the
//! shipped `.sys` files: xen.sys's export table renamed to `xen.sys`, checksums recomputed.
//!
//! [`check_images`] returns the problems as data (the tests build bad images with
//! `pe_image::builder` and compare the exact list); the binary only prints them.

pub mod archive;
mod check;
pub mod package;
pub mod reference;
pub mod version;

pub use check::{
    Expectations, IMAGES, PRIVATE_EXPORTS, Problem, Summary, XEN, check_images, summarize,
};

#[cfg(test)]
mod tests;
