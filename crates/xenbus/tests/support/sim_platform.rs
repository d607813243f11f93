// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

// The host simulator as the std platform's memory (`xen_sim::SimPages`: guest RAM frames as
// `alloc_pages` memory, `map_physical` through the simulator, page books for leak checks) and
// the xen.sys services over it, for the scenario tests (included with `include!`).

use std::sync::Arc;

use platform_port::std_impl::StdPlatform;
use xen::services::Direct;
use xen_sim::{Sim, SimConfig, SimPages, SimVcpu};

/// A simulator, a platform whose pages are its guest memory, and the services over it.
pub struct SimWorld {
    pub sim: Sim,
    pub pages: Arc<SimPages>,
    pub platform: StdPlatform,
    pub xen: Arc<Direct<SimVcpu>>,
}

/// A world with `cfg.vcpus` processors over a simulator made from `cfg`.
#[must_use]
pub fn sim_world(cfg: SimConfig) -> SimWorld {
    let cpus = cfg.vcpus;
    let sim = Sim::new(cfg);
    let (platform, pages) = sim.platform(cpus);
    let xen = Arc::new(Direct::new(sim.vcpu(0), cpus));
    SimWorld {
        sim,
        pages,
        platform,
        xen,
    }
}

/// Every test checks on its way out that nothing freed pages it never allocated.
impl Drop for SimWorld {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(
                self.pages
                    .foreign_frees
                    .load(std::sync::atomic::Ordering::SeqCst),
                0,
                "pages freed that were never allocated (or with another count)"
            );
        }
    }
}
