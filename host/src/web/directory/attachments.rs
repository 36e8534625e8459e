//! Detaching a person from an establishment: a confirmation page saying what
//! they lose there, then the POST.

use super::people::{member, user_page};
use super::*;

/// GET …/u/{id}/rattachements/{other}/supprimer — the confirmation: profile,
/// groups, functions and administration lost in that establishment.
pub async fn confirm_detach(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id, other)): Path<(String, String, String)>,
) -> WebResult {
    let user = member(&app, &t, &id)?;
    if !t.user.administers(&other) {
        return Ok(forbidden(&app, &t.visitor, Some(&t.establishment)));
    }
    let person_url = format!("/admin/e/{uai}/annuaire/u/{id}");
    let Some(membership) = user
        .membership(&other)
        .filter(|_| user.memberships.len() > 1)
    else {
        // Not attached there, or its only establishment: the person's page says so.
        return Ok(Redirect::to(&person_url).into_response());
    };
    let name = app
        .directory
        .establishment(&other)?
        .map(|e| e.name)
        .unwrap_or_else(|| other.clone());
    let mut losses = vec![format!(
        "{} n'est plus rattaché(e) à {name} (profil « {} ») : ses services, ses pages et ses droits là-bas lui sont fermés.",
        user.display_name(),
        profile_label(&membership.profile)
    )];
    let groups = app.directory.groups(&other)?;
    let group_names: Vec<String> = membership
        .groups
        .iter()
        .filter_map(|g| groups.iter().find(|x| &x.id == g).map(|x| x.name.clone()))
        .collect();
    if !group_names.is_empty() {
        losses.push(format!(
            "Ses groupes dans cet établissement ({}) et les droits qu'ils donnent.",
            group_names.join(", ")
        ));
    }
    if !membership.functions.is_empty() || !membership.disciplines.is_empty() {
        let all: Vec<&str> = membership
            .functions
            .iter()
            .chain(&membership.disciplines)
            .map(String::as_str)
            .collect();
        losses.push(format!(
            "Ses fonctions et disciplines là-bas ({}).",
            all.join(", ")
        ));
    }
    if membership.admin {
        losses.push(format!("Son rôle d'administrateur de {name}."));
    }
    let deletion = crate::web::confirm::Deletion {
        title: format!("Détacher {} de {name} ?", user.display_name()),
        losses,
        button: "Détacher",
        action_url: format!("{person_url}/rattachements/{other}/supprimer"),
        cancel_url: person_url.clone(),
    };
    Ok(crate::web::confirm::page(
        &app,
        &t.visitor,
        Some(&t.establishment),
        deletion,
    ))
}

/// POST …/u/{id}/rattachements/{other}/supprimer — detach from an establishment (never the last one).
pub async fn detach(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id, other)): Path<(String, String, String)>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    let old = member(&app, &t, &id)?;
    if !t.user.administers(&other) {
        return Ok(forbidden(&app, &t.visitor, Some(&t.establishment)));
    }
    if old.memberships.len() <= 1 {
        let errors = field_error(
            "attach_uai",
            "Une personne reste rattachée à au moins un établissement.",
        );
        return Ok(user_page(
            &app,
            &t,
            &old,
            None,
            Some(errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    let mut user = old.clone();
    user.memberships.retain(|m| m.uai != other);
    app.directory.save_user(Some(&old), &user)?;
    app.directory
        .audit_in(&t.user, &other, "détachement", &user.login)?;
    let back = if other == uai {
        format!("/admin/e/{uai}/annuaire")
    } else {
        format!("/admin/e/{uai}/annuaire/u/{id}")
    };
    Ok(Redirect::to(&back).into_response())
}
