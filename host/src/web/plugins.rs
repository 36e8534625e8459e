//! Routing a request to a plugin: `/e/{uai}/{plugin}/{path}`.

use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::portal::{find_establishment, wit_caller};
use super::{Visitor, csrf_rejected, error_page, forbidden, parse_form, parse_query};
use crate::App;
use crate::directory::Establishment;
use crate::runtime::{
    CallContext, CallError, WitFragment, WitInvocation, WitMethod, WitRequest, WitResponse,
    WitRubrique, invocation,
};

/// GET /e/{uai}/{plugin} → its index.
pub async fn plugin_slash(Path((uai, plugin)): Path<(String, String)>) -> Redirect {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    Redirect::permanent(&format!("/e/{}/{}/", encode(&uai), encode(&plugin)))
}

/// /e/{uai}/{plugin}/
pub async fn plugin_root(
    State(app): State<Arc<App>>,
    Path((uai, plugin)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    dispatch(
        app,
        uai,
        None,
        plugin,
        "/".to_string(),
        method,
        headers,
        uri,
        body,
    )
    .await
}

/// /e/{uai}/{plugin}/{*rest}
pub async fn plugin_path(
    State(app): State<Arc<App>>,
    Path((uai, plugin, rest)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    dispatch(
        app,
        uai,
        None,
        plugin,
        format!("/{rest}"),
        method,
        headers,
        uri,
        body,
    )
    .await
}

/// /e/{uai}/r/{rubrique}/{plugin}/
pub async fn rubrique_plugin_root(
    State(app): State<Arc<App>>,
    Path((uai, rubrique, plugin)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    dispatch(
        app,
        uai,
        Some(rubrique),
        plugin,
        "/".to_string(),
        method,
        headers,
        uri,
        body,
    )
    .await
}

/// /e/{uai}/r/{rubrique}/{plugin}/{*rest}
pub async fn rubrique_plugin_path(
    State(app): State<Arc<App>>,
    Path((uai, rubrique, plugin, rest)): Path<(String, String, String, String)>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    dispatch(
        app,
        uai,
        Some(rubrique),
        plugin,
        format!("/{rest}"),
        method,
        headers,
        uri,
        body,
    )
    .await
}

/// GET /e/{uai}/r/{rubrique}/{plugin} → its index.
pub async fn rubrique_plugin_slash(
    Path((uai, rubrique, plugin)): Path<(String, String, String)>,
) -> Redirect {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    Redirect::permanent(&format!(
        "/e/{}/r/{}/{}/",
        encode(&uai),
        encode(&rubrique),
        encode(&plugin)
    ))
}

/// Hosts the administrators approved for a plugin's outbound requests: the
/// region's list and the establishment's.
pub fn approved_hosts(app: &App, uai: &str, plugin: &str) -> Vec<String> {
    let mut hosts: Vec<String> = app
        .directory
        .setting(&format!("outbound/region/{plugin}"))
        .ok()
        .flatten()
        .unwrap_or_default();
    hosts.extend(
        app.directory
            .setting::<Vec<String>>(&format!("outbound/{uai}/{plugin}"))
            .ok()
            .flatten()
            .unwrap_or_default(),
    );
    hosts
}

/// The call context of a plugin instance: establishment, rubrique, configuration, approvals.
pub fn call_context(
    app: &App,
    uai: &str,
    rubrique: Option<&str>,
    plugin: &str,
    config: &serde_json::Value,
) -> CallContext {
    CallContext {
        uai: uai.to_string(),
        rubrique: rubrique.map(str::to_string),
        config: config.to_string(),
        approved_hosts: approved_hosts(app, uai, plugin),
        ..CallContext::default()
    }
}

/// Sends `tick` every `interval` to each scheduled plugin in every establishment
/// where it is enabled, one call at a time (scheduled work is background work).
pub fn start_scheduler(app: &Arc<App>, interval: std::time::Duration) {
    let weak = Arc::downgrade(app);
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer.tick().await;
        loop {
            timer.tick().await;
            let Some(app) = weak.upgrade() else {
                return;
            };
            let establishments = app.directory.establishments().unwrap_or_default();
            for plugin in app.runtime.plugins() {
                if !plugin.manifest.scheduled {
                    continue;
                }
                let id = &plugin.manifest.id;
                for establishment in &establishments {
                    let Ok(setting) = app.directory.plugin_setting(&establishment.uai, id) else {
                        continue;
                    };
                    if !setting.enabled {
                        continue;
                    }
                    let event = crate::runtime::WitEvent {
                        name: "tick".into(),
                        payload: String::new(),
                        invocation: invocation(
                            None,
                            Vec::new(),
                            establishment,
                            format!("/e/{}/{id}", establishment.uai),
                            None,
                        ),
                    };
                    let ctx = call_context(&app, &establishment.uai, None, id, &setting.config);
                    if let Err(e) = app.runtime.on_event(id, ctx, event).await {
                        tracing::warn!(plugin = %id, uai = %establishment.uai, "tâche planifiée : {e}");
                    }
                }
            }
        }
    });
}

/// A plugin instance the visitor may reach: their roles there (possibly none), its
/// mount, rubrique and configuration.
pub struct Granted {
    pub roles: Vec<String>,
    pub mount: String,
    pub rubrique: Option<crate::portal::Rubrique>,
    pub config: serde_json::Value,
}

impl Granted {
    /// The invocation of a call made for `visitor`.
    pub fn invocation(&self, visitor: &Visitor, establishment: &Establishment) -> WitInvocation {
        invocation(
            wit_caller(visitor, &establishment.uai),
            self.roles.clone(),
            establishment,
            self.mount.clone(),
            self.rubrique.as_ref().map(|r| WitRubrique {
                id: r.id.clone(),
                title: r.title.clone(),
            }),
        )
    }

    /// The context of a call into `plugin` here.
    pub fn context(&self, app: &App, uai: &str, plugin: &str) -> CallContext {
        let rubrique = self.rubrique.as_ref().map(|r| r.id.as_str());
        call_context(app, uai, rubrique, plugin, &self.config)
    }
}

/// What a visitor gets of a plugin instance (the establishment's, or a rubrique's).
pub enum Access {
    Granted(Box<Granted>),
    /// Not enabled here, or not shown in that rubrique: it does not exist here.
    NotFound,
    /// A restricted rubrique the visitor may not enter.
    Forbidden,
}

/// Whether `plugin` exists in `uai` (and rubrique `rubrique_id`) and with which
/// roles for the visitor: in a rubrique, the rubrique must hold the service and let
/// the visitor in, and roles come from the rubrique.
pub fn instance_access(
    app: &App,
    visitor: &Visitor,
    uai: &str,
    rubrique_id: Option<&str>,
    plugin: &crate::runtime::LoadedPlugin,
) -> anyhow::Result<Access> {
    let plugin_id = &plugin.manifest.id;
    let setting = app.directory.plugin_setting(uai, plugin_id)?;
    if !setting.enabled {
        return Ok(Access::NotFound);
    }
    let Some(rid) = rubrique_id else {
        return Ok(Access::Granted(Box::new(Granted {
            roles: app
                .directory
                .roles(visitor.user.as_ref(), uai, &plugin.manifest)?,
            mount: format!("/e/{uai}/{plugin_id}"),
            rubrique: None,
            config: setting.config,
        })));
    };
    let portal = crate::portal::Portal::load(&app.directory, uai)?;
    let Some(rubrique) = portal
        .rubrique(rid)
        .filter(|r| plugin.manifest.rubrique && r.services.contains(plugin_id))
    else {
        return Ok(Access::NotFound);
    };
    if !crate::portal::may_enter(&app.directory, &portal, visitor.user.as_ref(), uai, rid)? {
        return Ok(Access::Forbidden);
    }
    Ok(Access::Granted(Box::new(Granted {
        roles: crate::portal::roles_in(
            &app.directory,
            rubrique,
            visitor.user.as_ref(),
            uai,
            &plugin.manifest,
        )?,
        mount: format!("/e/{uai}/r/{rid}/{plugin_id}"),
        rubrique: Some(rubrique.clone()),
        config: setting.config,
    })))
}

/// The HTML of a plugin's fragment (a home-page block, an embedded object): its
/// autoescaped template with the fragment's context plus `portal` (the
/// establishment, and the visitor's CSRF token for forms inside).
pub fn render_fragment(
    app: &App,
    visitor: &Visitor,
    uai: &str,
    plugin: &str,
    fragment: &WitFragment,
) -> anyhow::Result<String> {
    let mut context: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&fragment.context).context("contexte du fragment")?;
    context.insert(
        "portal".into(),
        json!({
            "csrf": visitor.csrf(),
            "establishment": { "uai": uai, "url": format!("/e/{uai}/") },
        }),
    );
    Ok(app.theme.render(
        &format!("{plugin}/{}", fragment.template),
        minijinja::Value::from_serialize(&context),
    )?)
}

#[allow(clippy::too_many_arguments)]
async fn dispatch(
    app: Arc<App>,
    uai: String,
    rubrique_id: Option<String>,
    plugin_id: String,
    path: String,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let establishment = match find_establishment(&app, &visitor, &uai) {
        Ok(e) => e,
        Err(response) => return response,
    };
    let not_found = || {
        error_page(
            &app,
            &visitor,
            Some(&establishment),
            StatusCode::NOT_FOUND,
            "Page introuvable",
            "Ce service n'existe pas ou n'est pas activé dans cet établissement.",
        )
    };
    // A plugin that is not loaded, or not enabled here, does not exist here.
    let Some(plugin) = app.runtime.plugin(&plugin_id) else {
        return not_found();
    };
    let (wit_method, form) = match method {
        Method::GET | Method::HEAD => (WitMethod::Get, Vec::new()),
        Method::POST => {
            let Some(form) = parse_form(&body) else {
                return error_page(
                    &app,
                    &visitor,
                    Some(&establishment),
                    StatusCode::BAD_REQUEST,
                    "Formulaire illisible",
                    "Les données envoyées ne sont pas un formulaire valide (encodage UTF-8 attendu).",
                );
            };
            if !visitor.csrf_valid(&form) {
                return csrf_rejected(&app, &visitor);
            }
            (WitMethod::Post, form)
        }
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    let granted = match instance_access(&app, &visitor, &uai, rubrique_id.as_deref(), &plugin) {
        Ok(Access::Granted(granted)) => granted,
        Ok(Access::NotFound) => return not_found(),
        Ok(Access::Forbidden) => return forbidden(&app, &visitor, Some(&establishment)),
        Err(e) => return super::AppError::from(e).into_response(),
    };
    let mount = granted.mount.clone();
    let request = WitRequest {
        method: wit_method,
        path,
        query: parse_query(uri.query()),
        // The CSRF field is the host's business, not the plugin's.
        form: form.into_iter().filter(|(k, _)| k != "csrf").collect(),
        csrf_valid: true,
        invocation: granted.invocation(&visitor, &establishment),
    };
    let ctx = granted.context(&app, &uai, &plugin_id);
    let response = match app.runtime.handle(&plugin_id, ctx, request).await {
        Ok(response) => response,
        Err(error) => {
            let (status, message) = match error {
                CallError::Timeout | CallError::OutOfMemory => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Le service n'a pas pu répondre à temps. Réessayez dans un instant.",
                ),
                CallError::Unknown => return not_found(),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Le service a rencontré une erreur. L'incident a été enregistré.",
                ),
            };
            return error_page(
                &app,
                &visitor,
                Some(&establishment),
                status,
                "Service indisponible",
                message,
            );
        }
    };
    match response {
        WitResponse::Page(page) => {
            let context: serde_json::Value = match serde_json::from_str(&page.context) {
                Ok(v @ serde_json::Value::Object(_)) => v,
                _ => {
                    tracing::error!(plugin = %plugin_id, "contexte de page qui n'est pas un objet JSON");
                    return super::internal_error_response();
                }
            };
            if !valid_template_name(&page.template) {
                tracing::error!(plugin = %plugin_id, "nom de gabarit refusé : {}", page.template);
                return super::internal_error_response();
            }
            // A page is a success or an error page: informational and redirect codes need more than a page.
            let status = StatusCode::from_u16(page.status)
                .ok()
                .filter(|s| s.is_success() || s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::OK);
            let template = format!("{plugin_id}/{}", page.template);
            let html = match super::render_html(
                &app,
                &visitor,
                Some(&establishment),
                &template,
                &page.title,
                context,
            ) {
                Ok(html) => html,
                Err(e) => {
                    tracing::error!("gabarit {template} : {e:#}");
                    return super::internal_error_response();
                }
            };
            // Other services' objects linked alone in a paragraph (a form in an article).
            let html = super::embeds::expand(
                &app,
                &visitor,
                &establishment,
                &plugin.manifest.name,
                uri.path(),
                headers.get(header::HOST).and_then(|h| h.to_str().ok()),
                html,
            )
            .await;
            super::html_response(&app, &visitor, status, html)
        }
        WitResponse::Redirect(to) => {
            // Relative to the mount: a plugin can only send people inside itself.
            let to = if to.starts_with('/') {
                to
            } else {
                format!("/{to}")
            };
            if to.contains(['\r', '\n']) || to.starts_with("//") {
                return super::internal_error_response();
            }
            Redirect::to(&format!("{mount}{to}")).into_response()
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
        WitResponse::NotFound => not_found(),
        WitResponse::Forbidden => forbidden(&app, &visitor, Some(&establishment)),
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
                &app,
                &visitor,
                Some(&establishment),
                StatusCode::UNPROCESSABLE_ENTITY,
                "Saisie invalide",
                &message,
            )
        }
        WitResponse::Internal(message) => {
            tracing::error!(plugin = %plugin_id, uai = %uai, "erreur interne du plugin : {message}");
            error_page(
                &app,
                &visitor,
                Some(&establishment),
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur du service",
                "Le service a rencontré une erreur. L'incident a été enregistré.",
            )
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
