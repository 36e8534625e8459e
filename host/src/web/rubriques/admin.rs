//! Administration of the rubriques tree (`/admin/e/{uai}/rubriques…`).

use super::*;

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
    EstablishmentAdmin(t): EstablishmentAdmin,
) -> WebResult {
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
    t: &Target,
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    uri: Uri,
) -> WebResult {
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

fn rubrique_not_found(app: &App, t: &Target) -> Response {
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
    t: &Target,
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
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

/// GET /admin/e/{uai}/rubriques/{id}/supprimer — the confirmation, saying what will be lost.
pub async fn admin_confirm_delete(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
) -> WebResult {
    let portal = Portal::load(&app.directory, &uai)?;
    let Some(rubrique) = portal.rubrique(&id).cloned() else {
        return Ok(rubrique_not_found(&app, &t));
    };
    let edit_url = format!("/admin/e/{uai}/rubriques/{id}");
    if !portal.children(Some(&id)).is_empty() {
        // Nothing to confirm: the edit page says why it cannot be deleted.
        return Ok(Redirect::to(&edit_url).into_response());
    }
    let names: Vec<String> = rubrique_services(&app, &uai)?
        .into_iter()
        .filter(|(plugin, _)| rubrique.services.contains(plugin))
        .map(|(_, name)| name)
        .collect();
    let mut losses = vec![format!(
        "La rubrique « {} » disparaît du portail et de son menu ; son adresse ne mène plus nulle part.",
        rubrique.title
    )];
    if !names.is_empty() {
        losses.push(format!(
            "Les contenus de ses services ({}) ne seront plus accessibles à personne.",
            names.join(", ")
        ));
    }
    let rights = rubrique
        .grants
        .values()
        .filter(|g| !(g.profiles.is_empty() && g.groups.is_empty() && g.users.is_empty()))
        .count();
    if rights > 0 {
        losses.push(format!(
            "Les droits donnés dans cette rubrique ({rights} service(s)) sont effacés."
        ));
    }
    if portal.subscriptions.iter().any(|s| s.rubrique == id) {
        losses.push(
            "Ses articles ne paraissent plus dans le bloc « Actualités » de l'accueil.".into(),
        );
    }
    let deletion = crate::web::confirm::Deletion {
        title: format!("Supprimer la rubrique « {} » ?", rubrique.title),
        losses,
        button: "Supprimer la rubrique",
        action_url: format!("{edit_url}/supprimer"),
        cancel_url: edit_url.clone(),
    };
    Ok(crate::web::confirm::page(
        &app,
        &t.visitor,
        Some(&t.establishment),
        deletion,
    ))
}

/// POST /admin/e/{uai}/rubriques/{id}/supprimer — only a rubrique without sub-rubriques.
pub async fn admin_delete(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
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
