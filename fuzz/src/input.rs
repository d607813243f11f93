// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! How a target reads its input, and how the seed generator writes one.
//!
//! [`Reader`] takes little-endian integers and byte strings off the front of the input and
//! reads zeros once it runs out, so every input decodes to something and a short input is a
//! short run. [`Writer`] is its mirror image: a seed written with it decodes to exactly the
//! operations it spelled.

/// Reads an input front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    #[must_use]
    pub const fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every byte was read.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The bytes not read yet.
    #[must_use]
    pub const fn rest(&self) -> &'a [u8] {
        self.data
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    /// A length byte (at most `max`), then that many bytes.
    pub fn short_bytes(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u8()) % (max + 1);
        self.bytes(n)
    }

    /// A 16-bit length (at most `max`), then that many bytes.
    pub fn long_bytes(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u16()) % (max + 1);
        self.bytes(n)
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let got = self.bytes(N);
        out[..got.len()].copy_from_slice(got);
        out
    }

    /// A byte (0 at the end).
    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    /// A boolean (the low bit of a byte).
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// A byte below `n` (`n` > 0).
    pub fn below(&mut self, n: u8) -> u8 {
        self.u8() % n
    }

    /// One of `choices` (not empty), chosen by a byte.
    pub fn choose<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.u8()) % choices.len()]
    }
}

/// Builds a seed in [`Reader`]'s encoding.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    data: Vec<u8>,
}

impl Writer {
    /// An empty seed.
    #[must_use]
    pub const fn new() -> Self {
        Self { data: Vec::new() }
    }

    /// The seed.
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.data
    }

    /// Raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.data.extend_from_slice(bytes);
        self
    }

    /// What [`Reader::short_bytes`] reads back (`bytes` at most 255 long).
    pub fn short_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.u8(u8::try_from(bytes.len()).expect("short_bytes: at most 255 bytes"));
        self.bytes(bytes)
    }

    /// What [`Reader::long_bytes`] reads back.
    pub fn long_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.u16(u16::try_from(bytes.len()).expect("long_bytes: at most 65535 bytes"));
        self.bytes(bytes)
    }

    /// A byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes(&[v])
    }

    /// A boolean.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// A `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// A `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// A `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
}
