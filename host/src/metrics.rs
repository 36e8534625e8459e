//! Operator metrics in the Prometheus text exposition format (`GET /metrics`).
//!
//! Plain atomics, no metrics crate: a handful of counters and one histogram
//! family. Every label has a bounded set of values: route classes derived
//! from the route pattern (never a path, a user or an establishment), status
//! classes, sign-in outcomes, and plugin ids (plugins are the region's
//! installed services, a bounded set).
//!
//! Who may read them is decided by [`may_scrape`] against
//! [`crate::Config::metrics_allow`] (loopback only by default).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// What part of the host a request went to: the `class` label of the HTTP series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteClass {
    /// Portal pages: region and establishment home pages, rubriques, news, account…
    Portal,
    /// A plugin's pages (`/e/<UAI>/<plugin>/…`, also inside a rubrique).
    Plugin,
    /// Administration (`/admin…`).
    Admin,
    /// Sign-in and sign-out.
    Auth,
    /// The CAS server.
    Cas,
    /// Static files, establishment stylesheets and banners.
    Static,
    /// Everything else: `/healthz`, `/metrics`, addresses that match no route.
    Other,
}

impl RouteClass {
    /// Every class, in the order of the exposition.
    pub const ALL: [RouteClass; 7] = [
        RouteClass::Portal,
        RouteClass::Plugin,
        RouteClass::Admin,
        RouteClass::Auth,
        RouteClass::Cas,
        RouteClass::Static,
        RouteClass::Other,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            RouteClass::Portal => "portal",
            RouteClass::Plugin => "plugin",
            RouteClass::Admin => "admin",
            RouteClass::Auth => "auth",
            RouteClass::Cas => "cas",
            RouteClass::Static => "static",
            RouteClass::Other => "other",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The class of a request from the route pattern it matched (axum's
/// `MatchedPath`, e.g. `/e/{uai}/{plugin}/{*rest}`); `None` when no route
/// matched.
pub fn route_class(pattern: Option<&str>) -> RouteClass {
    let Some(p) = pattern else {
        return RouteClass::Other;
    };
    if p == "/static" || p.starts_with("/static/") {
        RouteClass::Static
    } else if p == "/admin" || p.starts_with("/admin/") {
        RouteClass::Admin
    } else if p == "/login" || p == "/logout" {
        RouteClass::Auth
    } else if p.starts_with("/cas/") {
        RouteClass::Cas
    } else if p.starts_with("/e/") && (p.ends_with("/theme.css") || p.ends_with("/banniere")) {
        RouteClass::Static
    } else if p.starts_with("/e/") && p.contains("{plugin}") {
        RouteClass::Plugin
    } else if p == "/healthz" || p == "/metrics" {
        RouteClass::Other
    } else {
        RouteClass::Portal
    }
}

/// Status classes, `1xx` to `5xx`.
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

fn status_index(status: u16) -> usize {
    (status / 100).clamp(1, 5) as usize - 1
}

/// Upper bounds of the latency histogram, in seconds (then `+Inf`).
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A latency histogram: a count per bucket (not cumulative), the sum in microseconds.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// Outcomes of a plugin call: the `outcome` label.
const OUTCOMES: [&str; 5] = ["ok", "trap", "timeout", "out_of_memory", "error"];

/// How a plugin call ended (the runtime says which): the `outcome` label, in
/// the order of [`OUTCOMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    Trap,
    Timeout,
    OutOfMemory,
    Error,
}

/// Plugin calls per plugin and outcome. Kept by the runtime, which knows each
/// call's outcome.
#[derive(Default)]
pub struct PluginCalls {
    by_plugin: RwLock<BTreeMap<String, Arc<[AtomicU64; OUTCOMES.len()]>>>,
}

impl PluginCalls {
    /// Counts one call of `plugin` that ended with `result`.
    pub fn record(&self, plugin: &str, outcome: CallOutcome) {
        let outcome = outcome as usize;
        let known = self
            .by_plugin
            .read()
            .expect("verrou des métriques")
            .get(plugin)
            .cloned();
        let counters = match known {
            Some(counters) => counters,
            None => self
                .by_plugin
                .write()
                .expect("verrou des métriques")
                .entry(plugin.to_string())
                .or_default()
                .clone(),
        };
        counters[outcome].fetch_add(1, Ordering::Relaxed);
    }

    /// Calls of every plugin, whatever their outcome.
    pub fn total(&self) -> u64 {
        self.snapshot().iter().flat_map(|(_, counts)| counts).sum()
    }

    /// (plugin, counts per outcome), by plugin id.
    fn snapshot(&self) -> Vec<(String, [u64; OUTCOMES.len()])> {
        self.by_plugin
            .read()
            .expect("verrou des métriques")
            .iter()
            .map(|(id, counters)| (id.clone(), counters.each_ref().map(load)))
            .collect()
    }
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// The host's counters (one set per running [`crate::App`]).
#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; STATUS_CLASSES.len()]; RouteClass::ALL.len()],
    latency: [Histogram; RouteClass::ALL.len()],
    /// Successful sign-ins, then failed ones (wrong login or password).
    sign_ins: [AtomicU64; 2],
}

/// What is read at scrape time rather than counted.
pub struct Gauges<'a> {
    /// The plugin calls the runtime counted.
    pub plugin_calls: &'a PluginCalls,
    /// The plugins loaded now (listed even before their first call).
    pub plugins: Vec<String>,
    /// The store's size on disk, when the engine can tell.
    pub store_bytes: Option<u64>,
    /// Whether the store takes writes now (false: disk full or engine failed).
    pub store_writable: bool,
    /// Reads the store engine served (None: not counted).
    pub store_reads: Option<u64>,
    /// The fragment cache: blocks served from it, blocks rendered, bytes held.
    pub fragments: (u64, u64, u64),
    /// Blocking tasks started for plugin calls.
    pub plugin_blocking_tasks: u64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, class: RouteClass, status: u16, elapsed: Duration) {
        self.requests[class.index()][status_index(status)].fetch_add(1, Ordering::Relaxed);
        self.latency[class.index()].observe(elapsed);
    }

    /// Counts one sign-in attempt that reached the password check.
    pub fn sign_in(&self, success: bool) {
        self.sign_ins[usize::from(!success)].fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text (Prometheus text format 0.0.4).
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        header(
            &mut out,
            "preau_http_requests_total",
            "counter",
            "HTTP requests answered, by route class and status class.",
        );
        for class in RouteClass::ALL {
            for (s, status) in STATUS_CLASSES.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "preau_http_requests_total{{class=\"{}\",status=\"{status}\"}} {}",
                    class.label(),
                    load(&self.requests[class.index()][s])
                );
            }
        }
        header(
            &mut out,
            "preau_http_request_duration_seconds",
            "histogram",
            "Time to answer an HTTP request (until the response head), by route class.",
        );
        for class in RouteClass::ALL {
            let histogram = &self.latency[class.index()];
            let mut cumulative = 0;
            for (i, bucket) in histogram.buckets.iter().enumerate() {
                cumulative += load(bucket);
                let bound = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "preau_http_request_duration_seconds_bucket{{class=\"{}\",le=\"{bound}\"}} {cumulative}",
                    class.label()
                );
            }
            let _ = writeln!(
                out,
                "preau_http_request_duration_seconds_sum{{class=\"{}\"}} {}",
                class.label(),
                load(&histogram.sum_micros) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "preau_http_request_duration_seconds_count{{class=\"{}\"}} {cumulative}",
                class.label()
            );
        }
        header(
            &mut out,
            "preau_plugin_calls_total",
            "counter",
            "Calls into plugins, by plugin and outcome.",
        );
        let mut calls: BTreeMap<String, [u64; OUTCOMES.len()]> = gauges
            .plugins
            .iter()
            .map(|id| (id.clone(), [0; OUTCOMES.len()]))
            .collect();
        calls.extend(gauges.plugin_calls.snapshot());
        for (plugin, counts) in &calls {
            for (outcome, count) in OUTCOMES.iter().zip(counts) {
                let _ = writeln!(
                    out,
                    "preau_plugin_calls_total{{plugin=\"{}\",outcome=\"{outcome}\"}} {count}",
                    escape_label(plugin)
                );
            }
        }
        header(
            &mut out,
            "preau_plugins_loaded",
            "gauge",
            "Plugins loaded now.",
        );
        let _ = writeln!(out, "preau_plugins_loaded {}", gauges.plugins.len());
        header(
            &mut out,
            "preau_sign_ins_total",
            "counter",
            "Sign-in attempts checked against a password, by outcome.",
        );
        for (outcome, counter) in ["success", "failure"].iter().zip(&self.sign_ins) {
            let _ = writeln!(
                out,
                "preau_sign_ins_total{{outcome=\"{outcome}\"}} {}",
                load(counter)
            );
        }
        let (hits, misses, held) = gauges.fragments;
        header(
            &mut out,
            "preau_fragment_cache_lookups_total",
            "counter",
            "Home-page blocks looked up in the fragment cache, by outcome (hit: no plugin ran).",
        );
        let _ = writeln!(
            out,
            "preau_fragment_cache_lookups_total{{outcome=\"hit\"}} {hits}"
        );
        let _ = writeln!(
            out,
            "preau_fragment_cache_lookups_total{{outcome=\"miss\"}} {misses}"
        );
        header(
            &mut out,
            "preau_fragment_cache_bytes",
            "gauge",
            "Bytes of rendered fragments the cache holds.",
        );
        let _ = writeln!(out, "preau_fragment_cache_bytes {held}");
        header(
            &mut out,
            "preau_plugin_blocking_tasks_total",
            "counter",
            "Blocking tasks started for plugin calls (a request's calls of one poll share one).",
        );
        let _ = writeln!(
            out,
            "preau_plugin_blocking_tasks_total {}",
            gauges.plugin_blocking_tasks
        );
        if let Some(bytes) = gauges.store_bytes {
            header(
                &mut out,
                "preau_store_size_bytes",
                "gauge",
                "Size of the database on disk.",
            );
            let _ = writeln!(out, "preau_store_size_bytes {bytes}");
        }
        header(
            &mut out,
            "preau_store_writable",
            "gauge",
            "1 when the store takes writes, 0 when they are refused (disk full, engine failed).",
        );
        let _ = writeln!(
            out,
            "preau_store_writable {}",
            u8::from(gauges.store_writable)
        );
        if let Some(reads) = gauges.store_reads {
            header(
                &mut out,
                "preau_store_reads_total",
                "counter",
                "Gets and scans the store engine served (hot settings read from memory are not counted).",
            );
            let _ = writeln!(out, "preau_store_reads_total {reads}");
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format wants it (plugin ids are `[a-z0-9-]`; this is defence).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// An address or a network (`192.0.2.7`, `10.0.0.0/8`, `::1`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// The loopback networks, `127.0.0.0/8` and `::1`: the default of `metrics_allow`.
    pub fn loopback() -> Vec<IpRange> {
        vec![
            IpRange {
                network: IpAddr::from([127, 0, 0, 0]),
                prefix: 8,
            },
            IpRange {
                network: IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
                prefix: 128,
            },
        ]
    }

    /// Whether `address` is inside (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                mask(u32::from(net).into(), u32::from(a).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => mask(net.into(), a.into(), 128, self.prefix),
            _ => false,
        }
    }
}

fn mask(network: u128, address: u128, bits: u8, prefix: u8) -> bool {
    let host_bits = u32::from(bits - prefix);
    let keep = |v: u128| v.checked_shr(host_bits).unwrap_or(0);
    keep(network) == keep(address)
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

impl From<IpAddr> for IpRange {
    /// The range of exactly this address.
    fn from(address: IpAddr) -> IpRange {
        let network = canonical(address);
        let prefix = if network.is_ipv4() { 32 } else { 128 };
        IpRange { network, prefix }
    }
}

impl std::str::FromStr for IpRange {
    type Err = String;

    fn from_str(text: &str) -> Result<IpRange, String> {
        let text = text.trim();
        let invalid =
            || format!("« {text} » n'est ni une adresse IP ni un réseau (ex. 10.0.0.0/8)");
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| invalid())?);
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= bits => p,
                _ => return Err(format!("« {text} » : préfixe /{p} invalide (0 à {bits})")),
            },
        };
        Ok(IpRange { network, prefix })
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Whether a client may read `/metrics`: its address (the TCP peer, or what
/// a trusted proxy forwarded) is in `allow`. A request that carries
/// forwarding headers without coming from a trusted proxy went through a
/// proxy the operator did not declare: its real client is unknown, refused.
pub fn may_scrape(client: Option<IpAddr>, undeclared_proxy: bool, allow: &[IpRange]) -> bool {
    !undeclared_proxy && client.is_some_and(|c| allow.iter().any(|range| range.contains(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> IpRange {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_host_route_has_a_class() {
        for route in crate::web::route_table() {
            let class = route_class(Some(route.path));
            let expected_other = matches!(route.path, "/healthz" | "/metrics");
            assert_eq!(
                class == RouteClass::Other,
                expected_other,
                "{} → {class:?}",
                route.path
            );
        }
        assert_eq!(
            route_class(Some("/e/{uai}/{plugin}/{*rest}")),
            RouteClass::Plugin
        );
        assert_eq!(
            route_class(Some("/e/{uai}/r/{rubrique}/{plugin}/")),
            RouteClass::Plugin
        );
        assert_eq!(
            route_class(Some("/e/{uai}/r/{rubrique}/")),
            RouteClass::Portal
        );
        assert_eq!(
            route_class(Some("/admin/e/{uai}/plugins/{plugin}")),
            RouteClass::Admin
        );
        assert_eq!(
            route_class(Some("/admin/e/{uai}/theme/banniere")),
            RouteClass::Admin
        );
        assert_eq!(route_class(Some("/e/{uai}/banniere")), RouteClass::Static);
        assert_eq!(route_class(Some("/static/{*rest}")), RouteClass::Static);
        assert_eq!(route_class(Some("/login")), RouteClass::Auth);
        assert_eq!(route_class(Some("/cas/login")), RouteClass::Cas);
        assert_eq!(route_class(None), RouteClass::Other);
    }

    #[test]
    fn ranges_match_addresses_and_networks() {
        assert!(range("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!range("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(range("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!range("192.0.2.7").contains(ip("192.0.2.8")));
        assert!(range("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!range("0.0.0.0/0").contains(ip("::1")));
        assert!(range("fd00::/8").contains(ip("fd12::1")));
        assert!(range("::/0").contains(ip("2001:db8::1")));
        // IPv4-mapped IPv6 peers are their IPv4 address.
        assert!(range("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")));
        for bad in ["", "localhost", "10.0.0.0/33", "::1/129", "10.0.0.0/x"] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
        assert_eq!(range("10.0.0.0/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn only_allowed_clients_scrape() {
        let allow = IpRange::loopback();
        assert!(may_scrape(Some(ip("127.0.0.1")), false, &allow));
        assert!(may_scrape(Some(ip("::1")), false, &allow));
        assert!(!may_scrape(Some(ip("192.0.2.1")), false, &allow));
        assert!(!may_scrape(None, false, &allow));
        // Through a proxy nobody declared: the real client is unknown.
        assert!(!may_scrape(Some(ip("127.0.0.1")), true, &allow));
        assert!(!may_scrape(Some(ip("127.0.0.1")), false, &[]));
    }

    #[test]
    fn the_exposition_has_every_series() {
        let metrics = Metrics::default();
        metrics.request(RouteClass::Plugin, 200, Duration::from_millis(3));
        metrics.request(RouteClass::Plugin, 503, Duration::from_secs(9));
        metrics.request(RouteClass::Admin, 303, Duration::from_micros(10));
        metrics.sign_in(true);
        metrics.sign_in(false);
        metrics.sign_in(false);
        let calls = PluginCalls::default();
        calls.record("blog", CallOutcome::Ok);
        calls.record("hostile", CallOutcome::Timeout);
        calls.record("hostile", CallOutcome::OutOfMemory);
        calls.record("hostile", CallOutcome::Trap);
        let text = metrics.render(&Gauges {
            plugin_calls: &calls,
            plugins: vec!["blog".into(), "forum".into()],
            store_bytes: Some(4096),
            store_writable: true,
            store_reads: Some(7),
            fragments: (3, 1, 2048),
            plugin_blocking_tasks: 5,
        });
        for line in [
            "preau_http_requests_total{class=\"plugin\",status=\"2xx\"} 1",
            "preau_http_requests_total{class=\"plugin\",status=\"5xx\"} 1",
            "preau_http_requests_total{class=\"admin\",status=\"3xx\"} 1",
            "preau_http_requests_total{class=\"cas\",status=\"2xx\"} 0",
            "preau_http_request_duration_seconds_bucket{class=\"plugin\",le=\"0.001\"} 0",
            "preau_http_request_duration_seconds_bucket{class=\"plugin\",le=\"0.005\"} 1",
            "preau_http_request_duration_seconds_bucket{class=\"plugin\",le=\"5\"} 1",
            "preau_http_request_duration_seconds_bucket{class=\"plugin\",le=\"+Inf\"} 2",
            "preau_http_request_duration_seconds_sum{class=\"plugin\"} 9.003",
            "preau_http_request_duration_seconds_count{class=\"plugin\"} 2",
            "preau_plugin_calls_total{plugin=\"blog\",outcome=\"ok\"} 1",
            "preau_plugin_calls_total{plugin=\"forum\",outcome=\"ok\"} 0",
            "preau_plugin_calls_total{plugin=\"hostile\",outcome=\"timeout\"} 1",
            "preau_plugin_calls_total{plugin=\"hostile\",outcome=\"out_of_memory\"} 1",
            "preau_plugin_calls_total{plugin=\"hostile\",outcome=\"trap\"} 1",
            "preau_plugins_loaded 2",
            "preau_sign_ins_total{outcome=\"success\"} 1",
            "preau_sign_ins_total{outcome=\"failure\"} 2",
            "preau_store_size_bytes 4096",
            "preau_fragment_cache_lookups_total{outcome=\"hit\"} 3",
            "# TYPE preau_http_request_duration_seconds histogram",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} manque dans\n{text}"
            );
        }
        // Every sample line is `name{labels} value` with a number.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
