//! « Vie scolaire »: the administration of an establishment's school
//! structure (`/admin/e/{uai}/structure…`): the year and its periods,
//! closures and the zone calendar, créneaux, subjects, rooms, and the right
//! « Accès gestionnaire vie scolaire ».
//!
//! Every handler takes a [`Manager`]: the establishment's administrators and
//! holders of the right there, nobody else (an anonymous visitor is sent to
//! sign in, anyone else gets 403 — another establishment's administrator
//! too). Who holds the right is set by administrators only
//! ([`EstablishmentAdmin`] on `…/structure/droits`).

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use crate::App;
use crate::directory::{Establishment, PROFILES, User};
use crate::structure::{
    self, FieldErrors, Kind, Refused, SchoolYear, Structure, calendar, managers,
};
use crate::web::extract::{
    CheckedForm, EstablishmentAdmin, EstablishmentOf, Form, all, field, query_value,
};
use crate::web::pages::{AppError, WebResult, forbidden, render};
use crate::web::visitor::Visitor;

mod items;
pub use items::*;

/// A person who manages the structure of the URL's establishment.
pub struct Manager {
    pub visitor: Visitor,
    pub user: User,
    pub establishment: Establishment,
}

impl FromRequestParts<Arc<App>> for Manager {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let EstablishmentOf {
            visitor,
            establishment,
        } = EstablishmentOf::from_request_parts(parts, app).await?;
        let Some(user) = visitor.user.clone() else {
            return Err(forbidden(app, &visitor, None));
        };
        match managers::may_manage(&app.directory, &user, &establishment.uai) {
            Ok(true) => Ok(Manager {
                visitor,
                user,
                establishment,
            }),
            Ok(false) => Err(forbidden(app, &visitor, None)),
            Err(e) => Err(AppError::from(e).into_response()),
        }
    }
}

impl Manager {
    fn uai(&self) -> &str {
        &self.establishment.uai
    }

    /// `/admin/e/{uai}/structure`.
    fn base(&self) -> String {
        base_url(self.uai())
    }

    fn audit(&self, app: &App, action: &str, target: &str) -> anyhow::Result<()> {
        app.directory.audit_in(
            &self.user,
            self.uai(),
            &format!("vie scolaire : {action}"),
            target,
        )
    }
}

fn base_url(uai: &str) -> String {
    format!("/admin/e/{uai}/structure")
}

/// The pages of the « Vie scolaire » navigation: (slug, label).
const SECTIONS: &[(&str, &str)] = &[
    ("", "Vue d'ensemble"),
    ("periodes", "Année scolaire et périodes"),
    ("fermetures", "Fermetures"),
    ("creneaux", "Créneaux"),
    ("matieres", "Matières"),
    ("salles", "Salles"),
];

/// What every « Vie scolaire » page shows around its content.
fn chrome(m: &Manager, current: &str) -> Value {
    let base = m.base();
    let sections: Vec<Value> = SECTIONS
        .iter()
        .map(|(slug, label)| {
            let url = if slug.is_empty() {
                base.clone()
            } else {
                format!("{base}/{slug}")
            };
            json!({ "url": url, "label": label, "current": *slug == current })
        })
        .collect();
    let admin = m.user.administers(m.uai());
    json!({
        "establishment": { "uai": m.uai(), "name": m.establishment.name },
        "sections": sections,
        "base_url": base,
        "is_admin": admin,
        "rights_url": admin.then(|| format!("{base}/droits")),
    })
}

/// Field errors as the templates read them (field → message, the first per field).
fn errors_map(errors: &FieldErrors, prefix: &str) -> Map<String, Value> {
    let mut map = Map::new();
    for (field, message) in errors {
        map.entry(format!("{prefix}{field}"))
            .or_insert_with(|| Value::String(message.clone()));
    }
    map
}

/// The weeks of the year, Monday first, with their period and closures.
fn weeks(structure: &Structure, year: &SchoolYear) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut monday = year.first.monday();
    while monday <= year.last {
        let friday = monday.add_days(4);
        let period = structure
            .periods
            .iter()
            .find(|p| p.first <= friday && monday <= p.last)
            .map(|p| p.name.clone());
        let closures: Vec<String> = structure
            .closures
            .iter()
            .filter(|c| c.first <= friday && monday <= c.last)
            .map(|c| c.name.clone())
            .collect();
        // A week without a school day (Monday to Friday) inside the year and open.
        let open_days = (0..5)
            .map(|d| monday.add_days(d))
            .filter(|d| year.first <= *d && *d <= year.last && structure.closure_on(*d).is_none())
            .count();
        rows.push(json!({
            "monday": monday.french_long(),
            "range": format!("{} – {}", monday.day_month(), friday.day_month()),
            "period": period,
            "closures": closures,
            "open_days": open_days,
            "closed": open_days == 0,
        }));
        monday = monday.add_days(7);
    }
    rows
}

/// GET /admin/e/{uai}/structure — the year as a list of weeks with its closures.
pub async fn overview(State(app): State<Arc<App>>, m: Manager) -> WebResult {
    let structure = Structure::load(app.directory.store(), m.uai())?;
    let mut context = chrome(&m, "");
    context["year"] = json!(structure.year.as_ref().map(|y| json!({
        "label": y.label(),
        "first": y.first.french(),
        "last": y.last.french(),
    })));
    context["weeks"] = json!(
        structure
            .year
            .as_ref()
            .map(|y| weeks(&structure, y))
            .unwrap_or_default()
    );
    context["zone"] = json!(structure.zone.as_deref().and_then(calendar::zone_label));
    context["counts"] = json!({
        "periodes": structure.periods.len(),
        "fermetures": structure.closures.len(),
        "creneaux": structure.slots.len(),
        "matieres": structure.subjects.len(),
        "salles": structure.rooms.len(),
    });
    Ok(render(
        &app,
        &m.visitor,
        Some(&m.establishment),
        "admin/structure.html",
        "Vie scolaire",
        StatusCode::OK,
        context,
    ))
}

/// POST /admin/e/{uai}/structure/annee — creates the year or moves its days.
pub async fn save_year(
    State(app): State<Arc<App>>,
    m: Manager,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let typed = |name: &str| field(&form, name);
    let outcome = match structure::parse_year(&typed) {
        Ok((first, last)) => {
            match structure::save_year(app.directory.store(), m.uai(), first, last)? {
                Ok(year) => Ok(year),
                Err(Refused::Invalid(errors)) => Err(errors),
                Err(Refused::NotFound) => Err(vec![("debut", "Année introuvable.".into())]),
            }
        }
        Err(errors) => Err(errors),
    };
    match outcome {
        Ok(year) => {
            m.audit(&app, "année scolaire", &year.label())?;
            Ok(Redirect::to(&format!("{}/periodes?ok=annee", m.base())).into_response())
        }
        Err(errors) => {
            let year_form = json!({ "debut": typed("debut"), "fin": typed("fin"), "errors": errors_map(&errors, "annee_") });
            Ok(items::list_page(
                &app,
                &m,
                Kind::Period,
                Some(year_form),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )?)
        }
    }
}

/// POST /admin/e/{uai}/structure/calendrier — sets the zone and adds its
/// holidays and bank holidays for the year (those already there are kept, not doubled).
pub async fn load_calendar(
    State(app): State<Arc<App>>,
    m: Manager,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let zone = field(&form, "zone");
    let store = app.directory.store();
    let current = Structure::load(store, m.uai())?;
    let refuse = |message: String| -> WebResult {
        let form = json!({ "zone": zone, "errors": { "zone": message } });
        Ok(items::list_page(
            &app,
            &m,
            Kind::Closure,
            None,
            Some(form),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?)
    };
    if calendar::zone_label(&zone).is_none() {
        return refuse("Choisissez la zone de vacances de l'établissement.".into());
    }
    if let Err(Refused::Invalid(errors)) = structure::save_zone(store, m.uai(), Some(&zone))? {
        return refuse(
            errors
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let Some(year) = current.year else {
        return refuse(
            "Enregistrez d'abord l'année scolaire (page « Année scolaire et périodes »).".into(),
        );
    };
    let closures = match calendar::closures_for(&year, &zone) {
        Ok(closures) => closures,
        Err(message) => return refuse(message),
    };
    let added = match structure::add_closures(store, m.uai(), &closures)? {
        Ok(added) => added,
        Err(_) => return refuse("Enregistrez d'abord l'année scolaire.".into()),
    };
    let label = calendar::zone_label(&zone).unwrap_or_default();
    m.audit(
        &app,
        "calendrier scolaire chargé",
        &format!("{label} {}", year.label()),
    )?;
    Ok(Redirect::to(&format!("{}/fermetures?ajoutees={added}", m.base())).into_response())
}

/// GET /admin/e/{uai}/structure/droits — who holds « Accès gestionnaire vie scolaire ».
pub async fn rights(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    uri: Uri,
) -> WebResult {
    rights_page(
        &app,
        &t.visitor,
        &t.establishment,
        &query_value(&uri, "onglet"),
        None,
        StatusCode::OK,
    )
}

fn rights_page(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    tab: &str,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult {
    let uai = &establishment.uai;
    let grants = managers::grants(&app.directory, uai)?;
    let role = managers::ROLE;
    let mut populations: Vec<Value> = PROFILES
        .iter()
        .map(|(code, label)| json!({ "key": format!("profil:{code}"), "label": format!("Profil : {label}"),
                                     "roles": grants.profiles.get(*code).cloned().unwrap_or_default() }))
        .collect();
    populations.extend(app.directory.groups(uai)?.iter().map(|g| {
        json!({ "key": format!("groupe:{}", g.id), "label": format!("Groupe : {}", g.name),
                "roles": grants.groups.get(&g.id).cloned().unwrap_or_default() })
    }));
    let users: Vec<Value> = grants
        .users
        .keys()
        .filter_map(|id| app.directory.user(id).ok().flatten())
        .map(|u| json!({ "id": u.id, "name": u.display_name(), "login": u.login, "roles": [managers::ROLE_LABEL] }))
        .collect();
    let base = format!("{}/droits", base_url(uai));
    Ok(render(
        app,
        visitor,
        Some(establishment),
        "admin/rights.html",
        "Droits d'accès — Vie scolaire",
        status,
        json!({
            "establishment": { "uai": uai, "name": establishment.name },
            "plugin": { "id": "structure", "name": "Vie scolaire" },
            "tab": if tab == "utilisateurs" { "utilisateurs" } else { "populations" },
            "roles": [{ "id": role, "label": managers::ROLE_LABEL,
                        "permissions": ["Année scolaire, périodes, fermetures, créneaux, matières et salles"] }],
            "populations": populations,
            "users": users,
            "populations_url": format!("{base}?onglet=populations"),
            "users_url": format!("{base}?onglet=utilisateurs"),
            "action_url": base,
            "error": error,
            "back_url": base_url(uai),
        }),
    ))
}

/// POST /admin/e/{uai}/structure/droits — `tab=populations`: the checked
/// profiles and groups; `tab=utilisateurs`: grant to a person (`login`) or
/// withdraw (`remove`).
pub async fn save_rights(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let uai = t.establishment.uai.clone();
    let mut grants = managers::grants(&app.directory, &uai)?;
    let tab = match field(&form, "tab").as_str() {
        "utilisateurs" => "utilisateurs",
        "populations" => "populations",
        // A form from no page of ours: nothing to save, rather than every population cleared.
        _ => {
            let error = "Formulaire incomplet : rechargez la page et recommencez.";
            return rights_page(
                &app,
                &t.visitor,
                &t.establishment,
                "populations",
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let role = managers::ROLE.to_string();
    if tab == "utilisateurs" {
        let remove = field(&form, "remove");
        if !remove.is_empty() {
            grants.users.remove(&remove);
        } else {
            let person = app
                .directory
                .user_by_login(&field(&form, "login"))?
                .filter(|u| u.membership(&uai).is_some());
            let Some(person) = person else {
                let error = "Aucune personne de cet établissement n'a cet identifiant.";
                return rights_page(
                    &app,
                    &t.visitor,
                    &t.establishment,
                    tab,
                    Some(error),
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            };
            grants.users.insert(person.id, vec![role.clone()]);
        }
    } else {
        let groups = app.directory.groups(&uai)?;
        grants.profiles.clear();
        grants.groups.clear();
        for value in all(&form, "grant") {
            let Some((population, granted)) = value.split_once('|') else {
                continue;
            };
            if granted != role {
                continue;
            }
            match population.split_once(':') {
                Some(("profil", code)) if PROFILES.iter().any(|(c, _)| *c == code) => {
                    grants.profiles.insert(code.to_string(), vec![role.clone()]);
                }
                Some(("groupe", id)) if groups.iter().any(|g| g.id == id) => {
                    grants.groups.insert(id.to_string(), vec![role.clone()]);
                }
                _ => {}
            }
        }
    }
    managers::put_grants(&app.directory, &uai, &grants)?;
    app.directory
        .audit_in(&t.user, &uai, "droits d'accès", managers::ROLE_LABEL)?;
    Ok(Redirect::to(&format!("{}/droits?onglet={tab}", base_url(&uai))).into_response())
}

/// The form fields a handler reads, as a closure the structure's parsers take.
fn typed(form: &Form) -> impl Fn(&str) -> String + '_ {
    move |name| field(form, name)
}
