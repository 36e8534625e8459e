//! The region's portal, establishments' home pages and their theme stylesheet.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::plugins::{Access, instance_access, render_fragment};
use super::{Visitor, WebResult, error_page, render, render_value};
use crate::App;
use crate::directory::{Establishment, Theme};
use crate::portal::{NEWS_BLOCK, Portal, SERVICES_BLOCK};
use crate::runtime::WitCaller;

/// GET /
pub async fn region(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
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

/// The establishment of a URL, or a 404 page.
pub fn find_establishment(
    app: &App,
    visitor: &Visitor,
    uai: &str,
) -> Result<Establishment, Response> {
    match app.directory.establishment(uai) {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err(error_page(
            app,
            visitor,
            None,
            StatusCode::NOT_FOUND,
            "Établissement introuvable",
            "Aucun établissement ne porte ce code UAI.",
        )),
        Err(e) => {
            tracing::error!("établissement {uai} : {e:#}");
            Err(super::internal_error_response())
        }
    }
}

/// The WIT view of the visitor in an establishment.
pub fn wit_caller(visitor: &Visitor, uai: &str) -> Option<WitCaller> {
    visitor.user.as_ref().map(|u| {
        let membership = u.membership(uai);
        WitCaller {
            id: u.id.clone(),
            login: u.login.clone(),
            display_name: u.display_name(),
            profiles: membership
                .map(|m| vec![m.profile.clone()])
                .unwrap_or_default(),
            groups: membership.map(|m| m.groups.clone()).unwrap_or_default(),
            functions: membership.map(|m| m.functions.clone()).unwrap_or_default(),
            region_admin: u.region_admin,
        }
    })
}

/// GET /e/{uai}/ — the home page: the blocks the establishment's administrator
/// chose, in order, each showing what the visitor may see.
pub async fn establishment_home(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let portal = Portal::load(&app.directory, &uai)?;
    // Blocks render concurrently: each plugin block is a call on a blocking thread.
    let chosen = super::rubriques::home_blocks(&app, &uai, &portal)?;
    let rendered = futures_util::future::join_all(
        chosen
            .iter()
            .map(|block| home_block(&app, &visitor, &establishment, &portal, block)),
    )
    .await;
    let mut blocks = Vec::new();
    for block in rendered {
        blocks.extend(block?);
    }
    // The layout appends the establishment's name.
    let title = "Accueil";
    let portal_view = super::portal_context(&app, &visitor, Some(&establishment), title);
    // Targeted announcements (communication ciblée) will fill this slot above the
    // blocks; the messaging issue provides them.
    let announcements: Vec<serde_json::Value> = Vec::new();
    let context = minijinja::context! {
        portal => minijinja::Value::from_serialize(&portal_view),
        announcements => announcements,
        blocks => blocks,
    };
    Ok(render_value(
        &app,
        &visitor,
        "home.html",
        StatusCode::OK,
        context,
    ))
}

/// One block of the home page, or none when it has nothing for this visitor.
async fn home_block(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    portal: &Portal,
    block: &str,
) -> anyhow::Result<Option<minijinja::Value>> {
    let uai = &establishment.uai;
    if block == NEWS_BLOCK {
        return news_block(app, visitor, establishment, portal).await;
    }
    if block == SERVICES_BLOCK {
        let Some(services) = super::services::home_block(app, visitor, uai)? else {
            return Ok(None);
        };
        let html = app.theme.render(
            "services_block.html",
            minijinja::Value::from_serialize(&services),
        )?;
        return Ok(Some(minijinja::context! {
            title => "Mes services",
            html => minijinja::Value::from_safe_string(html),
            more_url => format!("/e/{uai}/services"),
            more_label => "Tous mes services",
        }));
    }
    match block.split_once('/') {
        Some((plugin_id, block_id)) => {
            plugin_block(app, visitor, establishment, plugin_id, block_id).await
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
    let html = app.theme.render(
        "news_block.html",
        minijinja::Value::from_serialize(json!({ "news": news })),
    )?;
    Ok(Some(minijinja::context! {
        title => "Actualités",
        html => minijinja::Value::from_safe_string(html),
        more_url => format!("/e/{}/actualites", establishment.uai),
        more_label => "Afficher plus d'actualités",
    }))
}

/// A plugin's block, if the plugin is enabled here and shows something to the visitor.
async fn plugin_block(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    id: &str,
    block_id: &str,
) -> anyhow::Result<Option<minijinja::Value>> {
    let uai = &establishment.uai;
    let Some(plugin) = app.runtime.plugin(id) else {
        return Ok(None);
    };
    let Some(block) = plugin.manifest.blocks.iter().find(|b| b.id == block_id) else {
        return Ok(None);
    };
    let Access::Granted(granted) = instance_access(app, visitor, uai, None, &plugin)? else {
        return Ok(None);
    };
    let call = granted.invocation(visitor, establishment);
    let ctx = granted.context(app, uai, id);
    let rendered = match app
        .runtime
        .render_block(id, ctx, block.id.clone(), Vec::new(), call)
        .await
    {
        Ok(None) => return Ok(None),
        Ok(Some(fragment)) => {
            render_fragment(app, visitor, uai, id, &fragment).map(|html| (fragment, html))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    };
    let (title, html, more_url) = match rendered {
        Ok((fragment, html)) => (
            fragment.title,
            html,
            fragment.more.map(|m| {
                format!(
                    "{}{}",
                    granted.mount,
                    if m.starts_with('/') {
                        m
                    } else {
                        format!("/{m}")
                    }
                )
            }),
        ),
        Err(e) => {
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
    Ok(Some(minijinja::context! {
        title => title,
        html => minijinja::Value::from_safe_string(html),
        more_url => more_url,
        more_label => "Tout voir",
    }))
}

/// `#rrggbb` only: the value goes into CSS.
pub fn valid_colour(colour: &str) -> bool {
    colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Black or white, whichever reads better on `colour` (WCAG relative luminance).
fn contrast_text(colour: &str) -> &'static str {
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&colour[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with white = 1.05 / (L + 0.05); with black = (L + 0.05) / 0.05.
    if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 {
        "#ffffff"
    } else {
        "#111111"
    }
}

/// The custom properties of an establishment's colours.
pub fn theme_stylesheet(theme: &Theme) -> String {
    let default = Theme::default();
    let primary = if valid_colour(&theme.primary) {
        &theme.primary
    } else {
        &default.primary
    };
    let accent = if valid_colour(&theme.accent) {
        &theme.accent
    } else {
        &default.accent
    };
    format!(
        ":root {{\n  --primary: {primary};\n  --primary-contrast: {};\n  --accent: {accent};\n}}\n",
        contrast_text(primary)
    )
}

/// GET /e/{uai}/theme.css
pub async fn theme_css(State(app): State<Arc<App>>, Path(uai): Path<String>) -> WebResult {
    let Some(establishment) = app.directory.establishment(&uai)? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        theme_stylesheet(&establishment.theme),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_validated_and_contrasted() {
        assert!(valid_colour("#1f5f8b"));
        assert!(!valid_colour("red;}body{x"));
        assert_eq!(contrast_text("#1f5f8b"), "#ffffff");
        assert_eq!(contrast_text("#f5e663"), "#111111");
        let css = theme_stylesheet(&Theme {
            primary: "}</style>".into(),
            accent: "#000000".into(),
            banner_url: String::new(),
        });
        assert!(css.contains("--primary: #1f5f8b"));
    }
}
