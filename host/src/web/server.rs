//! The accept loop: one hyper HTTP/1 connection per client, with the limits
//! that keep slow or greedy clients from holding the server:
//!
//! - **headers**: a request's head must arrive within
//!   [`Config::header_read_timeout`] (hyper's timer, which also runs while a
//!   kept-alive connection waits for its next request: an idle connection
//!   closes after that long too);
//! - **body**: the whole body must arrive within [`Config::body_read_timeout`]
//!   of the head, plus a second per 128 KiB it declares (an upload;
//!   [`upload_allowance`]) ([`DeadlineBody`]); past it, reading fails, the
//!   handler answers and the connection closes;
//! - **silence**: a connection on which no byte moves either way for
//!   [`Config::idle_timeout`] while no request is being handled (a client
//!   that stopped reading its response) is closed;
//! - **per address**: at most [`Config::max_connections_per_address`]
//!   connections at once from one client address (an IPv4 address, an IPv6
//!   /64; trusted proxies are not counted): beyond, the connection gets a
//!   bare 503 and is closed.
//!
//! The peer address is put in each request as `ConnectInfo<SocketAddr>` (the
//! sign-in limiter and `/metrics` read it). Once `stop` completes, the
//! listener is closed and every connection finishes its request in flight
//! (hyper-util's `GracefulShutdown`).
//!
//! [`Config::header_read_timeout`]: crate::Config::header_read_timeout
//! [`Config::body_read_timeout`]: crate::Config::body_read_timeout
//! [`Config::idle_timeout`]: crate::Config::idle_timeout
//! [`Config::max_connections_per_address`]: crate::Config::max_connections_per_address

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body::Frame;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::App;

/// Serves `app` on `listener` until `stop` completes, then until the
/// connections have finished (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let router = super::router(app.clone());
    let limits = Limits::of(&app.config);
    let counts = Arc::new(AddressCounts::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header)
        .keep_alive(true);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: wait, as axum::serve does.
                    tracing::warn!("connexion refusée par le système : {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let key = (!app.config.trusted_proxies.contains(&peer.ip()))
            .then(|| super::auth::address_key(peer.ip()));
        let Some(slot) = counts.take(key, limits.per_address) else {
            // A bare answer, best effort (never waits), then closed.
            let _ = stream.try_write(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
        });
        let service = {
            let router = router.clone();
            let activity = activity.clone();
            let body_timeout = limits.body;
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut router = router.clone();
                let busy = Busy::new(activity.clone());
                let allowance = body_timeout + upload_allowance(request.headers());
                let mut request = request.map(|body| Body::new(DeadlineBody::new(body, allowance)));
                request.extensions_mut().insert(ConnectInfo(peer));
                async move {
                    let _busy = busy;
                    tower_service::Service::call(&mut router, request).await
                }
            })
        };
        let connection = http.serve_connection(io, service);
        let connection = graceful.watch(connection);
        let idle = limits.idle;
        tokio::spawn(async move {
            let _slot = slot;
            tokio::select! {
                _ = connection => {}
                () = activity.silence(idle) => {}
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Slowest upload rate a large body may arrive at: past
/// [`Config::body_read_timeout`](crate::Config::body_read_timeout), a body gets
/// one more second per this many bytes it declares (a file sent over a school's
/// slow uplink), never more than [`MAX_UPLOAD_ALLOWANCE`].
const SLOWEST_UPLOAD_BYTES_PER_SECOND: u64 = 128 << 10;
const MAX_UPLOAD_ALLOWANCE: Duration = Duration::from_secs(15 * 60);

/// The extra time a body of the declared `Content-Length` gets.
fn upload_allowance(headers: &axum::http::HeaderMap) -> Duration {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_secs(declared / SLOWEST_UPLOAD_BYTES_PER_SECOND).min(MAX_UPLOAD_ALLOWANCE)
}

/// The limits of [`serve`], read once.
struct Limits {
    header: Duration,
    body: Duration,
    idle: Duration,
    per_address: usize,
}

impl Limits {
    fn of(config: &crate::Config) -> Limits {
        Limits {
            header: config.header_read_timeout,
            body: config.body_read_timeout,
            idle: config.idle_timeout,
            per_address: config.max_connections_per_address,
        }
    }
}

/// Open connections per client address key.
#[derive(Default)]
struct AddressCounts(Mutex<HashMap<String, usize>>);

/// One counted connection; uncounted on drop.
struct Slot {
    counts: Arc<AddressCounts>,
    key: Option<String>,
}

impl AddressCounts {
    /// A slot for `key` if it has fewer than `cap` connections open; `None`
    /// keys (trusted proxies) are not counted.
    fn take(self: &Arc<Self>, key: Option<String>, cap: usize) -> Option<Slot> {
        if let Some(key) = &key {
            let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let count = counts.entry(key.clone()).or_insert(0);
            if *count >= cap {
                return None;
            }
            *count += 1;
        }
        Some(Slot {
            counts: self.clone(),
            key,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(count) = counts.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(key);
                }
            }
        }
    }
}

/// When a connection last moved a byte, and how many of its requests are
/// being handled.
struct Activity {
    start: Instant,
    /// Milliseconds since `start`.
    last: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last.store(now, Ordering::Relaxed);
    }

    /// Completes once nothing has moved for `idle` and no request is being handled.
    async fn silence(&self, idle: Duration) {
        let idle_ms = idle.as_millis() as u64;
        loop {
            let now = self.start.elapsed().as_millis() as u64;
            let quiet = now.saturating_sub(self.last.load(Ordering::Relaxed));
            if quiet >= idle_ms && self.busy.load(Ordering::SeqCst) == 0 {
                return;
            }
            let wait = idle_ms.saturating_sub(quiet).max(idle_ms / 4).max(10);
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
}

/// A request being handled; the connection counts as active meanwhile.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: Arc<Activity>) -> Busy {
        activity.busy.fetch_add(1, Ordering::SeqCst);
        Busy(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The TCP stream, noting every byte read or written.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A request body that must arrive whole before a deadline (set when the
/// head was read); past it, reading fails.
struct DeadlineBody {
    inner: hyper::body::Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl DeadlineBody {
    fn new(inner: hyper::body::Incoming, timeout: Duration) -> DeadlineBody {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

/// The body did not arrive in time.
#[derive(Debug)]
struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("corps de la requête reçu trop lentement")
    }
}

impl std::error::Error for BodyTimeout {}

impl http_body::Body for DeadlineBody {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
