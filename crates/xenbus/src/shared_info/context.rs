// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The `SHARED_INFO` subsystem's life cycle (upstream `SharedInfoAcquire`/`Release` and the
//! SUSPEND EARLY callback) around the page view [`SharedInfo`].
//!
//! The first [`acquire`](SharedInfoContext::acquire) takes one page from the memory hole,
//! has Xen map `shared_info` there (`XENMEM_add_to_physmap(XENMAPSPACE_shared_info, 0)`),
//! masks every 2-level port and builds the per-CPU table from xen.sys (`processor_vcpu_id`:
//! processors Xen does not know are skipped; `processor_vcpu_info`: the registered
//! `vcpu_info`, else the legacy in-page slot). The last [`release`](SharedInfoContext::release)
//! removes the mapping and gives the hole back. [`suspend_early`](SharedInfoContext::suspend_early)
//! (`HIGH_LEVEL`, the other processors captured) has Xen place the page at the same frame
//! again (the new domain starts with it unmapped) and masks every port, as upstream's EARLY
//! callback does: one hypercall, no lock, no allocation, no `map_physical` (`MmMapIoSpace`
//! needs `DISPATCH_LEVEL` or below). The mapping made at acquire stays: on Windows it maps the
//! guest frame, so it reaches the page Xen just placed there. A platform whose mapping follows
//! the backing page instead (the simulator, where a mapping is the host address of the page)
//! needs a fresh one: the first access to the view at `DISPATCH_LEVEL` or below after the
//! resume ([`suspend_late`](SharedInfoContext::suspend_late), or any EVTCHN call) maps the frame
//! again, moves the view there and masks every port on it.
//!
//! Decisions: upstream only ASSERTs that the map hypercall succeeded; here a failed first map
//! fails the acquire (nothing stays allocated) and a failed re-map after a resume is logged at
//! `CRITICAL` (there is no caller to tell; the EVTCHN late callback then sees no events).
//! Until acquired, the view answers "nothing pending, no upcall" for EVTCHN's 2-level ABI.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ntstatus::{NtStatus, STATUS_NO_MEMORY, STATUS_NOT_SUPPORTED};
use platform_port::{IrqlLevel, IrqlLock, Pages, Platform, PortError, plog};
use xen_headers::memory::XENMAPSPACE_SHARED_INFO;
use xen_services::XenServices;

use super::{ProcessorVcpu, SharedInfo, SharedInfoError};
use crate::evtchn::EvtchnSharedInfo;
use crate::hole::{Hole, HoleError};

struct State {
    references: u32,
    pages: Option<Pages>,
    /// Where the frame is mapped once Xen's page is behind it.
    mapping: Option<NonNull<u8>>,
}

// SAFETY: the mapping is an address of a kernel mapping usable from any thread; it is only
// dereferenced through the view's atomics.
unsafe impl Send for State {}

/// `XENBUS_SHARED_INFO_CONTEXT`.
pub struct SharedInfoContext<P: Platform, S: XenServices> {
    platform: P,
    services: Arc<S>,
    hole: Arc<Hole<P, S>>,
    state: IrqlLock<P, State>,
    view: spin::RwLock<Option<SharedInfo>>,
    /// The frame while acquired, else [`NO_FRAME`]: mirrored from the state for the EARLY
    /// callback and the debug dump, which run at `HIGH_LEVEL` and cannot take the state lock.
    pfn: AtomicU64,
    /// Set by the EARLY callback: the view is moved to a fresh mapping at the next access at
    /// `DISPATCH_LEVEL` or below.
    remap: AtomicBool,
}

/// [`SharedInfoContext`]'s `pfn` while nothing is acquired.
const NO_FRAME: u64 = u64::MAX;

impl<P: Platform, S: XenServices> fmt::Debug for SharedInfoContext<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedInfoContext")
            .field("references", &self.references())
            .finish_non_exhaustive()
    }
}

impl<P: Platform, S: XenServices> SharedInfoContext<P, S> {
    /// A context with nothing mapped (`SharedInfoInitialize`).
    pub fn new(platform: P, services: Arc<S>, hole: Arc<Hole<P, S>>) -> Self {
        let state = IrqlLock::dispatch(
            platform.clone(),
            State {
                references: 0,
                pages: None,
                mapping: None,
            },
        );
        Self {
            platform,
            services,
            hole,
            state,
            view: spin::RwLock::new(None),
            pfn: AtomicU64::new(NO_FRAME),
            remap: AtomicBool::new(false),
        }
    }

    /// The current reference count.
    pub fn references(&self) -> u32 {
        self.state.lock().references
    }

    /// Takes a reference; the first maps the page.
    ///
    /// # Errors
    /// `STATUS_NO_MEMORY` without a hole page or table, or the status of the failed map or
    /// xen.sys query. Nothing stays allocated or mapped.
    pub fn acquire(&self) -> Result<(), NtStatus> {
        let mut state = self.state.lock();
        if state.references > 0 {
            state.references = state.references.saturating_add(1);
            return Ok(());
        }
        let pages = self.hole.allocate(1).map_err(HoleError::status)?;
        match self.map_first(&pages) {
            Ok((view, mapping)) => {
                *self.view.write() = Some(view);
                state.mapping = Some(mapping);
                self.pfn.store(pages.pfn, Ordering::Release);
                state.pages = Some(pages);
                state.references = 1;
                plog!(self.platform, Info, "SHARED_INFO: MAP @ pfn {:#x}", {
                    state.pages.as_ref().map_or(0, |p| p.pfn)
                });
                Ok(())
            }
            Err(status) => {
                // SAFETY: the frame came from this hole and Xen's mapping of it is gone (or was
                // never made).
                let _ = unsafe { self.hole.free(pages) };
                plog!(
                    self.platform,
                    Error,
                    "SHARED_INFO: acquire failed ({status:#010x})"
                );
                Err(status)
            }
        }
    }

    /// Has Xen place `shared_info` at the hole frame and maps that frame. The hole's own address
    /// is not used: it named the RAM that was given back, and a fresh mapping of the frame is
    /// what reaches Xen's page (on Windows `MmMapIoSpace`, as upstream's store and console do).
    fn map_first(&self, pages: &Pages) -> Result<(SharedInfo, NonNull<u8>), NtStatus> {
        // SAFETY: the frame is a hole page this context owns; Xen's shared_info replaces it.
        unsafe {
            self.services
                .memory_add_to_physmap(pages.pfn, XENMAPSPACE_SHARED_INFO, 0)
        }?;
        // SAFETY: Xen's shared_info page is now behind the frame, and stays there until
        // `release` removes it after unmapping.
        let mapping =
            unsafe { self.platform.map_physical(pages.pfn, 1) }.map_err(PortError::status);
        let view = mapping.and_then(|mapping| {
            let table = self.processor_table();
            let view = table.and_then(|table| {
                // SAFETY: `mapping` maps the frame Xen's shared_info was just placed at, one
                // page, page-aligned; registered vcpu_info pointers come from xen.sys. The view
                // is dropped (in `release`) before the mapping is removed.
                unsafe { SharedInfo::new(mapping, &table) }.map_err(SharedInfoError::status)
            });
            if view.is_err() {
                // SAFETY: made just above and unused.
                unsafe { self.platform.unmap_physical(mapping, 1) };
            }
            view.map(|view| (view, mapping))
        });
        match view {
            Ok((view, mapping)) => {
                view.mask_all();
                Ok((view, mapping))
            }
            Err(status) => {
                // SAFETY: the frame is ours; undoing the map just made.
                let _ = unsafe { self.services.memory_remove_from_physmap(pages.pfn) };
                Err(status)
            }
        }
    }

    fn processor_table(&self) -> Result<Vec<ProcessorVcpu>, NtStatus> {
        let count = self.platform.processor_count();
        let mut table = Vec::new();
        table
            .try_reserve_exact(usize::try_from(count).unwrap_or(0))
            .map_err(|_| STATUS_NO_MEMORY)?;
        for cpu in 0..count {
            let entry = match self.services.processor_vcpu_id(cpu) {
                Err(STATUS_NOT_SUPPORTED) => ProcessorVcpu::default(),
                Err(status) => return Err(status),
                Ok(id) => ProcessorVcpu {
                    vcpu_id: Some(id),
                    registered: match self.services.processor_vcpu_info(cpu) {
                        Ok(info) => Some(NonNull::cast(info)),
                        Err(STATUS_NOT_SUPPORTED) => None,
                        Err(status) => return Err(status),
                    },
                },
            };
            table.push(entry);
        }
        Ok(table)
    }

    /// Drops a reference; the last unmaps the page and gives the hole back.
    pub fn release(&self) {
        let mut state = self.state.lock();
        match state.references {
            0 => return,
            1 => {}
            n => {
                state.references = n.saturating_sub(1);
                return;
            }
        }
        state.references = 0;
        self.pfn.store(NO_FRAME, Ordering::Release);
        self.remap.store(false, Ordering::Release);
        *self.view.write() = None;
        if let Some(mapping) = state.mapping.take() {
            // SAFETY: made by `map_first`; the view that used it is gone.
            unsafe { self.platform.unmap_physical(mapping, 1) };
        }
        if let Some(pages) = state.pages.take() {
            // SAFETY: the frame is ours and nothing reads the view any more.
            let _ = unsafe { self.services.memory_remove_from_physmap(pages.pfn) };
            // SAFETY: the frame came from this hole and Xen no longer maps anything there.
            if let Err(error) = unsafe { self.hole.free(pages) } {
                plog!(
                    self.platform,
                    Critical,
                    "SHARED_INFO: hole not returned ({error})"
                );
            }
        }
        plog!(self.platform, Info, "SHARED_INFO: UNMAP");
    }

    /// SUSPEND EARLY (upstream's `SharedInfoSuspendCallbackEarly`): has Xen place the page at
    /// the same frame again and masks every port. Runs at `HIGH_LEVEL` with the other
    /// processors captured, so it takes no spin lock (the frame comes from an atomic, the view
    /// is only tried), allocates nothing and maps nothing: the mapping made at acquire stays,
    /// and is refreshed at `DISPATCH_LEVEL` (see the module documentation).
    pub fn suspend_early(&self) {
        let pfn = self.pfn.load(Ordering::Acquire);
        if pfn == NO_FRAME {
            return;
        }
        // SAFETY: the frame is the hole page this context owns (it stays owned while the
        // context is acquired); the new domain has nothing mapped there yet.
        let mapped = unsafe {
            self.services
                .memory_add_to_physmap(pfn, XENMAPSPACE_SHARED_INFO, 0)
        };
        if let Err(status) = mapped {
            plog!(
                self.platform,
                Critical,
                "SHARED_INFO: re-map after resume failed ({status:#010x})"
            );
            return;
        }
        // A captured processor may have been preempted inside `with_view` at PASSIVE_LEVEL:
        // the view is only tried, never waited for.
        match self.view.try_read() {
            Some(view) => {
                if let Some(view) = view.as_ref() {
                    view.mask_all();
                }
            }
            None => plog!(
                self.platform,
                Warning,
                "SHARED_INFO: view busy at resume; ports masked at the refresh"
            ),
        }
        self.remap.store(true, Ordering::Release);
    }

    /// The LATE half of a resume (`DISPATCH_LEVEL` or below): moves the view to a fresh
    /// mapping of the frame if the EARLY callback left that to do. Every access through
    /// [`SharedInfoContext::with_view`] at `DISPATCH_LEVEL` or below does it too, so calling
    /// this only moves the work out of the first EVTCHN call after the resume.
    pub fn suspend_late(&self) {
        self.refresh();
    }

    /// Maps the frame again after a resume and moves the view there (masking every port on
    /// the page now reached, as the EARLY callback did on the old mapping), dropping the old
    /// mapping if it differs. Only at `DISPATCH_LEVEL` or below (`MmMapIoSpace`), only when
    /// the view is free (a reader may be preempted at `PASSIVE_LEVEL`; the next access then
    /// retries), and once per resume.
    fn refresh(&self) {
        if !self.remap.load(Ordering::Acquire) || self.platform.current_irql() > IrqlLevel::DISPATCH
        {
            return;
        }
        let mut state = self.state.lock();
        let Some(pfn) = state.pages.as_ref().map(|p| p.pfn) else {
            self.remap.store(false, Ordering::Release);
            return;
        };
        let Some(mut view) = self.view.try_write() else {
            return;
        };
        if !self.remap.swap(false, Ordering::AcqRel) {
            return;
        }
        // SAFETY: Xen's page is behind the frame again (the EARLY callback put it there).
        match unsafe { self.platform.map_physical(pfn, 1) } {
            Ok(fresh) if state.mapping == Some(fresh) => {}
            Ok(fresh) => {
                if let Some(view) = view.as_mut() {
                    // SAFETY: `fresh` maps the frame Xen's shared_info is at; the old mapping
                    // is dropped just below and the view no longer uses it.
                    let _ = unsafe { view.rebase(fresh) };
                    view.mask_all();
                }
                drop(view);
                if let Some(old) = state.mapping.replace(fresh) {
                    // SAFETY: the previous mapping of the frame; nothing uses it any more.
                    unsafe { self.platform.unmap_physical(old, 1) };
                }
            }
            Err(error) => plog!(
                self.platform,
                Critical,
                "SHARED_INFO: cannot map the page after resume ({error})"
            ),
        }
    }

    /// Runs `f` on the page view, `None` while not acquired. IRQL: any (after a resume, the
    /// first call at `DISPATCH_LEVEL` or below first moves the view to a fresh mapping).
    pub fn with_view<R>(&self, f: impl FnOnce(&SharedInfo) -> R) -> Option<R> {
        self.refresh();
        self.view.read().as_ref().map(f)
    }

    /// Upstream's `xenbus|SHARED_INFO` dump: the page's frame, then (unless crashing) each CPU's
    /// upcall flag and selector and every word with pending or unmasked ports. IRQL: any (the
    /// DEBUG callbacks run at `HIGH_LEVEL`): no spin lock is taken, the frame comes from an
    /// atomic, the page is read through its atomics and the view is only tried.
    ///
    /// # Errors
    /// What `out` returns.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, crashing: bool) -> fmt::Result {
        let pfn = Some(self.pfn.load(Ordering::Acquire)).filter(|&pfn| pfn != NO_FRAME);
        writeln!(out, "SHARED_INFO: pfn {pfn:#x?}")?;
        if crashing {
            return Ok(());
        }
        let Some(view) = self.view.try_read() else {
            return Ok(());
        };
        let Some(view) = view.as_ref() else {
            return Ok(());
        };
        for cpu in 0..u32::try_from(view.processor_count()).unwrap_or(u32::MAX) {
            if let Some((pending, selector)) = view.debug_vcpu(cpu) {
                writeln!(
                    out,
                    "CPU {cpu}: PENDING: {pending} SELECTOR: {selector:016x}"
                )?;
            }
        }
        for word in 0.. {
            let Some((pending, unmasked)) = view.debug_word(word) else {
                break;
            };
            if pending != 0 || unmasked != 0 {
                writeln!(
                    out,
                    "[{word:02}]: PENDING: {pending:016x} UNMASKED: {unmasked:016x}"
                )?;
            }
        }
        Ok(())
    }
}

/// EVTCHN's 2-level ABI reaches the page through the context: its acquire and release are the
/// context's reference counting, and every access is a no-op while nothing is mapped.
impl<P: Platform, S: XenServices> EvtchnSharedInfo for SharedInfoContext<P, S> {
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self)
    }

    fn release(&self) {
        Self::release(self);
    }

    fn upcall_supported(&self, cpu: u32) -> bool {
        self.with_view(|v| v.upcall_supported(cpu)).unwrap_or(false)
    }

    fn upcall_pending(&self, cpu: u32) -> bool {
        self.with_view(|v| v.upcall_pending(cpu)).unwrap_or(false)
    }

    fn evtchn_poll(&self, cpu: u32, event: &mut dyn FnMut(u32) -> bool) -> bool {
        self.with_view(|v| v.evtchn_poll(cpu, &mut *event))
            .unwrap_or(false)
    }

    fn evtchn_ack(&self, port: u32) {
        let _ = self.with_view(|v| v.evtchn_ack(port));
    }

    fn evtchn_mask(&self, port: u32) {
        let _ = self.with_view(|v| v.evtchn_mask(port));
    }

    fn evtchn_unmask(&self, port: u32) -> bool {
        self.with_view(|v| v.evtchn_unmask(port).unwrap_or(false))
            .unwrap_or(false)
    }
}
