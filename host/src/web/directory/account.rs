//! The signed-in person's own pages (`/compte`): profile and password.

use super::*;

// ---------------------------------------------------------------- self-service

/// GET /compte — the signed-in person's own profile.
pub async fn account(State(app): State<Arc<App>>, visitor: Visitor, uri: Uri) -> WebResult {
    let Some(user) = visitor.user.clone() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let establishments = app.directory.establishments()?;
    let memberships: Vec<Value> = user
        .memberships
        .iter()
        .map(|m| {
            let name = establishments.iter().find(|e| e.uai == m.uai).map(|e| e.name.clone()).unwrap_or_default();
            let groups = app.directory.groups(&m.uai).unwrap_or_default();
            let names: Vec<String> = m.groups.iter().filter_map(|g| groups.iter().find(|x| &x.id == g).map(|x| x.name.clone())).collect();
            let storage = super::storage::storage_view(&app, &m.uai, &user).ok();
            // « Mes groupes » is offered where the person manages at least one group.
            let manages = groups.iter().any(|g| g.managers.contains(&user.id));
            let my_groups_url = manages.then(|| format!("/e/{}/mes-groupes", m.uai));
            // « Vie scolaire » for holders of the right (administrators reach it from the administration).
            let structure_url = (!user.administers(&m.uai)
                && crate::structure::managers::may_manage(&app.directory, &user, &m.uai).unwrap_or(false))
            .then(|| format!("/admin/e/{}/structure", m.uai));
            json!({ "establishment": name, "url": format!("/e/{}/", m.uai), "profile": profile_label(&m.profile), "groups": names, "functions": m.functions, "storage": storage, "my_groups_url": my_groups_url, "structure_url": structure_url })
        })
        .collect();
    // A parent sees their own children, and only them.
    let children: Vec<Value> = user
        .children
        .iter()
        .filter_map(|id| app.directory.user(id).ok().flatten())
        .map(|c| json!({ "name": c.display_name(), "login": c.login }))
        .collect();
    Ok(render(
        &app,
        &visitor,
        None,
        "account.html",
        "Mon compte",
        StatusCode::OK,
        json!({
            "person": { "login": user.login, "civility": user.civility, "first_name": user.first_name,
                        "last_name": user.last_name, "email": user.email, "last_login": user.last_login },
            "memberships": memberships,
            "children": children,
            "password_url": "/compte/mot-de-passe",
            "notice": (query_value(&uri, "ok") == "mot-de-passe").then_some("Votre mot de passe a été changé."),
        }),
    ))
}

fn password_page(
    app: &App,
    visitor: &Visitor,
    errors: serde_json::Map<String, Value>,
    status: StatusCode,
) -> Response {
    render(
        app,
        visitor,
        None,
        "password.html",
        "Changer mon mot de passe",
        status,
        json!({ "errors": errors, "rules": password_policy::describe(), "action_url": "/compte/mot-de-passe", "back_url": "/compte" }),
    )
}

/// GET /compte/mot-de-passe
pub async fn password_form(State(app): State<Arc<App>>, visitor: Visitor) -> WebResult {
    if visitor.user.is_none() {
        return Ok(forbidden(&app, &visitor, None));
    }
    Ok(password_page(
        &app,
        &visitor,
        serde_json::Map::new(),
        StatusCode::OK,
    ))
}

/// POST /compte/mot-de-passe — current password (rate-limited failures), new password twice, CNIL rules.
pub async fn change_password(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let Some(old) = visitor.user.clone() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let (current, new, confirm) = (
        field(&form, "current"),
        field(&form, "new"),
        field(&form, "confirm"),
    );
    let mut errors = serde_json::Map::new();
    let limiter_key = format!("compte:{}", old.login);
    if let Some(minutes) = app.login_failures.locked_minutes(&limiter_key) {
        errors.insert(
            "current".into(),
            json!(format!(
                "Trop d'essais infructueux. Réessayez dans {minutes} minute(s)."
            )),
        );
        return Ok(password_page(
            &app,
            &visitor,
            errors,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    if !app
        .passwords
        .verify(current, Some(old.password_hash.clone()))
        .await
    {
        app.login_failures.record_failure(&limiter_key);
        errors.insert("current".into(), json!("Mot de passe actuel incorrect."));
    }
    if let Err(problems) =
        password_policy::check(&new, &[&old.login, &old.first_name, &old.last_name])
    {
        errors.insert("new".into(), json!(problems.join(" ")));
    }
    if new != confirm {
        errors.insert(
            "confirm".into(),
            json!("Les deux saisies du nouveau mot de passe diffèrent."),
        );
    }
    if !errors.is_empty() {
        return Ok(password_page(
            &app,
            &visitor,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    app.login_failures.clear(&limiter_key);
    let mut user = old.clone();
    user.password_hash = app.passwords.hash(new).await?;
    user.pending_secret = None;
    // Every other session of the account ends; this one goes on.
    let keep = visitor.session.as_ref().map(|(token, _)| token.as_str());
    app.directory.save_user_keeping(Some(&old), &user, keep)?;
    Ok(Redirect::to("/compte?ok=mot-de-passe").into_response())
}
