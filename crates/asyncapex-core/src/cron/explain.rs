//! Plain-English descriptions of parsed expressions.

use super::parse::{DomSpec, DowSpec, Fields, Item};

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn month_name(v: u32) -> String {
    MONTH_NAMES
        .get((v as usize).wrapping_sub(1))
        .map_or_else(|| v.to_string(), |s| (*s).to_owned())
}

fn day_name(v: u32) -> String {
    DAY_NAMES
        .get((v as usize).wrapping_sub(1))
        .map_or_else(|| v.to_string(), |s| (*s).to_owned())
}

pub(crate) fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "a", "a and b", "a, b and c".
fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn is_all(items: &[Item]) -> bool {
    matches!(
        items,
        [Item {
            start: None,
            end: None,
            step: None
        }]
    )
}

/// All items plain values (sorted, deduplicated), or `None`.
fn singles(items: &[Item]) -> Option<Vec<u32>> {
    let mut v: Vec<u32> = items
        .iter()
        .map(|it| match (it.start, it.end, it.step) {
            (Some(v), None, None) => Some(v),
            _ => None,
        })
        .collect::<Option<_>>()?;
    v.sort_unstable();
    v.dedup();
    Some(v)
}

fn single(items: &[Item]) -> Option<u32> {
    match items {
        [
            Item {
                start: Some(v),
                end: None,
                step: None,
            },
        ] => Some(*v),
        _ => None,
    }
}

/// `*/n` or `min/n`: a plain "every n units".
fn plain_step(items: &[Item], min: u32) -> Option<u32> {
    match items {
        [
            Item {
                start,
                end: None,
                step: Some(n),
            },
        ] if start.is_none_or(|s| s == min) => Some(*n),
        _ => None,
    }
}

/// Describe a list of items. `fmt` renders one value, `unit` is the plural unit
/// for steps ("minutes"), `wraps` names what a backwards range wraps over.
fn list(items: &[Item], fmt: &dyn Fn(u32) -> String, unit: &str) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|it| match (it.start, it.end, it.step) {
            (None, _, None) => format!("every one of the {unit}"),
            (None, _, Some(n)) => format!("every {n} {unit}"),
            (Some(a), None, None) => fmt(a),
            (Some(a), Some(b), None) => format!("{} through {}", fmt(a), fmt(b)),
            (Some(a), None, Some(n)) => format!("every {n} {unit} starting at {}", fmt(a)),
            (Some(a), Some(b), Some(n)) => {
                format!("every {n} {unit} from {} through {}", fmt(a), fmt(b))
            }
        })
        .collect();
    join_and(&parts)
}

/// "in X", or just "every n …" when the list is itself a recurrence.
fn in_list(s: &str) -> String {
    if s.starts_with("every ") {
        s.to_owned()
    } else {
        format!("in {s}")
    }
}

fn hh(h: u32) -> String {
    format!("{h:02}:00")
}

fn time_phrase(f: &Fields) -> (String, bool) {
    let (s, m, h) = (&f.second_items, &f.minute_items, &f.hour_items);
    // Fully fixed time(s) of day: "at 22:00", "at 08:30:20", "at 09:00 and 17:00".
    if let (Some(sv), Some(mins), Some(hours)) = (single(s), singles(m), singles(h))
        && mins.len() * hours.len() <= 8
    {
        let mut times = Vec::new();
        for hv in &hours {
            for mv in &mins {
                times.push(if sv == 0 {
                    format!("{hv:02}:{mv:02}")
                } else {
                    format!("{hv:02}:{mv:02}:{sv:02}")
                });
            }
        }
        return (format!("at {}", join_and(&times)), true);
    }

    // On the hour, every n hours / every hour in a range.
    if single(s) == Some(0) && single(m) == Some(0) {
        if let Some(n) = plain_step(h, 0) {
            return (format!("every {n} hours, on the hour"), false);
        }
        if let [
            Item {
                start: Some(a),
                end: Some(b),
                step: None,
            },
        ] = h.as_slice()
        {
            return (
                format!("every hour from {} through {}", hh(*a), hh(*b)),
                false,
            );
        }
    }

    let mut parts: Vec<String> = Vec::new();
    let sec_every = is_all(s);
    // Seconds.
    match (single(s), plain_step(s, 0)) {
        _ if sec_every => parts.push("every second".into()),
        (Some(0), _) => {}
        (Some(v), _) => parts.push(format!("at second {v}")),
        (_, Some(n)) => parts.push(format!("every {n} seconds")),
        _ => parts.push(format!(
            "at seconds {}",
            list(s, &|v| v.to_string(), "seconds")
        )),
    }
    // Minutes.
    let hour_all = is_all(h);
    if is_all(m) {
        if !sec_every && single(s).is_some() {
            parts.push("every minute".into());
        }
    } else if let Some(mv) = single(m) {
        let past = if mv == 0 {
            "on the hour".to_owned()
        } else {
            format!("at {mv} minutes past the hour")
        };
        if hour_all && single(s) == Some(0) {
            parts.push(if mv == 0 {
                "every hour".to_owned()
            } else {
                format!("at {mv} minutes past every hour")
            });
        } else {
            parts.push(past);
        }
    } else if let Some(n) = plain_step(m, 0) {
        parts.push(format!("every {n} minutes"));
    } else {
        parts.push(format!(
            "at minutes {}",
            list(m, &|v| v.to_string(), "minutes")
        ));
    }
    // Hours.
    if !hour_all {
        if let Some(n) = plain_step(h, 0) {
            parts.push(format!("every {n} hours"));
        } else if let Some(hv) = single(h) {
            parts.push(format!("between {} and {hv:02}:59", hh(hv)));
        } else if let [
            Item {
                start: Some(a),
                end: Some(b),
                step: None,
            },
        ] = h.as_slice()
        {
            parts.push(format!("between {} and {b:02}:59", hh(*a)));
        } else {
            parts.push(format!("during the {} hours", list(h, &|v| hh(v), "hours")));
        }
    }
    (parts.join(", "), false)
}

/// Month part: for day phrases relative to a month ("the last Friday …") and for
/// the others ("on Monday …").
fn month_parts(f: &Fields) -> (String, String) {
    let m = &f.month_items;
    if is_all(m) {
        return ("of every month".into(), String::new());
    }
    let names = list(m, &month_name, "months");
    if single(m).is_some() {
        (format!("of {names}"), format!("in {names}"))
    } else {
        (
            format!("of the month, {}", in_list(&names)),
            in_list(&names),
        )
    }
}

fn day_phrase(f: &Fields, fixed_time: bool) -> String {
    let (of_month, in_months) = month_parts(f);
    let with_months = |s: String| {
        if in_months.is_empty() {
            s
        } else if s.is_empty() {
            in_months.clone()
        } else {
            format!("{s} {in_months}")
        }
    };
    match (&f.dom, &f.dow) {
        (DomSpec::Days { items, .. }, _) if is_all(items) => with_months(if fixed_time {
            "every day".into()
        } else {
            String::new()
        }),
        (_, DowSpec::Days { items, .. }) if is_all(items) => with_months(if fixed_time {
            "every day".into()
        } else {
            String::new()
        }),
        (DomSpec::Days { items, .. }, _) => {
            let days = match items.as_slice() {
                [
                    Item {
                        start,
                        end,
                        step: Some(n),
                    },
                ] => {
                    let from = ordinal(start.unwrap_or(1));
                    match end {
                        Some(b) => {
                            format!("every {n} days from the {from} through the {}", ordinal(*b))
                        }
                        None => format!("every {n} days starting on the {from}"),
                    }
                }
                _ => format!("on the {}", list(items, &ordinal, "days")),
            };
            format!("{days} {of_month}")
        }
        (DomSpec::Last { offset, weekday }, _) => {
            let base = match offset {
                0 => "the last day".to_owned(),
                1 => "the day before the last day".to_owned(),
                n => format!("{n} days before the last day"),
            };
            if *weekday {
                if *offset == 0 {
                    format!("on the last weekday {of_month}")
                } else {
                    format!("on the weekday nearest {base} {of_month}")
                }
            } else if *offset == 0 {
                format!("on {base} {of_month}")
            } else {
                format!("{base} {of_month}")
            }
        }
        (DomSpec::NearestWeekday(d), _) => {
            format!("on the weekday nearest the {} {of_month}", ordinal(*d))
        }
        (_, DowSpec::Days { items, .. }) => {
            let days = list(items, &day_name, "days");
            with_months(if days.starts_with("every ") {
                days
            } else {
                format!("on {days}")
            })
        }
        (_, DowSpec::Last(w)) => format!("on the last {} {of_month}", day_name(*w)),
        (_, DowSpec::Nth(w, n)) => {
            format!("on the {} {} {of_month}", ordinal(*n), day_name(*w))
        }
        (DomSpec::NoSpec, DowSpec::NoSpec) => String::new(),
    }
}

fn year_phrase(f: &Fields) -> String {
    match &f.year_items {
        Some(items) if !is_all(items) => in_list(&list(items, &|v| v.to_string(), "years")),
        _ => String::new(),
    }
}

pub(crate) fn explain(f: &Fields) -> String {
    let (time, fixed) = time_phrase(f);
    let parts = [time, day_phrase(f, fixed), year_phrase(f)];
    let words: Vec<&str> = parts
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    words.join(" ")
}
