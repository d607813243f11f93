// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_sched_op`, the calls that never wait (block and poll wait in the
//! simulator's front end, which releases its lock meanwhile).

use super::{Trusted, neg, read};
use crate::state::State;
use xen_headers::errno;
use xen_headers::sched::{
    SCHEDOP_SHUTDOWN_CODE, SCHEDOP_WATCHDOG, SCHEDOP_YIELD, SHUTDOWN_SUSPEND, SchedShutdown,
    SchedWatchdog,
};

impl State {
    pub(super) fn sched_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        match args[0] as u32 {
            SCHEDOP_YIELD => 0,
            xen_headers::sched::SCHEDOP_SHUTDOWN => {
                let Some(s) = read::<SchedShutdown>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if s.reason == SHUTDOWN_SUSPEND {
                    if std::mem::take(&mut self.cancel_next_suspend) {
                        return 1;
                    }
                    self.resume_in_new_domain();
                    return 0;
                }
                self.shutdown = Some(s.reason);
                0
            }
            SCHEDOP_SHUTDOWN_CODE => {
                let Some(s) = read::<SchedShutdown>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                self.shutdown_code = Some(s.reason);
                0
            }
            SCHEDOP_WATCHDOG => {
                let Some(w) = read::<SchedWatchdog>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                self.watchdog(w.id, w.timeout)
            }
            _ => neg(errno::ENOSYS),
        }
    }

    pub(super) fn watchdog(&mut self, id: u32, timeout: u32) -> isize {
        let slots = self.watchdogs.len() as u32;
        if id > slots {
            return neg(errno::EINVAL);
        }
        if id == 0 {
            let Some(free) = self.watchdogs.iter().position(|used| !used) else {
                // Xen 4.17 computes `id == NR ? -ENOSPC : id + 1` in `unsigned int`: the
                // error reaches the guest zero-extended (4294967268), not negative.
                return isize::try_from((-errno::ENOSPC).cast_unsigned()).unwrap_or(isize::MAX);
            };
            self.watchdogs[free] = true;
            return free as isize + 1;
        }
        let slot = (id - 1) as usize;
        if !self.watchdogs[slot] {
            return neg(errno::EINVAL);
        }
        if timeout == 0 {
            self.watchdogs[slot] = false;
        }
        0
    }
}
