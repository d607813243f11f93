// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! EVTCHN delivery cost on the host simulator: time for one upcall (`Evtchn::deliver` on CPU
//! 0, i.e. the ISR under its interrupt lock) that delivers `pending` events, with `open`
//! inter-domain channels bound, for the 2-level and FIFO ABIs. The events are raised by dom0
//! in the untimed set-up of each batch (no upcall handler is installed, so Xen only leaves them
//! pending); the timed part is the guest's whole delivery path: upcall flag, ABI scan, port
//! lookup, pending queue, ack, count and callback. Criterion reports time per upcall and
//! events per second (throughput = `pending`).

use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use platform_port::std_impl::{StdInterrupts, StdPlatform};
use xen::services::Direct;
use xen_headers::memory::XENMAPSPACE_SHARED_INFO;
use xen_sim::{Peer, Sim, SimConfig, SimVcpu};
use xenbus::evtchn::{AbiKind, Channel, Evtchn, EvtchnConfig, OpenKind};
use xenbus::shared_info::{ProcessorVcpu, SharedInfo};

type Subject = Evtchn<StdPlatform, Direct<SimVcpu>, StdInterrupts>;

struct Bench {
    sim: Sim,
    dom0: Peer,
    evtchn: Arc<Subject>,
    /// dom0's end of every open channel, in opening order.
    remotes: Vec<u32>,
    channels: Vec<Arc<Channel>>,
    delivered: Arc<AtomicU64>,
}

impl Bench {
    fn new(abi: AbiKind, open: usize) -> Self {
        let sim = Sim::new(SimConfig {
            vcpus: 1,
            max_evtchn_port: 8191,
            ..SimConfig::default()
        });
        let (platform, _pages) = sim.platform(1);
        // Measure delivery, not the IRQL checker (the tests run it checked).
        platform.disable_checks_for_benchmark();
        let services = Arc::new(Direct::new(sim.vcpu(0), 1));
        let gfn = sim.hole(1);
        // SAFETY: the frame is a hole reserved for this mapping.
        unsafe { xen::memory::add_to_physmap(&sim.vcpu(0), gfn, XENMAPSPACE_SHARED_INFO, 0) }
            .unwrap();
        let page = NonNull::new(sim.host_ptr(gfn).unwrap()).unwrap();
        let cpus = [ProcessorVcpu {
            vcpu_id: Some(0),
            registered: None,
        }];
        // SAFETY: the simulator keeps the frame mapped for its life; accessed atomically.
        let info = unsafe { SharedInfo::new(page, &cpus) }.unwrap();
        info.mask_all();
        let evtchn = Evtchn::new(
            platform.clone(),
            services,
            StdInterrupts::new(platform),
            Arc::new(info),
            EvtchnConfig {
                use_fifo_abi: abi == AbiKind::Fifo,
                use_upcall: true,
            },
        )
        .unwrap();
        evtchn.acquire().unwrap();
        assert_eq!(evtchn.abi_kind(), Some(abi));
        let dom0 = sim.dom0();
        let delivered = Arc::new(AtomicU64::new(0));
        let mut remotes = Vec::with_capacity(open);
        let mut channels = Vec::with_capacity(open);
        for _ in 0..open {
            let remote = dom0.allocate_unbound().unwrap();
            let counter = Arc::clone(&delivered);
            let channel = evtchn
                .open(
                    OpenKind::InterDomain {
                        remote_domain: dom0.domid(),
                        remote_port: remote,
                        auto_mask: false,
                    },
                    Arc::new(move || {
                        counter.fetch_add(1, Ordering::Relaxed);
                        true
                    }),
                    0,
                )
                .unwrap();
            // The bind left the port pending; unmask lets Xen raise it, the upcall takes it.
            evtchn.unmask(&channel, false, true);
            remotes.push(remote);
            channels.push(channel);
        }
        evtchn.deliver(0);
        Self {
            sim,
            dom0,
            evtchn,
            remotes,
            channels,
            delivered,
        }
    }

    /// dom0 notifies `pending` channels spread evenly over the open ones.
    fn raise(&self, pending: usize) {
        let stride = self.remotes.len() / pending;
        for index in 0..pending {
            self.dom0.send(self.remotes[index * stride]).unwrap();
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        for channel in self.channels.drain(..) {
            self.evtchn.close(channel);
        }
        self.evtchn.release();
        let _ = &self.sim;
    }
}

fn delivery(c: &mut Criterion) {
    let mut group = c.benchmark_group("evtchn/deliver");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40);
    for abi in [AbiKind::TwoLevel, AbiKind::Fifo] {
        for open in [64usize, 512, 4000] {
            let bench = Bench::new(abi, open);
            for pending in [1usize, 16, 64] {
                // Every raised event is delivered by one upcall.
                let before = bench.delivered.load(Ordering::Relaxed);
                bench.raise(pending);
                bench.evtchn.deliver(0);
                assert_eq!(
                    bench.delivered.load(Ordering::Relaxed) - before,
                    pending as u64
                );
                group.throughput(Throughput::Elements(pending as u64));
                let id = BenchmarkId::new(format!("{abi:?}/open={open}"), pending);
                group.bench_with_input(id, &pending, |b, &pending| {
                    b.iter_batched(
                        || bench.raise(pending),
                        |()| black_box(bench.evtchn.deliver(0)),
                        BatchSize::PerIteration,
                    );
                });
            }
            drop(bench);
        }
    }
    group.finish();
}

criterion_group!(benches, delivery);
criterion_main!(benches);
