//! Logs and metrics: one tracing subscriber, one Prometheus recorder, request metrics.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// The default log filter: sqlx logs every statement at INFO.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn";

/// Installs the process-wide tracing subscriber. `json` selects JSON lines (production).
pub fn init_tracing(filter: Option<&str>, json: bool) {
    let filter = EnvFilter::try_new(filter.unwrap_or(DEFAULT_LOG_FILTER))
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // A second installation (tests, embedding) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder once per process.
pub fn init_metrics() {
    METRICS.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).ok().map(|()| handle)
    });
}

/// Every metric in Prometheus text format.
pub fn render_metrics() -> String {
    init_metrics();
    METRICS
        .get()
        .and_then(|h| h.as_ref())
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// Counts requests and times them, by method, route pattern and status.
pub async fn track_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let response = next.call(req).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("syncd_http_requests_total", &labels).increment(1);
    metrics::histogram!("syncd_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    Ok(response)
}
