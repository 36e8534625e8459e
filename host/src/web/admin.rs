//! Administration: plugins per establishment (enable, configure), appearance,
//! the region's embed allowlist. Every handler checks rights server-side.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::portal::{find_establishment, valid_colour};
use super::{
    Visitor, WebResult, csrf_rejected, error_page, forbidden, parse_form, parse_query, render,
};
use crate::config_form::{self, FieldError};
use crate::directory::{Establishment, PluginSetting, User};
use crate::html::{EmbedProvider, Sanitizer};
use crate::runtime::{LoadedPlugin, WitEvent, invocation};
use crate::{App, SharedSanitizer};

fn notice(uri: &Uri) -> Option<&'static str> {
    if uri.query() == Some("ok=sorties") {
        return Some("Sites autorisés enregistrés.");
    }
    parse_query(uri.query())
        .iter()
        .find(|(k, _)| k == "ok")
        .map(|(_, v)| match v.as_str() {
            "config" => "Configuration enregistrée.",
            "theme" => "Apparence enregistrée.",
            "embeds" => "Liste des contenus enrichis autorisés enregistrée.",
            "banniere" => "Image de bannière importée.",
            "banniere-retiree" => {
                "Image de bannière retirée : la bannière par défaut est rétablie."
            }
            "enabled" => "Service activé.",
            _ => "Service désactivé.",
        })
}

/// GET /admin/ — region administrators see every establishment, establishment
/// administrators their own.
pub async fn index(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let Some(user) = visitor.user.clone() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let establishments: Vec<Establishment> = app
        .directory
        .establishments()?
        .into_iter()
        .filter(|e| user.administers(&e.uai))
        .collect();
    if establishments.is_empty() {
        return Ok(forbidden(&app, &visitor, None));
    }
    let plugins = app.runtime.plugins();
    let mut views = Vec::new();
    for e in &establishments {
        let mut plugin_views = Vec::new();
        for p in &plugins {
            let id = &p.manifest.id;
            plugin_views.push(json!({
                "id": id,
                "name": p.manifest.name,
                "description": p.manifest.description,
                "enabled": app.directory.plugin_setting(&e.uai, id)?.enabled,
                "toggle_url": format!("/admin/e/{}/plugins/{id}/toggle", e.uai),
                "config_url": format!("/admin/e/{}/plugins/{id}", e.uai),
            }));
        }
        views.push(json!({
            "uai": e.uai, "name": e.name, "city": e.city,
            "theme_url": format!("/admin/e/{}/theme", e.uai),
            "plugins": plugin_views,
        }));
    }
    let enabled: Vec<String> = app
        .directory
        .region_setting::<Vec<String>>("embed-providers")?
        .unwrap_or_else(|| {
            EmbedProvider::ALL
                .iter()
                .map(|p| p.id().to_string())
                .collect()
        });
    let providers: Vec<_> = EmbedProvider::ALL
        .iter()
        .map(|p| json!({ "id": p.id(), "label": p.label(), "enabled": enabled.iter().any(|e| e == p.id()) }))
        .collect();
    let mut context = json!({ "establishments": views, "notice": notice(&uri) });
    if user.region_admin {
        context["embed_providers"] = json!(providers);
        context["embed_url"] = json!("/admin/embeds");
    }
    Ok(render(
        &app,
        &visitor,
        None,
        "admin/index.html",
        "Administration",
        StatusCode::OK,
        context,
    ))
}

/// The visitor, establishment and plugin of an administration URL, after the
/// rights check; or the response to send instead.
pub(super) struct Target {
    pub(super) visitor: Visitor,
    pub(super) user: User,
    pub(super) establishment: Establishment,
}

impl Target {
    /// What administration templates show of the establishment.
    pub(super) fn establishment_json(&self) -> serde_json::Value {
        json!({ "uai": self.establishment.uai, "name": self.establishment.name })
    }
}

pub(super) fn target(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    uai: &str,
    region_only: bool,
) -> Result<Target, Response> {
    let visitor = Visitor::from_headers(app, headers, uri.path());
    let establishment = find_establishment(app, &visitor, uai)?;
    let Some(user) = visitor.user.clone() else {
        return Err(forbidden(app, &visitor, None));
    };
    let allowed = if region_only {
        user.region_admin
    } else {
        user.administers(uai)
    };
    if !allowed {
        return Err(forbidden(app, &visitor, None));
    }
    Ok(Target {
        visitor,
        user,
        establishment,
    })
}

pub(super) fn checked_form(
    app: &App,
    visitor: &Visitor,
    body: &Bytes,
) -> Result<Vec<(String, String)>, Response> {
    let Some(form) = parse_form(body) else {
        return Err(super::bad_form(app, visitor));
    };
    if !visitor.csrf_valid(&form) {
        return Err(csrf_rejected(app, visitor));
    }
    Ok(form)
}

fn plugin_or_404(app: &App, visitor: &Visitor, id: &str) -> Result<Arc<LoadedPlugin>, Response> {
    app.runtime.plugin(id).ok_or_else(|| {
        error_page(
            app,
            visitor,
            None,
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Aucun service ne porte cet identifiant.",
        )
    })
}

/// Tells a plugin about a lifecycle event in an establishment, as `caller`
/// (with every role) or as nobody; failures are logged only.
async fn notify_plugin_as(
    app: &App,
    establishment: &Establishment,
    plugin: &LoadedPlugin,
    name: &str,
    config: &serde_json::Value,
    caller: Option<&User>,
) {
    notify_instance(app, establishment, None, plugin, name, config, caller).await
}

/// The same, to the plugin's instance in `rubrique` when given.
async fn notify_instance(
    app: &App,
    establishment: &Establishment,
    rubrique: Option<&crate::portal::Rubrique>,
    plugin: &LoadedPlugin,
    name: &str,
    config: &serde_json::Value,
    caller: Option<&User>,
) {
    let id = &plugin.manifest.id;
    let wit_caller = caller.map(|u| crate::runtime::WitCaller {
        id: u.id.clone(),
        login: u.login.clone(),
        display_name: u.display_name(),
        profiles: u
            .membership(&establishment.uai)
            .map(|m| vec![m.profile.clone()])
            .unwrap_or_default(),
        groups: Vec::new(),
        functions: Vec::new(),
        region_admin: u.region_admin,
    });
    let roles = if caller.is_some() {
        plugin.manifest.role_ids()
    } else {
        Vec::new()
    };
    let event = WitEvent {
        name: name.to_string(),
        payload: String::new(),
        invocation: invocation(
            wit_caller,
            roles,
            establishment,
            match rubrique {
                None => format!("/e/{}/{id}", establishment.uai),
                Some(r) => format!("/e/{}/r/{}/{id}", establishment.uai, r.id),
            },
            rubrique.map(|r| crate::runtime::WitRubrique {
                id: r.id.clone(),
                title: r.title.clone(),
            }),
        ),
    };
    let ctx = super::plugins::call_context(
        app,
        &establishment.uai,
        rubrique.map(|r| r.id.as_str()),
        id,
        config,
    );
    if let Err(e) = app.runtime.on_event(id, ctx, event).await {
        tracing::warn!(plugin = %id, uai = %establishment.uai, "événement {name} : {e}");
    }
}

async fn notify_plugin(
    app: &App,
    establishment: &Establishment,
    plugin: &LoadedPlugin,
    name: &str,
    config: &serde_json::Value,
) {
    notify_plugin_as(app, establishment, plugin, name, config, None).await;
}

/// Sends the `demo` event, as the establishment's administrator, so that the
/// plugin can create its demonstration content.
pub async fn send_demo_event(
    app: &App,
    establishment: &Establishment,
    rubrique: Option<&crate::portal::Rubrique>,
    plugin: &LoadedPlugin,
) {
    let admin = app
        .directory
        .users()
        .unwrap_or_default()
        .into_iter()
        .find(|u| u.membership(&establishment.uai).is_some_and(|m| m.admin));
    let config = app
        .directory
        .plugin_setting(&establishment.uai, &plugin.manifest.id)
        .unwrap_or_default()
        .config;
    notify_instance(
        app,
        establishment,
        rubrique,
        plugin,
        "demo",
        &config,
        admin.as_ref(),
    )
    .await;
}

/// Enables a plugin in an establishment: default configuration and grants on first use.
pub async fn enable_plugin(
    app: &App,
    establishment: &Establishment,
    plugin: &LoadedPlugin,
    enabled: bool,
) -> anyhow::Result<()> {
    let id = &plugin.manifest.id;
    let mut setting = app.directory.plugin_setting(&establishment.uai, id)?;
    setting.enabled = enabled;
    if enabled {
        if !setting.config.is_object() {
            setting.config = plugin.manifest.default_config();
        }
        app.directory
            .ensure_default_grants(&establishment.uai, &plugin.manifest)?;
    }
    app.directory
        .put_plugin_setting(&establishment.uai, id, &setting)?;
    if enabled {
        notify_plugin(app, establishment, plugin, "enabled", &setting.config).await;
    }
    Ok(())
}

/// POST /admin/e/{uai}/plugins/{plugin}/toggle — region administrators only.
pub async fn toggle_plugin(
    State(app): State<Arc<App>>,
    Path((uai, plugin_id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, true)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let plugin = plugin_or_404(&app, &t.visitor, &plugin_id)?;
    let enabled = form.iter().any(|(k, v)| k == "enabled" && v == "true");
    enable_plugin(&app, &t.establishment, &plugin, enabled).await?;
    app.directory.audit(
        &t.user,
        if enabled {
            "activation du service"
        } else {
            "désactivation du service"
        },
        &format!("{uai}/{plugin_id}"),
    )?;
    Ok(Redirect::to(&format!(
        "/admin/?ok={}",
        if enabled { "enabled" } else { "disabled" }
    ))
    .into_response())
}

fn plugin_page(
    app: &App,
    t: &Target,
    plugin: &LoadedPlugin,
    values: &serde_json::Value,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Response {
    let schema = &plugin.manifest.config_schema;
    let fields = config_form::fields(schema, values, errors);
    // Errors that belong to no field of the form go to the summary.
    let field_names: Vec<String> = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let general: Vec<String> = errors
        .iter()
        .filter(|e| !field_names.contains(&e.field))
        .map(|e| {
            if e.field.is_empty() {
                e.message.clone()
            } else {
                format!("{} : {}", e.field, e.message)
            }
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    outbound_page(app, t, plugin, &fields, &general, notice, None, status)
}

/// The configuration page with, for plugins that declare outbound hosts, the
/// lists of hosts approved by the establishment's and the region's administrators.
#[allow(clippy::too_many_arguments)]
fn outbound_page(
    app: &App,
    t: &Target,
    plugin: &LoadedPlugin,
    fields: &[config_form::FieldView],
    general: &[String],
    notice: Option<&str>,
    outbound_error: Option<(&str, &str, String)>,
    status: StatusCode,
) -> Response {
    let uai = &t.establishment.uai;
    let id = &plugin.manifest.id;
    let declared = &plugin.manifest.outbound.hosts;
    let list = |key: &str| {
        app.directory
            .setting::<Vec<String>>(key)
            .ok()
            .flatten()
            .unwrap_or_default()
            .join("\n")
    };
    let (mut establishment_hosts, mut region_hosts) = (
        list(&format!("outbound/{uai}/{id}")),
        list(&format!("outbound/region/{id}")),
    );
    let mut outbound_errors = serde_json::Map::new();
    if let Some((scope, typed, message)) = outbound_error {
        if scope == "region" {
            region_hosts = typed.to_string();
        } else {
            establishment_hosts = typed.to_string();
        }
        outbound_errors.insert(format!("hosts-{scope}"), json!(message));
    }
    let outbound = (!declared.is_empty()).then(|| {
        json!({
            "declared": declared,
            "any_host": declared.iter().any(|h| h == "*"),
            "establishment_hosts": establishment_hosts,
            "region_hosts": region_hosts,
            "can_edit_region": t.user.region_admin,
            "action_url": format!("/admin/e/{uai}/plugins/{id}/sorties"),
            "errors": outbound_errors,
        })
    });
    render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/plugin.html",
        &format!("Configuration — {}", plugin.manifest.name),
        status,
        json!({
            "plugin": { "id": plugin.manifest.id, "name": plugin.manifest.name },
            "establishment": t.establishment_json(),
            "action_url": format!("/admin/e/{}/plugins/{}", t.establishment.uai, plugin.manifest.id),
            "fields": fields,
            "errors": general,
            "notice": notice,
            "outbound": outbound,
        }),
    )
}

/// POST /admin/e/{uai}/plugins/{plugin}/sorties — `scope` = `etablissement` (this
/// establishment's administrators) or `region` (region administrators only), `hosts`
/// one per line.
pub async fn save_outbound(
    State(app): State<Arc<App>>,
    Path((uai, plugin_id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let plugin = plugin_or_404(&app, &t.visitor, &plugin_id)?;
    let scope = super::directory::field(&form, "scope");
    let region = scope == "region";
    if region && !t.user.region_admin {
        return Ok(forbidden(&app, &t.visitor, Some(&t.establishment)));
    }
    if plugin.manifest.outbound.hosts.is_empty() {
        return Ok(error_page(
            &app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::NOT_FOUND,
            "Pas de requêtes sortantes",
            "Ce service ne déclare aucun accès à des sites extérieurs.",
        ));
    }
    let typed = form
        .iter()
        .find(|(k, _)| k == "hosts")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let hosts = match crate::outbound::parse_approved_hosts(&typed) {
        Ok(hosts) => hosts,
        Err(message) => {
            let values = app.directory.plugin_setting(&uai, &plugin_id)?.config;
            let fields = config_form::fields(&plugin.manifest.config_schema, &values, &[]);
            return Ok(outbound_page(
                &app,
                &t,
                &plugin,
                &fields,
                &[],
                None,
                Some((
                    if region { "region" } else { "etablissement" },
                    &typed,
                    message,
                )),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let key = if region {
        format!("outbound/region/{plugin_id}")
    } else {
        format!("outbound/{uai}/{plugin_id}")
    };
    app.directory.put_setting(&key, &hosts)?;
    app.directory.audit_in(
        &t.user,
        if region { "" } else { &uai },
        "sites autorisés",
        &format!("{plugin_id} : {}", hosts.join(", ")),
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/plugins/{plugin_id}?ok=sorties")).into_response())
}

/// GET /admin/e/{uai}/plugins/{plugin}
pub async fn plugin_form(
    State(app): State<Arc<App>>,
    Path((uai, plugin_id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let plugin = plugin_or_404(&app, &t.visitor, &plugin_id)?;
    let setting = app.directory.plugin_setting(&uai, &plugin_id)?;
    let values = if setting.config.is_object() {
        setting.config
    } else {
        plugin.manifest.default_config()
    };
    Ok(plugin_page(&app, &t, &plugin, &values, &[], notice(&uri)))
}

/// POST /admin/e/{uai}/plugins/{plugin} — an invalid configuration is refused
/// with an error per field, and the previous one is kept.
pub async fn save_plugin(
    State(app): State<Arc<App>>,
    Path((uai, plugin_id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let plugin = plugin_or_404(&app, &t.visitor, &plugin_id)?;
    let schema = &plugin.manifest.config_schema;
    let (config, mut errors) = config_form::parse_form(schema, &form);
    if errors.is_empty()
        && let Err(schema_errors) = config_form::validate(schema, &config)
    {
        errors = schema_errors;
    }
    if !errors.is_empty() {
        // Redisplay what was typed, typed values where they parsed.
        let mut shown = serde_json::Map::new();
        for (k, v) in &form {
            shown.insert(
                k.clone(),
                config.get(k).cloned().unwrap_or_else(|| json!(v)),
            );
        }
        return Ok(plugin_page(
            &app,
            &t,
            &plugin,
            &serde_json::Value::Object(shown),
            &errors,
            None,
        ));
    }
    let mut setting: PluginSetting = app.directory.plugin_setting(&uai, &plugin_id)?;
    setting.config = config;
    app.directory
        .put_plugin_setting(&uai, &plugin_id, &setting)?;
    app.directory.audit(
        &t.user,
        "configuration du service",
        &format!("{uai}/{plugin_id}"),
    )?;
    if setting.enabled {
        notify_plugin(
            &app,
            &t.establishment,
            &plugin,
            "config-changed",
            &setting.config,
        )
        .await;
    }
    Ok(Redirect::to(&format!("/admin/e/{uai}/plugins/{plugin_id}?ok=config")).into_response())
}

pub(super) fn theme_page(
    app: &App,
    t: &Target,
    values: serde_json::Value,
    errors: serde_json::Value,
    notice: Option<&str>,
) -> Response {
    let status = if errors.as_object().is_some_and(|e| !e.is_empty()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/theme.html",
        "Apparence",
        status,
        json!({
            "establishment": t.establishment_json(),
            "action_url": format!("/admin/e/{}/theme", t.establishment.uai),
            "upload_url": format!("/admin/e/{}/theme/banniere", t.establishment.uai),
            "remove_url": format!("/admin/e/{}/theme/banniere/retirer", t.establishment.uai),
            "has_uploaded_banner": super::banner::is_uploaded_banner_url(&t.establishment.theme.banner_url),
            "max_width": super::banner::MAX_WIDTH,
            "max_height": super::banner::MAX_HEIGHT,
            "values": values,
            "errors": errors,
            "notice": notice,
        }),
    )
}

/// GET /admin/e/{uai}/theme
pub async fn theme_form(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let values = json!(t.establishment.theme);
    Ok(theme_page(&app, &t, values, json!({}), notice(&uri)))
}

/// A banner URL: empty, an https URL, a path under /static/, or an uploaded
/// banner's `/e/<uai>/banniere?v=<hash>`.
pub fn valid_banner_url(url: &str) -> bool {
    if url.is_empty() {
        return true;
    }
    if url.len() > 500 || url.contains(['"', '\'', '<', '>', ' ', '\\']) || url.contains("..") {
        return false;
    }
    url.starts_with("/static/")
        || super::banner::is_uploaded_banner_url(url)
        || url::Url::parse(url).is_ok_and(|u| u.scheme() == "https" && u.host().is_some())
}

/// POST /admin/e/{uai}/theme
pub async fn save_theme(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let mut t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let field = |name: &str| super::directory::field(&form, name);
    let (primary, accent, banner_url) = (
        field("primary").to_lowercase(),
        field("accent").to_lowercase(),
        field("banner_url"),
    );
    let mut errors = serde_json::Map::new();
    if !valid_colour(&primary) {
        errors.insert(
            "primary".into(),
            json!("Couleur attendue au format #rrggbb (par exemple #1f5f8b)."),
        );
    }
    if !valid_colour(&accent) {
        errors.insert(
            "accent".into(),
            json!("Couleur attendue au format #rrggbb (par exemple #e07a1f)."),
        );
    }
    if !valid_banner_url(&banner_url) {
        errors.insert(
            "banner_url".into(),
            json!(
                "Adresse invalide : une adresse https://… ou /static/… est attendue, \
                 ou importez une image."
            ),
        );
    }
    let values = json!({ "primary": primary, "accent": accent, "banner_url": banner_url });
    if !errors.is_empty() {
        return Ok(theme_page(
            &app,
            &t,
            values,
            serde_json::Value::Object(errors),
            None,
        ));
    }
    t.establishment.theme = crate::directory::Theme {
        primary,
        accent,
        banner_url,
    };
    app.directory.put_establishment(&t.establishment)?;
    app.directory.audit(&t.user, "apparence du portail", &uai)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/theme?ok=theme")).into_response())
}

/// POST /admin/embeds — the region's allowlist of embed providers.
pub async fn save_embeds(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let Some(user) = visitor.user.clone().filter(|u| u.region_admin) else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let form = checked_form(&app, &visitor, &body)?;
    let providers: Vec<EmbedProvider> = form
        .iter()
        .filter(|(k, _)| k == "provider")
        .filter_map(|(_, v)| EmbedProvider::from_id(v))
        .collect();
    let ids: Vec<&str> = providers.iter().map(|p| p.id()).collect();
    app.directory.put_region_setting("embed-providers", &ids)?;
    replace_sanitizer(&app.sanitizer, &providers);
    app.directory
        .audit(&user, "contenus enrichis autorisés", &ids.join(","))?;
    Ok(Redirect::to("/admin/?ok=embeds").into_response())
}

fn replace_sanitizer(shared: &SharedSanitizer, providers: &[EmbedProvider]) {
    *shared.write().expect("verrou") = Arc::new(Sanitizer::new(providers));
}

#[cfg(test)]
mod tests {
    #[test]
    fn banner_urls() {
        assert!(super::valid_banner_url(""));
        assert!(super::valid_banner_url("/static/banner.svg"));
        assert!(super::valid_banner_url("https://example.org/b.jpg"));
        assert!(!super::valid_banner_url("javascript:alert(1)"));
        assert!(!super::valid_banner_url("http://example.org/b.jpg"));
        assert!(!super::valid_banner_url("/static/../../etc/passwd"));
        assert!(!super::valid_banner_url("https://x.org/\"onerror=\""));
        assert!(super::valid_banner_url(
            "/e/0420003A/banniere?v=0a1b2c3d4e5f"
        ));
        assert!(!super::valid_banner_url(
            "/e/0420003A/banniere?v=x\"onerror=\""
        ));
        assert!(!super::valid_banner_url("/e/0420003A/banniere"));
        assert!(!super::valid_banner_url("/e/0420003A/blog/"));
    }
}
