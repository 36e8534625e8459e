//! One service's object inside another's content: a link to a form diffusion
//! (`/e/<UAI>/formulaires/d/12`) standing alone in a paragraph of an article, a
//! forum message, or any plugin page, becomes that object's block.
//!
//! The host does it, not the plugins: after a plugin page is rendered, each such
//! paragraph whose path matches an `[[embeds]]` pattern of an enabled plugin of the
//! same establishment is replaced by `render-block` of that plugin, called with the
//! viewer's own roles there. A link the viewer may not see, or a plugin that
//! declines (`None`) or fails, stays a plain link.

use std::sync::LazyLock;

use regex::Regex;

use super::visitor::Visitor;
use crate::App;
use crate::directory::Establishment;
use crate::instances::{Access, instance_access, render_fragment};

/// Embeds expanded per page: a page cannot fan out into many plugin calls.
const MAX_EMBEDS_PER_PAGE: usize = 5;

/// A paragraph holding only a link (as the sanitizer writes it) or a bare URL.
static LONE_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"<p>\s*(?:<a href="((?:https?://[^/"\s]+)?/e/[^"\s]+)" rel="noopener noreferrer nofollow">[^<]{0,300}</a>"#,
        r#"|((?:https?://[^/<\s]+)?/e/[^<\s"]+))\s*</p>"#
    ))
    .expect("motif")
});

/// `html` with the embeddable links replaced by their blocks.
pub async fn expand(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    service_name: &str,
    page_path: &str,
    host: Option<&str>,
    html: String,
) -> String {
    if !html.contains("/e/") {
        return html;
    }
    let found: Vec<(std::ops::Range<usize>, String)> = LONE_LINK
        .captures_iter(&html)
        .filter_map(|c| {
            let whole = c.get(0)?.range();
            let url = c.get(1).or(c.get(2))?.as_str().replace("&amp;", "&");
            Some((whole, url))
        })
        .take(MAX_EMBEDS_PER_PAGE)
        .collect();
    if found.is_empty() {
        return html;
    }
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    for (range, url) in found {
        let Some(path) = local_path(&url, host) else {
            continue;
        };
        let Some(block) =
            block_for(app, visitor, establishment, service_name, page_path, path).await
        else {
            continue;
        };
        out.push_str(&html[last..range.start]);
        out.push_str(&block);
        last = range.end;
    }
    out.push_str(&html[last..]);
    out
}

/// The path of `url` if it points at this portal: a path, or an absolute URL on
/// the host the visitor reached.
fn local_path<'a>(url: &'a str, host: Option<&str>) -> Option<&'a str> {
    if url.starts_with("/e/") {
        return Some(url);
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (authority, path) = rest.split_at(rest.find('/')?);
    host?.eq_ignore_ascii_case(authority).then_some(path)
}

/// The rendered block of the object at `path`, if it is one the visitor may see.
async fn block_for(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    service_name: &str,
    page_path: &str,
    path: &str,
) -> Option<String> {
    let path = path.split(['?', '#']).next()?;
    let segments: Vec<&str> = path.split('/').collect();
    // "", "e", uai, [ "r", rubrique, ] plugin, rest…
    if segments.len() < 5 || segments[2] != establishment.uai {
        return None;
    }
    let (rubrique, plugin_id, rest) = match segments[3] {
        "r" if segments.len() >= 7 => (Some(segments[4]), segments[5], &segments[6..]),
        "r" => return None,
        _ => (None, segments[3], &segments[4..]),
    };
    let below = format!("/{}", rest.join("/"));
    let plugin = app.runtime.plugin(plugin_id)?;
    let (block, mut params) = plugin
        .manifest
        .embeds
        .iter()
        .find_map(|e| e.matches(&below).map(|p| (e.block.clone(), p)))?;
    let uai = &establishment.uai;
    let Ok(Access::Granted(granted)) =
        instance_access(app, visitor.user.as_ref(), uai, rubrique, &plugin)
    else {
        return None;
    };
    params.push(("page".into(), page_path.to_string()));
    params.push(("service".into(), service_name.to_string()));
    let ctx = granted.call(app, visitor.user.as_ref(), establishment, plugin_id);
    let rendered = match app
        .runtime
        .render_block(plugin_id, ctx, block, params)
        .await
    {
        Ok(fragment) => {
            let fragment = fragment?;
            render_fragment(app, visitor.csrf(), uai, plugin_id, &fragment)
                .map(|html| (fragment, html))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    };
    let (fragment, html) = match rendered {
        Ok(rendered) => rendered,
        Err(e) => {
            tracing::error!(plugin = %plugin_id, "bloc inséré {path} : {e:#}");
            return None;
        }
    };
    // The fragment was rendered by the host from an autoescaped template.
    Some(format!(
        "<section class=\"embedded-block\" aria-label=\"{title}\">{html}</section>",
        title = crate::html::escape(&fragment.title)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lone_links_and_bare_paths_only() {
        let html = concat!(
            "<p><a href=\"/e/0420003A/formulaires/d/12\" rel=\"noopener noreferrer nofollow\">Répondre</a></p>",
            "<p>Voir <a href=\"/e/0420003A/formulaires/d/13\" rel=\"noopener noreferrer nofollow\">ici</a></p>",
            "<p> /e/0420003A/formulaires/d/14 </p>",
            "<p><a href=\"https://ent.example/e/0420003A/formulaires/d/15\" rel=\"noopener noreferrer nofollow\">x</a></p>",
        );
        let urls: Vec<String> = LONE_LINK
            .captures_iter(html)
            .map(|c| c.get(1).or(c.get(2)).unwrap().as_str().to_string())
            .collect();
        assert_eq!(
            urls,
            [
                "/e/0420003A/formulaires/d/12",
                "/e/0420003A/formulaires/d/14",
                "https://ent.example/e/0420003A/formulaires/d/15"
            ]
        );
    }

    #[test]
    fn absolute_urls_count_only_on_the_visited_host() {
        assert_eq!(local_path("/e/X/f/d/1", None), Some("/e/X/f/d/1"));
        assert_eq!(
            local_path("https://ent.example/e/X/f/d/1", Some("ent.example")),
            Some("/e/X/f/d/1")
        );
        assert_eq!(
            local_path("https://evil.example/e/X/f/d/1", Some("ent.example")),
            None
        );
        assert_eq!(local_path("https://ent.example/e/X/f/d/1", None), None);
    }
}
