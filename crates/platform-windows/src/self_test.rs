// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A smoke test of every service on the machine it runs on: what a first boot on Windows runs
//! (xenbus.sys's `AddDevice`, when its `PlatformSelfTest` parameter asks) before the FDO glue
//! uses the services for real. Each step logs its outcome through the platform; the first
//! failure stops the test.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use platform_port::{
    Clock, Deferred, Dpc, Event, EventKind, Events, InterruptMode, Interrupts, Memory, PortError,
    Processors, RegValue, Registry, Rendezvous, RendezvousPlan, Thread, Threads, Timer, Timers,
    plog,
};

use crate::{WindowsInterrupts, WindowsPlatform};

/// How long a step waits for its DPC, timer or thread.
const PATIENCE: Duration = Duration::from_secs(5);

/// A plan that counts the processors each phase ran on.
#[derive(Default)]
struct Count {
    high: AtomicU32,
    dispatch: AtomicU32,
}

impl RendezvousPlan for Count {
    fn owner_high(&self) -> bool {
        true
    }
    fn each_high(&self, _cpu: u32) {
        self.high.fetch_add(1, Ordering::SeqCst);
    }
    fn each_dispatch(&self, _cpu: u32) {
        self.dispatch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Fails with `error` unless `ok`.
const fn check(ok: bool, error: PortError) -> Result<(), PortError> {
    if ok { Ok(()) } else { Err(error) }
}

/// Runs every service once. IRQL: `PASSIVE_LEVEL`.
///
/// `interrupts` is the FDO's set (empty before it starts), and `scratch_parent` a key below
/// `HKEY_LOCAL_MACHINE` under which a volatile `PlatformSelfTest` key is written, read back
/// and emptied.
///
/// # Errors
/// The first failing step's error ([`PortError::Failed`] for a routine that never ran).
pub fn self_test(
    platform: &WindowsPlatform,
    interrupts: &WindowsInterrupts,
    scratch_parent: &str,
) -> Result<(), PortError> {
    let p = *platform;
    let cpu = p.current_processor();
    let count = p.processor_count();
    plog!(
        p,
        Info,
        "PLATFORM: processor {cpu} of {count}, time {}",
        p.system_time()
    );
    check(cpu < count, PortError::Failed)?;
    p.stall(1);

    let event = p.new_event(EventKind::Notification);
    event.set();
    check(
        event.is_set() && event.wait(Some(Duration::ZERO)),
        PortError::Failed,
    )?;
    event.reset();
    check(
        !event.wait(Some(Duration::from_millis(1))),
        PortError::Failed,
    )?;

    let ran = Arc::new(p.new_event(EventKind::Synchronization));
    let signal = Arc::clone(&ran);
    let dpc = p.new_dpc(Some(0), Arc::new(move || signal.set()));
    check(dpc.insert() && ran.wait(Some(PATIENCE)), PortError::Failed)?;
    p.flush_dpcs();
    plog!(p, Info, "PLATFORM: DPC ran");

    let signal = Arc::clone(&ran);
    let timer = p.new_timer(Arc::new(move || signal.set()));
    timer.set(Duration::from_millis(10), None);
    check(ran.wait(Some(PATIENCE)), PortError::Failed)?;
    let _ = timer.cancel();
    drop(timer);
    plog!(p, Info, "PLATFORM: timer fired");

    let signal = Arc::clone(&ran);
    p.spawn("self-test", Box::new(move || signal.set()))?.join();
    check(ran.wait(Some(Duration::ZERO)), PortError::Failed)?;
    plog!(p, Info, "PLATFORM: thread joined");

    pages(p)?;

    let options = p.read_value(r"SYSTEM\CurrentControlSet\Control", "SystemStartOptions")?;
    plog!(p, Info, "PLATFORM: SystemStartOptions {options:?}");

    registry(p, scratch_parent)?;

    let plan = Count::default();
    p.rendezvous(&plan);
    let (high, dispatch) = (
        plan.high.load(Ordering::SeqCst),
        plan.dispatch.load(Ordering::SeqCst),
    );
    plog!(
        p,
        Info,
        "PLATFORM: rendezvous: {high} at HIGH_LEVEL, {dispatch} at DISPATCH_LEVEL"
    );
    check(high == dispatch && high >= 1, PortError::Failed)?;

    let line = interrupts.allocate_interrupt(InterruptMode::LevelSensitive, 0);
    plog!(
        p,
        Info,
        "PLATFORM: line interrupt {}",
        if line.is_some() {
            "allocated"
        } else {
            "absent"
        }
    );
    Ok(())
}

/// Two zeroed contiguous pages, the first mapped a second time by frame number.
fn pages(p: WindowsPlatform) -> Result<(), PortError> {
    let pages = p.alloc_pages(2)?;
    let mapped = {
        // SAFETY: our own pages, mapped and unmapped here.
        let mapped = unsafe { p.map_physical(pages.pfn, 1) };
        mapped.map(|address| {
            // SAFETY: the new mapping covers the first page, zeroed by `alloc_pages`.
            let seen = unsafe { address.as_ptr().read_volatile() };
            // SAFETY: the allocation's own mapping of that page.
            let same = seen == unsafe { pages.address.as_ptr().read_volatile() };
            // SAFETY: the mapping just made, of one page.
            unsafe { p.unmap_physical(address, 1) };
            same
        })
    };
    let pfn = pages.pfn;
    // SAFETY: our pages, unused from now on.
    unsafe { p.free_pages(pages) };
    check(mapped? && pfn != 0, PortError::Failed)?;
    plog!(p, Info, "PLATFORM: pages at frame {pfn:#x}");
    Ok(())
}

/// The registry services on a volatile key below `scratch_parent`.
fn registry(p: WindowsPlatform, scratch_parent: &str) -> Result<(), PortError> {
    // A volatile scratch key (gone at the next boot) below the caller's key.
    let mut scratch = alloc::string::String::from(scratch_parent);
    scratch.push_str(r"\PlatformSelfTest");
    p.create_key(&scratch, true)?;
    p.write_value(&scratch, "Value", RegValue::Dword(0x5EED))?;
    check(
        p.read_dword(&scratch, "Value")? == 0x5EED,
        PortError::Failed,
    )?;
    p.delete_value(&scratch, "Value")?;
    check(
        p.read_value(&scratch, "Value") == Err(PortError::NotFound),
        PortError::Failed,
    )?;
    let subkeys = p.subkeys(scratch_parent)?;
    check(
        subkeys
            .iter()
            .any(|k| k.eq_ignore_ascii_case("PlatformSelfTest")),
        PortError::NotFound,
    )?;
    plog!(
        p,
        Info,
        "PLATFORM: registry written, read, deleted and enumerated"
    );
    Ok(())
}
