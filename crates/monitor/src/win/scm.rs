// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `xenbus_monitor.exe create` and `delete`: register the service by hand (own process, auto
//! start, this program as its binary) or stop and remove it. The INF does the same on install.

use core::ptr::{null, null_mut};

use monitor::SERVICE_NAME;
use monitor::text::{from_wide, wide};
use windows_sys::Win32::System::LibraryLoader::GetModuleFileNameW;
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, CreateServiceW, DeleteService, OpenSCManagerW,
    OpenServiceW, SC_HANDLE, SC_MANAGER_ALL_ACCESS, SERVICE_ALL_ACCESS, SERVICE_AUTO_START,
    SERVICE_CONTROL_STOP, SERVICE_ERROR_NORMAL, SERVICE_STATUS, SERVICE_WIN32_OWN_PROCESS,
};

use super::debug::{error, error_text, info};
use super::service::last_error;

/// An open service-manager or service handle, closed when dropped.
struct Sc(SC_HANDLE);

impl Drop for Sc {
    fn drop(&mut self) {
        // SAFETY: `self.0` is an open handle owned by `self`, closed once, here.
        unsafe { CloseServiceHandle(self.0) };
    }
}

fn manager(step: &str) -> Option<Sc> {
    // SAFETY: the local machine's active database.
    let h = unsafe { OpenSCManagerW(null(), null(), SC_MANAGER_ALL_ACCESS) };
    if h.is_null() {
        error(
            step,
            &format!("OpenSCManager: {}", error_text(last_error())),
        );
        None
    } else {
        Some(Sc(h))
    }
}

/// Registers the service with this program as its binary.
pub fn create() -> bool {
    const STEP: &str = "MonitorCreate";
    let mut path = vec![0u16; 32768];
    let size = u32::try_from(path.len()).unwrap_or(0);
    // SAFETY: this program's module; `path` holds `size` UTF-16 units.
    let len = unsafe { GetModuleFileNameW(null_mut(), path.as_mut_ptr(), size) };
    if len == 0 || len >= size {
        error(
            STEP,
            &format!("GetModuleFileName: {}", error_text(last_error())),
        );
        return false;
    }
    let path = wide(&from_wide(&path));
    let Some(scm) = manager(STEP) else {
        return false;
    };
    let name = wide(SERVICE_NAME);
    // SAFETY: `scm` is open; the strings are NUL-terminated and outlive the call; no load
    // order group, tag, dependencies, account or password.
    let service = unsafe {
        CreateServiceW(
            scm.0,
            name.as_ptr(),
            name.as_ptr(),
            SERVICE_ALL_ACCESS,
            SERVICE_WIN32_OWN_PROCESS,
            SERVICE_AUTO_START,
            SERVICE_ERROR_NORMAL,
            path.as_ptr(),
            null(),
            null_mut(),
            null(),
            null(),
            null(),
        )
    };
    if service.is_null() {
        error(
            STEP,
            &format!("CreateService: {}", error_text(last_error())),
        );
        return false;
    }
    drop(Sc(service));
    info(
        STEP,
        &format!("{SERVICE_NAME} created ({})", from_wide(&path)),
    );
    true
}

/// Stops the service if it runs, then removes it. (Upstream removes it only when it could stop
/// it: a service that is not running stays registered.)
pub fn delete() -> bool {
    const STEP: &str = "MonitorDelete";
    let Some(scm) = manager(STEP) else {
        return false;
    };
    let name = wide(SERVICE_NAME);
    // SAFETY: `scm` is open; `name` is NUL-terminated.
    let service = unsafe { OpenServiceW(scm.0, name.as_ptr(), SERVICE_ALL_ACCESS) };
    if service.is_null() {
        error(STEP, &format!("OpenService: {}", error_text(last_error())));
        return false;
    }
    let service = Sc(service);
    let mut status = SERVICE_STATUS::default();
    // SAFETY: `service` is open with SERVICE_STOP; `status` receives its status.
    if unsafe { ControlService(service.0, SERVICE_CONTROL_STOP, &raw mut status) } == 0 {
        info(
            STEP,
            &format!("stop: {} (going on)", error_text(last_error())),
        );
    }
    // SAFETY: `service` is open with DELETE access.
    if unsafe { DeleteService(service.0) } == 0 {
        error(
            STEP,
            &format!("DeleteService: {}", error_text(last_error())),
        );
        return false;
    }
    info(STEP, &format!("{SERVICE_NAME} deleted"));
    true
}
