// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The seam between xenbus.sys and xen.sys.
//!
//! xenbus.sys reaches Xen only through the functions xen.sys exports (the spec's §5.18 list).
//! The portable subsystems in `crates/xenbus` are written against [`XenServices`], one trait
//! holding exactly those services with Rust types, so the same subsystem code runs:
//!
//! - on Windows, over the real imports from `xen.sys` (a mechanical implementation in the
//!   Windows glue: each method is one call of the matching C export);
//! - in the PVH test kernel and in host tests, over `xen::services::Direct`, which calls the
//!   `xen` crate's typed hypercall wrappers on the real hypervisor or on the host simulator
//!   (`crates/xen-sim`).
//!
//! Every failure is the NTSTATUS the xen.sys export would return, so subsystems see identical
//! statuses on every route. This crate has no dependencies besides `ntstatus` and holds no logic.

#![no_std]

use ntstatus::NtStatus;

/// What every service returns: the value, or the xen.sys export's failure status.
pub type Result<T> = core::result::Result<T, NtStatus>;

/// A Xen domain id.
pub type DomId = u16;

#[cfg(windows)]
pub mod imports;

/// The driver package's version.
///
/// The three images carry the same one: xenbus.sys and xenfilt.sys pass it to xen.sys's
/// `XenTouch`, which refuses any other, and xen.sys announces it in the unplug handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Micro version.
    pub micro: u32,
    /// Build number.
    pub build: u32,
}

/// Parses a decimal version component at compile time (0 if it is not a number).
const fn parse_u32(text: &str) -> u32 {
    let mut rest = text.as_bytes();
    let mut value: u32 = 0;
    while let [b, tail @ ..] = rest {
        if !b.is_ascii_digit() {
            return 0;
        }
        value = value
            .saturating_mul(10)
            .saturating_add(b.wrapping_sub(b'0') as u32);
        rest = tail;
    }
    value
}

/// This package's version: major, minor and micro from the workspace version; the build number
/// from the `XENBUS_BUILD_NUMBER` environment variable at build time (0 when unset).
pub const PACKAGE_VERSION: PackageVersion = PackageVersion {
    major: parse_u32(env!("CARGO_PKG_VERSION_MAJOR")),
    minor: parse_u32(env!("CARGO_PKG_VERSION_MINOR")),
    micro: parse_u32(env!("CARGO_PKG_VERSION_PATCH")),
    build: match option_env!("XENBUS_BUILD_NUMBER") {
        Some(b) => parse_u32(b),
        None => 0,
    },
};

/// The xen.sys services xenbus.sys uses. Implementations must be callable at any IRQL up to
/// `DISPATCH_LEVEL` from any processor, like the exports they stand for.
pub trait XenServices: Send + Sync {
    // -- event channels ----------------------------------------------------------------------

    /// `EventChannelSend`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn evtchn_send(&self, port: u32) -> Result<()>;

    /// `EventChannelAllocateUnbound`: a port `domain` may bind to.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn evtchn_allocate_unbound(&self, domain: DomId) -> Result<u32>;

    /// `EventChannelBindInterDomain`: binds `remote_port` of `domain`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn evtchn_bind_inter_domain(&self, domain: DomId, remote_port: u32) -> Result<u32>;

    /// `EventChannelBindVirq` on vCPU `vcpu`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> Result<u32>;

    /// `EventChannelBindVirtualCpu`: future events of `port` go to `vcpu`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn evtchn_bind_virtual_cpu(&self, port: u32, vcpu: u32) -> Result<()>;

    /// `EventChannelQueryInterDomain`: the remote domain and port of an inter-domain `port`.
    ///
    /// # Errors
    /// The mapped hypercall failure; `STATUS_INVALID_PARAMETER` if `port` is not inter-domain.
    fn evtchn_query_inter_domain(&self, port: u32) -> Result<(DomId, u32)>;

    /// `EventChannelClose`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn evtchn_close(&self, port: u32) -> Result<()>;

    /// `EventChannelUnmask`: Xen clears the mask and re-raises a pending event.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn evtchn_unmask(&self, port: u32) -> Result<()>;

    /// `EventChannelReset`: closes every port of this domain and returns to the 2-level ABI.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn evtchn_reset(&self) -> Result<()>;

    /// `EventChannelInitControl`: registers the FIFO control block at `gfn` for `vcpu`.
    ///
    /// # Safety
    /// The page at `gfn` becomes Xen's to write until the ABI is reset; the caller keeps it
    /// allocated and touches it only as the FIFO protocol allows.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    unsafe fn evtchn_init_control(&self, gfn: u64, vcpu: u32) -> Result<()>;

    /// `EventChannelExpandArray`: adds the FIFO event-array page at `gfn`.
    ///
    /// # Safety
    /// As [`XenServices::evtchn_init_control`].
    ///
    /// # Errors
    /// The mapped hypercall failure.
    unsafe fn evtchn_expand_array(&self, gfn: u64) -> Result<()>;

    // -- grant tables ------------------------------------------------------------------------

    /// `GrantTableQuerySize`: `(current frames, maximum frames)`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn gnttab_query_size(&self) -> Result<(u32, u32)>;

    /// `GrantTableMapForeignPage`: maps `grant_ref` of `domain` at guest-physical `address`;
    /// returns the map handle.
    ///
    /// # Safety
    /// Whatever was at `address` is replaced until the unmap; nothing may use it meanwhile.
    ///
    /// # Errors
    /// The mapped hypercall or per-entry failure.
    unsafe fn gnttab_map_foreign_page(
        &self,
        domain: DomId,
        grant_ref: u32,
        address: u64,
        read_only: bool,
    ) -> Result<u32>;

    /// `GrantTableUnmapForeignPage`.
    ///
    /// # Safety
    /// Nothing may still use the mapping at `address`.
    ///
    /// # Errors
    /// The mapped hypercall or per-entry failure.
    unsafe fn gnttab_unmap_foreign_page(&self, handle: u32, address: u64) -> Result<()>;

    // -- HVM ---------------------------------------------------------------------------------

    /// `HvmGetParam`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn hvm_get_param(&self, index: u32) -> Result<u64>;

    /// `HvmSetParam`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn hvm_set_param(&self, index: u32, value: u64) -> Result<()>;

    /// `HvmSetEvtchnUpcallVector`: per-vCPU upcall vector.
    ///
    /// # Errors
    /// The mapped hypercall failure (`STATUS_NOT_IMPLEMENTED` where Xen lacks it).
    fn hvm_set_evtchn_upcall_vector(&self, vcpu: u32, vector: u8) -> Result<()>;

    // -- memory ------------------------------------------------------------------------------

    /// `MemoryAddToPhysmap`: makes item `offset` of `space` appear at `gfn`.
    ///
    /// # Safety
    /// Whatever backed `gfn` is replaced; the caller owns that guest-physical page.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    unsafe fn memory_add_to_physmap(&self, gfn: u64, space: u32, offset: u64) -> Result<()>;

    /// `MemoryRemoveFromPhysmap`.
    ///
    /// # Safety
    /// As [`XenServices::memory_add_to_physmap`].
    ///
    /// # Errors
    /// The mapped hypercall failure.
    unsafe fn memory_remove_from_physmap(&self, gfn: u64) -> Result<()>;

    /// `MemoryDecreaseReservation`: hands the frames back to Xen; returns how many went.
    ///
    /// # Safety
    /// The caller owns the frames and never touches them until they are populated again.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    unsafe fn memory_decrease_reservation(&self, order: u32, frames: &mut [u64]) -> Result<usize>;

    /// `MemoryPopulatePhysmap`: backs the frames again; returns how many were populated.
    ///
    /// # Safety
    /// The caller owns the guest-physical frames.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    unsafe fn memory_populate_physmap(&self, order: u32, frames: &mut [u64]) -> Result<usize>;

    // -- scheduler ---------------------------------------------------------------------------

    /// `SchedShutdown`. For `SHUTDOWN_suspend` it returns after the resume: `Ok` in a new
    /// domain, `Err(STATUS_CANCELLED)` when Xen cancelled the suspend.
    ///
    /// # Errors
    /// As above, or the mapped hypercall failure.
    fn sched_shutdown(&self, reason: u32) -> Result<()>;

    /// `SchedYield`.
    fn sched_yield(&self);

    // -- system ------------------------------------------------------------------------------

    /// `SystemProcessorVcpuId`: the vCPU id of processor index `cpu`.
    ///
    /// # Errors
    /// `STATUS_NOT_SUPPORTED` for a processor Xen does not know.
    fn processor_vcpu_id(&self, cpu: u32) -> Result<u32>;

    /// `SystemProcessorVcpuInfo`: the registered `vcpu_info` of processor `cpu`, if any.
    ///
    /// # Errors
    /// `STATUS_NOT_SUPPORTED` when none was registered (the caller falls back to the legacy
    /// slot in the shared-info page).
    fn processor_vcpu_info(&self, cpu: u32) -> Result<core::ptr::NonNull<u8>>;

    // -- the domain watchdog ----------------------------------------------------------------

    /// `VcpuSetPeriodicTimer`: `VIRQ_TIMER` on vCPU `vcpu` every `period` (100 ns units), or
    /// no periodic timer for `None`.
    ///
    /// # Errors
    /// The mapped hypercall failure.
    fn vcpu_set_periodic_timer(&self, vcpu: u32, period: Option<u64>) -> Result<()>;

    /// `SystemSetWatchdog`: arms (the first time) or pats the domain watchdog, which restarts
    /// the domain if not patted again within `seconds`. IRQL: any level.
    ///
    /// # Errors
    /// `STATUS_INVALID_PARAMETER` for 0 seconds; the mapped hypercall failure.
    fn system_set_watchdog(&self, seconds: u32) -> Result<()>;

    /// `SystemStopWatchdog`: disarms the domain watchdog, if armed.
    fn system_stop_watchdog(&self);

    // -- unplug ------------------------------------------------------------------------------

    /// `UnplugIncrementValue`: one more request to unplug emulated devices of `unplug_type`
    /// (0 disks, 1 NICs) at the next boot.
    ///
    /// # Errors
    /// The registry failure.
    fn unplug_increment_value(&self, unplug_type: u32) -> Result<()>;

    /// `UnplugDecrementValue`: one request fewer (never below zero).
    ///
    /// # Errors
    /// The registry failure.
    fn unplug_decrement_value(&self, unplug_type: u32) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_components_parse_as_decimal_or_zero() {
        assert_eq!(parse_u32("0"), 0);
        assert_eq!(parse_u32("9"), 9);
        assert_eq!(parse_u32("123"), 123);
        assert_eq!(parse_u32(""), 0);
        assert_eq!(parse_u32("1a"), 0);
        assert_eq!(parse_u32("-1"), 0);
        assert_eq!(parse_u32("99999999999"), u32::MAX);
    }
}
