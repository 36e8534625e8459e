//! The confirmation page of a destructive action: a GET that changes nothing
//! and says what will be lost, whose button POSTs (with the CSRF token) to the
//! same address. Every host deletion goes through it; its breadcrumb is the
//! administration's, generated from the address (`web/breadcrumb.rs`).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::App;
use crate::directory::Establishment;
use crate::web::pages::render;
use crate::web::visitor::Visitor;

/// What a confirmation page shows.
pub struct Deletion<'a> {
    /// The page's title and heading (« Supprimer la rubrique « Actualités » ? »).
    pub title: String,
    /// One sentence per thing that will be lost.
    pub losses: Vec<String>,
    /// The button's label (« Supprimer la rubrique »).
    pub button: &'a str,
    /// Where the deletion is posted.
    pub action_url: String,
    /// Where « Annuler » leads back.
    pub cancel_url: String,
}

/// The confirmation page of `deletion`.
pub fn page(
    app: &App,
    visitor: &Visitor,
    establishment: Option<&Establishment>,
    deletion: Deletion,
) -> Response {
    render(
        app,
        visitor,
        establishment,
        "admin/confirm_delete.html",
        &deletion.title,
        StatusCode::OK,
        json!({
            "heading": deletion.title,
            "losses": deletion.losses,
            "button": deletion.button,
            "action_url": deletion.action_url,
            "cancel_url": deletion.cancel_url,
        }),
    )
}
