// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The [`Platform`] the exports use on Windows: port I/O, the IRQL, the debugger, and the
//! registry keys `DllInitialize` opened. Mechanical: each method is the kernel call it names;
//! what a value means is decided in the portable core. Port I/O and the IRQL are the platform
//! port's [`PortIo`] and [`Irql`], over `crates/ntddk`'s `port` and `irql` routines.
//!
//! The services that need more of the kernel (the MADT's vCPU ids, `vcpu_info` registration, the
//! physical memory map, the `RealTimeIsUniversal` value, the module list, class filters, the
//! active device, reboot requests) have no glue yet. Each says so explicitly below: a failure
//! (`STATUS_NOT_SUPPORTED`, no module, 0 for "unknown"), or for the `VOID` filter exports a
//! warning in the log; none claims work it did not do.

use core::ffi::c_void;

use ntddk::registry::Key;
use ntddk::{KEY_READ, REG_DWORD, REG_MULTI_SZ, REG_SZ};
use platform_port::{Irql, IrqlLevel, PortIo};

use crate::export::{
    DebugLevel, NtStatus, Platform, STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_NOT_FOUND, UnplugKey,
    debug_message,
};
use crate::log::StoredLevel;
use crate::unplug::RegistryError;

/// The keys `DllInitialize` holds open until `DllUnload`.
pub(super) struct Keys {
    /// `XEN\Parameters`.
    pub parameters: Key,
    /// `XEN\Unplug`.
    pub unplug: Key,
    /// `XEN\ForceUnplug`.
    pub force_unplug: Key,
    /// `XEN\Memory` (volatile): held open as upstream does; the `vcpu_info` pages' numbers go
    /// there once processor set-up exists.
    #[expect(
        dead_code,
        reason = "held for its handle until the vcpu_info glue reads it"
    )]
    pub memory: Key,
}

/// The open keys. Taken at PASSIVE_LEVEL only (every registry routine requires it), so a spin
/// lock that does not raise the IRQL cannot be preempted by a holder on the same processor.
pub(super) static KEYS: spin::RwLock<Option<Keys>> = spin::RwLock::new(None);

/// `HKLM\SYSTEM\CurrentControlSet\Control`.
const CONTROL: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Control";
/// `HKLM\SYSTEM\CurrentControlSet\Enum\XENBUS`.
const ENUM_XENBUS: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Enum\XENBUS";

/// The Windows platform.
pub(super) struct WindowsPlatform;

/// The one instance.
pub(super) static PLATFORM: WindowsPlatform = WindowsPlatform;

/// UTF-16 registry text narrowed to bytes as upstream's `RtlUnicodeStringToAnsiString` does for
/// ASCII (anything else becomes `?`), up to the first NUL unless `keep_nuls`.
fn narrow(data: &[u8], keep_nuls: bool, visit: &mut dyn FnMut(&[u8])) {
    let mut bytes = alloc::vec::Vec::new();
    if bytes.try_reserve_exact(data.len() / 2).is_err() {
        return;
    }
    for unit in data.chunks_exact(2) {
        let c = u16::from_le_bytes([
            unit.first().copied().unwrap_or(0),
            unit.get(1).copied().unwrap_or(0),
        ]);
        if c == 0 && !keep_nuls {
            break;
        }
        bytes.push(u8::try_from(c).ok().filter(u8::is_ascii).unwrap_or(b'?'));
    }
    visit(&bytes);
}

const fn registry_error(status: NtStatus) -> RegistryError {
    if status == STATUS_OBJECT_NAME_NOT_FOUND {
        RegistryError::NotFound
    } else {
        RegistryError::Os(status)
    }
}

impl WindowsPlatform {
    fn with_key<T>(
        key: UnplugKey,
        f: impl FnOnce(&Key) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let keys = KEYS.read();
        let keys = keys.as_ref().ok_or(RegistryError::NotFound)?;
        f(match key {
            UnplugKey::Unplug => &keys.unplug,
            UnplugKey::ForceUnplug => &keys.force_unplug,
        })
    }
}

impl PortIo for WindowsPlatform {
    fn inb(&self, port: u16) -> u8 {
        // SAFETY: xen.sys reads only the Xen platform device's ports (0x10, 0x12).
        unsafe { ntddk::port::inb(port) }
    }
    fn inw(&self, port: u16) -> u16 {
        // SAFETY: as `inb`.
        unsafe { ntddk::port::inw(port) }
    }
    fn outb(&self, port: u16, value: u8) {
        // SAFETY: xen.sys writes only the platform device's ports and the debug port 0xE9.
        unsafe { ntddk::port::outb(port, value) }
    }
    fn outw(&self, port: u16, value: u16) {
        // SAFETY: as `outb`.
        unsafe { ntddk::port::outw(port, value) }
    }
    fn outl(&self, port: u16, value: u32) {
        // SAFETY: as `outb`.
        unsafe { ntddk::port::outl(port, value) }
    }
}

impl Irql for WindowsPlatform {
    fn current_irql(&self) -> IrqlLevel {
        IrqlLevel(ntddk::irql::current())
    }

    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        // SAFETY: `Irql::raise_irql`'s contract makes the caller restore the returned level with
        // `lower_irql` on this processor (xen.sys's one caller, `export::HighLock`, does so when
        // its acquisition ends) and keep to what `to` allows meanwhile; a `to` below the current
        // level stops the machine inside `raise` instead of unmasking anything.
        IrqlLevel(unsafe { ntddk::irql::raise(to.0) })
    }

    fn lower_irql(&self, old: IrqlLevel) {
        // SAFETY: `Irql::lower_irql`'s contract: `old` is what the matching `raise_irql` on this
        // processor returned; a level above the current one stops the machine inside `lower`.
        unsafe { ntddk::irql::lower(old.0) }
    }
}

impl Platform for WindowsPlatform {
    fn debug_print(&self, level: u32, text: &[u8]) {
        ntddk::runtime::print(level, text);
    }

    fn start_options(&self, visit: &mut dyn FnMut(&[u8])) -> Result<(), NtStatus> {
        let control = Key::open(None, CONTROL, KEY_READ)?;
        control.query("SystemStartOptions", |kind, data| {
            if kind == REG_SZ {
                narrow(data, false, visit);
                Ok(())
            } else {
                Err(STATUS_OBJECT_NAME_NOT_FOUND)
            }
        })?
    }

    fn read_dword(&self, key: UnplugKey, name: &str) -> Result<u32, RegistryError> {
        Self::with_key(key, |k| {
            k.query(name, |kind, data| match (kind, <[u8; 4]>::try_from(data)) {
                (REG_DWORD, Ok(bytes)) => Ok(u32::from_le_bytes(bytes)),
                _ => Err(RegistryError::WrongType),
            })
            .map_err(registry_error)?
        })
    }

    fn write_dword(&self, key: UnplugKey, name: &str, value: u32) -> Result<(), RegistryError> {
        Self::with_key(key, |k| {
            k.set(name, REG_DWORD, &value.to_le_bytes())
                .map_err(registry_error)
        })
    }

    fn delete_value(&self, key: UnplugKey, name: &str) -> Result<(), RegistryError> {
        Self::with_key(key, |k| k.delete_value(name).map_err(registry_error))
    }

    fn enumerate_xenbus(&self, visit: &mut dyn FnMut(&[u8])) -> Result<(), RegistryError> {
        let key = Key::open(None, ENUM_XENBUS, KEY_READ).map_err(registry_error)?;
        key.subkeys(|units| {
            let bytes: alloc::vec::Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            narrow(&bytes, false, visit);
        })
        .map_err(registry_error)
    }

    fn read_level_value(
        &self,
        key: *mut c_void,
        name: &[u8],
        visit: &mut dyn FnMut(StoredLevel<'_>),
    ) {
        let Ok(name) = core::str::from_utf8(name) else {
            visit(StoredLevel::Missing);
            return;
        };
        let mut read = |k: &Key| {
            k.query(name, |kind, data| {
                if kind == REG_MULTI_SZ {
                    narrow(data, true, &mut |bytes| visit(StoredLevel::MultiSz(bytes)));
                } else {
                    visit(StoredLevel::NotMultiSz);
                }
            })
        };
        let result = if key.is_null() {
            let keys = KEYS.read();
            keys.as_ref()
                .map_or(Err(STATUS_OBJECT_NAME_NOT_FOUND), |keys| {
                    read(&keys.parameters)
                })
        } else {
            // SAFETY: `LogReadLogLevel`'s caller passes a key handle it holds open; the borrowed
            // key is forgotten, never closed here.
            let borrowed = core::mem::ManuallyDrop::new(unsafe { Key::borrow_raw(key) });
            read(&borrowed)
        };
        match result {
            Ok(()) => {}
            Err(STATUS_OBJECT_NAME_NOT_FOUND) => visit(StoredLevel::Missing),
            Err(status) => visit(StoredLevel::Unreadable(status)),
        }
    }

    fn log_resume(&self) {
        if crate::export::log::capture_enabled() {
            super::capture::unregister();
            super::capture::register();
        }
    }

    fn processor_vcpu_id(&self, _cpu: u32) -> Result<u32, NtStatus> {
        // No MADT glue yet: the vCPU id of a processor is unknown.
        Err(STATUS_NOT_SUPPORTED)
    }

    fn processor_vcpu_info(&self, _cpu: u32) -> Result<*mut c_void, NtStatus> {
        // Nothing is registered (see `register_vcpu_info`): callers use `shared_info`'s copy.
        Err(STATUS_NOT_SUPPORTED)
    }

    fn register_vcpu_info(&self, _cpu: u32, _force: bool) -> Result<(), NtStatus> {
        // No per-processor `vcpu_info` pages yet: refuse rather than report a registration Xen
        // never saw.
        Err(STATUS_NOT_SUPPORTED)
    }

    fn maximum_physical_address(&self) -> i64 {
        // The physical memory map is not read yet: 0, "unknown".
        0
    }

    fn real_time_is_universal(&self) -> bool {
        // `TimeZoneInformation\RealTimeIsUniversal` is not read yet: Windows' own default,
        // an RTC in local time.
        false
    }

    fn module_lookup(&self, _address: usize) -> Option<(*const u8, usize)> {
        // The loaded-module list is not walked yet: every address is outside a known module.
        None
    }

    fn filters_install(&self) {
        debug_message(
            DebugLevel::Warning,
            "FiltersInstall",
            b"class filters not supported by this build: XENFILT not installed\n",
            &[],
        );
    }

    fn filters_uninstall(&self) {
        debug_message(
            DebugLevel::Warning,
            "FiltersUninstall",
            b"class filters not supported by this build: nothing removed\n",
            &[],
        );
    }

    fn config_get_active(&self, _key: &[u8]) -> Result<*mut u8, NtStatus> {
        // No active-device store yet.
        Err(STATUS_NOT_SUPPORTED)
    }

    fn config_set_active(
        &self,
        _update: bool,
        _device_id: &[u8],
        _instance_id: &[u8],
        _location: &[u8],
    ) -> Result<(), NtStatus> {
        Err(STATUS_NOT_SUPPORTED)
    }

    fn config_clear_active(&self) -> Result<(), NtStatus> {
        Err(STATUS_NOT_SUPPORTED)
    }

    fn config_free_active(&self, _value: *mut u8) {
        // `config_get_active` never hands out a value, so there is none to free.
    }

    fn config_request_reboot(
        &self,
        _parameters_key: *mut c_void,
        _module: &[u8],
    ) -> Result<(), NtStatus> {
        Err(STATUS_NOT_SUPPORTED)
    }
}
