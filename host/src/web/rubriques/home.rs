//! Administration of the home page (`/admin/e/{uai}/accueil`): its blocks, in order.

use super::*;

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
    EstablishmentAdmin(t): EstablishmentAdmin,
) -> WebResult {
    Ok(admin_home_page(&app, &t, None, StatusCode::OK)?)
}

fn admin_home_page(
    app: &App,
    t: &Target,
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
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
