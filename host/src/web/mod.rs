//! HTTP edge: routes, the visitor (session, CSRF), page rendering, errors.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

use crate::App;
use crate::directory::{Establishment, Session, User, random_token};
pub use crate::forms::{parse_form, parse_query};

mod admin;
pub mod auth;
mod banner;
pub mod cas;
mod directory;
mod embeds;
mod metrics;
mod notifications;
pub mod plugins;
mod portal;
mod rubriques;
mod services;

pub(crate) use admin::{enable_plugin, send_demo_event};

/// Largest request body accepted (forms); larger ones get 413.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "preau_session";
/// Name of the pre-session CSRF cookie (double submit for anonymous forms such as sign-in).
pub const CSRF_COOKIE: &str = "preau_csrf";

/// Every route of the host, with the methods it answers: one table serves both the
/// router and the authorization matrix test, so the two cannot drift apart.
/// Plugins are reached through `/e/{uai}/{plugin}/…` (their own tables: `routes`).
fn routes() -> Routes {
    Routes::default()
        .add("/", on_get(portal::region))
        .add("/healthz", on_get(|| async { "ok" }))
        .add("/metrics", on_get(metrics::serve))
        .add("/login", on_get(auth::login_form).post(auth::login))
        .add("/logout", on_post(auth::logout))
        .add("/e/{uai}", on_get(portal::establishment_slash))
        .add("/e/{uai}/", on_get(portal::establishment_home))
        .add("/e/{uai}/theme.css", on_get(portal::theme_css))
        .add("/e/{uai}/{plugin}", on_get(plugins::plugin_slash))
        .add(
            "/e/{uai}/{plugin}/",
            on_get(plugins::plugin_root).post(plugins::plugin_root),
        )
        .add(
            "/e/{uai}/{plugin}/{*rest}",
            on_get(plugins::plugin_path).post(plugins::plugin_path),
        )
        .add(
            "/admin",
            on_get(|| async { Redirect::permanent("/admin/") }),
        )
        .add("/admin/", on_get(admin::index))
        .add("/admin/embeds", on_post(admin::save_embeds))
        .add(
            "/admin/e/{uai}/plugins/{plugin}/toggle",
            on_post(admin::toggle_plugin),
        )
        .add(
            "/admin/e/{uai}/plugins/{plugin}",
            on_get(admin::plugin_form).post(admin::save_plugin),
        )
        .add(
            "/admin/e/{uai}/theme",
            on_get(admin::theme_form).post(admin::save_theme),
        )
        // The only route whose body may exceed the global limit: an image upload.
        .add(
            "/admin/e/{uai}/theme/banniere",
            on_post(banner::upload).body_limit(banner::MAX_UPLOAD_BODY_BYTES),
        )
        .add(
            "/admin/e/{uai}/theme/banniere/retirer",
            on_post(banner::remove),
        )
        .add("/e/{uai}/banniere", on_get(banner::serve))
        .add("/admin/journal", on_get(directory::audit_log))
        .add("/admin/e/{uai}/annuaire", on_get(directory::search_page))
        .add(
            "/admin/e/{uai}/annuaire/nouveau",
            on_get(directory::new_user_form).post(directory::create_user),
        )
        .add(
            "/admin/e/{uai}/annuaire/u/{id}",
            on_get(directory::user_form).post(directory::update_user),
        )
        .add(
            "/admin/e/{uai}/annuaire/u/{id}/mot-de-passe",
            on_post(directory::regenerate_password),
        )
        .add(
            "/admin/e/{uai}/annuaire/u/{id}/blocage",
            on_post(directory::set_blocked),
        )
        .add(
            "/admin/e/{uai}/annuaire/u/{id}/rattachements",
            on_post(directory::attach),
        )
        .add(
            "/admin/e/{uai}/annuaire/u/{id}/rattachements/{other}/supprimer",
            on_post(directory::detach),
        )
        .add(
            "/admin/e/{uai}/annuaire/u/{id}/enfants",
            on_post(directory::link_child),
        )
        .add(
            "/admin/e/{uai}/groupes",
            on_get(directory::groups).post(directory::create_group),
        )
        .add(
            "/admin/e/{uai}/groupes/{id}",
            on_get(directory::group).post(directory::update_group),
        )
        .add(
            "/admin/e/{uai}/plugins/{plugin}/droits",
            on_get(directory::rights).post(directory::save_rights),
        )
        .add(
            "/admin/e/{uai}/plugins/{plugin}/droits/objet/{scope}",
            on_get(directory::object_rights).post(directory::save_object_rights),
        )
        .add(
            "/admin/e/{uai}/acces",
            on_get(directory::windows).post(directory::save_windows),
        )
        .add(
            "/admin/e/{uai}/identifiants",
            on_get(directory::identifiers).post(directory::generate_identifiers),
        )
        .add(
            "/admin/e/{uai}/identifiants/{name}",
            on_get(directory::download_identifiers),
        )
        .add(
            "/admin/e/{uai}/identifiants/{name}/supprimer",
            on_post(directory::delete_identifiers),
        )
        .add(
            "/admin/e/{uai}/delegations",
            on_get(directory::delegations).post(directory::save_delegations),
        )
        // Portal: rubriques, news, home page administration.
        .add(
            "/e/{uai}/rubriques",
            on_get(
                |axum::extract::Path(uai): axum::extract::Path<String>| async move {
                    Redirect::permanent(&format!("/e/{uai}/rubriques/"))
                },
            ),
        )
        .add("/e/{uai}/rubriques/", on_get(rubriques::list))
        .add("/e/{uai}/actualites", on_get(rubriques::news_page))
        .add("/e/{uai}/r/{rubrique}/", on_get(rubriques::show))
        .add(
            "/e/{uai}/r/{rubrique}/{plugin}",
            on_get(plugins::rubrique_plugin_slash),
        )
        .add(
            "/e/{uai}/r/{rubrique}/{plugin}/",
            on_get(plugins::rubrique_plugin_root).post(plugins::rubrique_plugin_root),
        )
        .add(
            "/e/{uai}/r/{rubrique}/{plugin}/{*rest}",
            on_get(plugins::rubrique_plugin_path).post(plugins::rubrique_plugin_path),
        )
        .add(
            "/admin/e/{uai}/rubriques",
            on_get(rubriques::admin_list).post(rubriques::admin_create),
        )
        .add(
            "/admin/e/{uai}/rubriques/{rubrique}",
            on_get(rubriques::admin_edit).post(rubriques::admin_save),
        )
        .add(
            "/admin/e/{uai}/rubriques/{rubrique}/supprimer",
            on_post(rubriques::admin_delete),
        )
        .add(
            "/admin/e/{uai}/rubriques/{rubrique}/droits/{plugin}",
            on_get(directory::rubrique_rights).post(directory::save_rubrique_rights),
        )
        .add(
            "/admin/e/{uai}/rubriques/{rubrique}/droits/{plugin}/objet/{scope}",
            on_get(directory::rubrique_object_rights).post(directory::save_rubrique_object_rights),
        )
        .add(
            "/admin/e/{uai}/plugins/{plugin}/sorties",
            on_post(admin::save_outbound),
        )
        .add(
            "/admin/e/{uai}/accueil",
            on_get(rubriques::admin_home).post(rubriques::admin_home_save),
        )
        .add("/e/{uai}/mes-eleves", on_get(directory::my_pupils))
        .add(
            "/e/{uai}/mes-eleves/{id}/mot-de-passe",
            on_post(directory::reset_pupil_password),
        )
        .add("/compte", on_get(directory::account))
        .add("/notifications", on_get(notifications::list))
        .add("/notifications/lues", on_post(notifications::mark_read))
        .add(
            "/compte/mot-de-passe",
            on_get(directory::password_form).post(directory::change_password),
        )
        // Services catalogue, "Mes services" and the CAS server.
        .add(
            "/admin/services",
            on_get(services::region_catalogue).post(services::create_region_connector),
        )
        .add(
            "/admin/services/{code}",
            on_get(services::region_connector_form).post(services::save_region_connector),
        )
        .add(
            "/admin/services/{code}/supprimer",
            on_post(services::delete_region_connector),
        )
        .add(
            "/admin/e/{uai}/services",
            on_get(services::catalogue).post(services::create_connector),
        )
        .add(
            "/admin/e/{uai}/services/{code}",
            on_get(services::service_form).post(services::save_service),
        )
        .add(
            "/admin/e/{uai}/services/{code}/supprimer",
            on_post(services::delete_service),
        )
        .add("/e/{uai}/services", on_get(services::my_services))
        .add(
            "/e/{uai}/services/{code}/ouvrir",
            on_get(services::open_service),
        )
        .add("/cas/login", on_get(cas::login))
        .add("/cas/serviceValidate", on_get(cas::service_validate))
        .add("/cas/p3/serviceValidate", on_get(cas::service_validate))
        .add("/cas/logout", on_get(cas::logout))
}

/// One route of the host: its path pattern and the methods it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// axum path pattern (`/admin/e/{uai}/groupes/{id}`).
    pub path: &'static str,
    /// `GET`, `POST`.
    pub methods: Vec<&'static str>,
}

/// The router being built and the table of what it holds.
#[derive(Default)]
struct Routes {
    router: Router<Arc<App>>,
    table: Vec<RouteEntry>,
}

impl Routes {
    fn add(mut self, path: &'static str, handlers: Handlers) -> Routes {
        self.router = self.router.route(path, handlers.router);
        self.table.push(RouteEntry {
            path,
            methods: handlers.methods,
        });
        self
    }
}

/// axum's `get(…).post(…)` that also records the methods.
struct Handlers {
    router: axum::routing::MethodRouter<Arc<App>>,
    methods: Vec<&'static str>,
}

fn on_get<H, T>(handler: H) -> Handlers
where
    H: axum::handler::Handler<T, Arc<App>>,
    T: 'static,
{
    Handlers {
        router: get(handler),
        methods: vec!["GET"],
    }
}

fn on_post<H, T>(handler: H) -> Handlers
where
    H: axum::handler::Handler<T, Arc<App>>,
    T: 'static,
{
    Handlers {
        router: post(handler),
        methods: vec!["POST"],
    }
}

impl Handlers {
    fn post<H, T>(mut self, handler: H) -> Handlers
    where
        H: axum::handler::Handler<T, Arc<App>>,
        T: 'static,
    {
        self.router = self.router.post(handler);
        self.methods.push("POST");
        self
    }

    /// A larger body limit than the router's, for this route only.
    fn body_limit(mut self, bytes: usize) -> Handlers {
        self.router = self.router.layer(DefaultBodyLimit::max(bytes));
        self
    }
}

/// The host's routes (path pattern, methods), in registration order.
pub fn route_table() -> Vec<RouteEntry> {
    routes().table
}

/// The router: every route of [`routes`], static files, security headers.
pub fn router(app: Arc<App>) -> Router {
    let static_files = tower_http::services::ServeDir::new(app.theme.static_dir());
    routes()
        .router
        .nest_service("/static", static_files)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            metrics::record,
        ))
        .with_state(app)
}

/// Headers on every response: no scripts at all, frames only from the embed providers.
/// A host handler may have set a stricter policy (the uploaded banner's
/// `default-src 'none'`); plugins cannot set this header.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(
        HeaderValue::from_static(
            "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'; img-src 'self' https: data:; \
             style-src 'self'; frame-src https://www.youtube-nocookie.com https://www.dailymotion.com \
             https://player.vimeo.com https://learningapps.org https://padlet.com https://quizlet.com",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn not_found(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    error_page(
        &app,
        &visitor,
        None,
        StatusCode::NOT_FOUND,
        "Page introuvable",
        "L'adresse demandée n'existe pas ou n'est plus disponible.",
    )
}

/// Who is asking: their session and account, if signed in, and the CSRF token of their forms.
pub struct Visitor {
    /// The account, when signed in and not blocked.
    pub user: Option<User>,
    /// The session token and record.
    pub session: Option<(String, Session)>,
    /// The anonymous CSRF cookie value, existing or to be set.
    anon_csrf: String,
    /// Whether `anon_csrf` is new and must be sent as a cookie.
    new_anon_csrf: bool,
    /// Path of the request (for `next=` links and navigation).
    pub path: String,
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl Visitor {
    /// Resolves the session cookie to an account.
    pub fn from_headers(app: &App, headers: &HeaderMap, path: &str) -> Visitor {
        let session = cookie(headers, SESSION_COOKIE).and_then(|token| {
            let session = app.directory.session(&token).unwrap_or_else(|e| {
                tracing::error!("session : {e:#}");
                None
            })?;
            Some((token, session))
        });
        let user = session
            .as_ref()
            .and_then(|(_, s)| app.directory.user(&s.user_id).ok().flatten())
            .filter(|u| !u.blocked);
        let session = if user.is_some() { session } else { None };
        let existing = cookie(headers, CSRF_COOKIE)
            .filter(|c| c.len() == 32 && c.bytes().all(|b| b.is_ascii_hexdigit()));
        Visitor {
            user,
            session,
            new_anon_csrf: existing.is_none(),
            anon_csrf: existing.unwrap_or_else(random_token),
            path: path.to_string(),
        }
    }

    /// The token forms must carry.
    pub fn csrf(&self) -> &str {
        match &self.session {
            Some((_, s)) => &s.csrf,
            None => &self.anon_csrf,
        }
    }

    /// Whether a submitted form's `csrf` field is valid for this visitor.
    /// Signed in: the session's token. Anonymous: the double-submit cookie,
    /// which a cross-site page can neither read nor send (SameSite=Strict).
    pub fn csrf_valid(&self, form: &[(String, String)]) -> bool {
        let submitted = form
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let expected = match &self.session {
            Some((_, s)) => s.csrf.as_str(),
            None if self.new_anon_csrf => return false,
            None => self.anon_csrf.as_str(),
        };
        constant_time_eq(submitted.as_bytes(), expected.as_bytes())
    }

    /// The `/login?next=…` link for this page.
    pub fn login_url(&self) -> String {
        if self.path.starts_with("/login") {
            return "/login".to_string();
        }
        format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(self.path.as_bytes()).collect::<String>()
        )
    }

    /// Adds the anonymous CSRF cookie to a response when it is new.
    pub fn finish(&self, mut response: Response, secure: bool) -> Response {
        if self.session.is_none() && self.new_anon_csrf {
            let cookie = format!(
                "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{}",
                self.anon_csrf,
                if secure { "; Secure" } else { "" }
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Serialize)]
struct NavItem {
    label: String,
    url: String,
    active: bool,
}

/// The `portal` object every template receives.
fn portal_context(
    app: &App,
    visitor: &Visitor,
    establishment: Option<&Establishment>,
    title: &str,
) -> Value {
    let region_name = app
        .directory
        .region_setting::<String>("name")
        .ok()
        .flatten()
        .unwrap_or_else(|| "Préau".to_string());
    let mut nav = Vec::new();
    let mut services_menu = Value::Null;
    if let Some(e) = establishment {
        let mut enabled = Vec::new();
        for plugin in app.runtime.plugins() {
            let setting = app
                .directory
                .plugin_setting(&e.uai, &plugin.manifest.id)
                .unwrap_or_default();
            if !setting.enabled {
                continue;
            }
            enabled.push((plugin.manifest.id.clone(), plugin.manifest.name.clone()));
            let roles = app
                .directory
                .roles(visitor.user.as_ref(), &e.uai, &plugin.manifest)
                .unwrap_or_default();
            if roles.is_empty() {
                continue;
            }
            let url = format!("/e/{}/{}/", e.uai, plugin.manifest.id);
            nav.push(NavItem {
                active: visitor.path.starts_with(&url),
                label: plugin.manifest.name.clone(),
                url,
            });
        }
        // Rubriques, when the establishment has some.
        let has_rubriques = crate::portal::Portal::load(&app.directory, &e.uai)
            .map(|p| p.rubriques.iter().any(|r| r.visible))
            .unwrap_or(false);
        if has_rubriques {
            let url = format!("/e/{}/rubriques/", e.uai);
            let active = visitor.path.starts_with(&url)
                || visitor.path.starts_with(&format!("/e/{}/r/", e.uai));
            nav.insert(
                0,
                NavItem {
                    active,
                    label: "Rubriques".into(),
                    url,
                },
            );
        }
        // The directory's own page for teachers.
        let teaches_here = visitor
            .user
            .as_ref()
            .and_then(|u| u.membership(&e.uai))
            .is_some_and(|m| m.profile == "enseignant");
        if teaches_here {
            let url = format!("/e/{}/mes-eleves", e.uai);
            nav.push(NavItem {
                active: visitor.path.starts_with(&url),
                label: "Mes élèves".into(),
                url,
            });
        }
        services_menu = services::menu(app, visitor, &e.uai, &enabled);
    }
    let user = visitor.user.as_ref().map(|u| {
        json!({
            "login": u.login,
            "display_name": u.display_name(),
            "unread_notifications": crate::notifications::unread(&app.directory, &u.id),
            "is_region_admin": u.region_admin,
            "is_establishment_admin": u.memberships.iter().any(|m| m.admin),
        })
    });
    let is_admin = visitor
        .user
        .as_ref()
        .is_some_and(|u| u.region_admin || u.memberships.iter().any(|m| m.admin));
    json!({
        "region_name": region_name,
        "title": title,
        "establishment": establishment.map(|e| json!({
            "uai": e.uai,
            "name": e.name,
            "city": e.city,
            "kind": e.kind,
            "url": format!("/e/{}/", e.uai),
            "banner_url": e.theme.banner_url,
        })),
        "theme_css_url": establishment.map(|e| format!("/e/{}/theme.css", e.uai)),
        "nav": nav,
        "services": services_menu,
        "user": user,
        "admin_url": is_admin.then_some("/admin/"),
        "csrf": visitor.csrf(),
        "login_url": visitor.login_url(),
        "current_path": visitor.path,
    })
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

/// The HTML of `template` rendered with `context` + `portal`.
pub fn render_html(
    app: &App,
    visitor: &Visitor,
    establishment: Option<&Establishment>,
    template: &str,
    title: &str,
    context: Value,
) -> anyhow::Result<String> {
    let mut context = match context {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    context.insert(
        "portal".into(),
        portal_context(app, visitor, establishment, title),
    );
    Ok(app
        .theme
        .render(template, minijinja::Value::from_serialize(&context))?)
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
        app.config.secure_cookies,
    )
}

pub fn render_value(
    app: &App,
    visitor: &Visitor,
    template: &str,
    status: StatusCode,
    context: minijinja::Value,
) -> Response {
    match app.theme.render(template, context) {
        Ok(html) => html_response(app, visitor, status, html),
        Err(e) => {
            tracing::error!("gabarit {template} : {e:#}");
            internal_error_response()
        }
    }
}

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
            app.config.secure_cookies,
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
            AppError::Failed(e) => {
                tracing::error!("{e:#}");
                internal_error_response()
            }
        }
    }
}

/// Handler result.
pub type WebResult = Result<Response, AppError>;

/// A local path to go back to after sign-in: must stay on this site.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n', '\\'])
        && next != "/login";
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_local() {
        assert_eq!(safe_next("/e/0420003A/blog/"), Some("/e/0420003A/blog/"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/login"), None);
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; preau_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, "preau_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
