// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Watches: the table of registered watches, their tokens (`TOK|<caller>|<id>`, the C
//! package's format) and the parsing of `XS_WATCH_EVENT` payloads.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// What a watch signals when it fires (`KeSetEvent` on the caller's event upstream). Events are
/// level-coalesced: a client re-reads the state it watches after every signal.
pub trait WatchEvent: Send + Sync {
    /// Called with the store lock held, at most at the caller's IRQL; must not block.
    fn signal(&self);
}

/// Hex digits of a pointer-sized caller in a token (`%p`: 16 on x64, 8 on x86).
pub const CALLER_DIGITS: usize = 2 * core::mem::size_of::<usize>();
/// Length of a token without its NUL: `TOK|` + caller + `|` + 4 hex digits.
pub const TOKEN_LEN: usize = 4 + CALLER_DIGITS + 1 + 4;

/// Builds the token of a watch.
#[must_use]
pub fn token(caller: usize, id: u16) -> [u8; TOKEN_LEN] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = [0u8; TOKEN_LEN];
    let caller_digits = (0..CALLER_DIGITS).rev().map(|i| {
        let shift = u32::try_from(i.saturating_mul(4)).unwrap_or(0);
        let nibble = caller.checked_shr(shift).unwrap_or(0) & 0xF;
        HEX.get(nibble).copied().unwrap_or(b'0')
    });
    let id_digits = (0..4u32).rev().map(|i| {
        let nibble = usize::from(id.checked_shr(i.saturating_mul(4)).unwrap_or(0) & 0xF);
        HEX.get(nibble).copied().unwrap_or(b'0')
    });
    let bytes = b"TOK|"
        .iter()
        .copied()
        .chain(caller_digits)
        .chain(core::iter::once(b'|'))
        .chain(id_digits);
    for (dst, src) in out.iter_mut().zip(bytes) {
        *dst = src;
    }
    out
}

/// Splits an `XS_WATCH_EVENT` payload (`path\0token\0`) and decodes the watch id from the
/// token, or `None` if the payload is not one of our tokens.
#[must_use]
pub fn parse_event(payload: &[u8]) -> Option<u16> {
    let nul = payload.iter().position(|&b| b == 0)?;
    let rest = payload.get(nul.checked_add(1)?..)?;
    let (token, terminator) = rest.split_at_checked(TOKEN_LEN)?;
    if terminator != b"\0" {
        return None;
    }
    let (pre, rest) = token.split_at_checked(4)?;
    let (caller, rest) = rest.split_at_checked(CALLER_DIGITS)?;
    let (bar, id) = rest.split_at_checked(1)?;
    if pre != b"TOK|" || bar != b"|" || !caller.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let text = core::str::from_utf8(id).ok()?;
    if !id.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(text, 16).ok()
}

/// A registered watch.
pub struct WatchEntry {
    /// The full path (without NUL).
    pub path: Vec<u8>,
    /// The token (without NUL).
    pub token: [u8; TOKEN_LEN],
    /// The caller recorded in the token (debug dumps).
    pub caller: usize,
    /// Signalled when the watch fires.
    pub event: Arc<dyn WatchEvent>,
    /// The store's suspend generation when the watch was added: once a suspend moves the
    /// store past it the watch is expired, never fires again, and removing it sends nothing.
    pub generation: u32,
}

/// Every watch, by id.
#[derive(Default)]
pub struct Watches {
    entries: BTreeMap<u16, WatchEntry>,
    next_id: u16,
    /// Events whose token named no active watch of ours.
    pub spurious_events: u64,
}

impl Watches {
    /// A table whose ids start at `seed` (upstream seeds from a random value).
    #[must_use]
    pub const fn new(seed: u16) -> Self {
        Self {
            entries: BTreeMap::new(),
            next_id: seed,
            spurious_events: 0,
        }
    }

    /// The next id not in use, or `None` if all 65536 are taken.
    pub fn allocate_id(&mut self) -> Option<u16> {
        for _ in 0..=u16::MAX {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if !self.entries.contains_key(&id) {
                return Some(id);
            }
        }
        None
    }

    /// Registers `entry` under `id`.
    pub fn insert(&mut self, id: u16, entry: WatchEntry) {
        self.entries.insert(id, entry);
    }

    /// The watch with `id`.
    #[must_use]
    pub fn get(&self, id: u16) -> Option<&WatchEntry> {
        self.entries.get(&id)
    }

    /// Unregisters `id`.
    pub fn remove(&mut self, id: u16) -> Option<WatchEntry> {
        self.entries.remove(&id)
    }

    /// Number of watches (active or expired).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no watch is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Delivers one `XS_WATCH_EVENT` payload.
    pub fn on_event(&mut self, payload: &[u8], generation: u32) {
        match parse_event(payload).and_then(|id| self.entries.get(&id)) {
            Some(entry) if entry.generation == generation => entry.event.signal(),
            _ => self.spurious_events = self.spurious_events.wrapping_add(1),
        }
    }

    /// Resume (late): every watch is signalled once so its owner re-reads and re-registers.
    pub fn signal_all(&self) {
        for entry in self.entries.values() {
            entry.event.signal();
        }
    }

    /// `(id, path, caller, active)` of every watch, for debug dumps.
    pub fn iter(&self, generation: u32) -> impl Iterator<Item = (u16, &[u8], usize, bool)> {
        self.entries
            .iter()
            .map(move |(&id, e)| (id, e.path.as_slice(), e.caller, e.generation == generation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_has_the_c_package_shape() {
        let t = token(0xFFFF_F803_1234_ABCD, 0x0A5);
        assert_eq!(&t, b"TOK|FFFFF8031234ABCD|00A5");
        assert_eq!(TOKEN_LEN, 25);
    }

    #[test]
    fn events_parse_only_our_tokens() {
        let mut p = b"/a/b\0".to_vec();
        p.extend_from_slice(&token(0x1234, 0xBEEF));
        p.push(0);
        assert_eq!(parse_event(&p), Some(0xBEEF));
        assert_eq!(parse_event(b"/a\0TOK|x\0"), None);
        assert_eq!(parse_event(b"/a\0TOK|0000000000001234|BEEF"), None);
        assert_eq!(parse_event(b"/a\0TOK|000000000000123G|BEEF\0"), None);
        assert_eq!(parse_event(b"/a\0TOK|0000000000001234|+EEF\0"), None);
        assert_eq!(parse_event(b"no nul at all"), None);
        assert_eq!(parse_event(b""), None);
    }
}
