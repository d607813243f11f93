// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Delivery: upcall vectors and the callback line, the ISR, the per-CPU poll and pending queue,
//! the DPC flush and the reaping of closed channels.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{Ordering, fence};

use ntstatus::STATUS_NOT_IMPLEMENTED;
use platform_port::{Interrupt, Interrupts, Platform, plog};
use xen_headers::hvm::params::HVM_PARAM_CALLBACK_IRQ;
use xen_services::XenServices;

use super::{Channel, ChannelKind, Evtchn, EvtchnError, Processor};

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> Evtchn<P, S, I> {
    /// Programs the per-CPU vectors and the callback line, then runs each ISR once
    /// (`EvtchnInterruptEnable`).
    pub(super) fn interrupt_enable(&self) {
        if self.config.use_upcall {
            for cpu in 0..self.platform.processor_count() {
                let vector = {
                    let irqs = self.irqs.lock();
                    irqs.vectors
                        .get(usize::try_from(cpu).unwrap_or(usize::MAX))
                        .cloned()
                        .flatten()
                };
                let Some(interrupt) = vector else { continue };
                if !self.is_processor_enabled(cpu) {
                    continue;
                }
                let Ok(vcpu) = self.services.processor_vcpu_id(cpu) else {
                    continue;
                };
                match self
                    .services
                    .hvm_set_evtchn_upcall_vector(vcpu, interrupt.vector())
                {
                    Ok(()) => {}
                    Err(STATUS_NOT_IMPLEMENTED) => {
                        plog!(
                            self.platform,
                            Info,
                            "EVTCHN: PER-CPU UPCALL NOT IMPLEMENTED"
                        );
                        break;
                    }
                    Err(status) => {
                        plog!(
                            self.platform,
                            Warning,
                            "EVTCHN: CPU {cpu}: upcall vector refused ({status:08x})"
                        );
                        continue;
                    }
                }
                plog!(
                    self.platform,
                    Info,
                    "EVTCHN: CPU {cpu} (Vector = {})",
                    interrupt.vector()
                );
                if let Some(processor) = self.processor(cpu) {
                    processor.upcall_enabled.store(true, Ordering::SeqCst);
                }
                interrupt.synchronize(&mut || {
                    self.interrupt(cpu);
                });
            }
        } else {
            plog!(self.platform, Info, "EVTCHN: PER-CPU UPCALL DISABLED");
        }
        let Some(line) = self.irqs.lock().line.clone() else {
            return;
        };
        if let Err(status) = self
            .services
            .hvm_set_param(HVM_PARAM_CALLBACK_IRQ, u64::from(line.line()))
        {
            plog!(
                self.platform,
                Error,
                "EVTCHN: CALLBACK VIA not set ({status:08x})"
            );
        }
        plog!(
            self.platform,
            Info,
            "EVTCHN: CALLBACK VIA (Vector = {})",
            line.line()
        );
        line.synchronize(&mut || {
            self.interrupt(0);
        });
    }

    /// Clears the callback line and every programmed vector (`EvtchnInterruptDisable`).
    pub(super) fn interrupt_disable(&self) {
        if let Err(status) = self.services.hvm_set_param(HVM_PARAM_CALLBACK_IRQ, 0) {
            plog!(
                self.platform,
                Error,
                "EVTCHN: CALLBACK VIA not cleared ({status:08x})"
            );
        }
        for (cpu, processor) in (0..).zip(self.processors.iter()) {
            if !processor.upcall_enabled.swap(false, Ordering::SeqCst) {
                continue;
            }
            if let Ok(vcpu) = self.services.processor_vcpu_id(cpu) {
                let _ = self.services.hvm_set_evtchn_upcall_vector(vcpu, 0);
            }
        }
    }

    /// The interrupt whose lock serializes with CPU `cpu`'s deliveries: its own vector when
    /// programmed, else the callback line.
    pub(super) fn interrupt_for(&self, cpu: u32) -> Option<Arc<I::Interrupt>> {
        let irqs = self.irqs.lock();
        if self.upcall_enabled(cpu)
            && let Some(Some(own)) = irqs.vectors.get(usize::try_from(cpu).ok()?)
        {
            return Some(Arc::clone(own));
        }
        irqs.line.clone()
    }

    /// The ISR body for CPU `cpu` (`EvtchnInterruptCallback`): polls while the CPU's upcall
    /// flag is set; returns whether any callback reported work. The glue calls it from the
    /// interrupt service routine, with that interrupt's lock held.
    pub fn interrupt(&self, cpu: u32) -> bool {
        let Some(processor) = self.processor(cpu) else {
            return false;
        };
        if processor.polling.swap(true, Ordering::Acquire) {
            // Re-entered on this CPU: the outer poll loops on the upcall flag it left set.
            return false;
        }
        let mut done = false;
        while self.shared_info.upcall_pending(cpu) {
            done |= self.poll(cpu, processor, None);
        }
        processor.polling.store(false, Ordering::Release);
        done
    }

    /// Runs [`interrupt`](Self::interrupt) for `cpu` under the lock of the interrupt Xen
    /// delivers that CPU's upcalls on (its vector when programmed, else the callback line),
    /// as the hardware would; for callers outside an ISR (simulators, tests). Takes no lock of
    /// this module, so it may run from a hypercall this module issued. Returns `None` while no
    /// interrupt is allocated.
    pub fn deliver(&self, cpu: u32) -> Option<bool> {
        let interrupt = self.interrupt_for(cpu)?;
        let mut done = false;
        interrupt.synchronize(&mut || done = self.interrupt(cpu));
        Some(done)
    }

    /// `EvtchnPoll`: collects the ABI's ports for `cpu` onto its pending queue, then delivers
    /// the queue; closed channels go to `reap` (DPC path) or stay queued (ISR path).
    pub(super) fn poll(
        &self,
        cpu: u32,
        processor: &Processor<P>,
        mut reap: Option<&mut Vec<Arc<Channel>>>,
    ) -> bool {
        self.with_abi(|abi| {
            {
                let mut queue = processor.pending.lock();
                abi.poll(cpu, &mut |port| {
                    if let Some(channel) = self.table.lookup(port)
                        && channel.cpu.load(Ordering::SeqCst) == cpu
                        && !channel.pending.swap(true, Ordering::SeqCst)
                    {
                        queue.push_back(channel);
                    }
                    false
                });
            }
            let mut done = false;
            let mut remaining = processor.pending.lock().len();
            while remaining > 0 {
                remaining = remaining.saturating_sub(1);
                let Some(channel) = processor.pending.lock().pop_front() else {
                    break;
                };
                fence(Ordering::SeqCst);
                if channel.closed.load(Ordering::SeqCst) {
                    match reap.as_deref_mut() {
                        Some(list) => list.push(channel),
                        None => processor.pending.lock().push_back(channel),
                    }
                    continue;
                }
                // Off the queue before it may be queued again.
                channel.pending.store(false, Ordering::SeqCst);
                // A channel a suspend invalidated (delivered because it was triggered) has a
                // number that may belong to another port now: leave the port alone.
                if channel.is_active() {
                    if channel.auto_mask {
                        abi.port_mask(channel.port);
                    }
                    abi.port_ack(channel.port);
                }
                // Acked before counted, so a waiter never misses a later event.
                fence(Ordering::SeqCst);
                channel.count.fetch_add(1, Ordering::SeqCst);
                done |= (channel.callback)();
            }
            done
        })
        .unwrap_or(false)
    }

    /// The per-CPU DPC (`EvtchnDpc`).
    pub(super) fn dpc(&self, cpu: u32) {
        let state = self.state.lock();
        if state.references == 0 {
            return;
        }
        self.flush(cpu);
        drop(state);
    }

    /// Polls `cpu` under its interrupt lock and reaps the closed channels found on its queue
    /// (`EvtchnFlush`).
    pub(super) fn flush(&self, cpu: u32) {
        let Some(processor) = self.processor(cpu) else {
            return;
        };
        let mut reap: Vec<Arc<Channel>> = Vec::new();
        // Room for every live channel, so the poll under the interrupt lock never allocates.
        let _ = reap.try_reserve(self.live.load(Ordering::SeqCst));
        let mut body = || {
            if !processor.polling.swap(true, Ordering::Acquire) {
                self.poll(cpu, processor, Some(&mut reap));
                processor.polling.store(false, Ordering::Release);
            }
        };
        match self.interrupt_for(cpu) {
            Some(interrupt) => interrupt.synchronize(&mut body),
            None => body(),
        }
        for channel in reap {
            channel.pending.store(false, Ordering::SeqCst);
            self.reap(&channel, true);
        }
    }

    /// Frees a closed channel: off the list and, unless FIXED or invalidated by a suspend,
    /// `EVTCHNOP_close` (`EvtchnReap`). Idempotent.
    pub(super) fn reap(&self, channel: &Arc<Channel>, close_port: bool) {
        if channel.reaped.swap(true, Ordering::SeqCst) {
            return;
        }
        plog!(self.platform, Trace, "EVTCHN: reap {}", channel.port);
        let removed = {
            let mut list = self.channels.lock();
            list.iter()
                .position(|c| Arc::ptr_eq(c, channel))
                .map(|at| list.remove(at))
        };
        drop(removed);
        self.live.fetch_sub(1, Ordering::SeqCst);
        if close_port
            && channel.kind != ChannelKind::Fixed
            && !channel.stale.load(Ordering::SeqCst)
            && let Err(status) = self.services.evtchn_close(channel.port)
        {
            plog!(
                self.platform,
                Error,
                "EVTCHN: close {} failed ({status:08x})",
                channel.port
            );
        }
    }

    /// Makes room on every pending queue for one more live channel.
    pub(super) fn reserve_channel(&self) -> Result<(), EvtchnError> {
        let needed = self.live.fetch_add(1, Ordering::SeqCst).saturating_add(1);
        for processor in &self.processors {
            if processor.pending.lock().capacity() >= needed {
                continue;
            }
            let mut fresh = VecDeque::new();
            if fresh
                .try_reserve(needed.checked_next_power_of_two().unwrap_or(needed))
                .is_err()
            {
                self.live.fetch_sub(1, Ordering::SeqCst);
                return Err(EvtchnError::NoMemory);
            }
            let old = {
                let mut queue = processor.pending.lock();
                if queue.capacity() >= needed {
                    None
                } else {
                    fresh.extend(queue.drain(..));
                    Some(core::mem::replace(&mut *queue, fresh))
                }
            };
            drop(old);
        }
        Ok(())
    }
}
