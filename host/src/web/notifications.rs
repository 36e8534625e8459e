//! `/notifications`: what services told the signed-in person (a reservation to
//! validate, a reservation validated…), newest first, unread ones marked.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde_json::json;

use super::extract::checked_form;
use super::pages::{WebResult, forbidden, render};
use super::visitor::Visitor;
use crate::App;
use crate::notifications;

/// Notifications shown on the page.
const SHOWN: usize = 100;

/// GET /notifications
pub async fn list(State(app): State<Arc<App>>, visitor: Visitor) -> WebResult {
    let Some(user) = visitor.user.clone() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let establishments = app.directory.establishments()?;
    let items: Vec<serde_json::Value> = notifications::newest(&app.directory, &user.id, SHOWN)?
        .into_iter()
        .map(|n| {
            let establishment = establishments
                .iter()
                .find(|e| e.uai == n.uai)
                .map(|e| e.name.clone())
                .unwrap_or_default();
            json!({
                "at": n.at, "service": n.service, "establishment": establishment,
                "subject": n.subject, "body": n.body,
                // Links were built by the host below the plugin's mount; re-checked anyway.
                "link": (n.link.starts_with("/e/") && !n.link.starts_with("//")).then_some(n.link),
                "unread": !n.read,
            })
        })
        .collect();
    let unread = items.iter().filter(|i| i["unread"] == true).count();
    Ok(render(
        &app,
        &visitor,
        None,
        "notifications.html",
        "Notifications",
        StatusCode::OK,
        json!({ "items": items, "unread": unread, "mark_read_url": "/notifications/lues" }),
    ))
}

/// POST /notifications/lues — marks every notification read.
pub async fn mark_read(State(app): State<Arc<App>>, visitor: Visitor, body: Bytes) -> WebResult {
    let Some(user) = visitor.user.clone() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    if let Err(response) = checked_form(&app, &visitor, &body) {
        return Ok(response);
    }
    notifications::mark_all_read(&app.directory, &user.id)?;
    Ok(Redirect::to("/notifications").into_response())
}
