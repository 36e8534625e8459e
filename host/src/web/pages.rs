//! Page rendering and errors: the theme's `portal` object (navigation, menu,
//! user), themed pages and error pages, and [`AppError`], the one error type
//! a handler returns.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::visitor::Visitor;
use super::{breadcrumb, catalogue};
use crate::App;
use crate::directory::Establishment;

/// The `portal` object every template receives.
pub fn portal_context(
    app: &App,
    visitor: &Visitor,
    establishment: Option<&Establishment>,
    title: &str,
) -> minijinja::Value {
    let region_name = app
        .directory
        .region_setting::<String>("name")
        .ok()
        .flatten()
        .unwrap_or_else(|| "Préau".to_string());
    let path = visitor.path.as_str();
    let (nav, services) = match establishment {
        Some(e) => {
            let chrome = catalogue::chrome_or_empty(app, visitor, &e.uai);
            let nav: Vec<minijinja::Value> = chrome
                .nav
                .iter()
                .map(|link| {
                    minijinja::context! {
                        label => link.label,
                        url => link.url,
                        active => link.is_current(path),
                    }
                })
                .collect();
            let url = format!("/e/{}/services", e.uai);
            let services = minijinja::context! {
                active => path.starts_with(&url),
                url => url,
                categories => chrome.categories.clone(),
                panel => chrome.menu(app),
            };
            (nav, Some(services))
        }
        None => (Vec::new(), None),
    };
    let user = visitor.user.as_ref().map(|u| {
        minijinja::context! {
            login => u.login,
            display_name => u.display_name(),
            unread_notifications => crate::notifications::unread(&app.directory, &u.id),
            is_region_admin => u.region_admin,
            is_establishment_admin => u.memberships.iter().any(|m| m.admin),
        }
    });
    let is_admin = visitor
        .user
        .as_ref()
        .is_some_and(|u| u.region_admin || u.memberships.iter().any(|m| m.admin));
    minijinja::context! {
        region_name => region_name,
        title => title,
        establishment => establishment.map(|e| minijinja::context! {
            uai => e.uai,
            name => e.name,
            city => e.city,
            kind => e.kind,
            url => format!("/e/{}/", e.uai),
            banner_url => e.theme.banner_url,
            time_zone => e.time_zone,
        }),
        theme_css_url => establishment.map(|e| format!("/e/{}/theme.css", e.uai)),
        nav => nav,
        services => services,
        user => user,
        admin_url => is_admin.then_some("/admin/"),
        csrf => visitor.csrf(),
        login_url => visitor.login_url(),
        current_path => path,
        breadcrumb => breadcrumb::admin_trail(app, path, title, is_admin),
    }
}

/// Renders `template` in the theme with `context` + `portal`.
pub fn render(
    app: &App,
    visitor: &Visitor,
    establishment: Option<&Establishment>,
    template: &str,
    title: &str,
    status: StatusCode,
    context: Value,
) -> Response {
    match render_html(app, visitor, establishment, template, title, context) {
        Ok(html) => html_response(app, visitor, status, html),
        Err(e) => {
            tracing::error!("gabarit {template} : {e:#}");
            internal_error_response()
        }
    }
}

/// The status of a form page: 422 when the submission has errors, else 200.
pub fn form_status(has_errors: bool) -> StatusCode {
    if has_errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// A form page: [`render`] with `errors` (by field) in the context as `errors`,
/// answered 422 when there are any, else 200.
pub fn render_form(
    app: &App,
    visitor: &Visitor,
    template: &str,
    title: &str,
    errors: serde_json::Map<String, Value>,
    mut context: Value,
) -> Response {
    let status = form_status(!errors.is_empty());
    context["errors"] = Value::Object(errors);
    render(app, visitor, None, template, title, status, context)
}

/// The HTML of `template` rendered with `context` + `portal`.
pub fn render_html(
    app: &App,
    visitor: &Visitor,
    establishment: Option<&Establishment>,
    template: &str,
    title: &str,
    context: Value,
) -> anyhow::Result<String> {
    let portal = portal_context(app, visitor, establishment, title);
    let context = match context {
        Value::Object(_) => minijinja::context! {
            portal => portal,
            ..minijinja::Value::from_serialize(&context)
        },
        _ => minijinja::context! { portal => portal },
    };
    Ok(app.theme.render(template, context)?)
}

/// A rendered page, not cached, with the visitor's cookies.
pub fn html_response(app: &App, visitor: &Visitor, status: StatusCode, html: String) -> Response {
    visitor.finish(
        (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            axum::response::Html(html),
        )
            .into_response(),
        app.config.https(),
    )
}

/// Marks a response whose only plugin output is fragments already guarded
/// when rendered ([`crate::instances::render_fragment`]): the response-wide
/// pass of the HTML guard skips it (the home page, the hot path).
#[derive(Clone, Copy, Debug)]
pub struct PluginOutputGuarded;

/// A themed error page.
pub fn error_page(
    app: &App,
    visitor: &Visitor,
    establishment: Option<&Establishment>,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    render(
        app,
        visitor,
        establishment,
        "error.html",
        heading,
        status,
        json!({ "status": status.as_u16(), "heading": heading, "message": message }),
    )
}

/// 403 for a signed-in visitor; a sign-in redirect for an anonymous one.
pub fn forbidden(app: &App, visitor: &Visitor, establishment: Option<&Establishment>) -> Response {
    if visitor.user.is_none() {
        return visitor.finish(
            Redirect::to(&visitor.login_url()).into_response(),
            app.config.https(),
        );
    }
    error_page(
        app,
        visitor,
        establishment,
        StatusCode::FORBIDDEN,
        "Accès refusé",
        "Vous n'avez pas les droits nécessaires pour cette page. Adressez-vous à l'administrateur de votre établissement.",
    )
}

/// The page for a POST whose CSRF token is missing or wrong.
pub fn csrf_rejected(app: &App, visitor: &Visitor) -> Response {
    error_page(
        app,
        visitor,
        None,
        StatusCode::FORBIDDEN,
        "Formulaire expiré",
        "Le jeton de sécurité du formulaire est absent ou invalide. Rechargez la page et recommencez.",
    )
}

/// The page for a POST whose body is not a readable form (not UTF-8,
/// broken multipart…): 400, in French.
pub fn bad_form(app: &App, visitor: &Visitor) -> Response {
    error_page(
        app,
        visitor,
        None,
        StatusCode::BAD_REQUEST,
        "Formulaire illisible",
        "Les données envoyées ne sont pas un formulaire valide (encodage UTF-8 attendu).",
    )
}

/// A bare 500 page, for when even the theme fails.
pub fn internal_error_response() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::response::Html(
            "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Erreur</title>\
             <link rel=\"stylesheet\" href=\"/static/style.css\"><main id=\"contenu\"><h1>Erreur interne</h1>\
             <p>Une erreur est survenue. Réessayez dans un instant.</p><p><a href=\"/\">Accueil</a></p></main></html>",
        ),
    )
        .into_response()
}

/// Why a handler stopped early: a response already made (an error page, a
/// redirect to sign in), or an unexpected failure (storage…), logged with its
/// cause and shown to the user as a generic page.
pub enum AppError {
    /// Send this response.
    Respond(Response),
    /// Log this and answer 500.
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Failed(e)
    }
}

impl From<Response> for AppError {
    fn from(response: Response) -> Self {
        AppError::Respond(response)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Respond(response) => response,
            AppError::Failed(e) if crate::store::quota_exceeded(&e).is_some() => {
                tracing::warn!("{e:#}");
                over_quota(crate::store::quota_exceeded(&e).expect("vu"))
            }
            AppError::Failed(e) if crate::store::is_storage_full(&e) => {
                tracing::warn!("{e:#}");
                // The storage_full layer turns it into the page with the form's text.
                StatusCode::INSUFFICIENT_STORAGE.into_response()
            }
            AppError::Failed(e) => {
                tracing::error!("{e:#}");
                internal_error_response()
            }
        }
    }
}

/// Handler result.
pub type WebResult = Result<Response, AppError>;

/// Why a write was refused for lack of room, when it is not the whole disk:
/// carried by a 507 response for the `storage_full` layer, which renders the
/// page with the form's text.
#[derive(Clone, Debug)]
pub struct RoomRefusal(pub String);

/// A 507 for a write that would take a plugin's namespace past its quota.
pub fn over_quota(over: crate::store::QuotaExceeded) -> Response {
    let mut response = StatusCode::INSUFFICIENT_STORAGE.into_response();
    response.extensions_mut().insert(RoomRefusal(format!(
        "L'espace alloué à ce service dans votre établissement est plein ({} utilisés sur {}) ; \
         votre texte n'a pas été perdu : revenez en arrière pour le copier, et prévenez \
         l'administrateur de l'établissement.",
        preau_text::bytes_fr(over.used),
        preau_text::bytes_fr(over.limit)
    )));
    response
}

/// A local path to go back to after sign-in: must stay on this site.
pub fn safe_next(next: &str) -> Option<String> {
    let path = same_site_path(next)?;
    (path != "/login" && !path.starts_with("/login?")).then_some(path)
}

/// `target` read as a URL relative to the site: its normalised path, query and
/// fragment when it stays on the site (no scheme, no host, no `//`), None otherwise.
/// Control characters, whitespace and backslashes are refused before parsing,
/// since browsers drop or reinterpret them (`/\t/evil.example/` is `//evil.example/`).
pub fn same_site_path(target: &str) -> Option<String> {
    const SITE: &str = "preau.invalid";
    if !target.starts_with('/')
        || target
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let base = url::Url::parse("http://preau.invalid/").ok()?;
    let url = base.join(target).ok()?;
    if url.host_str() != Some(SITE)
        || url.port().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let mut path = url.path().to_string();
    if path.starts_with("//") || !path.starts_with('/') {
        return None;
    }
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        path.push('#');
        path.push_str(fragment);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_local() {
        let ok = |s: &str| Some(s.to_string());
        assert_eq!(safe_next("/e/0420003A/blog/"), ok("/e/0420003A/blog/"));
        assert_eq!(
            safe_next("/e/0420003A/blog/?page=2"),
            ok("/e/0420003A/blog/?page=2")
        );
        assert_eq!(safe_next("/a/../b"), ok("/b"));
        assert_eq!(safe_next("/s/1?page=2#m3"), ok("/s/1?page=2#m3"));
        assert_eq!(safe_next("/\t/evil.example/"), None);
        assert_eq!(safe_next("/ /evil.example/"), None);
        assert_eq!(safe_next("/\x0b/evil.example/"), None);
        assert_eq!(safe_next("/.//evil.example/"), None);
        assert_eq!(safe_next("/%2e%2e//evil.example/"), None);
        assert_eq!(safe_next("evil.example"), None);
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/login"), None);
    }
}
