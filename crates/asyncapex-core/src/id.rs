//! Salesforce-style record IDs.
//!
//! Every job record carries a [`JobId`] (key prefix `707`, as Apex's `AsyncApexJob`) and every
//! schedule a [`CronTriggerId`] (key prefix `08e`, as Apex's `CronTrigger`). An ID has two
//! spellings, exactly as in Salesforce:
//!
//! * the **15-character** form is case-sensitive: the 3-character key prefix followed by 12
//!   base-62 characters;
//! * the **18-character** form appends a 3-character checksum of the letter case, so that the ID
//!   survives case-insensitive systems (spreadsheets, some databases).
//!
//! Both forms parse to the same value and compare equal. IDs are displayed in the 18-character
//! form, like the Salesforce APIs do.
//!
//! The 12 body characters encode `milliseconds since 2020-01-01 UTC` (42 bits), a node number
//! handed out by the store (16 bits) and a per-node sequence (13 bits). The base-62 alphabet is
//! in ASCII order, so IDs sort by creation time (at millisecond granularity), and two processes
//! sharing one store never mint the same ID because their node numbers differ.
//!
//! ```
//! use asyncapex_core::JobId;
//!
//! let id: JobId = "707000000000001".parse()?;
//! assert_eq!(id.to_string(), "707000000000001AAA");
//! assert_eq!(id, "707000000000001AAA".parse::<JobId>()?);
//! # Ok::<(), asyncapex_core::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Error;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
/// 2020-01-01T00:00:00Z in Unix milliseconds: the epoch of the time part of an ID.
const ID_EPOCH_MS: i64 = 1_577_836_800_000;
const NODE_BITS: u32 = 16;
const SEQ_BITS: u32 = 13;
const SEQ_MAX: u64 = (1 << SEQ_BITS) - 1;

/// The kind of record an ID names, given by its 3-character key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPrefix {
    /// `707`: an async job record (Apex's `AsyncApexJob`).
    Job,
    /// `08e`: a schedule (Apex's `CronTrigger`).
    CronTrigger,
}

impl KeyPrefix {
    /// The three characters that start every ID of this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyPrefix::Job => "707",
            KeyPrefix::CronTrigger => "08e",
        }
    }

    /// What this kind of ID names, for error messages.
    pub const fn noun(self) -> &'static str {
        match self {
            KeyPrefix::Job => "job ID",
            KeyPrefix::CronTrigger => "cron trigger ID",
        }
    }

    fn from_prefix(prefix: &str) -> Option<KeyPrefix> {
        match prefix {
            "707" => Some(KeyPrefix::Job),
            "08e" => Some(KeyPrefix::CronTrigger),
            _ => None,
        }
    }
}

/// A parsed Salesforce-style ID of any kind: the 15-character case-sensitive form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId([u8; 15]);

impl RecordId {
    fn new(prefix: KeyPrefix, body: u128) -> RecordId {
        let mut bytes = [b'0'; 15];
        bytes[..3].copy_from_slice(prefix.as_str().as_bytes());
        let mut v = body;
        for slot in bytes[3..].iter_mut().rev() {
            *slot = ALPHABET[(v % 62) as usize];
            v /= 62;
        }
        RecordId(bytes)
    }

    /// The key prefix of this ID.
    pub fn prefix(&self) -> KeyPrefix {
        // The constructor and the parser only ever build IDs with a known prefix.
        match &self.0[..3] {
            b"08e" => KeyPrefix::CronTrigger,
            _ => KeyPrefix::Job,
        }
    }

    /// The 15-character, case-sensitive form.
    pub fn as_15(&self) -> &str {
        // Only ASCII from ALPHABET or a prefix is ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The 18-character form: the 15-character form plus its case checksum.
    pub fn to_18(&self) -> String {
        let mut out = String::with_capacity(18);
        out.push_str(self.as_15());
        for c in checksum(&self.0) {
            out.push(c as char);
        }
        out
    }

    /// Parses either form of any known kind.
    ///
    /// # Errors
    /// [`Error::InvalidId`] when the text is not 15 or 18 characters of `[0-9A-Za-z]`, when the
    /// key prefix is unknown, or when an 18-character checksum does not match.
    pub fn parse(input: &str) -> Result<RecordId, Error> {
        let invalid = |reason: String| Error::InvalidId {
            input: input.to_owned(),
            reason,
        };
        let text = input.trim();
        if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "only the characters 0-9, A-Z and a-z may appear in an ID".into(),
            ));
        }
        let mut bytes = [0u8; 15];
        match text.len() {
            15 => bytes.copy_from_slice(text.as_bytes()),
            18 => {
                // The suffix says which of the first 15 characters are upper case, so an
                // 18-character ID may arrive in any case and still be restored exactly.
                let raw = text.as_bytes();
                let mut flags = [false; 15];
                for (chunk, &c) in raw[15..].iter().enumerate() {
                    let Some(bits) = CHECKSUM_ALPHABET
                        .iter()
                        .position(|&a| a == c.to_ascii_uppercase())
                    else {
                        return Err(invalid(format!(
                            "the checksum suffix {:?} is not valid",
                            &text[15..]
                        )));
                    };
                    for bit in 0..5 {
                        flags[chunk * 5 + bit] = bits & (1 << bit) != 0;
                    }
                }
                for i in 0..15 {
                    let c = raw[i];
                    bytes[i] = if flags[i] {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    };
                    if flags[i] && !c.is_ascii_alphabetic() {
                        return Err(invalid(format!(
                            "the checksum suffix {:?} does not match the first 15 characters",
                            &text[15..]
                        )));
                    }
                }
            }
            n => {
                return Err(invalid(format!(
                    "an ID has 15 or 18 characters, this one has {n}"
                )));
            }
        }
        let prefix = std::str::from_utf8(&bytes[..3]).unwrap_or("");
        if KeyPrefix::from_prefix(prefix).is_none() {
            return Err(invalid(format!(
                "unknown key prefix {prefix:?} (expected 707 for a job or 08e for a cron trigger)"
            )));
        }
        Ok(RecordId(bytes))
    }
}

fn checksum(id: &[u8; 15]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (chunk, slot) in out.iter_mut().enumerate() {
        let mut bits = 0usize;
        for bit in 0..5 {
            if id[chunk * 5 + bit].is_ascii_uppercase() {
                bits |= 1 << bit;
            }
        }
        *slot = CHECKSUM_ALPHABET[bits];
    }
    out
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_18())
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_15())
    }
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(RecordId);

        impl $name {
            /// The key prefix shared by every ID of this type.
            pub const PREFIX: KeyPrefix = $prefix;

            /// The 15-character, case-sensitive form (how stores keep it).
            pub fn as_15(&self) -> &str {
                self.0.as_15()
            }

            /// The 18-character, case-insensitive-safe form (how it is displayed).
            pub fn to_18(&self) -> String {
                self.0.to_18()
            }

            /// The untyped ID.
            pub fn record_id(&self) -> RecordId {
                self.0
            }

            /// Builds an ID from a raw body value; used by [`IdGenerator`] and tests.
            pub fn from_body(body: u128) -> Self {
                $name(RecordId::new($prefix, body))
            }
        }

        impl FromStr for $name {
            type Err = Error;

            /// Parses the 15- or 18-character form.
            ///
            /// # Errors
            /// [`Error::InvalidId`] for malformed text, [`Error::WrongIdKind`] for an ID of
            /// another kind.
            fn from_str(s: &str) -> Result<Self, Error> {
                let id = RecordId::parse(s)?;
                if id.prefix() != $prefix {
                    return Err(Error::WrongIdKind {
                        input: s.trim().to_owned(),
                        expected: $prefix.noun(),
                        found: id.prefix().noun(),
                    });
                }
                Ok($name(id))
            }
        }

        impl TryFrom<RecordId> for $name {
            type Error = Error;

            fn try_from(id: RecordId) -> Result<Self, Error> {
                if id.prefix() != $prefix {
                    return Err(Error::WrongIdKind {
                        input: id.as_15().to_owned(),
                        expected: $prefix.noun(),
                        found: id.prefix().noun(),
                    });
                }
                Ok($name(id))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_18())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// The ID of a job record (Apex's `AsyncApexJob`), key prefix `707`.
    JobId,
    KeyPrefix::Job
);

impl JobId {
    /// The smallest job ID minted at or after `t`: every ID minted from then on sorts at or
    /// above it (the bound of a submitted-date filter).
    ///
    /// ```
    /// use asyncapex_core::{IdGenerator, JobId};
    /// use jiff::Timestamp;
    ///
    /// let t: Timestamp = "2026-12-03T10:00:00Z".parse()?;
    /// let minted = IdGenerator::new(9).job_id(t);
    /// assert!(JobId::first_minted_at(t) <= minted);
    /// assert!(minted < JobId::first_minted_at(t + jiff::SignedDuration::from_millis(1)));
    /// # Ok::<(), jiff::Error>(())
    /// ```
    pub fn first_minted_at(t: Timestamp) -> JobId {
        let ms = (t.as_millisecond() - ID_EPOCH_MS).clamp(0, (1 << 42) - 1);
        JobId::from_body((ms as u128) << (NODE_BITS + SEQ_BITS))
    }
}
typed_id!(
    /// The ID of a schedule (Apex's `CronTrigger`), key prefix `08e`.
    CronTriggerId,
    KeyPrefix::CronTrigger
);

/// Mints IDs that sort by creation and never collide across processes sharing a store.
///
/// The node number must be unique among the processes sharing one store; stores hand one out
/// with `node_register`.
#[derive(Debug)]
pub struct IdGenerator {
    node: u16,
    state: Mutex<(i64, u64)>,
}

impl IdGenerator {
    /// A generator for the given node number.
    pub fn new(node: u16) -> IdGenerator {
        IdGenerator {
            node,
            state: Mutex::new((0, 0)),
        }
    }

    fn next_body(&self, now: Timestamp) -> u128 {
        let now_ms = (now.as_millisecond() - ID_EPOCH_MS).max(0);
        // A poisoned lock only means another thread panicked mid-update of two integers;
        // the values are still usable.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last_ms, seq) = *state;
        // A clock that goes backwards (or a manual clock) must never repeat an ID, so time
        // only moves forward here, borrowing from the next millisecond when a sequence runs out.
        let next = if now_ms > last_ms {
            (now_ms, 0)
        } else if seq < SEQ_MAX {
            (last_ms, seq + 1)
        } else {
            (last_ms + 1, 0)
        };
        *state = next;
        ((next.0 as u128) << (NODE_BITS + SEQ_BITS))
            | ((self.node as u128) << SEQ_BITS)
            | next.1 as u128
    }

    /// A new job ID minted at `now`.
    pub fn job_id(&self, now: Timestamp) -> JobId {
        JobId::from_body(self.next_body(now))
    }

    /// A new cron trigger ID minted at `now`.
    pub fn cron_trigger_id(&self, now: Timestamp) -> CronTriggerId {
        CronTriggerId::from_body(self.next_body(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn eighteen_char_form_matches_salesforce_algorithm() {
        // A well-known Salesforce example: 001A0000006Vm9r -> 001A0000006Vm9rIAC.
        let raw = *b"001A0000006Vm9r";
        let sum = checksum(&raw);
        assert_eq!(&sum, b"IAC");
    }

    #[test]
    fn both_forms_parse_and_compare_equal() {
        let g = IdGenerator::new(7);
        let id = g.job_id(Timestamp::now());
        let from15: JobId = id.as_15().parse().unwrap();
        let from18: JobId = id.to_18().parse().unwrap();
        let from18_lower: JobId = id.to_18().to_lowercase().parse().unwrap();
        assert_eq!(id, from15);
        assert_eq!(id, from18);
        assert_eq!(id, from18_lower);
        assert!(id.as_15().starts_with("707"));
    }

    #[test]
    fn wrong_kind_is_refused_with_both_names() {
        let g = IdGenerator::new(1);
        let trigger = g.cron_trigger_id(Timestamp::now());
        let err = trigger.to_18().parse::<JobId>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("expected a job ID"), "{msg}");
        assert!(msg.contains("cron trigger ID"), "{msg}");
    }

    #[test]
    fn malformed_ids_are_refused_with_reason() {
        for (input, needle) in [
            ("", "15 or 18 characters"),
            ("707abc", "15 or 18 characters"),
            ("707-00000000001", "only the characters"),
            ("001000000000001", "unknown key prefix"),
            ("707000000000001ZZZ", "does not match"),
        ] {
            let err = input.parse::<JobId>().unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
            assert!(err.contains(input), "{input:?}: {err}");
        }
    }

    #[test]
    fn ids_sort_by_creation_even_within_one_millisecond() {
        let g = IdGenerator::new(3);
        let t = Timestamp::now();
        let ids: Vec<JobId> = (0..20_000).map(|_| g.job_id(t)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
    }

    #[test]
    fn different_nodes_never_collide() {
        let a = IdGenerator::new(1);
        let b = IdGenerator::new(2);
        let t = Timestamp::now();
        let mut all: Vec<JobId> = (0..1000).flat_map(|_| [a.job_id(t), b.job_id(t)]).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 2000);
    }

    #[test]
    fn clock_going_backwards_never_repeats() {
        let g = IdGenerator::new(1);
        let later = Timestamp::from_second(1_800_000_000).unwrap();
        let earlier = Timestamp::from_second(1_700_000_000).unwrap();
        let x = g.job_id(later);
        let y = g.job_id(earlier);
        assert!(y > x);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = s.parse::<JobId>();
            let _ = s.parse::<CronTriggerId>();
        }

        #[test]
        fn round_trips(body in 0u128..(1u128 << 71)) {
            let id = JobId::from_body(body);
            prop_assert_eq!(id.as_15().parse::<JobId>().unwrap(), id);
            prop_assert_eq!(id.to_18().to_uppercase().parse::<JobId>().unwrap(), id);
        }
    }
}
