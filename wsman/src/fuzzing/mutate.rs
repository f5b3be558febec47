//! Structured mutations of corpus entries, as proptest values: a failing
//! case shrinks to the fewest and smallest mutations of the simplest seed.
//!
//! Beyond byte flips, truncations and splices, the mutations know what the
//! formats are made of: a target's dictionary words (tags, keywords,
//! operators) and bracket pairs (for deep nesting), XML elements and
//! bracketed spans (duplicated, deleted, wrapped), decimal numbers and
//! binary integers (replaced by boundary values, for "huge count/length"
//! fields), and invalid UTF-8.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use super::Corpus;

/// What a format is made of, for mutations that speak it.
#[derive(Debug, Clone)]
pub struct Dictionary {
    /// Tokens worth inserting (element names, keywords, header names, ...).
    pub words: Vec<Vec<u8>>,
    /// Opening and closing brackets, nested to build deep inputs.
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Inputs are cut to this many bytes after mutating.
    pub max_len: usize,
}

impl Default for Dictionary {
    fn default() -> Self {
        Dictionary {
            words: Vec::new(),
            pairs: Vec::new(),
            max_len: 64 * 1024,
        }
    }
}

impl Dictionary {
    /// An empty dictionary (byte-level mutations only).
    pub fn new() -> Dictionary {
        Dictionary::default()
    }

    /// Adds words.
    pub fn words<I, W>(mut self, words: I) -> Dictionary
    where
        I: IntoIterator<Item = W>,
        W: AsRef<[u8]>,
    {
        self.words
            .extend(words.into_iter().map(|w| w.as_ref().to_vec()));
        self
    }

    /// Adds bracket pairs (`("<a>", "</a>")`, `("(", ")")`).
    pub fn pairs<I, A, B>(mut self, pairs: I) -> Dictionary
    where
        I: IntoIterator<Item = (A, B)>,
        A: AsRef<[u8]>,
        B: AsRef<[u8]>,
    {
        self.pairs.extend(
            pairs
                .into_iter()
                .map(|(a, b)| (a.as_ref().to_vec(), b.as_ref().to_vec())),
        );
        self
    }

    /// Sets the largest input (bytes).
    pub fn max_len(mut self, max_len: usize) -> Dictionary {
        self.max_len = max_len;
        self
    }
}

/// Decimal numbers at the edges of the integer types, and beyond them.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "127",
    "128",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "999999999999999999999999999999",
    "1e308",
    "1e309",
    "-0",
    "0.5",
    "0x7FFFFFFF",
    "NaN",
    "",
];

/// Binary integers at the edges, for length, count and offset fields.
const INTS: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    u64::MAX,
];

/// Byte sequences that are not UTF-8 (or are, awkwardly: a BOM, a NUL).
const BAD_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc0\x80",
    b"\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"\x00",
];

/// Where a case starts from.
#[derive(Debug, Clone)]
pub enum Seed {
    /// A corpus entry.
    Corpus(Index),
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
    /// A soup of dictionary words.
    Words(Vec<Index>),
}

/// An integer value for [`Mutation::Int`].
#[derive(Debug, Clone)]
pub enum IntValue {
    /// One of the boundary values.
    Edge(Index),
    /// The input's length plus a small delta (lengths that are just off).
    Length(i8),
}

/// One edit of an input. Positions are [`Index`]es, resolved against the
/// input's length when applied, so they shrink towards the start.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flips one bit of one byte.
    FlipBit {
        /// Which byte.
        at: Index,
        /// Which bit (mod 8).
        bit: u8,
    },
    /// Overwrites one byte.
    SetByte {
        /// Which byte.
        at: Index,
        /// The new value.
        byte: u8,
    },
    /// Inserts bytes.
    Insert {
        /// Where.
        at: Index,
        /// What.
        bytes: Vec<u8>,
    },
    /// Deletes a run of bytes.
    Delete {
        /// Where it starts.
        at: Index,
        /// How long it is.
        len: u16,
    },
    /// Cuts the input short.
    Truncate {
        /// The new end.
        at: Index,
    },
    /// Copies a range of the input to another place.
    Copy {
        /// Start of the range.
        from: Index,
        /// Its length.
        len: u16,
        /// Where the copy goes.
        to: Index,
    },
    /// Repeats a range many times in place (huge counts).
    Repeat {
        /// Start of the range.
        from: Index,
        /// Its length.
        len: u8,
        /// How many copies.
        times: u16,
    },
    /// Inserts a range of another corpus entry (cross-over).
    Splice {
        /// Which entry.
        entry: Index,
        /// Start of its range.
        from: Index,
        /// Length of the range.
        len: u16,
        /// Where it goes.
        to: Index,
    },
    /// Inserts a dictionary word.
    Word {
        /// Which word.
        word: Index,
        /// Where.
        at: Index,
        /// Bytes it replaces (0: pure insertion).
        replace: u8,
    },
    /// Nests a bracket pair `depth` times at one place.
    Nest {
        /// Which pair.
        pair: Index,
        /// Where.
        at: Index,
        /// How deep.
        depth: u16,
    },
    /// Wraps an element or bracketed span in `depth` copies of a pair.
    Wrap {
        /// Which span.
        span: Index,
        /// Which pair.
        pair: Index,
        /// How deep.
        depth: u16,
    },
    /// Repeats an element or bracketed span (duplicated elements).
    DuplicateSpan {
        /// Which span.
        span: Index,
        /// How many extra copies.
        times: u16,
    },
    /// Deletes an element or bracketed span.
    DeleteSpan {
        /// Which span.
        span: Index,
    },
    /// Empties an element or bracketed span, keeping its delimiters' first
    /// and last bytes.
    HollowSpan {
        /// Which span.
        span: Index,
    },
    /// Replaces the decimal number at or after a position by a boundary value.
    Number {
        /// Where to look.
        at: Index,
        /// Which boundary value.
        value: Index,
    },
    /// Overwrites a binary integer (little- or big-endian).
    Int {
        /// Where.
        at: Index,
        /// Width: 1, 2, 4 or 8 bytes (index into those).
        width: Index,
        /// The value.
        value: IntValue,
        /// Big-endian instead of little-endian.
        big_endian: bool,
    },
    /// Inserts bytes that are not valid UTF-8.
    BadUtf8 {
        /// Where.
        at: Index,
        /// Which sequence.
        which: Index,
    },
}

/// A case: a seed and the edits made to it.
#[derive(Debug, Clone)]
pub struct Mutations {
    /// Where the input starts from.
    pub seed: Seed,
    /// The edits, applied in order.
    pub steps: Vec<Mutation>,
}

/// `index.index(len)`, or 0 for an empty range (where `Index` would panic).
fn pick(index: &Index, len: usize) -> usize {
    if len == 0 { 0 } else { index.index(len) }
}

impl Mutations {
    /// The input: the seed with every step applied, cut to `dict.max_len`.
    pub fn apply(&self, corpus: &Corpus, dict: &Dictionary) -> Vec<u8> {
        let base = match &self.seed {
            Seed::Corpus(i) => corpus.bytes(pick(i, corpus.len())).to_vec(),
            Seed::Bytes(b) => b.clone(),
            Seed::Words(words) => {
                let mut out = Vec::new();
                for w in words {
                    if let Some(word) = dict.words.get(pick(w, dict.words.len())) {
                        out.extend_from_slice(word);
                    }
                }
                out
            }
        };
        self.apply_steps(base, corpus, dict)
    }

    /// Applies only the steps, to a base the target made (a token that
    /// must be fresh for every case, for example).
    pub fn apply_steps(&self, mut input: Vec<u8>, corpus: &Corpus, dict: &Dictionary) -> Vec<u8> {
        input.truncate(dict.max_len);
        for step in &self.steps {
            apply_one(step, &mut input, corpus, dict);
            input.truncate(dict.max_len);
        }
        input
    }
}

fn splice_in(input: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let at = at.min(input.len());
    input.splice(at..at, bytes.iter().copied());
}

fn apply_one(step: &Mutation, input: &mut Vec<u8>, corpus: &Corpus, dict: &Dictionary) {
    let len = input.len();
    match step {
        Mutation::FlipBit { at, bit } => {
            if len > 0 {
                input[pick(at, len)] ^= 1 << (bit % 8);
            }
        }
        Mutation::SetByte { at, byte } => {
            if len > 0 {
                input[pick(at, len)] = *byte;
            }
        }
        Mutation::Insert { at, bytes } => splice_in(input, pick(at, len + 1), bytes),
        Mutation::Delete { at, len: n } => {
            let start = pick(at, len);
            let end = start.saturating_add(usize::from(*n)).min(len);
            input.drain(start..end);
        }
        Mutation::Truncate { at } => input.truncate(pick(at, len + 1)),
        Mutation::Copy { from, len: n, to } => {
            let start = pick(from, len);
            let end = start.saturating_add(usize::from(*n)).min(len);
            let piece = input[start..end].to_vec();
            splice_in(input, pick(to, len + 1), &piece);
        }
        Mutation::Repeat {
            from,
            len: n,
            times,
        } => {
            let start = pick(from, len);
            let end = start.saturating_add(usize::from(*n).max(1)).min(len);
            let piece = input[start..end].to_vec();
            if piece.is_empty() {
                return;
            }
            let room = dict.max_len.saturating_sub(len) / piece.len();
            let copies = usize::from(*times).min(room);
            let repeated = piece.repeat(copies);
            splice_in(input, end, &repeated);
        }
        Mutation::Splice {
            entry,
            from,
            len: n,
            to,
        } => {
            let other = corpus.bytes(pick(entry, corpus.len()));
            let start = pick(from, other.len());
            let end = start.saturating_add(usize::from(*n)).min(other.len());
            splice_in(input, pick(to, len + 1), &other[start..end]);
        }
        Mutation::Word { word, at, replace } => {
            let Some(w) = dict.words.get(pick(word, dict.words.len())) else {
                return;
            };
            let start = pick(at, len + 1);
            let end = start.saturating_add(usize::from(*replace)).min(len);
            input.splice(start..end.max(start), w.iter().copied());
        }
        Mutation::Nest { pair, at, depth } => {
            let Some((open, close)) = dict.pairs.get(pick(pair, dict.pairs.len())) else {
                return;
            };
            let depth = bounded_depth(*depth, open.len() + close.len(), len, dict.max_len);
            let mut nested = open.repeat(depth);
            nested.extend(close.repeat(depth));
            splice_in(input, pick(at, len + 1), &nested);
        }
        Mutation::Wrap { span, pair, depth } => {
            let Some((open, close)) = dict.pairs.get(pick(pair, dict.pairs.len())) else {
                return;
            };
            let spans = spans(input);
            let Some(&(start, end)) = spans.get(pick(span, spans.len())) else {
                return;
            };
            let depth = bounded_depth(*depth, open.len() + close.len(), len, dict.max_len);
            splice_in(input, end, &close.repeat(depth));
            splice_in(input, start, &open.repeat(depth));
        }
        Mutation::DuplicateSpan { span, times } => {
            let spans = spans(input);
            let Some(&(start, end)) = spans.get(pick(span, spans.len())) else {
                return;
            };
            let piece = input[start..end].to_vec();
            if piece.is_empty() {
                return;
            }
            let room = dict.max_len.saturating_sub(len) / piece.len();
            let copies = usize::from(*times).max(1).min(room);
            splice_in(input, end, &piece.repeat(copies));
        }
        Mutation::DeleteSpan { span } => {
            let spans = spans(input);
            if let Some(&(start, end)) = spans.get(pick(span, spans.len())) {
                input.drain(start..end);
            }
        }
        Mutation::HollowSpan { span } => {
            let spans = spans(input);
            if let Some(&(start, end)) = spans.get(pick(span, spans.len()))
                && end >= start + 2
            {
                input.drain(start + 1..end - 1);
            }
        }
        Mutation::Number { at, value } => {
            let number = NUMBERS[pick(value, NUMBERS.len())].as_bytes();
            let from = pick(at, len + 1);
            match input[from..].iter().position(u8::is_ascii_digit) {
                Some(offset) => {
                    let start = from + offset;
                    let end = input[start..]
                        .iter()
                        .position(|b| !b.is_ascii_digit())
                        .map_or(len, |n| start + n);
                    input.splice(start..end, number.iter().copied());
                }
                None => splice_in(input, from, number),
            }
        }
        Mutation::Int {
            at,
            width,
            value,
            big_endian,
        } => {
            let width = [1usize, 2, 4, 8][pick(width, 4)];
            if len < width {
                return;
            }
            let v = match value {
                IntValue::Edge(i) => INTS[pick(i, INTS.len())],
                IntValue::Length(delta) => (len as u64).wrapping_add_signed(i64::from(*delta)),
            };
            let bytes = if *big_endian {
                v.to_be_bytes()[8 - width..].to_vec()
            } else {
                v.to_le_bytes()[..width].to_vec()
            };
            let start = pick(at, len - width + 1);
            input[start..start + width].copy_from_slice(&bytes);
        }
        Mutation::BadUtf8 { at, which } => {
            let bad = BAD_UTF8[pick(which, BAD_UTF8.len())];
            splice_in(input, pick(at, len + 1), bad);
        }
    }
}

/// How many times a pair of `pair_len` bytes may be repeated without
/// taking the input past `max_len`.
fn bounded_depth(depth: u16, pair_len: usize, len: usize, max_len: usize) -> usize {
    let room = max_len.saturating_sub(len) / pair_len.max(1);
    usize::from(depth).max(1).min(room)
}

/// Byte ranges of XML elements (`<name ...>...</name>` or `<name .../>`)
/// and of balanced `()`, `[]` and `{}` spans, found leniently: a heuristic
/// that only has to point mutations at plausible structure.
fn spans(input: &[u8]) -> Vec<(usize, usize)> {
    const MAX_SPANS: usize = 4096;
    let mut out = Vec::new();
    let mut brackets: Vec<(u8, usize)> = Vec::new();
    let mut tags: Vec<(&[u8], usize)> = Vec::new();
    let mut i = 0;
    while i < input.len() && out.len() < MAX_SPANS {
        let b = input[i];
        match b {
            b'(' | b'[' | b'{' => brackets.push((b, i)),
            b')' | b']' | b'}' => {
                let open = match b {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if let Some(pos) = brackets.iter().rposition(|(c, _)| *c == open) {
                    let (_, start) = brackets[pos];
                    brackets.truncate(pos);
                    out.push((start, i + 1));
                }
            }
            b'<' => {
                let closing = input.get(i + 1) == Some(&b'/');
                let name_start = i + 1 + usize::from(closing);
                let name_len = input[name_start.min(input.len())..]
                    .iter()
                    .take_while(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b':' | b'_' | b'-' | b'.')
                    })
                    .count();
                if name_len > 0 {
                    let name = &input[name_start..name_start + name_len];
                    let Some(gt) = input[i..].iter().position(|c| *c == b'>') else {
                        break;
                    };
                    let tag_end = i + gt + 1;
                    if closing {
                        if let Some(pos) = tags.iter().rposition(|(n, _)| *n == name) {
                            let (_, start) = tags[pos];
                            tags.truncate(pos);
                            out.push((start, tag_end));
                        }
                    } else if input[..tag_end].ends_with(b"/>") {
                        out.push((i, tag_end));
                    } else {
                        tags.push((name, i));
                    }
                    i = tag_end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// How many steps a case makes, at most.
const MAX_STEPS: usize = 8;

fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<Index>;
    prop_oneof![
        3 => (index(), any::<u8>()).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (index(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte { at, byte }),
        2 => (index(), vec(any::<u8>(), 1..16)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        2 => (index(), 1u16..256).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => index().prop_map(|at| Mutation::Truncate { at }),
        1 => (index(), 1u16..512, index()).prop_map(|(from, len, to)| Mutation::Copy { from, len, to }),
        1 => (index(), 1u8..64, 2u16..4096).prop_map(|(from, len, times)| Mutation::Repeat { from, len, times }),
        2 => (index(), index(), 1u16..1024, index())
            .prop_map(|(entry, from, len, to)| Mutation::Splice { entry, from, len, to }),
        4 => (index(), index(), prop_oneof![Just(0u8), 1u8..16])
            .prop_map(|(word, at, replace)| Mutation::Word { word, at, replace }),
        1 => (index(), index(), prop_oneof![1u16..8, 8u16..200, 200u16..20_000])
            .prop_map(|(pair, at, depth)| Mutation::Nest { pair, at, depth }),
        1 => (index(), index(), prop_oneof![1u16..8, 8u16..200, 200u16..20_000])
            .prop_map(|(span, pair, depth)| Mutation::Wrap { span, pair, depth }),
        2 => (index(), prop_oneof![1u16..4, 4u16..2000])
            .prop_map(|(span, times)| Mutation::DuplicateSpan { span, times }),
        2 => index().prop_map(|span| Mutation::DeleteSpan { span }),
        1 => index().prop_map(|span| Mutation::HollowSpan { span }),
        2 => (index(), index()).prop_map(|(at, value)| Mutation::Number { at, value }),
        2 => (
            index(),
            index(),
            prop_oneof![
                index().prop_map(IntValue::Edge),
                (-2i8..=2).prop_map(IntValue::Length)
            ],
            any::<bool>()
        )
            .prop_map(|(at, width, value, big_endian)| Mutation::Int { at, width, value, big_endian }),
        1 => (index(), index()).prop_map(|(at, which)| Mutation::BadUtf8 { at, which }),
    ]
}

/// Cases for a target with `corpus_len` corpus entries: mostly mutated
/// corpus entries, some arbitrary bytes, some dictionary soups (themselves
/// mutated a little).
pub fn mutations(corpus_len: usize, dict: &Dictionary) -> impl Strategy<Value = Mutations> {
    let has_corpus = corpus_len > 0;
    let has_words = !dict.words.is_empty();
    let seed = prop_oneof![
        if has_corpus { 14 } else { 0 } => any::<Index>().prop_map(Seed::Corpus),
        3 => prop_oneof![vec(any::<u8>(), 0..64), vec(any::<u8>(), 0..4096)].prop_map(Seed::Bytes),
        if has_words { 3 } else { 0 } => vec(any::<Index>(), 1..64).prop_map(Seed::Words),
    ];
    (seed, vec(mutation(), 0..=MAX_STEPS)).prop_map(|(seed, steps)| Mutations { seed, steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_find_elements_and_brackets() {
        let s = spans(b"<a x='1'><b/>(1)</a>{[x]}");
        assert!(s.contains(&(0, 20)), "{s:?}");
        assert!(s.contains(&(9, 13)), "{s:?}");
        assert!(s.contains(&(13, 16)), "{s:?}");
        assert!(s.contains(&(20, 25)), "{s:?}");
    }

    #[test]
    fn steps_respect_the_length_bound() {
        use proptest::strategy::ValueTree as _;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let mut index = || {
            any::<Index>()
                .new_tree(&mut runner)
                .map(|t| t.current())
                .map_err(|e| e.to_string())
        };
        let dict = Dictionary::new().pairs([("(", ")")]).max_len(100);
        let m = Mutations {
            seed: Seed::Bytes(b"abc".to_vec()),
            steps: vec![
                Mutation::Nest {
                    pair: index().unwrap_or_else(|e| panic!("{e}")),
                    at: index().unwrap_or_else(|e| panic!("{e}")),
                    depth: 20_000,
                },
                Mutation::Repeat {
                    from: index().unwrap_or_else(|e| panic!("{e}")),
                    len: 3,
                    times: 4000,
                },
            ],
        };
        assert!(m.apply(&Corpus::default(), &dict).len() <= 100);
    }
}
