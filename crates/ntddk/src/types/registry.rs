// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Registry query results and the version block (`ZwQueryValueKey`, `ZwEnumerateKey`,
//! `ZwQueryKey`, `RtlGetVersion`).
//!
//! The variable-length results are headers whose last array (`Data[1]`, `Name[1]`) runs on for
//! the length the header gives; read them through a pointer to a buffer of the returned size.

use super::basic::{LARGE_INTEGER, UCHAR, ULONG, USHORT, WCHAR};

/// `KEY_VALUE_PARTIAL_INFORMATION`: the header; `Data` runs on for `DataLength` bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KEY_VALUE_PARTIAL_INFORMATION {
    /// Title index.
    pub TitleIndex: ULONG,
    /// `REG_*` type.
    pub Type: ULONG,
    /// Bytes of data.
    pub DataLength: ULONG,
    /// The first byte of the data.
    pub Data: [UCHAR; 1],
}

/// `KEY_VALUE_FULL_INFORMATION`: the header; `Name` runs on for `NameLength` bytes and the data
/// sits at `DataOffset` from the start.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KEY_VALUE_FULL_INFORMATION {
    /// Title index.
    pub TitleIndex: ULONG,
    /// `REG_*` type.
    pub Type: ULONG,
    /// Offset of the data from the start of the structure.
    pub DataOffset: ULONG,
    /// Bytes of data.
    pub DataLength: ULONG,
    /// Bytes of name.
    pub NameLength: ULONG,
    /// The first character of the name.
    pub Name: [WCHAR; 1],
}

/// `KEY_VALUE_BASIC_INFORMATION`: the header; `Name` runs on for `NameLength` bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KEY_VALUE_BASIC_INFORMATION {
    /// Title index.
    pub TitleIndex: ULONG,
    /// `REG_*` type.
    pub Type: ULONG,
    /// Bytes of name.
    pub NameLength: ULONG,
    /// The first character of the name.
    pub Name: [WCHAR; 1],
}

/// `KEY_BASIC_INFORMATION`: the header; `Name` runs on for `NameLength` bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KEY_BASIC_INFORMATION {
    /// Last write time.
    pub LastWriteTime: LARGE_INTEGER,
    /// Title index.
    pub TitleIndex: ULONG,
    /// Bytes of name.
    pub NameLength: ULONG,
    /// The first character of the name.
    pub Name: [WCHAR; 1],
}

/// `KEY_NODE_INFORMATION`: the header; `Name` runs on for `NameLength` bytes, the class sits at
/// `ClassOffset`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KEY_NODE_INFORMATION {
    /// Last write time.
    pub LastWriteTime: LARGE_INTEGER,
    /// Title index.
    pub TitleIndex: ULONG,
    /// Offset of the class name from the start of the structure.
    pub ClassOffset: ULONG,
    /// Bytes of class name.
    pub ClassLength: ULONG,
    /// Bytes of name.
    pub NameLength: ULONG,
    /// The first character of the name.
    pub Name: [WCHAR; 1],
}

/// `KEY_FULL_INFORMATION`: the header; `Class` runs on for `ClassLength` bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KEY_FULL_INFORMATION {
    /// Last write time.
    pub LastWriteTime: LARGE_INTEGER,
    /// Title index.
    pub TitleIndex: ULONG,
    /// Offset of the class name from the start of the structure.
    pub ClassOffset: ULONG,
    /// Bytes of class name.
    pub ClassLength: ULONG,
    /// Number of subkeys.
    pub SubKeys: ULONG,
    /// Longest subkey name, in bytes.
    pub MaxNameLen: ULONG,
    /// Longest subkey class name, in bytes.
    pub MaxClassLen: ULONG,
    /// Number of values.
    pub Values: ULONG,
    /// Longest value name, in bytes.
    pub MaxValueNameLen: ULONG,
    /// Largest value data, in bytes.
    pub MaxValueDataLen: ULONG,
    /// The first character of the class name.
    pub Class: [WCHAR; 1],
}

/// `RTL_OSVERSIONINFOW` (`RtlGetVersion` with `dwOSVersionInfoSize` set to its size).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RTL_OSVERSIONINFOW {
    /// `dwOSVersionInfoSize`: set by the caller.
    pub dwOSVersionInfoSize: ULONG,
    /// `dwMajorVersion`.
    pub dwMajorVersion: ULONG,
    /// `dwMinorVersion`.
    pub dwMinorVersion: ULONG,
    /// `dwBuildNumber`.
    pub dwBuildNumber: ULONG,
    /// `dwPlatformId`.
    pub dwPlatformId: ULONG,
    /// `szCSDVersion`: the service pack, NUL-terminated.
    pub szCSDVersion: [WCHAR; 128],
}

/// `RTL_OSVERSIONINFOEXW` (`RtlGetVersion` with `dwOSVersionInfoSize` set to its size).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RTL_OSVERSIONINFOEXW {
    /// `dwOSVersionInfoSize`: set by the caller.
    pub dwOSVersionInfoSize: ULONG,
    /// `dwMajorVersion`.
    pub dwMajorVersion: ULONG,
    /// `dwMinorVersion`.
    pub dwMinorVersion: ULONG,
    /// `dwBuildNumber`.
    pub dwBuildNumber: ULONG,
    /// `dwPlatformId`.
    pub dwPlatformId: ULONG,
    /// `szCSDVersion`: the service pack, NUL-terminated.
    pub szCSDVersion: [WCHAR; 128],
    /// `wServicePackMajor`.
    pub wServicePackMajor: USHORT,
    /// `wServicePackMinor`.
    pub wServicePackMinor: USHORT,
    /// `wSuiteMask` (`VER_SUITE_*`).
    pub wSuiteMask: USHORT,
    /// `wProductType` (`VER_NT_*`).
    pub wProductType: UCHAR,
    /// `wReserved`.
    pub wReserved: UCHAR,
}
