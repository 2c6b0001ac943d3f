//! Credentials as configured (bearer tokens, basic-auth users with bcrypt hashes, client
//! certificates by subject alternative name), each with roles and an optional tenant, and the
//! [`Principal`] a request is authenticated as.

use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::{Problem, deserialize_at};

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Send telemetry over OTLP.
    Write,
    /// Read the admin API and `/metrics`.
    Read,
}

impl Role {
    /// The role's name in config and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Write => "write",
            Role::Read => "read",
        }
    }
}

/// The shape of the credentials file and of `security.auth.credentials`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSpec {
    /// Bearer tokens (`Authorization: Bearer <token>`).
    #[serde(default)]
    pub tokens: Vec<TokenSpec>,
    /// Basic-auth users (`Authorization: Basic …`), passwords stored as bcrypt hashes.
    #[serde(default)]
    pub basic: Vec<BasicSpec>,
    /// Clients known by their certificate (needs `security.tls.client_ca_file`).
    #[serde(default)]
    pub clients: Vec<ClientSpec>,
}

/// One bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Names the credential in logs, metrics and rate limits.
    pub name: String,
    /// The token, or `sha256:<hex>` of it (then the file does not hold the secret).
    pub token: String,
    /// Stamped as `seedwatch.tenant` on everything sent with this credential.
    #[serde(default)]
    pub tenant: Option<String>,
    /// `write`, `read` or both.
    pub roles: Vec<Role>,
}

/// One basic-auth user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicSpec {
    /// Names the credential.
    pub name: String,
    /// The user name.
    pub username: String,
    /// A bcrypt hash (`$2b$…`, `$2y$…`), as `htpasswd -nbB user password` prints after the colon.
    pub password_hash: String,
    /// Stamped as `seedwatch.tenant`.
    #[serde(default)]
    pub tenant: Option<String>,
    /// `write`, `read` or both.
    pub roles: Vec<Role>,
}

/// A client known by its certificate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Names the credential.
    pub name: String,
    /// A DNS name or IP address the client certificate is issued for (subject alternative name).
    pub subject_alt_name: String,
    /// Stamped as `seedwatch.tenant`.
    #[serde(default)]
    pub tenant: Option<String>,
    /// `write`, `read` or both.
    pub roles: Vec<Role>,
}

/// The credentials file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// It could not be read.
    #[error("cannot read credentials file {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// It is not the expected YAML.
    #[error("credentials file {file}: {problem}")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong and where.
        problem: String,
    },
}

impl CredentialsSpec {
    /// Reads a credentials file.
    pub fn load(file: &str) -> Result<CredentialsSpec, CredentialsError> {
        let text =
            std::fs::read_to_string(file).map_err(|source| CredentialsError::Read { file: file.to_owned(), source })?;
        CredentialsSpec::parse(&text).map_err(|problem| CredentialsError::Parse { file: file.to_owned(), problem })
    }

    /// Parses credentials YAML.
    pub fn parse(text: &str) -> Result<CredentialsSpec, String> {
        let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
        if value.is_null() {
            return Ok(CredentialsSpec::default());
        }
        deserialize_at(value, "")
            .map_err(|p| if p.path.is_empty() { p.message } else { format!("`{}`: {}", p.path, p.message) })
    }

    /// Whether there is no credential at all.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.basic.is_empty() && self.clients.is_empty()
    }

    /// Every credential's name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let tokens = self.tokens.iter().map(|t| t.name.as_str());
        let basic = self.basic.iter().map(|b| b.name.as_str());
        tokens.chain(basic).chain(self.clients.iter().map(|c| c.name.as_str()))
    }

    /// Checks every entry; `path` prefixes the problems.
    pub fn validate(&self, path: &str, problems: &mut Vec<Problem>) {
        let mut seen: Vec<String> = Vec::new();
        let mut check_common = |kind: &str, i: usize, name: &str, roles: &[Role], problems: &mut Vec<Problem>| {
            let at = format!("{path}.{kind}[{i}]");
            if name.is_empty() {
                problems.push(Problem::new(format!("{at}.name"), "give every credential a name"));
            } else if seen.iter().any(|s| s == name) {
                problems
                    .push(Problem::new(format!("{at}.name"), format!("`{name}` is used twice; names must be unique")));
            }
            seen.push(name.to_owned());
            if roles.is_empty() {
                problems.push(Problem::new(
                    format!("{at}.roles"),
                    "list at least one role: `write` (OTLP), `read` (admin)",
                ));
            }
        };
        for (i, t) in self.tokens.iter().enumerate() {
            check_common("tokens", i, &t.name, &t.roles, problems);
            if let Err(message) = TokenDigest::parse(&t.token) {
                problems.push(Problem::new(format!("{path}.tokens[{i}].token"), message));
            }
        }
        for (i, b) in self.basic.iter().enumerate() {
            check_common("basic", i, &b.name, &b.roles, problems);
            if b.username.is_empty() || b.username.contains(':') {
                problems.push(Problem::new(format!("{path}.basic[{i}].username"), "a non-empty name without `:`"));
            }
            if !is_bcrypt_hash(&b.password_hash) {
                problems.push(Problem::new(
                    format!("{path}.basic[{i}].password_hash"),
                    "a bcrypt hash such as `$2y$10$…` (from `htpasswd -nbB USER PASSWORD`), not the password",
                ));
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            check_common("clients", i, &c.name, &c.roles, problems);
            if rustls::pki_types::ServerName::try_from(c.subject_alt_name.as_str()).is_err() {
                problems.push(Problem::found_expected(
                    format!("{path}.clients[{i}].subject_alt_name"),
                    &c.subject_alt_name,
                    "a DNS name or IP address from the client certificate's subject alternative names",
                ));
            }
        }
    }
}

fn is_bcrypt_hash(hash: &str) -> bool {
    let parts: Vec<&str> = hash.split('$').collect();
    parts.len() == 4
        && parts[0].is_empty()
        && matches!(parts[1], "2a" | "2b" | "2x" | "2y")
        && parts[2].parse::<u32>().is_ok_and(|cost| (4..=31).contains(&cost))
        && parts[3].len() == 53
}

/// The SHA-256 of a token; tokens are only ever compared as digests, in constant time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl TokenDigest {
    /// The digest of a token as presented.
    pub fn of(token: &[u8]) -> TokenDigest {
        TokenDigest(Sha256::digest(token).into())
    }

    /// A configured token: plain text, or `sha256:<64 hex digits>`.
    pub fn parse(configured: &str) -> Result<TokenDigest, String> {
        if let Some(hex) = configured.strip_prefix("sha256:") {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(hex, &mut digest)
                .map_err(|_| "after `sha256:`, the 64 hex digits of the token's SHA-256".to_owned())?;
            return Ok(TokenDigest(digest));
        }
        if configured.len() < 16 {
            return Err("a token of at least 16 characters (or `sha256:<hex>` of one)".to_owned());
        }
        if !configured.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a token of printable ASCII without spaces (it travels in an HTTP header)".to_owned());
        }
        Ok(TokenDigest::of(configured.as_bytes()))
    }
}

/// Who a request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The credential's name.
    pub name: Arc<str>,
    /// Its tenant, stamped on every resource it sends.
    pub tenant: Option<Arc<str>>,
    /// What it may do.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether it has `role`.
    pub fn may(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub(super) fn new(name: &str, tenant: Option<&String>, roles: &[Role]) -> Principal {
        Principal { name: name.into(), tenant: tenant.map(|t| t.as_str().into()), roles: roles.to_vec() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_plain_or_as_digest() {
        let plain = TokenDigest::parse("s3cr3t-token-0123456789").expect("valid test input");
        assert_eq!(plain, TokenDigest::of(b"s3cr3t-token-0123456789"));
        let hex = hex::encode(plain.0);
        assert_eq!(TokenDigest::parse(&format!("sha256:{hex}")).expect("valid test input"), plain);
        assert!(TokenDigest::parse("sha256:abc").is_err());
        assert!(TokenDigest::parse("short").is_err());
        assert!(TokenDigest::parse("has a space in it ....").is_err());
    }

    #[test]
    fn validation_names_each_bad_entry() {
        let spec = CredentialsSpec::parse(
            "tokens:\n  - {name: a, token: 0123456789abcdef0, roles: [write]}\n  - {name: a, token: x, roles: []}\n\
             basic:\n  - {name: b, username: u, password_hash: hunter2, roles: [read]}\n\
             clients:\n  - {name: c, subject_alt_name: 'not a name!', roles: [write]}\n",
        )
        .expect("valid test input");
        let mut problems = Vec::new();
        spec.validate("auth", &mut problems);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "auth.tokens[1].name",
                "auth.tokens[1].roles",
                "auth.tokens[1].token",
                "auth.basic[0].password_hash",
                "auth.clients[0].subject_alt_name"
            ]
        );
        assert!(
            CredentialsSpec::parse("tokens: [{name: a, tokn: x, roles: [write]}]")
                .expect_err("should fail")
                .contains("tokn")
        );
        assert!(CredentialsSpec::parse("tokens: [{name: a, token: 0123456789abcdef0, roles: [admin]}]").is_err());
    }

    #[test]
    fn bcrypt_hashes_are_recognised() {
        let hash = bcrypt::hash("pw", 4).expect("valid test input");
        assert!(is_bcrypt_hash(&hash), "{hash}");
        assert!(is_bcrypt_hash(&hash.replacen("$2b$", "$2y$", 1)));
        assert!(!is_bcrypt_hash("pw"));
    }
}
