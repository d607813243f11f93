// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A reader of INF files, as far as checking ours needs.
//!
//! Sections (names compared without
//! case; a repeated section adds to the first), lines joined across a trailing `\`, comments
//! (`;` outside quotes) removed, `key = value` lines, comma-separated fields with their quotes
//! removed, and `%name%` replaced from `[Strings]` (`%%` is a percent sign; a name `[Strings]`
//! lacks, such as a DIRID `%12%`, stays as written).

/// One line of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The text before `=`, substituted, when the line has one.
    pub key: Option<String>,
    /// The fields (after `=`, or the whole line), substituted, unquoted, trimmed.
    pub fields: Vec<String>,
}

/// One section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Its name as first written.
    pub name: String,
    /// Its lines in order.
    pub lines: Vec<Line>,
}

/// A parsed INF file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inf {
    /// The sections in order of first appearance.
    pub sections: Vec<Section>,
}

/// Removes a comment: everything from the first `;` outside double quotes.
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => return line.get(..i).unwrap_or(line),
            _ => {}
        }
    }
    line
}

/// Splits at `sep` outside double quotes.
fn split_outside_quotes(text: &str, sep: char, limit: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted && parts.len() + 1 < limit {
            parts.push(text.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    parts.push(text.get(start..).unwrap_or_default());
    parts
}

/// A field without its surrounding quotes (`""` inside quotes is one quote).
fn unquote(field: &str) -> String {
    let t = field.trim();
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if quoted && chars.peek() == Some(&'"') {
                out.push('"');
                chars.next();
            } else {
                quoted = !quoted;
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Inf {
    /// Parses `text`.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        // Logical lines: comments removed, continuations joined.
        let mut logical = Vec::new();
        let mut pending = String::new();
        for raw in text.lines() {
            let line = strip_comment(raw).trim_end();
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                continue;
            }
            pending.push_str(line);
            logical.push(std::mem::take(&mut pending));
        }
        if !pending.is_empty() {
            logical.push(pending);
        }
        // Raw sections.
        let mut raw: Vec<(String, Vec<String>)> = Vec::new();
        let mut current: Option<usize> = None;
        for line in logical {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let name = name.trim();
                current = Some(
                    raw.iter()
                        .position(|(n, _)| n.eq_ignore_ascii_case(name))
                        .unwrap_or_else(|| {
                            raw.push((name.to_owned(), Vec::new()));
                            raw.len() - 1
                        }),
                );
            } else if let Some((_, lines)) = current.and_then(|i| raw.get_mut(i)) {
                lines.push(line.to_owned());
            }
        }
        // Strings, for substitution.
        let strings: Vec<(String, String)> = raw
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Strings"))
            .flat_map(|(_, lines)| lines.iter())
            .filter_map(|l| {
                let parts = split_outside_quotes(l, '=', 2);
                match parts.as_slice() {
                    [k, v] => Some((k.trim().to_ascii_lowercase(), unquote(v))),
                    _ => None,
                }
            })
            .collect();
        let substitute = |text: &str| substitute(text, &strings);
        let sections = raw
            .into_iter()
            .map(|(name, lines)| Section {
                name,
                lines: lines
                    .iter()
                    .map(|l| {
                        let parts = split_outside_quotes(l, '=', 2);
                        let (key, value) = match parts.as_slice() {
                            [k, v] => (Some(substitute(&unquote(k))), *v),
                            _ => (None, l.as_str()),
                        };
                        let fields = split_outside_quotes(value, ',', usize::MAX)
                            .iter()
                            .map(|f| substitute(&unquote(f)))
                            .collect();
                        Line { key, fields }
                    })
                    .collect(),
            })
            .collect();
        Self { sections }
    }

    /// The section called `name` (any case).
    #[must_use]
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The fields of every `key = ...` line of section `name` (both any case), in order.
    #[must_use]
    pub fn values(&self, section: &str, key: &str) -> Vec<Vec<String>> {
        self.section(section)
            .map(|s| {
                s.lines
                    .iter()
                    .filter(|l| l.key.as_ref().is_some_and(|k| k.eq_ignore_ascii_case(key)))
                    .map(|l| l.fields.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The single value of `key` in `section` as one comma-joined string, if the key is there.
    #[must_use]
    pub fn value(&self, section: &str, key: &str) -> Option<String> {
        self.values(section, key).first().map(|f| f.join(","))
    }
}

/// `text` with each `%name%` that `strings` defines replaced, and `%%` made `%`.
fn substitute(text: &str, strings: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 1..).unwrap_or_default();
        let Some(end) = after.find('%') else {
            out.push_str(rest.get(start..).unwrap_or_default());
            return out;
        };
        let name = after.get(..end).unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        if name.is_empty() {
            out.push('%');
        } else if let Some((_, v)) = strings.iter().find(|(k, _)| *k == lower) {
            out.push_str(v);
        } else {
            out.push('%');
            out.push_str(name);
            out.push('%');
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_continuations_quotes_and_strings() {
        let inf = Inf::parse(
            "; top\r\n[Version]\r\nSignature=\"$Windows NT$\" ; c\r\n\
             [Models]\r\n%Name%=Inst,\\\r\nPCI\\VEN_1,\\\r\nPCI\\VEN_2\r\n\
             [strings]\r\nName=\"My; \"\"Dev\"\"\"\r\n[Models]\r\nx = %12%\\a.sys, 100%%\r\n",
        );
        assert_eq!(
            inf.value("version", "signature").as_deref(),
            Some("$Windows NT$")
        );
        let models = inf.section("MODELS").unwrap();
        assert_eq!(
            models.lines[0],
            Line {
                key: Some("My; \"Dev\"".into()),
                fields: vec!["Inst".into(), "PCI\\VEN_1".into(), "PCI\\VEN_2".into()],
            }
        );
        assert_eq!(
            models.lines[1].fields,
            ["%12%\\a.sys".to_owned(), "100%".to_owned()]
        );
    }

    #[test]
    fn lines_without_a_key_keep_their_fields() {
        let inf = Inf::parse("[R]\nHKR,\"Parameters\",,0x00000010\n");
        let line = &inf.section("r").unwrap().lines[0];
        assert_eq!(line.key, None);
        assert_eq!(line.fields, ["HKR", "Parameters", "", "0x00000010"]);
    }
}
