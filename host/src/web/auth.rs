//! Sign-in and sign-out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::{
    SESSION_COOKIE, Visitor, WebResult, csrf_rejected, parse_form, parse_query, render, safe_next,
};
use crate::App;

/// Failures allowed per login within [`FAILURE_WINDOW`] before sign-in is refused.
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts recent sign-in failures per login (in memory: a restart forgives).
#[derive(Default)]
pub struct FailureLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl FailureLimiter {
    /// Minutes to wait if `login` is locked out.
    pub(crate) fn locked_minutes(&self, login: &str) -> Option<u64> {
        let failures = self.failures.lock().expect("verrou");
        let (count, since) = failures.get(login)?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < FAILURE_WINDOW)
            .then(|| (FAILURE_WINDOW - elapsed).as_secs().div_ceil(60))
    }

    pub(crate) fn record_failure(&self, login: &str) {
        let mut failures = self.failures.lock().expect("verrou");
        if failures.len() > 100_000 {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = failures
            .entry(login.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub(crate) fn clear(&self, login: &str) {
        self.failures.lock().expect("verrou").remove(login);
    }
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

/// GET /login
pub async fn login_form(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let query = parse_query(uri.query());
    let next = query
        .iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.as_str())
        .and_then(safe_next)
        .unwrap_or("");
    login_page(&app, &visitor, StatusCode::OK, None, "", next)
}

fn session_cookie(token: &str, max_age: i64, secure: bool) -> HeaderValue {
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).expect("cookie ASCII")
}

/// POST /login
pub async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let Some(form) = parse_form(&body) else {
        return Ok((StatusCode::BAD_REQUEST, "Formulaire illisible").into_response());
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
    let next = safe_next(field("next")).unwrap_or("").to_string();
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
    if let Some(minutes) = app.login_failures.locked_minutes(&login) {
        let message = format!(
            "Trop de tentatives de connexion pour ce compte. Réessayez dans {minutes} minute{}.",
            if minutes > 1 { "s" } else { "" }
        );
        return Ok(login_page(
            &app,
            &visitor,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&message),
            &login,
            &next,
        ));
    }
    let user = app.directory.user_by_login(&login)?;
    let valid = app
        .passwords
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await;
    let user = match (valid, user) {
        (true, Some(user)) => user,
        _ => {
            app.login_failures.record_failure(&login);
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
    // Access windows: signing in is refused while every establishment of the
    // person is closed to their profile; the message gives the opening date.
    let at = crate::directory::now();
    let mut opens: Option<i64> = None;
    let mut open_somewhere = user.region_admin || user.memberships.is_empty();
    for membership in &user.memberships {
        match app.directory.closed(&user, &membership.uai, at)? {
            Some(crate::directory::Closed::Until(ts)) => {
                opens = Some(opens.map_or(ts, |o| o.min(ts)))
            }
            Some(crate::directory::Closed::Blocked) => {}
            None => open_somewhere = true,
        }
    }
    if !open_somewhere && let Some(opens) = opens {
        let message = format!(
            "L'accès à l'ENT n'est pas encore ouvert pour votre profil. Il ouvrira le {}.",
            crate::theme::format_date_fr(opens)
        );
        return Ok(login_page(
            &app,
            &visitor,
            StatusCode::FORBIDDEN,
            Some(&message),
            &login,
            &next,
        ));
    }
    app.login_failures.clear(&login);
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
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(
            &token,
            crate::directory::SESSION_SECONDS,
            app.config.secure_cookies,
        ),
    );
    Ok(response)
}

/// POST /logout
pub async fn logout(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
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
    Ok(session_cookie("", 0, app.config.secure_cookies))
}
