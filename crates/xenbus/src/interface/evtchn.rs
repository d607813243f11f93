// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_EVTCHN` v5–v9.
//!
//! `EvtchnOpen` is C-variadic: its extra arguments depend on the channel type and, for VIRQ
//! channels, on `Interface->Version` of the caller's copy (v9 adds `Group, Number`). They are
//! decoded here into an [`OpenRequest`] exactly as upstream's `va_arg` calls read them: each
//! argument takes one slot and is truncated to its declared type (`ULONG` 32 bits, `USHORT`
//! 16, `BOOLEAN`/`UCHAR` 8), so a caller that leaves junk above a promoted argument's width
//! reads the same as with upstream. An unknown type answers NULL (upstream:
//! `STATUS_INVALID_PARAMETER`), as does a NULL callback.
//!
//! The older slots map onto the subsystem as upstream does: `EvtchnUnmaskVersion4` is Unmask
//! with `Force` = TRUE, `EvtchnSendVersion1` is the Send that raises to `DISPATCH_LEVEL`
//! itself, `EvtchnWaitVersion5` waits for `GetCount() + 1`.
//!
//! Processors: the v9 VIRQ arguments and `EvtchnBind` name a processor by (Group, Number);
//! the subsystem takes a processor index. Until the platform port offers
//! `KeGetProcessorIndexFromNumber`, group 0 maps to index = Number and any other group is
//! `STATUS_INVALID_PARAMETER` (xenbus serves at most 64 processors).
//!
//! Channels are handle-table entries; `EvtchnClose` takes the channel out of the table before
//! the subsystem closes it, so a second Close of the same handle does nothing.

use alloc::sync::Arc;
use core::ffi::c_void;

use kprintf::ArgSource;
use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use xenbus_interface::evtchn::{
    EvtchnOpen, PxenbusEvtchnChannel, XENBUS_EVTCHN_TYPE_FIXED, XENBUS_EVTCHN_TYPE_INTER_DOMAIN,
    XENBUS_EVTCHN_TYPE_UNBOUND, XENBUS_EVTCHN_TYPE_VIRQ, XenbusEvtchnInterfaceV5,
    XenbusEvtchnInterfaceV6, XenbusEvtchnInterfaceV7, XenbusEvtchnInterfaceV8,
    XenbusEvtchnInterfaceV9, XenbusEvtchnType,
};
use xenbus_interface::{
    Boolean, KserviceRoutine, LargeInteger, Pinterface, Pvoid, Uchar, Ulong, Ushort,
};

use platform_port::{Interrupts, Platform};
use xen_services::XenServices;

use super::util::{self, boolean, to_boolean};
use super::{Handles, Lifecycle, Object, context, define_context, fill, header, lifecycle_methods};
use crate::evtchn::{Channel, Evtchn, EvtchnError, OpenKind};

/// What a child asked `EvtchnOpen` for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenRequest {
    /// `XENBUS_EVTCHN_TYPE_FIXED`: a port the toolstack bound.
    Fixed {
        /// The local port.
        port: u32,
        /// Auto-mask before each callback.
        mask: bool,
    },
    /// `XENBUS_EVTCHN_TYPE_UNBOUND`: allocate a port for a remote domain.
    Unbound {
        /// The remote domain.
        domain: u16,
        /// Auto-mask before each callback.
        mask: bool,
    },
    /// `XENBUS_EVTCHN_TYPE_INTER_DOMAIN`: bind to a remote port.
    InterDomain {
        /// The remote domain.
        domain: u16,
        /// The remote port.
        port: u32,
        /// Auto-mask before each callback.
        mask: bool,
    },
    /// `XENBUS_EVTCHN_TYPE_VIRQ`: bind a virtual IRQ.
    Virq {
        /// The VIRQ number.
        index: u32,
        /// The processor (group, number) from version 9; `None` before (CPU 0).
        processor: Option<(u16, u8)>,
    },
}

/// The child's callback: `Function(NULL, Argument)`, returning whether it handled the event.
pub type EvtchnCallback = Arc<dyn Fn() -> bool + Send + Sync>;

/// What the EVTCHN context needs from the subsystem.
pub trait EvtchnApi: Lifecycle {
    /// `EvtchnOpen`.
    ///
    /// # Errors
    /// The subsystem's status (the child sees NULL).
    fn open(
        &self,
        request: OpenRequest,
        callback: EvtchnCallback,
        caller: usize,
    ) -> Result<Object, NtStatus>;
    /// `EvtchnBind`.
    ///
    /// # Errors
    /// The subsystem's status.
    fn bind(&self, channel: &Object, group: u16, number: u8) -> Result<(), NtStatus>;
    /// `EvtchnUnmask`: whether the port was pending (and, unless forced, left masked).
    fn unmask(&self, channel: &Object, in_callback: bool, force: bool) -> bool;
    /// `EvtchnSend` (v6+: the caller is at `DISPATCH_LEVEL` or above).
    fn send(&self, channel: &Object);
    /// `EvtchnSendVersion1` (v5: raises to `DISPATCH_LEVEL` itself).
    fn send_version1(&self, channel: &Object);
    /// `EvtchnTrigger`.
    fn trigger(&self, channel: &Object);
    /// `EvtchnGetCount`.
    fn get_count(&self, channel: &Object) -> u32;
    /// `EvtchnWait`: until the count reaches `count`; `timeout` in Windows relative/absolute
    /// 100 ns units, `None` to wait for ever.
    ///
    /// # Errors
    /// `STATUS_TIMEOUT` and the subsystem's other statuses.
    fn wait(&self, channel: &Object, count: u32, timeout: Option<i64>) -> Result<(), NtStatus>;
    /// `EvtchnGetPort`.
    fn get_port(&self, channel: &Object) -> u32;
    /// `EvtchnClose`.
    fn close(&self, channel: Object);
}

/// The processor index of (Group, Number): see the module docs.
#[must_use]
pub const fn processor_index(group: u16, number: u8) -> Option<u32> {
    if group == 0 {
        Some(number as u32)
    } else {
        None
    }
}

fn channel_of(object: &Object) -> Result<Arc<Channel>, NtStatus> {
    Arc::clone(object)
        .downcast::<Channel>()
        .map_err(|_| STATUS_INVALID_PARAMETER)
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> Lifecycle for Evtchn<P, S, I> {
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(EvtchnError::status)
    }

    fn release(&self) {
        Self::release(self);
    }
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> EvtchnApi for Evtchn<P, S, I> {
    fn open(
        &self,
        request: OpenRequest,
        callback: EvtchnCallback,
        caller: usize,
    ) -> Result<Object, NtStatus> {
        let kind = match request {
            OpenRequest::Fixed { port, mask } => OpenKind::Fixed {
                port,
                auto_mask: mask,
            },
            OpenRequest::Unbound { domain, mask } => OpenKind::Unbound {
                remote_domain: domain,
                auto_mask: mask,
            },
            OpenRequest::InterDomain { domain, port, mask } => OpenKind::InterDomain {
                remote_domain: domain,
                remote_port: port,
                auto_mask: mask,
            },
            OpenRequest::Virq { index, processor } => OpenKind::Virq {
                index,
                cpu: match processor {
                    None => None,
                    Some((group, number)) => {
                        Some(processor_index(group, number).ok_or(STATUS_INVALID_PARAMETER)?)
                    }
                },
            },
        };
        let channel = Self::open(self, kind, callback, caller).map_err(EvtchnError::status)?;
        Ok(channel)
    }

    fn bind(&self, channel: &Object, group: u16, number: u8) -> Result<(), NtStatus> {
        let channel = channel_of(channel)?;
        let cpu = processor_index(group, number).ok_or(STATUS_INVALID_PARAMETER)?;
        Self::bind(self, &channel, cpu).map_err(EvtchnError::status)
    }

    fn unmask(&self, channel: &Object, in_callback: bool, force: bool) -> bool {
        channel_of(channel).is_ok_and(|channel| Self::unmask(self, &channel, in_callback, force))
    }

    fn send(&self, channel: &Object) {
        if let Ok(channel) = channel_of(channel) {
            Self::send(self, &channel);
        }
    }

    fn send_version1(&self, channel: &Object) {
        if let Ok(channel) = channel_of(channel) {
            Self::send_version1(self, &channel);
        }
    }

    fn trigger(&self, channel: &Object) {
        if let Ok(channel) = channel_of(channel) {
            Self::trigger(self, &channel);
        }
    }

    fn get_count(&self, channel: &Object) -> u32 {
        channel_of(channel).map_or(0, |channel| Self::get_count(self, &channel))
    }

    fn wait(&self, channel: &Object, count: u32, timeout: Option<i64>) -> Result<(), NtStatus> {
        let channel = channel_of(channel)?;
        Self::wait(self, &channel, count, timeout).map_err(EvtchnError::status)
    }

    fn get_port(&self, channel: &Object) -> u32 {
        channel_of(channel).map_or(0, |channel| Self::get_port(self, &channel))
    }

    fn close(&self, channel: Object) {
        if let Ok(channel) = channel_of(&channel) {
            Self::close(self, channel);
        }
    }
}

define_context!(
    /// The `XENBUS_EVTCHN` context.
    EvtchnContext, EvtchnApi, b"XBEVTCHN" {
        channels: Handles<Object>,
    }
);

impl EvtchnContext {
    /// Channels open and not closed.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.channels.len()
    }

    /// `EvtchnGetInterface`.
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
            5 => unsafe { fill(table_v5(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            6 => unsafe { fill(table_v6(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            7 => unsafe { fill(table_v7(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            8 => unsafe { fill(table_v8(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            9 => unsafe { fill(table_v9(context), buffer, size) },
            _ => STATUS_NOT_SUPPORTED,
        }
    }

    fn channel(&self, handle: PxenbusEvtchnChannel) -> Option<(&dyn EvtchnApi, Object)> {
        let api = self.api().ok()?;
        let channel = self.channels.get(handle)?;
        Some((api, channel))
    }
}

/// Low bits of one argument slot, as `va_arg` of a narrower type reads them.
#[allow(
    clippy::cast_possible_truncation,
    reason = "va_arg truncates to the declared type"
)]
const fn ulong(word: u64) -> u32 {
    word as u32
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "va_arg truncates to the declared type"
)]
const fn ushort(word: u64) -> u16 {
    word as u16
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "va_arg truncates to the declared type"
)]
const fn uchar(word: u64) -> u8 {
    word as u8
}

/// Decodes `EvtchnOpen`'s variadic arguments for `kind` and the caller's interface `version`.
///
/// # Errors
/// `STATUS_INVALID_PARAMETER` for an unknown type or arguments the source cannot supply.
pub fn decode_open(
    kind: XenbusEvtchnType,
    version: u16,
    args: &mut dyn ArgSource<'_>,
) -> Result<OpenRequest, NtStatus> {
    let mut next = || args.next_word().map_err(|_| STATUS_INVALID_PARAMETER);
    match kind {
        XENBUS_EVTCHN_TYPE_FIXED => {
            let port = ulong(next()?);
            let mask = uchar(next()?) != 0;
            Ok(OpenRequest::Fixed { port, mask })
        }
        XENBUS_EVTCHN_TYPE_UNBOUND => {
            let domain = ushort(next()?);
            let mask = uchar(next()?) != 0;
            Ok(OpenRequest::Unbound { domain, mask })
        }
        XENBUS_EVTCHN_TYPE_INTER_DOMAIN => {
            let domain = ushort(next()?);
            let port = ulong(next()?);
            let mask = uchar(next()?) != 0;
            Ok(OpenRequest::InterDomain { domain, port, mask })
        }
        XENBUS_EVTCHN_TYPE_VIRQ => {
            let index = ulong(next()?);
            let processor = if version < 9 {
                None
            } else {
                Some((ushort(next()?), uchar(next()?)))
            };
            Ok(OpenRequest::Virq { index, processor })
        }
        _ => Err(STATUS_INVALID_PARAMETER),
    }
}

/// How many variadic slots `kind` takes at `version`; reading is bounded by it.
const fn open_slots(kind: XenbusEvtchnType, version: u16) -> usize {
    match kind {
        XENBUS_EVTCHN_TYPE_FIXED | XENBUS_EVTCHN_TYPE_UNBOUND => 2,
        XENBUS_EVTCHN_TYPE_VIRQ if version < 9 => 1,
        XENBUS_EVTCHN_TYPE_INTER_DOMAIN | XENBUS_EVTCHN_TYPE_VIRQ => 3,
        _ => 0,
    }
}

/// A child's callback and argument, callable from any CPU.
struct ChildCallback {
    function: KserviceRoutine,
    argument: usize,
}

impl ChildCallback {
    fn call(&self) -> bool {
        let argument = core::ptr::with_exposed_provenance_mut::<c_void>(self.argument);
        // SAFETY: the child registered this function and argument with EvtchnOpen and keeps
        // both valid until EvtchnClose; xenbus passes a NULL interrupt object, as upstream.
        boolean(unsafe { (self.function)(core::ptr::null_mut(), argument) })
    }
}

/// `EvtchnOpen`'s body, shared by both entry thunks.
///
/// # Safety
/// The arguments as `EvtchnOpen` receives them; `args` reads the caller's variadic arguments.
unsafe fn open_common(
    interface: Pinterface,
    kind: XenbusEvtchnType,
    function: Option<KserviceRoutine>,
    argument: Pvoid,
    args: &mut dyn ArgSource<'_>,
) -> PxenbusEvtchnChannel {
    let context = context!(EvtchnContext, interface, core::ptr::null_mut());
    // SAFETY: `context!` accepted `interface`, so its header is readable.
    let version = unsafe { util::version(interface) };
    let mut run = || -> Result<PxenbusEvtchnChannel, NtStatus> {
        let api = context.api()?;
        let function = function.ok_or(STATUS_INVALID_PARAMETER)?;
        let request = decode_open(kind, version, args)?;
        let child = ChildCallback {
            function,
            argument: argument.expose_provenance(),
        };
        let callback: EvtchnCallback = Arc::new(move || child.call());
        let channel = api.open(request, callback, argument.addr())?;
        let Some(handle) = context.channels.insert(Arc::clone(&channel)) else {
            api.close(channel);
            return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES);
        };
        Ok(handle)
    };
    run().unwrap_or(core::ptr::null_mut())
}

#[cfg(not(windows))]
unsafe extern "sysv64" fn evtchn_open_sysv(
    interface: Pinterface,
    kind: XenbusEvtchnType,
    function: Option<KserviceRoutine>,
    argument: Pvoid,
    va: kprintf::RawSysVVaList,
) -> PxenbusEvtchnChannel {
    // SAFETY: the thunk passes the caller's `va_list`; at most the slots of the type are read.
    let mut args = unsafe { kprintf::SysVVaList::with_limit(va, open_slots(kind, 9)) };
    // SAFETY: the caller's arguments, unchanged.
    unsafe { open_common(interface, kind, function, argument, &mut args) }
}

unsafe extern "win64" fn evtchn_open_win64(
    interface: Pinterface,
    kind: XenbusEvtchnType,
    function: Option<KserviceRoutine>,
    argument: Pvoid,
    va: kprintf::RawWin64VaList,
) -> PxenbusEvtchnChannel {
    // SAFETY: the thunk passes the caller's `va_list`; at most the slots of the type are read.
    let mut args = unsafe { kprintf::Win64VaList::with_limit(va, open_slots(kind, 9)) };
    // SAFETY: the caller's arguments, unchanged.
    unsafe { open_common(interface, kind, function, argument, &mut args) }
}

#[cfg(not(windows))]
kprintf::sysv64_variadic_thunk! {
    /// `EvtchnOpen` entry, System V (host builds).
    pub fn xenbus_evtchn_open_sysv(Pinterface, XenbusEvtchnType, Option<KserviceRoutine>, Pvoid,
        ...) -> PxenbusEvtchnChannel => evtchn_open_sysv;
}

kprintf::win64_variadic_thunk! {
    /// `EvtchnOpen` entry, Microsoft x64.
    pub fn xenbus_evtchn_open_win64(Pinterface, XenbusEvtchnType, Option<KserviceRoutine>, Pvoid,
        ...) -> PxenbusEvtchnChannel => evtchn_open_win64;
}

/// The thunk of this platform's convention, with the callback as `Option` (NULL-safe).
#[cfg(windows)]
type OpenThunk = unsafe extern "C" fn(
    Pinterface,
    XenbusEvtchnType,
    Option<KserviceRoutine>,
    Pvoid,
    ...
) -> PxenbusEvtchnChannel;
#[cfg(windows)]
const OPEN_THUNK: OpenThunk = xenbus_evtchn_open_win64;
#[cfg(not(windows))]
type OpenThunk = unsafe extern "C" fn(
    Pinterface,
    XenbusEvtchnType,
    Option<KserviceRoutine>,
    Pvoid,
    ...
) -> PxenbusEvtchnChannel;
#[cfg(not(windows))]
const OPEN_THUNK: OpenThunk = xenbus_evtchn_open_sysv;

/// The `EvtchnOpen` slot.
// SAFETY: `Option<extern "C" fn>` has the same ABI as the non-nullable pointer (guaranteed
// null-pointer optimisation), so the two signatures are call-compatible.
const OPEN: EvtchnOpen = unsafe { core::mem::transmute::<OpenThunk, EvtchnOpen>(OPEN_THUNK) };

lifecycle_methods!(EvtchnContext, evtchn_acquire, evtchn_release);

unsafe extern "C" fn evtchn_bind(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    group: Ushort,
    number: Uchar,
) -> NtStatus {
    let context = context!(EvtchnContext, interface, STATUS_INVALID_PARAMETER);
    match context.api() {
        Err(status) => status,
        Ok(api) => context
            .channels
            .get(channel)
            .map_or(STATUS_INVALID_PARAMETER, |channel| {
                super::status_of(api.bind(&channel, group, number))
            }),
    }
}

unsafe extern "C" fn evtchn_unmask_version4(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    in_callback: Boolean,
) {
    let context = context!(EvtchnContext, interface);
    if let Some((api, channel)) = context.channel(channel) {
        let _ = api.unmask(&channel, boolean(in_callback), true);
    }
}

unsafe extern "C" fn evtchn_unmask(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    in_callback: Boolean,
    force: Boolean,
) -> Boolean {
    let context = context!(EvtchnContext, interface, 0);
    context.channel(channel).map_or(0, |(api, channel)| {
        to_boolean(api.unmask(&channel, boolean(in_callback), boolean(force)))
    })
}

unsafe extern "C" fn evtchn_send(interface: Pinterface, channel: PxenbusEvtchnChannel) {
    let context = context!(EvtchnContext, interface);
    if let Some((api, channel)) = context.channel(channel) {
        api.send(&channel);
    }
}

unsafe extern "C" fn evtchn_send_version1(interface: Pinterface, channel: PxenbusEvtchnChannel) {
    let context = context!(EvtchnContext, interface);
    if let Some((api, channel)) = context.channel(channel) {
        api.send_version1(&channel);
    }
}

unsafe extern "C" fn evtchn_trigger(interface: Pinterface, channel: PxenbusEvtchnChannel) {
    let context = context!(EvtchnContext, interface);
    if let Some((api, channel)) = context.channel(channel) {
        api.trigger(&channel);
    }
}

unsafe extern "C" fn evtchn_get_count(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
) -> Ulong {
    let context = context!(EvtchnContext, interface, 0);
    context
        .channel(channel)
        .map_or(0, |(api, channel)| api.get_count(&channel))
}

/// The timeout argument: NULL waits for ever.
///
/// # Safety
/// `timeout` must be NULL or readable.
const unsafe fn timeout_of(timeout: *mut LargeInteger) -> Option<i64> {
    if timeout.is_null() {
        return None;
    }
    // SAFETY: non-NULL and readable (contract); unaligned for any caller placement.
    Some(unsafe { timeout.read_unaligned() })
}

unsafe extern "C" fn evtchn_wait(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    count: Ulong,
    timeout: *mut LargeInteger,
) -> NtStatus {
    let context = context!(EvtchnContext, interface, STATUS_INVALID_PARAMETER);
    let Some((api, channel)) = context.channel(channel) else {
        return context
            .api()
            .map_or_else(|s| s, |_| STATUS_INVALID_PARAMETER);
    };
    // SAFETY: the caller's optional timeout.
    let timeout = unsafe { timeout_of(timeout) };
    super::status_of(api.wait(&channel, count, timeout))
}

unsafe extern "C" fn evtchn_wait_version5(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    timeout: *mut LargeInteger,
) -> NtStatus {
    let context = context!(EvtchnContext, interface, STATUS_INVALID_PARAMETER);
    let Some((api, channel)) = context.channel(channel) else {
        return context
            .api()
            .map_or_else(|s| s, |_| STATUS_INVALID_PARAMETER);
    };
    // SAFETY: the caller's optional timeout.
    let timeout = unsafe { timeout_of(timeout) };
    let count = api.get_count(&channel).wrapping_add(1);
    super::status_of(api.wait(&channel, count, timeout))
}

unsafe extern "C" fn evtchn_get_port(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
) -> Ulong {
    let context = context!(EvtchnContext, interface, 0);
    context
        .channel(channel)
        .map_or(0, |(api, channel)| api.get_port(&channel))
}

unsafe extern "C" fn evtchn_close(interface: Pinterface, channel: PxenbusEvtchnChannel) {
    let context = context!(EvtchnContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    if let Some(channel) = context.channels.remove(channel) {
        api.close(channel);
    }
}

const fn table_v5(context: *mut c_void) -> XenbusEvtchnInterfaceV5 {
    XenbusEvtchnInterfaceV5 {
        interface: header::<XenbusEvtchnInterfaceV5>(context),
        evtchn_acquire,
        evtchn_release,
        evtchn_open: OPEN,
        evtchn_bind,
        evtchn_unmask_version4,
        evtchn_send_version1,
        evtchn_trigger,
        evtchn_wait_version5,
        evtchn_get_port,
        evtchn_close,
    }
}

const fn table_v6(context: *mut c_void) -> XenbusEvtchnInterfaceV6 {
    XenbusEvtchnInterfaceV6 {
        interface: header::<XenbusEvtchnInterfaceV6>(context),
        evtchn_acquire,
        evtchn_release,
        evtchn_open: OPEN,
        evtchn_bind,
        evtchn_unmask_version4,
        evtchn_send,
        evtchn_trigger,
        evtchn_wait_version5,
        evtchn_get_port,
        evtchn_close,
    }
}

const fn table_v7(context: *mut c_void) -> XenbusEvtchnInterfaceV7 {
    XenbusEvtchnInterfaceV7 {
        interface: header::<XenbusEvtchnInterfaceV7>(context),
        evtchn_acquire,
        evtchn_release,
        evtchn_open: OPEN,
        evtchn_bind,
        evtchn_unmask_version4,
        evtchn_send,
        evtchn_trigger,
        evtchn_get_count,
        evtchn_wait,
        evtchn_get_port,
        evtchn_close,
    }
}

const fn table_v8(context: *mut c_void) -> XenbusEvtchnInterfaceV8 {
    XenbusEvtchnInterfaceV8 {
        interface: header::<XenbusEvtchnInterfaceV8>(context),
        evtchn_acquire,
        evtchn_release,
        evtchn_open: OPEN,
        evtchn_bind,
        evtchn_unmask,
        evtchn_send,
        evtchn_trigger,
        evtchn_get_count,
        evtchn_wait,
        evtchn_get_port,
        evtchn_close,
    }
}

const fn table_v9(context: *mut c_void) -> XenbusEvtchnInterfaceV9 {
    XenbusEvtchnInterfaceV9 {
        interface: header::<XenbusEvtchnInterfaceV9>(context),
        evtchn_acquire,
        evtchn_release,
        evtchn_open: OPEN,
        evtchn_bind,
        evtchn_unmask,
        evtchn_send,
        evtchn_trigger,
        evtchn_get_count,
        evtchn_wait,
        evtchn_get_port,
        evtchn_close,
    }
}
