// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::Mutex;

use ntstatus::{STATUS_CANCELLED, STATUS_UNSUCCESSFUL};
use platform_port::std_impl::StdPlatform;
use platform_port::{Irql, IrqlLevel, Processors};
use xen_fake::FakeXen;

use super::*;

#[derive(Default)]
struct System {
    vcpu_infos: Mutex<Vec<u32>>,
    unplugs: Mutex<Vec<(u32, IrqlLevel)>>,
}

struct SystemOn(Arc<System>, StdPlatform);

impl SuspendSystem for SystemOn {
    fn register_vcpu_info(&self, cpu: u32) {
        self.0.vcpu_infos.lock().unwrap().push(cpu);
    }
    fn unplug_devices(&self) {
        let p = &self.1;
        self.0
            .unplugs
            .lock()
            .unwrap()
            .push((p.current_processor(), p.current_irql()));
    }
}

type Log = Arc<Mutex<Vec<(String, u32, IrqlLevel)>>>;

struct Rig {
    p: StdPlatform,
    xen: Arc<FakeXen>,
    system: Arc<System>,
    suspend: Suspend<StdPlatform, FakeXen>,
    log: Log,
}

fn rig(cpus: u32) -> Rig {
    let p = StdPlatform::new(cpus);
    let xen = Arc::new(FakeXen::default());
    let system = Arc::new(System::default());
    let suspend = Suspend::new(
        p.clone(),
        Arc::clone(&xen),
        Arc::new(SystemOn(Arc::clone(&system), p.clone())),
        None,
    );
    Rig {
        p,
        xen,
        system,
        suspend,
        log: Arc::default(),
    }
}

fn recording(r: &Rig, name: &str) -> SuspendFunction {
    let (log, p, name) = (Arc::clone(&r.log), r.p.clone(), String::from(name));
    Arc::new(move || {
        log.lock()
            .unwrap()
            .push((name.clone(), p.current_processor(), p.current_irql()));
    })
}

#[test]
fn resumed_suspend_runs_early_at_high_then_late_at_dispatch_in_order_on_cpu0() {
    let r = rig(4);
    r.suspend.acquire().unwrap();
    let mut handles = Vec::new();
    for (kind, name) in [
        (SuspendCallbackType::Late, "late1"),
        (SuspendCallbackType::Early, "early1"),
        (SuspendCallbackType::Early, "early2"),
        (SuspendCallbackType::Late, "late2"),
    ] {
        handles.push(
            r.suspend
                .register(kind, recording(&r, name), Origin::default())
                .unwrap(),
        );
    }
    let before = r.suspend.count();
    assert_eq!(
        r.p.as_processor(0, || r.suspend.trigger()),
        SuspendOutcome::Resumed
    );
    assert_eq!(*r.xen.shutdowns.lock().unwrap(), [SHUTDOWN_SUSPEND]);
    let log = r.log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            ("early1".into(), 0, IrqlLevel::HIGH),
            ("early2".into(), 0, IrqlLevel::HIGH),
            ("late1".into(), 0, IrqlLevel::DISPATCH),
            ("late2".into(), 0, IrqlLevel::DISPATCH),
        ]
    );
    assert_eq!(r.suspend.count(), before + 1);
    let mut infos = r.system.vcpu_infos.lock().unwrap().clone();
    infos.sort_unstable();
    assert_eq!(infos, [0, 1, 2, 3]);
    assert_eq!(*r.system.unplugs.lock().unwrap(), [(0, IrqlLevel::HIGH)]);
    assert_eq!(r.p.current_irql(), IrqlLevel::PASSIVE);
    for h in &handles {
        r.suspend.deregister(h).unwrap();
    }
    r.suspend.release();
}

#[test]
fn a_trigger_from_another_processor_still_runs_callbacks_on_cpu0() {
    let r = rig(3);
    let h = r
        .suspend
        .register(
            SuspendCallbackType::Early,
            recording(&r, "e"),
            Origin::default(),
        )
        .unwrap();
    assert_eq!(
        r.p.as_processor(2, || r.suspend.trigger()),
        SuspendOutcome::Resumed
    );
    assert_eq!(r.log.lock().unwrap()[0].1, 0);
    r.suspend.deregister(&h).unwrap();
}

#[test]
fn cancelled_suspend_runs_no_callback_and_keeps_the_count() {
    let r = rig(2);
    r.xen.push_shutdown_result(Err(STATUS_CANCELLED));
    let e = r
        .suspend
        .register(
            SuspendCallbackType::Early,
            recording(&r, "e"),
            Origin::default(),
        )
        .unwrap();
    let l = r
        .suspend
        .register(
            SuspendCallbackType::Late,
            recording(&r, "l"),
            Origin::default(),
        )
        .unwrap();
    assert_eq!(r.suspend.trigger(), SuspendOutcome::Cancelled);
    assert!(r.log.lock().unwrap().is_empty());
    assert!(r.system.vcpu_infos.lock().unwrap().is_empty());
    assert!(r.system.unplugs.lock().unwrap().is_empty());
    assert_eq!(r.suspend.count(), 0);
    // A failed hypercall behaves the same.
    r.xen.push_shutdown_result(Err(STATUS_UNSUCCESSFUL));
    assert_eq!(
        r.suspend.trigger(),
        SuspendOutcome::Failed(STATUS_UNSUCCESSFUL)
    );
    assert!(r.log.lock().unwrap().is_empty());
    // The next one resumes.
    assert_eq!(r.suspend.trigger(), SuspendOutcome::Resumed);
    assert_eq!(r.log.lock().unwrap().len(), 2);
    assert_eq!(r.suspend.count(), 1);
    r.suspend.deregister(&e).unwrap();
    r.suspend.deregister(&l).unwrap();
}

#[test]
fn deregistered_callbacks_do_not_run_and_cannot_be_deregistered_twice() {
    let r = rig(1);
    let e = r
        .suspend
        .register(
            SuspendCallbackType::Early,
            recording(&r, "e"),
            Origin::default(),
        )
        .unwrap();
    r.suspend.deregister(&e).unwrap();
    assert_eq!(
        r.suspend.deregister(&e),
        Err(SuspendError::InvalidParameter)
    );
    r.suspend.trigger();
    assert!(r.log.lock().unwrap().is_empty());
}

#[test]
fn invalid_callback_type_is_refused() {
    assert_eq!(SuspendCallbackType::from_raw(0), None);
    assert_eq!(SuspendCallbackType::from_raw(3), None);
    assert_eq!(
        SuspendCallbackType::from_raw(1),
        Some(SuspendCallbackType::Early)
    );
    assert_eq!(
        SuspendCallbackType::from_raw(2),
        Some(SuspendCallbackType::Late)
    );
}

#[test]
fn last_release_resets_the_count_and_reports_outstanding_callbacks() {
    let r = rig(1);
    r.suspend.acquire().unwrap();
    r.suspend.acquire().unwrap();
    r.suspend.trigger();
    r.suspend.trigger();
    assert_eq!(r.suspend.count(), 2);
    let e = r
        .suspend
        .register(
            SuspendCallbackType::Early,
            recording(&r, "e"),
            Origin::default(),
        )
        .unwrap();
    r.suspend.release();
    assert_eq!(r.suspend.count(), 2);
    r.suspend.release();
    assert_eq!(r.suspend.count(), 0);
    assert!(r.p.log_lines().iter().any(|(level, line)| {
        *level == platform_port::LogLevel::Error && line.contains("OUTSTANDING CALLBACKS (1)")
    }));
    r.suspend.deregister(&e).unwrap();
}

#[test]
fn a_callback_may_deregister_itself_during_the_suspend() {
    let r = rig(2);
    let slot: Arc<Mutex<Option<Arc<SuspendCallback>>>> = Arc::default();
    let suspend = Arc::new(r.suspend);
    let (s, theirs) = (Arc::clone(&suspend), Arc::clone(&slot));
    let h = suspend
        .register(
            SuspendCallbackType::Late,
            Arc::new(move || {
                let me = theirs.lock().unwrap().take();
                if let Some(me) = me {
                    s.deregister(&me).unwrap();
                }
            }),
            Origin::default(),
        )
        .unwrap();
    *slot.lock().unwrap() = Some(Arc::clone(&h));
    assert_eq!(suspend.trigger(), SuspendOutcome::Resumed);
    assert_eq!(suspend.deregister(&h), Err(SuspendError::InvalidParameter));
}

#[test]
fn debug_dump_lists_count_and_callbacks() {
    let r = rig(1);
    let e = r
        .suspend
        .register(
            SuspendCallbackType::Early,
            recording(&r, "e"),
            Origin {
                function: 0xAB,
                argument: 0xCD,
                caller: 0,
            },
        )
        .unwrap();
    let l = r
        .suspend
        .register(
            SuspendCallbackType::Late,
            recording(&r, "l"),
            Origin {
                function: 0x12,
                argument: 0,
                caller: 0,
            },
        )
        .unwrap();
    r.suspend.trigger();
    let mut out = String::new();
    r.suspend.debug_dump(&mut out, false).unwrap();
    assert_eq!(
        out,
        "Count = 1\n\
         EARLY: 00000000000000AB (00000000000000CD)\n\
         LATE: 0000000000000012 (0000000000000000)\n"
    );
    r.suspend.deregister(&e).unwrap();
    r.suspend.deregister(&l).unwrap();
}

#[test]
fn registrations_racing_with_suspends_neither_deadlock_nor_run_a_removed_callback_late() {
    let r = rig(4);
    let suspend = Arc::new(r.suspend);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn: Vec<_> = (0..2)
        .map(|_| {
            let (suspend, stop) = (Arc::clone(&suspend), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut cycles = 0u32;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let h = suspend
                        .register(
                            SuspendCallbackType::Early,
                            Arc::new(|| {}),
                            Origin::default(),
                        )
                        .unwrap();
                    suspend.deregister(&h).unwrap();
                    cycles += 1;
                }
                cycles
            })
        })
        .collect();
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = Arc::clone(&runs);
    let steady = suspend
        .register(
            SuspendCallbackType::Late,
            Arc::new(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
            Origin::default(),
        )
        .unwrap();
    for _ in 0..20 {
        assert_eq!(suspend.trigger(), SuspendOutcome::Resumed);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in churn {
        assert!(t.join().unwrap() > 0);
    }
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 20);
    assert_eq!(suspend.count(), 20);
    suspend.deregister(&steady).unwrap();
    // Nothing registered any more: a suspend runs no callback.
    assert_eq!(suspend.trigger(), SuspendOutcome::Resumed);
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 20);
}
