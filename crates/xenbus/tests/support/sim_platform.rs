// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

// The host simulator as the std platform's memory, and the xen.sys services over it, for the
// CACHE/GNTTAB tests (included with `include!` by the unit tests and the scenario tests).
//
// `SimPages` hands out the simulator's guest RAM frames as `alloc_pages` memory and resolves
// `map_physical` through the simulator, so a grant frame Xen placed in a hole is reached at
// Xen's page. It counts live allocations and frees of frames that were not backed any more
// (memory handed back to the OS while Xen still owned the frame).

use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};

use platform_port::std_impl::{PageSource, StdPlatform};
use platform_port::{Pages, PortError};
use xen::services::Direct;
use xen_sim::{Sim, SimConfig, SimVcpu};

/// The simulator's guest memory as a page source.
pub struct SimPages {
    sim: Sim,
    live: Mutex<BTreeMap<u64, usize>>,
    /// Fail every allocation while set.
    pub fail: AtomicBool,
    /// Frees of pages whose frames were not backed by RAM.
    pub unbacked_frees: AtomicUsize,
}

impl SimPages {
    /// Pages allocated and not freed.
    pub fn live_pages(&self) -> usize {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .sum()
    }
}

impl PageSource for SimPages {
    fn alloc(&self, count: usize) -> Result<Pages, PortError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError::NoMemory);
        }
        let (pfn, ptr) = self.sim.allocate(count);
        let address = NonNull::new(ptr).ok_or(PortError::NoMemory)?;
        self.live.lock().unwrap().insert(pfn, count);
        Ok(Pages {
            address,
            pfn,
            count,
        })
    }

    unsafe fn free(&self, pages: Pages) {
        let known = self.live.lock().unwrap().remove(&pages.pfn);
        assert_eq!(known, Some(pages.count), "free of pages never allocated");
        for i in 0..pages.count as u64 {
            if !self.sim.is_populated(pages.pfn + i) {
                self.unbacked_frees
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    fn map(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError> {
        if count != 1 {
            return Err(PortError::InvalidParameter);
        }
        self.sim
            .host_ptr(pfn)
            .and_then(NonNull::new)
            .ok_or(PortError::InvalidParameter)
    }
}

/// A simulator, a platform whose pages are its guest memory, and the services over it.
pub struct SimWorld {
    pub sim: Sim,
    pub pages: Arc<SimPages>,
    pub platform: StdPlatform,
    pub xen: Arc<Direct<SimVcpu>>,
}

/// A world with `cpus` processors over a simulator made from `cfg`.
#[must_use]
pub fn sim_world(cfg: SimConfig) -> SimWorld {
    let cpus = cfg.vcpus;
    let sim = Sim::new(cfg);
    let pages = Arc::new(SimPages {
        sim: sim.clone(),
        live: Mutex::new(BTreeMap::new()),
        fail: AtomicBool::new(false),
        unbacked_frees: AtomicUsize::new(0),
    });
    let platform = StdPlatform::with_pages(cpus, Arc::clone(&pages) as Arc<dyn PageSource>);
    let xen = Arc::new(Direct::new(sim.vcpu(0), cpus));
    SimWorld {
        sim,
        pages,
        platform,
        xen,
    }
}
