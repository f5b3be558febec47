//! The MS-WSMV sealing codec, without NTLM: framing bytes, strict parsing,
//! failing closed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use wsman::transport::SealingError;
use wsman::transport::sealing::{self, SIGNATURE_LEN, Sealer};

/// XOR "cipher" whose signature is a checksum of the plaintext: enough to see
/// that the codec hands the right bytes to the right calls.
struct XorSealer;

fn checksum(data: &[u8]) -> [u8; SIGNATURE_LEN] {
    let mut sig = [0u8; SIGNATURE_LEN];
    for (i, b) in data.iter().enumerate() {
        sig[i % SIGNATURE_LEN] = sig[i % SIGNATURE_LEN].wrapping_add(*b).rotate_left(1);
    }
    sig
}

impl Sealer for XorSealer {
    fn seal(&mut self, plaintext: &[u8]) -> Result<([u8; SIGNATURE_LEN], Vec<u8>), SealingError> {
        Ok((
            checksum(plaintext),
            plaintext.iter().map(|b| b ^ 0x5a).collect(),
        ))
    }

    fn unseal(
        &mut self,
        signature: &[u8; SIGNATURE_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, SealingError> {
        let plain: Vec<u8> = ciphertext.iter().map(|b| b ^ 0x5a).collect();
        if checksum(&plain) == *signature {
            Ok(plain)
        } else {
            Err(SealingError::Integrity {
                detail: "checksum mismatch".into(),
            })
        }
    }
}

/// A sealer that does not touch the bytes, to build exact expectations.
struct Identity;

impl Sealer for Identity {
    fn seal(&mut self, plaintext: &[u8]) -> Result<([u8; SIGNATURE_LEN], Vec<u8>), SealingError> {
        Ok(([0xAB; SIGNATURE_LEN], plaintext.to_vec()))
    }

    fn unseal(
        &mut self,
        signature: &[u8; SIGNATURE_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, SealingError> {
        if *signature == [0xAB; SIGNATURE_LEN] {
            Ok(ciphertext.to_vec())
        } else {
            Err(SealingError::Integrity {
                detail: "bad signature".into(),
            })
        }
    }
}

#[test]
fn framing_is_byte_exact() {
    let body = sealing::seal_body(&mut Identity, "<s:Envelope>é</s:Envelope>".as_bytes()).unwrap();
    let mut expected = Vec::new();
    expected.extend_from_slice(b"--Encrypted Boundary\r\n");
    expected.extend_from_slice(b"\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n");
    expected.extend_from_slice(
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=27\r\n",
    );
    expected.extend_from_slice(b"--Encrypted Boundary\r\n");
    expected.extend_from_slice(b"\tContent-Type: application/octet-stream\r\n");
    expected.extend_from_slice(&[16, 0, 0, 0]);
    expected.extend_from_slice(&[0xAB; 16]);
    expected.extend_from_slice("<s:Envelope>é</s:Envelope>".as_bytes());
    // No CRLF between the payload and the closing boundary.
    expected.extend_from_slice(b"--Encrypted Boundary--\r\n");
    assert_eq!(body, expected);
    assert_eq!(
        sealing::CONTENT_TYPE,
        "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\""
    );
}

#[test]
fn round_trip() {
    for message in [&b""[..], b"x", "<a>日本語 ✓</a>".as_bytes(), &[0u8; 70_000]] {
        let body = sealing::seal_body(&mut XorSealer, message).unwrap();
        assert_eq!(
            sealing::unseal_body(&mut XorSealer, &body).unwrap(),
            message
        );
    }
}

/// The payload may contain anything, including CRLF and boundary-like text
/// without the trailing CRLF; it is delimited by the closing boundary only.
#[test]
fn payload_with_crlf_and_dashes() {
    let message = b"line\r\n--Encrypted Boundary--\r\nmore\r\n";
    let body = sealing::seal_body(&mut Identity, message).unwrap();
    assert_eq!(sealing::unseal_body(&mut Identity, &body).unwrap(), message);
}

#[test]
fn parse_exposes_parts() {
    let body = sealing::seal_body(&mut Identity, b"hello").unwrap();
    let parts = sealing::parse(&body).unwrap();
    assert_eq!(parts.declared_length, 5);
    assert_eq!(parts.original_type, "application/soap+xml;charset=UTF-8");
    assert_eq!(parts.signature, [0xAB; 16]);
    assert_eq!(parts.ciphertext, b"hello");
}

#[test]
fn tolerates_missing_final_crlf() {
    let mut body = sealing::seal_body(&mut XorSealer, b"abc").unwrap();
    body.truncate(body.len() - 2);
    assert_eq!(sealing::unseal_body(&mut XorSealer, &body).unwrap(), b"abc");
}

#[test]
fn tampered_signature_fails_closed() {
    let mut body = sealing::seal_body(&mut XorSealer, b"<Envelope/>").unwrap();
    let sig_at = body.windows(4).position(|w| w == [16, 0, 0, 0]).unwrap() + 4;
    body[sig_at] ^= 1;
    assert!(matches!(
        sealing::unseal_body(&mut XorSealer, &body),
        Err(SealingError::Integrity { .. })
    ));
}

#[test]
fn tampered_ciphertext_fails_closed() {
    let mut body = sealing::seal_body(&mut XorSealer, b"<Envelope>payload</Envelope>").unwrap();
    let at = body.len() - 30;
    body[at] ^= 0x20;
    assert!(sealing::unseal_body(&mut XorSealer, &body).is_err());
}

#[test]
fn truncated_body_fails() {
    let body = sealing::seal_body(&mut XorSealer, b"<Envelope>payload</Envelope>").unwrap();
    for cut in [1, 10, 30, 60, 120, body.len() - 25, body.len() - 5] {
        assert!(
            sealing::unseal_body(&mut XorSealer, &body[..cut]).is_err(),
            "a body cut at {cut} bytes was accepted"
        );
    }
}

#[test]
fn wrong_length_fails() {
    let body = sealing::seal_body(&mut XorSealer, b"12345").unwrap();
    let text = body.clone();
    let forged = replace(&text, b"Length=5\r\n", b"Length=6\r\n");
    assert_eq!(
        sealing::unseal_body(&mut XorSealer, &forged),
        Err(SealingError::LengthMismatch {
            declared: 6,
            actual: 5
        })
    );
    for bad in [
        &b"Length=\r\n"[..],
        b"Length=-5\r\n",
        b"Length=5x\r\n",
        b"Length=99999999999999999\r\n",
    ] {
        let forged = replace(&text, b"Length=5\r\n", bad);
        assert!(matches!(
            sealing::unseal_body(&mut XorSealer, &forged),
            Err(SealingError::Framing { .. })
        ));
    }
}

#[test]
fn missing_or_wrong_boundaries_fail() {
    let body = sealing::seal_body(&mut XorSealer, b"abc").unwrap();
    let no_open = &body[b"--Encrypted Boundary\r\n".len()..];
    assert!(matches!(
        sealing::unseal_body(&mut XorSealer, no_open),
        Err(SealingError::Framing { .. })
    ));
    let no_close = &body[..body.len() - b"--Encrypted Boundary--\r\n".len()];
    assert!(matches!(
        sealing::unseal_body(&mut XorSealer, no_close),
        Err(SealingError::Framing { .. })
    ));
    let other = replace(
        &body,
        b"--Encrypted Boundary\r\n\tContent-Type: application/octet",
        b"--Other Boundary\r\n\tContent-Type: application/octet",
    );
    assert!(sealing::unseal_body(&mut XorSealer, &other).is_err());
    let wrong_part = replace(
        &body,
        b"application/octet-stream",
        b"application/soap+xml00",
    );
    assert!(sealing::unseal_body(&mut XorSealer, &wrong_part).is_err());
    let wrong_sig_len = replace(&body, &[16, 0, 0, 0], &[17, 0, 0, 0]);
    assert!(sealing::unseal_body(&mut XorSealer, &wrong_sig_len).is_err());
}

#[test]
fn plain_soap_is_not_a_sealed_body() {
    let soap = b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>";
    assert!(sealing::unseal_body(&mut XorSealer, soap).is_err());
    assert!(sealing::unseal_body(&mut XorSealer, b"").is_err());
}

/// winrm-rs before 1.3 puts a CRLF before the closing boundary; that is
/// refused, with a message that says so.
#[test]
fn crlf_before_closing_boundary_is_named() {
    let body = sealing::seal_body(&mut XorSealer, b"<Envelope/>").unwrap();
    let legacy = replace(
        &body,
        b"--Encrypted Boundary--\r\n",
        b"\r\n--Encrypted Boundary--\r\n",
    );
    assert_eq!(
        sealing::unseal_body(&mut XorSealer, &legacy),
        Err(SealingError::CrlfBeforeClosingBoundary)
    );
}

#[test]
fn more_than_two_parts_fail() {
    let body = sealing::seal_body(&mut Identity, b"abc").unwrap();
    let mut doubled = body[..body.len() - b"--Encrypted Boundary--\r\n".len()].to_vec();
    doubled.extend_from_slice(&body);
    assert!(sealing::parse(&doubled).is_err());
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    let mut out = haystack[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&haystack[at + from.len()..]);
    out
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = sealing::parse(&bytes);
        let _ = sealing::unseal_body(&mut XorSealer, &bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_frames(
        message in proptest::collection::vec(any::<u8>(), 0..200),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut body = sealing::seal_body(&mut XorSealer, &message).unwrap();
        for (index, value) in flips {
            let i = index.index(body.len());
            body[i] = value;
        }
        let len = cut.index(body.len() + 1);
        let result = sealing::unseal_body(&mut XorSealer, &body[..len]);
        // Whatever got through must be exactly the sealed message.
        if let Ok(plain) = result {
            prop_assert_eq!(plain, message);
        }
    }

    #[test]
    fn round_trip_any(message in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let body = sealing::seal_body(&mut XorSealer, &message).unwrap();
        prop_assert_eq!(sealing::unseal_body(&mut XorSealer, &body).unwrap(), message);
    }
}
