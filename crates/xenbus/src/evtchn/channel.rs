// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The channel object a child holds (upstream's `XENBUS_EVTCHN_CHANNEL`).

use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use platform_port::LevelLock;
use xen_services::DomId;

/// The callback of a channel: upstream's `KSERVICE_ROUTINE(NULL, Argument)`.
///
/// It runs at the
/// synchronize IRQL of the interrupt that delivered the event (or from the owning CPU's DPC
/// under that interrupt's lock, after [`Trigger`](super::Evtchn::trigger)); its result is OR-ed
/// into the ISR's result. It must not call `trigger`, `open`, `close` or `bind` (they take locks
/// the delivery path holds); `unmask(.., in_callback = true, ..)`, `send`, `get_count` and
/// `get_port` are fine.
pub type Callback = Arc<dyn Fn() -> bool + Send + Sync>;

/// What to open (`XENBUS_EVTCHN_TYPE` and its variadic arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenKind {
    /// `FIXED`: a port the toolstack already bound; never closed with `EVTCHNOP_close`.
    Fixed {
        /// The local port.
        port: u32,
        /// Mask the port before every callback (the client unmasks).
        auto_mask: bool,
    },
    /// `UNBOUND`: a new port `remote_domain` may bind to (`EVTCHNOP_alloc_unbound`).
    Unbound {
        /// The domain allowed to bind.
        remote_domain: DomId,
        /// Mask the port before every callback.
        auto_mask: bool,
    },
    /// `INTER_DOMAIN`: binds `remote_port` of `remote_domain` (`EVTCHNOP_bind_interdomain`).
    InterDomain {
        /// The peer domain.
        remote_domain: DomId,
        /// The peer's port.
        remote_port: u32,
        /// Mask the port before every callback.
        auto_mask: bool,
    },
    /// `VIRQ`: binds virtual IRQ `index` (`EVTCHNOP_bind_virq`); never auto-masked.
    Virq {
        /// The `VIRQ_*` number.
        index: u32,
        /// The processor index to bind to (interface v9's Group/Number, converted by the
        /// provider with `KeGetProcessorIndexFromNumber`); `None` (v5-v8) means CPU 0.
        cpu: Option<u32>,
    },
}

/// The type of an open channel and what it was bound to (for the debug dump).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// `FIXED`.
    Fixed,
    /// `UNBOUND`.
    Unbound {
        /// The domain allowed to bind.
        remote_domain: DomId,
    },
    /// `INTER_DOMAIN`.
    InterDomain {
        /// The peer domain.
        remote_domain: DomId,
        /// The peer's port.
        remote_port: u32,
    },
    /// `VIRQ`.
    Virq {
        /// The `VIRQ_*` number.
        index: u32,
    },
}

/// An open event channel. Children hold it as an `Arc` (the provider turns it into the opaque
/// `PXENBUS_EVTCHN_CHANNEL`) and hand it back to [`close`](super::Evtchn::close).
pub struct Channel {
    pub(super) kind: ChannelKind,
    pub(super) auto_mask: bool,
    pub(super) port: u32,
    pub(super) caller: usize,
    pub(super) callback: Callback,
    /// Bound in the current domain (tested at `DISPATCH_LEVEL` or above).
    pub(super) active: AtomicBool,
    /// Closed by the client; the owning CPU's DPC reaps it.
    pub(super) closed: AtomicBool,
    /// The port number was invalidated (suspend, or unbound at the last release): never
    /// `EVTCHNOP_close` it.
    pub(super) stale: AtomicBool,
    /// Reaped (off the list, port closed): reaping again does nothing.
    pub(super) reaped: AtomicBool,
    /// On a CPU's pending queue.
    pub(super) pending: AtomicBool,
    /// Events delivered since open (wraps at 2^32).
    pub(super) count: AtomicU32,
    /// The processor index the port is bound to.
    pub(super) cpu: AtomicU32,
    /// The channel lock (upstream's `Channel->Lock`), taken at `DISPATCH_LEVEL`.
    pub(super) lock: LevelLock<()>,
}

impl Channel {
    pub(super) fn new(
        kind: ChannelKind,
        auto_mask: bool,
        port: u32,
        cpu: u32,
        callback: Callback,
        caller: usize,
    ) -> Self {
        Self {
            kind,
            auto_mask,
            port,
            caller,
            callback,
            active: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            stale: AtomicBool::new(false),
            reaped: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            count: AtomicU32::new(0),
            cpu: AtomicU32::new(cpu),
            lock: LevelLock::dispatch(()),
        }
    }

    /// The channel's type and binding.
    #[must_use]
    pub const fn kind(&self) -> ChannelKind {
        self.kind
    }

    /// Whether the port is masked before each callback.
    #[must_use]
    pub const fn auto_mask(&self) -> bool {
        self.auto_mask
    }

    /// Whether the channel is bound in the current domain (false after a suspend or close).
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// The processor index the channel is bound to.
    #[must_use]
    pub fn cpu(&self) -> u32 {
        self.cpu.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("port", &self.port)
            .field("kind", &self.kind)
            .field("auto_mask", &self.auto_mask)
            .field("active", &self.is_active())
            .field("cpu", &self.cpu())
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
