//! The HTTP edge: it only translates HTTP (extractors, pages, errors) and calls
//! the layers below it (`directory`, `instances`, `runtime`, `portal`…).
//!
//! Layers inside `web/`, each using only those above it in this list:
//! `visitor` (session, CSRF) → `catalogue` (the services a person sees) →
//! `pages` (rendering, error pages, [`pages::AppError`]) → `extract` (the
//! extractors a handler's signature names, form helpers) → the page modules.
//! No page module imports another except `portal` (the home page's news and
//! catalogue blocks), `plugins` (`embeds`) and `cas` (`auth`'s sign-out).

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::App;

mod admin;
mod appearance;
pub mod auth;
mod backups;
mod breadcrumb;
pub mod cas;
pub mod catalogue;
mod confirm;
mod directory;
mod embeds;
mod extract;
mod metrics;
mod notifications;
mod pages;
pub mod plugins;
mod portal;
mod quotas;
mod rubriques;
pub mod server;
mod services;
pub mod shown_once;
mod storage_full;
mod structure;
mod uploads;
mod visitor;

use pages::error_page;
pub use quotas::QUOTA_SETTING;
use visitor::Visitor;

/// Largest request body accepted (forms); larger ones get 413.
pub(super) const MAX_BODY_BYTES: usize = 1 << 20;

/// Every route of the host, with the methods it answers: one table serves both the
/// router and the authorization matrix test, so the two cannot drift apart.
/// Plugins are reached through `/e/{uai}/{plugin}/…` (their own tables: `routes`).
fn routes() -> Routes {
    Routes::default()
        .add("/", on_get(portal::region))
        .add("/healthz", on_get(storage_full::healthz))
        .add("/metrics", on_get(metrics::serve))
        .add("/login", on_get(auth::login_form).post(auth::login))
        .add("/logout", on_post(auth::logout))
        .add("/e/{uai}", on_get(portal::establishment_slash))
        .add("/e/{uai}/", on_get(portal::establishment_home))
        .add("/e/{uai}/theme.css", on_get(appearance::theme_css))
        .add("/e/{uai}/{plugin}", on_get(plugins::plugin_slash))
        .add(
            "/plugins/{plugin}/static/{*file}",
            on_get(plugins::static_file),
        )
        // Plugin routes take files (multipart): a larger body, read by the handler.
        .add(
            "/e/{uai}/{plugin}/",
            on_get(plugins::plugin_request)
                .post(plugins::plugin_request)
                .body_limit(uploads::MAX_UPLOAD_BODY_BYTES),
        )
        .add(
            "/e/{uai}/{plugin}/{*rest}",
            on_get(plugins::plugin_request)
                .post(plugins::plugin_request)
                .body_limit(uploads::MAX_UPLOAD_BODY_BYTES),
        )
        .add(
            "/admin",
            on_get(|| async { Redirect::permanent("/admin/") }),
        )
        .add("/admin/", on_get(admin::index))
        .add("/admin/embeds", on_post(admin::save_embeds))
        .add("/admin/quotas", on_get(quotas::page).post(quotas::save))
        .add(
            "/admin/sauvegardes",
            on_get(backups::page).post(backups::save),
        )
        .add(
            "/admin/sauvegardes/maintenant",
            on_post(backups::backup_now),
        )
        .add("/admin/e/{uai}/fuseau", on_post(admin::save_time_zone))
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
            on_get(appearance::theme_form).post(appearance::save_theme),
        )
        // The only route whose body may exceed the global limit: an image upload.
        .add(
            "/admin/e/{uai}/theme/banniere",
            on_post(appearance::upload).body_limit(appearance::MAX_UPLOAD_BODY_BYTES),
        )
        .add(
            "/admin/e/{uai}/theme/banniere/retirer",
            on_post(appearance::remove),
        )
        .add("/e/{uai}/banniere", on_get(appearance::serve))
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
            "/admin/e/{uai}/espace",
            on_get(directory::storage_page).post(directory::save_storage),
        )
        .add(
            "/admin/e/{uai}/annuaire/u/{id}/quota",
            on_post(directory::save_person_quota),
        )
        .add(
            "/admin/e/{uai}/annuaire/u/{id}/sessions",
            on_post(directory::close_sessions),
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
            on_get(directory::confirm_detach).post(directory::detach),
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
            "/admin/e/{uai}/groupes/{id}/supprimer",
            on_get(directory::confirm_delete_group).post(directory::delete_group),
        )
        .add(
            "/admin/e/{uai}/plugins/{plugin}/droits",
            on_get(directory::rights).post(directory::save_rights),
        )
        .add(
            "/admin/e/{uai}/plugins/{plugin}/droits/objet/{scope}",
            on_get(directory::rights).post(directory::save_rights),
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
            on_get(plugins::plugin_slash),
        )
        .add(
            "/e/{uai}/r/{rubrique}/{plugin}/",
            on_get(plugins::plugin_request)
                .post(plugins::plugin_request)
                .body_limit(uploads::MAX_UPLOAD_BODY_BYTES),
        )
        .add(
            "/e/{uai}/r/{rubrique}/{plugin}/{*rest}",
            on_get(plugins::plugin_request)
                .post(plugins::plugin_request)
                .body_limit(uploads::MAX_UPLOAD_BODY_BYTES),
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
            on_get(rubriques::admin_confirm_delete).post(rubriques::admin_delete),
        )
        .add(
            "/admin/e/{uai}/rubriques/{rubrique}/droits/{plugin}",
            on_get(directory::rights).post(directory::save_rights),
        )
        .add(
            "/admin/e/{uai}/rubriques/{rubrique}/droits/{plugin}/objet/{scope}",
            on_get(directory::rights).post(directory::save_rights),
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
        .add("/e/{uai}/mes-groupes", on_get(directory::my_groups))
        .add(
            "/e/{uai}/mes-groupes/{id}",
            on_get(directory::my_group).post(directory::update_my_group),
        )
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
        .add("/admin/e/{uai}/structure", on_get(structure::overview))
        .add(
            "/admin/e/{uai}/structure/annee",
            on_post(structure::save_year),
        )
        .add(
            "/admin/e/{uai}/structure/calendrier",
            on_post(structure::load_calendar),
        )
        .add(
            "/admin/e/{uai}/structure/droits",
            on_get(structure::rights).post(structure::save_rights),
        )
        .add(
            "/admin/e/{uai}/structure/periodes",
            on_get(structure::list).post(structure::create),
        )
        .add(
            "/admin/e/{uai}/structure/periodes/{id}",
            on_get(structure::edit).post(structure::save),
        )
        .add(
            "/admin/e/{uai}/structure/periodes/{id}/supprimer",
            on_get(structure::confirm_delete).post(structure::delete),
        )
        .add(
            "/admin/e/{uai}/structure/fermetures",
            on_get(structure::list).post(structure::create),
        )
        .add(
            "/admin/e/{uai}/structure/fermetures/{id}",
            on_get(structure::edit).post(structure::save),
        )
        .add(
            "/admin/e/{uai}/structure/fermetures/{id}/supprimer",
            on_get(structure::confirm_delete).post(structure::delete),
        )
        .add(
            "/admin/e/{uai}/structure/creneaux",
            on_get(structure::list).post(structure::create),
        )
        .add(
            "/admin/e/{uai}/structure/creneaux/{id}",
            on_get(structure::edit).post(structure::save),
        )
        .add(
            "/admin/e/{uai}/structure/creneaux/{id}/supprimer",
            on_get(structure::confirm_delete).post(structure::delete),
        )
        .add(
            "/admin/e/{uai}/structure/matieres",
            on_get(structure::list).post(structure::create),
        )
        .add(
            "/admin/e/{uai}/structure/matieres/{id}",
            on_get(structure::edit).post(structure::save),
        )
        .add(
            "/admin/e/{uai}/structure/matieres/{id}/supprimer",
            on_get(structure::confirm_delete).post(structure::delete),
        )
        .add(
            "/admin/e/{uai}/structure/salles",
            on_get(structure::list).post(structure::create),
        )
        .add(
            "/admin/e/{uai}/structure/salles/{id}",
            on_get(structure::edit).post(structure::save),
        )
        .add(
            "/admin/e/{uai}/structure/salles/{id}/supprimer",
            on_get(structure::confirm_delete).post(structure::delete),
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
        .add("/cas/logout", on_get(cas::logout_form).post(cas::logout))
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
        // A request's plugin calls share one blocking task per poll (runtime::batch).
        .layer(axum::middleware::from_fn(gather_plugin_calls))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::end_closed_sessions,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(storage_full::keep_form_text))
        .layer(axum::middleware::map_response(guard_html))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            same_origin_posts,
        ))
        .layer(axum::middleware::map_response_with_state(
            app.clone(),
            security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            metrics::record,
        ))
        .layer(axum::middleware::from_fn_with_state(app.clone(), in_flight))
        .with_state(app)
}

async fn gather_plugin_calls(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    crate::runtime::batch::gathering(next.run(request)).await
}

/// Counts the request as in flight while it is answered (what a shutdown
/// waits for, and reports as cut if the grace period runs out).
async fn in_flight(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let _counted = app.shutdown.request();
    next.run(request).await
}

/// Every HTML page passes [`crate::html::guard`]: whatever a template (a
/// plugin's included) wrote, no `meta refresh`, `base`, event attribute or
/// `javascript:` URL reaches a visitor. A page marked
/// [`pages::PluginOutputGuarded`] (the home page: its plugin blocks were
/// guarded when rendered, and cached so) is not passed again.
async fn guard_html(response: Response) -> Response {
    if response
        .extensions()
        .get::<pages::PluginOutputGuarded>()
        .is_some()
    {
        return response;
    }
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return axum::response::IntoResponse::into_response(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let guarded = crate::html::guard(&String::from_utf8_lossy(&bytes));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(guarded))
}

/// Every POST, before its CSRF token is even read: its `Origin` (else its
/// `Referer`) must be the portal's origin — [`crate::Config::public_url`]'s,
/// or without it the request's own `Host` — else a French 403 page. Defence
/// in depth beside the CSRF token. A POST with neither header passes (the
/// CSRF token still guards it): browsers send `Origin` on every cross-site
/// POST, so only non-browser clients (curl, scripts, tests) omit both.
async fn same_origin_posts(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST
        || same_origin(app.config.public_url.as_ref(), request.headers())
    {
        return next.run(request).await;
    }
    let visitor = Visitor::from_headers(&app, request.headers(), request.uri().path());
    error_page(
        &app,
        &visitor,
        None,
        StatusCode::FORBIDDEN,
        "Envoi refusé",
        "Ce formulaire a été envoyé depuis un autre site que le portail. Revenez sur la page du \
         portail et recommencez.",
    )
}

/// Whether a request's `Origin` (or `Referer` without it) is the portal's
/// origin; true when it has neither.
fn same_origin(public_url: Option<&url::Url>, headers: &axum::http::HeaderMap) -> bool {
    let claimed = match (headers.get(header::ORIGIN), headers.get(header::REFERER)) {
        (Some(origin), _) => origin,
        (None, Some(referer)) => referer,
        (None, None) => return true,
    };
    // `Origin: null` (sandboxed frames, some redirects) parses as no URL: refused.
    let Some(claimed) = claimed
        .to_str()
        .ok()
        .and_then(|text| url::Url::parse(text).ok())
    else {
        return false;
    };
    match public_url {
        Some(public) => claimed.origin() == public.origin(),
        // Without a public address the scheme is unknown (a TLS proxy in
        // front): the host and port must be the `Host` header's.
        None => {
            let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
                return false;
            };
            let Some(claimed_host) = claimed.host_str() else {
                return false;
            };
            let claimed_authority = match claimed.port() {
                Some(port) => format!("{claimed_host}:{port}"),
                None => claimed_host.to_string(),
            };
            let default_port = match claimed.scheme() {
                "https" => ":443",
                _ => ":80",
            };
            let host = host.trim().to_ascii_lowercase();
            host == claimed_authority
                || host.strip_suffix(default_port) == Some(claimed_authority.as_str())
        }
    }
}

/// Headers on every response: no scripts at all, frames only from the embed providers.
/// A host handler may have set a stricter policy (the uploaded banner's
/// `default-src 'none'`); plugins cannot set this header. Behind an
/// `https://` public address, HSTS too.
async fn security_headers(State(app): State<Arc<App>>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if app.config.public_url_is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
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
    visitor: Visitor,
) -> Response {
    error_page(
        &app,
        &visitor,
        None,
        StatusCode::NOT_FOUND,
        "Page introuvable",
        "L'adresse demandée n'existe pas ou n'est plus disponible.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn a_post_must_come_from_the_portal() {
        let public = url::Url::parse("https://ent.exemple.fr/").unwrap();
        let public = Some(&public);
        assert!(same_origin(public, &headers(&[])), "no header: passes");
        assert!(same_origin(
            public,
            &headers(&[("origin", "https://ent.exemple.fr")])
        ));
        assert!(same_origin(
            public,
            &headers(&[("referer", "https://ent.exemple.fr/login?next=/")])
        ));
        for foreign in [
            "https://evil.example",
            "http://ent.exemple.fr",
            "https://ent.exemple.fr:8443",
            "null",
        ] {
            assert!(
                !same_origin(public, &headers(&[("origin", foreign)])),
                "{foreign}"
            );
        }
        // Origin wins over Referer.
        assert!(!same_origin(
            public,
            &headers(&[
                ("origin", "https://evil.example"),
                ("referer", "https://ent.exemple.fr/")
            ])
        ));
        // Without a public address: the Host header.
        let host = |h: &str, o: &str| same_origin(None, &headers(&[("host", h), ("origin", o)]));
        assert!(host("127.0.0.1:8080", "http://127.0.0.1:8080"));
        assert!(host("ent.exemple.fr", "https://ent.exemple.fr"));
        assert!(host("ent.exemple.fr:443", "https://ent.exemple.fr"));
        assert!(!host("127.0.0.1:8080", "http://127.0.0.1:9090"));
        assert!(!host("ent.exemple.fr", "https://evil.example"));
    }
}
