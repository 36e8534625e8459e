//! What an establishment shows one person: the services catalogue as they see
//! it (the region's connectors, the establishment's own and its plugins,
//! filtered by who may see them) and their navigation, kept per person until
//! the configuration changes ([`ChromeCache`]): the layout's menus and the
//! home page's « Mes services » block.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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

/// The plugins `user` may open in `uai` ([`crate::instances::opens`]), as
/// (id, name): the only ones their navigation and « Mes services » link to.
pub fn usable_plugins(
    app: &App,
    user: Option<&User>,
    uai: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut usable = Vec::new();
    for plugin in app.runtime.plugins() {
        if crate::instances::opens(app, user, uai, &plugin)? {
            usable.push((plugin.manifest.id.clone(), plugin.manifest.name.clone()));
        }
    }
    Ok(usable)
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

/// The services of `uai` that `user` may see and open, in catalogue order:
/// among plugins, only those they may open.
pub fn visible_services(app: &App, user: Option<&User>, uai: &str) -> anyhow::Result<Vec<Service>> {
    visible_among(app, user, uai, &usable_plugins(app, user, uai)?)
}

/// [`visible_services`] with `user`'s [`usable_plugins`] already known.
fn visible_among(
    app: &App,
    user: Option<&User>,
    uai: &str,
    usable: &[(String, String)],
) -> anyhow::Result<Vec<Service>> {
    let region = services::region_catalogue(&app.directory)?;
    let local = services::establishment_catalogue(&app.directory, uai)?;
    let closed = shut_out(app, user, uai)?;
    let viewer = Viewer::of(user, uai, closed);
    Ok(services::resolve(&region, &local, usable)
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

/// What an establishment's layout shows one person, computed from
/// configuration alone (plugin settings, grants, the portal, the services
/// catalogues) and their account: kept by [`ChromeCache`].
pub struct Chrome {
    /// The establishment's navigation, in order.
    pub nav: Vec<NavLink>,
    /// « Mes services » by category, as the layout's menu takes them.
    pub categories: minijinja::Value,
    /// Whether there is any service to show.
    has_services: bool,
    /// The home page's « Mes services » block, rendered on first use.
    services_block: OnceLock<String>,
    /// The layout's « Mes services » menu, rendered on first use.
    menu: OnceLock<minijinja::Value>,
}

/// One link of an establishment's navigation.
pub struct NavLink {
    pub label: String,
    pub url: String,
    /// Another path prefix under which the link is the current section.
    pub also: Option<String>,
}

impl NavLink {
    /// Whether `path` is in this link's section.
    pub fn is_current(&self, path: &str) -> bool {
        path.starts_with(&self.url) || self.also.as_ref().is_some_and(|p| path.starts_with(p))
    }
}

impl Chrome {
    fn compute(app: &App, user: Option<&User>, uai: &str) -> anyhow::Result<Chrome> {
        let usable = usable_plugins(app, user, uai)?;
        let mut nav: Vec<NavLink> = usable
            .iter()
            .map(|(id, name)| NavLink {
                label: name.clone(),
                url: format!("/e/{uai}/{id}/"),
                also: None,
            })
            .collect();
        // Rubriques, when the establishment has some.
        if crate::portal::Portal::load(&app.directory, uai)?
            .rubriques
            .iter()
            .any(|r| r.visible)
        {
            nav.insert(
                0,
                NavLink {
                    label: "Rubriques".into(),
                    url: format!("/e/{uai}/rubriques/"),
                    also: Some(format!("/e/{uai}/r/")),
                },
            );
        }
        // The directory's own page for teachers.
        if user
            .and_then(|u| u.membership(uai))
            .is_some_and(|m| m.profile == "enseignant")
        {
            nav.push(NavLink {
                label: "Mes élèves".into(),
                url: format!("/e/{uai}/mes-eleves"),
                also: None,
            });
        }
        // A gestionnaire's groups; only those who manage one are shown the link.
        if let Some(user) = user.filter(|u| u.membership(uai).is_some())
            && app.directory.group_managers(uai)?.contains(&user.id)
        {
            nav.push(NavLink {
                label: "Mes groupes".into(),
                url: format!("/e/{uai}/mes-groupes"),
                also: None,
            });
        }
        let visible = visible_among(app, user, uai, &usable)?;
        let categories = by_category(uai, &visible);
        Ok(Chrome {
            nav,
            has_services: !categories.is_empty(),
            categories: minijinja::Value::from_serialize(&categories),
            services_block: OnceLock::new(),
            menu: OnceLock::new(),
        })
    }

    /// The layout's « Mes services » menu (`portal.services.panel`), as HTML.
    pub fn menu(&self, app: &App) -> minijinja::Value {
        self.menu
            .get_or_init(|| {
                let context = minijinja::context! { categories => self.categories.clone() };
                let html = app
                    .theme
                    .render("services_menu.html", context)
                    .unwrap_or_else(|e| {
                        tracing::error!("gabarit services_menu.html : {e:#}");
                        String::new()
                    });
                minijinja::Value::from_safe_string(html)
            })
            .clone()
    }

    /// The HTML of the home page's « Mes services » block (None: no service).
    pub fn services_block(&self, app: &App) -> anyhow::Result<Option<String>> {
        if !self.has_services {
            return Ok(None);
        }
        if let Some(html) = self.services_block.get() {
            return Ok(Some(html.clone()));
        }
        let html = app.theme.render(
            "services_block.html",
            minijinja::context! { categories => self.categories.clone() },
        )?;
        let _ = self.services_block.set(html.clone());
        Ok(Some(html))
    }
}

/// How long a person's [`Chrome`] is kept at most: access windows open and
/// close with time, not with a write.
const CHROME_MAX_AGE: Duration = Duration::from_secs(30);

/// How many are kept at most; past it, all are dropped.
const CHROME_MAX_ENTRIES: usize = 20_000;

/// Each person's [`Chrome`] per establishment, kept while the store's
/// configuration generation and the plugin set stay what they were when it
/// was computed (so a change of rights, settings, portal or catalogue shows
/// on the next page), and at most [`CHROME_MAX_AGE`].
#[derive(Default)]
pub struct ChromeCache {
    entries: Mutex<HashMap<u64, KeptChrome>>,
}

struct KeptChrome {
    version: (u64, u64),
    expires: Instant,
    chrome: Arc<Chrome>,
}

impl ChromeCache {
    /// `user`'s chrome in `uai`.
    pub fn get(&self, app: &App, user: Option<&User>, uai: &str) -> anyhow::Result<Arc<Chrome>> {
        let Some(config) = app.directory.store().config_generation() else {
            return Ok(Arc::new(Chrome::compute(app, user, uai)?));
        };
        // Read before computing: a change meanwhile leaves an entry no one matches.
        let version = (config, app.runtime.plugins_generation());
        let key = audience_key(user, uai);
        let now = Instant::now();
        if let Some(kept) = self.entries.lock().expect("verrou").get(&key)
            && kept.version == version
            && now < kept.expires
        {
            return Ok(kept.chrome.clone());
        }
        let chrome = Arc::new(Chrome::compute(app, user, uai)?);
        let mut entries = self.entries.lock().expect("verrou");
        if entries.len() >= CHROME_MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            KeptChrome {
                version,
                expires: now + CHROME_MAX_AGE,
                chrome: chrome.clone(),
            },
        );
        Ok(chrome)
    }
}

/// Everything of a person that their navigation and services depend on.
fn audience_key(user: Option<&User>, uai: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    uai.hash(&mut hasher);
    if let Some(User {
        id,
        region_admin,
        memberships,
        blocked,
        ..
    }) = user
    {
        (id, region_admin, memberships, blocked).hash(&mut hasher);
    }
    hasher.finish()
}

/// The visitor's chrome in `uai`; on a failure (logged), an empty one.
pub fn chrome_or_empty(app: &App, visitor: &Visitor, uai: &str) -> Arc<Chrome> {
    app.chrome
        .get(app, visitor.user.as_ref(), uai)
        .unwrap_or_else(|e| {
            tracing::error!("navigation de {uai} : {e:#}");
            Arc::new(Chrome {
                nav: Vec::new(),
                categories: minijinja::Value::from(Vec::<minijinja::Value>::new()),
                has_services: false,
                services_block: OnceLock::new(),
                menu: OnceLock::new(),
            })
        })
}
