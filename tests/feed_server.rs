//! A local HTTP server of RSS/Atom/JSON feeds for the `rss` plugin's
//! integration tests: real sockets on 127.0.0.1, an ephemeral port, and
//! counters to check what the host fetched.
//!
//! Routes:
//! - `/feeds/<file>`: a file of `tests/fixtures/feeds` with its Content-Type
//!   (no charset: the XML declaration is what tells the encoding), an `ETag`
//!   and a `Last-Modified`; `304 Not Modified` on a matching `If-None-Match`
//!   or, when there is none, a satisfied `If-Modified-Since`.
//! - any path given to [`FeedServer::set_body`]: that body, same validators
//!   (a fixture path is overridden).
//! - `/slow.xml`: `rss20.xml` after 30 s (timeout tests).
//! - `/huge.xml`: ~20 MB of valid-looking RSS, streamed chunked without a
//!   `Content-Length` (a client must cap while reading);
//!   `/huge-with-length.xml`: the same, announcing its `Content-Length`.
//! - `/redirect.xml`: `302` to `/feeds/rss20.xml`.
//! - `/status/<code>`: that status (e.g. `/status/500`).
//!
//! Dependencies of the harness crate (`tests/Cargo.toml`), besides tokio and
//! anyhow:
//!
//! ```toml
//! axum = { version = "0.8", default-features = false, features = ["tokio", "http1"] }
//! futures-util = { version = "0.3", default-features = false }
//! httpdate = "1"
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// How long `/slow.xml` waits before answering.
pub const SLOW_DELAY: Duration = Duration::from_secs(30);
/// Approximate size of `/huge.xml`, in bytes.
pub const HUGE_BYTES: usize = 20 * 1024 * 1024;

/// Last-Modified of the fixtures; bodies set at runtime are dated after it.
const FIXTURES_MODIFIED: u64 = 1_762_941_600; // 2025-11-12 10:00:00 UTC
/// Size of one chunk of `/huge.xml`.
const HUGE_CHUNK: usize = 64 * 1024;
const HUGE_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
    <title>Flux énorme</title><link>https://huge.example.org/</link>\
    <description>Flux de test de plus de 20 Mo</description>\n";
const HUGE_TAIL: &str = "</channel></rss>\n";

/// A running feed server; stops accepting connections when dropped.
pub struct FeedServer {
    /// Where it listens (127.0.0.1, ephemeral port).
    pub addr: SocketAddr,
    state: Arc<ServerState>,
    task: tokio::task::JoinHandle<()>,
}

struct ServerState {
    fixtures: PathBuf,
    /// Bodies set at runtime, by path.
    bodies: Mutex<HashMap<String, Feed>>,
    /// Requests received, by path (query excluded).
    hits: Mutex<HashMap<String, usize>>,
    /// Of which answered 304, by path.
    not_modified: Mutex<HashMap<String, usize>>,
    /// Counts `set_body` calls so that each new body gets a later date.
    version: AtomicU64,
}

#[derive(Clone)]
struct Feed {
    body: Bytes,
    content_type: String,
    modified: SystemTime,
}

impl FeedServer {
    /// Binds 127.0.0.1 on a free port and serves in the background.
    pub async fn start() -> anyhow::Result<FeedServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("liaison du serveur de flux")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ServerState {
            fixtures: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/feeds"),
            bodies: Mutex::default(),
            hits: Mutex::default(),
            not_modified: Mutex::default(),
            version: AtomicU64::new(0),
        });
        // One fallback handler: paths set at runtime can be anything.
        let app = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FeedServer { addr, state, task })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received for `path` (query string excluded).
    pub fn hits(&self, path: &str) -> usize {
        count(&self.state.hits, path)
    }

    /// Requests for `path` answered `304 Not Modified`.
    pub fn not_modified(&self, path: &str) -> usize {
        count(&self.state.not_modified, path)
    }

    /// Serves `body` at `path` from now on (a new ETag and a later
    /// Last-Modified), to test refreshes and dedupe.
    pub fn set_body(&self, path: &str, body: Vec<u8>, content_type: &str) {
        let version = self.state.version.fetch_add(1, Ordering::Relaxed) + 1;
        let feed = Feed {
            body: body.into(),
            content_type: content_type.to_owned(),
            modified: UNIX_EPOCH + Duration::from_secs(FIXTURES_MODIFIED + 60 * version),
        };
        lock(&self.state.bodies).insert(path.to_owned(), feed);
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking test must not turn every later assertion into a poison error.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn count(counter: &Mutex<HashMap<String, usize>>, path: &str) -> usize {
    lock(counter).get(path).copied().unwrap_or(0)
}

fn bump(counter: &Mutex<HashMap<String, usize>>, path: &str) {
    *lock(counter).entry(path.to_owned()).or_default() += 1;
}

async fn handle(State(state): State<Arc<ServerState>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_owned();
    bump(&state.hits, &path);
    let runtime_body = lock(&state.bodies).get(&path).cloned();
    if let Some(feed) = runtime_body {
        return conditional(&state, &path, &headers, feed);
    }
    match path.as_str() {
        "/slow.xml" => {
            tokio::time::sleep(SLOW_DELAY).await;
            match fixture(&state, "rss20.xml") {
                Some(feed) => feed_response(feed),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        "/huge.xml" => huge(false),
        "/huge-with-length.xml" => huge(true),
        "/redirect.xml" => {
            (StatusCode::FOUND, [(header::LOCATION, "/feeds/rss20.xml")]).into_response()
        }
        _ => {
            if let Some(code) = path.strip_prefix("/status/") {
                return match code.parse().ok().and_then(|c| StatusCode::from_u16(c).ok()) {
                    Some(status) => (status, format!("statut {status}\n")).into_response(),
                    None => StatusCode::BAD_REQUEST.into_response(),
                };
            }
            match path
                .strip_prefix("/feeds/")
                .and_then(|name| fixture(&state, name))
            {
                Some(feed) => conditional(&state, &path, &headers, feed),
                None => (StatusCode::NOT_FOUND, "flux inconnu\n").into_response(),
            }
        }
    }
}

/// A fixture file, if `name` is a plain file name of the fixtures folder.
fn fixture(state: &ServerState, name: &str) -> Option<Feed> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !plain {
        return None;
    }
    let body = std::fs::read(state.fixtures.join(name)).ok()?;
    let content_type = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("json") => "application/feed+json",
        Some("html") => "text/html; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("xml") if is_atom(&body) => "application/atom+xml",
        Some("xml") => "application/rss+xml",
        _ => "application/octet-stream",
    };
    Some(Feed {
        body: body.into(),
        content_type: content_type.to_owned(),
        modified: UNIX_EPOCH + Duration::from_secs(FIXTURES_MODIFIED),
    })
}

fn is_atom(body: &[u8]) -> bool {
    body.windows(5).any(|w| w == b"<feed")
}

/// The feed, or `304` when the client's validators match (RFC 9110 §13.1:
/// `If-Modified-Since` only counts when there is no `If-None-Match`).
fn conditional(state: &ServerState, path: &str, headers: &HeaderMap, feed: Feed) -> Response {
    let etag = etag(&feed.body);
    let fresh = match headers.get(header::IF_NONE_MATCH) {
        Some(value) => value.to_str().is_ok_and(|tags| {
            tags.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == etag)
        }),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| feed.modified <= since),
    };
    if fresh {
        bump(&state.not_modified, path);
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        set_validators(response.headers_mut(), &etag, feed.modified);
        return response;
    }
    let modified = feed.modified;
    let mut response = feed_response(feed);
    set_validators(response.headers_mut(), &etag, modified);
    response
}

fn feed_response(feed: Feed) -> Response {
    let mut response = feed.body.into_response();
    if let Ok(value) = HeaderValue::from_str(&feed.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn set_validators(headers: &mut HeaderMap, etag: &str, modified: SystemTime) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(modified)) {
        headers.insert(header::LAST_MODIFIED, value);
    }
}

/// A strong ETag: the quoted FNV-1a hash of the body.
fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// ~20 MB of RSS produced chunk by chunk, so it is never all in memory.
fn huge(announce_length: bool) -> Response {
    let chunk = huge_chunk();
    let chunks = HUGE_BYTES / chunk.len();
    let length = HUGE_HEAD.len() + chunks * chunk.len() + HUGE_TAIL.len();
    let parts = std::iter::once(Bytes::from_static(HUGE_HEAD.as_bytes()))
        .chain(std::iter::repeat_n(chunk, chunks))
        .chain(std::iter::once(Bytes::from_static(HUGE_TAIL.as_bytes())))
        .map(Ok::<_, Infallible>);
    let mut response = Body::from_stream(futures_util::stream::iter(parts)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/rss+xml"),
    );
    if announce_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}

/// One 64 KiB chunk of items (shared, since `Bytes` clones are cheap).
fn huge_chunk() -> Bytes {
    let item = "<item><title>Entrée répétée</title><link>https://huge.example.org/x</link>\
        <description>Du texte pour remplir le flux, encore et encore.</description></item>\n";
    let mut chunk = String::with_capacity(HUGE_CHUNK + item.len());
    while chunk.len() < HUGE_CHUNK {
        chunk.push_str(item);
    }
    Bytes::from(chunk)
}
