//! When the disk is full: the form's text is shown back, and `/healthz` says so.
//!
//! A write refused for lack of space ends as a 507 response, whichever layer
//! refused it (a host handler's [`crate::store::StorageFull`], a plugin whose
//! write failed). This layer keeps a copy of every posted form and, on a 507,
//! answers a page that says nothing was saved and gives the typed text back,
//! so that nobody loses an article to a full disk.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::pages::RoomRefusal;
use crate::App;
use crate::store::Health;

/// The message of the page.
pub const MESSAGE: &str = "L'espace de stockage du serveur est plein ; votre texte n'a pas été \
                           perdu : revenez en arrière pour le copier.";

/// Form fields never shown back.
const HIDDEN_FIELDS: [&str; 5] = [
    "csrf",
    "password",
    "new_password",
    "confirm",
    "current_password",
];

/// Keeps the posted form; turns a 507 into the page with its text.
pub async fn keep_form_text(request: Request, next: Next) -> Response {
    let is_form = request.method() == Method::POST
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let back = back_path(request.headers());
    if !is_form {
        let response = next.run(request).await;
        return if response.status() == StatusCode::INSUFFICIENT_STORAGE {
            page(&[], back.as_deref(), &message_of(&response))
        } else {
            response
        };
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, super::MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, "Formulaire trop volumineux.").into_response();
        }
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    if response.status() != StatusCode::INSUFFICIENT_STORAGE {
        return response;
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    page(&typed_text(fields), back.as_deref(), &message_of(&response))
}

/// The fields of a form worth giving back: typed text, not secrets or ticks.
pub(super) fn typed_text(fields: Vec<(String, String)>) -> Vec<(String, String)> {
    fields
        .into_iter()
        .filter(|(name, value)| {
            // Ticked boxes (`on`) are no text anyone would lose.
            !HIDDEN_FIELDS.contains(&name.as_str()) && !value.trim().is_empty() && value != "on"
        })
        .collect()
}

/// The same-site path of a request's `Referer`, to go back to.
pub(super) fn back_path(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(referer_path)
}

/// The refusal's message: a quota's, or the full disk's.
fn message_of(response: &Response) -> String {
    response
        .extensions()
        .get::<RoomRefusal>()
        .map_or_else(|| MESSAGE.to_string(), |r| r.0.clone())
}

/// The path of a same-site `Referer` (`http://host/e/…` → `/e/…`).
fn referer_path(referer: &str) -> Option<String> {
    let after_scheme = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = &after_scheme[after_scheme.find('/')?..];
    super::pages::safe_next(path)
}

/// The 507 page, with the text of `fields`.
fn page(fields: &[(String, String)], back: Option<&str>, message: &str) -> Response {
    let mut response = refused_form_page(
        StatusCode::INSUFFICIENT_STORAGE,
        "Espace de stockage plein",
        fields,
        back,
        message,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("300"));
    response
}

/// A page saying that nothing of a form was saved, and why, with the text of
/// its `fields` given back (a refused upload, a full disk).
pub(super) fn refused_form_page(
    status: StatusCode,
    title: &str,
    fields: &[(String, String)],
    back: Option<&str>,
    message: &str,
) -> Response {
    use preau_text::escape as esc;
    let mut kept = String::new();
    if !fields.is_empty() {
        kept.push_str("<h2>Ce que vous aviez saisi</h2>");
        for (i, (name, value)) in fields.iter().enumerate() {
            kept.push_str(&format!(
                "<p><label for=\"texte-{i}\">Champ « {} »</label><br>\
                 <textarea id=\"texte-{i}\" readonly rows=\"{}\" cols=\"70\">{}</textarea></p>",
                esc(name),
                value.lines().count().clamp(1, 20),
                esc(value)
            ));
        }
    }
    let back = match back {
        Some(path) => format!("<a href=\"{}\">Revenir à la page précédente</a>", esc(path)),
        None => "Revenez à la page précédente avec le bouton « Retour » du navigateur.".into(),
    };
    let body = format!(
        "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — Préau</title>\
         <link rel=\"stylesheet\" href=\"/static/style.css\">\
         <main id=\"contenu\" class=\"page-erreur\"><h1>Enregistrement impossible</h1>\
         <p role=\"alert\">{message}</p>\
         <p>Rien n'a été enregistré.</p>\
         {kept}<p>{back}</p></main></html>",
        message = esc(message),
        title = esc(title)
    );
    (status, Html(body)).into_response()
}

/// GET /healthz: 200 `ok`, or 503 with what is degraded (reads still served).
pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    let store = app.directory.shared_store();
    // A healthy store answers at once (a free-space check); one that must be
    // brought back may reopen its engine: off the async workers.
    let health = if store.degraded() {
        tokio::task::spawn_blocking(move || store.health())
            .await
            .unwrap_or_else(|e| Health::Failed(e.to_string()))
    } else {
        store.health()
    };
    match health {
        Health::Healthy => "ok".into_response(),
        Health::Full => (
            StatusCode::SERVICE_UNAVAILABLE,
            "dégradé : espace de stockage plein (écritures refusées, lectures servies)",
        )
            .into_response(),
        Health::Failed(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("dégradé : base en panne ({reason}) ; lectures servies si possible"),
        )
            .into_response(),
    }
}
