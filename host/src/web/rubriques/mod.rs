//! Rubriques (sections of an establishment's portal), the "Actualités" news
//! aggregated from the rubriques subscribed to the portal block, and their
//! administration: the tree, each rubrique's services, access and rights, the
//! home page's blocks and the subscriptions.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::extract::{
    CheckedForm, EstablishmentAdmin, Form, Target, all, field, find_establishment, parse_query,
};
use super::visitor::Visitor;
use crate::App;
use crate::directory::{Establishment, PROFILES};
use crate::instances::Granted;
use crate::portal::{
    NEWS_BLOCK, Populations, Portal, Rubrique, SERVICES_BLOCK, Subscription, may_enter, roles_in,
};
use crate::web::pages::{WebResult, error_page, forbidden, render};

mod admin;
mod home;

pub use admin::*;
pub use home::*;

/// Most news items on the home page block and per page of the news page.
pub const NEWS_PER_BLOCK: u32 = 5;
const NEWS_PER_PAGE: u32 = 15;

/// Field errors as the form macros expect them: field → message.
fn error_map(errors: &[(&str, String)]) -> Value {
    Value::Object(
        errors
            .iter()
            .map(|(f, m)| (f.to_string(), Value::String(m.clone())))
            .collect(),
    )
}

// ---------------------------------------------------------------- news

/// One piece of news with where it comes from.
#[derive(Clone, Debug, Hash, serde::Serialize)]
pub struct NewsEntry {
    pub title: String,
    pub summary: String,
    pub url: String,
    pub published: i64,
    pub author: String,
    pub rubrique: String,
    pub rubrique_url: String,
}

/// The rubriques whose news `visitor` receives: active subscriptions for the whole
/// establishment or the visitor's profile there, that the visitor may enter.
fn subscribed_rubriques<'a>(
    app: &App,
    portal: &'a Portal,
    visitor: &Visitor,
    uai: &str,
) -> anyhow::Result<Vec<&'a Rubrique>> {
    let profile = visitor
        .user
        .as_ref()
        .and_then(|u| u.membership(uai))
        .map(|m| m.profile.clone());
    let is_admin = visitor.user.as_ref().is_some_and(|u| u.administers(uai));
    let mut rubriques: Vec<&Rubrique> = Vec::new();
    for subscription in portal.subscriptions.iter().filter(|s| s.active) {
        let for_visitor = match &subscription.profile {
            None => true,
            Some(p) => is_admin || profile.as_ref() == Some(p),
        };
        if !for_visitor || rubriques.iter().any(|r| r.id == subscription.rubrique) {
            continue;
        }
        let Some(rubrique) = portal.rubrique(&subscription.rubrique) else {
            continue;
        };
        // A hidden rubrique (or one below a hidden one) publishes nothing on the
        // home page: "la rubrique doit être visible et non en accès restreint".
        if portal.lineage(&rubrique.id).iter().any(|r| !r.visible) {
            continue;
        }
        if may_enter(
            &app.directory,
            portal,
            visitor.user.as_ref(),
            uai,
            &rubrique.id,
        )? {
            rubriques.push(rubrique);
        }
    }
    Ok(rubriques)
}

/// The newest news of the subscribed rubriques, strictly older than `before`.
pub async fn collect_news(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    portal: &Portal,
    limit: u32,
    before: Option<i64>,
) -> anyhow::Result<Vec<NewsEntry>> {
    // One call per (rubrique, service), run concurrently.
    let mut calls = Vec::new();
    for rubrique in subscribed_rubriques(app, portal, visitor, &establishment.uai)? {
        for service in &rubrique.services {
            calls.push(rubrique_news(
                app,
                visitor,
                establishment,
                rubrique,
                service,
                limit,
                before,
            ));
        }
    }
    let mut entries: Vec<NewsEntry> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    entries.sort_by_key(|b| std::cmp::Reverse(b.published));
    entries.truncate(limit as usize);
    Ok(entries)
}

/// The news of one service of a rubrique the visitor may enter, as the visitor may
/// read them; nothing when the service exports no news, is off, or fails (one
/// failing service leaves the others' news on the page).
async fn rubrique_news(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    rubrique: &Rubrique,
    service: &str,
    limit: u32,
    before: Option<i64>,
) -> anyhow::Result<Vec<NewsEntry>> {
    let uai = &establishment.uai;
    let Some(plugin) = app.runtime.plugin(service) else {
        return Ok(Vec::new());
    };
    let setting = app.directory.plugin_setting(uai, service)?;
    if !plugin.manifest.news || !plugin.manifest.rubrique || !setting.enabled {
        return Ok(Vec::new());
    }
    let roles = roles_in(
        &app.directory,
        rubrique,
        visitor.user.as_ref(),
        uai,
        &plugin.manifest,
    )?;
    let mount = format!("/e/{uai}/r/{}/{service}", rubrique.id);
    let instance = Granted {
        roles,
        mount: mount.clone(),
        rubrique: Some(rubrique.clone()),
        config: setting.config,
    };
    let ctx = instance.context(visitor.user.as_ref(), establishment);
    match cached_news(app, &plugin, ctx, limit, before).await {
        Ok(items) => Ok(items
            .into_iter()
            .map(|item| {
                let path = if item.url.starts_with('/') {
                    item.url
                } else {
                    format!("/{}", item.url)
                };
                NewsEntry {
                    title: item.title,
                    summary: item.summary,
                    url: format!("{mount}{path}"),
                    published: item.published,
                    author: item.author,
                    rubrique: rubrique.title.clone(),
                    rubrique_url: format!("/e/{uai}/r/{}/", rubrique.id),
                }
            })
            .collect()),
        Err(e) => {
            tracing::warn!(plugin = %service, uai = %uai, rubrique = %rubrique.id, "actualités : {e}");
            Ok(Vec::new())
        }
    }
}

/// One news item as the cache keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct CachedItem {
    title: String,
    summary: String,
    url: String,
    published: i64,
    author: String,
}

/// The plugin's news for `ctx`: from the fragment cache when its manifest
/// declares the news' audience and its data has not changed since.
async fn cached_news(
    app: &App,
    plugin: &crate::runtime::LoadedPlugin,
    ctx: crate::runtime::CallContext,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<CachedItem>, crate::runtime::CallError> {
    let id = &plugin.manifest.id;
    // The news list is cached like a block named after its arguments.
    let as_block = crate::manifest::Block {
        id: format!("@actualites/{limit}/{before:?}"),
        label: String::new(),
        audience: plugin.manifest.news_audience,
        max_age_seconds: None,
    };
    let cache = crate::fragments::key_at_versions(app.directory.store(), plugin, &as_block, &ctx);
    if let Some((key, versions)) = cache
        && let Some(Some(hit)) = app.fragments.get(key, versions)
        && let Ok(items) = serde_json::from_str::<Vec<CachedItem>>(&hit.html)
    {
        return Ok(items);
    }
    let mut ctx = ctx;
    ctx.approved_hosts = crate::instances::approved_hosts(app, &ctx.uai, id);
    let items: Vec<CachedItem> = app
        .runtime
        .news(id, ctx, limit, before)
        .await?
        .into_iter()
        .map(|item| CachedItem {
            title: item.title,
            summary: item.summary,
            url: item.url,
            published: item.published,
            author: item.author,
        })
        .collect();
    if let Some((key, versions)) = cache
        && let Ok(json) = serde_json::to_string(&items)
    {
        let cached = crate::fragments::Cached {
            title: String::new(),
            html: json,
            more: None,
        };
        app.fragments.put(key, versions, None, Some(cached));
    }
    Ok(items)
}

/// GET /e/{uai}/actualites — every news item, "Afficher plus d'actualités" pages back.
pub async fn news_page(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path(uai): Path<String>,
    uri: Uri,
) -> WebResult {
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let portal = Portal::load(&app.directory, &uai)?;
    let before = parse_query(uri.query())
        .into_iter()
        .find(|(k, _)| k == "avant")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let news = collect_news(
        &app,
        &visitor,
        &establishment,
        &portal,
        NEWS_PER_PAGE + 1,
        before,
    )
    .await?;
    let more = news.len() > NEWS_PER_PAGE as usize;
    let shown: Vec<_> = news.into_iter().take(NEWS_PER_PAGE as usize).collect();
    let more_url = more
        .then(|| {
            shown
                .last()
                .map(|n| format!("/e/{uai}/actualites?avant={}", n.published))
        })
        .flatten();
    Ok(render(
        &app,
        &visitor,
        Some(&establishment),
        "news.html",
        "Actualités",
        StatusCode::OK,
        json!({ "news": shown, "more_url": more_url, "first_page": before.is_none() }),
    ))
}

// ---------------------------------------------------------------- public pages

fn rubrique_view(uai: &str, r: &Rubrique) -> Value {
    json!({
        "id": r.id, "title": r.title, "description": r.description,
        "restricted": r.restricted, "url": format!("/e/{uai}/r/{}/", r.id),
    })
}

/// GET /e/{uai}/rubriques/ — the visible rubriques the visitor may enter, as a tree.
pub async fn list(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path(uai): Path<String>,
) -> WebResult {
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let portal = Portal::load(&app.directory, &uai)?;
    let mut items = Vec::new();
    for (depth, r) in portal.tree() {
        let hidden = portal.lineage(&r.id).iter().any(|a| !a.visible);
        if hidden || !may_enter(&app.directory, &portal, visitor.user.as_ref(), &uai, &r.id)? {
            continue;
        }
        let mut view = rubrique_view(&uai, r);
        view["depth"] = json!(depth);
        items.push(view);
    }
    Ok(render(
        &app,
        &visitor,
        Some(&establishment),
        "rubriques.html",
        "Rubriques",
        StatusCode::OK,
        json!({ "rubriques": items }),
    ))
}

/// GET /e/{uai}/r/{rubrique}/ — a rubrique: its services, sub-rubriques and latest news.
pub async fn show(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path((uai, id)): Path<(String, String)>,
) -> WebResult {
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let portal = Portal::load(&app.directory, &uai)?;
    let Some(rubrique) = portal.rubrique(&id) else {
        return Ok(error_page(
            &app,
            &visitor,
            Some(&establishment),
            StatusCode::NOT_FOUND,
            "Rubrique introuvable",
            "Cette rubrique n'existe pas ou a été supprimée.",
        ));
    };
    if !may_enter(&app.directory, &portal, visitor.user.as_ref(), &uai, &id)? {
        return Ok(forbidden(&app, &visitor, Some(&establishment)));
    }
    let mut services = Vec::new();
    let mut news = Vec::new();
    for service in &rubrique.services {
        let Some(plugin) = app.runtime.plugin(service) else {
            continue;
        };
        let setting = app.directory.plugin_setting(&uai, service)?;
        if !setting.enabled || !plugin.manifest.rubrique {
            continue;
        }
        let roles = roles_in(
            &app.directory,
            rubrique,
            visitor.user.as_ref(),
            &uai,
            &plugin.manifest,
        )?;
        if roles.is_empty() {
            continue;
        }
        services.push(json!({ "name": plugin.manifest.name, "description": plugin.manifest.description, "url": format!("/e/{uai}/r/{id}/{service}/") }));
        news.extend(
            rubrique_news(
                &app,
                &visitor,
                &establishment,
                rubrique,
                service,
                NEWS_PER_BLOCK,
                None,
            )
            .await?,
        );
    }
    news.sort_by_key(|n| std::cmp::Reverse(n.published));
    let mut children = Vec::new();
    for child in portal.children(Some(&id)) {
        if child.visible
            && may_enter(
                &app.directory,
                &portal,
                visitor.user.as_ref(),
                &uai,
                &child.id,
            )?
        {
            children.push(rubrique_view(&uai, child));
        }
    }
    let mut breadcrumb: Vec<Value> = portal
        .lineage(&id)
        .iter()
        .skip(1)
        .map(|r| rubrique_view(&uai, r))
        .collect();
    breadcrumb.reverse();
    Ok(render(
        &app,
        &visitor,
        Some(&establishment),
        "rubrique.html",
        &rubrique.title,
        StatusCode::OK,
        json!({
            "rubrique": rubrique_view(&uai, rubrique),
            "breadcrumb": breadcrumb,
            "services": services,
            "children": children,
            "news": news,
            "rubriques_url": format!("/e/{uai}/rubriques/"),
        }),
    ))
}
