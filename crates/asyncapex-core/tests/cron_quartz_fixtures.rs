//! Checks next-fire times against answers recorded from Quartz 2.3.2 itself
//! (`quartz-oracle/`), one expression / zone / start instant per line.

// Test helpers outside #[test] fns; a panic is the right failure here.
#![allow(clippy::unwrap_used)]

use asyncapex_core::cron::{CronExpr, DstPolicy};
use jiff::Timestamp;
use jiff::tz::TimeZone;

const FIXTURE: &str = include_str!("fixtures/quartz_next.tsv");

#[test]
fn agrees_with_quartz_on_every_fixture_line() {
    let mut cases = 0;
    let mut failures = Vec::new();
    for (lineno, line) in FIXTURE.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        cases += 1;
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "line {}: bad format", lineno + 1);
        let (expr, zone, after, expected) = (cols[0], cols[1], cols[2], cols[3]);
        let cron = CronExpr::parse(expr)
            .unwrap_or_else(|e| panic!("line {}: {expr:?} should parse: {e}", lineno + 1));
        let tz = TimeZone::get(zone).unwrap();
        let after: Timestamp = after.parse().unwrap();
        let want: Vec<&str> = expected.split(',').filter(|s| !s.is_empty()).collect();
        let ends = want.last() == Some(&"END");
        let n = if ends { want.len() - 1 } else { want.len() };
        let mut got: Vec<String> = cron
            .iter_after(after, tz, DstPolicy::Quartz)
            .take(n + usize::from(ends))
            .map(|t| t.to_string())
            .collect();
        if ends && got.len() == n {
            got.push("END".to_owned());
        }
        if got != want {
            failures.push(format!(
                "line {}: {expr:?} in {zone} after {after}\n  quartz: {}\n  ours:   {}",
                lineno + 1,
                want.join(","),
                got.join(",")
            ));
        }
    }
    assert!(cases > 1000, "fixture too small: {cases}");
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(25).collect();
        panic!(
            "{} of {cases} fixture lines disagree with Quartz:\n{}",
            failures.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    eprintln!("{cases} fixture lines agree with Quartz");
}

const PLAUSIBLE: &str = include_str!("fixtures/quartz_plausible.tsv");

/// Cron-looking strings, mostly invalid: whatever Quartz refuses we refuse;
/// whatever both accept fires at the same times. We also refuse some strings
/// Quartz accepts (it ignores trailing junk, steps after names, list items
/// after `W`/`#`, ...); those are counted, not failed.
#[test]
fn refuses_what_quartz_refuses_and_agrees_on_the_rest() {
    let (mut refused_both, mut compared, mut stricter) = (0, 0, Vec::new());
    let mut failures = Vec::new();
    for line in PLAUSIBLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "bad line {line:?}");
        let (expr, after, expected) = (cols[0], cols[2], cols[3]);
        let ours = CronExpr::parse(expr);
        match (expected == "!ERROR", ours) {
            (true, Err(_)) => refused_both += 1,
            (true, Ok(_)) => failures.push(format!("Quartz refuses {expr:?} but we accept it")),
            (false, Err(e)) => stricter.push(format!("{expr:?}: {e}")),
            (false, Ok(cron)) => {
                compared += 1;
                let want: Vec<&str> = expected.split(',').filter(|s| !s.is_empty()).collect();
                let ends = want.last() == Some(&"END");
                let n = want.len() - usize::from(ends);
                let mut got: Vec<String> = cron
                    .iter_after(after.parse().unwrap(), TimeZone::UTC, DstPolicy::Quartz)
                    .take(n)
                    .map(|t| t.to_string())
                    .collect();
                if ends && got.len() == n {
                    got.push("END".into());
                }
                if got != want {
                    failures.push(format!(
                        "{expr:?} after {after}: quartz {want:?}, ours {got:?}"
                    ));
                }
            }
        }
    }
    eprintln!(
        "refused by both: {refused_both}; compared: {compared}; refused only by us: {}",
        stricter.len()
    );
    for s in &stricter {
        eprintln!("  stricter: {s}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(refused_both > 500 && compared > 100);
}
