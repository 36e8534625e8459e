//! Outbound HTTP on a plugin's behalf: GET only, to hosts both the plugin's manifest
//! and an administrator allow, never to private addresses (unless the host is
//! configured for tests), with a timeout, a size cap and checked redirects.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Largest body any plugin may receive, whatever its manifest says.
pub const MAX_BODY_BYTES: u64 = 8 << 20;
/// Body cap when the manifest does not set one.
pub const DEFAULT_BODY_BYTES: u64 = 2 << 20;
/// Redirects followed, each checked like the original URL.
const MAX_REDIRECTS: usize = 3;
/// Request headers a plugin may set.
const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "if-none-match",
    "if-modified-since",
];
/// Response headers passed back to the plugin.
const RETURNED_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "etag",
    "last-modified",
    "cache-control",
    "location",
];

/// Why a fetch produced no response.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchError {
    /// Host refused; the message names who refuses it.
    NotAllowed(String),
    /// Not an absolute http(s) URL.
    InvalidUrl(String),
    /// No answer in time.
    Timeout,
    /// Body past the cap.
    TooLarge(u64),
    /// DNS, connection, TLS or protocol failure.
    Failed(String),
}

/// A response as the plugin sees it.
#[derive(Debug, Clone)]
pub struct FetchResponse {
    /// HTTP status.
    pub status: u16,
    /// Selected headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// Body (empty for 304).
    pub body: Vec<u8>,
}

/// Which hosts one plugin may reach in one establishment.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// Patterns from the manifest (`*`, `*.example.org`, `example.org`).
    pub manifest: Vec<String>,
    /// Hosts approved by the region's and the establishment's administrators.
    pub approved: Vec<String>,
    /// Body cap in bytes.
    pub max_bytes: u64,
}

/// Whether `host` (lower case, no port) matches `pattern`.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() && host.ends_with(&format!(".{suffix}")),
        None => pattern == host,
    }
}

impl HostPolicy {
    /// `None` when `host` may be reached, else who refuses it (French).
    pub fn refusal(&self, host: &str) -> Option<String> {
        let host = host.to_ascii_lowercase();
        if !self.manifest.iter().any(|p| host_matches(p, &host)) {
            return Some(format!(
                "le manifeste du service n'autorise pas l'hôte « {host} »"
            ));
        }
        // An administrator approves hosts one by one or by `*.domain`, never `*`.
        if !self
            .approved
            .iter()
            .filter(|p| p.trim() != "*")
            .any(|p| host_matches(p, &host))
        {
            return Some(format!(
                "l'hôte « {host} » n'a pas été autorisé par un administrateur"
            ));
        }
        None
    }
}

/// Parses an administrator's list of approved hosts, one per line (`example.org`
/// or `*.example.org`); the error names the line.
pub fn parse_approved_hosts(text: &str) -> Result<Vec<String>, String> {
    let mut hosts: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let host = line.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            continue;
        }
        let name = host.strip_prefix("*.").unwrap_or(&host);
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if host == "*" {
            problems.push(format!(
                "Ligne {} : « * » autoriserait n'importe quel site ; indiquez les sites un par un ou par domaine (*.exemple.fr).",
                number + 1
            ));
            continue;
        }
        if name.len() > 253 || !name.split('.').all(valid_label) {
            problems.push(format!(
                "Ligne {} : « {} » n'est pas un nom d'hôte (exemple : dane.ac-lyon.fr ou *.ac-lyon.fr).",
                number + 1,
                line.trim()
            ));
            continue;
        }
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    if hosts.len() > 500 {
        problems.push("500 sites au plus.".into());
    }
    if problems.is_empty() {
        Ok(hosts)
    } else {
        Err(problems.join(" "))
    }
}

/// Whether an address is reachable from the public internet (SSRF guard).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                // Carrier-grade NAT 100.64/10, benchmarking 198.18/15, reserved 240/4.
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link local
        }
    }
}

/// Resolves like ureq does, then drops non-public addresses, so that the address
/// checked is the address connected to (no DNS-rebinding window).
#[derive(Debug)]
struct PublicAddressesOnly {
    inner: DefaultResolver,
}

impl Resolver for PublicAddressesOnly {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = self.inner.resolve(uri, config, timeout)?;
        let mut public = self.empty();
        for addr in resolved.iter().filter(|a| is_public(a.ip())) {
            public.push(*addr);
        }
        if public.is_empty() {
            return Err(ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "adresse privée ou réservée refusée",
            )));
        }
        Ok(public)
    }
}

/// The host's HTTP client for plugins.
#[derive(Clone)]
pub struct Outbound {
    agent: ureq::Agent,
}

impl Outbound {
    /// A client with a `timeout` per request; `allow_private` lets tests reach 127.0.0.1.
    pub fn new(timeout: Duration, allow_private: bool) -> Outbound {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(concat!(
                "Preau/",
                env!("CARGO_PKG_VERSION"),
                " (ENT; agregateur)"
            ))
            .build();
        let agent = if allow_private {
            ureq::Agent::with_parts(
                config,
                DefaultConnector::default(),
                DefaultResolver::default(),
            )
        } else {
            ureq::Agent::with_parts(
                config,
                DefaultConnector::default(),
                PublicAddressesOnly {
                    inner: DefaultResolver::default(),
                },
            )
        };
        Outbound { agent }
    }

    /// GET `url` for a plugin bound by `policy`. Blocking: call it off the async runtime.
    pub fn get(
        &self,
        policy: &HostPolicy,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<FetchResponse, FetchError> {
        let mut url = checked_url(policy, url)?;
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.agent.get(url.as_str());
            for (name, value) in headers {
                let name = name.to_ascii_lowercase();
                if FORWARDED_REQUEST_HEADERS.contains(&name.as_str()) && value.len() < 1024 {
                    request = request.header(name.as_str(), value.as_str());
                }
            }
            let mut response = request.call().map_err(classify)?;
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            if (300..400).contains(&status)
                && status != 304
                && let Some(location) = header("location")
            {
                let next = url
                    .join(&location)
                    .map_err(|e| FetchError::InvalidUrl(format!("redirection invalide : {e}")))?;
                url = checked_url(policy, next.as_str())?;
                continue;
            }
            let returned: Vec<(String, String)> = RETURNED_RESPONSE_HEADERS
                .iter()
                .filter_map(|name| header(name).map(|v| (name.to_string(), v)))
                .collect();
            let body = if status == 304 {
                Vec::new()
            } else {
                response
                    .body_mut()
                    .with_config()
                    .limit(policy.max_bytes.min(MAX_BODY_BYTES))
                    .read_to_vec()
                    .map_err(classify)?
            };
            return Ok(FetchResponse {
                status,
                headers: returned,
                body,
            });
        }
        Err(FetchError::Failed(format!(
            "plus de {MAX_REDIRECTS} redirections"
        )))
    }
}

fn checked_url(policy: &HostPolicy, raw: &str) -> Result<url::Url, FetchError> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| FetchError::InvalidUrl(format!("adresse invalide : {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::InvalidUrl(format!(
            "seules les adresses http et https sont acceptées (pas « {} »)",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::InvalidUrl(
            "les identifiants dans l'adresse sont refusés".into(),
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(FetchError::InvalidUrl("adresse sans hôte".into()));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Some(refusal) = policy.refusal(host) {
        return Err(FetchError::NotAllowed(refusal));
    }
    Ok(url)
}

fn classify(error: ureq::Error) -> FetchError {
    match error {
        ureq::Error::Timeout(_) => FetchError::Timeout,
        ureq::Error::BodyExceedsLimit(limit) => FetchError::TooLarge(limit),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => FetchError::Timeout,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            FetchError::NotAllowed(e.to_string())
        }
        ureq::Error::HostNotFound => FetchError::Failed(NAME_NOT_FOUND.into()),
        other => {
            // The system's message (English, technical) goes to the log; people
            // read a French sentence (it ends up on the service's pages).
            tracing::info!("requête sortante échouée : {other}");
            FetchError::Failed(french_reason(&other).into())
        }
    }
}

const NAME_NOT_FOUND: &str =
    "hôte introuvable : le nom du site n'existe pas ou le serveur de noms ne répond pas";

/// A French sentence for a failed request, from the error's kind (or its text,
/// where the resolver or TLS give no kind).
fn french_reason(error: &ureq::Error) -> &'static str {
    use std::io::ErrorKind;
    let text = error.to_string().to_lowercase();
    let name_lookup = [
        "failed to lookup address",
        "name or service not known",
        "temporary failure in name resolution",
        "nodename nor servname",
        "no such host",
    ];
    if name_lookup.iter().any(|m| text.contains(m)) {
        return NAME_NOT_FOUND;
    }
    if let ureq::Error::Io(e) = error {
        return match e.kind() {
            ErrorKind::ConnectionRefused => "connexion refusée par le serveur",
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                "connexion interrompue par le serveur"
            }
            ErrorKind::UnexpectedEof => "réponse interrompue avant la fin",
            ErrorKind::AddrNotAvailable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkDown => "serveur inaccessible depuis le réseau de l'ENT",
            _ => "erreur réseau",
        };
    }
    if text.contains("tls") || text.contains("certificate") || text.contains("certificat") {
        return "échec de la connexion sécurisée (certificat ou TLS)";
    }
    if text.contains("redirect") {
        return "trop de redirections";
    }
    if text.contains("http") || text.contains("protocol") || text.contains("header") {
        return "réponse invalide du serveur";
    }
    "échec de la requête"
}

/// Shared by every call state.
pub type SharedOutbound = Arc<Outbound>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_errors_become_french_sentences() {
        let lookup = ureq::Error::Io(std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        ));
        assert_eq!(french_reason(&lookup), NAME_NOT_FOUND);
        let refused = ureq::Error::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert_eq!(french_reason(&refused), "connexion refusée par le serveur");
        let FetchError::Failed(message) = classify(lookup) else {
            panic!("échec attendu");
        };
        assert!(!message.contains("lookup") && message.starts_with("hôte introuvable"));
    }

    fn policy(manifest: &[&str], approved: &[&str]) -> HostPolicy {
        HostPolicy {
            manifest: manifest.iter().map(|s| s.to_string()).collect(),
            approved: approved.iter().map(|s| s.to_string()).collect(),
            max_bytes: DEFAULT_BODY_BYTES,
        }
    }

    #[test]
    fn both_manifest_and_administrator_must_allow() {
        let p = policy(&["*"], &["*.ac-lyon.fr", "eduscol.education.fr"]);
        assert!(p.refusal("dane.ac-lyon.fr").is_none());
        assert!(p.refusal("eduscol.education.fr").is_none());
        assert!(p.refusal("ac-lyon.fr.evil.com").is_some());
        assert!(p.refusal("evilac-lyon.fr").is_some());
        let p = policy(&["*.education.fr"], &["*"]);
        assert!(
            p.refusal("eduscol.education.fr").is_some(),
            "admin `*` is ignored"
        );
        let p = policy(
            &["*.education.fr"],
            &["eduscol.education.fr", "example.org"],
        );
        assert!(p.refusal("example.org").unwrap().contains("manifeste"));
        assert!(
            policy(&[], &["example.org"])
                .refusal("example.org")
                .is_some()
        );
    }

    #[test]
    fn approved_host_lists_are_validated_line_by_line() {
        assert_eq!(
            parse_approved_hosts("dane.ac-lyon.fr\n\n*.Education.fr\ndane.ac-lyon.fr").unwrap(),
            vec!["dane.ac-lyon.fr", "*.education.fr"]
        );
        assert!(
            parse_approved_hosts("ok.fr\n*")
                .unwrap_err()
                .starts_with("Ligne 2")
        );
        let both = parse_approved_hosts("http://x.fr/\nok.fr\na b").unwrap_err();
        assert!(
            both.starts_with("Ligne 1") && both.contains("Ligne 3"),
            "{both}"
        );
        assert!(parse_approved_hosts("a..b").is_err());
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["193.51.24.1", "2001:660::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_before_any_connection() {
        let p = policy(&["*"], &["example.org"]);
        let o = Outbound::new(Duration::from_secs(1), false);
        assert!(matches!(
            o.get(&p, "file:///etc/passwd", &[]),
            Err(FetchError::InvalidUrl(_))
        ));
        assert!(matches!(
            o.get(&p, "http://user:pw@example.org/", &[]),
            Err(FetchError::InvalidUrl(_))
        ));
        assert!(matches!(
            o.get(&p, "http://other.org/", &[]),
            Err(FetchError::NotAllowed(_))
        ));
        // Approved by name but resolving to a private address: refused at resolution.
        let p = policy(&["*"], &["localhost"]);
        assert!(matches!(
            o.get(&p, "http://localhost:9/", &[]),
            Err(FetchError::NotAllowed(_))
        ));
    }
}
