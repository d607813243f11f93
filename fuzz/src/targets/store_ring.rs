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
    Store, StoreConfig, StoreError, Transport, Wait, WaitLimits, Watch, WatchEvent, XsErrno, watch,
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

/// The `XS_ERROR` payloads an honest peer answers with (chosen by one byte).
const ERROR_ANSWERS: [&[u8]; 6] = [
    b"ENOENT\0",
    b"EAGAIN\0",
    b"EQUOTA\0",
    b"EACCES",
    b"E2BIG\0",
    b"NOPE\0",
];

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
                let e = self.input.choose(&ERROR_ANSWERS).to_vec();
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
/// event, a transaction) with an honest xenstored, then one that lies about indices, then the
/// `peer-*` seeds whose peer answers with the real daemons' captured replies (`peer_seeds`).
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
    let mut out = vec![("honest", honest), ("hostile", hostile)];
    out.extend(peer_seeds());
    out
}

/// What Debian's real xenstored and oxenstored put on a guest's ring, captured by
/// `crates/xenstored-harness/examples/capture_replies.rs` (the file's header says how to
/// regenerate it).
const PEER_REPLIES: &str = include_str!("../../peer/xenstored-replies.txt");

/// The messages of `daemon` (`xenstored-c`, `xenstored-ocaml`) that request `label` drew, in
/// the order they came off the ring (the reply and any watch events, labelled `label/event`):
/// each as its type name and payload.
pub(crate) fn captured(daemon: &str, label: &str) -> Vec<(&'static str, Vec<u8>)> {
    let event = format!("{label}/event");
    let found: Vec<_> = PEER_REPLIES
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut fields = line.splitn(4, ' ');
            let (d, l, ty, quoted) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            (d == daemon && (l == label || l == event)).then(|| (ty, unescape(quoted)))
        })
        .collect();
    assert!(!found.is_empty(), "{daemon} {label} is not in the capture");
    found
}

/// A payload as the capture file spells it: `"..."`, with `\xNN`, `\\` and `\"`.
fn unescape(quoted: &str) -> Vec<u8> {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .expect("a quoted payload");
    let mut out = Vec::new();
    let mut bytes = inner.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'x') => {
                let hex = [bytes.next().expect("hex"), bytes.next().expect("hex")];
                let hex = std::str::from_utf8(&hex).expect("hex digits");
                out.push(u8::from_str_radix(hex, 16).expect("hex digits"));
            }
            Some(c) => out.push(c),
            None => panic!("a trailing backslash in {quoted}"),
        }
    }
    out
}

/// The guest seed (request ids start here) of the peer seeds.
const PEER_SEED: u16 = 0x1234;
/// The watch caller the peer seeds' guest passes (`u16 << 4`): the capture's token caller.
const PEER_CALLER: u16 = 0x0424;

/// One thing the peer does in a turn of a peer seed.
enum Act {
    /// Consumes the requests and answers the oldest unanswered one: `XS_ERROR` with this
    /// payload (one of `ERROR_ANSWERS`), or the request's type with this payload.
    Answer {
        ty: u32,
        error: bool,
        payload: Vec<u8>,
    },
    /// A watch event with this payload (written whole, the guest's token in it).
    Event(Vec<u8>),
    /// Consumes the requests and writes these raw bytes (a whole message): the peer turns
    /// dishonest, so the target stops checking answers from here on.
    Raw(Vec<u8>),
}

/// The two scripts of a peer seed: the guest's operations and the peer's turns.
#[derive(Default)]
struct PeerSeed {
    ours: Writer,
    theirs: Writer,
    /// Requests the guest made so far (their ids count up from `PEER_SEED`).
    requests: u16,
    /// Watches the guest added so far (their ids count up from `PEER_SEED.rotate_left(7)`).
    watches: u16,
}

impl PeerSeed {
    /// One peer turn (at most three steps: a raw message takes two), then a signal.
    fn turn(&mut self, acts: Vec<Act>) {
        let steps: usize = acts
            .iter()
            .map(|a| if matches!(a, Act::Raw(_)) { 2 } else { 1 })
            .sum();
        assert!((1..=3).contains(&steps), "{steps} steps in one turn");
        let t = &mut self.theirs;
        t.u8(steps as u8 - 1);
        for act in acts {
            match act {
                Act::Answer {
                    error: true,
                    payload,
                    ..
                } => {
                    let at = ERROR_ANSWERS
                        .iter()
                        .position(|e| *e == payload.as_slice())
                        .expect("an error answer the target can spell");
                    t.u8(3).u8(0).u8(at as u8);
                }
                Act::Answer { ty, payload, .. } => {
                    // OK; a transaction id or a directory list as bytes, not the made-up ones.
                    t.u8(3).u8(3);
                    if ty == XS_TRANSACTION_START || ty == XS_DIRECTORY {
                        t.u8(0);
                    }
                    t.short_bytes(&payload);
                }
                Act::Event(payload) => {
                    t.u8(5).u8(0).u8(3).short_bytes(&payload);
                }
                Act::Raw(bytes) => {
                    t.u8(0).u8(6).u8(0).u8(2).short_bytes(&bytes);
                }
            }
        }
        t.u8(1);
    }

    /// A guest request (`op` bytes of the target's script) answered with what `daemon`
    /// answered request `label` with (events too). With `raw` an error is written as a raw
    /// message; without, an error the target's list cannot spell is a bug in the seed.
    fn request(&mut self, op: &[u8], ty: u32, tx_id: u32, daemon: &str, label: &str, raw: bool) {
        self.ours.bytes(op);
        let req_id = u32::from(PEER_SEED.wrapping_add(self.requests));
        self.requests += 1;
        let mut acts = Vec::new();
        for (name, payload) in captured(daemon, label) {
            acts.push(match name {
                "WATCH_EVENT" => {
                    // The capture's token, replaced by the one the guest registered last.
                    let path = payload.split(|&b| b == 0).next().unwrap_or_default();
                    let id = PEER_SEED.rotate_left(7).wrapping_add(self.watches - 1);
                    let token = watch::token(usize::from(PEER_CALLER) << 4, id);
                    Act::Event([path, b"\0", &token, b"\0"].concat())
                }
                // Raw even if the list could spell it: `answer` takes the oldest unanswered
                // request, and the raw ones before stay unanswered.
                "ERROR" if raw => {
                    let header = Header::new(XS_ERROR, req_id, tx_id, payload.len() as u32);
                    Act::Raw([&header.to_bytes()[..], &payload].concat())
                }
                _ => Act::Answer {
                    ty,
                    error: name == "ERROR",
                    payload,
                },
            });
        }
        self.turn(acts);
    }

    /// Reads `PATHS[path]`, in the open transaction `in_tx` or outside any.
    fn read(&mut self, path: u8, in_tx: Option<u32>, daemon: &str, label: &str) {
        let op = [path, 0, u8::from(in_tx.is_none())];
        self.request(&op, XS_READ, in_tx.unwrap_or(0), daemon, label, false);
    }

    /// Writes `value` (at most 64 bytes) to `PATHS[path]`.
    fn write(&mut self, path: u8, value: &[u8], daemon: &str, label: &str) {
        let mut op = vec![path, 3, value.len() as u8];
        op.extend_from_slice(value);
        self.request(&op, XS_WRITE, 0, daemon, label, false);
    }

    /// Lists `PATHS[path]`.
    fn directory(&mut self, path: u8, daemon: &str, label: &str) {
        self.request(&[path, 4], XS_DIRECTORY, 0, daemon, label, false);
    }

    /// Removes `PATHS[path]` (no transaction may be open).
    fn remove(&mut self, path: u8, daemon: &str, label: &str) {
        self.request(&[path, 5], XS_RM, 0, daemon, label, false);
    }

    /// Watches `PATHS[path]`, with `PEER_CALLER` in the token.
    fn watch(&mut self, path: u8, daemon: &str, label: &str) {
        self.watches += 1;
        let [lo, hi] = PEER_CALLER.to_le_bytes();
        self.request(&[path, 6, lo, hi], XS_WATCH, 0, daemon, label, false);
    }

    /// Removes the oldest watch still registered.
    fn unwatch(&mut self, daemon: &str, label: &str) {
        self.request(&[0, 7, 0], XS_UNWATCH, 0, daemon, label, false);
    }

    /// Starts a transaction (none is open); returns its id.
    fn start(&mut self, daemon: &str, label: &str) -> u32 {
        self.request(&[0, 8], XS_TRANSACTION_START, 0, daemon, label, false);
        let (_, payload) = &captured(daemon, label)[0];
        let digits = payload.split(|&b| b == 0).next().unwrap_or_default();
        std::str::from_utf8(digits)
            .expect("an ASCII id")
            .parse()
            .expect("a decimal id")
    }

    /// Ends the oldest open transaction (`tx`), committing it or not.
    fn end(&mut self, tx: u32, commit: bool, daemon: &str, label: &str, raw: bool) {
        let op = [0, 8, 0, u8::from(commit)];
        self.request(&op, XS_TRANSACTION_END, tx, daemon, label, raw);
    }

    /// The input: the seed, then both scripts at equal length (the guest's padded with polls,
    /// which make no request; the peer's with zeros, which it never reaches).
    fn finish(self) -> Vec<u8> {
        let (mut ours, mut theirs) = (self.ours.finish(), self.theirs.finish());
        while ours.len() < theirs.len() {
            ours.extend_from_slice(&[0, 10, 0]);
        }
        theirs.resize(ours.len(), 0);
        let mut input = PEER_SEED.to_le_bytes().to_vec();
        input.extend_from_slice(&ours);
        input.extend_from_slice(&theirs);
        input
    }
}

/// `PATHS[DEVICE]`: `device`.
const DEVICE: u8 = 0;
/// `PATHS[STATE]`: `device/vif/0/state`.
const STATE: u8 = 1;
/// `PATHS[TARGET]`: `memory/target`.
const TARGET: u8 = 2;
/// `PATHS[DOM0_NODE]`: `/local/domain/0/backend`, dom0's.
const DOM0_NODE: u8 = 3;
/// `PATHS[EMPTY]`: the empty path.
const EMPTY: u8 = 4;
/// `PATHS[BAD_BYTES]`: a path with bytes xenstored refuses.
const BAD_BYTES: u8 = 5;

/// Seeds whose peer answers every request with what the real daemons answered the same request
/// (`PEER_REPLIES`): reads and directories (present, missing, an inner node, a leaf), writes,
/// removals, a watch with its events, transactions (committed, conflicting, aborted), and the
/// errors the honest peer cannot spell, written raw.
fn peer_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (d, names) in [
        (
            "xenstored-c",
            [
                "peer-c-nodes",
                "peer-c-watch",
                "peer-c-transactions",
                "peer-c-errors",
            ],
        ),
        (
            "xenstored-ocaml",
            [
                "peer-ocaml-nodes",
                "peer-ocaml-watch",
                "peer-ocaml-transactions",
                "peer-ocaml-errors",
            ],
        ),
    ] {
        let mut s = PeerSeed::default();
        s.read(TARGET, None, d, "read-value");
        s.read(STATE, None, d, "read-state");
        s.read(DEVICE, None, d, "read-inner-node");
        s.read(STATE, None, d, "read-missing");
        s.write(TARGET, b"2097152", d, "write");
        s.directory(DEVICE, d, "directory");
        s.directory(STATE, d, "directory-leaf");
        s.directory(STATE, d, "directory-missing");
        s.remove(DEVICE, d, "rm");
        s.remove(DEVICE, d, "rm-missing");
        s.remove(STATE, d, "rm-missing-parent");
        out.push((names[0], s.finish()));

        let mut s = PeerSeed::default();
        s.watch(DEVICE, d, "watch");
        s.write(STATE, b"5", d, "watched-write");
        s.unwatch(d, "unwatch");
        // A second watch the daemon no longer knows when it is removed: it stays registered.
        s.watch(DEVICE, d, "watch");
        s.unwatch(d, "unwatch-again");
        out.push((names[1], s.finish()));

        let mut s = PeerSeed::default();
        let t = s.start(d, "transaction-start");
        s.read(TARGET, Some(t), d, "tx-read");
        s.write(STATE, b"6", d, "tx-write");
        s.end(t, true, d, "transaction-commit", false);
        let t = s.start(d, "transaction-start-2");
        s.read(TARGET, Some(t), d, "tx-read-2");
        s.write(TARGET, b"3145728", d, "tx-write-2");
        s.end(t, true, d, "transaction-conflict", false);
        let t = s.start(d, "transaction-start-3");
        s.end(t, false, d, "transaction-abort", false);
        out.push((names[2], s.finish()));

        // The errors, written raw, each framed for the request it answers (the honest peer's
        // list cannot spell EINVAL, EACCES with its NUL, ENOSPC or EIO); the peer is dishonest
        // from the first one on.
        let mut s = PeerSeed::default();
        let t = s.start(d, "transaction-start");
        for (op, ty, label) in [
            (&[EMPTY, 0, 1][..], XS_READ, "read-empty-path"),
            (&[BAD_BYTES, 0, 1], XS_READ, "read-bad-bytes"),
            (&[DOM0_NODE, 0, 1], XS_READ, "read-dom0-node"),
            (&[DOM0_NODE, 3, 1, b'1'], XS_WRITE, "write-dom0-node"),
            (&[BAD_BYTES, 3, 1, b'1'], XS_WRITE, "write-bad-bytes"),
            (
                &[TARGET, 3, 4, b'b', b'i', b'g', b'!'],
                XS_WRITE,
                "write-4000-bytes",
            ),
            (&[DOM0_NODE, 4], XS_DIRECTORY, "directory-dom0-node"),
        ] {
            s.request(op, ty, 0, d, label, true);
        }
        s.end(t, true, d, "transaction-end-again", true);
        out.push((names[3], s.finish()));
    }
    out
}
