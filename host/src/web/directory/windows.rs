//! Access windows: blocking periods per profile.

use super::*;

// ---------------------------------------------------------------- access windows

/// `Élève, du 1er juillet 2026 au 1er septembre 2026`, for the audit log.
fn describe_window(establishment: &Establishment, window: &AccessWindow) -> String {
    format!(
        "{}, du {} au {}",
        profile_label(&window.profile),
        date_fr(establishment, window.blocked_from),
        date_fr(establishment, window.opens_at)
    )
}

fn windows_page(
    app: &App,
    t: &Target,
    errors: serde_json::Map<String, Value>,
    values: Value,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let at = now();
    let windows: Vec<Value> = app
        .directory
        .access_windows(uai)?
        .iter()
        .map(|w| {
            json!({ "id": w.id, "profile": profile_label(&w.profile), "from": date_fr(&t.establishment, w.blocked_from),
                    "until": date_fr(&t.establishment, w.opens_at), "active": w.blocked_from <= at && at < w.opens_at })
        })
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/windows.html",
        "Blocage des accès ENT",
        status,
        json!({
            "establishment": t.establishment_json(),
            "windows": windows,
            "profiles": profiles_view(),
            "action_url": format!("/admin/e/{uai}/acces"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
            "errors": errors,
            "values": values,
        }),
    ))
}

/// GET /admin/e/{uai}/acces
pub async fn windows(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
) -> WebResult {
    Ok(windows_page(
        &app,
        &t,
        serde_json::Map::new(),
        json!({}),
        StatusCode::OK,
    )?)
}

/// POST /admin/e/{uai}/acces — add a blocking period (`profile`, `from`, `until`) or remove one (`remove`).
pub async fn save_windows(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let mut windows = app.directory.access_windows(&uai)?;
    let remove = field(&form, "remove");
    let window_action;
    if !remove.is_empty() {
        let removed = windows
            .iter()
            .find(|w| w.id == remove)
            .map(|w| describe_window(&t.establishment, w))
            .unwrap_or_default();
        windows.retain(|w| w.id != remove);
        window_action = format!("suppression d'une période de blocage ({removed})");
    } else {
        let (profile, from, until) = (
            field(&form, "profile"),
            field(&form, "from"),
            field(&form, "until"),
        );
        let mut errors = serde_json::Map::new();
        if !PROFILES.iter().any(|(c, _)| *c == profile) {
            errors.insert("profile".into(), json!("Choisissez un profil."));
        }
        let from_ts = parse_date(&t.establishment, &from);
        let until_ts = parse_date(&t.establishment, &until);
        if from_ts.is_none() {
            errors.insert("from".into(), json!("Date de début invalide (jj/mm/aaaa)."));
        }
        if until_ts.is_none() {
            errors.insert(
                "until".into(),
                json!("Date d'ouverture invalide (jj/mm/aaaa)."),
            );
        }
        if let (Some(a), Some(b)) = (from_ts, until_ts)
            && b <= a
        {
            errors.insert(
                "until".into(),
                json!("La date d'ouverture doit suivre la date de début du blocage."),
            );
        }
        if !errors.is_empty() {
            let values = json!({ "profile": profile, "from": from, "until": until });
            return Ok(windows_page(
                &app,
                &t,
                errors,
                values,
                StatusCode::UNPROCESSABLE_ENTITY,
            )?);
        }
        let window = AccessWindow {
            id: app.directory.new_id("w")?,
            profile,
            blocked_from: from_ts.expect("vérifiée"),
            opens_at: until_ts.expect("vérifiée"),
        };
        window_action = format!(
            "ajout d'une période de blocage ({})",
            describe_window(&t.establishment, &window)
        );
        windows.push(window);
    }
    app.directory.put_access_windows(&uai, &windows)?;
    app.directory
        .audit_in(&t.user, &uai, &window_action, &uai)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/acces")).into_response())
}
