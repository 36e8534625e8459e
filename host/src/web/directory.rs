//! The directory's administration (annuaire): search, create and edit people,
//! groups, rights per plugin, access windows, identifiers files, audit log;
//! and the self-service pages of every signed-in person (`/compte`).
//!
//! Every handler checks rights server-side: `target(…)` lets only the region
//! administrator and the establishment's administrators in, and a person is
//! only reachable from an establishment they belong to.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::admin::{Target, checked_form, target};
use super::plugins::Access;
use super::{Visitor, WebResult, error_page, forbidden, parse_query, render};
use crate::App;
use crate::directory::identifiers::{self, IdentifierRow};
use crate::directory::search::{self, Query};
use crate::directory::{
    AccessWindow, GROUP_KINDS, Grants, Group, Membership, PROFILES, User, naming, now,
    password_policy,
};

/// Decoded form fields.
pub(super) type Form = Vec<(String, String)>;

/// A submitted field, trimmed (empty if absent).
pub(super) fn field(form: &Form, name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

pub(super) fn all(form: &Form, name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn query_value(uri: &Uri, name: &str) -> String {
    parse_query(uri.query())
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn profile_label(code: &str) -> &'static str {
    PROFILES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("Inconnu")
}

fn profiles_view() -> Vec<Value> {
    PROFILES
        .iter()
        .map(|(code, label)| json!({ "code": code, "label": label }))
        .collect()
}

/// A French date (`28/11/2026`) of a Unix time, in Paris time (day precision).
fn date_fr(ts: i64) -> String {
    crate::theme::format_date_fr(ts)
        .split(" à ")
        .next()
        .unwrap_or("")
        .to_string()
}

/// Parses `AAAA-MM-JJ` (an `<input type=date>`) to Unix seconds at 00:00 Paris time.
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d): (i64, u32, u32) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    if parts.next().is_some()
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
        || !(1970..=9999).contains(&y)
    {
        return None;
    }
    let days = crate::theme::days_from_civil(y, m, d);
    let (yy, mm, dd) = crate::theme::civil_from_days(days);
    if (yy, mm, dd) != (y, m, d) {
        return None; // 31 février
    }
    // Midnight in Paris: 23:00 or 22:00 UTC the day before.
    let midnight_utc = days * 86_400;
    Some(midnight_utc - crate::theme::paris_offset(midnight_utc))
}

/// State of an account, as the directory shows it.
fn state_label(user: &User) -> &'static str {
    if user.blocked {
        "Bloqué"
    } else if user.last_login.is_none() {
        "Jamais connecté"
    } else {
        "Opérationnel"
    }
}

fn user_row(user: &User, uai: &str) -> Value {
    let membership = user.membership(uai);
    json!({
        "id": user.id,
        "last_name": user.last_name,
        "first_name": user.first_name,
        "login": user.login,
        "profile": membership.map(|m| profile_label(&m.profile)).unwrap_or(""),
        "state": state_label(user),
        "url": format!("/admin/e/{uai}/annuaire/u/{}", user.id),
    })
}

// ---------------------------------------------------------------- search

/// GET /admin/e/{uai}/annuaire — search by name prefix, in the establishment or the region.
pub async fn search_page(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let text = query_value(&uri, "q");
    let profile = query_value(&uri, "profil");
    let region_wide = query_value(&uri, "portee") == "region";
    let page: usize = query_value(&uri, "page")
        .parse()
        .unwrap_or(1)
        .clamp(1, 10_000);
    let class = query_value(&uri, "classe");
    let level = query_value(&uri, "niveau");
    let function = query_value(&uri, "fonction");
    let groups_here = app.directory.groups(&uai)?;
    // A class filter names one group; a level filter every class of that level.
    let group_filter: Option<Vec<String>> = if !class.is_empty() {
        Some(vec![class.clone()])
    } else if !level.is_empty() {
        Some(
            groups_here
                .iter()
                .filter(|g| g.kind == "classe" && g.level == level)
                .map(|g| g.id.clone())
                .collect(),
        )
    } else {
        None
    };
    let query = Query {
        text: text.clone(),
        scope: (!region_wide).then(|| uai.clone()),
        profile: (!profile.is_empty()).then(|| profile.clone()),
        groups: group_filter,
        function: (!function.is_empty()).then(|| function.clone()),
        page,
        per_page: 20,
    };
    let results = search::search(app.directory.store(), &query)?;
    let mut levels: Vec<&str> = groups_here
        .iter()
        .filter(|g| g.kind == "classe" && !g.level.is_empty())
        .map(|g| g.level.as_str())
        .collect();
    levels.sort();
    levels.dedup();
    let establishments = app.directory.establishments()?;
    let name_of = |code: &str| {
        establishments
            .iter()
            .find(|e| e.uai == code)
            .map(|e| e.name.clone())
            .unwrap_or_default()
    };
    let people: Vec<Value> = results
        .people
        .iter()
        .map(|p| {
            let here = p.profiles.iter().find(|(u, _)| *u == uai);
            let main = here.or(p.profiles.first());
            json!({
                "last_name": p.last_name,
                "first_name": p.first_name,
                "login": p.login,
                "profile": main.map(|(_, profile)| profile_label(profile)).unwrap_or(""),
                "establishment": main.map(|(u, _)| name_of(u)).unwrap_or_default(),
                "state": if p.blocked { "Bloqué" } else if p.never_signed_in { "Jamais connecté" } else { "Opérationnel" },
                // Only people of this establishment can be opened from here.
                // A person of another establishment opens in that establishment's
                // directory, for administrators of it (the form is per establishment).
                "url": match here {
                    Some(_) => Some(format!("/admin/e/{uai}/annuaire/u/{}", p.id)),
                    None => main
                        .filter(|(their_uai, _)| t.user.administers(their_uai))
                        .map(|(their_uai, _)| format!("/admin/e/{their_uai}/annuaire/u/{}", p.id)),
                },
            })
        })
        .collect();
    let link = |n: usize| {
        let pairs = [
            ("q", text.as_str()),
            ("profil", profile.as_str()),
            ("classe", class.as_str()),
            ("niveau", level.as_str()),
            ("fonction", function.as_str()),
            ("portee", if region_wide { "region" } else { "etab" }),
        ];
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.append_pair("page", &n.to_string());
        format!("/admin/e/{uai}/annuaire?{}", s.finish())
    };
    Ok(render(
        &app,
        &t.visitor,
        Some(&t.establishment),
        "admin/directory.html",
        "Annuaire",
        StatusCode::OK,
        json!({
            "establishment": t.establishment_json(),
            "q": text, "profile": profile, "region_wide": region_wide,
            "class": class, "level": level, "function": function,
            "classes": groups_here.iter().filter(|g| g.kind != "libre").map(|g| json!({ "id": g.id, "name": g.name })).collect::<Vec<_>>(),
            "levels": levels,
            "profiles": profiles_view(),
            "people": people,
            "page": page,
            "prev_url": (page > 1).then(|| link(page - 1)),
            "next_url": results.has_next.then(|| link(page + 1)),
            "new_url": format!("/admin/e/{uai}/annuaire/nouveau"),
            "groups_url": format!("/admin/e/{uai}/groupes"),
            "windows_url": format!("/admin/e/{uai}/acces"),
            "identifiers_url": format!("/admin/e/{uai}/identifiants"),
        }),
    ))
}

// ---------------------------------------------------------------- create

struct NewUser {
    profile: String,
    civility: String,
    first_name: String,
    last_name: String,
    email: String,
    phone_personal: String,
    phone_work: String,
    perenne: bool,
    groups: Vec<String>,
    functions: Vec<String>,
    disciplines: Vec<String>,
    pronote_id: String,
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 254
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
}

fn valid_phone(phone: &str) -> bool {
    let digits: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Reads and checks the person form; field errors in French.
/// `civility_optional`: accounts imported or seeded without a civilité can be
/// saved without choosing one; new accounts need it.
fn read_person(
    form: &Form,
    groups_here: &[Group],
    civility_optional: bool,
) -> (NewUser, serde_json::Map<String, Value>) {
    let person = NewUser {
        profile: field(form, "profile"),
        civility: field(form, "civility"),
        first_name: field(form, "first_name"),
        last_name: field(form, "last_name"),
        email: field(form, "email"),
        phone_personal: field(form, "phone_personal"),
        phone_work: field(form, "phone_work"),
        perenne: field(form, "perenne") == "oui",
        groups: all(form, "groups"),
        functions: field(form, "functions")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        disciplines: field(form, "disciplines")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        pronote_id: field(form, "pronote_id"),
    };
    let mut errors = serde_json::Map::new();
    let mut error = |name: &str, message: &str| {
        errors.insert(name.into(), json!(message));
    };
    if !PROFILES.iter().any(|(c, _)| *c == person.profile) {
        error("profile", "Choisissez un profil.");
    }
    let civility_ok = matches!(person.civility.as_str(), "M." | "Mme")
        || (civility_optional && person.civility.is_empty());
    if !civility_ok {
        error("civility", "Choisissez une civilité.");
    }
    for (name, value, label) in [
        ("first_name", &person.first_name, "Le prénom"),
        ("last_name", &person.last_name, "Le nom"),
    ] {
        if value.is_empty() {
            error(name, &format!("{label} est obligatoire."));
        } else if value.chars().count() > 80 {
            error(
                name,
                &format!("{label} ne doit pas dépasser 80 caractères."),
            );
        } else if !value.chars().any(char::is_alphabetic) {
            error(name, &format!("{label} doit contenir des lettres."));
        }
    }
    if !person.email.is_empty() && !valid_email(&person.email) {
        error(
            "email",
            "Adresse électronique invalide (exemple : prenom.nom@exemple.fr).",
        );
    }
    for name in ["phone_personal", "phone_work"] {
        let value = if name == "phone_personal" {
            &person.phone_personal
        } else {
            &person.phone_work
        };
        if !value.is_empty() && !valid_phone(value) {
            error(
                name,
                "Numéro de téléphone invalide (8 à 15 chiffres, par exemple 04 77 00 00 00).",
            );
        }
    }
    if let Some(unknown) = person
        .groups
        .iter()
        .find(|g| !groups_here.iter().any(|h| &h.id == *g))
    {
        error(
            "groups",
            &format!("Groupe inconnu dans cet établissement : « {unknown} »."),
        );
    }
    if person.pronote_id.chars().count() > 64 {
        error(
            "pronote_id",
            "L'identifiant Pronote ne doit pas dépasser 64 caractères.",
        );
    }
    (person, errors)
}

fn person_values(form: &Form) -> Value {
    json!({
        "profile": field(form, "profile"), "civility": field(form, "civility"),
        "first_name": field(form, "first_name"), "last_name": field(form, "last_name"),
        "email": field(form, "email"), "phone_personal": field(form, "phone_personal"),
        "phone_work": field(form, "phone_work"), "perenne": field(form, "perenne") == "oui",
        "groups": all(form, "groups"), "functions": field(form, "functions"),
        "disciplines": field(form, "disciplines"), "pronote_id": field(form, "pronote_id"),
    })
}

pub(super) fn groups_view(groups: &[Group]) -> Vec<Value> {
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

#[allow(clippy::too_many_arguments)]
fn create_page(
    app: &App,
    t: &Target,
    values: Value,
    errors: serde_json::Map<String, Value>,
    homonyms: Vec<Value>,
    groups: &[Group],
    status: StatusCode,
) -> Response {
    render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/user_new.html",
        "Créer un utilisateur",
        status,
        json!({
            "establishment": t.establishment_json(),
            "action_url": format!("/admin/e/{}/annuaire/nouveau", t.establishment.uai),
            "back_url": format!("/admin/e/{}/annuaire", t.establishment.uai),
            "profiles": profiles_view(),
            "groups": groups_view(groups),
            "values": values,
            "errors": errors,
            "homonyms": homonyms,
        }),
    )
}

/// GET /admin/e/{uai}/annuaire/nouveau
pub async fn new_user_form(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let groups = app.directory.groups(&uai)?;
    let values = json!({ "profile": "eleve", "civility": "", "perenne": true, "groups": [] });
    Ok(create_page(
        &app,
        &t,
        values,
        serde_json::Map::new(),
        Vec::new(),
        &groups,
        StatusCode::OK,
    ))
}

/// People anywhere in the region with the same first and last names.
fn homonyms(app: &App, first_name: &str, last_name: &str) -> anyhow::Result<Vec<Value>> {
    let query = Query {
        text: format!("{last_name} {first_name}"),
        scope: None,
        page: 1,
        per_page: 20,
        ..Default::default()
    };
    let (first, last) = (
        naming::search_key(first_name),
        naming::search_key(last_name),
    );
    let establishments = app.directory.establishments()?;
    Ok(search::search(app.directory.store(), &query)?
        .people
        .into_iter()
        .filter(|p| {
            naming::search_key(&p.first_name) == first && naming::search_key(&p.last_name) == last
        })
        .map(|p| {
            let (uai, profile) = p.profiles.first().cloned().unwrap_or_default();
            let establishment = establishments
                .iter()
                .find(|e| e.uai == uai)
                .map(|e| e.name.clone())
                .unwrap_or_default();
            json!({ "name": format!("{} {}", p.first_name, p.last_name), "login": p.login,
                    "profile": profile_label(&profile), "establishment": establishment })
        })
        .collect())
}

/// POST /admin/e/{uai}/annuaire/nouveau — shows homonyms first; creates when confirmed or when there are none.
pub async fn create_user(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let groups = app.directory.groups(&uai)?;
    let (person, errors) = read_person(&form, &groups, false);
    if !errors.is_empty() {
        return Ok(create_page(
            &app,
            &t,
            person_values(&form),
            errors,
            Vec::new(),
            &groups,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let found = homonyms(&app, &person.first_name, &person.last_name)?;
    if !found.is_empty() && field(&form, "confirm_homonyms") != "oui" {
        return Ok(create_page(
            &app,
            &t,
            person_values(&form),
            serde_json::Map::new(),
            found,
            &groups,
            StatusCode::OK,
        ));
    }
    let id = app.directory.new_id("u")?;
    let login = app
        .directory
        .claim_generated_login(&person.first_name, &person.last_name, &id)?;
    let password = password_policy::generate();
    let hash = app.passwords.hash(password.clone()).await?;
    let user = User {
        id: id.clone(),
        login: login.clone(),
        first_name: person.first_name,
        last_name: person.last_name,
        password_hash: hash,
        memberships: vec![Membership {
            uai: uai.clone(),
            profile: person.profile,
            admin: false,
            groups: person.groups,
            functions: person.functions,
            disciplines: person.disciplines,
        }],
        civility: person.civility,
        email: person.email,
        phone_personal: person.phone_personal,
        phone_work: person.phone_work,
        perenne: person.perenne,
        pronote_id: person.pronote_id,
        created_at: now(),
        pending_secret: Some(password.clone()),
        ..Default::default()
    };
    app.directory.save_user(None, &user)?;
    app.directory
        .audit_in(&t.user, &uai, "création d'un utilisateur", &login)?;
    Ok(user_page(
        &app,
        &t,
        &user,
        Some(&password),
        None,
        StatusCode::CREATED,
    )?)
}

// ---------------------------------------------------------------- edit

/// The user of an edit URL, if they belong to the establishment (or the caller is the region administrator).
fn member(app: &App, t: &Target, id: &str) -> Result<User, Response> {
    match app.directory.user(id) {
        Ok(Some(user))
            if user.membership(&t.establishment.uai).is_some() || t.user.region_admin =>
        {
            Ok(user)
        }
        Ok(_) => Err(error_page(
            app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::NOT_FOUND,
            "Utilisateur introuvable",
            "Aucun utilisateur de cet établissement ne correspond.",
        )),
        Err(e) => Err(super::AppError::from(e).into_response()),
    }
}

fn user_page(
    app: &App,
    t: &Target,
    user: &User,
    new_password: Option<&str>,
    errors: Option<serde_json::Map<String, Value>>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let base = format!("/admin/e/{uai}/annuaire/u/{}", user.id);
    let establishments = app.directory.establishments()?;
    let memberships: Vec<Value> = user
        .memberships
        .iter()
        .map(|m| {
            let name = establishments.iter().find(|e| e.uai == m.uai).map(|e| e.name.clone()).unwrap_or(m.uai.clone());
            let groups = app.directory.groups(&m.uai).unwrap_or_default();
            let group_names: Vec<String> =
                m.groups.iter().filter_map(|g| groups.iter().find(|x| &x.id == g).map(|x| x.name.clone())).collect();
            json!({ "uai": m.uai, "establishment": name, "profile": profile_label(&m.profile), "admin": m.admin,
                    "groups": group_names, "functions": m.functions, "disciplines": m.disciplines,
                    "remove_url": format!("{base}/rattachements/{}/supprimer", m.uai) })
        })
        .collect();
    let children: Vec<Value> = user
        .children
        .iter()
        .filter_map(|id| app.directory.user(id).ok().flatten())
        .map(|c| json!({ "id": c.id, "name": c.display_name(), "login": c.login, "url": format!("/admin/e/{uai}/annuaire/u/{}", c.id) }))
        .collect();
    let here = user.membership(uai);
    let groups = app.directory.groups(uai)?;
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/user.html",
        &format!("{} {}", user.first_name, user.last_name),
        status,
        json!({
            "establishment": t.establishment_json(),
            "person": {
                "id": user.id, "login": user.login, "civility": user.civility,
                "first_name": user.first_name, "last_name": user.last_name, "email": user.email,
                "phone_personal": user.phone_personal, "phone_work": user.phone_work,
                "perenne": user.perenne, "pronote_id": user.pronote_id, "blocked": user.blocked,
                "state": state_label(user),
                "created_at": user.created_at, "last_login": user.last_login,
                "groups": here.map(|m| m.groups.clone()).unwrap_or_default(),
                "functions": here.map(|m| m.functions.join("\n")).unwrap_or_default(),
                "disciplines": here.map(|m| m.disciplines.join("\n")).unwrap_or_default(),
                "profile": here.map(|m| m.profile.clone()).unwrap_or_default(),
            },
            "memberships": memberships,
            "children": children,
            "groups": groups_view(&groups),
            "profiles": profiles_view(),
            "establishments": establishments.iter().map(|e| json!({ "uai": e.uai, "name": e.name })).collect::<Vec<_>>(),
            "can_attach_elsewhere": t.user.region_admin,
            "new_password": new_password,
            "errors": errors.unwrap_or_default(),
            "update_url": base.clone(),
            "password_url": format!("{base}/mot-de-passe"),
            "block_url": format!("{base}/blocage"),
            "attach_url": format!("{base}/rattachements"),
            "child_url": format!("{base}/enfants"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
        }),
    ))
}

/// GET /admin/e/{uai}/annuaire/u/{id}
pub async fn user_form(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let user = member(&app, &t, &id)?;
    Ok(user_page(&app, &t, &user, None, None, StatusCode::OK)?)
}

/// POST /admin/e/{uai}/annuaire/u/{id} — identity, contact, login, Pronote id, groups and functions here.
pub async fn update_user(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let old = member(&app, &t, &id)?;
    let groups = app.directory.groups(&uai)?;
    let (person, mut errors) = read_person(&form, &groups, old.civility.is_empty());
    let login = field(&form, "login").to_lowercase();
    if let Err(message) = naming::valid_login(&login) {
        errors.insert("login".into(), json!(message));
    } else if login != old.login && app.directory.login_taken(&login)? {
        errors.insert(
            "login".into(),
            json!(format!("L'identifiant « {login} » est déjà utilisé.")),
        );
    }
    // What was typed, shown again with the errors if any.
    let mut user = old.clone();
    user.login = login.clone();
    user.civility = person.civility;
    user.first_name = person.first_name;
    user.last_name = person.last_name;
    user.email = person.email;
    user.phone_personal = person.phone_personal;
    user.phone_work = person.phone_work;
    user.perenne = person.perenne;
    user.pronote_id = person.pronote_id;
    if let Some(m) = user.memberships.iter_mut().find(|m| m.uai == uai) {
        m.profile = person.profile;
        m.groups = person.groups;
        m.functions = person.functions;
        m.disciplines = person.disciplines;
    }
    if !errors.is_empty() {
        return Ok(user_page(
            &app,
            &t,
            &user,
            None,
            Some(errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    if login != old.login && !app.directory.claim_login(&login, &old.id)? {
        let mut errors = serde_json::Map::new();
        errors.insert(
            "login".into(),
            json!(format!("L'identifiant « {login} » est déjà utilisé.")),
        );
        return Ok(user_page(
            &app,
            &t,
            &old,
            None,
            Some(errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    app.directory.save_user(Some(&old), &user)?;
    if login != old.login {
        app.directory.release_login(&old.login)?;
        app.directory.audit_in(
            &t.user,
            &uai,
            "changement d'identifiant",
            &format!("{} → {login}", old.login),
        )?;
    }
    app.directory
        .audit_in(&t.user, &uai, "modification d'un utilisateur", &login)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/annuaire/u/{id}")).into_response())
}

/// POST …/u/{id}/mot-de-passe — a new password, shown once and kept for the identifiers file.
pub async fn regenerate_password(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    checked_form(&app, &t.visitor, &body)?;
    let old = member(&app, &t, &id)?;
    let password = password_policy::generate();
    let mut user = old.clone();
    user.password_hash = app.passwords.hash(password.clone()).await?;
    user.pending_secret = Some(password.clone());
    app.directory.save_user(Some(&old), &user)?;
    app.directory
        .audit_in(&t.user, &uai, "régénération du mot de passe", &user.login)?;
    Ok(user_page(
        &app,
        &t,
        &user,
        Some(&password),
        None,
        StatusCode::OK,
    )?)
}

/// POST …/u/{id}/blocage — block or unblock (`blocked` = `oui`/`non`).
pub async fn set_blocked(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let old = member(&app, &t, &id)?;
    if old.id == t.user.id {
        return Ok(error_page(
            &app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Action impossible",
            "Vous ne pouvez pas bloquer votre propre compte.",
        ));
    }
    let mut user = old.clone();
    user.blocked = field(&form, "blocked") == "oui";
    app.directory.save_user(Some(&old), &user)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        if user.blocked {
            "blocage"
        } else {
            "déblocage"
        },
        &user.login,
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/annuaire/u/{id}")).into_response())
}

/// POST …/u/{id}/rattachements — attach to another establishment with a profile (region administrator).
pub async fn attach(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let old = member(&app, &t, &id)?;
    let other = field(&form, "uai");
    let profile = field(&form, "profile");
    // Attaching someone to another establishment touches that establishment's directory.
    if !t.user.administers(&other) {
        return Ok(forbidden(&app, &t.visitor, Some(&t.establishment)));
    }
    let mut errors = serde_json::Map::new();
    if app.directory.establishment(&other)?.is_none() {
        errors.insert("attach_uai".into(), json!("Établissement inconnu."));
    }
    if !PROFILES.iter().any(|(c, _)| *c == profile) {
        errors.insert("attach_profile".into(), json!("Choisissez un profil."));
    }
    if old.membership(&other).is_some() {
        errors.insert(
            "attach_uai".into(),
            json!("Cette personne est déjà rattachée à cet établissement."),
        );
    }
    if !errors.is_empty() {
        return Ok(user_page(
            &app,
            &t,
            &old,
            None,
            Some(errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    let mut user = old.clone();
    user.memberships.push(Membership {
        uai: other.clone(),
        profile,
        ..Default::default()
    });
    app.directory.save_user(Some(&old), &user)?;
    app.directory
        .audit_in(&t.user, &other, "rattachement", &user.login)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/annuaire/u/{id}")).into_response())
}

/// POST …/u/{id}/rattachements/{other}/supprimer — detach from an establishment (never the last one).
pub async fn detach(
    State(app): State<Arc<App>>,
    Path((uai, id, other)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    checked_form(&app, &t.visitor, &body)?;
    let old = member(&app, &t, &id)?;
    if !t.user.administers(&other) {
        return Ok(forbidden(&app, &t.visitor, Some(&t.establishment)));
    }
    if old.memberships.len() <= 1 {
        let mut errors = serde_json::Map::new();
        errors.insert(
            "attach_uai".into(),
            json!("Une personne reste rattachée à au moins un établissement."),
        );
        return Ok(user_page(
            &app,
            &t,
            &old,
            None,
            Some(errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    let mut user = old.clone();
    user.memberships.retain(|m| m.uai != other);
    app.directory.save_user(Some(&old), &user)?;
    app.directory
        .audit_in(&t.user, &other, "détachement", &user.login)?;
    let back = if other == uai {
        format!("/admin/e/{uai}/annuaire")
    } else {
        format!("/admin/e/{uai}/annuaire/u/{id}")
    };
    Ok(Redirect::to(&back).into_response())
}

/// POST …/u/{id}/enfants — link a parent to a child of this establishment (`child` = login), or unlink (`remove`).
pub async fn link_child(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let old = member(&app, &t, &id)?;
    let mut user = old.clone();
    let remove = field(&form, "remove");
    if !remove.is_empty() {
        user.children.retain(|c| *c != remove);
    } else {
        let child = app.directory.user_by_login(&field(&form, "child"))?;
        let child = child.filter(|c| c.membership(&uai).is_some_and(|m| m.profile == "eleve"));
        let Some(child) = child else {
            let mut errors = serde_json::Map::new();
            errors.insert(
                "child".into(),
                json!("Aucun élève de cet établissement n'a cet identifiant."),
            );
            return Ok(user_page(
                &app,
                &t,
                &old,
                None,
                Some(errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )?);
        };
        if !user.children.contains(&child.id) {
            user.children.push(child.id);
        }
    }
    app.directory.save_user(Some(&old), &user)?;
    app.directory
        .audit_in(&t.user, &uai, "lien parent-enfant", &user.login)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/annuaire/u/{id}")).into_response())
}

// ---------------------------------------------------------------- groups

fn groups_page(
    app: &App,
    t: &Target,
    errors: serde_json::Map<String, Value>,
    values: Value,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let groups: Vec<Value> = app
        .directory
        .groups(uai)?
        .iter()
        .map(|g| {
            let mut view = groups_view(std::slice::from_ref(g)).remove(0);
            view["members"] = json!(
                app.directory
                    .group_member_ids(&g.id)
                    .map(|m| m.len())
                    .unwrap_or(0)
            );
            view["url"] = json!(format!("/admin/e/{uai}/groupes/{}", g.id));
            view
        })
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/groups.html",
        "Groupes",
        status,
        json!({
            "establishment": t.establishment_json(),
            "groups": groups,
            "kinds": GROUP_KINDS.iter().map(|(k, l)| json!({ "code": k, "label": l })).collect::<Vec<_>>(),
            "action_url": format!("/admin/e/{uai}/groupes"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
            "errors": errors,
            "values": values,
        }),
    ))
}

/// GET /admin/e/{uai}/groupes
pub async fn groups(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    Ok(groups_page(
        &app,
        &t,
        serde_json::Map::new(),
        json!({ "kind": "libre" }),
        StatusCode::OK,
    )?)
}

/// POST /admin/e/{uai}/groupes — create a group.
pub async fn create_group(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let (name, kind, level) = (
        field(&form, "name"),
        field(&form, "kind"),
        field(&form, "level"),
    );
    let mut errors = serde_json::Map::new();
    if name.is_empty() {
        errors.insert("name".into(), json!("Le nom du groupe est obligatoire."));
    } else if name.chars().count() > 80 {
        errors.insert(
            "name".into(),
            json!("Le nom ne doit pas dépasser 80 caractères."),
        );
    } else if app
        .directory
        .groups(&uai)?
        .iter()
        .any(|g| naming::search_key(&g.name) == naming::search_key(&name))
    {
        errors.insert(
            "name".into(),
            json!(format!("Un groupe « {name} » existe déjà.")),
        );
    }
    if !GROUP_KINDS.iter().any(|(k, _)| *k == kind) {
        errors.insert("kind".into(), json!("Choisissez le type de groupe."));
    }
    if !errors.is_empty() {
        let values = json!({ "name": name, "kind": kind, "level": level });
        return Ok(groups_page(
            &app,
            &t,
            errors,
            values,
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    let group = Group {
        id: app.directory.new_id("g")?,
        uai: uai.clone(),
        kind,
        name: name.clone(),
        level,
        managers: Vec::new(),
    };
    app.directory.put_group(&group)?;
    app.directory
        .audit_in(&t.user, &uai, "création d'un groupe", &name)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/groupes/{}", group.id)).into_response())
}

fn group_or_404(app: &App, t: &Target, id: &str) -> Result<Group, Response> {
    match app.directory.group(&t.establishment.uai, id) {
        Ok(Some(g)) => Ok(g),
        Ok(None) => Err(error_page(
            app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::NOT_FOUND,
            "Groupe introuvable",
            "Ce groupe n'existe pas dans cet établissement.",
        )),
        Err(e) => Err(super::AppError::from(e).into_response()),
    }
}

fn group_page(
    app: &App,
    t: &Target,
    group: &Group,
    error: Option<&str>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let members: Vec<Value> = app
        .directory
        .group_members(&group.id)?
        .iter()
        .map(|u| {
            let mut row = user_row(u, uai);
            row["manager"] = json!(group.managers.contains(&u.id));
            row
        })
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/group.html",
        &group.name,
        status,
        json!({
            "establishment": t.establishment_json(),
            "group": groups_view(std::slice::from_ref(group)).remove(0),
            "members": members,
            "action_url": format!("/admin/e/{uai}/groupes/{}", group.id),
            "back_url": format!("/admin/e/{uai}/groupes"),
            "error": error,
        }),
    ))
}

/// GET /admin/e/{uai}/groupes/{id}
pub async fn group(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let group = group_or_404(&app, &t, &id)?;
    Ok(group_page(&app, &t, &group, None, StatusCode::OK)?)
}

/// POST /admin/e/{uai}/groupes/{id} — `action` = `add` (login), `remove` (user id),
/// `manager` / `unmanager` (user id).
pub async fn update_group(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let mut group = group_or_404(&app, &t, &id)?;
    let action = field(&form, "action");
    let person = match action.as_str() {
        "add" => app.directory.user_by_login(&field(&form, "login"))?,
        _ => app.directory.user(&field(&form, "user"))?,
    };
    let Some(old) = person.filter(|u| u.membership(&uai).is_some()) else {
        let message = "Aucune personne de cet établissement ne correspond à cet identifiant.";
        return Ok(group_page(
            &app,
            &t,
            &group,
            Some(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    };
    let mut user = old.clone();
    let membership = user
        .memberships
        .iter_mut()
        .find(|m| m.uai == uai)
        .expect("membre vérifié");
    match action.as_str() {
        "add" if !membership.groups.contains(&group.id) => membership.groups.push(group.id.clone()),
        "remove" => {
            membership.groups.retain(|g| *g != group.id);
            group.managers.retain(|m| *m != user.id);
        }
        "manager" if !group.managers.contains(&user.id) => group.managers.push(user.id.clone()),
        "unmanager" => group.managers.retain(|m| *m != user.id),
        "add" | "manager" => {}
        _ => return Ok((StatusCode::BAD_REQUEST, "action inconnue").into_response()),
    }
    app.directory.save_user(Some(&old), &user)?;
    app.directory.put_group(&group)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        &format!(
            "groupe « {} » : {}",
            group.name,
            match action.as_str() {
                "add" => "ajout d'un membre",
                "remove" => "retrait d'un membre",
                "manager" => "nomination d'un gestionnaire",
                _ => "retrait d'un gestionnaire",
            }
        ),
        &user.login,
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/groupes/{id}")).into_response())
}

// ---------------------------------------------------------------- rights

/// Where grants apply: the establishment's own instance of a plugin, or a rubrique's;
/// and inside it, possibly one of the plugin's objects (a resource domain…).
struct RightsScope {
    rubrique: Option<crate::portal::Rubrique>,
    object: Option<ObjectScope>,
}

/// One of a plugin's objects with its own rights.
struct ObjectScope {
    id: String,
    /// The plugin's label for it (`describe-scope`).
    label: String,
}

impl RightsScope {
    fn resolve(
        app: &App,
        t: &Target,
        rubrique: Option<&str>,
        plugin: &str,
    ) -> Result<RightsScope, Response> {
        let Some(id) = rubrique else {
            return Ok(RightsScope {
                rubrique: None,
                object: None,
            });
        };
        let portal = crate::portal::Portal::load(&app.directory, &t.establishment.uai)
            .map_err(|e| super::AppError::from(e).into_response())?;
        match portal.rubrique(id) {
            Some(r) if r.services.iter().any(|s| s == plugin) => Ok(RightsScope {
                rubrique: Some(r.clone()),
                object: None,
            }),
            _ => Err(error_page(
                app,
                &t.visitor,
                Some(&t.establishment),
                StatusCode::NOT_FOUND,
                "Rubrique ou service introuvable",
                "Ce service n'est pas affiché dans cette rubrique.",
            )),
        }
    }

    fn instance<'a>(
        &'a self,
        uai: &'a str,
        manifest: &'a crate::manifest::Manifest,
    ) -> crate::rights::Instance<'a> {
        crate::rights::Instance {
            uai,
            rubrique: self.rubrique.as_ref().map(|r| r.id.as_str()),
            manifest,
        }
    }

    fn grants(
        &self,
        app: &App,
        uai: &str,
        manifest: &crate::manifest::Manifest,
    ) -> anyhow::Result<Grants> {
        let plugin = &manifest.id;
        Ok(match (&self.object, &self.rubrique) {
            (Some(o), _) => self
                .instance(uai, manifest)
                .scoped_grants(&app.directory, &o.id)?
                .unwrap_or_default(),
            (None, None) => app.directory.grants(uai, plugin)?.unwrap_or_default(),
            (None, Some(r)) => r.grants.get(plugin).cloned().unwrap_or_default(),
        })
    }

    /// Whether the object has rights of its own (otherwise it follows the service's).
    fn object_has_own_grants(
        &self,
        app: &App,
        uai: &str,
        manifest: &crate::manifest::Manifest,
    ) -> anyhow::Result<bool> {
        Ok(match &self.object {
            Some(o) => self
                .instance(uai, manifest)
                .scoped_grants(&app.directory, &o.id)?
                .is_some(),
            None => false,
        })
    }

    fn save(
        &self,
        app: &App,
        uai: &str,
        manifest: &crate::manifest::Manifest,
        grants: Option<Grants>,
    ) -> anyhow::Result<()> {
        let plugin = &manifest.id;
        if let Some(o) = &self.object {
            let instance = self.instance(uai, manifest);
            return match grants {
                Some(grants) => instance.put_scoped_grants(&app.directory, &o.id, &grants),
                None => instance.forget_scoped_grants(&app.directory, &o.id),
            };
        }
        let grants = grants.unwrap_or_default();
        match &self.rubrique {
            None => app.directory.put_grants(uai, plugin, &grants),
            Some(r) => {
                // Re-read: the portal may have changed since the page was built.
                let mut portal = crate::portal::Portal::load(&app.directory, uai)?;
                if let Some(current) = portal.rubrique_mut(&r.id) {
                    current.grants.insert(plugin.to_string(), grants);
                }
                portal.save(&app.directory, uai)
            }
        }
    }

    fn base_url(&self, uai: &str, plugin: &str) -> String {
        let base = match &self.rubrique {
            None => format!("/admin/e/{uai}/plugins/{plugin}/droits"),
            Some(r) => format!("/admin/e/{uai}/rubriques/{}/droits/{plugin}", r.id),
        };
        match &self.object {
            Some(o) => format!("{base}/objet/{}", o.id),
            None => base,
        }
    }

    /// The plugin's mount for this instance.
    fn mount(&self, uai: &str, plugin: &str) -> String {
        match &self.rubrique {
            None => format!("/e/{uai}/{plugin}"),
            Some(r) => format!("/e/{uai}/r/{}/{plugin}", r.id),
        }
    }
}

/// The visitor and scope of an object's rights page: establishment administrators,
/// and holders of the manifest's `scoped_rights` role for the object as the plugin
/// resolves it (the object's grants, else its parents', else the service's) may set
/// them; the plugin must name the object (`describe-scope`).
async fn object_target(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    uai: &str,
    rubrique: Option<&str>,
    plugin: &crate::runtime::LoadedPlugin,
    object: &str,
) -> Result<(Target, RightsScope), Response> {
    let visitor = Visitor::from_headers(app, headers, uri.path());
    let establishment = super::portal::find_establishment(app, &visitor, uai)?;
    let manifest = &plugin.manifest;
    let not_found = |visitor: &Visitor| {
        error_page(
            app,
            visitor,
            Some(&establishment),
            StatusCode::NOT_FOUND,
            "Objet introuvable",
            "Ce service n'a pas d'objet de ce nom, ou il n'est pas activé ici.",
        )
    };
    let internal = |e: anyhow::Error| super::AppError::from(e).into_response();
    let Some(manager_role) = manifest.scoped_rights.as_deref() else {
        return Err(not_found(&visitor));
    };
    // A service not enabled here has no objects; anyone else must sign in first.
    let enabled = app
        .directory
        .plugin_setting(uai, &manifest.id)
        .map_err(internal)?
        .enabled;
    if !enabled || !crate::rights::valid_scope(object) {
        return Err(not_found(&visitor));
    }
    let Some(user) = visitor.user.clone() else {
        return Err(forbidden(app, &visitor, Some(&establishment)));
    };
    // The instance: the establishment's, or a rubrique showing the service.
    let granted = match super::plugins::instance_access(app, &visitor, uai, rubrique, plugin)
        .map_err(internal)?
    {
        Access::Granted(granted) => granted,
        Access::NotFound => return Err(not_found(&visitor)),
        Access::Forbidden => return Err(forbidden(app, &visitor, Some(&establishment))),
    };
    let mut scope = RightsScope {
        rubrique: granted.rubrique.clone(),
        object: None,
    };
    let base_roles = granted.roles.clone();
    let call = granted.invocation(&visitor, &establishment);
    let ctx = granted.context(app, uai, &manifest.id);
    let description = app
        .runtime
        .describe_scope(&manifest.id, ctx, object.to_string(), call)
        .await
        .map_err(|e| {
            tracing::error!(plugin = %manifest.id, "describe-scope : {e}");
            super::internal_error_response()
        })?;
    let administrator = user.administers(uai);
    let Some((label, parents)) = description else {
        // Only administrators learn that an object does not exist.
        return Err(if administrator {
            not_found(&visitor)
        } else {
            forbidden(app, &visitor, Some(&establishment))
        });
    };
    // The plugin's own view of the caller's roles on the object: its grants, else its
    // parents', else the service's.
    let chain: Vec<String> = std::iter::once(object.to_string()).chain(parents).collect();
    let on_object = scope
        .instance(uai, manifest)
        .roles_in(&app.directory, Some(&user), &chain, &base_roles)
        .map_err(internal)?;
    if !administrator && !on_object.iter().any(|r| r == manager_role) {
        return Err(forbidden(app, &visitor, Some(&establishment)));
    }
    scope.object = Some(ObjectScope {
        id: object.to_string(),
        label,
    });
    Ok((
        Target {
            visitor,
            user,
            establishment,
        },
        scope,
    ))
}

/// GET /admin/e/{uai}/plugins/{plugin}/droits — two tabs: populations and users.
pub async fn rights(
    State(app): State<Arc<App>>,
    Path((uai, plugin_id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    rights_in(app, uai, None, plugin_id, None, headers, uri).await
}

/// GET /admin/e/{uai}/rubriques/{rubrique}/droits/{plugin} — the same, in a rubrique.
pub async fn rubrique_rights(
    State(app): State<Arc<App>>,
    Path((uai, rubrique, plugin_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    rights_in(app, uai, Some(rubrique), plugin_id, None, headers, uri).await
}

/// GET /admin/e/{uai}/plugins/{plugin}/droits/objet/{scope} — the rights of one of
/// the plugin's objects (a resource domain, a resource).
pub async fn object_rights(
    State(app): State<Arc<App>>,
    Path((uai, plugin_id, object)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    rights_in(app, uai, None, plugin_id, Some(object), headers, uri).await
}

/// GET /admin/e/{uai}/rubriques/{rubrique}/droits/{plugin}/objet/{scope} — the same, in a rubrique.
pub async fn rubrique_object_rights(
    State(app): State<Arc<App>>,
    Path((uai, rubrique, plugin_id, object)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    rights_in(
        app,
        uai,
        Some(rubrique),
        plugin_id,
        Some(object),
        headers,
        uri,
    )
    .await
}

/// The visitor and scope of a rights page, after the rights check.
async fn rights_target(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    uai: &str,
    rubrique: Option<&str>,
    plugin_id: &str,
    object: Option<&str>,
) -> Result<(Target, RightsScope, Arc<crate::runtime::LoadedPlugin>), Response> {
    let missing = |visitor: &Visitor| {
        error_page(
            app,
            visitor,
            None,
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Aucun service ne porte cet identifiant.",
        )
    };
    match object {
        None => {
            let t = target(app, headers, uri, uai, false)?;
            let Some(plugin) = app.runtime.plugin(plugin_id) else {
                return Err(missing(&t.visitor));
            };
            let scope = RightsScope::resolve(app, &t, rubrique, plugin_id)?;
            Ok((t, scope, plugin))
        }
        Some(object) => {
            let Some(plugin) = app.runtime.plugin(plugin_id) else {
                let visitor = Visitor::from_headers(app, headers, uri.path());
                return Err(missing(&visitor));
            };
            let (t, scope) =
                object_target(app, headers, uri, uai, rubrique, &plugin, object).await?;
            Ok((t, scope, plugin))
        }
    }
}

async fn rights_in(
    app: Arc<App>,
    uai: String,
    rubrique: Option<String>,
    plugin_id: String,
    object: Option<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let (t, scope, plugin) = rights_target(
        &app,
        &headers,
        &uri,
        &uai,
        rubrique.as_deref(),
        &plugin_id,
        object.as_deref(),
    )
    .await?;
    let grants = scope.grants(&app, &uai, &plugin.manifest)?;
    Ok(rights_page(
        &app,
        &t,
        &scope,
        &plugin.manifest,
        &grants,
        &query_value(&uri, "onglet"),
        None,
        StatusCode::OK,
    )?)
}

#[allow(clippy::too_many_arguments)]
fn rights_page(
    app: &App,
    t: &Target,
    scope: &RightsScope,
    manifest: &crate::manifest::Manifest,
    grants: &Grants,
    tab: &str,
    error: Option<&str>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let roles: Vec<Value> = manifest
        .roles
        .iter()
        .map(|r| json!({ "id": r.id, "label": r.label, "permissions": r.permissions }))
        .collect();
    let role_label = |id: &str| {
        manifest
            .roles
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.label.clone())
            .unwrap_or(id.to_string())
    };
    let groups = app.directory.groups(uai)?;
    let mut populations: Vec<Value> = PROFILES
        .iter()
        .map(|(code, label)| {
            let granted = grants.profiles.get(*code).cloned().unwrap_or_default();
            json!({ "key": format!("profil:{code}"), "label": format!("Profil : {label}"), "roles": granted })
        })
        .collect();
    populations.extend(groups.iter().map(|g| {
        let granted = grants.groups.get(&g.id).cloned().unwrap_or_default();
        json!({ "key": format!("groupe:{}", g.id), "label": format!("Groupe : {}", g.name), "roles": granted })
    }));
    let users: Vec<Value> = grants
        .users
        .iter()
        .filter_map(|(id, roles)| {
            let user = app.directory.user(id).ok().flatten()?;
            Some(
                json!({ "id": id, "name": user.display_name(), "login": user.login,
                         "roles": roles.iter().map(|r| role_label(r)).collect::<Vec<_>>() }),
            )
        })
        .collect();
    let base_url = scope.base_url(uai, &manifest.id);
    let title = match (&scope.object, &scope.rubrique) {
        (Some(o), _) => format!("Droits d'accès — {} : {}", manifest.name, o.label),
        (None, None) => format!("Droits d'accès — {}", manifest.name),
        (None, Some(r)) => format!("Droits d'accès — {} dans « {} »", manifest.name, r.title),
    };
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/rights.html",
        &title,
        status,
        json!({
            "establishment": t.establishment_json(),
            "plugin": { "id": manifest.id, "name": manifest.name },
            "rubrique": scope.rubrique.as_ref().map(|r| json!({ "id": r.id, "title": r.title })),
            "object": scope.object.as_ref().map(|o| json!({
                "id": o.id, "label": o.label,
                "own_grants": scope.object_has_own_grants(app, uai, manifest).unwrap_or(false),
                "service_url": format!("{}/", scope.mount(uai, &manifest.id)),
            })),
            "public_roles": manifest.roles.iter().filter(|r| r.public).map(|r| r.label.clone()).collect::<Vec<_>>(),
            "tab": if tab == "utilisateurs" { "utilisateurs" } else { "populations" },
            "roles": roles,
            "populations": populations,
            "users": users,
            "populations_url": format!("{base_url}?onglet=populations"),
            "users_url": format!("{base_url}?onglet=utilisateurs"),
            "action_url": base_url,
            "error": error,
            "back_url": match (&scope.object, &scope.rubrique) {
                (Some(_), _) => format!("{}/", scope.mount(uai, &manifest.id)),
                (None, None) => "/admin/".to_string(),
                (None, Some(r)) => format!("/admin/e/{uai}/rubriques/{}", r.id),
            },
        }),
    ))
}

/// POST /admin/e/{uai}/plugins/{plugin}/droits — `tab=populations`: checkboxes
/// `grant` = `<population key>|<role>`; `tab=utilisateurs`: `login` + `role` to add,
/// or `remove` = user id.
pub async fn save_rights(
    State(app): State<Arc<App>>,
    Path((uai, plugin_id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    save_rights_in(app, uai, None, plugin_id, None, headers, uri, body).await
}

/// POST /admin/e/{uai}/rubriques/{rubrique}/droits/{plugin} — the same, in a rubrique.
pub async fn save_rubrique_rights(
    State(app): State<Arc<App>>,
    Path((uai, rubrique, plugin_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    save_rights_in(
        app,
        uai,
        Some(rubrique),
        plugin_id,
        None,
        headers,
        uri,
        body,
    )
    .await
}

/// POST /admin/e/{uai}/plugins/{plugin}/droits/objet/{scope} — as above, plus
/// `tab=heritage`: the object drops its own rights and follows the service's again.
pub async fn save_object_rights(
    State(app): State<Arc<App>>,
    Path((uai, plugin_id, object)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    save_rights_in(app, uai, None, plugin_id, Some(object), headers, uri, body).await
}

/// POST /admin/e/{uai}/rubriques/{rubrique}/droits/{plugin}/objet/{scope} — the same, in a rubrique.
pub async fn save_rubrique_object_rights(
    State(app): State<Arc<App>>,
    Path((uai, rubrique, plugin_id, object)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    save_rights_in(
        app,
        uai,
        Some(rubrique),
        plugin_id,
        Some(object),
        headers,
        uri,
        body,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn save_rights_in(
    app: Arc<App>,
    uai: String,
    rubrique: Option<String>,
    plugin_id: String,
    object: Option<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let (t, scope, plugin) = rights_target(
        &app,
        &headers,
        &uri,
        &uai,
        rubrique.as_deref(),
        &plugin_id,
        object.as_deref(),
    )
    .await?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let manifest = &plugin.manifest;
    let mut grants = scope.grants(&app, &uai, manifest)?;
    let groups = app.directory.groups(&uai)?;
    let tab = field(&form, "tab");
    let mut keep_own = true;
    if tab == "heritage" {
        keep_own = false;
    } else if tab == "utilisateurs" {
        let remove = field(&form, "remove");
        if !remove.is_empty() {
            grants.users.remove(&remove);
        } else {
            let role = field(&form, "role");
            let person = app
                .directory
                .user_by_login(&field(&form, "login"))?
                .filter(|u| u.membership(&uai).is_some());
            let error = match (&person, manifest.roles.iter().any(|r| r.id == role)) {
                (None, _) => Some("Aucune personne de cet établissement n'a cet identifiant."),
                (_, false) => Some("Choisissez un rôle."),
                _ => None,
            };
            if let Some(error) = error {
                return Ok(rights_page(
                    &app,
                    &t,
                    &scope,
                    manifest,
                    &grants,
                    "utilisateurs",
                    Some(error),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )?);
            }
            let roles = grants.users.entry(person.expect("vérifié").id).or_default();
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
    } else {
        let mut fresh = Grants {
            users: grants.users.clone(),
            ..Default::default()
        };
        for value in all(&form, "grant") {
            let Some((population, role)) = value.split_once('|') else {
                continue;
            };
            if !manifest.roles.iter().any(|r| r.id == role) {
                continue;
            }
            let bucket = match population.split_once(':') {
                Some(("profil", code)) if PROFILES.iter().any(|(c, _)| *c == code) => {
                    fresh.profiles.entry(code.to_string())
                }
                Some(("groupe", id)) if groups.iter().any(|g| g.id == id) => {
                    fresh.groups.entry(id.to_string())
                }
                _ => continue,
            };
            bucket.or_default().push(role.to_string());
        }
        grants = fresh;
    }
    scope.save(&app, &uai, manifest, keep_own.then_some(grants))?;
    let mut audited = match &scope.rubrique {
        None => plugin_id.clone(),
        Some(r) => format!("{plugin_id} (rubrique {})", r.title),
    };
    if let Some(o) = &scope.object {
        audited.push_str(&format!(" — {}", o.label));
        if !keep_own {
            audited.push_str(" (droits hérités)");
        }
    }
    app.directory
        .audit_in(&t.user, &uai, "droits d'accès", &audited)?;
    let tab = if tab == "utilisateurs" {
        "utilisateurs"
    } else {
        "populations"
    };
    Ok(Redirect::to(&format!(
        "{}?onglet={tab}",
        scope.base_url(&uai, &plugin_id)
    ))
    .into_response())
}

// ---------------------------------------------------------------- access windows

/// `Élève, du 1er juillet 2026 au 1er septembre 2026`, for the audit log.
fn describe_window(window: &AccessWindow) -> String {
    format!(
        "{}, du {} au {}",
        profile_label(&window.profile),
        date_fr(window.blocked_from),
        date_fr(window.opens_at)
    )
}

fn windows_page(
    app: &App,
    t: &Target,
    errors: serde_json::Map<String, Value>,
    values: Value,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let at = now();
    let windows: Vec<Value> = app
        .directory
        .access_windows(uai)?
        .iter()
        .map(|w| {
            json!({ "id": w.id, "profile": profile_label(&w.profile), "from": date_fr(w.blocked_from),
                    "until": date_fr(w.opens_at), "active": w.blocked_from <= at && at < w.opens_at })
        })
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/windows.html",
        "Blocage des accès ENT",
        status,
        json!({
            "establishment": t.establishment_json(),
            "windows": windows,
            "profiles": profiles_view(),
            "action_url": format!("/admin/e/{uai}/acces"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
            "errors": errors,
            "values": values,
        }),
    ))
}

/// GET /admin/e/{uai}/acces
pub async fn windows(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    Ok(windows_page(
        &app,
        &t,
        serde_json::Map::new(),
        json!({}),
        StatusCode::OK,
    )?)
}

/// POST /admin/e/{uai}/acces — add a blocking period (`profile`, `from`, `until`) or remove one (`remove`).
pub async fn save_windows(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let mut windows = app.directory.access_windows(&uai)?;
    let remove = field(&form, "remove");
    let window_action;
    if !remove.is_empty() {
        let removed = windows
            .iter()
            .find(|w| w.id == remove)
            .map(describe_window)
            .unwrap_or_default();
        windows.retain(|w| w.id != remove);
        window_action = format!("suppression d'une période de blocage ({removed})");
    } else {
        let (profile, from, until) = (
            field(&form, "profile"),
            field(&form, "from"),
            field(&form, "until"),
        );
        let mut errors = serde_json::Map::new();
        if !PROFILES.iter().any(|(c, _)| *c == profile) {
            errors.insert("profile".into(), json!("Choisissez un profil."));
        }
        let from_ts = parse_date(&from);
        let until_ts = parse_date(&until);
        if from_ts.is_none() {
            errors.insert("from".into(), json!("Date de début invalide (jj/mm/aaaa)."));
        }
        if until_ts.is_none() {
            errors.insert(
                "until".into(),
                json!("Date d'ouverture invalide (jj/mm/aaaa)."),
            );
        }
        if let (Some(a), Some(b)) = (from_ts, until_ts)
            && b <= a
        {
            errors.insert(
                "until".into(),
                json!("La date d'ouverture doit suivre la date de début du blocage."),
            );
        }
        if !errors.is_empty() {
            let values = json!({ "profile": profile, "from": from, "until": until });
            return Ok(windows_page(
                &app,
                &t,
                errors,
                values,
                StatusCode::UNPROCESSABLE_ENTITY,
            )?);
        }
        let window = AccessWindow {
            id: app.directory.new_id("w")?,
            profile,
            blocked_from: from_ts.expect("vérifiée"),
            opens_at: until_ts.expect("vérifiée"),
        };
        window_action = format!(
            "ajout d'une période de blocage ({})",
            describe_window(&window)
        );
        windows.push(window);
    }
    app.directory.put_access_windows(&uai, &windows)?;
    app.directory
        .audit_in(&t.user, &uai, &window_action, &uai)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/acces")).into_response())
}

// ---------------------------------------------------------------- identifiers files

fn identifiers_page(
    app: &App,
    t: &Target,
    error: Option<&str>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let files: Vec<Value> = app
        .directory
        .files(uai)?
        .into_iter()
        .map(|(name, size)| {
            json!({ "name": name, "size": size,
                    "download_url": format!("/admin/e/{uai}/identifiants/{name}"),
                    "delete_url": format!("/admin/e/{uai}/identifiants/{name}/supprimer") })
        })
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/identifiers.html",
        "Fichiers des identifiants",
        status,
        json!({
            "establishment": t.establishment_json(),
            "files": files,
            "action_url": format!("/admin/e/{uai}/identifiants"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
            "error": error,
        }),
    ))
}

/// GET /admin/e/{uai}/identifiants
pub async fn identifiers(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    Ok(identifiers_page(&app, &t, None, StatusCode::OK)?)
}

/// POST /admin/e/{uai}/identifiants — generates a file of the establishment's
/// accounts, optionally only those created since `since` (date de rentrée).
pub async fn generate_identifiers(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let since_text = field(&form, "since");
    let regenerate = field(&form, "regenerate") == "oui";
    let since = if since_text.is_empty() {
        None
    } else {
        match parse_date(&since_text) {
            Some(ts) => Some(ts),
            None => {
                return Ok(identifiers_page(
                    &app,
                    &t,
                    Some("Date de rentrée invalide (jj/mm/aaaa)."),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )?);
            }
        }
    };
    let groups = app.directory.groups(&uai)?;
    let mut rows = Vec::new();
    let people = search::everyone_in(app.directory.store(), &uai)?;
    for person in people {
        let Some(user) = app.directory.user(&person.id)? else {
            continue;
        };
        let Some(membership) = user.membership(&uai) else {
            continue;
        };
        if since.is_some_and(|s| user.created_at < s) {
            continue;
        }
        let class = membership
            .groups
            .iter()
            .filter_map(|g| groups.iter().find(|x| &x.id == g && x.kind == "classe"))
            .map(|g| g.name.clone())
            .next()
            .unwrap_or_default();
        let secret = match (&user.pending_secret, user.last_login) {
            (Some(secret), None) => secret.clone(),
            // A never-used account whose initial password is no longer known
            // gets a new one only when the administrator asks for it: a
            // password handed out another way must not be silently replaced.
            (None, None) if regenerate => {
                let password = password_policy::generate();
                let mut renewed = user.clone();
                renewed.password_hash = app.passwords.hash(password.clone()).await?;
                renewed.pending_secret = Some(password.clone());
                app.directory.save_user(Some(&user), &renewed)?;
                password
            }
            (_, None) => "(à régénérer)".to_string(),
            (_, Some(_)) => "(compte activé)".to_string(),
        };
        rows.push(IdentifierRow {
            profile: profile_label(&membership.profile).to_string(),
            last_name: user.last_name.clone(),
            first_name: user.first_name.clone(),
            login: user.login.clone(),
            class,
            secret,
        });
    }
    rows.sort_by(|a, b| {
        (&a.profile, &a.class, naming::search_key(&a.last_name)).cmp(&(
            &b.profile,
            &b.class,
            naming::search_key(&b.last_name),
        ))
    });
    let mut name = identifiers::file_name(&uai, now());
    // Two files generated within the same second keep distinct names.
    let mut n = 2;
    while app.directory.file(&uai, &name)?.is_some() {
        name = identifiers::file_name(&uai, now()).replace(".csv", &format!("-{n}.csv"));
        n += 1;
    }
    app.directory
        .put_file(&uai, &name, &identifiers::to_csv(&rows))?;
    app.directory
        .audit_in(&t.user, &uai, "fichier des identifiants", &name)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/identifiants")).into_response())
}

/// GET /admin/e/{uai}/identifiants/{name}
pub async fn download_identifiers(
    State(app): State<Arc<App>>,
    Path((uai, name)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let Some(bytes) = app.directory.file(&uai, &name)? else {
        return Ok(error_page(
            &app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::NOT_FOUND,
            "Fichier introuvable",
            "Ce fichier n'existe plus.",
        ));
    };
    let safe_name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// POST /admin/e/{uai}/identifiants/{name}/supprimer
pub async fn delete_identifiers(
    State(app): State<Arc<App>>,
    Path((uai, name)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    checked_form(&app, &t.visitor, &body)?;
    app.directory.delete_file(&uai, &name)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        "suppression d'un fichier des identifiants",
        &name,
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/identifiants")).into_response())
}

// ---------------------------------------------------------------- audit log

/// GET /admin/journal — region administrators see everything, establishment
/// administrators the actions on their establishments.
pub async fn audit_log(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
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

// ---------------------------------------------------------------- self-service

/// GET /compte — the signed-in person's own profile.
pub async fn account(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let Some(user) = visitor.user.clone() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let establishments = app.directory.establishments()?;
    let memberships: Vec<Value> = user
        .memberships
        .iter()
        .map(|m| {
            let name = establishments.iter().find(|e| e.uai == m.uai).map(|e| e.name.clone()).unwrap_or_default();
            let groups = app.directory.groups(&m.uai).unwrap_or_default();
            let names: Vec<String> = m.groups.iter().filter_map(|g| groups.iter().find(|x| &x.id == g).map(|x| x.name.clone())).collect();
            json!({ "establishment": name, "url": format!("/e/{}/", m.uai), "profile": profile_label(&m.profile), "groups": names, "functions": m.functions })
        })
        .collect();
    // A parent sees their own children, and only them.
    let children: Vec<Value> = user
        .children
        .iter()
        .filter_map(|id| app.directory.user(id).ok().flatten())
        .map(|c| json!({ "name": c.display_name(), "login": c.login }))
        .collect();
    Ok(render(
        &app,
        &visitor,
        None,
        "account.html",
        "Mon compte",
        StatusCode::OK,
        json!({
            "person": { "login": user.login, "civility": user.civility, "first_name": user.first_name,
                        "last_name": user.last_name, "email": user.email, "last_login": user.last_login },
            "memberships": memberships,
            "children": children,
            "password_url": "/compte/mot-de-passe",
            "notice": (query_value(&uri, "ok") == "mot-de-passe").then_some("Votre mot de passe a été changé."),
        }),
    ))
}

fn password_page(
    app: &App,
    visitor: &Visitor,
    errors: serde_json::Map<String, Value>,
    status: StatusCode,
) -> Response {
    render(
        app,
        visitor,
        None,
        "password.html",
        "Changer mon mot de passe",
        status,
        json!({ "errors": errors, "rules": password_policy::describe(), "action_url": "/compte/mot-de-passe", "back_url": "/compte" }),
    )
}

/// GET /compte/mot-de-passe
pub async fn password_form(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    if visitor.user.is_none() {
        return Ok(forbidden(&app, &visitor, None));
    }
    Ok(password_page(
        &app,
        &visitor,
        serde_json::Map::new(),
        StatusCode::OK,
    ))
}

/// POST /compte/mot-de-passe — current password (rate-limited failures), new password twice, CNIL rules.
pub async fn change_password(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let Some(old) = visitor.user.clone() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let form = checked_form(&app, &visitor, &body)?;
    let (current, new, confirm) = (
        field(&form, "current"),
        field(&form, "new"),
        field(&form, "confirm"),
    );
    let mut errors = serde_json::Map::new();
    let limiter_key = format!("compte:{}", old.login);
    if let Some(minutes) = app.login_failures.locked_minutes(&limiter_key) {
        errors.insert(
            "current".into(),
            json!(format!(
                "Trop d'essais infructueux. Réessayez dans {minutes} minute(s)."
            )),
        );
        return Ok(password_page(
            &app,
            &visitor,
            errors,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    if !app
        .passwords
        .verify(current, Some(old.password_hash.clone()))
        .await
    {
        app.login_failures.record_failure(&limiter_key);
        errors.insert("current".into(), json!("Mot de passe actuel incorrect."));
    }
    if let Err(problems) =
        password_policy::check(&new, &[&old.login, &old.first_name, &old.last_name])
    {
        errors.insert("new".into(), json!(problems.join(" ")));
    }
    if new != confirm {
        errors.insert(
            "confirm".into(),
            json!("Les deux saisies du nouveau mot de passe diffèrent."),
        );
    }
    if !errors.is_empty() {
        return Ok(password_page(
            &app,
            &visitor,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    app.login_failures.clear(&limiter_key);
    let mut user = old.clone();
    user.password_hash = app.passwords.hash(new).await?;
    user.pending_secret = None;
    app.directory.save_user(Some(&old), &user)?;
    Ok(Redirect::to("/compte?ok=mot-de-passe").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_contacts_are_validated() {
        assert!(parse_date("2026-09-01").is_some());
        assert!(parse_date("2026-02-31").is_none());
        assert!(parse_date("01/09/2026").is_none());
        assert!(parse_date("2026-09-02").unwrap() > parse_date("2026-09-01").unwrap());
        assert!(valid_email("claire.fauvel@ac-lyon.fr"));
        assert!(!valid_email("claire.fauvel@"));
        assert!(!valid_email("a b@c.fr"));
        assert!(valid_phone("04 77 00 00 00"));
        assert!(valid_phone("+33 6 12 34 56 78"));
        assert!(!valid_phone("téléphone"));
    }
}

// ---------------------------------------------------------------- delegations

/// Rights of the directory itself that an establishment delegates.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Delegations {
    /// Teachers may regenerate the passwords of the pupils of their classes.
    pub teachers_reset_pupil_passwords: bool,
}

fn delegations_of(app: &App, uai: &str) -> anyhow::Result<Delegations> {
    Ok(app
        .directory
        .region_setting(&format!("delegations/{uai}"))?
        .unwrap_or_default())
}

/// GET /admin/e/{uai}/delegations
pub async fn delegations(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let current = delegations_of(&app, &uai)?;
    Ok(render(
        &app,
        &t.visitor,
        Some(&t.establishment),
        "admin/delegations.html",
        "Délégations de l'annuaire",
        StatusCode::OK,
        json!({
            "establishment": t.establishment_json(),
            "delegations": current,
            "action_url": format!("/admin/e/{uai}/delegations"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
            "notice": (query_value(&uri, "ok") == "1").then_some("Délégations enregistrées."),
        }),
    ))
}

/// POST /admin/e/{uai}/delegations
pub async fn save_delegations(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let t = target(&app, &headers, &uri, &uai, false)?;
    let form = checked_form(&app, &t.visitor, &body)?;
    let delegations = Delegations {
        teachers_reset_pupil_passwords: field(&form, "teachers_reset_pupil_passwords") == "oui",
    };
    app.directory
        .put_region_setting(&format!("delegations/{uai}"), &delegations)?;
    app.directory
        .audit_in(&t.user, &uai, "délégations de l'annuaire", &uai)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/delegations?ok=1")).into_response())
}

/// The teacher of a "my pupils" URL and their pupils (pupils of the classes they teach here).
fn my_pupils_of(
    app: &App,
    visitor: &Visitor,
    uai: &str,
) -> anyhow::Result<Option<(User, Vec<User>)>> {
    let Some(teacher) = visitor.user.clone() else {
        return Ok(None);
    };
    let Some(membership) = teacher
        .membership(uai)
        .filter(|m| m.profile == "enseignant")
    else {
        return Ok(None);
    };
    let classes: Vec<Group> = app
        .directory
        .groups(uai)?
        .into_iter()
        .filter(|g| g.kind == "classe" && membership.groups.contains(&g.id))
        .collect();
    let mut pupils = Vec::new();
    for class in &classes {
        for pupil in app.directory.group_members(&class.id)? {
            if pupil.membership(uai).is_some_and(|m| m.profile == "eleve")
                && !pupils.iter().any(|p: &User| p.id == pupil.id)
            {
                pupils.push(pupil);
            }
        }
    }
    Ok(Some((teacher, pupils)))
}

fn my_pupils_page(
    app: &App,
    visitor: &Visitor,
    uai: &str,
    pupils: &[User],
    new_password: Option<(String, String)>,
) -> anyhow::Result<Response> {
    let establishment = app.directory.establishment(uai)?;
    let allowed = delegations_of(app, uai)?.teachers_reset_pupil_passwords;
    let groups = app.directory.groups(uai)?;
    let rows: Vec<Value> = pupils
        .iter()
        .map(|p| {
            let class = p
                .membership(uai)
                .and_then(|m| m.groups.iter().find_map(|g| groups.iter().find(|x| &x.id == g && x.kind == "classe")))
                .map(|g| g.name.clone())
                .unwrap_or_default();
            json!({ "name": p.display_name(), "login": p.login, "class": class, "state": state_label(p),
                    "reset_url": format!("/e/{uai}/mes-eleves/{}/mot-de-passe", p.id) })
        })
        .collect();
    Ok(render(
        app,
        visitor,
        establishment.as_ref(),
        "my_pupils.html",
        "Mes élèves",
        StatusCode::OK,
        json!({
            "pupils": rows,
            "can_reset": allowed,
            "new_password": new_password.map(|(login, password)| json!({ "login": login, "password": password })),
        }),
    ))
}

/// GET /e/{uai}/mes-eleves — a teacher's pupils (no contact details).
pub async fn my_pupils(
    State(app): State<Arc<App>>,
    Path(uai): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let Some((_, pupils)) = my_pupils_of(&app, &visitor, &uai)? else {
        return Ok(forbidden(&app, &visitor, None));
    };
    Ok(my_pupils_page(&app, &visitor, &uai, &pupils, None)?)
}

/// POST /e/{uai}/mes-eleves/{id}/mot-de-passe — only when the establishment delegates it, only for the teacher's pupils.
pub async fn reset_pupil_password(
    State(app): State<Arc<App>>,
    Path((uai, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> WebResult {
    let visitor = Visitor::from_headers(&app, &headers, uri.path());
    let form = checked_form(&app, &visitor, &body)?;
    let _ = form;
    let Some((teacher, pupils)) = my_pupils_of(&app, &visitor, &uai)? else {
        return Ok(forbidden(&app, &visitor, None));
    };
    let Some(old) = pupils.iter().find(|p| p.id == id).cloned() else {
        return Ok(forbidden(&app, &visitor, None));
    };
    if !delegations_of(&app, &uai)?.teachers_reset_pupil_passwords {
        return Ok(forbidden(&app, &visitor, None));
    }
    let password = password_policy::generate();
    let mut pupil = old.clone();
    pupil.password_hash = app.passwords.hash(password.clone()).await?;
    pupil.pending_secret = Some(password.clone());
    app.directory.save_user(Some(&old), &pupil)?;
    app.directory.audit_in(
        &teacher,
        &uai,
        "régénération du mot de passe d'un élève (délégation)",
        &pupil.login,
    )?;
    Ok(my_pupils_page(
        &app,
        &visitor,
        &uai,
        &pupils,
        Some((pupil.login.clone(), password)),
    )?)
}
