//! OTLP/gRPC: the three `Export` methods, gzip accepted, a size limit, INVALID_ARGUMENT for
//! malformed messages and UNAVAILABLE with RetryInfo when the pipeline has no room.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tonic::codec::{CompressionEncoding, EnabledCompressionEncodings};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::service::Routes;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::codec::RawRequestCodec;
use super::config::GrpcConfig;
use super::signals::{Logs, Metrics, OtlpSignal, Traces};
use crate::pipeline::Transport;
use crate::receivers::{Ingest, IngestError};
use crate::telemetry::RequestOutcome;

/// The gRPC routes of all three OTLP services.
pub fn grpc_routes(ingest: Ingest, config: &GrpcConfig) -> Routes {
    let max = config.max_message_size.as_u64() as usize;
    Routes::new(ExportService::<Traces>::new(ingest.clone(), max))
        .add_service(ExportService::<Metrics>::new(ingest.clone(), max))
        .add_service(ExportService::<Logs>::new(ingest, max))
}

/// One OTLP service (`.../TraceService` etc.) with its single `Export` method.
struct ExportService<S> {
    inner: Arc<Inner>,
    _signal: PhantomData<fn() -> S>,
}

struct Inner {
    ingest: Ingest,
    max_message_size: usize,
}

impl<S> Clone for ExportService<S> {
    fn clone(&self) -> Self {
        ExportService { inner: self.inner.clone(), _signal: PhantomData }
    }
}

impl<S: OtlpSignal> ExportService<S> {
    fn new(ingest: Ingest, max_message_size: usize) -> Self {
        ExportService { inner: Arc::new(Inner { ingest, max_message_size }), _signal: PhantomData }
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
            let bytes = request.into_inner();
            let payload = S::from_protobuf(bytes).map_err(|e| {
                inner.ingest.metrics().receiver_request(Transport::Grpc, S::SIGNAL, RequestOutcome::Invalid);
                Status::invalid_argument(format!("malformed OTLP protobuf: {e}"))
            })?;
            match inner.ingest.ingest(payload, Transport::Grpc).await {
                Ok(outcome) => Ok(tonic::Response::new(S::response(outcome.rejected, outcome.message))),
                Err(err) => Err(retryable_status(&err)),
            }
        })
    }
}

/// UNAVAILABLE with RetryInfo: every OTLP client retries it, after the suggested delay.
fn retryable_status(err: &IngestError) -> Status {
    Status::with_error_details(
        Code::Unavailable,
        err.to_string(),
        ErrorDetails::with_retry_info(Some(err.retry_after())),
    )
}
