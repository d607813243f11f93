// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The transport seam.
//!
//! The store speaks the same byte stream over the guest's ring page
//! (production, [`super::ring::RingTransport`]) and over xenstored's UNIX socket (host tests and
//! benchmarks, implemented in the std harness crate).

use super::error::StoreError;

/// What a [`Transport::wait`] ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// The peer may have made progress: poll again.
    Signalled,
    /// A whole wait slice passed without a sign from the peer (upstream: 5 s of
    /// `EvtchnWait`). The store polls anyway; too many in a row fail the request.
    TimedOut,
}

/// A non-blocking, ordered, reliable byte stream to xenstored plus a doorbell.
pub trait Transport {
    /// Queues as many bytes of `data` as fit now and returns how many; 0 means "full".
    ///
    /// # Errors
    /// [`StoreError::Protocol`] if the shared state is impossible, [`StoreError::Disconnected`]
    /// if the stream is closed.
    fn send(&mut self, data: &[u8]) -> Result<usize, StoreError>;

    /// Moves up to `buf.len()` available bytes into `buf` and returns how many; 0 means
    /// "nothing yet".
    ///
    /// # Errors
    /// As [`Transport::send`].
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, StoreError>;

    /// Tells the peer that the stream moved (an event-channel send on the ring).
    fn notify(&mut self);

    /// Blocks until the peer may have made progress, or one wait slice passed.
    fn wait(&mut self) -> Wait;

    /// Called at the start of every poll. A transport that skips needless reads (a socket that
    /// knows it is drained) must look again after this; the default does nothing.
    fn begin_poll(&mut self) {}

    /// The shared ring's indices, for the watchdog and debug dumps; `None` for transports
    /// without a ring (the default).
    fn ring_indices(&self) -> Option<super::watchdog::RingIndices> {
        self.shared_ring().as_ref().map(super::ring::read_indices)
    }

    /// The shared ring page, which the store keeps a view of to read its indices without the
    /// lock; `None` for transports without a ring (the default).
    fn shared_ring(&self) -> Option<shared_mem::SharedMem> {
        None
    }
}
