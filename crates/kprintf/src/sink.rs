// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Where formatted bytes go: a [`Sink`] trait and a fixed-buffer sink.

/// The sink has no room left; the output is truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkFull;

/// A destination for formatted bytes. Bounded sinks return [`SinkFull`] once they run out of
/// room; the engine then stops and reports [`crate::FormatError::Overflow`].
pub trait Sink {
    /// Appends `bytes`.
    ///
    /// # Errors
    /// [`SinkFull`] if not all of `bytes` fit. A sink may keep the part that did fit.
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkFull>;
}

impl<F: FnMut(&[u8]) -> Result<(), SinkFull>> Sink for F {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkFull> {
        self(bytes)
    }
}

/// A sink over a caller-supplied buffer, like the buffer `RtlStringCbVPrintfA` fills. On
/// overflow it keeps as much as fits (the truncated prefix) and fails.
#[derive(Debug)]
pub struct BufSink<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> BufSink<'a> {
    /// A sink writing to the start of `buf`.
    pub const fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// The bytes written so far.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// How many bytes were written.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// The whole underlying buffer back, for returning the written prefix with its lifetime.
    #[must_use]
    pub const fn into_inner(self) -> &'a mut [u8] {
        self.buf
    }

    /// True if nothing was written.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Sink for BufSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkFull> {
        let free = self.buf.get_mut(self.len..).unwrap_or_default();
        let n = bytes.len().min(free.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        // `n` is at most the free space, so `len + n` is at most `buf.len()`.
        self.len = self.len.saturating_add(n);
        if n == bytes.len() {
            Ok(())
        } else {
            Err(SinkFull)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buf_sink_keeps_the_prefix_that_fits_and_reports_full() {
        let mut buf = [0u8; 5];
        let mut sink = BufSink::new(&mut buf);
        assert_eq!(sink.write(b"abc"), Ok(()));
        assert_eq!(sink.write(b"defg"), Err(SinkFull));
        assert_eq!(sink.as_bytes(), b"abcde");
        assert_eq!(sink.write(b"x"), Err(SinkFull));
        assert_eq!(sink.write(b""), Ok(()));
        assert_eq!(sink.len(), 5);
    }

    #[test]
    fn closures_are_sinks() {
        let mut out = std::vec::Vec::new();
        let mut sink = |b: &[u8]| {
            out.extend_from_slice(b);
            Ok(())
        };
        assert_eq!(Sink::write(&mut sink, b"hi"), Ok(()));
        assert_eq!(out, b"hi");
    }
}
