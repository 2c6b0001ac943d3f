//! OTLP/gRPC: the three `Export` methods, gzip accepted, a size limit, INVALID_ARGUMENT for
//! malformed messages and UNAVAILABLE with RetryInfo when the pipeline or the memory limit has
//! no room. A request is read whole (by tonic, through the listener's body guard) before it
//! takes one of the `max_concurrent_requests` processing slots.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::Semaphore;
use tonic::Status;
use tonic::codec::{CompressionEncoding, EnabledCompressionEncodings};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::service::Routes;

use super::codec::RawRequestCodec;
use super::config::GrpcConfig;
use super::signals::{Logs, Metrics, OtlpSignal, Traces};
use super::status::retryable_status;
use crate::limits::Reservation;
use crate::listener::InFlight;
use crate::pipeline::{Transport, accepted_bytes};
use crate::receivers::{Ingest, IngestError};
use crate::security::Principal;
use crate::telemetry::RequestOutcome;

/// The gRPC routes of all three OTLP services.
pub fn grpc_routes(ingest: Ingest, config: &GrpcConfig) -> Routes {
    let inner = Arc::new(Inner {
        ingest,
        max_message_size: config.max_message_size.as_u64() as usize,
        slots: Semaphore::new(config.max_concurrent_requests),
    });
    Routes::new(ExportService::<Traces>::new(inner.clone()))
        .add_service(ExportService::<Metrics>::new(inner.clone()))
        .add_service(ExportService::<Logs>::new(inner))
}

/// One OTLP service (`.../TraceService` etc.) with its single `Export` method.
struct ExportService<S> {
    inner: Arc<Inner>,
    _signal: PhantomData<fn() -> S>,
}

struct Inner {
    ingest: Ingest,
    max_message_size: usize,
    /// Processing slots, shared by the three services, taken once a message is read.
    slots: Semaphore,
}

impl Inner {
    /// The request's memory reservation (from the listener), or a new one.
    fn in_flight(&self, extensions: &http::Extensions) -> Arc<Reservation> {
        extensions.get::<InFlight>().map_or_else(|| Arc::new(self.ingest.memory().empty()), |f| f.0.clone())
    }
}

impl<S> Clone for ExportService<S> {
    fn clone(&self) -> Self {
        ExportService { inner: self.inner.clone(), _signal: PhantomData }
    }
}

impl<S: OtlpSignal> ExportService<S> {
    fn new(inner: Arc<Inner>) -> Self {
        ExportService { inner, _signal: PhantomData }
    }
}

impl<S: OtlpSignal> NamedService for ExportService<S> {
    const NAME: &'static str = S::SERVICE;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S: OtlpSignal> tower::Service<http::Request<tonic::body::Body>> for ExportService<S> {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let method = req.uri().path().rsplit('/').next().unwrap_or_default();
        if method != "Export" {
            let status = Status::unimplemented(format!("{} has only the Export method", S::SERVICE));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        // Refused before anything is read: over the memory limit, no new requests; and a
        // compressed message reserves what tonic may decompress it to.
        let inner = &self.inner;
        let admitted = inner.ingest.admit(Transport::Grpc, S::SIGNAL).and_then(|()| {
            let compressed = req.headers().get("grpc-encoding").is_some_and(|e| e.as_bytes() != b"identity");
            if compressed {
                let refused = inner.in_flight(req.extensions()).grow(inner.max_message_size as u64);
                refused.map_err(|refusal| inner.ingest.memory_limited(Transport::Grpc, S::SIGNAL, refusal))?;
            }
            Ok(())
        });
        if let Err(err) = admitted {
            let status = ingest_status(&err);
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let mut accept = EnabledCompressionEncodings::default();
        accept.enable(CompressionEncoding::Gzip);
        let mut grpc = Grpc::new(RawRequestCodec::<S::Response>::default())
            .apply_compression_config(accept, EnabledCompressionEncodings::default())
            .apply_max_message_size_config(Some(self.inner.max_message_size), None);
        let method = ExportMethod::<S> { inner: self.inner.clone(), _signal: PhantomData };
        Box::pin(async move { Ok(grpc.unary(method, req).await) })
    }
}

struct ExportMethod<S> {
    inner: Arc<Inner>,
    _signal: PhantomData<fn() -> S>,
}

impl<S: OtlpSignal> UnaryService<Bytes> for ExportMethod<S> {
    type Response = S::Response;
    type Future = BoxFuture<Result<tonic::Response<S::Response>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            let in_flight = inner.in_flight(request.extensions());
            let tenant = request.extensions().get::<Principal>().and_then(|p| p.tenant.clone());
            let bytes = request.into_inner();
            // Read whole: only now take a processing slot, so slow senders never hold one.
            let _slot = inner.slots.acquire().await.map_err(|_| Status::unavailable("the receiver is closing"))?;
            let wire = bytes.len() as u64;
            // Stamping a tenant decodes what would otherwise be kept as received.
            let held = accepted_bytes(S::SIGNAL, wire, tenant.is_none());
            in_flight
                .grow(held)
                .map_err(|refusal| ingest_status(&inner.ingest.memory_limited(Transport::Grpc, S::SIGNAL, refusal)))?;
            let payload = S::from_protobuf(bytes).map_err(|e| {
                inner.ingest.metrics().receiver_request(Transport::Grpc, S::SIGNAL, RequestOutcome::Invalid);
                Status::invalid_argument(format!("malformed OTLP protobuf: {e}"))
            })?;
            match inner.ingest.ingest(payload, Transport::Grpc, in_flight.split(held), tenant.as_deref()).await {
                Ok(outcome) => Ok(tonic::Response::new(S::response(outcome.rejected, outcome.message))),
                Err(err) => Err(ingest_status(&err)),
            }
        })
    }
}

/// UNAVAILABLE with RetryInfo: every OTLP client retries it, after the suggested delay.
fn ingest_status(err: &IngestError) -> Status {
    retryable_status(err.to_string(), err.retry_after())
}
