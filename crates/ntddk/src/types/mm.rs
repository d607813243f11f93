// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Memory manager structures.

use super::basic::{CSHORT, EPROCESS, LARGE_INTEGER, PHYSICAL_ADDRESS, PVOID, ULONG};

/// `MDL`: the header; the PFN array (`PFN_NUMBER[]`) follows it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MDL {
    /// `Next`.
    pub Next: *mut Self,
    /// `Size`: bytes of the header and its PFN array.
    pub Size: CSHORT,
    /// `MdlFlags` (`MDL_*`).
    pub MdlFlags: CSHORT,
    /// `Process`.
    pub Process: *mut EPROCESS,
    /// `MappedSystemVa`: valid when `MDL_MAPPED_TO_SYSTEM_VA` or `MDL_SOURCE_IS_NONPAGED_POOL`
    /// is set.
    pub MappedSystemVa: PVOID,
    /// `StartVa`: page-aligned start of the buffer.
    pub StartVa: PVOID,
    /// `ByteCount`.
    pub ByteCount: ULONG,
    /// `ByteOffset` into the first page.
    pub ByteOffset: ULONG,
}

/// `PHYSICAL_MEMORY_RANGE` (`MmGetPhysicalMemoryRanges` returns an array ended by a zeroed
/// entry).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PHYSICAL_MEMORY_RANGE {
    /// `BaseAddress`.
    pub BaseAddress: PHYSICAL_ADDRESS,
    /// `NumberOfBytes`.
    pub NumberOfBytes: LARGE_INTEGER,
}
