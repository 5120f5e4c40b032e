//! Property tests: parsing and next-fire computation never panic, always
//! terminate, and return times strictly after the start, whatever the input.

// Test helpers outside #[test] fns; a panic is the right failure here.
#![allow(clippy::unwrap_used)]

use asyncapex_core::cron::{CronDialect, CronExpr, DstPolicy};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;

const ZONES: [&str; 6] = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "UTC",
    "Asia/Kolkata",
    "America/Sao_Paulo",
];

/// One list item that looks like cron, valid or not.
fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,2}",
        "[0-9]{1,3}(-[0-9]{1,3})?(/[0-9]{1,2})?",
        "\\*(/[0-9]{1,2})?",
        "(JAN|FEB|jun|Dec|MON|fri|SAT|sun|FOO|L|W)(-(MAR|NOV|TUE|sun|WED))?",
        "L(-[0-9]{1,2})?W?",
        "[0-9]{1,2}[LW#?]",
        "([1-7]|MON|FRI)#[0-9]",
        "[1-7]L",
        "\\?",
        "[*?LW#/,0-9-]{1,4}",
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop::collection::vec(item(), 1..3).prop_map(|v| v.join(","))
}

fn expression() -> impl Strategy<Value = String> {
    prop::collection::vec(field(), 5..9).prop_map(|v| v.join(" "))
}

/// Mostly-valid expressions, so that next-fire gets exercised a lot.
fn valid_expression() -> impl Strategy<Value = String> {
    let small = prop_oneof![
        Just("0".to_owned()),
        "[0-5]?[0-9]",
        "\\*/[1-9]",
        "[0-9]-[1-5][0-9](/[1-9])?",
        "[1-5][0-9]-[0-9]",
        Just("*".to_owned()),
    ];
    let hour = prop_oneof![
        "[0-9]|1[0-9]|2[0-3]",
        "\\*(/[1-9])?",
        "(2[0-3])-([0-5])",
        "[0-9],1[0-9]"
    ];
    let dom = prop_oneof![
        Just("?".to_owned()),
        "[1-9]|[12][0-9]|3[01]",
        "(L(-[0-9])?W?)",
        "([1-9]|[12][0-9]|3[01])W",
        "[1-9]-[12][0-9](/[1-9])?",
        "2[5-9]-[1-5]",
        Just("*".to_owned()),
    ];
    let month = prop_oneof![
        Just("*".to_owned()),
        "[1-9]|1[0-2]",
        "(NOV|DEC)-(FEB|MAR)",
        "\\*/[1-5]"
    ];
    let dow = prop_oneof![
        "[1-7]L",
        "[1-7]#[1-5]",
        "(MON|FRI|SAT)-(MON|TUE)",
        "[1-7](,[1-7])?",
        Just("L".to_owned()),
        Just("*".to_owned()),
    ];
    let year = prop_oneof![
        Just(String::new()),
        Just(" *".to_owned()),
        " 20[0-9][0-9]",
        " 20[2-4][0-9]-20[5-9][0-9]",
        " 19[7-9][0-9]/[1-9]",
    ];
    (
        small.clone(),
        small,
        hour,
        dom,
        month,
        dow,
        year,
        any::<bool>(),
    )
        .prop_map(|(s, m, h, d, mo, w, y, use_dom)| {
            let (d, w) = if use_dom || d == "?" {
                (d, "?".to_owned())
            } else {
                ("?".to_owned(), w)
            };
            let d = if d == "?" && w == "?" {
                "*".to_owned()
            } else {
                d
            };
            format!("{s} {m} {h} {d} {mo} {w}{y}")
        })
}

/// Seconds from 1950 to 2110, so starts before 1970 and after 2099 are covered.
fn after() -> impl Strategy<Value = Timestamp> {
    (-631_152_000i64..4_417_977_600i64).prop_map(|s| Timestamp::from_second(s).unwrap())
}

fn check_next(expr: &CronExpr, start: Timestamp, zone: &str) {
    let tz = TimeZone::get(zone).unwrap();
    for policy in [DstPolicy::Quartz, DstPolicy::NeverSkip] {
        let mut prev = start;
        for _ in 0..3 {
            match expr.next_after(prev, &tz, policy) {
                Some(t) => {
                    assert!(t > prev, "{expr} {zone} {policy}: {t} not after {prev}");
                    assert!(tz.to_datetime(t).year() <= 2099, "{expr}: {t} past 2099");
                    prev = t;
                }
                None => break,
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in "\\PC{0,80}") {
        let _ = CronExpr::parse(&s);
        let _ = CronExpr::parse_with(&s, CronDialect::ApexStrict);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..64)) {
        let s = String::from_utf8_lossy(&b);
        let _ = CronExpr::parse(&s);
    }

    #[test]
    fn plausible_expressions_never_panic(e in expression(), start in after(), z in 0..ZONES.len()) {
        if let Ok(expr) = CronExpr::parse(&e) {
            check_next(&expr, start, ZONES[z]);
            prop_assert_eq!(CronExpr::parse(&expr.to_string()).ok(), Some(expr.clone()));
            let _ = expr.explain();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn valid_expressions_terminate_and_advance(e in valid_expression(), start in after(), z in 0..ZONES.len()) {
        let expr = CronExpr::parse(&e).unwrap_or_else(|err| panic!("{e}: {err}"));
        check_next(&expr, start, ZONES[z]);
        prop_assert!(!expr.explain().is_empty());
    }

    #[test]
    fn policies_agree_without_dst(e in valid_expression(), start in after()) {
        let expr = CronExpr::parse(&e).unwrap();
        for zone in ["UTC", "Asia/Kolkata"] {
            let tz = TimeZone::get(zone).unwrap();
            prop_assert_eq!(
                expr.next_after(start, &tz, DstPolicy::Quartz),
                expr.next_after(start, &tz, DstPolicy::NeverSkip)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// NeverSkip: a daily job fires exactly once on every local calendar day,
    /// through spring-forward gaps and fall-back overlaps alike.
    #[test]
    fn never_skip_daily_fires_once_every_day(
        h in 0u32..24,
        m in prop::sample::select(vec![0u32, 1, 15, 30, 45, 59]),
        z in 0..ZONES.len(),
        year in 2000i16..2037,
        month in prop::sample::select(vec![2i8, 3, 4, 9, 10, 11]),
        day in 1i8..28,
    ) {
        let expr = CronExpr::parse(&format!("0 {m} {h} * * ?")).unwrap();
        let tz = TimeZone::get(ZONES[z]).unwrap();
        let start = jiff::civil::date(year, month, day)
            .to_zoned_datetime(tz.clone())
            .unwrap()
            .timestamp();
        let days: Vec<jiff::civil::Date> = expr
            .iter_after(start, tz.clone(), DstPolicy::NeverSkip)
            .take(60)
            .map(|t| tz.to_datetime(t).date())
            .collect();
        prop_assert_eq!(days.len(), 60);
        for w in days.windows(2) {
            prop_assert_eq!(w[0].tomorrow().unwrap(), w[1], "{} in {}", expr, ZONES[z]);
        }
    }
}
