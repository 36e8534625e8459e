//! Groups: classes, teaching groups, free groups; their members.

use super::membership::{Editor, apply_membership, membership_page};
use super::*;
use crate::group_deletion;

// ---------------------------------------------------------------- groups

fn groups_page(
    app: &App,
    t: &Target,
    errors: serde_json::Map<String, Value>,
    values: Value,
    status: StatusCode,
    deleted: bool,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let groups = group_rows(
        app,
        &app.directory.groups(uai)?,
        &format!("/admin/e/{uai}/groupes"),
    );
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/groups.html",
        "Groupes",
        status,
        json!({
            "establishment": t.establishment_json(),
            "groups": groups,
            "kinds": GROUP_KINDS.iter().map(|(k, l)| json!({ "code": k, "label": l })).collect::<Vec<_>>(),
            "action_url": format!("/admin/e/{uai}/groupes"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
            "errors": errors,
            "values": values,
            "deleted": deleted,
        }),
    ))
}

/// GET /admin/e/{uai}/groupes
pub async fn groups(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    uri: Uri,
) -> WebResult {
    let deleted = !query_value(&uri, "supprime").is_empty();
    Ok(groups_page(
        &app,
        &t,
        serde_json::Map::new(),
        json!({ "kind": "libre" }),
        StatusCode::OK,
        deleted,
    )?)
}

/// POST /admin/e/{uai}/groupes — create a group.
pub async fn create_group(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let (name, kind, level) = (
        field(&form, "name"),
        field(&form, "kind"),
        field(&form, "level"),
    );
    let mut errors = serde_json::Map::new();
    if name.is_empty() {
        errors.insert("name".into(), json!("Le nom du groupe est obligatoire."));
    } else if name.chars().count() > 80 {
        errors.insert(
            "name".into(),
            json!("Le nom ne doit pas dépasser 80 caractères."),
        );
    } else if app
        .directory
        .groups(&uai)?
        .iter()
        .any(|g| naming::search_key(&g.name) == naming::search_key(&name))
    {
        errors.insert(
            "name".into(),
            json!(format!("Un groupe « {name} » existe déjà.")),
        );
    }
    if !GROUP_KINDS.iter().any(|(k, _)| *k == kind) {
        errors.insert("kind".into(), json!("Choisissez le type de groupe."));
    }
    if !errors.is_empty() {
        let values = json!({ "name": name, "kind": kind, "level": level });
        return Ok(groups_page(
            &app,
            &t,
            errors,
            values,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        )?);
    }
    let group = Group {
        id: app.directory.new_id("g")?,
        uai: uai.clone(),
        kind,
        name: name.clone(),
        level,
        managers: Vec::new(),
    };
    app.directory.put_group(&group)?;
    app.directory
        .audit_in(&t.user, &uai, "création d'un groupe", &name)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/groupes/{}", group.id)).into_response())
}

fn group_or_404(app: &App, t: &Target, id: &str) -> Result<Group, Response> {
    match app.directory.group(&t.establishment.uai, id) {
        Ok(Some(g)) => Ok(g),
        Ok(None) => Err(error_page(
            app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::NOT_FOUND,
            "Groupe introuvable",
            "Ce groupe n'existe pas dans cet établissement.",
        )),
        Err(e) => Err(crate::web::pages::AppError::from(e).into_response()),
    }
}

/// GET /admin/e/{uai}/groupes/{id} — members, gestionnaires, and the search to add people.
pub async fn group(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    uri: Uri,
) -> WebResult {
    let group = group_or_404(&app, &t, &id)?;
    let url = format!("/admin/e/{uai}/groupes/{id}");
    Ok(membership_page(
        &app,
        &t.visitor,
        &t.establishment,
        &group,
        Editor::Administrator,
        &url,
        &uri,
        None,
        StatusCode::OK,
    )?)
}

/// POST /admin/e/{uai}/groupes/{id} — `action` = `add` (login), `add_many` / `remove_many`
/// (`users`: several user ids), `remove` / `manager` / `unmanager` (`user`: one user id).
pub async fn update_group(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    uri: Uri,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let mut group = group_or_404(&app, &t, &id)?;
    let url = format!("/admin/e/{uai}/groupes/{id}");
    match apply_membership(&app, &t.user, &mut group, Editor::Administrator, &form)? {
        Ok(_) => Ok(Redirect::to(&url).into_response()),
        Err(refusal) => Ok(membership_page(
            &app,
            &t.visitor,
            &t.establishment,
            &group,
            Editor::Administrator,
            &url,
            &uri,
            Some(refusal),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?),
    }
}

/// Groups as their lists show them: name, kind, level, member count, and the
/// page of each below `base`.
pub(super) fn group_rows(app: &App, groups: &[Group], base: &str) -> Vec<Value> {
    groups
        .iter()
        .zip(groups_view(groups))
        .map(|(g, mut view)| {
            view["members"] = json!(
                app.directory
                    .group_member_ids(&g.id)
                    .map(|m| m.len())
                    .unwrap_or(0)
            );
            view["url"] = json!(format!("{base}/{}", g.id));
            view
        })
        .collect()
}

// ---------------------------------------------------------------- deletion

/// The sentences of what deleting a group takes away.
fn group_losses(app: &App, group: &Group, footprint: &group_deletion::Footprint) -> Vec<String> {
    let mut losses = vec![format!(
        "Le groupe « {} » disparaît de l'établissement{}.",
        group.name,
        match footprint.members.len() {
            0 => " (il n'a aucun membre)".to_string(),
            1 => " ; son membre n'en fait plus partie".to_string(),
            n => format!(" ; ses {n} membres n'en font plus partie"),
        }
    )];
    if !footprint.managers.is_empty() {
        losses.push(format!(
            "Ses gestionnaires ({}) ne le retrouvent plus dans « Mes groupes ».",
            footprint.managers.join(", ")
        ));
    }
    if !footprint.plugins.is_empty() {
        let plugins: Vec<String> = footprint
            .plugins
            .iter()
            .map(|id| {
                app.runtime
                    .plugins()
                    .iter()
                    .find(|p| &p.manifest.id == id)
                    .map_or_else(|| id.clone(), |p| p.manifest.name.clone())
            })
            .collect();
        losses.push(format!(
            "Les droits donnés au groupe sont effacés ({}) : ses membres perdent les rôles qu'ils tenaient de lui.",
            plugins.join(", ")
        ));
    }
    if !footprint.rubriques.is_empty() {
        losses.push(format!(
            "Les rubriques qui le nomment ({}) ne l'admettent plus.",
            footprint.rubriques.join(", ")
        ));
    }
    if !footprint.services.is_empty() {
        losses.push(format!(
            "Les services du catalogue ouverts au groupe ({}) ne lui sont plus ouverts.",
            footprint.services.join(", ")
        ));
    }
    losses
}

/// GET /admin/e/{uai}/groupes/{id}/supprimer — the confirmation: members,
/// gestionnaires, rights and accesses that name the group.
pub async fn confirm_delete_group(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
) -> WebResult {
    let group = group_or_404(&app, &t, &id)?;
    let footprint = group_deletion::footprint(&app.directory, &group)?;
    let group_url = format!("/admin/e/{uai}/groupes/{id}");
    let deletion = crate::web::confirm::Deletion {
        title: format!("Supprimer le groupe « {} » ?", group.name),
        losses: group_losses(&app, &group, &footprint),
        button: "Supprimer le groupe",
        action_url: format!("{group_url}/supprimer"),
        cancel_url: group_url,
    };
    Ok(crate::web::confirm::page(
        &app,
        &t.visitor,
        Some(&t.establishment),
        deletion,
    ))
}

/// POST /admin/e/{uai}/groupes/{id}/supprimer — delete the group and every mention of it.
pub async fn delete_group(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    let group = group_or_404(&app, &t, &id)?;
    let footprint = group_deletion::delete(&app.directory, &group)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        "suppression d'un groupe",
        &format!("{} ({} membre(s))", group.name, footprint.members.len()),
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/groupes?supprime=1")).into_response())
}
