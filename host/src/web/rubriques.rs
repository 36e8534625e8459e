//! Rubriques (sections of an establishment's portal), the "Actualités" news
//! aggregated from the rubriques subscribed to the portal block, and their
//! administration: the tree, each rubrique's services, access and rights, the
//! home page's blocks and the subscriptions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::admin::{checked_form, target};
use super::directory::{Form, all, field};
use super::plugins::call_context;
use super::portal::{find_establishment, wit_caller};
use super::{Visitor, WebResult, error_page, forbidden, parse_query, render};
use crate::App;
use crate::directory::{Establishment, PROFILES};
use crate::portal::{
    NEWS_BLOCK, Populations, Portal, Rubrique, SERVICES_BLOCK, Subscription, may_enter, roles_in,
};
use crate::runtime::{WitRubrique, invocation};

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
#[derive(Clone, Debug, serde::Serialize)]
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
    let call = invocation(
        wit_caller(visitor, uai),
        roles,
        establishment,
        mount.clone(),
        Some(WitRubrique {
            id: rubrique.id.clone(),
            title: rubrique.title.clone(),
        }),
    );
    let ctx = call_context(app, uai, Some(&rubrique.id), service, &setting.config);
    match app.runtime.news(service, ctx, limit, before, call).await {
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

/// GET /e/{uai}/actualites — every news item, "Afficher plus d'actualités" pages back.
pub async fn news_page(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
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
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
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
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
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

// ---------------------------------------------------------------- administration

fn rubrique_services(app: &App, uai: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut services = Vec::new();
    for plugin in app.runtime.plugins() {
        if plugin.manifest.rubrique
            && app
                .directory
                .plugin_setting(uai, &plugin.manifest.id)?
                .enabled
        {
            services.push((plugin.manifest.id.clone(), plugin.manifest.name.clone()));
        }
    }
    Ok(services)
}

fn parent_options(portal: &Portal, exclude: Option<&str>) -> Vec<Value> {
    portal
        .tree()
        .into_iter()
        .filter(|(depth, r)| {
            *depth + 1 < crate::portal::MAX_DEPTH
                && exclude.is_none_or(|ex| !portal.is_within(&r.id, ex))
        })
        .map(|(depth, r)| json!({ "id": r.id, "label": format!("{}{}", "— ".repeat(depth), r.title) }))
        .collect()
}

/// GET /admin/e/{uai}/rubriques — the tree and a form to create a rubrique.
pub async fn admin_list(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    Ok(admin_list_page(
        &app,
        &t,
        &Form::new(),
        &[],
        StatusCode::OK,
    )?)
}

fn admin_list_page(
    app: &App,
    t: &super::admin::Target,
    form: &Form,
    errors: &[(&str, String)],
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let portal = Portal::load(&app.directory, uai)?;
    let rows: Vec<Value> = portal
        .tree()
        .into_iter()
        .map(|(depth, r)| {
            json!({
                "depth": depth, "title": r.title, "id": r.id,
                "restricted": r.restricted, "visible": r.visible,
                "services": r.services.len(),
                "edit_url": format!("/admin/e/{uai}/rubriques/{}", r.id),
                "public_url": format!("/e/{uai}/r/{}/", r.id),
            })
        })
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/rubriques.html",
        "Rubriques",
        status,
        json!({
            "establishment": t.establishment_json(),
            "rubriques": rows,
            "parents": parent_options(&portal, None),
            "values": { "title": field(form, "title"), "parent": field(form, "parent"),
                        "restricted": field(form, "restricted") == "on" },
            "errors": error_map(errors),
            "action_url": format!("/admin/e/{uai}/rubriques"),
            "home_url": format!("/admin/e/{uai}/accueil"),
        }),
    ))
}

/// POST /admin/e/{uai}/rubriques — creates a rubrique (title, parent, restricted).
pub async fn admin_create(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let mut portal = Portal::load(&app.directory, &uai)?;
    let title = field(&form, "title");
    let parent = Some(field(&form, "parent")).filter(|p| !p.is_empty());
    let mut errors: Vec<(&str, String)> = Vec::new();
    if title.is_empty() || title.chars().count() > 80 {
        errors.push(("title", "Donnez un titre de 1 à 80 caractères.".into()));
    }
    if let Some(p) = &parent
        && !parent_options(&portal, None)
            .iter()
            .any(|o| o["id"].as_str() == Some(p))
    {
        errors.push((
            "parent",
            "Choisissez une rubrique parente existante (4 niveaux au plus).".into(),
        ));
    }
    let base = crate::portal::slug(&title);
    if errors.is_empty() && base.is_empty() {
        errors.push((
            "title",
            "Le titre doit contenir au moins une lettre ou un chiffre.".into(),
        ));
    }
    if !errors.is_empty() {
        return Ok(admin_list_page(
            &app,
            &t,
            &form,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    let mut id = base.clone();
    let mut n = 2;
    while portal.rubrique(&id).is_some() {
        id = format!("{base}-{n}");
        n += 1;
    }
    let order = portal.children(parent.as_deref()).len() as u32;
    portal.rubriques.push(Rubrique {
        id: id.clone(),
        title: title.clone(),
        parent,
        restricted: field(&form, "restricted") == "on",
        visible: true,
        order,
        ..Default::default()
    });
    portal.save(&app.directory, &uai)?;
    app.directory
        .audit_in(&t.user, &uai, "rubrique créée", &title)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/rubriques/{id}")).into_response())
}

/// GET /admin/e/{uai}/rubriques/{id} — edit a rubrique.
pub async fn admin_edit(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let portal = Portal::load(&app.directory, &uai)?;
    let Some(rubrique) = portal.rubrique(&id).cloned() else {
        return Ok(rubrique_not_found(&app, &t));
    };
    let notice = parse_query(uri.query())
        .into_iter()
        .any(|(k, v)| k == "enregistre" && v == "1")
        .then_some("Rubrique enregistrée.");
    Ok(admin_edit_page(
        &app,
        &t,
        &portal,
        &rubrique,
        &[],
        notice,
        StatusCode::OK,
    )?)
}

fn rubrique_not_found(app: &App, t: &super::admin::Target) -> Response {
    error_page(
        app,
        &t.visitor,
        Some(&t.establishment),
        StatusCode::NOT_FOUND,
        "Rubrique introuvable",
        "Cette rubrique n'existe pas ou a été supprimée.",
    )
}

fn admin_edit_page(
    app: &App,
    t: &super::admin::Target,
    portal: &Portal,
    rubrique: &Rubrique,
    errors: &[(&str, String)],
    notice: Option<&str>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let services: Vec<Value> = rubrique_services(app, uai)?
        .into_iter()
        .map(|(id, name)| {
            json!({
                "id": id, "name": name, "checked": rubrique.services.contains(&id),
                "rights_url": format!("/admin/e/{uai}/rubriques/{}/droits/{id}", rubrique.id),
            })
        })
        .collect();
    let profiles: Vec<Value> = PROFILES
        .iter()
        .map(|(code, label)| json!({ "code": code, "label": label, "checked": rubrique.access.profiles.iter().any(|p| p == code) }))
        .collect();
    let groups: Vec<Value> = app
        .directory
        .groups(uai)?
        .into_iter()
        .map(|g| json!({ "id": g.id, "name": g.name, "checked": rubrique.access.groups.contains(&g.id) }))
        .collect();
    let has_children = !portal.children(Some(&rubrique.id)).is_empty();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/rubrique.html",
        &format!("Rubrique — {}", rubrique.title),
        status,
        json!({
            "establishment": t.establishment_json(),
            "rubrique": {
                "id": rubrique.id, "title": rubrique.title, "description": rubrique.description,
                "parent": rubrique.parent, "restricted": rubrique.restricted,
                "visible": rubrique.visible, "order": rubrique.order,
            },
            "parents": parent_options(portal, Some(&rubrique.id)),
            "services": services,
            "profiles": profiles,
            "groups": groups,
            "errors": error_map(errors),
            "notice": notice,
            "can_delete": !has_children,
            "action_url": format!("/admin/e/{uai}/rubriques/{}", rubrique.id),
            "delete_url": format!("/admin/e/{uai}/rubriques/{}/supprimer", rubrique.id),
            "public_url": format!("/e/{uai}/r/{}/", rubrique.id),
            "back_url": format!("/admin/e/{uai}/rubriques"),
        }),
    ))
}

/// POST /admin/e/{uai}/rubriques/{id} — title, parent, description, order,
/// visibility, restricted access and its populations, services.
pub async fn admin_save(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let mut portal = Portal::load(&app.directory, &uai)?;
    let Some(current) = portal.rubrique(&id).cloned() else {
        return Ok(rubrique_not_found(&app, &t));
    };
    let mut edited = current.clone();
    let mut errors: Vec<(&str, String)> = Vec::new();
    edited.title = field(&form, "title");
    if edited.title.is_empty() || edited.title.chars().count() > 80 {
        errors.push(("title", "Donnez un titre de 1 à 80 caractères.".into()));
    }
    edited.description = field(&form, "description");
    if edited.description.chars().count() > 1000 {
        errors.push((
            "description",
            "La présentation dépasse 1 000 caractères.".into(),
        ));
    }
    edited.parent = Some(field(&form, "parent")).filter(|p| !p.is_empty());
    if let Some(p) = &edited.parent
        && !parent_options(&portal, Some(&id))
            .iter()
            .any(|o| o["id"].as_str() == Some(p))
    {
        errors.push(("parent", "Cette rubrique ne peut pas être la parente (elle-même, une de ses sous-rubriques, ou trop profonde).".into()));
    }
    match field(&form, "order").parse::<u32>() {
        Ok(order) if order <= 999 => edited.order = order,
        _ => errors.push(("order", "L'ordre est un nombre entier de 0 à 999.".into())),
    }
    edited.visible = field(&form, "visible") == "on";
    edited.restricted = field(&form, "restricted") == "on";
    let services = rubrique_services(&app, &uai)?;
    edited.services = all(&form, "service")
        .into_iter()
        .filter(|s| services.iter().any(|(id, _)| id == s))
        .collect();
    let groups = app.directory.groups(&uai)?;
    edited.access = Populations {
        profiles: all(&form, "profile")
            .into_iter()
            .filter(|p| PROFILES.iter().any(|(c, _)| c == p))
            .collect(),
        groups: all(&form, "group")
            .into_iter()
            .filter(|g| groups.iter().any(|x| &x.id == g))
            .collect(),
    };
    if edited.restricted && edited.access.profiles.is_empty() && edited.access.groups.is_empty() {
        errors.push(("access", "Une rubrique en accès restreint doit être ouverte à au moins un profil ou un groupe (les administrateurs y ont toujours accès).".into()));
    }
    if !errors.is_empty() {
        return Ok(admin_edit_page(
            &app,
            &t,
            &portal,
            &edited,
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    // Rights of services removed from the rubrique are kept: adding the service
    // back restores them.
    *portal.rubrique_mut(&id).expect("vérifiée") = edited;
    portal.save(&app.directory, &uai)?;
    app.directory
        .audit_in(&t.user, &uai, "rubrique modifiée", &current.title)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/rubriques/{id}?enregistre=1")).into_response())
}

/// POST /admin/e/{uai}/rubriques/{id}/supprimer — only a rubrique without sub-rubriques.
pub async fn admin_delete(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    checked_form(&app, &t.visitor, &body)?;
    let mut portal = Portal::load(&app.directory, &uai)?;
    let Some(rubrique) = portal.rubrique(&id).cloned() else {
        return Ok(rubrique_not_found(&app, &t));
    };
    if !portal.children(Some(&id)).is_empty() {
        return Ok(admin_edit_page(
            &app,
            &t,
            &portal,
            &rubrique,
            &[(
                "delete",
                "Supprimez ou déplacez d'abord ses sous-rubriques.".into(),
            )],
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    portal.rubriques.retain(|r| r.id != id);
    portal.subscriptions.retain(|s| s.rubrique != id);
    portal.save(&app.directory, &uai)?;
    app.directory
        .audit_in(&t.user, &uai, "rubrique supprimée", &rubrique.title)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/rubriques")).into_response())
}

// ---------------------------------------------------------------- home page

/// Every block an administrator can place: the news block and the blocks of enabled plugins.
fn available_blocks(app: &App, uai: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut blocks = vec![
        (NEWS_BLOCK.to_string(), "Actualités".to_string()),
        (SERVICES_BLOCK.to_string(), "Mes services".to_string()),
    ];
    for plugin in app.runtime.plugins() {
        if !app
            .directory
            .plugin_setting(uai, &plugin.manifest.id)?
            .enabled
        {
            continue;
        }
        for block in &plugin.manifest.blocks {
            let label = if block.label == plugin.manifest.name {
                block.label.clone()
            } else {
                format!("{} — {}", plugin.manifest.name, block.label)
            };
            blocks.push((format!("{}/{}", plugin.manifest.id, block.id), label));
        }
    }
    Ok(blocks)
}

/// The home page's blocks in order: the administrator's choice, or by default the
/// news block, "Mes services", then every block of the enabled plugins.
pub fn home_blocks(app: &App, uai: &str, portal: &Portal) -> anyhow::Result<Vec<String>> {
    let available = available_blocks(app, uai)?;
    Ok(match &portal.blocks {
        Some(chosen) => chosen
            .iter()
            .filter(|b| available.iter().any(|(id, _)| id == *b))
            .cloned()
            .collect(),
        None => available.into_iter().map(|(id, _)| id).collect(),
    })
}

/// GET /admin/e/{uai}/accueil — the home page's blocks and the news subscriptions.
pub async fn admin_home(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    Ok(admin_home_page(&app, &t, None, StatusCode::OK)?)
}

fn admin_home_page(
    app: &App,
    t: &super::admin::Target,
    error: Option<&str>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let portal = Portal::load(&app.directory, uai)?;
    let available = available_blocks(app, uai)?;
    let label = |id: &str| {
        available
            .iter()
            .find(|(b, _)| b == id)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let chosen = home_blocks(app, uai, &portal)?;
    let placed: Vec<Value> = chosen
        .iter()
        .enumerate()
        .map(|(i, b)| json!({ "id": b, "label": label(b), "first": i == 0, "last": i + 1 == chosen.len() }))
        .collect();
    let addable: Vec<Value> = available
        .iter()
        .filter(|(id, _)| !chosen.contains(id))
        .map(|(id, l)| json!({ "id": id, "label": l }))
        .collect();
    let profile_label = |p: &Option<String>| match p {
        None => "Tout l'établissement".to_string(),
        Some(code) => PROFILES
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, l)| l.to_string())
            .unwrap_or(code.clone()),
    };
    let subscriptions: Vec<Value> = portal
        .subscriptions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "index": i,
                "rubrique": portal.rubrique(&s.rubrique).map(|r| r.title.clone()).unwrap_or(s.rubrique.clone()),
                "profile": profile_label(&s.profile),
                "active": s.active,
            })
        })
        .collect();
    let rubriques: Vec<Value> = portal
        .tree()
        .into_iter()
        .map(|(depth, r)| json!({ "id": r.id, "label": format!("{}{}", "— ".repeat(depth), r.title) }))
        .collect();
    let profiles: Vec<Value> = PROFILES
        .iter()
        .map(|(c, l)| json!({ "code": c, "label": l }))
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/home.html",
        "Page d'accueil",
        status,
        json!({
            "establishment": t.establishment_json(),
            "blocks": placed,
            "addable": addable,
            "subscriptions": subscriptions,
            "rubriques": rubriques,
            "profiles": profiles,
            "error": error,
            "action_url": format!("/admin/e/{uai}/accueil"),
            "rubriques_url": format!("/admin/e/{uai}/rubriques"),
            "home_url": format!("/e/{uai}/"),
        }),
    ))
}

/// POST /admin/e/{uai}/accueil — `action` = add / up / down / remove (a `block`),
/// subscribe (`rubrique`, `profile`), statuses (checkboxes `active` = index),
/// unsubscribe (`index`).
pub async fn admin_home_save(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let mut portal = Portal::load(&app.directory, &uai)?;
    let available = available_blocks(&app, &uai)?;
    let mut blocks = home_blocks(&app, &uai, &portal)?;
    let block = field(&form, "block");
    let position = blocks.iter().position(|b| *b == block);
    let action = field(&form, "action");
    let invalid = |message: &str| -> WebResult {
        Ok(admin_home_page(
            &app,
            &t,
            Some(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?)
    };
    match (action.as_str(), position) {
        ("add", None) if available.iter().any(|(id, _)| *id == block) => blocks.push(block),
        ("add", _) => return invalid("Choisissez un bloc à ajouter."),
        ("up", Some(i)) if i > 0 => blocks.swap(i, i - 1),
        ("down", Some(i)) if i + 1 < blocks.len() => blocks.swap(i, i + 1),
        ("remove", Some(i)) => {
            blocks.remove(i);
        }
        ("up" | "down" | "remove", _) => {
            return invalid("Ce bloc n'est pas sur la page d'accueil.");
        }
        ("subscribe", _) => {
            let rubrique = field(&form, "rubrique");
            if portal.rubrique(&rubrique).is_none() {
                return invalid("Choisissez la rubrique à abonner au bloc Actualités.");
            }
            let profile = Some(field(&form, "profile")).filter(|p| !p.is_empty());
            if let Some(p) = &profile
                && !PROFILES.iter().any(|(c, _)| c == p)
            {
                return invalid("Profil inconnu.");
            }
            if portal
                .subscriptions
                .iter()
                .any(|s| s.rubrique == rubrique && s.profile == profile)
            {
                return invalid("Cette rubrique est déjà abonnée pour ce profil.");
            }
            portal.subscriptions.push(Subscription {
                rubrique,
                profile,
                active: true,
            });
        }
        ("statuses", _) => {
            let active = all(&form, "active");
            for (i, s) in portal.subscriptions.iter_mut().enumerate() {
                s.active = active.contains(&i.to_string());
            }
        }
        ("unsubscribe", _) => match field(&form, "index").parse::<usize>() {
            Ok(i) if i < portal.subscriptions.len() => {
                portal.subscriptions.remove(i);
            }
            _ => return invalid("Abonnement introuvable."),
        },
        _ => return invalid("Action inconnue."),
    }
    if matches!(action.as_str(), "add" | "up" | "down" | "remove") {
        portal.blocks = Some(blocks);
    }
    portal.save(&app.directory, &uai)?;
    app.directory
        .audit_in(&t.user, &uai, "page d'accueil", &action)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/accueil")).into_response())
}
