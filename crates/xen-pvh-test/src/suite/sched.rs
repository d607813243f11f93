// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! VIRQs and vCPU timers, yield/block/poll, the watchdog and the shutdown code.

use super::evtchn::{MS, close_pair, delivered, loopback, settle};
use super::{check_eq, hv, shm};
use crate::events::{self, take_delivered};
use crate::harness::{check, ok, status};
use crate::{arch, kprintln};
use xen::event_channel as evtchn;
use xen::status::{
    STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_OBJECTID_EXISTS,
};
use xen_headers::sched::SHUTDOWN_REBOOT;
use xen_headers::xen::{VIRQ_DOM_EXC, VIRQ_TIMER};

/// 100 ns units (NT time) per millisecond, as `set_periodic_timer` takes them.
const NT_MS: u64 = 10_000;

/// VIRQ binding, the single-shot and periodic timers, yield, block, poll, the watchdog.
pub fn timers_and_scheduling() {
    if let Some(timer) = bind_timer() {
        timers(timer);
        yield_and_block(timer);
    }
    poll();
    watchdog();
}

/// `bind_virq(VIRQ_TIMER)` and its error paths.
fn bind_timer() -> Option<u32> {
    let xen = hv();
    let timer = ok(
        "evtchn.bind_virq_timer",
        evtchn::bind_virq(xen, VIRQ_TIMER, 0),
    )?;
    check_eq(
        "evtchn.status_virq",
        evtchn::status(xen, timer).map(|s| s.binding),
        Ok(evtchn::Binding::Virq(VIRQ_TIMER)),
    );
    status(
        "evtchn.bind_virq_twice_exists",
        evtchn::bind_virq(xen, VIRQ_TIMER, 0),
        STATUS_OBJECTID_EXISTS,
    );
    status(
        "evtchn.bind_virq_bad_virq",
        evtchn::bind_virq(xen, 99, 0),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "evtchn.bind_global_virq_to_vcpu1",
        evtchn::bind_virq(xen, VIRQ_DOM_EXC, 1),
        STATUS_INVALID_PARAMETER,
    );
    settle(0, &[timer]);
    Some(timer)
}

/// The single-shot and periodic timers.
fn timers(timer: u32) {
    let xen = hv();
    // Single-shot timer 2 ms ahead fires VIRQ_TIMER.
    let deadline = events::now_ns() + 2 * MS;
    ok(
        "vcpu.set_singleshot_timer",
        xen::vcpu::set_singleshot_timer(xen, 0, deadline, 0),
    );
    check(
        "vcpu.singleshot_timer_fires_virq",
        delivered(0, timer) && events::now_ns() >= deadline,
        format_args!("port {timer}"),
    );
    // Only the vCPU itself may arm its single-shot timer (EINVAL); with one vCPU there is no
    // vCPU 1 (ENOENT).
    let other = if xen::vcpu::is_up(xen, 1).is_ok() {
        STATUS_INVALID_PARAMETER
    } else {
        xen::status::STATUS_OBJECT_NAME_NOT_FOUND
    };
    status(
        "vcpu.singleshot_timer_other_vcpu",
        xen::vcpu::set_singleshot_timer(xen, 1, deadline, 0),
        other,
    );
    ok(
        "vcpu.stop_singleshot_timer",
        xen::vcpu::stop_singleshot_timer(xen, 0),
    );

    // Periodic timer, in upstream's 100 ns units: several ticks in 60 ms, none after stopping.
    ok(
        "vcpu.set_periodic_timer",
        xen::vcpu::set_periodic_timer(xen, 0, Some(5 * NT_MS)),
    );
    let mut ticks = 0;
    let start = events::now_ns();
    events::wait_for(500 * MS, || {
        if take_delivered(0, timer) {
            ticks += 1;
        }
        ticks >= 3
    });
    check(
        "vcpu.periodic_timer_ticks",
        ticks >= 3,
        format_args!(
            "{ticks} ticks of 5 ms in {} us",
            (events::now_ns() - start) / 1000
        ),
    );
    ok(
        "vcpu.stop_periodic_timer",
        xen::vcpu::set_periodic_timer(xen, 0, None),
    );
    settle(0, &[timer]);
    let late = events::wait_for(30 * MS, || take_delivered(0, timer));
    check(
        "vcpu.stopped_periodic_timer_is_quiet",
        !late,
        format_args!("tick after stop: {late}"),
    );
    status(
        "vcpu.periodic_timer_below_1ms",
        xen::vcpu::set_periodic_timer(xen, 0, Some(1)),
        STATUS_INVALID_PARAMETER,
    );
}

/// Yield returns; block sleeps until the single-shot timer's event.
fn yield_and_block(timer: u32) {
    let xen = hv();
    // Yield returns; block sleeps until the single-shot timer's event.
    let t0 = events::now_ns();
    xen::sched::yield_now(xen);
    check(
        "sched.yield",
        events::now_ns() >= t0,
        format_args!("returned after {} ns", events::now_ns() - t0),
    );
    let t0 = events::now_ns();
    let _ = xen::vcpu::set_singleshot_timer(xen, 0, t0 + 10 * MS, 0);
    // A slow periodic timer as a backstop, in case the single-shot event is consumed by the
    // upcall between `sti` and the hypercall.
    let _ = xen::vcpu::set_periodic_timer(xen, 0, Some(200 * NT_MS));
    arch::enable_interrupts();
    let blocked = xen::sched::block(xen);
    arch::disable_interrupts();
    let _ = xen::vcpu::set_periodic_timer(xen, 0, None);
    let slept = events::now_ns() - t0;
    check(
        "sched.block_until_event",
        blocked.is_ok() && (5 * MS..2_000 * MS).contains(&slept),
        format_args!("{blocked:?} after {} us", slept / 1000),
    );
    settle(0, &[timer]);
    ok("evtchn.close_virq", evtchn::close(xen, timer));
}

fn poll() {
    let xen = hv();
    let Some((a, b)) = loopback() else {
        check("sched.poll_setup", false, format_args!("no loopback pair"));
        return;
    };
    // With interrupts off the upcall cannot consume the event, so poll sees it pending.
    let _ = evtchn::send(xen, a);
    check_eq(
        "sched.poll_pending_returns_at_once",
        xen::sched::poll(xen, &[b], 0),
        Ok(()),
    );
    shm::clear_pending(b);
    let t0 = events::now_ns();
    let timed = xen::sched::poll(xen, &[b], t0 + 20 * MS);
    let waited = events::now_ns() - t0;
    check(
        "sched.poll_times_out",
        timed.is_ok() && waited >= 15 * MS,
        format_args!("{timed:?} after {} us", waited / 1000),
    );
    let bad = xen::sched::poll(xen, &[100_000], events::now_ns() + MS);
    status("sched.poll_bad_port", bad, STATUS_INVALID_PARAMETER);
    settle(0, &[a, b]);
    close_pair((a, b));
}

fn watchdog() {
    let xen = hv();
    let first = ok("sched.watchdog_create", xen::sched::watchdog(xen, 0, 60));
    let second = ok(
        "sched.watchdog_create_second",
        xen::sched::watchdog(xen, 0, 60),
    );
    check(
        "sched.watchdog_ids_distinct",
        first.is_some_and(|f| f > 0) && first != second,
        format_args!("{first:?}, {second:?}"),
    );
    status(
        "sched.watchdog_third_no_slot",
        xen::sched::watchdog(xen, 0, 60),
        STATUS_INSUFFICIENT_RESOURCES,
    );
    if let Some(id) = first {
        check_eq(
            "sched.watchdog_pat",
            xen::sched::watchdog(xen, id, 60),
            Ok(id),
        );
        check_eq(
            "sched.watchdog_destroy",
            xen::sched::watchdog(xen, id, 0),
            Ok(id),
        );
        status(
            "sched.watchdog_pat_destroyed",
            xen::sched::watchdog(xen, id, 60),
            STATUS_INVALID_PARAMETER,
        );
    }
    if let Some(id) = second {
        let _ = xen::sched::watchdog(xen, id, 0);
    }
    status(
        "sched.watchdog_bad_id",
        xen::sched::watchdog(xen, 99, 60),
        STATUS_INVALID_PARAMETER,
    );
}

/// Records `SHUTDOWN_reboot` as the shutdown code; `finish` then asks for a poweroff, and Xen
/// reboots because the recorded code wins.
pub fn shutdown_code() {
    ok(
        "sched.shutdown_code",
        xen::sched::shutdown_code(hv(), SHUTDOWN_REBOOT),
    );
}

/// The watchdog-expiry boot: arm a 2 s watchdog and never pat it. Xen should shut the machine
/// down ("Watchdog timer fired for domain 0"); if it has not after 20 s, say so and reboot.
pub fn watchdog_expiry() -> ! {
    let xen = hv();
    super::memory::shared_info();
    let id = xen::sched::watchdog(xen, 0, 2);
    kprintln!("XTK-WATCHDOG: armed 2 s: {id:?}");
    let start = events::now_ns();
    while events::now_ns().saturating_sub(start) < 20_000 * MS {
        xen::sched::yield_now(xen);
        arch::pause();
    }
    kprintln!("XTK-WATCHDOG: did not fire");
    crate::reboot()
}
