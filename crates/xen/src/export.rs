// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The exported C ABI of xen.sys: every function upstream's `include/xen.h` declares, under its
//! exact name and with its C signature.
//!
//! xenbus.sys, xenfilt.sys and third-party PV drivers link against these names, so they are the
//! contract; `include/xen.h` in this crate is our header for them. Each export decodes its C
//! arguments, delegates to the typed code of this crate (the hypercall wrappers, [`crate::log`],
//! [`crate::unplug`], [`crate::options`]) and maps the typed result to an NTSTATUS exactly once,
//! here.
//!
//! # ABI
//!
//! Every export is `extern "C"`, which on Windows x64 is the Microsoft x64 convention and on a
//! Linux host (tests) System V. C types map as on LLP64 Windows: `ULONG`/`unsigned int`/`LONG`
//! are 32 bits, `PFN_NUMBER`/`ULONG_PTR` pointer-sized, `PHYSICAL_ADDRESS` a 64-bit integer
//! passed by value, `BOOLEAN` one byte, `NTSTATUS` an `i32`. The C-variadic log functions enter
//! through a naked trampoline that jumps to a [`kprintf`] thunk (stable Rust cannot define a
//! variadic function), so the exported symbol is an ordinary Rust item.
//!
//! # Seams
//!
//! What the exports need from the operating system, beyond hypercalls, is one [`Platform`]
//! implementation installed at load ([`install_platform`]): the platform port's [`PortIo`] and
//! [`Irql`] (the same OS seam xenbus.sys's subsystems use, `crates/platform-port`), the `XEN`
//! registry keys, `SystemStartOptions`, the debugger, the registry accesses behind the class
//! filters and the `Config*` store ([`crate::filters::ClassRegistry`],
//! [`crate::config::ConfigRegistry`]: the decisions are [`crate::filters`]' and
//! [`crate::config`]'s, made here), and the state that only the Windows glue holds (vCPU ids,
//! `vcpu_info` registration, the module list; decided by [`crate::system`] and
//! [`crate::module`] in the glue). No [`Platform`] method has a default: every
//! implementation states every answer, so a service it lacks is an explicit failure
//! (`STATUS_NOT_SUPPORTED`) in that implementation, never a silent success inherited from the
//! trait. Without a platform, the exports that need one fail with `STATUS_NOT_SUPPORTED` or do
//! nothing.
//!
//! The implementations: the Windows glue's (`glue/platform.rs`, over the kernel) and the host
//! seam's (`crates/xen-host`, over a C program's callback table, tests only). Besides the
//! exports, the host seam uses what the glue uses ([`install_platform`] through
//! [`initialize_log`], [`install_hypervisor`], [`log::capture_dbg_print`], [`log::flush`]) and
//! four `pub` items that exist for it alone: [`initialize`] and [`teardown`] (the load and
//! unload steps without hypervisor detection between them), [`xen_version::reset_touch`] and
//! [`sched::reset_watchdog`] (a fresh load's state between host test cases).
//!
//! # Decisions on upstream behaviour
//!
//! * NULL output pointers that upstream would dereference make the export fail with
//!   `STATUS_INVALID_PARAMETER` (or, for `VOID` functions, do nothing) instead of faulting.
//! * Unknown `UNPLUG_TYPE` values are refused rather than used as array indices (see
//!   [`crate::unplug`]).
//! * The rest is documented where it happens: [`crate::log`], [`crate::log::format`],
//!   [`crate::options`], [`crate::unplug`], [`crate::filters`], [`crate::config`],
//!   [`crate::system`], [`crate::module`] (and `docs/xen-services.md` summarises the services).

pub mod config;
pub mod event_channel;
pub mod grant_table;
mod high_lock;
pub mod hvm;
pub mod log;
pub mod memory;
pub mod sched;
pub mod system;
pub mod unplug;
pub mod vcpu;
pub mod xen_version;

use core::ffi::c_void;

use platform_port::{Irql, PortIo};

pub(crate) use self::high_lock::HighLock;
use crate::hypercall::Hypervisor;
use crate::log::{DispositionHandle, Level, LevelError, LogArg, StoredLevel};
use crate::unplug::{RegistryError, UnplugState};

pub use ntstatus::{
    NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_INCOMPATIBLE_DRIVER_BLOCKED, STATUS_INVALID_PARAMETER,
    STATUS_NO_MEMORY, STATUS_NOT_IMPLEMENTED, STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_SUCCESS, STATUS_UNSUCCESSFUL, nt_success,
};

/// The NTSTATUS for a registry failure.
#[must_use]
pub const fn registry_status(error: RegistryError) -> NtStatus {
    match error {
        RegistryError::NotFound => STATUS_OBJECT_NAME_NOT_FOUND,
        RegistryError::WrongType => STATUS_INVALID_PARAMETER,
        RegistryError::Os(status) => status,
    }
}

/// The version of this driver package, which `XenTouch` compares and the unplug handshake
/// announces: one value for the three images ([`xen_services::PACKAGE_VERSION`]).
pub use xen_services::PackageVersion as DriverVersion;

/// This package's version.
pub const DRIVER_VERSION: DriverVersion = xen_services::PACKAGE_VERSION;

/// The `XEN` service subkeys the unplug logic reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnplugKey {
    /// `XEN\Unplug`: the one-shot per-boot requests.
    Unplug,
    /// `XEN\ForceUnplug`: the administrator's permanent requests.
    ForceUnplug,
}

/// What the exports need from the operating system.
///
/// The platform port's [`PortIo`] and [`Irql`] plus xen.sys's own services. Implemented by the
/// Windows glue over the kernel and by the host seam (`crates/xen-host`) for tests.
///
/// No method has a default: a missing answer must be a compile error, not an IRQL left
/// unraised, a `vcpu_info` reported registered that is not, or an option silently unread. An
/// implementation without a service says so explicitly (`STATUS_NOT_SUPPORTED`, `None`, or for
/// a `VOID` export a logged warning), and documents it.
///
/// IRQL: [`Irql::raise_irql`] to `HIGH_LEVEL` and [`Irql::lower_irql`] are upstream's
/// `HIGH_LOCK` (`KeRaiseIrql`/`KeLowerIrql`); they, [`PortIo`] and [`Platform::debug_print`]
/// are called at any IRQL, `HIGH_LEVEL` included. The registry and start-option methods are
/// called at `PASSIVE_LEVEL` only.
pub trait Platform:
    PortIo + Irql + crate::filters::ClassRegistry + crate::config::ConfigRegistry + Sync
{
    /// Writes a message through `DbgPrintEx` at `DPFLTR_*_LEVEL` `level` (on the host, where
    /// there is no kernel debugger, the capture callback's work: [`log::capture_dbg_print`],
    /// then [`log::flush`]).
    fn debug_print(&self, level: u32, text: &[u8]);

    /// Calls `visit` with `HKLM\...\Control\SystemStartOptions`.
    ///
    /// # Errors
    /// The NTSTATUS of a failed read (`STATUS_OBJECT_NAME_NOT_FOUND` when missing).
    fn start_options(&self, visit: &mut dyn FnMut(&[u8])) -> Result<(), NtStatus>;

    /// Reads a `REG_DWORD` from `XEN\Unplug` or `XEN\ForceUnplug`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn read_dword(&self, key: UnplugKey, name: &str) -> Result<u32, RegistryError>;
    /// Writes a `REG_DWORD` to `XEN\Unplug` or `XEN\ForceUnplug`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn write_dword(&self, key: UnplugKey, name: &str, value: u32) -> Result<(), RegistryError>;
    /// Deletes a value from `XEN\Unplug` or `XEN\ForceUnplug`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn delete_value(&self, key: UnplugKey, name: &str) -> Result<(), RegistryError>;
    /// Calls `visit` with each subkey name of `HKLM\...\Enum\XENBUS`.
    ///
    /// # Errors
    /// The key cannot be opened or enumerated.
    fn enumerate_xenbus(&self, visit: &mut dyn FnMut(&[u8])) -> Result<(), RegistryError>;
    /// Calls `visit` with the value `name` under the caller's open key `key`, as
    /// `LogReadLogLevel` needs it. A NULL `key` means xen.sys's own `Parameters` key (where
    /// [`initialize`] reads `XenLogLevel` and `QemuLogLevel`).
    fn read_level_value(
        &self,
        key: *mut c_void,
        name: &[u8],
        visit: &mut dyn FnMut(crate::log::StoredLevel<'_>),
    );

    /// `LogResume`: re-registers the `DbgPrint` callback if capture is on (called only then).
    fn log_resume(&self);

    /// `SystemProcessorVcpuId`: the Xen vCPU id of processor `cpu`.
    ///
    /// # Errors
    /// `STATUS_UNSUCCESSFUL` for a CPU index out of range, `STATUS_NOT_SUPPORTED` when unknown.
    fn processor_vcpu_id(&self, cpu: u32) -> Result<u32, NtStatus>;
    /// `SystemProcessorVcpuInfo`: the CPU's registered `vcpu_info`.
    ///
    /// # Errors
    /// `STATUS_NOT_SUPPORTED` when `vcpu_info` registration is off or failed.
    fn processor_vcpu_info(&self, cpu: u32) -> Result<*mut c_void, NtStatus>;
    /// `SystemProcessorRegisterVcpuInfo` (runs on that CPU): registers the CPU's `vcpu_info`
    /// page with Xen. `Ok` only once Xen accepted the registration.
    ///
    /// # Errors
    /// The registration's failure; `STATUS_NOT_SUPPORTED` where registration is not available.
    fn register_vcpu_info(&self, cpu: u32, force: bool) -> Result<(), NtStatus>;
    /// `SystemMaximumPhysicalAddress`: the highest physical address of RAM (0: unknown).
    fn maximum_physical_address(&self) -> i64;
    /// `SystemRealTimeIsUniversal`: whether the RTC keeps UTC.
    fn real_time_is_universal(&self) -> bool;

    /// `ModuleLookup`: the module holding `address` as (lower-case name, offset), if known.
    fn module_lookup(&self, address: usize) -> Option<(*const u8, usize)>;
}

/// The installed platform.
static PLATFORM: spin::RwLock<Option<&'static dyn Platform>> = spin::RwLock::new(None);

/// Installs the platform the exports use (the Windows glue at `DllInitialize`, or a host test).
pub fn install_platform(platform: &'static dyn Platform) {
    *PLATFORM.write() = Some(platform);
}

/// Removes the platform (`DllUnload`, or between host tests).
pub fn remove_platform() {
    *PLATFORM.write() = None;
}

/// The installed platform, if any.
#[must_use]
pub fn platform() -> Option<&'static dyn Platform> {
    *PLATFORM.read()
}

/// The hypervisor the hypercall exports use.
static HYPERVISOR: spin::RwLock<Option<&'static (dyn Hypervisor + Sync)>> = spin::RwLock::new(None);

/// Installs the hypervisor the exports use: [`crate::hypercall::Xen`] after detection in the
/// Windows glue, a fake in host tests.
pub fn install_hypervisor(hypervisor: &'static (dyn Hypervisor + Sync)) {
    *HYPERVISOR.write() = Some(hypervisor);
}

/// Removes the hypervisor: every hypercall export then fails with `STATUS_NOT_SUPPORTED`.
pub fn remove_hypervisor() {
    *HYPERVISOR.write() = None;
}

/// The installed hypervisor, if any.
pub(crate) fn hypervisor() -> Option<&'static (dyn Hypervisor + Sync)> {
    *HYPERVISOR.read()
}

/// Runs a typed hypercall wrapper and maps its result to an NTSTATUS, once, logging a failure
/// as upstream's wrappers do (`<function>: fail1 (<status>)` at ERROR).
///
/// # Errors
/// `STATUS_NOT_SUPPORTED` without a hypervisor, else the wrapper's error as NTSTATUS.
pub(crate) fn hypercall<T>(
    function: &str,
    call: impl FnOnce(&dyn Hypervisor) -> crate::status::Result<T>,
) -> Result<T, NtStatus> {
    let hypervisor = hypervisor().ok_or(STATUS_NOT_SUPPORTED)?;
    call(hypervisor).map_err(|e| {
        let status = e.ntstatus();
        debug_message(
            DebugLevel::Error,
            function,
            b"fail1 (%08x)\n",
            &[LogArg::Int(u64::from(status.cast_unsigned()))],
        );
        status
    })
}

/// The NTSTATUS of a unit result.
pub(crate) const fn status(result: Result<(), NtStatus>) -> NtStatus {
    match result {
        Ok(()) => STATUS_SUCCESS,
        Err(status) => status,
    }
}

/// Writes `value` through an output pointer, or fails with `STATUS_INVALID_PARAMETER` if it is
/// NULL (upstream would fault).
///
/// # Safety
/// `out` is NULL or valid for writes of a `T` (any alignment).
pub(crate) unsafe fn put<T>(out: *mut T, value: T) -> Result<(), NtStatus> {
    if out.is_null() {
        return Err(STATUS_INVALID_PARAMETER);
    }
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { out.write_unaligned(value) };
    Ok(())
}

/// The `DPFLTR_*_LEVEL` numbers for xen.sys's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum DebugLevel {
    Error = 0,
    Warning = 1,
    #[cfg_attr(
        not(windows),
        expect(dead_code, reason = "only the Windows glue traces")
    )]
    Trace = 2,
    Info = 3,
}

/// Writes one of xen.sys's own messages as upstream's `Info`/`Trace`/`Warning`/`Error` macros do: as
/// `DbgPrint` output prefixed `xen|<function>: ` (formatted with the log's printf), which the
/// capture then forwards to the log.
pub(crate) fn debug_message(
    level: DebugLevel,
    function: &str,
    fmt: &[u8],
    args: &[crate::log::LogArg<'_>],
) {
    let mut line = crate::log::Line::EMPTY;
    line.extend(b"xen|");
    line.extend(function.as_bytes());
    line.extend(b": ");
    crate::log::format_into(&mut line, 0, fmt, &mut crate::log::SliceLogArgs::new(args));
    match platform() {
        Some(p) => p.debug_print(level as u32, line.as_bytes()),
        None => log::deliver_debug_print(line.as_bytes(), level as u32),
    }
}

/// A message at a log level, through the log directly (upstream `LogPrintf`).
pub(crate) fn log_line(level: Level, text: &[u8]) {
    log::write_line(level, text);
}

/// Reads a NUL-terminated C string argument, if not NULL.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays readable for `'a`.
pub(crate) const unsafe fn c_bytes<'a>(ptr: *const core::ffi::c_char) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL, and the caller guarantees a readable NUL-terminated string.
    Some(unsafe { core::ffi::CStr::from_ptr(ptr) }.to_bytes())
}

/// What [`initialize_log`] set up, for [`teardown_log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLoaded {
    /// Whether `DbgPrint` capture is on (the glue registers the kernel callback if so).
    pub capture: bool,
    /// The port-`0xE9` disposition (none if its mask is empty).
    pub xen_disposition: Option<DispositionHandle>,
    /// The port-`0x12` disposition (none if its mask is empty or there is no platform device).
    pub qemu_disposition: Option<DispositionHandle>,
}

/// What [`initialize`] set up, for [`teardown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// The log's part.
    pub log: LogLoaded,
    /// This boot's unplug decisions.
    pub unplug: UnplugState,
}

/// Reads a log-level value from xen.sys's own `Parameters` key (the platform receives a NULL
/// key for it).
fn own_level(p: &dyn Platform, name: &[u8]) -> Result<Level, LevelError> {
    let mut result = Err(LevelError::NotFound);
    p.read_level_value(core::ptr::null_mut(), name, &mut |v: StoredLevel<'_>| {
        result = crate::log::read_log_level(v);
    });
    result
}

/// Reads one boolean `XEN:*` start option, logging upstream's warning (from `caller`) when its
/// value is not recognised; `default` when the loader options cannot be read at all.
pub(crate) fn boolean_start_option(
    platform: &dyn Platform,
    caller: &str,
    name: &'static [u8],
    decide: for<'a> fn(&crate::options::StartOptions<'a>) -> crate::options::Setting<'a, bool>,
    default: bool,
) -> bool {
    let mut value = default;
    let _ignored = platform.start_options(&mut |raw| {
        let options = crate::options::StartOptions::new(raw);
        let setting = decide(&options);
        value = setting.value;
        if let crate::options::Source::Unrecognized(v) = setting.source {
            debug_message(
                DebugLevel::Warning,
                caller,
                b"UNRECOGNIZED VALUE OF %s: %Z\n",
                &[LogArg::Str(Some(name)), LogArg::AnsiString(Some(v))],
            );
        }
    });
    value
}

/// The log steps of xen.sys's `DllInitialize`, in upstream order, with `platform` installed:
///
/// 1. `XEN:DBG_PRINT=` decides `DbgPrint` capture ([`crate::options::dbg_print`]);
/// 2. `Parameters\XenLogLevel` (default CRITICAL) routes to port `0xE9`;
/// 3. `Parameters\QemuLogLevel` (default INFO|WARNING|ERROR|CRITICAL) routes to port `0x12`,
///    only if the platform device answers with its magic (upstream skips that check, A3);
/// 4. the version line is logged at INFO (upstream also prints its build date, which we do not
///    have).
///
/// Hypercall set-up (detection) is the caller's and comes next, then [`unplug::initialize`], as
/// upstream.
pub fn initialize_log(platform: &'static dyn Platform) -> LogLoaded {
    install_platform(platform);
    let capture = boolean_start_option(
        platform,
        "__LogDbgPrintCallbackEnable",
        crate::options::DBG_PRINT,
        crate::options::dbg_print,
        true,
    );
    log::set_capture(capture);
    let xen_mask = crate::log::effective_level(
        own_level(platform, b"XenLogLevel"),
        crate::log::DEFAULT_XEN_LOG_LEVEL,
    );
    let xen_disposition =
        log::add_port_disposition(xen_mask, crate::log::XEN_DEBUG_PORT).unwrap_or(None);
    let qemu_mask = crate::log::effective_level(
        own_level(platform, b"QemuLogLevel"),
        crate::log::DEFAULT_QEMU_LOG_LEVEL,
    );
    let qemu_disposition = if crate::unplug::platform_device_present(platform) {
        log::add_port_disposition(qemu_mask, crate::log::QEMU_LOG_PORT).unwrap_or(None)
    } else {
        None
    };
    debug_message(
        DebugLevel::Info,
        "DllInitialize",
        b"%u.%u.%u (%u)\n",
        &[
            LogArg::Int(u64::from(DRIVER_VERSION.major)),
            LogArg::Int(u64::from(DRIVER_VERSION.minor)),
            LogArg::Int(u64::from(DRIVER_VERSION.micro)),
            LogArg::Int(u64::from(DRIVER_VERSION.build)),
        ],
    );
    LogLoaded {
        capture,
        xen_disposition,
        qemu_disposition,
    }
}

/// The portable steps of `DllInitialize` where no detection step comes between them (host
/// tests): [`initialize_log`], then the unplug decisions ([`unplug::initialize`]).
pub fn initialize(platform: &'static dyn Platform) -> Loaded {
    let log = initialize_log(platform);
    let unplug = unplug::initialize(platform);
    Loaded { log, unplug }
}

/// Undoes [`initialize_log`]: removes the port dispositions, resets the log and removes the
/// platform.
pub fn teardown_log(loaded: &LogLoaded) {
    log::remove_disposition(loaded.qemu_disposition);
    log::remove_disposition(loaded.xen_disposition);
    log::reset();
    remove_platform();
}

/// The portable steps of `DllUnload`: forget the unplug decisions, then [`teardown_log`].
pub fn teardown(loaded: &Loaded) {
    unplug::teardown();
    teardown_log(&loaded.log);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_errors_map_to_upstreams_statuses() {
        assert_eq!(
            registry_status(RegistryError::NotFound).cast_unsigned(),
            0xC000_0034
        );
        assert_eq!(
            registry_status(RegistryError::WrongType).cast_unsigned(),
            0xC000_000D
        );
        assert_eq!(registry_status(RegistryError::Os(-5)), -5);
        assert!(nt_success(STATUS_SUCCESS) && nt_success(STATUS_BUFFER_OVERFLOW.wrapping_neg()));
        assert!(!nt_success(STATUS_BUFFER_OVERFLOW) && !nt_success(STATUS_NOT_SUPPORTED));
    }

    #[test]
    fn put_refuses_null_and_writes_unaligned() {
        // SAFETY: NULL is refused before any write.
        let refused = unsafe { put(core::ptr::null_mut::<u32>(), 1) };
        assert_eq!(refused, Err(STATUS_INVALID_PARAMETER));
        let mut bytes = [0u8; 9];
        // Deliberately misaligned: `put` must cope.
        #[allow(clippy::cast_ptr_alignment)]
        let p = bytes.as_mut_ptr().wrapping_add(1).cast::<u64>();
        // SAFETY: 8 writable bytes at offset 1 of a 9-byte buffer; `put` writes unaligned.
        assert_eq!(unsafe { put(p, 0x0102_0304_0506_0708) }, Ok(()));
        assert_eq!(bytes[1..], 0x0102_0304_0506_0708_u64.to_ne_bytes());
        assert_eq!(status(Ok(())), STATUS_SUCCESS);
        assert_eq!(status(Err(STATUS_NOT_SUPPORTED)), STATUS_NOT_SUPPORTED);
    }
}
