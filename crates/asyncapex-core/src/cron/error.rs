//! Typed errors for cron parsing.

use std::fmt;

/// One of the seven fields of a Quartz cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    /// Field 1, seconds (0–59).
    Seconds,
    /// Field 2, minutes (0–59).
    Minutes,
    /// Field 3, hours (0–23).
    Hours,
    /// Field 4, day of month (1–31).
    DayOfMonth,
    /// Field 5, month (1–12 or `JAN`–`DEC`).
    Month,
    /// Field 6, day of week (1–7 = `SUN`–`SAT`).
    DayOfWeek,
    /// Field 7 (optional), year (1970–2099).
    Year,
}

impl CronField {
    /// All fields in expression order.
    pub const ALL: [CronField; 7] = [
        CronField::Seconds,
        CronField::Minutes,
        CronField::Hours,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
        CronField::Year,
    ];

    /// Smallest value the field accepts.
    pub fn min(self) -> u32 {
        match self {
            CronField::Seconds | CronField::Minutes | CronField::Hours => 0,
            CronField::DayOfMonth | CronField::Month | CronField::DayOfWeek => 1,
            CronField::Year => 1970,
        }
    }

    /// Largest value the field accepts.
    pub fn max(self) -> u32 {
        match self {
            CronField::Seconds | CronField::Minutes => 59,
            CronField::Hours => 23,
            CronField::DayOfMonth => 31,
            CronField::Month => 12,
            CronField::DayOfWeek => 7,
            CronField::Year => 2099,
        }
    }

    /// Largest `/step` accepted. Mirrors Quartz's own increment limits, except
    /// for years where Quartz has none and a step wider than the range is useless.
    pub(crate) fn max_step(self) -> u32 {
        match self {
            CronField::Year => self.max() - self.min(),
            other => other.max(),
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CronField::Seconds => "seconds",
            CronField::Minutes => "minutes",
            CronField::Hours => "hours",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
            CronField::Year => "year",
        })
    }
}

/// Why one field of an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldErrorKind {
    /// A list item was empty (e.g. `1,,2` or a trailing comma).
    #[error("empty list item")]
    EmptyItem,
    /// A number lies outside the field's range.
    #[error("{value} is out of range {min}-{max}")]
    OutOfRange {
        /// The offending number (saturated at `u32::MAX` when absurdly large).
        value: u32,
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
    },
    /// A character that has no meaning at that position.
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// The text ended where a number or name was expected.
    #[error("unexpected end of field after {0:?}")]
    UnexpectedEnd(String),
    /// A word that is not a month / weekday name valid in this field.
    #[error(
        "{0:?} is not a valid name here (use JAN-DEC in the month field, SUN-SAT in the day-of-week field)"
    )]
    BadName(String),
    /// `?` outside the two day fields, or combined with other items.
    #[error("'?' is only allowed alone, in the day-of-month or day-of-week field")]
    QuestionMark,
    /// A `/0` step.
    #[error("step must be at least 1, got 0")]
    StepZero,
    /// A step larger than the field allows.
    #[error("step {step} is too large (at most {max})")]
    StepTooLarge {
        /// The step given.
        step: u32,
        /// Largest step allowed.
        max: u32,
    },
    /// A step after a month/weekday name, which Quartz silently ignores.
    #[error(
        "a '/' step after a name is not supported (Quartz would silently ignore it); use numbers"
    )]
    StepAfterName,
    /// A range whose two ends mix a name and a number.
    #[error("a range must use two names or two numbers, not a mix")]
    MixedRange,
    /// A year range whose end is before its start.
    #[error("year range {start}-{end} runs backwards (only other fields may wrap)")]
    YearRangeWraps {
        /// First year.
        start: u32,
        /// Last year.
        end: u32,
    },
    /// `#` misuse: bad occurrence number, or combined with a list.
    #[error("{0}")]
    Nth(&'static str),
    /// `W` misuse (in a list or range, outside day-of-month, bad day).
    #[error("{0}")]
    Weekday(&'static str),
    /// `L` misuse.
    #[error("{0}")]
    Last(&'static str),
    /// A special character rejected by [`CronDialect::ApexStrict`](super::CronDialect::ApexStrict).
    #[error("Apex allows only a plain integer here, with no special characters, got {0:?}")]
    ApexStrictSpecial(String),
}

/// A cron expression was refused.
///
/// The message always names the expression and, where it applies, the field and
/// the rule that was broken, e.g.
/// `invalid cron expression "0 0 25 * * ?": hours field: 25 is out of range 0-23`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CronError {
    /// Empty or all-whitespace input.
    #[error("invalid cron expression: it is empty")]
    Empty,
    /// Input over the length cap (checked first, so huge inputs cost nothing).
    #[error("invalid cron expression: it is {len} bytes long, more than the {max}-byte limit")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not 6 or 7 whitespace-separated fields.
    #[error(
        "invalid cron expression {expr:?}: expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), found {found}"
    )]
    FieldCount {
        /// The expression as given.
        expr: String,
        /// How many fields were found.
        found: usize,
    },
    /// One field is malformed.
    #[error("invalid cron expression {expr:?}: {field} field: {kind}")]
    Field {
        /// The expression as given.
        expr: String,
        /// The offending field.
        field: CronField,
        /// What is wrong with it.
        kind: FieldErrorKind,
    },
    /// Both or neither of the day fields is `?`.
    #[error(
        "invalid cron expression {expr:?}: exactly one of the day-of-month and day-of-week fields must be '?' ({detail})"
    )]
    DayFields {
        /// The expression as given.
        expr: String,
        /// Which way it is wrong.
        detail: &'static str,
    },
}
