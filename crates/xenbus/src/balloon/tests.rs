// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

#![allow(
    clippy::significant_drop_tightening,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::type_complexity
)]

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use ntstatus::{
    NtStatus, STATUS_INSUFFICIENT_RESOURCES, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_UNSUCCESSFUL,
};
use platform_port::std_impl::StdPlatform;
use xen_fake::FakeXen;

use super::*;

#[path = "../../tests/support/fake_balloon.rs"]
mod fake_balloon;
use fake_balloon::{FakeMemory, FakeStore};

const FIRST: u64 = 0x10_0000;
const TOTAL: u64 = 40_000;

type TestBalloon = Balloon<StdPlatform, FakeXen, FakeMemory, FakeStore>;

struct Rig {
    p: StdPlatform,
    xen: Arc<FakeXen>,
    memory: Arc<FakeMemory>,
    store: Arc<FakeStore>,
    balloon: Arc<TestBalloon>,
}

fn rig() -> Rig {
    let p = StdPlatform::new(1);
    let xen = Arc::new(FakeXen::default());
    let memory = Arc::new(FakeMemory::with_frames(FIRST, TOTAL));
    let store = Arc::new(FakeStore::default());
    let balloon = Arc::new(Balloon::new(
        p.clone(),
        Arc::clone(&xen),
        Arc::clone(&memory),
        Arc::clone(&store),
    ));
    balloon.acquire().unwrap();
    Rig {
        p,
        xen,
        memory,
        store,
        balloon,
    }
}

impl Rig {
    /// Every frame is in exactly one place: the OS, or Xen (then also in the range set);
    /// the size counts Xen's frames.
    fn audit(&self) {
        let os = self.memory.os.lock().unwrap().clone();
        let xen = self.xen.given_back.lock().unwrap().clone();
        assert!(os.is_disjoint(&xen));
        let lost = self.balloon.lost();
        assert_eq!(os.len() as u64 + xen.len() as u64 + lost, TOTAL);
        assert_eq!(self.balloon.size(), xen.len() as u64);
        self.balloon.with_ballooned(|set| {
            let set = set.unwrap();
            assert_eq!(set.item_count(), xen.len() as u64);
            for pfn in &xen {
                assert!(set.contains(i64::try_from(*pfn).unwrap()));
            }
        });
    }
}

#[test]
fn inflate_hands_pages_to_xen_in_batches_of_at_most_8192() {
    let r = rig();
    r.balloon.adjust(20_000).unwrap();
    assert_eq!(r.balloon.size(), 20_000);
    assert_eq!(*r.xen.decrease_calls.lock().unwrap(), [8192, 8192, 3616]);
    assert_eq!(r.memory.os_count(), (TOTAL - 20_000) as usize);
    r.audit();
    // The OS handed out its highest frames first; the range set holds them merged.
    r.balloon
        .with_ballooned(|set| assert_eq!(set.unwrap().range_count(), 1));
}

#[test]
fn deflate_returns_every_page_to_the_os_lowest_first() {
    let r = rig();
    r.balloon.adjust(10_000).unwrap();
    r.balloon.adjust(1_000).unwrap();
    assert_eq!(r.balloon.size(), 1_000);
    assert_eq!(*r.xen.populate_calls.lock().unwrap(), [8192, 808]);
    r.audit();
    // Lowest first: what is left in the balloon is the highest 1000 of the ballooned frames.
    let top = FIRST + TOTAL;
    r.balloon.with_ballooned(|set| {
        assert_eq!(
            set.unwrap().ranges().collect::<Vec<_>>(),
            [((top - 1000) as i64, (top - 1) as i64)]
        );
    });
    r.balloon.adjust(0).unwrap();
    assert_eq!(r.memory.os_count(), TOTAL as usize);
    assert_eq!(r.xen.given_back_count(), 0);
    r.audit();
    // Populated frames went back in contiguous runs, not one by one.
    assert!(r.memory.adds.lock().unwrap().iter().all(|&(_, n)| n > 1));
}

#[test]
fn short_allocation_is_a_retry_that_keeps_the_partial_result() {
    let r = rig();
    *r.memory.limit.lock().unwrap() = Some(300);
    assert_eq!(r.balloon.adjust(1_000), Err(BalloonError::Retry));
    assert_eq!(r.balloon.size(), 300);
    r.audit();
    *r.memory.limit.lock().unwrap() = None;
    r.balloon.adjust(1_000).unwrap();
    assert_eq!(r.balloon.size(), 1_000);
    r.audit();
}

#[test]
fn slow_allocation_finishes_the_chunk_then_retries() {
    let r = rig();
    // 8192 pages in 10 s: 819 pages/s, under the 1000 pages/s floor.
    r.memory
        .allocation_ticks
        .store(10 * 10_000_000, Ordering::SeqCst);
    assert_eq!(r.balloon.adjust(20_000), Err(BalloonError::Retry));
    assert_eq!(r.balloon.size(), 8192);
    assert_eq!(r.memory.allocations.load(Ordering::SeqCst), 1);
    r.audit();
    // A fast small chunk is fine: 100 pages in 10 ms.
    r.memory.allocation_ticks.store(100_000, Ordering::SeqCst);
    r.balloon.adjust(8292).unwrap();
    r.audit();
}

#[test]
fn failed_decrease_releases_nothing_and_gives_every_page_back() {
    let r = rig();
    *r.xen.decrease_fault.lock().unwrap() = Some(STATUS_UNSUCCESSFUL);
    assert_eq!(r.balloon.adjust(5_000), Err(BalloonError::Retry));
    assert_eq!(r.balloon.size(), 0);
    assert_eq!(r.memory.os_count(), TOTAL as usize);
    r.balloon
        .with_ballooned(|set| assert!(set.unwrap().is_empty()));
    r.audit();
}

#[test]
fn partial_decrease_keeps_what_xen_took_returns_the_rest_and_goes_on() {
    let r = rig();
    *r.xen.reservation_limit.lock().unwrap() = Some(1_500);
    // A partial release is progress, not a failure: the next chunk asks for the remainder.
    r.balloon.adjust(5_000).unwrap();
    assert_eq!(r.balloon.size(), 5_000);
    assert_eq!(
        *r.xen.decrease_calls.lock().unwrap(),
        [5_000, 3_500, 2_000, 500]
    );
    r.audit();
    // Nothing released at all is a retry.
    *r.xen.reservation_limit.lock().unwrap() = Some(0);
    assert_eq!(r.balloon.adjust(6_000), Err(BalloonError::Retry));
    assert_eq!(r.balloon.size(), 5_000);
    r.audit();
}

#[test]
fn failed_or_partial_populate_keeps_the_frames_in_the_balloon() {
    let r = rig();
    r.balloon.adjust(3_000).unwrap();
    *r.xen.populate_fault.lock().unwrap() = Some(STATUS_UNSUCCESSFUL);
    assert_eq!(r.balloon.adjust(0), Err(BalloonError::Retry));
    assert_eq!(r.balloon.size(), 3_000);
    r.audit();
    *r.xen.reservation_limit.lock().unwrap() = Some(1_000);
    assert_eq!(r.balloon.adjust(0), Err(BalloonError::Retry));
    assert_eq!(r.balloon.size(), 2_000);
    r.audit();
    *r.xen.reservation_limit.lock().unwrap() = None;
    r.balloon.adjust(0).unwrap();
    r.audit();
    assert_eq!(r.memory.os_count(), TOTAL as usize);
}

#[test]
fn low_memory_refuses_to_inflate_without_allocating() {
    let r = rig();
    r.memory.low.store(true, Ordering::SeqCst);
    assert_eq!(r.balloon.adjust(100), Err(BalloonError::LowMemory));
    assert_eq!(BalloonError::LowMemory.status(), ntstatus::STATUS_NO_MEMORY);
    assert_eq!(r.memory.allocations.load(Ordering::SeqCst), 0);
    r.audit();
}

#[test]
fn fist_knobs_forbid_a_direction_with_any_nonzero_base2_value() {
    let r = rig();
    for (value, forbidden) in [
        ("1", true),
        ("0", false),
        ("10", true),
        ("100000000", true),
        ("2", false),
        (" +01x", true),
    ] {
        r.store.set("FIST/balloon/inflation", value);
        let result = r.balloon.adjust(r.balloon.size() + 10);
        assert_eq!(result.is_err(), forbidden, "{value:?}");
        if forbidden {
            assert_eq!(result, Err(BalloonError::Fist));
        }
    }
    r.store.remove("FIST/balloon/inflation");
    r.store.set("FIST/balloon/deflation", "1");
    assert_eq!(r.balloon.adjust(0), Err(BalloonError::Fist));
    assert_eq!(BalloonError::Fist.status(), STATUS_UNSUCCESSFUL);
    r.store.remove("FIST/balloon/deflation");
    r.balloon.adjust(0).unwrap();
    r.audit();
    assert!(r.p.log_lines().iter().any(|(_, l)| l.contains("[FIST]")));
}

#[test]
fn refused_add_physical_counts_lost_frames_and_returns_the_other_runs() {
    let r = rig();
    // Someone else holds frame top-50, so the balloon gets two runs around it.
    let top = FIRST + TOTAL;
    assert!(r.memory.os.lock().unwrap().remove(&(top - 50)));
    r.balloon.adjust(100).unwrap();
    r.balloon.with_ballooned(|set| {
        assert_eq!(
            set.unwrap().ranges().collect::<Vec<_>>(),
            [
                ((top - 101) as i64, (top - 51) as i64),
                ((top - 49) as i64, (top - 1) as i64)
            ]
        );
    });
    // The OS refuses the first run back.
    r.memory.refuse.lock().unwrap().insert(top - 101);
    r.balloon.adjust(0).unwrap();
    assert_eq!(r.balloon.lost(), 51);
    assert_eq!(r.xen.given_back_count(), 0);
    assert!(r.memory.os.lock().unwrap().contains(&(top - 1)));
    r.memory.os.lock().unwrap().insert(top - 50);
    r.audit();
}

#[test]
fn release_while_inflated_keeps_the_balloon_for_the_next_acquire() {
    let r = rig();
    r.balloon.adjust(2_000).unwrap();
    r.balloon.release();
    assert_eq!(r.balloon.references(), 0);
    assert!(
        r.p.log_lines()
            .iter()
            .any(|(_, l)| l.contains("STILL INFLATED"))
    );
    r.balloon.acquire().unwrap();
    assert_eq!(r.balloon.size(), 2_000);
    r.audit();
    r.balloon.adjust(0).unwrap();
    r.balloon.release();
    r.balloon.with_ballooned(|set| assert!(set.is_none()));
    assert_eq!(r.balloon.adjust(1), Err(BalloonError::NotAcquired));
}

fn thread(
    r: &Rig,
) -> (
    BalloonThread<StdPlatform, FakeXen, FakeMemory, FakeStore>,
    Arc<EventMutex<<StdPlatform as Events>::Event>>,
    Arc<core::sync::atomic::AtomicU32>,
) {
    let mutex = Arc::new(EventMutex::new(&r.p));
    let wakes = Arc::new(core::sync::atomic::AtomicU32::new(0));
    let w = Arc::clone(&wakes);
    let t = BalloonThread::new(
        Arc::clone(&r.balloon),
        Arc::clone(&mutex),
        Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }),
    );
    (t, mutex, wakes)
}

#[test]
fn thread_sizes_the_balloon_from_static_max_videoram_and_target() {
    let r = rig();
    let (mut t, mutex, wakes) = thread(&r);
    assert_eq!(t.pass(true), BalloonPass::NoTarget);
    r.store.set("memory/static-max", "131072"); // 128 MiB = 32768 pages
    r.store.set("memory/videoram", "8192"); // 8 MiB
    r.store.set("memory/target", "102400"); // 100 MiB = 25600 pages
    assert_eq!(t.pass(true), BalloonPass::Adjusted);
    assert_eq!(t.static_max(), Some(30720));
    assert_eq!(r.balloon.size(), 30720 - 25600);
    assert_eq!(r.store.writes_to("control/balloon-active"), ["1", "0"]);
    assert!(!t.is_active());
    assert!(!mutex.is_locked());
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
    assert_eq!(t.pass(true), BalloonPass::Idle);
    // A target above static-max is clamped: empty balloon.
    r.store.set("memory/target", "999999999");
    assert_eq!(t.pass(true), BalloonPass::Adjusted);
    assert_eq!(r.balloon.size(), 0);
    r.audit();
}

#[test]
fn thread_skips_while_the_suspend_thread_holds_the_mutex() {
    let r = rig();
    let (mut t, mutex, _wakes) = thread(&r);
    r.store.set("memory/static-max", "40000");
    r.store.set("memory/target", "20000");
    let suspend_holds = mutex.try_lock().unwrap();
    assert_eq!(t.pass(true), BalloonPass::SuspendRunning);
    assert_eq!(r.balloon.size(), 0);
    assert!(r.store.writes_to("control/balloon-active").is_empty());
    drop(suspend_holds);
    assert_eq!(t.pass(true), BalloonPass::Adjusted);
    assert_eq!(r.balloon.size(), 5_000);
    // And the other way round: the suspend thread cannot take it while active.
    *r.memory.limit.lock().unwrap() = Some(10);
    r.store.set("memory/target", "10000");
    assert_eq!(t.pass(true), BalloonPass::Failed(BalloonError::Retry));
    assert!(t.is_active());
    assert_eq!(t.timeout(), Some(RETRY_PERIOD));
    assert!(mutex.try_lock().is_none());
    *r.memory.limit.lock().unwrap() = None;
    assert_eq!(t.pass(true), BalloonPass::Adjusted);
    assert!(mutex.try_lock().is_some());
    r.audit();
}

#[test]
fn thread_ends_an_active_adjustment_when_leaving_d0_or_when_the_target_is_met() {
    let r = rig();
    let (mut t, mutex, wakes) = thread(&r);
    r.store.set("memory/static-max", "40000");
    r.store.set("memory/target", "20000");
    *r.memory.limit.lock().unwrap() = Some(10);
    assert!(matches!(t.pass(true), BalloonPass::Failed(_)));
    assert!(t.is_active());
    assert_eq!(t.pass(false), BalloonPass::NotD0);
    assert!(!t.is_active());
    assert!(!mutex.is_locked());
    assert_eq!(r.store.writes_to("control/balloon-active"), ["1", "0"]);
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
    // Active again, then the toolstack moves the target to exactly the current size.
    assert!(matches!(t.pass(true), BalloonPass::Failed(_)));
    let pages = r.balloon.size();
    r.store
        .set("memory/target", &alloc::format!("{}", (10_000 - pages) * 4));
    assert_eq!(t.pass(true), BalloonPass::Idle);
    assert!(!t.is_active());
    assert!(!mutex.is_locked());
    r.audit();
}

#[test]
fn thread_ignores_a_target_that_is_not_a_number() {
    let r = rig();
    let (mut t, _mutex, _wakes) = thread(&r);
    r.store.set("memory/static-max", "40000");
    r.store.set("memory/target", "lots");
    assert_eq!(t.pass(true), BalloonPass::NoTarget);
    assert_eq!(r.balloon.size(), 0);
    // static-max below videoram gives up too.
    let (mut t, _mutex, _wakes) = thread(&r);
    r.store.set("memory/videoram", "50000");
    r.store.set("memory/target", "100");
    assert_eq!(t.pass(true), BalloonPass::NoTarget);
}

#[test]
fn numbers_parse_like_strtoui64_with_garbage_refused() {
    assert_eq!(decimal(b"1024"), Some(1024));
    assert_eq!(decimal(b" 1024\n"), Some(1024));
    assert_eq!(decimal(b"12abc"), Some(12));
    assert_eq!(decimal(b"abc"), None);
    assert_eq!(decimal(b""), None);
    assert_eq!(decimal(b"99999999999999999999999"), None);
    assert!(fist_value(b"1"));
    assert!(!fist_value(b"0"));
    assert!(!fist_value(b"2"));
    let _: NtStatus = STATUS_INSUFFICIENT_RESOURCES;
    let _: NtStatus = STATUS_OBJECT_NAME_NOT_FOUND;
}
