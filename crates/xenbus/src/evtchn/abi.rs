// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The event-channel ABIs behind one dispatch (upstream's `XENBUS_EVTCHN_ABI` vtable):
//! 2-level over the shared-info page, and FIFO ([`super::fifo`]).

use alloc::sync::Arc;

use ntstatus::NtStatus;
use platform_port::Platform;
use xen_services::XenServices;

use super::EvtchnError;
use super::fifo::Fifo;
use crate::shared_info::SharedInfo;

/// What EVTCHN needs from `SHARED_INFO` (the v4 interface methods it calls).
///
/// The composition implements it for its `SHARED_INFO` subsystem; [`SharedInfo`] (the page
/// view) implements it with no-op reference counting.
pub trait EvtchnSharedInfo: Send + Sync {
    /// Takes a `SHARED_INFO` reference (`SharedInfoAcquire`).
    ///
    /// # Errors
    /// The status of the failed first acquire.
    fn acquire(&self) -> Result<(), NtStatus> {
        Ok(())
    }
    /// Drops a reference (`SharedInfoRelease`).
    fn release(&self) {}
    /// Whether CPU `cpu` has a `vcpu_info` (`SharedInfoUpcallSupported`).
    fn upcall_supported(&self, cpu: u32) -> bool;
    /// Takes CPU `cpu`'s upcall-pending flag (`SharedInfoUpcallPending`).
    fn upcall_pending(&self, cpu: u32) -> bool;
    /// The 2-level scan of CPU `cpu` (`SharedInfoEvtchnPoll`).
    fn evtchn_poll(&self, cpu: u32, event: &mut dyn FnMut(u32) -> bool) -> bool;
    /// Clears `port`'s pending bit.
    fn evtchn_ack(&self, port: u32);
    /// Sets `port`'s mask bit.
    fn evtchn_mask(&self, port: u32);
    /// Clears `port`'s mask bit and reports whether it is pending.
    fn evtchn_unmask(&self, port: u32) -> bool;
}

/// Ports outside the 2-level range are never bound with this ABI (Xen refuses them), so the
/// view's range errors are ignored: nothing is touched and unmask reports nothing pending.
impl EvtchnSharedInfo for SharedInfo {
    fn upcall_supported(&self, cpu: u32) -> bool {
        Self::upcall_supported(self, cpu)
    }

    fn upcall_pending(&self, cpu: u32) -> bool {
        Self::upcall_pending(self, cpu)
    }

    fn evtchn_poll(&self, cpu: u32, event: &mut dyn FnMut(u32) -> bool) -> bool {
        Self::evtchn_poll(self, cpu, event)
    }

    fn evtchn_ack(&self, port: u32) {
        let _ = Self::evtchn_ack(self, port);
    }

    fn evtchn_mask(&self, port: u32) {
        let _ = Self::evtchn_mask(self, port);
    }

    fn evtchn_unmask(&self, port: u32) -> bool {
        Self::evtchn_unmask(self, port).unwrap_or(false)
    }
}

/// Which ABI is in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiKind {
    /// The 2-level bitmaps in the shared-info page.
    TwoLevel,
    /// The FIFO queues (control blocks and event array).
    Fifo,
}

/// The ABI in use.
pub(super) enum Abi<P: Platform, S: XenServices> {
    TwoLevel {
        shared_info: Arc<dyn EvtchnSharedInfo>,
        services: Arc<S>,
    },
    Fifo(Fifo<P, S>),
}

impl<P: Platform, S: XenServices> Abi<P, S> {
    /// The 2-level ABI: takes a `SHARED_INFO` reference.
    pub(super) fn two_level(
        shared_info: &Arc<dyn EvtchnSharedInfo>,
        services: &Arc<S>,
    ) -> Result<Self, EvtchnError> {
        shared_info.acquire().map_err(EvtchnError::Xen)?;
        Ok(Self::TwoLevel {
            shared_info: Arc::clone(shared_info),
            services: Arc::clone(services),
        })
    }

    pub(super) const fn kind(&self) -> AbiKind {
        match self {
            Self::TwoLevel { .. } => AbiKind::TwoLevel,
            Self::Fifo(_) => AbiKind::Fifo,
        }
    }

    /// Undoes the acquire (FIFO: reset and free every page).
    pub(super) fn release(self) {
        match self {
            Self::TwoLevel { shared_info, .. } => shared_info.release(),
            Self::Fifo(fifo) => fifo.release(),
        }
    }

    /// Whether the ABI can deliver to CPU `cpu`.
    pub(super) fn is_processor_enabled(&self, cpu: u32) -> bool {
        match self {
            Self::TwoLevel { services, .. } => services.processor_vcpu_id(cpu).is_ok(),
            Self::Fifo(fifo) => fifo.is_processor_enabled(cpu),
        }
    }

    /// Reports every pending, unmasked port of CPU `cpu` to `event`.
    pub(super) fn poll(&self, cpu: u32, event: &mut dyn FnMut(u32) -> bool) -> bool {
        match self {
            Self::TwoLevel { shared_info, .. } => shared_info.evtchn_poll(cpu, event),
            Self::Fifo(fifo) => fifo.poll(cpu, event),
        }
    }

    /// Prepares `port` for use (FIFO: grows the event array).
    pub(super) fn port_enable(&self, port: u32) -> Result<(), EvtchnError> {
        match self {
            Self::TwoLevel { .. } => Ok(()),
            Self::Fifo(fifo) => fifo.port_enable(port),
        }
    }

    /// Stops delivery of `port` (masks it).
    pub(super) fn port_disable(&self, port: u32) {
        self.port_mask(port);
    }

    /// Clears `port`'s pending state.
    pub(super) fn port_ack(&self, port: u32) {
        match self {
            Self::TwoLevel { shared_info, .. } => shared_info.evtchn_ack(port),
            Self::Fifo(fifo) => fifo.port_ack(port),
        }
    }

    /// Masks `port`.
    pub(super) fn port_mask(&self, port: u32) {
        match self {
            Self::TwoLevel { shared_info, .. } => shared_info.evtchn_mask(port),
            Self::Fifo(fifo) => fifo.port_mask(port),
        }
    }

    /// Unmasks `port`; true if it is pending.
    pub(super) fn port_unmask(&self, port: u32) -> bool {
        match self {
            Self::TwoLevel { shared_info, .. } => shared_info.evtchn_unmask(port),
            Self::Fifo(fifo) => fifo.port_unmask(port),
        }
    }
}
