// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The request engine.
//!
//! It queues requests, pushes their bytes into the transport, reassembles
//! replies (partial reads resume on the next poll), matches them to requests by `req_id` and
//! hands watch events to the caller. Several requests may be in flight at once.
//!
//! Every loop is bounded: a poll runs at most [`POLL_ROUNDS`] send/receive rounds, a wait for
//! a reply gives up after the configured number of wait slices, and a reply header with an
//! body longer than `XENSTORE_PAYLOAD_MAX` is skipped (failing only its request), never stored.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use super::error::{StoreError, XsErrno};
use super::transport::{Transport, Wait};
use super::wire::{HEADER_LEN, Header, IGNORED_REPLY_TYPES, XS_ERROR, XS_WATCH_EVENT, payload_len};

/// Send/receive rounds one poll runs at most.
pub const POLL_ROUNDS: usize = 64;
/// Messages one receive round reassembles at most.
const MESSAGES_PER_ROUND: usize = 64;

/// Limits on how long a request waits for its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitLimits {
    /// Consecutive [`Wait::TimedOut`] slices after which a request fails with
    /// [`StoreError::TimedOut`].
    pub max_timeouts: u32,
    /// Waits of any kind after which a request fails: bounds a peer that signals forever but
    /// never answers.
    pub max_waits: u32,
}

impl Default for WaitLimits {
    fn default() -> Self {
        Self {
            max_timeouts: 12,
            max_waits: 1 << 24,
        }
    }
}

/// Counters for debug dumps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Polls run.
    pub polls: u64,
    /// Replies that matched no pending request.
    pub spurious_replies: u64,
    /// Unmatched replies of a type the C package ignores.
    pub ignored_replies: u64,
    /// Watch events received.
    pub watch_events: u64,
    /// Wait slices that timed out.
    pub timeouts: u64,
}

struct Outgoing {
    req_id: u32,
    ty: u32,
    bytes: Vec<u8>,
    sent: usize,
}

/// Where the reassembly of the current reply stands.
enum Rx {
    /// Reading the 16-byte header.
    Header,
    /// Reading a body of a valid length.
    Body {
        header: Header,
        body: Vec<u8>,
        got: usize,
    },
    /// Discarding the body of a reply longer than `XENSTORE_PAYLOAD_MAX`.
    Skip { header: Header, left: u32 },
}

/// One connection to xenstored over a transport.
pub struct Connection<T> {
    transport: T,
    next_req_id: u16,
    submitted: VecDeque<Outgoing>,
    pending: BTreeMap<u32, u32>,
    completed: BTreeMap<u32, Result<Vec<u8>, StoreError>>,
    header: [u8; HEADER_LEN],
    header_got: usize,
    rx: Rx,
    broken: Option<StoreError>,
    limits: WaitLimits,
    stats: Stats,
}

impl<T: Transport> Connection<T> {
    /// A connection whose request ids start at `seed`.
    pub const fn new(transport: T, seed: u16, limits: WaitLimits) -> Self {
        Self {
            transport,
            next_req_id: seed,
            submitted: VecDeque::new(),
            pending: BTreeMap::new(),
            completed: BTreeMap::new(),
            header: [0; HEADER_LEN],
            header_got: 0,
            rx: Rx::Header,
            broken: None,
            limits,
            stats: Stats {
                polls: 0,
                spurious_replies: 0,
                ignored_replies: 0,
                watch_events: 0,
                timeouts: 0,
            },
        }
    }

    /// The transport.
    pub const fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// The counters.
    pub const fn stats(&self) -> Stats {
        self.stats
    }

    /// Why the connection failed, if it did.
    pub const fn broken(&self) -> Option<StoreError> {
        self.broken
    }

    /// Forgets all in-flight state (resume): partial replies, queued and pending requests, and a
    /// previous failure.
    pub fn reset(&mut self) {
        self.submitted.clear();
        self.pending.clear();
        self.completed.clear();
        self.header_got = 0;
        self.rx = Rx::Header;
        self.broken = None;
    }

    fn in_use(&self, id: u32) -> bool {
        self.pending.contains_key(&id)
            || self.completed.contains_key(&id)
            || self.submitted.iter().any(|o| o.req_id == id)
    }

    /// Queues a request and returns its id; nothing is sent until the next poll.
    ///
    /// # Errors
    /// [`StoreError::InvalidBufferSize`] if the payload exceeds `XENSTORE_PAYLOAD_MAX`, the
    /// connection's failure if it failed, [`StoreError::InsufficientResources`] if every id is
    /// in flight.
    pub fn submit(&mut self, ty: u32, tx_id: u32, pieces: &[&[u8]]) -> Result<u32, StoreError> {
        if let Some(error) = self.broken {
            return Err(error);
        }
        let mut req_id = None;
        for _ in 0..=u16::MAX {
            let id = u32::from(self.next_req_id);
            self.next_req_id = self.next_req_id.wrapping_add(1);
            if !self.in_use(id) {
                req_id = Some(id);
                break;
            }
        }
        let req_id = req_id.ok_or(StoreError::InsufficientResources)?;
        let bytes = super::wire::encode_request(ty, req_id, tx_id, pieces)
            .ok_or(StoreError::InvalidBufferSize)?;
        self.submitted
            .try_reserve(1)
            .map_err(|_| StoreError::InsufficientResources)?;
        self.submitted.push_back(Outgoing {
            req_id,
            ty,
            bytes,
            sent: 0,
        });
        Ok(req_id)
    }

    /// Waits for the reply to `req_id`, polling in between; watch events go to `on_event`.
    ///
    /// # Errors
    /// The daemon's `XS_ERROR`, [`StoreError::Protocol`] for a reply of the wrong type or a
    /// broken peer, [`StoreError::TimedOut`] when the wait limits run out.
    pub fn wait_for(
        &mut self,
        req_id: u32,
        on_event: &mut dyn FnMut(&[u8]),
    ) -> Result<Vec<u8>, StoreError> {
        let mut timeouts = 0u32;
        let mut waits = 0u32;
        loop {
            self.poll(on_event);
            if let Some(result) = self.completed.remove(&req_id) {
                return result;
            }
            if let Some(error) = self.broken {
                return Err(error);
            }
            if waits >= self.limits.max_waits {
                self.abandon(req_id);
                return Err(StoreError::TimedOut);
            }
            waits = waits.saturating_add(1);
            match self.transport.wait() {
                Wait::Signalled => timeouts = 0,
                Wait::TimedOut => {
                    self.stats.timeouts = self.stats.timeouts.wrapping_add(1);
                    timeouts = timeouts.saturating_add(1);
                    if timeouts >= self.limits.max_timeouts {
                        self.abandon(req_id);
                        return Err(StoreError::TimedOut);
                    }
                }
            }
        }
    }

    /// Submits a request and waits for its reply.
    ///
    /// # Errors
    /// As [`Connection::submit`] and [`Connection::wait_for`].
    pub fn request(
        &mut self,
        ty: u32,
        tx_id: u32,
        pieces: &[&[u8]],
        on_event: &mut dyn FnMut(&[u8]),
    ) -> Result<Vec<u8>, StoreError> {
        let req_id = self.submit(ty, tx_id, pieces)?;
        self.wait_for(req_id, on_event)
    }

    /// Gives up on a request. Bytes already on the wire cannot be taken back, so a request that
    /// was partly sent fails the connection.
    fn abandon(&mut self, req_id: u32) {
        if let Some(pos) = self.submitted.iter().position(|o| o.req_id == req_id) {
            let partly_sent = self.submitted.get(pos).is_some_and(|o| o.sent > 0);
            if partly_sent {
                self.fail(StoreError::TimedOut);
            } else {
                self.submitted.remove(pos);
            }
        }
        self.pending.remove(&req_id);
        self.completed.remove(&req_id);
    }

    fn fail(&mut self, error: StoreError) {
        self.broken = Some(error);
        let ids: Vec<u32> = self
            .submitted
            .drain(..)
            .map(|o| o.req_id)
            .chain(core::mem::take(&mut self.pending).into_keys())
            .collect();
        for id in ids {
            self.completed.insert(id, Err(error));
        }
    }

    /// Moves bytes both ways until neither direction makes progress (`PollLocked`).
    pub fn poll(&mut self, on_event: &mut dyn FnMut(&[u8])) {
        self.stats.polls = self.stats.polls.wrapping_add(1);
        self.transport.begin_poll();
        for _ in 0..POLL_ROUNDS {
            if self.broken.is_some() {
                return;
            }
            let wrote = match self.send_some() {
                Ok(n) => n,
                Err(error) => {
                    self.fail(error);
                    return;
                }
            };
            if wrote != 0 {
                self.transport.notify();
            }
            let read = match self.recv_some(on_event) {
                Ok(n) => n,
                Err(error) => {
                    self.fail(error);
                    return;
                }
            };
            if read != 0 {
                self.transport.notify();
            }
            if wrote == 0 && read == 0 {
                return;
            }
        }
    }

    fn send_some(&mut self) -> Result<usize, StoreError> {
        let mut total = 0usize;
        while let Some(front) = self.submitted.front_mut() {
            let rest = front.bytes.get(front.sent..).unwrap_or_default();
            let n = self.transport.send(rest)?.min(rest.len());
            front.sent = front.sent.saturating_add(n);
            total = total.saturating_add(n);
            if front.sent < front.bytes.len() {
                break;
            }
            let (req_id, ty) = (front.req_id, front.ty);
            self.submitted.pop_front();
            self.pending.insert(req_id, ty);
        }
        Ok(total)
    }

    fn recv_some(&mut self, on_event: &mut dyn FnMut(&[u8])) -> Result<usize, StoreError> {
        let mut total = 0usize;
        for _ in 0..MESSAGES_PER_ROUND {
            match &mut self.rx {
                Rx::Header => {
                    let want = self.header.get_mut(self.header_got..).unwrap_or_default();
                    let n = self.transport.recv(want)?.min(want.len());
                    self.header_got = self.header_got.saturating_add(n);
                    total = total.saturating_add(n);
                    if self.header_got < HEADER_LEN {
                        return Ok(total);
                    }
                    self.header_got = 0;
                    let header = Header::from_bytes(self.header);
                    self.rx = match payload_len(&header) {
                        Some(len) => {
                            // Two spare bytes: the store appends the NULs C callers expect.
                            let mut body = Vec::new();
                            body.try_reserve_exact(len.saturating_add(2))
                                .map_err(|_| StoreError::InsufficientResources)?;
                            body.resize(len, 0);
                            Rx::Body {
                                header,
                                body,
                                got: 0,
                            }
                        }
                        // Over the protocol limit (oxenstored sends such directory lists): the
                        // length still frames the stream, so skip the body and fail only the
                        // request it answers.
                        None => Rx::Skip {
                            header,
                            left: header.len,
                        },
                    };
                }
                Rx::Body { header, body, got } => {
                    let want = body.get_mut(*got..).unwrap_or_default();
                    let n = if want.is_empty() {
                        0
                    } else {
                        self.transport.recv(want)?.min(want.len())
                    };
                    *got = got.saturating_add(n);
                    total = total.saturating_add(n);
                    if *got < body.len() {
                        return Ok(total);
                    }
                    let header = *header;
                    let body = core::mem::take(body);
                    self.rx = Rx::Header;
                    self.deliver(header, Ok(body), on_event);
                }
                Rx::Skip { header, left } => {
                    let mut scratch = [0u8; 512];
                    let len = usize::try_from(*left).map_or(scratch.len(), |l| l.min(512));
                    let want = scratch.get_mut(..len).unwrap_or_default();
                    let n = self.transport.recv(want)?.min(want.len());
                    *left = left.saturating_sub(u32::try_from(n).unwrap_or(u32::MAX));
                    total = total.saturating_add(n);
                    if *left != 0 {
                        if n == 0 {
                            return Ok(total);
                        }
                        continue;
                    }
                    let header = *header;
                    self.rx = Rx::Header;
                    self.deliver(header, Err(StoreError::ReplyTooLarge), on_event);
                }
            }
        }
        Ok(total)
    }

    fn deliver(
        &mut self,
        header: Header,
        body: Result<Vec<u8>, StoreError>,
        on_event: &mut dyn FnMut(&[u8]),
    ) {
        if header.type_ == XS_WATCH_EVENT {
            self.stats.watch_events = self.stats.watch_events.wrapping_add(1);
            if let Ok(body) = body {
                on_event(&body);
            }
            return;
        }
        let Some(ty) = self.pending.remove(&header.req_id) else {
            if IGNORED_REPLY_TYPES.contains(&header.type_) {
                self.stats.ignored_replies = self.stats.ignored_replies.wrapping_add(1);
            } else {
                self.stats.spurious_replies = self.stats.spurious_replies.wrapping_add(1);
            }
            return;
        };
        let result = match body {
            Ok(body) if header.type_ == XS_ERROR => {
                Err(StoreError::Daemon(XsErrno::from_payload(&body)))
            }
            Ok(body) if header.type_ == ty => Ok(body),
            Ok(_) => Err(StoreError::Protocol),
            Err(error) => Err(error),
        };
        self.completed.insert(header.req_id, result);
    }
}
