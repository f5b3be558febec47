//! MS-WSMV message sealing (2.2.9.1.1): the `multipart/encrypted` framing
//! that carries an NTLM-sealed SOAP message over plain HTTP.
//!
//! The exact bytes, as pywinrm, pyspnego-based servers and Windows produce
//! them (see the transport reference, §2.2):
//!
//! ```text
//! --Encrypted Boundary\r\n
//! \tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n
//! \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plaintext length>\r\n
//! --Encrypted Boundary\r\n
//! \tContent-Type: application/octet-stream\r\n
//! <u32 LE 16><16-byte signature><sealed bytes>--Encrypted Boundary--\r\n
//! ```
//!
//! There is no CRLF between the sealed bytes and the closing boundary; the
//! sealed bytes are delimited by the boundary alone. Parsing is strict and
//! fails closed: the crypto lives behind the [`Sealer`] trait so the codec is
//! tested without NTLM.

use super::error::SealingError;

/// The `protocol` parameter of the Content-Type, and the first part's type.
pub const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";
/// The MIME boundary every WinRM implementation uses.
pub const BOUNDARY: &str = "Encrypted Boundary";
/// The HTTP Content-Type of a sealed body, byte for byte as Windows sends it.
pub const CONTENT_TYPE: &str = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
/// The type recorded in `OriginalContent`: what the plaintext is.
pub const ORIGINAL_TYPE: &str = "application/soap+xml;charset=UTF-8";
/// Length of an NTLM message signature (version, checksum, sequence number).
pub const SIGNATURE_LEN: usize = 16;

const OPEN: &[u8] = b"--Encrypted Boundary\r\n";
const CLOSE: &[u8] = b"--Encrypted Boundary--";
const CRLF: &[u8] = b"\r\n";
const PART1_TYPE: &[u8] = b"Content-Type: application/HTTP-SPNEGO-session-encrypted";
const ORIGINAL_PREFIX: &[u8] = b"OriginalContent: type=";
const PART2_TYPE: &[u8] = b"Content-Type: application/octet-stream";
/// More digits than any body we could hold; keeps the parse bounded.
const MAX_LENGTH_DIGITS: usize = 12;

/// Seals and unseals message payloads with established session keys.
///
/// Implemented by the NTLM session; tests use a trivial implementation.
/// Both calls advance per-direction state (RC4 stream, sequence number), so
/// they must be called in wire order and a failure leaves the session unusable.
pub trait Sealer: Send {
    /// Encrypts `plaintext` and signs it, returning the signature and the
    /// sealed bytes.
    fn seal(&mut self, plaintext: &[u8]) -> Result<([u8; SIGNATURE_LEN], Vec<u8>), SealingError>;

    /// Decrypts `ciphertext` and verifies `signature`, returning the plaintext.
    fn unseal(
        &mut self,
        signature: &[u8; SIGNATURE_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, SealingError>;
}

/// The pieces of a sealed body, borrowed from it, before any crypto runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedParts<'a> {
    /// The plaintext length declared by `OriginalContent: ...;Length=`.
    pub declared_length: usize,
    /// The `type=` value of `OriginalContent` (e.g. `application/soap+xml;charset=UTF-8`).
    pub original_type: &'a str,
    /// The NTLM signature.
    pub signature: [u8; SIGNATURE_LEN],
    /// The sealed payload.
    pub ciphertext: &'a [u8],
}

/// Whether an HTTP Content-Type names a sealed (SPNEGO-session-encrypted) body.
///
/// Media type and parameter names are compared case-insensitively and
/// parameter values may be quoted, as HTTP allows; a different boundary is
/// refused because every implementation uses the fixed one.
pub fn is_sealed_content_type(content_type: &str) -> bool {
    check_content_type(content_type).is_ok()
}

/// Like [`is_sealed_content_type`], with the reason on failure.
pub fn check_content_type(content_type: &str) -> Result<(), SealingError> {
    let refuse = || SealingError::ContentType {
        content_type: content_type.chars().take(200).collect(),
    };
    let mut params = content_type.split(';');
    let media = params.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("multipart/encrypted") {
        return Err(refuse());
    }
    let mut protocol_ok = false;
    let mut boundary_ok = false;
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        match name.trim().to_ascii_lowercase().as_str() {
            "protocol" => protocol_ok = value.eq_ignore_ascii_case(PROTOCOL),
            "boundary" => boundary_ok = value == BOUNDARY,
            _ => {}
        }
    }
    if protocol_ok && boundary_ok {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// Builds the sealed body from an already-computed signature and ciphertext.
///
/// `plaintext_len` is what the receiver checks after unsealing.
pub fn frame(signature: &[u8; SIGNATURE_LEN], ciphertext: &[u8], plaintext_len: usize) -> Vec<u8> {
    let length = plaintext_len.to_string();
    let mut out = Vec::with_capacity(ciphertext.len() + 256);
    out.extend_from_slice(OPEN);
    out.push(b'\t');
    out.extend_from_slice(PART1_TYPE);
    out.extend_from_slice(CRLF);
    out.push(b'\t');
    out.extend_from_slice(ORIGINAL_PREFIX);
    out.extend_from_slice(ORIGINAL_TYPE.as_bytes());
    out.extend_from_slice(b";Length=");
    out.extend_from_slice(length.as_bytes());
    out.extend_from_slice(CRLF);
    out.extend_from_slice(OPEN);
    out.push(b'\t');
    out.extend_from_slice(PART2_TYPE);
    out.extend_from_slice(CRLF);
    // Signature length as u32 LE; the constant fits.
    out.extend_from_slice(&(SIGNATURE_LEN as u32).to_le_bytes());
    out.extend_from_slice(signature);
    out.extend_from_slice(ciphertext);
    out.extend_from_slice(CLOSE);
    out.extend_from_slice(CRLF);
    out
}

/// Seals `plaintext` and frames it. The result goes out with [`CONTENT_TYPE`].
pub fn seal_body(sealer: &mut dyn Sealer, plaintext: &[u8]) -> Result<Vec<u8>, SealingError> {
    let (signature, ciphertext) = sealer.seal(plaintext)?;
    Ok(frame(&signature, &ciphertext, plaintext.len()))
}

/// Parses and unseals a sealed body; fails closed on any deviation.
pub fn unseal_body(sealer: &mut dyn Sealer, body: &[u8]) -> Result<Vec<u8>, SealingError> {
    let parts = parse(body)?;
    let plaintext = match sealer.unseal(&parts.signature, parts.ciphertext) {
        Ok(plaintext) => plaintext,
        Err(err) => {
            // Tell the winrm-rs 1.1.2 framing apart from tampering: a stream
            // cipher keeps lengths, so two extra bytes that are a CRLF are
            // the stray line break, not a forged payload.
            if parts.ciphertext.len() == parts.declared_length.saturating_add(2)
                && parts.ciphertext.ends_with(CRLF)
            {
                return Err(SealingError::CrlfBeforeClosingBoundary);
            }
            return Err(err);
        }
    };
    if plaintext.len() != parts.declared_length {
        return Err(SealingError::LengthMismatch {
            declared: parts.declared_length,
            actual: plaintext.len(),
        });
    }
    Ok(plaintext)
}

/// Splits a sealed body into its parts without any crypto.
pub fn parse(body: &[u8]) -> Result<SealedParts<'_>, SealingError> {
    let framing = |reason| SealingError::Framing { reason };
    let rest = body
        .strip_prefix(OPEN)
        .ok_or(framing("the body does not start with --Encrypted Boundary"))?;

    let (line, rest) =
        header_line(rest).ok_or(framing("the first part has no Content-Type line"))?;
    if !line.eq_ignore_ascii_case(PART1_TYPE) {
        return Err(framing(
            "the first part is not application/HTTP-SPNEGO-session-encrypted",
        ));
    }

    let (line, rest) =
        header_line(rest).ok_or(framing("the first part has no OriginalContent line"))?;
    let original = strip_prefix_ignore_case(line, ORIGINAL_PREFIX)
        .ok_or(framing("the first part has no OriginalContent: type= line"))?;
    let (original_type, declared_length) = parse_original_content(original)?;

    let rest = rest.strip_prefix(OPEN).ok_or(framing(
        "the second part does not start with --Encrypted Boundary",
    ))?;
    let (line, rest) =
        header_line(rest).ok_or(framing("the second part has no Content-Type line"))?;
    if !line.eq_ignore_ascii_case(PART2_TYPE) {
        return Err(framing("the second part is not application/octet-stream"));
    }

    let rest = rest
        .strip_suffix(CRLF)
        .unwrap_or(rest)
        .strip_suffix(CLOSE)
        .ok_or(framing("the body does not end with --Encrypted Boundary--"))?;

    let (len_bytes, rest) = rest.split_first_chunk::<4>().ok_or(framing(
        "the payload is shorter than its signature length field",
    ))?;
    if u32::from_le_bytes(*len_bytes) as usize != SIGNATURE_LEN {
        return Err(framing("the signature length is not 16"));
    }
    let (signature, ciphertext) = rest
        .split_first_chunk::<SIGNATURE_LEN>()
        .ok_or(framing("the payload is shorter than its signature"))?;
    if contains(ciphertext, OPEN) {
        return Err(framing("the body has more than two parts"));
    }

    Ok(SealedParts {
        declared_length,
        original_type,
        signature: *signature,
        ciphertext,
    })
}

/// One part-header line: an optional leading tab, the text, and CRLF.
fn header_line(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let input = input.strip_prefix(b"\t").unwrap_or(input);
    // Header lines are short; bounding the search keeps parse linear even for
    // hostile bodies with no CRLF at all.
    let window = &input[..input.len().min(512)];
    let end = window.windows(2).position(|w| w == CRLF)?;
    Some((&input[..end], &input[end + 2..]))
}

fn parse_original_content(value: &[u8]) -> Result<(&str, usize), SealingError> {
    let framing = |reason| SealingError::Framing { reason };
    let value = std::str::from_utf8(value).map_err(|_| framing("OriginalContent is not UTF-8"))?;
    let (original_type, length) = value
        .rsplit_once(';')
        .ok_or(framing("OriginalContent has no Length parameter"))?;
    let (name, digits) = length
        .split_once('=')
        .ok_or(framing("OriginalContent has no Length parameter"))?;
    if !name.trim().eq_ignore_ascii_case("Length") {
        return Err(framing("OriginalContent has no Length parameter"));
    }
    if digits.is_empty()
        || digits.len() > MAX_LENGTH_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(framing("OriginalContent Length is not a decimal number"));
    }
    let declared = digits
        .parse::<usize>()
        .map_err(|_| framing("OriginalContent Length is not a decimal number"))?;
    Ok((original_type, declared))
}

fn strip_prefix_ignore_case<'a>(input: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = input.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &input[prefix.len()..])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_matching() {
        assert!(is_sealed_content_type(CONTENT_TYPE));
        assert!(is_sealed_content_type(
            "Multipart/Encrypted; protocol=\"application/http-spnego-session-encrypted\"; boundary=\"Encrypted Boundary\""
        ));
        assert!(!is_sealed_content_type(
            "application/soap+xml;charset=UTF-8"
        ));
        assert!(!is_sealed_content_type(
            "multipart/encrypted;protocol=\"application/HTTP-CredSSP-session-encrypted\";boundary=\"Encrypted Boundary\""
        ));
        assert!(!is_sealed_content_type(
            "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Other\""
        ));
    }

    #[test]
    fn header_line_is_bounded() {
        let long = vec![b'a'; 10_000];
        assert!(header_line(&long).is_none());
    }
}
