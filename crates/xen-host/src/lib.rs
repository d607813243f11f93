// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Host seam of xen.sys's exports, for tests only (never part of xen.sys): a C program stands in
//! for Windows and for Xen, and calls the real exports through `crates/xen/include/xen.h` to
//! check argument marshalling and status mapping end to end (`tests/c/xen_abi.c`).
//!
//! The C program links this crate's cdylib, `libxen_host.so`: the `XenHost*` functions below
//! (declared in `include/xen_host.h`) plus every `XEN_API` export of the `xen` crate, which the
//! cdylib links in from xen's rlib and exports under the same names xen.sys does.
//!
//! For Xen, `XenHostInstallHypervisor` installs a C function that receives every hypercall
//! (number and the five argument registers) and returns what RAX would hold.
//!
//! For Windows, the program fills an `XEN_HOST_PLATFORM` table of callbacks (port I/O, the `XEN`
//! registry values, `SystemStartOptions`, log-level values, and the values of the class keys
//! and of `XENFILT\Parameters` behind `Filters*` and `Config*`) and passes it to
//! `XenHostInitialize`, which installs it as xen's [`Platform`] and runs the portable
//! `DllInitialize` steps ([`xen::export::initialize`]). `XenHostTeardown` undoes that. The IRQL
//! of the stand-in processor is platform-port's [`StdPlatform`]'s, which checks every raise and
//! lower, and xen's `HIGH_LOCK`s, as Driver Verifier would; the state only the Windows kernel
//! has (vCPU ids, `vcpu_info`, the module list) answers as a bare host would
//! (`STATUS_NOT_SUPPORTED`, nothing found).
//!
//! This crate uses only the `pub` seam of `xen::export` ([`xen::export::install_hypervisor`],
//! [`xen::export::initialize`], [`xen::export::log::capture_dbg_print`],
//! [`xen::export::xen_version::reset_touch`], [`xen::export::sched::reset_watchdog`]...).

#![allow(clippy::missing_panics_doc)]

use core::ffi::{CStr, c_char, c_void};
use std::ffi::CString;
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};

use platform_port::std_impl::StdPlatform;
use platform_port::{Irql, IrqlLevel, PortIo};
use xen::config::{self, ConfigRegistry, RebootRequest};
use xen::export::{
    DRIVER_VERSION, Loaded, NtStatus, Platform, STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_SUCCESS, UnplugKey,
};
use xen::filters::{self, ClassRegistry, DeviceClass};
use xen::hypercall::Hypervisor;
use xen::log::StoredLevel;
use xen::registry::{REG_MULTI_SZ as XEN_REG_MULTI_SZ, REG_SZ as XEN_REG_SZ, RegistryError, Value};

/// `REG_SZ` (`XEN_HOST_REG_SZ`).
pub const REG_SZ: u32 = 1;
/// `REG_MULTI_SZ` (`XEN_HOST_REG_MULTI_SZ`).
pub const REG_MULTI_SZ: u32 = 7;
/// `Control\Class\{4d36e97d-...}` (`XEN_HOST_KEY_CLASS_SYSTEM`).
pub const KEY_CLASS_SYSTEM: u32 = 2;
/// `Control\Class\{4d36e96a-...}` (`XEN_HOST_KEY_CLASS_HDC`).
pub const KEY_CLASS_HDC: u32 = 3;
/// `Services\XENFILT\Parameters` (`XEN_HOST_KEY_XENFILT_PARAMETERS`).
pub const KEY_XENFILT_PARAMETERS: u32 = 4;

/// The callbacks a host program provides (`XEN_HOST_PLATFORM` in `include/xen_host.h`).
///
/// A NULL callback answers as an absent service: ports read all-ones and ignore writes, registry
/// values and `SystemStartOptions` are missing, and the keys of the class filters and the
/// active-device store (the `*KeyValue` callbacks) are not supported (`STATUS_NOT_SUPPORTED`).
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
    /// Reads value `name` under key `key` (`KEY_CLASS_SYSTEM`, `KEY_CLASS_HDC`,
    /// `KEY_XENFILT_PARAMETERS`): its type and data.
    pub query_key_value: Option<
        unsafe extern "C" fn(
            *mut c_void,
            u32,
            *const c_char,
            *mut u32,
            *mut *const u8,
            *mut u32,
        ) -> NtStatus,
    >,
    /// Writes value `name` under key `key` with a type and data.
    pub set_key_value: Option<
        unsafe extern "C" fn(*mut c_void, u32, *const c_char, u32, *const u8, u32) -> NtStatus,
    >,
    /// Deletes value `name` under key `key`.
    pub delete_key_value: Option<unsafe extern "C" fn(*mut c_void, u32, *const c_char) -> NtStatus>,
    /// Whether `HKLM\...\Enum\<path>` exists.
    pub enum_key_exists: Option<unsafe extern "C" fn(*mut c_void, *const c_char) -> u8>,
    /// Creates `\Registry\Machine\<path>` (non-volatile), then `<module>` under it
    /// (volatile) with DWORD `Reboot` = 1.
    pub create_reboot_request:
        Option<unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> NtStatus>,
}

impl HostPlatform {
    /// The table with no callbacks.
    const EMPTY: Self = Self {
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
        query_key_value: None,
        set_key_value: None,
        delete_key_value: None,
        enum_key_exists: None,
        create_reboot_request: None,
    };
}

/// The installed table.
struct Table(HostPlatform);

// SAFETY: `XenHostInitialize`'s contract: the callbacks and their context may be used from any
// thread while installed.
unsafe impl Send for Table {}
// SAFETY: as for `Send`; the table itself is only read.
unsafe impl Sync for Table {}

static TABLE: RwLock<Option<Table>> = RwLock::new(None);
static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);

/// The [`Platform`] over the installed table.
struct Host;

static HOST: Host = Host;

/// The stand-in processor's IRQL bookkeeping (one processor: the C program's threads).
fn processor() -> &'static StdPlatform {
    static PROCESSOR: OnceLock<StdPlatform> = OnceLock::new();
    PROCESSOR.get_or_init(|| StdPlatform::new(1))
}

/// The installed table, if any.
fn table() -> Option<HostPlatform> {
    TABLE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|t| t.0)
}

/// A NUL-terminated C string's bytes, or `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string readable for `'a`.
const unsafe fn c_bytes<'a>(ptr: *const c_char) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL, so a readable NUL-terminated string by the caller's contract.
    Some(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

const fn key_number(key: UnplugKey) -> u32 {
    match key {
        UnplugKey::Unplug => 0,
        UnplugKey::ForceUnplug => 1,
    }
}

/// `name` as a C string, truncated to fit `buf`.
fn c_name<const N: usize>(name: &[u8], buf: &mut [u8; N]) -> *const c_char {
    let len = name.len().min(N.saturating_sub(1));
    if let (Some(dst), Some(src)) = (buf.get_mut(..len), name.get(..len)) {
        dst.copy_from_slice(src);
    }
    if let Some(nul) = buf.get_mut(len) {
        *nul = 0;
    }
    buf.as_ptr().cast::<c_char>()
}

/// `text` as a C string for a callback (`None` if it holds a NUL, which no name does).
fn c_string(text: &str) -> Option<CString> {
    CString::new(text).ok()
}

/// The host key number of a device class.
const fn class_key(class: DeviceClass) -> u32 {
    match class {
        DeviceClass::System => KEY_CLASS_SYSTEM,
        DeviceClass::Hdc => KEY_CLASS_HDC,
    }
}

/// A registry failure for a service the host program did not provide.
const UNSUPPORTED: RegistryError = RegistryError::Os(STATUS_NOT_SUPPORTED);

/// Reads value `name` of host key `key` through the program's `QueryKeyValue`.
fn query_key_value(
    key: u32,
    name: &str,
    visit: &mut dyn FnMut(Value<'_>),
) -> Result<(), RegistryError> {
    let (f, c) = table()
        .and_then(|t| Some((t.query_key_value?, t.context)))
        .ok_or(UNSUPPORTED)?;
    let name = c_string(name).ok_or(RegistryError::NotFound)?;
    let (mut kind, mut data, mut size) = (0u32, core::ptr::null::<u8>(), 0u32);
    // SAFETY: the host program's callback with a terminated name and writable outputs.
    let status = unsafe {
        f(
            c,
            key,
            name.as_ptr(),
            &raw mut kind,
            &raw mut data,
            &raw mut size,
        )
    };
    registry_result(status)?;
    let bytes = if data.is_null() {
        &[][..]
    } else {
        // SAFETY: on success the callback returns `size` readable bytes at `data`.
        unsafe { core::slice::from_raw_parts(data, usize::try_from(size).unwrap_or(0)) }
    };
    visit(Value::new(kind, bytes));
    Ok(())
}

/// Writes value `name` of host key `key` through the program's `SetKeyValue`.
fn set_key_value(key: u32, name: &str, kind: u32, data: &[u8]) -> Result<(), RegistryError> {
    let (f, c) = table()
        .and_then(|t| Some((t.set_key_value?, t.context)))
        .ok_or(UNSUPPORTED)?;
    let name = c_string(name).ok_or(RegistryError::NotFound)?;
    let size = u32::try_from(data.len()).map_err(|_| RegistryError::WrongType)?;
    // SAFETY: the host program's callback with a terminated name and `size` readable bytes.
    registry_result(unsafe { f(c, key, name.as_ptr(), kind, data.as_ptr(), size) })
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

/// The stand-in processor: every raise, lower and `HIGH_LOCK` acquisition is checked by the
/// std platform (a broken rule panics, which aborts the C program).
impl Irql for Host {
    fn current_irql(&self) -> IrqlLevel {
        processor().current_irql()
    }
    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        processor().raise_irql(to)
    }
    fn lower_irql(&self, old: IrqlLevel) {
        processor().lower_irql(old);
    }
    fn lock_acquiring(&self, lock: *const (), level: IrqlLevel, spins: bool) {
        processor().lock_acquiring(lock, level, spins);
    }
    fn lock_acquired(&self, lock: *const (), level: IrqlLevel, from: IrqlLevel) {
        processor().lock_acquired(lock, level, from);
    }
    fn lock_released(&self, lock: *const (), restores: IrqlLevel) {
        processor().lock_released(lock, restores);
    }
}

impl Platform for Host {
    /// No kernel debugger: what the `DbgPrint` capture callback and its DPC do, at once.
    fn debug_print(&self, level: u32, text: &[u8]) {
        if xen::export::log::capture_dbg_print(text, level) {
            xen::export::log::flush();
        }
    }

    fn start_options(&self, visit: &mut dyn FnMut(&[u8])) -> Result<(), NtStatus> {
        let (f, c) = table()
            .and_then(|t| Some((t.start_options?, t.context)))
            .ok_or(STATUS_OBJECT_NAME_NOT_FOUND)?;
        // SAFETY: the host program's callback, called as its table declares.
        let text = unsafe { f(c) };
        // SAFETY: the callback returns NULL or a NUL-terminated string it keeps alive.
        let bytes = unsafe { c_bytes(text) }.ok_or(STATUS_OBJECT_NAME_NOT_FOUND)?;
        visit(bytes);
        Ok(())
    }

    fn read_dword(&self, key: UnplugKey, name: &str) -> Result<u32, RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.read_dword?, t.context)))
            .ok_or(RegistryError::NotFound)?;
        let mut buf = [0u8; 32];
        let mut value = 0u32;
        let name = c_name(name.as_bytes(), &mut buf);
        // SAFETY: the host program's callback with a terminated name and a writable DWORD.
        let status = unsafe { f(c, key_number(key), name, &raw mut value) };
        registry_result(status).map(|()| value)
    }

    fn write_dword(&self, key: UnplugKey, name: &str, value: u32) -> Result<(), RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.write_dword?, t.context)))
            .ok_or(RegistryError::NotFound)?;
        let mut buf = [0u8; 32];
        let name = c_name(name.as_bytes(), &mut buf);
        // SAFETY: the host program's callback with a terminated name.
        registry_result(unsafe { f(c, key_number(key), name, value) })
    }

    fn delete_value(&self, key: UnplugKey, name: &str) -> Result<(), RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.delete_value?, t.context)))
            .ok_or(RegistryError::NotFound)?;
        let mut buf = [0u8; 32];
        let name = c_name(name.as_bytes(), &mut buf);
        // SAFETY: the host program's callback with a terminated name.
        registry_result(unsafe { f(c, key_number(key), name) })
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
            if let Some(bytes) = unsafe { c_bytes(name) } {
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
        let mut buf = [0u8; 64];
        let name = c_name(name, &mut buf);
        let (mut kind, mut data, mut size) = (0u32, core::ptr::null::<u8>(), 0u32);
        // SAFETY: the host program's callback with a terminated name and writable outputs.
        let status = unsafe { f(c, key, name, &raw mut kind, &raw mut data, &raw mut size) };
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

    /// No kernel `DbgPrint` callback to re-register on the host.
    fn log_resume(&self) {}

    fn processor_vcpu_id(&self, _cpu: u32) -> Result<u32, NtStatus> {
        Err(STATUS_NOT_SUPPORTED)
    }

    fn processor_vcpu_info(&self, _cpu: u32) -> Result<*mut c_void, NtStatus> {
        Err(STATUS_NOT_SUPPORTED)
    }

    fn register_vcpu_info(&self, _cpu: u32, _force: bool) -> Result<(), NtStatus> {
        Err(STATUS_NOT_SUPPORTED)
    }

    /// No memory map on the host: 0, "unknown".
    fn maximum_physical_address(&self) -> i64 {
        0
    }

    /// No RTC setting on the host: Windows' default, local time.
    fn real_time_is_universal(&self) -> bool {
        false
    }

    fn module_lookup(&self, _address: usize) -> Option<(*const u8, usize)> {
        None
    }
}

impl ClassRegistry for Host {
    fn read_upper_filters(
        &self,
        class: DeviceClass,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError> {
        query_key_value(class_key(class), filters::UPPER_FILTERS, visit)
    }

    fn write_upper_filters(&self, class: DeviceClass, data: &[u8]) -> Result<(), RegistryError> {
        set_key_value(
            class_key(class),
            filters::UPPER_FILTERS,
            XEN_REG_MULTI_SZ,
            data,
        )
    }
}

impl ConfigRegistry for Host {
    fn read_active(
        &self,
        name: &str,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError> {
        query_key_value(KEY_XENFILT_PARAMETERS, name, visit)
    }

    fn write_active(&self, name: &str, data: &[u8]) -> Result<(), RegistryError> {
        set_key_value(KEY_XENFILT_PARAMETERS, name, XEN_REG_SZ, data)
    }

    fn delete_active(&self, name: &str) -> Result<(), RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.delete_key_value?, t.context)))
            .ok_or(UNSUPPORTED)?;
        let name = c_string(name).ok_or(RegistryError::NotFound)?;
        // SAFETY: the host program's callback with a terminated name.
        registry_result(unsafe { f(c, KEY_XENFILT_PARAMETERS, name.as_ptr()) })
    }

    fn enum_key_exists(&self, path: &str) -> Result<bool, RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.enum_key_exists?, t.context)))
            .ok_or(UNSUPPORTED)?;
        let path = c_string(path).ok_or(RegistryError::NotFound)?;
        // SAFETY: the host program's callback with a terminated path.
        Ok(unsafe { f(c, path.as_ptr()) } != 0)
    }

    fn read_request_key(
        &self,
        parameters_key: *mut c_void,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.read_value?, t.context)))
            .ok_or(UNSUPPORTED)?;
        let name = c_string(config::REQUEST_KEY).ok_or(RegistryError::NotFound)?;
        let (mut kind, mut data, mut size) = (0u32, core::ptr::null::<u8>(), 0u32);
        // SAFETY: the host program's callback with the caller's key, a terminated name and
        // writable outputs.
        let status = unsafe {
            f(
                c,
                parameters_key,
                name.as_ptr(),
                &raw mut kind,
                &raw mut data,
                &raw mut size,
            )
        };
        registry_result(status)?;
        let bytes = if data.is_null() {
            &[][..]
        } else {
            // SAFETY: on success the callback returns `size` readable bytes at `data`.
            unsafe { core::slice::from_raw_parts(data, usize::try_from(size).unwrap_or(0)) }
        };
        visit(Value::new(kind, bytes));
        Ok(())
    }

    fn create_reboot_request(&self, request: &RebootRequest) -> Result<(), RegistryError> {
        let (f, c) = table()
            .and_then(|t| Some((t.create_reboot_request?, t.context)))
            .ok_or(UNSUPPORTED)?;
        let path = c_string(&request.path.join("\\")).ok_or(RegistryError::NotFound)?;
        let module = c_string(&request.module).ok_or(RegistryError::NotFound)?;
        // SAFETY: the host program's callback with two terminated strings.
        registry_result(unsafe { f(c, path.as_ptr(), module.as_ptr()) })
    }
}

/// `VOID XenHostInitialize(const XEN_HOST_PLATFORM *Platform)`: installs the table and runs
/// the portable `DllInitialize` steps. A NULL table installs an empty one.
///
/// # Safety
/// `Platform` is NULL or readable; its callbacks must be callable from any thread until
/// `XenHostTeardown`.
// SAFETY: a host-only name, defined once (this library is never linked into xen.sys).
#[unsafe(export_name = "XenHostInitialize")]
pub unsafe extern "C" fn xen_host_initialize(platform: *const HostPlatform) {
    let table = if platform.is_null() {
        HostPlatform::EMPTY
    } else {
        // SAFETY: non-NULL and readable by the caller's contract.
        unsafe { platform.read() }
    };
    xen_host_teardown();
    *TABLE.write().unwrap_or_else(PoisonError::into_inner) = Some(Table(table));
    let loaded = xen::export::initialize(&HOST);
    *LOADED.lock().unwrap_or_else(PoisonError::into_inner) = Some(loaded);
}

/// `VOID XenHostTeardown(VOID)`: undoes `XenHostInitialize` (no-op if not initialised), and
/// records the IRQL checks made so far where a test run totals them
/// ([`platform_port::std_impl::record_counts`]).
// SAFETY: a host-only name, defined once.
#[unsafe(export_name = "XenHostTeardown")]
pub extern "C" fn xen_host_teardown() {
    let loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(loaded) = loaded {
        xen::export::teardown(&loaded);
    }
    *TABLE.write().unwrap_or_else(PoisonError::into_inner) = None;
    platform_port::std_impl::record_counts();
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
    let Some(text) = (unsafe { c_bytes(text) }) else {
        return 0;
    };
    let captured = xen::export::log::capture_dbg_print(text, level);
    if captured {
        xen::export::log::flush();
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

static HANDLER: RwLock<Option<Handler>> = RwLock::new(None);

/// The [`Hypervisor`] over the installed handler.
struct HostXen;

static HOST_XEN: HostXen = HostXen;

/// `EINVAL`, for more than five arguments (as the real instruction wrapper refuses them).
const EINVAL: isize = 22;
/// `ENOSYS`: no handler installed.
const ENOSYS: isize = 38;

impl Hypervisor for HostXen {
    unsafe fn hypercall(&self, op: u32, args: &[usize]) -> isize {
        let handler = *HANDLER.read().unwrap_or_else(PoisonError::into_inner);
        let Some(Handler(f, context)) = handler else {
            return -ENOSYS;
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
    xen::export::xen_version::reset_touch();
    xen::export::sched::reset_watchdog();
    if let Some(f) = handler {
        *HANDLER.write().unwrap_or_else(PoisonError::into_inner) = Some(Handler(f, context));
        xen::export::install_hypervisor(&HOST_XEN);
    } else {
        xen::export::remove_hypervisor();
        *HANDLER.write().unwrap_or_else(PoisonError::into_inner) = None;
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
    let v = DRIVER_VERSION;
    for (out, value) in [
        (major, v.major),
        (minor, v.minor),
        (micro, v.micro),
        (build, v.build),
    ] {
        if !out.is_null() {
            // SAFETY: non-NULL and writable by the caller's contract.
            unsafe { out.write_unaligned(value) };
        }
    }
}
