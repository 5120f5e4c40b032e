//! Parser for the Quartz cron dialect.
//!
//! The parser is deliberately stricter than Quartz's own: Quartz silently ignores
//! trailing garbage (`5x`, `MONDAY`, `MON/2`, extra fields) and accepts list forms
//! that it then evaluates using only their first item (`15W,20`, `2#1,3`). Every
//! expression accepted here is evaluated exactly as Quartz 2.3 evaluates it; the
//! forms Quartz would misread are refused instead of being guessed at.

use super::CronDialect;
use super::error::{CronError, CronField, FieldErrorKind};

/// Longest accepted expression, in bytes. Real expressions are < 100 bytes; the
/// cap keeps error messages and parse time bounded for hostile input.
pub const MAX_EXPR_LEN: usize = 1024;

/// One comma-separated item of a plain field, kept for [`super::CronExpr::explain`].
///
/// `start == None` means `*`; `end` is the end of a `a-b` range; `step` a `/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) start: Option<u32>,
    pub(crate) end: Option<u32>,
    pub(crate) step: Option<u32>,
}

/// Day-of-month field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DomSpec {
    /// `?`
    NoSpec,
    /// Plain items; bit `d` set for day `d` (1..=31).
    Days { bits: u32, items: Vec<Item> },
    /// `L`, `L-n` (offset n), `LW`, `L-nW` (weekday == true).
    Last { offset: u32, weekday: bool },
    /// `nW`
    NearestWeekday(u32),
}

/// Day-of-week field. Days are Quartz numbers, 1 = Sunday … 7 = Saturday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DowSpec {
    /// `?`
    NoSpec,
    /// Plain items (a lone `L` is Saturday, as in Quartz); bit `d` set for day `d`.
    Days { bits: u8, items: Vec<Item> },
    /// `nL`: the last such weekday of the month.
    Last(u32),
    /// `n#k`: the k-th such weekday of the month.
    Nth(u32, u32),
}

/// Years 1970..=2099 as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct YearSet([u64; 3]);

impl YearSet {
    const BASE: i64 = 1970;
    const LAST: i64 = 2099;

    fn insert(&mut self, year: u32) {
        let i = i64::from(year) - Self::BASE;
        if (0..=Self::LAST - Self::BASE).contains(&i) {
            let i = i as usize;
            if let Some(w) = self.0.get_mut(i / 64) {
                *w |= 1u64 << (i % 64);
            }
        }
    }

    fn contains_idx(&self, i: i64) -> bool {
        if !(0..=Self::LAST - Self::BASE).contains(&i) {
            return false;
        }
        let i = i as usize;
        self.0
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// Smallest year in the set that is `>= year` (Quartz's `tailSet(year).first()`).
    pub(crate) fn next_at_or_after(&self, year: i64) -> Option<i64> {
        let from = (year - Self::BASE).max(0);
        (from..=Self::LAST - Self::BASE)
            .find(|&i| self.contains_idx(i))
            .map(|i| i + Self::BASE)
    }
}

/// The evaluated form of an expression: one set per field plus Quartz's flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fields {
    pub(crate) seconds: u64,
    pub(crate) minutes: u64,
    pub(crate) hours: u64,
    pub(crate) dom: DomSpec,
    pub(crate) months: u64,
    pub(crate) dow: DowSpec,
    pub(crate) years: YearSet,
    /// Items per plain field, for explain(): seconds, minutes, hours, month, year.
    pub(crate) second_items: Vec<Item>,
    pub(crate) minute_items: Vec<Item>,
    pub(crate) hour_items: Vec<Item>,
    pub(crate) month_items: Vec<Item>,
    /// `None` when the optional year field is absent.
    pub(crate) year_items: Option<Vec<Item>>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parse a whole expression.
pub(crate) fn parse(expr: &str, dialect: CronDialect) -> Result<Fields, CronError> {
    if expr.len() > MAX_EXPR_LEN {
        return Err(CronError::TooLong {
            len: expr.len(),
            max: MAX_EXPR_LEN,
        });
    }
    // Quartz splits on space and tab only; other whitespace is an error below.
    let parts: Vec<&str> = expr.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
    if parts.is_empty() {
        return Err(CronError::Empty);
    }
    if parts.len() != 6 && parts.len() != 7 {
        return Err(CronError::FieldCount {
            expr: expr.to_owned(),
            found: parts.len(),
        });
    }
    let err = |field: CronField, kind: FieldErrorKind| CronError::Field {
        expr: expr.to_owned(),
        field,
        kind,
    };
    let mut texts = [""; 7];
    for (slot, p) in texts.iter_mut().zip(parts.iter()) {
        *slot = p;
    }
    // Quartz upper-cases the whole expression, so names and L/W are case-blind.
    let upper: Vec<String> = texts.iter().map(|t| t.to_ascii_uppercase()).collect();
    let text = |i: usize| upper.get(i).map(String::as_str).unwrap_or("");

    if dialect == CronDialect::ApexStrict {
        for (i, field) in [(0, CronField::Seconds), (1, CronField::Minutes)] {
            let t = text(i);
            if !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(field, FieldErrorKind::ApexStrictSpecial(t.to_owned())));
            }
        }
    }

    let original = |i: usize| texts.get(i).copied().unwrap_or("");
    let err_at = |i: usize, field: CronField| {
        move |k: FieldErrorKind| err(field, restore_case(k, original(i)))
    };
    let plain = |i: usize, field: CronField| -> Result<(u64, Vec<Item>), CronError> {
        parse_plain(text(i), field).map_err(err_at(i, field))
    };
    let (seconds, second_items) = plain(0, CronField::Seconds)?;
    let (minutes, minute_items) = plain(1, CronField::Minutes)?;
    let (hours, hour_items) = plain(2, CronField::Hours)?;
    let dom = parse_dom(text(3)).map_err(err_at(3, CronField::DayOfMonth))?;
    let (months, month_items) = plain(4, CronField::Month)?;
    let dow = parse_dow(text(5)).map_err(err_at(5, CronField::DayOfWeek))?;
    let (years, year_items) = if parts.len() == 7 {
        let (_, items) = plain(6, CronField::Year)?;
        (year_set(&items), Some(items))
    } else {
        let all = vec![Item {
            start: None,
            end: None,
            step: None,
        }];
        (year_set(&all), None)
    };

    match (&dom, &dow) {
        (DomSpec::NoSpec, DowSpec::NoSpec) => {
            return Err(CronError::DayFields {
                expr: expr.to_owned(),
                detail: "both are '?'",
            });
        }
        (DomSpec::NoSpec, _) | (_, DowSpec::NoSpec) => {}
        _ => {
            return Err(CronError::DayFields {
                expr: expr.to_owned(),
                detail: "neither is '?'; Quartz cannot combine a day-of-month with a day-of-week",
            });
        }
    }

    Ok(Fields {
        seconds,
        minutes,
        hours,
        dom,
        months,
        dow,
        years,
        second_items,
        minute_items,
        hour_items,
        month_items,
        year_items,
    })
}

/// Fields are parsed upper-cased (as Quartz does); put the user's own spelling
/// back into error messages.
fn restore_case(kind: FieldErrorKind, original: &str) -> FieldErrorKind {
    match kind {
        FieldErrorKind::UnexpectedChar(c) if c.is_ascii_uppercase() && !original.contains(c) => {
            FieldErrorKind::UnexpectedChar(c.to_ascii_lowercase())
        }
        FieldErrorKind::BadName(name) => {
            let found = original
                .char_indices()
                .find(|&(i, _)| {
                    original
                        .get(i..i + name.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(&name))
                })
                .and_then(|(i, _)| original.get(i..i + name.len()));
            FieldErrorKind::BadName(found.map_or(name, str::to_owned))
        }
        other => other,
    }
}

/// A tiny cursor over an ASCII, upper-cased field.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

/// A number or a name, remembering which, because ranges may not mix them.
#[derive(Clone, Copy)]
struct Val {
    v: u32,
    named: bool,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor {
            s: s.as_bytes(),
            pos: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn consumed(&self) -> String {
        String::from_utf8_lossy(self.s.get(..self.pos).unwrap_or(self.s)).into_owned()
    }
    /// Error for whatever character sits at the cursor.
    fn unexpected(&self, field: CronField) -> FieldErrorKind {
        match self.peek() {
            None => FieldErrorKind::UnexpectedEnd(self.consumed()),
            Some(c) => misuse(field, c),
        }
    }
    fn digits(&mut self) -> Option<u32> {
        let start = self.pos;
        let mut v: u32 = 0;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            v = v.saturating_mul(10).saturating_add(u32::from(c - b'0'));
            self.pos += 1;
        }
        (self.pos > start).then_some(v)
    }
    fn letters(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_uppercase()) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or(&[])
    }
    /// A number, or (in the month / day-of-week fields) a three-letter name.
    /// Only the first three letters of a run are taken, so `FRIL` reads as
    /// `FRI` followed by `L`; `MONDAY` fails on the stray `D`.
    fn value(&mut self, field: CronField) -> Result<Val, FieldErrorKind> {
        if let Some(v) = self.digits() {
            check_range(v, field)?;
            return Ok(Val { v, named: false });
        }
        let names: &[&str] = match field {
            CronField::Month => &MONTHS,
            CronField::DayOfWeek => &DAYS,
            _ => return Err(self.unexpected(field)),
        };
        let start = self.pos;
        let run = self.letters();
        if run.is_empty() {
            return Err(self.unexpected(field));
        }
        if run.len() < 3 {
            // A stray L or W reads better as "L misuse" than as a bad name.
            if let Some(&c @ (b'L' | b'W')) = run.first() {
                return Err(misuse(field, c));
            }
        }
        let head = run.get(..3).unwrap_or(run);
        match names.iter().position(|n| n.as_bytes() == head) {
            Some(i) => {
                self.pos = start + 3;
                Ok(Val {
                    v: i as u32 + 1,
                    named: true,
                })
            }
            None => Err(FieldErrorKind::BadName(
                String::from_utf8_lossy(run).into_owned(),
            )),
        }
    }
    fn step(&mut self, field: CronField) -> Result<u32, FieldErrorKind> {
        let Some(n) = self.digits() else {
            return Err(self.unexpected(field));
        };
        if n == 0 {
            return Err(FieldErrorKind::StepZero);
        }
        if n > field.max_step() {
            return Err(FieldErrorKind::StepTooLarge {
                step: n,
                max: field.max_step(),
            });
        }
        Ok(n)
    }
}

/// The most helpful error for a special character found where it is not allowed.
fn misuse(field: CronField, c: u8) -> FieldErrorKind {
    match c {
        b'?' => FieldErrorKind::QuestionMark,
        b'L' => FieldErrorKind::Last(match field {
            CronField::DayOfMonth => {
                "'L' must stand alone, as L, L-n, LW or L-nW (it cannot follow a day or join a list)"
            }
            CronField::DayOfWeek => {
                "'L' must stand alone (Saturday) or follow one weekday, as in 6L or FRIL"
            }
            _ => "'L' is only allowed in the day-of-month and day-of-week fields",
        }),
        b'W' => FieldErrorKind::Weekday(if field == CronField::DayOfMonth {
            "'W' must follow a single day, as in 15W or LW"
        } else {
            "'W' is only allowed in the day-of-month field"
        }),
        b'#' => FieldErrorKind::Nth(if field == CronField::DayOfWeek {
            "'#' must follow a single weekday, as in 6#3 or FRI#3"
        } else {
            "'#' is only allowed in the day-of-week field"
        }),
        other => FieldErrorKind::UnexpectedChar(char::from(other)),
    }
}

fn check_range(v: u32, field: CronField) -> Result<(), FieldErrorKind> {
    if v < field.min() || v > field.max() {
        return Err(FieldErrorKind::OutOfRange {
            value: v,
            min: field.min(),
            max: field.max(),
        });
    }
    Ok(())
}

fn check_ascii(s: &str) -> Result<(), FieldErrorKind> {
    match s.chars().find(|c| !c.is_ascii() || c.is_ascii_control()) {
        Some(c) => Err(FieldErrorKind::UnexpectedChar(c)),
        None => Ok(()),
    }
}

/// Parse one comma-separated plain item at the cursor.
fn parse_item(cur: &mut Cursor<'_>, field: CronField) -> Result<Item, FieldErrorKind> {
    if cur.eat(b'*') {
        let step = if cur.eat(b'/') {
            Some(cur.step(field)?)
        } else {
            None
        };
        return Ok(Item {
            start: None,
            end: None,
            step,
        });
    }
    if matches!(cur.peek(), Some(b',') | None) {
        return Err(FieldErrorKind::EmptyItem);
    }
    let a = cur.value(field)?;
    let mut end = None;
    if cur.eat(b'-') {
        if cur.at_end() || cur.peek() == Some(b',') {
            return Err(FieldErrorKind::UnexpectedEnd(cur.consumed()));
        }
        let b = cur.value(field)?;
        if a.named != b.named {
            return Err(FieldErrorKind::MixedRange);
        }
        if field == CronField::Year && b.v < a.v {
            return Err(FieldErrorKind::YearRangeWraps {
                start: a.v,
                end: b.v,
            });
        }
        end = Some(b.v);
    }
    let mut step = None;
    if cur.eat(b'/') {
        if a.named {
            return Err(FieldErrorKind::StepAfterName);
        }
        step = Some(cur.step(field)?);
    }
    Ok(Item {
        start: Some(a.v),
        end,
        step,
    })
}

/// Parse a field made only of `*`, numbers, names, ranges, steps and lists,
/// returning its value set (bit `v` for value `v`) and items.
fn parse_plain(text: &str, field: CronField) -> Result<(u64, Vec<Item>), FieldErrorKind> {
    check_ascii(text)?;
    if text.contains('?') {
        return Err(FieldErrorKind::QuestionMark);
    }
    let mut cur = Cursor::new(text);
    let mut items = Vec::new();
    loop {
        items.push(parse_item(&mut cur, field)?);
        if cur.at_end() {
            break;
        }
        if !cur.eat(b',') {
            return Err(cur.unexpected(field));
        }
    }
    let bits = if field == CronField::Year {
        0
    } else {
        items
            .iter()
            .fold(0u64, |acc, it| acc | item_bits(*it, field))
    };
    Ok((bits, items))
}

/// The values an item stands for, exactly as Quartz's `addToSet` computes them,
/// including its treatment of ranges whose end is below their start: the range
/// runs past the field's maximum and wraps (`22-2` hours = 22,23,0,1,2; `FRI-MON`
/// = FRI,SAT,SUN,MON; day-of-month wraps at 31 whatever the month's length).
/// Steps continue across the wrap (`50-10/7` minutes = 50,57,4).
fn item_values(it: Item, field: CronField, mut f: impl FnMut(u32)) {
    let min = field.min();
    let max = field.max();
    let incr = it.step.unwrap_or(1).max(1);
    let start = it.start.unwrap_or(min);
    let stop = match (it.start, it.end, it.step) {
        (Some(a), None, None) => a,
        (_, Some(b), _) => b,
        _ => max,
    };
    if stop >= start {
        let mut i = start;
        while i <= stop {
            f(i);
            i = i.saturating_add(incr);
            if i == u32::MAX {
                break;
            }
        }
        return;
    }
    // Wrapping range; Quartz's modulus is the count of values (60, 24, 31, 12, 7).
    let modulus = match field {
        CronField::Seconds | CronField::Minutes => 60,
        CronField::Hours => 24,
        CronField::DayOfMonth => 31,
        CronField::Month => 12,
        CronField::DayOfWeek => 7,
        CronField::Year => return,
    };
    let stop = stop + modulus;
    let mut i = start;
    while i <= stop {
        let mut v = i % modulus;
        if v == 0 && min == 1 {
            v = modulus;
        }
        f(v);
        i += incr;
    }
}

fn item_bits(it: Item, field: CronField) -> u64 {
    let mut bits = 0u64;
    item_values(it, field, |v| {
        if v < 64 {
            bits |= 1u64 << v;
        }
    });
    bits
}

fn year_set(items: &[Item]) -> YearSet {
    let mut set = YearSet([0; 3]);
    for it in items {
        item_values(*it, CronField::Year, |v| set.insert(v));
    }
    set
}

fn parse_dom(text: &str) -> Result<DomSpec, FieldErrorKind> {
    let field = CronField::DayOfMonth;
    check_ascii(text)?;
    if text == "?" {
        return Ok(DomSpec::NoSpec);
    }
    if text.contains('?') {
        return Err(FieldErrorKind::QuestionMark);
    }
    let has_list = text.contains(',');
    if text.contains('L') {
        if has_list {
            return Err(FieldErrorKind::Last(
                "'L' cannot be combined with other days in a list",
            ));
        }
        let mut cur = Cursor::new(text);
        if !cur.eat(b'L') {
            return Err(misuse(field, b'L'));
        }
        let mut offset = 0;
        if cur.eat(b'-') {
            offset = cur.digits().ok_or(FieldErrorKind::Last(
                "'L-' must be followed by a number of days, as in L-3",
            ))?;
            if offset > 30 {
                return Err(FieldErrorKind::Last(
                    "the offset from the last day must be at most 30 (L-0 to L-30)",
                ));
            }
        }
        let weekday = cur.eat(b'W');
        if weekday && offset > 27 {
            // L-28W in February can reach day 0; Quartz 2.3 then bounces between
            // months and never returns (L-29W / L-30W hang it outright).
            return Err(FieldErrorKind::Last(
                "L-nW needs n <= 27: a larger offset can fall before the 1st of a short month, where Quartz never finds a fire time",
            ));
        }
        if !cur.at_end() {
            return Err(cur.unexpected(field));
        }
        return Ok(DomSpec::Last { offset, weekday });
    }
    if text.contains('W') {
        if has_list || text.contains(['-', '/', '*']) {
            return Err(FieldErrorKind::Weekday(
                "'W' takes a single day (e.g. 15W), not a list, range or step",
            ));
        }
        let mut cur = Cursor::new(text);
        let day = cur.digits().ok_or_else(|| misuse(field, b'W'))?;
        check_range(day, field)?;
        if !cur.eat(b'W') || !cur.at_end() {
            return Err(cur.unexpected(field));
        }
        return Ok(DomSpec::NearestWeekday(day));
    }
    let (bits, items) = parse_plain(text, field)?;
    Ok(DomSpec::Days {
        bits: (bits & 0xFFFF_FFFF) as u32,
        items,
    })
}

fn parse_dow(text: &str) -> Result<DowSpec, FieldErrorKind> {
    let field = CronField::DayOfWeek;
    check_ascii(text)?;
    if text == "?" {
        return Ok(DowSpec::NoSpec);
    }
    if text.contains('?') {
        return Err(FieldErrorKind::QuestionMark);
    }
    if text == "L" {
        // Quartz reads a lone L here as day 7, i.e. every Saturday.
        let item = Item {
            start: Some(7),
            end: None,
            step: None,
        };
        return Ok(DowSpec::Days {
            bits: 1 << 7,
            items: vec![item],
        });
    }
    let has_list = text.contains(',');
    if text.contains('#') {
        if has_list {
            return Err(FieldErrorKind::Nth(
                "'#' cannot be combined with a list (Quartz would use only the first day)",
            ));
        }
        let mut cur = Cursor::new(text);
        let day = cur.value(field)?;
        if !cur.eat(b'#') {
            return Err(cur.unexpected(field));
        }
        let n = cur.digits().ok_or(FieldErrorKind::Nth(
            "'#' must be followed by a number 1-5, as in 6#3",
        ))?;
        if !(1..=5).contains(&n) {
            return Err(FieldErrorKind::Nth(
                "the number after '#' must be 1-5 (no month has a 6th weekday)",
            ));
        }
        if !cur.at_end() {
            return Err(cur.unexpected(field));
        }
        return Ok(DowSpec::Nth(day.v, n));
    }
    // "L" as a suffix (6L, FRIL). Names never contain L except JUL, which is a month.
    if text.ends_with('L') || text.contains("L,") || text.contains("L-") || text.contains("L/") {
        if has_list || text.contains(['-', '/', '*']) {
            return Err(FieldErrorKind::Last(
                "'L' after a weekday cannot be combined with a list, range or step",
            ));
        }
        let mut cur = Cursor::new(text);
        let day = cur.value(field)?;
        if !cur.eat(b'L') || !cur.at_end() {
            return Err(cur.unexpected(field));
        }
        return Ok(DowSpec::Last(day.v));
    }
    let (bits, items) = parse_plain(text, field)?;
    Ok(DowSpec::Days {
        bits: (bits & 0xFF) as u8,
        items,
    })
}
