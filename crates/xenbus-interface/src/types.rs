// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The Windows kernel types the tables use, spelled without Windows headers, and the common
//! interface header.

use core::ffi::{c_char, c_void};

/// `NTSTATUS`.
pub type NtStatus = i32;
/// `BOOLEAN` (one byte, 0 = FALSE).
pub type Boolean = u8;
/// `ULONG`.
pub type Ulong = u32;
/// `USHORT`.
pub type Ushort = u16;
/// `UCHAR`.
pub type Uchar = u8;
/// `LONGLONG`.
pub type LongLong = i64;
/// `ULONGLONG`.
pub type UlongLong = u64;
/// `PFN_NUMBER` (`ULONG_PTR` on x64).
pub type PfnNumber = u64;
/// `LARGE_INTEGER` and `PHYSICAL_ADDRESS`: an 8-byte union, passed and returned exactly like an
/// `i64` in both the Microsoft x64 and the System V conventions.
pub type LargeInteger = i64;
/// `PVOID`.
pub type Pvoid = *mut c_void;
/// `PSTR`.
pub type Pstr = *mut c_char;
/// `PCSTR`.
pub type Pcstr = *const c_char;
/// `PKEVENT`: a kernel event the provider signals; opaque here.
pub type Pkevent = *mut c_void;
/// `PKINTERRUPT`: always NULL when xenbus invokes an event-channel callback.
pub type Pkinterrupt = *mut c_void;

/// `PKSERVICE_ROUTINE`: the event-channel callback, `BOOLEAN (PKINTERRUPT, PVOID Argument)`.
pub type KserviceRoutine = unsafe extern "C" fn(Pkinterrupt, Pvoid) -> Boolean;

/// `PINTERFACE_REFERENCE` / `PINTERFACE_DEREFERENCE`.
pub type InterfaceReferenceFn = unsafe extern "C" fn(Pvoid);

/// The WDM `INTERFACE` header every table starts with (32 bytes on x64).
///
/// xenbus fills `size` and `version` with the requested version's values, `context` with the
/// subsystem context, and leaves both reference callbacks NULL.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct InterfaceHeader {
    /// `Size`: size in bytes of the whole table of this version.
    pub size: Ushort,
    /// `Version`: the interface version the table implements.
    pub version: Ushort,
    /// `Context`: the provider's context; the only state methods may use.
    pub context: Pvoid,
    /// `InterfaceReference`: NULL for XENBUS interfaces.
    pub interface_reference: Option<InterfaceReferenceFn>,
    /// `InterfaceDereference`: NULL for XENBUS interfaces.
    pub interface_dereference: Option<InterfaceReferenceFn>,
}

/// `PINTERFACE`: the first argument of every method, pointing at the caller's copy of the table.
pub type Pinterface = *mut InterfaceHeader;

/// A Windows `GUID`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Guid {
    /// `Data1`.
    pub data1: u32,
    /// `Data2`.
    pub data2: u16,
    /// `Data3`.
    pub data3: u16,
    /// `Data4`.
    pub data4: [u8; 8],
}

impl Guid {
    /// Builds a GUID from the `{data1-data2-data3-data4[0..2]-data4[2..8]}` groups, given as
    /// numbers so the registry spelling reads off directly.
    #[must_use]
    pub const fn from_groups(data1: u32, data2: u16, data3: u16, tail: u16, node: u64) -> Self {
        let [t0, t1] = tail.to_be_bytes();
        let [_, _, n2, n3, n4, n5, n6, n7] = node.to_be_bytes();
        Self {
            data1,
            data2,
            data3,
            data4: [t0, t1, n2, n3, n4, n5, n6, n7],
        }
    }
}

/// One served version of one interface.
pub trait InterfaceVersion {
    /// The interface's GUID.
    const GUID: Guid;
    /// The version this table implements.
    const VERSION: u16;
    /// The C name of the table type, e.g. `XENBUS_EVTCHN_INTERFACE_V9`.
    const C_NAME: &'static str;
    /// The size of the table as the header's `Size` field holds it.
    const SIZE: u16;
}

/// Implements [`InterfaceVersion`] for a table type, checking at compile time that its size fits
/// the header's 16-bit `Size`.
macro_rules! interface_version {
    ($ty:ty, $guid:expr, $version:expr, $c_name:literal) => {
        impl $crate::InterfaceVersion for $ty {
            const GUID: $crate::Guid = $guid;
            const VERSION: u16 = $version;
            const C_NAME: &'static str = $c_name;
            const SIZE: u16 = {
                let size = ::core::mem::size_of::<$ty>();
                assert!(size <= u16::MAX as usize);
                #[allow(clippy::cast_possible_truncation, reason = "checked just above")]
                let size = size as u16;
                size
            };
        }
    };
}
pub(crate) use interface_version;

/// Declares one table version: the header, then each method slot with its C name, in order.
macro_rules! interface_table {
    ($guid:expr, $(#[$doc:meta])* $name:ident, $version:literal, $c_name:literal {
        $($field:ident: $ty:ty => $c_field:literal),* $(,)?
    }) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct $name {
            /// `Interface`: the WDM header.
            pub interface: $crate::InterfaceHeader,
            $(
                #[doc = concat!("`", $c_field, "`.")]
                pub $field: $ty,
            )*
        }
        $crate::interface_version!($name, $guid, $version, $c_name);
        impl $name {
            /// Every method slot: its C name and byte offset, in slot order.
            pub const SLOTS: &'static [(&'static str, usize)] =
                &[$(($c_field, ::core::mem::offset_of!($name, $field))),*];
        }
    };
}
pub(crate) use interface_table;

/// Guid string in registry form, for debug output and tests: `{0554F2AF-B510-...}`.
impl core::fmt::Display for Guid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{{{:08X}-{:04X}-{:04X}-",
            self.data1, self.data2, self.data3
        )?;
        let (clock_seq, node) = self.data4.split_at(2);
        for byte in clock_seq {
            write!(f, "{byte:02X}")?;
        }
        f.write_str("-")?;
        for byte in node {
            write!(f, "{byte:02X}")?;
        }
        f.write_str("}")
    }
}

/// The `CHAR` type C strings are made of.
pub type Char = c_char;
