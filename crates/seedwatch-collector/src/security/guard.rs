//! The door of one listener, as axum middleware: the admin `Host` allow-list, open probe
//! paths, the per-address limit, the credential (with the role the listener needs), the
//! per-credential limit; the authenticated [`Principal`] goes into the request's extensions.
//! Refusals answer in the listener's protocol: gRPC UNAUTHENTICATED / PERMISSION_DENIED /
//! RESOURCE_EXHAUSTED, HTTP 401 + `WWW-Authenticate` / 403 / 429 + `Retry-After`.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;

use super::authenticate::{AuthFailure, Authenticator};
use super::credentials::{Principal, Role};
use super::metrics::SecurityMetrics;
use super::rate_limit::{Exceeded, KeyedLimit};
use crate::listener::Peer;
use crate::receivers::otlp::{PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAUTHENTICATED, status_body};

/// At most one log line per listener this often about refused requests.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// A refused HTTP/1.1 body up to this size is read and dropped, so the client reads the answer.
const DRAIN_MAX: usize = 4 << 20;

/// How a listener answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC: statuses in trailers.
    Grpc,
    /// OTLP/HTTP: `google.rpc.Status` bodies.
    OtlpHttp,
    /// The admin server: plain text.
    Admin,
}

/// The credentials every listener checks against; swapped when the file changes.
pub type SharedAuthenticator = Arc<ArcSwap<Authenticator>>;

/// The rate limits shared by every listener.
#[derive(Debug, Default)]
pub struct RateLimits {
    /// Per credential name.
    pub per_credential: Option<KeyedLimit<Arc<str>>>,
    /// Per client IP address.
    pub per_address: Option<KeyedLimit<IpAddr>>,
}

/// The door of one listener.
#[derive(Debug)]
pub struct ListenerGuard {
    /// The listener's name (the `receiver` label).
    pub listener: &'static str,
    /// How it answers.
    pub protocol: Protocol,
    /// The role its requests need.
    pub role: Role,
    /// `None`: no credential asked for.
    pub auth: Option<SharedAuthenticator>,
    /// Paths served without a credential (admin probes).
    pub open_paths: Vec<String>,
    /// `Host` names (without port) allowed; empty: any.
    pub allowed_hosts: Vec<String>,
    /// Shared limits.
    pub limits: Arc<RateLimits>,
    /// Counters.
    pub metrics: Arc<SecurityMetrics>,
    logged: Mutex<(Option<Instant>, u64)>,
}

/// Why a request is refused at the door.
enum Denial {
    Auth(AuthFailure),
    Host,
    Limited { wait: Duration },
}

impl ListenerGuard {
    /// A guard; see the fields.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        listener: &'static str,
        protocol: Protocol,
        role: Role,
        auth: Option<SharedAuthenticator>,
        open_paths: Vec<String>,
        allowed_hosts: Vec<String>,
        limits: Arc<RateLimits>,
        metrics: Arc<SecurityMetrics>,
    ) -> Arc<Self> {
        Arc::new(ListenerGuard {
            listener,
            protocol,
            role,
            auth,
            open_paths,
            allowed_hosts,
            limits,
            metrics,
            logged: Mutex::new((None, 0)),
        })
    }

    /// Whether the guard checks anything at all (if not, it need not be installed).
    pub fn is_active(&self) -> bool {
        self.auth.is_some()
            || !self.allowed_hosts.is_empty()
            || self.limits.per_credential.is_some()
            || self.limits.per_address.is_some()
    }

    /// Logs a refusal, at most once per [`LOG_EVERY`]; `what` is only rendered when logged.
    fn log(&self, peer: Option<&Peer>, what: impl FnOnce() -> String) {
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if logged.0.is_some_and(|at| now.duration_since(at) < LOG_EVERY) {
            logged.1 += 1;
            return;
        }
        let suppressed = std::mem::take(&mut logged.1);
        logged.0 = Some(now);
        tracing::warn!(listener = self.listener, client = ?peer.map(|p| p.addr), suppressed,
            "request refused: {} (at most one such line per listener every 10s; all counted in /metrics)", what());
    }
}

/// The middleware: `axum::middleware::from_fn_with_state(guard, guard::check)`.
pub async fn check(State(guard): State<Arc<ListenerGuard>>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<Peer>().cloned();
    // Split, so that no reference to the (not `Sync`) body is held across the checks.
    let (parts, body) = request.into_parts();
    let admitted = admit(&guard, &parts, peer.as_ref()).await;
    let request = Request::from_parts(parts, body);
    match admitted {
        Ok(principal) => {
            let mut request = request;
            let by_credential = principal.as_ref().and_then(|p| {
                let limit = guard.limits.per_credential.as_ref()?;
                limit.limits_bytes().then(|| p.name.clone())
            });
            let by_address =
                peer.as_ref().filter(|_| guard.limits.per_address.as_ref().is_some_and(|l| l.limits_bytes()));
            if by_credential.is_some() || by_address.is_some() {
                let (limits, ip) = (guard.limits.clone(), by_address.map(|p| p.addr.ip()));
                request = request.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        if let Some(data) = frame.data_ref() {
                            let n = data.len() as u64;
                            if let (Some(l), Some(name)) = (&limits.per_credential, &by_credential) {
                                l.charge_bytes(name, n);
                            }
                            if let (Some(l), Some(ip)) = (&limits.per_address, &ip) {
                                l.charge_bytes(ip, n);
                            }
                        }
                        frame
                    }))
                });
            }
            if let Some(principal) = principal {
                request.extensions_mut().insert(principal);
            }
            next.run(request).await
        }
        Err(denial) => {
            guard.log(peer.as_ref(), || match &denial {
                Denial::Auth(f) => format!("credential {}", f.as_str()),
                Denial::Host => "Host not allowed".to_owned(),
                Denial::Limited { .. } => "rate limited".to_owned(),
            });
            let json = is_json(&request);
            if guard.protocol != Protocol::Grpc {
                drain(request.into_body()).await;
            }
            refuse(&guard, denial, json)
        }
    }
}

async fn admit(
    guard: &ListenerGuard,
    request: &http::request::Parts,
    peer: Option<&Peer>,
) -> Result<Option<Principal>, Denial> {
    if !guard.allowed_hosts.is_empty() && !host_allowed(request, &guard.allowed_hosts) {
        guard.metrics.auth_failure(guard.listener, "host");
        return Err(Denial::Host);
    }
    if guard.open_paths.iter().any(|p| p == request.uri.path()) {
        return Ok(None);
    }
    if let (Some(limit), Some(peer)) = (&guard.limits.per_address, peer) {
        limit.admit(&peer.addr.ip()).map_err(|(which, wait)| limited(guard, "address", which, wait))?;
    }
    let Some(auth) = &guard.auth else { return Ok(None) };
    let cert = peer.and_then(|p| p.client_cert.as_deref());
    let authenticator = auth.load_full();
    let principal = authenticator.authenticate(&request.headers, cert).await.map_err(|failure| {
        guard.metrics.auth_failure(guard.listener, failure.as_str());
        Denial::Auth(failure)
    })?;
    if !principal.may(guard.role) {
        guard.metrics.auth_failure(guard.listener, AuthFailure::Forbidden.as_str());
        return Err(Denial::Auth(AuthFailure::Forbidden));
    }
    if let Some(limit) = &guard.limits.per_credential {
        limit.admit(&principal.name).map_err(|(which, wait)| limited(guard, "credential", which, wait))?;
    }
    Ok(Some(principal))
}

fn limited(guard: &ListenerGuard, by: &'static str, which: Exceeded, wait: Duration) -> Denial {
    let limit = match which {
        Exceeded::Requests => "requests",
        Exceeded::Bytes => "bytes",
    };
    guard.metrics.rate_limited(guard.listener, by, limit);
    Denial::Limited { wait }
}

fn host_allowed(request: &http::request::Parts, allowed: &[String]) -> bool {
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri.authority().map(|a| a.as_str()));
    let Some(host) = host else { return false };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host
            .rsplit_once(':')
            .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host }),
    };
    allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

fn is_json(request: &Request) -> bool {
    request.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

async fn drain(body: Body) {
    let mut body = body.into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut body).await {
        read += chunk.len();
        if read > DRAIN_MAX {
            break;
        }
    }
}

fn refuse(guard: &ListenerGuard, denial: Denial, json: bool) -> Response {
    let offers_basic = guard.auth.as_ref().is_some_and(|a| a.load().offers_basic());
    let (status, code, message, wait) = match denial {
        Denial::Auth(AuthFailure::Forbidden) => (
            StatusCode::FORBIDDEN,
            PERMISSION_DENIED,
            format!("this credential lacks the `{}` role this endpoint needs", guard.role.as_str()),
            None,
        ),
        Denial::Auth(f) => (
            StatusCode::UNAUTHORIZED,
            UNAUTHENTICATED,
            match f {
                AuthFailure::Missing => "a credential is required (Authorization: Bearer <token>)".to_owned(),
                _ => "the credential was not accepted".to_owned(),
            },
            None,
        ),
        Denial::Host => {
            (StatusCode::MISDIRECTED_REQUEST, PERMISSION_DENIED, "this Host is not served here".to_owned(), None)
        }
        Denial::Limited { wait } => (
            StatusCode::TOO_MANY_REQUESTS,
            RESOURCE_EXHAUSTED,
            "rate limit exceeded; retry later".to_owned(),
            Some(wait),
        ),
    };
    let retry_secs = wait.map(|w| w.as_secs_f64().ceil().max(1.0) as u64);
    let mut response = match guard.protocol {
        Protocol::Grpc => {
            let code = tonic::Code::from_i32(code);
            let status = match retry_secs {
                Some(secs) => <tonic::Status as tonic_types::StatusExt>::with_error_details(
                    code,
                    message,
                    tonic_types::ErrorDetails::with_retry_info(Some(Duration::from_secs(secs))),
                ),
                None => tonic::Status::new(code, message),
            };
            return status.into_http::<Body>();
        }
        Protocol::OtlpHttp => {
            let (content_type, body) = status_body(code, message, json);
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Protocol::Admin => (status, message).into_response(),
    };
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if offers_basic {
            "Bearer realm=\"seedwatch\", Basic realm=\"seedwatch\""
        } else {
            "Bearer realm=\"seedwatch\""
        };
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    if let Some(secs) = retry_secs {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: &str) -> http::request::Parts {
        http::Request::builder()
            .uri("/api/v1/agents")
            .header(header::HOST, host)
            .body(())
            .expect("valid test input")
            .into_parts()
            .0
    }

    #[test]
    fn the_host_allow_list_ignores_ports_and_case_and_knows_ipv6() {
        let allowed = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
        for ok in ["localhost:8889", "LOCALHOST", "127.0.0.1:8889", "[::1]:8889"] {
            assert!(host_allowed(&request(ok), &allowed), "{ok}");
        }
        for refused in ["evil.example:8889", "localhost.evil.example", "127.0.0.2"] {
            assert!(!host_allowed(&request(refused), &allowed), "{refused}");
        }
    }
}
