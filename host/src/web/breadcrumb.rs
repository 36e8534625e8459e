//! The breadcrumb of the administration pages, generated from the path: every
//! administration page shows « Administration › Établissement › Annuaire › … »
//! the same way (`admin/layout.html`), and no page writes its own.
//!
//! Each step of the path that is a page becomes a link named after what it shows
//! (a person, a group, a rubrique, a service); the last step is the page itself,
//! named by its title, so that pages whose name needs a plugin (an object's
//! rights) or a question (a confirmation) need nothing here.

use serde::Serialize;

use crate::App;
use crate::portal::Portal;
use crate::services;

/// One step of the breadcrumb.
#[derive(Debug, PartialEq, Serialize)]
pub struct Crumb {
    /// What it names.
    pub label: String,
    /// Its page; empty for a step that is no page (the establishment) and for the current page.
    pub url: String,
}

/// The name of the page at `segments` (below `/admin/`), inside the establishment
/// `uai` when there is one; `None` for a step that is no page of its own.
fn step_name(app: &App, uai: Option<&str>, segments: &[&str]) -> Option<String> {
    let named = |s: &str| Some(s.to_string());
    match (uai, segments) {
        (None, ["journal"]) => named("Journal d'administration"),
        (None, ["sauvegardes"]) => named("Sauvegardes"),
        (None, ["quotas"]) => named("Quotas"),
        (None, ["services"]) => named("Services de la région"),
        (None, ["services", code]) => services::region_catalogue(&app.directory)
            .ok()?
            .connectors
            .into_iter()
            .find(|c| c.code == *code)
            .map(|c| c.label),
        (Some(_), ["annuaire"]) => named("Annuaire"),
        (Some(_), ["annuaire", "nouveau"]) => named("Créer un utilisateur"),
        (Some(_), ["annuaire", "u", id]) => app
            .directory
            .user(id)
            .ok()
            .flatten()
            .map(|u| u.display_name()),
        (Some(_), ["groupes"]) => named("Groupes"),
        (Some(uai), ["groupes", id]) => app.directory.group(uai, id).ok().flatten().map(|g| g.name),
        (Some(_), ["rubriques"]) => named("Rubriques"),
        (Some(uai), ["rubriques", id]) => Portal::load(&app.directory, uai)
            .ok()?
            .rubrique(id)
            .map(|r| r.title.clone()),
        (Some(_), ["plugins", plugin]) | (Some(_), ["rubriques", _, "droits", plugin]) => app
            .runtime
            .plugins()
            .iter()
            .find(|p| p.manifest.id == *plugin)
            .map(|p| p.manifest.name.clone()),
        (Some(_), ["plugins", _, "droits"]) => named("Droits d'accès"),
        (Some(_), ["services"]) => named("Les services"),
        (Some(uai), ["services", code]) => services::establishment_catalogue(&app.directory, uai)
            .ok()?
            .connectors
            .into_iter()
            .find(|c| c.code == *code)
            .map(|c| c.label),
        (Some(_), ["accueil"]) => named("Page d'accueil"),
        (Some(_), ["theme"]) => named("Apparence"),
        (Some(_), ["espace"]) => named("Espace des personnes"),
        (Some(_), ["acces"]) => named("Blocage des accès"),
        (Some(_), ["identifiants"]) => named("Fichiers des identifiants"),
        (Some(_), ["delegations"]) => named("Délégations"),
        (Some(_), ["structure"]) => named("Vie scolaire"),
        (Some(_), ["structure", section]) => {
            super::structure::section_title(section).map(str::to_owned)
        }
        (Some(uai), ["structure", section, id]) => {
            super::structure::item_name(app, uai, section, id)
        }
        _ => None,
    }
}

/// Sections that live under the directory's page although their path does not.
fn under_directory(first: &str) -> bool {
    matches!(first, "groupes" | "acces" | "identifiants" | "delegations")
}

/// The breadcrumb of an administration page at `path` titled `title`; `None`
/// outside `/admin/`. Someone who administers nothing reaches only the pages a
/// right opens to them (« Vie scolaire » for its managers): their trail starts
/// at « Mon compte », where those pages are listed, not at a refusal.
pub fn admin_trail(app: &App, path: &str, title: &str, administers: bool) -> Option<Vec<Crumb>> {
    let rest = path.strip_prefix("/admin")?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let mut trail = vec![match administers {
        true => Crumb {
            label: "Administration".into(),
            url: "/admin/".into(),
        },
        false => Crumb {
            label: "Mon compte".into(),
            url: "/compte".into(),
        },
    }];
    let (uai, base, below): (Option<&str>, String, &[&str]) = match segments.as_slice() {
        ["e", uai, below @ ..] => {
            let name = app
                .directory
                .establishment(uai)
                .ok()
                .flatten()
                .map_or_else(|| uai.to_string(), |e| e.name);
            trail.push(Crumb {
                label: name,
                url: String::new(),
            });
            (Some(*uai), format!("/admin/e/{uai}"), below)
        }
        below => (None, "/admin".to_string(), below),
    };
    if uai.is_some() && below.first().is_some_and(|s| under_directory(s)) {
        trail.push(Crumb {
            label: "Annuaire".into(),
            url: format!("{base}/annuaire"),
        });
    }
    for end in 1..below.len() {
        if let Some(label) = step_name(app, uai, &below[..end]) {
            trail.push(Crumb {
                label,
                url: format!("{base}/{}", below[..end].join("/")),
            });
        }
    }
    // The current page, named by its title and not linked.
    match trail.last_mut() {
        Some(last) if below.is_empty() && uai.is_none() => last.url.clear(),
        _ => trail.push(Crumb {
            label: title.to_string(),
            url: String::new(),
        }),
    }
    Some(trail)
}
