//! Sign-in and sign-out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::extract::{parse_form, parse_query};
use super::pages::{WebResult, bad_form, csrf_rejected, render, safe_next};
use super::visitor::{SESSION_COOKIE, Visitor};
use crate::App;
use crate::directory::User;

/// Failures allowed per login within [`FAILURE_WINDOW`] (the current-password
/// check of `/compte`, for a signed-in person only).
const MAX_FAILURES: u32 = 5;
/// How long failures are remembered after the last one.
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept by a limiter; beyond, expired then unlocked entries are dropped.
const MAX_ENTRIES: usize = 100_000;
/// Longest login looked up or remembered (generated logins have at most 30 characters).
const MAX_LOGIN_BYTES: usize = 100;

/// Failures of one (login, address) pair before that pair is refused.
pub const PAIR_FAILURES: u32 = 5;
/// A refused pair waits 1 minute after its 5th failure, doubling with each
/// further one, at most [`FAILURE_WINDOW`].
const PAIR_FIRST_LOCK: Duration = Duration::from_secs(60);
/// Failures of a login (all addresses) before its sign-ins are slowed down.
const LOGIN_SLOW_AFTER: u32 = 2;
/// The first delay of a slowed login, doubling with each further failure…
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// … up to this: a slowdown, never a refusal.
pub const MAX_DELAY: Duration = Duration::from_secs(2);

/// Counts recent failures per key (a login, a client address…) within a
/// window; in memory: a restart forgives. Memory is bounded: keys are short
/// and at most [`MAX_ENTRIES`] are kept.
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Default for FailureLimiter {
    /// [`MAX_FAILURES`] per 15 minutes.
    fn default() -> Self {
        FailureLimiter::new(MAX_FAILURES, FAILURE_WINDOW)
    }
}

impl FailureLimiter {
    /// A limiter refusing a key after `max` failures within `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        FailureLimiter {
            max: max.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Minutes to wait if `key` is locked out.
    pub fn locked_minutes(&self, key: &str) -> Option<u64> {
        let failures = self.failures.lock().expect("verrou");
        let (count, since) = failures.get(key)?;
        let elapsed = since.elapsed();
        (*count >= self.max && elapsed < self.window)
            .then(|| (self.window - elapsed).as_secs().div_ceil(60).max(1))
    }

    /// Counts a failure for `key`.
    pub fn record_failure(&self, key: &str) {
        let mut failures = self.failures.lock().expect("verrou");
        if failures.len() >= MAX_ENTRIES {
            // Amortised: after a clean-up at most half the room is used.
            failures.retain(|_, (_, since)| since.elapsed() < self.window);
            if failures.len() >= MAX_ENTRIES / 2 {
                failures.retain(|_, (count, _)| *count >= self.max);
            }
            if failures.len() >= MAX_ENTRIES / 2 {
                tracing::warn!("limiteur d'échecs saturé : remis à zéro");
                failures.clear();
            }
        }
        let entry = failures
            .entry(key.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// Forgets the failures of `key`.
    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("verrou").remove(key);
    }

    /// How many keys are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.failures.lock().expect("verrou").len()
    }

    /// Whether no key is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Failure counts per key, each forgotten [`FAILURE_WINDOW`] after its last
/// failure; bounded to [`MAX_ENTRIES`] keys (expired ones dropped first, then
/// the smallest counts).
struct Counts {
    entries: HashMap<String, (u32, Instant)>,
}

impl Counts {
    fn new() -> Self {
        Counts {
            entries: HashMap::new(),
        }
    }

    /// The count of `key` and the time since its last failure.
    fn get(&self, key: &str) -> Option<(u32, Duration)> {
        let (count, last) = self.entries.get(key)?;
        let elapsed = last.elapsed();
        (elapsed < FAILURE_WINDOW).then_some((*count, elapsed))
    }

    /// Counts one more failure; returns the new count.
    fn add(&mut self, key: &str) -> u32 {
        if self.entries.len() >= MAX_ENTRIES && !self.entries.contains_key(key) {
            // Amortised: after a clean-up at most half the room is used.
            self.entries
                .retain(|_, (_, last)| last.elapsed() < FAILURE_WINDOW);
            if self.entries.len() >= MAX_ENTRIES / 2 {
                self.entries.retain(|_, (count, _)| *count >= PAIR_FAILURES);
            }
            if self.entries.len() >= MAX_ENTRIES / 2 {
                tracing::warn!("limiteur d'échecs saturé : remis à zéro");
                self.entries.clear();
            }
        }
        let entry = self
            .entries
            .entry(key.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), Instant::now());
        entry.0
    }

    fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

/// What the throttle says of a sign-in attempt before the password is checked.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password after waiting this long (zero: at once).
    Wait(Duration),
    /// Refused without checking: this (login, address) pair failed too
    /// often; seconds until it may try again.
    Refused(u64),
}

/// Sign-in throttling (OWASP ASVS 2.2.1), in memory (a restart forgives):
///
/// - **per (login, client address) pair**: after [`PAIR_FAILURES`] failures
///   the pair is refused for 1 minute, doubling with each further failure up
///   to 15 minutes; the right password from that pair waits too. Nobody else
///   is affected.
/// - **per login, all addresses**: after [`LOGIN_SLOW_AFTER`] failures, every
///   attempt on that login waits 100 ms, doubling per failure, at most
///   [`MAX_DELAY`] (an async sleep: no thread held). A slowdown, never a
///   refusal: an attacker elsewhere cannot lock the account out.
/// - **per address**: counts the *distinct logins* that failed from it (a
///   pupil mistyping five times counts once). Beyond `max_logins_per_address`
///   of them the address is treated as spraying passwords: each of its
///   attempts waits [`MAX_DELAY`], and a pair of it that failed even once is
///   refused. A school behind one NAT address with many pupils mistyping is
///   therefore slowed, never locked out: a pupil who has not failed still
///   signs in with the right password.
pub struct SignInThrottle {
    max_logins_per_address: u32,
    state: Mutex<ThrottleState>,
}

struct ThrottleState {
    /// `login\naddress` → failures.
    pairs: Counts,
    /// login → failures from every address.
    logins: Counts,
    /// address → distinct logins failed from it.
    addresses: Counts,
}

impl SignInThrottle {
    /// A throttle treating an address as spraying beyond `max_logins_per_address`
    /// distinct failed logins per 15 minutes.
    pub fn new(max_logins_per_address: u32) -> Self {
        SignInThrottle {
            max_logins_per_address: max_logins_per_address.max(1),
            state: Mutex::new(ThrottleState {
                pairs: Counts::new(),
                logins: Counts::new(),
                addresses: Counts::new(),
            }),
        }
    }

    fn pair_key(login: &str, address: Option<&str>) -> String {
        format!("{login}\n{}", address.unwrap_or("?"))
    }

    /// What to do with an attempt of `login` from `address` (an [`address_key`]).
    pub fn check(&self, login: &str, address: Option<&str>) -> Verdict {
        let state = self.state.lock().expect("verrou");
        let spraying = address
            .and_then(|a| state.addresses.get(a))
            .is_some_and(|(count, _)| count > self.max_logins_per_address);
        if let Some((count, elapsed)) = state.pairs.get(&Self::pair_key(login, address)) {
            let threshold = if spraying { 1 } else { PAIR_FAILURES };
            if count >= threshold {
                let doublings = count.saturating_sub(threshold).min(10);
                let lock = (PAIR_FIRST_LOCK * 2u32.pow(doublings)).min(FAILURE_WINDOW);
                if elapsed < lock {
                    return Verdict::Refused((lock - elapsed).as_secs().max(1));
                }
            }
        }
        let mut delay = Duration::ZERO;
        if let Some((count, _)) = state.logins.get(login)
            && count > LOGIN_SLOW_AFTER
        {
            let doublings = (count - LOGIN_SLOW_AFTER - 1).min(10);
            delay = (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY);
        }
        if spraying {
            delay = MAX_DELAY;
        }
        Verdict::Wait(delay)
    }

    /// Counts a failed attempt.
    pub fn failed(&self, login: &str, address: Option<&str>) {
        let mut state = self.state.lock().expect("verrou");
        let pair = state.pairs.add(&Self::pair_key(login, address));
        state.logins.add(login);
        if pair == 1
            && let Some(address) = address
        {
            state.addresses.add(address);
        }
    }

    /// The right password from this pair: its failures are forgiven (the
    /// login's and the address's counts are not: one valid account must not
    /// reset the count of an address trying many others).
    pub fn succeeded(&self, login: &str, address: Option<&str>) {
        let mut state = self.state.lock().expect("verrou");
        state.pairs.remove(&Self::pair_key(login, address));
    }
}

/// The client's address as the limiter counts it: the TCP peer, or, when the
/// peer is a trusted reverse proxy, the last address of `X-Forwarded-For`
/// that is not itself a trusted proxy. Never the header otherwise: any
/// client can write it.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted_proxies.contains(&canonical(peer)) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    for address in forwarded.into_iter().rev() {
        match address {
            Some(a) if trusted_proxies.contains(&canonical(a)) => continue,
            Some(a) => return Some(a),
            // Garbage written by someone: trust nothing to its left.
            None => break,
        }
    }
    Some(peer)
}

/// IPv4-mapped IPv6 addresses are the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The limiter's key for an address: the IPv4 address, or the IPv6 /64
/// (one subscriber's network: a client picks any address inside it).
pub fn address_key(address: IpAddr) -> String {
    match canonical(address) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn wait_message(minutes: u64) -> String {
    format!(
        "Réessayez dans {minutes} minute{}.",
        if minutes > 1 { "s" } else { "" }
    )
}

fn login_page(
    app: &App,
    visitor: &Visitor,
    status: StatusCode,
    error: Option<&str>,
    login: &str,
    next: &str,
) -> Response {
    render(
        app,
        visitor,
        None,
        "login.html",
        "Connexion",
        status,
        json!({ "error": error, "login_value": login, "next": next }),
    )
}

/// Access windows: a person may not be signed in while every establishment
/// of theirs is closed to their profile. Then the sign-in page's message,
/// which gives the earliest opening date in that establishment's local time.
pub(super) fn closed_everywhere(app: &App, user: &User, at: i64) -> anyhow::Result<Option<String>> {
    // The earliest opening, and the establishment whose local time says it.
    let mut opens: Option<(i64, &str)> = None;
    let mut open_somewhere = user.region_admin || user.memberships.is_empty();
    for membership in &user.memberships {
        if open_somewhere {
            break;
        }
        match app.directory.closed(user, &membership.uai, at)? {
            Some(crate::directory::Closed::Until(ts)) => {
                if opens.is_none_or(|(earliest, _)| ts < earliest) {
                    opens = Some((ts, &membership.uai));
                }
            }
            Some(crate::directory::Closed::Blocked) => {}
            None => open_somewhere = true,
        }
    }
    let Some((opens, uai)) = opens.filter(|_| !open_somewhere) else {
        return Ok(None);
    };
    let zone = app
        .directory
        .establishment(uai)?
        .map(|e| preau_text::TimeZone::named_or_default(&e.time_zone))
        .unwrap_or_else(preau_text::TimeZone::paris);
    Ok(Some(format!(
        "L'accès à l'ENT n'est pas encore ouvert pour votre profil. \
         Il ouvrira le {}.",
        zone.french_date_time(opens)
    )))
}

/// A signed-in person whose access window has closed (every establishment of
/// theirs closed to their profile): their session ends on their next request,
/// which answers the sign-in page with the opening date (403) instead.
pub(super) async fn end_closed_sessions(
    State(app): State<Arc<App>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.uri().path().starts_with("/static/")
        || super::visitor::cookie(request.headers(), SESSION_COOKIE).is_none()
    {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let visitor = Visitor::from_headers(&app, request.headers(), &path);
    let closed = match &visitor.user {
        Some(user) => closed_everywhere(&app, user, crate::directory::now()),
        None => Ok(None),
    };
    let message = match closed {
        Ok(Some(message)) => message,
        Ok(None) => {
            // Resolved once: handlers find it in the extensions.
            request.extensions_mut().insert(visitor);
            return next.run(request).await;
        }
        Err(e) => {
            tracing::error!("fenêtre d'accès : {e:#}");
            return super::pages::internal_error_response();
        }
    };
    let cookie = match sign_out(&app, &visitor) {
        Ok(cookie) => cookie,
        Err(e) => {
            tracing::error!("fin de session : {e:#}");
            return super::pages::internal_error_response();
        }
    };
    // The same request, now anonymous (the session no longer exists).
    let anonymous = Visitor::from_headers(&app, request.headers(), &path);
    let next_page = if request.method() == axum::http::Method::GET {
        safe_next(&path).unwrap_or_default()
    } else {
        String::new()
    };
    let mut response = login_page(
        &app,
        &anonymous,
        StatusCode::FORBIDDEN,
        Some(&message),
        "",
        &next_page,
    );
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// GET /login
pub async fn login_form(State(app): State<Arc<App>>, visitor: Visitor, uri: Uri) -> Response {
    let query = parse_query(uri.query());
    let next = query
        .iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.as_str())
        .and_then(safe_next)
        .unwrap_or_default();
    login_page(&app, &visitor, StatusCode::OK, None, "", &next)
}

fn session_cookie(token: &str, max_age: i64, secure: bool) -> HeaderValue {
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).expect("cookie ASCII")
}

/// The sign-in page refused for too many failures: 429 with `Retry-After`.
fn too_many(
    app: &App,
    visitor: &Visitor,
    message: &str,
    seconds: u64,
    login: &str,
    next: &str,
) -> Response {
    let mut response = login_page(
        app,
        visitor,
        StatusCode::TOO_MANY_REQUESTS,
        Some(message),
        login,
        next,
    );
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// POST /login
pub async fn login(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult {
    let Some(form) = parse_form(&body) else {
        return Ok(bad_form(&app, &visitor));
    };
    if !visitor.csrf_valid(&form) {
        return Ok(csrf_rejected(&app, &visitor));
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let login = field("login").trim().to_lowercase();
    let password = field("password").to_string();
    let next = safe_next(field("next")).unwrap_or_default();
    if login.is_empty() || password.is_empty() {
        let message = "Saisissez votre identifiant et votre mot de passe.";
        return Ok(login_page(
            &app,
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(message),
            &login,
            &next,
        ));
    }
    let address = client_address(
        peer.map(|Extension(ConnectInfo(a))| a.ip()),
        &headers,
        &app.config.trusted_proxies,
    )
    .map(address_key);
    // Logins longer than any account's are all one key (never remembered whole).
    let throttled = if login.len() <= MAX_LOGIN_BYTES {
        login.as_str()
    } else {
        "\u{1}trop-long"
    };
    match app.sign_in_throttle.check(throttled, address.as_deref()) {
        Verdict::Refused(seconds) => {
            let minutes = seconds.div_ceil(60).max(1);
            let message = format!(
                "Trop de tentatives de connexion pour ce compte depuis votre réseau. {}",
                wait_message(minutes)
            );
            return Ok(too_many(&app, &visitor, &message, seconds, &login, &next));
        }
        // An async sleep: a slowed sign-in holds no thread.
        Verdict::Wait(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
        Verdict::Wait(_) => {}
    }
    // No account has a login this long: not looked up, not remembered by login.
    let user = if login.len() <= MAX_LOGIN_BYTES {
        app.directory.user_by_login(&login)?
    } else {
        None
    };
    let valid = app
        .passwords
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await;
    let user = match (valid, user) {
        (true, Some(user)) => user,
        _ => {
            app.metrics.sign_in(false);
            app.sign_in_throttle.failed(throttled, address.as_deref());
            let message = "Identifiant ou mot de passe incorrect.";
            return Ok(login_page(
                &app,
                &visitor,
                StatusCode::UNAUTHORIZED,
                Some(message),
                &login,
                &next,
            ));
        }
    };
    if user.blocked {
        let message =
            "Votre compte est bloqué. Adressez-vous à l'administrateur de votre établissement.";
        return Ok(login_page(
            &app,
            &visitor,
            StatusCode::FORBIDDEN,
            Some(message),
            &login,
            &next,
        ));
    }
    let at = crate::directory::now();
    if let Some(message) = closed_everywhere(&app, &user, at)? {
        return Ok(login_page(
            &app,
            &visitor,
            StatusCode::FORBIDDEN,
            Some(&message),
            &login,
            &next,
        ));
    }
    app.sign_in_throttle
        .succeeded(throttled, address.as_deref());
    // Three flushed writes: on a blocking thread, so that a sign-in storm does
    // not hold the runtime's threads in fsync while pages wait.
    let old_session = visitor.session.as_ref().map(|(token, _)| token.clone());
    let writer = app.clone();
    let (user, token) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        // First sign-in: the initial password is no longer kept for the identifiers file.
        let mut updated = user.clone();
        updated.last_login = Some(at);
        updated.pending_secret = None;
        writer.directory.save_user(Some(&user), &updated)?;
        // Rotation: the session a visitor arrived with is never reused after sign-in.
        if let Some(old) = &old_session {
            writer.directory.close_session(old)?;
        }
        let (token, _) = writer.directory.open_session(&user.id)?;
        Ok((user, token))
    })
    .await
    .map_err(|e| anyhow::anyhow!("connexion : {e}"))??;
    let target = if !next.is_empty() {
        next
    } else if let (false, [only]) = (user.region_admin, user.memberships.as_slice()) {
        format!("/e/{}/", only.uai)
    } else {
        "/".to_string()
    };
    app.metrics.sign_in(true);
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(
            &token,
            crate::directory::SESSION_SECONDS,
            app.config.https(),
        ),
    );
    Ok(response)
}

/// POST /logout
pub async fn logout(State(app): State<Arc<App>>, visitor: Visitor, body: Bytes) -> WebResult {
    let form = parse_form(&body).unwrap_or_default();
    if visitor.session.is_some() && !visitor.csrf_valid(&form) {
        return Ok(csrf_rejected(&app, &visitor));
    }
    let cookie = sign_out(&app, &visitor)?;
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Ends the visitor's session server-side; returns the cookie that clears it.
pub(super) fn sign_out(app: &App, visitor: &Visitor) -> anyhow::Result<HeaderValue> {
    if let Some((token, _)) = &visitor.session {
        app.directory.close_session(token)?;
    }
    Ok(session_cookie("", 0, app.config.https()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const A: Option<&str> = Some("203.0.113.7");
    const B: Option<&str> = Some("198.51.100.9");

    #[test]
    fn a_pair_is_refused_after_five_failures_for_a_growing_time() {
        let throttle = SignInThrottle::new(100);
        for _ in 0..PAIR_FAILURES - 1 {
            throttle.failed("admin", A);
        }
        assert!(matches!(throttle.check("admin", A), Verdict::Wait(_)));
        throttle.failed("admin", A);
        let Verdict::Refused(first) = throttle.check("admin", A) else {
            panic!("refusé après 5 échecs")
        };
        assert!((55..=60).contains(&first), "{first}");
        // Each further failure doubles the wait, up to 15 minutes.
        throttle.failed("admin", A);
        let Verdict::Refused(second) = throttle.check("admin", A) else {
            panic!()
        };
        assert!((115..=120).contains(&second), "{second}");
        for _ in 0..20 {
            throttle.failed("admin", A);
        }
        assert!(
            matches!(throttle.check("admin", A), Verdict::Refused(s) if (890..=900).contains(&s))
        );
        // The same login from another address is never refused: only slowed, at most 2 s.
        assert_eq!(throttle.check("admin", B), Verdict::Wait(MAX_DELAY));
        // Another login from the attacker's address is not slowed.
        assert_eq!(throttle.check("emma", A), Verdict::Wait(Duration::ZERO));
    }

    #[test]
    fn a_login_failing_everywhere_is_slowed_down_increasingly_up_to_two_seconds() {
        let throttle = SignInThrottle::new(1000);
        let mut delays = Vec::new();
        for i in 0..12 {
            let address = format!("192.0.2.{i}");
            throttle.failed("admin", Some(&address));
            match throttle.check("admin", Some("198.51.100.1")) {
                Verdict::Wait(d) => delays.push(d.as_millis()),
                refused => panic!("{refused:?}"),
            }
        }
        assert_eq!(
            delays,
            [0, 0, 100, 200, 400, 800, 1600, 2000, 2000, 2000, 2000, 2000]
        );
    }

    #[test]
    fn the_right_password_forgives_the_pair_only() {
        let throttle = SignInThrottle::new(100);
        for _ in 0..4 {
            throttle.failed("emma", A);
        }
        throttle.succeeded("emma", A);
        throttle.failed("emma", A);
        assert!(matches!(throttle.check("emma", A), Verdict::Wait(_)));
        // The login's count stays: still slowed.
        assert_ne!(throttle.check("emma", B), Verdict::Wait(Duration::ZERO));
    }

    #[test]
    fn an_address_is_counted_per_login_so_a_school_behind_one_nat_is_never_locked_out() {
        let throttle = SignInThrottle::new(3);
        // Three pupils mistype many times each: three logins, under the limit.
        for pupil in ["p1", "p2", "p3"] {
            for _ in 0..3 {
                throttle.failed(pupil, A);
            }
        }
        assert_eq!(throttle.check("p4", A), Verdict::Wait(Duration::ZERO));
        assert!(matches!(throttle.check("p1", A), Verdict::Wait(_)));
        // A fourth failed login: the address sprays. Every attempt from it is
        // slowed, its failed pairs refused; a login it never failed is not.
        throttle.failed("p4", A);
        assert_eq!(throttle.check("p5", A), Verdict::Wait(MAX_DELAY));
        assert!(matches!(throttle.check("p1", A), Verdict::Refused(_)));
        assert!(matches!(throttle.check("p4", A), Verdict::Refused(_)));
        // Other addresses are not concerned.
        assert_eq!(throttle.check("p5", B), Verdict::Wait(Duration::ZERO));
        assert!(matches!(throttle.check("p1", B), Verdict::Wait(_)));
    }

    #[test]
    fn throttle_memory_stays_bounded_and_keeps_refused_pairs() {
        let throttle = SignInThrottle::new(u32::MAX);
        for _ in 0..PAIR_FAILURES {
            throttle.failed("cible", A);
        }
        for i in 0..(MAX_ENTRIES + 10) {
            throttle.failed(&format!("inconnu{i}"), B);
        }
        let state = throttle.state.lock().unwrap();
        assert!(state.pairs.entries.len() <= MAX_ENTRIES);
        assert!(state.logins.entries.len() <= MAX_ENTRIES);
        drop(state);
        assert!(matches!(throttle.check("cible", A), Verdict::Refused(_)));
    }

    #[test]
    fn the_window_forgives() {
        let limiter = FailureLimiter::new(2, Duration::from_millis(50));
        limiter.record_failure("x");
        limiter.record_failure("x");
        assert!(limiter.locked_minutes("x").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(limiter.locked_minutes("x"), None);
        limiter.record_failure("x");
        assert_eq!(limiter.locked_minutes("x"), None, "count restarted");
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(address_key(ip("192.0.2.1")), "192.0.2.1");
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        let one = address_key(ip("2001:db8:1:2:aaaa::1"));
        assert_eq!(one, "2001:db8:1:2::/64");
        assert_eq!(address_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), one);
        assert_ne!(address_key(ip("2001:db8:1:3::1")), one);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.1, 203.0.113.5"),
        );
        let peer = Some(ip("10.0.0.2"));
        // Not configured: the header is ignored.
        assert_eq!(client_address(peer, &headers, &[]), peer);
        assert_eq!(client_address(None, &headers, &[]), None);
        // From the trusted proxy: its right-most untrusted entry (the left ones
        // are written by the client).
        let proxies = [ip("10.0.0.2")];
        assert_eq!(
            client_address(peer, &headers, &proxies),
            Some(ip("203.0.113.5"))
        );
        // A chain of trusted proxies is skipped.
        let proxies = [ip("10.0.0.2"), ip("203.0.113.5")];
        assert_eq!(
            client_address(peer, &headers, &proxies),
            Some(ip("198.51.100.1"))
        );
        // Garbage: the proxy itself is counted.
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("n'importe quoi"),
        );
        assert_eq!(client_address(peer, &headers, &[ip("10.0.0.2")]), peer);
        // Another peer claiming the header is not believed.
        let other = Some(ip("192.0.2.66"));
        assert_eq!(client_address(other, &headers, &[ip("10.0.0.2")]), other);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_logins() {
        let limiter = FailureLimiter::new(5, FAILURE_WINDOW);
        for i in 0..(MAX_ENTRIES + 10) {
            limiter.record_failure(&format!("inconnu{i}"));
        }
        assert!(limiter.len() <= MAX_ENTRIES, "{}", limiter.len());
        // A locked login survives a flood of unlocked ones.
        let limiter = FailureLimiter::new(2, FAILURE_WINDOW);
        limiter.record_failure("cible");
        limiter.record_failure("cible");
        for i in 0..(MAX_ENTRIES + 10) {
            limiter.record_failure(&format!("inconnu{i}"));
        }
        assert!(limiter.locked_minutes("cible").is_some());
        assert!(!limiter.is_empty());
    }
}
