// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `store_ring`: the xenstore client (`xenbus::store::Store`) over the real ring transport
//! (`RingTransport`) on a page the fuzzer owns, with the fuzzer playing xenstored: honestly
//! (consuming requests, answering them with replies, errors, wrong types and watch events
//! written correctly into the ring) or not (writing any index or byte at any time).
//!
//! Invariants:
//! * the transport, checked on every call the store makes: `send` copies exactly
//!   `min(len, 1024 - (req_prod - req_cons))` bytes to the masked positions and advances
//!   `req_prod` by that much, or fails with `Protocol` (touching nothing) exactly when
//!   `req_prod - req_cons` exceeds the ring; `recv` likewise takes exactly the bytes the peer
//!   produced, from the masked positions, and advances only `rsp_cons`; no other byte of the
//!   page is written;
//! * the request stream a well-behaved peer reads is well-formed (a header, a payload of its
//!   stated length within `XENSTORE_PAYLOAD_MAX`, a known type);
//! * with an honest peer: a Read that succeeds returns exactly the payload the peer answered
//!   that request with; an `XS_ERROR` answer is `Daemon(errno of the payload)`; a reply of
//!   another type is `Protocol`; every watch event for a live watch signals it exactly once
//!   (drained at the end), and no watch hears more signals than events named it; a dishonest
//!   peer may replay events (rewinding `rsp_cons`, the guest's index on the shared page) or
//!   forge them, which no client can tell from real ones;
//! * with any peer: every call returns (bounded waits), nothing panics, buffers, watches and
//!   transactions are accounted for (`outstanding`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::mem::offset_of;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use xen_headers::io::xs_wire::XenstoreDomainInterface;
use xenbus::store::ring::{EventChannel, RingTransport};
use xenbus::store::watchdog::Watchdog;
use xenbus::store::wire::{
    HEADER_LEN, Header, XENSTORE_PAYLOAD_MAX, XS_DIRECTORY, XS_ERROR, XS_READ, XS_RM,
    XS_TRANSACTION_END, XS_TRANSACTION_START, XS_UNWATCH, XS_WATCH, XS_WATCH_EVENT, XS_WRITE,
};
use xenbus::store::{
    Store, StoreConfig, StoreError, Transport, Wait, WaitLimits, Watch, WatchEvent, XsErrno,
};

use crate::input::{Reader, Writer};
use crate::page::SharedPages;
use crate::platform::FuzzPlatform;

const REQ: usize = offset_of!(XenstoreDomainInterface, req);
const RSP: usize = offset_of!(XenstoreDomainInterface, rsp);
const REQ_CONS: usize = offset_of!(XenstoreDomainInterface, req_cons);
const REQ_PROD: usize = offset_of!(XenstoreDomainInterface, req_prod);
const RSP_CONS: usize = offset_of!(XenstoreDomainInterface, rsp_cons);
const RSP_PROD: usize = offset_of!(XenstoreDomainInterface, rsp_prod);
const RING: u32 = 1024;
const PAGE_USED: usize = size_of::<XenstoreDomainInterface>();

/// One request the peer read off the ring.
#[derive(Clone, Debug)]
struct Request {
    header: Header,
}

/// How the peer answered a request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Ok(Vec<u8>),
    Error(Vec<u8>),
    WrongType,
    /// A body over `XENSTORE_PAYLOAD_MAX` (oxenstored sends such directory lists).
    TooLarge,
}

struct Peer<'a> {
    input: Reader<'a>,
    page: Rc<SharedPages>,
    /// Bytes read off the request ring, not yet a whole request.
    inbox: Vec<u8>,
    requests: Vec<Request>,
    /// Answers by request index.
    answers: Vec<Option<Answer>>,
    /// Bytes waiting for room in the response ring.
    outbox: VecDeque<u8>,
    /// Tokens of the watches the guest registered (as the XS_WATCH payload carried them).
    tokens: Vec<Vec<u8>>,
    /// Events for a registered watch written into the ring, by watch id.
    events: Vec<(u16, u32)>,
    /// Transaction ids handed out (decimal `XS_TRANSACTION_START` answers).
    tx_ids: Vec<u32>,
    honest: bool,
}

impl Peer<'_> {
    fn idx(&self, at: usize) -> u32 {
        self.page.read::<u32>(at)
    }

    fn set(&self, at: usize, v: u32) {
        self.page.write::<u32>(at, v);
    }

    /// Reads what the guest produced, as a well-behaved xenstored does.
    fn consume(&mut self) {
        let (cons, prod) = (self.idx(REQ_CONS), self.idx(REQ_PROD));
        let avail = prod.wrapping_sub(cons);
        if avail > RING {
            return;
        }
        for i in 0..avail {
            let at = REQ + (cons.wrapping_add(i) & (RING - 1)) as usize;
            self.inbox.push(self.page.read::<u8>(at));
        }
        self.set(REQ_CONS, prod);
        while self.inbox.len() >= HEADER_LEN {
            let header = Header::from_bytes(self.inbox[..HEADER_LEN].try_into().expect("16"));
            let len = header.len as usize;
            if self.honest {
                assert!(
                    len <= XENSTORE_PAYLOAD_MAX,
                    "the guest sent a {len}-byte payload"
                );
                assert!(
                    [
                        XS_READ,
                        XS_WRITE,
                        XS_DIRECTORY,
                        XS_RM,
                        XS_WATCH,
                        XS_UNWATCH,
                        XS_TRANSACTION_START,
                        XS_TRANSACTION_END
                    ]
                    .contains(&header.type_),
                    "the guest sent type {}",
                    header.type_
                );
            }
            if self.honest {
                assert!(
                    header.tx_id == 0 || self.tx_ids.contains(&header.tx_id),
                    "the guest used transaction {} that was never started",
                    header.tx_id
                );
            }
            if self.inbox.len() < HEADER_LEN + len {
                break;
            }
            let payload = self.inbox[HEADER_LEN..HEADER_LEN + len].to_vec();
            self.inbox.drain(..HEADER_LEN + len);
            if self.honest {
                let nuls = payload.iter().filter(|&&b| b == 0).count();
                match header.type_ {
                    XS_READ | XS_DIRECTORY | XS_RM | XS_UNWATCH | XS_TRANSACTION_END
                    | XS_TRANSACTION_START => {
                        assert!(
                            payload.ends_with(&[0])
                                && nuls == 1 + usize::from(header.type_ == XS_UNWATCH),
                            "payload {payload:?} of type {}",
                            header.type_
                        );
                    }
                    XS_WATCH => assert!(
                        payload.ends_with(&[0]) && nuls == 2,
                        "watch payload {payload:?}"
                    ),
                    XS_WRITE => assert!(nuls >= 1, "write payload {payload:?}"),
                    _ => {}
                }
            }
            if header.type_ == XS_WATCH {
                let mut parts = payload.split(|&b| b == 0);
                let _path = parts.next();
                if let Some(token) = parts.next() {
                    self.tokens.push(token.to_vec());
                }
            }
            self.requests.push(Request { header });
            self.answers.push(None);
        }
    }

    fn enqueue(&mut self, header: Header, payload: &[u8]) {
        self.outbox.extend(header.to_bytes());
        self.outbox.extend(payload);
    }

    /// Writes as much of the outbox as fits.
    fn produce(&mut self) {
        let (cons, prod) = (self.idx(RSP_CONS), self.idx(RSP_PROD));
        let used = prod.wrapping_sub(cons);
        if used > RING {
            return;
        }
        let room = (RING - used) as usize;
        let n = room.min(self.outbox.len());
        for i in 0..n {
            let b = self.outbox.pop_front().expect("counted");
            self.page
                .write::<u8>(RSP + (prod.wrapping_add(i as u32) & (RING - 1)) as usize, b);
        }
        self.set(RSP_PROD, prod.wrapping_add(n as u32));
    }

    fn answer(&mut self) {
        let Some(index) = self.answers.iter().position(Option::is_none) else {
            return;
        };
        let request = self.requests[index].clone();
        let mut header = Header::new(
            request.header.type_,
            request.header.req_id,
            request.header.tx_id,
            0,
        );
        let (answer, payload) = match self.input.below(8) {
            0 => {
                let e = self
                    .input
                    .choose(&[
                        &b"ENOENT\0"[..],
                        b"EAGAIN\0",
                        b"EQUOTA\0",
                        b"EACCES",
                        b"E2BIG\0",
                        b"NOPE\0",
                    ])
                    .to_vec();
                header.type_ = XS_ERROR;
                (Answer::Error(e.clone()), e)
            }
            1 => {
                header.type_ = if request.header.type_ == XS_READ {
                    XS_WRITE
                } else {
                    XS_READ
                };
                (Answer::WrongType, b"OK\0".to_vec())
            }
            2 => {
                if self.input.bool() {
                    // Dishonest: another request's id.
                    self.honest = false;
                    header.req_id = header.req_id.wrapping_add(1 + u32::from(self.input.u8()));
                    (Answer::WrongType, b"OK\0".to_vec())
                } else {
                    // Oversized but framed: only this request fails.
                    let len = XENSTORE_PAYLOAD_MAX + 1 + usize::from(self.input.u16() % 600);
                    (Answer::TooLarge, vec![b'x'; len])
                }
            }
            _ => {
                let payload = match request.header.type_ {
                    XS_TRANSACTION_START if self.input.below(4) != 0 => {
                        let id = if self.input.bool() {
                            self.input.u32()
                        } else {
                            u32::from(self.input.u8())
                        };
                        self.tx_ids.push(id);
                        format!("{id}\0").into_bytes()
                    }
                    XS_DIRECTORY if self.input.bool() => b"vif\0vbd\0console\0".to_vec(),
                    _ => self.input.short_bytes(200).to_vec(),
                };
                if request.header.type_ == XS_TRANSACTION_START
                    && let Some(id) =
                        std::str::from_utf8(payload.split(|&b| b == 0).next().unwrap_or_default())
                            .ok()
                            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                            .and_then(|s| s.parse::<u32>().ok())
                {
                    self.tx_ids.push(id);
                }
                (Answer::Ok(payload.clone()), payload)
            }
        };
        header.len = payload.len() as u32;
        self.enqueue(header, &payload);
        self.answers[index] = Some(answer);
    }

    /// A watch event: for a registered token, or one made from it (other case, another
    /// caller, a byte changed, a missing or extra terminator), or any bytes.
    fn watch_event(&mut self) {
        if self.tokens.is_empty() {
            return;
        }
        let mut token = self.tokens[usize::from(self.input.u8()) % self.tokens.len()].clone();
        let mut payload = b"device/vif/0/state\0".to_vec();
        let mut terminator = vec![0];
        match self.input.below(8) {
            0 => token.make_ascii_lowercase(),
            1 => {
                let at = usize::from(self.input.u8()) % token.len().max(1);
                if let Some(b) = token.get_mut(at) {
                    *b = self.input.u8();
                }
            }
            2 => terminator = self.input.short_bytes(3).to_vec(),
            3 => {
                payload = self.input.short_bytes(64).to_vec();
                token.clear();
                terminator.clear();
            }
            _ => {}
        }
        payload.extend_from_slice(&token);
        payload.extend_from_slice(&terminator);
        self.enqueue(
            Header::new(XS_WATCH_EVENT, 0, 0, payload.len() as u32),
            &payload,
        );
        // Whom the documented format says it names: `path\0TOK|<hex caller>|<hex id>\0`, by id.
        if let Some(id) = event_id(&payload)
            && self.tokens.iter().any(|t| token_id(t) == Some(id))
        {
            match self.events.iter_mut().find(|(i, _)| *i == id) {
                Some((_, n)) => *n += 1,
                None => self.events.push((id, 1)),
            }
        }
    }

    fn hostile(&mut self) {
        self.honest = false;
        match self.input.below(4) {
            0 => {
                let at = self.input.choose(&[REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD]);
                let v = match self.input.below(3) {
                    0 => self.input.u32(),
                    1 => self.idx(at).wrapping_add(u32::from(self.input.u16())),
                    _ => self.idx(at).wrapping_sub(u32::from(self.input.u8())),
                };
                self.set(at, v);
            }
            1 => {
                let at = usize::from(self.input.u16()) % PAGE_USED;
                let bytes = self.input.short_bytes(32);
                for (i, &b) in bytes.iter().enumerate() {
                    if at + i < PAGE_USED {
                        self.page.write::<u8>(at + i, b);
                    }
                }
            }
            _ => {
                // Raw bytes as a reply stream.
                let bytes = self.input.short_bytes(64).to_vec();
                self.outbox.extend(bytes);
            }
        }
    }

    /// One peer turn, run while the guest waits.
    fn turn(&mut self) -> Wait {
        for _ in 0..1 + self.input.below(3) {
            match self.input.below(8) {
                0..=2 => self.consume(),
                3 | 4 => {
                    self.consume();
                    self.answer();
                }
                5 => self.watch_event(),
                // Hostile in one turn of 32 at most: an honest peer should be common.
                6 if self.input.below(4) == 0 => self.hostile(),
                _ => {}
            }
            self.produce();
        }
        if self.input.below(4) == 0 {
            Wait::TimedOut
        } else {
            Wait::Signalled
        }
    }
}

/// The watch id of a token as the documented format spells it: `TOK|`, the caller in
/// 16 hex digits, `|`, the id in 4 hex digits.
fn token_id(token: &[u8]) -> Option<u16> {
    let rest = token.strip_prefix(b"TOK|")?;
    if rest.len() != 16 + 1 + 4 || rest[16] != b'|' {
        return None;
    }
    let (caller, id) = (&rest[..16], &rest[17..]);
    if !caller.iter().chain(id).all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(id).ok()?, 16).ok()
}

/// The watch id an event payload (`path\0token\0`, nothing after) names.
fn event_id(payload: &[u8]) -> Option<u16> {
    let nul = payload.iter().position(|&b| b == 0)?;
    let rest = &payload[nul + 1..];
    let (token, end) = rest.split_at_checked(rest.len().checked_sub(1)?)?;
    (end == [0]).then_some(())?;
    token_id(token)
}

struct Doorbell<'a> {
    peer: Rc<RefCell<Peer<'a>>>,
}

impl EventChannel for Doorbell<'_> {
    fn notify(&mut self) {}

    fn wait(&mut self) -> Wait {
        self.peer.borrow_mut().turn()
    }
}

/// The ring transport, with every call checked against the page.
struct Checked<'a> {
    ring: RingTransport<Doorbell<'a>>,
    page: Rc<SharedPages>,
}

impl Checked<'_> {
    fn indices(&self, prod: usize, cons: usize) -> (u32, u32) {
        (self.page.read::<u32>(prod), self.page.read::<u32>(cons))
    }
}

impl Transport for Checked<'_> {
    fn send(&mut self, data: &[u8]) -> Result<usize, StoreError> {
        let before = self.page.snapshot(0, PAGE_USED);
        let (prod, cons) = self.indices(REQ_PROD, REQ_CONS);
        let result = self.ring.send(data);
        let used = prod.wrapping_sub(cons);
        let mut model = before.clone();
        match result {
            Ok(n) => {
                assert!(used <= RING, "send on a corrupt ring succeeded");
                assert_eq!(n, data.len().min((RING - used) as usize));
                for (i, &b) in data[..n].iter().enumerate() {
                    model[REQ + (prod.wrapping_add(i as u32) & (RING - 1)) as usize] = b;
                }
                if n > 0 {
                    model[REQ_PROD..REQ_PROD + 4]
                        .copy_from_slice(&prod.wrapping_add(n as u32).to_le_bytes());
                }
            }
            Err(e) => {
                assert_eq!(e, StoreError::Protocol);
                assert!(used > RING, "send failed on a sane ring");
            }
        }
        assert!(
            self.page.snapshot(0, PAGE_USED) == model,
            "send left the page unlike the model"
        );
        result
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, StoreError> {
        let before = self.page.snapshot(0, PAGE_USED);
        let (prod, cons) = self.indices(RSP_PROD, RSP_CONS);
        let result = self.ring.recv(buf);
        let avail = prod.wrapping_sub(cons);
        let mut model = before.clone();
        match result {
            Ok(n) => {
                assert!(avail <= RING, "recv on a corrupt ring succeeded");
                assert_eq!(n, buf.len().min(avail as usize));
                for (i, &b) in buf[..n].iter().enumerate() {
                    assert_eq!(
                        b,
                        before[RSP + (cons.wrapping_add(i as u32) & (RING - 1)) as usize]
                    );
                }
                if n > 0 {
                    model[RSP_CONS..RSP_CONS + 4]
                        .copy_from_slice(&cons.wrapping_add(n as u32).to_le_bytes());
                }
            }
            Err(e) => {
                assert_eq!(e, StoreError::Protocol);
                assert!(avail > RING, "recv failed on a sane ring");
            }
        }
        assert!(
            self.page.snapshot(0, PAGE_USED) == model,
            "recv left the page unlike the model"
        );
        result
    }

    fn notify(&mut self) {
        self.ring.notify();
    }

    fn wait(&mut self) -> Wait {
        self.ring.wait()
    }

    fn shared_ring(&self) -> Option<shared_mem::SharedMem> {
        self.ring.shared_ring()
    }
}

#[derive(Default)]
struct Signals(AtomicU32);

impl WatchEvent for Signals {
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// With an honest peer, what a one-request call returned must be what the peer answered the
/// request of type `ty` it read during the call with (the last one: an older, abandoned request
/// may have been read during the call too). `result` is the payload on success.
fn check_answer(p: &Peer<'_>, first_request: usize, ty: u32, result: Result<Vec<u8>, StoreError>) {
    if !p.honest {
        return;
    }
    let mine = (first_request..p.requests.len())
        .rev()
        .find(|&i| p.requests[i].header.type_ == ty);
    let Some(Some(answer)) = mine.and_then(|i| p.answers.get(i)) else {
        return;
    };
    // The answer decides the result; only a wait that ran out first (the answer's last bytes
    // arriving in the final wait slice) may end the call otherwise.
    match (&result, answer) {
        (Err(StoreError::TimedOut), _) => {}
        (Ok(bytes), Answer::Ok(payload)) => {
            assert_eq!(bytes, payload, "the payload of a type {ty} answer");
        }
        (Err(StoreError::Daemon(e)), Answer::Error(payload)) => {
            assert_eq!(*e, XsErrno::from_payload(payload));
        }
        (Err(StoreError::Protocol), Answer::WrongType)
        | (Err(StoreError::ReplyTooLarge), Answer::TooLarge) => {}
        (result, answer) => panic!("type {ty}: {result:?} on {answer:?}"),
    }
}

const PATHS: [&[u8]; 6] = [
    b"device",
    b"device/vif/0/state",
    b"memory/target",
    b"/local/domain/0/backend",
    b"",
    b"data/\xff\xfe",
];

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let platform = FuzzPlatform::new(1);
    let page = Rc::new(SharedPages::new(1));
    let seed = r.u16();
    let peer = Rc::new(RefCell::new(Peer {
        input: Reader::new(&[]),
        page: Rc::clone(&page),
        inbox: Vec::new(),
        requests: Vec::new(),
        answers: Vec::new(),
        outbox: VecDeque::new(),
        tokens: Vec::new(),
        events: Vec::new(),
        tx_ids: Vec::new(),
        honest: true,
    }));
    // The peer's script is the second half of the input, the guest's the first.
    let rest = r.rest();
    let (ours, theirs) = rest.split_at(rest.len() / 2);
    let mut r = Reader::new(ours);
    peer.borrow_mut().input = Reader::new(theirs);
    // SAFETY: the page is this run's, page-aligned, alive for the transport, and touched only
    // by the transport and by the peer between its calls.
    let ring = unsafe {
        RingTransport::new(
            page.ptr(),
            Doorbell {
                peer: Rc::clone(&peer),
            },
        )
    };
    let transport = Checked {
        ring,
        page: Rc::clone(&page),
    };
    let config = StoreConfig {
        request_id_seed: seed,
        watch_id_seed: seed.rotate_left(7),
        limits: WaitLimits {
            max_timeouts: 2,
            max_waits: 24,
        },
    };
    let store = Store::new(platform, transport, config);
    let mut watches: Vec<(Watch, Arc<Signals>)> = Vec::new();
    let mut all_signals: Vec<Arc<Signals>> = Vec::new();
    let mut transactions = Vec::new();
    let mut resumed = false;
    let mut buffers = 0usize;
    let mut dog = Watchdog::new();
    let mut ops = 0;
    while !r.is_empty() && ops < 48 {
        ops += 1;
        let first_request = peer.borrow().requests.len();
        let path = r.choose(&PATHS);
        match r.below(12) {
            0..=2 => {
                let tx = if r.below(4) == 0 {
                    transactions.first().copied()
                } else {
                    None
                };
                let result = store.read(tx, None, path);
                let bytes = result
                    .as_ref()
                    .map(|b| b.as_bytes().to_vec())
                    .map_err(|e| *e);
                check_answer(&peer.borrow(), first_request, XS_READ, bytes);
                if let Ok(buffer) = result {
                    assert!(buffer.as_bytes().len() <= XENSTORE_PAYLOAD_MAX);
                    assert!(buffer.as_c_bytes().ends_with(&[0, 0]));
                    buffers += 1;
                    store.free(buffer);
                    buffers -= 1;
                }
            }
            3 => {
                let value = r.short_bytes(64);
                let _ = store.write(None, None, path, value);
            }
            4 => {
                let result = store.directory(None, None, path);
                let bytes = match &result {
                    Ok(list) => Ok(list.as_bytes().to_vec()),
                    Err(StoreError::PathNotFound) => Ok(Vec::new()),
                    Err(e) => Err(*e),
                };
                check_answer(&peer.borrow(), first_request, XS_DIRECTORY, bytes);
                if let Ok(list) = result {
                    assert!(!list.as_bytes().is_empty(), "an empty list is PathNotFound");
                    assert!(list.entries().all(|e| !e.is_empty() && !e.contains(&0)));
                    store.free(list);
                }
            }
            5 => {
                let _ = store.remove(transactions.first().copied(), None, path);
            }
            6 => {
                let signals = Arc::new(Signals::default());
                if let Ok(w) =
                    store.watch_add(None, path, signals.clone(), usize::from(r.u16()) << 4)
                {
                    all_signals.push(Arc::clone(&signals));
                    watches.push((w, signals));
                }
            }
            7 => {
                if !watches.is_empty() {
                    let (w, signals) = watches.remove(usize::from(r.u8()) % watches.len());
                    if store.watch_remove(w).is_ok() {
                        assert_eq!(store.watch_remove(w), Err(StoreError::InvalidHandle));
                    } else {
                        // A failed XS_UNWATCH leaves the watch registered (as upstream).
                        watches.push((w, signals));
                    }
                }
            }
            8 => {
                if transactions.is_empty() || r.bool() {
                    let result = store.transaction_start();
                    let p = peer.borrow();
                    if p.honest
                        && let Some(i) = (first_request..p.requests.len())
                            .rev()
                            .find(|&i| p.requests[i].header.type_ == XS_TRANSACTION_START)
                        && let Some(Some(Answer::Ok(payload))) = p.answers.get(i)
                    {
                        let digits = payload.split(|&b| b == 0).next().unwrap_or_default();
                        let valid = !digits.is_empty()
                            && digits.iter().all(u8::is_ascii_digit)
                            && std::str::from_utf8(digits).is_ok_and(|s| s.parse::<u32>().is_ok());
                        match &result {
                            Ok(_) => assert!(valid, "a transaction from {payload:?}"),
                            Err(StoreError::Protocol) => assert!(!valid, "{payload:?} refused"),
                            Err(_) => {}
                        }
                    }
                    drop(p);
                    if let Ok(t) = result {
                        transactions.push(t);
                    }
                } else {
                    let t = transactions.remove(0);
                    match store.transaction_end(t, r.bool()) {
                        Ok(()) => assert_eq!(
                            store.transaction_end(t, true),
                            Err(StoreError::InvalidHandle)
                        ),
                        // A conflict or an expired transaction is gone; any other failure leaves
                        // it open (as upstream).
                        Err(e) if e.is_retry() => {}
                        Err(_) => transactions.push(t),
                    }
                }
            }
            9 => {
                let keys: Vec<&[u8]> = (0..r.below(4)).map(|_| r.choose(&PATHS)).collect();
                for buffer in store.read_many(&keys).into_iter().flatten() {
                    store.free(buffer);
                }
            }
            10 => {
                store.poll();
                let _ = store.watchdog_check(&mut dog);
                let mut out = String::new();
                store.debug_dump(&mut out, r.bool()).expect("dump");
            }
            _ => {
                // Suspend and resume: the peer starts over on the same page.
                store.suspend_early();
                {
                    let mut p = peer.borrow_mut();
                    p.outbox.clear();
                    p.inbox.clear();
                    let (rp, rc) = (p.idx(REQ_PROD), p.idx(RSP_CONS));
                    p.set(REQ_CONS, rp);
                    p.set(RSP_PROD, rc);
                    let n = p.requests.len();
                    p.answers.truncate(n);
                    for a in &mut p.answers {
                        a.get_or_insert(Answer::WrongType);
                    }
                }
                store.resume(|_| {});
                resumed = true;
            }
        }
        let outstanding = store.outstanding();
        assert_eq!(outstanding.buffers, buffers);
        assert_eq!(outstanding.transactions, transactions.len());
    }
    // Drain: the peer flushes what it has, the guest polls.
    for _ in 0..4 {
        peer.borrow_mut().produce();
        store.poll();
    }
    let p = peer.borrow();
    let drained = p.outbox.is_empty();
    // No watch hears more than the events an honest peer sent for it (plus one per resume).
    // A dishonest peer may replay events (it rewinds `rsp_cons`, the guest's own index, which
    // lives on the shared page: the guest reads the same bytes again) or forge them (raw bytes
    // that frame an event); the store cannot tell those from real ones, as upstream's and
    // Linux's clients cannot (finding `4-signals-for-2-events`).
    let total_events: u32 = p.events.iter().map(|(_, n)| n).sum();
    let total_signals: u32 = all_signals.iter().map(|s| s.0.load(Ordering::SeqCst)).sum();
    if !resumed && p.honest {
        assert!(
            total_signals <= total_events,
            "{total_signals} signals for {total_events} events"
        );
        if drained && watches.len() == all_signals.len() && all_signals.len() == p.tokens.len() {
            assert_eq!(
                total_signals, total_events,
                "a watch event was lost or doubled"
            );
        }
    }
}

/// Seeds: the store's everyday conversation (read, directory of `device/`, a watch and its
/// event, a transaction) with an honest xenstored, then one that lies about indices.
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut ours = Writer::new();
    // path index, op.
    ours.u8(2)
        .u8(0)
        .u8(0)
        .u8(4)
        .u8(1)
        .u8(6)
        .u16(0x4242)
        .u8(2)
        .u8(0)
        .u8(0)
        .u8(8)
        .u8(1)
        .u8(1)
        .u8(5)
        .u8(0)
        .u8(10)
        .u8(0)
        .u8(1)
        .u8(7)
        .u8(0);
    let mut theirs = Writer::new();
    for _ in 0..24 {
        // consume+answer (ok), produce; then a watch event.
        theirs.u8(1).u8(3).u8(3).short_bytes(b"4096\0").u8(1);
        theirs.u8(0).u8(5).u8(0).u8(1);
    }
    let (a, b) = (ours.finish(), theirs.finish());
    let mut honest = vec![0x34, 0x12];
    let pad = b.len().saturating_sub(a.len());
    honest.extend_from_slice(&a);
    honest.extend(std::iter::repeat_n(0u8, pad));
    honest.extend_from_slice(&b);

    let mut hostile_ours = Writer::new();
    hostile_ours.u8(0).u8(0).u8(1).u8(3).u8(2).u8(0);
    let mut hostile_theirs = Writer::new();
    hostile_theirs
        .u8(2)
        .u8(6)
        .u8(0)
        .u8(0)
        .u8(1)
        .u32(5000)
        .u8(1)
        .u8(6)
        .u8(0)
        .u8(2)
        .short_bytes(&[0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0])
        .u8(0);
    hostile_theirs.u8(1).u8(3).u8(2).u8(0).u16(100).u8(1);
    let (a, b) = (hostile_ours.finish(), hostile_theirs.finish());
    let mut hostile = vec![0, 0];
    let pad = b.len().saturating_sub(a.len());
    hostile.extend_from_slice(&a);
    hostile.extend(std::iter::repeat_n(0u8, pad));
    hostile.extend_from_slice(&b);
    vec![("honest", honest), ("hostile", hostile)]
}
