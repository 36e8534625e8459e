//! Delegations of the directory's own rights, and a teacher's pupils.

use super::*;

// ---------------------------------------------------------------- delegations

/// Rights of the directory itself that an establishment delegates.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Delegations {
    /// Teachers may regenerate the passwords of the pupils of their classes.
    pub teachers_reset_pupil_passwords: bool,
}

fn delegations_of(app: &App, uai: &str) -> anyhow::Result<Delegations> {
    Ok(app
        .directory
        .region_setting(&format!("delegations/{uai}"))?
        .unwrap_or_default())
}

/// GET /admin/e/{uai}/delegations
pub async fn delegations(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    uri: Uri,
) -> WebResult {
    let current = delegations_of(&app, &uai)?;
    Ok(render(
        &app,
        &t.visitor,
        Some(&t.establishment),
        "admin/delegations.html",
        "Délégations de l'annuaire",
        StatusCode::OK,
        json!({
            "establishment": t.establishment_json(),
            "delegations": current,
            "action_url": format!("/admin/e/{uai}/delegations"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
            "notice": (query_value(&uri, "ok") == "1").then_some("Délégations enregistrées."),
        }),
    ))
}

/// POST /admin/e/{uai}/delegations
pub async fn save_delegations(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let delegations = Delegations {
        teachers_reset_pupil_passwords: field(&form, "teachers_reset_pupil_passwords") == "oui",
    };
    app.directory
        .put_region_setting(&format!("delegations/{uai}"), &delegations)?;
    app.directory
        .audit_in(&t.user, &uai, "délégations de l'annuaire", &uai)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/delegations?ok=1")).into_response())
}

/// The teacher of a "my pupils" URL and their pupils (pupils of the classes they teach here).
fn my_pupils_of(
    app: &App,
    visitor: &Visitor,
    uai: &str,
) -> anyhow::Result<Option<(User, Vec<User>)>> {
    let Some(teacher) = visitor.user.clone() else {
        return Ok(None);
    };
    let Some(membership) = teacher
        .membership(uai)
        .filter(|m| m.profile == "enseignant")
    else {
        return Ok(None);
    };
    let classes: Vec<Group> = app
        .directory
        .groups(uai)?
        .into_iter()
        .filter(|g| g.kind == "classe" && membership.groups.contains(&g.id))
        .collect();
    let mut pupils = Vec::new();
    for class in &classes {
        for pupil in app.directory.group_members(&class.id)? {
            if pupil.membership(uai).is_some_and(|m| m.profile == "eleve")
                && !pupils.iter().any(|p: &User| p.id == pupil.id)
            {
                pupils.push(pupil);
            }
        }
    }
    Ok(Some((teacher, pupils)))
}

fn my_pupils_page(
    app: &App,
    visitor: &Visitor,
    uai: &str,
    pupils: &[User],
    new_password: Option<ShownSecret>,
) -> anyhow::Result<Response> {
    let establishment = app.directory.establishment(uai)?;
    let allowed = delegations_of(app, uai)?.teachers_reset_pupil_passwords;
    let groups = app.directory.groups(uai)?;
    let rows: Vec<Value> = pupils
        .iter()
        .map(|p| {
            let class = p
                .membership(uai)
                .and_then(|m| m.groups.iter().find_map(|g| groups.iter().find(|x| &x.id == g && x.kind == "classe")))
                .map(|g| g.name.clone())
                .unwrap_or_default();
            json!({ "name": p.display_name(), "login": p.login, "class": class, "state": state_label(p),
                    "reset_url": format!("/e/{uai}/mes-eleves/{}/mot-de-passe", p.id) })
        })
        .collect();
    Ok(render(
        app,
        visitor,
        establishment.as_ref(),
        "my_pupils.html",
        "Mes élèves",
        StatusCode::OK,
        json!({
            "pupils": rows,
            "can_reset": allowed,
            "new_password": new_password.map(|s| json!({ "login": s.login, "password": s.password })),
        }),
    ))
}

/// GET /e/{uai}/mes-eleves — a teacher's pupils (no contact details).
pub async fn my_pupils(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path(uai): Path<String>,
) -> WebResult {
    let Some((_, pupils)) = my_pupils_of(&app, &visitor, &uai)? else {
        return Ok(forbidden(&app, &visitor, None));
    };
    match shown_once::take_for(&app, &visitor) {
        Some(secret) => Ok(shown_once::not_stored(my_pupils_page(
            &app,
            &visitor,
            &uai,
            &pupils,
            Some(secret),
        )?)),
        None => Ok(my_pupils_page(&app, &visitor, &uai, &pupils, None)?),
    }
}

/// POST /e/{uai}/mes-eleves/{id}/mot-de-passe — only when the establishment delegates it, only for the teacher's pupils.
pub async fn reset_pupil_password(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let _ = form;
    let Some((teacher, pupils)) = my_pupils_of(&app, &visitor, &uai)? else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let Some(old) = pupils.iter().find(|p| p.id == id).cloned() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    if !delegations_of(&app, &uai)?.teachers_reset_pupil_passwords {
        return Ok(forbidden(&app, &visitor, None));
    }
    let password = password_policy::generate();
    let mut pupil = old.clone();
    pupil.password_hash = app.passwords.hash(password.clone()).await?;
    pupil.pending_secret = Some(password.clone());
    app.directory.save_user(Some(&old), &pupil)?;
    app.directory.audit_in(
        &teacher,
        &uai,
        "régénération du mot de passe d'un élève (délégation)",
        &pupil.login,
    )?;
    // Post/redirect/get: the list shows the password once, a reload nothing more.
    let page = format!("/e/{uai}/mes-eleves");
    let secret = ShownSecret {
        login: pupil.login.clone(),
        password,
        initial: false,
    };
    shown_once::keep_for(&app, &visitor, &page, secret);
    Ok(Redirect::to(&page).into_response())
}
