// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Emulated-device unplug: the QEMU port protocol and the per-boot request logic.
//!
//! Two independent halves, both free of I/O decisions in the glue:
//!
//! * **The port protocol** ([`unplug_devices`]) runs over the platform port's [`PortIo`] (the
//!   Windows glue's `READ_PORT_*`/`WRITE_PORT_*`, the test kernel's `in`/`out`, a recorder in
//!   host tests; port accesses have no failure mode): the pre-amble on the Xen platform
//!   device's fixed ports (magic `0x49d2` at port `0x10`,
//!   `0xd249` meaning "drivers blacklisted"; protocol version at port `0x12`; product number and
//!   build number handshake), then one 16-bit mask write per requested device type. It returns
//!   an [`UnplugReport`] saying what was read and written, so the caller logs upstream's lines.
//! * **The request logic** ([`decide_request`] and friends) decides at load time, from the
//!   `XEN\ForceUnplug` and `XEN\Unplug` registry values and the `Enum\XENBUS` subkeys, whether
//!   disks and NICs are unplugged this boot, and consumes the one-shot `Unplug` value.
//!   [`initialize`], [`increment_value`] and [`decrement_value`] apply those decisions through a
//!   small [`UnplugRegistry`] trait.
//!
//! # Decisions on upstream behaviour
//!
//! * **No platform device (A2).** Upstream's pre-amble fails when port `0x10` does not return
//!   either magic, but free builds only `ASSERT` on that and write the unplug masks anyway, to
//!   ports nobody may be listening on. We write nothing in that case and report
//!   [`Preamble::Absent`]. Nothing a child can observe changes: the request flags are decided
//!   from the registry either way, and without the device there is nothing to unplug.
//! * **Blacklisting** is reported but, as upstream, not acted on: the masks are still written.
//!   Skipping them while a PV frontend believes its emulated twin is gone would expose the same
//!   disk twice; QEMU honours the unplug writes whether or not it blacklisted the product.
//! * **Unknown device types** from the C ABI: upstream indexes its request array with the
//!   caller's value and reads out of bounds, or uses a NULL value name. Here
//!   [`UnplugType::from_raw`] rejects them: requests read as `false`, the counters fail with
//!   an invalid-parameter error.
//! * **Counter overflow.** Upstream increments the `ULONG` counter with wrap-around, so
//!   0xFFFFFFFF + 1 silently withdraws every request; we saturate at `u32::MAX`. Upstream
//!   decrements it as a signed `LONG`, so a stored value of 0x80000000 or more reads as negative
//!   and is refused (0x80000000 itself is undefined behaviour in C). We refuse every value that
//!   is 0 or negative as a `LONG`, which is what the C code does wherever it is defined.

use bitflags::bitflags;
use platform_port::PortIo;

/// The platform device's magic/mask/build-number port.
pub const PORT_MAGIC: u16 = 0x10;
/// The platform device's protocol-version/product-number port (also QEMU's log port).
pub const PORT_VERSION: u16 = 0x12;
/// What port `0x10` reads when the platform device is there and the drivers are welcome.
pub const MAGIC: u16 = 0x49d2;
/// What port `0x10` reads when the device model has blacklisted this product/build.
pub const MAGIC_BLACKLISTED: u16 = 0xd249;
/// The product number we announce: 0xFFFF, "experimental" in Xen's product registry, as
/// upstream does.
pub const PRODUCT_NUMBER: u16 = 0xFFFF;

bitflags! {
    /// The unplug mask written to port `0x10` (Xen's `hvm-emulated-unplug` protocol).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct UnplugMask: u16 {
        /// Every IDE and SCSI disk (CD drives are never unplugged).
        const IDE_SCSI_DISKS = 0x0001;
        /// Every emulated NIC.
        const ALL_NICS = 0x0002;
        /// Every IDE disk except the primary master (ignored when `IDE_SCSI_DISKS` is set).
        const AUX_IDE_DISKS = 0x0004;
        /// Every NVMe disk.
        const NVME_DISKS = 0x0008;
        /// What "unplug the disks" means: IDE, SCSI and NVMe.
        const ALL_DISKS = Self::IDE_SCSI_DISKS.bits() | Self::NVME_DISKS.bits();
    }
}

/// The device types xen.sys unplugs, numbered as xen.sys's C ABI numbers them (`UNPLUG_TYPE`;
/// note that `XENBUS_UNPLUG_DEVICE_TYPE` uses different numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum UnplugType {
    /// `UNPLUG_DISKS`.
    Disks = 0,
    /// `UNPLUG_NICS`.
    Nics = 1,
}

impl UnplugType {
    /// Both types, in the order upstream processes them.
    pub const ALL: [Self; 2] = [Self::Disks, Self::Nics];

    /// The type with C value `raw`, if there is one.
    #[must_use]
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            0 => Some(Self::Disks),
            1 => Some(Self::Nics),
            _ => None,
        }
    }

    /// The registry value name under `XEN\Unplug` and `XEN\ForceUnplug`.
    #[must_use]
    pub const fn value_name(self) -> &'static str {
        match self {
            Self::Disks => "DISKS",
            Self::Nics => "NICS",
        }
    }

    /// The substring that identifies this type's PV frontend among the `Enum\XENBUS` subkeys
    /// (for example `VEN_XP&DEV_VBD&REV_0900000C`).
    #[must_use]
    pub const fn frontend_name(self) -> &'static str {
        match self {
            Self::Disks => "VBD",
            Self::Nics => "VIF",
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::Disks => 0,
            Self::Nics => 1,
        }
    }
}

/// The driver build announced in the handshake: `(major << 16) | (minor << 8) | micro`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Micro version.
    pub micro: u8,
}

impl BuildVersion {
    /// The 32-bit build number written to port `0x10` (the build number proper is not part of
    /// it, as upstream).
    #[must_use]
    pub const fn build_number(self) -> u32 {
        ((self.major as u32) << 16) | ((self.minor as u32) << 8) | self.micro as u32
    }
}

/// What the pre-amble found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preamble {
    /// The platform device answered and did not blacklist us.
    NotBlacklisted,
    /// The platform device blacklisted this product/build (reported, not acted on).
    Blacklisted,
    /// Port `0x10` returned something else: no platform device; nothing was written.
    Absent {
        /// What the port returned.
        magic: u16,
    },
}

impl Preamble {
    /// Upstream's WARNING line for this result, or `None` where upstream logs nothing.
    #[must_use]
    pub const fn message(self) -> Option<&'static str> {
        match self {
            Self::NotBlacklisted => Some("UNPLUG: PRE-AMBLE (DRIVERS NOT BLACKLISTED)\n"),
            Self::Blacklisted => Some("UNPLUG: PRE-AMBLE (DRIVERS BLACKLISTED)\n"),
            Self::Absent { .. } => None,
        }
    }
}

/// One mask write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskWrite {
    /// Which request it serves.
    pub kind: UnplugType,
    /// The mask written to port `0x10`.
    pub mask: UnplugMask,
}

impl MaskWrite {
    /// Upstream's WARNING line for this write.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self.kind {
            UnplugType::Disks if self.mask == UnplugMask::AUX_IDE_DISKS => "UNPLUG: AUX DISKS\n",
            UnplugType::Disks => "UNPLUG: DISKS\n",
            UnplugType::Nics => "UNPLUG: NICS\n",
        }
    }
}

/// What [`unplug_devices`] did, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnplugReport {
    /// The pre-amble result.
    pub preamble: Preamble,
    /// The protocol version read from port `0x12`, if the magic was read at all.
    pub protocol_version: Option<u8>,
    /// The mask writes, disks first (at most one per type).
    pub writes: [Option<MaskWrite>; 2],
}

/// This boot's unplug decisions, fixed at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnplugState {
    requests: [bool; 2],
    /// `XEN:BOOT_EMULATED=TRUE`: keep the boot disk (IDE primary master) emulated.
    pub boot_emulated: bool,
}

impl UnplugState {
    /// A state with the given requests.
    #[must_use]
    pub const fn new(disks: bool, nics: bool, boot_emulated: bool) -> Self {
        Self {
            requests: [disks, nics],
            boot_emulated,
        }
    }

    /// Whether `kind` is unplugged this boot (`UnplugGetRequest`).
    #[must_use]
    pub const fn request(&self, kind: UnplugType) -> bool {
        match kind {
            UnplugType::Disks => self.requests[0],
            UnplugType::Nics => self.requests[1],
        }
    }

    /// [`UnplugState::request`] for a raw C `UNPLUG_TYPE`; unknown types are never requested.
    #[must_use]
    pub const fn request_raw(&self, raw: u32) -> bool {
        match UnplugType::from_raw(raw) {
            Some(kind) => self.request(kind),
            None => false,
        }
    }

    /// Sets the request for `kind`.
    pub fn set_request(&mut self, kind: UnplugType, request: bool) {
        if let Some(slot) = self.requests.get_mut(kind.index()) {
            *slot = request;
        }
    }

    /// The mask to write for `kind`.
    #[must_use]
    pub const fn mask(&self, kind: UnplugType) -> UnplugMask {
        match kind {
            UnplugType::Disks if self.boot_emulated => UnplugMask::AUX_IDE_DISKS,
            UnplugType::Disks => UnplugMask::ALL_DISKS,
            UnplugType::Nics => UnplugMask::ALL_NICS,
        }
    }
}

/// Runs the pre-amble: magic, then (protocol version ≠ 0) product number, build number and a
/// second magic read.
pub fn preamble<P: PortIo + ?Sized>(io: &P, build: BuildVersion) -> (Preamble, Option<u8>) {
    let magic = io.inw(PORT_MAGIC);
    if magic == MAGIC_BLACKLISTED {
        return (Preamble::Blacklisted, None);
    }
    if magic != MAGIC {
        return (Preamble::Absent { magic }, None);
    }
    let version = io.inb(PORT_VERSION);
    if version != 0 {
        io.outw(PORT_VERSION, PRODUCT_NUMBER);
        io.outl(PORT_MAGIC, build.build_number());
        if io.inw(PORT_MAGIC) == MAGIC_BLACKLISTED {
            return (Preamble::Blacklisted, Some(version));
        }
    }
    (Preamble::NotBlacklisted, Some(version))
}

/// `UnplugDevices`: the pre-amble, then one mask write per requested type (disks, then NICs).
///
/// The caller holds whatever lock serialises port access (upstream: a `HIGH_LEVEL` lock) and logs
/// the report's messages at WARNING.
pub fn unplug_devices<P: PortIo + ?Sized>(
    io: &P,
    state: &UnplugState,
    build: BuildVersion,
) -> UnplugReport {
    let (preamble, protocol_version) = preamble(io, build);
    let mut writes = [None, None];
    if !matches!(preamble, Preamble::Absent { .. }) {
        for (slot, kind) in writes.iter_mut().zip(UnplugType::ALL) {
            if state.request(kind) {
                let mask = state.mask(kind);
                io.outw(PORT_MAGIC, mask.bits());
                *slot = Some(MaskWrite { kind, mask });
            }
        }
    }
    UnplugReport {
        preamble,
        protocol_version,
        writes,
    }
}

/// Whether the platform device answers with either magic (a read-only probe, used to gate the
/// QEMU log port as the protocol requires).
pub fn platform_device_present<P: PortIo + ?Sized>(io: &P) -> bool {
    matches!(io.inw(PORT_MAGIC), MAGIC | MAGIC_BLACKLISTED)
}

// ---- registry request logic -------------------------------------------------------------------

/// Why a registry access failed (shared with the other registry-backed services).
pub use crate::registry::RegistryError;

/// The registry accesses the unplug logic needs. Names are the [`UnplugType::value_name`]s.
pub trait UnplugRegistry {
    /// Reads DWORD `XEN\ForceUnplug\<name>`.
    ///
    /// # Errors
    /// Whatever the registry reports.
    fn read_force_unplug(&mut self, name: &str) -> Result<u32, RegistryError>;
    /// Reads DWORD `XEN\Unplug\<name>`.
    ///
    /// # Errors
    /// Whatever the registry reports.
    fn read_unplug(&mut self, name: &str) -> Result<u32, RegistryError>;
    /// Writes DWORD `XEN\Unplug\<name>`.
    ///
    /// # Errors
    /// Whatever the registry reports.
    fn write_unplug(&mut self, name: &str, value: u32) -> Result<(), RegistryError>;
    /// Deletes `XEN\Unplug\<name>`.
    ///
    /// # Errors
    /// Whatever the registry reports.
    fn delete_unplug(&mut self, name: &str) -> Result<(), RegistryError>;
    /// Calls `visit` with the name of every subkey of `HKLM\SYSTEM\CurrentControlSet\Enum\XENBUS`.
    ///
    /// # Errors
    /// The key cannot be opened or enumerated.
    fn enumerate_xenbus(&mut self, visit: &mut dyn FnMut(&[u8])) -> Result<(), RegistryError>;
}

/// Whether a PV frontend of `kind` has ever been enumerated: some `Enum\XENBUS` subkey name
/// contains the frontend name (case-sensitive substring, as upstream's `strstr`).
#[must_use]
pub fn frontend_seen_in(subkey: &[u8], kind: UnplugType) -> bool {
    let needle = kind.frontend_name().as_bytes();
    // A C string ends at its first NUL.
    let name = subkey.split(|&b| b == 0).next().unwrap_or_default();
    name.windows(needle.len()).any(|w| w == needle)
}

/// What the `Enum\XENBUS` check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    /// A subkey names this type's frontend.
    Seen,
    /// The key was enumerated and no subkey names it.
    NotSeen,
    /// The key could not be opened or enumerated.
    Unavailable(RegistryError),
}

/// Why an `Unplug` request was turned down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Veto {
    /// No PV frontend was ever enumerated (upstream logs `VETO Unplug <frontend>`).
    NoFrontend,
    /// `Enum\XENBUS` could not be read (upstream logs an error).
    EnumUnavailable(RegistryError),
}

/// The decision for one device type at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDecision {
    /// Unplug this type this boot.
    pub request: bool,
    /// Delete `XEN\Unplug\<name>` (the request is one-shot).
    pub delete_unplug_value: bool,
    /// The value upstream logs as `<NAME> (<value>)`, when it logs one: the `ForceUnplug`
    /// value, or the `Unplug` value after the veto.
    pub logged_value: Option<u32>,
    /// Set when a non-zero `Unplug` value was vetoed.
    pub veto: Option<Veto>,
}

/// Whether `force` (the `ForceUnplug` read) forces the unplug: a readable non-zero DWORD.
#[must_use]
pub const fn forced(force: Result<u32, RegistryError>) -> bool {
    matches!(force, Ok(v) if v != 0)
}

/// Whether the decision needs the `Enum\XENBUS` check, so the caller reads it only then.
#[must_use]
pub const fn needs_frontend_check(
    force: Result<u32, RegistryError>,
    unplug: Result<u32, RegistryError>,
) -> bool {
    !forced(force) && matches!(unplug, Ok(v) if v != 0)
}

/// The load-time request decision for one type (`UnplugSetRequest`).
///
/// 1. A non-zero `ForceUnplug` value requests the unplug (it is never deleted); the `Unplug`
///    value is deleted all the same.
/// 2. Otherwise an unreadable or missing `Unplug` value means no request and nothing deleted.
/// 3. A non-zero `Unplug` value is vetoed unless a PV frontend of this type has been
///    enumerated before (`frontend`; ignored when not needed).
/// 4. The `Unplug` value is deleted; the request is whether the (vetoed) value is non-zero.
#[must_use]
pub const fn decide_request(
    force: Result<u32, RegistryError>,
    unplug: Result<u32, RegistryError>,
    frontend: Frontend,
) -> RequestDecision {
    if let Ok(v) = force
        && v != 0
    {
        return RequestDecision {
            request: true,
            delete_unplug_value: true,
            logged_value: Some(v),
            veto: None,
        };
    }
    let Ok(value) = unplug else {
        return RequestDecision {
            request: false,
            delete_unplug_value: false,
            logged_value: None,
            veto: None,
        };
    };
    let veto = if value == 0 {
        None
    } else {
        match frontend {
            Frontend::Seen => None,
            Frontend::NotSeen => Some(Veto::NoFrontend),
            Frontend::Unavailable(e) => Some(Veto::EnumUnavailable(e)),
        }
    };
    let value = if veto.is_some() { 0 } else { value };
    RequestDecision {
        request: value != 0,
        delete_unplug_value: true,
        logged_value: Some(value),
        veto,
    }
}

/// Reads what [`decide_request`] needs for `kind`, decides, and deletes the `Unplug` value if
/// the decision says so (a failed delete is ignored, as upstream).
pub fn request_for<R: UnplugRegistry + ?Sized>(reg: &mut R, kind: UnplugType) -> RequestDecision {
    let name = kind.value_name();
    let force = reg.read_force_unplug(name);
    // Upstream reads `Unplug` only when not forced; the read has no side effect, but keep the
    // access pattern identical.
    let unplug = if forced(force) {
        Err(RegistryError::NotFound)
    } else {
        reg.read_unplug(name)
    };
    let frontend = if needs_frontend_check(force, unplug) {
        let mut seen = false;
        match reg.enumerate_xenbus(&mut |subkey| seen |= frontend_seen_in(subkey, kind)) {
            Ok(()) if seen => Frontend::Seen,
            Ok(()) => Frontend::NotSeen,
            Err(e) => Frontend::Unavailable(e),
        }
    } else {
        Frontend::NotSeen
    };
    let decision = decide_request(force, unplug, frontend);
    if decision.delete_unplug_value {
        let _ignored = reg.delete_unplug(name);
    }
    decision
}

/// `UnplugInitialize`: decides both types (disks, then NICs) and takes `boot_emulated` from
/// `XEN:BOOT_EMULATED=` (see [`crate::options::boot_emulated`]).
pub fn initialize<R: UnplugRegistry + ?Sized>(
    reg: &mut R,
    boot_emulated: bool,
) -> (UnplugState, [RequestDecision; 2]) {
    let disks = request_for(reg, UnplugType::Disks);
    let nics = request_for(reg, UnplugType::Nics);
    (
        UnplugState::new(disks.request, nics.request, boot_emulated),
        [disks, nics],
    )
}

/// Why a counter update failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterError {
    /// The registry read or write failed.
    Registry(RegistryError),
    /// The value is 0 (or negative as a C `LONG`) and cannot be decremented
    /// (`STATUS_INVALID_PARAMETER`).
    WouldGoNegative,
}

/// `UnplugIncrementValue`: `XEN\Unplug\<name>` += 1, a missing or unreadable value counting as
/// 0; saturates at `u32::MAX`. Returns the value written.
///
/// # Errors
/// [`CounterError::Registry`] when the write fails.
pub fn increment_value<R: UnplugRegistry + ?Sized>(
    reg: &mut R,
    kind: UnplugType,
) -> Result<u32, CounterError> {
    let name = kind.value_name();
    let value = reg.read_unplug(name).unwrap_or(0).saturating_add(1);
    reg.write_unplug(name, value)
        .map_err(CounterError::Registry)?;
    Ok(value)
}

/// `UnplugDecrementValue`: `XEN\Unplug\<name>` -= 1. Returns the value written.
///
/// # Errors
/// [`CounterError::Registry`] when the value is missing or unreadable (nothing is written) or
/// the write fails; [`CounterError::WouldGoNegative`] when it is 0 or, read as a C `LONG`,
/// negative (the value is left alone).
pub fn decrement_value<R: UnplugRegistry + ?Sized>(
    reg: &mut R,
    kind: UnplugType,
) -> Result<u32, CounterError> {
    let name = kind.value_name();
    let value = reg.read_unplug(name).map_err(CounterError::Registry)?;
    let signed = i32::from_ne_bytes(value.to_ne_bytes());
    if signed <= 0 {
        return Err(CounterError::WouldGoNegative);
    }
    let value = value.saturating_sub(1);
    reg.write_unplug(name, value)
        .map_err(CounterError::Registry)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;
    use std::collections::BTreeMap;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    // ---- fake port I/O -----------------------------------------------------------------------

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Access {
        InB(u16),
        InW(u16),
        OutB(u16, u8),
        OutW(u16, u16),
        OutL(u16, u32),
    }

    /// Answers reads of port 0x10 from a script (the last answer repeats) and port 0x12 with a
    /// fixed version; records every access.
    struct FakePorts {
        magic: RefCell<Vec<u16>>,
        version: u8,
        log: RefCell<Vec<Access>>,
    }

    impl FakePorts {
        fn new(magic: &[u16], version: u8) -> Self {
            Self {
                magic: RefCell::new(magic.to_vec()),
                version,
                log: RefCell::new(Vec::new()),
            }
        }
        fn accesses(&self) -> Vec<Access> {
            self.log.borrow().clone()
        }
    }

    impl PortIo for FakePorts {
        fn inb(&self, port: u16) -> u8 {
            self.log.borrow_mut().push(Access::InB(port));
            if port == PORT_VERSION {
                self.version
            } else {
                0xff
            }
        }
        fn inw(&self, port: u16) -> u16 {
            self.log.borrow_mut().push(Access::InW(port));
            if port != PORT_MAGIC {
                return 0xffff;
            }
            let mut m = self.magic.borrow_mut();
            if m.len() > 1 { m.remove(0) } else { m[0] }
        }
        fn outb(&self, port: u16, value: u8) {
            self.log.borrow_mut().push(Access::OutB(port, value));
        }
        fn outw(&self, port: u16, value: u16) {
            self.log.borrow_mut().push(Access::OutW(port, value));
        }
        fn outl(&self, port: u16, value: u32) {
            self.log.borrow_mut().push(Access::OutL(port, value));
        }
    }

    const V910: BuildVersion = BuildVersion {
        major: 9,
        minor: 1,
        micro: 0,
    };

    #[test]
    fn build_number_packs_major_minor_micro() {
        assert_eq!(V910.build_number(), 0x0009_0100);
        let v = BuildVersion {
            major: 255,
            minor: 255,
            micro: 255,
        };
        assert_eq!(v.build_number(), 0x00ff_ffff);
    }

    #[test]
    fn full_handshake_and_both_masks_in_upstream_order() {
        let io = FakePorts::new(&[MAGIC], 1);
        let state = UnplugState::new(true, true, false);
        let r = unplug_devices(&io, &state, V910);
        assert_eq!(
            io.accesses(),
            [
                Access::InW(0x10),
                Access::InB(0x12),
                Access::OutW(0x12, 0xFFFF),
                Access::OutL(0x10, 0x0009_0100),
                Access::InW(0x10),
                Access::OutW(0x10, 0x0009),
                Access::OutW(0x10, 0x0002),
            ]
        );
        assert_eq!(r.preamble, Preamble::NotBlacklisted);
        assert_eq!(r.protocol_version, Some(1));
        assert_eq!(
            r.preamble.message(),
            Some("UNPLUG: PRE-AMBLE (DRIVERS NOT BLACKLISTED)\n")
        );
        let msgs: Vec<&str> = r.writes.iter().flatten().map(|w| w.message()).collect();
        assert_eq!(msgs, ["UNPLUG: DISKS\n", "UNPLUG: NICS\n"]);
    }

    #[test]
    fn protocol_version_zero_skips_the_handshake() {
        let io = FakePorts::new(&[MAGIC], 0);
        let r = unplug_devices(&io, &UnplugState::new(true, false, false), V910);
        assert_eq!(
            io.accesses(),
            [
                Access::InW(0x10),
                Access::InB(0x12),
                Access::OutW(0x10, 0x0009)
            ]
        );
        assert_eq!(r.protocol_version, Some(0));
        assert_eq!(
            r.writes,
            [
                Some(MaskWrite {
                    kind: UnplugType::Disks,
                    mask: UnplugMask::ALL_DISKS
                }),
                None
            ]
        );
    }

    #[test]
    fn boot_emulated_writes_the_aux_disk_mask() {
        let io = FakePorts::new(&[MAGIC], 0);
        let r = unplug_devices(&io, &UnplugState::new(true, true, true), V910);
        assert_eq!(
            io.accesses()[2..],
            [Access::OutW(0x10, 0x0004), Access::OutW(0x10, 0x0002)]
        );
        assert_eq!(r.writes[0].unwrap().message(), "UNPLUG: AUX DISKS\n");
    }

    #[test]
    fn blacklisted_at_first_read_is_logged_but_masks_are_still_written() {
        let io = FakePorts::new(&[MAGIC_BLACKLISTED], 1);
        let r = unplug_devices(&io, &UnplugState::new(false, true, false), V910);
        assert_eq!(r.preamble, Preamble::Blacklisted);
        assert_eq!(r.protocol_version, None);
        assert_eq!(
            io.accesses(),
            [Access::InW(0x10), Access::OutW(0x10, 0x0002)]
        );
        assert_eq!(
            r.preamble.message(),
            Some("UNPLUG: PRE-AMBLE (DRIVERS BLACKLISTED)\n")
        );
    }

    #[test]
    fn blacklisted_after_the_handshake() {
        let io = FakePorts::new(&[MAGIC, MAGIC_BLACKLISTED], 1);
        let r = unplug_devices(&io, &UnplugState::new(true, false, false), V910);
        assert_eq!(r.preamble, Preamble::Blacklisted);
        assert_eq!(r.protocol_version, Some(1));
        assert_eq!(io.accesses().last(), Some(&Access::OutW(0x10, 0x0009)));
    }

    #[test]
    fn second_read_returning_garbage_is_not_a_blacklist() {
        let io = FakePorts::new(&[MAGIC, 0x1234], 2);
        let r = unplug_devices(&io, &UnplugState::new(true, true, false), V910);
        assert_eq!(r.preamble, Preamble::NotBlacklisted);
        assert_eq!(io.accesses().len(), 7);
    }

    #[test]
    fn garbage_magic_writes_nothing() {
        for magic in [0x0000, 0xffff, 0x49d3, 0xd248, 0x2d94, 0x0010] {
            let io = FakePorts::new(&[magic], 1);
            let r = unplug_devices(&io, &UnplugState::new(true, true, true), V910);
            assert_eq!(r.preamble, Preamble::Absent { magic });
            assert_eq!(r.preamble.message(), None);
            assert_eq!(r.writes, [None, None]);
            assert_eq!(io.accesses(), [Access::InW(0x10)], "magic {magic:#x}");
            assert!(!platform_device_present(&io));
        }
    }

    #[test]
    fn no_requests_means_only_the_preamble() {
        let io = FakePorts::new(&[MAGIC], 1);
        let r = unplug_devices(&io, &UnplugState::default(), V910);
        assert_eq!(r.writes, [None, None]);
        assert!(
            io.accesses()
                .iter()
                .all(|a| !matches!(a, Access::OutW(0x10, _)))
        );
        assert!(!io.accesses().iter().any(|a| matches!(a, Access::OutB(..))));
    }

    #[test]
    fn platform_device_probe_accepts_both_magics() {
        assert!(platform_device_present(&FakePorts::new(&[MAGIC], 0)));
        assert!(platform_device_present(&FakePorts::new(
            &[MAGIC_BLACKLISTED],
            0
        )));
    }

    #[test]
    fn random_port_values_never_write_without_a_magic() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            let m1 = u16::from_le_bytes([bytes[0], bytes[1]]);
            let m2 = u16::from_le_bytes([bytes[2], bytes[3]]);
            let version = bytes[4];
            let io = FakePorts::new(&[m1, m2], version);
            let state = UnplugState::new(version & 1 != 0, version & 2 != 0, version & 4 != 0);
            let r = unplug_devices(&io, &state, V910);
            let writes = io
                .accesses()
                .iter()
                .filter(|a| matches!(a, Access::OutW(0x10, _)))
                .count();
            let expected = if m1 == MAGIC || m1 == MAGIC_BLACKLISTED {
                usize::from(state.request(UnplugType::Disks))
                    + usize::from(state.request(UnplugType::Nics))
            } else {
                0
            };
            assert_eq!(writes, expected);
            assert_eq!(r.writes.iter().flatten().count(), expected);
        }
    }

    #[test]
    fn unplug_type_numbers_and_names() {
        assert_eq!(UnplugType::from_raw(0), Some(UnplugType::Disks));
        assert_eq!(UnplugType::from_raw(1), Some(UnplugType::Nics));
        assert_eq!(UnplugType::from_raw(2), None);
        assert_eq!(UnplugType::from_raw(u32::MAX), None);
        assert_eq!(UnplugType::Disks as u32, 0);
        assert_eq!(UnplugType::Nics.value_name(), "NICS");
        assert_eq!(UnplugType::Disks.frontend_name(), "VBD");
    }

    #[test]
    fn unknown_types_are_never_requested() {
        let s = UnplugState::new(true, true, false);
        assert!(s.request_raw(0) && s.request_raw(1));
        for raw in [2, 3, 0x8000_0000, u32::MAX] {
            assert!(!s.request_raw(raw));
        }
    }

    // ---- fake registry -----------------------------------------------------------------------

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Val {
        Dword(u32),
        /// Anything that is not a 4-byte DWORD.
        Other,
    }

    #[derive(Default)]
    struct FakeRegistry {
        force: BTreeMap<String, Val>,
        unplug: BTreeMap<String, Val>,
        /// `None`: `Enum\XENBUS` is missing.
        xenbus: Option<Vec<Vec<u8>>>,
        enum_error: Option<RegistryError>,
        write_error: Option<RegistryError>,
        calls: Vec<String>,
    }

    impl FakeRegistry {
        fn read(map: &BTreeMap<String, Val>, name: &str) -> Result<u32, RegistryError> {
            match map.get(name) {
                None => Err(RegistryError::NotFound),
                Some(Val::Dword(v)) => Ok(*v),
                Some(Val::Other) => Err(RegistryError::WrongType),
            }
        }
    }

    impl UnplugRegistry for FakeRegistry {
        fn read_force_unplug(&mut self, name: &str) -> Result<u32, RegistryError> {
            self.calls.push(std::format!("read ForceUnplug\\{name}"));
            Self::read(&self.force, name)
        }
        fn read_unplug(&mut self, name: &str) -> Result<u32, RegistryError> {
            self.calls.push(std::format!("read Unplug\\{name}"));
            Self::read(&self.unplug, name)
        }
        fn write_unplug(&mut self, name: &str, value: u32) -> Result<(), RegistryError> {
            self.calls
                .push(std::format!("write Unplug\\{name}={value}"));
            if let Some(e) = self.write_error {
                return Err(e);
            }
            self.unplug.insert(name.to_string(), Val::Dword(value));
            Ok(())
        }
        fn delete_unplug(&mut self, name: &str) -> Result<(), RegistryError> {
            self.calls.push(std::format!("delete Unplug\\{name}"));
            self.unplug
                .remove(name)
                .map(|_| ())
                .ok_or(RegistryError::NotFound)
        }
        fn enumerate_xenbus(&mut self, visit: &mut dyn FnMut(&[u8])) -> Result<(), RegistryError> {
            self.calls.push("enumerate Enum\\XENBUS".to_string());
            if let Some(e) = self.enum_error {
                return Err(e);
            }
            let keys = self.xenbus.as_ref().ok_or(RegistryError::NotFound)?;
            for k in keys {
                visit(k);
            }
            Ok(())
        }
    }

    fn reg(unplug: &[(&str, Val)], force: &[(&str, Val)], xenbus: Option<&[&str]>) -> FakeRegistry {
        FakeRegistry {
            unplug: unplug
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            force: force
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            xenbus: xenbus.map(|ks| ks.iter().map(|k| k.as_bytes().to_vec()).collect()),
            ..FakeRegistry::default()
        }
    }

    const VBD: &str = "VEN_XP&DEV_VBD&REV_0900000C";
    const VIF: &str = "VEN_XP&DEV_VIF&REV_0900000C";

    #[test]
    fn request_with_a_frontend_seen_is_granted_and_the_value_consumed() {
        let mut r = reg(&[("DISKS", Val::Dword(1))], &[], Some(&[VBD]));
        let (state, [disks, nics]) = initialize(&mut r, false);
        assert!(state.request(UnplugType::Disks));
        assert!(!state.request(UnplugType::Nics));
        assert_eq!(
            disks,
            RequestDecision {
                request: true,
                delete_unplug_value: true,
                logged_value: Some(1),
                veto: None
            }
        );
        assert!(!r.unplug.contains_key("DISKS"));
        // NICS had no value: nothing deleted, nothing logged.
        assert_eq!(
            nics,
            RequestDecision {
                request: false,
                delete_unplug_value: false,
                logged_value: None,
                veto: None
            }
        );
        assert_eq!(
            r.calls,
            [
                "read ForceUnplug\\DISKS",
                "read Unplug\\DISKS",
                "enumerate Enum\\XENBUS",
                "delete Unplug\\DISKS",
                "read ForceUnplug\\NICS",
                "read Unplug\\NICS",
            ]
        );
    }

    #[test]
    fn request_without_a_frontend_is_vetoed_and_still_consumed() {
        let mut r = reg(
            &[("DISKS", Val::Dword(1))],
            &[],
            Some(&[VIF, "VEN_XP&DEV_IFACE"]),
        );
        let (state, [disks, _]) = initialize(&mut r, false);
        assert!(!state.request(UnplugType::Disks));
        assert_eq!(disks.veto, Some(Veto::NoFrontend));
        assert_eq!(disks.logged_value, Some(0));
        assert!(!r.unplug.contains_key("DISKS"));
    }

    #[test]
    fn frontend_match_is_a_case_sensitive_substring() {
        assert!(frontend_seen_in(b"VBD", UnplugType::Disks));
        assert!(frontend_seen_in(b"XVBDX", UnplugType::Disks));
        assert!(!frontend_seen_in(b"vbd", UnplugType::Disks));
        assert!(!frontend_seen_in(b"VB", UnplugType::Disks));
        assert!(!frontend_seen_in(b"", UnplugType::Nics));
        assert!(!frontend_seen_in(b"VI\0F", UnplugType::Nics));
        assert!(!frontend_seen_in(b"\0VIF", UnplugType::Nics));
        assert!(frontend_seen_in(b"VIF\0junk", UnplugType::Nics));
    }

    #[test]
    fn missing_enum_key_vetoes() {
        let mut r = reg(&[("NICS", Val::Dword(3))], &[], None);
        let (state, [_, nics]) = initialize(&mut r, false);
        assert!(!state.request(UnplugType::Nics));
        assert_eq!(
            nics.veto,
            Some(Veto::EnumUnavailable(RegistryError::NotFound))
        );
        assert!(!r.unplug.contains_key("NICS"));
    }

    #[test]
    fn enum_failure_vetoes() {
        let mut r = reg(&[("NICS", Val::Dword(1))], &[], Some(&[VIF]));
        r.enum_error = Some(RegistryError::Os(-1_073_741_670));
        let (state, [_, nics]) = initialize(&mut r, false);
        assert!(!state.request(UnplugType::Nics));
        assert_eq!(
            nics.veto,
            Some(Veto::EnumUnavailable(RegistryError::Os(-1_073_741_670)))
        );
    }

    #[test]
    fn zero_value_is_consumed_without_an_enum_check() {
        let mut r = reg(&[("DISKS", Val::Dword(0))], &[], None);
        let (state, [disks, _]) = initialize(&mut r, false);
        assert!(!state.request(UnplugType::Disks));
        assert_eq!(disks.veto, None);
        assert_eq!(disks.logged_value, Some(0));
        assert!(!r.calls.iter().any(|c| c.starts_with("enumerate")));
        assert!(!r.unplug.contains_key("DISKS"));
    }

    #[test]
    fn missing_or_wrongly_typed_value_is_left_alone() {
        let mut r = reg(&[("NICS", Val::Other)], &[], Some(&[VIF]));
        let (state, [disks, nics]) = initialize(&mut r, false);
        assert_eq!(state, UnplugState::default());
        assert!(!disks.delete_unplug_value && !nics.delete_unplug_value);
        assert_eq!(r.unplug.get("NICS"), Some(&Val::Other));
        assert!(!r.calls.iter().any(|c| c.starts_with("delete")));
    }

    #[test]
    fn force_unplug_requests_without_enum_and_is_kept() {
        let mut r = reg(&[("NICS", Val::Dword(0))], &[("NICS", Val::Dword(1))], None);
        let (state, [_, nics]) = initialize(&mut r, false);
        assert!(state.request(UnplugType::Nics));
        assert_eq!(nics.logged_value, Some(1));
        assert!(!r.unplug.contains_key("NICS"));
        assert_eq!(r.force.get("NICS"), Some(&Val::Dword(1)));
        assert!(!r.calls.iter().any(|c| c == "read Unplug\\NICS"));
        assert!(!r.calls.iter().any(|c| c.starts_with("enumerate")));
    }

    #[test]
    fn zero_or_unreadable_force_falls_through_to_unplug() {
        for force in [Val::Dword(0), Val::Other] {
            let mut r = reg(
                &[("DISKS", Val::Dword(2))],
                &[("DISKS", force)],
                Some(&[VBD]),
            );
            let (state, [disks, _]) = initialize(&mut r, false);
            assert!(state.request(UnplugType::Disks));
            assert_eq!(disks.logged_value, Some(2));
        }
    }

    #[test]
    fn force_with_missing_unplug_value_still_requests() {
        let mut r = reg(&[], &[("DISKS", Val::Dword(0xffff_ffff))], None);
        let (state, [disks, _]) = initialize(&mut r, true);
        assert!(state.request(UnplugType::Disks));
        assert!(state.boot_emulated);
        assert_eq!(state.mask(UnplugType::Disks), UnplugMask::AUX_IDE_DISKS);
        assert_eq!(disks.logged_value, Some(0xffff_ffff));
        // The delete of a missing value fails; that is ignored.
        assert!(r.calls.iter().any(|c| c == "delete Unplug\\DISKS"));
    }

    #[test]
    fn decide_request_truth_table() {
        type Read = Result<u32, RegistryError>;
        use RegistryError::{NotFound, WrongType};
        let f = Frontend::Seen;
        let n = Frontend::NotSeen;
        // (force, unplug, frontend) -> (request, delete)
        let cases: [(Read, Read, Frontend, bool, bool); 9] = [
            (Err(NotFound), Err(NotFound), f, false, false),
            (Err(NotFound), Err(WrongType), f, false, false),
            (Err(NotFound), Ok(0), n, false, true),
            (Err(NotFound), Ok(1), f, true, true),
            (Err(NotFound), Ok(1), n, false, true),
            (Ok(0), Ok(7), f, true, true),
            (Ok(1), Err(NotFound), n, true, true),
            (Ok(1), Ok(0), n, true, true),
            (
                Err(WrongType),
                Ok(1),
                Frontend::Unavailable(NotFound),
                false,
                true,
            ),
        ];
        for (force, unplug, frontend, request, delete) in cases {
            let d = decide_request(force, unplug, frontend);
            assert_eq!(
                (d.request, d.delete_unplug_value),
                (request, delete),
                "{force:?} {unplug:?} {frontend:?}"
            );
            assert_eq!(
                needs_frontend_check(force, unplug),
                !forced(force) && matches!(unplug, Ok(v) if v != 0)
            );
        }
    }

    // ---- counters ----------------------------------------------------------------------------

    #[test]
    fn increment_counts_from_missing() {
        let mut r = reg(&[], &[], None);
        assert_eq!(increment_value(&mut r, UnplugType::Disks), Ok(1));
        assert_eq!(increment_value(&mut r, UnplugType::Disks), Ok(2));
        assert_eq!(r.unplug.get("DISKS"), Some(&Val::Dword(2)));
        assert_eq!(r.unplug.get("NICS"), None);
        assert_eq!(increment_value(&mut r, UnplugType::Nics), Ok(1));
        assert_eq!(r.unplug.get("NICS"), Some(&Val::Dword(1)));
    }

    #[test]
    fn increment_replaces_a_wrongly_typed_value_and_saturates() {
        let mut r = reg(
            &[("NICS", Val::Other), ("DISKS", Val::Dword(u32::MAX))],
            &[],
            None,
        );
        assert_eq!(increment_value(&mut r, UnplugType::Nics), Ok(1));
        assert_eq!(r.unplug.get("NICS"), Some(&Val::Dword(1)));
        assert_eq!(increment_value(&mut r, UnplugType::Disks), Ok(u32::MAX));
        assert_eq!(r.unplug.get("DISKS"), Some(&Val::Dword(u32::MAX)));
    }

    #[test]
    fn increment_reports_a_failed_write() {
        let mut r = reg(&[], &[], None);
        r.write_error = Some(RegistryError::Os(-1_073_741_790));
        assert_eq!(
            increment_value(&mut r, UnplugType::Disks),
            Err(CounterError::Registry(RegistryError::Os(-1_073_741_790)))
        );
    }

    #[test]
    fn decrement_rules() {
        let mut r = reg(
            &[("DISKS", Val::Dword(2)), ("NICS", Val::Dword(0))],
            &[],
            None,
        );
        assert_eq!(decrement_value(&mut r, UnplugType::Disks), Ok(1));
        assert_eq!(decrement_value(&mut r, UnplugType::Disks), Ok(0));
        assert_eq!(
            decrement_value(&mut r, UnplugType::Disks),
            Err(CounterError::WouldGoNegative)
        );
        assert_eq!(r.unplug.get("DISKS"), Some(&Val::Dword(0)));
        assert_eq!(
            decrement_value(&mut r, UnplugType::Nics),
            Err(CounterError::WouldGoNegative)
        );
        let mut r = reg(&[], &[], None);
        assert_eq!(
            decrement_value(&mut r, UnplugType::Nics),
            Err(CounterError::Registry(RegistryError::NotFound))
        );
        assert!(!r.calls.iter().any(|c| c.starts_with("write")));
    }

    #[test]
    fn decrement_refuses_values_negative_as_a_long() {
        for v in [0x8000_0000, 0x8000_0001, u32::MAX] {
            let mut r = reg(&[("DISKS", Val::Dword(v))], &[], None);
            assert_eq!(
                decrement_value(&mut r, UnplugType::Disks),
                Err(CounterError::WouldGoNegative),
                "{v:#x}"
            );
            assert_eq!(r.unplug.get("DISKS"), Some(&Val::Dword(v)));
        }
        let mut r = reg(&[("DISKS", Val::Dword(0x7fff_ffff))], &[], None);
        assert_eq!(decrement_value(&mut r, UnplugType::Disks), Ok(0x7fff_fffe));
    }

    #[test]
    fn decrement_of_a_wrongly_typed_value_fails_without_writing() {
        let mut r = reg(&[("DISKS", Val::Other)], &[], None);
        assert_eq!(
            decrement_value(&mut r, UnplugType::Disks),
            Err(CounterError::Registry(RegistryError::WrongType))
        );
        assert_eq!(r.unplug.get("DISKS"), Some(&Val::Other));
    }

    #[test]
    fn a_boot_cycle_request_then_consume_then_rerequest() {
        // Boot 1: the frontend asks for next boot's unplug.
        let mut r = reg(&[("DISKS", Val::Dword(0))], &[], Some(&[VBD]));
        let (s, _) = initialize(&mut r, false);
        assert!(!s.request(UnplugType::Disks));
        assert_eq!(increment_value(&mut r, UnplugType::Disks), Ok(1));
        // Boot 2: granted and consumed; the frontend asks again.
        let (s, _) = initialize(&mut r, false);
        assert!(s.request(UnplugType::Disks));
        assert!(!r.unplug.contains_key("DISKS"));
        assert_eq!(increment_value(&mut r, UnplugType::Disks), Ok(1));
        // Boot 3: the frontend is gone from Enum\XENBUS: vetoed.
        r.xenbus = Some(vec![]);
        let (s, _) = initialize(&mut r, false);
        assert!(!s.request(UnplugType::Disks));
    }

    #[test]
    fn random_registry_contents_never_panic_and_obey_the_rules() {
        let mut x: u64 = 0xdead_beef_cafe_f00d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let pick = |n: u64| -> Val {
            match n % 5 {
                0 => Val::Other,
                1 => Val::Dword(0),
                2 => Val::Dword(1),
                3 => Val::Dword(u32::MAX),
                _ => Val::Dword(u32::try_from(n >> 32).unwrap()),
            }
        };
        for _ in 0..5000 {
            let n = next();
            let mut r = FakeRegistry::default();
            for (i, name) in ["DISKS", "NICS"].into_iter().enumerate() {
                let bits = n >> (i * 16);
                if bits & 1 != 0 {
                    r.unplug.insert(name.to_string(), pick(next()));
                }
                if bits & 2 != 0 {
                    r.force.insert(name.to_string(), pick(next()));
                }
            }
            r.xenbus = match (n >> 40) % 4 {
                0 => None,
                1 => Some(vec![VBD.as_bytes().to_vec()]),
                2 => Some(vec![VIF.as_bytes().to_vec(), b"\xff\0VBD".to_vec()]),
                _ => Some(vec![VBD.as_bytes().to_vec(), VIF.as_bytes().to_vec()]),
            };
            let before = r.unplug.clone();
            let force = r.force.clone();
            let (state, decisions) = initialize(&mut r, n & (1 << 50) != 0);
            for (kind, d) in UnplugType::ALL.into_iter().zip(decisions) {
                let name = kind.value_name();
                let forced = matches!(force.get(name), Some(Val::Dword(v)) if *v != 0);
                let readable = matches!(before.get(name), Some(Val::Dword(_)));
                assert_eq!(state.request(kind), d.request);
                if forced {
                    assert!(d.request);
                }
                if d.request && !forced {
                    assert!(readable);
                    let seen = r
                        .xenbus
                        .as_ref()
                        .is_some_and(|ks| ks.iter().any(|k| frontend_seen_in(k, kind)));
                    assert!(seen);
                }
                // The value is consumed exactly when it was forced or readable.
                assert_eq!(
                    r.unplug.contains_key(name),
                    before.contains_key(name) && !forced && !readable
                );
                assert_eq!(r.force.get(name), force.get(name));
            }
        }
    }
}
