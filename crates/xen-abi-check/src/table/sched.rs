// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/sched.h`.

use super::{Table, consts, layout};
use xen_headers::sched::{
    SchedPinOverride, SchedPoll, SchedRemoteShutdown, SchedShutdown, SchedWatchdog,
};

pub fn items(t: &mut Table) {
    consts!(t, xen_headers::sched;
        SCHEDOP_yield => SCHEDOP_YIELD,
        SCHEDOP_block => SCHEDOP_BLOCK,
        SCHEDOP_shutdown => SCHEDOP_SHUTDOWN,
        SCHEDOP_poll => SCHEDOP_POLL,
        SCHEDOP_remote_shutdown => SCHEDOP_REMOTE_SHUTDOWN,
        SCHEDOP_shutdown_code => SCHEDOP_SHUTDOWN_CODE,
        SCHEDOP_watchdog => SCHEDOP_WATCHDOG,
        SCHEDOP_pin_override => SCHEDOP_PIN_OVERRIDE,
        SHUTDOWN_poweroff => SHUTDOWN_POWEROFF,
        SHUTDOWN_reboot => SHUTDOWN_REBOOT,
        SHUTDOWN_suspend => SHUTDOWN_SUSPEND,
        SHUTDOWN_crash => SHUTDOWN_CRASH,
        SHUTDOWN_watchdog => SHUTDOWN_WATCHDOG,
        SHUTDOWN_soft_reset => SHUTDOWN_SOFT_RESET,
        SHUTDOWN_MAX => SHUTDOWN_MAX,
    );

    layout!(t, "struct sched_shutdown", SchedShutdown { reason });
    layout!(
        t,
        "struct sched_poll",
        SchedPoll {
            ports,
            nr_ports,
            timeout
        }
    );
    layout!(
        t,
        "struct sched_remote_shutdown",
        SchedRemoteShutdown { domain_id, reason }
    );
    layout!(t, "struct sched_watchdog", SchedWatchdog { id, timeout });
    layout!(t, "struct sched_pin_override", SchedPinOverride { pcpu });
}
