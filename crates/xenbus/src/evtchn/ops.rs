// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The channel methods of the interface: open, bind, unmask, send, trigger, count, wait, port
//! and close.

use alloc::sync::Arc;
use core::sync::atomic::{Ordering, fence};

use platform_port::{Dpc, Interrupt, Interrupts, IrqlLevel, Platform, plog};
use xen_services::XenServices;

use super::{Callback, Channel, ChannelKind, Evtchn, EvtchnError, OpenKind, count_reached};

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> Evtchn<P, S, I> {
    /// Opens a channel bound to CPU 0 (a VIRQ: to the CPU asked for), masked until the client
    /// unmasks it (`EvtchnOpen`). `caller` is the address shown in the debug dump.
    ///
    /// # Errors
    /// [`EvtchnError::Unsuccessful`] while not acquired; [`EvtchnError::NotSupported`] /
    /// [`EvtchnError::InvalidParameter`] for a VIRQ CPU without an upcall vector / out of
    /// range; the hypercall's status; [`EvtchnError::NoMemory`]. Nothing stays bound.
    pub fn open(
        &self,
        kind: OpenKind,
        callback: Callback,
        caller: usize,
    ) -> Result<Arc<Channel>, EvtchnError> {
        let dispatch = self.at_least(IrqlLevel::DISPATCH);
        let result = self.open_at_dispatch(kind, callback, caller);
        drop(dispatch);
        match &result {
            Ok(channel) => plog!(self.platform, Trace, "EVTCHN: open {}", channel.port),
            Err(error) => plog!(
                self.platform,
                Error,
                "EVTCHN: open {kind:?} failed ({error})"
            ),
        }
        result
    }

    pub(super) fn open_at_dispatch(
        &self,
        kind: OpenKind,
        callback: Callback,
        caller: usize,
    ) -> Result<Arc<Channel>, EvtchnError> {
        if self.state.lock().references == 0 {
            return Err(EvtchnError::Unsuccessful);
        }
        let services = &self.services;
        let (channel_kind, auto_mask, port, cpu) = match kind {
            OpenKind::Fixed { port, auto_mask } => (ChannelKind::Fixed, auto_mask, port, 0),
            OpenKind::Unbound {
                remote_domain,
                auto_mask,
            } => {
                let port = services
                    .evtchn_allocate_unbound(remote_domain)
                    .map_err(EvtchnError::Xen)?;
                (ChannelKind::Unbound { remote_domain }, auto_mask, port, 0)
            }
            OpenKind::InterDomain {
                remote_domain,
                remote_port,
                auto_mask,
            } => {
                let port = services
                    .evtchn_bind_inter_domain(remote_domain, remote_port)
                    .map_err(EvtchnError::Xen)?;
                let kind = ChannelKind::InterDomain {
                    remote_domain,
                    remote_port,
                };
                (kind, auto_mask, port, 0)
            }
            OpenKind::Virq { index, cpu } => {
                let cpu = cpu.unwrap_or(0);
                self.processor(cpu).ok_or(EvtchnError::InvalidParameter)?;
                if cpu != 0 && !self.upcall_enabled(cpu) {
                    return Err(EvtchnError::NotSupported);
                }
                let vcpu = services.processor_vcpu_id(cpu).map_err(EvtchnError::Xen)?;
                let port = services
                    .evtchn_bind_virq(index, vcpu)
                    .map_err(EvtchnError::Xen)?;
                (ChannelKind::Virq { index }, false, port, cpu)
            }
        };
        let undo_port = || {
            if channel_kind != ChannelKind::Fixed {
                let _ = services.evtchn_close(port);
            }
        };
        let channel = Arc::new(Channel::new(
            channel_kind,
            auto_mask,
            port,
            cpu,
            callback,
            caller,
        ));
        if let Err(error) = self.reserve_channel() {
            undo_port();
            return Err(error);
        }
        let undo = |error: EvtchnError| {
            self.live.fetch_sub(1, Ordering::SeqCst);
            undo_port();
            Err(error)
        };
        match self.with_abi(|abi| abi.port_enable(port)) {
            Some(Ok(())) => {}
            Some(Err(error)) => return undo(error),
            None => return undo(EvtchnError::Unsuccessful),
        }
        if let Err(error) = self.table.insert(port, &channel) {
            // A duplicate port belongs to the channel already open on it: leave it unmasked.
            if error != EvtchnError::InvalidParameter {
                self.with_abi(|abi| abi.port_disable(port));
            }
            return undo(error);
        }
        channel.active.store(true, Ordering::SeqCst);
        let listed = {
            let mut list = self.channels.lock();
            if list.try_reserve(1).is_ok() {
                list.push(Arc::clone(&channel));
                true
            } else {
                false
            }
        };
        if !listed {
            channel.active.store(false, Ordering::SeqCst);
            drop(self.table.remove(port, &channel));
            self.with_abi(|abi| abi.port_disable(port));
            return undo(EvtchnError::NoMemory);
        }
        Ok(channel)
    }

    /// Re-binds the channel to processor `cpu` (`EvtchnBind`); a no-op for an inactive channel
    /// or the current CPU.
    ///
    /// # Errors
    /// [`EvtchnError::InvalidParameter`] for a CPU beyond the processor count,
    /// [`EvtchnError::NotSupported`] for a CPU without an upcall vector other than CPU 0, or the
    /// hypercall's status (the binding is unchanged then).
    pub fn bind(&self, channel: &Channel, cpu: u32) -> Result<(), EvtchnError> {
        self.processor(cpu).ok_or(EvtchnError::InvalidParameter)?;
        if cpu != 0 && !self.upcall_enabled(cpu) {
            return Err(EvtchnError::NotSupported);
        }
        let result = {
            let _guard = channel.lock.lock(&self.platform);
            if !channel.is_active() || channel.cpu() == cpu {
                Ok(())
            } else {
                self.services
                    .processor_vcpu_id(cpu)
                    .and_then(|vcpu| self.services.evtchn_bind_virtual_cpu(channel.port, vcpu))
                    .map(|()| channel.cpu.store(cpu, Ordering::SeqCst))
                    .map_err(EvtchnError::Xen)
            }
        };
        match result {
            Ok(()) => plog!(self.platform, Info, "EVTCHN: [{}]: CPU {cpu}", channel.port),
            Err(error) => plog!(
                self.platform,
                Error,
                "EVTCHN: [{}]: bind to CPU {cpu} failed ({error})",
                channel.port
            ),
        }
        result
    }

    /// Unmasks the port (`EvtchnUnmask`, v8+). Returns true only when an event was pending,
    /// the caller is outside the callback, did not force, and runs on the channel's CPU: the
    /// event has then been acked (and the port re-masked if auto-masked) and the caller must
    /// process it itself. In every other pending case the port is re-masked and
    /// `EVTCHNOP_unmask` makes Xen raise the event again; false.
    pub fn unmask(&self, channel: &Channel, in_callback: bool, force: bool) -> bool {
        // In the callback the ISR runs the channel already; elsewhere the channel lock (taken
        // at `DISPATCH_LEVEL` or below, as upstream's `KeAcquireSpinLock`) keeps Bind and
        // other Unmasks out.
        let _guard = (!in_callback).then(|| channel.lock.lock(&self.platform));
        self.unmask_locked(channel, in_callback, force)
    }

    pub(super) fn unmask_locked(&self, channel: &Channel, in_callback: bool, force: bool) -> bool {
        if !channel.is_active() {
            return false;
        }
        let port = channel.port;
        self.with_abi(|abi| {
            if !abi.port_unmask(port) {
                return false;
            }
            if in_callback
                || force
                || self.platform.current_processor() != channel.cpu.load(Ordering::SeqCst)
            {
                abi.port_mask(port);
                let _ = self.services.evtchn_unmask(port);
                return false;
            }
            if channel.auto_mask {
                abi.port_mask(port);
            }
            abi.port_ack(port);
            true
        })
        .unwrap_or(false)
    }

    /// `EvtchnUnmaskVersion4` (v5–v7): [`unmask`](Self::unmask) with `force`, result dropped.
    pub fn unmask_version4(&self, channel: &Channel, in_callback: bool) {
        let _ = self.unmask(channel, in_callback, true);
    }

    /// Notifies the remote end (`EvtchnSend`, v6+: the caller is at `DISPATCH_LEVEL` or
    /// above); nothing for an inactive channel.
    pub fn send(&self, channel: &Channel) {
        if channel.is_active() {
            let _ = self.services.evtchn_send(channel.port);
        }
    }

    /// `EvtchnSendVersion1` (v5): [`send`](Self::send) at `DISPATCH_LEVEL`.
    pub fn send_version1(&self, channel: &Channel) {
        let _dispatch = self.at_least(IrqlLevel::DISPATCH);
        self.send(channel);
    }

    /// Raises the event locally: the callback runs from the owning CPU's DPC
    /// (`EvtchnTrigger`). Ignored while not acquired.
    pub fn trigger(&self, channel: &Arc<Channel>) {
        let cpu = {
            let _guard = channel.lock.lock(&self.platform);
            channel.cpu()
        };
        let state = self.state.lock();
        if state.references == 0 {
            return;
        }
        self.trigger_locked(channel, cpu);
        drop(state);
    }

    /// Trigger's body; the caller holds `state` with a reference taken.
    pub(super) fn trigger_locked(&self, channel: &Arc<Channel>, cpu: u32) {
        let Some(processor) = self.processor(cpu) else {
            return;
        };
        let mut queued = false;
        let mut body = || {
            let mut queue = processor.pending.lock();
            if !channel.pending.swap(true, Ordering::SeqCst) {
                queue.push_back(Arc::clone(channel));
                queued = true;
            }
        };
        match self.interrupt_for(cpu) {
            Some(interrupt) => interrupt.synchronize(&mut body),
            None => body(),
        }
        if (queued || channel.closed.load(Ordering::SeqCst))
            && let Some(dpc) = &processor.dpc
        {
            dpc.insert();
        }
    }

    /// Events delivered since open, wrapping at 2^32 (`EvtchnGetCount`).
    pub fn get_count(&self, channel: &Channel) -> u32 {
        fence(Ordering::SeqCst);
        channel.count.load(Ordering::SeqCst)
    }

    /// The local port (`EvtchnGetPort`).
    pub const fn get_port(&self, channel: &Channel) -> u32 {
        channel.port
    }

    /// Spins at `DISPATCH_LEVEL` until the channel's count reaches `count` (`EvtchnWait`).
    /// `timeout` is a `LARGE_INTEGER` in 100 ns units: `None` waits forever, a positive value
    /// is an absolute system time, a negative one is relative, 0 only checks once.
    ///
    /// # Errors
    /// [`EvtchnError::Timeout`] (`STATUS_TIMEOUT`).
    pub fn wait(
        &self,
        channel: &Channel,
        count: u32,
        timeout: Option<i64>,
    ) -> Result<(), EvtchnError> {
        let _dispatch = self.at_least(IrqlLevel::DISPATCH);
        let start = self.platform.system_time();
        let result = loop {
            fence(Ordering::SeqCst);
            if count_reached(count, channel.count.load(Ordering::SeqCst)) {
                break Ok(());
            }
            let expired = match timeout {
                None => false,
                Some(0) => true,
                Some(deadline) if deadline > 0 => self.platform.system_time() > deadline,
                Some(relative) => {
                    self.platform.system_time().saturating_sub(start) > relative.saturating_neg()
                }
            };
            if expired {
                break Err(EvtchnError::Timeout);
            }
            core::hint::spin_loop();
        };
        if result.is_err() {
            plog!(
                self.platform,
                Info,
                "EVTCHN: TIMED OUT: Count = {count:08x} Channel->Count = {:08x}",
                channel.count.load(Ordering::SeqCst)
            );
        }
        result
    }

    /// `EvtchnWaitVersion5` (v5–v6): waits for the next event.
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub fn wait_version5(
        &self,
        channel: &Channel,
        timeout: Option<i64>,
    ) -> Result<(), EvtchnError> {
        self.wait(channel, self.get_count(channel).wrapping_add(1), timeout)
    }

    /// Closes the channel (`EvtchnClose`): an active channel is masked, dropped from the port
    /// table and reaped by its CPU's DPC (`EVTCHNOP_close` unless FIXED); a channel invalidated
    /// by a suspend is freed without a hypercall.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the client hands its reference over; the channel is gone for it afterwards"
    )]
    pub fn close(&self, channel: Arc<Channel>) {
        let _dispatch = self.at_least(IrqlLevel::DISPATCH);
        plog!(self.platform, Trace, "EVTCHN: close {}", channel.port);
        let state = self.state.lock();
        if channel.active.swap(false, Ordering::SeqCst) {
            self.with_abi(|abi| abi.port_disable(channel.port));
            drop(self.table.remove(channel.port, &channel));
            channel.closed.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if state.references > 0 {
                self.trigger_locked(&channel, channel.cpu());
            } else {
                self.reap(&channel, true);
            }
        } else {
            channel.closed.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if channel.pending.load(Ordering::SeqCst) && state.references > 0 {
                // Still on a queue: the owning CPU's DPC takes it off and reaps it.
                self.trigger_locked(&channel, channel.cpu());
            } else {
                self.reap(&channel, false);
            }
        }
        drop(state);
    }
}
