//! Our NTLM initiator against our NTLM acceptor: handshake, sealing both
//! ways over many messages, and refusal of wrong passwords and forgeries.
//! (The MIC-less Type 3 cases are unit tests in `transport::ntlm`, where a
//! hand-built message can be fed to sspi directly.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use wsman::transport::ntlm::{NtlmAcceptor, NtlmInitiator, NtlmSession, NtlmUser};
use wsman::transport::sealing;
use wsman::transport::{
    CredentialStore, NtlmError, Password, Sealer, SealingError, StaticCredentials,
};

fn store() -> Arc<dyn CredentialStore> {
    Arc::new(
        StaticCredentials::new()
            .with_user("vagrant", "vagrant")
            .with_domain_user("CORP", "Jürgen", "pä$$wörd ✓"),
    )
}

fn handshake(
    user: &str,
    password: &str,
) -> Result<(NtlmUser, NtlmSession, NtlmSession), NtlmError> {
    let mut initiator = NtlmInitiator::new(user, &Password::new(password))?;
    let mut acceptor = NtlmAcceptor::new(store());
    let type1 = initiator.negotiate()?;
    assert_eq!(&type1[..8], b"NTLMSSP\0");
    let type2 = acceptor.challenge(&type1)?;
    let (type3, client) = initiator.authenticate(&type2)?;
    let (who, server) = acceptor.accept(&type3)?;
    Ok((who, client, server))
}

#[test]
fn handshake_and_sealing_both_ways() {
    let (who, mut client, mut server) = handshake("vagrant", "vagrant").unwrap();
    assert_eq!(who.user, "vagrant");
    assert_eq!(who.domain, "");
    // Several messages per direction: RC4 streams and sequence numbers must
    // stay in step on both sides.
    for i in 0..5 {
        let request = format!("<s:Envelope>request {i} héllo ✓</s:Envelope>");
        let body = sealing::seal_body(&mut client, request.as_bytes()).unwrap();
        assert!(
            !contains(&body, b"request"),
            "the payload went out in clear text"
        );
        assert_eq!(
            sealing::unseal_body(&mut server, &body).unwrap(),
            request.as_bytes()
        );

        let response = format!("<s:Envelope>response {i} 日本語</s:Envelope>");
        let body = sealing::seal_body(&mut server, response.as_bytes()).unwrap();
        assert_eq!(
            sealing::unseal_body(&mut client, &body).unwrap(),
            response.as_bytes()
        );
    }
}

#[test]
fn domain_and_unicode_credentials() {
    let (who, mut client, mut server) = handshake("CORP\\Jürgen", "pä$$wörd ✓").unwrap();
    assert_eq!(who.user, "Jürgen");
    assert_eq!(who.domain, "CORP");
    let (sig, data) = client.seal(b"x").unwrap();
    assert_eq!(server.unseal(&sig, &data).unwrap(), b"x");
}

#[test]
fn wrong_password_with_mic_is_rejected() {
    // sspi's initiator always sends a MIC; our own proof check refuses first.
    assert_eq!(
        handshake("vagrant", "wrong").unwrap_err(),
        NtlmError::BadPassword
    );
    assert_eq!(
        handshake("CORP\\Jürgen", "pä$$wörd").unwrap_err(),
        NtlmError::BadPassword
    );
}

#[test]
fn wrong_domain_or_unknown_user_is_rejected() {
    assert_eq!(
        handshake("OTHER\\Jürgen", "pä$$wörd ✓").unwrap_err(),
        NtlmError::UnknownUser
    );
    assert_eq!(
        handshake("nobody", "vagrant").unwrap_err(),
        NtlmError::UnknownUser
    );
}

#[test]
fn tampered_type3_is_rejected() {
    let mut initiator = NtlmInitiator::new("vagrant", &Password::new("vagrant")).unwrap();
    let mut acceptor = NtlmAcceptor::new(store());
    let type2 = acceptor.challenge(&initiator.negotiate().unwrap()).unwrap();
    let (mut type3, _) = initiator.authenticate(&type2).unwrap();
    // Flip a byte in the MIC (offset 72..88): the NTProofStr still matches,
    // so this exercises sspi's MIC check behind ours.
    type3[75] ^= 0xff;
    assert!(matches!(
        acceptor.accept(&type3),
        Err(NtlmError::Rejected { .. })
    ));
}

#[test]
fn replayed_or_reordered_messages_fail_closed() {
    let (_, mut client, mut server) = handshake("vagrant", "vagrant").unwrap();
    let first = sealing::seal_body(&mut client, b"one").unwrap();
    let second = sealing::seal_body(&mut client, b"two").unwrap();
    // Out of order: the sequence number check refuses it.
    assert!(matches!(
        sealing::unseal_body(&mut server, &second),
        Err(SealingError::Integrity { .. })
    ));
    let _ = first;
}

#[test]
fn message_from_another_session_fails() {
    let (_, mut client_a, _) = handshake("vagrant", "vagrant").unwrap();
    let (_, _, mut server_b) = handshake("vagrant", "vagrant").unwrap();
    let body = sealing::seal_body(&mut client_a, b"<Envelope/>").unwrap();
    assert!(sealing::unseal_body(&mut server_b, &body).is_err());
}

#[test]
fn out_of_sequence_tokens_are_refused() {
    let mut acceptor = NtlmAcceptor::new(store());
    assert!(acceptor.challenge(b"NTLMSSP\0\x03\0\0\0").is_err());
    let acceptor = NtlmAcceptor::new(store());
    assert!(matches!(
        acceptor.accept(b"NTLMSSP\0\x03\0\0\0"),
        Err(NtlmError::OutOfSequence { .. })
    ));
    let initiator = NtlmInitiator::new("vagrant", &Password::new("vagrant")).unwrap();
    assert!(initiator.authenticate(b"NTLMSSP\0\x02\0\0\0").is_err());
}

#[test]
fn garbage_tokens_do_not_panic() {
    for len in [0usize, 8, 12, 40, 64, 100] {
        let mut acceptor = NtlmAcceptor::new(store());
        let mut token = b"NTLMSSP\0\x01\0\0\0".to_vec();
        token.resize(len.max(12), 0xff);
        let _ = acceptor.challenge(&token[..len.max(12)]);
        let mut initiator = NtlmInitiator::new("vagrant", &Password::new("vagrant")).unwrap();
        let mut acceptor = NtlmAcceptor::new(store());
        let type2 = acceptor.challenge(&initiator.negotiate().unwrap()).unwrap();
        let mut type3 = b"NTLMSSP\0\x03\0\0\0".to_vec();
        type3.resize(len.max(12), 0xff);
        let _ = acceptor.accept(&type3);
        let mut bad2 = type2.clone();
        bad2.truncate(len.min(type2.len()).max(12));
        let _ = initiator.authenticate(&bad2);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
