//! Routing a request to a plugin: `/e/{uai}/{plugin}/{path}` and
//! `/e/{uai}/r/{rubrique}/{plugin}/{path}` → the plugin's `handle`, and its
//! typed response → HTTP. Whether the instance exists and with which roles is
//! `instances::instance_access`; this file only translates.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::extract::{EstablishmentOf, checked_form, parse_query};
use super::pages::{AppError, error_page, forbidden, html_response, internal_error_response};
use super::uploads;
use super::visitor::Visitor;
use crate::App;
use crate::directory::Establishment;
use crate::instances::{Access, Granted, instance_access};
use crate::runtime::{CallError, LoadedPlugin, PluginRequest, WitMethod, WitResponse};

/// The path of a plugin request: the establishment, the rubrique when the
/// instance is a rubrique's, the plugin, and the rest below its mount. One type
/// serves the four routes, so there is one entry point.
#[derive(serde::Deserialize)]
pub struct PluginPath {
    uai: String,
    rubrique: Option<String>,
    plugin: String,
    rest: Option<String>,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// GET /e/{uai}/{plugin} and /e/{uai}/r/{rubrique}/{plugin} → its index.
pub async fn plugin_slash(Path(path): Path<PluginPath>) -> Redirect {
    Redirect::permanent(&match &path.rubrique {
        None => format!("/e/{}/{}/", encode(&path.uai), encode(&path.plugin)),
        Some(rubrique) => format!(
            "/e/{}/r/{}/{}/",
            encode(&path.uai),
            encode(rubrique),
            encode(&path.plugin)
        ),
    })
}

/// GET /plugins/{plugin}/static/{*file} — a file of a plugin's `static/` folder
/// (its stylesheet, images, fonts): accepted types only, nothing outside the
/// folder, and no active content even when the file is an SVG.
pub async fn static_file(
    State(app): State<Arc<App>>,
    Path((plugin, file)): Path<(String, String)>,
) -> Response {
    let not_found = || StatusCode::NOT_FOUND.into_response();
    let Some(plugin) = app.runtime.plugin(&plugin) else {
        return not_found();
    };
    let safe = !file.is_empty()
        && file
            .split('/')
            .all(|s| !s.is_empty() && !s.starts_with('.') && !s.contains('\\'));
    let Some(content_type) = crate::bundle::static_type(&file).filter(|_| safe) else {
        return not_found();
    };
    match tokio::fs::read(plugin.dir.join("static").join(&file)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=300"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'self'",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

/// The URL of a plugin's stylesheet (`static/style.css`), when it ships one.
fn stylesheet_url(plugin: &LoadedPlugin) -> Option<String> {
    plugin
        .dir
        .join("static/style.css")
        .is_file()
        .then(|| format!("/plugins/{}/static/style.css", plugin.manifest.id))
}

/// A plugin request: the plugin, the instance the visitor reaches, the call.
struct Prepared {
    plugin: Arc<LoadedPlugin>,
    granted: Box<Granted>,
    request: PluginRequest,
}

/// GET or POST below a plugin's mount. A POST's body is an ordinary form, or
/// a `multipart/form-data` one whose files the host stores ([`super::uploads`]).
pub async fn plugin_request(
    State(app): State<Arc<App>>,
    at: EstablishmentOf,
    Path(path): Path<PluginPath>,
    request: Request,
) -> Response {
    let EstablishmentOf {
        visitor,
        establishment,
    } = at;
    let page = PluginPage {
        app: &app,
        visitor: &visitor,
        establishment: &establishment,
    };
    let (parts, body) = request.into_parts();
    let with_files = parts.method == Method::POST && uploads::is_multipart(&parts.headers);
    let (form_body, multipart) = if with_files {
        let request = Request::from_parts(parts.clone(), body);
        match Multipart::from_request(request, &()).await {
            Ok(multipart) => (Bytes::new(), Some(multipart)),
            Err(_) => return super::pages::bad_form(&app, &visitor),
        }
    } else {
        // Only uploads may be large: an ordinary form keeps the usual limit.
        match axum::body::to_bytes(body, super::MAX_BODY_BYTES).await {
            Ok(bytes) => (bytes, None),
            Err(_) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "Formulaire trop volumineux.")
                    .into_response();
            }
        }
    };
    let prepared = match prepare(
        &page,
        &path,
        &parts.method,
        &parts.uri,
        &form_body,
        with_files,
    ) {
        Ok(prepared) => prepared,
        Err(response) => return response,
    };
    let Prepared {
        plugin,
        granted,
        mut request,
    } = prepared;
    let ctx = granted.call(&app, visitor.user.as_ref(), &establishment, &path.plugin);
    let namespace = ctx.namespace(&path.plugin);
    if let Some(multipart) = multipart {
        let to = uploads::Destination {
            uai: &establishment.uai,
            namespace: &namespace,
            back: super::storage_full::back_path(&parts.headers),
        };
        match uploads::receive(&app, &visitor, &to, multipart).await {
            Ok(received) => {
                request.form = received.form;
                request.files = received.files;
            }
            Err(response) => return response,
        }
    }
    let uploaded: Vec<String> = request.files.iter().map(|f| f.id.clone()).collect();
    let outcome = app.runtime.handle(&path.plugin, ctx, request).await;
    // What the plugin did not keep goes, whatever became of the call.
    uploads::discard(&app, uploaded.iter().map(String::as_str));
    match outcome {
        Ok(response) => {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok());
            let answer = Answer {
                plugin: &plugin,
                mount: &granted.mount,
                namespace: &namespace,
                request_path: parts.uri.path(),
                host,
            };
            page.respond(&answer, response).await
        }
        Err(error) => page.call_failed(error),
    }
}

/// The request's method and form (CSRF checked; a multipart form's is checked
/// while its files are received) and the visitor's access to the instance.
fn prepare(
    page: &PluginPage<'_>,
    path: &PluginPath,
    method: &Method,
    uri: &Uri,
    body: &Bytes,
    with_files: bool,
) -> Result<Prepared, Response> {
    let PluginPage {
        app,
        visitor,
        establishment,
    } = *page;
    // A plugin that is not loaded, or not enabled here, does not exist here.
    let Some(plugin) = app.runtime.plugin(&path.plugin) else {
        return Err(page.not_found());
    };
    let (method, form) = match *method {
        Method::GET | Method::HEAD => (WitMethod::Get, Vec::new()),
        Method::POST if with_files => (WitMethod::Post, Vec::new()),
        Method::POST => (WitMethod::Post, checked_form(app, visitor, body)?),
        _ => return Err(StatusCode::METHOD_NOT_ALLOWED.into_response()),
    };
    let uai = &establishment.uai;
    let rubrique = path.rubrique.as_deref();
    let granted = match instance_access(app, visitor.user.as_ref(), uai, rubrique, &plugin) {
        Ok(Access::Granted(granted)) => granted,
        Ok(Access::NotFound) => return Err(page.not_found()),
        Ok(Access::Forbidden) => return Err(forbidden(app, visitor, Some(establishment))),
        Err(e) => return Err(AppError::from(e).into_response()),
    };
    let service_path = format!("/{}", path.rest.as_deref().unwrap_or(""));
    // The service's entry page, refused by the host itself to whoever the
    // links to it are hidden from (instances::Granted::opens).
    if service_path == "/" && !granted.opens() {
        return Err(forbidden(app, visitor, Some(establishment)));
    }
    let request = PluginRequest {
        method,
        path: service_path,
        query: parse_query(uri.query()),
        // The CSRF field is the host's business, not the plugin's.
        form: form.into_iter().filter(|(k, _)| k != "csrf").collect(),
        files: Vec::new(),
    };
    Ok(Prepared {
        plugin,
        granted,
        request,
    })
}

/// Where a plugin's response goes back to: the plugin, its instance's mount
/// and namespace, the request's path and host.
struct Answer<'a> {
    plugin: &'a LoadedPlugin,
    mount: &'a str,
    namespace: &'a str,
    request_path: &'a str,
    host: Option<&'a str>,
}

/// What answers a plugin request: the app, the visitor, the establishment.
#[derive(Clone, Copy)]
struct PluginPage<'a> {
    app: &'a App,
    visitor: &'a Visitor,
    establishment: &'a Establishment,
}

impl PluginPage<'_> {
    fn error(&self, status: StatusCode, heading: &str, message: &str) -> Response {
        error_page(
            self.app,
            self.visitor,
            Some(self.establishment),
            status,
            heading,
            message,
        )
    }

    fn not_found(&self) -> Response {
        self.error(
            StatusCode::NOT_FOUND,
            "Page introuvable",
            "Ce service n'existe pas ou n'est pas activé dans cet établissement.",
        )
    }

    /// The page of a call that failed (trap, deadline, memory): for this request only.
    fn call_failed(&self, error: CallError) -> Response {
        let (status, message) = match error {
            CallError::Timeout | CallError::OutOfMemory => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Le service n'a pas pu répondre à temps. Réessayez dans un instant.",
            ),
            CallError::Unknown => return self.not_found(),
            // The storage_full layer answers the page with the form's text.
            CallError::StorageFull => return StatusCode::INSUFFICIENT_STORAGE.into_response(),
            CallError::OverQuota(over) => return super::pages::over_quota(over),
            CallError::StorageUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "La base de données est momentanément indisponible ; rien n'a été perdu. \
                 Réessayez dans un instant.",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Le service a rencontré une erreur. L'incident a été enregistré.",
            ),
        };
        self.error(status, "Service indisponible", message)
    }

    /// The plugin's typed response as HTTP: its page rendered in the theme (with
    /// other services' objects embedded), a redirect inside its mount, JSON, a
    /// download, or an error page.
    async fn respond(&self, answer: &Answer<'_>, response: WitResponse) -> Response {
        let PluginPage {
            app,
            visitor,
            establishment,
        } = *self;
        let Answer {
            plugin,
            mount,
            namespace,
            request_path,
            host,
        } = *answer;
        let plugin_id = &plugin.manifest.id;
        match response {
            WitResponse::Page(page) => {
                let mut context: serde_json::Value = match serde_json::from_str(&page.context) {
                    Ok(v @ serde_json::Value::Object(_)) => v,
                    _ => {
                        tracing::error!(plugin = %plugin_id, "contexte de page qui n'est pas un objet JSON");
                        return internal_error_response();
                    }
                };
                if !valid_template_name(&page.template) {
                    tracing::error!(plugin = %plugin_id, "nom de gabarit refusé : {}", page.template);
                    return internal_error_response();
                }
                // A page is a success or an error page: informational and redirect codes need more than a page.
                let status = StatusCode::from_u16(page.status)
                    .ok()
                    .filter(|s| s.is_success() || s.is_client_error() || s.is_server_error())
                    .unwrap_or(StatusCode::OK);
                // The layout links the plugin's own stylesheet, when it ships one.
                context["plugin_stylesheet"] = json!(stylesheet_url(plugin));
                let template = format!("{plugin_id}/{}", page.template);
                let html = match super::pages::render_html(
                    app,
                    visitor,
                    Some(establishment),
                    &template,
                    &page.title,
                    context,
                ) {
                    Ok(html) => html,
                    Err(e) => {
                        tracing::error!("gabarit {template} : {e:#}");
                        return internal_error_response();
                    }
                };
                // Other services' objects linked alone in a paragraph (a form in an article).
                let html = super::embeds::expand(
                    app,
                    visitor,
                    establishment,
                    &plugin.manifest.name,
                    request_path,
                    host,
                    html,
                )
                .await;
                html_response(app, visitor, status, html)
            }
            WitResponse::Redirect(to) => {
                // Relative to the mount: a plugin can only send people inside itself.
                match redirect_inside(mount, &to) {
                    Some(target) => Redirect::to(&target).into_response(),
                    None => {
                        tracing::error!(plugin = %plugin.manifest.id, "redirection hors du service refusée : {to:?}");
                        internal_error_response()
                    }
                }
            }
            WitResponse::Json(body) => {
                ([(header::CONTENT_TYPE, "application/json")], body).into_response()
            }
            WitResponse::Download(download) => {
                let filename: String = download
                    .filename
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    .take(100)
                    .collect();
                let mut response = download.body.into_response();
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&download.content_type)
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                );
                if let Ok(value) =
                    HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                {
                    headers.insert(header::CONTENT_DISPOSITION, value);
                }
                response
            }
            WitResponse::File(file) => super::uploads::serve(app, namespace, plugin_id, &file),
            WitResponse::NotFound => self.not_found(),
            WitResponse::Forbidden => forbidden(app, visitor, Some(establishment)),
            WitResponse::Invalid(errors) => {
                let errors: Vec<_> = errors
                    .iter()
                    .map(|e| json!({ "field": e.field, "message": e.message }))
                    .collect();
                let message = errors
                    .iter()
                    .map(|e| {
                        format!(
                            "{} : {}",
                            e["field"].as_str().unwrap_or(""),
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ; ");
                error_page(
                    app,
                    visitor,
                    Some(establishment),
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Saisie invalide",
                    &message,
                )
            }
            WitResponse::Internal(message) => {
                tracing::error!(plugin = %plugin_id, uai = %establishment.uai, "erreur interne du plugin : {message}");
                error_page(
                    app,
                    visitor,
                    Some(establishment),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Erreur du service",
                    "Le service a rencontré une erreur. L'incident a été enregistré.",
                )
            }
        }
    }
}

/// A plugin may only name its own templates: plain file names.
fn valid_template_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.ends_with(".html")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_names_stay_inside_the_plugin() {
        assert!(super::valid_template_name("list.html"));
        assert!(!super::valid_template_name("../layout.html"));
        assert!(!super::valid_template_name("admin/index.html"));
    }
}

/// Where a plugin's redirect to `to` (relative to its mount) leads, once
/// normalised: None when it would leave the mount (`/../../admin/`), or is
/// not a clean path.
fn redirect_inside(mount: &str, to: &str) -> Option<String> {
    // A plugin's own URLs may hold spaces (a search term): encoded, not refused.
    let to = to.replace(' ', "%20");
    let to = if to.starts_with('/') {
        to
    } else {
        format!("/{to}")
    };
    let target = super::pages::same_site_path(&format!("{mount}{to}"))?;
    let mount = super::pages::same_site_path(mount)?;
    let path = target.split(['?', '#']).next().unwrap_or_default();
    (path == mount || path.starts_with(&format!("{mount}/"))).then_some(target)
}

#[cfg(test)]
mod redirect_tests {
    use super::redirect_inside;

    #[test]
    fn a_plugin_redirect_stays_inside_its_mount() {
        let mount = "/e/0420003A/blog";
        let inside = |s: &str| Some(s.to_string());
        assert_eq!(redirect_inside(mount, "/"), inside("/e/0420003A/blog/"));
        assert_eq!(
            redirect_inside(mount, "a/b?x=1"),
            inside("/e/0420003A/blog/a/b?x=1")
        );
        assert_eq!(
            redirect_inside(mount, "/a/../b"),
            inside("/e/0420003A/blog/b")
        );
        assert_eq!(redirect_inside(mount, ""), inside("/e/0420003A/blog/"));
        assert_eq!(redirect_inside(mount, "/../../../admin/"), None);
        assert_eq!(redirect_inside(mount, "/%2e%2e/%2e%2e/%2e%2e/admin/"), None);
        assert_eq!(redirect_inside(mount, "/../blog2/"), None);
        assert_eq!(redirect_inside(mount, "/\t/x"), None);
        assert_eq!(redirect_inside(mount, "/a\\b"), None);
        assert_eq!(
            redirect_inside("/e/0420003A/r/cdi/blog", "/../../forum/"),
            None
        );
    }
}
