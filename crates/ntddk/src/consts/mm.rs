// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Memory manager and pool constants.

use crate::types::{
    CSHORT, LOCK_OPERATION, MEMORY_CACHING_TYPE, MM_PAGE_PRIORITY, POOL_FLAGS, POOL_TYPE, ULONG,
};

/// `PAGE_SIZE` on x64.
pub const PAGE_SIZE: usize = 4096;
/// `PAGE_SHIFT` on x64.
pub const PAGE_SHIFT: ULONG = 12;

// POOL_TYPE.
/// `NonPagedPool`.
pub const NonPagedPool: POOL_TYPE = 0;
/// `NonPagedPoolExecute`.
pub const NonPagedPoolExecute: POOL_TYPE = 0;
/// `PagedPool`.
pub const PagedPool: POOL_TYPE = 1;
/// `NonPagedPoolMustSucceed`.
pub const NonPagedPoolMustSucceed: POOL_TYPE = 2;
/// `NonPagedPoolCacheAligned`.
pub const NonPagedPoolCacheAligned: POOL_TYPE = 4;
/// `PagedPoolCacheAligned`.
pub const PagedPoolCacheAligned: POOL_TYPE = 5;
/// `NonPagedPoolCacheAlignedMustS`.
pub const NonPagedPoolCacheAlignedMustS: POOL_TYPE = 6;
/// `NonPagedPoolNx`.
pub const NonPagedPoolNx: POOL_TYPE = 512;
/// `NonPagedPoolNxCacheAligned`.
pub const NonPagedPoolNxCacheAligned: POOL_TYPE = 516;
/// `NonPagedPoolSessionNx`.
pub const NonPagedPoolSessionNx: POOL_TYPE = 544;

// POOL_FLAGS for ExAllocatePool2 (Windows 10 2004 and later). Written from Microsoft's
// documentation of ExAllocatePool2: mingw-w64's headers predate them, so they are listed as
// documented-only by scripts/check-nt-abi, not checked.
/// `POOL_FLAG_UNINITIALIZED`: from Microsoft's documentation of `ExAllocatePool2`.
pub const POOL_FLAG_UNINITIALIZED: POOL_FLAGS = 0x0000_0000_0000_0002;
/// `POOL_FLAG_NON_PAGED`: from Microsoft's documentation of `ExAllocatePool2` (mingw-w64's
/// headers predate it).
pub const POOL_FLAG_NON_PAGED: POOL_FLAGS = 0x0000_0000_0000_0040;
/// `POOL_FLAG_NON_PAGED_EXECUTE`: from Microsoft's documentation of `ExAllocatePool2`.
pub const POOL_FLAG_NON_PAGED_EXECUTE: POOL_FLAGS = 0x0000_0000_0000_0080;
/// `POOL_FLAG_PAGED`: from Microsoft's documentation of `ExAllocatePool2`.
pub const POOL_FLAG_PAGED: POOL_FLAGS = 0x0000_0000_0000_0100;

// MEMORY_CACHING_TYPE.
/// `MmNotMapped`.
pub const MmNotMapped: MEMORY_CACHING_TYPE = -1;
/// `MmNonCached`.
pub const MmNonCached: MEMORY_CACHING_TYPE = 0;
/// `MmCached`.
pub const MmCached: MEMORY_CACHING_TYPE = 1;
/// `MmWriteCombined`.
pub const MmWriteCombined: MEMORY_CACHING_TYPE = 2;
/// `MmHardwareCoherentCached`.
pub const MmHardwareCoherentCached: MEMORY_CACHING_TYPE = 3;
/// `MmNonCachedUnordered`.
pub const MmNonCachedUnordered: MEMORY_CACHING_TYPE = 4;
/// `MmUSWCCached`.
pub const MmUSWCCached: MEMORY_CACHING_TYPE = 5;
/// `MmMaximumCacheType`.
pub const MmMaximumCacheType: MEMORY_CACHING_TYPE = 6;

// MM_PAGE_PRIORITY.
/// `LowPagePriority`.
pub const LowPagePriority: MM_PAGE_PRIORITY = 0;
/// `NormalPagePriority`.
pub const NormalPagePriority: MM_PAGE_PRIORITY = 16;
/// `HighPagePriority`.
pub const HighPagePriority: MM_PAGE_PRIORITY = 32;
/// `MdlMappingNoWrite` (Windows 8 and later, or-ed into `MmGetSystemAddressForMdlSafe`'s
/// priority): from Microsoft's documentation; mingw-w64's headers predate it.
pub const MdlMappingNoWrite: MM_PAGE_PRIORITY = 0x8000_0000_u32.cast_signed();
/// `MdlMappingNoExecute` (Windows 8 and later): from Microsoft's documentation; mingw-w64's
/// headers predate it.
pub const MdlMappingNoExecute: MM_PAGE_PRIORITY = 0x4000_0000;

// LOCK_OPERATION.
/// `IoReadAccess`.
pub const IoReadAccess: LOCK_OPERATION = 0;
/// `IoWriteAccess`.
pub const IoWriteAccess: LOCK_OPERATION = 1;
/// `IoModifyAccess`.
pub const IoModifyAccess: LOCK_OPERATION = 2;

// MmAllocatePagesForMdlEx flags.
/// `MM_DONT_ZERO_ALLOCATION`.
pub const MM_DONT_ZERO_ALLOCATION: ULONG = 0x1;
/// `MM_ALLOCATE_FULLY_REQUIRED`: all the pages asked for, or none.
pub const MM_ALLOCATE_FULLY_REQUIRED: ULONG = 0x4;
/// `MM_ALLOCATE_PREFER_CONTIGUOUS`.
pub const MM_ALLOCATE_PREFER_CONTIGUOUS: ULONG = 0x10;
/// `MM_ALLOCATE_AND_HOT_REMOVE` (Windows 8 and later; not in mingw-w64's headers): the pages
/// leave the memory manager until `MmAddPhysicalMemory` gives them back.
pub const MM_ALLOCATE_AND_HOT_REMOVE: ULONG = 0x100;

// MDL.MdlFlags (CSHORT: MDL_INTERNAL is the sign bit).
/// `MDL_MAPPED_TO_SYSTEM_VA`.
pub const MDL_MAPPED_TO_SYSTEM_VA: CSHORT = 1;
/// `MDL_PAGES_LOCKED`.
pub const MDL_PAGES_LOCKED: CSHORT = 2;
/// `MDL_SOURCE_IS_NONPAGED_POOL`.
pub const MDL_SOURCE_IS_NONPAGED_POOL: CSHORT = 4;
/// `MDL_ALLOCATED_FIXED_SIZE`.
pub const MDL_ALLOCATED_FIXED_SIZE: CSHORT = 8;
/// `MDL_PARTIAL`.
pub const MDL_PARTIAL: CSHORT = 0x10;
/// `MDL_PARTIAL_HAS_BEEN_MAPPED`.
pub const MDL_PARTIAL_HAS_BEEN_MAPPED: CSHORT = 0x20;
/// `MDL_IO_PAGE_READ`.
pub const MDL_IO_PAGE_READ: CSHORT = 0x40;
/// `MDL_WRITE_OPERATION`.
pub const MDL_WRITE_OPERATION: CSHORT = 0x80;
/// `MDL_PARENT_MAPPED_SYSTEM_VA`.
pub const MDL_PARENT_MAPPED_SYSTEM_VA: CSHORT = 0x100;
/// `MDL_FREE_EXTRA_PTES`.
pub const MDL_FREE_EXTRA_PTES: CSHORT = 0x200;
/// `MDL_DESCRIBES_AWE`.
pub const MDL_DESCRIBES_AWE: CSHORT = 0x400;
/// `MDL_IO_SPACE`.
pub const MDL_IO_SPACE: CSHORT = 0x800;
/// `MDL_NETWORK_HEADER`.
pub const MDL_NETWORK_HEADER: CSHORT = 0x1000;
/// `MDL_MAPPING_CAN_FAIL`.
pub const MDL_MAPPING_CAN_FAIL: CSHORT = 0x2000;
/// `MDL_ALLOCATED_MUST_SUCCEED`.
pub const MDL_ALLOCATED_MUST_SUCCEED: CSHORT = 0x4000;
/// `MDL_INTERNAL` (0x8000, the sign bit of the `CSHORT`).
pub const MDL_INTERNAL: CSHORT = CSHORT::MIN;
