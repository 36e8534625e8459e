//! People: create (homonyms first), edit, password, block, attach to and detach from an establishment, link a child to a parent.

use super::*;

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

/// Every non-empty line of every field `name`.
fn lines_of(form: &Form, name: &str) -> Vec<String> {
    all(form, name)
        .iter()
        .flat_map(|v| v.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
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
        // One per line of a textarea (edit page) or one per field (creation page).
        functions: lines_of(form, "functions"),
        disciplines: lines_of(form, "disciplines"),
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
        "groups": all(form, "groups"), "functions": lines_of(form, "functions"),
        "disciplines": lines_of(form, "disciplines"), "pronote_id": field(form, "pronote_id"),
        "establishment": field(form, "establishment"), "password_mode": field(form, "password_mode"),
    })
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
            "establishments": administered(app, t),
            "fonctions": fonction_options(),
            "disciplines": discipline_options(),
            "password_rules": password_policy::describe(),
        }),
    )
}

/// The national fonctions, offered by both person forms (a local label stays possible).
fn fonction_options() -> Vec<Value> {
    let options = nomenclatures::fonctions().into_iter();
    options
        .map(|(code, label)| json!({ "value": label, "label": format!("{code} — {label}") }))
        .collect()
}

/// The BCN's disciplines de poste, offered by both person forms.
fn discipline_options() -> Vec<Value> {
    let options = nomenclatures::disciplines().into_iter();
    options
        .map(|(code, label)| json!({ "value": format!("{code} - {label}") }))
        .collect()
}

/// The establishments the caller administers (the creation form's choice), this one first.
fn administered(app: &App, t: &Target) -> Vec<Value> {
    let mut list: Vec<Value> = app
        .directory
        .establishments()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| t.user.administers(&e.uai))
        .map(|e| json!({ "id": e.uai, "label": format!("{} ({})", e.name, e.uai) }))
        .collect();
    list.sort_by_key(|e| e["id"] != json!(t.establishment.uai));
    list
}

/// GET /admin/e/{uai}/annuaire/nouveau
pub async fn new_user_form(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
) -> WebResult {
    let groups = app.directory.groups(&uai)?;
    // No profile chosen in advance: a forgotten choice is a field error, never a pupil.
    let values = json!({ "profile": "", "civility": "", "perenne": true, "groups": [],
                         "establishment": uai, "password_mode": "generer" });
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    // The establishment chosen on the form (an administrator of several), checked here.
    let chosen = match field(&form, "establishment") {
        e if e.is_empty() => uai.clone(),
        e => e,
    };
    let groups = app.directory.groups(&chosen)?;
    let (person, mut errors) = read_person(&form, &groups, false);
    if !t.user.administers(&chosen) || app.directory.establishment(&chosen)?.is_none() {
        errors.insert(
            "establishment".into(),
            json!("Choisissez un établissement que vous administrez."),
        );
    }
    let typed = match read_typed_password(&form, &person) {
        Ok(typed) => typed,
        Err((name, message)) => {
            errors.insert(name.into(), json!(message));
            None
        }
    };
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
    let password = typed.clone().unwrap_or_else(password_policy::generate);
    let hash = app.passwords.hash(password.clone()).await?;
    let user = User {
        id: id.clone(),
        login: login.clone(),
        first_name: person.first_name,
        last_name: person.last_name,
        password_hash: hash,
        memberships: vec![Membership {
            uai: chosen.clone(),
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
        .audit_in(&t.user, &chosen, "création d'un utilisateur", &login)?;
    let page = format!("/admin/e/{chosen}/annuaire/u/{id}");
    if typed.is_none() {
        // A generated password is shown once; a typed one the administrator knows already.
        let secret = ShownSecret {
            login: login.clone(),
            password,
            initial: true,
        };
        shown_once::keep_for(&app, &t.visitor, &page, secret);
    }
    Ok(Redirect::to(&page).into_response())
}

/// The password typed on the creation form (`password_mode` = `saisir`), checked
/// against the CNIL rules and its confirmation; None when it is to be generated.
fn read_typed_password(
    form: &Form,
    person: &NewUser,
) -> Result<Option<String>, (&'static str, String)> {
    if field(form, "password_mode") != "saisir" {
        return Ok(None);
    }
    // Not `field`: a password keeps its spaces.
    let raw = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (password, confirm) = (raw("password"), raw("password_confirm"));
    if let Err(problems) =
        password_policy::check(&password, &[&person.first_name, &person.last_name])
    {
        return Err(("password", problems.join(" ")));
    }
    if password != confirm {
        return Err((
            "password_confirm",
            "Les deux saisies du mot de passe diffèrent.".into(),
        ));
    }
    Ok(Some(password))
}

/// Post/redirect/get: the password waits for the person's page, shown once there.
fn show_password_once(
    app: &App,
    t: &Target,
    user: &User,
    password: String,
    initial: bool,
) -> Response {
    let page = format!("/admin/e/{}/annuaire/u/{}", t.establishment.uai, user.id);
    let secret = ShownSecret {
        login: user.login.clone(),
        password,
        initial,
    };
    shown_once::keep_for(app, &t.visitor, &page, secret);
    Redirect::to(&page).into_response()
}

// ---------------------------------------------------------------- edit

/// The user of an edit URL, if they belong to the establishment (or the caller is the region administrator).
pub(super) fn member(app: &App, t: &Target, id: &str) -> Result<User, Response> {
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
        Err(e) => Err(crate::web::pages::AppError::from(e).into_response()),
    }
}

pub(super) fn user_page(
    app: &App,
    t: &Target,
    user: &User,
    new_password: Option<&ShownSecret>,
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
                "functions": here.map(|m| m.functions.clone()).unwrap_or_default(),
                "disciplines": here.map(|m| m.disciplines.clone()).unwrap_or_default(),
                "profile": here.map(|m| m.profile.clone()).unwrap_or_default(),
            },
            "memberships": memberships,
            "children": children,
            "groups": groups_view(&groups),
            "profiles": profiles_view(),
            "fonctions": fonction_options(),
            "disciplines": discipline_options(),
            "establishments": establishments.iter().map(|e| json!({ "uai": e.uai, "name": e.name })).collect::<Vec<_>>(),
            "can_attach_elsewhere": t.user.region_admin,
            "new_password": new_password.map(|s| json!({ "password": s.password, "initial": s.initial })),
            "errors": errors.unwrap_or_default(),
            "update_url": base.clone(),
            "password_url": format!("{base}/mot-de-passe"),
            "block_url": format!("{base}/blocage"),
            "sessions_url": format!("{base}/sessions"),
            "storage": super::storage::storage_view(app, uai, user)?,
            "quota_url": format!("{base}/quota"),
            "open_sessions": app.directory.live_sessions_of(&user.id)?,
            "attach_url": format!("{base}/rattachements"),
            "child_url": format!("{base}/enfants"),
            "back_url": format!("/admin/e/{uai}/annuaire"),
        }),
    ))
}

/// GET /admin/e/{uai}/annuaire/u/{id}
pub async fn user_form(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((_, id)): Path<(String, String)>,
) -> WebResult {
    let user = member(&app, &t, &id)?;
    match shown_once::take_for(&app, &t.visitor) {
        Some(secret) => Ok(shown_once::not_stored(user_page(
            &app,
            &t,
            &user,
            Some(&secret),
            None,
            StatusCode::OK,
        )?)),
        None => Ok(user_page(&app, &t, &user, None, None, StatusCode::OK)?),
    }
}

/// POST /admin/e/{uai}/annuaire/u/{id} — identity, contact, login, Pronote id, groups and functions here.
pub async fn update_user(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
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
        let errors = field_error(
            "login",
            format!("L'identifiant « {login} » est déjà utilisé."),
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    let old = member(&app, &t, &id)?;
    let password = password_policy::generate();
    let mut user = old.clone();
    user.password_hash = app.passwords.hash(password.clone()).await?;
    user.pending_secret = Some(password.clone());
    app.directory.save_user(Some(&old), &user)?;
    app.directory
        .audit_in(&t.user, &uai, "régénération du mot de passe", &user.login)?;
    Ok(show_password_once(&app, &t, &user, password, false))
}

/// POST …/u/{id}/sessions — « Fermer toutes ses sessions »: signs the person
/// out everywhere (an administrator closing their own keeps the current one).
pub async fn close_sessions(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    let person = member(&app, &t, &id)?;
    let keep = t.visitor.session.as_ref().map(|(token, _)| token.as_str());
    let ended = app.directory.close_sessions_of(&person.id, keep)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        "fermeture des sessions",
        &format!("{} ({ended})", person.login),
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/annuaire/u/{id}")).into_response())
}

/// POST …/u/{id}/blocage — block or unblock (`blocked` = `oui`/`non`).
pub async fn set_blocked(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
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
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
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

/// POST …/u/{id}/enfants — link a parent to a child of this establishment (`child` = login), or unlink (`remove`).
pub async fn link_child(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let old = member(&app, &t, &id)?;
    let mut user = old.clone();
    let remove = field(&form, "remove");
    if !remove.is_empty() {
        user.children.retain(|c| *c != remove);
    } else {
        let child = app.directory.user_by_login(&field(&form, "child"))?;
        let child = child.filter(|c| c.membership(&uai).is_some_and(|m| m.profile == "eleve"));
        let Some(child) = child else {
            let errors = field_error(
                "child",
                "Aucun élève de cet établissement n'a cet identifiant.",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_validated() {
        assert!(valid_email("claire.fauvel@ac-lyon.fr"));
        assert!(!valid_email("claire.fauvel@"));
        assert!(!valid_email("a b@c.fr"));
        assert!(valid_phone("04 77 00 00 00"));
        assert!(valid_phone("+33 6 12 34 56 78"));
        assert!(!valid_phone("téléphone"));
    }
}
