//! The audit log.

use super::*;

// ---------------------------------------------------------------- audit log

/// GET /admin/journal — region administrators see everything, establishment
/// administrators the actions on their establishments.
pub async fn audit_log(State(app): State<Arc<App>>, visitor: Visitor) -> WebResult {
    let Some(user) = visitor.user.clone() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    if !user.region_admin && !user.memberships.iter().any(|m| m.admin) {
        return Ok(forbidden(&app, &visitor, None));
    }
    let entries: Vec<Value> = app
        .directory
        .audit_entries(2000)?
        .into_iter()
        .filter(|e| {
            user.region_admin
                || e["uai"]
                    .as_str()
                    .is_some_and(|u| !u.is_empty() && user.administers(u))
        })
        .take(500)
        .collect();
    Ok(render(
        &app,
        &visitor,
        None,
        "admin/audit.html",
        "Journal d'administration",
        StatusCode::OK,
        json!({ "entries": entries }),
    ))
}
