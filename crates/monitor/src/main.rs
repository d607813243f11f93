// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `xenbus_monitor.exe`: the monitor service program. Without arguments it runs under the
//! service control manager; `create` registers the service, `delete` stops and removes it.
//! The decisions are the `monitor` library's; the Windows glue is the `win` module, built for
//! Windows targets only (scripts/build-monitor). On other hosts the program only says so.

// A GUI-subsystem program, as upstream's (a service has no console; `create`/`delete` report
// through their exit status and the debugger output).
#![cfg_attr(windows, windows_subsystem = "windows")]

#[cfg(windows)]
mod win;

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    win::main()
}

#[cfg(not(windows))]
fn main() -> std::process::ExitCode {
    eprintln!(
        "{}: a Windows service program; build it for x86_64-pc-windows-gnu (scripts/build-monitor)",
        monitor::SERVICE_NAME
    );
    std::process::ExitCode::from(2)
}
