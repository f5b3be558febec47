//! .NET Framework text formatting of numbers and dates, as Windows
//! PowerShell 5.1 produces it: `ToString()` of doubles (15 significant
//! digits), the round-trip `R` format `ConvertTo-Json` uses, standard and
//! simple custom numeric formats (`N2`, `D3`, `X`, `0.00`), date formats
//! (`o`, `s`, `u`, `yyyy-MM-dd HH:mm:ss`, ...) and composite format strings
//! for `-f` (`{0}`, `{0,-10}`, `{0:N2}`).
//!
//! The culture is en-US for `.ToString()` and invariant for string
//! conversion, as in PowerShell; the two only differ for dates here.

use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use super::errors::PsError;
use super::value::{DateKind, DateTime, Value};

/// Decimal digits of `x` rounded to `significant` digits: the digits
/// (no leading zeros, at least one), the decimal exponent of the first
/// digit, and the sign.
fn decimal_digits(x: f64, significant: usize) -> (Vec<u8>, i32, bool) {
    let negative = x.is_sign_negative() && x != 0.0;
    let text = format!("{:.*e}", significant.saturating_sub(1), x.abs());
    digits_of_scientific(&text, negative)
}

/// Shortest round-trip digits of `x` (Rust's `{:e}`).
fn shortest_digits(x: f64) -> (Vec<u8>, i32, bool) {
    let negative = x.is_sign_negative() && x != 0.0;
    let text = format!("{:e}", x.abs());
    digits_of_scientific(&text, negative)
}

fn digits_of_scientific(text: &str, negative: bool) -> (Vec<u8>, i32, bool) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        digits.push(0);
    }
    (digits, exp, negative)
}

/// The `G<precision>` format of .NET: fixed notation when the decimal
/// exponent is above -5 and below the precision, otherwise `d.dddE+XX`.
#[must_use]
pub(crate) fn format_g(x: f64, precision: usize) -> String {
    if let Some(special) = special_double(x) {
        return special;
    }
    if x == 0.0 {
        return "0".into();
    }
    let (digits, exp, negative) = decimal_digits(x, precision);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    let precision_i = i32::try_from(precision).unwrap_or(i32::MAX);
    if exp > -5 && exp < precision_i {
        out.push_str(&fixed_from_digits(&digits, exp));
    } else {
        out.push(char::from(b'0' + digits[0]));
        if digits.len() > 1 {
            out.push('.');
            out.extend(digits[1..].iter().map(|d| char::from(b'0' + d)));
        }
        out.push_str(&format!(
            "E{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        ));
    }
    out
}

/// Digits as a plain decimal without trailing zeros.
fn fixed_from_digits(digits: &[u8], exp: i32) -> String {
    let mut out = String::new();
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.extend(digits.iter().map(|d| char::from(b'0' + d)));
    } else {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        for i in 0..int_len.max(digits.len()) {
            if i == int_len {
                out.push('.');
            }
            out.push(char::from(b'0' + digits.get(i).copied().unwrap_or(0)));
        }
    }
    out
}

fn special_double(x: f64) -> Option<String> {
    if x.is_nan() {
        Some("NaN".into())
    } else if x == f64::INFINITY {
        Some("Infinity".into())
    } else if x == f64::NEG_INFINITY {
        Some("-Infinity".into())
    } else {
        None
    }
}

/// `double.ToString()` in .NET Framework: 15 significant digits.
#[must_use]
pub(crate) fn double_to_string(x: f64) -> String {
    format_g(x, 15)
}

/// `double.ToString("R")` in .NET Framework: 15 digits if that
/// round-trips, else 17. `ConvertTo-Json` writes doubles this way.
#[must_use]
pub(crate) fn double_round_trip(x: f64) -> String {
    let short = format_g(x, 15);
    if short.parse::<f64>().ok() == Some(x) {
        short
    } else {
        format_g(x, 17)
    }
}

/// `decimal.ToString()`: plain digits, no exponent.
#[must_use]
pub(crate) fn decimal_to_string(x: f64) -> String {
    if let Some(special) = special_double(x) {
        return special;
    }
    if x == 0.0 {
        return "0".into();
    }
    let (digits, exp, negative) = shortest_digits(x);
    let body = fixed_from_digits(&digits, exp);
    if negative { format!("-{body}") } else { body }
}

/// `x` with `decimals` fractional digits, rounded half away from zero on
/// its 15-digit decimal form (what .NET Framework does for `F`/`N`), with
/// optional thousands separators.
fn fixed(x: f64, decimals: usize, group: bool) -> String {
    if let Some(special) = special_double(x) {
        return special;
    }
    let (mut digits, mut exp, negative) = decimal_digits(x, 15);
    // Index of the first digit dropped by the rounding.
    let keep = i64::from(exp) + 1 + i64::try_from(decimals).unwrap_or(0);
    if keep < 0 {
        digits = vec![0];
        exp = 0;
    } else {
        let keep = usize::try_from(keep).unwrap_or(0);
        if keep < digits.len() {
            let round_up = digits[keep] >= 5;
            digits.truncate(keep);
            if round_up {
                let mut i = digits.len();
                loop {
                    if i == 0 {
                        digits.insert(0, 1);
                        exp += 1;
                        break;
                    }
                    i -= 1;
                    if digits[i] == 9 {
                        digits[i] = 0;
                    } else {
                        digits[i] += 1;
                        break;
                    }
                }
            }
            if digits.is_empty() {
                digits = vec![0];
                exp = 0;
            }
        }
    }
    // Integer part.
    let mut int_part = String::new();
    if exp >= 0 {
        for i in 0..=usize::try_from(exp).unwrap_or(0) {
            int_part.push(char::from(b'0' + digits.get(i).copied().unwrap_or(0)));
        }
    } else {
        int_part.push('0');
    }
    let mut frac = String::new();
    for k in 0..decimals {
        let idx = i64::from(exp) + 1 + i64::try_from(k).unwrap_or(0);
        let d = usize::try_from(idx)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0);
        frac.push(char::from(b'0' + d));
    }
    let int_part = if group {
        group_thousands(&int_part)
    } else {
        int_part
    };
    let is_zero = int_part.chars().all(|c| c == '0' || c == ',') && frac.chars().all(|c| c == '0');
    let mut out = String::new();
    if negative && !is_zero {
        out.push('-');
    }
    out.push_str(&int_part);
    if decimals > 0 {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    let n = digits.len();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number as an `f64` and, for integer types, as an `i64`.
fn number_parts(value: &Value) -> Option<(f64, Option<i64>)> {
    match value {
        Value::Int(n) => Some((f64::from(*n), Some(i64::from(*n)))),
        Value::Long(n) => Some((*n as f64, Some(*n))),
        Value::Byte(n) => Some((f64::from(*n), Some(i64::from(*n)))),
        Value::Double(d) | Value::Decimal(d) => Some((*d, None)),
        _ => None,
    }
}

/// `number.ToString(spec)` for the standard formats `C D E F G N P R X`
/// (with precision) and simple custom formats (`0`, `#`, `.`, `,`, `%`).
/// `None` when `value` is not a number.
///
/// # Errors
///
/// `Format specifier was invalid.` for `D`/`X` on non-integers and for
/// unknown standard specifiers.
pub(crate) fn format_number(value: &Value, spec: &str) -> Option<Result<String, PsError>> {
    let (x, int) = number_parts(value)?;
    let invalid = || {
        Err(
            PsError::new("Format specifier was invalid.", "FormatException")
                .with_exception(super::errors::exception::FORMAT),
        )
    };
    if spec.is_empty() {
        return Some(Ok(match value {
            Value::Double(d) => double_to_string(*d),
            Value::Decimal(d) => decimal_to_string(*d),
            _ => int.map(|n| n.to_string()).unwrap_or_default(),
        }));
    }
    let mut chars = spec.chars();
    let letter = chars.next().unwrap_or('G');
    let rest: String = chars.collect();
    let standard = letter.is_ascii_alphabetic() && rest.chars().all(|c| c.is_ascii_digit());
    if !standard {
        return Some(Ok(custom_number(x, spec)));
    }
    // .NET Framework accepts precision specifiers 0..=99.
    let precision: Option<usize> = if rest.is_empty() {
        None
    } else {
        match rest.parse::<usize>() {
            Ok(p) if p <= 99 => Some(p),
            _ => return Some(invalid()),
        }
    };
    let result = match letter.to_ascii_uppercase() {
        'D' => match int {
            Some(n) => {
                let digits = n.unsigned_abs().to_string();
                let width = precision.unwrap_or(0);
                let padded = format!("{digits:0>width$}");
                if n < 0 { format!("-{padded}") } else { padded }
            }
            None => return Some(invalid()),
        },
        'X' => match int {
            Some(n) => {
                let width = precision.unwrap_or(0);
                // .NET formats negative numbers as their two's complement
                // in the type's width; Int32 is the common case.
                let text = if let Ok(small) = i32::try_from(n) {
                    format!("{:x}", small.cast_unsigned())
                } else {
                    format!("{:x}", n.cast_unsigned())
                };
                let text = format!("{text:0>width$}");
                if letter == 'X' {
                    text.to_uppercase()
                } else {
                    text
                }
            }
            None => return Some(invalid()),
        },
        'F' => fixed(x, precision.unwrap_or(2), false),
        'N' => fixed(x, precision.unwrap_or(2), true),
        'P' => format!("{} %", fixed(x * 100.0, precision.unwrap_or(2), true)),
        'C' => {
            let body = fixed(x.abs(), precision.unwrap_or(2), true);
            if x < 0.0 {
                format!("(¤{body})")
            } else {
                format!("¤{body}")
            }
        }
        'E' => {
            let p = precision.unwrap_or(6);
            let (digits, exp, negative) = decimal_digits(x, p + 1);
            let mut out = String::new();
            if negative {
                out.push('-');
            }
            out.push(char::from(b'0' + digits[0]));
            if p > 0 {
                out.push('.');
                for i in 1..=p {
                    out.push(char::from(b'0' + digits.get(i).copied().unwrap_or(0)));
                }
            }
            let e = if letter == 'e' { 'e' } else { 'E' };
            format!(
                "{out}{e}{}{:03}",
                if exp < 0 { '-' } else { '+' },
                exp.unsigned_abs()
            )
        }
        'G' => match (int, precision) {
            (Some(n), None) => n.to_string(),
            (_, p) => format_g(x, p.filter(|&p| p > 0).unwrap_or(15)),
        },
        'R' => match int {
            Some(n) => n.to_string(),
            None => double_round_trip(x),
        },
        _ => return Some(invalid()),
    };
    Some(Ok(result))
}

/// Simple custom numeric formats: `0` and `#` digit placeholders, one `.`,
/// `,` grouping, `%` percent, anything else literal.
fn custom_number(x: f64, spec: &str) -> String {
    let percent = spec.contains('%');
    let x = if percent { x * 100.0 } else { x };
    let (int_spec, frac_spec) = match spec.find('.') {
        Some(i) => (&spec[..i], &spec[i + 1..]),
        None => (spec, ""),
    };
    let min_int = int_spec.chars().filter(|&c| c == '0').count();
    let max_frac = frac_spec.chars().filter(|&c| c == '0' || c == '#').count();
    let min_frac = frac_spec.chars().filter(|&c| c == '0').count();
    let group = int_spec.contains(',');
    let mut text = fixed(x.abs(), max_frac, false);
    // Trim optional fractional digits.
    if let Some(dot) = text.find('.') {
        let mut end = text.len();
        while end > dot + 1 + min_frac && text.as_bytes()[end - 1] == b'0' {
            end -= 1;
        }
        if end == dot + 1 {
            end = dot;
        }
        text.truncate(end);
    }
    let (int_digits, frac_digits) = match text.find('.') {
        Some(i) => (text[..i].to_owned(), text[i..].to_owned()),
        None => (text.clone(), String::new()),
    };
    let mut int_digits = int_digits.trim_start_matches('0').to_owned();
    while int_digits.len() < min_int {
        int_digits.insert(0, '0');
    }
    if group {
        int_digits = group_thousands(&int_digits);
    }
    let prefix: String = int_spec
        .chars()
        .take_while(|c| !matches!(c, '0' | '#' | ','))
        .collect();
    let suffix: String = frac_spec
        .chars()
        .skip_while(|c| matches!(c, '0' | '#'))
        .chain(
            if frac_spec.is_empty() {
                int_spec
                    .chars()
                    .rev()
                    .take_while(|c| !matches!(c, '0' | '#' | ','))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            } else {
                String::new()
            }
            .chars(),
        )
        .collect();
    let sign = if x < 0.0
        && (int_digits.chars().any(|c| c.is_ascii_digit() && c != '0')
            || frac_digits.chars().any(|c| c.is_ascii_digit() && c != '0'))
    {
        "-"
    } else {
        ""
    };
    let prefix = if frac_spec.is_empty() && prefix.len() == int_spec.len() {
        String::new()
    } else {
        prefix
    };
    format!("{sign}{prefix}{int_digits}{frac_digits}{suffix}")
}

const MONTHS: [&str; 12] = [
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

fn day_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// Expands a standard date format letter to its en-US custom pattern.
fn standard_date_pattern(spec: &str) -> Option<&'static str> {
    Some(match spec {
        "d" => "M/d/yyyy",
        "D" => "dddd, MMMM d, yyyy",
        "f" => "dddd, MMMM d, yyyy h:mm tt",
        "F" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "g" => "M/d/yyyy h:mm tt",
        "G" => "M/d/yyyy h:mm:ss tt",
        "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
        "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        "t" => "h:mm tt",
        "T" => "h:mm:ss tt",
        "m" | "M" => "MMMM d",
        "y" | "Y" => "MMMM yyyy",
        _ => return None,
    })
}

/// `DateTime.ToString(format)` (en-US), `.ToString()` when `format` is
/// empty.
#[must_use]
pub(crate) fn format_date(dt: &DateTime, format: &str) -> String {
    let pattern = if format.is_empty() {
        "M/d/yyyy h:mm:ss tt"
    } else {
        standard_date_pattern(format).unwrap_or(format)
    };
    format_date_custom(dt, pattern)
}

/// The invariant-culture text PowerShell uses when it converts a date to
/// a string (`"$date"`): `MM/dd/yyyy HH:mm:ss`.
#[must_use]
pub(crate) fn date_to_invariant_string(dt: &DateTime) -> String {
    format_date_custom(dt, "MM/dd/yyyy HH:mm:ss")
}

fn format_date_custom(dt: &DateTime, pattern: &str) -> String {
    let zoned = dt.instant.to_zoned(TimeZone::UTC);
    let civil = zoned.datetime();
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut run = 1;
        while i + run < chars.len() && chars[i + run] == c {
            run += 1;
        }
        let hour12 = {
            let h = civil.hour() % 12;
            if h == 0 { 12 } else { h }
        };
        match c {
            'y' => {
                let y = civil.year();
                match run {
                    1 => out.push_str(&(y % 100).to_string()),
                    2 => out.push_str(&format!("{:02}", y % 100)),
                    n => out.push_str(&format!("{y:0n$}")),
                }
            }
            'M' => {
                let m = civil.month();
                match run {
                    1 => out.push_str(&m.to_string()),
                    2 => out.push_str(&format!("{m:02}")),
                    3 => out.push_str(&MONTHS[usize::try_from(m - 1).unwrap_or(0)][..3]),
                    _ => out.push_str(MONTHS[usize::try_from(m - 1).unwrap_or(0)]),
                }
            }
            'd' => {
                let d = civil.day();
                match run {
                    1 => out.push_str(&d.to_string()),
                    2 => out.push_str(&format!("{d:02}")),
                    3 => out.push_str(&day_name(civil.weekday())[..3]),
                    _ => out.push_str(day_name(civil.weekday())),
                }
            }
            'H' => out.push_str(&if run == 1 {
                civil.hour().to_string()
            } else {
                format!("{:02}", civil.hour())
            }),
            'h' => out.push_str(&if run == 1 {
                hour12.to_string()
            } else {
                format!("{hour12:02}")
            }),
            'm' => out.push_str(&if run == 1 {
                civil.minute().to_string()
            } else {
                format!("{:02}", civil.minute())
            }),
            's' => out.push_str(&if run == 1 {
                civil.second().to_string()
            } else {
                format!("{:02}", civil.second())
            }),
            'f' | 'F' => {
                let ticks = civil.subsec_nanosecond() / 100;
                let digits = format!("{ticks:07}");
                let take = run.min(7);
                let mut part = digits[..take].to_owned();
                if c == 'F' {
                    while part.ends_with('0') {
                        part.pop();
                    }
                    if part.is_empty() && out.ends_with('.') {
                        out.pop();
                    }
                }
                out.push_str(&part);
            }
            't' => {
                let am = civil.hour() < 12;
                let text = if am { "AM" } else { "PM" };
                out.push_str(if run == 1 { &text[..1] } else { text });
            }
            'K' => {
                for _ in 0..run {
                    out.push_str(match dt.kind {
                        DateKind::Utc => "Z",
                        DateKind::Local => "+00:00",
                        DateKind::Unspecified => "",
                    });
                }
            }
            'z' => out.push_str(match run {
                1 => "+0",
                2 => "+00",
                _ => "+00:00",
            }),
            '\'' | '"' => {
                // Quoted literal.
                let mut j = i + 1;
                while j < chars.len() && chars[j] != c {
                    out.push(chars[j]);
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            '\\' => {
                if let Some(&next) = chars.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            '%' => {
                i += 1;
                continue;
            }
            other => {
                for _ in 0..run {
                    out.push(other);
                }
            }
        }
        i += run;
    }
    out
}

/// `TimeSpan.ToString()`: `[-][d.]hh:mm:ss[.fffffff]`.
#[must_use]
pub(crate) fn timespan_to_string(ticks: i64) -> String {
    let negative = ticks < 0;
    let t = ticks.unsigned_abs();
    let per_sec = 10_000_000u64;
    let frac = t % per_sec;
    let secs = t / per_sec;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if frac > 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out
}

/// One `{index[,alignment][:format]}` item of a composite format string.
struct FormatItem {
    index: usize,
    alignment: i64,
    format: String,
}

/// `"fmt" -f args`: .NET composite formatting. `to_text` converts an
/// argument without a format the way PowerShell does.
///
/// # Errors
///
/// `Error formatting a string: Input string was not in a correct format.`
/// for malformed items, and `Index (zero based) must be greater than or
/// equal to zero and less than the size of the argument list.` for a
/// missing argument, as PowerShell reports them.
pub(crate) fn composite(
    fmt: &str,
    args: &[Value],
    to_text: &dyn Fn(&Value) -> String,
) -> Result<String, PsError> {
    let bad_format = || {
        PsError::new(
            "Error formatting a string: Input string was not in a correct format..".to_string(),
            "FormatError",
        )
        .with_exception(super::errors::exception::FORMAT)
    };
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '}' => return Err(bad_format()),
            '{' => {
                let close = chars[i..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or_else(bad_format)?;
                let inner: String = chars[i + 1..i + close].iter().collect();
                let item = parse_item(&inner).ok_or_else(bad_format)?;
                let arg = args.get(item.index).ok_or_else(|| {
                    PsError::new(
                        "Error formatting a string: Index (zero based) must be greater than or equal to zero and less than the size of the argument list..",
                        "FormatError",
                    )
                    .with_exception(super::errors::exception::FORMAT)
                })?;
                let text = format_with(arg, &item.format, to_text)?;
                let width = usize::try_from(item.alignment.unsigned_abs()).unwrap_or(0);
                let padded = if item.alignment < 0 {
                    format!("{text:<width$}")
                } else {
                    format!("{text:>width$}")
                };
                out.push_str(&padded);
                i += close + 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn parse_item(inner: &str) -> Option<FormatItem> {
    let (head, format) = match inner.find(':') {
        Some(i) => (&inner[..i], inner[i + 1..].to_owned()),
        None => (inner, String::new()),
    };
    let (index, alignment) = match head.find(',') {
        Some(i) => (&head[..i], head[i + 1..].trim().parse::<i64>().ok()?),
        None => (head, 0),
    };
    // .NET rejects alignments of a million or more.
    if alignment.unsigned_abs() >= 1_000_000 {
        return None;
    }
    Some(FormatItem {
        index: index.trim().parse().ok()?,
        alignment,
        format,
    })
}

/// An argument formatted with an item's format string.
pub(crate) fn format_with(
    arg: &Value,
    format: &str,
    to_text: &dyn Fn(&Value) -> String,
) -> Result<String, PsError> {
    if format.is_empty() {
        return Ok(to_text(arg));
    }
    if let Some(result) = format_number(arg, format) {
        return result;
    }
    match arg {
        Value::DateTime(dt) => Ok(format_date(dt, format)),
        Value::Guid(g) => Ok(match format {
            "N" | "n" => g.simple().to_string(),
            "B" | "b" => format!("{{{g}}}"),
            "P" | "p" => format!("({g})"),
            _ => g.to_string(),
        }),
        _ => Ok(to_text(arg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_like_dotnet_framework() {
        assert_eq!(double_to_string(0.1 + 0.2), "0.3");
        assert_eq!(double_round_trip(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(double_to_string(2.5), "2.5");
        assert_eq!(double_to_string(1e15), "1E+15");
        assert_eq!(double_to_string(123456789012345.0), "123456789012345");
        assert_eq!(double_to_string(0.00001), "1E-05");
        assert_eq!(double_to_string(0.0001), "0.0001");
        assert_eq!(double_to_string(-1.5), "-1.5");
        assert_eq!(double_to_string(f64::NAN), "NaN");
        // .NET Framework's "R" falls back to 17 digits (unlike .NET Core's
        // shortest round-trip form).
        assert_eq!(double_round_trip(1.0 / 3.0), "0.33333333333333331");
        assert_eq!(double_to_string(1.0 / 3.0), "0.333333333333333");
        assert_eq!(double_to_string(100.0), "100");
    }

    #[test]
    fn numeric_format_specifiers() {
        let f = |v: Value, s: &str| {
            format_number(&v, s)
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        assert_eq!(f(Value::Double(1234.5678), "N2"), "1,234.57");
        assert_eq!(f(Value::Double(2.675), "F2"), "2.68");
        assert_eq!(f(Value::Int(42), "D5"), "00042");
        assert_eq!(f(Value::Int(255), "X"), "FF");
        assert_eq!(f(Value::Int(255), "x4"), "00ff");
        assert_eq!(f(Value::Double(0.256), "P1"), "25.6 %");
        assert_eq!(f(Value::Double(1.23456), "0.00"), "1.23");
        assert_eq!(f(Value::Int(1234567), "#,##0"), "1,234,567");
        assert_eq!(f(Value::Int(5), "N0"), "5");
        assert!(format_number(&Value::Double(1.5), "D").is_some_and(|r| r.is_err()));
    }

    #[test]
    fn dates() {
        let dt = DateTime {
            instant: jiff::Timestamp::from_millisecond(1_735_689_600_123).unwrap_or_default(),
            kind: DateKind::Utc,
        };
        assert_eq!(format_date(&dt, "o"), "2025-01-01T00:00:00.1230000Z");
        assert_eq!(format_date(&dt, ""), "1/1/2025 12:00:00 AM");
        assert_eq!(
            format_date(&dt, "yyyy-MM-dd HH:mm:ss"),
            "2025-01-01 00:00:00"
        );
        assert_eq!(format_date(&dt, "dddd, MMMM d"), "Wednesday, January 1");
        assert_eq!(date_to_invariant_string(&dt), "01/01/2025 00:00:00");
        let local = DateTime {
            kind: DateKind::Local,
            ..dt
        };
        assert_eq!(
            format_date(&local, "o"),
            "2025-01-01T00:00:00.1230000+00:00"
        );
    }

    #[test]
    fn composite_formatting() {
        let text = |v: &Value| match v {
            Value::String(s) => s.to_string(),
            Value::Int(n) => n.to_string(),
            _ => String::new(),
        };
        let args = [Value::str("vm1"), Value::Int(3)];
        assert_eq!(
            composite("{0} has {1:D2} disks {{ok}}", &args, &text).unwrap_or_default(),
            "vm1 has 03 disks {ok}"
        );
        assert_eq!(
            composite("[{0,5}|{0,-5}]", &args, &text).unwrap_or_default(),
            "[  vm1|vm1  ]"
        );
        assert!(composite("{2}", &args, &text).is_err());
        assert_eq!(
            timespan_to_string(10_000_000 * 3661 + 5),
            "01:01:01.0000005"
        );
    }
}
