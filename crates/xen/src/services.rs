// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`XenServices`] straight over this crate's typed hypercall wrappers.
//!
//! On Windows xenbus.sys reaches these services through xen.sys's C exports. The PVH test kernel
//! (real Xen) and host tests (the simulator in `crates/xen-sim`) have no xen.sys to import, so
//! they hand the subsystems a [`Direct`]: the same wrappers the exports call, over any
//! [`Hypervisor`]. Failures are mapped exactly as the exports map them ([`Error::ntstatus`]).
//!
//! Differences from the exports, both deliberate: processor `n` is vCPU `n` for `n` below the
//! vCPU count given to [`Direct::new`] (the PVH kernel and the simulator number them so), and the
//! unplug request counts live in memory ([`Direct::unplug_requests`]) because there is no
//! registry.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use xen_services::{DomId, Result, XenServices};

use crate::hypercall::Hypervisor;
use crate::status::{Error, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use crate::{event_channel, grant_table, hvm, memory, sched};

/// The number of unplug types (`0` disks, `1` NICs).
const UNPLUG_TYPES: usize = 2;

/// [`XenServices`] over a [`Hypervisor`].
#[derive(Debug)]
pub struct Direct<H> {
    hv: H,
    vcpus: u32,
    vcpu_info: fn(u32) -> Option<NonNull<u8>>,
    unplug: [AtomicU32; UNPLUG_TYPES],
    /// The domain watchdog's Xen id, 0 when none (xen.sys keeps the same).
    watchdog: spin::Mutex<u32>,
}

const fn no_vcpu_info(_: u32) -> Option<NonNull<u8>> {
    None
}

impl<H: Hypervisor> Direct<H> {
    /// Services over `hv` for a domain with `vcpus` vCPUs and no registered `vcpu_info`.
    pub const fn new(hv: H, vcpus: u32) -> Self {
        Self {
            hv,
            vcpus,
            vcpu_info: no_vcpu_info,
            unplug: [AtomicU32::new(0), AtomicU32::new(0)],
            watchdog: spin::Mutex::new(0),
        }
    }

    /// Answers [`XenServices::processor_vcpu_info`] from `lookup` (the registered `vcpu_info`
    /// of a vCPU, if any).
    #[must_use]
    pub const fn with_vcpu_info(mut self, lookup: fn(u32) -> Option<NonNull<u8>>) -> Self {
        self.vcpu_info = lookup;
        self
    }

    /// The hypervisor underneath.
    pub const fn hypervisor(&self) -> &H {
        &self.hv
    }

    /// The outstanding unplug requests of `unplug_type`, or `None` for an unknown type.
    #[must_use]
    pub fn unplug_requests(&self, unplug_type: u32) -> Option<u32> {
        let slot = self.unplug.get(usize::try_from(unplug_type).ok()?)?;
        Some(slot.load(Ordering::Acquire))
    }

    fn unplug_slot(&self, unplug_type: u32) -> Result<&AtomicU32> {
        usize::try_from(unplug_type)
            .ok()
            .and_then(|index| self.unplug.get(index))
            .ok_or(STATUS_INVALID_PARAMETER)
    }
}

fn mapped<T>(result: crate::status::Result<T>) -> Result<T> {
    result.map_err(Error::ntstatus)
}

impl<H: Hypervisor + Send + Sync> XenServices for Direct<H> {
    fn evtchn_send(&self, port: u32) -> Result<()> {
        mapped(event_channel::send(&self.hv, port))
    }

    fn evtchn_allocate_unbound(&self, domain: DomId) -> Result<u32> {
        mapped(event_channel::allocate_unbound(&self.hv, domain))
    }

    fn evtchn_bind_inter_domain(&self, domain: DomId, remote_port: u32) -> Result<u32> {
        mapped(event_channel::bind_inter_domain(
            &self.hv,
            domain,
            remote_port,
        ))
    }

    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> Result<u32> {
        mapped(event_channel::bind_virq(&self.hv, virq, vcpu))
    }

    fn evtchn_bind_virtual_cpu(&self, port: u32, vcpu: u32) -> Result<()> {
        mapped(event_channel::bind_virtual_cpu(&self.hv, port, vcpu))
    }

    fn evtchn_query_inter_domain(&self, port: u32) -> Result<(DomId, u32)> {
        mapped(event_channel::query_inter_domain(&self.hv, port))
    }

    fn evtchn_close(&self, port: u32) -> Result<()> {
        mapped(event_channel::close(&self.hv, port))
    }

    fn evtchn_unmask(&self, port: u32) -> Result<()> {
        mapped(event_channel::unmask(&self.hv, port))
    }

    fn evtchn_reset(&self) -> Result<()> {
        mapped(event_channel::reset(&self.hv))
    }

    unsafe fn evtchn_init_control(&self, gfn: u64, vcpu: u32) -> Result<()> {
        // SAFETY: the caller's guarantee for the control-block page.
        mapped(unsafe { event_channel::init_control(&self.hv, gfn, vcpu) }).map(|_| ())
    }

    unsafe fn evtchn_expand_array(&self, gfn: u64) -> Result<()> {
        // SAFETY: the caller's guarantee for the event-array page.
        mapped(unsafe { event_channel::expand_array(&self.hv, gfn) })
    }

    fn gnttab_query_size(&self) -> Result<(u32, u32)> {
        mapped(grant_table::query_size(&self.hv))
    }

    unsafe fn gnttab_map_foreign_page(
        &self,
        domain: DomId,
        grant_ref: u32,
        address: u64,
        read_only: bool,
    ) -> Result<u32> {
        // SAFETY: the caller's guarantee for `address`.
        mapped(unsafe {
            grant_table::map_foreign_page(&self.hv, domain, grant_ref, address, read_only)
        })
    }

    unsafe fn gnttab_unmap_foreign_page(&self, handle: u32, address: u64) -> Result<()> {
        // SAFETY: the caller's guarantee for `address`.
        mapped(unsafe { grant_table::unmap_foreign_page(&self.hv, handle, address) })
    }

    fn hvm_get_param(&self, index: u32) -> Result<u64> {
        mapped(hvm::get_param(&self.hv, index))
    }

    fn hvm_set_param(&self, index: u32, value: u64) -> Result<()> {
        mapped(hvm::set_param(&self.hv, index, value))
    }

    fn hvm_set_evtchn_upcall_vector(&self, vcpu: u32, vector: u8) -> Result<()> {
        mapped(hvm::set_evtchn_upcall_vector(&self.hv, vcpu, vector))
    }

    unsafe fn memory_add_to_physmap(&self, gfn: u64, space: u32, offset: u64) -> Result<()> {
        // SAFETY: the caller's guarantee for `gfn`.
        mapped(unsafe { memory::add_to_physmap(&self.hv, gfn, space, offset) })
    }

    unsafe fn memory_remove_from_physmap(&self, gfn: u64) -> Result<()> {
        // SAFETY: the caller's guarantee for `gfn`.
        mapped(unsafe { memory::remove_from_physmap(&self.hv, gfn) })
    }

    unsafe fn memory_decrease_reservation(&self, order: u32, frames: &mut [u64]) -> Result<usize> {
        // SAFETY: the caller's guarantee for the frames.
        mapped(unsafe { memory::decrease_reservation(&self.hv, order, frames) })
    }

    unsafe fn memory_populate_physmap(&self, order: u32, frames: &mut [u64]) -> Result<usize> {
        // SAFETY: the caller's guarantee for the frames.
        mapped(unsafe { memory::populate_physmap(&self.hv, order, frames) })
    }

    fn sched_shutdown(&self, reason: u32) -> Result<()> {
        mapped(sched::shutdown(&self.hv, reason))
    }

    fn sched_yield(&self) {
        sched::yield_now(&self.hv);
    }

    fn processor_vcpu_id(&self, cpu: u32) -> Result<u32> {
        if cpu < self.vcpus {
            Ok(cpu)
        } else {
            Err(STATUS_NOT_SUPPORTED)
        }
    }

    fn processor_vcpu_info(&self, cpu: u32) -> Result<NonNull<u8>> {
        if cpu >= self.vcpus {
            return Err(STATUS_NOT_SUPPORTED);
        }
        (self.vcpu_info)(cpu).ok_or(STATUS_NOT_SUPPORTED)
    }

    fn vcpu_set_periodic_timer(&self, vcpu: u32, period: Option<u64>) -> Result<()> {
        mapped(crate::vcpu::set_periodic_timer(&self.hv, vcpu, period))
    }

    fn system_set_watchdog(&self, seconds: u32) -> Result<()> {
        if seconds == 0 {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let mut id = self.watchdog.lock();
        *id = mapped(sched::watchdog(&self.hv, *id, seconds))?;
        Ok(())
    }

    fn system_stop_watchdog(&self) {
        let mut id = self.watchdog.lock();
        if *id != 0 {
            let _ignored = sched::watchdog(&self.hv, *id, 0);
            *id = 0;
        }
    }

    fn unplug_increment_value(&self, unplug_type: u32) -> Result<()> {
        let slot = self.unplug_slot(unplug_type)?;
        // Saturating like the registry DWORD it stands for.
        let _ = slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_add(1));
        Ok(())
    }

    fn unplug_decrement_value(&self, unplug_type: u32) -> Result<()> {
        let slot = self.unplug_slot(unplug_type)?;
        // Below zero fails silently, as upstream's registry helper does.
        let _ = slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::STATUS_CANCELLED;
    use xen_headers::errno;
    use xen_headers::sched::SHUTDOWN_SUSPEND;

    /// Answers every hypercall with the same value (the crate's recording fake is not `Sync`).
    struct Answer(isize);

    impl Hypervisor for Answer {
        unsafe fn hypercall(&self, _op: u32, _args: &[usize]) -> isize {
            self.0
        }
    }

    fn returning(rc: isize) -> Answer {
        Answer(rc)
    }

    #[test]
    fn failures_map_to_the_exports_statuses() {
        let direct = Direct::new(returning(-(errno::ENOENT as isize)), 1);
        assert_eq!(
            direct.evtchn_close(3),
            Err(Error::Errno(errno::ENOENT).ntstatus())
        );
    }

    #[test]
    fn cancelled_suspend_is_status_cancelled() {
        let direct = Direct::new(returning(1), 1);
        assert_eq!(
            direct.sched_shutdown(SHUTDOWN_SUSPEND),
            Err(STATUS_CANCELLED)
        );
    }

    #[test]
    fn processors_beyond_the_vcpu_count_are_not_supported() {
        let direct = Direct::new(returning(0), 2);
        assert_eq!(direct.processor_vcpu_id(1), Ok(1));
        assert_eq!(direct.processor_vcpu_id(2), Err(STATUS_NOT_SUPPORTED));
        assert_eq!(direct.processor_vcpu_info(0), Err(STATUS_NOT_SUPPORTED));
    }

    #[test]
    fn unplug_counts_never_go_below_zero() {
        let direct = Direct::new(returning(0), 1);
        assert_eq!(direct.unplug_decrement_value(1), Ok(()));
        assert_eq!(direct.unplug_requests(1), Some(0));
        direct.unplug_increment_value(1).unwrap();
        direct.unplug_increment_value(1).unwrap();
        direct.unplug_decrement_value(1).unwrap();
        assert_eq!(direct.unplug_requests(1), Some(1));
        assert_eq!(direct.unplug_requests(0), Some(0));
        assert_eq!(
            direct.unplug_increment_value(2),
            Err(STATUS_INVALID_PARAMETER)
        );
    }
}
