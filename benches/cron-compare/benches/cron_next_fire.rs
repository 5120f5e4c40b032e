//! Next-fire-time cost: asyncapex vs the `cron` and `croner` crates, on the
//! same schedules (each crate's spelling of it; skipped where unsupported).

// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]
// Benchmarks panic loudly on bad setup; that is what we want there.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::str::FromStr;

use asyncapex_core::cron::{CronExpr, DstPolicy};
use chrono::{TimeZone as _, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

struct Case {
    name: &'static str,
    quartz: &'static str,
    /// `cron` crate (7 fields, 1 = Sunday), if it can express the schedule.
    cron: Option<&'static str>,
    /// `croner` (seconds optional, 0 = Sunday, no year field), if it can.
    croner: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "every_second",
        quartz: "* * * * * ?",
        cron: Some("* * * * * * *"),
        croner: Some("* * * * * *"),
    },
    Case {
        name: "hourly",
        quartz: "0 0 * * * ?",
        cron: Some("0 0 * * * * *"),
        croner: Some("0 0 * * * *"),
    },
    Case {
        name: "weekdays_10am",
        quartz: "0 0 10 ? * MON-FRI",
        cron: Some("0 0 10 * * MON-FRI *"),
        croner: Some("0 0 10 * * MON-FRI"),
    },
    Case {
        name: "last_friday_22h",
        quartz: "0 0 22 ? * 6L",
        cron: None,
        croner: Some("0 0 22 * * 5L"),
    },
    Case {
        name: "year_2099",
        quartz: "0 0 0 1 1 ? 2099",
        cron: Some("0 0 0 1 1 * 2099"),
        croner: None,
    },
    Case {
        name: "never_feb_30",
        quartz: "0 0 0 30 2 ?",
        cron: Some("0 0 0 30 2 * *"),
        croner: None,
    },
];

fn bench(c: &mut Criterion) {
    let after_j: jiff::Timestamp = "2026-05-17T13:37:42Z".parse().unwrap();
    let after_c = Utc.with_ymd_and_hms(2026, 5, 17, 13, 37, 42).unwrap();
    let utc = jiff::tz::TimeZone::UTC;
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();

    for case in CASES {
        let mut g = c.benchmark_group(case.name);
        let ours = CronExpr::parse(case.quartz).unwrap();
        // The comparison only means something if all three agree.
        let want = ours
            .next_after(after_j, &utc, DstPolicy::Quartz)
            .map(|t| t.as_second());
        if let Some(s) = case.cron {
            let got = cron::Schedule::from_str(s).unwrap().after(&after_c).next();
            assert_eq!(
                got.map(|t| t.timestamp()),
                want,
                "cron crate, {}",
                case.name
            );
        }
        if let Some(s) = case.croner {
            let pat = croner::Cron::new(s)
                .with_seconds_optional()
                .parse()
                .unwrap();
            let got = pat.find_next_occurrence(&after_c, false).ok();
            assert_eq!(got.map(|t| t.timestamp()), want, "croner, {}", case.name);
        }
        g.bench_function("asyncapex_utc", |b| {
            b.iter(|| ours.next_after(black_box(after_j), &utc, DstPolicy::Quartz))
        });
        g.bench_function("asyncapex_new_york", |b| {
            b.iter(|| ours.next_after(black_box(after_j), &ny, DstPolicy::Quartz))
        });
        if let Some(s) = case.cron {
            let sched = cron::Schedule::from_str(s).unwrap();
            g.bench_function("cron_utc", |b| {
                b.iter(|| sched.after(black_box(&after_c)).next())
            });
        }
        if let Some(s) = case.croner {
            let pat = croner::Cron::new(s)
                .with_seconds_optional()
                .parse()
                .unwrap();
            g.bench_function("croner_utc", |b| {
                b.iter(|| pat.find_next_occurrence(black_box(&after_c), false).ok())
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
