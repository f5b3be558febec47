//! `xs:duration` as WS-Management uses it (OperationTimeout, IdleTimeOut).
//!
//! Clients send `PT20S`/`PT60S`, Microsoft's samples `PT60.000S`, and Windows
//! reports `PT7200.000S` and `P0DT0H0M0S`; years and months have no fixed
//! length, so they are refused rather than guessed.

use std::time::Duration;

use crate::error::{Error, Result};

/// Formats as `PT<seconds>S`, with milliseconds only when there are any
/// (the way Windows writes them), and with every further digit a parsed
/// value had: [`parse_duration`] keeps nanoseconds, and a timeout read from
/// a peer must be written back unchanged (the envelope fuzz target found
/// `PT.65535S` coming back as `PT0.655S`).
pub fn format_duration(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        format!("PT{}S", d.as_secs())
    } else if nanos.is_multiple_of(1_000_000) {
        format!("PT{}.{:03}S", d.as_secs(), nanos / 1_000_000)
    } else {
        let digits = format!("{nanos:09}");
        format!("PT{}.{}S", d.as_secs(), digits.trim_end_matches('0'))
    }
}

/// Parses the day/time subset of `xs:duration` (`PnDTnHnMn.nS`).
pub fn parse_duration(text: &str) -> Result<Duration> {
    const WHAT: &str = "xs:duration";
    let bad = |reason| Error::invalid(WHAT, text, reason);
    let s = text.trim();
    if s.starts_with('-') {
        return Err(bad("a timeout cannot be negative"));
    }
    let rest = s
        .strip_prefix('P')
        .ok_or_else(|| bad("it must start with P"))?;
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => return Err(bad("T must be followed by hours, minutes or seconds")),
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return Err(bad("it has no components"));
    }
    let mut total = Duration::ZERO;
    let mut add = |amount: Duration| -> Result<()> {
        total = total
            .checked_add(amount)
            .ok_or_else(|| Error::invalid(WHAT, text, "it is too long"))?;
        Ok(())
    };
    for (value, unit) in components(date).map_err(bad)? {
        match unit {
            'D' => add(seconds(&value, 86_400).ok_or_else(|| bad("bad day count"))?)?,
            'Y' | 'M' => return Err(bad("years and months have no fixed length")),
            _ => return Err(bad("unknown date designator")),
        }
    }
    if let Some(time) = time {
        for (value, unit) in components(time).map_err(bad)? {
            let part = match unit {
                'H' => seconds(&value, 3_600),
                'M' => seconds(&value, 60),
                'S' => fractional_seconds(&value),
                _ => return Err(bad("unknown time designator")),
            };
            add(part.ok_or_else(|| bad("bad number"))?)?;
        }
    }
    Ok(total)
}

/// Splits `1DT` style runs into (number, designator) pairs.
fn components(s: &str) -> Result<Vec<(String, char)>, &'static str> {
    let mut out = Vec::new();
    let mut number = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
        } else if number.is_empty() {
            return Err("a designator has no number before it");
        } else {
            out.push((std::mem::take(&mut number), c));
        }
    }
    if !number.is_empty() {
        return Err("a number has no designator after it");
    }
    Ok(out)
}

fn seconds(value: &str, unit: u64) -> Option<Duration> {
    let n: u64 = value.parse().ok()?;
    n.checked_mul(unit).map(Duration::from_secs)
}

fn fractional_seconds(value: &str) -> Option<Duration> {
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Nanosecond precision is plenty; extra digits are dropped, not rounded.
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nanos: u32 = digits.parse().ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_and_fractional_seconds() {
        assert_eq!(format_duration(Duration::from_secs(20)), "PT20S");
        assert_eq!(format_duration(Duration::from_millis(60_500)), "PT60.500S");
        assert_eq!(
            format_duration(Duration::from_micros(655_350)),
            "PT0.65535S"
        );
        assert_eq!(format_duration(Duration::new(1, 1)), "PT1.000000001S");
    }

    #[test]
    fn sub_millisecond_durations_round_trip() {
        // Regression (fuzz_envelope): sub-millisecond digits were dropped.
        for text in ["PT.65535S", "PT1.000000001S", "PT0.0001S"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{text}");
        }
    }

    #[test]
    fn parses_what_peers_send() {
        let cases = [
            ("PT20S", Duration::from_secs(20)),
            ("PT60.000S", Duration::from_secs(60)),
            ("PT7200.000S", Duration::from_secs(7200)),
            ("P0DT0H0M0S", Duration::ZERO),
            ("P1DT2H3M4.5S", Duration::from_millis(93_784_500)),
            ("PT1M", Duration::from_secs(60)),
            (" PT5S ", Duration::from_secs(5)),
            ("PT.25S", Duration::from_millis(250)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn rejects_nonsense() {
        for text in [
            "", "P", "PT", "20", "PT20", "P1Y", "P1M", "-PT5S", "PTS", "PT1.2.3S", "PT5X",
        ] {
            assert!(parse_duration(text).is_err(), "{text:?}");
        }
    }
}
