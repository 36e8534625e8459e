//! The HTTP side of the operator metrics ([`crate::metrics`]): the layer that
//! counts every request, and `GET /metrics` for allowed client addresses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::App;
use crate::metrics::{Gauges, may_scrape, route_class};

/// Counts a request by route class and status class, and its latency.
pub async fn record(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let class = route_class(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let response = next.run(request).await;
    app.metrics
        .request(class, response.status().as_u16(), started.elapsed());
    response
}

/// Headers a reverse proxy adds: present without a trusted proxy, the request
/// came through one nobody declared.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

/// GET /metrics: the Prometheus text for the addresses of `metrics_allow`;
/// anyone else gets the ordinary 404 page (the route does not show).
pub async fn serve(
    State(app): State<Arc<App>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let trusted = &app.config.trusted_proxies;
    let client = super::auth::client_address(peer, &headers, trusted);
    let from_trusted_proxy = peer.is_some_and(|p| {
        trusted
            .iter()
            .any(|t| crate::metrics::IpRange::from(*t).contains(p))
    });
    let undeclared_proxy =
        !from_trusted_proxy && FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h));
    if !may_scrape(client, undeclared_proxy, &app.config.metrics_allow) {
        // Only a refused scrape needs the visitor (its themed 404 page).
        let visitor = super::visitor::Visitor::from_headers(&app, &headers, uri.path());
        return super::not_found(State(app), visitor).await;
    }
    let store_bytes = app.directory.store().size_on_disk().unwrap_or_else(|e| {
        tracing::error!("taille de la base : {e:#}");
        None
    });
    let plugins = app
        .runtime
        .plugins()
        .iter()
        .map(|p| p.manifest.id.clone())
        .collect();
    let text = app.metrics.render(&Gauges {
        plugin_calls: &app.runtime.call_metrics,
        plugins,
        store_bytes,
        store_writable: app.directory.store().health() == crate::store::Health::Healthy,
        store_reads: app.directory.store().read_count(),
        fragments: (
            app.fragments
                .hits
                .load(std::sync::atomic::Ordering::Relaxed),
            app.fragments
                .misses
                .load(std::sync::atomic::Ordering::Relaxed),
            app.fragments.bytes(),
        ),
        plugin_blocking_tasks: app
            .runtime
            .blocking_tasks
            .load(std::sync::atomic::Ordering::Relaxed),
    });
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}
