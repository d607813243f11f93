// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The service's decisions: what a scan of the request key, a tick of the retry timer or the
//! user's answer lead to.
//!
//! Sans-IO: the Windows glue hands in what it read and the [`Host`] answers the questions and
//! carries out the actions.
//!
//! The flow, as upstream's:
//!
//! 1. **Request seen** ([`Monitor::on_request`], at start, on every change under the request
//!    key and on every session change): the first subkey whose DWORD `Reboot` is not 0 names
//!    the requesting driver. The first one seen in a run is handled (later scans give
//!    [`Outcome::Pending`]); when no subkey asks, `RebootCount` is deleted.
//! 2. **Try to reboot** (then on every tick of the 60 s timer while a request is pending,
//!    [`Monitor::on_timer`]): not if the user already answered No, not while an MSI
//!    installation runs (`Global\_MSIExecute` held), not while the system must stay up
//!    (`ES_SYSTEM_REQUIRED`). If `AutoReboot` allows more automatic reboots than
//!    `RebootCount` says were started, count one more and shut down with restart after
//!    `AutoRebootTimeout` seconds, the message naming the driver.
//! 3. **Prompt** otherwise, once per run: the driver's name, `DialogText` and `DialogQuestion`
//!    under `DialogTitle`, Yes/No, to the active session.
//! 4. **Answer** ([`Monitor::on_response`]): Yes, or no answer within `PromptTimeout`,
//!    restarts at once; No is remembered (step 2 then never reboots in this run).

use crate::log::{IDNO, IDTIMEOUT, IDYES, Level, response_name};
use crate::settings::{AutoReboot, Dialog, SettingError};
use crate::text;

/// One subkey of the request key as scanned: its name (the module that asked) and its DWORD
/// `Reboot` (`None` when the subkey cannot be opened or `Reboot` is absent or not a DWORD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEntry {
    /// The subkey's name: the module (`xenbus`, or a PV driver through `XENBUS_UNPLUG`).
    pub module: String,
    /// Its `Reboot` value.
    pub reboot: Option<u32>,
}

/// Why a reboot is put off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defer {
    /// The user answered No to the prompt.
    UserSaidNo,
    /// An MSI installation holds `Global\_MSIExecute`.
    InstallInProgress,
    /// `ES_SYSTEM_REQUIRED` is set, or the execution state cannot be read.
    SystemRequired,
}

/// What an event led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No subkey asks for a reboot: `RebootCount` was deleted.
    NoRequest,
    /// A request, but one was handled before in this run (the timer retries it).
    Pending,
    /// Not now.
    Deferred(Defer),
    /// An automatic reboot was started (`RebootCount` raised first).
    AutoReboot,
    /// The prompt was started.
    Prompted,
    /// The prompt was started earlier in this run: not again.
    AlreadyPrompted,
    /// The prompt could not be started (the reason was logged); not tried again in this run.
    PromptFailed,
    /// The answer restarts the system now.
    Reboot,
    /// The answer does not (No, or something else): wait.
    Wait,
    /// A timer tick with no request pending.
    Idle,
}

/// What the decisions need from Windows, and the actions they take.
pub trait Host {
    /// Logs a line.
    fn log(&mut self, level: Level, step: &str, message: &str);
    /// Whether an MSI installation runs (`Global\_MSIExecute` held by someone).
    fn install_in_progress(&mut self) -> bool;
    /// Whether the system must stay up (`ES_SYSTEM_REQUIRED`, or the state cannot be read).
    fn system_required(&mut self) -> bool;
    /// The automatic-reboot settings, read now, and why any was unusable.
    fn auto_reboot(&mut self) -> (AutoReboot, Vec<SettingError>);
    /// Stores `RebootCount` (and flushes it: it must survive the reboot it counts).
    fn set_reboot_count(&mut self, count: u32);
    /// Deletes `RebootCount`.
    fn delete_reboot_count(&mut self);
    /// The `DisplayName` of service `module`.
    ///
    /// # Errors
    /// Why it cannot be read.
    fn display_name(&mut self, module: &str) -> Result<String, String>;
    /// Starts asking the user, without waiting: the answer comes back through
    /// [`Monitor::on_response`].
    ///
    /// # Errors
    /// Why the prompt cannot be started.
    fn start_prompt(&mut self, title: &str, text: &str) -> Result<(), String>;
    /// Restarts the system: once no installation is pending, a forced shutdown with restart
    /// after `timeout` seconds, showing `message`.
    fn reboot(&mut self, message: Option<&str>, timeout: u32);
}

/// The service's state across events.
#[derive(Debug, Clone)]
pub struct Monitor {
    dialog: Dialog,
    requested_by: Option<String>,
    prompted: bool,
    response: u32,
}

impl Monitor {
    /// A monitor that shows `dialog`, nothing requested, nobody asked.
    #[must_use]
    pub const fn new(dialog: Dialog) -> Self {
        Self {
            dialog,
            requested_by: None,
            prompted: false,
            response: 0,
        }
    }

    /// The module whose request this run handles, once one was seen.
    #[must_use]
    pub fn requested_by(&self) -> Option<&str> {
        self.requested_by.as_deref()
    }

    /// The last answer (0 before any).
    #[must_use]
    pub const fn response(&self) -> u32 {
        self.response
    }

    /// A scan of the request key's subkeys.
    pub fn on_request(&mut self, entries: &[RequestEntry], host: &mut dyn Host) -> Outcome {
        const STEP: &str = "CheckRequestSubKeys";
        for e in entries {
            let value = e
                .reboot
                .map_or_else(|| "no Reboot DWORD".to_owned(), |v| format!("Reboot = {v}"));
            host.log(Level::Info, STEP, &format!("{}: {value}", e.module));
        }
        let Some(found) = entries.iter().find(|e| e.reboot.is_some_and(|v| v != 0)) else {
            host.log(Level::Info, STEP, "no reboot requested");
            host.delete_reboot_count();
            return Outcome::NoRequest;
        };
        if let Some(by) = &self.requested_by {
            host.log(
                Level::Info,
                STEP,
                &format!(
                    "{} asks for a reboot; {by}'s request is pending",
                    found.module
                ),
            );
            return Outcome::Pending;
        }
        let module = found.module.clone();
        self.try_auto_reboot(&module, host)
    }

    /// A tick of the retry timer.
    pub fn on_timer(&mut self, host: &mut dyn Host) -> Outcome {
        self.requested_by
            .clone()
            .map_or(Outcome::Idle, |module| self.try_auto_reboot(&module, host))
    }

    /// The prompt's answer.
    pub fn on_response(&mut self, response: u32, host: &mut dyn Host) -> Outcome {
        self.response = response;
        host.log(
            Level::Info,
            "MonitorMain",
            &format!("response {} ({response})", response_name(response)),
        );
        if response == IDYES || response == IDTIMEOUT {
            host.reboot(None, 0);
            Outcome::Reboot
        } else {
            Outcome::Wait
        }
    }

    fn try_auto_reboot(&mut self, module: &str, host: &mut dyn Host) -> Outcome {
        const STEP: &str = "TryAutoReboot";
        let module = self
            .requested_by
            .get_or_insert_with(|| module.to_owned())
            .clone();
        host.log(Level::Info, STEP, &format!("requested by {module}"));
        let defer = if self.response == IDNO {
            Some(Defer::UserSaidNo)
        } else if host.install_in_progress() {
            Some(Defer::InstallInProgress)
        } else if host.system_required() {
            Some(Defer::SystemRequired)
        } else {
            None
        };
        if let Some(why) = defer {
            host.log(Level::Info, STEP, &format!("not now: {why:?}"));
            return Outcome::Deferred(why);
        }
        let (auto, problems) = host.auto_reboot();
        for p in problems {
            host.log(Level::Error, STEP, &format!("{p}: its default is used"));
        }
        if !auto.allowed() {
            return self.prompt(&module, host);
        }
        host.log(
            Level::Info,
            STEP,
            &format!("AutoRebooting (reboot {} of {})", auto.count, auto.limit),
        );
        host.set_reboot_count(auto.count.saturating_add(1));
        let description = Self::description(&module, STEP, host);
        let message = text::shutdown_message(&description, &self.dialog);
        host.reboot(Some(&message), auto.timeout);
        Outcome::AutoReboot
    }

    fn prompt(&mut self, module: &str, host: &mut dyn Host) -> Outcome {
        const STEP: &str = "PromptForReboot";
        if self.prompted {
            return Outcome::AlreadyPrompted;
        }
        self.prompted = true;
        let description = Self::description(module, STEP, host);
        let prompt = text::prompt_text(&description, &self.dialog);
        match host.start_prompt(&self.dialog.title, &prompt) {
            Ok(()) => Outcome::Prompted,
            Err(e) => {
                host.log(Level::Error, STEP, &format!("cannot prompt: {e}"));
                Outcome::PromptFailed
            }
        }
    }

    /// The requesting driver's name for people: its service's display name, or the module's
    /// own name when that cannot be read (upstream gives up on the prompt then).
    fn description(module: &str, step: &str, host: &mut dyn Host) -> String {
        match host.display_name(module) {
            Ok(name) => text::description(&name).to_owned(),
            Err(e) => {
                host.log(
                    Level::Error,
                    step,
                    &format!("DisplayName of {module}: {e}; the module's name is used"),
                );
                module.to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::IDASYNC;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Act {
        SetCount(u32),
        DeleteCount,
        Prompt(String, String),
        Reboot(Option<String>, u32),
    }

    struct Fake {
        installing: bool,
        required: bool,
        auto: AutoReboot,
        problems: Vec<SettingError>,
        names: Vec<(&'static str, &'static str)>,
        prompt_fails: bool,
        acts: Vec<Act>,
        lines: Vec<String>,
    }

    impl Default for Fake {
        fn default() -> Self {
            Self {
                installing: false,
                required: false,
                auto: AutoReboot {
                    limit: 0,
                    count: 0,
                    timeout: 60,
                },
                problems: Vec::new(),
                names: vec![
                    ("xenbus", "@oem3.inf,%XenBusName%;Xen PV Bus"),
                    ("xenvif", "Xen PV Network Class"),
                ],
                prompt_fails: false,
                acts: Vec::new(),
                lines: Vec::new(),
            }
        }
    }

    impl Host for Fake {
        fn log(&mut self, level: Level, step: &str, message: &str) {
            self.lines.push(crate::log::line(level, step, message));
        }
        fn install_in_progress(&mut self) -> bool {
            self.installing
        }
        fn system_required(&mut self) -> bool {
            self.required
        }
        fn auto_reboot(&mut self) -> (AutoReboot, Vec<SettingError>) {
            (self.auto, self.problems.clone())
        }
        fn set_reboot_count(&mut self, count: u32) {
            self.auto.count = count;
            self.acts.push(Act::SetCount(count));
        }
        fn delete_reboot_count(&mut self) {
            self.acts.push(Act::DeleteCount);
        }
        fn display_name(&mut self, module: &str) -> Result<String, String> {
            self.names
                .iter()
                .find(|(m, _)| *m == module)
                .map(|(_, n)| (*n).to_owned())
                .ok_or_else(|| "not found (2)".to_owned())
        }
        fn start_prompt(&mut self, title: &str, text: &str) -> Result<(), String> {
            self.acts.push(Act::Prompt(title.into(), text.into()));
            if self.prompt_fails {
                Err("CreateThread failed (8)".into())
            } else {
                Ok(())
            }
        }
        fn reboot(&mut self, message: Option<&str>, timeout: u32) {
            self.acts
                .push(Act::Reboot(message.map(Into::into), timeout));
        }
    }

    fn dialog() -> Dialog {
        Dialog {
            title: "Xen".into(),
            text: "needs to restart the system to complete installation.".into(),
            question: "Press 'Yes' to restart the system now or 'No' if you plan to restart the system later.".into(),
        }
    }

    fn req(module: &str, reboot: Option<u32>) -> RequestEntry {
        RequestEntry {
            module: module.into(),
            reboot,
        }
    }

    const XENBUS_PROMPT: &str = "Xen PV Bus needs to restart the system to complete \
        installation. Press 'Yes' to restart the system now or 'No' if you plan to restart \
        the system later.";

    #[test]
    fn a_request_prompts_once_with_the_drivers_name_and_the_dialog() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        assert_eq!(
            m.on_request(&[req("xenbus", Some(1))], &mut h),
            Outcome::Prompted
        );
        assert_eq!(h.acts, [Act::Prompt("Xen".into(), XENBUS_PROMPT.into())]);
        assert_eq!(m.requested_by(), Some("xenbus"));
        // Later scans (another write, a session change) leave the pending request to the timer.
        assert_eq!(
            m.on_request(&[req("xenbus", Some(1))], &mut h),
            Outcome::Pending
        );
        // The timer retries, but the prompt is shown once per run.
        assert_eq!(m.on_timer(&mut h), Outcome::AlreadyPrompted);
        assert_eq!(h.acts.len(), 1);
        assert!(
            h.lines
                .contains(&"xenbus_monitor|CheckRequestSubKeys: xenbus: Reboot = 1\r\n".into())
        );
    }

    #[test]
    fn no_request_deletes_reboot_count_and_does_nothing_else() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        let scan = [req("xenvif", Some(0)), req("xennet", None)];
        assert_eq!(m.on_request(&scan, &mut h), Outcome::NoRequest);
        assert_eq!(m.on_request(&[], &mut h), Outcome::NoRequest);
        assert_eq!(h.acts, [Act::DeleteCount, Act::DeleteCount]);
        assert_eq!(m.on_timer(&mut h), Outcome::Idle);
        assert_eq!(m.requested_by(), None);
    }

    #[test]
    fn the_first_subkey_asking_is_the_one_handled() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        let scan = [
            req("xennet", None),
            req("xenvbd", Some(0)),
            req("xenvif", Some(2)),
            req("xenbus", Some(1)),
        ];
        assert_eq!(m.on_request(&scan, &mut h), Outcome::Prompted);
        assert_eq!(m.requested_by(), Some("xenvif"));
        assert!(
            matches!(&h.acts[0], Act::Prompt(_, t) if t.starts_with("Xen PV Network Class needs"))
        );
    }

    #[test]
    fn yes_or_no_answer_in_time_restarts_now_and_no_never_does() {
        for (answer, outcome) in [
            (IDYES, Outcome::Reboot),
            (IDTIMEOUT, Outcome::Reboot),
            (IDNO, Outcome::Wait),
            (IDASYNC, Outcome::Wait),
        ] {
            let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
            m.on_request(&[req("xenbus", Some(1))], &mut h);
            assert_eq!(m.on_response(answer, &mut h), outcome, "{answer}");
            let rebooted = h.acts.contains(&Act::Reboot(None, 0));
            assert_eq!(rebooted, outcome == Outcome::Reboot, "{answer}");
        }
    }

    #[test]
    fn after_no_the_timer_never_reboots_even_when_automatic_reboots_are_allowed() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        m.on_request(&[req("xenbus", Some(1))], &mut h);
        m.on_response(IDNO, &mut h);
        h.auto.limit = 5;
        assert_eq!(m.on_timer(&mut h), Outcome::Deferred(Defer::UserSaidNo));
        assert_eq!(h.acts.len(), 1, "{:?}", h.acts);
    }

    #[test]
    fn automatic_reboots_count_up_to_the_limit_then_prompt() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        h.auto = AutoReboot {
            limit: 2,
            count: 1,
            timeout: 30,
        };
        assert_eq!(
            m.on_request(&[req("xenbus", Some(1))], &mut h),
            Outcome::AutoReboot
        );
        assert_eq!(
            h.acts,
            [
                Act::SetCount(2),
                Act::Reboot(
                    Some("Xen PV Bus needs to restart the system to complete installation.".into()),
                    30
                )
            ]
        );
        assert!(
            h.lines.contains(
                &"xenbus_monitor|TryAutoReboot: AutoRebooting (reboot 1 of 2)\r\n".into()
            )
        );
        // The reboot did not happen (yet): the next tick finds the limit reached and asks.
        assert_eq!(m.on_timer(&mut h), Outcome::Prompted);
    }

    #[test]
    fn unusable_auto_reboot_values_are_logged() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        h.problems = vec![SettingError::Missing("x")];
        m.on_request(&[req("xenbus", Some(1))], &mut h);
        assert!(h.lines.contains(
            &"xenbus_monitor|TryAutoReboot: error: x is missing: its default is used\r\n".into()
        ));
    }

    #[test]
    fn an_installation_or_a_required_system_puts_the_reboot_off_until_the_timer() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        h.installing = true;
        assert_eq!(
            m.on_request(&[req("xenbus", Some(1))], &mut h),
            Outcome::Deferred(Defer::InstallInProgress)
        );
        h.installing = false;
        h.required = true;
        assert_eq!(m.on_timer(&mut h), Outcome::Deferred(Defer::SystemRequired));
        assert!(h.acts.is_empty());
        h.required = false;
        assert_eq!(m.on_timer(&mut h), Outcome::Prompted);
    }

    #[test]
    fn a_driver_without_display_name_is_named_by_its_module() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        m.on_request(&[req("xenvbd", Some(1))], &mut h);
        assert!(
            matches!(&h.acts[0], Act::Prompt(_, t) if t.starts_with("xenvbd needs to restart"))
        );
        assert!(
            h.lines
                .iter()
                .any(|l| l.contains("DisplayName of xenvbd: not found (2)"))
        );
    }

    #[test]
    fn a_prompt_that_cannot_start_is_not_retried() {
        let (mut m, mut h) = (Monitor::new(dialog()), Fake::default());
        h.prompt_fails = true;
        assert_eq!(
            m.on_request(&[req("xenbus", Some(1))], &mut h),
            Outcome::PromptFailed
        );
        assert_eq!(m.on_timer(&mut h), Outcome::AlreadyPrompted);
        assert_eq!(h.acts.len(), 1);
    }
}
