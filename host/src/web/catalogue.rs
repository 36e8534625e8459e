//! The services catalogue as one person sees it: the layout's « Mes services »
//! menu and the home page's block (the region's connectors, the
//! establishment's own and its plugins, filtered by who may see them).

use std::sync::Arc;

use serde_json::{Value, json};

use super::visitor::Visitor;
use crate::App;
use crate::directory::{User, now};
use crate::services::{self, CATEGORIES, Service, Viewer};

/// An establishment's enabled plugins, as (id, name).
pub fn enabled_plugins(app: &App, uai: &str) -> Vec<(String, String)> {
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
pub fn shut_out(app: &App, user: Option<&User>, uai: &str) -> anyhow::Result<bool> {
    match user {
        Some(u) if !u.administers(uai) && u.membership(uai).is_some() => {
            Ok(app.directory.closed(u, uai, now())?.is_some())
        }
        _ => Ok(false),
    }
}

/// The services of `uai` that `user` may see and open, in catalogue order.
pub fn visible_services(
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
pub fn service_link(uai: &str, service: &Service) -> String {
    if service.internal() {
        format!("/e/{uai}/{}/", service.code)
    } else {
        format!("/e/{uai}/services/{}/ouvrir", service.code)
    }
}

/// Visible services grouped by category, in menu order.
pub fn by_category(uai: &str, visible: &[Service]) -> Vec<Value> {
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

/// The visitor's services in `uai` by category, computed once per request
/// (the layout's menu and the home page's block share them).
fn categories(app: &App, visitor: &Visitor, uai: &str) -> anyhow::Result<Arc<Vec<Value>>> {
    if let Some((at, categories)) = visitor.services.get()
        && at == uai
    {
        return Ok(categories.clone());
    }
    let visible = visible_services(app, visitor.user.as_ref(), uai, &enabled_plugins(app, uai))?;
    let categories = Arc::new(by_category(uai, &visible));
    let _ = visitor.services.set((uai.to_string(), categories.clone()));
    Ok(categories)
}

/// The "Mes services" home-page block: the visitor's services by category; none
/// when they have none.
pub fn home_block(app: &App, visitor: &Visitor, uai: &str) -> anyhow::Result<Option<Value>> {
    let categories = categories(app, visitor, uai)?;
    Ok((!categories.is_empty()).then(|| json!({ "categories": *categories })))
}

/// The "Mes services" menu of the establishment layout (`portal.services`).
pub fn menu(app: &App, visitor: &Visitor, uai: &str) -> Value {
    let categories = categories(app, visitor, uai).unwrap_or_else(|e| {
        tracing::error!("services de {uai} : {e:#}");
        Arc::default()
    });
    let url = format!("/e/{uai}/services");
    json!({
        "active": visitor.path.starts_with(&url),
        "url": url,
        "categories": *categories,
    })
}
