//! HTTP GET to the outside world, performed by the host: only to hosts that the
//! manifest (`[outbound] hosts`) and an administrator allow, never to private
//! addresses, with a timeout and a size cap. Waiting on the network does not count
//! against the plugin's deadline.

use crate::bindings::preau::plugin::outbound as host;

/// A response.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// HTTP status (304 for a conditional GET that found nothing new).
    pub status: u16,
    /// Selected headers (content-type, etag, last-modified, cache-control), lower-case names.
    pub headers: Vec<(String, String)>,
    /// Body, empty for a 304.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response came back.
#[derive(Clone, Debug, PartialEq)]
pub enum FetchError {
    /// The host is not allowed (the message says by whom).
    NotAllowed(String),
    /// Not an absolute http(s) URL.
    InvalidUrl(String),
    /// No answer in time.
    Timeout,
    /// The body went past the size cap (bytes).
    TooLarge(u64),
    /// DNS, connection, TLS or protocol failure.
    Failed(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::NotAllowed(m) => write!(f, "accès refusé : {m}"),
            FetchError::InvalidUrl(m) => f.write_str(m),
            FetchError::Timeout => f.write_str("pas de réponse dans le délai imparti"),
            FetchError::TooLarge(n) => {
                write!(f, "réponse trop volumineuse (plus de {} Ko)", n / 1024)
            }
            FetchError::Failed(m) => write!(f, "injoignable : {m}"),
        }
    }
}

/// GET `url` with optional request headers (accept, accept-language,
/// if-none-match, if-modified-since; others are dropped by the host).
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<HttpResponse, FetchError> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    host::get(url, &headers)
        .map(|r| HttpResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
        .map_err(|e| match e {
            host::FetchError::NotAllowed(m) => FetchError::NotAllowed(m),
            host::FetchError::InvalidUrl(m) => FetchError::InvalidUrl(m),
            host::FetchError::Timeout => FetchError::Timeout,
            host::FetchError::TooLarge(n) => FetchError::TooLarge(n),
            host::FetchError::Failed(m) => FetchError::Failed(m),
        })
}
