//! « Mes groupes » (`/e/{uai}/mes-groupes`): the groups a person manages
//! (gestionnaire) and their membership. A gestionnaire adds and removes members
//! and does nothing else; every route checks, server-side, that the caller is a
//! gestionnaire of that very group of that establishment.

use super::membership::{Editor, apply_membership, membership_page};
use super::*;

/// The caller and the groups of `uai` they manage; None when signed out or not of `uai`.
fn managed_groups(
    app: &App,
    visitor: &Visitor,
    uai: &str,
) -> anyhow::Result<Option<(User, Vec<Group>)>> {
    let Some(user) = visitor.user.clone().filter(|u| u.membership(uai).is_some()) else {
        return Ok(None);
    };
    let groups = app
        .directory
        .groups(uai)?
        .into_iter()
        .filter(|g| g.managers.contains(&user.id))
        .collect();
    Ok(Some((user, groups)))
}

/// The caller, the establishment and the group `id` when the caller manages it; else the refusal.
fn managed_group(
    app: &App,
    visitor: &Visitor,
    uai: &str,
    id: &str,
) -> anyhow::Result<Result<(User, Establishment, Group), Response>> {
    let establishment = app.directory.establishment(uai)?;
    let found = managed_groups(app, visitor, uai)?
        .and_then(|(user, groups)| Some((user, groups.into_iter().find(|g| g.id == id)?)));
    match (establishment, found) {
        (Some(establishment), Some((user, group))) => Ok(Ok((user, establishment, group))),
        (establishment, _) => Ok(Err(forbidden(app, visitor, establishment.as_ref()))),
    }
}

/// GET /e/{uai}/mes-groupes — the groups the caller manages here.
pub async fn my_groups(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path(uai): Path<String>,
) -> WebResult {
    let establishment = app.directory.establishment(&uai)?;
    let Some((_, groups)) = managed_groups(&app, &visitor, &uai)? else {
        return Ok(forbidden(&app, &visitor, establishment.as_ref()));
    };
    let rows = super::groups::group_rows(&app, &groups, &format!("/e/{uai}/mes-groupes"));
    Ok(render(
        &app,
        &visitor,
        establishment.as_ref(),
        "my_groups.html",
        "Mes groupes",
        StatusCode::OK,
        json!({ "groups": rows }),
    ))
}

/// GET /e/{uai}/mes-groupes/{id} — a managed group's members and the search to add people.
pub async fn my_group(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path((uai, id)): Path<(String, String)>,
    uri: Uri,
) -> WebResult {
    let (_, establishment, group) = match managed_group(&app, &visitor, &uai, &id)? {
        Ok(found) => found,
        Err(refusal) => return Ok(refusal),
    };
    let url = format!("/e/{uai}/mes-groupes/{id}");
    Ok(membership_page(
        &app,
        &visitor,
        &establishment,
        &group,
        Editor::Manager,
        &url,
        &uri,
        None,
        StatusCode::OK,
    )?)
}

/// POST /e/{uai}/mes-groupes/{id} — add or remove members (`add_many`, `remove_many`, `add`, `remove`).
pub async fn update_my_group(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path((uai, id)): Path<(String, String)>,
    uri: Uri,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let (user, establishment, mut group) = match managed_group(&app, &visitor, &uai, &id)? {
        Ok(found) => found,
        Err(refusal) => return Ok(refusal),
    };
    let url = format!("/e/{uai}/mes-groupes/{id}");
    match apply_membership(&app, &user, &mut group, Editor::Manager, &form)? {
        Ok(_) => Ok(Redirect::to(&url).into_response()),
        Err(refusal) => Ok(membership_page(
            &app,
            &visitor,
            &establishment,
            &group,
            Editor::Manager,
            &url,
            &uri,
            Some(refusal),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?),
    }
}
