// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The host seam: on Linux builds a C program can stand in for Windows and Xen.
//!
//! It then calls the real exports through `include/xen.h` and checks argument marshalling and
//! status mapping end to end.
//!
//! For Xen, `XenHostInstallHypervisor` installs a C function that receives every hypercall
//! (number and the five argument registers) and returns what RAX would hold.
//!
//! The program fills an `XEN_HOST_PLATFORM` table of callbacks (port I/O, the `XEN` registry
//! values, `SystemStartOptions`, log-level values) and passes it to `XenHostInitialize`, which
//! installs it as the [`Platform`] and runs the portable `DllInitialize` steps
//! ([`super::initialize`]). `XenHostTeardown` undoes that. None of this exists in Windows or
//! freestanding builds.

use core::ffi::{c_char, c_void};

use super::{Loaded, NtStatus, Platform, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, UnplugKey};
use crate::hypercall::Hypervisor;
use crate::log::StoredLevel;
use crate::unplug::{PortIo, RegistryError};

/// `REG_SZ`.
pub const REG_SZ: u32 = 1;
/// `REG_MULTI_SZ`.
pub const REG_MULTI_SZ: u32 = 7;

/// The callbacks a host program provides (`XEN_HOST_PLATFORM` in `include/xen.h`). A NULL
/// callback behaves as the [`Platform`] default (ports read all-ones and ignore writes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(clippy::type_complexity)] // A C callback table reads best spelled out.
pub struct HostPlatform {
    /// Passed back to every callback.
    pub context: *mut c_void,
    /// `in al, dx`.
    pub inb: Option<unsafe extern "C" fn(*mut c_void, u16) -> u8>,
    /// `in ax, dx`.
    pub inw: Option<unsafe extern "C" fn(*mut c_void, u16) -> u16>,
    /// `out dx, al`.
    pub outb: Option<unsafe extern "C" fn(*mut c_void, u16, u8)>,
    /// `out dx, ax`.
    pub outw: Option<unsafe extern "C" fn(*mut c_void, u16, u16)>,
    /// `out dx, eax`.
    pub outl: Option<unsafe extern "C" fn(*mut c_void, u16, u32)>,
    /// `SystemStartOptions`, or NULL when the value is missing.
    pub start_options: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    /// Reads DWORD `name` from `XEN\Unplug` (key 0) or `XEN\ForceUnplug` (key 1).
    pub read_dword:
        Option<unsafe extern "C" fn(*mut c_void, u32, *const c_char, *mut u32) -> NtStatus>,
    /// Writes DWORD `name`.
    pub write_dword: Option<unsafe extern "C" fn(*mut c_void, u32, *const c_char, u32) -> NtStatus>,
    /// Deletes value `name`.
    pub delete_value: Option<unsafe extern "C" fn(*mut c_void, u32, *const c_char) -> NtStatus>,
    /// The subkey names of `Enum\XENBUS` (`*count` of them), or NULL if the key is missing.
    pub xenbus_subkeys: Option<unsafe extern "C" fn(*mut c_void, *mut u32) -> *const *const c_char>,
    /// Reads value `name` under `key` (NULL: xen.sys's own `Parameters`): its type and data.
    pub read_value: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut c_void,
            *const c_char,
            *mut u32,
            *mut *const u8,
            *mut u32,
        ) -> NtStatus,
    >,
}

/// The installed table.
struct Table(HostPlatform);

// SAFETY: `XenHostInitialize`'s contract: the callbacks and their context may be used from any
// thread while installed.
unsafe impl Send for Table {}
// SAFETY: as for `Send`; the table itself is only read.
unsafe impl Sync for Table {}

static TABLE: spin::RwLock<Option<Table>> = spin::RwLock::new(None);
static LOADED: spin::Mutex<Option<Loaded>> = spin::Mutex::new(None);

/// The [`Platform`] over the installed table.
struct Host;

static HOST: Host = Host;

fn table() -> Option<HostPlatform> {
    TABLE.read().as_ref().map(|t| t.0)
}

const fn key_number(key: UnplugKey) -> u32 {
    match key {
        UnplugKey::Unplug => 0,
        UnplugKey::ForceUnplug => 1,
    }
}

/// A value name as a C string (names here are short constants).
fn c_name(name: &str, buf: &mut [u8; 32]) -> *const c_char {
    let len = name.len().min(buf.len().saturating_sub(1));
    if let (Some(dst), Some(src)) = (buf.get_mut(..len), name.as_bytes().get(..len)) {
        dst.copy_from_slice(src);
    }
    if let Some(nul) = buf.get_mut(len) {
        *nul = 0;
    }
    buf.as_ptr().cast::<c_char>()
}

const fn registry_result(status: NtStatus) -> Result<(), RegistryError> {
    match status {
        STATUS_SUCCESS => Ok(()),
        STATUS_OBJECT_NAME_NOT_FOUND => Err(RegistryError::NotFound),
        other => Err(RegistryError::Os(other)),
    }
}

impl PortIo for Host {
    fn inb(&self, port: u16) -> u8 {
        table()
            .and_then(|t| Some((t.inb?, t.context)))
            .map_or(0xff, |(f, c)| {
                // SAFETY: the host program's callback, called as its table declares.
                unsafe { f(c, port) }
            })
    }
    fn inw(&self, port: u16) -> u16 {
        table()
            .and_then(|t| Some((t.inw?, t.context)))
            .map_or(0xffff, |(f, c)| {
                // SAFETY: the host program's callback, called as its table declares.
                unsafe { f(c, port) }
            })
    }
    fn outb(&self, port: u16, value: u8) {
        if let Some((f, c)) = table().and_then(|t| Some((t.outb?, t.context))) {
            // SAFETY: the host program's callback, called as its table declares.
            unsafe { f(c, port, value) };
        }
    }
    fn outw(&self, port: u16, value: u16) {
        if let Some((f, c)) = table().and_then(|t| Some((t.outw?, t.context))) {
            // SAFETY: the host program's callback, called as its table declares.
            unsafe { f(c, port, value) };
        }
    }
    fn outl(&self, port: u16, value: u32) {
        if let Some((f, c)) = table().and_then(|t| Some((t.outl?, t.context))) {
            // SAFETY: the host program's callback, called as its table declares.
            unsafe { f(c, port, value) };
        }
    }
}

impl Platform for Host {
    fn start_options(&self, visit: &mut dyn FnMut(&[u8])) -> Result<(), NtStatus> {
        let (f, c) = table()
            .and_then(|t| Some((t.start_options?, t.context)))
            .ok_or(STATUS_OBJECT_NAME_NOT_FOUND)?;
        // SAFETY: the host program's callback, called as its table declares.
        let text = unsafe { f(c) };
        // SAFETY: the callback returns NULL or a NUL-terminated string it keeps alive.
        let bytes = unsafe { super::c_bytes(text) }.ok_or(STATUS_OBJECT_NAME_NOT_FOUND)?;
        visit(bytes);
        Ok(())
    }

    fn read_dword(&self, key: UnplugKey, name: &str) -> Result<u32, RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.read_dword?, t.context)))
            .ok_or(RegistryError::NotFound)?;
        let mut buf = [0u8; 32];
        let mut value = 0u32;
        // SAFETY: the host program's callback with a terminated name and a writable DWORD.
        let status = unsafe { f(c, key_number(key), c_name(name, &mut buf), &raw mut value) };
        registry_result(status).map(|()| value)
    }

    fn write_dword(&self, key: UnplugKey, name: &str, value: u32) -> Result<(), RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.write_dword?, t.context)))
            .ok_or(RegistryError::NotFound)?;
        let mut buf = [0u8; 32];
        // SAFETY: the host program's callback with a terminated name.
        registry_result(unsafe { f(c, key_number(key), c_name(name, &mut buf), value) })
    }

    fn delete_value(&self, key: UnplugKey, name: &str) -> Result<(), RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.delete_value?, t.context)))
            .ok_or(RegistryError::NotFound)?;
        let mut buf = [0u8; 32];
        // SAFETY: the host program's callback with a terminated name.
        registry_result(unsafe { f(c, key_number(key), c_name(name, &mut buf)) })
    }

    fn enumerate_xenbus(&self, visit: &mut dyn FnMut(&[u8])) -> Result<(), RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.xenbus_subkeys?, t.context)))
            .ok_or(RegistryError::NotFound)?;
        let mut count = 0u32;
        // SAFETY: the host program's callback with a writable count.
        let names = unsafe { f(c, &raw mut count) };
        if names.is_null() {
            return Err(RegistryError::NotFound);
        }
        for i in 0..usize::try_from(count).unwrap_or(0) {
            // SAFETY: the callback returns an array of `count` string pointers; `i < count`.
            let name = unsafe { names.wrapping_add(i).read() };
            // SAFETY: each entry is NULL or a NUL-terminated string kept alive by the program.
            if let Some(bytes) = unsafe { super::c_bytes(name) } {
                visit(bytes);
            }
        }
        Ok(())
    }

    fn read_level_value(
        &self,
        key: *mut c_void,
        name: &[u8],
        visit: &mut dyn FnMut(StoredLevel<'_>),
    ) {
        let Some((f, c)) = table().and_then(|t| Some((t.read_value?, t.context))) else {
            visit(StoredLevel::Missing);
            return;
        };
        let mut cname = [0u8; 64];
        let len = name.len().min(cname.len().saturating_sub(1));
        if let (Some(dst), Some(src)) = (cname.get_mut(..len), name.get(..len)) {
            dst.copy_from_slice(src);
        }
        let (mut kind, mut data, mut size) = (0u32, core::ptr::null::<u8>(), 0u32);
        // SAFETY: the host program's callback with a terminated name and writable outputs.
        let status = unsafe {
            f(
                c,
                key,
                cname.as_ptr().cast::<c_char>(),
                &raw mut kind,
                &raw mut data,
                &raw mut size,
            )
        };
        match status {
            STATUS_SUCCESS if kind == REG_MULTI_SZ && !data.is_null() => {
                // SAFETY: on success the callback returns `size` readable bytes at `data`.
                let bytes = unsafe {
                    core::slice::from_raw_parts(data, usize::try_from(size).unwrap_or(0))
                };
                visit(StoredLevel::MultiSz(bytes));
            }
            STATUS_SUCCESS if kind == REG_MULTI_SZ => visit(StoredLevel::MultiSz(&[])),
            STATUS_SUCCESS => visit(StoredLevel::NotMultiSz),
            STATUS_OBJECT_NAME_NOT_FOUND => visit(StoredLevel::Missing),
            other => visit(StoredLevel::Unreadable(other)),
        }
    }
}

/// `VOID XenHostInitialize(const XEN_HOST_PLATFORM *Platform)`: installs the table and runs
/// the portable `DllInitialize` steps. A NULL table installs an empty one.
///
/// # Safety
/// `Platform` is NULL or readable; its callbacks must be callable from any thread until
/// `XenHostTeardown`.
// SAFETY: a host-only name, defined once.
#[unsafe(export_name = "XenHostInitialize")]
pub unsafe extern "C" fn xen_host_initialize(platform: *const HostPlatform) {
    let table = if platform.is_null() {
        HostPlatform {
            context: core::ptr::null_mut(),
            inb: None,
            inw: None,
            outb: None,
            outw: None,
            outl: None,
            start_options: None,
            read_dword: None,
            write_dword: None,
            delete_value: None,
            xenbus_subkeys: None,
            read_value: None,
        }
    } else {
        // SAFETY: non-NULL and readable by the caller's contract.
        unsafe { platform.read() }
    };
    xen_host_teardown();
    *TABLE.write() = Some(Table(table));
    let loaded = super::initialize(&HOST);
    *LOADED.lock() = Some(loaded);
}

/// `VOID XenHostTeardown(VOID)`: undoes `XenHostInitialize` (no-op if not initialised).
// SAFETY: a host-only name, defined once.
#[unsafe(export_name = "XenHostTeardown")]
pub extern "C" fn xen_host_teardown() {
    let loaded = LOADED.lock().take();
    if let Some(loaded) = loaded {
        super::teardown(&loaded);
    }
    *TABLE.write() = None;
}

/// `BOOLEAN XenHostDbgPrint(PCSTR Text, ULONG Level)`: what the kernel's `DbgPrint` callback does.
///
/// The line is captured if capture is on and the filter keeps it, then flushed (the DPC).
/// Returns whether the line was captured.
///
/// # Safety
/// `Text` is NULL or NUL-terminated.
// SAFETY: a host-only name, defined once.
#[unsafe(export_name = "XenHostDbgPrint")]
#[must_use]
pub unsafe extern "C" fn xen_host_dbg_print(text: *const c_char, level: u32) -> u8 {
    // SAFETY: the caller passes NULL or a NUL-terminated string.
    let Some(text) = (unsafe { super::c_bytes(text) }) else {
        return 0;
    };
    let captured = super::log::capture_dbg_print(text, level);
    if captured {
        super::log::flush();
    }
    u8::from(captured)
}

/// A hypercall handler as a host program provides it: `(Context, Op, Args[5]) -> RAX`.
pub type HostHypercall = unsafe extern "C" fn(*mut c_void, u32, *const usize) -> isize;

/// The installed handler and its context.
#[derive(Clone, Copy)]
struct Handler(HostHypercall, *mut c_void);

// SAFETY: `XenHostInstallHypervisor`'s contract: the handler and its context may be used from any
// thread while installed.
unsafe impl Send for Handler {}
// SAFETY: as for `Send`; the pair itself is only read.
unsafe impl Sync for Handler {}

static HANDLER: spin::RwLock<Option<Handler>> = spin::RwLock::new(None);

/// The [`Hypervisor`] over the installed handler.
struct HostXen;

static HOST_XEN: HostXen = HostXen;

/// `-EINVAL`, for more than five arguments (as the real instruction wrapper refuses them).
const EINVAL: isize = 22;

impl Hypervisor for HostXen {
    unsafe fn hypercall(&self, op: u32, args: &[usize]) -> isize {
        let Some(Handler(f, context)) = *HANDLER.read() else {
            // ENOSYS: no hypervisor behind this one.
            return -38;
        };
        let mut regs = [0usize; 5];
        let Some(dst) = regs.get_mut(..args.len()) else {
            return -EINVAL;
        };
        dst.copy_from_slice(args);
        // SAFETY: the host program's handler, called with five readable argument registers; the
        // caller of `hypercall` guarantees what the arguments point to.
        unsafe { f(context, op, regs.as_ptr()) }
    }
}

/// `VOID XenHostInstallHypervisor(XEN_HOST_HYPERCALL Handler, PVOID Context)`.
///
/// Routes every hypercall export to `Handler`; NULL removes it (the exports then fail with
/// `STATUS_NOT_SUPPORTED`). Also forgets `XenTouch` calls and the `SystemSetWatchdog` id, as a
/// fresh load would.
///
/// # Safety
/// `Handler` must be callable from any thread with `Context` until it is replaced or removed.
// SAFETY: a host-only name, defined once.
#[unsafe(export_name = "XenHostInstallHypervisor")]
pub unsafe extern "C" fn xen_host_install_hypervisor(
    handler: Option<HostHypercall>,
    context: *mut c_void,
) {
    super::xen_version::reset_touch();
    super::sched::reset_watchdog();
    if let Some(f) = handler {
        *HANDLER.write() = Some(Handler(f, context));
        super::install_hypervisor(&HOST_XEN);
    } else {
        super::remove_hypervisor();
        *HANDLER.write() = None;
    }
}

/// `VOID XenHostDriverVersion(PULONG Major, PULONG Minor, PULONG Micro, PULONG Build)`: the
/// version `XenTouch` expects. NULL outputs are skipped.
///
/// # Safety
/// Each pointer is NULL or writable.
// SAFETY: a host-only name, defined once.
#[unsafe(export_name = "XenHostDriverVersion")]
pub unsafe extern "C" fn xen_host_driver_version(
    major: *mut u32,
    minor: *mut u32,
    micro: *mut u32,
    build: *mut u32,
) {
    let v = super::DRIVER_VERSION;
    for (out, value) in [
        (major, v.major),
        (minor, v.minor),
        (micro, v.micro),
        (build, v.build),
    ] {
        // SAFETY: each pointer is NULL (refused) or writable by the caller's contract.
        let _ignored = unsafe { super::put(out, value) };
    }
}
