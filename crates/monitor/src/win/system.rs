// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The system calls around a reboot: the shutdown privilege, the two reasons to put a reboot
//! off (an MSI installation, `ES_SYSTEM_REQUIRED`), the reboot itself, and the clean-up of
//! Windows' `StartOverride` for storage miniports.

use core::ffi::c_void;
use core::ptr::{null, null_mut};

use monitor::start_override_key;
use monitor::text::{from_wide, wide};
use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    CMP_WaitNoPendingInstallEvents, GUID_DEVCLASS_SCSIADAPTER, SP_DEVINFO_DATA, SPDRP_SERVICE,
    SetupDiDestroyDeviceInfoList, SetupDiEnumDeviceInfo, SetupDiGetClassDevsW,
    SetupDiGetDeviceRegistryPropertyW,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_SUCCESS, HANDLE, INVALID_HANDLE_VALUE, LUID, WAIT_ABANDONED, WAIT_OBJECT_0,
    WAIT_TIMEOUT,
};
use windows_sys::Win32::Security::{
    AdjustTokenPrivileges, LUID_AND_ATTRIBUTES, LookupPrivilegeValueW, SE_PRIVILEGE_ENABLED,
    SE_SHUTDOWN_NAME, TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES, TOKEN_QUERY,
};
use windows_sys::Win32::System::Power::{
    CallNtPowerInformation, ES_SYSTEM_REQUIRED, SystemExecutionState,
};
use windows_sys::Win32::System::Shutdown::{
    InitiateSystemShutdownExW, SHTDN_REASON_FLAG_PLANNED, SHTDN_REASON_MAJOR_OPERATINGSYSTEM,
    SHTDN_REASON_MINOR_INSTALLATION,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, INFINITE, OpenMutexW, OpenProcessToken, ReleaseMutex,
    SYNCHRONIZATION_SYNCHRONIZE, WaitForSingleObject,
};

use super::debug::{error, error_text, info};
use super::registry;
use super::service::last_error;

/// `ERROR_NOT_ALL_ASSIGNED`: `AdjustTokenPrivileges` succeeded without the privilege.
const ERROR_NOT_ALL_ASSIGNED: u32 = 1300;

/// A kernel handle closed when dropped.
struct Handle(HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: `self.0` is an open handle owned by `self`, closed once, here.
        unsafe { CloseHandle(self.0) };
    }
}

/// Enables `SeShutdownPrivilege` in the process token (the service account holds it).
pub fn acquire_shutdown_privilege() -> Result<(), u32> {
    const STEP: &str = "AcquireShutdownPrivilege";
    let fail = |what: &str| {
        let e = last_error();
        error(STEP, &format!("{what}: {}", error_text(e)));
        e
    };
    let mut luid = LUID::default();
    // SAFETY: the local system; SE_SHUTDOWN_NAME is a static NUL-terminated string; `luid`
    // receives the value.
    if unsafe { LookupPrivilegeValueW(null(), SE_SHUTDOWN_NAME, &raw mut luid) } == 0 {
        return Err(fail("LookupPrivilegeValue"));
    }
    let mut token: HANDLE = null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing.
    let process = unsafe { GetCurrentProcess() };
    // SAFETY: `process` is this process; `token` receives a handle owned by `Handle` below.
    if unsafe {
        OpenProcessToken(
            process,
            TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY,
            &raw mut token,
        )
    } == 0
    {
        return Err(fail("OpenProcessToken"));
    }
    let token = Handle(token);
    let new = TOKEN_PRIVILEGES {
        PrivilegeCount: 1,
        Privileges: [LUID_AND_ATTRIBUTES {
            Luid: luid,
            Attributes: SE_PRIVILEGE_ENABLED,
        }],
    };
    // SAFETY: `token` is open with TOKEN_ADJUST_PRIVILEGES; `new` holds one privilege and
    // outlives the call; the previous state is not asked for.
    if unsafe { AdjustTokenPrivileges(token.0, 0, &raw const new, 0, null_mut(), null_mut()) } == 0
    {
        return Err(fail("AdjustTokenPrivileges"));
    }
    if last_error() == ERROR_NOT_ALL_ASSIGNED {
        error(
            STEP,
            "the account does not hold SeShutdownPrivilege: a reboot will fail",
        );
    } else {
        info(STEP, "SeShutdownPrivilege enabled");
    }
    Ok(())
}

/// Whether an MSI installation holds `Global\_MSIExecute` (the only sure sign one runs).
pub fn msi_install_running() -> bool {
    let name = wide("Global\\_MSIExecute");
    // SAFETY: `name` is NUL-terminated; a null result means no such mutex.
    let mutex = unsafe { OpenMutexW(SYNCHRONIZATION_SYNCHRONIZE, 0, name.as_ptr()) };
    if mutex.is_null() {
        return false;
    }
    let mutex = Handle(mutex);
    // SAFETY: `mutex` is open with SYNCHRONIZE; a zero timeout only polls.
    let state = unsafe { WaitForSingleObject(mutex.0, 0) };
    if state == WAIT_OBJECT_0 || state == WAIT_ABANDONED {
        // SAFETY: the wait above made this thread the mutex's owner.
        unsafe { ReleaseMutex(mutex.0) };
    }
    let running = state == WAIT_TIMEOUT;
    if running {
        info(
            "TryAutoReboot",
            "Global\\_MSIExecute is held: an installation runs",
        );
    }
    running
}

/// Whether the system must stay up: `ES_SYSTEM_REQUIRED` in the execution state, or the state
/// cannot be read.
pub fn system_required() -> bool {
    let mut state = 0u32;
    // SAFETY: SystemExecutionState takes no input and writes one ULONG to `state`.
    let status = unsafe {
        CallNtPowerInformation(
            SystemExecutionState,
            null(),
            0,
            (&raw mut state).cast::<c_void>(),
            4,
        )
    };
    if status < 0 {
        error(
            "TryAutoReboot",
            &format!("CallNtPowerInformation: {status:#x}"),
        );
        return true;
    }
    let required = state & ES_SYSTEM_REQUIRED != 0;
    if required {
        info(
            "TryAutoReboot",
            &format!("execution state {state:#x}: system required"),
        );
    }
    required
}

/// Restarts the system: waits for pending device installations, then a forced shutdown with
/// restart after `timeout` seconds, planned, reason "operating system: installation".
pub fn reboot(message: Option<&str>, timeout: u32) {
    const STEP: &str = "DoReboot";
    info(STEP, "waiting for pending install events...");
    // SAFETY: no pointers; waits until no device installation is pending.
    let wait = unsafe { CMP_WaitNoPendingInstallEvents(INFINITE) };
    info(
        STEP,
        &format!("pending install events: wait returned {wait}"),
    );
    let reason = SHTDN_REASON_MAJOR_OPERATINGSYSTEM
        | SHTDN_REASON_MINOR_INSTALLATION
        | SHTDN_REASON_FLAG_PLANNED;
    let text = message.map(wide);
    let message_ptr = text.as_ref().map_or(null(), Vec::as_ptr);
    let shown = message.map_or_else(|| "no message".to_owned(), |m| format!("message \"{m}\""));
    info(
        STEP,
        &format!(
            "InitiateSystemShutdownEx({shown}, timeout {timeout} s, force, reboot, reason {reason:#x})"
        ),
    );
    // SAFETY: the local machine; the message is null or NUL-terminated and outlives the call.
    let ok = unsafe { InitiateSystemShutdownExW(null(), message_ptr, timeout, 1, 1, reason) };
    if ok == 0 {
        error(
            STEP,
            &format!("InitiateSystemShutdownEx: {}", error_text(last_error())),
        );
    } else {
        info(STEP, "shutdown initiated");
    }
}

/// Deletes `Services\<service>\StartOverride` of every service bound to a SCSI-adapter-class
/// device: Windows sets it to keep boot-start storage miniports it saw unused from starting,
/// which would leave the PV storage driver unloaded after the emulated disks are unplugged.
pub fn remove_start_overrides() {
    const STEP: &str = "RemoveStartOverride";
    let class = GUID_DEVCLASS_SCSIADAPTER;
    // SAFETY: a class GUID, no enumerator, no window; the list is destroyed below.
    let list = unsafe { SetupDiGetClassDevsW(&raw const class, null(), null_mut(), 0) };
    if list == INVALID_HANDLE_VALUE as isize {
        error(
            STEP,
            &format!("SetupDiGetClassDevs: {}", error_text(last_error())),
        );
        return;
    }
    let size = u32::try_from(size_of::<SP_DEVINFO_DATA>()).unwrap_or(0);
    for index in 0.. {
        let mut data = SP_DEVINFO_DATA {
            cbSize: size,
            ..SP_DEVINFO_DATA::default()
        };
        // SAFETY: `list` is open; `data` is sized for this structure.
        if unsafe { SetupDiEnumDeviceInfo(list, index, &raw mut data) } == 0 {
            break;
        }
        let mut buffer = [0u16; 260];
        let bytes = u32::try_from(size_of_val(&buffer)).unwrap_or(0);
        // SAFETY: `list` and `data` name a device; `buffer` holds `bytes` bytes.
        let ok = unsafe {
            SetupDiGetDeviceRegistryPropertyW(
                list,
                &raw const data,
                SPDRP_SERVICE,
                null_mut(),
                buffer.as_mut_ptr().cast(),
                bytes,
                null_mut(),
            )
        };
        if ok == 0 {
            continue;
        }
        let service = from_wide(&buffer);
        if service.is_empty() || service.contains('\\') {
            continue;
        }
        match registry::delete_key(&start_override_key(&service)) {
            Ok(()) => info(STEP, &format!("{service}: StartOverride removed")),
            Err(2) => {} // ERROR_FILE_NOT_FOUND: none to remove
            Err(e) if e == ERROR_SUCCESS => {}
            Err(e) => error(STEP, &format!("{service}: {}", error_text(e))),
        }
    }
    // SAFETY: `list` came from SetupDiGetClassDevsW and is destroyed once.
    unsafe { SetupDiDestroyDeviceInfoList(list) };
}
