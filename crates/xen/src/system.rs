// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! System: the decisions behind the `System*` exports, sans-IO.
//!
//! The Windows glue gathers the inputs (processor count, registry values, CPUID, the MADT, the
//! physical memory ranges) and applies the outcomes (which DPC to queue, which hypercall to
//! issue, what to answer).
//!
//! # What upstream does (`src/xen/system.c`, `DriverGetNamedPages` in `src/xen/driver.c`)
//!
//! * `SystemInitialize` sizes a processor table from `KeQueryMaximumProcessorCountEx`
//!   (hot-pluggable processors included), reads `Parameters\RegisterVcpuInfo` (a DWORD; when
//!   it cannot be read, registration is on exactly when there are more than
//!   `XEN_LEGACY_MAX_VCPUS` = 32 processors, because `shared_info` only holds 32 `vcpu_info`s),
//!   logs the start options, the OS version and the physical memory ranges (keeping the highest
//!   end address for `SystemMaximumPhysicalAddress`), fetches the MADT and registers a
//!   processor-change callback.
//! * For every `KeProcessorAddCompleteNotify` (existing processors first) the callback marks the
//!   processor initialised and runs a DPC on it that reads the APIC id (`CPUID(1).EBX[31:24]`),
//!   maps it to the ACPI processor id through the MADT (`BUG()` when missing) and registers the
//!   processor's `vcpu_info` if registration is on. Start and failure notifications are ignored.
//! * `vcpu_info` lives in three pages named by the volatile `XEN\Memory` values `VCPU_INFO_0..2`
//!   (`REG_BINARY`, one 8-byte PFN each), allocated when a value is missing and otherwise
//!   reused, so a reloaded xen.sys finds the pages Xen still writes to. Slot `n` (the NT
//!   processor index) is at byte `64 n`, its "registered" flag at byte `8192 + n`.
//! * `RealTimeIsUniversal` is read from `Control\TimeZoneInformation`: a DWORD, else a QWORD,
//!   non-zero meaning UTC; missing or unreadable meaning local time.
//!
//! # Where we differ
//!
//! * **Slots beyond 128.** Upstream indexes the area by NT processor index without a bound, so
//!   processor 128 and above would overwrite the flags and beyond. Here such a processor
//!   has no slot ([`ProcessorError::NoVcpuInfoSlot`]).
//! * **x2APIC.** The APIC id may come from CPUID leaf `0xB` (the full x2APIC id) when the glue
//!   has it, and the MADT lookup covers x2APIC entries ([`crate::acpi`]); upstream reads only
//!   the 8-bit id.
//! * **No MADT entry** is an error for that processor ([`ProcessorError::NoMadtEntry`]), which
//!   fails the initial processor check as any failed processor does, instead of a bug check; a
//!   hot-added processor without an entry simply has no vCPU id.
//! * **Out-of-range notifications.** A processor index at or beyond the table's size is refused
//!   ([`ChangeAction::Refuse`]) where upstream only asserts and writes past its table; an
//!   unknown notification state is ignored (upstream asserts).
//! * **Named pages.** Besides upstream's length check, a stored PFN that repeats another or lies
//!   beyond the highest physical address is refused ([`NamedPagesError`]); reusing such a page
//!   would hand Xen memory we do not own.
//! * **Memory ranges.** A range whose end wraps, or lies beyond what `PHYSICAL_ADDRESS` holds,
//!   is ignored instead of producing a nonsense maximum; zero-length ranges are ignored.

use alloc::vec::Vec;

use xen_headers::hvm::hvm_info_table::HVM_MAX_VCPUS;
use xen_headers::xen::{VcpuInfo, XEN_LEGACY_MAX_VCPUS};

use crate::acpi::Madt;
use crate::registry::{REG_BINARY, RegistryError, Value};

/// The page size the `vcpu_info` area is laid out in.
pub const PAGE_SIZE: usize = 4096;
/// Its logarithm.
pub const PAGE_SHIFT: u32 = 12;
const _: () = assert!(1 << PAGE_SHIFT == PAGE_SIZE);
/// One `vcpu_info_t`.
pub const VCPU_INFO_SIZE: usize = size_of::<VcpuInfo>();
/// How many processors the area has slots for (`HVM_MAX_VCPUS`).
pub const VCPU_INFO_SLOTS: usize = HVM_MAX_VCPUS;
/// Where the per-slot "registered" flags start.
pub const REGISTERED_FLAGS_OFFSET: usize = VCPU_INFO_SIZE * VCPU_INFO_SLOTS;
/// The area: every slot, then one flag byte per slot.
pub const VCPU_INFO_AREA_SIZE: usize = REGISTERED_FLAGS_OFFSET + VCPU_INFO_SLOTS;
/// Pages the area takes (3).
pub const VCPU_INFO_PAGES: usize = VCPU_INFO_AREA_SIZE.div_ceil(PAGE_SIZE);
const _: () = assert!(VCPU_INFO_PAGES == 3 && VCPU_INFO_SIZE == 64);
/// The name of the named pages (`XEN\Memory\VCPU_INFO_<n>`).
pub const VCPU_INFO_NAME: &str = "VCPU_INFO";
/// `XEN\Parameters\RegisterVcpuInfo`.
pub const REGISTER_VCPU_INFO: &str = "RegisterVcpuInfo";
/// `Control\TimeZoneInformation\RealTimeIsUniversal`.
pub const REAL_TIME_IS_UNIVERSAL: &str = "RealTimeIsUniversal";
/// More processors than this need their `vcpu_info` registered: `shared_info` has no more.
pub const LEGACY_MAX_VCPUS: u32 = 32;
const _: () = assert!(LEGACY_MAX_VCPUS as usize == XEN_LEGACY_MAX_VCPUS);
/// The largest processor count a table is made for (Windows supports fewer).
pub const MAX_PROCESSORS: u32 = 4096;
/// The most physical memory ranges [`memory_map`] looks at.
pub const MAX_MEMORY_RANGES: usize = 4096;

// ---- vcpu_info registration policy -------------------------------------------------------------

/// Where the registration policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    /// A readable `RegisterVcpuInfo` DWORD.
    Registry(u32),
    /// The default: the value is missing or not a 4-byte DWORD.
    Default,
}

/// Whether processors register a separate `vcpu_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuInfoPolicy {
    /// Register.
    pub register: bool,
    /// Why.
    pub source: PolicySource,
    /// The processor count it was decided for.
    pub processor_count: u32,
}

impl VcpuInfoPolicy {
    /// Whether some processors will have no `vcpu_info` at all: registration is off and there
    /// are more processors than `shared_info` serves (worth a warning; upstream says nothing).
    #[must_use]
    pub const fn leaves_processors_without_vcpu_info(&self) -> bool {
        !self.register && self.processor_count > LEGACY_MAX_VCPUS
    }
}

/// The policy from `RegisterVcpuInfo` (the read's outcome) and the maximum processor count.
#[must_use]
pub fn vcpu_info_policy(
    read: Result<Value<'_>, RegistryError>,
    processor_count: u32,
) -> VcpuInfoPolicy {
    read.and_then(Value::dword).map_or(
        VcpuInfoPolicy {
            register: processor_count > LEGACY_MAX_VCPUS,
            source: PolicySource::Default,
            processor_count,
        },
        |v| VcpuInfoPolicy {
            register: v != 0,
            source: PolicySource::Registry(v),
            processor_count,
        },
    )
}

/// Where processor `cpu`'s `vcpu_info` lives in the named pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuInfoSlot {
    /// Byte offset of the `vcpu_info` in the area.
    pub area_offset: usize,
    /// Which of the pages holds it.
    pub page: usize,
    /// Its offset within that page (what `VCPUOP_register_vcpu_info` takes).
    pub page_offset: u32,
    /// Byte offset of its "registered" flag in the area.
    pub registered_offset: usize,
}

/// The slot of NT processor `cpu`, if the area has one.
#[must_use]
pub fn vcpu_info_slot(cpu: u32) -> Option<VcpuInfoSlot> {
    let cpu = usize::try_from(cpu).ok().filter(|&c| c < VCPU_INFO_SLOTS)?;
    let area_offset = cpu.checked_mul(VCPU_INFO_SIZE)?;
    Some(VcpuInfoSlot {
        area_offset,
        page: area_offset / PAGE_SIZE,
        page_offset: u32::try_from(area_offset % PAGE_SIZE).ok()?,
        registered_offset: REGISTERED_FLAGS_OFFSET.checked_add(cpu)?,
    })
}

// ---- named pages ----------------------------------------------------------------------------

/// A value name `VCPU_INFO_<n>`, without allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageName {
    bytes: [u8; 32],
    len: usize,
}

impl PageName {
    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.bytes
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

/// The value name of page `index` of the named pages `name` (`<name>_<index>`; a name too long
/// for the buffer is cut, which never happens for [`VCPU_INFO_NAME`]).
#[must_use]
pub fn page_value_name(name: &str, index: usize) -> PageName {
    let mut out = PageName {
        bytes: [0; 32],
        len: 0,
    };
    let mut digits = [0u8; 20];
    let mut n = index;
    let mut start = digits.len();
    loop {
        start = start.saturating_sub(1);
        if let Some(d) = digits.get_mut(start) {
            // `n % 10` is below 10.
            *d = b'0'.saturating_add(u8::try_from(n % 10).unwrap_or(0));
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    let parts: [&[u8]; 3] = [
        name.as_bytes(),
        b"_",
        digits.get(start..).unwrap_or_default(),
    ];
    for byte in parts.iter().flat_map(|p| p.iter()) {
        if let Some(slot) = out.bytes.get_mut(out.len) {
            *slot = *byte;
            out.len = out.len.saturating_add(1);
        }
    }
    out
}

/// Why the stored named pages cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedPagesError {
    /// Value `index` could not be read (other than missing).
    Registry {
        /// Which page.
        index: usize,
        /// The failure.
        error: RegistryError,
    },
    /// Value `index` is not an 8-byte `REG_BINARY`.
    BadValue {
        /// Which page.
        index: usize,
    },
    /// Value `index` names the same page as an earlier one.
    Duplicate {
        /// Which page.
        index: usize,
    },
    /// Value `index` names a page beyond the highest physical address.
    BeyondMemory {
        /// Which page.
        index: usize,
        /// The PFN stored.
        pfn: u64,
    },
    /// The list could not be allocated.
    NoMemory,
}

/// What to do about the named pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedPages {
    /// Every value is present and sane: map these pages again (Xen may be writing to them).
    Reuse(Vec<u64>),
    /// A value is missing: allocate fresh pages and store their PFNs (as upstream, a partly
    /// present set is replaced whole).
    Allocate,
}

/// The volatile `XEN\Memory` key.
pub trait MemoryKey {
    /// Calls `visit` with value `name`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn read(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) -> Result<(), RegistryError>;
    /// Writes `REG_BINARY` value `name`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn write_binary(&self, name: &str, data: &[u8]) -> Result<(), RegistryError>;
    /// Deletes value `name`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn delete(&self, name: &str) -> Result<(), RegistryError>;
}

/// The PFN a named-page value holds: an 8-byte `REG_BINARY`.
///
/// # Errors
/// [`RegistryError::WrongType`] otherwise.
pub fn decode_pfn(value: Value<'_>) -> Result<u64, RegistryError> {
    match (value.kind, <[u8; 8]>::try_from(value.data)) {
        (REG_BINARY, Ok(bytes)) => Ok(u64::from_le_bytes(bytes)),
        _ => Err(RegistryError::WrongType),
    }
}

/// Reads `count` named-page values of `name` in order and decides ([`NamedPages`]). `max_pfn`
/// is the highest page of RAM, when known.
///
/// # Errors
/// [`NamedPagesError`] when a value is unreadable or not sane (upstream fails the same way for
/// unreadable and wrongly sized values).
pub fn load_named_pages<K: MemoryKey + ?Sized>(
    key: &K,
    name: &str,
    count: usize,
    max_pfn: Option<u64>,
) -> Result<NamedPages, NamedPagesError> {
    let mut pfns: Vec<u64> = Vec::new();
    pfns.try_reserve_exact(count)
        .map_err(|_| NamedPagesError::NoMemory)?;
    for index in 0..count {
        let value_name = page_value_name(name, index);
        let mut decoded = Err(RegistryError::NotFound);
        match key.read(value_name.as_str(), &mut |v| decoded = decode_pfn(v)) {
            Ok(()) => {}
            Err(RegistryError::NotFound) => return Ok(NamedPages::Allocate),
            Err(error) => return Err(NamedPagesError::Registry { index, error }),
        }
        let pfn = decoded.map_err(|_| NamedPagesError::BadValue { index })?;
        if pfns.contains(&pfn) {
            return Err(NamedPagesError::Duplicate { index });
        }
        if max_pfn.is_some_and(|max| pfn > max) {
            return Err(NamedPagesError::BeyondMemory { index, pfn });
        }
        pfns.push(pfn);
    }
    Ok(NamedPages::Reuse(pfns))
}

/// Stores freshly allocated pages' PFNs as `name`'s values. On a failed write the values already
/// written are deleted again (failures of those deletes are ignored), as upstream.
///
/// # Errors
/// The index and error of the failed write.
pub fn store_named_pages<K: MemoryKey + ?Sized>(
    key: &K,
    name: &str,
    pfns: &[u64],
) -> Result<(), (usize, RegistryError)> {
    for (index, pfn) in pfns.iter().enumerate() {
        if let Err(e) = key.write_binary(page_value_name(name, index).as_str(), &pfn.to_le_bytes())
        {
            for undo in (0..index).rev() {
                let _ignored = key.delete(page_value_name(name, undo).as_str());
            }
            return Err((index, e));
        }
    }
    Ok(())
}

// ---- physical memory and the RTC ------------------------------------------------------------

/// One `PHYSICAL_MEMORY_RANGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysicalRange {
    /// `BaseAddress`.
    pub base: u64,
    /// `NumberOfBytes`.
    pub bytes: u64,
}

/// What [`memory_map`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryMap {
    /// The highest inclusive end address of a usable range (0: none).
    pub maximum: u64,
    /// Ranges used.
    pub ranges: usize,
    /// Ranges ignored: empty, wrapping, or ending beyond `i64::MAX`.
    pub ignored: usize,
    /// More than [`MAX_MEMORY_RANGES`] ranges came before the terminator; the rest were not
    /// looked at.
    pub truncated: bool,
}

impl MemoryMap {
    /// The maximum as `SystemMaximumPhysicalAddress` returns it.
    #[must_use]
    pub fn maximum_physical_address(&self) -> i64 {
        i64::try_from(self.maximum).unwrap_or(0)
    }

    /// The highest page frame number of RAM, if any range was usable.
    #[must_use]
    pub const fn maximum_pfn(&self) -> Option<u64> {
        if self.ranges == 0 {
            None
        } else {
            Some(self.maximum >> PAGE_SHIFT)
        }
    }
}

/// The highest physical address over `MmGetPhysicalMemoryRanges`' list, which ends at its first
/// all-zero entry.
pub fn memory_map(ranges: impl IntoIterator<Item = PhysicalRange>) -> MemoryMap {
    let mut map = MemoryMap::default();
    for (seen, range) in ranges.into_iter().enumerate() {
        if range.base == 0 && range.bytes == 0 {
            break;
        }
        if seen >= MAX_MEMORY_RANGES {
            map.truncated = true;
            break;
        }
        let end = range
            .bytes
            .checked_sub(1)
            .and_then(|last| range.base.checked_add(last))
            .filter(|&end| i64::try_from(end).is_ok());
        match end {
            Some(end) => {
                map.maximum = map.maximum.max(end);
                map.ranges = map.ranges.saturating_add(1);
            }
            None => map.ignored = map.ignored.saturating_add(1),
        }
    }
    map
}

/// Which value decided the RTC mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcSource {
    /// A 4-byte `REG_DWORD`.
    Dword(u32),
    /// An 8-byte `REG_QWORD`.
    Qword(u64),
    /// No value: Windows' default, local time.
    Missing,
    /// The value (or key) could not be read, or is neither: local time, and upstream logs an
    /// error.
    Unreadable(RegistryError),
}

/// Whether the RTC keeps UTC, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealTime {
    /// `SystemRealTimeIsUniversal`.
    pub universal: bool,
    /// Why.
    pub source: RtcSource,
}

/// Decides `RealTimeIsUniversal` from the read of `TimeZoneInformation\RealTimeIsUniversal`.
#[must_use]
pub fn real_time_is_universal(read: Result<Value<'_>, RegistryError>) -> RealTime {
    let source = match read {
        Err(RegistryError::NotFound) => RtcSource::Missing,
        Err(e) => RtcSource::Unreadable(e),
        Ok(v) => match (v.dword(), v.qword()) {
            (Ok(d), _) => RtcSource::Dword(d),
            (_, Ok(q)) => RtcSource::Qword(q),
            _ => RtcSource::Unreadable(RegistryError::WrongType),
        },
    };
    let universal = match source {
        RtcSource::Dword(d) => d != 0,
        RtcSource::Qword(q) => q != 0,
        RtcSource::Missing | RtcSource::Unreadable(_) => false,
    };
    RealTime { universal, source }
}

// ---- processors ------------------------------------------------------------------------------

/// The local APIC id of the processor running `CPUID`.
///
/// The x2APIC id from leaf `0xB` (`leaf_0b` = its EBX and EDX, when the processor has the leaf)
/// if that leaf is valid (EBX non-zero), else the 8-bit initial APIC id from leaf 1 EBX bits
/// 31..24, as upstream.
#[must_use]
pub const fn apic_id(leaf1_ebx: u32, leaf_0b: Option<(u32, u32)>) -> u32 {
    match leaf_0b {
        Some((ebx, edx)) if ebx & 0xFFFF != 0 => edx,
        _ => leaf1_ebx >> 24,
    }
}

/// A processor-change notification state (`KE_PROCESSOR_CHANGE_NOTIFY_STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorChangeState {
    /// `KeProcessorAddStartNotify` (0).
    AddStart,
    /// `KeProcessorAddCompleteNotify` (1).
    AddComplete,
    /// `KeProcessorAddFailureNotify` (2).
    AddFailure,
    /// Anything else.
    Unknown(u32),
}

impl ProcessorChangeState {
    /// The state for the raw kernel value.
    #[must_use]
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            0 => Self::AddStart,
            1 => Self::AddComplete,
            2 => Self::AddFailure,
            other => Self::Unknown(other),
        }
    }
}

/// What the processor-change callback does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    /// Nothing (start and failure notifications, unknown states).
    Ignore,
    /// The processor is marked initialised: run the identification on it (a DPC targeted at
    /// it) and wait for it.
    Initialize {
        /// NT processor index.
        cpu: u32,
    },
    /// The index is beyond the table sized at load: nothing is touched.
    Refuse {
        /// NT processor index.
        cpu: u32,
    },
}

/// Why a processor query or step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorError {
    /// The index is at or beyond the processor count (`STATUS_UNSUCCESSFUL`).
    OutOfRange,
    /// The processor has not been added (`STATUS_NOT_SUPPORTED`).
    NotInitialized,
    /// No MADT entry has this APIC id (`STATUS_NOT_SUPPORTED`; upstream bug-checks).
    NoMadtEntry {
        /// The APIC id looked for.
        apic_id: u32,
    },
    /// The processor's vCPU id is not known (`STATUS_NOT_SUPPORTED`).
    VcpuIdUnknown,
    /// The `vcpu_info` area has no slot for this processor (`STATUS_NOT_SUPPORTED`).
    NoVcpuInfoSlot,
    /// No registered `vcpu_info` (`STATUS_NOT_SUPPORTED`).
    NotRegistered,
    /// Xen refused the registration, with this NTSTATUS.
    Registration(i32),
    /// The table could not be allocated, or the count is 0 or above [`MAX_PROCESSORS`].
    BadCount,
}

impl ProcessorError {
    /// The NTSTATUS the exports answer with.
    #[must_use]
    pub const fn ntstatus(self) -> i32 {
        match self {
            Self::OutOfRange | Self::BadCount => ntstatus::STATUS_UNSUCCESSFUL,
            Self::Registration(status) => status,
            Self::NotInitialized
            | Self::NoMadtEntry { .. }
            | Self::VcpuIdUnknown
            | Self::NoVcpuInfoSlot
            | Self::NotRegistered => ntstatus::STATUS_NOT_SUPPORTED,
        }
    }
}

/// What one processor is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Processor {
    /// An add-complete notification arrived for it.
    pub initialized: bool,
    /// Its local APIC id, once identified.
    pub apic_id: Option<u32>,
    /// Its Xen vCPU id (the MADT processor UID), once identified.
    pub vcpu_id: Option<u32>,
    /// Its registered `vcpu_info` slot, once Xen accepted it.
    pub vcpu_info: Option<VcpuInfoSlot>,
    /// The outcome of its initialisation, once finished.
    pub status: Option<Result<(), ProcessorError>>,
}

/// What `SystemProcessorRegisterVcpuInfo` does for one processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Registration is off: nothing to do, success.
    Disabled,
    /// Issue `VCPUOP_register_vcpu_info(vcpu_id, pfn of slot.page, slot.page_offset)` on the
    /// processor, then set its flag and record the slot ([`ProcessorTable::registered`]).
    Register {
        /// The vCPU to register for.
        vcpu_id: u32,
        /// Where.
        slot: VcpuInfoSlot,
    },
    /// Already registered (by this or a previous load of xen.sys) and not forced: record the
    /// slot and go on.
    Keep {
        /// Where.
        slot: VcpuInfoSlot,
    },
}

/// The per-processor state behind `SystemProcessor*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorTable {
    processors: Vec<Processor>,
}

impl ProcessorTable {
    /// A table for `count` processors (`KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS)`).
    ///
    /// # Errors
    /// [`ProcessorError::BadCount`] for 0, more than [`MAX_PROCESSORS`], or no memory.
    pub fn new(count: u32) -> Result<Self, ProcessorError> {
        if count == 0 || count > MAX_PROCESSORS {
            return Err(ProcessorError::BadCount);
        }
        let count = usize::try_from(count).map_err(|_| ProcessorError::BadCount)?;
        let mut processors = Vec::new();
        processors
            .try_reserve_exact(count)
            .map_err(|_| ProcessorError::BadCount)?;
        processors.resize(count, Processor::default());
        Ok(Self { processors })
    }

    /// The processor count.
    #[must_use]
    pub fn count(&self) -> u32 {
        u32::try_from(self.processors.len()).unwrap_or(u32::MAX)
    }

    /// Processor `cpu`'s state.
    ///
    /// # Errors
    /// [`ProcessorError::OutOfRange`].
    pub fn processor(&self, cpu: u32) -> Result<&Processor, ProcessorError> {
        usize::try_from(cpu)
            .ok()
            .and_then(|i| self.processors.get(i))
            .ok_or(ProcessorError::OutOfRange)
    }

    fn processor_mut(&mut self, cpu: u32) -> Result<&mut Processor, ProcessorError> {
        usize::try_from(cpu)
            .ok()
            .and_then(|i| self.processors.get_mut(i))
            .ok_or(ProcessorError::OutOfRange)
    }

    /// The processor-change callback's decision for a notification about `cpu`.
    pub fn on_change(&mut self, cpu: u32, state: ProcessorChangeState) -> ChangeAction {
        match state {
            ProcessorChangeState::AddComplete => match self.processor_mut(cpu) {
                Ok(p) => {
                    p.initialized = true;
                    p.status = None;
                    ChangeAction::Initialize { cpu }
                }
                Err(_) => ChangeAction::Refuse { cpu },
            },
            ProcessorChangeState::AddStart
            | ProcessorChangeState::AddFailure
            | ProcessorChangeState::Unknown(_) => ChangeAction::Ignore,
        }
    }

    /// Records what the identification on `cpu` found: its APIC id, and its vCPU id from `madt`
    /// (no MADT: unknown). Returns the vCPU id.
    ///
    /// # Errors
    /// [`ProcessorError::OutOfRange`], [`ProcessorError::NotInitialized`],
    /// [`ProcessorError::NoMadtEntry`].
    pub fn identify(
        &mut self,
        cpu: u32,
        apic_id: u32,
        madt: Option<&Madt>,
    ) -> Result<u32, ProcessorError> {
        let p = self.processor_mut(cpu)?;
        if !p.initialized {
            return Err(ProcessorError::NotInitialized);
        }
        p.apic_id = Some(apic_id);
        p.vcpu_id = madt.and_then(|m| m.processor_uid(apic_id));
        p.vcpu_id.ok_or(ProcessorError::NoMadtEntry { apic_id })
    }

    /// `SystemProcessorVcpuId`.
    ///
    /// # Errors
    /// [`ProcessorError::OutOfRange`] (`STATUS_UNSUCCESSFUL`), [`ProcessorError::NotInitialized`]
    /// or [`ProcessorError::VcpuIdUnknown`] (`STATUS_NOT_SUPPORTED`).
    pub fn vcpu_id(&self, cpu: u32) -> Result<u32, ProcessorError> {
        let p = self.processor(cpu)?;
        if !p.initialized {
            return Err(ProcessorError::NotInitialized);
        }
        p.vcpu_id.ok_or(ProcessorError::VcpuIdUnknown)
    }

    /// `SystemProcessorRegisterVcpuInfo`'s decision. `flag_set` is the processor's
    /// "registered" flag as the named pages hold it (it survives a reload of xen.sys).
    ///
    /// # Errors
    /// [`ProcessorError::OutOfRange`], [`ProcessorError::NotInitialized`],
    /// [`ProcessorError::VcpuIdUnknown`], [`ProcessorError::NoVcpuInfoSlot`].
    pub fn registration(
        &self,
        cpu: u32,
        policy: &VcpuInfoPolicy,
        force: bool,
        flag_set: bool,
    ) -> Result<Registration, ProcessorError> {
        if !policy.register {
            return Ok(Registration::Disabled);
        }
        let vcpu_id = self.vcpu_id(cpu)?;
        let slot = vcpu_info_slot(cpu).ok_or(ProcessorError::NoVcpuInfoSlot)?;
        Ok(if !flag_set || force {
            Registration::Register { vcpu_id, slot }
        } else {
            Registration::Keep { slot }
        })
    }

    /// Records the outcome of a [`Registration::Register`] or [`Registration::Keep`]: on
    /// success the slot is the processor's `vcpu_info`; on failure it has none.
    ///
    /// # Errors
    /// [`ProcessorError::OutOfRange`], or the registration's own failure.
    pub fn registered(
        &mut self,
        cpu: u32,
        slot: VcpuInfoSlot,
        outcome: Result<(), i32>,
    ) -> Result<(), ProcessorError> {
        let p = self.processor_mut(cpu)?;
        match outcome {
            Ok(()) => {
                p.vcpu_info = Some(slot);
                Ok(())
            }
            Err(status) => {
                p.vcpu_info = None;
                Err(ProcessorError::Registration(status))
            }
        }
    }

    /// `SystemProcessorVcpuInfo`: the processor's registered slot.
    ///
    /// # Errors
    /// [`ProcessorError::OutOfRange`] (`STATUS_UNSUCCESSFUL`), else `STATUS_NOT_SUPPORTED`
    /// errors.
    pub fn vcpu_info(&self, cpu: u32) -> Result<VcpuInfoSlot, ProcessorError> {
        let p = self.processor(cpu)?;
        if !p.initialized {
            return Err(ProcessorError::NotInitialized);
        }
        p.vcpu_info.ok_or(ProcessorError::NotRegistered)
    }

    /// Records how `cpu`'s initialisation ended.
    pub fn finish(&mut self, cpu: u32, status: Result<(), ProcessorError>) {
        if let Ok(p) = self.processor_mut(cpu) {
            p.status = Some(status);
        }
    }

    /// `SystemCheckProcessors`: the first initialised processor whose initialisation failed or
    /// has not finished, with why.
    ///
    /// # Errors
    /// `(cpu, error)`; an unfinished processor reports [`ProcessorError::NotInitialized`].
    pub fn check(&self) -> Result<(), (u32, ProcessorError)> {
        for (cpu, p) in (0u32..).zip(&self.processors) {
            if !p.initialized {
                continue;
            }
            match p.status {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err((cpu, e)),
                None => return Err((cpu, ProcessorError::NotInitialized)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acpi::{parse_madt, tests as acpi_tests};
    use crate::registry::{REG_DWORD, REG_QWORD, REG_SZ};
    use core::cell::RefCell;
    use std::collections::BTreeMap;
    use std::string::{String, ToString};
    use std::vec;

    fn dword(v: u32) -> [u8; 4] {
        v.to_le_bytes()
    }

    #[test]
    fn registration_policy_follows_the_value_else_the_processor_count() {
        let on = dword(1);
        let off = dword(0);
        assert!(vcpu_info_policy(Ok(Value::new(REG_DWORD, &on)), 4).register);
        let p = vcpu_info_policy(Ok(Value::new(REG_DWORD, &off)), 64);
        assert!(!p.register && p.source == PolicySource::Registry(0));
        assert!(p.leaves_processors_without_vcpu_info());
        assert!(!vcpu_info_policy(Err(RegistryError::NotFound), 32).register);
        assert!(vcpu_info_policy(Err(RegistryError::NotFound), 33).register);
        // Malformed values fall back to the default, as upstream's failed read does.
        let p = vcpu_info_policy(Ok(Value::new(REG_SZ, b"1\0")), 40);
        assert_eq!(p.source, PolicySource::Default);
        assert!(p.register);
        assert!(!vcpu_info_policy(Ok(Value::new(REG_DWORD, &[1, 0])), 8).register);
        assert!(!vcpu_info_policy(Ok(Value::new(REG_DWORD, &[1; 8])), 8).register);
    }

    #[test]
    fn vcpu_info_slots_follow_upstreams_layout_and_stop_at_128() {
        let s = vcpu_info_slot(0).unwrap();
        assert_eq!((s.page, s.page_offset, s.registered_offset), (0, 0, 8192));
        let s = vcpu_info_slot(65).unwrap();
        assert_eq!((s.area_offset, s.page, s.page_offset), (65 * 64, 1, 64));
        assert_eq!(s.registered_offset, 8192 + 65);
        let s = vcpu_info_slot(127).unwrap();
        assert_eq!(
            (s.page, s.page_offset, s.registered_offset),
            (1, 4032, 8319)
        );
        assert!(s.registered_offset < VCPU_INFO_PAGES * PAGE_SIZE);
        assert_eq!(vcpu_info_slot(128), None);
        assert_eq!(vcpu_info_slot(u32::MAX), None);
    }

    #[test]
    fn page_value_names_are_upstreams() {
        assert_eq!(page_value_name(VCPU_INFO_NAME, 0).as_str(), "VCPU_INFO_0");
        assert_eq!(page_value_name(VCPU_INFO_NAME, 2).as_str(), "VCPU_INFO_2");
        assert_eq!(page_value_name("X", 1234).as_str(), "X_1234");
        assert_eq!(
            page_value_name("X", usize::MAX).as_str(),
            "X_18446744073709551615"
        );
        // Too long for the buffer: cut, never a panic.
        assert_eq!(page_value_name(&"N".repeat(40), 7).as_str().len(), 32);
    }

    /// `XEN\Memory` as a map; `fail_write` makes writes of that name fail.
    #[derive(Default)]
    struct Key {
        values: RefCell<BTreeMap<String, (u32, Vec<u8>)>>,
        fail_write: Option<&'static str>,
        fail_read: Option<RegistryError>,
    }

    impl MemoryKey for Key {
        fn read(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) -> Result<(), RegistryError> {
            if let Some(e) = self.fail_read {
                return Err(e);
            }
            let values = self.values.borrow();
            let (kind, data) = values.get(name).ok_or(RegistryError::NotFound)?;
            visit(Value::new(*kind, data));
            Ok(())
        }
        fn write_binary(&self, name: &str, data: &[u8]) -> Result<(), RegistryError> {
            if self.fail_write == Some(name) {
                return Err(RegistryError::Os(-1));
            }
            self.values
                .borrow_mut()
                .insert(name.to_string(), (REG_BINARY, data.to_vec()));
            Ok(())
        }
        fn delete(&self, name: &str) -> Result<(), RegistryError> {
            self.values
                .borrow_mut()
                .remove(name)
                .map(|_| ())
                .ok_or(RegistryError::NotFound)
        }
    }

    fn put(key: &Key, index: usize, kind: u32, data: &[u8]) {
        key.values.borrow_mut().insert(
            page_value_name(VCPU_INFO_NAME, index).as_str().to_string(),
            (kind, data.to_vec()),
        );
    }

    #[test]
    fn named_pages_are_reused_when_all_present() {
        let key = Key::default();
        store_named_pages(&key, VCPU_INFO_NAME, &[0x100, 0x2000, 0x33]).unwrap();
        assert_eq!(
            load_named_pages(&key, VCPU_INFO_NAME, 3, Some(0x10_0000)),
            Ok(NamedPages::Reuse(vec![0x100, 0x2000, 0x33]))
        );
    }

    #[test]
    fn a_missing_named_page_value_means_allocate() {
        let key = Key::default();
        assert_eq!(
            load_named_pages(&key, VCPU_INFO_NAME, 3, None),
            Ok(NamedPages::Allocate)
        );
        put(&key, 0, REG_BINARY, &1u64.to_le_bytes());
        put(&key, 2, REG_BINARY, &3u64.to_le_bytes());
        assert_eq!(
            load_named_pages(&key, VCPU_INFO_NAME, 3, None),
            Ok(NamedPages::Allocate)
        );
    }

    #[test]
    fn malformed_named_page_values_are_refused() {
        for (kind, data) in [
            (REG_BINARY, vec![1u8; 4]),
            (REG_BINARY, vec![1u8; 16]),
            (REG_BINARY, vec![]),
            (REG_QWORD, 1u64.to_le_bytes().to_vec()),
        ] {
            let key = Key::default();
            put(&key, 0, kind, &data);
            assert_eq!(
                load_named_pages(&key, VCPU_INFO_NAME, 3, None),
                Err(NamedPagesError::BadValue { index: 0 })
            );
        }
        let key = Key {
            fail_read: Some(RegistryError::Os(-7)),
            ..Key::default()
        };
        assert_eq!(
            load_named_pages(&key, VCPU_INFO_NAME, 3, None),
            Err(NamedPagesError::Registry {
                index: 0,
                error: RegistryError::Os(-7)
            })
        );
    }

    #[test]
    fn duplicate_or_out_of_memory_pfns_are_refused() {
        let key = Key::default();
        store_named_pages(&key, VCPU_INFO_NAME, &[5, 6, 5]).unwrap();
        assert_eq!(
            load_named_pages(&key, VCPU_INFO_NAME, 3, None),
            Err(NamedPagesError::Duplicate { index: 2 })
        );
        store_named_pages(&key, VCPU_INFO_NAME, &[5, 6, 1 << 40]).unwrap();
        assert_eq!(
            load_named_pages(&key, VCPU_INFO_NAME, 3, Some(0xFFFF)),
            Err(NamedPagesError::BeyondMemory {
                index: 2,
                pfn: 1 << 40
            })
        );
    }

    #[test]
    fn failed_store_deletes_what_it_wrote() {
        let key = Key {
            fail_write: Some("VCPU_INFO_2"),
            ..Key::default()
        };
        assert_eq!(
            store_named_pages(&key, VCPU_INFO_NAME, &[1, 2, 3]),
            Err((2, RegistryError::Os(-1)))
        );
        assert!(key.values.borrow().is_empty());
    }

    #[test]
    fn maximum_physical_address_is_the_highest_inclusive_end() {
        let map = memory_map([
            PhysicalRange {
                base: 0x1000,
                bytes: 0x9_F000,
            },
            PhysicalRange {
                base: 0x10_0000,
                bytes: 0x7FF0_0000,
            },
            PhysicalRange {
                base: 0x1_0000_0000,
                bytes: 0x1000,
            },
            PhysicalRange { base: 0, bytes: 0 },
            PhysicalRange {
                base: 0x100_0000_0000,
                bytes: 0x1000,
            },
        ]);
        assert_eq!(map.maximum, 0x1_0000_0FFF);
        assert_eq!(map.maximum_physical_address(), 0x1_0000_0FFF);
        assert_eq!(map.ranges, 3, "the all-zero entry ends the list");
        assert_eq!(map.maximum_pfn(), Some(0x10_0000));
    }

    #[test]
    fn empty_wrapping_and_oversized_ranges_are_ignored() {
        let map = memory_map([
            PhysicalRange {
                base: 0x5000,
                bytes: 0,
            },
            PhysicalRange {
                base: u64::MAX,
                bytes: 2,
            },
            PhysicalRange {
                base: 1 << 63,
                bytes: 0x1000,
            },
            PhysicalRange {
                base: 0,
                bytes: 0x1000,
            },
        ]);
        assert_eq!((map.maximum, map.ranges, map.ignored), (0xFFF, 1, 3));
        assert_eq!(memory_map([]).maximum_pfn(), None);
        assert_eq!(memory_map([]).maximum_physical_address(), 0);
    }

    #[test]
    fn an_unterminated_range_list_stops_at_the_limit() {
        let ranges = (0..).map(|i| PhysicalRange {
            base: (i + 1) * 0x1000,
            bytes: 0x1000,
        });
        let map = memory_map(ranges);
        assert!(map.truncated);
        assert_eq!(map.ranges, MAX_MEMORY_RANGES);
    }

    #[test]
    fn real_time_is_universal_reads_dword_then_qword() {
        let one = dword(1);
        let zero = dword(0);
        let q = 1u64.to_le_bytes();
        assert!(real_time_is_universal(Ok(Value::new(REG_DWORD, &one))).universal);
        assert!(!real_time_is_universal(Ok(Value::new(REG_DWORD, &zero))).universal);
        let r = real_time_is_universal(Ok(Value::new(REG_QWORD, &q)));
        assert_eq!((r.universal, r.source), (true, RtcSource::Qword(1)));
        assert_eq!(
            real_time_is_universal(Err(RegistryError::NotFound)),
            RealTime {
                universal: false,
                source: RtcSource::Missing
            }
        );
        for (kind, data) in [
            (REG_SZ, &b"1\0"[..]),
            (REG_DWORD, &[1, 0][..]),
            (REG_QWORD, &[1, 0, 0, 0][..]),
            (REG_DWORD, &[1; 9][..]),
        ] {
            let r = real_time_is_universal(Ok(Value::new(kind, data)));
            assert_eq!(
                r,
                RealTime {
                    universal: false,
                    source: RtcSource::Unreadable(RegistryError::WrongType)
                }
            );
        }
        assert!(!real_time_is_universal(Err(RegistryError::Os(-1))).universal);
    }

    #[test]
    fn apic_id_prefers_a_valid_x2apic_leaf() {
        assert_eq!(apic_id(0x0400_0800, None), 4);
        assert_eq!(
            apic_id(0x0400_0800, Some((0, 0x1234))),
            4,
            "leaf 0xB invalid"
        );
        assert_eq!(apic_id(0xFF00_0000, Some((1, 300))), 300);
    }

    fn madt() -> Madt {
        parse_madt(&acpi_tests::madt(&[
            acpi_tests::xapic(0, 0, 1),
            acpi_tests::xapic(1, 2, 1),
            acpi_tests::x2apic(200, 400, 0),
        ]))
        .unwrap()
    }

    #[test]
    fn processor_changes_initialise_only_in_range_completions() {
        let mut t = ProcessorTable::new(2).unwrap();
        assert_eq!(
            t.on_change(0, ProcessorChangeState::AddStart),
            ChangeAction::Ignore
        );
        assert_eq!(
            t.on_change(1, ProcessorChangeState::AddFailure),
            ChangeAction::Ignore
        );
        assert_eq!(
            t.on_change(0, ProcessorChangeState::from_raw(77)),
            ChangeAction::Ignore
        );
        assert_eq!(t.vcpu_id(0), Err(ProcessorError::NotInitialized));
        assert_eq!(
            t.on_change(0, ProcessorChangeState::from_raw(1)),
            ChangeAction::Initialize { cpu: 0 }
        );
        assert_eq!(
            t.on_change(2, ProcessorChangeState::AddComplete),
            ChangeAction::Refuse { cpu: 2 }
        );
        assert_eq!(
            t.on_change(u32::MAX, ProcessorChangeState::AddComplete),
            ChangeAction::Refuse { cpu: u32::MAX }
        );
        assert_eq!(t.vcpu_id(0), Err(ProcessorError::VcpuIdUnknown));
        assert_eq!(t.vcpu_id(2), Err(ProcessorError::OutOfRange));
        assert_eq!(
            t.vcpu_id(2).unwrap_err().ntstatus(),
            ntstatus::STATUS_UNSUCCESSFUL
        );
        assert_eq!(
            t.vcpu_id(1).unwrap_err().ntstatus(),
            ntstatus::STATUS_NOT_SUPPORTED
        );
    }

    #[test]
    fn identification_maps_the_apic_id_to_the_vcpu_id() {
        let madt = madt();
        let mut t = ProcessorTable::new(4).unwrap();
        for cpu in 0..3 {
            t.on_change(cpu, ProcessorChangeState::AddComplete);
        }
        assert_eq!(t.identify(1, 2, Some(&madt)), Ok(1));
        assert_eq!(t.vcpu_id(1), Ok(1));
        assert_eq!(t.identify(2, 400, Some(&madt)), Ok(200));
        assert_eq!(
            t.identify(0, 6, Some(&madt)),
            Err(ProcessorError::NoMadtEntry { apic_id: 6 })
        );
        assert_eq!(t.vcpu_id(0), Err(ProcessorError::VcpuIdUnknown));
        assert_eq!(
            t.identify(0, 0, None),
            Err(ProcessorError::NoMadtEntry { apic_id: 0 })
        );
        assert_eq!(
            t.identify(3, 0, Some(&madt)),
            Err(ProcessorError::NotInitialized)
        );
        assert_eq!(t.processor(2).unwrap().apic_id, Some(400));
    }

    #[test]
    fn registration_registers_once_unless_forced() {
        let madt = madt();
        let mut t = ProcessorTable::new(2).unwrap();
        t.on_change(1, ProcessorChangeState::AddComplete);
        t.identify(1, 2, Some(&madt)).unwrap();
        let on = vcpu_info_policy(Err(RegistryError::NotFound), 64);
        let off = vcpu_info_policy(Err(RegistryError::NotFound), 2);
        let slot = vcpu_info_slot(1).unwrap();
        assert_eq!(
            t.registration(1, &off, true, false),
            Ok(Registration::Disabled)
        );
        assert_eq!(
            t.registration(1, &on, false, false),
            Ok(Registration::Register { vcpu_id: 1, slot })
        );
        assert_eq!(
            t.registration(1, &on, false, true),
            Ok(Registration::Keep { slot })
        );
        assert_eq!(
            t.registration(1, &on, true, true),
            Ok(Registration::Register { vcpu_id: 1, slot })
        );
        assert_eq!(
            t.registration(0, &on, false, false),
            Err(ProcessorError::NotInitialized)
        );
        assert_eq!(
            t.registration(5, &on, false, false),
            Err(ProcessorError::OutOfRange)
        );
        assert_eq!(t.vcpu_info(1), Err(ProcessorError::NotRegistered));
        assert_eq!(t.registered(1, slot, Ok(())), Ok(()));
        assert_eq!(t.vcpu_info(1), Ok(slot));
        assert_eq!(
            t.registered(1, slot, Err(-22)),
            Err(ProcessorError::Registration(-22))
        );
        assert_eq!(t.vcpu_info(1), Err(ProcessorError::NotRegistered));
    }

    #[test]
    fn processors_beyond_the_area_have_no_slot() {
        let mut t = ProcessorTable::new(200).unwrap();
        let mut m = madt();
        m.processors.push(crate::acpi::MadtProcessor {
            uid: 150,
            apic_id: 300,
            flags: 1,
            kind: crate::acpi::ApicKind::X2apic,
        });
        t.on_change(150, ProcessorChangeState::AddComplete);
        t.identify(150, 300, Some(&m)).unwrap();
        let on = vcpu_info_policy(Err(RegistryError::NotFound), 200);
        assert_eq!(
            t.registration(150, &on, false, false),
            Err(ProcessorError::NoVcpuInfoSlot)
        );
    }

    #[test]
    fn check_reports_the_first_failed_or_unfinished_processor() {
        let mut t = ProcessorTable::new(3).unwrap();
        assert_eq!(t.check(), Ok(()));
        t.on_change(0, ProcessorChangeState::AddComplete);
        t.on_change(2, ProcessorChangeState::AddComplete);
        t.finish(0, Ok(()));
        assert_eq!(t.check(), Err((2, ProcessorError::NotInitialized)));
        t.finish(2, Err(ProcessorError::NoMadtEntry { apic_id: 9 }));
        assert_eq!(
            t.check(),
            Err((2, ProcessorError::NoMadtEntry { apic_id: 9 }))
        );
        t.finish(2, Ok(()));
        t.finish(99, Ok(()));
        assert_eq!(t.check(), Ok(()));
    }

    #[test]
    fn table_sizes_are_bounded() {
        assert_eq!(ProcessorTable::new(0), Err(ProcessorError::BadCount));
        assert_eq!(
            ProcessorTable::new(MAX_PROCESSORS + 1),
            Err(ProcessorError::BadCount)
        );
        assert_eq!(
            ProcessorTable::new(MAX_PROCESSORS).unwrap().count(),
            MAX_PROCESSORS
        );
    }
}
