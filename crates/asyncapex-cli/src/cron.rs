//! `asyncapex cron …`: evaluate and explain cron expressions without a database.

use std::io::{BufRead, Write};

use asyncapex::{CronDialect, CronExpr, DstPolicy};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::CliError;
use crate::jobs::usage;
use crate::output::outln;

/// `asyncapex cron …`.
#[derive(Debug, Args)]
pub struct CronArgs {
    /// Declared here, hidden, only so that the global `--database` is not shown in (or
    /// accepted by) the cron commands, which read no database.
    #[arg(long, hide = true)]
    pub database: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: CronCommand,
}

/// Cron expression tools.
#[derive(Debug, Subcommand)]
pub enum CronCommand {
    /// Print the next fire instants of an expression, one per line, in RFC 3339 UTC; exits 1
    /// (saying so on stderr) when it never fires after the start.
    Next {
        /// The expression (Quartz/Apex syntax: seconds minutes hours day-of-month month
        /// day-of-week [year]). Omit it with --stdin.
        #[arg(required_unless_present = "stdin")]
        expr: Option<String>,
        /// The IANA time zone the expression is read in.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// Start after this instant (RFC 3339; default: now). Exclusive.
        #[arg(long)]
        after: Option<String>,
        /// How many fire times.
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// DST handling: `quartz` (Apex's) or `never-skip`.
        #[arg(long, default_value = "quartz")]
        dst: String,
        /// Apex's strict dialect: no special characters in seconds and minutes.
        #[arg(long)]
        strict: bool,
        /// Read lines `EXPR<TAB>ZONE<TAB>AFTER<TAB>COUNT` and write `OK<TAB>t1,t2,…` or
        /// `ERR<TAB>message` for each.
        #[arg(long, conflicts_with = "expr")]
        stdin: bool,
    },
    /// Describe an expression in plain English.
    Explain {
        /// The expression.
        expr: String,
        /// Apex's strict dialect.
        #[arg(long)]
        strict: bool,
    },
}

/// The most fire times one request may ask for.
const MAX_COUNT: usize = 100_000;

pub(crate) fn run(cmd: CronCommand) -> Result<(), CliError> {
    match cmd {
        CronCommand::Explain { expr, strict } => {
            let parsed = CronExpr::parse_with(&expr, dialect(strict)).map_err(usage)?;
            outln!("{}", parsed.explain())
        }
        CronCommand::Next {
            stdin: true,
            dst,
            strict,
            ..
        } => {
            let policy = policy(&dst).map_err(usage)?;
            let input = std::io::stdin();
            // Buffered: a caller may send many lines; a closed pipe still ends quietly.
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for line in input.lock().lines() {
                let line = line.map_err(|e| format!("cannot read standard input: {e}"))?;
                if line.trim().is_empty() {
                    continue;
                }
                let answer = match stdin_line(&line, policy, strict) {
                    Ok(times) => format!("OK\t{}", times.join(",")),
                    Err(e) => format!("ERR\t{}", e.replace(['\t', '\n'], " ")),
                };
                writeln!(out, "{answer}")?;
            }
            out.flush()?;
            Ok(())
        }
        CronCommand::Next {
            expr,
            tz,
            after,
            count,
            dst,
            strict,
            stdin: false,
        } => {
            let expr = expr.ok_or(CliError::Usage("give an expression, or --stdin".into()))?;
            let after = match after {
                Some(text) => parse_instant(&text).map_err(usage)?,
                None => Timestamp::now(),
            };
            let policy = policy(&dst).map_err(usage)?;
            let times = next(&expr, &tz, after, count, policy, strict).map_err(usage)?;
            for t in &times {
                outln!("{t}")?;
            }
            match times.last() {
                None => Err(CliError::Failed(format!(
                    "{expr:?} never fires after {after}"
                ))),
                Some(last) if times.len() < count => {
                    eprintln!(
                        "note: {} of {count} fire times; {expr:?} has no more fire times after {last}",
                        times.len()
                    );
                    Ok(())
                }
                Some(_) => Ok(()),
            }
        }
    }
}

fn dialect(strict: bool) -> CronDialect {
    if strict {
        CronDialect::ApexStrict
    } else {
        CronDialect::Quartz
    }
}

fn policy(text: &str) -> Result<DstPolicy, String> {
    text.parse::<DstPolicy>().map_err(|e| e.to_string())
}

fn parse_instant(text: &str) -> Result<Timestamp, String> {
    text.trim().parse::<Timestamp>().map_err(|e| {
        format!(
            "invalid --after instant {text:?}: {e} (expected RFC 3339, e.g. 2026-03-08T00:00:00Z)"
        )
    })
}

fn next(
    expr: &str,
    zone: &str,
    after: Timestamp,
    count: usize,
    policy: DstPolicy,
    strict: bool,
) -> Result<Vec<String>, String> {
    if count == 0 || count > MAX_COUNT {
        return Err(format!("count {count} is out of range (1 to {MAX_COUNT})"));
    }
    let parsed = CronExpr::parse_with(expr, dialect(strict)).map_err(|e| e.to_string())?;
    let tz = TimeZone::get(zone.trim()).map_err(|e| format!("unknown time zone {zone:?}: {e}"))?;
    Ok(parsed
        .iter_after(after, tz, policy)
        .take(count)
        .map(|t| t.to_string())
        .collect())
}

fn stdin_line(line: &str, policy: DstPolicy, strict: bool) -> Result<Vec<String>, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [expr, zone, after, count] = fields.as_slice() else {
        return Err(format!(
            "expected 4 tab-separated fields EXPR, ZONE, AFTER, COUNT; got {}",
            fields.len()
        ));
    };
    let count: usize = count
        .trim()
        .parse()
        .map_err(|e| format!("invalid count {count:?}: {e}"))?;
    next(expr, zone, parse_instant(after)?, count, policy, strict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_lines_answer_or_explain_the_error() {
        let ok = stdin_line(
            "0 30 2 * * ?\tAmerica/New_York\t2026-03-07T00:00:00Z\t2",
            DstPolicy::Quartz,
            false,
        )
        .unwrap();
        assert_eq!(ok, vec!["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"]);
        let bad = stdin_line(
            "0 0 * * *\tUTC\t2026-01-01T00:00:00Z\t1",
            DstPolicy::Quartz,
            false,
        )
        .unwrap_err();
        assert!(!bad.is_empty());
        let fields = stdin_line("0 0 * * * ?\tUTC", DstPolicy::Quartz, false).unwrap_err();
        assert!(fields.contains("4 tab-separated fields"), "{fields}");
        let zone = stdin_line(
            "0 0 * * * ?\tNowhere/City\t2026-01-01T00:00:00Z\t1",
            DstPolicy::Quartz,
            false,
        )
        .unwrap_err();
        assert!(zone.contains("Nowhere/City"), "{zone}");
    }
}
