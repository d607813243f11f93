// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The service's settings: values of its `Parameters` key
//! (`HKLM\SYSTEM\CurrentControlSet\Services\xenbus_monitor\Parameters`), as raw registry data
//! in, checked values or a clear error out.
//!
//! | value | type | default | meaning |
//! |---|---|---|---|
//! | `RequestKey` | `REG_SZ`, required | | the key under HKLM whose subkeys carry reboot requests |
//! | `DialogTitle`, `DialogText`, `DialogQuestion` | `REG_SZ`, required | | the prompt's title and texts |
//! | `PromptTimeout` | `REG_DWORD` | 0 (none) | seconds the prompt waits for an answer |
//! | `AutoReboot` | `REG_DWORD` | 0 (never) | how many reboots the service may start by itself |
//! | `RebootCount` | `REG_DWORD` | 0 | the automatic reboots started so far (the service writes it) |
//! | `AutoRebootTimeout` | `REG_DWORD` | 60 | the countdown of an automatic reboot, in seconds |
//! | `TestPromptResponse` | `REG_DWORD` | absent | tests only: the answer the prompt takes instead of asking a session |
//!
//! A required value that is missing, of another type or not text stops the service's start
//! with the reason; an optional value that is unusable is logged and its default used (upstream
//! uses the default silently).

use core::fmt;

/// Registry type `REG_SZ`.
pub const REG_SZ: u32 = 1;
/// Registry type `REG_EXPAND_SZ`.
pub const REG_EXPAND_SZ: u32 = 2;
/// Registry type `REG_DWORD`.
pub const REG_DWORD: u32 = 4;
/// Registry type `REG_MULTI_SZ`.
pub const REG_MULTI_SZ: u32 = 7;

/// The key under HKLM to watch (the INF sets it as it sets xenbus's own `RequestKey`).
pub const REQUEST_KEY: &str = "RequestKey";
/// The prompt's title.
pub const DIALOG_TITLE: &str = "DialogTitle";
/// The sentence after the requesting driver's name.
pub const DIALOG_TEXT: &str = "DialogText";
/// The question ending the prompt.
pub const DIALOG_QUESTION: &str = "DialogQuestion";
/// Seconds the prompt waits for an answer (0: no limit).
pub const PROMPT_TIMEOUT: &str = "PromptTimeout";
/// How many automatic reboots are allowed (0: never reboot without asking).
pub const AUTO_REBOOT: &str = "AutoReboot";
/// Automatic reboots started so far; written by the service, deleted once no request is left.
pub const REBOOT_COUNT: &str = "RebootCount";
/// Countdown of an automatic reboot, in seconds.
pub const AUTO_REBOOT_TIMEOUT: &str = "AutoRebootTimeout";
/// Tests only: when present, the prompt is not sent to a session and this is its answer.
pub const TEST_PROMPT_RESPONSE: &str = "TestPromptResponse";
/// The DWORD of a request subkey that asks for a reboot when not 0 (xen.sys sets it to 1).
pub const REBOOT: &str = "Reboot";
/// The value of a service key naming the service for people.
pub const DISPLAY_NAME: &str = "DisplayName";

/// `AutoRebootTimeout` when absent.
pub const DEFAULT_AUTO_REBOOT_TIMEOUT: u32 = 60;

/// A registry value as read: its type and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// `REG_SZ`, `REG_DWORD`...
    pub kind: u32,
    /// The data, as many bytes as the registry holds.
    pub data: Vec<u8>,
}

impl Value {
    /// A `REG_SZ` value holding `text` and its terminating NUL, as Windows stores it.
    #[must_use]
    pub fn string(text: &str) -> Self {
        Self {
            kind: REG_SZ,
            data: text
                .encode_utf16()
                .chain([0])
                .flat_map(u16::to_le_bytes)
                .collect(),
        }
    }

    /// A `REG_DWORD` value.
    #[must_use]
    pub fn dword(value: u32) -> Self {
        Self {
            kind: REG_DWORD,
            data: value.to_le_bytes().to_vec(),
        }
    }
}

/// Where settings are read from: the `Parameters` key, or a service key.
pub trait Values {
    /// The value `name`, or `None` when there is none (or it cannot be read).
    fn value(&mut self, name: &str) -> Option<Value>;
}

/// Why a setting cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingError {
    /// The value is not there.
    Missing(&'static str),
    /// The value has another registry type.
    WrongType {
        /// The value.
        name: &'static str,
        /// The type it should have.
        expected: u32,
        /// The type it has.
        found: u32,
    },
    /// A `REG_DWORD` not 4 bytes long, or a string of an odd number of bytes.
    BadLength {
        /// The value.
        name: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// A string that is not UTF-16 (an unpaired surrogate).
    NotText(&'static str),
    /// An empty string where text is needed.
    Empty(&'static str),
    /// A `RequestKey` that does not name a key below HKLM (an empty component, a leading or
    /// trailing backslash): the service would watch, and at stop empty, the wrong key.
    BadKeyName(String),
}

/// `ERROR_FILE_NOT_FOUND`.
pub const ERROR_FILE_NOT_FOUND: u32 = 2;
/// `ERROR_BAD_FORMAT`.
pub const ERROR_BAD_FORMAT: u32 = 11;
/// `ERROR_BAD_PATHNAME`.
pub const ERROR_BAD_PATHNAME: u32 = 161;

impl SettingError {
    /// The Win32 error the service reports when it cannot start for this reason (upstream:
    /// the registry's `ERROR_FILE_NOT_FOUND` for a missing value, `ERROR_BAD_FORMAT` for a
    /// wrong type).
    #[must_use]
    pub const fn win32_error(&self) -> u32 {
        match self {
            Self::Missing(_) => ERROR_FILE_NOT_FOUND,
            Self::BadKeyName(_) => ERROR_BAD_PATHNAME,
            Self::WrongType { .. } | Self::BadLength { .. } | Self::NotText(_) | Self::Empty(_) => {
                ERROR_BAD_FORMAT
            }
        }
    }
}

/// The name of registry type `kind`.
#[must_use]
pub const fn type_name(kind: u32) -> &'static str {
    match kind {
        0 => "REG_NONE",
        REG_SZ => "REG_SZ",
        REG_EXPAND_SZ => "REG_EXPAND_SZ",
        3 => "REG_BINARY",
        REG_DWORD => "REG_DWORD",
        5 => "REG_DWORD_BIG_ENDIAN",
        6 => "REG_LINK",
        REG_MULTI_SZ => "REG_MULTI_SZ",
        11 => "REG_QWORD",
        _ => "an unknown type",
    }
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(name) => write!(f, "{name} is missing"),
            Self::WrongType {
                name,
                expected,
                found,
            } => write!(
                f,
                "{name} is {} (type {found}), not {}",
                type_name(*found),
                type_name(*expected)
            ),
            Self::BadLength { name, len } => write!(f, "{name} is {len} bytes long"),
            Self::NotText(name) => write!(f, "{name} is not UTF-16 text"),
            Self::Empty(name) => write!(f, "{name} is empty"),
            Self::BadKeyName(key) => write!(
                f,
                "{REQUEST_KEY} `{key}` does not name a key below HKEY_LOCAL_MACHINE"
            ),
        }
    }
}

impl std::error::Error for SettingError {}

/// The text of `REG_SZ` value `name`, up to its first NUL (Windows does not require the
/// terminating NUL to be stored).
///
/// # Errors
/// Missing, of another type, an odd number of bytes, or not UTF-16.
pub fn string(name: &'static str, value: Option<Value>) -> Result<String, SettingError> {
    let value = value.ok_or(SettingError::Missing(name))?;
    if value.kind != REG_SZ {
        return Err(SettingError::WrongType {
            name,
            expected: REG_SZ,
            found: value.kind,
        });
    }
    if value.data.len() % 2 != 0 {
        return Err(SettingError::BadLength {
            name,
            len: value.data.len(),
        });
    }
    let (pairs, _) = value.data.as_chunks::<2>();
    let units = pairs
        .iter()
        .map(|&pair| u16::from_le_bytes(pair))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| SettingError::NotText(name))
}

/// The `REG_DWORD` value `name`, `None` when absent.
///
/// # Errors
/// Of another type, or not 4 bytes long.
pub fn dword(name: &'static str, value: Option<Value>) -> Result<Option<u32>, SettingError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if value.kind != REG_DWORD {
        return Err(SettingError::WrongType {
            name,
            expected: REG_DWORD,
            found: value.kind,
        });
    }
    let bytes: [u8; 4] = value
        .data
        .as_slice()
        .try_into()
        .map_err(|_| SettingError::BadLength {
            name,
            len: value.data.len(),
        })?;
    Ok(Some(u32::from_le_bytes(bytes)))
}

/// An optional `REG_DWORD` setting: its value, `default` when absent or unusable, and why it
/// was unusable.
pub fn optional_dword(
    values: &mut dyn Values,
    name: &'static str,
    default: u32,
) -> (u32, Option<SettingError>) {
    match dword(name, values.value(name)) {
        Ok(v) => (v.unwrap_or(default), None),
        Err(e) => (default, Some(e)),
    }
}

/// The prompt's strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// `DialogTitle`.
    pub title: String,
    /// `DialogText`.
    pub text: String,
    /// `DialogQuestion`.
    pub question: String,
}

/// What the service needs before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `RequestKey`, checked: a key path below HKLM.
    pub request_key: String,
    /// The prompt's strings.
    pub dialog: Dialog,
}

/// Checks a `RequestKey`: not empty, no empty component (so neither a leading nor a trailing
/// backslash).
///
/// The service creates that key, watches it, and deletes everything below it when it stops,
/// so it must name a real key below HKLM, never HKLM itself.
///
/// # Errors
/// [`SettingError::Empty`] or [`SettingError::BadKeyName`].
pub fn check_key_name(key: &str) -> Result<(), SettingError> {
    if key.is_empty() {
        return Err(SettingError::Empty(REQUEST_KEY));
    }
    if key.split('\\').any(|c| c.trim().is_empty()) {
        return Err(SettingError::BadKeyName(key.to_owned()));
    }
    Ok(())
}

impl Settings {
    /// Reads the required settings in upstream's order: `RequestKey`, then the dialog's.
    ///
    /// # Errors
    /// The first required value that is missing or unusable.
    pub fn read(values: &mut dyn Values) -> Result<Self, SettingError> {
        let request_key = string(REQUEST_KEY, values.value(REQUEST_KEY))?;
        check_key_name(&request_key)?;
        Ok(Self {
            request_key,
            dialog: Dialog {
                title: string(DIALOG_TITLE, values.value(DIALOG_TITLE))?,
                text: string(DIALOG_TEXT, values.value(DIALOG_TEXT))?,
                question: string(DIALOG_QUESTION, values.value(DIALOG_QUESTION))?,
            },
        })
    }
}

/// The automatic-reboot settings, read each time a request is considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoReboot {
    /// `AutoReboot`: how many automatic reboots are allowed.
    pub limit: u32,
    /// `RebootCount`: how many were started.
    pub count: u32,
    /// `AutoRebootTimeout`: the shutdown countdown, seconds.
    pub timeout: u32,
}

impl AutoReboot {
    /// Reads the three values, defaults for the unusable ones, and the reasons.
    pub fn read(values: &mut dyn Values) -> (Self, Vec<SettingError>) {
        let mut problems = Vec::new();
        let mut get = |name, default| {
            let (v, e) = optional_dword(values, name, default);
            problems.extend(e);
            v
        };
        let limit = get(AUTO_REBOOT, 0);
        let count = get(REBOOT_COUNT, 0);
        let timeout = get(AUTO_REBOOT_TIMEOUT, DEFAULT_AUTO_REBOOT_TIMEOUT);
        (
            Self {
                limit,
                count,
                timeout,
            },
            problems,
        )
    }

    /// Whether one more automatic reboot is allowed.
    #[must_use]
    pub const fn allowed(&self) -> bool {
        self.limit != 0 && self.count < self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Map(HashMap<&'static str, Value>);

    impl Values for Map {
        fn value(&mut self, name: &str) -> Option<Value> {
            self.0.get(name).cloned()
        }
    }

    fn inf_parameters() -> Map {
        let mut m = Map::default();
        m.0.insert(
            REQUEST_KEY,
            Value::string("SYSTEM\\CurrentControlSet\\Services\\xenbus_monitor\\Request"),
        );
        m.0.insert(DIALOG_TITLE, Value::string("Xen"));
        m.0.insert(
            DIALOG_TEXT,
            Value::string("needs to restart the system to complete installation."),
        );
        m.0.insert(DIALOG_QUESTION, Value::string("Press 'Yes' to restart."));
        m
    }

    #[test]
    fn the_inf_settings_are_read() {
        let s = Settings::read(&mut inf_parameters()).unwrap();
        assert_eq!(
            s.request_key,
            "SYSTEM\\CurrentControlSet\\Services\\xenbus_monitor\\Request"
        );
        assert_eq!(s.dialog.title, "Xen");
        assert_eq!(s.dialog.question, "Press 'Yes' to restart.");
    }

    #[test]
    fn a_missing_required_value_is_named_in_upstream_order() {
        let mut m = inf_parameters();
        m.0.remove(DIALOG_TEXT);
        m.0.remove(DIALOG_QUESTION);
        let e = Settings::read(&mut m).unwrap_err();
        assert_eq!(e, SettingError::Missing(DIALOG_TEXT));
        assert_eq!(e.to_string(), "DialogText is missing");
        assert_eq!(e.win32_error(), ERROR_FILE_NOT_FOUND);
    }

    #[test]
    fn a_required_value_of_another_type_is_refused() {
        let mut m = inf_parameters();
        m.0.insert(DIALOG_TITLE, Value::dword(1));
        let e = Settings::read(&mut m).unwrap_err();
        assert_eq!(
            e.to_string(),
            "DialogTitle is REG_DWORD (type 4), not REG_SZ"
        );
        assert_eq!(e.win32_error(), ERROR_BAD_FORMAT);
        m.0.insert(
            DIALOG_TITLE,
            Value {
                kind: REG_EXPAND_SZ,
                data: Value::string("x").data,
            },
        );
        assert!(matches!(
            Settings::read(&mut m),
            Err(SettingError::WrongType {
                found: REG_EXPAND_SZ,
                ..
            })
        ));
    }

    #[test]
    fn request_keys_that_name_no_key_below_hklm_are_refused() {
        for bad in ["", "\\", "\\SYSTEM\\x", "SYSTEM\\x\\", "SYSTEM\\\\x", " "] {
            let mut m = inf_parameters();
            m.0.insert(REQUEST_KEY, Value::string(bad));
            let e = Settings::read(&mut m).unwrap_err();
            assert!(
                matches!(e, SettingError::Empty(_) | SettingError::BadKeyName(_)),
                "{bad:?}: {e}"
            );
        }
        assert!(check_key_name("SOFTWARE\\Requests").is_ok());
    }

    #[test]
    fn strings_end_at_the_first_nul_and_need_not_store_one() {
        let v = |data: &[u8]| Value {
            kind: REG_SZ,
            data: data.to_vec(),
        };
        assert_eq!(string("x", Some(v(b"a\0b\0"))).unwrap(), "ab");
        assert_eq!(string("x", Some(v(b"a\0\0\0b\0"))).unwrap(), "a");
        assert_eq!(string("x", Some(v(b""))).unwrap(), "");
        assert_eq!(
            string("x", Some(v(b"a\0b"))),
            Err(SettingError::BadLength { name: "x", len: 3 })
        );
        // An unpaired high surrogate.
        assert_eq!(
            string("x", Some(v(&[0x00, 0xd8, b'a', 0]))),
            Err(SettingError::NotText("x"))
        );
        assert_eq!(string("x", Some(Value::string("é€😀"))).unwrap(), "é€😀");
    }

    #[test]
    fn dwords_need_their_type_and_four_bytes() {
        assert_eq!(dword("x", None), Ok(None));
        assert_eq!(dword("x", Some(Value::dword(7))), Ok(Some(7)));
        assert_eq!(
            dword(
                "x",
                Some(Value {
                    kind: REG_DWORD,
                    data: vec![1, 0]
                })
            ),
            Err(SettingError::BadLength { name: "x", len: 2 })
        );
        assert!(matches!(
            dword("x", Some(Value::string("5"))),
            Err(SettingError::WrongType { found: REG_SZ, .. })
        ));
    }

    #[test]
    fn auto_reboot_defaults_and_reports_unusable_values() {
        let mut m = Map::default();
        let (a, problems) = AutoReboot::read(&mut m);
        assert_eq!(
            a,
            AutoReboot {
                limit: 0,
                count: 0,
                timeout: 60
            }
        );
        assert!(problems.is_empty());
        assert!(!a.allowed());

        m.0.insert(AUTO_REBOOT, Value::dword(2));
        m.0.insert(REBOOT_COUNT, Value::dword(1));
        m.0.insert(AUTO_REBOOT_TIMEOUT, Value::string("30"));
        let (a, problems) = AutoReboot::read(&mut m);
        assert_eq!((a.limit, a.count, a.timeout), (2, 1, 60));
        assert!(a.allowed());
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["AutoRebootTimeout is REG_SZ (type 1), not REG_DWORD"]
        );
        m.0.insert(REBOOT_COUNT, Value::dword(2));
        assert!(!AutoReboot::read(&mut m).0.allowed());
    }
}
