// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The toolstack as `xl`, xenstored and xenconsoled leave a domain: store and console
//! channels, seeded grant entries, the console backend, and the new domain after a suspend.

use crate::evtchn::{Events, PortState, Surface};
use crate::gnttab::GuestGrantTable;
use crate::memory::Page;
use crate::shm::u32_at;
use crate::state::{State, Timers, Via, guest_surface};
use std::mem::offset_of;
use std::sync::atomic::Ordering::SeqCst;
use xen_headers::grant_table::{GNTTAB_RESERVED_CONSOLE, GNTTAB_RESERVED_XENSTORE};
use xen_headers::hvm::params::{
    HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_STORE_EVTCHN,
};
use xen_headers::io::console::{XENCONS_IN_RING_SIZE, XENCONS_OUT_RING_SIZE, XenconsInterface};

impl State {
    /// Creates the store and console channels as `xl` and the daemons do: guest ports
    /// allocated unbound for dom0 (at ports shifted by `generation` after a resume), then bound
    /// by the backend; the HVM parameters name the guest ports.
    pub fn build_toolstack_channels(&mut self, generation: u64) {
        let domid = self.cfg.domid;
        let backend = self.cfg.backend_domid;
        let shift = u32::try_from(generation.saturating_mul(u64::from(self.cfg.resume_port_shift)))
            .unwrap_or(0);
        let want = |base: u32| if shift == 0 { 0 } else { base + shift };
        let store = self
            .alloc_unbound(domid, backend, want(1))
            .or_else(|_| self.alloc_unbound(domid, backend, 0))
            .expect("room for the store port");
        let console = self
            .alloc_unbound(domid, backend, want(2))
            .or_else(|_| self.alloc_unbound(domid, backend, 0))
            .expect("room for the console port");
        self.params[HVM_PARAM_STORE_EVTCHN as usize] = u64::from(store);
        self.params[HVM_PARAM_CONSOLE_EVTCHN as usize] = u64::from(console);
        let store_backend = self
            .bind_interdomain(backend, domid, store)
            .expect("backend binds the store port");
        let console_backend = self
            .bind_interdomain(backend, domid, console)
            .expect("backend binds the console port");
        self.toolstack.store_backend = store_backend;
        self.toolstack.console_backend = console_backend;
        // The daemons consume their bind notifications.
        self.take_backend_events(&[store_backend, console_backend]);
        self.seed_grants();
    }

    /// Grant entries 0 (console) and 1 (store), as `xc_dom_gnttab_seed`.
    pub fn seed_grants(&self) {
        let backend = self.cfg.backend_domid;
        self.gnttab.seed(
            GNTTAB_RESERVED_CONSOLE,
            backend,
            u32::try_from(self.toolstack.console_gfn).unwrap_or(0),
        );
        self.gnttab.seed(
            GNTTAB_RESERVED_XENSTORE,
            backend,
            u32::try_from(self.toolstack.store_gfn).unwrap_or(0),
        );
    }

    /// Removes `ports` from the backend's pending set and fired list.
    fn take_backend_events(&mut self, ports: &[u32]) -> usize {
        let Surface::Backend { pending, fired } = &mut self.backend.surface else {
            return 0;
        };
        for port in ports {
            pending.remove(port);
        }
        let before = fired.len();
        fired.retain(|p| !ports.contains(p));
        before - fired.len()
    }

    /// The console and store daemons react to their ports.
    pub fn backend_react(&mut self) {
        let console = self.toolstack.console_backend;
        let store = self.toolstack.store_backend;
        if self.take_backend_events(&[console]) > 0 {
            self.console_consume();
        }
        let kicks = self.take_backend_events(&[store]) as u64;
        self.toolstack.store_kicks += kicks;
        self.store_hook_kicks += kicks;
    }

    fn console_ring(&self) -> Option<Page> {
        if !self.cfg.toolstack {
            return None;
        }
        self.mem.page(self.toolstack.console_gfn)
    }

    /// xenconsoled: drain the out ring into the buffer and kick the guest.
    pub fn console_consume(&mut self) {
        let Some(page) = self.console_ring() else {
            return;
        };
        let cons_at = offset_of!(XenconsInterface, out_cons);
        let prod_at = offset_of!(XenconsInterface, out_prod);
        let out_at = offset_of!(XenconsInterface, out);
        let cons = u32_at(page, cons_at).load(SeqCst);
        let prod = u32_at(page, prod_at).load(SeqCst);
        let len = prod.wrapping_sub(cons) as usize;
        if len == 0 || len > XENCONS_OUT_RING_SIZE {
            return;
        }
        for i in 0..len {
            let index = (cons as usize + i) % XENCONS_OUT_RING_SIZE;
            let byte = crate::shm::u8_at(page, out_at + index).load(SeqCst);
            self.toolstack.console_out.push(byte);
        }
        u32_at(page, cons_at).store(prod, SeqCst);
        let _ = self.send(self.cfg.backend_domid, self.toolstack.console_backend);
    }

    /// Console input: as much of `bytes` as fits the in ring; returns how much.
    pub fn console_input(&mut self, bytes: &[u8]) -> usize {
        let Some(page) = self.console_ring() else {
            return 0;
        };
        let cons = u32_at(page, offset_of!(XenconsInterface, in_cons)).load(SeqCst);
        let prod_word = u32_at(page, offset_of!(XenconsInterface, in_prod));
        let prod = prod_word.load(SeqCst);
        let used = prod.wrapping_sub(cons) as usize;
        let room = XENCONS_IN_RING_SIZE.saturating_sub(used);
        let n = room.min(bytes.len());
        for (i, &b) in bytes.iter().take(n).enumerate() {
            let index = (prod as usize + i) % XENCONS_IN_RING_SIZE;
            crate::shm::u8_at(page, offset_of!(XenconsInterface, in_) + index).store(b, SeqCst);
        }
        prod_word.store(prod.wrapping_add(n as u32), SeqCst);
        let _ = self.send(self.cfg.backend_domid, self.toolstack.console_backend);
        n
    }

    // ---- suspend ----

    /// `SHUTDOWN_suspend` completed: the guest wakes in a new domain.
    pub fn resume_in_new_domain(&mut self) {
        let domid = self.cfg.domid;
        // The old domain's ports close: backends' ends become unbound.
        for port in 1..self.guest.ports.len() as u32 {
            if let Some(&p) = self.guest.port(port)
                && let PortState::Interdomain { dom, port: rport } = p.state
                && dom != domid
                && let Some(r) = self.events(dom).and_then(|e| e.port_mut(rport))
            {
                r.state = PortState::Unbound { remote: domid };
            }
        }
        // The daemons drop their old ends.
        let (store_b, console_b) = (self.toolstack.store_backend, self.toolstack.console_backend);
        let backend = self.cfg.backend_domid;
        let _ = self.close(backend, store_b);
        let _ = self.close(backend, console_b);
        self.toolstack.store_backend = 0;
        self.toolstack.console_backend = 0;
        // Guest mappings of backend grants do not survive.
        let maps: Vec<_> = self.guest_maptrack.iter().collect();
        for (handle, entry) in maps {
            if let Some(g) = self.backend_grants.get_mut(&entry.reference) {
                g.pins = g.pins.saturating_sub(1);
            }
            self.guest_maptrack.remove(handle);
        }
        // Fresh Xen state.
        let surface = guest_surface(&mut self.mem, self.cfg.vcpus);
        self.guest = Events::new(
            domid,
            self.cfg.vcpus,
            self.cfg.max_evtchn_port,
            Surface::Guest(surface),
        );
        self.mem.clear_overlays(|_| false);
        let max = self.cfg.max_grant_frames;
        self.gnttab = GuestGrantTable::new(self.mem.pool(), max);
        self.params[HVM_PARAM_CALLBACK_IRQ as usize] = 0;
        self.via = Via::None;
        self.upcall_vector.iter_mut().for_each(|v| *v = 0);
        self.timers.iter_mut().for_each(|t| *t = Timers::default());
        self.watchdogs = [false; 2];
        self.suspends += 1;
        if self.cfg.toolstack {
            self.build_toolstack_channels(self.suspends);
        }
    }
}
