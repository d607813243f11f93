// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/version.h`: the `HYPERVISOR_xen_version` sub-operations (`XENVER_*`) and the buffers
//! and structures they fill.
//!
//! Every operation is `HYPERVISOR_xen_version(cmd, arg)`. The strings Xen writes are C strings
//! in fixed-size `char` arrays, spelled here as byte arrays (NUL-terminated when shorter than
//! the array).

use crate::xen::XenUlong;

// Operations.

/// `XENVER_version`: the result is `(major << 16) | minor` (argument null).
pub const XENVER_VERSION: u32 = 0;
/// `XENVER_extraversion`: the version's suffix, such as `".7"` ([`XenExtraversion`]).
pub const XENVER_EXTRAVERSION: u32 = 1;
/// `XENVER_compile_info`: who built Xen, where, when and with what ([`XenCompileInfo`]).
pub const XENVER_COMPILE_INFO: u32 = 2;
/// `XENVER_capabilities`: the guest ABIs Xen can run, such as `"hvm-3.0-x86_64"`
/// ([`XenCapabilitiesInfo`]).
pub const XENVER_CAPABILITIES: u32 = 3;
/// `XENVER_changeset`: the source changeset Xen was built from ([`XenChangesetInfo`]).
pub const XENVER_CHANGESET: u32 = 4;
/// `XENVER_platform_parameters`: where Xen's own mappings start ([`XenPlatformParameters`]).
pub const XENVER_PLATFORM_PARAMETERS: u32 = 5;
/// `XENVER_get_features`: one 32-bit word of the `XENFEAT_*` bitmap ([`XenFeatureInfo`]).
pub const XENVER_GET_FEATURES: u32 = 6;
/// `XENVER_pagesize`: the result is the page size in bytes (argument null).
pub const XENVER_PAGESIZE: u32 = 7;
/// `XENVER_guest_handle`: the domain's 16-byte handle (UUID; `xen_domain_handle_t`).
pub const XENVER_GUEST_HANDLE: u32 = 8;
/// `XENVER_commandline`: Xen's command line (privileged; [`XenCommandline`]).
pub const XENVER_COMMANDLINE: u32 = 9;
/// `XENVER_build_id`: Xen's build id (privileged; [`XenBuildId`]).
pub const XENVER_BUILD_ID: u32 = 10;

/// `xen_extraversion_t`: the buffer [`XENVER_EXTRAVERSION`] fills.
pub type XenExtraversion = [u8; XEN_EXTRAVERSION_LEN];
/// `XEN_EXTRAVERSION_LEN`: the size of [`XenExtraversion`].
pub const XEN_EXTRAVERSION_LEN: usize = 16;

/// `struct xen_compile_info`: the buffer [`XENVER_COMPILE_INFO`] fills.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenCompileInfo {
    /// The compiler's version string.
    pub compiler: [u8; 64],
    /// The user who built Xen.
    pub compile_by: [u8; 16],
    /// The domain name of the build host.
    pub compile_domain: [u8; 32],
    /// The build date.
    pub compile_date: [u8; 32],
}

impl Default for XenCompileInfo {
    /// All strings empty (every byte zero).
    fn default() -> Self {
        Self {
            compiler: [0; 64],
            compile_by: [0; 16],
            compile_domain: [0; 32],
            compile_date: [0; 32],
        }
    }
}

/// `xen_capabilities_info_t`: the buffer [`XENVER_CAPABILITIES`] fills (space-separated ABI
/// names).
pub type XenCapabilitiesInfo = [u8; XEN_CAPABILITIES_INFO_LEN];
/// `XEN_CAPABILITIES_INFO_LEN`: the size of [`XenCapabilitiesInfo`].
pub const XEN_CAPABILITIES_INFO_LEN: usize = 1024;

/// `xen_changeset_info_t`: the buffer [`XENVER_CHANGESET`] fills.
pub type XenChangesetInfo = [u8; XEN_CHANGESET_INFO_LEN];
/// `XEN_CHANGESET_INFO_LEN`: the size of [`XenChangesetInfo`].
pub const XEN_CHANGESET_INFO_LEN: usize = 64;

/// `struct xen_platform_parameters`: the structure [`XENVER_PLATFORM_PARAMETERS`] fills.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenPlatformParameters {
    /// The lowest virtual address Xen reserves in a PV guest's address space.
    pub virt_start: XenUlong,
}

/// `struct xen_feature_info`: the argument of [`XENVER_GET_FEATURES`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenFeatureInfo {
    /// IN: which 32-bit word of the feature bitmap to return (below
    /// [`crate::features::XENFEAT_NR_SUBMAPS`]).
    pub submap_idx: u32,
    /// OUT: that word; bit `n` is feature `submap_idx * 32 + n` (`XENFEAT_*`).
    pub submap: u32,
}

/// `xen_commandline_t`: the buffer [`XENVER_COMMANDLINE`] fills.
pub type XenCommandline = [u8; 1024];

/// `struct xen_build_id`: the argument of [`XENVER_BUILD_ID`], a header followed by
/// `len` bytes of buffer.
#[repr(C)]
#[derive(Debug, Default, PartialEq, Eq)]
pub struct XenBuildId {
    /// IN: the size of the buffer following this header.
    pub len: u32,
    /// OUT: the build id (a flexible array member: the bytes follow the structure).
    pub buf: [u8; 0],
}

const _: () = assert!(size_of::<XenCompileInfo>() == 144);
const _: () = assert!(size_of::<XenPlatformParameters>() == 8);
const _: () = assert!(size_of::<XenFeatureInfo>() == 8);
const _: () = assert!(size_of::<XenBuildId>() == 4);
