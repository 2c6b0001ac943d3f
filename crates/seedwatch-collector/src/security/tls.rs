//! Server TLS from PEM files: the certificate chain and key, optionally a client CA (mutual
//! TLS), a minimum version; rebuilt when the files change, so a rotated certificate is served
//! to new connections without a restart.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::config::{ClientAuth, TlsConfig, TlsVersion};

/// The protocols a listener negotiates by ALPN.
const H2: &[u8] = b"h2";
const HTTP11: &[u8] = b"http/1.1";

/// Why the TLS files could not be used; [`TlsError::key`] names the config key.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The config key naming the file.
        key: &'static str,
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file holds no usable PEM.
    #[error("{file}: {what}")]
    Pem {
        /// The config key naming the file.
        key: &'static str,
        /// The file.
        file: String,
        /// What is missing.
        what: String,
    },
    /// rustls refused the combination (a key that does not match the certificate, say).
    #[error("{0}")]
    Rustls(String),
}

impl TlsError {
    /// The config key under `security.tls` the problem is about.
    pub fn key(&self) -> &'static str {
        match self {
            TlsError::Read { key, .. } | TlsError::Pem { key, .. } => key,
            TlsError::Rustls(_) => "cert_file",
        }
    }
}

/// The files as last read, to tell whether they changed.
#[derive(Debug, PartialEq, Eq)]
struct Files {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

/// Server TLS for the listeners, reloadable.
#[derive(Debug)]
pub struct ServerTls {
    config: TlsConfig,
    /// The server configs: `[0]` offers only HTTP/2 (gRPC), `[1]` HTTP/2 and HTTP/1.1.
    current: ArcSwap<[Arc<ServerConfig>; 2]>,
    files: Mutex<Files>,
}

fn read(key: &'static str, file: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(file).map_err(|source| TlsError::Read { key, file: file.to_owned(), source })
}

impl ServerTls {
    /// Reads and checks the files.
    pub fn load(config: &TlsConfig) -> Result<ServerTls, TlsError> {
        let files = Files::read(config)?;
        let built = build(config, &files)?;
        Ok(ServerTls { config: config.clone(), current: ArcSwap::from_pointee(built), files: Mutex::new(files) })
    }

    /// The server config for a listener that speaks only HTTP/2 (`true`) or both versions.
    pub fn server_config(&self, http2_only: bool) -> Arc<ServerConfig> {
        self.current.load()[usize::from(!http2_only)].clone()
    }

    /// Whether clients are asked for certificates.
    pub fn verifies_clients(&self) -> bool {
        !self.config.client_ca_file.is_empty()
    }

    /// Re-reads the files; if they changed and are valid, new connections get them. `Ok(true)`
    /// when something new is served; on error the previous certificates stay.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let files = Files::read(&self.config)?;
        let mut last = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if *last == files {
            return Ok(false);
        }
        let built = build(&self.config, &files);
        // Remember these files either way, so a broken file is reported once, not every tick.
        *last = files;
        self.current.store(Arc::new(built?));
        Ok(true)
    }
}

impl Files {
    fn read(config: &TlsConfig) -> Result<Files, TlsError> {
        Ok(Files {
            cert: read("cert_file", &config.cert_file)?,
            key: read("key_file", &config.key_file)?,
            client_ca: match config.client_ca_file.as_str() {
                "" => None,
                file => Some(read("client_ca_file", file)?),
            },
        })
    }
}

fn certificates(key: &'static str, file: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem).collect::<Result<_, _>>().map_err(|e| TlsError::Pem {
        key,
        file: file.to_owned(),
        what: format!("not valid PEM: {e}"),
    })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { key, file: file.to_owned(), what: "no `CERTIFICATE` PEM block".to_owned() });
    }
    Ok(certs)
}

/// ring's suites with AES-128-GCM first and the server's order deciding: as strong in practice
/// as AES-256-GCM (which clients tend to list first) and cheaper on every byte received.
fn server_provider() -> rustls::crypto::CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.sort_by_key(|suite| match suite.suite() {
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384 => 1,
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => 2,
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 3,
        _ => 4,
    });
    provider
}

fn build(config: &TlsConfig, files: &Files) -> Result<[Arc<ServerConfig>; 2], TlsError> {
    let chain = certificates("cert_file", &config.cert_file, &files.cert)?;
    let key = PrivateKeyDer::from_pem_slice(&files.key).map_err(|e| TlsError::Pem {
        key: "key_file",
        file: config.key_file.clone(),
        what: format!("no usable private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}"),
    })?;
    let provider = Arc::new(server_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match config.min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates("client_ca_file", &config.client_ca_file, pem)? {
                roots.add(cert).map_err(|e| TlsError::Pem {
                    key: "client_ca_file",
                    file: config.client_ca_file.clone(),
                    what: format!("not a usable CA certificate: {e}"),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match config.client_auth {
                ClientAuth::Required => verifier,
                ClientAuth::Optional => verifier.allow_unauthenticated(),
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| TlsError::Rustls(e.to_string()))?)
        }
    };
    let base = builder.with_single_cert(chain, key).map_err(|e| {
        TlsError::Rustls(format!("{} and {} do not make a server identity: {e}", config.cert_file, config.key_file))
    })?;
    let with_alpn = |protocols: &[&[u8]]| {
        let mut c = base.clone();
        c.ignore_client_order = true;
        c.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        Arc::new(c)
    };
    Ok([with_alpn(&[H2]), with_alpn(&[H2, HTTP11])])
}
