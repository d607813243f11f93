// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/hvm_info_table.h`: the HVM information table the domain builder leaves in guest
//! memory for the firmware, at [`HVM_INFO_PADDR`].
//!
//! Left out: `HVM_BELOW_4G_RAM_END` and the other memory-map constants, which live in
//! `public/hvm/e820.h`, not in this header.

use crate::xen::XenPfn;

/// `HVM_INFO_PFN`: the guest frame holding the table.
pub const HVM_INFO_PFN: XenPfn = 0x09F;
/// `HVM_INFO_OFFSET`: the table's byte offset within [`HVM_INFO_PFN`].
pub const HVM_INFO_OFFSET: u64 = 0x800;
/// `HVM_INFO_PADDR`: the table's guest physical address.
pub const HVM_INFO_PADDR: u64 = (HVM_INFO_PFN << 12) + HVM_INFO_OFFSET;
/// `HVM_MAX_VCPUS`: the most vCPUs an HVM guest can have.
pub const HVM_MAX_VCPUS: usize = 128;

/// `struct hvm_info_table`: what the domain builder tells the firmware.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HvmInfoTable {
    /// `"HVM INFO"` (not NUL-terminated).
    pub signature: [u8; 8],
    /// The table's length in bytes.
    pub length: u32,
    /// Makes the bytes of the table sum to zero.
    pub checksum: u8,
    /// Whether the firmware should build APIC descriptors (MADT, MP tables).
    pub apic_mode: u8,
    /// How many vCPUs the domain has.
    pub nr_vcpus: u32,
    /// RAM below 4 GiB ends at this frame (exclusive; the VGA hole excepted).
    pub low_mem_pgend: u32,
    /// Frames from this one up to 4 GiB are reserved for special mappings.
    pub reserved_mem_pgstart: u32,
    /// RAM above 4 GiB ends at this frame (exclusive; 0 if there is none).
    pub high_mem_pgend: u32,
    /// Bitmap of the vCPUs online at boot.
    pub vcpu_online: [u8; HVM_MAX_VCPUS.div_ceil(8)],
}

const _: () = assert!(size_of::<HvmInfoTable>() == 48);
