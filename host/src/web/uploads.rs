//! Files sent to a plugin (`multipart/form-data` POSTs) and files a plugin
//! sends back (its `file` response): HTTP on both sides of
//! [`crate::uploads`].
//!
//! Receiving: the CSRF token must come before any file (the theme's forms put
//! it first), so that nothing is stored for a forged request; each file is
//! streamed into the store chunk by chunk, charged to the signed-in person's
//! quota in the establishment; a refusal (size, quota, full disk) removes what
//! was stored of every file of the request and gives the typed text back.
//! A person's uploads in an establishment are stored one at a time.
//! After the plugin's call, the files it did not keep are deleted.
//!
//! Sending: only a kept file of the instance that answers, streamed, with its
//! sniffed type, `nosniff` and a CSP that runs nothing; a type a browser could
//! run (HTML, SVG…) was stored as `application/octet-stream` and is always an
//! attachment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use axum::body::{Body, Bytes};
use axum::extract::Multipart;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::pages::{RoomRefusal, bad_form, csrf_rejected};
use super::storage_full::{refused_form_page, typed_text};
use super::visitor::Visitor;
use crate::App;
use crate::runtime::{WitServedFile, WitUploadedFile};
use crate::uploads::sniff::SHOWN_INLINE;
use crate::uploads::{MAX_FILE_BYTES, MAX_FILES_PER_REQUEST, UploadError, Uploads, quota};

/// Largest body of a plugin POST with files: two files of the largest size.
pub const MAX_UPLOAD_BODY_BYTES: usize = 2 * MAX_FILE_BYTES as usize + (1 << 20);
/// Most bytes of text fields in one multipart form (as for an ordinary form).
const MAX_TEXT_BYTES: usize = 1 << 20;

/// Whether a request's body is `multipart/form-data`.
pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

/// A multipart form as the plugin gets it.
pub struct Received {
    /// Text fields (the CSRF token removed).
    pub form: Vec<(String, String)>,
    /// Stored, pending files.
    pub files: Vec<WitUploadedFile>,
}

/// Where received files go: the establishment, the plugin instance, and where
/// the person came from (to go back to after a refusal).
pub struct Destination<'a> {
    pub uai: &'a str,
    pub namespace: &'a str,
    pub back: Option<String>,
}

/// Reads a multipart form, storing its files. After a refusal, the rest of
/// the body is read and dropped before the answer goes: a server that answers
/// before reading a body must close the connection, and a browser still
/// sending its file would then show a network error instead of the page.
pub async fn receive(
    app: &App,
    visitor: &Visitor,
    to: &Destination<'_>,
    mut multipart: Multipart,
) -> Result<Received, Response> {
    let outcome = receive_fields(app, visitor, to, &mut multipart).await;
    if outcome.is_err() {
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    outcome
}

async fn receive_fields(
    app: &App,
    visitor: &Visitor,
    to: &Destination<'_>,
    multipart: &mut Multipart,
) -> Result<Received, Response> {
    let uploads = Uploads::new(app.directory.shared_store());
    let mut received = Received {
        form: Vec::new(),
        files: Vec::new(),
    };
    let mut csrf_checked = false;
    let mut text_bytes = 0;
    // Held from the first file to the end of the form (see `person_lock`).
    let mut one_at_a_time = None;
    // Any refusal: what was stored goes, the typed text comes back.
    let refuse = |received: &Received, status: StatusCode, message: &str| -> Response {
        discard(app, received.files.iter().map(|f| f.id.as_str()));
        refused_form_page(
            status,
            "Fichier refusé",
            &typed_text(received.form.clone()),
            to.back.as_deref(),
            message,
        )
    };
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                tracing::info!("formulaire multipart illisible : {e}");
                discard(app, received.files.iter().map(|f| f.id.as_str()));
                return Err(bad_form(app, visitor));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let value = match field.text().await {
                Ok(value) => value,
                Err(_) => {
                    discard(app, received.files.iter().map(|f| f.id.as_str()));
                    return Err(bad_form(app, visitor));
                }
            };
            text_bytes += name.len() + value.len();
            if text_bytes > MAX_TEXT_BYTES {
                return Err(refuse(
                    &received,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Le texte du formulaire est trop long.",
                ));
            }
            if name == "csrf" {
                if !visitor.csrf_valid(&[(name, value)]) {
                    discard(app, received.files.iter().map(|f| f.id.as_str()));
                    return Err(csrf_rejected(app, visitor));
                }
                csrf_checked = true;
            } else {
                received.form.push((name, value));
            }
            continue;
        };
        if !csrf_checked {
            // Nothing is stored for a request whose token was not seen first.
            return Err(csrf_rejected(app, visitor));
        }
        // An empty file input sends a part with no name and no bytes.
        if file_name.is_empty() {
            while let Ok(Some(_)) = field.chunk().await {}
            continue;
        }
        let Some(user) = visitor.user.as_ref() else {
            return Err(refuse(
                &received,
                StatusCode::FORBIDDEN,
                "Connectez-vous pour envoyer un fichier.",
            ));
        };
        if one_at_a_time.is_none() {
            one_at_a_time = Some(person_lock(to.uai, &user.id).lock_owned().await);
        }
        if received.files.len() >= MAX_FILES_PER_REQUEST {
            return Err(refuse(
                &received,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Envoyez au plus {MAX_FILES_PER_REQUEST} fichiers à la fois."),
            ));
        }
        let stored = async {
            let limit = quota::limit(&app.directory, to.uai, user).map_err(UploadError::Store)?;
            let mut writer = uploads.begin(to.uai, to.namespace, &user.id, &file_name, limit)?;
            loop {
                match field.chunk().await {
                    Ok(Some(bytes)) => {
                        if let Err(e) = writer.write(&bytes) {
                            writer.abort();
                            return Err(e);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        writer.abort();
                        return Err(UploadError::Store(anyhow::anyhow!(
                            "envoi interrompu : {e}"
                        )));
                    }
                }
            }
            writer.finish().map_err(|(e, writer)| {
                writer.abort();
                e
            })
        }
        .await;
        match stored {
            Ok(meta) => received.files.push(WitUploadedFile {
                field: name,
                id: meta.id,
                name: meta.name,
                media_type: meta.media_type,
                size: meta.size,
            }),
            Err(UploadError::StorageFull) => {
                discard(app, received.files.iter().map(|f| f.id.as_str()));
                let mut response = StatusCode::INSUFFICIENT_STORAGE.into_response();
                response
                    .extensions_mut()
                    .insert(RoomRefusal(UploadError::StorageFull.to_string()));
                return Err(response);
            }
            Err(e @ UploadError::Store(_)) => {
                tracing::warn!("envoi de fichier : {e}");
                return Err(refuse(&received, StatusCode::BAD_REQUEST, &e.to_string()));
            }
            Err(e) => {
                let status = match e {
                    UploadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                return Err(refuse(&received, status, &e.to_string()));
            }
        }
    }
    if !csrf_checked {
        discard(app, received.files.iter().map(|f| f.id.as_str()));
        return Err(csrf_rejected(app, visitor));
    }
    Ok(received)
}

/// One upload at a time per person and establishment. Each chunk is charged
/// to the quota in its own transaction, so two uploads of one person racing
/// for the last megabytes could each store half and both be refused; one
/// after the other, the first that fits is stored whole and the next refused.
fn person_lock(uai: &str, person: &str) -> Arc<tokio::sync::Mutex<()>> {
    type Locks = Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>;
    static LOCKS: OnceLock<Locks> = OnceLock::new();
    let mut locks = LOCKS.get_or_init(Locks::default).lock().expect("verrou");
    locks.retain(|_, lock| lock.strong_count() > 0);
    let key = format!("{uai}/{person}");
    if let Some(lock) = locks.get(&key).and_then(Weak::upgrade) {
        return lock;
    }
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    locks.insert(key, Arc::downgrade(&lock));
    lock
}

/// Deletes the files among `ids` that are still pending (not kept by the plugin).
pub fn discard<'a>(app: &App, ids: impl IntoIterator<Item = &'a str>) {
    let uploads = Uploads::new(app.directory.shared_store());
    for id in ids {
        let removed = uploads.meta(id).and_then(|meta| match meta {
            Some(meta) if !meta.kept => uploads.remove(&meta),
            _ => Ok(()),
        });
        if let Err(e) = removed {
            // The sweep at the next start removes it.
            tracing::error!(file = %id, "fichier en attente non supprimé : {e:#}");
        }
    }
}

/// A plugin's `file` response: one of its instance's kept files, streamed.
pub fn serve(app: &App, namespace: &str, plugin: &str, served: &WitServedFile) -> Response {
    let uploads = Uploads::new(app.directory.shared_store());
    let meta = match uploads.meta(&served.id) {
        Ok(Some(meta)) if meta.kept && meta.namespace == namespace => meta,
        Ok(_) => {
            tracing::error!(plugin, file = %served.id, "fichier envoyé inconnu de ce service");
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(e) => {
            tracing::error!("lecture du fichier {} : {e:#}", served.id);
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let inline = served.inline && SHOWN_INLINE.contains(&meta.media_type.as_str());
    let (id, chunks) = (meta.id.clone(), meta.chunks);
    let stream = futures_util::stream::unfold(0u32, move |index| {
        let uploads = uploads.clone();
        let id = id.clone();
        async move {
            if index >= chunks {
                return None;
            }
            let chunk = match uploads.chunk(&id, index) {
                Ok(Some(bytes)) => Ok(Bytes::from(bytes)),
                Ok(None) => Err(std::io::Error::other(format!("morceau {index} absent"))),
                Err(e) => Err(std::io::Error::other(format!("{e:#}"))),
            };
            // After a failed chunk the stream ends: the client sees a short body.
            let next = if chunk.is_ok() { index + 1 } else { chunks };
            Some((chunk, next))
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    let media_type = if meta.media_type.is_empty() {
        "application/octet-stream"
    } else {
        &meta.media_type
    };
    if let Ok(value) = HeaderValue::from_str(media_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(inline, &meta.name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII name
/// for old clients, the real one for the others.
fn content_disposition(inline: bool, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_survive_in_both_forms() {
        assert_eq!(
            super::content_disposition(false, "Fiche d'exercices n°2.pdf"),
            "attachment; filename=\"Fiche d_exercices n_2.pdf\"; \
             filename*=UTF-8''Fiche%20d%27exercices%20n%C2%B02.pdf"
        );
    }
}
