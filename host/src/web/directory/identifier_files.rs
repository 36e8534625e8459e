//! Identifiers files: generated, downloaded, deleted.

use super::*;

// ---------------------------------------------------------------- identifiers files

fn identifiers_page(
    app: &App,
    t: &Target,
    error: Option<&str>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let files: Vec<Value> = app
        .directory
        .files(uai)?
        .into_iter()
        .map(|(name, size)| {
            json!({ "name": name, "size": size,
                    "download_url": format!("/admin/e/{uai}/identifiants/{name}"),
                    "delete_url": format!("/admin/e/{uai}/identifiants/{name}/supprimer") })
        })
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/identifiers.html",
        "Fichiers des identifiants",
        status,
        json!({
            "establishment": t.establishment_json(),
            "files": files,
            "action_url": format!("/admin/e/{uai}/identifiants"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
            "error": error,
        }),
    ))
}

/// GET /admin/e/{uai}/identifiants
pub async fn identifiers(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
) -> WebResult {
    Ok(identifiers_page(&app, &t, None, StatusCode::OK)?)
}

/// POST /admin/e/{uai}/identifiants — generates a file of the establishment's
/// accounts, optionally only those created since `since` (date de rentrée).
pub async fn generate_identifiers(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let since_text = field(&form, "since");
    let regenerate = field(&form, "regenerate") == "oui";
    let since = if since_text.is_empty() {
        None
    } else {
        match parse_date(&t.establishment, &since_text) {
            Some(ts) => Some(ts),
            None => {
                return Ok(identifiers_page(
                    &app,
                    &t,
                    Some("Date de rentrée invalide (jj/mm/aaaa)."),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )?);
            }
        }
    };
    let groups = app.directory.groups(&uai)?;
    let mut rows = Vec::new();
    let people = search::everyone_in(app.directory.store(), &uai)?;
    for person in people {
        let Some(user) = app.directory.user(&person.id)? else {
            continue;
        };
        let Some(membership) = user.membership(&uai) else {
            continue;
        };
        if since.is_some_and(|s| user.created_at < s) {
            continue;
        }
        let class = membership
            .groups
            .iter()
            .filter_map(|g| groups.iter().find(|x| &x.id == g && x.kind == "classe"))
            .map(|g| g.name.clone())
            .next()
            .unwrap_or_default();
        let secret = match (&user.pending_secret, user.last_login) {
            (Some(secret), None) => secret.clone(),
            // A never-used account whose initial password is no longer known
            // gets a new one only when the administrator asks for it: a
            // password handed out another way must not be silently replaced.
            (None, None) if regenerate => {
                let password = password_policy::generate();
                let mut renewed = user.clone();
                renewed.password_hash = app.passwords.hash(password.clone()).await?;
                renewed.pending_secret = Some(password.clone());
                app.directory.save_user(Some(&user), &renewed)?;
                password
            }
            (_, None) => "(à régénérer)".to_string(),
            (_, Some(_)) => "(compte activé)".to_string(),
        };
        rows.push(IdentifierRow {
            profile: profile_label(&membership.profile).to_string(),
            last_name: user.last_name.clone(),
            first_name: user.first_name.clone(),
            login: user.login.clone(),
            class,
            secret,
        });
    }
    rows.sort_by(|a, b| {
        (&a.profile, &a.class, naming::search_key(&a.last_name)).cmp(&(
            &b.profile,
            &b.class,
            naming::search_key(&b.last_name),
        ))
    });
    let mut name = identifiers::file_name(&uai, now());
    // Two files generated within the same second keep distinct names.
    let mut n = 2;
    while app.directory.file(&uai, &name)?.is_some() {
        name = identifiers::file_name(&uai, now()).replace(".csv", &format!("-{n}.csv"));
        n += 1;
    }
    app.directory
        .put_file(&uai, &name, &identifiers::to_csv(&rows))?;
    app.directory
        .audit_in(&t.user, &uai, "fichier des identifiants", &name)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/identifiants")).into_response())
}

/// GET /admin/e/{uai}/identifiants/{name}
pub async fn download_identifiers(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, name)): Path<(String, String)>,
) -> WebResult {
    let Some(bytes) = app.directory.file(&uai, &name)? else {
        return Ok(error_page(
            &app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::NOT_FOUND,
            "Fichier introuvable",
            "Ce fichier n'existe plus.",
        ));
    };
    let safe_name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// POST /admin/e/{uai}/identifiants/{name}/supprimer
pub async fn delete_identifiers(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, name)): Path<(String, String)>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    app.directory.delete_file(&uai, &name)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        "suppression d'un fichier des identifiants",
        &name,
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/identifiants")).into_response())
}
