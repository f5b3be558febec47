//! NTLM for both sides of WinRM, on top of the `sspi` crate.
//!
//! - [`NtlmInitiator`] (client): Negotiate → Authenticate tokens.
//! - [`NtlmAcceptor`] (server): Challenge token, then verification of the
//!   Authenticate token against a [`CredentialStore`].
//! - [`NtlmSession`]: the established keys, as a [`Sealer`].
//!
//! sspi only checks the password through the MIC; a client that sends no MIC
//! would be accepted with any password (transport reference §3.3). The
//! acceptor therefore recomputes the NTLMv2 proof itself
//! (`NTProofStr = HMAC_MD5(NTOWFv2(password, user, domain), ServerChallenge ‖ blob)`)
//! before handing the message to sspi, which then derives the session keys
//! and checks the MIC when there is one.

use std::fmt;
use std::sync::Arc;

use hmac::{KeyInit as _, Mac as _};
use md4::Digest as _;
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, ClientRequestFlags, CredentialUse,
    DataRepresentation, EncryptionFlags, Ntlm, SecurityBuffer, SecurityBufferRef, SecurityStatus,
    ServerRequestFlags, Sspi as _, SspiImpl as _, Username,
};
use subtle::ConstantTimeEq as _;

use super::auth::{CredentialStore, Password};
use super::error::{NtlmError, SealingError};
use super::sealing::{SIGNATURE_LEN, Sealer};

/// `NTLMSSP\0`, the first eight bytes of every NTLM message.
pub const NTLM_SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
/// NTLMv2 response: 16-byte NTProofStr + a blob of at least 28 bytes.
const MIN_NTLMV2_RESPONSE: usize = 16 + 28;
/// Bigger than any real NTLM message (Windows caps tokens at 2888 bytes).
const MAX_TOKEN: usize = 16 * 1024;

type HmacMd5 = hmac::Hmac<md5::Md5>;

/// The NTLM message type carried by a token, read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// Type 1, client → server.
    Negotiate,
    /// Type 2, server → client.
    Challenge,
    /// Type 3, client → server.
    Authenticate,
}

/// Reads the message type of a raw NTLM token, or `None` if it is not NTLM
/// (for example a SPNEGO-wrapped Kerberos token).
pub fn message_type(token: &[u8]) -> Option<MessageType> {
    let rest = token.strip_prefix(NTLM_SIGNATURE.as_slice())?;
    match read_u32(rest, 0)? {
        1 => Some(MessageType::Negotiate),
        2 => Some(MessageType::Challenge),
        3 => Some(MessageType::Authenticate),
        _ => None,
    }
}

fn library(err: sspi::Error) -> NtlmError {
    NtlmError::Library {
        detail: err.to_string(),
    }
}

/// The client side of the NTLM handshake.
pub struct NtlmInitiator {
    ntlm: Ntlm,
    credentials: Option<AuthIdentityBuffers>,
    sent_negotiate: bool,
}

impl fmt::Debug for NtlmInitiator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmInitiator")
            .field("sent_negotiate", &self.sent_negotiate)
            .finish_non_exhaustive()
    }
}

impl NtlmInitiator {
    /// Prepares a handshake for `user`, written `user`, `DOMAIN\user` or
    /// `user@domain`.
    pub fn new(user: &str, password: &Password) -> Result<Self, NtlmError> {
        if user.is_empty() {
            return Err(NtlmError::UserName {
                reason: "it is empty".into(),
            });
        }
        let username = Username::parse(user).map_err(|err| NtlmError::UserName {
            reason: err.to_string(),
        })?;
        let identity = AuthIdentity {
            username,
            password: password.expose().to_owned().into(),
        };
        let mut ntlm = Ntlm::new();
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(library)?;
        Ok(Self {
            ntlm,
            credentials: acquired.credentials_handle,
            sent_negotiate: false,
        })
    }

    /// The Negotiate (Type 1) token, requesting signing and sealing.
    pub fn negotiate(&mut self) -> Result<Vec<u8>, NtlmError> {
        if self.sent_negotiate {
            return Err(NtlmError::OutOfSequence {
                detail: "negotiate was already produced",
            });
        }
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(
                ClientRequestFlags::CONFIDENTIALITY
                    | ClientRequestFlags::INTEGRITY
                    | ClientRequestFlags::ALLOCATE_MEMORY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_output(&mut output);
        self.ntlm
            .initialize_security_context_impl(&mut builder)
            .map_err(library)?
            .resolve_to_result()
            .map_err(library)?;
        self.sent_negotiate = true;
        take_token(output)
    }

    /// Consumes the server's Challenge (Type 2) and returns the Authenticate
    /// (Type 3) token plus the established session.
    pub fn authenticate(mut self, challenge: &[u8]) -> Result<(Vec<u8>, NtlmSession), NtlmError> {
        if !self.sent_negotiate {
            return Err(NtlmError::OutOfSequence {
                detail: "challenge received before negotiate was sent",
            });
        }
        if challenge.len() > MAX_TOKEN {
            return Err(NtlmError::Malformed {
                reason: "the challenge is larger than any NTLM message",
            });
        }
        if message_type(challenge) != Some(MessageType::Challenge) {
            return Err(NtlmError::Malformed {
                reason: "the server's token is not an NTLM challenge (type 2)",
            });
        }
        let mut input = vec![SecurityBuffer::new(challenge.to_vec(), BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(
                ClientRequestFlags::CONFIDENTIALITY
                    | ClientRequestFlags::INTEGRITY
                    | ClientRequestFlags::ALLOCATE_MEMORY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        let result = self
            .ntlm
            .initialize_security_context_impl(&mut builder)
            .map_err(library)?
            .resolve_to_result()
            .map_err(library)?;
        if matches!(
            result.status,
            SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue
        ) {
            self.ntlm.complete_auth_token(&mut []).map_err(library)?;
        }
        let token = take_token(output)?;
        Ok((token, NtlmSession { ntlm: self.ntlm }))
    }
}

fn take_token(mut output: Vec<SecurityBuffer>) -> Result<Vec<u8>, NtlmError> {
    let token = output.pop().map(|b| b.buffer).unwrap_or_default();
    if token.is_empty() {
        return Err(NtlmError::Library {
            detail: "sspi produced an empty token".into(),
        });
    }
    Ok(token)
}

/// Who an [`NtlmAcceptor`] authenticated, as the client named itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmUser {
    /// The account name from the Authenticate message.
    pub user: String,
    /// The domain from the Authenticate message; empty when the client sent none.
    pub domain: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcceptorState {
    Initial,
    Challenged,
    Done,
}

/// The server side of the NTLM handshake.
pub struct NtlmAcceptor {
    ntlm: Ntlm,
    store: Arc<dyn CredentialStore>,
    server_challenge: [u8; 8],
    state: AcceptorState,
}

impl fmt::Debug for NtlmAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmAcceptor")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl NtlmAcceptor {
    /// A fresh acceptor that looks passwords up in `store`.
    pub fn new(store: Arc<dyn CredentialStore>) -> Self {
        Self {
            ntlm: Ntlm::new(),
            store,
            server_challenge: [0; 8],
            state: AcceptorState::Initial,
        }
    }

    /// Consumes the client's Negotiate (Type 1) and returns the Challenge (Type 2).
    pub fn challenge(&mut self, negotiate: &[u8]) -> Result<Vec<u8>, NtlmError> {
        if self.state != AcceptorState::Initial {
            return Err(NtlmError::OutOfSequence {
                detail: "negotiate received twice on one acceptor",
            });
        }
        if negotiate.len() > MAX_TOKEN || message_type(negotiate) != Some(MessageType::Negotiate) {
            return Err(NtlmError::Malformed {
                reason: "expected an NTLM negotiate message (type 1)",
            });
        }
        let negotiate = normalize_negotiate(negotiate)?;
        let mut credentials: Option<AuthIdentityBuffers> = None;
        let mut input = vec![SecurityBuffer::new(negotiate, BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = self
            .ntlm
            .accept_security_context()
            .with_credentials_handle(&mut credentials)
            .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        self.ntlm
            .accept_security_context_impl(builder)
            .map_err(library)?
            .resolve_to_result()
            .map_err(library)?;
        let token = take_token(output)?;
        // The challenge sits at a fixed offset of the Type 2 message we just
        // built; we need it to check the client's proof ourselves.
        self.server_challenge = token
            .get(24..32)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .ok_or(NtlmError::Library {
                detail: "sspi produced a short challenge message".into(),
            })?;
        self.state = AcceptorState::Challenged;
        Ok(token)
    }

    /// Verifies the client's Authenticate (Type 3) message and establishes the
    /// session. Any failure leaves the acceptor unusable: start a new one.
    pub fn accept(mut self, authenticate: &[u8]) -> Result<(NtlmUser, NtlmSession), NtlmError> {
        if self.state != AcceptorState::Challenged {
            return Err(NtlmError::OutOfSequence {
                detail: "authenticate received before a challenge was sent",
            });
        }
        self.state = AcceptorState::Done;
        if authenticate.len() > MAX_TOKEN {
            return Err(NtlmError::Malformed {
                reason: "the authenticate message is larger than any NTLM message",
            });
        }
        let parsed = parse_authenticate(authenticate)?;
        let password = self
            .store
            .password(&parsed.user, &parsed.domain)
            .ok_or(NtlmError::UnknownUser)?;
        verify_nt_proof(&parsed, &self.server_challenge, &password)?;

        let mut credentials = Some(AuthIdentityBuffers::from_utf8(
            &parsed.user,
            &parsed.domain,
            password.expose(),
        ));
        let mut input = vec![SecurityBuffer::new(
            authenticate.to_vec(),
            BufferType::Token,
        )];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = self
            .ntlm
            .accept_security_context()
            .with_credentials_handle(&mut credentials)
            .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        let rejected = |err: sspi::Error| NtlmError::Rejected {
            detail: err.to_string(),
        };
        let result = self
            .ntlm
            .accept_security_context_impl(builder)
            .map_err(rejected)?
            .resolve_to_result()
            .map_err(rejected)?;
        if matches!(
            result.status,
            SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue
        ) {
            self.ntlm.complete_auth_token(&mut []).map_err(rejected)?;
        }
        let user = NtlmUser {
            user: parsed.user,
            domain: parsed.domain,
        };
        Ok((user, NtlmSession { ntlm: self.ntlm }))
    }
}

/// sspi refuses a Negotiate message without the REQUEST_TARGET and NTLM
/// flags, but Windows accepts it, and go-ntlmssp (the Go WinRM client's NTLM)
/// sends neither. Setting them changes nothing for NTLMv2; the one cost is
/// that a client which omits them *and* sends a MIC fails the MIC check,
/// because sspi's MIC covers the message as patched (no known client does).
fn normalize_negotiate(negotiate: &[u8]) -> Result<Vec<u8>, NtlmError> {
    const REQUEST_TARGET: u32 = 0x0000_0004;
    const NEGOTIATE_NTLM: u32 = 0x0000_0200;
    let flags = read_u32(negotiate, 12).ok_or(NtlmError::Malformed {
        reason: "the negotiate message is truncated",
    })?;
    if flags & NEGOTIATE_UNICODE == 0 {
        return Err(NtlmError::Malformed {
            reason: "the negotiate message does not offer Unicode; OEM-only clients are not supported",
        });
    }
    let mut patched = negotiate.to_vec();
    patched[12..16].copy_from_slice(&(flags | REQUEST_TARGET | NEGOTIATE_NTLM).to_le_bytes());
    Ok(patched)
}

/// The fields of a Type 3 message we check ourselves.
#[derive(Debug)]
struct ParsedAuthenticate {
    user: String,
    domain: String,
    nt_response: Vec<u8>,
}

fn read_u16(buf: &[u8], at: usize) -> Option<u16> {
    buf.get(at..at + 2)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(u16::from_le_bytes)
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    buf.get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
}

/// An NTLM "fields" triple (length, max length, offset) resolved to its bytes.
fn payload_field(message: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(read_u16(message, at)?);
    let offset = usize::try_from(read_u32(message, at + 4)?).ok()?;
    message.get(offset..offset.checked_add(len)?)
}

fn utf16le(bytes: &[u8]) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

fn parse_authenticate(message: &[u8]) -> Result<ParsedAuthenticate, NtlmError> {
    let malformed = |reason| NtlmError::Malformed { reason };
    if message_type(message) != Some(MessageType::Authenticate) {
        return Err(malformed("expected an NTLM authenticate message (type 3)"));
    }
    let flags = read_u32(message, 60).ok_or(malformed("the authenticate message is truncated"))?;
    if flags & NEGOTIATE_UNICODE == 0 {
        return Err(malformed(
            "the authenticate message uses OEM strings; only Unicode is supported",
        ));
    }
    let nt_response = payload_field(message, 20)
        .ok_or(malformed("NtChallengeResponse lies outside the message"))?;
    let domain =
        payload_field(message, 28).ok_or(malformed("DomainName lies outside the message"))?;
    let user = payload_field(message, 36).ok_or(malformed("UserName lies outside the message"))?;
    if nt_response.len() < MIN_NTLMV2_RESPONSE || nt_response.get(16..18) != Some(&[1, 1]) {
        return Err(NtlmError::NotNtlmV2);
    }
    let user = utf16le(user).ok_or(malformed("UserName is not valid UTF-16"))?;
    if user.is_empty() {
        return Err(NtlmError::NotNtlmV2);
    }
    let domain = utf16le(domain).ok_or(malformed("DomainName is not valid UTF-16"))?;
    Ok(ParsedAuthenticate {
        user,
        domain,
        nt_response: nt_response.to_vec(),
    })
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 16], NtlmError> {
    let mut mac = HmacMd5::new_from_slice(key).map_err(|_| NtlmError::Library {
        detail: "HMAC-MD5 key rejected".into(),
    })?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// `NTOWFv2`: HMAC_MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) ‖ domain)).
fn ntowf_v2(password: &str, user: &str, domain: &str) -> Result<[u8; 16], NtlmError> {
    let utf16 = |s: &str| {
        s.encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>()
    };
    let nt_hash: [u8; 16] = md4::Md4::digest(utf16(password)).into();
    let mut identity = utf16(&user.to_uppercase());
    identity.extend(utf16(domain));
    hmac_md5(&nt_hash, &[&identity])
}

fn verify_nt_proof(
    parsed: &ParsedAuthenticate,
    server_challenge: &[u8; 8],
    password: &Password,
) -> Result<(), NtlmError> {
    let key = ntowf_v2(password.expose(), &parsed.user, &parsed.domain)?;
    let (proof, blob) = parsed.nt_response.split_at(16);
    let expected = hmac_md5(&key, &[server_challenge, blob])?;
    if bool::from(expected.ct_eq(proof)) {
        Ok(())
    } else {
        Err(NtlmError::BadPassword)
    }
}

/// An established NTLM security context: seals and unseals WinRM messages.
pub struct NtlmSession {
    ntlm: Ntlm,
}

impl fmt::Debug for NtlmSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmSession").finish_non_exhaustive()
    }
}

impl Sealer for NtlmSession {
    fn seal(&mut self, plaintext: &[u8]) -> Result<([u8; SIGNATURE_LEN], Vec<u8>), SealingError> {
        let mut signature = [0u8; SIGNATURE_LEN];
        let mut data = plaintext.to_vec();
        let mut buffers = [
            SecurityBufferRef::token_buf(&mut signature),
            SecurityBufferRef::data_buf(&mut data),
        ];
        self.ntlm
            .encrypt_message(EncryptionFlags::empty(), &mut buffers)
            .map_err(|err| SealingError::Seal {
                detail: err.to_string(),
            })?;
        Ok((signature, data))
    }

    fn unseal(
        &mut self,
        signature: &[u8; SIGNATURE_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, SealingError> {
        let mut signature = *signature;
        let mut data = ciphertext.to_vec();
        let mut buffers = [
            SecurityBufferRef::token_buf(&mut signature),
            SecurityBufferRef::data_buf(&mut data),
        ];
        self.ntlm
            .decrypt_message(&mut buffers)
            .map_err(|err| SealingError::Integrity {
                detail: err.description,
            })?;
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::auth::StaticCredentials;

    fn store() -> Arc<dyn CredentialStore> {
        Arc::new(StaticCredentials::new().with_user("vagrant", "s3cret-é"))
    }

    /// RC4 for the hand-built Type 3 (KEY_EXCH wraps the session key).
    fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut s: Vec<u8> = (0..=255).collect();
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
            s.swap(i, usize::from(j));
        }
        let (mut i, mut j) = (0u8, 0u8);
        data.iter()
            .map(|b| {
                i = i.wrapping_add(1);
                j = j.wrapping_add(s[usize::from(i)]);
                s.swap(usize::from(i), usize::from(j));
                b ^ s[usize::from(s[usize::from(i)].wrapping_add(s[usize::from(j)]))]
            })
            .collect()
    }

    fn target_info(challenge: &[u8]) -> Vec<u8> {
        let len = usize::from(read_u16(challenge, 40).unwrap());
        let off = read_u32(challenge, 44).unwrap() as usize;
        challenge[off..off + len].to_vec()
    }

    /// A Type 3 the way go-ntlmssp builds one: NTLMv2, KEY_EXCH, and no MIC
    /// (the MIC field is absent and MsvAvFlags does not announce one).
    fn type3_without_mic(challenge: &[u8], user: &str, domain: &str, password: &str) -> Vec<u8> {
        let server_challenge = &challenge[24..32];
        let info = target_info(challenge);
        let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
        // Timestamp from the challenge's MsvAvTimestamp (AvId 7), as MS-NLMP asks.
        let mut ts = [0u8; 8];
        let mut p = 0;
        while p + 4 <= info.len() {
            let id = read_u16(&info, p).unwrap();
            let len = usize::from(read_u16(&info, p + 2).unwrap());
            if id == 7 {
                ts.copy_from_slice(&info[p + 4..p + 12]);
            }
            if id == 0 {
                break;
            }
            p += 4 + len;
        }
        blob.extend_from_slice(&ts);
        blob.extend_from_slice(&[7, 7, 7, 7, 7, 7, 7, 7]);
        blob.extend_from_slice(&[0, 0, 0, 0]);
        blob.extend_from_slice(&info);
        blob.extend_from_slice(&[0, 0, 0, 0]);
        let key = ntowf_v2(password, user, domain).unwrap();
        let proof = hmac_md5(&key, &[server_challenge, &blob]).unwrap();
        let session_base = hmac_md5(&key, &[&proof]).unwrap();
        let exported = [0x42u8; 16];
        let encrypted_key = rc4(&session_base, &exported);
        let mut nt = proof.to_vec();
        nt.extend_from_slice(&blob);
        let lm = vec![0u8; 24];
        let utf16 = |s: &str| {
            s.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>()
        };
        let (d, u, w) = (utf16(domain), utf16(user), utf16("WS"));
        // NEGOTIATE_UNICODE | REQUEST_TARGET | SIGN | SEAL | NTLM | ALWAYS_SIGN |
        // EXTENDED_SESSION_SECURITY | 128 | KEY_EXCH | 56
        let flags: u32 = 0x0000_0001
            | 0x4
            | 0x10
            | 0x20
            | 0x200
            | 0x8000
            | 0x0008_0000
            | 0x2000_0000
            | 0x4000_0000
            | 0x8000_0000;
        let mut msg = Vec::new();
        msg.extend_from_slice(NTLM_SIGNATURE);
        msg.extend_from_slice(&3u32.to_le_bytes());
        let mut offset = 64u32;
        let mut payload = Vec::new();
        for field in [&lm, &nt, &d, &u, &w, &encrypted_key] {
            msg.extend_from_slice(&(field.len() as u16).to_le_bytes());
            msg.extend_from_slice(&(field.len() as u16).to_le_bytes());
            msg.extend_from_slice(&offset.to_le_bytes());
            offset += field.len() as u32;
            payload.extend_from_slice(field);
        }
        msg.extend_from_slice(&flags.to_le_bytes());
        assert_eq!(msg.len(), 64);
        msg.extend_from_slice(&payload);
        msg
    }

    fn challenge_for(acceptor: &mut NtlmAcceptor) -> Vec<u8> {
        let mut initiator = NtlmInitiator::new("vagrant", &Password::new("s3cret-é")).unwrap();
        let negotiate = initiator.negotiate().unwrap();
        acceptor.challenge(&negotiate).unwrap()
    }

    #[test]
    fn type3_without_mic_and_right_password_is_accepted() {
        let mut acceptor = NtlmAcceptor::new(store());
        let challenge = challenge_for(&mut acceptor);
        let type3 = type3_without_mic(&challenge, "vagrant", "LAB", "s3cret-é");
        let (user, _session) = acceptor.accept(&type3).unwrap();
        assert_eq!(user.user, "vagrant");
        assert_eq!(user.domain, "LAB");
    }

    #[test]
    fn type3_without_mic_and_wrong_password_is_rejected_by_our_proof_check() {
        let mut acceptor = NtlmAcceptor::new(store());
        let challenge = challenge_for(&mut acceptor);
        let type3 = type3_without_mic(&challenge, "vagrant", "LAB", "wrong");
        assert_eq!(acceptor.accept(&type3).unwrap_err(), NtlmError::BadPassword);
    }

    /// Documents the hole we close: sspi on its own accepts a MIC-less Type 3
    /// with a wrong password.
    #[test]
    fn sspi_alone_accepts_wrong_password_without_mic() {
        let mut acceptor = NtlmAcceptor::new(store());
        let challenge = challenge_for(&mut acceptor);
        let type3 = type3_without_mic(&challenge, "vagrant", "LAB", "wrong");
        let mut ntlm = acceptor.ntlm;
        let mut credentials = Some(AuthIdentityBuffers::from_utf8("vagrant", "LAB", "s3cret-é"));
        let mut input = vec![SecurityBuffer::new(type3, BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = ntlm
            .accept_security_context()
            .with_credentials_handle(&mut credentials)
            .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        ntlm.accept_security_context_impl(builder)
            .unwrap()
            .resolve_to_result()
            .unwrap();
        assert!(ntlm.complete_auth_token(&mut []).is_ok());
    }

    /// The Negotiate message of go-ntlmssp (masterzen/winrm's NTLM), captured
    /// on the wire: no REQUEST_TARGET and no NTLM flag, which sspi alone
    /// refuses. With its MIC-less Type 3 the whole Go handshake works.
    #[test]
    fn go_ntlmssp_negotiate_is_accepted() {
        use base64::Engine as _;
        let go_type1 = base64::engine::general_purpose::STANDARD
            .decode("TlRMTVNTUAABAAAAAQCIoAAAAAAoAAAAAAAAACgAAAAGAbEdAAAADw==")
            .unwrap();
        let mut acceptor = NtlmAcceptor::new(store());
        let challenge = acceptor.challenge(&go_type1).unwrap();
        let type3 = type3_without_mic(&challenge, "vagrant", "", "s3cret-é");
        assert_eq!(acceptor.accept(&type3).unwrap().0.user, "vagrant");

        let mut oem_only = go_type1.clone();
        oem_only[12] = 0x02;
        assert!(NtlmAcceptor::new(store()).challenge(&oem_only).is_err());
    }

    #[test]
    fn negotiate_is_only_patched_when_flags_are_missing() {
        let mut initiator = NtlmInitiator::new("vagrant", &Password::new("x")).unwrap();
        let type1 = initiator.negotiate().unwrap();
        assert_eq!(normalize_negotiate(&type1).unwrap(), type1);
    }

    #[test]
    fn unknown_user_and_ntlmv1_are_rejected() {
        let mut acceptor = NtlmAcceptor::new(store());
        let challenge = challenge_for(&mut acceptor);
        let type3 = type3_without_mic(&challenge, "nobody", "", "x");
        assert_eq!(acceptor.accept(&type3).unwrap_err(), NtlmError::UnknownUser);

        let mut acceptor = NtlmAcceptor::new(store());
        let challenge = challenge_for(&mut acceptor);
        let mut type3 = type3_without_mic(&challenge, "vagrant", "", "s3cret-é");
        // Shrink NtChallengeResponse to 24 bytes: an NTLMv1 response.
        type3[20..22].copy_from_slice(&24u16.to_le_bytes());
        assert_eq!(acceptor.accept(&type3).unwrap_err(), NtlmError::NotNtlmV2);
    }

    #[test]
    fn message_type_detection() {
        assert_eq!(
            message_type(b"NTLMSSP\0\x01\0\0\0"),
            Some(MessageType::Negotiate)
        );
        assert_eq!(
            message_type(b"NTLMSSP\0\x03\0\0\0rest"),
            Some(MessageType::Authenticate)
        );
        assert_eq!(message_type(b"\x60\x82"), None);
        assert_eq!(message_type(b"NTLMSSP\0"), None);
    }
}
