//! Checks a request's credential: a bearer token (SHA-256 digests compared in constant time
//! against every configured token), basic auth (bcrypt, verified off the async threads and
//! remembered for a while so a busy client does not pay bcrypt per request), or the client
//! certificate's subject alternative name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use http::HeaderMap;
use rustls::pki_types::{CertificateDer, ServerName};
use subtle::ConstantTimeEq;

use super::credentials::{CredentialsSpec, Principal, TokenDigest};

/// How long a verified basic-auth password is remembered.
const BASIC_CACHE_TTL: Duration = Duration::from_secs(300);
/// At most this many remembered basic-auth verifications.
const BASIC_CACHE_MAX: usize = 1024;

/// Why a request was not authenticated (the `reason` label of the failures counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential at all.
    Missing,
    /// A credential that matches none configured, or a malformed one.
    Invalid,
    /// A valid credential without the role the listener needs.
    Forbidden,
}

impl AuthFailure {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Invalid => "invalid",
            AuthFailure::Forbidden => "forbidden",
        }
    }
}

/// The configured credentials, ready to check requests against.
#[derive(Debug)]
pub struct Authenticator {
    tokens: Vec<(TokenDigest, Principal)>,
    basic: HashMap<String, (String, Principal)>,
    clients: Vec<(ServerName<'static>, Principal)>,
    verified: Mutex<HashMap<TokenDigest, Instant>>,
}

impl Authenticator {
    /// Builds from validated specs (entries that do not parse are skipped; validation has
    /// already reported them).
    pub fn new<'a>(specs: impl IntoIterator<Item = &'a CredentialsSpec>) -> Authenticator {
        let mut auth = Authenticator {
            tokens: Vec::new(),
            basic: HashMap::new(),
            clients: Vec::new(),
            verified: Mutex::new(HashMap::new()),
        };
        for spec in specs {
            for t in &spec.tokens {
                if let Ok(digest) = TokenDigest::parse(&t.token) {
                    auth.tokens.push((digest, Principal::new(&t.name, t.tenant.as_ref(), &t.roles)));
                }
            }
            for b in &spec.basic {
                let principal = Principal::new(&b.name, b.tenant.as_ref(), &b.roles);
                auth.basic.insert(b.username.clone(), (b.password_hash.clone(), principal));
            }
            for c in &spec.clients {
                if let Ok(name) = ServerName::try_from(c.subject_alt_name.clone()) {
                    auth.clients.push((name, Principal::new(&c.name, c.tenant.as_ref(), &c.roles)));
                }
            }
        }
        auth
    }

    /// Whether basic auth is configured (then 401 answers also offer it).
    pub fn offers_basic(&self) -> bool {
        !self.basic.is_empty()
    }

    /// Who sent the request: the `authorization` header wins over the client certificate.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        client_cert: Option<&CertificateDer<'static>>,
    ) -> Result<Principal, AuthFailure> {
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let value = value.to_str().map_err(|_| AuthFailure::Invalid)?.trim();
            let (scheme, credential) = value.split_once(' ').ok_or(AuthFailure::Invalid)?;
            let credential = credential.trim();
            return if scheme.eq_ignore_ascii_case("bearer") {
                self.bearer(credential).ok_or(AuthFailure::Invalid)
            } else if scheme.eq_ignore_ascii_case("basic") {
                self.basic(credential).await.ok_or(AuthFailure::Invalid)
            } else {
                Err(AuthFailure::Invalid)
            };
        }
        match client_cert {
            Some(cert) => self.client(cert).ok_or(AuthFailure::Invalid),
            None => Err(AuthFailure::Missing),
        }
    }

    fn bearer(&self, token: &str) -> Option<Principal> {
        let presented = TokenDigest::of(token.as_bytes());
        // Every configured token is compared, so timing says nothing about which one matched.
        let mut found = None;
        for (digest, principal) in &self.tokens {
            if bool::from(digest.0.ct_eq(&presented.0)) {
                found = Some(principal);
            }
        }
        found.cloned()
    }

    async fn basic(&self, credential: &str) -> Option<Principal> {
        let decoded = base64::engine::general_purpose::STANDARD.decode(credential).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        let (hash, principal) = self.basic.get(user)?;
        let key = TokenDigest::of(text.as_bytes());
        let now = Instant::now();
        {
            let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if verified.get(&key).is_some_and(|at| now.duration_since(*at) < BASIC_CACHE_TTL) {
                return Some(principal.clone());
            }
        }
        let (password, hash) = (password.to_owned(), hash.clone());
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false)).await.ok()?;
        if !ok {
            return None;
        }
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= BASIC_CACHE_MAX {
            verified.retain(|_, at| now.duration_since(*at) < BASIC_CACHE_TTL);
            if verified.len() >= BASIC_CACHE_MAX {
                verified.clear();
            }
        }
        verified.insert(key, now);
        Some(principal.clone())
    }

    fn client(&self, cert: &CertificateDer<'static>) -> Option<Principal> {
        let cert = webpki::EndEntityCert::try_from(cert).ok()?;
        self.clients
            .iter()
            .find(|(name, _)| cert.verify_is_valid_for_subject_name(name).is_ok())
            .map(|(_, p)| p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::credentials::Role;

    fn auth() -> Authenticator {
        let hash = bcrypt::hash("opensesame", 4).expect("valid test input");
        let spec = CredentialsSpec::parse(&format!(
            "tokens:\n  - {{name: agent-a, token: token-for-agent-a-123, tenant: acme, roles: [write]}}\n\
             basic:\n  - {{name: grafana, username: grafana, password_hash: '{hash}', roles: [read]}}\n"
        ))
        .expect("valid test input");
        Authenticator::new([&spec])
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().expect("valid test input"));
        h
    }

    #[tokio::test]
    async fn bearer_and_basic_credentials_authenticate_with_their_roles_and_tenant() {
        let auth = auth();
        let p = auth.authenticate(&headers("Bearer token-for-agent-a-123"), None).await.expect("valid test input");
        assert_eq!((&*p.name, p.tenant.as_deref()), ("agent-a", Some("acme")));
        assert!(p.may(Role::Write) && !p.may(Role::Read));
        let basic = base64::engine::general_purpose::STANDARD.encode("grafana:opensesame");
        for _ in 0..2 {
            let p = auth.authenticate(&headers(&format!("Basic {basic}")), None).await.expect("valid test input");
            assert!(p.may(Role::Read));
        }
    }

    #[tokio::test]
    async fn wrong_or_missing_credentials_fail_with_their_reason() {
        let auth = auth();
        let wrong = base64::engine::general_purpose::STANDARD.encode("grafana:guess");
        for (value, why) in [
            ("Bearer token-for-agent-a-124", AuthFailure::Invalid),
            ("Bearer", AuthFailure::Invalid),
            (&format!("Basic {wrong}"), AuthFailure::Invalid),
            ("Basic !!!", AuthFailure::Invalid),
            ("Digest x", AuthFailure::Invalid),
        ] {
            assert_eq!(auth.authenticate(&headers(value), None).await.expect_err("should fail"), why, "{value}");
        }
        assert_eq!(auth.authenticate(&HeaderMap::new(), None).await.expect_err("should fail"), AuthFailure::Missing);
    }
}
