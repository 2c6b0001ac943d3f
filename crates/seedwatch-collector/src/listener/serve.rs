//! Serving one listener: accept connections within the limit, run each with its watchdog
//! verdicts (header timeout, idle, maximum age, eviction), guard every request body, and on
//! shutdown close every connection gracefully.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::pki_types::CertificateDer;
use std::net::SocketAddr;
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use super::body::{BodyLimits, GuardedBody};
use super::config::ConnectionLimits;
use super::connections::{CloseReason, Registration};
use super::io::WatchedStream;
use super::stats::ListenerStats;
use crate::limits::{MemoryLimiter, Reservation};
use crate::security::ServerTls;

/// How often the watchdog looks at every connection.
const SWEEP_EVERY: Duration = Duration::from_millis(200);
/// After an accept error (out of file descriptors, say), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// The read buffer under each TLS connection. rustls asks the socket for about 4 KiB at a time
/// (six reads for a 20 KiB request); reading 16 KiB at once made OTLP/HTTP over TLS ~4% cheaper
/// per span (bench/throughput.sh style runs, 4 rounds each: 0.835 → 0.873 of plaintext).
/// It costs 16 KiB per open TLS connection, which the memory limiter sees in resident memory.
const TLS_READ_BUFFER: usize = 16 << 10;
/// How long a connection closed for being idle or to make room may take to say goodbye.
const QUICK_GRACE: Duration = Duration::from_secs(1);

/// The bytes a request holds against the memory limiter while it is read and processed; in
/// every request's extensions. Handlers keep it until they are done with the request.
#[derive(Debug, Clone)]
pub struct InFlight(pub Arc<Reservation>);

/// The client of a connection, in every request's extensions.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its address.
    pub addr: SocketAddr,
    /// Its verified certificate (mutual TLS), leaf only.
    pub client_cert: Option<Arc<CertificateDer<'static>>>,
}

/// One listener to serve.
#[derive(Debug, Clone)]
pub struct ListenerSpec {
    /// Its limits.
    pub limits: ConnectionLimits,
    /// Speaks only HTTP/2 (gRPC).
    pub http2_only: bool,
    /// The wait suggested to clients refused for memory.
    pub retry_after: Duration,
    /// Server TLS; `None`: plain TCP.
    pub tls: Option<Arc<ServerTls>>,
}

fn builder(spec: &ListenerSpec) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Header timeouts are the watchdog's (hyper's would also cut kept-alive idle connections).
    builder.http1().timer(TokioTimer::new()).header_read_timeout(None).keep_alive(true);
    let limits = &spec.limits;
    let mut h2 = builder.http2();
    h2.timer(TokioTimer::new()).max_concurrent_streams(limits.max_concurrent_streams);
    if !limits.keepalive_interval.is_zero() {
        h2.keep_alive_interval(limits.keepalive_interval).keep_alive_timeout(limits.keepalive_timeout);
    }
    if spec.http2_only { builder.http2_only() } else { builder }
}

/// Serves `router` on `listener` until `stop` is cancelled, then closes every connection
/// gracefully and waits for them.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    spec: ListenerSpec,
    stats: Arc<ListenerStats>,
    memory: Arc<MemoryLimiter>,
    stop: CancellationToken,
) {
    let builder = Arc::new(builder(&spec));
    let connections = stats.connections().clone();
    let tracker = TaskTracker::new();
    let sweeper = {
        let (connections, stop) = (connections.clone(), stop.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(SWEEP_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while stop.run_until_cancelled(ticks.tick()).await.is_some() {
                connections.sweep();
            }
        })
    };
    let mut last_error_logged: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                stats.accept_error();
                if last_error_logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
                    tracing::warn!(listener = stats.name(), error = %err, open = connections.len(),
                        "cannot accept a connection (retrying); if out of file descriptors, raise the limit or lower max_connections");
                    last_error_logged = Some(tokio::time::Instant::now());
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some(registration) = connections.register() else {
            stats.refused();
            drop(stream);
            continue;
        };
        stats.accepted();
        let _ = stream.set_nodelay(true);
        if spec.http2_only {
            registration.conn.set_h2();
        }
        let task = Connection {
            registration,
            builder: builder.clone(),
            router: router.clone(),
            body: BodyLimits {
                timeout: spec.limits.body_read_timeout,
                min_rate: spec.limits.min_body_rate,
                retry_after: spec.retry_after,
            },
            age_grace: spec.limits.body_read_timeout,
            stats: stats.clone(),
            memory: memory.clone(),
            tls: spec.tls.as_ref().map(|tls| (tls.clone(), spec.http2_only)),
        };
        tracker.spawn(task.run(stream, addr));
    }
    sweeper.abort();
    connections.close_all();
    tracker.close();
    tracker.wait().await;
}

/// One accepted connection and what it needs.
struct Connection {
    registration: Registration,
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: Router,
    body: BodyLimits,
    age_grace: Duration,
    stats: Arc<ListenerStats>,
    memory: Arc<MemoryLimiter>,
    /// Server TLS and whether the listener speaks only HTTP/2.
    tls: Option<(Arc<ServerTls>, bool)>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, addr: SocketAddr) {
        let conn = self.registration.conn.clone();
        let stream = WatchedStream::new(stream, conn.clone());
        let Some((tls, http2_only)) = self.tls.take() else {
            return self.serve(stream, Peer { addr, client_cert: None }).await;
        };
        // The handshake counts as the wait for the first request: the watchdog's header
        // timeout closes a client that stalls in it.
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config(http2_only));
        let handshake = tokio::select! {
            handshake = acceptor.accept(BufReader::with_capacity(TLS_READ_BUFFER, stream)) => handshake,
            reason = conn.closed() => {
                self.stats.closed(reason);
                return;
            }
        };
        let stream = match handshake {
            Ok(stream) => stream,
            Err(err) => {
                self.stats.tls_failed();
                tracing::debug!(listener = self.stats.name(), client = %addr, error = %err, "TLS handshake failed");
                return;
            }
        };
        let session = stream.get_ref().1;
        if session.alpn_protocol() == Some(b"h2") {
            conn.set_h2();
        }
        let client_cert =
            session.peer_certificates().and_then(|certs| certs.first()).map(|c| Arc::new(c.clone().into_owned()));
        self.serve(stream, Peer { addr, client_cert }).await;
    }

    async fn serve<S>(self, stream: S, peer: Peer)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let conn = self.registration.conn.clone();
        let closing_stats = self.stats.clone();
        let (router, body, stats, memory) = (self.router, self.body, self.stats, self.memory);
        let requests = conn.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let guard = requests.begin_request();
            let reservation = Arc::new(memory.empty());
            let mut request = request.map(|b| GuardedBody::new(b, body, reservation.clone(), stats.clone()));
            request.extensions_mut().insert(InFlight(reservation));
            request.extensions_mut().insert(peer.clone());
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await;
                drop(guard);
                response
            }
        });
        let io = TokioIo::new(stream);
        let served = self.builder.serve_connection(io, service);
        tokio::pin!(served);
        let reason = tokio::select! {
            _ = served.as_mut() => None,
            reason = conn.closed() => Some(reason),
        };
        if let Some(reason) = reason {
            closing_stats.closed(reason);
            let grace = match reason {
                // A client that sent nothing in time gets nothing more.
                CloseReason::HeaderTimeout => Duration::ZERO,
                CloseReason::Idle | CloseReason::Evicted => QUICK_GRACE,
                // In-flight requests may finish; the process's shutdown deadline bounds this.
                CloseReason::MaxAge | CloseReason::Shutdown => self.age_grace,
            };
            if !grace.is_zero() {
                served.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(grace, served).await;
            }
        }
    }
}
