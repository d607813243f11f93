// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Captures what Debian's real xenstored (and oxenstored) answer a guest, byte for byte, for the
//! fuzz corpus: `fuzz/peer/xenstored-replies.txt`, which the `store_ring` and `pdo_identity`
//! targets' `peer-*` seeds are built from.
//!
//! The daemon runs under the harness's shim ([`Daemon::start`]); dom0 (the socket) plays the
//! toolstack and writes a small guest tree; the guest is introduced and this program then
//! writes raw requests into the guest's ring page and reads raw messages back off it, so every
//! reply and watch event is recorded exactly as the daemon put it on the ring. The requests
//! are the ones the `store_ring` target's guest makes (reads of present and missing nodes,
//! writes, directories, removal, a watch and its events, transactions including a conflicting
//! one) plus the errors a guest can provoke (a path too long, bad characters, a node dom0 owns).
//!
//! ```text
//! cargo run -p xenstored-harness --example capture_replies > fuzz/peer/xenstored-replies.txt
//! cargo run -p xenstored-harness --example capture_replies -- c   # one daemon only
//! ```
//!
//! Output: one message per line, `<daemon> <label> <type> "<payload>"`, the payload escaped
//! (`\xNN` for bytes outside printable ASCII, `\\` and `\"`). A daemon that cannot run here
//! fails the capture (nothing is written for it silently).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use xenbus::store::wire::{
    HEADER_LEN, Header, XS_DIRECTORY, XS_ERROR, XS_READ, XS_RM, XS_TRANSACTION_END,
    XS_TRANSACTION_START, XS_UNWATCH, XS_WATCH, XS_WATCH_EVENT, XS_WRITE, encode_request,
};
use xenbus::store::{Transport, Wait, watch};
use xenstored_harness::{Daemon, Impl, unavailable};

/// The guest's domain id.
const DOMID: u16 = 3;

/// One message read off the guest's response ring.
struct Message {
    header: Header,
    payload: Vec<u8>,
}

/// The name of a message type, as the capture file spells it.
fn type_name(ty: u32) -> String {
    match ty {
        XS_READ => "READ".into(),
        XS_WRITE => "WRITE".into(),
        XS_DIRECTORY => "DIRECTORY".into(),
        XS_RM => "RM".into(),
        XS_WATCH => "WATCH".into(),
        XS_UNWATCH => "UNWATCH".into(),
        XS_TRANSACTION_START => "TRANSACTION_START".into(),
        XS_TRANSACTION_END => "TRANSACTION_END".into(),
        XS_ERROR => "ERROR".into(),
        XS_WATCH_EVENT => "WATCH_EVENT".into(),
        other => format!("TYPE_{other}"),
    }
}

/// A payload as the capture file spells it (inside double quotes).
fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => write!(out, "\\x{b:02x}").expect("a String takes any text"),
        }
    }
    out
}

/// The guest's side of the ring: raw requests in, raw messages out.
struct Wire<'a, T: Transport> {
    transport: &'a mut T,
    daemon: &'static str,
    next_id: u32,
    /// Bytes read off the ring, not yet a whole message.
    inbox: Vec<u8>,
    lines: Vec<String>,
}

impl<T: Transport> Wire<'_, T> {
    /// Sends one request, then records messages until its reply and `events` watch events
    /// arrived; returns the reply's payload.
    fn exchange(
        &mut self,
        label: &str,
        ty: u32,
        tx_id: u32,
        pieces: &[&[u8]],
        events: usize,
    ) -> Vec<u8> {
        self.next_id += 1;
        let request = encode_request(ty, self.next_id, tx_id, pieces).expect("request fits");
        let mut sent = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        while sent < request.len() {
            sent += self.transport.send(&request[sent..]).expect("ring send");
            self.transport.notify();
            if sent < request.len() {
                assert!(Instant::now() < deadline, "{label}: the ring stayed full");
                let _ = self.transport.wait();
            }
        }
        let (mut reply, mut seen_events) = (None, 0);
        while reply.is_none() || seen_events < events {
            let message = self.next_message(label);
            let kind = if message.header.type_ == XS_WATCH_EVENT {
                seen_events += 1;
                format!("{label}/event")
            } else {
                assert_eq!(message.header.req_id, self.next_id, "{label}: reply id");
                label.to_string()
            };
            self.lines.push(format!(
                "{} {kind} {} \"{}\"",
                self.daemon,
                type_name(message.header.type_),
                escape(&message.payload)
            ));
            if message.header.type_ != XS_WATCH_EVENT {
                reply = Some(message.payload);
            }
        }
        reply.expect("loop ends with a reply")
    }

    /// The next whole message off the ring (5 s at most).
    fn next_message(&mut self, label: &str) -> Message {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.inbox.len() >= HEADER_LEN {
                let header =
                    Header::from_bytes(self.inbox[..HEADER_LEN].try_into().expect("16 bytes"));
                let end = HEADER_LEN + header.len as usize;
                if self.inbox.len() >= end {
                    let payload = self.inbox[HEADER_LEN..end].to_vec();
                    self.inbox.drain(..end);
                    return Message { header, payload };
                }
            }
            let mut buf = [0u8; 1024];
            let n = self.transport.recv(&mut buf).expect("ring recv");
            self.inbox.extend_from_slice(&buf[..n]);
            if n == 0 {
                assert!(Instant::now() < deadline, "{label}: no reply within 5 s");
                if self.transport.wait() == Wait::TimedOut {
                    std::thread::yield_now();
                }
            } else {
                self.transport.notify();
            }
        }
    }
}

/// A transaction id as the daemon spelled it (`<decimal>\0`).
fn tx_id(payload: &[u8]) -> u32 {
    std::str::from_utf8(payload.split(|&b| b == 0).next().unwrap_or_default())
        .expect("ASCII id")
        .parse()
        .expect("decimal id")
}

/// Runs the whole conversation against `imp`; returns the capture lines.
fn capture(imp: Impl) -> Vec<String> {
    let daemon = Daemon::start(imp).expect("daemon starts");
    let dom0 = daemon.dom0().expect("dom0 connection");
    let guest = daemon.guest(&dom0, DOMID).expect("guest introduced");
    let home = |node: &str| format!("/local/domain/{DOMID}/{node}");
    // The toolstack's part: a guest tree like a libxl HVM guest's, and a backend area of dom0's
    // own that the guest may not read.
    for (node, value) in [
        (home("memory/target"), "1048576"),
        (home("device/vif/0/state"), "4"),
        (home("device/vif/0/backend-id"), "0"),
        (home("device/vbd/768/state"), "4"),
        (home("device/vkbd/0/state"), "4"),
        (home("data"), ""),
        (format!("/local/domain/0/backend/vif/{DOMID}/0/state"), "4"),
    ] {
        dom0.write(None, None, node.as_bytes(), value.as_bytes())
            .expect("dom0 write");
    }
    let race = || {
        dom0.write(None, None, home("memory/target").as_bytes(), b"4194304")
            .expect("dom0 races the transaction");
    };
    guest.with_transport(|transport| {
        let mut w = Wire {
            transport,
            daemon: imp.name(),
            next_id: 0,
            inbox: Vec::new(),
            lines: Vec::new(),
        };
        conversation(&mut w, race);
        w.lines
    })
}

/// The guest's requests, in order; `race` is dom0's write that makes a transaction conflict.
fn conversation<T: Transport>(w: &mut Wire<'_, T>, race: impl FnOnce()) {
    let mut too_long_path = vec![b'a'; 3000];
    too_long_path.push(0);
    let big_value = vec![b'v'; 4000];
    let token = watch::token(0x4240, 0x0300);
    w.exchange("read-value", XS_READ, 0, &[b"memory/target\0"], 0);
    w.exchange("read-state", XS_READ, 0, &[b"device/vif/0/state\0"], 0);
    w.exchange("read-inner-node", XS_READ, 0, &[b"device\0"], 0);
    w.exchange("read-missing", XS_READ, 0, &[b"device/vif/1/state\0"], 0);
    w.exchange(
        "read-dom0-node",
        XS_READ,
        0,
        &[b"/local/domain/0/backend\0"],
        0,
    );
    w.exchange("read-empty-path", XS_READ, 0, &[b"\0"], 0);
    w.exchange("read-bad-bytes", XS_READ, 0, &[b"data/\xff\xfe\0"], 0);
    w.exchange("read-too-long", XS_READ, 0, &[&too_long_path], 0);
    w.exchange("write", XS_WRITE, 0, &[b"memory/target\0", b"2097152"], 0);
    w.exchange(
        "write-dom0-node",
        XS_WRITE,
        0,
        &[b"/local/domain/0/backend\0", b"1"],
        0,
    );
    w.exchange(
        "write-bad-bytes",
        XS_WRITE,
        0,
        &[b"data/\xff\xfe\0", b"1"],
        0,
    );
    w.exchange(
        "write-4000-bytes",
        XS_WRITE,
        0,
        &[b"data/big\0", &big_value],
        0,
    );
    w.exchange("directory", XS_DIRECTORY, 0, &[b"device\0"], 0);
    w.exchange(
        "directory-leaf",
        XS_DIRECTORY,
        0,
        &[b"device/vif/0/state\0"],
        0,
    );
    w.exchange(
        "directory-missing",
        XS_DIRECTORY,
        0,
        &[b"device/vif/9\0"],
        0,
    );
    w.exchange(
        "directory-dom0-node",
        XS_DIRECTORY,
        0,
        &[b"/local/domain/0/backend\0"],
        0,
    );
    w.exchange("rm", XS_RM, 0, &[b"device/vkbd\0"], 0);
    w.exchange("rm-missing", XS_RM, 0, &[b"device/vkbd\0"], 0);
    w.exchange(
        "rm-missing-parent",
        XS_RM,
        0,
        &[b"device/vkbd/0/state\0"],
        0,
    );
    // A watch fires once when it is set, then for every change below its path.
    w.exchange("watch", XS_WATCH, 0, &[b"device\0", &token, b"\0"], 1);
    w.exchange(
        "watched-write",
        XS_WRITE,
        0,
        &[b"device/vif/0/state\0", b"5"],
        1,
    );
    w.exchange("unwatch", XS_UNWATCH, 0, &[b"device\0", &token, b"\0"], 0);
    w.exchange(
        "unwatch-again",
        XS_UNWATCH,
        0,
        &[b"device\0", &token, b"\0"],
        0,
    );
    transactions(w, race);
}

/// Transactions: one that commits, one that dom0 races (`race`), one that aborts.
fn transactions<T: Transport>(w: &mut Wire<'_, T>, race: impl FnOnce()) {
    // A transaction that commits.
    let t = tx_id(&w.exchange("transaction-start", XS_TRANSACTION_START, 0, &[b"\0"], 0));
    w.exchange("tx-read", XS_READ, t, &[b"memory/target\0"], 0);
    w.exchange("tx-write", XS_WRITE, t, &[b"device/vif/0/state\0", b"6"], 0);
    w.exchange("transaction-commit", XS_TRANSACTION_END, t, &[b"T\0"], 0);
    w.exchange("transaction-end-again", XS_TRANSACTION_END, t, &[b"T\0"], 0);
    // One that dom0 races: the commit fails and the guest must retry.
    let t = tx_id(&w.exchange("transaction-start-2", XS_TRANSACTION_START, 0, &[b"\0"], 0));
    w.exchange("tx-read-2", XS_READ, t, &[b"memory/target\0"], 0);
    w.exchange(
        "tx-write-2",
        XS_WRITE,
        t,
        &[b"memory/target\0", b"3145728"],
        0,
    );
    w.lines.push(format!(
        "# {}: dom0 writes memory/target outside the transaction",
        w.daemon
    ));
    race();
    w.exchange("transaction-conflict", XS_TRANSACTION_END, t, &[b"T\0"], 0);
    // One that aborts.
    let t = tx_id(&w.exchange("transaction-start-3", XS_TRANSACTION_START, 0, &[b"\0"], 0));
    w.exchange("transaction-abort", XS_TRANSACTION_END, t, &[b"F\0"], 0);
}

fn main() {
    let daemons: Vec<Impl> = std::env::args().nth(1).map_or_else(
        || Impl::ALL.to_vec(),
        |name| vec![Impl::parse(&name).expect("`c` or `ocaml`")],
    );
    for &imp in &daemons {
        if let Some(why) = unavailable(imp) {
            panic!("{} cannot run here: {why}", imp.name());
        }
    }
    let version = std::process::Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "xen-utils-4.17"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!(
        "# What Debian's real xenstored and oxenstored answered a guest, as it came off its ring."
    );
    println!("# Daemons: {} (Debian xen-utils-4.17 {version}).", {
        let names: Vec<&str> = daemons.iter().map(|d| d.binary()).collect();
        names.join(", ")
    });
    println!("# Regenerate (from the repository root; needs xen-utils-4.17 and libxen-dev):");
    println!(
        "#   cargo run -p xenstored-harness --example capture_replies > fuzz/peer/xenstored-replies.txt"
    );
    println!("# then `cargo run --example seeds` in fuzz/ (the store_ring and pdo_identity");
    println!("# targets build their peer-* seeds from this file).");
    println!("#");
    println!("# Setup by dom0 (not recorded): under /local/domain/{DOMID} (the guest's home)");
    println!("#   memory/target=1048576, device/vif/0/state=4, device/vif/0/backend-id=0,");
    println!("#   device/vbd/768/state=4, device/vkbd/0/state=4, data=\"\"; and");
    println!(
        "#   /local/domain/0/backend/vif/{DOMID}/0/state=4 (dom0's, unreadable to the guest)."
    );
    println!(
        "# The guest's requests are those of crates/xenstored-harness/examples/capture_replies.rs,"
    );
    println!("# relative paths; the watch token is the store's format, TOK|<caller>|<id>.");
    println!("#");
    println!(
        "# <daemon> <label> <reply type> \"<payload>\" (\\xNN: a byte outside printable ASCII)"
    );
    for imp in daemons {
        for line in capture(imp) {
            println!("{line}");
        }
    }
}
