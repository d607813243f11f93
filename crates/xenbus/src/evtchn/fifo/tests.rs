// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FIFO ABI against hand-built control blocks and event words (playing a hostile Xen),
//! on the simulator's guest memory so its hypercalls see the same frames.

use std::sync::Arc;
use std::vec::Vec;

use platform_port::std_impl::StdPlatform;
use xen::services::Direct;
use xen_headers::event_channel::{EVTCHNOP_EXPAND_ARRAY, EVTCHNOP_INIT_CONTROL, EVTCHNOP_UNMASK};
use xen_headers::xen::HYPERVISOR_EVENT_CHANNEL_OP;
use xen_sim::{Fault, Sim, SimConfig, SimPages, SimVcpu};

use super::*;

type Services = Direct<SimVcpu>;

struct Env {
    sim: Sim,
    platform: StdPlatform,
    pages: Arc<SimPages>,
    services: Arc<Services>,
}

fn env(vcpus: u32) -> Env {
    let sim = Sim::new(SimConfig {
        vcpus,
        max_evtchn_port: EVTCHN_FIFO_NR_CHANNELS - 1,
        ..SimConfig::default()
    });
    let (platform, pages) = sim.platform(vcpus);
    let services = Arc::new(Direct::new(sim.vcpu(0), vcpus));
    Env {
        sim,
        platform,
        pages,
        services,
    }
}

fn fifo(env: &Env) -> Fifo<StdPlatform, Services> {
    let fifo = Fifo::acquire(&env.platform, &env.services).unwrap();
    fifo.port_enable(WORDS_PER_PAGE - 1).unwrap();
    fifo
}

impl<P: Platform, S: XenServices> Fifo<P, S> {
    fn set_word(&self, port: u32, value: u32) {
        self.word(port).unwrap().store(value, Ordering::SeqCst);
    }

    fn set_queue(&self, cpu: u32, queue: usize, head: u32) {
        let block = self.block(cpu).unwrap();
        block.head(queue).unwrap().store(head, Ordering::SeqCst);
        block.ready.fetch_or(1 << queue, Ordering::SeqCst);
    }

    fn ready_bits(&self, cpu: u32) -> u32 {
        self.block(cpu).unwrap().ready.load(Ordering::SeqCst)
    }

    fn cached_head(&self, cpu: u32, queue: usize) -> u32 {
        self.block(cpu).unwrap().heads[queue].load(Ordering::SeqCst)
    }

    fn collect(&self, cpu: u32) -> Vec<u32> {
        let mut seen = Vec::new();
        self.poll(cpu, &mut |port| {
            seen.push(port);
            false
        });
        seen
    }
}

/// A queued, pending, unmasked word linking to `next`.
const fn queued(next: u32) -> u32 {
    PENDING | LINKED | next
}

#[test]
fn poll_walks_a_queue_in_link_order_and_unlinks_every_word() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(5, queued(9));
    fifo.set_word(9, queued(3));
    fifo.set_word(3, queued(0));
    fifo.set_queue(0, 7, 5);
    assert_eq!(fifo.collect(0), [5, 9, 3]);
    for port in [5, 9, 3] {
        assert_eq!(fifo.word_value(port), Some(PENDING), "port {port}");
    }
    assert_eq!(fifo.ready_bits(0), 0);
    assert_eq!(fifo.cached_head(0, 7), 0);
    fifo.release();
}

#[test]
fn poll_skips_masked_and_idle_words_but_still_unlinks_them() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(5, queued(6) | MASKED);
    fifo.set_word(6, LINKED | 7);
    fifo.set_word(7, queued(0));
    fifo.set_queue(0, 7, 5);
    assert_eq!(fifo.collect(0), [7]);
    assert_eq!(fifo.word_value(5), Some(PENDING | MASKED));
    assert_eq!(fifo.word_value(6), Some(0));
    fifo.release();
}

#[test]
fn a_link_outside_the_event_array_ends_the_queue() {
    let env = env(1);
    let fifo = fifo(&env);
    // One page registered: ports 0..1024. Xen links to 4000 and to the largest link value.
    fifo.set_word(5, queued(4000));
    fifo.set_queue(0, 7, 5);
    fifo.set_word(8, queued(EVTCHN_FIFO_LINK_MASK));
    fifo.set_queue(0, 9, 8);
    assert_eq!(fifo.collect(0), [5, 8]);
    assert_eq!(fifo.ready_bits(0), 0);
    assert_eq!(fifo.cached_head(0, 7), 0);
    assert_eq!(fifo.cached_head(0, 9), 0);
    fifo.release();
}

#[test]
fn a_word_linking_to_itself_is_delivered_once() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(5, queued(5));
    fifo.set_queue(0, 7, 5);
    assert_eq!(fifo.collect(0), [5]);
    assert_eq!(fifo.ready_bits(0), 0);
    fifo.release();
}

#[test]
fn a_two_word_cycle_ends_because_unlinking_breaks_it() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(5, queued(6));
    fifo.set_word(6, queued(5));
    fifo.set_queue(0, 7, 5);
    // 5 (unlinked), 6 -> 5 again, whose link is now clear: the end.
    assert_eq!(fifo.collect(0), [5, 6, 5]);
    assert_eq!(fifo.ready_bits(0), 0);
    fifo.release();
}

#[test]
fn a_head_outside_the_array_or_zero_just_clears_the_ready_bit() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_queue(0, 2, 70_000);
    fifo.set_queue(0, 3, 0);
    assert!(fifo.collect(0).is_empty());
    assert_eq!(fifo.ready_bits(0), 0);
    assert!(
        env.platform
            .log_lines()
            .iter()
            .any(|(_, line)| line.contains("head 70000 outside"))
    );
    fifo.release();
}

#[test]
fn ready_bits_beyond_the_sixteen_queues_are_ignored() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.block(0)
        .unwrap()
        .ready
        .store(0xFFFF_0000, Ordering::SeqCst);
    assert!(fifo.collect(0).is_empty());
    fifo.release();
}

#[test]
fn the_lowest_numbered_ready_queue_is_served_first() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(40, queued(41));
    fifo.set_word(41, queued(0));
    fifo.set_word(30, queued(0));
    fifo.set_queue(0, 9, 40);
    fifo.set_queue(0, 3, 30);
    // Queue 3 (higher priority) first; then queue 9 one event at a time.
    assert_eq!(fifo.collect(0), [30, 40, 41]);
    fifo.release();
}

#[test]
fn a_cached_head_is_used_before_the_control_block() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(5, queued(6));
    fifo.set_word(6, queued(0));
    fifo.set_queue(0, 7, 5);
    // Consume only the first event by hand, as a poll interrupted after one step would.
    let block = fifo.block(0).unwrap();
    let mut ready = block.ready.swap(0, Ordering::SeqCst);
    let mut first = Vec::new();
    fifo.consume_one(block, 7, &mut ready, &mut |port| {
        first.push(port);
        false
    });
    assert_eq!(first, [5]);
    assert_eq!(fifo.cached_head(0, 7), 6);
    // Xen moved its head meanwhile (it never does while the queue is non-empty): ignored.
    block.head(7).unwrap().store(99, Ordering::SeqCst);
    block.ready.fetch_or(ready, Ordering::SeqCst);
    assert_eq!(fifo.collect(0), [6]);
    fifo.release();
}

#[test]
fn polling_a_cpu_without_a_control_block_does_nothing() {
    let env = env(1);
    let fifo = fifo(&env);
    assert!(!fifo.is_processor_enabled(1));
    assert!(fifo.collect(1).is_empty());
    assert!(fifo.collect(u32::MAX).is_empty());
    fifo.release();
}

#[test]
fn ack_mask_and_unmask_touch_only_their_bits() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(5, PENDING | MASKED | LINKED | 7);
    assert!(fifo.port_unmask(5));
    assert_eq!(fifo.word_value(5), Some(PENDING | LINKED | 7));
    fifo.port_ack(5);
    assert_eq!(fifo.word_value(5), Some(LINKED | 7));
    assert!(!fifo.port_unmask(5));
    fifo.port_mask(5);
    assert_eq!(fifo.word_value(5), Some(MASKED | LINKED | 7));
    // Ports outside the array: nothing touched, nothing pending.
    fifo.port_ack(5000);
    fifo.port_mask(5000);
    assert!(!fifo.port_unmask(5000));
    fifo.release();
}

#[test]
fn unmask_waits_while_xen_holds_the_word_busy() {
    let env = env(1);
    let fifo = Arc::new(fifo(&env));
    fifo.set_word(5, PENDING | MASKED | BUSY);
    let xen = {
        let fifo = Arc::clone(&fifo);
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1));
            fifo.word(5).unwrap().fetch_and(!BUSY, Ordering::SeqCst);
        })
    };
    // Either the busy window outlasted the spins (hypercall path: false, Xen unmasks) or the
    // CAS went through after Xen let go: then the mask is clear and the pending bit reported.
    let pending = fifo.port_unmask(5);
    xen.join().unwrap();
    if pending {
        assert_eq!(fifo.word_value(5), Some(PENDING));
    }
    let fifo = Arc::into_inner(fifo).unwrap();
    fifo.release();
}

#[test]
fn unmask_gives_up_on_a_word_busy_forever_and_leaves_it_to_xen() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(5, PENDING | MASKED | BUSY);
    let before = env.sim.calls(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_UNMASK);
    assert!(!fifo.port_unmask(5));
    // Xen (the simulator) cleared the mask and queued the pending event.
    assert_eq!(fifo.word_value(5).unwrap() & (MASKED | PENDING), PENDING);
    assert_eq!(
        env.sim.calls(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_UNMASK),
        before + 1
    );
    fifo.release();
}

#[test]
fn the_event_array_grows_one_masked_page_at_a_time_up_to_the_link_limit() {
    let env = env(1);
    let fifo = Fifo::acquire(&env.platform, &env.services).unwrap();
    assert_eq!(fifo.word_value(0), None);
    fifo.port_enable(2500).unwrap();
    assert_eq!(fifo.array_len.load(Ordering::SeqCst), 3);
    for port in [0, 1023, 1024, 2500, 3071] {
        assert_eq!(fifo.word_value(port), Some(MASKED), "port {port}");
    }
    assert_eq!(fifo.word_value(3072), None);
    fifo.port_enable(10).unwrap();
    assert_eq!(fifo.array_len.load(Ordering::SeqCst), 3);
    assert_eq!(
        fifo.port_enable(EVTCHN_FIFO_NR_CHANNELS),
        Err(EvtchnError::InvalidParameter)
    );
    assert_eq!(env.sim.audit().fifo_pages, 3);
    // One control block and three array pages.
    assert_eq!(env.pages.outstanding(), 4);
    fifo.release();
    assert_eq!(env.pages.outstanding(), 0);
    assert_eq!(env.sim.audit().fifo_pages, 0);
    assert_eq!(env.sim.audit().fifo_control_blocks, 0);
}

#[test]
fn a_refused_expansion_frees_its_page_and_keeps_the_accepted_ones() {
    let env = env(1);
    let fifo = Fifo::acquire(&env.platform, &env.services).unwrap();
    env.sim.inject(
        Fault::new(HYPERVISOR_EVENT_CHANNEL_OP)
            .cmd(EVTCHNOP_EXPAND_ARRAY)
            .nth(2),
    );
    assert!(matches!(fifo.port_enable(2500), Err(EvtchnError::Xen(_))));
    assert_eq!(fifo.array_len.load(Ordering::SeqCst), 1);
    assert_eq!(env.sim.audit().fifo_pages, 1);
    assert_eq!(env.pages.outstanding(), 2);
    // Growth resumes where it stopped.
    fifo.port_enable(2500).unwrap();
    assert_eq!(fifo.array_len.load(Ordering::SeqCst), 3);
    fifo.release();
    assert_eq!(env.pages.outstanding(), 0);
}

#[test]
fn a_refused_control_block_resets_and_frees_every_page() {
    let env = env(3);
    env.sim.inject(
        Fault::new(HYPERVISOR_EVENT_CHANNEL_OP)
            .cmd(EVTCHNOP_INIT_CONTROL)
            .nth(2),
    );
    let Err(error) = Fifo::acquire(&env.platform, &env.services) else {
        panic!("acquire succeeded");
    };
    assert!(matches!(error, EvtchnError::Xen(_)));
    assert_eq!(env.pages.outstanding(), 0);
    let audit = env.sim.audit();
    assert_eq!(audit.fifo_control_blocks, 0);
    assert_eq!(audit.fifo_pages, 0);
    // The reset ran: both toolstack channels are bound again.
    assert_eq!(audit.toolstack_ports.len(), 2);
    assert!(audit.open_ports.is_empty());
}

#[test]
fn cpus_without_a_vcpu_get_no_control_block() {
    let env = env(2);
    // Four processors, two vCPUs: processors 2 and 3 are skipped (STATUS_NOT_SUPPORTED).
    let platform = StdPlatform::with_pages(4, Arc::clone(&env.pages) as _);
    let fifo = Fifo::acquire(&platform, &env.services).unwrap();
    assert!(fifo.is_processor_enabled(0));
    assert!(fifo.is_processor_enabled(1));
    assert!(!fifo.is_processor_enabled(2));
    assert!(!fifo.is_processor_enabled(3));
    assert_eq!(env.sim.audit().fifo_control_blocks, 2);
    fifo.release();
    assert_eq!(env.pages.outstanding(), 0);
}

#[test]
fn a_poll_against_xen_relinking_forever_stops_after_a_bounded_walk_and_keeps_ready() {
    let env = env(1);
    let fifo = fifo(&env);
    fifo.set_word(5, queued(6));
    fifo.set_word(6, queued(5));
    fifo.set_queue(0, 7, 5);
    // A hostile Xen, acting between every two steps of the walk: it links both words to each
    // other again and keeps the queue ready, so the queue never ends.
    let mut delivered = 0usize;
    fifo.poll(0, &mut |_| {
        delivered += 1;
        fifo.set_word(5, queued(6));
        fifo.set_word(6, queued(5));
        fifo.block(0)
            .unwrap()
            .ready
            .fetch_or(1 << 7, Ordering::SeqCst);
        false
    });
    // One page registered: at most 1024 + 16 steps, each delivering at most one event.
    assert_eq!(delivered, 1024 + 16);
    // What was left is handed back for the next upcall.
    assert_eq!(fifo.ready_bits(0), 1 << 7);
    fifo.release();
}

#[test]
fn no_processor_with_a_vcpu_id_refuses_the_fifo_abi() {
    let env = env(2);
    // xen.sys names no processor's vCPU (no MADT read): every processor answers
    // STATUS_NOT_SUPPORTED, so no control block can be registered and the FIFO ABI must be
    // refused (EVTCHN then uses the 2-level ABI) rather than accepted with nothing behind it.
    let services = Arc::new(Direct::new(env.sim.vcpu(0), 0));
    let Err(error) = Fifo::acquire(&env.platform, &services) else {
        panic!("the FIFO ABI was accepted with no control block");
    };
    assert!(matches!(error, EvtchnError::Unsuccessful));
    assert_eq!(env.sim.audit().fifo_control_blocks, 0);
    assert_eq!(env.pages.outstanding(), 0);
}
