// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The service's log lines and the names it logs.
//!
//! One format for every line, as upstream's (`xenbus_monitor|<step>: <message>`, ended by CR
//! LF, sent to the debugger output), so a debugger or `DebugView` shows the same lines for
//! both.

use crate::SERVICE_NAME;

/// How bad a line is (upstream's two levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Progress.
    Info,
    /// A failure.
    Error,
}

/// The line `message` of step `step` (upstream's function names: `MonitorMain`,
/// `CheckRequestSubKeys`, `TryAutoReboot`...), CR LF included. Errors say so after the step.
#[must_use]
pub fn line(level: Level, step: &str, message: &str) -> String {
    match level {
        Level::Info => format!("{SERVICE_NAME}|{step}: {message}\r\n"),
        Level::Error => format!("{SERVICE_NAME}|{step}: error: {message}\r\n"),
    }
}

/// `IDYES`: the user answered Yes.
pub const IDYES: u32 = 6;
/// `IDNO`: the user answered No.
pub const IDNO: u32 = 7;
/// `IDTIMEOUT`: nobody answered within `PromptTimeout`.
pub const IDTIMEOUT: u32 = 32000;
/// `IDASYNC`: the message was sent without waiting for an answer.
pub const IDASYNC: u32 = 32001;

/// The name of a `WTSSendMessage` answer.
#[must_use]
pub const fn response_name(response: u32) -> &'static str {
    match response {
        0 => "none",
        1 => "IDOK",
        2 => "IDCANCEL",
        IDYES => "IDYES",
        IDNO => "IDNO",
        IDTIMEOUT => "IDTIMEOUT",
        IDASYNC => "IDASYNC",
        _ => "unknown",
    }
}

/// The name of a session's `WTS_CONNECTSTATE_CLASS`.
#[must_use]
pub const fn session_state_name(state: i32) -> &'static str {
    match state {
        0 => "Active",
        1 => "Connected",
        2 => "ConnectQuery",
        3 => "Shadow",
        4 => "Disconnected",
        5 => "Idle",
        6 => "Listen",
        7 => "Reset",
        8 => "Down",
        9 => "Init",
        _ => "UNKNOWN",
    }
}

/// The name of a service state (`SERVICE_RUNNING`...).
#[must_use]
pub const fn service_state_name(state: u32) -> &'static str {
    match state {
        1 => "STOPPED",
        2 => "START_PENDING",
        3 => "STOP_PENDING",
        4 => "RUNNING",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_the_service_and_step_and_end_in_crlf() {
        assert_eq!(
            line(Level::Info, "MonitorMain", "started"),
            "xenbus_monitor|MonitorMain: started\r\n"
        );
        assert_eq!(
            line(Level::Error, "DoReboot", "denied (5)"),
            "xenbus_monitor|DoReboot: error: denied (5)\r\n"
        );
    }

    #[test]
    fn names_of_answers_and_states() {
        assert_eq!(response_name(IDYES), "IDYES");
        assert_eq!(response_name(IDTIMEOUT), "IDTIMEOUT");
        assert_eq!(response_name(99), "unknown");
        assert_eq!(session_state_name(0), "Active");
        assert_eq!(session_state_name(4), "Disconnected");
        assert_eq!(service_state_name(4), "RUNNING");
    }
}
