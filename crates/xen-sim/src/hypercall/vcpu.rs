// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_vcpu_op`: `vcpu_info` registration, timers and the vCPU life cycle.

use super::{Trusted, neg, read};
use crate::memory::PAGE_SIZE;
use crate::state::State;
use xen_headers::errno;
use xen_headers::vcpu::{
    VCPU_SSHOTTMR_FUTURE, VCPUOP_DOWN, VCPUOP_INITIALISE, VCPUOP_IS_UP, VCPUOP_REGISTER_VCPU_INFO,
    VCPUOP_SET_PERIODIC_TIMER, VCPUOP_SET_SINGLESHOT_TIMER, VCPUOP_STOP_PERIODIC_TIMER,
    VCPUOP_STOP_SINGLESHOT_TIMER, VCPUOP_UP, VcpuRegisterVcpuInfo, VcpuSetPeriodicTimer,
    VcpuSetSingleshotTimer,
};

impl State {
    pub(super) fn vcpu_op(&mut self, t: Trusted, caller: u32, args: &[usize; 5]) -> isize {
        let (cmd, vcpu, arg) = (args[0] as u32, args[1] as u32, args[2]);
        if vcpu >= self.cfg.vcpus {
            return neg(errno::ENOENT);
        }
        match cmd {
            VCPUOP_REGISTER_VCPU_INFO => {
                let Some(r) = read::<VcpuRegisterVcpuInfo>(t, arg) else {
                    return neg(errno::EFAULT);
                };
                // map_vcpu_info (4.17): the offset, then registration, then the caller.
                let size = size_of::<xen_headers::xen::VcpuInfo>();
                if r.offset as usize > PAGE_SIZE - size || !r.offset.is_multiple_of(8) {
                    return neg(errno::ENXIO);
                }
                let allowed = vcpu == caller || self.vcpu_down[vcpu as usize];
                if self.registered_vcpu_info(vcpu).is_some() || !allowed {
                    return neg(errno::EINVAL);
                }
                let Some(page) = self.mem.page(r.mfn) else {
                    return neg(errno::EINVAL);
                };
                self.register_vcpu_info(vcpu, page, r.offset as usize, r.mfn);
                0
            }
            VCPUOP_SET_PERIODIC_TIMER => {
                let Some(t) = read::<VcpuSetPeriodicTimer>(t, arg) else {
                    return neg(errno::EFAULT);
                };
                if t.period_ns < 1_000_000 || t.period_ns > i64::MAX as u64 / 2 {
                    return neg(errno::EINVAL);
                }
                let next = self.now() + t.period_ns;
                self.timers[vcpu as usize].periodic = Some((t.period_ns, next));
                0
            }
            VCPUOP_STOP_PERIODIC_TIMER => {
                self.timers[vcpu as usize].periodic = None;
                0
            }
            VCPUOP_SET_SINGLESHOT_TIMER => {
                if vcpu != caller {
                    return neg(errno::EINVAL);
                }
                let Some(t) = read::<VcpuSetSingleshotTimer>(t, arg) else {
                    return neg(errno::EFAULT);
                };
                if t.flags & VCPU_SSHOTTMR_FUTURE != 0 && t.timeout_abs_ns < self.now() {
                    return neg(errno::ETIME);
                }
                self.timers[vcpu as usize].singleshot = Some(t.timeout_abs_ns);
                0
            }
            VCPUOP_STOP_SINGLESHOT_TIMER => {
                if vcpu != caller {
                    return neg(errno::EINVAL);
                }
                self.timers[vcpu as usize].singleshot = None;
                0
            }
            VCPUOP_IS_UP => isize::from(!self.vcpu_down[vcpu as usize]),
            VCPUOP_UP => {
                if !self.vcpu_initialised[vcpu as usize] {
                    return neg(errno::EINVAL);
                }
                self.vcpu_down[vcpu as usize] = false;
                0
            }
            VCPUOP_DOWN => {
                let others_up =
                    (0..self.cfg.vcpus).any(|v| v != vcpu && !self.vcpu_down[v as usize]);
                if others_up {
                    self.vcpu_down[vcpu as usize] = true;
                } else {
                    // The last vCPU going down powers the domain off.
                    self.shutdown = Some(xen_headers::sched::SHUTDOWN_POWEROFF);
                }
                0
            }
            VCPUOP_INITIALISE => {
                if self.surface().vcpu_info(vcpu).is_none() {
                    return neg(errno::EINVAL);
                }
                if self.vcpu_initialised[vcpu as usize] {
                    return neg(errno::EEXIST);
                }
                // The start context itself is not modelled: the vCPU is the test's thread.
                self.vcpu_initialised[vcpu as usize] = true;
                0
            }
            _ => neg(errno::ENOSYS),
        }
    }
}
