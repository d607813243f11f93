// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The [`Platform`] the exports use on Windows: port I/O, the IRQL, the debugger, and the
//! registry keys `DllInitialize` opened. Mechanical: each method is the kernel call it names;
//! what a value means is decided in the portable core. Port I/O and the IRQL are the platform
//! port's [`PortIo`] and [`Irql`], forwarded to `platform_windows::Kernel` (the implementation
//! xenbus.sys's platform shares).
//!
//! The registry behind the class filters ([`ClassRegistry`]) and the `Config*` store
//! ([`ConfigRegistry`]) is mechanical too: open, read, write, delete, create; the edits are
//! decided by [`crate::filters`] and [`crate::config`]. `RealTimeIsUniversal` is read once at
//! load and decided by [`crate::system::real_time_is_universal`].
//!
//! The module list is [`super::module`]'s, the memory map [`super::memory_map`]'s, the
//! processors and their `vcpu_info` [`super::processors`]' and [`super::vcpu_info`]'s.

use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};

use ntddk::registry::Key;
use ntddk::{KEY_ALL_ACCESS, KEY_READ, REG_DWORD, REG_MULTI_SZ, REG_SZ, STATUS_INVALID_HANDLE};
use platform_port::{Irql, IrqlLevel, PortIo};
use platform_windows::Kernel;

use crate::config::{self, ConfigRegistry, RebootRequest};
use crate::export::{
    DebugLevel, NtStatus, Platform, STATUS_OBJECT_NAME_NOT_FOUND, UnplugKey, debug_message,
};
use crate::filters::{self, ClassRegistry, DeviceClass};
use crate::log::{LogArg, StoredLevel};
use crate::registry::{RegistryError, Value};
use crate::system::{self, MemoryKey, RtcSource};

/// The keys `DllInitialize` holds open until `DllUnload`.
pub(super) struct Keys {
    /// `XEN\Parameters`.
    pub parameters: Key,
    /// `XEN\Unplug`.
    pub unplug: Key,
    /// `XEN\ForceUnplug`.
    pub force_unplug: Key,
    /// `XEN\Memory` (volatile): the named pages' frame numbers ([`MemoryKey`]).
    pub memory: Key,
}

/// The open keys. Taken at PASSIVE_LEVEL only (every registry routine requires it), so a spin
/// lock that does not raise the IRQL cannot be preempted by a holder on the same processor.
pub(super) static KEYS: spin::RwLock<Option<Keys>> = spin::RwLock::new(None);

/// `HKLM\SYSTEM\CurrentControlSet\Control`.
const CONTROL: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Control";
/// `HKLM\SYSTEM\CurrentControlSet\Enum\XENBUS`.
const ENUM_XENBUS: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Enum\XENBUS";
/// `HKLM\SYSTEM\CurrentControlSet\Control\TimeZoneInformation`.
const TIME_ZONE_INFORMATION: &str =
    r"\Registry\Machine\SYSTEM\CurrentControlSet\Control\TimeZoneInformation";
/// The root every reboot-request path is relative to.
const MACHINE: &str = r"\Registry\Machine";

/// `SystemRealTimeIsUniversal`'s answer, read at load ([`read_real_time`]).
static REAL_TIME_IS_UNIVERSAL: AtomicBool = AtomicBool::new(false);

/// Reads `RealTimeIsUniversal` as upstream's `SystemGetTimeInformation` does (PASSIVE_LEVEL,
/// at load), logging the answer, and an error when the value is unreadable.
pub(super) fn read_real_time() {
    let read = Key::open(None, TIME_ZONE_INFORMATION, KEY_READ).and_then(|key| {
        key.query(system::REAL_TIME_IS_UNIVERSAL, |kind, data| {
            system::real_time_is_universal(Ok(Value::new(kind, data)))
        })
    });
    let decision =
        read.unwrap_or_else(|status| system::real_time_is_universal(Err(registry_error(status))));
    REAL_TIME_IS_UNIVERSAL.store(decision.universal, Ordering::Relaxed);
    if let RtcSource::Unreadable(e) = decision.source {
        debug_message(
            DebugLevel::Error,
            "SystemInitialize",
            b"Cannot read RealTimeIsUniversal (%08x)\n",
            &[LogArg::Int(u64::from(
                crate::export::registry_status(e).cast_unsigned(),
            ))],
        );
    }
    let text: &[u8] = if decision.universal {
        b"TRUE"
    } else {
        b"FALSE"
    };
    debug_message(
        DebugLevel::Info,
        "SystemGetTimeInformation",
        b"%s\n",
        &[LogArg::Str(Some(text))],
    );
}

/// Forgets what [`read_real_time`] read (`DllUnload`).
pub(super) fn forget_real_time() {
    REAL_TIME_IS_UNIVERSAL.store(false, Ordering::Relaxed);
}

/// Calls `visit` with value `name` of `key`, or reports why not.
fn query_value(
    key: &Key,
    name: &str,
    visit: &mut dyn FnMut(Value<'_>),
) -> Result<(), RegistryError> {
    key.query(name, |kind, data| visit(Value::new(kind, data)))
        .map_err(registry_error)
}

/// Opens `path` for `access`.
fn open(path: &str, access: u32) -> Result<Key, RegistryError> {
    Key::open(None, path, access).map_err(registry_error)
}

/// The class key of `class`.
fn class_path(class: DeviceClass) -> alloc::string::String {
    let mut path = alloc::string::String::from(filters::CLASS_PATH);
    path.push('\\');
    path.push_str(class.key_name());
    path
}

/// Calls `visit` with `XEN\Parameters\<name>` (PASSIVE_LEVEL).
///
/// # Errors
/// As the registry reports it; [`RegistryError::NotFound`] without the keys.
pub(super) fn read_parameter(
    name: &str,
    visit: &mut dyn FnMut(Value<'_>),
) -> Result<(), RegistryError> {
    let keys = KEYS.read();
    let keys = keys.as_ref().ok_or(RegistryError::NotFound)?;
    query_value(&keys.parameters, name, visit)
}

/// `XEN\Memory` through the keys `DllInitialize` opened (PASSIVE_LEVEL).
pub(super) struct MemoryRegistry;

impl MemoryKey for MemoryRegistry {
    fn read(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) -> Result<(), RegistryError> {
        let keys = KEYS.read();
        let keys = keys.as_ref().ok_or(RegistryError::NotFound)?;
        query_value(&keys.memory, name, visit)
    }

    fn write_binary(&self, name: &str, data: &[u8]) -> Result<(), RegistryError> {
        let keys = KEYS.read();
        let keys = keys.as_ref().ok_or(RegistryError::NotFound)?;
        keys.memory
            .set(name, ntddk::REG_BINARY, data)
            .map_err(registry_error)
    }

    fn delete(&self, name: &str) -> Result<(), RegistryError> {
        let keys = KEYS.read();
        let keys = keys.as_ref().ok_or(RegistryError::NotFound)?;
        keys.memory.delete_value(name).map_err(registry_error)
    }
}

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

// Port I/O and the IRQL are the shared Windows platform's (`platform_windows::Kernel`), which
// xenbus.sys's platform uses too. xen.sys touches only the Xen platform device's ports (0x10,
// 0x12) and the debug port 0xE9, and raises the IRQL only in `export::HighLock`.
impl PortIo for WindowsPlatform {
    fn inb(&self, port: u16) -> u8 {
        Kernel.inb(port)
    }
    fn inw(&self, port: u16) -> u16 {
        Kernel.inw(port)
    }
    fn outb(&self, port: u16, value: u8) {
        Kernel.outb(port, value);
    }
    fn outw(&self, port: u16, value: u16) {
        Kernel.outw(port, value);
    }
    fn outl(&self, port: u16, value: u32) {
        Kernel.outl(port, value);
    }
}

impl Irql for WindowsPlatform {
    fn current_irql(&self) -> IrqlLevel {
        Kernel.current_irql()
    }

    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        Kernel.raise_irql(to)
    }

    fn lower_irql(&self, old: IrqlLevel) {
        Kernel.lower_irql(old);
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

    fn processor_vcpu_id(&self, cpu: u32) -> Result<u32, NtStatus> {
        super::processors::vcpu_id(cpu)
    }

    fn processor_vcpu_info(&self, cpu: u32) -> Result<*mut c_void, NtStatus> {
        super::processors::vcpu_info(cpu)
    }

    fn register_vcpu_info(&self, cpu: u32, force: bool) -> Result<(), NtStatus> {
        super::processors::register_vcpu_info(cpu, force)
    }

    fn maximum_physical_address(&self) -> i64 {
        super::memory_map::maximum()
    }

    fn real_time_is_universal(&self) -> bool {
        REAL_TIME_IS_UNIVERSAL.load(Ordering::Relaxed)
    }

    fn module_lookup(&self, address: usize) -> Option<(*const u8, usize)> {
        super::module::lookup(address)
    }
}

impl ClassRegistry for WindowsPlatform {
    fn read_upper_filters(
        &self,
        class: DeviceClass,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError> {
        query_value(
            &open(&class_path(class), KEY_READ)?,
            filters::UPPER_FILTERS,
            visit,
        )
    }

    fn write_upper_filters(&self, class: DeviceClass, data: &[u8]) -> Result<(), RegistryError> {
        open(&class_path(class), KEY_ALL_ACCESS)?
            .set(filters::UPPER_FILTERS, REG_MULTI_SZ, data)
            .map_err(registry_error)
    }
}

impl ConfigRegistry for WindowsPlatform {
    fn read_active(
        &self,
        name: &str,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError> {
        query_value(&open(config::ACTIVE_PATH, KEY_READ)?, name, visit)
    }

    fn write_active(&self, name: &str, data: &[u8]) -> Result<(), RegistryError> {
        open(config::ACTIVE_PATH, KEY_ALL_ACCESS)?
            .set(name, REG_SZ, data)
            .map_err(registry_error)
    }

    fn delete_active(&self, name: &str) -> Result<(), RegistryError> {
        open(config::ACTIVE_PATH, KEY_ALL_ACCESS)?
            .delete_value(name)
            .map_err(registry_error)
    }

    fn enum_key_exists(&self, path: &str) -> Result<bool, RegistryError> {
        let mut full = alloc::string::String::from(config::ENUM_PATH);
        full.push('\\');
        full.push_str(path);
        match open(&full, KEY_READ) {
            Ok(_key) => Ok(true),
            Err(RegistryError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn read_request_key(
        &self,
        parameters_key: *mut c_void,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError> {
        if parameters_key.is_null() {
            return Err(RegistryError::Os(STATUS_INVALID_HANDLE));
        }
        // SAFETY: `ConfigRequestReboot`'s caller passes its own open `Parameters` key handle;
        // the borrowed key is forgotten, never closed here.
        let borrowed = core::mem::ManuallyDrop::new(unsafe { Key::borrow_raw(parameters_key) });
        query_value(&borrowed, config::REQUEST_KEY, visit)
    }

    fn create_reboot_request(&self, request: &RebootRequest) -> Result<(), RegistryError> {
        // Each key is closed as soon as its child exists (upstream leaks the request key).
        let mut parent = open(MACHINE, KEY_ALL_ACCESS)?;
        for component in &request.path {
            parent = Key::create(Some(&parent), component, false).map_err(registry_error)?;
        }
        let module = Key::create(Some(&parent), &request.module, true).map_err(registry_error)?;
        module
            .set(config::REBOOT_VALUE, REG_DWORD, &1u32.to_le_bytes())
            .map_err(registry_error)
    }
}
