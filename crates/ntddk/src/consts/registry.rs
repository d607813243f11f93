// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Registry and object-attribute constants: key access rights, value types, key options and
//! dispositions, change-notification filters, information classes, `OBJ_*` attributes.

use crate::types::{ACCESS_MASK, KEY_INFORMATION_CLASS, KEY_VALUE_INFORMATION_CLASS, ULONG, WCHAR};

// Key access rights.
/// `KEY_QUERY_VALUE`.
pub const KEY_QUERY_VALUE: ACCESS_MASK = 1;
/// `KEY_SET_VALUE`.
pub const KEY_SET_VALUE: ACCESS_MASK = 2;
/// `KEY_CREATE_SUB_KEY`.
pub const KEY_CREATE_SUB_KEY: ACCESS_MASK = 4;
/// `KEY_ENUMERATE_SUB_KEYS`.
pub const KEY_ENUMERATE_SUB_KEYS: ACCESS_MASK = 8;
/// `KEY_NOTIFY`.
pub const KEY_NOTIFY: ACCESS_MASK = 0x10;
/// `KEY_CREATE_LINK`.
pub const KEY_CREATE_LINK: ACCESS_MASK = 0x20;
/// `KEY_WOW64_64KEY`.
pub const KEY_WOW64_64KEY: ACCESS_MASK = 0x100;
/// `KEY_WOW64_32KEY`.
pub const KEY_WOW64_32KEY: ACCESS_MASK = 0x200;
/// `KEY_WOW64_RES`.
pub const KEY_WOW64_RES: ACCESS_MASK = 0x300;
/// `KEY_WRITE`.
pub const KEY_WRITE: ACCESS_MASK = 0x2_0006;
/// `KEY_EXECUTE`.
pub const KEY_EXECUTE: ACCESS_MASK = 0x2_0019;
/// `KEY_READ`.
pub const KEY_READ: ACCESS_MASK = 0x2_0019;
/// `KEY_ALL_ACCESS`.
pub const KEY_ALL_ACCESS: ACCESS_MASK = 0xf_003f;

// Value types, key options, dispositions, hive flags and notification filters.
/// `REG_NONE`.
pub const REG_NONE: ULONG = 0;
/// `REG_OPTION_NON_VOLATILE`.
pub const REG_OPTION_NON_VOLATILE: ULONG = 0;
/// `REG_OPTION_RESERVED`.
pub const REG_OPTION_RESERVED: ULONG = 0;
/// `REG_CREATED_NEW_KEY`.
pub const REG_CREATED_NEW_KEY: ULONG = 1;
/// `REG_FORCE_UNLOAD`.
pub const REG_FORCE_UNLOAD: ULONG = 1;
/// `REG_NOTIFY_CHANGE_NAME`.
pub const REG_NOTIFY_CHANGE_NAME: ULONG = 1;
/// `REG_OPTION_VOLATILE`.
pub const REG_OPTION_VOLATILE: ULONG = 1;
/// `REG_STANDARD_FORMAT`.
pub const REG_STANDARD_FORMAT: ULONG = 1;
/// `REG_SZ`.
pub const REG_SZ: ULONG = 1;
/// `REG_WHOLE_HIVE_VOLATILE`.
pub const REG_WHOLE_HIVE_VOLATILE: ULONG = 1;
/// `REG_EXPAND_SZ`.
pub const REG_EXPAND_SZ: ULONG = 2;
/// `REG_LATEST_FORMAT`.
pub const REG_LATEST_FORMAT: ULONG = 2;
/// `REG_NOTIFY_CHANGE_ATTRIBUTES`.
pub const REG_NOTIFY_CHANGE_ATTRIBUTES: ULONG = 2;
/// `REG_OPENED_EXISTING_KEY`.
pub const REG_OPENED_EXISTING_KEY: ULONG = 2;
/// `REG_OPTION_CREATE_LINK`.
pub const REG_OPTION_CREATE_LINK: ULONG = 2;
/// `REG_REFRESH_HIVE`.
pub const REG_REFRESH_HIVE: ULONG = 2;
/// `REG_BINARY`.
pub const REG_BINARY: ULONG = 3;
/// `REG_DWORD`.
pub const REG_DWORD: ULONG = 4;
/// `REG_DWORD_LITTLE_ENDIAN`.
pub const REG_DWORD_LITTLE_ENDIAN: ULONG = 4;
/// `REG_NOTIFY_CHANGE_LAST_SET`.
pub const REG_NOTIFY_CHANGE_LAST_SET: ULONG = 4;
/// `REG_NO_COMPRESSION`.
pub const REG_NO_COMPRESSION: ULONG = 4;
/// `REG_NO_LAZY_FLUSH`.
pub const REG_NO_LAZY_FLUSH: ULONG = 4;
/// `REG_OPTION_BACKUP_RESTORE`.
pub const REG_OPTION_BACKUP_RESTORE: ULONG = 4;
/// `REG_DWORD_BIG_ENDIAN`.
pub const REG_DWORD_BIG_ENDIAN: ULONG = 5;
/// `REG_LINK`.
pub const REG_LINK: ULONG = 6;
/// `REG_MULTI_SZ`.
pub const REG_MULTI_SZ: ULONG = 7;
/// `REG_FORCE_RESTORE`.
pub const REG_FORCE_RESTORE: ULONG = 8;
/// `REG_NOTIFY_CHANGE_SECURITY`.
pub const REG_NOTIFY_CHANGE_SECURITY: ULONG = 8;
/// `REG_OPTION_OPEN_LINK`.
pub const REG_OPTION_OPEN_LINK: ULONG = 8;
/// `REG_RESOURCE_LIST`.
pub const REG_RESOURCE_LIST: ULONG = 8;
/// `REG_FULL_RESOURCE_DESCRIPTOR`.
pub const REG_FULL_RESOURCE_DESCRIPTOR: ULONG = 9;
/// `REG_RESOURCE_REQUIREMENTS_LIST`.
pub const REG_RESOURCE_REQUIREMENTS_LIST: ULONG = 0xa;
/// `REG_QWORD`.
pub const REG_QWORD: ULONG = 0xb;
/// `REG_QWORD_LITTLE_ENDIAN`.
pub const REG_QWORD_LITTLE_ENDIAN: ULONG = 0xb;
/// `REG_OPEN_LEGAL_OPTION`.
pub const REG_OPEN_LEGAL_OPTION: ULONG = 0xc;
/// `REG_LEGAL_CHANGE_FILTER`.
pub const REG_LEGAL_CHANGE_FILTER: ULONG = 0xf;
/// `REG_LEGAL_OPTION`.
pub const REG_LEGAL_OPTION: ULONG = 0xf;
/// `REG_APP_HIVE`.
pub const REG_APP_HIVE: ULONG = 0x10;
/// `REG_PROCESS_PRIVATE`.
pub const REG_PROCESS_PRIVATE: ULONG = 0x20;
/// `REG_START_JOURNAL`.
pub const REG_START_JOURNAL: ULONG = 0x40;
/// `REG_HIVE_EXACT_FILE_GROWTH`.
pub const REG_HIVE_EXACT_FILE_GROWTH: ULONG = 0x80;
/// `REG_HIVE_NO_RM`.
pub const REG_HIVE_NO_RM: ULONG = 0x100;
/// `REG_HIVE_SINGLE_LOG`.
pub const REG_HIVE_SINGLE_LOG: ULONG = 0x200;
/// `REG_BOOT_HIVE`.
pub const REG_BOOT_HIVE: ULONG = 0x400;

// KEY_VALUE_INFORMATION_CLASS.
/// `KeyValueBasicInformation`.
pub const KeyValueBasicInformation: KEY_VALUE_INFORMATION_CLASS = 0;
/// `KeyValueFullInformation`.
pub const KeyValueFullInformation: KEY_VALUE_INFORMATION_CLASS = 1;
/// `KeyValuePartialInformation`.
pub const KeyValuePartialInformation: KEY_VALUE_INFORMATION_CLASS = 2;
/// `KeyValueFullInformationAlign64`.
pub const KeyValueFullInformationAlign64: KEY_VALUE_INFORMATION_CLASS = 3;
/// `KeyValuePartialInformationAlign64`.
pub const KeyValuePartialInformationAlign64: KEY_VALUE_INFORMATION_CLASS = 4;
/// `KeyValueLayerInformation`.
pub const KeyValueLayerInformation: KEY_VALUE_INFORMATION_CLASS = 5;
/// `MaxKeyValueInfoClass`.
pub const MaxKeyValueInfoClass: KEY_VALUE_INFORMATION_CLASS = 6;

// KEY_INFORMATION_CLASS.
/// `KeyBasicInformation`.
pub const KeyBasicInformation: KEY_INFORMATION_CLASS = 0;
/// `KeyNodeInformation`.
pub const KeyNodeInformation: KEY_INFORMATION_CLASS = 1;
/// `KeyFullInformation`.
pub const KeyFullInformation: KEY_INFORMATION_CLASS = 2;
/// `KeyNameInformation`.
pub const KeyNameInformation: KEY_INFORMATION_CLASS = 3;
/// `KeyCachedInformation`.
pub const KeyCachedInformation: KEY_INFORMATION_CLASS = 4;
/// `KeyFlagsInformation`.
pub const KeyFlagsInformation: KEY_INFORMATION_CLASS = 5;
/// `KeyVirtualizationInformation`.
pub const KeyVirtualizationInformation: KEY_INFORMATION_CLASS = 6;
/// `KeyHandleTagsInformation`.
pub const KeyHandleTagsInformation: KEY_INFORMATION_CLASS = 7;
/// `KeyTrustInformation`.
pub const KeyTrustInformation: KEY_INFORMATION_CLASS = 8;
/// `KeyLayerInformation`.
pub const KeyLayerInformation: KEY_INFORMATION_CLASS = 9;
/// `MaxKeyInfoClass`.
pub const MaxKeyInfoClass: KEY_INFORMATION_CLASS = 10;

// OBJECT_ATTRIBUTES.Attributes.
/// `OBJ_INHERIT`.
pub const OBJ_INHERIT: ULONG = 2;
/// `OBJ_PERMANENT`.
pub const OBJ_PERMANENT: ULONG = 0x10;
/// `OBJ_EXCLUSIVE`.
pub const OBJ_EXCLUSIVE: ULONG = 0x20;
/// `OBJ_CASE_INSENSITIVE`.
pub const OBJ_CASE_INSENSITIVE: ULONG = 0x40;
/// `OBJ_NAME_PATH_SEPARATOR` (`L'\\'`).
pub const OBJ_NAME_PATH_SEPARATOR: WCHAR = 0x5c;
/// `OBJ_OPENIF`.
pub const OBJ_OPENIF: ULONG = 0x80;
/// `OBJ_OPENLINK`.
pub const OBJ_OPENLINK: ULONG = 0x100;
/// `OBJ_KERNEL_HANDLE`.
pub const OBJ_KERNEL_HANDLE: ULONG = 0x200;
/// `OBJ_FORCE_ACCESS_CHECK`.
pub const OBJ_FORCE_ACCESS_CHECK: ULONG = 0x400;
/// `OBJ_IGNORE_IMPERSONATED_DEVICEMAP`.
pub const OBJ_IGNORE_IMPERSONATED_DEVICEMAP: ULONG = 0x800;
/// `OBJ_DONT_REPARSE`.
pub const OBJ_DONT_REPARSE: ULONG = 0x1000;
/// `OBJ_VALID_ATTRIBUTES`.
pub const OBJ_VALID_ATTRIBUTES: ULONG = 0x1ff2;
