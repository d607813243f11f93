// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The `Host` the monitor's decisions run against: the service's `Parameters` key, the
//! services' display names, the prompt thread and the system calls.

use monitor::log::Level;
use monitor::monitor::Host;
use monitor::service_key;
use monitor::settings::{
    self, AutoReboot, DISPLAY_NAME, PROMPT_TIMEOUT, REBOOT_COUNT, SettingError,
    TEST_PROMPT_RESPONSE,
};
use windows_sys::Win32::System::Registry::KEY_READ;

use super::debug::{self, error_text};
use super::prompt;
use super::registry::{Key, Values};
use super::service::Shared;
use super::system;

/// The service's host: its `Parameters` key and what it shares with the prompt thread.
pub struct WinHost<'a> {
    parameters: &'a Key,
    shared: &'static Shared,
}

impl<'a> WinHost<'a> {
    /// A host over the open `Parameters` key (read and set access).
    pub const fn new(parameters: &'a Key, shared: &'static Shared) -> Self {
        Self { parameters, shared }
    }

    /// An optional DWORD of `Parameters`; unusable values are logged and `default` used.
    fn optional(&self, step: &str, name: &'static str, default: u32) -> u32 {
        let (value, problem) =
            settings::optional_dword(&mut Values(self.parameters), name, default);
        if let Some(p) = problem {
            debug::error(step, &format!("{p}: {default} is used"));
        }
        value
    }
}

impl Host for WinHost<'_> {
    fn log(&mut self, level: Level, step: &str, message: &str) {
        debug::log(level, step, message);
    }

    fn install_in_progress(&mut self) -> bool {
        system::msi_install_running()
    }

    fn system_required(&mut self) -> bool {
        system::system_required()
    }

    fn auto_reboot(&mut self) -> (AutoReboot, Vec<SettingError>) {
        AutoReboot::read(&mut Values(self.parameters))
    }

    fn set_reboot_count(&mut self, count: u32) {
        const STEP: &str = "TryAutoReboot";
        if let Err(e) = self.parameters.set_dword(REBOOT_COUNT, count) {
            debug::error(
                STEP,
                &format!("{REBOOT_COUNT} = {count}: {}", error_text(e)),
            );
        } else if let Err(e) = self.parameters.flush() {
            debug::error(STEP, &format!("flush: {}", error_text(e)));
        }
    }

    fn delete_reboot_count(&mut self) {
        // Absent most of the time: only a deletion that happened is flushed (as upstream).
        if self.parameters.delete_value(REBOOT_COUNT).is_ok() {
            debug::info("CheckRequestSubKeys", &format!("{REBOOT_COUNT} deleted"));
            if let Err(e) = self.parameters.flush() {
                debug::error("CheckRequestSubKeys", &format!("flush: {}", error_text(e)));
            }
        }
    }

    fn display_name(&mut self, module: &str) -> Result<String, String> {
        let path = service_key(module);
        let key =
            Key::open(&path, KEY_READ).map_err(|e| format!("HKLM\\{path}: {}", error_text(e)))?;
        settings::string(DISPLAY_NAME, key.read(DISPLAY_NAME).map_err(error_text)?)
            .map_err(|e| format!("HKLM\\{path}: {e}"))
    }

    fn start_prompt(&mut self, title: &str, text: &str) -> Result<(), String> {
        const STEP: &str = "PromptForReboot";
        let timeout = self.optional(STEP, PROMPT_TIMEOUT, 0);
        let test_response = match settings::dword(
            TEST_PROMPT_RESPONSE,
            self.parameters.read(TEST_PROMPT_RESPONSE).ok().flatten(),
        ) {
            Ok(v) => v,
            Err(e) => {
                debug::error(STEP, &format!("{e}: ignored"));
                None
            }
        };
        prompt::start(
            prompt::Prompt {
                title: title.to_owned(),
                text: text.to_owned(),
                timeout,
                test_response,
            },
            self.shared,
        )
    }

    fn reboot(&mut self, message: Option<&str>, timeout: u32) {
        system::reboot(message, timeout);
    }
}
