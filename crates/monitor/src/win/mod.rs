// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The Windows glue of `xenbus_monitor.exe`: thin wrappers over the Win32 calls the service
//! makes, each decision taken by the `monitor` library.
//!
//! * [`debug`]: log lines to the debugger output (`OutputDebugStringW`), Win32 error texts;
//! * [`registry`]: owned registry keys, values, subkeys, change notification;
//! * [`service`]: the service control dispatcher, handler and status, and the wait loop;
//! * [`host`]: the `monitor::monitor::Host` the decisions run against;
//! * [`prompt`]: the prompt thread (`WTSSendMessage` to the active session);
//! * [`system`]: shutdown privilege, MSI and execution-state checks, the reboot, and the
//!   storage miniports' `StartOverride` clean-up;
//! * [`scm`]: the `create` and `delete` commands.

mod debug;
mod host;
mod prompt;
mod registry;
mod scm;
mod service;
mod system;

use std::process::ExitCode;

use monitor::Command;

/// The program: the command its arguments ask for, exit status 0 on success, 1 otherwise.
pub fn main() -> ExitCode {
    let ok = match Command::parse(std::env::args().skip(1)) {
        Command::Run => service::run(),
        Command::Create => scm::create(),
        Command::Delete => scm::delete(),
        Command::Unknown(what) => {
            debug::error(
                "WinMain",
                &format!("unknown command `{what}` (create, delete)"),
            );
            false
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
