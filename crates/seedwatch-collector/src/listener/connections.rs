//! Every open connection of one listener, with what the watchdog needs to judge it: requests
//! in flight, when it last went quiet, whether request headers are trickling in. The watchdog
//! closes connections that break the listener's limits; at capacity the longest-idle one is
//! closed to make room for a new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::config::ConnectionLimits;

/// Why a connection was closed by the collector (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CloseReason {
    /// The first request (or a later HTTP/1 request's headers) did not arrive in time.
    HeaderTimeout = 1,
    /// No request in flight for the idle timeout.
    Idle = 2,
    /// Older than the maximum connection age.
    MaxAge = 3,
    /// Closed to make room for a new connection while the listener was full.
    Evicted = 4,
    /// The collector is shutting down.
    Shutdown = 5,
}

impl CloseReason {
    /// Every reason, in label order.
    pub const ALL: [CloseReason; 5] = [
        CloseReason::HeaderTimeout,
        CloseReason::Idle,
        CloseReason::MaxAge,
        CloseReason::Evicted,
        CloseReason::Shutdown,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::Idle => "idle",
            CloseReason::MaxAge => "max_age",
            CloseReason::Evicted => "evicted",
            CloseReason::Shutdown => "shutdown",
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as u8 == v)
    }
}

/// One connection's state, shared by its task, its IO, its requests and the watchdog.
#[derive(Debug)]
pub struct Conn {
    origin: Instant,
    opened_ms: u64,
    in_flight: AtomicU32,
    requests: AtomicU64,
    /// When `in_flight` last became 0 (or the connection opened).
    quiet_since_ms: AtomicU64,
    /// When bytes began arriving while no request was in flight (a request head coming in);
    /// 0 when none.
    partial_since_ms: AtomicU64,
    /// Speaks HTTP/2 (control frames arrive while idle, so trickling bytes mean nothing).
    h2: AtomicBool,
    close_reason: AtomicU8,
    close: CancellationToken,
}

impl Conn {
    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Bytes arrived from the client; `first` is the very first read of the connection.
    pub(super) fn on_read(&self, first: Option<&[u8]>) {
        if let Some(bytes) = first
            && bytes.starts_with(b"PRI ")
        {
            self.h2.store(true, Ordering::Relaxed);
        }
        if self.in_flight.load(Ordering::Relaxed) == 0 && self.partial_since_ms.load(Ordering::Relaxed) == 0 {
            self.partial_since_ms.store(self.now_ms().max(1), Ordering::Relaxed);
        }
    }

    /// Marks the connection as HTTP/2 from the start (a listener that speaks only that).
    pub(super) fn set_h2(&self) {
        self.h2.store(true, Ordering::Relaxed);
    }

    /// A request reached the service; the returned guard ends it when dropped.
    pub(super) fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.partial_since_ms.store(0, Ordering::Relaxed);
        RequestGuard(self.clone())
    }

    /// Asks the connection's task to close it; the first reason given wins.
    pub(super) fn close(&self, reason: CloseReason) {
        if self.close_reason.compare_exchange(0, reason as u8, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.close.cancel();
        }
    }

    /// Resolves once [`Conn::close`] was called, with its reason.
    pub(super) async fn closed(&self) -> CloseReason {
        self.close.cancelled().await;
        CloseReason::from_u8(self.close_reason.load(Ordering::Relaxed)).unwrap_or(CloseReason::Shutdown)
    }

    fn closing(&self) -> bool {
        self.close.is_cancelled()
    }

    fn idle_since(&self) -> Option<u64> {
        (self.in_flight.load(Ordering::Relaxed) == 0).then(|| self.quiet_since_ms.load(Ordering::Relaxed))
    }

    /// Why the connection should be closed at `now_ms`, if it should.
    fn verdict(&self, limits: &ConnectionLimits, now_ms: u64) -> Option<CloseReason> {
        let ms = |d: Duration| d.as_millis() as u64;
        if now_ms.saturating_sub(self.opened_ms) >= ms(limits.max_connection_age) {
            return Some(CloseReason::MaxAge);
        }
        let quiet_since = self.idle_since()?;
        let h2 = self.h2.load(Ordering::Relaxed);
        let header = ms(limits.header_read_timeout);
        if self.requests.load(Ordering::Relaxed) == 0 && !h2 && now_ms.saturating_sub(self.opened_ms) >= header {
            return Some(CloseReason::HeaderTimeout);
        }
        let partial = self.partial_since_ms.load(Ordering::Relaxed);
        if !h2 && partial > 0 && now_ms.saturating_sub(partial) >= header {
            return Some(CloseReason::HeaderTimeout);
        }
        (now_ms.saturating_sub(quiet_since) >= ms(limits.idle_timeout)).then_some(CloseReason::Idle)
    }
}

/// Ends a request when dropped.
#[derive(Debug)]
pub struct RequestGuard(Arc<Conn>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let conn = &self.0;
        if conn.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            conn.quiet_since_ms.store(conn.now_ms(), Ordering::Relaxed);
            conn.partial_since_ms.store(0, Ordering::Relaxed);
        }
    }
}

/// The open connections of one listener.
#[derive(Debug)]
pub struct Connections {
    origin: Instant,
    limits: ConnectionLimits,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

/// A connection's place in the registry; removes it when dropped.
#[derive(Debug)]
pub struct Registration {
    id: u64,
    registry: Arc<Connections>,
    /// The connection.
    pub conn: Arc<Conn>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

impl Connections {
    /// An empty registry for a listener with these limits.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Connections { origin: Instant::now(), limits, next_id: AtomicU64::new(1), open: Mutex::default() })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// The connection limit in force.
    pub fn max(&self) -> usize {
        self.limits.max_connections
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Takes a new connection if there is room, making room by closing the longest-idle one
    /// when full; `None` when every open connection has a request in flight (or so many are
    /// still closing that the listener is over its limit by an eighth).
    pub fn register(self: &Arc<Self>) -> Option<Registration> {
        let mut open = self.lock();
        let max = self.limits.max_connections;
        if open.len() >= max.saturating_add(max / 8).max(max + 1) {
            return None;
        }
        if open.len() >= max {
            let idlest = open
                .values()
                .filter(|c| !c.closing())
                .filter_map(|c| c.idle_since().map(|since| (since, c)))
                .min_by_key(|(since, _)| *since)
                .map(|(_, c)| c.clone());
            idlest?.close(CloseReason::Evicted);
        }
        let now = self.now_ms();
        let conn = Arc::new(Conn {
            origin: self.origin,
            opened_ms: now,
            in_flight: AtomicU32::new(0),
            requests: AtomicU64::new(0),
            quiet_since_ms: AtomicU64::new(now),
            partial_since_ms: AtomicU64::new(0),
            h2: AtomicBool::new(false),
            close_reason: AtomicU8::new(0),
            close: CancellationToken::new(),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        open.insert(id, conn.clone());
        Some(Registration { id, registry: self.clone(), conn })
    }

    /// Closes every connection that broke a limit.
    pub fn sweep(&self) {
        let now = self.now_ms();
        for conn in self.lock().values().filter(|c| !c.closing()) {
            if let Some(reason) = conn.verdict(&self.limits, now) {
                conn.close(reason);
            }
        }
    }

    /// Asks every connection to close (graceful shutdown).
    pub fn close_all(&self) {
        for conn in self.lock().values() {
            conn.close(CloseReason::Shutdown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 2,
            header_read_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(300),
            max_connection_age: Duration::from_secs(60),
            ..ConnectionLimits::otlp_http()
        }
    }

    fn reason(conn: &Conn) -> Option<CloseReason> {
        conn.closing().then(|| CloseReason::from_u8(conn.close_reason.load(Ordering::Relaxed))).flatten()
    }

    #[test]
    fn silent_and_trickling_connections_are_cut_after_the_header_timeout() {
        let registry = Connections::new(limits());
        let silent = registry.register().expect("room");
        let served = registry.register().expect("room");
        let _request = served.conn.begin_request();
        std::thread::sleep(Duration::from_millis(150));
        registry.sweep();
        assert_eq!(reason(&silent.conn), Some(CloseReason::HeaderTimeout));
        assert_eq!(reason(&served.conn), None, "a request in flight is the body timeout's business");
    }

    #[test]
    fn idle_connections_close_and_a_full_listener_evicts_the_idlest() {
        let registry = Connections::new(limits());
        let a = registry.register().expect("room");
        drop(a.conn.begin_request());
        std::thread::sleep(Duration::from_millis(20));
        let b = registry.register().expect("room");
        let busy = b.conn.begin_request();
        let c = registry.register().expect("room by closing the idle one");
        assert_eq!(reason(&a.conn), Some(CloseReason::Evicted));
        drop(a);
        assert_eq!(registry.len(), 2);
        let _busy_c = c.conn.begin_request();
        assert!(registry.register().is_none(), "every connection is busy: refused");
        drop(busy);
        std::thread::sleep(Duration::from_millis(320));
        registry.sweep();
        assert_eq!(reason(&b.conn), Some(CloseReason::Idle));
        assert_eq!(reason(&c.conn), None);
    }

    #[test]
    fn a_request_head_trickling_into_a_kept_alive_http1_connection_is_cut() {
        let registry = Connections::new(limits());
        let conn = registry.register().expect("room");
        drop(conn.conn.begin_request());
        conn.conn.on_read(None);
        std::thread::sleep(Duration::from_millis(120));
        registry.sweep();
        assert_eq!(reason(&conn.conn), Some(CloseReason::HeaderTimeout));

        let h2 = registry.register().expect("room");
        h2.conn.on_read(Some(b"PRI * HTTP/2.0\r\n"));
        std::thread::sleep(Duration::from_millis(120));
        registry.sweep();
        assert_eq!(reason(&h2.conn), None, "HTTP/2 frames arrive while idle: only idleness counts");
    }
}
