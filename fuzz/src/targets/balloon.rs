// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `balloon`: the balloon thread's reading of `memory/static-max`, `memory/videoram`,
//! `memory/target` and the FIST knobs from xenstore (`xenbus::balloon`), which the toolstack
//! or anyone able to write the guest's `memory/` area controls, and the adjustments they
//! cause against an OS and a Xen that give memory grudgingly.
//!
//! Invariants, after every pass:
//! * the pass result follows the documented reading: no usable `static-max` (missing, not a
//!   decimal number, zero, below `videoram`, or a `videoram` that is present but not a number)
//!   or `target` (missing or not a number) is `NoTarget` and changes nothing; `static-max` is
//!   read once and kept; the size asked for is `static_max - min(target / 4, static_max)`
//!   pages; a reached size is `Idle`/`Adjusted`, a failure `Failed` and still active;
//! * `control/balloon-active` alternates `1`, `0` and is `1` exactly while active; the pass
//!   never takes the mutex the suspend thread holds (`SuspendRunning`);
//! * frames are conserved: OS + ballooned + lost = all, the balloon's size is the range set's
//!   item count and exactly the frames Xen holds; a FIST knob (base-2 `strtol`, non-zero)
//!   forbids its direction with `Fist`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use ntstatus::{NtStatus, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_UNSUCCESSFUL};
use xenbus::balloon::{
    Balloon, BalloonError, BalloonMemory, BalloonPass, BalloonStore, BalloonThread,
};
use xenbus::mutex::EventMutex;

use crate::input::{Reader, Writer};
use crate::platform::FuzzPlatform;
use crate::xen::FuzzXen;

const FIRST: u64 = 0x10_0000;

#[derive(Default)]
struct Os {
    frames: Mutex<BTreeSet<u64>>,
    limit: Mutex<Option<usize>>,
    low: AtomicBool,
    refuse: AtomicBool,
    time: AtomicI64,
    ticks: AtomicI64,
}

impl BalloonMemory for Os {
    fn allocate(&self, pfns: &mut [u64]) -> usize {
        let want = self
            .limit
            .lock()
            .expect("lock")
            .map_or(pfns.len(), |l| l.min(pfns.len()));
        let mut frames = self.frames.lock().expect("lock");
        let mut n = 0;
        while n < want {
            let Some(pfn) = frames.pop_last() else { break };
            pfns[n] = pfn;
            n += 1;
        }
        self.time
            .fetch_add(self.ticks.load(Ordering::SeqCst), Ordering::SeqCst);
        n
    }
    fn add_physical(&self, start: u64, count: u64) -> Result<(), NtStatus> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(STATUS_UNSUCCESSFUL);
        }
        let mut frames = self.frames.lock().expect("lock");
        for pfn in start..start + count {
            assert!(frames.insert(pfn), "frame {pfn:#x} given to the OS twice");
        }
        Ok(())
    }
    fn low_memory(&self) -> bool {
        self.low.load(Ordering::SeqCst)
    }
    fn system_time(&self) -> i64 {
        self.time.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Store {
    keys: Mutex<BTreeMap<String, Vec<u8>>>,
    active: Mutex<Vec<Vec<u8>>>,
}

impl BalloonStore for Store {
    fn read<R>(&self, path: &str, value: impl FnOnce(&[u8]) -> R) -> Result<R, NtStatus> {
        let keys = self.keys.lock().expect("lock");
        keys.get(path)
            .map(|v| value(v))
            .ok_or(STATUS_OBJECT_NAME_NOT_FOUND)
    }
    fn write(&self, path: &str, value: &[u8]) -> Result<(), NtStatus> {
        assert_eq!(path, "control/balloon-active", "an unexpected write");
        self.active.lock().expect("lock").push(value.to_vec());
        Ok(())
    }
}

/// `_strtoui64(text, NULL, 10)` when the text starts (after white space) with a digit and fits.
fn decimal(text: &[u8]) -> Option<u64> {
    let text = text.trim_ascii();
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        return None;
    }
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn value(r: &mut Reader<'_>) -> Option<Vec<u8>> {
    match r.below(8) {
        0 => None,
        1 => Some(r.short_bytes(24).to_vec()),
        2 => Some(format!(" {} \n", r.u64()).into_bytes()),
        3 => Some(b"18446744073709551616".to_vec()),
        _ => Some(format!("{}", u64::from(r.u16()) * 4 + u64::from(r.below(4))).into_bytes()),
    }
}

fn set(store: &Store, key: &str, v: Option<Vec<u8>>) {
    let mut keys = store.keys.lock().expect("lock");
    match v {
        Some(v) => keys.insert(key.to_owned(), v),
        None => keys.remove(key),
    };
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let platform = FuzzPlatform::new(1);
    let xen = Arc::new(FuzzXen::default());
    let total = u64::from(r.u16() % 3_000);
    let os = Arc::new(Os::default());
    os.frames.lock().expect("lock").extend(FIRST..FIRST + total);
    let store = Arc::new(Store::default());
    let balloon = Arc::new(Balloon::new(
        platform.clone(),
        Arc::clone(&xen),
        Arc::clone(&os),
        Arc::clone(&store),
    ));
    balloon.acquire().expect("acquire");
    let mutex = Arc::new(EventMutex::new(&platform));
    let woken = Arc::new(AtomicBool::new(false));
    let wake = Arc::clone(&woken);
    let mut thread = BalloonThread::new(
        Arc::clone(&balloon),
        Arc::clone(&mutex),
        Arc::new(move || wake.store(true, Ordering::SeqCst)),
    );
    let mut static_max: Option<u64> = None;
    let mut suspend_guard = None;
    let mut passes = 0;
    while !r.is_empty() && passes < 24 {
        passes += 1;
        for _ in 0..r.below(4) {
            let key = r.choose(&[
                "memory/static-max",
                "memory/videoram",
                "memory/target",
                "memory/target",
                "FIST/balloon/inflation",
                "FIST/balloon/deflation",
            ]);
            let v = if key.starts_with("FIST") && r.bool() {
                Some(r.choose(&[&b"0"[..], b"1", b" -10", b"00", b"2"]).to_vec())
            } else {
                value(&mut r)
            };
            set(&store, key, v);
        }
        match r.below(8) {
            0 => *os.limit.lock().expect("lock") = Some(usize::from(r.u16())),
            1 => os.low.store(r.bool(), Ordering::SeqCst),
            2 => os.refuse.store(r.below(4) == 0, Ordering::SeqCst),
            3 => os.ticks.store(i64::from(r.u32()), Ordering::SeqCst),
            4 => {
                *xen.reservation_limit.lock().expect("lock") =
                    r.bool().then(|| usize::from(r.u16()))
            }
            5 => {
                if suspend_guard.is_some() {
                    suspend_guard = None;
                } else if !thread.is_active() {
                    suspend_guard = mutex.try_lock_owned();
                }
            }
            _ => {}
        }
        let in_d0 = r.below(8) != 0;
        let keys = store.keys.lock().expect("lock").clone();
        let size_before = balloon.size();
        let was_active = thread.is_active();
        let pass = thread.pass(in_d0);

        // The model of the reading.
        if in_d0 && static_max.is_none() {
            static_max = keys
                .get("memory/static-max")
                .and_then(|v| decimal(v))
                .filter(|&kib| kib != 0)
                .and_then(|kib| match keys.get("memory/videoram") {
                    None => Some(kib),
                    Some(v) => decimal(v).and_then(|video| kib.checked_sub(video)),
                })
                .map(|kib| kib / 4);
        }
        assert_eq!(thread.static_max(), static_max);
        let target = keys.get("memory/target").and_then(|v| decimal(v));
        let wanted = static_max
            .zip(target)
            .map(|(max, kib)| max - (kib / 4).min(max));
        match pass {
            BalloonPass::NotD0 => {
                assert!(!in_d0);
                assert!(!thread.is_active());
                assert_eq!(balloon.size(), size_before);
            }
            BalloonPass::NoTarget => {
                assert!(in_d0 && wanted.is_none());
                assert_eq!(balloon.size(), size_before);
                assert_eq!(thread.is_active(), was_active);
            }
            BalloonPass::Idle => {
                assert_eq!(Some(balloon.size()), wanted);
                assert!(!thread.is_active());
            }
            BalloonPass::SuspendRunning => {
                assert!(suspend_guard.is_some() && !was_active);
                assert_eq!(balloon.size(), size_before);
                assert!(wanted.is_some_and(|w| w != size_before));
            }
            BalloonPass::Adjusted => {
                assert_eq!(Some(balloon.size()), wanted);
                assert!(!thread.is_active());
            }
            BalloonPass::Failed(e) => {
                assert!(wanted.is_some_and(|w| w != balloon.size() || e == BalloonError::Retry));
                assert!(thread.is_active());
                let fist = |key: &str| {
                    keys.get(key).is_some_and(|v| {
                        let t = v.trim_ascii_start();
                        let t = t
                            .strip_prefix(b"+")
                            .or_else(|| t.strip_prefix(b"-"))
                            .unwrap_or(t);
                        t.iter()
                            .take_while(|&&b| b == b'0' || b == b'1')
                            .any(|&b| b == b'1')
                    })
                };
                if e == BalloonError::Fist {
                    assert!(fist("FIST/balloon/inflation") || fist("FIST/balloon/deflation"));
                }
            }
        }
        // balloon-active alternates and says whether the thread is active.
        let active = store.active.lock().expect("lock").clone();
        for pair in active.windows(2) {
            assert_ne!(pair[0], pair[1], "balloon-active written twice the same");
        }
        assert_eq!(
            active.last().map(Vec::as_slice) == Some(b"1"),
            thread.is_active()
        );
        // Conservation.
        let ballooned =
            balloon.with_ballooned(|set| set.map_or(0, xenbus::range_set::RangeSet::item_count));
        assert_eq!(ballooned, balloon.size(), "size vs range set");
        let given = xen.given_back.lock().expect("lock").clone();
        assert_eq!(
            given.len() as u64,
            ballooned,
            "frames Xen holds vs the balloon"
        );
        balloon.with_ballooned(|set| {
            if let Some(set) = set {
                assert!(
                    given
                        .iter()
                        .all(|&f| set.contains(i64::try_from(f).expect("small")))
                );
            }
        });
        let in_os = os.frames.lock().expect("lock").len() as u64;
        assert_eq!(
            in_os + ballooned + balloon.lost(),
            total,
            "frames conserved"
        );
    }
    drop(suspend_guard);
    let mut out = String::new();
    balloon.debug_dump(&mut out, false).expect("dump");
}

/// Seeds: a 4 GiB guest told to balloon down to 2 GiB and back, with videoram, FIST knobs and
/// garbage in the keys.
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    // key indices: 0 static-max, 1 videoram, 2/3 target, 4 inflation, 5 deflation.
    // value modes: 1 raw short bytes, 2 " u64 \n", 4+ decimal of u16 * 4.
    let mut w = Writer::new();
    w.u16(12_000);
    w.u8(3)
        .u8(0)
        .u8(4)
        .u16(10_000)
        .u8(1)
        .u8(4)
        .u16(1_000)
        .u8(2)
        .u8(4)
        .u16(6_000)
        .u8(7)
        .u8(1);
    w.u8(1).u8(2).u8(4).u16(9_000).u8(7).u8(1);
    w.u8(1).u8(4).u8(1).u8(1).u8(7).u8(1);
    w.u8(1).u8(2).u8(4).u16(2_000).u8(7).u8(1);
    w.u8(2).u8(4).u8(0).u8(5).u8(0).u8(7).u8(1);
    w.u8(1).u8(3).u8(1).short_bytes(b"1024kB").u8(6).u8(1);
    w.u8(0).u8(0).u8(1).u8(0).u8(3).u32(100_000_000).u8(1);
    let mut garbage = Writer::new();
    garbage.u16(500);
    garbage
        .u8(2)
        .u8(0)
        .u8(1)
        .short_bytes(b"-1")
        .u8(2)
        .u8(3)
        .u8(7)
        .u8(1);
    garbage
        .u8(2)
        .u8(0)
        .u8(2)
        .u64(u64::MAX)
        .u8(1)
        .u8(1)
        .short_bytes(b"0x100")
        .u8(7)
        .u8(1);
    garbage.u8(1).u8(2).u8(2).u64(0).u8(4).u8(1).u16(3).u8(1);
    vec![("adjust", w.finish()), ("garbage", garbage.finish())]
}
