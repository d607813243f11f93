// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A small fake of the xen.sys services for xenbus's SUSPEND, CONSOLE, UNPLUG, HOLE and BALLOON
//! tests: HVM params, `SCHEDOP_shutdown` with a resume hook, a reservation model (frames handed
//! to Xen and back) with partial answers and injected failures, and the unplug request counters.
//! Every other service fails with `STATUS_NOT_SUPPORTED` so a test notices an unexpected call.
//!
//! Tests only: a dev-dependency of `xenbus` (its unit tests and the scenario tests under
//! `crates/xenbus/tests/`), never part of a driver image. It implements
//! [`xen_services::XenServices`], the trait xenbus.sys consumes, so it shares that crate with
//! xenbus instead of duplicating it.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::significant_drop_in_scrutinee,
    clippy::significant_drop_tightening
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use ntstatus::{NtStatus, STATUS_NOT_SUPPORTED, STATUS_SUCCESS};
use xen_services::{DomId, Result, XenServices};

/// A hook run inside `SCHEDOP_shutdown(SHUTDOWN_suspend)` (the "new domain" appears).
pub type ShutdownHook = Box<dyn Fn(&FakeXen) + Send + Sync>;

/// The fake.
#[derive(Default)]
pub struct FakeXen {
    /// HVM params.
    pub params: Mutex<BTreeMap<u32, u64>>,
    /// What the next `sched_shutdown` calls return (front first); empty: `Ok`.
    pub shutdown_results: Mutex<Vec<Result<()>>>,
    /// `sched_shutdown` reasons seen.
    pub shutdowns: Mutex<Vec<u32>>,
    /// Run inside every `sched_shutdown`.
    pub on_shutdown: Mutex<Option<ShutdownHook>>,
    /// Ports `evtchn_send` was called for.
    pub sent: Mutex<Vec<u32>>,
    /// Frames currently handed back to Xen (not backed).
    pub given_back: Mutex<BTreeSet<u64>>,
    /// If set, decrease/populate accept at most this many frames per call.
    pub reservation_limit: Mutex<Option<usize>>,
    /// If set, the next decrease fails with this status.
    pub decrease_fault: Mutex<Option<NtStatus>>,
    /// If set, the next populate fails with this status.
    pub populate_fault: Mutex<Option<NtStatus>>,
    /// `decrease_reservation` calls (frames per call).
    pub decrease_calls: Mutex<Vec<usize>>,
    /// `populate_physmap` calls (frames per call).
    pub populate_calls: Mutex<Vec<usize>>,
    /// Unplug request counters, by xen.sys type (0 disks, 1 NICs).
    pub unplug: Mutex<BTreeMap<u32, u32>>,
    /// Calls of any unsupported service.
    pub unexpected: AtomicU32,
}

impl FakeXen {
    /// Sets an HVM param.
    pub fn set_param(&self, index: u32, value: u64) {
        self.params.lock().unwrap().insert(index, value);
    }

    /// Removes an HVM param.
    pub fn clear_param(&self, index: u32) {
        self.params.lock().unwrap().remove(&index);
    }

    /// Queues a `sched_shutdown` answer.
    pub fn push_shutdown_result(&self, result: Result<()>) {
        self.shutdown_results.lock().unwrap().push(result);
    }

    /// How many frames Xen holds now.
    pub fn given_back_count(&self) -> usize {
        self.given_back.lock().unwrap().len()
    }

    fn unsupported<T>(&self) -> Result<T> {
        self.unexpected.fetch_add(1, Ordering::Relaxed);
        Err(STATUS_NOT_SUPPORTED)
    }

    fn limit(&self, frames: usize) -> usize {
        self.reservation_limit
            .lock()
            .unwrap()
            .map_or(frames, |limit| limit.min(frames))
    }
}

impl XenServices for FakeXen {
    fn evtchn_send(&self, port: u32) -> Result<()> {
        self.sent.lock().unwrap().push(port);
        Ok(())
    }
    fn evtchn_allocate_unbound(&self, _domain: DomId) -> Result<u32> {
        self.unsupported()
    }
    fn evtchn_bind_inter_domain(&self, _domain: DomId, _remote_port: u32) -> Result<u32> {
        self.unsupported()
    }
    fn evtchn_bind_virq(&self, _virq: u32, _vcpu: u32) -> Result<u32> {
        self.unsupported()
    }
    fn evtchn_bind_virtual_cpu(&self, _port: u32, _vcpu: u32) -> Result<()> {
        self.unsupported()
    }
    fn evtchn_query_inter_domain(&self, _port: u32) -> Result<(DomId, u32)> {
        self.unsupported()
    }
    fn evtchn_close(&self, _port: u32) -> Result<()> {
        self.unsupported()
    }
    fn evtchn_unmask(&self, _port: u32) -> Result<()> {
        self.unsupported()
    }
    fn evtchn_reset(&self) -> Result<()> {
        self.unsupported()
    }
    unsafe fn evtchn_init_control(&self, _gfn: u64, _vcpu: u32) -> Result<()> {
        self.unsupported()
    }
    unsafe fn evtchn_expand_array(&self, _gfn: u64) -> Result<()> {
        self.unsupported()
    }
    fn gnttab_query_size(&self) -> Result<(u32, u32)> {
        self.unsupported()
    }
    unsafe fn gnttab_map_foreign_page(
        &self,
        _domain: DomId,
        _grant_ref: u32,
        _address: u64,
        _read_only: bool,
    ) -> Result<u32> {
        self.unsupported()
    }
    unsafe fn gnttab_unmap_foreign_page(&self, _handle: u32, _address: u64) -> Result<()> {
        self.unsupported()
    }
    fn hvm_get_param(&self, index: u32) -> Result<u64> {
        self.params
            .lock()
            .unwrap()
            .get(&index)
            .copied()
            .ok_or(ntstatus::STATUS_INVALID_PARAMETER)
    }
    fn hvm_set_param(&self, index: u32, value: u64) -> Result<()> {
        self.set_param(index, value);
        Ok(())
    }
    fn hvm_set_evtchn_upcall_vector(&self, _vcpu: u32, _vector: u8) -> Result<()> {
        self.unsupported()
    }
    unsafe fn memory_add_to_physmap(&self, _gfn: u64, _space: u32, _offset: u64) -> Result<()> {
        self.unsupported()
    }
    unsafe fn memory_remove_from_physmap(&self, _gfn: u64) -> Result<()> {
        self.unsupported()
    }
    unsafe fn memory_decrease_reservation(&self, order: u32, frames: &mut [u64]) -> Result<usize> {
        assert_eq!(order, 0);
        self.decrease_calls.lock().unwrap().push(frames.len());
        if let Some(status) = self.decrease_fault.lock().unwrap().take() {
            return Err(status);
        }
        let n = self.limit(frames.len());
        let mut given = self.given_back.lock().unwrap();
        for (done, &frame) in frames.iter().take(n).enumerate() {
            if !given.insert(frame) {
                // Already not backed: Xen stops at the first bad frame.
                return Ok(done);
            }
        }
        Ok(n)
    }
    unsafe fn memory_populate_physmap(&self, order: u32, frames: &mut [u64]) -> Result<usize> {
        assert_eq!(order, 0);
        self.populate_calls.lock().unwrap().push(frames.len());
        if let Some(status) = self.populate_fault.lock().unwrap().take() {
            return Err(status);
        }
        let n = self.limit(frames.len());
        let mut given = self.given_back.lock().unwrap();
        for (done, frame) in frames.iter().take(n).enumerate() {
            if !given.remove(frame) {
                return Ok(done);
            }
        }
        Ok(n)
    }
    fn sched_shutdown(&self, reason: u32) -> Result<()> {
        self.shutdowns.lock().unwrap().push(reason);
        if let Some(hook) = self.on_shutdown.lock().unwrap().as_ref() {
            hook(self);
        }
        let mut results = self.shutdown_results.lock().unwrap();
        if results.is_empty() {
            Ok(())
        } else {
            results.remove(0)
        }
    }
    fn sched_yield(&self) {}
    fn processor_vcpu_id(&self, cpu: u32) -> Result<u32> {
        Ok(cpu)
    }
    fn processor_vcpu_info(&self, _cpu: u32) -> Result<core::ptr::NonNull<u8>> {
        self.unsupported()
    }
    fn vcpu_set_periodic_timer(&self, _vcpu: u32, _period: Option<u64>) -> Result<()> {
        self.unsupported()
    }
    fn system_set_watchdog(&self, _seconds: u32) -> Result<()> {
        self.unsupported()
    }
    fn system_stop_watchdog(&self) {}
    fn unplug_increment_value(&self, unplug_type: u32) -> Result<()> {
        *self.unplug.lock().unwrap().entry(unplug_type).or_insert(0) += 1;
        Ok(())
    }
    fn unplug_decrement_value(&self, unplug_type: u32) -> Result<()> {
        let mut unplug = self.unplug.lock().unwrap();
        let value = unplug.entry(unplug_type).or_insert(0);
        *value = value.saturating_sub(1);
        Ok(())
    }
}

/// `STATUS_SUCCESS`, for tests that compare statuses.
pub const SUCCESS: NtStatus = STATUS_SUCCESS;
