//! Kubernetes quantities (`4Gi`, `512Mi`, `40G`) as the whole mebibytes and
//! gibibytes VMM cmdlets take. The CRD's CEL rules already reject malformed
//! quantities; this parser still refuses them with a message, because the
//! schema can be bypassed (or be older than the controller).

/// Bytes in a quantity string.
pub fn bytes(q: &str) -> Result<u128, String> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let factor: u128 = match suffix {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        other => {
            return Err(format!(
                "quantity {q:?} has an unsupported suffix {other:?}; use Mi, Gi or Ti, for example 4Gi"
            ));
        }
    };
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("quantity {q:?} has no number; write it like 4Gi"));
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("quantity {q:?} is not a number followed by a unit, like 4Gi"))?
    };
    let mut total = whole
        .checked_mul(factor)
        .ok_or_else(|| format!("quantity {q:?} is too large"))?;
    if !frac.is_empty() {
        let digits: u32 =
            u32::try_from(frac.len()).map_err(|_| format!("quantity {q:?} is malformed"))?;
        if digits > 9 {
            return Err(format!("quantity {q:?} has too many decimals"));
        }
        let f: u128 = frac
            .parse()
            .map_err(|_| format!("quantity {q:?} is not a number followed by a unit, like 4Gi"))?;
        total += f * factor / 10u128.pow(digits);
    }
    Ok(total)
}

/// Whole mebibytes, rounded up (VMM's `-MemoryMB`).
pub fn mebibytes(q: &str) -> Result<u64, String> {
    let b = bytes(q)?;
    u64::try_from(b.div_ceil(1 << 20)).map_err(|_| format!("quantity {q:?} is too large"))
}

/// Whole gibibytes, rounded up (VMM's `-VirtualHardDiskSizeGB`).
pub fn gibibytes(q: &str) -> Result<u64, String> {
    let b = bytes(q)?;
    u64::try_from(b.div_ceil(1 << 30)).map_err(|_| format!("quantity {q:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_sizes() {
        assert_eq!(mebibytes("4Gi").unwrap(), 4096);
        assert_eq!(mebibytes("512Mi").unwrap(), 512);
        assert_eq!(mebibytes("1G").unwrap(), 954);
        assert_eq!(gibibytes("40Gi").unwrap(), 40);
        assert_eq!(gibibytes("1.5Gi").unwrap(), 2);
        assert_eq!(mebibytes("0.5Gi").unwrap(), 512);
        assert!(mebibytes("4GB").unwrap_err().contains("suffix"));
        assert!(mebibytes("Gi").is_err());
        assert!(mebibytes("-1Gi").is_err());
    }

    proptest! {
        #[test]
        fn binary_units_are_exact(n in 0u64..1_000_000) {
            prop_assert_eq!(mebibytes(&format!("{n}Mi")).unwrap(), n);
            prop_assert_eq!(mebibytes(&format!("{n}Gi")).unwrap(), n * 1024);
            prop_assert_eq!(gibibytes(&format!("{n}Gi")).unwrap(), n);
        }

        #[test]
        fn any_text_is_parsed_or_refused_without_panic(s in ".{0,24}") {
            let _ = bytes(&s);
        }
    }
}
