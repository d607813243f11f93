// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Reading a transcript (the format is documented in `xen_transcript`).

use std::fmt;
use xen_transcript::hex;

/// A window of guest memory: its frame, offset and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Guest frame.
    pub gfn: u64,
    /// Offset in the frame.
    pub off: usize,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// One recorded hypercall.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Its index in the transcript.
    pub seq: u32,
    /// The vCPU that made it (`v` line; 0 without one).
    pub cpu: u32,
    /// Hypercall number.
    pub op: u32,
    /// The five argument registers.
    pub args: [u64; 5],
    /// Xen system time (ns) when it was made; 0 when unknown.
    pub time: u64,
    /// The argument structure before the call.
    pub main_in: Option<Vec<u8>>,
    /// The array its guest handle points to, before the call.
    pub nested_in: Option<Vec<u8>>,
    /// Guest memory before the call.
    pub pre: Vec<Window>,
    /// The return value.
    pub ret: Option<i64>,
    /// The argument structure after the call.
    pub main_out: Option<Vec<u8>>,
    /// The array after the call.
    pub nested_out: Option<Vec<u8>>,
    /// Guest memory after the call (same windows as `pre`).
    pub post: Vec<Window>,
}

/// A whole transcript.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    /// RAM frames of the guest the suite hands to Xen (`env ram`).
    pub ram: Vec<u64>,
    /// The domain id of the recording guest (`env domid`).
    pub domid: u16,
    /// vCPUs the recording guest had up (`env vcpus`; 1 without one).
    pub vcpus: u32,
    /// The records, in order.
    pub records: Vec<Record>,
    /// The `XTR-END` line: records written and hypercalls left unrecorded.
    pub end: Option<(u32, u32)>,
}

/// Why a transcript could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transcript line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for ParseError {}

fn num<T: TryFrom<u64>>(field: Option<&str>, radix: u32) -> Result<T, String> {
    let text = field.ok_or("missing field")?;
    let value = u64::from_str_radix(text, radix).map_err(|e| format!("{text:?}: {e}"))?;
    T::try_from(value).map_err(|_| format!("{text:?} out of range"))
}

fn data(field: Option<&str>) -> Result<Vec<u8>, String> {
    let text = field.unwrap_or("");
    hex::decode(text).ok_or_else(|| format!("bad data {:?}", text.get(..40).unwrap_or(text)))
}

impl Transcript {
    /// Parses a transcript. Lines without the `XTR` prefix are ignored (a serial log may hold
    /// other text); a record line out of order is an error.
    ///
    /// # Errors
    ///
    /// [`ParseError`] for a malformed line, a record line for an unknown call, a missing
    /// `XTR-BEGIN`, or an `XTR-END` whose count disagrees with the records read.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut t = Self {
            vcpus: 1,
            ..Self::default()
        };
        let mut begun = false;
        for (i, raw) in text.lines().enumerate() {
            let at = |what: String| ParseError { line: i + 1, what };
            let line = raw.trim_end_matches('\r');
            let mut f = line.split(' ');
            match f.next() {
                Some("XTR-BEGIN") => {
                    let version: u32 = num(f.next(), 10).map_err(at)?;
                    if version != xen_transcript::FORMAT_VERSION {
                        return Err(at(format!("format version {version}")));
                    }
                    begun = true;
                }
                Some("XTR-END") => {
                    let records: u32 = num(f.next(), 10).map_err(at)?;
                    let unrecorded: u32 = num(f.next(), 10).map_err(at)?;
                    if usize::try_from(records).ok() != Some(t.records.len()) {
                        return Err(at(format!(
                            "end says {records} records, read {}",
                            t.records.len()
                        )));
                    }
                    t.end = Some((records, unrecorded));
                }
                Some("XTR") if begun => t.item(&mut f).map_err(at)?,
                Some("XTR") => return Err(at("record before XTR-BEGIN".into())),
                _ => {}
            }
        }
        if !begun {
            return Err(ParseError {
                line: 0,
                what: "no XTR-BEGIN".into(),
            });
        }
        Ok(t)
    }

    fn item<'a>(&mut self, f: &mut impl Iterator<Item = &'a str>) -> Result<(), String> {
        let tag = f.next().ok_or("empty line")?;
        if tag == "env" {
            match f.next() {
                Some("ram") => {
                    for gfn in f {
                        self.ram.push(num(Some(gfn), 16)?);
                    }
                }
                Some("domid") => self.domid = num(f.next(), 10)?,
                Some("vcpus") => self.vcpus = num(f.next(), 10)?,
                _ => {}
            }
            return Ok(());
        }
        let seq: u32 = num(f.next(), 10)?;
        if tag == "c" {
            if usize::try_from(seq).ok() != Some(self.records.len()) {
                return Err(format!("call {seq} out of order"));
            }
            let op = num(f.next(), 10)?;
            let mut args = [0; 5];
            for a in &mut args {
                *a = num(f.next(), 16)?;
            }
            let time = num(f.next(), 16)?;
            self.records.push(Record {
                seq,
                op,
                args,
                time,
                ..Record::default()
            });
            return Ok(());
        }
        let r = self
            .records
            .last_mut()
            .filter(|r| r.seq == seq)
            .ok_or_else(|| format!("{tag} line for {seq} outside its record"))?;
        match tag {
            "i" | "o" => {
                let region = f.next().ok_or("missing region")?;
                let bytes = Some(data(f.next())?);
                match (tag, region) {
                    ("i", "m") => r.main_in = bytes,
                    ("i", "n") => r.nested_in = bytes,
                    ("o", "m") => r.main_out = bytes,
                    ("o", "n") => r.nested_out = bytes,
                    _ => return Err(format!("unknown region {region}")),
                }
            }
            "b" | "a" => {
                let gfn = num(f.next(), 16)?;
                let off = num(f.next(), 16)?;
                let w = Window {
                    gfn,
                    off,
                    bytes: data(f.next())?,
                };
                if tag == "b" {
                    r.pre.push(w);
                } else {
                    r.post.push(w);
                }
            }
            "v" => r.cpu = num(f.next(), 10)?,
            "r" => {
                let text = f.next().ok_or("missing return")?;
                r.ret = Some(text.parse().map_err(|e| format!("{text:?}: {e}"))?);
            }
            _ => return Err(format!("unknown tag {tag}")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "noise\nXTR-BEGIN 1\nXTR env domid 0\nXTR env ram 10 2f\n\
        XTR c 0 32 4 1000 0 0 0 5\nXTR v 0 1\nXTR i 0 m 0100~000006\nXTR b 0 30000 800 ~000020\n\
        XTR r 0 -22\nXTR o 0 m 0100~000006\nXTR a 0 30000 800 ~000020\nXTR-END 1 0\n";

    #[test]
    fn a_record_is_read_with_all_its_parts() {
        let t = Transcript::parse(SMALL).unwrap();
        assert_eq!(t.ram, vec![0x10, 0x2f]);
        assert_eq!(t.end, Some((1, 0)));
        let r = &t.records[0];
        assert_eq!(
            (r.op, r.args, r.time, r.ret),
            (32, [4, 0x1000, 0, 0, 0], 5, Some(-22))
        );
        assert_eq!(r.main_in.as_deref(), Some(&[1, 0, 0, 0, 0, 0, 0, 0][..]));
        assert_eq!(r.pre[0].gfn, 0x30000);
        assert_eq!((r.cpu, t.vcpus), (1, 1));
        assert_eq!(r.pre[0].off, 0x800);
        assert_eq!(r.post[0].bytes.len(), 32);
    }

    #[test]
    fn an_end_count_that_disagrees_is_refused() {
        let text = SMALL.replace("XTR-END 1 0", "XTR-END 2 0");
        assert!(Transcript::parse(&text).is_err());
    }

    #[test]
    fn records_out_of_order_are_refused() {
        let text = SMALL.replace("XTR c 0 ", "XTR c 1 ");
        assert!(Transcript::parse(&text).is_err());
    }

    #[test]
    fn a_log_without_a_transcript_is_refused() {
        assert!(Transcript::parse("XTK-PASS: x\n").is_err());
    }
}
