//! HTTP authentication headers for WinRM, and the credential types both
//! halves share.
//!
//! WinRM's `WWW-Authenticate` carries several challenges, often in one header
//! (`Negotiate, Basic realm="WSMAN"`), and `Negotiate` carries raw NTLM tokens
//! rather than SPNEGO, which Windows accepts. Scheme names are
//! case-insensitive. Header values are bounded before they are parsed, and
//! Basic passwords are compared in constant time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use subtle::ConstantTimeEq as _;

use super::error::TransportError;

/// Longest `Authorization`/`WWW-Authenticate` value we parse. Kerberos
/// tickets with a large PAC need tens of KiB; NTLM needs under 4 KiB.
pub const MAX_AUTH_HEADER_LEN: usize = 64 * 1024;
/// Most challenges we read from one response.
const MAX_CHALLENGES: usize = 16;

/// A password that does not show up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password itself, for the few places that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Password {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// The server's view of accounts: who may log in, with which password.
///
/// Both Basic and NTLM ask it; NTLM needs the plain password (or rather its
/// NT hash) because the client proves knowledge of it without sending it.
pub trait CredentialStore: Send + Sync {
    /// The password of `user` in `domain`. `domain` is empty when the client
    /// named none; the store decides whether a domain is acceptable.
    fn password(&self, user: &str, domain: &str) -> Option<Password>;
}

/// A fixed list of accounts, for the emulator and tests.
///
/// User names match case-insensitively, as on Windows. An account added with
/// [`with_user`](Self::with_user) accepts any domain the client names (local
/// accounts on a test host); [`with_domain_user`](Self::with_domain_user)
/// restricts it to one domain.
#[derive(Debug, Clone, Default)]
pub struct StaticCredentials {
    accounts: Vec<Account>,
}

#[derive(Debug, Clone)]
struct Account {
    domain: Option<String>,
    user: String,
    password: Password,
}

impl StaticCredentials {
    /// No accounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an account valid in any domain.
    pub fn with_user(mut self, user: impl Into<String>, password: impl Into<Password>) -> Self {
        self.accounts.push(Account {
            domain: None,
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Adds an account valid only in `domain` (compared case-insensitively).
    pub fn with_domain_user(
        mut self,
        domain: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<Password>,
    ) -> Self {
        self.accounts.push(Account {
            domain: Some(domain.into()),
            user: user.into(),
            password: password.into(),
        });
        self
    }
}

impl CredentialStore for StaticCredentials {
    fn password(&self, user: &str, domain: &str) -> Option<Password> {
        let user = user.to_lowercase();
        let domain = domain.to_lowercase();
        self.accounts
            .iter()
            .find(|a| {
                a.user.to_lowercase() == user
                    && a.domain.as_ref().is_none_or(|d| d.to_lowercase() == domain)
            })
            .map(|a| a.password.clone())
    }
}

/// Splits `DOMAIN\user` or `user@domain` into (user, domain); a bare name
/// has an empty domain.
pub fn split_user(name: &str) -> (&str, &str) {
    if let Some((domain, user)) = name.split_once('\\') {
        (user, domain)
    } else if let Some((user, domain)) = name.rsplit_once('@') {
        (user, domain)
    } else {
        (name, "")
    }
}

/// Checks Basic credentials (`user`, `DOMAIN\user` or `user@domain`) against
/// a store, comparing passwords in constant time.
pub fn verify_basic(store: &dyn CredentialStore, user: &str, password: &Password) -> bool {
    let (account, domain) = split_user(user);
    let stored = store.password(account, domain);
    // Compare against something even for unknown users, so the timing does
    // not tell which user names exist.
    let expected = stored.as_ref().map_or("\u{0}unknown-user", |p| p.expose());
    let equal: bool = expected
        .as_bytes()
        .ct_eq(password.expose().as_bytes())
        .into();
    equal && stored.is_some()
}

/// An authentication scheme named in a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `Basic`.
    Basic,
    /// `Negotiate` (SPNEGO, or raw NTLM on WinRM).
    Negotiate,
    /// `NTLM`.
    Ntlm,
    /// `Kerberos`.
    Kerberos,
    /// `CredSSP`.
    CredSsp,
    /// Anything else, as written.
    Other(String),
}

impl Scheme {
    /// Parses a scheme name, case-insensitively.
    pub fn parse(name: &str) -> Self {
        match name.to_ascii_lowercase().as_str() {
            "basic" => Scheme::Basic,
            "negotiate" => Scheme::Negotiate,
            "ntlm" => Scheme::Ntlm,
            "kerberos" => Scheme::Kerberos,
            "credssp" => Scheme::CredSsp,
            _ => Scheme::Other(name.to_owned()),
        }
    }

    /// The canonical spelling, as Windows writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Basic => "Basic",
            Scheme::Negotiate => "Negotiate",
            Scheme::Ntlm => "NTLM",
            Scheme::Kerberos => "Kerberos",
            Scheme::CredSsp => "CredSSP",
            Scheme::Other(name) => name,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `Authorization` request header.
#[derive(Clone, PartialEq, Eq)]
pub enum Authorization {
    /// `Basic b64(user:password)`.
    Basic {
        /// The user name as sent (may contain `DOMAIN\` or `@domain`).
        user: String,
        /// The password.
        password: Password,
    },
    /// A token-carrying scheme (`Negotiate`, `NTLM`, `Kerberos`, ...) and its
    /// decoded token, which may be empty.
    Token {
        /// The scheme.
        scheme: Scheme,
        /// The decoded token.
        token: Vec<u8>,
    },
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authorization::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .finish_non_exhaustive(),
            Authorization::Token { scheme, token } => f
                .debug_struct("Token")
                .field("scheme", scheme)
                .field("token_len", &token.len())
                .finish(),
        }
    }
}

fn header_error(header: &'static str, reason: &'static str) -> TransportError {
    TransportError::AuthHeader { header, reason }
}

fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses an `Authorization` header value.
pub fn parse_authorization(value: &[u8]) -> Result<Authorization, TransportError> {
    const H: &str = "Authorization";
    if value.len() > MAX_AUTH_HEADER_LEN {
        return Err(header_error(H, "the value is longer than 64 KiB"));
    }
    let value =
        std::str::from_utf8(value).map_err(|_| header_error(H, "the value is not ASCII"))?;
    let value = value.trim();
    let (scheme, rest) = match value.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest.trim()),
        None => (value, ""),
    };
    if !is_token(scheme) {
        return Err(header_error(H, "the scheme name is not a token"));
    }
    let scheme = Scheme::parse(scheme);
    if !rest.is_empty() && !is_token68(rest) {
        return Err(header_error(H, "the credentials are not base64"));
    }
    let decoded = if rest.is_empty() {
        Vec::new()
    } else {
        B64.decode(rest)
            .map_err(|_| header_error(H, "the credentials are not valid base64"))?
    };
    match scheme {
        Scheme::Basic => {
            let text = String::from_utf8(decoded)
                .map_err(|_| header_error(H, "Basic credentials are not UTF-8"))?;
            let (user, password) = text
                .split_once(':')
                .ok_or(header_error(H, "Basic credentials have no ':' separator"))?;
            Ok(Authorization::Basic {
                user: user.to_owned(),
                password: Password::new(password),
            })
        }
        scheme => Ok(Authorization::Token {
            scheme,
            token: decoded,
        }),
    }
}

/// Builds a Basic `Authorization` value.
pub fn basic_authorization(user: &str, password: &Password) -> String {
    format!(
        "Basic {}",
        B64.encode(format!("{user}:{}", password.expose()))
    )
}

/// Builds a token-carrying `Authorization` (or `WWW-Authenticate`) value.
pub fn token_header(scheme: &Scheme, token: &[u8]) -> String {
    if token.is_empty() {
        scheme.as_str().to_owned()
    } else {
        format!("{} {}", scheme.as_str(), B64.encode(token))
    }
}

/// One challenge from a `WWW-Authenticate` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme.
    pub scheme: Scheme,
    /// The decoded token68, when the challenge carries one (NTLM Type 2).
    pub token: Option<Vec<u8>>,
    /// Auth-params such as `realm`, names lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// A challenge with neither token nor parameters (`Negotiate`).
    pub fn bare(scheme: Scheme) -> Self {
        Self {
            scheme,
            token: None,
            params: Vec::new(),
        }
    }

    /// A `Basic realm="..."` challenge.
    pub fn basic(realm: &str) -> Self {
        Self {
            scheme: Scheme::Basic,
            token: None,
            params: vec![("realm".into(), realm.into())],
        }
    }

    /// The value of an auth-param, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The header value for this one challenge.
    pub fn to_header_value(&self) -> String {
        let mut out = match &self.token {
            Some(token) => token_header(&self.scheme, token),
            None => self.scheme.as_str().to_owned(),
        };
        for (i, (name, value)) in self.params.iter().enumerate() {
            out.push_str(if i == 0 && self.token.is_none() {
                " "
            } else {
                ", "
            });
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            out.push_str(&format!("{name}=\"{escaped}\""));
        }
        out
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("scheme", &self.scheme)
            .field("token_len", &self.token.as_ref().map(Vec::len))
            .field("params", &self.params)
            .finish()
    }
}

/// Splits on commas that are outside quoted strings.
fn split_list(value: &str) -> Result<Vec<&str>, TransportError> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quotes {
        return Err(header_error(
            "WWW-Authenticate",
            "a quoted string is not closed",
        ));
    }
    parts.push(&value[start..]);
    Ok(parts)
}

/// Parses `name=value` or `name="value"`; `None` if the text is not an auth-param.
fn parse_param(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once('=')?;
    let name = name.trim();
    let value = value.trim();
    if !is_token(name) {
        return None;
    }
    let value = if let Some(inner) = value.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                out.push(chars.next()?);
            } else {
                out.push(c);
            }
        }
        out
    } else if is_token(value) {
        value.to_owned()
    } else {
        return None;
    };
    Some((name.to_ascii_lowercase(), value))
}

/// Parses one or more `WWW-Authenticate` header values into challenges, in
/// order. Several headers and several challenges per header are both fine.
pub fn parse_www_authenticate<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Challenge>, TransportError> {
    const H: &str = "WWW-Authenticate";
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut total = 0usize;
    for value in values {
        total += value.len();
        if total > MAX_AUTH_HEADER_LEN {
            return Err(header_error(H, "the values are longer than 64 KiB"));
        }
        let value =
            std::str::from_utf8(value).map_err(|_| header_error(H, "the value is not ASCII"))?;
        // Each header value starts a fresh challenge list: a bare param at the
        // start of a header cannot belong to the previous header's challenge.
        let mut current_accepts_params = false;
        for element in split_list(value)? {
            let element = element.trim();
            if element.is_empty() {
                continue;
            }
            let (head, rest) = match element.split_once(' ') {
                Some((head, rest)) => (head, rest.trim()),
                None => (element, ""),
            };
            if head.contains('=') || (rest.starts_with('=') && !is_token68(element)) {
                // A continuation auth-param of the current challenge.
                let param =
                    parse_param(element).ok_or(header_error(H, "an auth-param is malformed"))?;
                match challenges.last_mut() {
                    Some(last) if current_accepts_params => last.params.push(param),
                    _ => return Err(header_error(H, "an auth-param comes before any scheme")),
                }
                continue;
            }
            if !is_token(head) {
                return Err(header_error(H, "a scheme name is not a token"));
            }
            let mut challenge = Challenge::bare(Scheme::parse(head));
            if !rest.is_empty() {
                if let Some(param) = parse_param(rest) {
                    challenge.params.push(param);
                } else if is_token68(rest) {
                    let token = B64
                        .decode(rest)
                        .map_err(|_| header_error(H, "a challenge token is not valid base64"))?;
                    challenge.token = Some(token);
                } else {
                    return Err(header_error(
                        H,
                        "a challenge is neither a token nor auth-params",
                    ));
                }
            }
            current_accepts_params = challenge.token.is_none();
            challenges.push(challenge);
            if challenges.len() > MAX_CHALLENGES {
                return Err(header_error(H, "too many challenges"));
            }
        }
    }
    Ok(challenges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Vec<Challenge> {
        parse_www_authenticate(values.iter().map(|v| v.as_bytes())).unwrap()
    }

    #[test]
    fn windows_offer_in_one_header() {
        let c = parse(&["Negotiate, Kerberos, Basic realm=\"WSMAN\", CredSSP"]);
        let schemes: Vec<_> = c.iter().map(|c| c.scheme.clone()).collect();
        assert_eq!(
            schemes,
            [
                Scheme::Negotiate,
                Scheme::Kerberos,
                Scheme::Basic,
                Scheme::CredSsp
            ]
        );
        assert_eq!(c[2].param("REALM"), Some("WSMAN"));
    }

    #[test]
    fn separate_headers_and_case() {
        let c = parse(&["negotiate", "BASIC realm=WSMAN, charset=\"UTF-8\""]);
        assert_eq!(c[0].scheme, Scheme::Negotiate);
        assert_eq!(c[1].scheme, Scheme::Basic);
        assert_eq!(c[1].param("charset"), Some("UTF-8"));
    }

    #[test]
    fn token_challenge() {
        let c = parse(&["Negotiate TlRMTVNTUAACAAAA"]);
        assert_eq!(c[0].token.as_deref(), Some(&b"NTLMSSP\0\x02\0\0\0"[..]));
        let c = parse(&["NTLM TlRMTVNTUAACAAAAAA==, Basic realm=\"a,b\""]);
        assert_eq!(c[0].scheme, Scheme::Ntlm);
        assert_eq!(c[1].param("realm"), Some("a,b"));
    }

    #[test]
    fn malformed_challenges() {
        assert!(parse_www_authenticate([&b"realm=\"x\""[..]]).is_err());
        assert!(parse_www_authenticate([&b"Basic realm=\"x"[..]]).is_err());
        assert!(parse_www_authenticate([&b"Negotiate !!!"[..]]).is_err());
        let long = vec![b'A'; MAX_AUTH_HEADER_LEN + 1];
        assert!(parse_www_authenticate([long.as_slice()]).is_err());
    }

    #[test]
    fn challenge_round_trip() {
        let c = Challenge::basic("WSMAN");
        assert_eq!(c.to_header_value(), "Basic realm=\"WSMAN\"");
        let t = Challenge {
            scheme: Scheme::Negotiate,
            token: Some(b"NTLMSSP\0".to_vec()),
            params: vec![],
        };
        assert_eq!(parse(&[&t.to_header_value()]), vec![t]);
    }

    #[test]
    fn authorization_headers() {
        let basic = basic_authorization("LAB\\vagrant", &Password::new("p:ä"));
        match parse_authorization(basic.as_bytes()).unwrap() {
            Authorization::Basic { user, password } => {
                assert_eq!(user, "LAB\\vagrant");
                assert_eq!(password.expose(), "p:ä");
            }
            other => panic!("{other:?}"),
        }
        let neg = parse_authorization(b"negotiate TlRMTVNTUAABAAAA").unwrap();
        assert_eq!(
            neg,
            Authorization::Token {
                scheme: Scheme::Negotiate,
                token: b"NTLMSSP\0\x01\0\0\0".to_vec()
            }
        );
        assert!(matches!(
            parse_authorization(b"Kerberos").unwrap(),
            Authorization::Token {
                scheme: Scheme::Kerberos,
                ..
            }
        ));
        assert!(parse_authorization(b"Basic !!").is_err());
        assert!(parse_authorization(b"Basic dXNlcg==").is_err());
        assert!(parse_authorization(&vec![b'a'; MAX_AUTH_HEADER_LEN + 1]).is_err());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let a = parse_authorization(basic_authorization("u", &Password::new("hunter2")).as_bytes())
            .unwrap();
        assert!(!format!("{a:?}").contains("hunter2"));
    }

    #[test]
    fn basic_verification() {
        let store = StaticCredentials::new()
            .with_user("Vagrant", "pw")
            .with_domain_user("CORP", "admin", "root");
        assert!(verify_basic(&store, "vagrant", &"pw".into()));
        assert!(verify_basic(&store, "ANY\\VAGRANT", &"pw".into()));
        assert!(!verify_basic(&store, "vagrant", &"pW".into()));
        assert!(verify_basic(&store, "admin@corp", &"root".into()));
        assert!(!verify_basic(&store, "OTHER\\admin", &"root".into()));
        assert!(!verify_basic(&store, "nobody", &"\u{0}unknown-user".into()));
    }
}
