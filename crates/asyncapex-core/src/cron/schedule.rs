//! Next-fire computation.
//!
//! [`quartz_next`] is a faithful port of Quartz 2.3's `CronExpression#getTimeAfter`,
//! including the `java.util.GregorianCalendar` it drives. Quartz's answers in odd
//! corners (DST gaps and overlaps, `nW` on short months, `L-n` offsets) come from
//! the interplay of its loop with the calendar's lenient "set fields now,
//! recompute on the next read" behaviour, so both are reproduced rather than
//! re-derived: a cleaner algorithm would give different answers.
//!
//! The loop jumps field by field (second → minute → hour → day → month → year),
//! restarting from the top whenever a field had to move, so it needs a handful of
//! iterations per answer and at most a few per year when a date never occurs.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};

use super::parse::{DomSpec, DowSpec, Fields};

/// Last year an Apex cron expression can name; nothing later is returned.
pub(crate) const MAX_YEAR: i64 = 2099;

/// Safety net against any loop the port might still contain. Real searches need
/// far fewer iterations (a never-matching date costs ~3 per remaining year).
const MAX_ITERATIONS: u32 = 20_000;

/// Searches that start earlier than this (1960-01-01Z) start here instead: no
/// year before 1970 can match, and it keeps all arithmetic well inside range.
const MIN_START: i64 = -315_619_200;

const SECS_PER_DAY: i64 = 86_400;

/// How wall-clock fields map to instants.
#[derive(Clone, Copy)]
pub(crate) enum Zone<'a> {
    /// No time zone: "instants" are wall-clock seconds (as if UTC).
    Civil,
    /// A zone with a single, fixed offset (seconds); no lookups needed.
    Fixed(i64),
    /// A real zone, resolved as `java.util.GregorianCalendar` does.
    Tz(&'a TimeZone),
}

impl<'a> Zone<'a> {
    pub(crate) fn of(tz: &'a TimeZone) -> Self {
        match tz.to_fixed_offset() {
            Ok(offset) => Zone::Fixed(i64::from(offset.seconds())),
            Err(_) => Zone::Tz(tz),
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub(crate) fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub(crate) fn last_day_of_month(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Wall-clock seconds (as if UTC) to a jiff civil datetime.
fn to_datetime(local: i64) -> Option<DateTime> {
    let (y, m, d) = civil_from_days(local.div_euclid(SECS_PER_DAY));
    let tod = local.rem_euclid(SECS_PER_DAY);
    DateTime::new(
        i16::try_from(y).ok()?,
        m as i8,
        d as i8,
        (tod / 3600) as i8,
        (tod / 60 % 60) as i8,
        (tod % 60) as i8,
        0,
    )
    .ok()
}

/// Zone offset in force at `instant`, in seconds.
fn offset_at(tz: &TimeZone, instant: i64) -> Option<i64> {
    let ts = Timestamp::from_second(instant).ok()?;
    Some(i64::from(tz.to_offset(ts).seconds()))
}

/// A stand-in for `java.util.GregorianCalendar` in lenient mode.
///
/// Setters only record the value (which may be out of range: minute 60, day 32,
/// month 12); the next read normalises all fields at once, resolves the wall time
/// to an instant and recomputes every field from that instant.
///
/// Java recomputes after *every* set, even of an unchanged value, and that
/// matters in exactly one state: right after `setTime` to the first pass of a DST
/// overlap, where recomputing jumps to the second pass. [`Cal::at`] therefore
/// starts dirty. Every later state is the result of a recomputation, which is
/// idempotent, so setters may skip unchanged values: a large speed-up.
struct Cal<'a> {
    zone: Zone<'a>,
    year: i64,
    month0: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    instant: i64,
    dirty: bool,
    /// Wall times in `[lo, hi)` are unambiguous with offset `off`: saves a tz
    /// lookup on almost every recomputation.
    span: Span,
    /// Wall time of the last full tz lookup. Finding a span costs two more
    /// lookups, so it is only worth it when lookups cluster (not when the search
    /// leaps month by month through many DST periods).
    last_lookup: i64,
}

#[derive(Clone, Copy)]
struct Span {
    lo: i64,
    hi: i64,
    off: i64,
}

impl Span {
    const EMPTY: Span = Span {
        lo: 0,
        hi: 0,
        off: 0,
    };

    /// The span around `instant`, whose offset is `off`, kept two days clear of
    /// the neighbouring transitions so no gap or overlap can reach into it.
    fn around(tz: &TimeZone, instant: i64, off: i64) -> Span {
        const MARGIN: i64 = 2 * SECS_PER_DAY;
        let (Ok(ts), Ok(next_ts)) = (
            Timestamp::from_second(instant),
            Timestamp::from_second(instant + 1),
        ) else {
            return Span::EMPTY;
        };
        // `preceding` is exclusive: start from one second later so that a
        // transition exactly at `instant` counts as the one in force.
        let lo = tz
            .preceding(next_ts)
            .next()
            .map_or(i64::MIN / 4, |t| t.timestamp().as_second());
        let hi = tz
            .following(ts)
            .next()
            .map_or(i64::MAX / 4, |t| t.timestamp().as_second());
        Span {
            lo: lo + off + MARGIN,
            hi: hi + off - MARGIN,
            off,
        }
    }
}

impl<'a> Cal<'a> {
    /// `setTime(instant)` followed by `set(MILLISECOND, 0)`, which leaves it dirty.
    fn at(zone: Zone<'a>, instant: i64) -> Option<Self> {
        let mut c = Cal {
            zone,
            year: 1970,
            month0: 0,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            instant,
            dirty: true,
            span: Span::EMPTY,
            last_lookup: i64::MIN / 4,
        };
        let local = match zone {
            Zone::Civil => instant,
            Zone::Fixed(o) => instant + o,
            Zone::Tz(tz) => instant + offset_at(tz, instant)?,
        };
        c.set_local(local);
        Some(c)
    }

    /// A calendar whose every field is about to be set (Quartz's `tcal`).
    fn blank(zone: Zone<'a>, span: Span) -> Self {
        Cal {
            zone,
            year: 1970,
            month0: 0,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            instant: 0,
            dirty: true,
            span,
            last_lookup: i64::MIN / 4,
        }
    }

    fn set_local(&mut self, local: i64) {
        let (y, m, d) = civil_from_days(local.div_euclid(SECS_PER_DAY));
        let tod = local.rem_euclid(SECS_PER_DAY);
        self.year = y;
        self.month0 = m - 1;
        self.day = d;
        self.hour = tod / 3600;
        self.minute = tod / 60 % 60;
        self.second = tod % 60;
    }

    /// Java's `computeTime` + `computeFields`.
    fn normalize(&mut self) -> Option<()> {
        if !self.dirty {
            return Some(());
        }
        let y = self.year.checked_add(self.month0.div_euclid(12))?;
        if !(-9000..=9000).contains(&y) {
            return None;
        }
        let m = self.month0.rem_euclid(12) + 1;
        // Every field is bounded by the checks above and by what the loop sets
        // (a few units past its range), so this cannot overflow.
        let days = days_from_civil(y, m, 1) + (self.day - 1);
        let local = days * SECS_PER_DAY + self.hour * 3600 + self.minute * 60 + self.second;
        let (instant, local) = match self.zone {
            Zone::Civil => (local, local),
            Zone::Fixed(o) => (local - o, local),
            Zone::Tz(_) if (self.span.lo..self.span.hi).contains(&local) => {
                (local - self.span.off, local)
            }
            Zone::Tz(tz) => {
                let dt = to_datetime(local)?;
                // GregorianCalendar asks ZoneInfo for the offsets "by wall time",
                // which picks the offset in force *after* any transition whose new
                // wall time is <= ours. Net effect: a wall time in a gap is read
                // with the pre-gap offset (landing after the gap, pushed forward by
                // the gap's length) and one in an overlap with the post-transition
                // offset (the later of the two instants). Checked with the oracle
                // both inside and beyond Java's 2037 transition table.
                match tz.to_ambiguous_timestamp(dt).offset() {
                    AmbiguousOffset::Unambiguous { offset } => {
                        let off = i64::from(offset.seconds());
                        if (local - self.last_lookup).abs() < 2 * SECS_PER_DAY {
                            self.span = Span::around(tz, local - off, off);
                        }
                        self.last_lookup = local;
                        (local - off, local)
                    }
                    AmbiguousOffset::Gap { before, after } => {
                        let instant = local - i64::from(before.seconds());
                        (instant, instant + i64::from(after.seconds()))
                    }
                    AmbiguousOffset::Fold { after, .. } => {
                        (local - i64::from(after.seconds()), local)
                    }
                }
            }
        };
        self.instant = instant;
        self.set_local(local);
        self.dirty = false;
        Some(())
    }

    fn year(&mut self) -> Option<i64> {
        self.normalize()?;
        Some(self.year)
    }
    fn month1(&mut self) -> Option<i64> {
        self.normalize()?;
        Some(self.month0 + 1)
    }
    fn day(&mut self) -> Option<i64> {
        self.normalize()?;
        Some(self.day)
    }
    fn hour(&mut self) -> Option<i64> {
        self.normalize()?;
        Some(self.hour)
    }
    fn minute(&mut self) -> Option<i64> {
        self.normalize()?;
        Some(self.minute)
    }
    fn second(&mut self) -> Option<i64> {
        self.normalize()?;
        Some(self.second)
    }
    /// Java's DAY_OF_WEEK: 1 = Sunday … 7 = Saturday.
    fn day_of_week(&mut self) -> Option<i64> {
        self.normalize()?;
        let days = days_from_civil(self.year, self.month0 + 1, self.day);
        Some((days + 4).rem_euclid(7) + 1)
    }
    fn time(&mut self) -> Option<i64> {
        self.normalize()?;
        Some(self.instant)
    }

    fn set_year(&mut self, v: i64) {
        if self.year != v {
            self.year = v;
            self.dirty = true;
        }
    }
    fn set_month0(&mut self, v: i64) {
        if self.month0 != v {
            self.month0 = v;
            self.dirty = true;
        }
    }
    fn set_day(&mut self, v: i64) {
        if self.day != v {
            self.day = v;
            self.dirty = true;
        }
    }
    fn set_hour(&mut self, v: i64) {
        if self.hour != v {
            self.hour = v;
            self.dirty = true;
        }
    }
    fn set_minute(&mut self, v: i64) {
        if self.minute != v {
            self.minute = v;
            self.dirty = true;
        }
    }
    fn set_second(&mut self, v: i64) {
        if self.second != v {
            self.second = v;
            self.dirty = true;
        }
    }
    /// `add(YEAR, 1)`: completes, then bumps the year, pinning Feb 29.
    fn add_year(&mut self) -> Option<()> {
        self.normalize()?;
        self.year += 1;
        self.day = self.day.min(last_day_of_month(self.month0 + 1, self.year));
        self.dirty = true;
        Some(())
    }

    /// Quartz's `setCalendarHour`: if the hour landed in a gap (so reads back
    /// different), ask for the following hour instead.
    fn set_calendar_hour(&mut self, hour: i64) -> Option<()> {
        self.set_hour(hour);
        if self.hour()? != hour && hour != 24 {
            self.set_hour(hour + 1);
        }
        Some(())
    }

    /// Midnight of `day` in month `month0` (which may overflow into later months).
    fn set_midnight(&mut self, day: i64, month0: i64) {
        self.set_second(0);
        self.set_minute(0);
        self.set_hour(0);
        self.set_day(day);
        self.set_month0(month0);
    }
}

/// Smallest member of `bits` that is `>= from` (Java's `tailSet(from).first()`).
fn next_bit(bits: u64, from: i64) -> Option<i64> {
    if from >= 64 {
        return None;
    }
    let from = from.max(0);
    let masked = bits & (u64::MAX << from);
    (masked != 0).then(|| i64::from(masked.trailing_zeros()))
}

fn first_bit(bits: u64) -> i64 {
    i64::from(bits.trailing_zeros())
}

/// Quartz's nearest-weekday shift for `day` (whose weekday is `dow`): Saturday
/// goes back to Friday unless that leaves the month, Sunday forward to Monday
/// unless that leaves the month.
fn nearest_weekday(day: i64, dow: i64, ldom: i64) -> i64 {
    const SUNDAY: i64 = 1;
    const SATURDAY: i64 = 7;
    if dow == SATURDAY && day == 1 {
        day + 2
    } else if dow == SATURDAY {
        day - 1
    } else if dow == SUNDAY && day == ldom {
        day - 2
    } else if dow == SUNDAY {
        day + 1
    } else {
        day
    }
}

/// The first second strictly after `after` (seconds; instant or civil per
/// `zone`) matching `f`, computed exactly as Quartz 2.3 does. `None` when there
/// is none up to [`MAX_YEAR`].
pub(crate) fn quartz_next(f: &Fields, zone: Zone<'_>, after: i64) -> Option<i64> {
    if never_fires(f) {
        return None;
    }
    let after = after.max(MIN_START);
    // Quartz: afterTime + 1s, milliseconds dropped. `after_time` is what it
    // compares nearest-weekday candidates against.
    let after_time = after + 1;
    let mut cl = Cal::at(zone, after_time)?;

    for _ in 0..MAX_ITERATIONS {
        if cl.year()? > MAX_YEAR {
            return None;
        }

        // Second.
        let mut sec = cl.second()?;
        let mut min = cl.minute()?;
        match next_bit(f.seconds, sec) {
            Some(s) => sec = s,
            None => {
                sec = first_bit(f.seconds);
                min += 1;
                cl.set_minute(min);
            }
        }
        cl.set_second(sec);

        // Minute.
        min = cl.minute()?;
        let mut hr = cl.hour()?;
        let mut t = -1;
        match next_bit(f.minutes, min) {
            Some(m) => {
                t = min;
                min = m;
            }
            None => {
                min = first_bit(f.minutes);
                hr += 1;
            }
        }
        if min != t {
            cl.set_second(0);
            cl.set_minute(min);
            cl.set_calendar_hour(hr)?;
            continue;
        }
        cl.set_minute(min);

        // Hour.
        hr = cl.hour()?;
        let mut day = cl.day()?;
        t = -1;
        match next_bit(f.hours, hr) {
            Some(h) => {
                t = hr;
                hr = h;
            }
            None => {
                hr = first_bit(f.hours);
                day += 1;
            }
        }
        if hr != t {
            cl.set_second(0);
            cl.set_minute(0);
            cl.set_day(day);
            cl.set_calendar_hour(hr)?;
            continue;
        }
        cl.set_hour(hr);

        // Day.
        day = cl.day()?;
        let mut mon = cl.month1()?;
        t = -1;
        let mut tmon = mon;
        match (&f.dom, &f.dow) {
            (DomSpec::NoSpec, DowSpec::NoSpec) => return None,
            (dom, DowSpec::NoSpec) => {
                match dom {
                    DomSpec::NoSpec => return None,
                    DomSpec::Last {
                        offset,
                        weekday: false,
                    } => {
                        t = day;
                        day = last_day_of_month(mon, cl.year()?) - i64::from(*offset);
                        if t > day {
                            mon += 1;
                            if mon > 12 {
                                mon = 1;
                                // Forces the "moved" test below to succeed.
                                tmon = 3333;
                                cl.add_year()?;
                            }
                            day = 1;
                        }
                    }
                    DomSpec::Last {
                        offset,
                        weekday: true,
                    } => {
                        t = day;
                        let year = cl.year()?;
                        day = last_day_of_month(mon, year) - i64::from(*offset);
                        let n_time = weekday_candidate(&cl, year, mon, &mut day, (sec, min, hr))?;
                        if n_time < after_time {
                            day = 1;
                            mon += 1;
                        }
                    }
                    DomSpec::NearestWeekday(n) => {
                        t = day;
                        day = i64::from(*n);
                        let year = cl.year()?;
                        let n_time = weekday_candidate(&cl, year, mon, &mut day, (sec, min, hr))?;
                        if n_time < after_time {
                            day = i64::from(*n);
                            mon += 1;
                        }
                    }
                    DomSpec::Days { bits, .. } => {
                        let bits = u64::from(*bits);
                        match next_bit(bits, day) {
                            Some(d) => {
                                t = day;
                                day = d;
                                // Don't over-run a short month such as February.
                                if day > last_day_of_month(mon, cl.year()?) {
                                    day = first_bit(bits);
                                    mon += 1;
                                }
                            }
                            None => {
                                day = first_bit(bits);
                                mon += 1;
                            }
                        }
                    }
                }
                if day != t || mon != tmon {
                    cl.set_midnight(day, mon - 1);
                    continue;
                }
            }
            (DomSpec::NoSpec, dow) => match dow {
                DowSpec::NoSpec => return None,
                DowSpec::Last(w) => {
                    let dow = i64::from(*w);
                    let c_dow = cl.day_of_week()?;
                    let mut days_to_add = days_until(c_dow, dow);
                    let l_day = last_day_of_month(mon, cl.year()?);
                    if day + days_to_add > l_day {
                        // Already past the last one: first of next month.
                        cl.set_midnight(1, mon);
                        continue;
                    }
                    while day + days_to_add + 7 <= l_day {
                        days_to_add += 7;
                    }
                    day += days_to_add;
                    if days_to_add > 0 {
                        cl.set_midnight(day, mon - 1);
                        continue;
                    }
                }
                DowSpec::Nth(w, n) => {
                    let dow = i64::from(*w);
                    let c_dow = cl.day_of_week()?;
                    let mut days_to_add = days_until(c_dow, dow);
                    let day_shifted = days_to_add > 0;
                    day += days_to_add;
                    let mut week_of_month = day / 7;
                    if day % 7 > 0 {
                        week_of_month += 1;
                    }
                    days_to_add = (i64::from(*n) - week_of_month) * 7;
                    day += days_to_add;
                    if days_to_add < 0 || day > last_day_of_month(mon, cl.year()?) {
                        cl.set_midnight(1, mon);
                        continue;
                    } else if days_to_add > 0 || day_shifted {
                        cl.set_midnight(day, mon - 1);
                        continue;
                    }
                }
                DowSpec::Days { bits, .. } => {
                    let bits = u64::from(*bits);
                    let c_dow = cl.day_of_week()?;
                    let dow = next_bit(bits, c_dow).unwrap_or_else(|| first_bit(bits));
                    let days_to_add = days_until(c_dow, dow);
                    let l_day = last_day_of_month(mon, cl.year()?);
                    if day + days_to_add > l_day {
                        cl.set_midnight(1, mon);
                        continue;
                    } else if days_to_add > 0 {
                        cl.set_midnight(day + days_to_add, mon - 1);
                        continue;
                    }
                }
            },
            // The parser refuses expressions with both day fields given.
            _ => return None,
        }
        cl.set_day(day);

        mon = cl.month1()?;
        let mut year = cl.year()?;
        t = -1;
        if year > MAX_YEAR {
            return None;
        }

        // Month.
        match next_bit(f.months, mon) {
            Some(m) => {
                t = mon;
                mon = m;
            }
            None => {
                mon = first_bit(f.months);
                year += 1;
            }
        }
        if mon != t {
            cl.set_midnight(1, mon - 1);
            cl.set_year(year);
            continue;
        }
        cl.set_month0(mon - 1);

        // Year.
        let current = cl.year()?;
        year = f.years.next_at_or_after(current)?;
        if year != current {
            cl.set_midnight(1, 0);
            cl.set_year(year);
            continue;
        }
        cl.set_year(year);

        return cl.time();
    }
    None
}

/// Plain days of month that no chosen month ever has (`30 2`, `31 4,6`): the
/// search would only walk year by year to 2099 to find nothing, as Quartz does.
fn never_fires(f: &Fields) -> bool {
    let DomSpec::Days { bits, .. } = &f.dom else {
        return false;
    };
    let Some(first_day) = next_bit(u64::from(*bits), 1) else {
        return true;
    };
    !(1..=12).any(|m| {
        let longest = if m == 2 {
            29
        } else {
            last_day_of_month(m, 2001)
        };
        f.months & (1u64 << m) != 0 && first_day <= longest
    })
}

/// Days from weekday `from` forward to weekday `to` (both 1..=7), 0..=6.
fn days_until(from: i64, to: i64) -> i64 {
    if from < to {
        to - from
    } else if from > to {
        to + (7 - from)
    } else {
        0
    }
}

/// The `W` part of Quartz's day rule. Like Quartz, it builds a fresh calendar at
/// midnight of `day` in `month`/`year` (lenient: day 31 of a 30-day month is the
/// 1st of the next), takes that date's weekday, shifts `day` to the nearest
/// weekday and returns the instant of that day at the current `hr:min:sec`.
fn weekday_candidate(
    cl: &Cal<'_>,
    year: i64,
    mon: i64,
    day: &mut i64,
    (sec, min, hr): (i64, i64, i64),
) -> Option<i64> {
    let mut tcal = Cal::blank(cl.zone, cl.span);
    tcal.set_midnight(*day, mon - 1);
    tcal.set_year(year);
    let ldom = last_day_of_month(mon, year);
    let dow = tcal.day_of_week()?;
    *day = nearest_weekday(*day, dow, ldom);
    tcal.set_second(sec);
    tcal.set_minute(min);
    tcal.set_hour(hr);
    tcal.set_day(*day);
    tcal.set_month0(mon - 1);
    tcal.time()
}

/// [`super::DstPolicy::NeverSkip`]: match on wall-clock time, then map each wall
/// time to an instant so that nothing is lost or doubled: a wall time in a gap
/// fires at the instant the gap ends, one in an overlap at its earlier instant.
pub(crate) fn never_skip_next(f: &Fields, tz: &TimeZone, after: i64) -> Option<i64> {
    let after = after.max(MIN_START);
    let mut search = after + offset_at(tz, after)?;
    // Wall times map monotonically (non-decreasingly) onto instants, so the first
    // wall-clock match after `after`'s own wall time is the answer unless it maps
    // to an instant not after `after`, which only happens when `after` lies in
    // the second pass of an overlap; then skip past it and look again.
    for _ in 0..4 {
        let local = quartz_next(f, Zone::Civil, search)?;
        let dt = to_datetime(local)?;
        // `resume`: the wall time to search on from if this one is already past.
        let (instant, resume) = match tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => (local - i64::from(offset.seconds()), local),
            AmbiguousOffset::Gap { after: post, .. } => {
                let before_gap = Timestamp::from_second(local - i64::from(post.seconds())).ok()?;
                let end = tz.following(before_gap).next()?.timestamp().as_second();
                (end, local)
            }
            AmbiguousOffset::Fold { before, .. } => {
                let o = i64::from(before.seconds());
                let earlier = local - o;
                let transition = tz
                    .following(Timestamp::from_second(earlier).ok()?)
                    .next()?
                    .timestamp()
                    .as_second();
                // Walls in the fold fire on their first pass, so those whose
                // first pass is not after `after` are done; but do not jump past
                // the fold's end, where walls map with the later offset.
                let fold_end = transition + o;
                (earlier, (after + o).min(fold_end - 1))
            }
        };
        if instant > after {
            return Some(instant);
        }
        search = local.max(resume);
    }
    None
}
