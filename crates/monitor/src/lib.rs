// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The monitor service, `xenbus_monitor.exe`: a Windows user-mode service (own process, auto
//! start, installed by the package's INF) that watches the reboot requests xen.sys's
//! `ConfigRequestReboot` records in the registry and asks the logged-on user to restart, or
//! restarts by itself when the administrator allows it.
//!
//! Layering: this library is the portable part and holds every decision: reading and checking
//! the service's settings ([`settings`]), the texts it shows ([`text`]), and the state machine
//! that turns registry scans, timer ticks and the user's answer into a prompt or a reboot
//! ([`monitor`]). It is tested on the host. The program (`src/main.rs`, its `cfg(windows)`
//! module `win`) is the Windows glue: the service control dispatcher and handler, the registry,
//! the wait loop, `WTSSendMessage` and `InitiateSystemShutdownEx`; it decides nothing itself.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod log;
pub mod monitor;
pub mod settings;
pub mod text;

/// The service's name: its key under [`SERVICES_KEY`], its log prefix, what the INF installs.
pub const SERVICE_NAME: &str = "xenbus_monitor";

/// Where services keep their keys, under `HKEY_LOCAL_MACHINE`.
pub const SERVICES_KEY: &str = "SYSTEM\\CurrentControlSet\\Services";

/// The service's `Parameters` key under `HKEY_LOCAL_MACHINE` (its settings, [`settings`]).
#[must_use]
pub fn parameters_key() -> String {
    format!("{SERVICES_KEY}\\{SERVICE_NAME}\\Parameters")
}

/// The key of service `name` under `HKEY_LOCAL_MACHINE`.
#[must_use]
pub fn service_key(name: &str) -> String {
    format!("{SERVICES_KEY}\\{name}")
}

/// The key Windows' `StartOverride` for service `name` lives in (under `HKEY_LOCAL_MACHINE`).
#[must_use]
pub fn start_override_key(name: &str) -> String {
    format!("{SERVICES_KEY}\\{name}\\StartOverride")
}

/// What the program was asked to do on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// No argument: run as the service (under the service control manager).
    Run,
    /// `create`: register the service (own process, auto start) with this program as binary.
    Create,
    /// `delete`: stop the service if it runs, then remove it.
    Delete,
    /// Anything else: exit status 1, as upstream.
    Unknown(String),
}

impl Command {
    /// The command the arguments after the program name ask for: upstream compares the whole
    /// command line with `create` and `delete`, ignoring case.
    #[must_use]
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Self {
        let line = args.into_iter().collect::<Vec<_>>().join(" ");
        let line = line.trim();
        if line.is_empty() {
            Self::Run
        } else if line.eq_ignore_ascii_case("create") {
            Self::Create
        } else if line.eq_ignore_ascii_case("delete") {
            Self::Delete
        } else {
            Self::Unknown(line.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn keys_are_those_the_inf_installs() {
        assert_eq!(
            parameters_key(),
            "SYSTEM\\CurrentControlSet\\Services\\xenbus_monitor\\Parameters"
        );
        assert_eq!(
            start_override_key("stornvme"),
            "SYSTEM\\CurrentControlSet\\Services\\stornvme\\StartOverride"
        );
        assert_eq!(
            service_key("xenbus"),
            "SYSTEM\\CurrentControlSet\\Services\\xenbus"
        );
    }

    #[test]
    fn command_line_is_matched_whole_and_without_case() {
        assert_eq!(Command::parse(args(&[])), Command::Run);
        assert_eq!(Command::parse(args(&["CREATE"])), Command::Create);
        assert_eq!(Command::parse(args(&["delete"])), Command::Delete);
        assert_eq!(
            Command::parse(args(&["create", "now"])),
            Command::Unknown("create now".into())
        );
        assert_eq!(Command::parse(args(&["x"])), Command::Unknown("x".into()));
    }
}
