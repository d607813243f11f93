// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The texts the service shows: the prompt and the message of an automatic shutdown, both
//! opened by the requesting driver's name, and the UTF-16 conversions the Windows calls need.

use crate::settings::Dialog;

/// The name people know a driver by, from its service's `DisplayName`: Windows keeps an INF's
/// display name as `@oemN.inf,%Key%;Name`, so the text after the last `;` (all of it when there
/// is none).
#[must_use]
pub fn description(display_name: &str) -> &str {
    display_name
        .rsplit_once(';')
        .map_or(display_name, |(_, name)| name)
}

/// The prompt's text: the driver's name, `DialogText` and `DialogQuestion`, one space between.
#[must_use]
pub fn prompt_text(description: &str, dialog: &Dialog) -> String {
    format!("{description} {} {}", dialog.text, dialog.question)
}

/// The message of an automatic shutdown: the driver's name and `DialogText`.
#[must_use]
pub fn shutdown_message(description: &str, dialog: &Dialog) -> String {
    format!("{description} {}", dialog.text)
}

/// `text` as a NUL-terminated UTF-16 string; a NUL inside `text` ends it there for Windows,
/// so it is replaced by a space.
#[must_use]
pub fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16()
        .map(|u| if u == 0 { u16::from(b' ') } else { u })
        .chain([0])
        .collect()
}

/// The text of UTF-16 `units` up to the first NUL, unpaired surrogates replaced.
#[must_use]
pub fn from_wide(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(units.get(..end).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog() -> Dialog {
        Dialog {
            title: "Xen".into(),
            text: "needs to restart the system to complete installation.".into(),
            question: "Press 'Yes' to restart the system now or 'No' if you plan to restart the system later.".into(),
        }
    }

    #[test]
    fn description_is_the_text_after_the_last_semicolon() {
        assert_eq!(
            description("@oem3.inf,%XenBusName%;Xen PV Bus"),
            "Xen PV Bus"
        );
        assert_eq!(description("a;b;Xen PV Bus"), "Xen PV Bus");
        assert_eq!(description("Xen PV Bus"), "Xen PV Bus");
        assert_eq!(description("trailing;"), "");
    }

    #[test]
    fn prompt_and_shutdown_texts_are_composed_as_upstream() {
        assert_eq!(
            prompt_text("Xen PV Bus", &dialog()),
            "Xen PV Bus needs to restart the system to complete installation. Press 'Yes' to \
             restart the system now or 'No' if you plan to restart the system later."
        );
        assert_eq!(
            shutdown_message("Xen PV Bus", &dialog()),
            "Xen PV Bus needs to restart the system to complete installation."
        );
    }

    #[test]
    fn wide_strings_round_trip_and_end_once() {
        let w = wide("Xen é");
        assert_eq!(w.last(), Some(&0));
        assert_eq!(w.iter().filter(|&&u| u == 0).count(), 1);
        assert_eq!(from_wide(&w), "Xen é");
        assert_eq!(from_wide(&wide("a\0b")), "a b");
        assert_eq!(from_wide(&[u16::from(b'a'), 0xd800]), "a\u{fffd}");
        assert_eq!(from_wide(&[]), "");
    }
}
