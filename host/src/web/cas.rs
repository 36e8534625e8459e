//! A CAS 2.0/3.0 server, so that connectors of type `cas` sign people in:
//! `/cas/login` issues one-time service tickets, `/cas/serviceValidate` and
//! `/cas/p3/serviceValidate` redeem them, `/cas/logout` asks, then signs out on POST.
//!
//! A service may use CAS only if its URL belongs to an active `cas` connector
//! that the signed-in person may open in one of their establishments.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::extract::parse_query;
use super::pages::{WebResult, error_page, render};
use super::visitor::Visitor;
use crate::App;
use crate::directory::{User, random_token};
use crate::services::{self, Viewer};

/// How long a service ticket may wait to be validated.
const TICKET_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Beyond this many unredeemed tickets, new ones are refused (memory bound).
const MAX_TICKETS: usize = 100_000;

/// A service ticket waiting to be validated.
struct Ticket {
    service: String,
    user_id: String,
    uai: String,
    issued: Instant,
}

/// Outstanding service tickets. They live in memory only: they last five
/// minutes and are used once, so a restart merely makes pending sign-ins retry.
#[derive(Default)]
pub struct Tickets {
    tickets: Mutex<HashMap<String, Ticket>>,
}

impl Tickets {
    /// A new `ST-…` ticket for (service, user, establishment); None when full.
    fn issue(&self, service: &str, user_id: &str, uai: &str) -> Option<String> {
        let mut tickets = self.tickets.lock().expect("verrou");
        tickets.retain(|_, t| t.issued.elapsed() < TICKET_LIFETIME);
        if tickets.len() >= MAX_TICKETS {
            return None;
        }
        // 256 random bits, hex: URL-safe.
        let id = format!("ST-{}{}", random_token(), random_token());
        tickets.insert(
            id.clone(),
            Ticket {
                service: service.to_string(),
                user_id: user_id.to_string(),
                uai: uai.to_string(),
                issued: Instant::now(),
            },
        );
        Some(id)
    }

    /// Takes a ticket out: whatever the outcome, it can never be used again.
    fn redeem(&self, id: &str) -> Option<Ticket> {
        let ticket = self.tickets.lock().expect("verrou").remove(id)?;
        (ticket.issued.elapsed() < TICKET_LIFETIME).then_some(ticket)
    }
}

/// Escapes text for XML content and attributes: the HTML escaper, once the
/// characters XML 1.0 cannot carry at all are dropped.
pub fn xml_escape(text: &str) -> String {
    let carried: String = text
        .chars()
        .filter(|&c| (c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    preau_text::escape(&carried)
}

fn query_param(uri: &Uri, name: &str) -> String {
    parse_query(uri.query())
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// The establishment in which `user` may use CAS for `service`, if any.
fn allowed_establishment(app: &App, user: &User, service: &str) -> anyhow::Result<Option<String>> {
    let region = services::region_catalogue(&app.directory)?;
    for membership in &user.memberships {
        let uai = &membership.uai;
        let local = services::establishment_catalogue(&app.directory, uai)?;
        let closed = app
            .directory
            .closed(user, uai, crate::directory::now())?
            .is_some();
        let viewer = Viewer::of(Some(user), uai, closed);
        // CAS connectors are never plugins: no need to list them.
        let allowed = services::resolve(&region, &local, &[]).iter().any(|s| {
            s.sso == "cas" && s.visible_to(&viewer) && services::service_matches(&s.url, service)
        });
        if allowed {
            return Ok(Some(uai.clone()));
        }
    }
    Ok(None)
}

/// Whether `service` belongs to an active `cas` connector anywhere in the
/// region (for redirects that involve nobody's rights: gateway, sign-out).
fn known_cas_service(app: &App, service: &str) -> anyhow::Result<bool> {
    let region = services::region_catalogue(&app.directory)?;
    let mut connectors: Vec<services::Connector> = region.connectors;
    for (_, local) in services::all_establishment_catalogues(&app.directory)? {
        connectors.extend(local.connectors);
    }
    Ok(connectors
        .iter()
        .any(|c| c.active && c.sso == "cas" && services::service_matches(&c.url, service)))
}

fn refused(app: &App, visitor: &Visitor) -> Response {
    error_page(
        app,
        visitor,
        None,
        StatusCode::FORBIDDEN,
        "Service non autorisé pour l'authentification unique",
        "Ce service n'est pas déclaré comme connecteur CAS de vos établissements, ou vous n'y avez pas accès. Adressez-vous à l'administrateur de votre établissement.",
    )
}

/// `service` with `ticket=…` added to its query (before any fragment).
fn with_ticket(service: &str, ticket: &str) -> String {
    let (base, fragment) = match service.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (service, None),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{separator}ticket={ticket}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// GET /cas/login?service=…
pub async fn login(State(app): State<Arc<App>>, visitor: Visitor, uri: Uri) -> WebResult {
    let service = query_param(&uri, "service");
    let Some(user) = visitor.user.clone() else {
        if query_param(&uri, "gateway") == "true"
            && !service.is_empty()
            && known_cas_service(&app, &service)?
        {
            return Ok(Redirect::to(&service).into_response());
        }
        let back = if service.is_empty() {
            "/cas/login".to_string()
        } else {
            format!(
                "/cas/login?service={}",
                url::form_urlencoded::byte_serialize(service.as_bytes()).collect::<String>()
            )
        };
        let next = url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>();
        return Ok(visitor.finish(
            Redirect::to(&format!("/login?next={next}")).into_response(),
            app.config.https(),
        ));
    };
    if service.is_empty() {
        return Ok(Redirect::to("/").into_response());
    }
    let Some(uai) = allowed_establishment(&app, &user, &service)? else {
        return Ok(refused(&app, &visitor));
    };
    let Some(ticket) = app.cas_tickets.issue(&service, &user.id, &uai) else {
        return Ok(error_page(
            &app,
            &visitor,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            "Service momentanément indisponible",
            "Trop de connexions sont en cours. Réessayez dans quelques minutes.",
        ));
    };
    Ok(Redirect::to(&with_ticket(&service, &ticket)).into_response())
}

fn xml_response(body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn failure(code: &str, message: &str) -> Response {
    xml_response(format!(
        "<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">\n  \
         <cas:authenticationFailure code=\"{}\">{}</cas:authenticationFailure>\n\
         </cas:serviceResponse>\n",
        xml_escape(code),
        xml_escape(message)
    ))
}

/// GET /cas/serviceValidate and /cas/p3/serviceValidate?ticket=…&service=…
pub async fn service_validate(State(app): State<Arc<App>>, uri: Uri) -> WebResult {
    let (ticket_id, service) = (query_param(&uri, "ticket"), query_param(&uri, "service"));
    if ticket_id.is_empty() || service.is_empty() {
        return Ok(failure(
            "INVALID_REQUEST",
            "Les paramètres « ticket » et « service » sont obligatoires.",
        ));
    }
    let Some(ticket) = app.cas_tickets.redeem(&ticket_id) else {
        return Ok(failure(
            "INVALID_TICKET",
            &format!("Ticket « {ticket_id} » inconnu, expiré ou déjà utilisé."),
        ));
    };
    if ticket.service != service {
        return Ok(failure(
            "INVALID_SERVICE",
            &format!("Le ticket n'a pas été délivré pour le service « {service} »."),
        ));
    }
    let user = app.directory.user(&ticket.user_id)?.filter(|u| !u.blocked);
    let Some(user) = user else {
        return Ok(failure(
            "INVALID_TICKET",
            &format!("Ticket « {ticket_id} » : le compte n'est plus actif."),
        ));
    };
    let profile = user
        .membership(&ticket.uai)
        .map(|m| m.profile.clone())
        .unwrap_or_default();
    let attribute =
        |name: &str, value: &str| format!("      <cas:{name}>{}</cas:{name}>\n", xml_escape(value));
    let mut attributes = String::new();
    attributes.push_str(&attribute("uai", &ticket.uai));
    attributes.push_str(&attribute("profile", &profile));
    attributes.push_str(&attribute("displayName", &user.display_name()));
    attributes.push_str(&attribute("firstName", &user.first_name));
    attributes.push_str(&attribute("lastName", &user.last_name));
    Ok(xml_response(format!(
        "<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">\n  \
         <cas:authenticationSuccess>\n    <cas:user>{}</cas:user>\n    <cas:attributes>\n{attributes}    </cas:attributes>\n  \
         </cas:authenticationSuccess>\n</cas:serviceResponse>\n",
        xml_escape(&user.login)
    )))
}

/// GET /cas/logout?service=… — no GET changes state (an `<img>` in user content
/// may point here): a signed-in person sees a confirmation form that POSTs the
/// sign-out; a visitor already signed out goes on as after a sign-out.
pub async fn logout_form(State(app): State<Arc<App>>, visitor: Visitor, uri: Uri) -> WebResult {
    let service = query_param(&uri, "service");
    if visitor.user.is_none() {
        return signed_out(&app, &visitor, &service);
    }
    let service = if !service.is_empty() && known_cas_service(&app, &service)? {
        service
    } else {
        String::new()
    };
    Ok(render(
        &app,
        &visitor,
        None,
        "cas_logout.html",
        "Se déconnecter ?",
        StatusCode::OK,
        json!({ "service": service }),
    ))
}

/// POST /cas/logout (CSRF, `service`) — signs out here; goes back to `service`
/// only if it is a known CAS connector (never an open redirect).
pub async fn logout(
    State(app): State<Arc<App>>,
    mut visitor: Visitor,
    body: axum::body::Bytes,
) -> WebResult {
    let form = crate::forms::parse_form(&body).unwrap_or_default();
    if visitor.session.is_some() && !visitor.csrf_valid(&form) {
        return Ok(super::pages::csrf_rejected(&app, &visitor));
    }
    let service = form
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let cookie = super::auth::sign_out(&app, &visitor)?;
    visitor.user = None;
    visitor.session = None;
    let mut response = signed_out(&app, &visitor, &service)?;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// After a sign-out: back to `service` if it is a known CAS connector, else the
/// « Vous êtes déconnecté » page.
fn signed_out(app: &App, visitor: &Visitor, service: &str) -> WebResult {
    Ok(if !service.is_empty() && known_cas_service(app, service)? {
        Redirect::to(service).into_response()
    } else {
        render(
            app,
            visitor,
            None,
            "signed_out.html",
            "Déconnexion",
            StatusCode::OK,
            json!({}),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn ticket_goes_in_the_query() {
        assert_eq!(
            with_ticket("https://a.fr/x", "ST-1"),
            "https://a.fr/x?ticket=ST-1"
        );
        assert_eq!(
            with_ticket("https://a.fr/x?y=1#top", "ST-1"),
            "https://a.fr/x?y=1&ticket=ST-1#top"
        );
    }

    #[test]
    fn tickets_are_used_once() {
        let tickets = Tickets::default();
        let id = tickets.issue("https://a.fr/", "u1", "0420003A").unwrap();
        assert!(id.starts_with("ST-") && id.len() >= 35);
        assert!(tickets.redeem(&id).is_some());
        assert!(tickets.redeem(&id).is_none());
    }
}
