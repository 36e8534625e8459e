//! The services catalogue's pages: the region's connectors (`/admin/services`),
//! an establishment's catalogue (`/admin/e/{uai}/services`), and "Mes services"
//! (`/e/{uai}/services`, the layout's menu, `/ouvrir` redirects).
//!
//! Every handler checks rights server-side: region routes let only the region
//! administrator in, establishment routes only its administrators (and the
//! region's); opening a connector re-checks its access populations.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::catalogue::{by_category, enabled_plugins, service_link, shut_out, visible_services};
use super::extract::{
    CheckedForm, EstablishmentAdmin, RegionAdministrator, Target, all, field, find_establishment,
    groups_view, parse_query,
};
use super::visitor::Visitor;
use crate::App;
use crate::directory::{Group, PROFILES};
use crate::services::{
    self, Access, CATEGORIES, Connector, EstablishmentCatalogue, MAX_CODE, MAX_LABEL, Origin,
    Placement, RegionCatalogue, SSO_KINDS, Service, Viewer,
};
use crate::web::pages::{WebResult, error_page, forbidden, render};

mod establishment;
mod mine;
mod region;

pub use establishment::*;
pub use mine::*;
pub use region::*;

type Form = Vec<(String, String)>;
type Errors = Map<String, Value>;

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
