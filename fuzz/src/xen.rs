// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`FuzzXen`]: the xen.sys services as the fuzz targets need them. Every call succeeds unless
//! the target set a failure; the reservation is a model of the frames handed back to Xen (as
//! the host tests' fake keeps it), so a hole or the balloon that gives a frame twice or takes
//! back one Xen never had is caught.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use xen_services::{DomId, Result, XenServices};

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The fake.
#[derive(Default)]
pub struct FuzzXen {
    /// HVM params.
    pub params: Mutex<BTreeMap<u32, u64>>,
    /// Frames handed back to Xen (not backed).
    pub given_back: Mutex<BTreeSet<u64>>,
    /// Decrease/populate accept at most this many frames per call (`None`: all).
    pub reservation_limit: Mutex<Option<usize>>,
    /// `GNTTABOP_query_size`'s maximum frame count.
    pub gnttab_max_frames: AtomicU32,
    /// Event channels sent.
    pub sends: AtomicU32,
    /// `EVTCHNOP_unmask` calls.
    pub unmasks: AtomicU32,
    /// `XENMEM_add_to_physmap` placements: frame -> (space, index).
    pub placed: Mutex<BTreeMap<u64, (u32, u64)>>,
    /// Unplug counters by xen.sys type.
    pub unplug: Mutex<BTreeMap<u32, u32>>,
    /// The next `EVTCHNOP_expand_array` fails with this status.
    pub expand_fault: Mutex<Option<NtStatus>>,
}

impl FuzzXen {
    fn limit(&self, frames: usize) -> usize {
        locked(&self.reservation_limit).map_or(frames, |l| l.min(frames))
    }
}

impl XenServices for FuzzXen {
    fn evtchn_send(&self, _port: u32) -> Result<()> {
        self.sends.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn evtchn_allocate_unbound(&self, _domain: DomId) -> Result<u32> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn evtchn_bind_inter_domain(&self, _domain: DomId, _remote_port: u32) -> Result<u32> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn evtchn_bind_virq(&self, _virq: u32, _vcpu: u32) -> Result<u32> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn evtchn_bind_virtual_cpu(&self, _port: u32, _vcpu: u32) -> Result<()> {
        Ok(())
    }
    fn evtchn_query_inter_domain(&self, _port: u32) -> Result<(DomId, u32)> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn evtchn_close(&self, _port: u32) -> Result<()> {
        Ok(())
    }
    fn evtchn_unmask(&self, _port: u32) -> Result<()> {
        self.unmasks.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn evtchn_reset(&self) -> Result<()> {
        Ok(())
    }
    unsafe fn evtchn_init_control(&self, _gfn: u64, _vcpu: u32) -> Result<()> {
        Ok(())
    }
    unsafe fn evtchn_expand_array(&self, _gfn: u64) -> Result<()> {
        locked(&self.expand_fault).take().map_or(Ok(()), Err)
    }
    fn gnttab_query_size(&self) -> Result<(u32, u32)> {
        Ok((1, self.gnttab_max_frames.load(Ordering::Relaxed)))
    }
    unsafe fn gnttab_map_foreign_page(
        &self,
        _domain: DomId,
        _grant_ref: u32,
        _address: u64,
        _read_only: bool,
    ) -> Result<u32> {
        Err(STATUS_NOT_SUPPORTED)
    }
    unsafe fn gnttab_unmap_foreign_page(&self, _handle: u32, _address: u64) -> Result<()> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn hvm_get_param(&self, index: u32) -> Result<u64> {
        locked(&self.params)
            .get(&index)
            .copied()
            .ok_or(STATUS_INVALID_PARAMETER)
    }
    fn hvm_set_param(&self, index: u32, value: u64) -> Result<()> {
        locked(&self.params).insert(index, value);
        Ok(())
    }
    fn hvm_set_evtchn_upcall_vector(&self, _vcpu: u32, _vector: u8) -> Result<()> {
        Err(STATUS_NOT_SUPPORTED)
    }
    unsafe fn memory_add_to_physmap(&self, gfn: u64, space: u32, offset: u64) -> Result<()> {
        locked(&self.placed).insert(gfn, (space, offset));
        Ok(())
    }
    unsafe fn memory_remove_from_physmap(&self, gfn: u64) -> Result<()> {
        locked(&self.placed)
            .remove(&gfn)
            .map(drop)
            .ok_or(STATUS_INVALID_PARAMETER)
    }
    unsafe fn memory_decrease_reservation(&self, order: u32, frames: &mut [u64]) -> Result<usize> {
        assert_eq!(order, 0, "decrease_reservation of order {order}");
        let n = self.limit(frames.len());
        let mut given = locked(&self.given_back);
        for (done, &frame) in frames.iter().take(n).enumerate() {
            if !given.insert(frame) {
                return Ok(done);
            }
        }
        Ok(n)
    }
    unsafe fn memory_populate_physmap(&self, order: u32, frames: &mut [u64]) -> Result<usize> {
        assert_eq!(order, 0, "populate_physmap of order {order}");
        let n = self.limit(frames.len());
        let mut given = locked(&self.given_back);
        for (done, frame) in frames.iter().take(n).enumerate() {
            if !given.remove(frame) {
                return Ok(done);
            }
        }
        Ok(n)
    }
    fn sched_shutdown(&self, _reason: u32) -> Result<()> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn sched_yield(&self) {}
    fn processor_vcpu_id(&self, cpu: u32) -> Result<u32> {
        Ok(cpu)
    }
    fn processor_vcpu_info(&self, _cpu: u32) -> Result<core::ptr::NonNull<u8>> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn vcpu_set_periodic_timer(&self, _vcpu: u32, _period: Option<u64>) -> Result<()> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn system_set_watchdog(&self, _seconds: u32) -> Result<()> {
        Err(STATUS_NOT_SUPPORTED)
    }
    fn system_stop_watchdog(&self) {}
    fn unplug_increment_value(&self, unplug_type: u32) -> Result<()> {
        let mut unplug = locked(&self.unplug);
        let value = unplug.entry(unplug_type).or_insert(0);
        *value = value.saturating_add(1);
        Ok(())
    }
    fn unplug_decrement_value(&self, unplug_type: u32) -> Result<()> {
        let mut unplug = locked(&self.unplug);
        let value = unplug.entry(unplug_type).or_insert(0);
        if *value == 0 {
            return Err(STATUS_INVALID_PARAMETER);
        }
        *value -= 1;
        Ok(())
    }
}
