// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types::registry`: registry query results and the version block.

use super::{NtTable, layout};

pub fn items(t: &mut NtTable) {
    layout!(
        t,
        KEY_VALUE_PARTIAL_INFORMATION {
            TitleIndex,
            Type,
            DataLength,
            Data
        }
    );
    layout!(
        t,
        KEY_VALUE_FULL_INFORMATION {
            TitleIndex,
            Type,
            DataOffset,
            DataLength,
            NameLength,
            Name,
        }
    );
    layout!(
        t,
        KEY_VALUE_BASIC_INFORMATION {
            TitleIndex,
            Type,
            NameLength,
            Name
        }
    );
    layout!(
        t,
        KEY_BASIC_INFORMATION {
            LastWriteTime,
            TitleIndex,
            NameLength,
            Name
        }
    );
    layout!(
        t,
        KEY_NODE_INFORMATION {
            LastWriteTime,
            TitleIndex,
            ClassOffset,
            ClassLength,
            NameLength,
            Name,
        }
    );
    layout!(
        t,
        KEY_FULL_INFORMATION {
            LastWriteTime,
            TitleIndex,
            ClassOffset,
            ClassLength,
            SubKeys,
            MaxNameLen,
            MaxClassLen,
            Values,
            MaxValueNameLen,
            MaxValueDataLen,
            Class,
        }
    );
    layout!(
        t,
        RTL_OSVERSIONINFOW {
            dwOSVersionInfoSize,
            dwMajorVersion,
            dwMinorVersion,
            dwBuildNumber,
            dwPlatformId,
            szCSDVersion,
        }
    );
    layout!(
        t,
        RTL_OSVERSIONINFOEXW {
            dwOSVersionInfoSize,
            dwMajorVersion,
            dwMinorVersion,
            dwBuildNumber,
            dwPlatformId,
            szCSDVersion,
            wServicePackMajor,
            wServicePackMinor,
            wSuiteMask,
            wProductType,
            wReserved,
        }
    );
}
