// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_hvm_op`: HVM parameters and upcall vectors.

use super::{Trusted, neg, with};
use crate::state::State;
use xen_headers::errno;
use xen_headers::hvm::hvm_op::{
    HVMOP_GET_PARAM, HVMOP_PAGETABLE_DYING, HVMOP_SET_EVTCHN_UPCALL_VECTOR, HVMOP_SET_PARAM,
    XenHvmEvtchnUpcallVector, XenHvmParam,
};
use xen_headers::hvm::params::{
    HVM_NR_PARAMS, HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN,
    HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN,
};

impl State {
    pub(super) fn hvm_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        match args[0] as u32 {
            HVMOP_SET_PARAM | HVMOP_GET_PARAM => with(t, args[1], |op: &mut XenHvmParam| {
                self.hvm_param(args[0] as u32 == HVMOP_SET_PARAM, op)
            }),
            HVMOP_SET_EVTCHN_UPCALL_VECTOR => {
                with(t, args[1], |op: &mut XenHvmEvtchnUpcallVector| {
                    if op.vector < 0x10 {
                        return neg(errno::EINVAL);
                    }
                    if op.vcpu >= self.cfg.vcpus {
                        return neg(errno::ENOENT);
                    }
                    self.upcall_vector[op.vcpu as usize] = op.vector;
                    self.assert_irq(op.vcpu);
                    0
                })
            }
            // No shadow paging: the hint is refused.
            HVMOP_PAGETABLE_DYING => neg(errno::EINVAL),
            _ => neg(errno::ENOSYS),
        }
    }

    pub(super) fn hvm_param(&mut self, set: bool, op: &mut XenHvmParam) -> isize {
        const DEPRECATED: [u32; 10] = [4, 13, 20, 21, 22, 23, 24, 25, 26, 30];
        const VM86_TSS: u32 = 15;
        const ACPI_IOPORTS: u32 = 19;
        const VM_GENERATION_ID: u32 = 34;
        const ALTP2M: u32 = 35;
        const X87_FIP_WIDTH: u32 = 36;
        const VM86_TSS_SIZED: u32 = 37;
        if op.index >= HVM_NR_PARAMS {
            return neg(errno::EINVAL);
        }
        if !self.own(op.domid) {
            return neg(if self.events(op.domid).is_some() {
                errno::EPERM
            } else {
                errno::ESRCH
            });
        }
        if DEPRECATED.contains(&op.index) {
            return neg(errno::EINVAL);
        }
        let guest_settable = [
            HVM_PARAM_CALLBACK_IRQ,
            VM86_TSS,
            VM86_TSS_SIZED,
            ACPI_IOPORTS,
            VM_GENERATION_ID,
            HVM_PARAM_STORE_EVTCHN,
            HVM_PARAM_CONSOLE_EVTCHN,
            X87_FIP_WIDTH,
        ];
        if set {
            if !guest_settable.contains(&op.index) {
                return neg(errno::EPERM);
            }
            if op.index == HVM_PARAM_CALLBACK_IRQ {
                self.set_callback(op.value);
            } else {
                self.params[op.index as usize] = op.value;
            }
        } else {
            let readable = guest_settable.contains(&op.index)
                || [HVM_PARAM_STORE_PFN, HVM_PARAM_CONSOLE_PFN, ALTP2M].contains(&op.index);
            if !readable {
                return neg(errno::EPERM);
            }
            op.value = self.params[op.index as usize];
        }
        0
    }
}
