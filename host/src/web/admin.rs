//! Administration: plugins per establishment (enable, configure), appearance,
//! establishments' time zones, the region's embed allowlist. Every handler
//! checks rights server-side.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::extract::{
    CheckedForm, EstablishmentAdmin, RegionAdmin, RegionAdministrator, Target, field_error,
    parse_query,
};
use super::pages::{WebResult, error_page, forbidden, render};
use super::visitor::Visitor;
use crate::config_form::{self, FieldError};
use crate::directory::{Establishment, PluginSetting, TIME_ZONES, time_zone_label};
use crate::html::{EmbedProvider, Sanitizer};
use crate::runtime::LoadedPlugin;
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
            "fuseau" => {
                "Fuseau horaire enregistré : les dates de l'établissement s'affichent désormais à son heure locale."
            }
            "banniere-retiree" => {
                "Image de bannière retirée : la bannière par défaut est rétablie."
            }
            "enabled" => "Service activé.",
            _ => "Service désactivé.",
        })
}

/// GET /admin/ — region administrators see every establishment, establishment
/// administrators their own.
pub async fn index(State(app): State<Arc<App>>, visitor: Visitor, uri: Uri) -> WebResult {
    index_page(&app, &visitor, notice(&uri), None)
}

/// The administration home page; `time_zone_error` is (UAI, French message) of a
/// refused time zone change, shown at its field with a 422.
fn index_page(
    app: &App,
    visitor: &Visitor,
    notice: Option<&str>,
    time_zone_error: Option<(&str, &str)>,
) -> WebResult {
    let Some(user) = visitor.user.clone() else {
        return Ok(forbidden(app, visitor, None));
    };
    let establishments: Vec<Establishment> = app
        .directory
        .establishments()?
        .into_iter()
        .filter(|e| user.administers(&e.uai))
        .collect();
    if establishments.is_empty() {
        return Ok(forbidden(app, visitor, None));
    }
    let plugins = app.runtime.plugins();
    let mut views = Vec::new();
    let mut errors = serde_json::Map::new();
    let mut error_labels = Vec::new();
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
        let field = format!("fuseau-{}", e.uai);
        let field_errors = match time_zone_error {
            Some((uai, message)) if uai == e.uai => {
                errors.insert(field.clone(), json!(message));
                error_labels.push(json!([field, format!("Fuseau horaire de {}", e.name)]));
                field_error(&field, message)
            }
            _ => serde_json::Map::new(),
        };
        views.push(json!({
            "uai": e.uai, "name": e.name, "city": e.city,
            "theme_url": format!("/admin/e/{}/theme", e.uai),
            "time_zone": e.time_zone,
            "time_zone_label": time_zone_label(&e.time_zone),
            "time_zone_url": format!("/admin/e/{}/fuseau", e.uai),
            "time_zone_options": time_zone_options(&e.time_zone),
            "time_zone_field": field,
            "errors": field_errors,
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
    let mut context = json!({
        "establishments": views,
        "notice": notice,
        "errors": errors,
        "error_labels": error_labels,
    });
    if user.region_admin {
        context["embed_providers"] = json!(providers);
        context["embed_url"] = json!("/admin/embeds");
    }
    let status = super::pages::form_status(time_zone_error.is_some());
    // The administrator of one establishment sees its header here as on every
    // page below; the region's header is for those who administer several.
    let header = match establishments.as_slice() {
        [only] if !user.region_admin => Some(only),
        _ => None,
    };
    Ok(render(
        app,
        visitor,
        header,
        "admin/index.html",
        "Administration",
        status,
        context,
    ))
}

/// The choices of an establishment's time zone: the academies' zones, and the
/// current one if it is another (set before the list existed).
fn time_zone_options(current: &str) -> Vec<serde_json::Value> {
    let listed = TIME_ZONES.iter().any(|(zone, _)| *zone == current);
    let other = (!listed).then_some((current, current));
    other
        .into_iter()
        .chain(TIME_ZONES.iter().copied())
        .map(|(zone, label)| json!({ "code": zone, "label": format!("{label} ({zone})") }))
        .collect()
}

/// POST /admin/e/{uai}/fuseau — `fuseau`, one of [`TIME_ZONES`] (or the current
/// zone): the local time of the establishment's dates and of its plugins. Region
/// administrators only; an unknown zone is refused and nothing changes.
pub async fn save_time_zone(
    State(app): State<Arc<App>>,
    RegionAdmin(mut t): RegionAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let zone = super::extract::field(&form, "fuseau");
    let zone = zone.trim();
    let allowed =
        zone == t.establishment.time_zone || TIME_ZONES.iter().any(|(known, _)| *known == zone);
    if !allowed {
        return index_page(
            &app,
            &t.visitor,
            None,
            Some((
                &uai,
                "Fuseau horaire inconnu : choisissez l'un des fuseaux de la liste.",
            )),
        );
    }
    let previous = std::mem::replace(&mut t.establishment.time_zone, zone.to_string());
    app.directory.put_establishment(&t.establishment)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        "fuseau horaire",
        &format!("{uai} : {previous} → {zone}"),
    )?;
    Ok(Redirect::to("/admin/?ok=fuseau").into_response())
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

/// POST /admin/e/{uai}/plugins/{plugin}/toggle — region administrators only.
pub async fn toggle_plugin(
    State(app): State<Arc<App>>,
    RegionAdmin(t): RegionAdmin,
    Path((uai, plugin_id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let plugin = plugin_or_404(&app, &t.visitor, &plugin_id)?;
    let enabled = form.iter().any(|(k, v)| k == "enabled" && v == "true");
    crate::instances::enable_plugin(&app, &t.establishment, &plugin, enabled).await?;
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
    let status = super::pages::form_status(!errors.is_empty());
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, plugin_id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let plugin = plugin_or_404(&app, &t.visitor, &plugin_id)?;
    let scope = super::extract::field(&form, "scope");
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, plugin_id)): Path<(String, String)>,
    uri: Uri,
) -> WebResult {
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, plugin_id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
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
        crate::instances::send_event(
            &app,
            &t.establishment,
            None,
            &plugin,
            "config-changed",
            &setting.config,
            None,
        )
        .await;
    }
    Ok(Redirect::to(&format!("/admin/e/{uai}/plugins/{plugin_id}?ok=config")).into_response())
}

/// POST /admin/embeds — the region's allowlist of embed providers.
pub async fn save_embeds(
    State(app): State<Arc<App>>,
    RegionAdministrator { user, .. }: RegionAdministrator,
    CheckedForm(form): CheckedForm,
) -> WebResult {
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
