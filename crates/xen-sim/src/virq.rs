// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Virtual IRQs Xen raises on its own (the host's `'q'` debug key, ...).

use crate::Sim;
use crate::evtchn::Marks;

impl Sim {
    /// Xen raises per-vCPU `virq` on `vcpu` (as the `'q'` debug key does with `VIRQ_DEBUG`
    /// on vCPU 0): the port bound to it becomes pending and the upcall follows the delivery
    /// rule. Returns whether a port was bound to it.
    #[must_use = "false means nothing was bound to the VIRQ"]
    pub fn raise_virq(&self, virq: u32, vcpu: u32) -> bool {
        self.with(|s| {
            let port = usize::try_from(vcpu)
                .ok()
                .and_then(|v| s.guest.virq_to_port.get(v))
                .and_then(|ports| ports.get(usize::try_from(virq).ok()?))
                .copied()
                .unwrap_or(0);
            if port == 0 {
                return false;
            }
            let mut marks = Marks::new();
            s.guest.set_pending(vcpu, port, &mut marks);
            s.deliver(marks);
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Sim, SimConfig};
    use xen_headers::xen::{VIRQ_DEBUG, VIRQ_TIMER};

    #[test]
    fn a_raised_virq_pends_its_bound_port_only() {
        let sim = Sim::new(SimConfig::default());
        assert!(!sim.raise_virq(VIRQ_DEBUG, 0), "nothing bound yet");
        let vcpu = sim.vcpu(0);
        let port = xen::event_channel::bind_virq(&vcpu, VIRQ_DEBUG, 0).unwrap();
        let timer = xen::event_channel::bind_virq(&vcpu, VIRQ_TIMER, 0).unwrap();
        assert!(!sim.with(|s| s.guest.is_pending(port)));
        assert!(sim.raise_virq(VIRQ_DEBUG, 0));
        assert!(sim.with(|s| s.guest.is_pending(port)));
        assert!(!sim.with(|s| s.guest.is_pending(timer)));
        assert!(!sim.raise_virq(VIRQ_DEBUG, 1), "not bound on vCPU 1");
    }
}
