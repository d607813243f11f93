// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_SHARED_INFO` v2–v4 over [`crate::shared_info::SharedInfoContext`].
//!
//! v2 returns the time by value (`SharedInfoGetTimeVersion2`, 0 when it cannot be read), v3
//! through two out-parameters, v4 adds `SharedInfoUpcallSupported` at slot 2. Ack, mask and
//! unmask of a port beyond the 2-level range do nothing (unmask answers FALSE), as the
//! subsystem refuses them. `SharedInfoEvtchnPoll` with a NULL callback polls nothing.

use alloc::sync::Arc;
use core::ffi::c_void;

use ntstatus::{NtStatus, STATUS_NOT_SUPPORTED};
use platform_port::{IrqlLevel, Platform, RaisedIrql};
use xen_services::XenServices;
use xenbus_interface::shared_info::{
    SharedInfoEvtchnPoll, XenbusSharedInfoEvent, XenbusSharedInfoInterfaceV2,
    XenbusSharedInfoInterfaceV3, XenbusSharedInfoInterfaceV4,
};
use xenbus_interface::{Boolean, LargeInteger, Pinterface, Pvoid, Ulong};

use super::util::{self, to_boolean};
use super::{Lifecycle, context, define_context, fill, header, lifecycle_methods};
use crate::evtchn::EvtchnSharedInfo;
use crate::shared_info::{SharedInfoContext as SharedInfoSubsystem, SharedInfoError};

/// What the `SHARED_INFO` context needs from the subsystem.
pub trait SharedInfoApi: Lifecycle {
    /// `SharedInfoUpcallSupported`.
    fn upcall_supported(&self, index: u32) -> bool;
    /// `SharedInfoUpcallPending`.
    fn upcall_pending(&self, index: u32) -> bool;
    /// `SharedInfoEvtchnPoll`: `event` is called for each pending unmasked port.
    fn evtchn_poll(&self, index: u32, event: &mut dyn FnMut(u32) -> bool) -> bool;
    /// `SharedInfoEvtchnAck`.
    fn evtchn_ack(&self, port: u32);
    /// `SharedInfoEvtchnMask`.
    fn evtchn_mask(&self, port: u32);
    /// `SharedInfoEvtchnUnmask`: whether the port is pending.
    fn evtchn_unmask(&self, port: u32) -> bool;
    /// `SharedInfoGetTime`: Windows time and whether it is local.
    ///
    /// # Errors
    /// The subsystem's status.
    fn get_time(&self) -> Result<(i64, bool), NtStatus>;
}

/// The composition's `SHARED_INFO` subsystem as the interface serves it.
///
/// [`crate::shared_info::SharedInfoContext`] maps the page and survives suspends; `GetTime` raises to
/// `DISPATCH_LEVEL` around the read, as upstream, and reads the TSC with `rdtsc`.
pub struct SharedInfoInterface<P: Platform, S: XenServices> {
    context: Arc<SharedInfoSubsystem<P, S>>,
    platform: P,
    rdtsc: fn() -> u64,
    local: bool,
}

impl<P: Platform, S: XenServices> SharedInfoInterface<P, S> {
    /// Serves `context`; `local` is `!RealTimeIsUniversal`.
    #[must_use]
    pub const fn new(
        context: Arc<SharedInfoSubsystem<P, S>>,
        platform: P,
        rdtsc: fn() -> u64,
        local: bool,
    ) -> Self {
        Self {
            context,
            platform,
            rdtsc,
            local,
        }
    }
}

/// The time-stamp counter.
#[must_use]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC reads a counter; it has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

impl<P: Platform, S: XenServices> Lifecycle for SharedInfoInterface<P, S> {
    fn acquire(&self) -> Result<(), NtStatus> {
        self.context.acquire()
    }

    fn release(&self) {
        self.context.release();
    }
}

impl<P: Platform, S: XenServices> SharedInfoApi for SharedInfoInterface<P, S> {
    fn upcall_supported(&self, index: u32) -> bool {
        EvtchnSharedInfo::upcall_supported(&*self.context, index)
    }

    fn upcall_pending(&self, index: u32) -> bool {
        EvtchnSharedInfo::upcall_pending(&*self.context, index)
    }

    fn evtchn_poll(&self, index: u32, event: &mut dyn FnMut(u32) -> bool) -> bool {
        EvtchnSharedInfo::evtchn_poll(&*self.context, index, event)
    }

    fn evtchn_ack(&self, port: u32) {
        EvtchnSharedInfo::evtchn_ack(&*self.context, port);
    }

    fn evtchn_mask(&self, port: u32) {
        EvtchnSharedInfo::evtchn_mask(&*self.context, port);
    }

    fn evtchn_unmask(&self, port: u32) -> bool {
        EvtchnSharedInfo::evtchn_unmask(&*self.context, port)
    }

    fn get_time(&self) -> Result<(i64, bool), NtStatus> {
        let dispatch = RaisedIrql::to(&self.platform, IrqlLevel::DISPATCH);
        let time = self
            .context
            .with_view(|view| view.get_time(self.rdtsc))
            .unwrap_or(Err(SharedInfoError::NoVcpuInfo));
        drop(dispatch);
        Ok((time.map_err(SharedInfoError::status)?, self.local))
    }
}

define_context!(
    /// The `XENBUS_SHARED_INFO` context.
    SharedInfoContext, SharedInfoApi, b"XBSHINFO" {}
);

impl SharedInfoContext {
    /// `SharedInfoGetInterface`.
    ///
    /// # Safety
    /// `buffer` must be NULL or writable for `size` bytes.
    pub(crate) unsafe fn get_interface(
        &self,
        version: u16,
        buffer: *mut c_void,
        size: u16,
    ) -> NtStatus {
        let context = core::ptr::from_ref(self).cast_mut().cast::<c_void>();
        match version {
            // SAFETY: forwarded buffer contract.
            2 => unsafe { fill(table_v2(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            3 => unsafe { fill(table_v3(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            4 => unsafe { fill(table_v4(context), buffer, size) },
            _ => STATUS_NOT_SUPPORTED,
        }
    }
}

lifecycle_methods!(SharedInfoContext, shared_info_acquire, shared_info_release);

unsafe extern "C" fn shared_info_upcall_supported(interface: Pinterface, index: Ulong) -> Boolean {
    let context = context!(SharedInfoContext, interface, 0);
    to_boolean(context.api().is_ok_and(|api| api.upcall_supported(index)))
}

unsafe extern "C" fn shared_info_upcall_pending(interface: Pinterface, index: Ulong) -> Boolean {
    let context = context!(SharedInfoContext, interface, 0);
    to_boolean(context.api().is_ok_and(|api| api.upcall_pending(index)))
}

unsafe extern "C" fn shared_info_evtchn_poll(
    interface: Pinterface,
    index: Ulong,
    event: Option<XenbusSharedInfoEvent>,
    argument: Pvoid,
) -> Boolean {
    let context = context!(SharedInfoContext, interface, 0);
    let (Ok(api), Some(event)) = (context.api(), event) else {
        return 0;
    };
    let mut deliver = |port: u32| {
        // SAFETY: the caller's callback with the caller's argument, as the C contract says.
        util::boolean(unsafe { event(argument, port) })
    };
    to_boolean(api.evtchn_poll(index, &mut deliver))
}

unsafe extern "C" fn shared_info_evtchn_ack(interface: Pinterface, port: Ulong) {
    let context = context!(SharedInfoContext, interface);
    if let Ok(api) = context.api() {
        api.evtchn_ack(port);
    }
}

unsafe extern "C" fn shared_info_evtchn_mask(interface: Pinterface, port: Ulong) {
    let context = context!(SharedInfoContext, interface);
    if let Ok(api) = context.api() {
        api.evtchn_mask(port);
    }
}

unsafe extern "C" fn shared_info_evtchn_unmask(interface: Pinterface, port: Ulong) -> Boolean {
    let context = context!(SharedInfoContext, interface, 0);
    to_boolean(context.api().is_ok_and(|api| api.evtchn_unmask(port)))
}

unsafe extern "C" fn shared_info_get_time_version2(interface: Pinterface) -> LargeInteger {
    let context = context!(SharedInfoContext, interface, 0);
    context
        .api()
        .and_then(SharedInfoApi::get_time)
        .map_or(0, |(time, _)| time)
}

unsafe extern "C" fn shared_info_get_time(
    interface: Pinterface,
    time: *mut LargeInteger,
    local: *mut Boolean,
) {
    let context = context!(SharedInfoContext, interface);
    let Ok((now, is_local)) = context.api().and_then(SharedInfoApi::get_time) else {
        return;
    };
    // SAFETY: the caller's out-parameters (NULL skipped).
    unsafe { util::write_out(time, now) };
    // SAFETY: as above.
    unsafe { util::write_out(local, to_boolean(is_local)) };
}

/// The poll slot: the definition takes the callback as `Option` so a NULL one is caught.
// SAFETY: `Option<extern "C" fn>` has the same ABI as the non-nullable pointer (guaranteed
// null-pointer optimisation), so the two signatures are call-compatible.
const POLL: SharedInfoEvtchnPoll = unsafe {
    core::mem::transmute::<
        unsafe extern "C" fn(Pinterface, Ulong, Option<XenbusSharedInfoEvent>, Pvoid) -> Boolean,
        SharedInfoEvtchnPoll,
    >(shared_info_evtchn_poll)
};

const fn table_v2(context: *mut c_void) -> XenbusSharedInfoInterfaceV2 {
    XenbusSharedInfoInterfaceV2 {
        interface: header::<XenbusSharedInfoInterfaceV2>(context),
        shared_info_acquire,
        shared_info_release,
        shared_info_upcall_pending,
        shared_info_evtchn_poll: POLL,
        shared_info_evtchn_ack,
        shared_info_evtchn_mask,
        shared_info_evtchn_unmask,
        shared_info_get_time_version2,
    }
}

const fn table_v3(context: *mut c_void) -> XenbusSharedInfoInterfaceV3 {
    XenbusSharedInfoInterfaceV3 {
        interface: header::<XenbusSharedInfoInterfaceV3>(context),
        shared_info_acquire,
        shared_info_release,
        shared_info_upcall_pending,
        shared_info_evtchn_poll: POLL,
        shared_info_evtchn_ack,
        shared_info_evtchn_mask,
        shared_info_evtchn_unmask,
        shared_info_get_time,
    }
}

const fn table_v4(context: *mut c_void) -> XenbusSharedInfoInterfaceV4 {
    XenbusSharedInfoInterfaceV4 {
        interface: header::<XenbusSharedInfoInterfaceV4>(context),
        shared_info_acquire,
        shared_info_release,
        shared_info_upcall_supported,
        shared_info_upcall_pending,
        shared_info_evtchn_poll: POLL,
        shared_info_evtchn_ack,
        shared_info_evtchn_mask,
        shared_info_evtchn_unmask,
        shared_info_get_time,
    }
}
