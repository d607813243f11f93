// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Test-only (scripts/monitor-wine-test): `request-reboot PARAMETERS_KEY MODULE [VALUE]` writes
//! a reboot request the way xen.sys's `ConfigRequestReboot(ParametersKey, Module)` does
//! (`crates/xen/src/config.rs`): reads the `REG_SZ` `RequestKey` from
//! `HKLM\PARAMETERS_KEY` (the caller's `Parameters`, e.g. xenbus's), creates
//! `HKLM\<RequestKey>` (non-volatile), its **volatile** subkey `MODULE`, and sets the DWORD
//! `Reboot` there to `VALUE` (default 1). Exit status 0 when done, 1 with the reason on stderr.

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    use core::ptr::{null, null_mut};
    use monitor::text::{from_wide, wide};
    use windows_sys::Win32::Foundation::ERROR_SUCCESS;
    use windows_sys::Win32::System::Registry::{
        HKEY, HKEY_LOCAL_MACHINE, KEY_ALL_ACCESS, KEY_READ, REG_DWORD, REG_OPTION_NON_VOLATILE,
        REG_OPTION_VOLATILE, REG_SZ, RRF_RT_REG_SZ, RegCloseKey, RegCreateKeyExW, RegGetValueW,
        RegSetValueExW,
    };

    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(parameters), Some(module)) = (args.first(), args.get(1)) else {
        eprintln!("usage: request-reboot PARAMETERS_KEY MODULE [VALUE]");
        return std::process::ExitCode::from(1);
    };
    let value: u32 = match args.get(2).map(|v| v.parse()) {
        None => 1,
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            eprintln!("request-reboot: VALUE: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let fail = |what: &str, status: u32| {
        eprintln!("request-reboot: {what}: error {status}");
        std::process::ExitCode::from(1)
    };

    let mut buffer = vec![0u16; 1024];
    let mut size = u32::try_from(buffer.len() * 2).unwrap_or(0);
    let mut kind = 0u32;
    let name = wide("RequestKey");
    let key = wide(parameters);
    // SAFETY: the key and value names are NUL-terminated; `buffer` holds `size` bytes.
    let status = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_REG_SZ,
            &raw mut kind,
            buffer.as_mut_ptr().cast(),
            &raw mut size,
        )
    };
    if status != ERROR_SUCCESS || kind != REG_SZ {
        return fail(&format!("RequestKey of HKLM\\{parameters}"), status);
    }
    let request_key = from_wide(&buffer);

    let mut request: HKEY = null_mut();
    let path = wide(&request_key);
    // SAFETY: `path` is NUL-terminated; `request` receives the key.
    let status = unsafe {
        RegCreateKeyExW(
            HKEY_LOCAL_MACHINE,
            path.as_ptr(),
            0,
            null(),
            REG_OPTION_NON_VOLATILE,
            KEY_ALL_ACCESS,
            null(),
            &raw mut request,
            null_mut(),
        )
    };
    if status != ERROR_SUCCESS {
        return fail(&format!("create HKLM\\{request_key}"), status);
    }
    let mut sub: HKEY = null_mut();
    let module_w = wide(module);
    // SAFETY: `request` is open; `module_w` is NUL-terminated; `sub` receives the key.
    let status = unsafe {
        RegCreateKeyExW(
            request,
            module_w.as_ptr(),
            0,
            null(),
            REG_OPTION_VOLATILE,
            KEY_ALL_ACCESS | KEY_READ,
            null(),
            &raw mut sub,
            null_mut(),
        )
    };
    // SAFETY: `request` is open and closed once.
    unsafe { RegCloseKey(request) };
    if status != ERROR_SUCCESS {
        return fail(&format!("create volatile {module}"), status);
    }
    let reboot = wide("Reboot");
    let data = value.to_le_bytes();
    // SAFETY: `sub` is open; `data` holds the 4 bytes of the DWORD.
    let status = unsafe { RegSetValueExW(sub, reboot.as_ptr(), 0, REG_DWORD, data.as_ptr(), 4) };
    // SAFETY: `sub` is open and closed once.
    unsafe { RegCloseKey(sub) };
    if status != ERROR_SUCCESS {
        return fail("set Reboot", status);
    }
    println!("request-reboot: HKLM\\{request_key}\\{module} (volatile): Reboot = {value}");
    std::process::ExitCode::SUCCESS
}

#[cfg(not(windows))]
fn main() -> std::process::ExitCode {
    eprintln!("request-reboot: a Windows test tool (scripts/monitor-wine-test)");
    std::process::ExitCode::from(2)
}
