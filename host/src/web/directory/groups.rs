//! Groups: classes, teaching groups, free groups; their members.

use super::*;

// ---------------------------------------------------------------- groups

fn groups_page(
    app: &App,
    t: &Target,
    errors: serde_json::Map<String, Value>,
    values: Value,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let groups: Vec<Value> = app
        .directory
        .groups(uai)?
        .iter()
        .map(|g| {
            let mut view = groups_view(std::slice::from_ref(g)).remove(0);
            view["members"] = json!(
                app.directory
                    .group_member_ids(&g.id)
                    .map(|m| m.len())
                    .unwrap_or(0)
            );
            view["url"] = json!(format!("/admin/e/{uai}/groupes/{}", g.id));
            view
        })
        .collect();
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
        }),
    ))
}

/// GET /admin/e/{uai}/groupes
pub async fn groups(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
) -> WebResult {
    Ok(groups_page(
        &app,
        &t,
        serde_json::Map::new(),
        json!({ "kind": "libre" }),
        StatusCode::OK,
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

fn group_page(
    app: &App,
    t: &Target,
    group: &Group,
    error: Option<&str>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let members: Vec<Value> = app
        .directory
        .group_members(&group.id)?
        .iter()
        .map(|u| {
            let mut row = user_row(u, uai);
            row["manager"] = json!(group.managers.contains(&u.id));
            row
        })
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/group.html",
        &group.name,
        status,
        json!({
            "establishment": t.establishment_json(),
            "group": groups_view(std::slice::from_ref(group)).remove(0),
            "members": members,
            "action_url": format!("/admin/e/{uai}/groupes/{}", group.id),
            "back_url": format!("/admin/e/{uai}/groupes"),
            "error": error,
        }),
    ))
}

/// GET /admin/e/{uai}/groupes/{id}
pub async fn group(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((_, id)): Path<(String, String)>,
) -> WebResult {
    let group = group_or_404(&app, &t, &id)?;
    Ok(group_page(&app, &t, &group, None, StatusCode::OK)?)
}

/// POST /admin/e/{uai}/groupes/{id} — `action` = `add` (login), `remove` (user id),
/// `manager` / `unmanager` (user id).
pub async fn update_group(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let mut group = group_or_404(&app, &t, &id)?;
    let action = field(&form, "action");
    let person = match action.as_str() {
        "add" => app.directory.user_by_login(&field(&form, "login"))?,
        _ => app.directory.user(&field(&form, "user"))?,
    };
    let Some(old) = person.filter(|u| u.membership(&uai).is_some()) else {
        let message = "Aucune personne de cet établissement ne correspond à cet identifiant.";
        return Ok(group_page(
            &app,
            &t,
            &group,
            Some(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    };
    let mut user = old.clone();
    let membership = user
        .memberships
        .iter_mut()
        .find(|m| m.uai == uai)
        .expect("membre vérifié");
    match action.as_str() {
        "add" if !membership.groups.contains(&group.id) => membership.groups.push(group.id.clone()),
        "remove" => {
            membership.groups.retain(|g| *g != group.id);
            group.managers.retain(|m| *m != user.id);
        }
        "manager" if !group.managers.contains(&user.id) => group.managers.push(user.id.clone()),
        "unmanager" => group.managers.retain(|m| *m != user.id),
        "add" | "manager" => {}
        _ => return Ok((StatusCode::BAD_REQUEST, "action inconnue").into_response()),
    }
    app.directory.save_user(Some(&old), &user)?;
    app.directory.put_group(&group)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        &format!(
            "groupe « {} » : {}",
            group.name,
            match action.as_str() {
                "add" => "ajout d'un membre",
                "remove" => "retrait d'un membre",
                "manager" => "nomination d'un gestionnaire",
                _ => "retrait d'un gestionnaire",
            }
        ),
        &user.login,
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/groupes/{id}")).into_response())
}
