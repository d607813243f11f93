// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The prompt: a thread of its own asks the first active session with `WTSSendMessage`
//! (Yes/No, an exclamation mark, `PromptTimeout` seconds) and hands the answer to the wait
//! loop. With no active session nobody is asked and no answer comes (as upstream).
//!
//! The call is logged with everything it passes (session, title, text, style, timeout) before
//! it is made, and its answer after. The test-only setting `TestPromptResponse` takes the place
//! of the session's answer (after `PromptTimeout` seconds for `IDTIMEOUT`): everything before
//! and after the call is the real path. Wine, which has no sessions and only a stub of
//! `WTSSendMessage`, tests the service that way (scripts/monitor-wine-test).

use core::ptr::null_mut;
use core::sync::atomic::Ordering;
use std::time::Duration;

use monitor::log::{IDTIMEOUT, response_name, session_state_name};
use monitor::text::{from_wide, wide};
use windows_sys::Win32::System::RemoteDesktop::{
    WTS_CURRENT_SERVER_HANDLE, WTS_SESSION_INFOW, WTSActive, WTSEnumerateSessionsW, WTSFreeMemory,
    WTSSendMessageW,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{MB_ICONEXCLAMATION, MB_YESNO};

use super::debug::{error, error_text, info};
use super::service::{Shared, last_error};

const STEP: &str = "DoPromptForReboot";

/// What to ask.
pub struct Prompt {
    /// `DialogTitle`.
    pub title: String,
    /// The whole text.
    pub text: String,
    /// `PromptTimeout`, seconds (0: wait for ever).
    pub timeout: u32,
    /// `TestPromptResponse`, tests only.
    pub test_response: Option<u32>,
}

/// Starts the prompt thread.
pub fn start(prompt: Prompt, shared: &'static Shared) -> Result<(), String> {
    std::thread::Builder::new()
        .name("prompt".into())
        .spawn(move || ask(&prompt, shared))
        .map(drop)
        .map_err(|e| format!("cannot start the prompt thread: {e}"))
}

fn answer(shared: &Shared, response: u32) {
    shared.response.store(response, Ordering::Release);
    shared.response_event.set();
}

fn ask(prompt: &Prompt, shared: &Shared) {
    let style = MB_YESNO | MB_ICONEXCLAMATION;
    info(STEP, &format!("title \"{}\"", prompt.title));
    info(STEP, &format!("text \"{}\"", prompt.text));
    if let Some(response) = prompt.test_response {
        info(
            STEP,
            &format!(
                "WTSSendMessage(style {style:#x}, timeout {} s) answered by TestPromptResponse: {} ({response})",
                prompt.timeout,
                response_name(response)
            ),
        );
        if response == IDTIMEOUT {
            std::thread::sleep(Duration::from_secs(u64::from(prompt.timeout)));
        }
        answer(shared, response);
        return;
    }
    let mut sessions: *mut WTS_SESSION_INFOW = null_mut();
    let mut count = 0u32;
    // SAFETY: the local server; `sessions` receives an array of `count` entries that
    // WTSFreeMemory frees below.
    let ok = unsafe {
        WTSEnumerateSessionsW(
            WTS_CURRENT_SERVER_HANDLE,
            0,
            1,
            &raw mut sessions,
            &raw mut count,
        )
    };
    if ok == 0 {
        error(
            STEP,
            &format!("WTSEnumerateSessions: {}", error_text(last_error())),
        );
        return;
    }
    info(STEP, &format!("{count} sessions"));
    let list: &[WTS_SESSION_INFOW] = if sessions.is_null() || count == 0 {
        &[]
    } else {
        let len = usize::try_from(count).unwrap_or(0);
        // SAFETY: WTSEnumerateSessionsW returned `count` initialised entries at `sessions`,
        // which stay valid until WTSFreeMemory below, after the last use of `list`.
        unsafe { core::slice::from_raw_parts(sessions, len) }
    };
    let mut asked = false;
    for s in list {
        let name = if s.pWinStationName.is_null() {
            String::new()
        } else {
            // SAFETY: a NUL-terminated name inside the array WTSEnumerateSessionsW returned.
            let len = unsafe { wide_len(s.pWinStationName) };
            // SAFETY: `len` units up to the NUL are readable at `pWinStationName`.
            from_wide(unsafe { core::slice::from_raw_parts(s.pWinStationName, len) })
        };
        info(
            STEP,
            &format!(
                "[{}]: {name} [{}]",
                s.SessionId,
                session_state_name(s.State)
            ),
        );
        if s.State != WTSActive {
            continue;
        }
        asked = true;
        send(prompt, s.SessionId, style, shared);
        break;
    }
    if !sessions.is_null() {
        // SAFETY: `sessions` came from WTSEnumerateSessionsW and is freed once; `list` is no
        // longer used.
        unsafe { WTSFreeMemory(sessions.cast()) };
    }
    if !asked {
        info(STEP, "no active session: nobody to ask");
    }
}

/// The length, in UTF-16 units, of the NUL-terminated string at `p`.
///
/// # Safety
/// `p` points to a readable NUL-terminated UTF-16 string.
const unsafe fn wide_len(p: *const u16) -> usize {
    let mut len = 0usize;
    loop {
        // SAFETY: the units before the NUL and the NUL itself are inside the string, which the
        // caller guarantees is readable: `len` never passes the NUL.
        let at = unsafe { p.add(len) };
        // SAFETY: `at` is inside the string (see above) and aligned like `p`.
        if unsafe { at.read() } == 0 {
            return len;
        }
        len = len.saturating_add(1);
    }
}

fn send(prompt: &Prompt, session: u32, style: u32, shared: &Shared) {
    let title = wide(&prompt.title);
    let text = wide(&prompt.text);
    // Lengths in bytes, the terminating NUL included (as upstream passes them).
    let bytes = |w: &[u16]| u32::try_from(w.len().saturating_mul(2)).unwrap_or(u32::MAX);
    info(
        STEP,
        &format!(
            "WTSSendMessage(session {session}, style {style:#x}, timeout {} s)",
            prompt.timeout
        ),
    );
    let mut response = 0i32;
    // SAFETY: both strings are NUL-terminated and outlive the call, their lengths are their
    // sizes in bytes; `response` receives the answer; bWait: the call returns once answered.
    let ok = unsafe {
        WTSSendMessageW(
            WTS_CURRENT_SERVER_HANDLE,
            session,
            title.as_ptr(),
            bytes(&title),
            text.as_ptr(),
            bytes(&text),
            style,
            prompt.timeout,
            &raw mut response,
            1,
        )
    };
    if ok == 0 {
        error(
            STEP,
            &format!("WTSSendMessage: {}", error_text(last_error())),
        );
        return;
    }
    let response = u32::try_from(response).unwrap_or(0);
    info(
        STEP,
        &format!(
            "session {session} answered {} ({response})",
            response_name(response)
        ),
    );
    answer(shared, response);
}
