//! Unit tests that travel with the module. The large Quartz-oracle fixture and
//! the property tests live in the crate's `tests/` folder.

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn next_n(expr: &str, zone: &str, after: &str, policy: DstPolicy, n: usize) -> Vec<String> {
    CronExpr::parse(expr)
        .unwrap()
        .iter_after(ts(after), tz(zone), policy)
        .take(n)
        .map(|t| t.to_string())
        .collect()
}

fn err(expr: &str) -> String {
    CronExpr::parse(expr).unwrap_err().to_string()
}

#[test]
fn error_messages_name_expression_field_and_rule() {
    assert_eq!(
        err("0 0 25 * * ?"),
        r#"invalid cron expression "0 0 25 * * ?": hours field: 25 is out of range 0-23"#
    );
    assert_eq!(
        err("0 0 0 ? * 6#6"),
        r#"invalid cron expression "0 0 0 ? * 6#6": day-of-week field: the number after '#' must be 1-5 (no month has a 6th weekday)"#
    );
    assert!(err("0 0 0 * * *").contains("exactly one of the day-of-month and day-of-week"));
    assert!(err("0 0 0 ? * ?").contains("both are '?'"));
    assert!(err("0 ? 0 1 * ?").contains("minutes field: '?' is only allowed"));
    assert!(err("0 0 0 1 FOO ?").contains("month field: \"FOO\" is not a valid name"));
    assert!(err("0 0 0 ? * MONDAY").contains("day-of-week field: unexpected character 'D'"));
    assert!(err("0 0 0 15W,20 * ?").contains("'W' takes a single day"));
    assert!(err("0 0 0 1-5W * ?").contains("'W' takes a single day"));
    assert!(err("0 0 0 L,5 * ?").contains("'L' cannot be combined"));
    assert!(err("0 0 0 5L * ?").contains("'L' must stand alone"));
    assert!(err("0 0 L * * ?").contains("hours field: 'L' is only allowed"));
    assert!(err("0 0 0 ? * 6L,2").contains("day-of-week field: 'L' after a weekday"));
    assert!(err("0 0 0 ? * 2#1,3").contains("'#' cannot be combined with a list"));
    assert!(err("*/0 * * * * ?").contains("seconds field: step must be at least 1"));
    assert!(err("0 0/60 * * * ?").contains("minutes field: step 60 is too large"));
    assert!(err("0 0 0 1 JAN/2 ?").contains("step after a name"));
    assert!(err("0 0 0 ? * MON-5").contains("two names or two numbers"));
    assert!(err("0 0 0 1 1 ? 2100").contains("year field: 2100 is out of range 1970-2099"));
    assert!(err("0 0 0 1 1 ? 2030-2020").contains("runs backwards"));
    assert!(err("0 0 0 1,,2 * ?").contains("empty list item"));
    assert!(err("0 0 0 1- * ?").contains("unexpected end"));
    assert!(err("0 0 0 1 1 ? 2020 x").contains("found 8"));
    assert!(err("0 0 0 * *").contains("found 5"));
    assert!(err("0 0 0 L-31 * ?").contains("at most 30"));
    assert!(err("0 0 0 ? * 0").contains("0 is out of range 1-7"));
    assert!(err("0 0 0 ? * 1é").contains("unexpected character 'é'"));
    assert!(err("0 0 0 5x * ?").contains("unexpected character 'x'"));
    assert!(err("0 0 0 5X * ?").contains("unexpected character 'X'"));
    assert!(err("0 0 0 1 Foo ?").contains("\"Foo\" is not a valid name"));
    assert_eq!(err(""), "invalid cron expression: it is empty");
    assert_eq!(err(" \t "), "invalid cron expression: it is empty");
    let long = format!("0 0 0 1 1 ? {}", "1".repeat(2000));
    assert!(err(&long).contains("more than the 1024-byte limit"));
    assert!(matches!(
        CronExpr::parse("0 0 25 * * ?"),
        Err(CronError::Field {
            field: CronField::Hours,
            kind: FieldErrorKind::OutOfRange {
                value: 25,
                min: 0,
                max: 23
            },
            ..
        })
    ));
}

#[test]
fn accepts_whole_dialect_in_any_case() {
    for e in [
        "0 0 12 * * ?",
        "0 15 10 ? * MON-FRI",
        "0 15 10 ? * mon-fri",
        "0 15 10 ? * Fri-Mon",
        "0 0/5 14,18 * * ?",
        "5/20 10-40/5 */3 * * ?",
        "0 0 22-2 * * ?",
        "0 0 0 1 nov-feb ?",
        "0 0 0 L * ?",
        "0 0 0 l-3 * ?",
        "0 0 0 LW * ?",
        "0 0 0 L-2W * ?",
        "0 0 0 15w * ?",
        "0 0 0 ? * 6L",
        "0 0 0 ? * friL",
        "0 0 0 ? * 6#3",
        "0 0 0 ? * FRI#5",
        "0 0 0 ? * L",
        "0 0 0 1 1 ? 2020-2030/2",
        "0 0 0 1 1 ? */5",
        "0\t0  0 1 1 ?  ",
    ] {
        CronExpr::parse(e).unwrap_or_else(|err| panic!("{e}: {err}"));
    }
}

#[test]
fn apex_strict_rejects_specials_in_seconds_and_minutes() {
    let strict = |e: &str| CronExpr::parse_with(e, CronDialect::ApexStrict);
    assert!(strict("0 15 10 ? * MON-FRI").is_ok());
    assert!(strict("0 0 */2 * * ?").is_ok());
    let e = strict("0 */15 * * * ?").unwrap_err().to_string();
    assert_eq!(
        e,
        r#"invalid cron expression "0 */15 * * * ?": minutes field: Apex allows only a plain integer here, with no special characters, got "*/15""#
    );
    assert!(
        strict("0,30 0 * * * ?")
            .unwrap_err()
            .to_string()
            .contains("seconds field")
    );
    assert!(CronExpr::parse("0 */15 * * * ?").is_ok());
    assert!(
        strict("0 60 * * * ?")
            .unwrap_err()
            .to_string()
            .contains("out of range")
    );
}

#[test]
fn explains_constructs() {
    let ex = |e: &str| CronExpr::parse(e).unwrap().explain();
    assert_eq!(
        ex("0 0 22 ? * 6L"),
        "at 22:00 on the last Friday of every month"
    );
    assert_eq!(
        ex("0 0 10 ? * MON-FRI"),
        "at 10:00 on Monday through Friday"
    );
    assert_eq!(ex("0 */15 * * * ?"), "every 15 minutes");
    assert_eq!(ex("0 0 13 * * ?"), "at 13:00 every day");
    assert_eq!(ex("0 5 * * * ?"), "at 5 minutes past every hour");
    assert_eq!(ex("20 30 8 10 2 ?"), "at 08:30:20 on the 10th of February");
    assert_eq!(ex("0 0 20 * * ? 2010"), "at 20:00 every day in 2010");
    assert_eq!(
        ex("0 0 9 ? * 2#1"),
        "at 09:00 on the 1st Monday of every month"
    );
    assert_eq!(
        ex("0 0 0 LW * ?"),
        "at 00:00 on the last weekday of every month"
    );
    assert_eq!(
        ex("0 0 0 15W * ?"),
        "at 00:00 on the weekday nearest the 15th of every month"
    );
    assert_eq!(
        ex("0 0 0 L-3 * ?"),
        "at 00:00 3 days before the last day of every month"
    );
    assert_eq!(
        ex("0 0 0 1 NOV-FEB ?"),
        "at 00:00 on the 1st of the month, in November through February"
    );
    assert_eq!(ex("0 0 22-2 * * ?"), "every hour from 22:00 through 02:00");
    assert_eq!(ex("* * * * * ?"), "every second");
    assert_eq!(ex("0 0 12 ? * L"), "at 12:00 on Saturday");
    assert_eq!(
        ex("0 0 0 1/5 * ?"),
        "at 00:00 every 5 days starting on the 1st of every month"
    );
}

#[test]
fn display_from_str_and_as_str_round_trip() {
    let e: CronExpr = "0 0 22 ? * 6l".parse().unwrap();
    assert_eq!(e.as_str(), "0 0 22 ? * 6l");
    assert_eq!(e.to_string(), "0 0 22 ? * 6l");
    assert_eq!(CronExpr::parse(&e.to_string()).unwrap(), e);
    assert_eq!(
        "never-skip".parse::<DstPolicy>().unwrap(),
        DstPolicy::NeverSkip
    );
    assert_eq!("Quartz".parse::<DstPolicy>().unwrap(), DstPolicy::Quartz);
    assert!("sometimes".parse::<DstPolicy>().is_err());
    assert_eq!(DstPolicy::default(), DstPolicy::Quartz);
    assert_eq!(CronDialect::default(), CronDialect::Quartz);
}

#[test]
fn quartz_policy_skips_gap_and_uses_later_overlap_instant() {
    // New York, 2026-03-08 02:00 EST -> 03:00 EDT: the 02:30 run is lost.
    assert_eq!(
        next_n(
            "0 30 2 * * ?",
            "America/New_York",
            "2026-03-06T12:00:00Z",
            DstPolicy::Quartz,
            2
        ),
        ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"]
    );
    // 2026-11-01 01:00-02:00 happens twice: Quartz fires at the second 01:30 (EST).
    assert_eq!(
        next_n(
            "0 30 1 * * ?",
            "America/New_York",
            "2026-10-31T12:00:00Z",
            DstPolicy::Quartz,
            2
        ),
        ["2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]
    );
    // Every 10 minutes: 00:50 EDT, then straight to 01:00 EST.
    assert_eq!(
        next_n(
            "0 0/10 * * * ?",
            "America/New_York",
            "2026-11-01T04:45:00Z",
            DstPolicy::Quartz,
            2
        ),
        ["2026-11-01T04:50:00Z", "2026-11-01T06:00:00Z"]
    );
    assert_eq!(
        next_n(
            "*/15 * * * * ?",
            "America/New_York",
            "2026-11-01T04:59:30Z",
            DstPolicy::Quartz,
            2
        ),
        ["2026-11-01T04:59:45Z", "2026-11-01T06:00:00Z"]
    );
}

#[test]
fn never_skip_policy() {
    let p = DstPolicy::NeverSkip;
    // Gap: 02:30 fires at 03:00 EDT, the first instant after the gap.
    assert_eq!(
        next_n(
            "0 30 2 * * ?",
            "America/New_York",
            "2026-03-06T12:00:00Z",
            p,
            3
        ),
        [
            "2026-03-07T07:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-09T06:30:00Z"
        ]
    );
    // Several fire times in one gap collapse into one run.
    assert_eq!(
        next_n(
            "0 0/10 * * * ?",
            "America/New_York",
            "2026-03-08T06:45:00Z",
            p,
            3
        ),
        [
            "2026-03-08T06:50:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:10:00Z"
        ]
    );
    // Overlap: fires once, at the earlier (EDT) 01:30.
    assert_eq!(
        next_n(
            "0 30 1 * * ?",
            "America/New_York",
            "2026-10-31T12:00:00Z",
            p,
            2
        ),
        ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    );
    // Every 10 minutes through the overlap: the first pass runs, the repeat doesn't.
    assert_eq!(
        next_n(
            "0 0/10 * * * ?",
            "America/New_York",
            "2026-11-01T05:35:00Z",
            p,
            3
        ),
        [
            "2026-11-01T05:40:00Z",
            "2026-11-01T05:50:00Z",
            "2026-11-01T07:00:00Z"
        ]
    );
    // Starting inside the second pass: nothing until 02:00 EST.
    assert_eq!(
        next_n(
            "0 0/10 * * * ?",
            "America/New_York",
            "2026-11-01T06:15:00Z",
            p,
            1
        ),
        ["2026-11-01T07:00:00Z"]
    );
    // Lord Howe's 30-minute jump (02:00 -> 02:30 on 2026-10-04).
    assert_eq!(
        next_n(
            "0 15 2 * * ?",
            "Australia/Lord_Howe",
            "2026-10-03T12:00:00Z",
            p,
            2
        ),
        ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]
    );
}

#[test]
fn far_future_and_never() {
    let utc = tz("UTC");
    let start = std::time::Instant::now();
    let e = CronExpr::parse("0 0 0 1 1 ? 2099").unwrap();
    assert_eq!(
        e.next_after(ts("2026-01-01T00:00:00Z"), &utc, DstPolicy::Quartz),
        Some(ts("2099-01-01T00:00:00Z"))
    );
    for (expr, after) in [
        ("0 0 0 30 2 ?", "2026-01-01T00:00:00Z"),
        ("0 0 0 31 4 ?", "1970-01-01T00:00:00Z"),
        ("0 0 0 1 1 ? 2020", "2026-01-01T00:00:00Z"),
        ("* * * * * ?", "2100-01-02T00:00:00Z"),
        ("0 0 0 ? 2 1#5 2097-2099", "2026-01-01T00:00:00Z"),
    ] {
        let e = CronExpr::parse(expr).unwrap();
        for policy in [DstPolicy::Quartz, DstPolicy::NeverSkip] {
            assert_eq!(
                e.next_after(ts(after), &tz("America/New_York"), policy),
                None,
                "{expr}"
            );
        }
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // The last fire before the cap, then nothing.
    let e = CronExpr::parse("0 0 12 31 12 ?").unwrap();
    let all: Vec<_> = e
        .iter_after(ts("2097-06-01T00:00:00Z"), utc, DstPolicy::Quartz)
        .collect();
    assert_eq!(
        all,
        [
            ts("2097-12-31T12:00:00Z"),
            ts("2098-12-31T12:00:00Z"),
            ts("2099-12-31T12:00:00Z")
        ]
    );
}

#[test]
fn nearest_weekday_and_nth() {
    let utc = "UTC";
    let q = DstPolicy::Quartz;
    // 2022-01-01 is a Saturday: 1W -> Monday the 3rd, never back into December.
    assert_eq!(
        next_n("0 0 0 1W * ?", utc, "2021-12-31T00:00:00Z", q, 1),
        ["2022-01-03T00:00:00Z"]
    );
    // 2026 has no 5th Friday in February: 6#5 skips to May (next month with five).
    assert_eq!(
        next_n("0 0 0 ? * 6#5", utc, "2026-02-01T00:00:00Z", q, 1),
        ["2026-05-29T00:00:00Z"]
    );
    // Leap day.
    assert_eq!(
        next_n("0 0 0 29 2 ?", utc, "2025-01-01T00:00:00Z", q, 2),
        ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
    );
    // Sub-second "after" is truncated, and "after" itself is excluded.
    assert_eq!(
        next_n("* * * * * ?", utc, "2026-01-01T00:00:00.900Z", q, 1),
        ["2026-01-01T00:00:01Z"]
    );
}
