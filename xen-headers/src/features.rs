// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/features.h`: the feature flags (`XENFEAT_*`) `XENVER_get_features` reports.
//!
//! Each flag is a bit number in the feature bitmap: flag `f` is bit `f % 32` of submap
//! `f / 32` (see [`crate::version::XenFeatureInfo`]).
//!
//! Left out: `XENFEAT_grant_map_identity` (12), deprecated and commented out in the header.

/// `XENFEAT_writable_page_tables`: a PV guest may write its page tables directly.
pub const XENFEAT_WRITABLE_PAGE_TABLES: u32 = 0;
/// `XENFEAT_writable_descriptor_tables`: a PV guest may write its descriptor tables directly.
pub const XENFEAT_WRITABLE_DESCRIPTOR_TABLES: u32 = 1;
/// `XENFEAT_auto_translated_physmap`: Xen translates guest physical to machine addresses (true
/// for every HVM guest).
pub const XENFEAT_AUTO_TRANSLATED_PHYSMAP: u32 = 2;
/// `XENFEAT_supervisor_mode_kernel`: the guest kernel runs in ring 0.
pub const XENFEAT_SUPERVISOR_MODE_KERNEL: u32 = 3;
/// `XENFEAT_pae_pgdir_above_4gb`: a PAE page directory may live above 4 GiB.
pub const XENFEAT_PAE_PGDIR_ABOVE_4GB: u32 = 4;
/// `XENFEAT_mmu_pt_update_preserve_ad`: `MMU_PT_UPDATE_PRESERVE_AD` is supported.
pub const XENFEAT_MMU_PT_UPDATE_PRESERVE_AD: u32 = 5;
/// `XENFEAT_highmem_assist`: `MMUEXT_{CLEAR,COPY}_PAGE` are supported.
pub const XENFEAT_HIGHMEM_ASSIST: u32 = 6;
/// `XENFEAT_gnttab_map_avail_bits`: `GNTMAP_host_map` mappings may carry software PTE bits.
pub const XENFEAT_GNTTAB_MAP_AVAIL_BITS: u32 = 7;
/// `XENFEAT_hvm_callback_vector`: `HVM_PARAM_CALLBACK_IRQ` accepts a vector
/// (`HVM_PARAM_CALLBACK_TYPE_VECTOR`).
pub const XENFEAT_HVM_CALLBACK_VECTOR: u32 = 8;
/// `XENFEAT_hvm_safe_pvclock`: an HVM guest may use the PV clock.
pub const XENFEAT_HVM_SAFE_PVCLOCK: u32 = 9;
/// `XENFEAT_hvm_pirqs`: an HVM guest may route physical interrupts over event channels.
pub const XENFEAT_HVM_PIRQS: u32 = 10;
/// `XENFEAT_dom0`: the guest is (or may be) the hardware domain.
pub const XENFEAT_DOM0: u32 = 11;
/// `XENFEAT_memory_op_vnode_supported`: `XENMEMF_vnode` is supported.
pub const XENFEAT_MEMORY_OP_VNODE_SUPPORTED: u32 = 13;
/// `XENFEAT_ARM_SMCCC_supported`: the SMCCC conduit is available (Arm).
pub const XENFEAT_ARM_SMCCC_SUPPORTED: u32 = 14;
/// `XENFEAT_linux_rsdp_unrestricted`: the RSDP may be placed anywhere (Linux boot protocol).
pub const XENFEAT_LINUX_RSDP_UNRESTRICTED: u32 = 15;
/// `XENFEAT_not_direct_mapped`: guest memory is not mapped 1:1 to machine memory (Arm).
pub const XENFEAT_NOT_DIRECT_MAPPED: u32 = 16;
/// `XENFEAT_direct_mapped`: guest memory is mapped 1:1 to machine memory (Arm).
pub const XENFEAT_DIRECT_MAPPED: u32 = 17;

/// `XENFEAT_NR_SUBMAPS`: how many 32-bit submaps the feature bitmap has.
pub const XENFEAT_NR_SUBMAPS: u32 = 1;
