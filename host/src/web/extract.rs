//! What a handler needs from a request, as axum extractors, so that its
//! signature says it: the establishment of the URL ([`EstablishmentOf`]), an
//! administrator of it ([`EstablishmentAdmin`]) or of the region
//! ([`RegionAdmin`]), a decoded form whose CSRF token was checked
//! ([`CheckedForm`]). Each rejects with the themed page to send instead.
//! Also the helpers that read decoded form fields.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::pages::{bad_form, csrf_rejected, error_page, forbidden, internal_error_response};
use super::visitor::Visitor;
use crate::App;
use crate::directory::{Establishment, GROUP_KINDS, Group, User};
pub use crate::forms::{parse_form, parse_query};

/// Decoded form fields.
pub type Form = Vec<(String, String)>;

/// A submitted field, trimmed (empty if absent).
pub fn field(form: &Form, name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

/// Every non-empty value submitted under `name` (checkboxes, multiple selects).
pub fn all(form: &Form, name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// A query-string parameter (empty if absent).
pub fn query_value(uri: &Uri, name: &str) -> String {
    parse_query(uri.query())
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// Groups as the options of a form's group picker.
pub fn groups_view(groups: &[Group]) -> Vec<Value> {
    groups
        .iter()
        .map(|g| {
            let kind = GROUP_KINDS
                .iter()
                .find(|(k, _)| *k == g.kind)
                .map(|(_, l)| *l)
                .unwrap_or("");
            json!({ "id": g.id, "name": g.name, "kind": kind, "level": g.level })
        })
        .collect()
}

/// The establishment of a URL, or a 404 page.
pub fn find_establishment(
    app: &App,
    visitor: &Visitor,
    uai: &str,
) -> Result<Establishment, Response> {
    match app.directory.establishment(uai) {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err(error_page(
            app,
            visitor,
            None,
            StatusCode::NOT_FOUND,
            "Établissement introuvable",
            "Aucun établissement ne porte ce code UAI.",
        )),
        Err(e) => {
            tracing::error!("établissement {uai} : {e:#}");
            Err(internal_error_response())
        }
    }
}

/// The `{uai}` parameter of the route; a 400 page when the path is not valid
/// UTF-8 once decoded.
async fn uai_of(parts: &mut Parts, app: &Arc<App>, visitor: &Visitor) -> Result<String, Response> {
    let unreadable = || {
        error_page(
            app,
            visitor,
            None,
            StatusCode::BAD_REQUEST,
            "Adresse illisible",
            "L'adresse demandée contient des caractères invalides.",
        )
    };
    let params = RawPathParams::from_request_parts(parts, app)
        .await
        .map_err(|_| unreadable())?;
    params
        .iter()
        .find(|(name, _)| *name == "uai")
        .map(|(_, value)| value.to_string())
        .ok_or_else(internal_error_response)
}

/// The visitor and the existing establishment of a `/…/{uai}/…` route (404 otherwise).
pub struct EstablishmentOf {
    pub visitor: Visitor,
    pub establishment: Establishment,
}

impl FromRequestParts<Arc<App>> for EstablishmentOf {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let Ok(visitor) = Visitor::from_request_parts(parts, app).await;
        let uai = uai_of(parts, app, &visitor).await?;
        let establishment = find_establishment(app, &visitor, &uai)?;
        Ok(EstablishmentOf {
            visitor,
            establishment,
        })
    }
}

/// The visitor, account and establishment of an administration URL, once the
/// visitor is known to administer it.
pub struct Target {
    pub visitor: Visitor,
    pub user: User,
    pub establishment: Establishment,
}

impl Target {
    /// What administration templates show of the establishment.
    pub fn establishment_json(&self) -> Value {
        json!({
            "uai": self.establishment.uai,
            "name": self.establishment.name,
            "time_zone": self.establishment.time_zone,
        })
    }

    async fn extract(
        parts: &mut Parts,
        app: &Arc<App>,
        region_only: bool,
    ) -> Result<Self, Response> {
        let EstablishmentOf {
            visitor,
            establishment,
        } = EstablishmentOf::from_request_parts(parts, app).await?;
        Target::admin(app, visitor, establishment, region_only)
    }

    /// `visitor` as an administrator of `establishment` (of the region when
    /// `region_only`), or the page to send instead.
    pub fn admin(
        app: &App,
        visitor: Visitor,
        establishment: Establishment,
        region_only: bool,
    ) -> Result<Self, Response> {
        let Some(user) = visitor.user.clone() else {
            return Err(forbidden(app, &visitor, None));
        };
        let allowed = if region_only {
            user.region_admin
        } else {
            user.administers(&establishment.uai)
        };
        if !allowed {
            return Err(forbidden(app, &visitor, None));
        }
        Ok(Target {
            visitor,
            user,
            establishment,
        })
    }
}

/// `/admin/e/{uai}/…`: an administrator of that establishment (or of the region).
pub struct EstablishmentAdmin(pub Target);

impl FromRequestParts<Arc<App>> for EstablishmentAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        Target::extract(parts, app, false)
            .await
            .map(EstablishmentAdmin)
    }
}

/// `/admin/e/{uai}/…` reserved to the region's administrators (enabling plugins).
pub struct RegionAdmin(pub Target);

impl FromRequestParts<Arc<App>> for RegionAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        Target::extract(parts, app, true).await.map(RegionAdmin)
    }
}

/// `/admin/services…` and the other region-wide pages: a region administrator
/// (the path names no establishment); the sign-in page or a 403 otherwise.
pub struct RegionAdministrator {
    pub visitor: Visitor,
    pub user: User,
}

impl FromRequestParts<Arc<App>> for RegionAdministrator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let Ok(visitor) = Visitor::from_request_parts(parts, app).await;
        match visitor.user.clone() {
            Some(user) if user.region_admin => Ok(RegionAdministrator { visitor, user }),
            _ => Err(forbidden(app, &visitor, None)),
        }
    }
}

/// A urlencoded form whose CSRF token matches the visitor's (403 otherwise; 400
/// for an unreadable body). The last extractor of a POST handler.
pub struct CheckedForm(pub Form);

impl FromRequest<Arc<App>> for CheckedForm {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Ok(visitor) = Visitor::from_request_parts(&mut parts, app).await;
        let request = Request::from_parts(parts, body);
        let body = Bytes::from_request(request, app)
            .await
            .map_err(IntoResponse::into_response)?;
        checked_form(app, &visitor, &body).map(CheckedForm)
    }
}

/// `body` decoded as a form whose CSRF token is the visitor's.
pub fn checked_form(app: &App, visitor: &Visitor, body: &Bytes) -> Result<Form, Response> {
    let Some(form) = parse_form(body) else {
        return Err(bad_form(app, visitor));
    };
    if !visitor.csrf_valid(&form) {
        return Err(csrf_rejected(app, visitor));
    }
    Ok(form)
}

/// Bounds of a quota an administrator types, in MiB (a plugin namespace's,
/// a profile's, a person's).
pub const QUOTA_RANGE_MIB: (u64, u64) = (1, 1 << 20);

/// A quota in MiB as typed: a whole number within [`QUOTA_RANGE_MIB`], or the
/// French message that says what is expected.
pub fn parse_quota_mib(typed: &str) -> Result<u64, String> {
    let (low, high) = QUOTA_RANGE_MIB;
    match typed.trim().parse::<u64>() {
        Ok(mib) if (low..=high).contains(&mib) => Ok(mib),
        _ => Err(format!(
            "Indiquez un nombre entier de mégaoctets entre {low} et {high} (reçu : « {} »).",
            typed.trim()
        )),
    }
}

/// The share of a quota used, as the usage tables show it: the percentage
/// (at most 100; 100 for a zero quota) and the badge's level.
pub fn quota_share(used: u64, limit: u64) -> (u64, &'static str) {
    let percent = used
        .saturating_mul(100)
        .checked_div(limit)
        .map_or(100, |p| p.min(100));
    let level = if percent >= 90 {
        "danger"
    } else if percent >= 70 {
        "warning"
    } else {
        "success"
    };
    (percent, level)
}

/// The errors of a form with one field in error (field → French message), as
/// the templates show them.
pub fn field_error(field: &str, message: impl Into<String>) -> serde_json::Map<String, Value> {
    let mut errors = serde_json::Map::new();
    errors.insert(field.into(), Value::String(message.into()));
    errors
}
