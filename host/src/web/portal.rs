//! The region's portal, establishments' home pages and their theme stylesheet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use serde_json::json;

use super::extract::find_establishment;
use super::pages::{WebResult, html_response, portal_context, render};
use super::visitor::Visitor;
use crate::App;
use crate::directory::Establishment;
use crate::fragments;
use crate::instances::{Access, instance_access, render_fragment};
use crate::portal::{NEWS_BLOCK, Portal, SERVICES_BLOCK};

/// GET /
pub async fn region(State(app): State<Arc<App>>, visitor: Visitor) -> WebResult {
    let establishments: Vec<_> = app
        .directory
        .establishments()?
        .into_iter()
        .map(|e| json!({ "uai": e.uai, "name": e.name, "city": e.city, "kind": e.kind, "url": format!("/e/{}/", e.uai) }))
        .collect();
    Ok(render(
        &app,
        &visitor,
        None,
        "region.html",
        "Portail de la région",
        StatusCode::OK,
        json!({ "establishments": establishments }),
    ))
}

/// GET /e/{uai}
pub async fn establishment_slash(Path(uai): Path<String>) -> Redirect {
    Redirect::permanent(&format!(
        "/e/{}/",
        url::form_urlencoded::byte_serialize(uai.as_bytes()).collect::<String>()
    ))
}

/// GET /e/{uai}/ — the home page: the blocks the establishment's administrator
/// chose, in order, each showing what the visitor may see. The anonymous page
/// is kept whole per establishment until a setting, grant or plugin namespace
/// changes (the store's change generation), at most [`fragments::PAGE_MAX_AGE`].
pub async fn establishment_home(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path(uai): Path<String>,
) -> WebResult {
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let page_cache = match visitor.user {
        None => app.directory.store().change_generation().map(|generation| {
            let key = fragments::anonymous_page_key(
                app.runtime.plugins_generation(),
                &uai,
                &visitor.path,
            );
            (key, (generation, 0))
        }),
        Some(_) => None,
    };
    if let Some((key, version)) = page_cache
        && let Some(Some(page)) = app.fragments.get(key, version)
    {
        let html = page
            .html
            .replace(fragments::CSRF_PLACEHOLDER, visitor.csrf());
        return Ok(guarded(html_response(&app, &visitor, StatusCode::OK, html)));
    }
    // A page kept for every anonymous visitor carries a placeholder token.
    let rendering_for = match page_cache {
        Some(_) => visitor.with_csrf_placeholder(fragments::CSRF_PLACEHOLDER),
        None => visitor.clone(),
    };
    let portal = Portal::load(&app.directory, &uai)?;
    // Blocks render concurrently; their plugin calls share one blocking task
    // (runtime::batch).
    let chosen = super::rubriques::home_blocks(&app, &uai, &portal)?;
    let failed = AtomicBool::new(false);
    let rendered = futures_util::future::join_all(chosen.iter().map(|block| {
        home_block(
            &app,
            &rendering_for,
            &establishment,
            &portal,
            block,
            &failed,
        )
    }))
    .await;
    let mut blocks = Vec::new();
    for block in rendered {
        blocks.extend(block?);
    }
    // The layout appends the establishment's name.
    let title = "Accueil";
    let portal_view = portal_context(&app, &rendering_for, Some(&establishment), title);
    // Targeted announcements (communication ciblée) will fill this slot above the
    // blocks; the messaging issue provides them.
    let announcements: Vec<serde_json::Value> = Vec::new();
    let context = minijinja::context! {
        portal => portal_view,
        announcements => announcements,
        blocks => blocks,
    };
    let html = app
        .theme
        .render("home.html", context)
        .map_err(|e| anyhow::anyhow!("gabarit home.html : {e:#}"))?;
    if let Some((key, version)) = page_cache
        && !failed.load(Ordering::Relaxed)
    {
        let max_age = page_max_age(&app, &chosen);
        let page = fragments::Cached {
            title: title.into(),
            html: html.clone(),
            more: None,
        };
        app.fragments.put(key, version, Some(max_age), Some(page));
    }
    let html = match page_cache {
        Some(_) => html.replace(fragments::CSRF_PLACEHOLDER, visitor.csrf()),
        None => html,
    };
    Ok(guarded(html_response(&app, &visitor, StatusCode::OK, html)))
}

/// Its blocks were guarded when rendered; the rest is the host's theme.
fn guarded(mut response: axum::response::Response) -> axum::response::Response {
    response
        .extensions_mut()
        .insert(super::pages::PluginOutputGuarded);
    response
}

/// How long a page of `blocks` may be kept: the shortest of their declared
/// ages and [`fragments::PAGE_MAX_AGE`].
fn page_max_age(app: &App, blocks: &[String]) -> std::time::Duration {
    blocks
        .iter()
        .filter_map(|block| {
            let (plugin, id) = block.split_once('/')?;
            let plugin = app.runtime.plugin(plugin)?;
            let block = plugin.manifest.blocks.iter().find(|b| b.id == id)?;
            max_age(block)
        })
        .fold(fragments::PAGE_MAX_AGE, std::cmp::min)
}

/// One block of the home page, or none when it has nothing for this visitor.
async fn home_block(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    portal: &Portal,
    block: &str,
    failed: &AtomicBool,
) -> anyhow::Result<Option<minijinja::Value>> {
    let uai = &establishment.uai;
    if block == NEWS_BLOCK {
        return news_block(app, visitor, establishment, portal).await;
    }
    if block == SERVICES_BLOCK {
        let chrome = app.chrome.get(app, visitor.user.as_ref(), uai)?;
        let Some(html) = chrome.services_block(app)? else {
            return Ok(None);
        };
        return Ok(Some(minijinja::context! {
            title => "Mes services",
            html => minijinja::Value::from_safe_string(html),
            more_url => format!("/e/{uai}/services"),
            more_label => "Tous mes services",
        }));
    }
    match block.split_once('/') {
        Some((plugin_id, block_id)) => {
            plugin_block(app, visitor, establishment, plugin_id, block_id, failed).await
        }
        None => Ok(None),
    }
}

/// The "Actualités" block: the newest news of the subscribed rubriques; none when
/// nothing is subscribed for this visitor.
async fn news_block(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    portal: &Portal,
) -> anyhow::Result<Option<minijinja::Value>> {
    if !portal.subscriptions.iter().any(|s| s.active) {
        return Ok(None);
    }
    let news = super::rubriques::collect_news(
        app,
        visitor,
        establishment,
        portal,
        super::rubriques::NEWS_PER_BLOCK,
        None,
    )
    .await?;
    let html = news_block_html(app, establishment, &news)?;
    Ok(Some(minijinja::context! {
        title => "Actualités",
        html => minijinja::Value::from_safe_string(html),
        more_url => format!("/e/{}/actualites", establishment.uai),
        more_label => "Afficher plus d'actualités",
    }))
}

/// The « Actualités » block's HTML for `news`: rendered once per list of
/// news (and time zone), then kept in the fragment cache.
fn news_block_html(
    app: &App,
    establishment: &Establishment,
    news: &[super::rubriques::NewsEntry],
) -> anyhow::Result<String> {
    let key = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        ("news block", &establishment.time_zone, news).hash(&mut hasher);
        hasher.finish()
    };
    if let Some(Some(kept)) = app.fragments.get(key, (0, 0)) {
        return Ok(kept.html);
    }
    let html = app.theme.render(
        "news_block.html",
        minijinja::context! {
            news => minijinja::Value::from_serialize(news),
            // Dates in the establishment's time zone.
            establishment => minijinja::context! { time_zone => establishment.time_zone },
        },
    )?;
    let kept = fragments::Cached {
        title: String::new(),
        html: html.clone(),
        more: None,
    };
    app.fragments.put(key, (0, 0), None, Some(kept));
    Ok(html)
}

/// A plugin's block, if the plugin is enabled here and shows something to the visitor.
async fn plugin_block(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    id: &str,
    block_id: &str,
    failed: &AtomicBool,
) -> anyhow::Result<Option<minijinja::Value>> {
    let uai = &establishment.uai;
    let Some(plugin) = app.runtime.plugin(id) else {
        return Ok(None);
    };
    let Some(block) = plugin.manifest.blocks.iter().find(|b| b.id == block_id) else {
        return Ok(None);
    };
    let Access::Granted(granted) = instance_access(app, visitor.user.as_ref(), uai, None, &plugin)?
    else {
        return Ok(None);
    };
    // No block of a service the visitor may not open (its cached fragment
    // included: a `public` one is kept for everyone who may).
    if !granted.opens() {
        return Ok(None);
    }
    let mut ctx = granted.context(visitor.user.as_ref(), establishment);
    // A block whose manifest declares its audience is rendered once per
    // audience until the plugin's data changes (crate::fragments).
    let cache = fragments::key_at_versions(app.directory.store(), &plugin, block, &ctx);
    if let Some((key, versions)) = cache
        && let Some(hit) = app.fragments.get(key, versions)
    {
        return Ok(hit.map(|cached| {
            block_value(
                cached.title,
                cached
                    .html
                    .replace(fragments::CSRF_PLACEHOLDER, visitor.csrf()),
                cached.more,
            )
        }));
    }
    let csrf = match cache {
        Some(_) => fragments::CSRF_PLACEHOLDER,
        None => visitor.csrf(),
    };
    ctx.approved_hosts = crate::instances::approved_hosts(app, uai, id);
    let rendered = match app
        .runtime
        .render_block(id, ctx, block.id.clone(), Vec::new())
        .await
    {
        Ok(None) => {
            if let Some((key, versions)) = cache {
                app.fragments.put(key, versions, max_age(block), None);
            }
            return Ok(None);
        }
        Ok(Some(fragment)) => {
            render_fragment(app, csrf, uai, id, &fragment).map(|html| (fragment, html))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    };
    let (title, html, more_url) = match rendered {
        Ok((fragment, html)) => {
            let more_url = fragment.more.map(|m| {
                format!(
                    "{}{}",
                    granted.mount,
                    if m.starts_with('/') {
                        m
                    } else {
                        format!("/{m}")
                    }
                )
            });
            if let Some((key, versions)) = cache {
                let cached = fragments::Cached {
                    title: fragment.title.clone(),
                    html: html.clone(),
                    more: more_url.clone(),
                };
                app.fragments
                    .put(key, versions, max_age(block), Some(cached));
            }
            let html = html.replace(fragments::CSRF_PLACEHOLDER, visitor.csrf());
            (fragment.title, html, more_url)
        }
        Err(e) => {
            failed.store(true, Ordering::Relaxed);
            tracing::error!(plugin = %id, "bloc {} : {e:#}", block.id);
            (block.label.clone(), String::new(), None)
        }
    };
    // The fragment was rendered by the host from an autoescaped template.
    let html = if html.is_empty() {
        "<p class=\"block-error\">Ce service est momentanément indisponible.</p>".to_string()
    } else {
        html
    };
    Ok(Some(block_value(title, html, more_url)))
}

/// The longest a block's cached fragment is shown, when its content changes with time.
fn max_age(block: &crate::manifest::Block) -> Option<std::time::Duration> {
    block.max_age_seconds.map(std::time::Duration::from_secs)
}

/// A plugin block as the home page template takes it.
fn block_value(title: String, html: String, more_url: Option<String>) -> minijinja::Value {
    minijinja::context! {
        title => title,
        html => minijinja::Value::from_safe_string(html),
        more_url => more_url,
        more_label => "Tout voir",
    }
}
