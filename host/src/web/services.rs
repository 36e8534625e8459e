//! The services catalogue's pages: the region's connectors (`/admin/services`),
//! an establishment's catalogue (`/admin/e/{uai}/services`), and "Mes services"
//! (`/e/{uai}/services`, the layout's menu, `/ouvrir` redirects).
//!
//! Every handler checks rights server-side: region routes let only the region
//! administrator in, establishment routes only its administrators (and the
//! region's); opening a connector re-checks its access populations.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::admin::{Target, checked_form, target};
use super::directory::{all, field, groups_view};
use super::portal::find_establishment;
use super::{Visitor, WebResult, error_page, forbidden, parse_query, render};
use crate::App;
use crate::directory::{Group, PROFILES, User, now};
use crate::services::{
    self, Access, CATEGORIES, Connector, EstablishmentCatalogue, MAX_CODE, MAX_LABEL, Origin,
    Placement, RegionCatalogue, SSO_KINDS, Service, Viewer,
};

type Form = Vec<(String, String)>;
type Errors = Map<String, Value>;

// ---------------------------------------------------------------- reading

/// An establishment's enabled plugins, as (id, name).
pub(super) fn enabled_plugins(app: &App, uai: &str) -> Vec<(String, String)> {
    app.runtime
        .plugins()
        .iter()
        .filter(|p| {
            app.directory
                .plugin_setting(uai, &p.manifest.id)
                .is_ok_and(|s| s.enabled)
        })
        .map(|p| (p.manifest.id.clone(), p.manifest.name.clone()))
        .collect()
}

/// Whether `user` is currently shut out of `uai` (block, access window):
/// they then see what visitors see.
fn shut_out(app: &App, user: Option<&User>, uai: &str) -> anyhow::Result<bool> {
    match user {
        Some(u) if !u.administers(uai) && u.membership(uai).is_some() => {
            Ok(app.directory.closed(u, uai, now())?.is_some())
        }
        _ => Ok(false),
    }
}

/// The services of `uai` that `user` may see and open, in catalogue order.
pub(super) fn visible_services(
    app: &App,
    user: Option<&User>,
    uai: &str,
    plugins: &[(String, String)],
) -> anyhow::Result<Vec<Service>> {
    let region = services::region_catalogue(&app.directory)?;
    let local = services::establishment_catalogue(&app.directory, uai)?;
    let closed = shut_out(app, user, uai)?;
    let viewer = Viewer::of(user, uai, closed);
    Ok(services::resolve(&region, &local, plugins)
        .into_iter()
        .filter(|s| s.visible_to(&viewer))
        .collect())
}

/// Where a tile of "Mes services" leads.
fn service_link(uai: &str, service: &Service) -> String {
    if service.internal() {
        format!("/e/{uai}/{}/", service.code)
    } else {
        format!("/e/{uai}/services/{}/ouvrir", service.code)
    }
}

/// Visible services grouped by category, in menu order.
fn by_category(uai: &str, visible: &[Service]) -> Vec<Value> {
    CATEGORIES
        .iter()
        .filter_map(|(code, label)| {
            let items: Vec<Value> = visible
                .iter()
                .filter(|s| {
                    s.category == *code
                        || (*code == services::DEFAULT_CATEGORY
                            && !CATEGORIES.iter().any(|(c, _)| *c == s.category))
                })
                .map(|s| {
                    json!({
                        "code": s.code,
                        "label": s.label,
                        "url": service_link(uai, s),
                        "external": !s.internal(),
                        "cas": s.sso == "cas",
                    })
                })
                .collect();
            (!items.is_empty()).then(|| json!({ "code": code, "label": label, "services": items }))
        })
        .collect()
}

/// The "Mes services" home-page block: the visitor's services by category; none
/// when they have none.
pub(super) fn home_block(app: &App, visitor: &Visitor, uai: &str) -> anyhow::Result<Option<Value>> {
    let visible = visible_services(app, visitor.user.as_ref(), uai, &enabled_plugins(app, uai))?;
    Ok((!visible.is_empty()).then(|| json!({ "categories": by_category(uai, &visible) })))
}

/// The "Mes services" menu of the establishment layout (`portal.services`).
pub(super) fn menu(app: &App, visitor: &Visitor, uai: &str, plugins: &[(String, String)]) -> Value {
    let visible = visible_services(app, visitor.user.as_ref(), uai, plugins).unwrap_or_else(|e| {
        tracing::error!("services de {uai} : {e:#}");
        Vec::new()
    });
    let url = format!("/e/{uai}/services");
    json!({
        "active": visitor.path.starts_with(&url),
        "url": url,
        "categories": by_category(uai, &visible),
    })
}

// ---------------------------------------------------------------- views

fn access_summary(access: &Access, groups: &[Group]) -> Vec<String> {
    if access.everyone {
        return vec!["Tout l'établissement".into()];
    }
    let mut parts: Vec<String> = PROFILES
        .iter()
        .filter(|(code, _)| access.profiles.iter().any(|p| p == code))
        .map(|(_, label)| format!("{label}s"))
        .collect();
    parts.extend(
        access
            .groups
            .iter()
            .map(|id| match groups.iter().find(|g| g.id == *id) {
                Some(g) => format!("Groupe {}", g.name),
                None => "Groupe supprimé".into(),
            }),
    );
    parts
}

fn origin_label(origin: Origin) -> &'static str {
    match origin {
        Origin::Plugin => "Service intégré",
        Origin::Region { .. } => "Région",
        Origin::Establishment => "Établissement",
    }
}

fn service_row(uai: &str, service: &Service, groups: &[Group]) -> Value {
    let edit_url = format!("/admin/e/{uai}/services/{}", service.code);
    json!({
        "code": service.code,
        "label": service.label,
        "sso": services::sso_label(&service.sso),
        "sso_short": services::sso_short_label(&service.sso),
        "order": services::format_order(service.order),
        "anonymous": service.anonymous,
        "internal": service.internal(),
        "active": service.active,
        "access": access_summary(&service.access, groups),
        "origin": origin_label(service.origin),
        "locked": service.origin == (Origin::Region { locked: true }),
        "edit_url": edit_url,
    })
}

fn options(pairs: &[(&str, &str)]) -> Vec<Value> {
    pairs
        .iter()
        .map(|(code, label)| json!({ "code": code, "label": label }))
        .collect()
}

/// What the connector form shows of a connector.
fn connector_values(connector: &Connector) -> Value {
    json!({
        "code": connector.code,
        "label": connector.label,
        "url": connector.url,
        "sso": connector.sso,
        "order": services::format_order(connector.order),
        "category": connector.category,
        "anonymous": connector.anonymous,
        "active": connector.active,
        "inherited": connector.inherited,
        "locked": connector.locked,
        "everyone": connector.access.everyone,
        "profiles": connector.access.profiles,
        "groups": connector.access.groups,
    })
}

fn placement_values(placement: &Placement) -> Value {
    connector_values(&Connector {
        order: placement.order,
        category: placement.category.clone(),
        anonymous: placement.anonymous,
        active: placement.active,
        access: placement.access.clone(),
        ..Default::default()
    })
}

fn notice(uri: &Uri) -> Option<&'static str> {
    parse_query(uri.query())
        .iter()
        .find(|(k, _)| k == "ok")
        .map(|(_, v)| match v.as_str() {
            "cree" => "Service créé.",
            "supprime" => "Service supprimé.",
            "retabli" => "Réglages de la région rétablis.",
            _ => "Service enregistré.",
        })
}

fn status_of(errors: &Errors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

// ---------------------------------------------------------------- forms

/// What a form may change.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    /// A region connector: everything, plus inherited/locked; no groups.
    Region,
    /// An establishment's own connector.
    Own,
    /// A plugin or an unlocked region connector: placement only.
    Placement,
}

/// Reads a connector form. `code` is only read on creation. Every field is
/// checked; the connector holds what could be read, `errors` the rest.
fn read_form(form: &Form, scope: Scope, groups: &[Group], creating: bool) -> (Connector, Errors) {
    let mut errors = Errors::new();
    let checked = |name: &str| field(form, name) == "oui";
    let mut connector = Connector {
        active: checked("active"),
        anonymous: checked("anonymous"),
        ..Default::default()
    };
    if creating {
        let code = field(form, "code").to_uppercase();
        if code.is_empty() {
            errors.insert("code".into(), json!("Le code est obligatoire."));
        } else if !services::valid_code(&code) {
            errors.insert(
                "code".into(),
                json!(format!(
                    "Le code ne peut contenir que des lettres sans accent, des chiffres, « - » et « _ », {MAX_CODE} caractères au plus."
                )),
            );
        }
        connector.code = code;
    }
    if scope != Scope::Placement {
        connector.label = field(form, "label");
        if connector.label.is_empty() {
            errors.insert("label".into(), json!("L'intitulé est obligatoire."));
        } else if connector.label.chars().count() > MAX_LABEL {
            errors.insert(
                "label".into(),
                json!(format!(
                    "L'intitulé ne doit pas dépasser {MAX_LABEL} caractères."
                )),
            );
        }
        connector.url = field(form, "url");
        if connector.url.is_empty() {
            errors.insert("url".into(), json!("L'adresse du service est obligatoire."));
        } else if !services::valid_connector_url(&connector.url) {
            errors.insert(
                "url".into(),
                json!("Adresse invalide : une adresse complète commençant par https:// ou http:// est attendue."),
            );
        }
        connector.sso = field(form, "sso");
        if !SSO_KINDS.iter().any(|(c, _)| *c == connector.sso) {
            errors.insert(
                "sso".into(),
                json!("Choisissez le type d'authentification unique."),
            );
        }
    }
    let order_text = field(form, "order");
    match services::parse_order(&order_text) {
        Some(order) => connector.order = order,
        None => {
            errors.insert(
                "order".into(),
                json!("L'ordre doit être un nombre positif, par exemple 1.0 ou 2.5."),
            );
        }
    }
    connector.category = field(form, "category");
    if !CATEGORIES.iter().any(|(c, _)| *c == connector.category) {
        errors.insert("category".into(), json!("Choisissez une catégorie."));
    }
    connector.access.everyone = checked("everyone");
    for profile in all(form, "profiles") {
        if PROFILES.iter().any(|(c, _)| *c == profile) {
            connector.access.profiles.push(profile);
        } else {
            errors.insert("profiles".into(), json!("Profil inconnu."));
        }
    }
    for group in all(form, "groups") {
        if scope != Scope::Region && groups.iter().any(|g| g.id == group) {
            connector.access.groups.push(group);
        } else {
            errors.insert("groups".into(), json!("Groupe inconnu."));
        }
    }
    if scope == Scope::Region {
        connector.inherited = checked("inherited");
        connector.locked = checked("locked");
        if connector.locked && !connector.inherited {
            errors.insert(
                "locked".into(),
                json!("Seul un service proposé aux établissements peut être verrouillé."),
            );
        }
    }
    (connector, errors)
}

/// What the form shows after an error: what was typed, as typed.
fn typed_values(form: &Form, connector: &Connector) -> Value {
    let mut values = connector_values(connector);
    values["order"] = json!(field(form, "order"));
    values["code"] = json!(field(form, "code"));
    values
}

/// Whether `code` is already used where a connector created in `scope` would
/// appear: an establishment's code must differ from its own connectors, the
/// region's and the plugins'; a region code from every establishment's too,
/// since an inherited connector appears in all of them.
fn code_taken(app: &App, code: &str, scope: Option<&str>) -> anyhow::Result<bool> {
    if app
        .runtime
        .plugins()
        .iter()
        .any(|p| services::same_code(&p.manifest.id, code))
    {
        return Ok(true);
    }
    if services::region_catalogue(&app.directory)?
        .connectors
        .iter()
        .any(|c| services::same_code(&c.code, code))
    {
        return Ok(true);
    }
    let catalogues = match scope {
        Some(uai) => vec![(
            uai.to_string(),
            services::establishment_catalogue(&app.directory, uai)?,
        )],
        None => services::all_establishment_catalogues(&app.directory)?,
    };
    Ok(catalogues
        .iter()
        .flat_map(|(_, catalogue)| catalogue.connectors.iter())
        .any(|c| services::same_code(&c.code, code)))
}

fn duplicate_code(errors: &mut Errors, code: &str) {
    errors.insert(
        "code".into(),
        json!(format!("Le code « {code} » est déjà utilisé.")),
    );
}

// ---------------------------------------------------------------- establishment catalogue

fn catalogue_page(
    app: &App,
    t: &Target,
    values: Value,
    errors: Errors,
    notice: Option<&str>,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let groups = app.directory.groups(uai)?;
    let region = services::region_catalogue(&app.directory)?;
    let local = services::establishment_catalogue(&app.directory, uai)?;
    let rows: Vec<Value> = services::resolve(&region, &local, &enabled_plugins(app, uai))
        .iter()
        .map(|s| service_row(uai, s, &groups))
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/services.html",
        "Les services",
        status_of(&errors),
        json!({
            "establishment": t.establishment_json(),
            "services": rows,
            "action_url": format!("/admin/e/{uai}/services"),
            "mine_url": format!("/e/{uai}/services"),
            "values": values,
            "errors": errors,
            "notice": notice,
            "scope": "own",
            "creating": true,
            "categories": options(CATEGORIES),
            "sso_kinds": options(SSO_KINDS),
            "profiles": options(PROFILES),
            "groups": groups_view(&groups),
        }),
    ))
}

fn new_connector_values() -> Value {
    connector_values(&Connector {
        access: Access::default(),
        ..Default::default()
    })
}

/// GET /admin/e/{uai}/services
pub async fn catalogue(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    Ok(catalogue_page(
        &app,
        &t,
        new_connector_values(),
        Errors::new(),
        notice(&uri),
    )?)
}

/// POST /admin/e/{uai}/services — adds one of the establishment's own connectors.
pub async fn create_connector(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let groups = app.directory.groups(&uai)?;
    let (connector, mut errors) = read_form(&form, Scope::Own, &groups, true);
    if !errors.contains_key("code") && code_taken(&app, &connector.code, Some(&uai))? {
        duplicate_code(&mut errors, &connector.code);
    }
    if !errors.is_empty() {
        let values = typed_values(&form, &connector);
        return Ok(catalogue_page(&app, &t, values, errors, None)?);
    }
    let mut local = services::establishment_catalogue(&app.directory, &uai)?;
    local.connectors.push(connector.clone());
    services::put_establishment_catalogue(&app.directory, &uai, &local)?;
    app.directory
        .audit_in(&t.user, &uai, "création d'un service", &connector.code)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/services?ok=cree")).into_response())
}

/// A service of the establishment's catalogue by code, or a 404 page.
fn find_service(
    app: &App,
    t: &Target,
    code: &str,
) -> Result<(Service, RegionCatalogue, EstablishmentCatalogue), Response> {
    let uai = &t.establishment.uai;
    let loaded = services::region_catalogue(&app.directory).and_then(|region| {
        Ok((
            region,
            services::establishment_catalogue(&app.directory, uai)?,
        ))
    });
    let (region, local) = loaded.map_err(|e| super::AppError::from(e).into_response())?;
    let found = services::resolve(&region, &local, &enabled_plugins(app, uai))
        .into_iter()
        .find(|s| s.code == code);
    match found {
        Some(service) => Ok((service, region, local)),
        None => Err(error_page(
            app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Aucun service de cet établissement ne porte ce code.",
        )),
    }
}

fn locked_page(app: &App, t: &Target) -> Response {
    error_page(
        app,
        &t.visitor,
        Some(&t.establishment),
        StatusCode::FORBIDDEN,
        "Verrouillé par la région",
        "Ce service est verrouillé par la région : l'établissement ne peut ni le désactiver ni changer son accès ou son ordre.",
    )
}

fn edit_page(
    app: &App,
    t: &Target,
    service: &Service,
    values: Value,
    errors: Errors,
    notice: Option<&str>,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let groups = app.directory.groups(uai)?;
    let (scope, locked) = match service.origin {
        Origin::Establishment => ("own", false),
        Origin::Plugin | Origin::Region { locked: false } => ("placement", false),
        Origin::Region { locked: true } => ("placement", true),
    };
    let edit_url = format!("/admin/e/{uai}/services/{}", service.code);
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/service.html",
        &format!("Service — {}", service.label),
        status_of(&errors),
        json!({
            "establishment": t.establishment_json(),
            "service": service_row(uai, service, &groups),
            "url": service.url,
            "scope": scope,
            "locked": locked,
            "overridable": matches!(service.origin, Origin::Region { locked: false }),
            "creating": false,
            "action_url": edit_url,
            "delete_url": (service.origin == Origin::Establishment).then(|| format!("{edit_url}/supprimer")),
            "back_url": format!("/admin/e/{uai}/services"),
            "values": values,
            "errors": errors,
            "notice": notice,
            "categories": options(CATEGORIES),
            "sso_kinds": options(SSO_KINDS),
            "profiles": options(PROFILES),
            "groups": groups_view(&groups),
        }),
    ))
}

/// GET /admin/e/{uai}/services/{code}
pub async fn service_form(
    State(app): State<Arc<App>>,
    Path((uai, code)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let (service, _, local) = find_service(&app, &t, &code)?;
    let values = match service.origin {
        Origin::Establishment => local
            .connectors
            .iter()
            .find(|c| c.code == service.code)
            .map(connector_values)
            .unwrap_or(Value::Null),
        _ => placement_values(&Placement {
            active: service.active,
            order: service.order,
            category: service.category.clone(),
            anonymous: service.anonymous,
            access: service.access.clone(),
        }),
    };
    Ok(edit_page(
        &app,
        &t,
        &service,
        values,
        Errors::new(),
        notice(&uri),
    )?)
}

/// POST /admin/e/{uai}/services/{code} — the establishment's own connector:
/// every field but the code; a plugin or an unlocked region connector: its
/// placement (`action=reset` goes back to the region's); a locked one: 403.
pub async fn save_service(
    State(app): State<Arc<App>>,
    Path((uai, code)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let (service, _, mut local) = find_service(&app, &t, &code)?;
    if service.origin == (Origin::Region { locked: true }) {
        return Ok(locked_page(&app, &t));
    }
    let back = format!("/admin/e/{uai}/services/{}", service.code);
    if field(&form, "action") == "reset" {
        if matches!(service.origin, Origin::Region { .. }) {
            local.region.remove(&service.code);
            services::put_establishment_catalogue(&app.directory, &uai, &local)?;
            app.directory.audit_in(
                &t.user,
                &uai,
                "rétablissement d'un service de la région",
                &service.code,
            )?;
        }
        return Ok(Redirect::to(&format!("{back}?ok=retabli")).into_response());
    }
    let groups = app.directory.groups(&uai)?;
    let scope = if service.origin == Origin::Establishment {
        Scope::Own
    } else {
        Scope::Placement
    };
    let (connector, errors) = read_form(&form, scope, &groups, false);
    if !errors.is_empty() {
        let mut values = typed_values(&form, &connector);
        values["code"] = json!(service.code);
        return Ok(edit_page(&app, &t, &service, values, errors, None)?);
    }
    match service.origin {
        Origin::Establishment => {
            if let Some(existing) = local.connectors.iter_mut().find(|c| c.code == service.code) {
                *existing = Connector {
                    code: service.code.clone(),
                    ..connector
                };
            }
        }
        Origin::Plugin | Origin::Region { .. } => {
            let placement = Placement {
                active: connector.active,
                order: connector.order,
                category: connector.category,
                anonymous: connector.anonymous,
                access: connector.access,
            };
            let map = if service.origin == Origin::Plugin {
                &mut local.plugins
            } else {
                &mut local.region
            };
            map.insert(service.code.clone(), placement);
        }
    }
    services::put_establishment_catalogue(&app.directory, &uai, &local)?;
    app.directory
        .audit_in(&t.user, &uai, "modification d'un service", &service.code)?;
    Ok(Redirect::to(&format!("{back}?ok=enregistre")).into_response())
}

/// POST /admin/e/{uai}/services/{code}/supprimer — only the establishment's own connectors.
pub async fn delete_service(
    State(app): State<Arc<App>>,
    Path((uai, code)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    checked_form(&app, &t.visitor, &body)?;
    let (service, _, mut local) = find_service(&app, &t, &code)?;
    if service.origin != Origin::Establishment {
        return Ok(error_page(
            &app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::FORBIDDEN,
            "Suppression impossible",
            "Seuls les services créés par l'établissement peuvent être supprimés ici. Vous pouvez désactiver les autres.",
        ));
    }
    local.connectors.retain(|c| c.code != service.code);
    services::put_establishment_catalogue(&app.directory, &uai, &local)?;
    app.directory
        .audit_in(&t.user, &uai, "suppression d'un service", &service.code)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/services?ok=supprime")).into_response())
}

// ---------------------------------------------------------------- region connectors

/// The region administrator, or the response to send instead.
fn region_admin(app: &App, headers: &HeaderMap, uri: &Uri) -> Result<(Visitor, User), Response> {
    let visitor = Visitor::from_headers(app, headers, uri.path());
    match visitor.user.clone() {
        Some(user) if user.region_admin => Ok((visitor, user)),
        _ => Err(forbidden(app, &visitor, None)),
    }
}

fn region_row(connector: &Connector) -> Value {
    json!({
        "code": connector.code,
        "label": connector.label,
        "url": connector.url,
        "sso": services::sso_label(&connector.sso),
        "sso_short": services::sso_short_label(&connector.sso),
        "order": services::format_order(connector.order),
        "category": services::category_label(&connector.category),
        "anonymous": connector.anonymous,
        "active": connector.active,
        "inherited": connector.inherited,
        "locked": connector.locked,
        "access": access_summary(&connector.access, &[]),
        "edit_url": format!("/admin/services/{}", connector.code),
    })
}

fn region_page(
    app: &App,
    visitor: &Visitor,
    values: Value,
    errors: Errors,
    notice: Option<&str>,
) -> anyhow::Result<Response> {
    let mut connectors = services::region_catalogue(&app.directory)?.connectors;
    connectors.sort_by(|a, b| a.order.total_cmp(&b.order));
    Ok(render(
        app,
        visitor,
        None,
        "admin/region_services.html",
        "Services de la région",
        status_of(&errors),
        json!({
            "connectors": connectors.iter().map(region_row).collect::<Vec<_>>(),
            "action_url": "/admin/services",
            "values": values,
            "errors": errors,
            "notice": notice,
            "scope": "region",
            "creating": true,
            "categories": options(CATEGORIES),
            "sso_kinds": options(SSO_KINDS),
            "profiles": options(PROFILES),
            "groups": [],
        }),
    ))
}

/// GET /admin/services
pub async fn region_catalogue(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let (visitor, _) = region_admin(&app, &headers, &uri)?;
    Ok(region_page(
        &app,
        &visitor,
        new_connector_values(),
        Errors::new(),
        notice(&uri),
    )?)
}

/// POST /admin/services — adds a region connector.
pub async fn create_region_connector(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let (visitor, user) = region_admin(&app, &headers, &uri)?;
    let form = checked_form(&app, &visitor, &body)?;
    let (connector, mut errors) = read_form(&form, Scope::Region, &[], true);
    if !errors.contains_key("code") && code_taken(&app, &connector.code, None)? {
        duplicate_code(&mut errors, &connector.code);
    }
    if !errors.is_empty() {
        let values = typed_values(&form, &connector);
        return Ok(region_page(&app, &visitor, values, errors, None)?);
    }
    let mut region = services::region_catalogue(&app.directory)?;
    region.connectors.push(connector.clone());
    services::put_region_catalogue(&app.directory, &region)?;
    app.directory
        .audit(&user, "création d'un service de la région", &connector.code)?;
    Ok(Redirect::to("/admin/services?ok=cree").into_response())
}

fn region_connector_or_404(
    app: &App,
    visitor: &Visitor,
    code: &str,
) -> Result<(Connector, RegionCatalogue), Response> {
    let region = services::region_catalogue(&app.directory)
        .map_err(|e| super::AppError::from(e).into_response())?;
    match region.connectors.iter().find(|c| c.code == code) {
        Some(connector) => Ok((connector.clone(), region)),
        None => Err(error_page(
            app,
            visitor,
            None,
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Aucun service de la région ne porte ce code.",
        )),
    }
}

fn region_edit_page(
    app: &App,
    visitor: &Visitor,
    connector: &Connector,
    values: Value,
    errors: Errors,
    notice: Option<&str>,
) -> Response {
    let edit_url = format!("/admin/services/{}", connector.code);
    render(
        app,
        visitor,
        None,
        "admin/service.html",
        &format!("Service — {}", connector.label),
        status_of(&errors),
        json!({
            "service": region_row(connector),
            "url": connector.url,
            "scope": "region",
            "locked": false,
            "overridable": false,
            "creating": false,
            "action_url": edit_url,
            "delete_url": format!("{edit_url}/supprimer"),
            "back_url": "/admin/services",
            "values": values,
            "errors": errors,
            "notice": notice,
            "categories": options(CATEGORIES),
            "sso_kinds": options(SSO_KINDS),
            "profiles": options(PROFILES),
            "groups": [],
        }),
    )
}

/// GET /admin/services/{code}
pub async fn region_connector_form(
    State(app): State<Arc<App>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let (visitor, _) = region_admin(&app, &headers, &uri)?;
    let (connector, _) = region_connector_or_404(&app, &visitor, &code)?;
    Ok(region_edit_page(
        &app,
        &visitor,
        &connector,
        connector_values(&connector),
        Errors::new(),
        notice(&uri),
    ))
}

/// POST /admin/services/{code} — every field but the code.
pub async fn save_region_connector(
    State(app): State<Arc<App>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let (visitor, user) = region_admin(&app, &headers, &uri)?;
    let form = checked_form(&app, &visitor, &body)?;
    let (existing, mut region) = region_connector_or_404(&app, &visitor, &code)?;
    let (connector, errors) = read_form(&form, Scope::Region, &[], false);
    if !errors.is_empty() {
        let mut values = typed_values(&form, &connector);
        values["code"] = json!(existing.code);
        return Ok(region_edit_page(
            &app, &visitor, &existing, values, errors, None,
        ));
    }
    if let Some(slot) = region.connectors.iter_mut().find(|c| c.code == code) {
        *slot = Connector {
            code: existing.code.clone(),
            ..connector
        };
    }
    services::put_region_catalogue(&app.directory, &region)?;
    app.directory.audit(
        &user,
        "modification d'un service de la région",
        &existing.code,
    )?;
    Ok(Redirect::to(&format!("/admin/services/{code}?ok=enregistre")).into_response())
}

/// POST /admin/services/{code}/supprimer
pub async fn delete_region_connector(
    State(app): State<Arc<App>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let (visitor, user) = region_admin(&app, &headers, &uri)?;
    checked_form(&app, &visitor, &body)?;
    let (existing, mut region) = region_connector_or_404(&app, &visitor, &code)?;
    region.connectors.retain(|c| c.code != existing.code);
    services::put_region_catalogue(&app.directory, &region)?;
    app.directory.audit(
        &user,
        "suppression d'un service de la région",
        &existing.code,
    )?;
    Ok(Redirect::to("/admin/services?ok=supprime").into_response())
}

// ---------------------------------------------------------------- Mes services

/// GET /e/{uai}/services — the visitor's services, by category, as tiles.
pub async fn my_services(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let visible = visible_services(
        &app,
        visitor.user.as_ref(),
        &uai,
        &enabled_plugins(&app, &uai),
    )?;
    Ok(render(
        &app,
        &visitor,
        Some(&establishment),
        "services.html",
        "Mes services",
        StatusCode::OK,
        json!({ "categories": by_category(&uai, &visible) }),
    ))
}

/// GET /e/{uai}/services/{code}/ouvrir — re-checks access, then 303 to the service.
pub async fn open_service(
    State(app): State<Arc<App>>,
    Path((uai, code)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let region = services::region_catalogue(&app.directory)?;
    let local = services::establishment_catalogue(&app.directory, &uai)?;
    let found = services::resolve(&region, &local, &enabled_plugins(&app, &uai))
        .into_iter()
        .find(|s| s.code == code && s.active);
    let Some(service) = found else {
        return Ok(error_page(
            &app,
            &visitor,
            Some(&establishment),
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Ce service n'existe pas ou n'est pas proposé dans cet établissement.",
        ));
    };
    let closed = shut_out(&app, visitor.user.as_ref(), &uai)?;
    if !service.visible_to(&Viewer::of(visitor.user.as_ref(), &uai, closed)) {
        return Ok(forbidden(&app, &visitor, Some(&establishment)));
    }
    let target = if service.internal() {
        service_link(&uai, &service)
    } else {
        service.url.clone()
    };
    Ok(visitor.finish(
        Redirect::to(&target).into_response(),
        app.config.secure_cookies,
    ))
}
