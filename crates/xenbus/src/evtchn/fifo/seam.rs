// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FIFO ABI's test seam for the fuzzer (`fuzz/`, cargo feature `fuzzing`).
//!
//! Never in a driver image. [`FifoSeam`] exposes the private walk ([`Fifo::poll`]) and the port
//! operations, and lets the fuzzer play Xen by writing the control block and the event words
//! directly. Every write goes through the same checked atomic words the walk uses, so the seam
//! adds no way to reach memory the FIFO does not own.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use platform_port::Platform;
use xen_services::XenServices;

use super::{EvtchnError, Fifo};

/// A FIFO ABI the fuzzer drives: the real state, plus Xen's side of the shared pages.
pub struct FifoSeam<P: Platform, S: XenServices> {
    fifo: Fifo<P, S>,
}

impl<P: Platform, S: XenServices> FifoSeam<P, S> {
    /// Registers a control block for every CPU with a vCPU (`Fifo::acquire`).
    ///
    /// # Errors
    /// As the acquire: the first failing page allocation or `EVTCHNOP_init_control`.
    pub fn acquire(platform: &P, services: &Arc<S>) -> Result<Self, EvtchnError> {
        Fifo::acquire(platform, services).map(|fifo| Self { fifo })
    }

    /// Resets the ABI and frees every page.
    pub fn release(self) {
        self.fifo.release();
    }

    /// Grows the event array until it covers `port`.
    ///
    /// # Errors
    /// [`EvtchnError::InvalidParameter`] beyond `EVTCHN_FIFO_NR_CHANNELS`, or the page
    /// allocation's or `EVTCHNOP_expand_array`'s failure.
    pub fn port_enable(&self, port: u32) -> Result<(), EvtchnError> {
        self.fifo.port_enable(port)
    }

    /// Ports the registered event array covers.
    #[must_use]
    pub fn port_limit(&self) -> u32 {
        self.fifo.port_limit()
    }

    /// Whether CPU `cpu` has a control block.
    #[must_use]
    pub fn is_processor_enabled(&self, cpu: u32) -> bool {
        self.fifo.is_processor_enabled(cpu)
    }

    /// The walk: consumes CPU `cpu`'s ready queues, calling `event` for each pending, unmasked
    /// port; returns the OR of what `event` returned.
    pub fn poll(&self, cpu: u32, event: &mut dyn FnMut(u32) -> bool) -> bool {
        self.fifo.poll(cpu, event)
    }

    /// Clears `port`'s `PENDING` bit.
    pub fn port_ack(&self, port: u32) {
        self.fifo.port_ack(port);
    }

    /// Sets `port`'s `MASKED` bit.
    pub fn port_mask(&self, port: u32) {
        self.fifo.port_mask(port);
    }

    /// Clears `port`'s `MASKED` bit; true if it is pending.
    pub fn port_unmask(&self, port: u32) -> bool {
        self.fifo.port_unmask(port)
    }

    /// Xen's view: the event word of `port`, `None` beyond the registered array.
    #[must_use]
    pub fn word(&self, port: u32) -> Option<u32> {
        self.fifo.word(port).map(|w| w.load(Ordering::SeqCst))
    }

    /// Xen writes the event word of `port`; false (nothing written) beyond the array.
    pub fn set_word(&self, port: u32, value: u32) -> bool {
        self.fifo
            .word(port)
            .map(|w| w.store(value, Ordering::SeqCst))
            .is_some()
    }

    /// Xen writes `head[queue]` of CPU `cpu`'s control block; false without that block or
    /// queue.
    pub fn set_head(&self, cpu: u32, queue: usize, head: u32) -> bool {
        self.fifo
            .block(cpu)
            .and_then(|block| block.head(queue))
            .map(|word| word.store(head, Ordering::SeqCst))
            .is_some()
    }

    /// Xen writes the `ready` word of CPU `cpu`'s control block (any bits); false without a
    /// block.
    pub fn set_ready(&self, cpu: u32, ready: u32) -> bool {
        self.fifo
            .block(cpu)
            .map(|block| block.ready.store(ready, Ordering::SeqCst))
            .is_some()
    }

    /// The `ready` word of CPU `cpu`'s control block.
    #[must_use]
    pub fn ready(&self, cpu: u32) -> Option<u32> {
        self.fifo
            .block(cpu)
            .map(|block| block.ready.load(Ordering::SeqCst))
    }

    /// The guest's cached head of `queue` on CPU `cpu`.
    #[must_use]
    pub fn cached_head(&self, cpu: u32, queue: usize) -> Option<u32> {
        self.fifo
            .block(cpu)
            .and_then(|block| block.heads.get(queue))
            .map(|head| head.load(Ordering::Relaxed))
    }
}
