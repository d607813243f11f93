// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The service: the control dispatcher, the control handler, status reports, and the wait
//! loop that hands the monitor its events (stop, a change under the request key or a session
//! change, the prompt's answer, the 60 s retry timer).

use core::ffi::c_void;
use core::ptr::{null, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use monitor::log::service_state_name;
use monitor::monitor::{Monitor, RequestEntry};
use monitor::settings::{self, REBOOT, Settings};
use monitor::text::wide;
use monitor::{SERVICE_NAME, parameters_key};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_CALL_NOT_IMPLEMENTED, GetLastError, HANDLE, NO_ERROR, WAIT_OBJECT_0,
};
use windows_sys::Win32::System::Registry::{KEY_ALL_ACCESS, KEY_READ, KEY_SET_VALUE};
use windows_sys::Win32::System::Services::{
    RegisterServiceCtrlHandlerExW, SERVICE_ACCEPT_SESSIONCHANGE, SERVICE_ACCEPT_SHUTDOWN,
    SERVICE_ACCEPT_STOP, SERVICE_CONTROL_INTERROGATE, SERVICE_CONTROL_SESSIONCHANGE,
    SERVICE_CONTROL_SHUTDOWN, SERVICE_CONTROL_STOP, SERVICE_RUNNING, SERVICE_START_PENDING,
    SERVICE_STATUS, SERVICE_STATUS_CURRENT_STATE, SERVICE_STOP_PENDING, SERVICE_STOPPED,
    SERVICE_TABLE_ENTRYW, SERVICE_WIN32_OWN_PROCESS, SetServiceStatus, StartServiceCtrlDispatcherW,
};
use windows_sys::Win32::System::Threading::{
    CancelWaitableTimer, CreateEventW, CreateWaitableTimerW, INFINITE, ResetEvent, SetEvent,
    SetWaitableTimer, WaitForMultipleObjects,
};
use windows_sys::core::PWSTR;

use super::debug::{error, error_text, info};
use super::host::WinHost;
use super::registry::{Key, Values};
use super::system;

/// How often a pending request is tried again (upstream: one minute).
const RETRY_PERIOD_MS: i32 = 60_000;

/// The last Win32 error of this thread.
pub fn last_error() -> u32 {
    // SAFETY: reads this thread's last-error value; no arguments.
    unsafe { GetLastError() }
}

/// An event object, closed when dropped.
pub struct Event(HANDLE);

// SAFETY: an event handle may be waited on, set and reset from any thread.
unsafe impl Send for Event {}
// SAFETY: as above; the kernel object synchronises itself.
unsafe impl Sync for Event {}

impl Event {
    /// A new unnamed event, not signalled.
    pub fn new(manual_reset: bool) -> Result<Self, u32> {
        // SAFETY: default security, no name; the handle returned is owned by `Self`.
        let handle = unsafe { CreateEventW(null(), i32::from(manual_reset), 0, null()) };
        if handle.is_null() {
            Err(last_error())
        } else {
            Ok(Self(handle))
        }
    }

    /// Signals the event.
    pub fn set(&self) {
        // SAFETY: `self.0` is an open event handle.
        unsafe { SetEvent(self.0) };
    }

    /// Clears the event.
    pub fn reset(&self) {
        // SAFETY: `self.0` is an open event handle.
        unsafe { ResetEvent(self.0) };
    }

    /// The handle, for waits and notifications; valid while `self` lives.
    pub const fn raw(&self) -> HANDLE {
        self.0
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: `self.0` is owned by `self` and closed once, here.
        unsafe { CloseHandle(self.0) };
    }
}

/// The periodic retry timer, cancelled and closed when dropped.
struct Timer(HANDLE);

impl Timer {
    /// A synchronisation timer signalled every `period_ms`, first after one period.
    fn periodic(period_ms: i32) -> Result<Self, u32> {
        // SAFETY: default security, auto-reset, no name; the handle is owned by `Self`.
        let handle = unsafe { CreateWaitableTimerW(null(), 0, null()) };
        if handle.is_null() {
            return Err(last_error());
        }
        let timer = Self(handle);
        // Relative due time, in 100 ns units.
        let due = i64::from(period_ms).saturating_mul(-10_000);
        // SAFETY: `timer.0` is an open timer; `due` outlives the call; no completion routine.
        let ok = unsafe { SetWaitableTimer(timer.0, &raw const due, period_ms, None, null(), 0) };
        if ok == 0 {
            return Err(last_error());
        }
        Ok(timer)
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: `self.0` is an open timer owned by `self`.
        unsafe { CancelWaitableTimer(self.0) };
        // SAFETY: `self.0` is owned by `self` and closed once, here.
        unsafe { CloseHandle(self.0) };
    }
}

/// What the control handler, the prompt thread and the wait loop share.
pub struct Shared {
    /// Set by STOP and SHUTDOWN.
    stop: Event,
    /// Set by a change under the request key, a session change, and once at start.
    request: Event,
    /// Set (auto-reset) by the prompt thread once [`Shared::response`] holds the answer.
    pub response_event: Event,
    /// The prompt's answer.
    pub response: AtomicU32,
    /// The handle `RegisterServiceCtrlHandlerExW` returned.
    handle: AtomicPtr<c_void>,
    /// The status last reported, and the next check point.
    status: Mutex<(SERVICE_STATUS, u32)>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

impl Shared {
    fn new() -> Result<Self, u32> {
        Ok(Self {
            stop: Event::new(true)?,
            request: Event::new(true)?,
            response_event: Event::new(false)?,
            response: AtomicU32::new(0),
            handle: AtomicPtr::new(null_mut()),
            status: Mutex::new((
                SERVICE_STATUS {
                    dwServiceType: SERVICE_WIN32_OWN_PROCESS,
                    ..SERVICE_STATUS::default()
                },
                1,
            )),
        })
    }

    /// Reports `state` (with `exit_code` and `wait_hint` ms) to the service control manager.
    fn report(&self, state: SERVICE_STATUS_CURRENT_STATE, exit_code: u32, wait_hint: u32) {
        info("ReportStatus", service_state_name(state));
        let Ok(mut guard) = self.status.lock() else {
            error("ReportStatus", "status lock poisoned");
            return;
        };
        let (status, checkpoint) = &mut *guard;
        status.dwCurrentState = state;
        status.dwWin32ExitCode = exit_code;
        status.dwWaitHint = wait_hint;
        status.dwControlsAccepted = if state == SERVICE_START_PENDING {
            0
        } else {
            SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_SESSIONCHANGE
        };
        if state == SERVICE_RUNNING || state == SERVICE_STOPPED {
            status.dwCheckPoint = 0;
        } else {
            status.dwCheckPoint = *checkpoint;
            *checkpoint = checkpoint.wrapping_add(1);
        }
        let copy = *status;
        drop(guard);
        // SAFETY: the handle came from RegisterServiceCtrlHandlerExW (SetServiceStatus
        // refuses a null one); `copy` outlives the call.
        let ok = unsafe { SetServiceStatus(self.handle.load(Ordering::Acquire), &raw const copy) };
        if ok == 0 {
            error("ReportStatus", &error_text(last_error()));
        }
    }

    /// Reports the current state again (INTERROGATE).
    fn report_again(&self) {
        let state = self
            .status
            .lock()
            .map_or(SERVICE_RUNNING, |g| g.0.dwCurrentState);
        self.report(state, NO_ERROR, 0);
    }
}

/// The control handler: STOP and SHUTDOWN stop the service, a session change rescans the
/// requests (a user may have logged on to answer the prompt), INTERROGATE reports the status.
extern "system" fn control_handler(
    control: u32,
    _event_type: u32,
    _event_data: *mut c_void,
    _context: *mut c_void,
) -> u32 {
    const STEP: &str = "MonitorCtrlHandlerEx";
    let Some(shared) = SHARED.get() else {
        return ERROR_CALL_NOT_IMPLEMENTED;
    };
    match control {
        SERVICE_CONTROL_STOP | SERVICE_CONTROL_SHUTDOWN => {
            let what = if control == SERVICE_CONTROL_STOP {
                "STOP"
            } else {
                "SHUTDOWN"
            };
            info(STEP, what);
            shared.report(SERVICE_STOP_PENDING, NO_ERROR, 0);
            shared.stop.set();
            NO_ERROR
        }
        SERVICE_CONTROL_SESSIONCHANGE => {
            info(STEP, "SESSIONCHANGE");
            shared.request.set();
            NO_ERROR
        }
        SERVICE_CONTROL_INTERROGATE => {
            shared.report_again();
            NO_ERROR
        }
        _ => ERROR_CALL_NOT_IMPLEMENTED,
    }
}

/// Runs the service under the service control manager; false (logged) when the dispatcher
/// cannot start, e.g. when the program was not started by the service control manager.
pub fn run() -> bool {
    let version = concat!(env!("CARGO_PKG_VERSION"), " ", env!("CARGO_PKG_NAME"));
    info("MonitorEntry", &format!("{version} ====>"));
    let mut name = wide(SERVICE_NAME);
    let table = [
        SERVICE_TABLE_ENTRYW {
            lpServiceName: name.as_mut_ptr(),
            lpServiceProc: Some(service_main),
        },
        SERVICE_TABLE_ENTRYW {
            lpServiceName: null_mut(),
            lpServiceProc: None,
        },
    ];
    // SAFETY: `table` ends with the null entry and, with `name`, outlives the call, which
    // returns once the service has stopped.
    let ok = unsafe { StartServiceCtrlDispatcherW(table.as_ptr()) };
    if ok == 0 {
        error("MonitorEntry", &error_text(last_error()));
        return false;
    }
    info("MonitorEntry", &format!("{version} <===="));
    true
}

/// The service's main function (upstream's `MonitorMain`).
extern "system" fn service_main(_argc: u32, _argv: *mut PWSTR) {
    const STEP: &str = "MonitorMain";
    info(STEP, "====>");
    system::remove_start_overrides();
    let shared = match Shared::new() {
        Ok(s) => s,
        Err(e) => {
            error(STEP, &format!("cannot create events: {}", error_text(e)));
            return;
        }
    };
    // The service runs once per process: a second start would find SHARED set and reuse it.
    let _ = SHARED.set(shared);
    let Some(shared) = SHARED.get() else {
        return;
    };
    let name = wide(SERVICE_NAME);
    // SAFETY: `name` is NUL-terminated; the handler is a plain function; no context.
    let handle =
        unsafe { RegisterServiceCtrlHandlerExW(name.as_ptr(), Some(control_handler), null()) };
    if handle.is_null() {
        error(
            STEP,
            &format!("RegisterServiceCtrlHandlerEx: {}", error_text(last_error())),
        );
        return;
    }
    shared.handle.store(handle, Ordering::Release);
    shared.report(SERVICE_START_PENDING, NO_ERROR, 3000);
    let exit_code = match start_and_wait(shared) {
        Ok(()) => NO_ERROR,
        Err(code) => code,
    };
    system::remove_start_overrides();
    shared.report(SERVICE_STOPPED, exit_code, 0);
    info(STEP, "<====");
}

/// Opens what the service needs, then waits for events until STOP; the Win32 error that kept
/// it from starting otherwise.
fn start_and_wait(shared: &'static Shared) -> Result<(), u32> {
    const STEP: &str = "MonitorMain";
    let parameters_path = parameters_key();
    // Read, and set for RebootCount (upstream opens it read-only, so its RebootCount writes
    // fail).
    let parameters = Key::open(&parameters_path, KEY_READ | KEY_SET_VALUE).inspect_err(|&e| {
        error(STEP, &format!("HKLM\\{parameters_path}: {}", error_text(e)));
    })?;
    system::acquire_shutdown_privilege()?;
    let settings = Settings::read(&mut Values(&parameters)).map_err(|e| {
        error(STEP, &format!("HKLM\\{parameters_path}: {e}"));
        e.win32_error()
    })?;
    info(STEP, &format!("RequestKey: HKLM\\{}", settings.request_key));
    let request = Key::create(&settings.request_key, KEY_ALL_ACCESS).inspect_err(|&e| {
        error(
            STEP,
            &format!("HKLM\\{}: {}", settings.request_key, error_text(e)),
        );
    })?;
    let timer = Timer::periodic(RETRY_PERIOD_MS).inspect_err(|&e| {
        error(STEP, &format!("retry timer: {}", error_text(e)));
    })?;
    let mut monitor = Monitor::new(settings.dialog);
    let mut host = WinHost::new(&parameters, shared);
    shared.request.set();
    shared.report(SERVICE_RUNNING, NO_ERROR, 0);

    let events = [
        shared.stop.raw(),
        shared.request.raw(),
        shared.response_event.raw(),
        timer.0,
    ];
    let count = u32::try_from(events.len()).unwrap_or(0);
    let result = loop {
        info(STEP, &format!("waiting ({count})..."));
        // SAFETY: the handles are open for the whole loop; `events` holds `count` of them.
        let which = unsafe { WaitForMultipleObjects(count, events.as_ptr(), 0, INFINITE) };
        info(STEP, "awake");
        match which.wrapping_sub(WAIT_OBJECT_0) {
            0 => break Ok(()),
            1 => {
                shared.request.reset();
                check_request_key(&request, &mut monitor, &mut host, shared);
            }
            2 => {
                let response = shared.response.load(Ordering::Acquire);
                monitor.on_response(response, &mut host);
            }
            3 => {
                monitor.on_timer(&mut host);
            }
            _ => {
                let e = last_error();
                error(STEP, &format!("wait failed ({which}): {}", error_text(e)));
                break Err(e);
            }
        }
    };
    drop(timer);
    // Requests end with the service (the per-module keys are volatile anyway).
    match request.delete_tree() {
        Ok(()) => info(STEP, &format!("HKLM\\{} emptied", settings.request_key)),
        Err(e) => error(
            STEP,
            &format!(
                "cannot empty HKLM\\{}: {}",
                settings.request_key,
                error_text(e)
            ),
        ),
    }
    result
}

/// Scans the request key's subkeys for the monitor, then re-arms the change notification.
fn check_request_key(
    request: &Key,
    monitor: &mut Monitor,
    host: &mut WinHost<'_>,
    shared: &Shared,
) {
    const STEP: &str = "CheckRequestKey";
    info(STEP, "====>");
    match request.subkeys() {
        Ok(names) => {
            let entries: Vec<RequestEntry> = names
                .into_iter()
                .map(|module| {
                    let reboot = request
                        .open_sub(&module, KEY_READ)
                        .ok()
                        .and_then(|k| k.read(REBOOT).ok().flatten())
                        .and_then(|v| settings::dword(REBOOT, Some(v)).ok().flatten());
                    RequestEntry { module, reboot }
                })
                .collect();
            let outcome = monitor.on_request(&entries, host);
            info(STEP, &format!("{outcome:?}"));
        }
        Err(e) => error(
            STEP,
            &format!("cannot list the requests: {}", error_text(e)),
        ),
    }
    if let Err(e) = request.notify(shared.request.raw()) {
        error(STEP, &format!("RegNotifyChangeKeyValue: {}", error_text(e)));
    }
    info(STEP, "<====");
}
