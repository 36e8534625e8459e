//! What people may upload (`/admin/e/{uai}/espace`): the quota of each
//! profile in the establishment, every person's usage, largest first, and a
//! person's own quota set from their directory page. Each person sees their
//! own usage on « Mon compte » and in the services' upload forms.

use super::*;
use crate::uploads::quota;
use crate::web::extract::{parse_quota_mib, quota_share};

/// A person's usage and quota in `uai`, as the templates show it.
pub(super) fn storage_view(app: &App, uai: &str, user: &User) -> anyhow::Result<Value> {
    let used = quota::used(app.directory.store(), uai, &user.id)?;
    let limit = quota::limit(&app.directory, uai, user)?;
    let (percent, level) = quota_share(used, limit);
    let profile = user
        .membership(uai)
        .map_or("personnel", |m| m.profile.as_str());
    Ok(json!({
        "used": preau_text::bytes_fr(used),
        "limit": preau_text::bytes_fr(limit),
        "summary": quota::summary(used, limit),
        "percent": percent,
        "level": level,
        "own_mib": quota::person_mib(&app.directory, uai, &user.id)?,
        "profile_mib": quota::profile_mib(&app.directory, uai, profile)?,
        "profile": profile_label(profile),
    }))
}

/// GET /admin/e/{uai}/espace
pub async fn storage_page(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    uri: Uri,
) -> WebResult {
    let notice = (query_value(&uri, "ok") == "quotas").then_some("Quotas enregistrés.");
    let typed: Vec<(String, String)> = quota::profiles(&app.directory, &t.establishment.uai)?
        .into_iter()
        .map(|(code, _, mib)| (code.to_string(), mib.to_string()))
        .collect();
    storage_page_with(&app, &t, &typed, serde_json::Map::new(), notice)
}

/// POST /admin/e/{uai}/espace — one quota (MiB) per profile, fields `mib-<profile>`.
pub async fn save_storage(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let uai = &t.establishment.uai;
    let mut errors = serde_json::Map::new();
    let mut typed = Vec::new();
    let mut parsed = Vec::new();
    for (code, _) in PROFILES {
        let name = format!("mib-{code}");
        let value = field(&form, &name);
        match parse_quota_mib(&value) {
            Ok(mib) => parsed.push((*code, mib)),
            Err(message) => {
                errors.insert(name.clone(), json!(message));
            }
        }
        typed.push((code.to_string(), value));
    }
    if !errors.is_empty() {
        return storage_page_with(&app, &t, &typed, errors, None);
    }
    // All or nothing: every value was checked before the first is written.
    for (code, mib) in &parsed {
        quota::set_profile_mib(&app.directory, uai, code, *mib)?;
    }
    let summary: Vec<String> = parsed
        .iter()
        .map(|(code, mib)| format!("{} {mib} Mo", profile_label(code)))
        .collect();
    app.directory
        .audit_in(&t.user, uai, "quotas des personnes", &summary.join(", "))?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/espace?ok=quotas")).into_response())
}

fn storage_page_with(
    app: &App,
    t: &Target,
    typed: &[(String, String)],
    errors: serde_json::Map<String, Value>,
    notice: Option<&str>,
) -> WebResult {
    let uai = &t.establishment.uai;
    let profiles: Vec<Value> = PROFILES
        .iter()
        .map(|(code, label)| {
            let value = typed
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            json!({ "name": format!("mib-{code}"), "label": label, "value": value })
        })
        .collect();
    let mut people = Vec::new();
    for (id, _) in quota::usage_in(app.directory.store(), uai)?
        .into_iter()
        .take(200)
    {
        let Some(user) = app.directory.user(&id)? else {
            continue;
        };
        let mut row = storage_view(app, uai, &user)?;
        row["name"] = json!(user.display_name());
        row["login"] = json!(user.login);
        row["url"] = json!(format!("/admin/e/{uai}/annuaire/u/{}", user.id));
        people.push(row);
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/storage.html",
        "Espace des personnes",
        status,
        json!({
            "establishment": t.establishment_json(),
            "action_url": format!("/admin/e/{uai}/espace"),
            "summary_fields": PROFILES
                .iter()
                .map(|(code, label)| json!([format!("mib-{code}"), label]))
                .collect::<Vec<_>>(),
            "profiles": profiles,
            "errors": errors,
            "notice": notice,
            "people": people,
        }),
    ))
}

/// POST /admin/e/{uai}/annuaire/u/{id}/quota — `mib`: the person's own quota
/// here; empty: back to their profile's.
pub async fn save_person_quota(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let user = match people::member(&app, &t, &id) {
        Ok(user) => user,
        Err(response) => return Ok(response),
    };
    let typed = field(&form, "mib");
    let mib = if typed.trim().is_empty() {
        None
    } else {
        match parse_quota_mib(&typed) {
            Ok(mib) => Some(mib),
            Err(message) => {
                let errors = field_error("quota_mib", message);
                return Ok(people::user_page(
                    &app,
                    &t,
                    &user,
                    None,
                    Some(errors),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )?);
            }
        }
    };
    quota::set_person_mib(&app.directory, &uai, &user.id, mib)?;
    let what = mib.map_or("quota du profil".to_string(), |m| format!("{m} Mo"));
    app.directory.audit_in(
        &t.user,
        &uai,
        "quota de la personne",
        &format!("{} : {what}", user.login),
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/annuaire/u/{}?ok=quota", user.id)).into_response())
}
