// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stand-in kernel (`xtk.mode=nt`): runs the real xen.sys image — the bytes
//! `scripts/build-images` leaves in `target/package/` — in ring 0 on the real Xen hypervisor,
//! as Windows would load it for an importer, and checks it through its exports.
//!
//! No Windows can run here, so this kernel plays Windows' part for the image:
//!
//! * **Loader** ([`loader`], over `pe_image::load`): the image arrives as the PVH start info's
//!   first module (`-initrd "kernel args,xen.sys"`), is checked field by field, copied into
//!   kernel memory, relocated to a fresh system address (`0xFFFFF806...`), bound by name to the
//!   routine table, and mapped with its sections' rights ([`vm`]: code read-only, data
//!   no-execute).
//! * **Kernel routines** ([`routines`]): every routine the image imports, as `extern "win64"`
//!   functions with Windows' structure layouts (`crates/ntddk`'s types), each checking its
//!   documented rules as Driver Verifier does ([`verifier`]) and failing the run with the
//!   routine and the caller on a broken one. The registry is an in-memory hive ([`hive`]) with
//!   the service keys and `SystemStartOptions` Windows has at boot.
//! * **Images and processes** ([`routines::ps`]): the loaded-module list
//!   (`ZwQuerySystemInformation(SystemModuleInformation)`: the stand-in as `ntoskrnl.exe`, then
//!   each image still loaded), each image the loader maps reported to the load-image notify
//!   routines, and one process's creation and exit played to the process notify routines after
//!   `DllInitialize`.
//! * **The run** ([`run`]): `DllInitialize` with the service key's path (as the kernel calls
//!   it when an importer loads xen.sys), the export checks ([`checks`]: every export family,
//!   through the Microsoft x64 convention, against the real hypervisor), `DllUnload`, then the
//!   leak audit: nothing the image allocated, opened, queued or registered may remain.
//!
//! `xtk.mode=nt-rule=NAME` breaks one kernel rule on purpose after `DllInitialize`
//! (`checks::rules`): the run must end with the verifier naming the routine and the rule.
//!
//! Two more scenarios end the machine instead of returning: `xtk.mode=nt-watchdog` (the
//! `XEN:WATCHDOG=` start option read back through xen.sys's `ConfigQuerySystemStartOption`
//! and armed through `SystemSetWatchdog`, as xenbus.sys does, then never patted) and
//! `xtk.mode=nt-bugcheck` (a bug check after `DllInitialize`, with the bug-check callbacks
//! xen.sys registered, then Windows' automatic restart).
//!
//! The IRQL is the real `cr8` (the images raise and lower it inline); on this machine a read of
//! it traps and is emulated from the local APIC ([`cr8`]), which also explains why the stand-in
//! configures no upcall delivery.
//!
//! Threads ([`sched`]): a cooperative scheduler on CPU 0 runs the system threads drivers create
//! (`PsCreateSystemThread`), each on its own guarded stack, beside the boot thread that calls
//! the drivers' entry points; a thread switches only inside a kernel routine (a wait, a delay,
//! its exit), never preemptively. Events, timers (with their DPCs) and thread objects are
//! waitable dispatcher objects; when every thread is blocked the idle loop lets time pass,
//! fires timers and runs DPCs, and a deadlock fails the run naming the waiting threads. Time
//! ([`clock`]) is the TSC at Xen's frequency, also published in `KUSER_SHARED_DATA`.
//!
//! Devices ([`routines::io`], [`routines::irp`], [`pnp`], [`pci_bus`]): the I/O manager's
//! driver and device objects and IRPs with Windows' layouts (stack locations, completion
//! routines walked up as `IopfCompleteRequest` walks them, work items, power IRPs), the PnP
//! manager that loads a driver as Windows does for a device ([`pnp::bring_up`]: `DriverEntry`
//! with the service key, `AddDevice`, the start sequence, child enumeration, removal) and the
//! PCI bus driver's part: a PDO for a function found in configuration space, with its BARs and
//! line interrupt as raw and translated resources and the answers `pci.sys` gives. Interrupts
//! stay off; a connected line is delivered at poll points ([`routines::interrupt::poll`]: the
//! PnP manager's loop and its waits) when its source is asserted (for the Xen platform device:
//! vCPU 0's event-channel upcall pending), the service routine running at its DIRQL. The
//! checks' WDM driver exercises all of it ([`checks`]); the entry point for running xenbus.sys
//! on the Xen platform device's PDO is [`pnp::bring_up`] (what it still needs is in its docs).
//!
//! What the stand-in does not model, and why it does not matter for xen.sys today: interrupts
//! (drivers run with interrupts off; nothing xen.sys imports needs them; a connected line is
//! only delivered at the poll points above, so a driver spinning on what only its interrupt
//! service routine changes, without calling a kernel routine that polls, spins forever where
//! Windows would interrupt it), hence preemption (a
//! thread runs until it waits: a driver thread that spins waiting for another thread without
//! calling a wait never lets it run, where Windows would preempt it; timers expire and DPCs run
//! only at kernel entries and in the idle loop, not in the middle of driver code), thread
//! priorities and APCs (alertable waits are never alerted), threads, timers and interrupts on
//! a second processor (with 2 vCPUs the second is added after `DllInitialize` as a hot-added
//! processor, [`smp`], and runs only the DPCs targeted at it), DPC delivery at the exact moment a driver lowers `cr8`
//! itself (it happens at its next kernel call, see [`verifier`]), paging (all pool is
//! resident), registry write times (they read 0), and processes (one creation and exit are
//! played to the notify routines, in the stand-in's own address space). Each gap is named where
//! it would show.

pub mod buses;
pub mod checks;
pub mod clock;
pub mod cr8;
pub mod dma;
pub mod hive;
pub mod kcall;
pub mod loader;
pub mod pci_bus;
pub mod pnp;
pub mod routines;
pub mod sched;
pub mod smp;
pub mod verifier;
pub mod vm;
pub mod xen_sys;

use crate::harness::check;
use crate::kprintln;
use alloc::string::String;
use core::fmt::Write as _;
use core::mem::offset_of;
use hive::Hive;
use ntddk::UNICODE_STRING;

/// Which scenario the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Load, initialise, check every export family, unload, audit (`xtk.mode=nt`).
    Exports,
    /// Arm the watchdog from `XEN:WATCHDOG=` and let it fire (`xtk.mode=nt-watchdog`).
    Watchdog,
    /// Bug-check after `DllInitialize` (`xtk.mode=nt-bugcheck`).
    BugCheck,
    /// xenbus.sys as the function driver of the Xen platform device, on the HVM guest
    /// (`xtk.mode=nt-xenbus`): its bus, its PDOs and their interfaces ([`checks::xenbus`]).
    Xenbus,
    /// xenfilt.sys as the System and HDC classes' upper filter on the HVM guest's device tree,
    /// with xenbus.sys on the platform device (`xtk.mode=nt-xenfilt`): where it attaches, the
    /// boot-time unplug, the active device, `XENFILT_EMULATED` ([`checks::xenfilt`]).
    Xenfilt,
    /// `vcpu_info` registration on (`XEN\Parameters\RegisterVcpuInfo` = 1), on the HVM guest
    /// (`xtk.mode=nt-vcpu-info`): the named pages, the registration Xen saw, then a second load
    /// of xen.sys that must reuse them ([`checks::vcpu_info`]).
    VcpuInfo,
    /// Break kernel rule `checks::rules::RULES[n]` after `DllInitialize`
    /// (`xtk.mode=nt-rule=NAME`): the run must end with the verifier's message.
    Rule(usize),
}

/// Whether the xen.sys image is not ours (`xtk.image=upstream`: upstream's own, built by hand,
/// docs/upstream-xen-sys.md): the few checks of our documented extensions are then skipped,
/// saying so.
static FOREIGN_IMAGE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether the command line said the xen.sys image is not ours.
pub fn foreign_image() -> bool {
    FOREIGN_IMAGE.load(core::sync::atomic::Ordering::SeqCst)
}

/// The scenario `cmdline` names, if any.
pub fn scenario(cmdline: &[u8]) -> Option<Scenario> {
    if cmdline
        .split(|&b| b == b' ')
        .any(|w| w == b"xtk.image=upstream")
    {
        FOREIGN_IMAGE.store(true, core::sync::atomic::Ordering::SeqCst);
    }
    cmdline.split(|&b| b == b' ').find_map(|word| match word {
        b"xtk.mode=nt" => Some(Scenario::Exports),
        b"xtk.mode=nt-watchdog" => Some(Scenario::Watchdog),
        b"xtk.mode=nt-bugcheck" => Some(Scenario::BugCheck),
        b"xtk.mode=nt-xenbus" => Some(Scenario::Xenbus),
        b"xtk.mode=nt-xenfilt" => Some(Scenario::Xenfilt),
        b"xtk.mode=nt-vcpu-info" => Some(Scenario::VcpuInfo),
        _ => {
            let name = word.strip_prefix(b"xtk.mode=nt-rule=")?;
            checks::rules::RULES
                .iter()
                .position(|(rule, _, _)| rule.as_bytes() == name)
                .map(Scenario::Rule)
        }
    })
}

/// The service key's path, as the kernel passes it to `DllInitialize`.
pub const SERVICE_KEY: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\XEN";
/// `HKLM\SYSTEM\CurrentControlSet\Control`.
pub const CONTROL_KEY: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Control";
/// What `SystemStartOptions` holds in the export checks (Windows stores the loader options
/// without their slashes, with a leading space).
pub const START_OPTIONS: &str = " NOEXECUTE=OPTOUT XEN:BALLOON=OFF XEN:WATCHDOG=0x1e";
/// What it holds in the xenbus.sys scenario (the balloon on, as by default; the domain
/// watchdog at 60 s, so xenbus.sys's timer VIRQs tick every 30 s and pat it (the stand-in
/// delivers their interrupts at its poll points, its routine entries and idle loop; a full
/// debug dump, which runs under a `HIGH_LEVEL` lock as upstream's, writes hundreds of lines
/// byte by byte to the log ports and, under nested emulation on a loaded machine, has kept
/// the interrupts away for more than 20 s); no
/// `DbgPrint` capture: the child driver's several hundred lines would each cross to QEMU's log
/// port byte by byte, minutes under nested emulation, and reach the console anyway; the
/// capture is checked in the export boot).
pub const XENBUS_START_OPTIONS: &str = " NOEXECUTE=OPTOUT XEN:DBG_PRINT=OFF XEN:WATCHDOG=60";
/// What it holds in the xenfilt.sys scenario (as the xenbus one, without the watchdog).
pub const XENFILT_START_OPTIONS: &str = " NOEXECUTE=OPTOUT XEN:DBG_PRINT=OFF";
/// What it holds in the watchdog scenario (10 s, xenbus.sys's minimum).
pub const WATCHDOG_START_OPTIONS: &str = " NOEXECUTE=OPTOUT XEN:WATCHDOG=10";
/// A `REG_MULTI_SZ` log level the checks read back through `LogReadLogLevel`.
pub const TEST_LEVEL_VALUE: &str = "NtTestLogLevel";

/// The registry Windows has when xen.sys loads: its service key with `Parameters`, the
/// `Control` key with `SystemStartOptions`; with `force_unplug` (the HVM guest) also
/// `XEN\ForceUnplug` asking for disks and NICs, as an administrator sets it to have the
/// emulated devices unplugged on every boot. The xenbus and xenfilt boots add xenbus.sys's
/// keys and `InterceptDmaAdapter`: 1 in the xenbus boot, 0 in the xenfilt boot, so the checks
/// prove both paths (`checks::xenbus::dma_used`).
fn boot_hive(options: &str, force_unplug: bool, scenario: Scenario) -> Hive {
    let mut h = Hive::new();
    if matches!(scenario, Scenario::Xenbus | Scenario::Xenfilt) {
        xenbus_keys(&mut h);
        intercept_dma_adapter(&mut h, u32::from(scenario == Scenario::Xenbus));
    }
    if force_unplug
        && let Some(force) = h.create_path(&alloc::format!(r"{SERVICE_KEY}\ForceUnplug"))
    {
        for name in ["DISKS", "NICS"] {
            h.set_value(
                force,
                &hive::wide(name),
                hive::REG_DWORD,
                &1u32.to_le_bytes(),
            );
        }
    }
    demand_start_driver(&mut h, SERVICE_KEY);
    let parameters = h.create_path(&alloc::format!(r"{SERVICE_KEY}\Parameters"));
    if let Some(parameters) = parameters {
        h.set_value(
            parameters,
            &hive::wide(TEST_LEVEL_VALUE),
            hive::REG_MULTI_SZ,
            &hive::multi_sz(&["error", "Warning", "BOGUS", "CRITICAL"]),
        );
    }
    if let Some(control) = h.create_path(CONTROL_KEY) {
        h.set_value(
            control,
            &hive::wide("SystemStartOptions"),
            hive::REG_SZ,
            &hive::sz(options),
        );
    }
    h.create_path(r"\Registry\Machine\SYSTEM\CurrentControlSet\Enum");
    h
}

/// A demand-start kernel driver's service key at `path` (`Start` 3, `Type` 1).
fn demand_start_driver(h: &mut Hive, path: &str) {
    if let Some(service) = h.create_path(path) {
        h.set_value(
            service,
            &hive::wide("Start"),
            hive::REG_DWORD,
            &3u32.to_le_bytes(),
        );
        h.set_value(
            service,
            &hive::wide("Type"),
            hive::REG_DWORD,
            &1u32.to_le_bytes(),
        );
    }
}

/// What the package's INF writes for xenbus.sys (`Services\xenbus` with its `Parameters`:
/// the supported and synthetic classes; and an administrator's `ConsoleLogLevel`), the child driver's service key, and xenfilt's
/// `Parameters` key, where xen.sys records the active platform device.
fn xenbus_keys(h: &mut Hive) {
    let services = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services";
    // xenbus.sys, and the test child driver bound to its VIF and VKBD PDOs, as their INFs
    // would install them.
    for name in ["xenbus", checks::xenbus::CHILD_SERVICE] {
        demand_start_driver(h, &alloc::format!(r"{services}\{name}"));
    }
    if let Some(parameters) = h.create_path(&alloc::format!(r"{services}\xenbus\Parameters")) {
        h.set_value(
            parameters,
            &hive::wide("SupportedClasses"),
            hive::REG_MULTI_SZ,
            &hive::multi_sz(checks::xenbus::SUPPORTED_CLASSES),
        );
        h.set_value(
            parameters,
            &hive::wide("SyntheticClasses"),
            hive::REG_MULTI_SZ,
            &hive::multi_sz(checks::xenbus::SYNTHETIC_CLASSES),
        );
        // The console log mirror: these levels of xen.sys's log also go to the PV console
        // (dom0 finds xenbus.sys's lines in xenconsoled's log, ending in CR LF).
        h.set_value(
            parameters,
            &hive::wide("ConsoleLogLevel"),
            hive::REG_MULTI_SZ,
            &hive::multi_sz(&["INFO", "warning", "Error", "CRITICAL"]),
        );
    }
    h.create_path(&alloc::format!(r"{services}\XENFILT\Parameters"));
}

/// `InterceptDmaAdapter` (a `REG_DWORD` under xenbus.sys's `Parameters`, as an administrator
/// sets it): non-zero has xenbus.sys hand its children the platform device's DMA adapter with
/// its own `DMA_OPERATIONS` (upstream's `dma.c`), 0 the adapter as it is.
fn intercept_dma_adapter(h: &mut Hive, value: u32) {
    let services = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services";
    if let Some(parameters) = h.create_path(&alloc::format!(r"{services}\xenbus\Parameters")) {
        h.set_value(
            parameters,
            &hive::wide("InterceptDmaAdapter"),
            hive::REG_DWORD,
            &value.to_le_bytes(),
        );
    }
}

/// What an earlier boot leaves for xenfilt.sys on a machine with the package installed and a PV
/// network driver running: xenfilt's service key with the INF's `Parameters` (`*PNP0A03` =
/// `PCI`, `Internal_IDE_Channel` = `IDE`) and the active platform device xenbus.sys recorded
/// there (its device ID, and the instance and location it had then:
/// [`checks::xenfilt::ACTIVE_INSTANCE_ID`], [`checks::xenfilt::ACTIVE_LOCATION`]); the NIC
/// unplug the network driver asked for (`XEN\Unplug\NICS` = 1) and its device under
/// `Enum\XENBUS`, without which xen.sys vetoes the request; `XENFILT` in the System and HDC
/// classes' `UpperFilters`, as xen.sys's `FiltersInstall` leaves them.
fn xenfilt_keys(h: &mut Hive, platform: &xen_pvh_test::pci::Function) {
    let services = r"\Registry\Machine\SYSTEM\CurrentControlSet\Services";
    demand_start_driver(h, &alloc::format!(r"{services}\xenfilt"));
    if let Some(parameters) = h.create_path(&alloc::format!(r"{services}\xenfilt\Parameters")) {
        let device_id = xen_pvh_test::pci::Pdo::for_function(platform).device_id;
        for (name, value) in [
            ("*PNP0A03", "PCI"),
            ("Internal_IDE_Channel", "IDE"),
            ("ActiveDeviceID", device_id.as_str()),
            ("ActiveInstanceID", checks::xenfilt::ACTIVE_INSTANCE_ID),
            (
                "ActiveLocationInformation",
                checks::xenfilt::ACTIVE_LOCATION,
            ),
        ] {
            h.set_value(
                parameters,
                &hive::wide(name),
                hive::REG_SZ,
                &hive::sz(value),
            );
        }
    }
    nic_unplug_request(h);
    // xen.sys's FiltersInstall (called by xenbus.sys's first AddDevice) on an earlier boot.
    for class in xen::filters::INSTALL_ORDER {
        let path = alloc::format!(r"{}\{}", xen::filters::CLASS_PATH, class.key_name());
        if let Some(key) = h.create_path(&path) {
            h.set_value(
                key,
                &hive::wide(xen::filters::UPPER_FILTERS),
                hive::REG_MULTI_SZ,
                &hive::multi_sz(&[xen::filters::FILTER_NAME]),
            );
        }
    }
}

/// The NIC unplug a PV network driver asked for on the boot before (`XEN\Unplug\NICS` = 1),
/// and its device under `Enum\XENBUS`, without which xen.sys vetoes the request.
fn nic_unplug_request(h: &mut Hive) {
    if let Some(unplug) = h.create_path(&alloc::format!(r"{SERVICE_KEY}\Unplug")) {
        h.set_value(
            unplug,
            &hive::wide("NICS"),
            hive::REG_DWORD,
            &1u32.to_le_bytes(),
        );
    }
    h.create_path(
        r"\Registry\Machine\SYSTEM\CurrentControlSet\Enum\XENBUS\VEN_XP&DEV_VIF&REV_0900000C",
    );
}

/// `struct hvm_start_info` and `struct hvm_modlist_entry` (`public/arch-x86/hvm/start_info.h`).
#[repr(C)]
#[allow(dead_code)] // Only the layout matters; fields are read by offset.
struct HvmStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
}

#[repr(C)]
#[allow(dead_code)] // As above.
struct HvmModlistEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

/// Reads the `T` at physical (= identity-mapped) address `at`.
///
/// # Safety
/// `at` must be readable memory holding a `T` below 4 GiB (the boot identity map).
unsafe fn read_phys<T: Copy>(at: u64) -> T {
    let p = core::ptr::with_exposed_provenance::<T>(usize::try_from(at).unwrap_or(0));
    // SAFETY: the caller's contract.
    unsafe { p.read_unaligned() }
}

/// The first boot module: the image to run.
fn boot_module(start_info: u64) -> Option<&'static [u8]> {
    if start_info == 0 {
        return None;
    }
    // SAFETY: Xen placed the start info at `start_info` and the module list it names in our
    // memory, below 4 GiB (the same holds for the reads below).
    let count: u32 = unsafe { read_phys(start_info + offset_of!(HvmStartInfo, nr_modules) as u64) };
    if count == 0 {
        return None;
    }
    // SAFETY: see above.
    let list: u64 =
        unsafe { read_phys(start_info + offset_of!(HvmStartInfo, modlist_paddr) as u64) };
    // SAFETY: see above.
    let paddr: u64 = unsafe { read_phys(list + offset_of!(HvmModlistEntry, paddr) as u64) };
    // SAFETY: see above.
    let size: u64 = unsafe { read_phys(list + offset_of!(HvmModlistEntry, size) as u64) };
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s > 0 && s < 64 << 20)?;
    let base = usize::try_from(paddr)
        .ok()
        .filter(|&p| p != 0 && p.checked_add(size).is_some_and(|end| end <= 1 << 32))?;
    let p = core::ptr::with_exposed_provenance::<u8>(base);
    // SAFETY: Xen loaded the module at `paddr` for `size` bytes inside our (identity-mapped)
    // memory and nothing writes it afterwards.
    Some(unsafe { core::slice::from_raw_parts(p, size) })
}

/// The magic of a boot module holding several images (`scripts/lib/xen-full.bash`,
/// `make_image_archive`): `XTKIMAGE`, a little-endian `u32` count, then per image a 32-byte
/// NUL-padded name, a `u64` offset from the archive's start and a `u64` size.
const ARCHIVE_MAGIC: &[u8; 8] = b"XTKIMAGE";

/// The images a boot module carries, by name: an archive's entries, or the module itself as
/// `xen.sys`. `None` for an archive that does not add up.
pub fn images(module: &'static [u8]) -> Option<alloc::vec::Vec<(String, &'static [u8])>> {
    let Some(rest) = module.strip_prefix(ARCHIVE_MAGIC) else {
        return Some(alloc::vec![(String::from("xen.sys"), module)]);
    };
    let count = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
    let mut out = alloc::vec::Vec::new();
    for i in 0..usize::try_from(count).ok()? {
        let at = 12usize.checked_add(i.checked_mul(48)?)?;
        let entry = module.get(at..at.checked_add(48)?)?;
        let name = entry.get(..32)?;
        let len = name.iter().position(|&b| b == 0).unwrap_or(32);
        let name = core::str::from_utf8(name.get(..len)?).ok()?;
        let offset =
            usize::try_from(u64::from_le_bytes(entry.get(32..40)?.try_into().ok()?)).ok()?;
        let size = usize::try_from(u64::from_le_bytes(entry.get(40..48)?.try_into().ok()?)).ok()?;
        let bytes = module.get(offset..offset.checked_add(size)?)?;
        out.push((String::from(name), bytes));
    }
    Some(out)
}

/// Calls into a driver at `PASSIVE_LEVEL` and checks it came back there; runs the DPCs that
/// became due (as the return to a passive caller would on Windows).
pub fn call_driver<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let before = verifier::irql();
    let value = f();
    let after = verifier::irql();
    if after != before {
        verifier::violation(
            what,
            0,
            format_args!("returned at IRQL {after}, called at {before}"),
        );
    }
    routines::dpc::run_due();
    value
}

// SAFETY: the linker script defines the first two around the kernel's `.text` output section and
// the last two around its whole image; only their addresses are used.
unsafe extern "C" {
    safe static pvh_text_start: [u8; 0];
    safe static pvh_text_end: [u8; 0];
    safe static pvh_image_start: [u8; 0];
    safe static pvh_image_end: [u8; 0];
}

/// The stand-in's own image (`ntoskrnl.exe` in the module list): its first address and the one
/// past its end (text, data and bss).
pub fn own_image() -> (u64, u64) {
    (
        (&raw const pvh_image_start).addr() as u64,
        (&raw const pvh_image_end).addr() as u64,
    )
}

/// Whether `address` is code a driver may hand the kernel as a routine: in an executable
/// section of a loaded image, or in the stand-in's own text (the routines of its own drivers:
/// the PCI bus driver, the checks' test driver).
pub fn is_driver_code(address: u64) -> bool {
    let start = (&raw const pvh_text_start).addr() as u64;
    let end = (&raw const pvh_text_end).addr() as u64;
    loader::is_loaded_code(address) || (address >= start && address < end)
}

/// A `UNICODE_STRING` over a UTF-16 copy of `text` (which must outlive its use).
pub fn unicode_string(units: &mut [u16]) -> UNICODE_STRING {
    let bytes = u16::try_from(units.len() * 2).unwrap_or(0);
    UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: units.as_mut_ptr(),
    }
}

/// A boot module's images, by name.
pub type Images = alloc::vec::Vec<(String, &'static [u8])>;

/// The boot module's images and xen.sys's bytes among them, each step checked.
fn boot_images(start_info: u64) -> Option<(Images, &'static [u8])> {
    let Some(module) = boot_module(start_info) else {
        check(
            "nt.boot_module",
            false,
            format_args!("no image module in the start info"),
        );
        return None;
    };
    let Some(images) = images(module) else {
        check(
            "nt.boot_module",
            false,
            format_args!("an image archive that does not add up"),
        );
        return None;
    };
    let Some(&(_, bytes)) = images.iter().find(|(name, _)| name == "xen.sys") else {
        check(
            "nt.boot_module",
            false,
            format_args!("no xen.sys among {} images", images.len()),
        );
        return None;
    };
    check(
        "nt.boot_module",
        bytes.starts_with(b"MZ"),
        format_args!("{} bytes, {} images", bytes.len(), images.len()),
    );
    Some((images, bytes))
}

/// Runs `scenario` on the image in the first boot module. Returns only from the export
/// scenario.
pub fn run(start_info: u64, scenario: Scenario) {
    kprintln!(
        "NT: stand-in kernel, scenario {scenario:?}, {} kernel routines",
        routines::count()
    );
    let Some((images, bytes)) = boot_images(start_info) else {
        return;
    };
    vm::enable_nx();
    let vcpus = processors();
    let options = match scenario {
        Scenario::Watchdog => WATCHDOG_START_OPTIONS,
        Scenario::Xenbus => XENBUS_START_OPTIONS,
        Scenario::Xenfilt => XENFILT_START_OPTIONS,
        _ => START_OPTIONS,
    };
    let hvm = crate::boot::is_hvm();
    if hvm {
        // Xen latches a guest's shared_info layout (32- or 64-bit) when it sets the callback,
        // and the firmware left the 32-bit one: set "no callback" from 64-bit mode, as a
        // 64-bit kernel does before it reads event-channel bitmaps.
        let _ = xen::hvm::set_param(
            crate::suite::hv(),
            xen_headers::hvm::params::HVM_PARAM_CALLBACK_IRQ,
            0,
        );
    }
    // An HVM guest: the emulated PCI bus as PnP would find it, before xen.sys touches it.
    let functions = if hvm {
        crate::hvm::enumerate()
    } else {
        alloc::vec::Vec::new()
    };
    // The xenbus and xenfilt boots are boots after a PV network driver asked for the NICs (the
    // child driver's UNPLUG checks expect no disk request); the export boot's unplug checks need
    // both, forced.
    let xenbus = matches!(scenario, Scenario::Xenbus | Scenario::Xenfilt);
    let mut hive = boot_hive(options, hvm && !xenbus, scenario);
    if scenario == Scenario::Xenfilt
        && let Some(platform) = functions.iter().find(|f| f.is_xen_platform())
    {
        xenfilt_keys(&mut hive, platform);
    }
    scenario_keys(scenario, &mut hive);
    routines::registry::install(hive);
    // Time (and KUSER_SHARED_DATA) and the boot thread, before any driver code runs.
    clock::init();
    sched::init();
    if matches!(scenario, Scenario::Exports | Scenario::Xenbus) {
        checks::refusals(bytes);
    }
    let index = match loader::load("xen.sys", bytes) {
        Ok(index) => index,
        Err(refused) => {
            check("nt.load", false, format_args!("refused: {refused}"));
            return;
        }
    };
    checks::loaded(index, bytes);
    if matches!(scenario, Scenario::Exports | Scenario::Xenbus) {
        checks::importer(index);
    }
    let exports = match xen_sys::Exports::resolve(index) {
        Ok(e) => e,
        Err(missing) => {
            check(
                "nt.exports_resolved",
                false,
                format_args!("{missing} is not exported"),
            );
            return;
        }
    };
    check(
        "nt.exports_resolved",
        true,
        format_args!("{} exports typed and resolved", xen_sys::NAMES.len()),
    );
    let mut path: alloc::vec::Vec<u16> = SERVICE_KEY.encode_utf16().collect();
    let mut registry_path = unicode_string(&mut path);
    // SAFETY: the image's DllInitialize, called once at PASSIVE_LEVEL with the service key's
    // path, as the kernel calls it.
    let status = call_driver("DllInitialize", || unsafe {
        (exports.dll_initialize)(&raw mut registry_path)
    });
    if !check(
        "nt.dll_initialize",
        status == 0,
        format_args!("status {:#010x}", status.cast_unsigned()),
    ) {
        return;
    }
    if vcpus == 2 {
        hot_add(&exports, index);
    }
    checks::after_initialize(index, !options.contains("XEN:DBG_PRINT=OFF"));
    let vcpu_info_pages = run_scenario(scenario, &exports, index, &functions, &images);
    // SAFETY: the image's DllUnload, called once at PASSIVE_LEVEL after DllInitialize succeeded
    // and nothing imports it any more.
    let status = call_driver("DllUnload", || unsafe { (exports.dll_unload)() });
    check(
        "nt.dll_unload",
        status == 0,
        format_args!("status {:#010x}", status.cast_unsigned()),
    );
    loader::unload(index);
    checks::leaks(index);
    reload(bytes, vcpu_info_pages);
    summary();
}

/// The vCPUs Xen gave the domain (1 or 2). A second one is a processor added after load
/// ([`smp`]): only processor 0 is active at `DllInitialize`.
fn processors() -> u32 {
    let vcpus = if xen::vcpu::is_up(crate::suite::hv(), 1).is_ok() {
        2
    } else {
        1
    };
    routines::ke::set_processors(1, vcpus);
    // xen.sys's processor identification and vcpu_info registration lines, for the checks.
    routines::debug::keep("xen|SystemProcessor");
    vcpus
}

/// Adds processor 1 after `DllInitialize` of xen.sys (image `index`), with the checks around.
fn hot_add(exports: &xen_sys::Exports, index: usize) {
    checks::smp::before_hot_add();
    smp::add_second_processor();
    checks::smp::after_hot_add(exports, index);
}

/// What one scenario's hive has besides [`boot_hive`]'s. The xenbus boot has no xenfilt to
/// unplug at boot, but xenbus.sys unplugs again in each new domain after a restore or a
/// migration (the new device model has the NIC back): a NIC unplug request. The `vcpu_info`
/// boot: `XEN\Parameters\RegisterVcpuInfo` = 1.
fn scenario_keys(scenario: Scenario, h: &mut Hive) {
    if scenario == Scenario::Xenbus {
        nic_unplug_request(h);
    }
    if scenario != Scenario::VcpuInfo {
        return;
    }
    if let Some(parameters) = h.create_path(&alloc::format!(r"{SERVICE_KEY}\Parameters")) {
        h.set_value(
            parameters,
            &hive::wide("RegisterVcpuInfo"),
            hive::REG_DWORD,
            &1u32.to_le_bytes(),
        );
    }
}

/// The `vcpu_info` scenario's second load of xen.sys (as after an importer unloaded it and
/// another loaded it again), when the first load left named pages `pfns`: `DllInitialize`, the
/// reuse checks, `DllUnload`, the leak audit.
fn reload(bytes: &'static [u8], pfns: Option<[u64; 3]>) {
    let Some(pfns) = pfns else {
        return;
    };
    let index = match loader::load("xen.sys", bytes) {
        Ok(index) => index,
        Err(refused) => {
            check("nt.reload", false, format_args!("refused: {refused}"));
            return;
        }
    };
    let Ok(exports) = xen_sys::Exports::resolve(index) else {
        check("nt.reload", false, format_args!("exports not resolved"));
        return;
    };
    let mut path: alloc::vec::Vec<u16> = SERVICE_KEY.encode_utf16().collect();
    let mut registry_path = unicode_string(&mut path);
    // SAFETY: the new image's DllInitialize, called once at PASSIVE_LEVEL with the service
    // key's path.
    let status = call_driver("DllInitialize", || unsafe {
        (exports.dll_initialize)(&raw mut registry_path)
    });
    if !check(
        "nt.reload.dll_initialize",
        status == 0,
        format_args!("status {:#010x}", status.cast_unsigned()),
    ) {
        return;
    }
    checks::vcpu_info::second(&exports, pfns);
    // SAFETY: the new image's DllUnload, once, after its DllInitialize succeeded.
    let status = call_driver("DllUnload", || unsafe { (exports.dll_unload)() });
    check(
        "nt.reload.dll_unload",
        status == 0,
        format_args!("status {:#010x}", status.cast_unsigned()),
    );
    loader::unload(index);
    checks::leaks(index);
}

/// The scenario's part between `DllInitialize` and `DllUnload`; `xen` is xen.sys's image,
/// `functions` the HVM guest's PCI bus as enumerated before the load (empty as PVH dom0). The
/// `vcpu_info` scenario returns the named pages the load took, for the second load.
fn run_scenario(
    scenario: Scenario,
    exports: &xen_sys::Exports,
    xen: usize,
    functions: &[xen_pvh_test::pci::Function],
    images: &[(String, &'static [u8])],
) -> Option<[u64; 3]> {
    match scenario {
        Scenario::Exports => {
            checks::exports(exports, xen);
            // The kernel routines xen.sys does not use but xenbus.sys does: threads, events,
            // timers, waits, time, physical memory.
            checks::kernel_objects();
            // The I/O manager, PnP manager and PCI bus driver xenbus.sys will run on.
            checks::io_and_pnp(functions);
            if crate::boot::is_hvm() {
                // What xenbus.sys does at START: UnplugDevices, with this boot's requests (the
                // forced disks and NICs); QEMU must drop the emulated disk and NIC.
                // SAFETY: no arguments; called at PASSIVE_LEVEL between DllInitialize and
                // DllUnload.
                checks::drv(|| unsafe { (exports.unplug_devices)() });
                crate::hvm::after_unplug(functions);
            }
        }
        Scenario::Xenbus => {
            checks::xenbus::run(functions, images);
            checks::xenbus::reboot_code(exports);
        }
        Scenario::Xenfilt => {
            checks::xenfilt::run(functions, images);
            checks::xenbus::reboot_code(exports);
        }
        Scenario::Watchdog => checks::watchdog(exports),
        Scenario::BugCheck => checks::bug_check(),
        Scenario::VcpuInfo => {
            let pages = checks::vcpu_info::first(exports);
            checks::xenbus::reboot_code(exports);
            return pages;
        }
        Scenario::Rule(n) => {
            if let Some(&(name, routine, text)) = checks::rules::RULES.get(n) {
                kprintln!("NT-RULE: {name}: expect {routine}: {text}");
                checks::rules::break_rule(name);
            }
        }
    }
    None
}

/// What the run exercised, per routine.
fn summary() {
    let calls = verifier::calls();
    let mut line = String::new();
    for (name, count) in &calls {
        let _ = write!(line, " {name}={count}");
        if line.len() > 180 {
            kprintln!("NT-CALLS:{line}");
            line.clear();
        }
    }
    if !line.is_empty() {
        kprintln!("NT-CALLS:{line}");
    }
    let (printed, delivered) = routines::debug::counts();
    let (opened, open) = routines::registry::handle_counts();
    kprintln!(
        "NT: {} cr8 reads emulated",
        cr8::EMULATED.load(core::sync::atomic::Ordering::Relaxed)
    );
    let s = sched::stats();
    let (_, _, contiguous) = routines::mm::counts();
    kprintln!(
        "NT: {} threads created, {} context switches, {} waits blocked, {} timer expirations, \
         {contiguous} contiguous allocations",
        s.created,
        s.switches,
        s.blocked,
        s.fired
    );
    let (devices, live_devices) = routines::io::device_counts();
    let (irps, live_irps) = routines::irp::counts();
    let (isr, claimed, unclaimed) = routines::interrupt::counts();
    let (power, _) = routines::po::requests();
    kprintln!(
        "NT: I/O: {devices} device objects ({live_devices} live), {irps} IRPs ({live_irps} live), \
         {} PnP IRPs sent, {power} power IRPs requested, {} work items run, {isr} interrupt \
         service calls ({claimed} claimed, {unclaimed} unclaimed)",
        pnp::sent().values().sum::<u32>(),
        routines::work::ran()
    );
    kprintln!(
        "NT: {} routine calls checked, 0 violations; {} pool allocations, {} registry handles \
         opened ({open} open), {} DPCs delivered, {printed} debug messages ({delivered} to \
         callbacks)",
        calls.values().sum::<u64>(),
        routines::pool::allocations(),
        opened,
        routines::dpc::delivered(),
    );
}
