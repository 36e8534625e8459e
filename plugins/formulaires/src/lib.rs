//! Formulaires: a library of form models (questionnaire, QCM, sondage, quiz),
//! diffusions of a snapshot of a model — embedded in another service's content
//! (`[[embeds]]`: a blog article, a forum message) or answered on `/d/{id}` —,
//! answers checked question by question, results (synthesis with SVG bar charts,
//! individual answers of named diffusions, CSV) and the deletion of answers past
//! the configured lifetime on the scheduled `tick`. A form's sections are pages,
//! answered one after the other without script (earlier answers ride along in
//! hidden fields and are all checked again before anything is recorded).
//!
//! Roles (see `plugin.toml`): `repondant` answers the diffusions whose audience
//! includes them (public: a diffusion open to everyone is answered by anonymous
//! visitors too); `concepteur` keeps models, diffuses them and reads the results of
//! their own diffusions; `gestionnaire` reads every diffusion's results.
//!
//! Anonymous diffusions store no identity with the answers: "one answer per person"
//! is enforced by a separate marker, a salted hash of the respondent's id.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use preau_sdk::prelude::*;
use preau_sdk::store;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod answer;
mod model;
mod results;
mod rules;

use answer::{Submitted, Valeur};
use model::{Formulaire, Genre, Kind, Question};
use rules::{Audience, Period};

/// Answers read for a synthesis or an export.
const MAX_ANSWERS: u32 = 10_000;
/// Places (service, page) remembered per diffusion.
const MAX_PLACES: usize = 20;
/// Answers examined per retention pass.
const RETENTION_BATCH: u32 = 500;

use preau_sdk::directory::PROFILES;

#[derive(Deserialize)]
#[serde(default)]
struct Settings {
    conservation_mois: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            conservation_mois: 12,
        }
    }
}

/// A model of the library, private to its author.
#[derive(Serialize, Deserialize)]
struct Modele {
    contenu: Formulaire,
    auteur_id: String,
    auteur_nom: String,
    cree_le: i64,
    modifie_le: i64,
}

impl Record for Modele {
    const KIND: &'static str = "modele";
    fn index_keys(&self) -> Vec<String> {
        vec![format!("auteur:{}", self.auteur_id)]
    }
}

/// Where a diffusion was shown (from the embed's params).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
struct Lieu {
    service: String,
    page: String,
}

/// A diffusion: a snapshot of a model with its audience and options.
#[derive(Serialize, Deserialize)]
struct Diffusion {
    modele: Id,
    modele_titre: String,
    contenu: Formulaire,
    auteur_id: String,
    auteur_nom: String,
    cree_le: i64,
    audience: Audience,
    ouverture: Option<String>,
    fermeture: Option<String>,
    anonyme: bool,
    plusieurs: bool,
    montrer_score: bool,
    /// Salt of the "already answered" markers.
    sel: String,
    #[serde(default)]
    lieux: Vec<Lieu>,
}

impl Record for Diffusion {
    const KIND: &'static str = "diffusion";
    fn index_keys(&self) -> Vec<String> {
        vec![format!("auteur:{}", self.auteur_id)]
    }
}

#[derive(Serialize, Deserialize)]
struct Repondant {
    id: String,
    nom: String,
}

/// One response. `repondant` is None for anonymous diffusions (and anonymous visitors).
#[derive(Serialize, Deserialize)]
struct Reponse {
    diffusion: Id,
    le: i64,
    repondant: Option<Repondant>,
    valeurs: Vec<Valeur>,
    score: Option<f64>,
}

impl Record for Reponse {
    const KIND: &'static str = "reponse";
    fn index_keys(&self) -> Vec<String> {
        vec![diffusion_index(self.diffusion)]
    }
}

fn diffusion_index(id: Id) -> String {
    format!("diffusion:{id}")
}

struct Formulaires;

impl Plugin for Formulaires {
    fn router() -> Router {
        Router::new()
            .get("/", index)
            .get("/modele.schema.json", schema)
            .post("/modeles", create_model)
            .post("/modeles/import", import_model)
            .get("/modeles/{id}", model_page)
            .post("/modeles/{id}", update_model)
            .post("/modeles/{id}/questions", add_question)
            .get("/modeles/{id}/questions/{n}", question_page)
            .post("/modeles/{id}/questions/{n}", update_question)
            .post("/modeles/{id}/questions/{n}/supprimer", delete_question)
            .post("/modeles/{id}/questions/{n}/monter", move_question_up)
            .get("/modeles/{id}/apercu", preview)
            .get("/modeles/{id}/export", export_model)
            .post("/modeles/{id}/supprimer", delete_model)
            .post("/modeles/{id}/diffuser", diffuse)
            .get("/diffusions", dashboard)
            .get("/diffusions/{id}", diffusion_page)
            .get("/diffusions/{id}/reponses", individual_answers)
            .get("/diffusions/{id}/export", export_csv)
            .post("/diffusions/{id}/periode", update_period)
            .post("/diffusions/{id}/supprimer", delete_diffusion)
            .get("/d/{id}", answer_page)
            .post("/d/{id}", submit_answer)
    }

    fn render_block(
        name: &str,
        params: &[(String, String)],
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        match name {
            "diffusion" => embed_block(params, invocation),
            "a-remplir" => to_fill_block(invocation),
            _ => Ok(None),
        }
    }

    fn on_event(name: &str, _payload: &str, invocation: &Invocation) -> Result<()> {
        match name {
            "tick" => {
                let settings: Settings = config()?;
                delete_expired(now(), settings.conservation_mois)?;
            }
            "demo" => seed_demo(invocation)?,
            _ => {}
        }
        Ok(())
    }
}

preau_sdk::export_plugin!(Formulaires);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// 128 random bits as hex (WASI randomness through the std hasher keys).
fn random_hex() -> String {
    let mut out = String::new();
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

fn id_param(params: &Params) -> Result<Id> {
    Id::parse(params.get("id")).ok_or(Error::NotFound)
}

fn field_errors(errors: &[FieldError]) -> serde_json::Map<String, Value> {
    errors
        .iter()
        .map(|e| (e.field.clone(), e.message.clone().into()))
        .collect()
}

fn is_designer(invocation: &Invocation) -> bool {
    invocation.caller().is_some() && invocation.has_role("concepteur")
}

fn is_manager(invocation: &Invocation) -> bool {
    invocation.caller().is_some() && invocation.has_role("gestionnaire")
}

fn caller_id(invocation: &Invocation) -> Option<&str> {
    invocation.caller().map(|c| c.id.as_str())
}

/// The caller's own model (403 for someone else's).
fn own_model(request: &Request, params: &Params) -> Result<(Id, Modele)> {
    if !is_designer(request.invocation()) {
        return Err(Error::Forbidden);
    }
    let id = id_param(params)?;
    let model = Table::<Modele>::new().get(id)?.ok_or(Error::NotFound)?;
    if Some(model.auteur_id.as_str()) != caller_id(request.invocation()) {
        return Err(Error::Forbidden);
    }
    Ok((id, model))
}

/// A diffusion whose results the caller may read: its author (still a designer) or a manager.
fn managed_diffusion(request: &Request, params: &Params) -> Result<(Id, Diffusion)> {
    let invocation = request.invocation();
    if !is_designer(invocation) && !is_manager(invocation) {
        return Err(Error::Forbidden);
    }
    let id = id_param(params)?;
    let diffusion = Table::<Diffusion>::new().get(id)?.ok_or(Error::NotFound)?;
    let author =
        is_designer(invocation) && Some(diffusion.auteur_id.as_str()) == caller_id(invocation);
    if !author && !is_manager(invocation) {
        return Err(Error::Forbidden);
    }
    Ok((id, diffusion))
}

fn marker_key(diffusion: Id, sel: &str, user: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(sel.as_bytes());
    hasher.update(b":");
    hasher.update(user.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("deja/{diffusion}/{hex}")
}

fn already_answered(id: Id, diffusion: &Diffusion, invocation: &Invocation) -> Result<bool> {
    match caller_id(invocation) {
        Some(user) => Ok(store::get_bytes(&marker_key(id, &diffusion.sel, user)).is_some()),
        None => Ok(false),
    }
}

fn in_audience(diffusion: &Diffusion, invocation: &Invocation) -> bool {
    if diffusion.audience.tous {
        return true;
    }
    if !invocation.has_any_role(&["repondant", "concepteur", "gestionnaire"]) {
        return false;
    }
    diffusion.audience.includes(
        invocation
            .caller()
            .map(|c| (c.profiles.as_slice(), c.groups.as_slice())),
    )
}

fn audience_text(audience: &Audience) -> String {
    if audience.tous {
        return "Tout le monde, visiteurs non connectés compris".into();
    }
    if audience.profils.is_empty() && audience.groupes.is_empty() {
        return "Les personnes connectées de l'établissement".into();
    }
    let mut parts: Vec<String> = PROFILES
        .iter()
        .filter(|(id, _)| audience.profils.iter().any(|p| p == id))
        .map(|(_, label)| label.to_string())
        .collect();
    let groups = group_names();
    parts.extend(audience.groupes.iter().map(|g| {
        groups
            .iter()
            .find(|(id, _)| id == g)
            .map(|(_, n)| format!("groupe {n}"))
            .unwrap_or_else(|| format!("groupe {g}"))
    }));
    parts.join(", ")
}

/// The establishment's groups (id, name).
fn group_names() -> Vec<(String, String)> {
    preau_sdk::directory::groups()
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect()
}

fn period_text(d: &Diffusion) -> String {
    match (&d.ouverture, &d.fermeture) {
        (Some(f), Some(t)) => format!("du {} au {}", rules::date_fr(f), rules::date_fr(t)),
        (Some(f), None) => format!("à partir du {}", rules::date_fr(f)),
        (None, Some(t)) => format!("jusqu'au {}", rules::date_fr(t)),
        (None, None) => "sans limite de date".into(),
    }
}

// ---------------------------------------------------------------- index

fn index(request: &Request, _: &Params) -> Result<Response> {
    let invocation = request.invocation();
    // Anyone with a role here (someone of another establishment has none).
    if invocation.roles().is_empty() {
        return Err(Error::Forbidden);
    }
    index_page(request, &[], &Default::default())
}

/// The caller's models, newest first, with the date of their last diffusion.
fn library(request: &Request) -> Result<Vec<Value>> {
    let invocation = request.invocation();
    let (true, Some(me)) = (is_designer(invocation), caller_id(invocation)) else {
        return Ok(Vec::new());
    };
    let mut last: BTreeMap<Id, i64> = BTreeMap::new();
    for (_, d) in Table::<Diffusion>::new().scan_index(
        &format!("auteur:{me}"),
        None,
        1000,
        Order::OldestFirst,
    )? {
        last.insert(d.modele, d.cree_le);
    }
    Ok(Table::<Modele>::new()
        .scan_index(&format!("auteur:{me}"), None, 500, Order::NewestFirst)?
        .into_iter()
        .map(|(id, m)| {
            json!({
                "title": m.contenu.titre,
                "genre": m.contenu.genre.label(),
                "questions": m.contenu.questions.iter().filter(|q| q.kind != Kind::Section).count(),
                "created": m.cree_le,
                "modified": m.modifie_le,
                "last_diffusion": last.get(&id),
                "url": request.url(&format!("/modeles/{id}")),
                "preview_url": request.url(&format!("/modeles/{id}/apercu")),
                "export_url": request.url(&format!("/modeles/{id}/export")),
            })
        })
        .collect())
}

fn index_page(
    request: &Request,
    errors: &[FieldError],
    values: &serde_json::Map<String, Value>,
) -> Result<Response> {
    let to_fill = to_fill(request.invocation(), 50)?;
    let designer = is_designer(request.invocation());
    let manager = is_manager(request.invocation());
    let models = library(request)?;
    let genres: Vec<Value> = Genre::ALL
        .iter()
        .map(|(_, id, label)| json!({ "id": id, "label": label }))
        .collect();
    Ok(Response::page(
        "index.html",
        "Formulaires",
        &json!({
            "to_fill": to_fill,
            "designer": designer,
            "manager": manager,
            "models": models,
            "genres": genres,
            "create_url": request.url("/modeles"),
            "import_url": request.url("/modeles/import"),
            "schema_url": request.url("/modele.schema.json"),
            "dashboard_url": request.url("/diffusions"),
            "errors": field_errors(errors),
            "values": values,
        }),
    )
    .with_status(if errors.is_empty() { 200 } else { 422 }))
}

/// Open diffusions whose audience includes the visitor and that they have not answered.
fn to_fill(invocation: &Invocation, limit: usize) -> Result<Vec<Value>> {
    let at = now();
    let mut out = Vec::new();
    if invocation.caller().is_none() {
        return Ok(out);
    }
    for (id, d) in Table::<Diffusion>::new().scan(None, 300, Order::NewestFirst)? {
        if rules::period(at, d.ouverture.as_deref(), d.fermeture.as_deref()) != Period::Open
            || !in_audience(&d, invocation)
            || already_answered(id, &d, invocation)?
        {
            continue;
        }
        out.push(json!({
            "title": d.contenu.titre,
            "genre": d.contenu.genre.label(),
            "until": d.fermeture.as_deref().map(rules::date_fr),
            "url": invocation.url(&format!("/d/{id}")),
        }));
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

fn to_fill_block(invocation: &Invocation) -> Result<Option<Fragment>> {
    if invocation.caller().is_none() {
        return Ok(None);
    }
    let items = to_fill(invocation, 5)?;
    // Nothing to fill: no block (the home page stays short).
    if items.is_empty() {
        return Ok(None);
    }
    Fragment::new(
        "block.html",
        "Formulaires à remplir",
        &json!({ "items": items }),
    )
    .map(|f| Some(f.with_more("/")))
}

fn schema(request: &Request, _: &Params) -> Result<Response> {
    if request.invocation().roles().is_empty() {
        return Err(Error::Forbidden);
    }
    Ok(Response::download(
        "modele.schema.json",
        "application/schema+json",
        model::SCHEMA.as_bytes().to_vec(),
    ))
}

// ---------------------------------------------------------------- models

fn create_model(request: &Request, _: &Params) -> Result<Response> {
    let invocation = request.invocation();
    if !is_designer(invocation) {
        return Err(Error::Forbidden);
    }
    let form = request.form();
    let titre = form.text("titre");
    let description = form.text("description");
    let genre = Genre::parse(&form.text("genre"));
    let mut errors = Vec::new();
    if let Some(e) = model::check_title(&titre) {
        errors.push(FieldError::new("titre", &e));
    }
    if genre.is_none() {
        errors.push(FieldError::new(
            "genre",
            "Choisissez un genre de formulaire.",
        ));
    }
    if description.chars().count() > model::MAX_DESCRIPTION {
        errors.push(FieldError::new(
            "description",
            &format!(
                "La description dépasse {} caractères.",
                model::MAX_DESCRIPTION
            ),
        ));
    }
    if !errors.is_empty() {
        let mut values = serde_json::Map::new();
        values.insert("titre".into(), titre.into());
        values.insert("description".into(), description.into());
        values.insert("genre".into(), form.text("genre").into());
        return index_page(request, &errors, &values);
    }
    let id = insert_model(
        invocation,
        Formulaire {
            titre,
            genre: genre.expect("vérifié"),
            description,
            questions: Vec::new(),
        },
    )?;
    Ok(Response::redirect(&format!("/modeles/{id}")))
}

fn insert_model(invocation: &Invocation, contenu: Formulaire) -> Result<Id> {
    let caller = invocation.caller().ok_or(Error::Forbidden)?;
    let at = now();
    Table::<Modele>::new().insert(&Modele {
        contenu,
        auteur_id: caller.id.clone(),
        auteur_nom: caller.display_name.clone(),
        cree_le: at,
        modifie_le: at,
    })
}

fn import_model(request: &Request, _: &Params) -> Result<Response> {
    let invocation = request.invocation();
    if !is_designer(invocation) {
        return Err(Error::Forbidden);
    }
    let json = request.form().get("json").unwrap_or("").to_string();
    if json.len() > 512 * 1024 {
        return import_errors(request, &json, &["le document dépasse 512 Kio".into()]);
    }
    match model::import(&json) {
        Ok(contenu) => {
            let id = insert_model(invocation, contenu)?;
            Ok(Response::redirect(&format!("/modeles/{id}")))
        }
        Err(errors) => import_errors(request, &json, &errors),
    }
}

fn import_errors(request: &Request, json: &str, errors: &[String]) -> Result<Response> {
    Ok(Response::page(
        "import.html",
        "Erreur : importer un modèle",
        &json!({
            "errors": errors,
            "json": json,
            "import_url": request.url("/modeles/import"),
            "schema_url": request.url("/modele.schema.json"),
            "home_url": request.url("/"),
        }),
    )
    .with_status(422))
}

fn question_summary(q: &Question) -> Value {
    let mut details = Vec::new();
    if q.obligatoire {
        details.push("obligatoire".to_string());
    }
    if let Some(m) = q.max_choix {
        details.push(format!("{m} choix au plus"));
    }
    if let Some(min) = q.min {
        details.push(format!("min. {}", model::fmt_num(min)));
    }
    if let Some(max) = q.max {
        details.push(format!("max. {}", model::fmt_num(max)));
    }
    if !q.bonnes_reponses.is_empty() {
        details.push(format!(
            "bonne réponse : {} ({} pt{})",
            q.bonnes_reponses.join(", "),
            model::fmt_num(q.points()),
            if q.points() > 1.0 { "s" } else { "" }
        ));
    }
    json!({
        "kind": q.kind.label(),
        "section": q.kind == Kind::Section,
        "intitule": q.intitule,
        "aide": q.aide,
        "choix": q.choix,
        "details": details.join(" · "),
    })
}

fn model_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, model) = own_model(request, params)?;
    model_editor(request, id, &model, &[], &serde_json::Map::new(), 200)
}

fn model_editor(
    request: &Request,
    id: Id,
    model: &Modele,
    errors: &[FieldError],
    values: &serde_json::Map<String, Value>,
    status: u16,
) -> Result<Response> {
    let questions: Vec<Value> = model
        .contenu
        .questions
        .iter()
        .enumerate()
        .map(|(n, q)| {
            let mut v = question_summary(q);
            v["delete_url"] = request
                .url(&format!("/modeles/{id}/questions/{n}/supprimer"))
                .into();
            v["edit_url"] = request.url(&format!("/modeles/{id}/questions/{n}")).into();
            v["up_url"] = request
                .url(&format!("/modeles/{id}/questions/{n}/monter"))
                .into();
            v["first"] = (n == 0).into();
            v["number"] = (n + 1).into();
            v
        })
        .collect();
    let genres: Vec<Value> = Genre::ALL
        .iter()
        .map(|(g, id, label)| json!({ "id": id, "label": label, "selected": *g == model.contenu.genre }))
        .collect();
    let profiles: Vec<Value> = PROFILES
        .iter()
        .map(|(id, label)| json!({ "id": id, "label": label }))
        .collect();
    let groups: Vec<Value> = group_names()
        .into_iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect();
    let diffusions: Vec<Value> = Table::<Diffusion>::new()
        .scan(None, 500, Order::NewestFirst)?
        .into_iter()
        .filter(|(_, d)| d.modele == id && Some(d.auteur_id.as_str()) == caller_id(request.invocation()))
        .map(|(did, d)| json!({ "title": d.contenu.titre, "created": d.cree_le, "url": request.url(&format!("/diffusions/{did}")) }))
        .collect();
    Ok(Response::page(
        "model.html",
        &model.contenu.titre,
        &json!({
            "model": {
                "title": model.contenu.titre,
                "description": model.contenu.description,
                "genre": model.contenu.genre.label(),
                "scored": model.contenu.genre.scored(),
            },
            "questions": questions,
            "has_questions": model::has_questions(&model.contenu),
            "kinds": kinds(),
            "genres": genres,
            "profiles": profiles,
            "groups": groups,
            "diffusions": diffusions,
            "home_url": request.url("/"),
            "update_url": request.url(&format!("/modeles/{id}")),
            "add_url": request.url(&format!("/modeles/{id}/questions")),
            "preview_url": request.url(&format!("/modeles/{id}/apercu")),
            "export_url": request.url(&format!("/modeles/{id}/export")),
            "delete_url": request.url(&format!("/modeles/{id}/supprimer")),
            "diffuse_url": request.url(&format!("/modeles/{id}/diffuser")),
            "errors": field_errors(errors),
            "values": values,
        }),
    )
    .with_status(status))
}

fn update_model(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let form = request.form();
    let titre = form.text("titre");
    let description = form.text("description");
    let mut errors = Vec::new();
    if let Some(e) = model::check_title(&titre) {
        errors.push(FieldError::new("titre", &e));
    }
    if description.chars().count() > model::MAX_DESCRIPTION {
        errors.push(FieldError::new(
            "description",
            &format!(
                "La description dépasse {} caractères.",
                model::MAX_DESCRIPTION
            ),
        ));
    }
    let genre = Genre::parse(&form.text("genre")).unwrap_or(model.contenu.genre);
    let mut candidate = model.contenu.clone();
    candidate.titre = titre;
    candidate.description = description;
    candidate.genre = genre;
    if errors.is_empty() {
        // Changing the genre must keep every question valid (correct answers…).
        if let Some(e) = model::check(&candidate).into_iter().next() {
            errors.push(FieldError::new(
                "genre",
                &format!("Ce genre ne convient pas aux questions : {e}."),
            ));
        }
    }
    if !errors.is_empty() {
        return model_editor(request, id, &model, &errors, &serde_json::Map::new(), 422);
    }
    model.contenu = candidate;
    model.modifie_le = now();
    Table::<Modele>::new().put(id, &model)?;
    Ok(Response::redirect(&format!("/modeles/{id}")))
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_number(form: &Form, name: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let text = form.text(name);
    if text.is_empty() {
        return None;
    }
    match text.replace(',', ".").parse::<f64>() {
        Ok(n) if n.is_finite() => Some(n),
        _ => {
            errors.push(FieldError::new(
                name,
                &format!("« {text} » n'est pas un nombre."),
            ));
            None
        }
    }
}

const QUESTION_FIELDS: [&str; 9] = [
    "type",
    "intitule",
    "aide",
    "choix",
    "max_choix",
    "min",
    "max",
    "bonnes_reponses",
    "points",
];

/// The question of the editor's form, checked: field errors name the form's fields.
fn question_from_form(form: &Form, genre: Genre) -> (Question, Vec<FieldError>) {
    let mut errors = Vec::new();
    let kind = Kind::parse(&form.text("type"));
    if kind.is_none() {
        errors.push(FieldError::new("type", "Choisissez un type de question."));
    }
    let kind = kind.unwrap_or(Kind::TexteCourt);
    let mut q = Question::new(kind, &form.text("intitule"));
    q.aide = form.text("aide");
    q.obligatoire = form.checkbox("obligatoire") && kind != Kind::Section;
    if kind.has_choices() {
        q.choix = lines(&form.text("choix"));
    }
    if kind == Kind::ChoixMultiple {
        let text = form.text("max_choix");
        if !text.is_empty() {
            match text.parse::<u32>() {
                Ok(n) => q.max_choix = Some(n),
                Err(_) => errors.push(FieldError::new("max_choix", "Indiquez un nombre entier.")),
            }
        }
    }
    if matches!(kind, Kind::Nombre | Kind::Echelle) {
        q.min = parse_number(form, "min", &mut errors);
        q.max = parse_number(form, "max", &mut errors);
        if kind == Kind::Echelle {
            q.min = q.min.or(Some(1.0));
            q.max = q.max.or(Some(5.0));
        }
    }
    if genre.scored() && kind.gradable() {
        q.bonnes_reponses = lines(&form.text("bonnes_reponses"));
        q.points = parse_number(form, "points", &mut errors);
    }
    if errors.is_empty() {
        // The rule's field names are the editor's field names; one message per field.
        for (field, message) in model::check_question(genre, &q) {
            if !errors.iter().any(|e| e.field == field) {
                errors.push(FieldError::new(field, &sentence(&message)));
            }
        }
    }
    (q, errors)
}

/// What was typed in the question form, to show it again.
fn typed_question(form: &Form) -> serde_json::Map<String, Value> {
    QUESTION_FIELDS
        .iter()
        .map(|k| (k.to_string(), Value::from(form.get(k).unwrap_or(""))))
        .chain([(
            "obligatoire".to_string(),
            Value::from(form.checkbox("obligatoire")),
        )])
        .collect()
}

/// A stored question as the question form's values.
fn question_values(q: &Question) -> serde_json::Map<String, Value> {
    let num = |n: Option<f64>| n.map(model::fmt_num).unwrap_or_default();
    let mut values = serde_json::Map::new();
    values.insert("type".into(), q.kind.id().into());
    values.insert("intitule".into(), q.intitule.clone().into());
    values.insert("aide".into(), q.aide.clone().into());
    values.insert("choix".into(), q.choix.join("\n").into());
    values.insert(
        "max_choix".into(),
        q.max_choix
            .map(|m| m.to_string())
            .unwrap_or_default()
            .into(),
    );
    values.insert("min".into(), num(q.min).into());
    values.insert("max".into(), num(q.max).into());
    values.insert(
        "bonnes_reponses".into(),
        q.bonnes_reponses.join("\n").into(),
    );
    values.insert("points".into(), num(q.points).into());
    values.insert("obligatoire".into(), q.obligatoire.into());
    values
}

fn add_question(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let form = request.form();
    let (q, mut errors) = question_from_form(form, model.contenu.genre);
    if model.contenu.questions.len() >= model::MAX_QUESTIONS {
        errors.push(FieldError::new(
            "intitule",
            &format!("Un modèle a au plus {} questions.", model::MAX_QUESTIONS),
        ));
    }
    if !errors.is_empty() {
        return model_editor(request, id, &model, &errors, &typed_question(form), 422);
    }
    model.contenu.questions.push(q);
    model.modifie_le = now();
    Table::<Modele>::new().put(id, &model)?;
    Ok(Response::redirect(&format!("/modeles/{id}#questions")))
}

fn question_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, model) = own_model(request, params)?;
    let n = question_index(params, &model)?;
    question_editor(
        request,
        id,
        n,
        &model,
        &[],
        &question_values(&model.contenu.questions[n]),
        200,
    )
}

fn question_editor(
    request: &Request,
    id: Id,
    n: usize,
    model: &Modele,
    errors: &[FieldError],
    values: &serde_json::Map<String, Value>,
    status: u16,
) -> Result<Response> {
    Ok(Response::page(
        "question.html",
        &format!("Question {} : {}", n + 1, model.contenu.titre),
        &json!({
            "number": n + 1,
            "model": { "title": model.contenu.titre, "scored": model.contenu.genre.scored() },
            "kinds": kinds(),
            "values": values,
            "errors": field_errors(errors),
            "home_url": request.url("/"),
            "model_url": request.url(&format!("/modeles/{id}")),
            "action_url": request.url(&format!("/modeles/{id}/questions/{n}")),
        }),
    )
    .with_status(status))
}

fn update_question(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let n = question_index(params, &model)?;
    let form = request.form();
    let (q, errors) = question_from_form(form, model.contenu.genre);
    if !errors.is_empty() {
        return question_editor(request, id, n, &model, &errors, &typed_question(form), 422);
    }
    model.contenu.questions[n] = q;
    model.modifie_le = now();
    Table::<Modele>::new().put(id, &model)?;
    Ok(Response::redirect(&format!("/modeles/{id}#questions")))
}

fn kinds() -> Vec<Value> {
    Kind::ALL
        .iter()
        .map(|(_, id, label)| json!({ "id": id, "label": label }))
        .collect()
}

/// `au moins deux choix` → `Au moins deux choix.`
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

fn question_index(params: &Params, model: &Modele) -> Result<usize> {
    params
        .get("n")
        .parse::<usize>()
        .ok()
        .filter(|n| *n < model.contenu.questions.len())
        .ok_or(Error::NotFound)
}

fn delete_question(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let n = question_index(params, &model)?;
    model.contenu.questions.remove(n);
    model.modifie_le = now();
    Table::<Modele>::new().put(id, &model)?;
    Ok(Response::redirect(&format!("/modeles/{id}#questions")))
}

fn move_question_up(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let n = question_index(params, &model)?;
    if n > 0 {
        model.contenu.questions.swap(n - 1, n);
        model.modifie_le = now();
        Table::<Modele>::new().put(id, &model)?;
    }
    Ok(Response::redirect(&format!("/modeles/{id}#questions")))
}

fn preview(request: &Request, params: &Params) -> Result<Response> {
    let (id, model) = own_model(request, params)?;
    Ok(Response::page(
        "answer.html",
        &format!("Aperçu : {}", model.contenu.titre),
        &json!({
            "preview": true,
            "back_url": request.url(&format!("/modeles/{id}")),
            "form": form_view(&model.contenu, &Submitted::new(), &BTreeMap::new(), None),
        }),
    ))
}

fn export_model(request: &Request, params: &Params) -> Result<Response> {
    let (_, model) = own_model(request, params)?;
    let body = model::export(&model.contenu, &request.url("/modele.schema.json"));
    Ok(Response::download(
        &format!("{}.json", file_name(&model.contenu.titre)),
        "application/json",
        body.into_bytes(),
    ))
}

fn file_name(title: &str) -> String {
    let name: String = title
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if name.is_empty() {
        "formulaire".into()
    } else {
        name.chars().take(60).collect()
    }
}

fn delete_model(request: &Request, params: &Params) -> Result<Response> {
    let (id, _) = own_model(request, params)?;
    // Diffusions keep their snapshot: deleting the model does not stop them.
    Table::<Modele>::new().delete(id)?;
    Ok(Response::redirect("/"))
}

// ---------------------------------------------------------------- diffusions

fn diffuse(request: &Request, params: &Params) -> Result<Response> {
    let (id, model) = own_model(request, params)?;
    let form = request.form();
    let mut errors = Vec::new();
    if !model::has_questions(&model.contenu) {
        errors.push(FieldError::new(
            "public",
            "Ajoutez au moins une question avant de diffuser.",
        ));
    }
    let mut audience = Audience::default();
    match form.text("public").as_str() {
        "tous" => audience.tous = true,
        "etablissement" => {}
        "choix" => {
            audience.profils = form
                .all("profils")
                .into_iter()
                .filter(|p| PROFILES.iter().any(|(id, _)| id == p))
                .map(str::to_string)
                .collect();
            let known = group_names();
            audience.groupes = form
                .all("groupes")
                .into_iter()
                .filter(|g| known.iter().any(|(id, _)| id == g))
                .map(str::to_string)
                .collect();
            if audience.profils.is_empty() && audience.groupes.is_empty() {
                errors.push(FieldError::new(
                    "public",
                    "Choisissez au moins un profil ou un groupe.",
                ));
            }
        }
        _ => errors.push(FieldError::new(
            "public",
            "Choisissez à qui s'adresse le formulaire.",
        )),
    }
    let (ouverture, fermeture) = read_period(form, &mut errors);
    let mut contenu = model.contenu.clone();
    let titre = form.text("titre");
    if !titre.is_empty() {
        match model::check_title(&titre) {
            Some(e) => errors.push(FieldError::new("titre_diffusion", &e)),
            None => contenu.titre = titre,
        }
    }
    if !errors.is_empty() {
        let values: serde_json::Map<String, Value> = ["public", "ouverture", "fermeture", "titre"]
            .iter()
            .map(|k| (k.to_string(), Value::from(form.text(k))))
            .collect();
        return model_editor(request, id, &model, &errors, &values, 422);
    }
    let caller = request.caller().ok_or(Error::Forbidden)?;
    let did = Table::<Diffusion>::new().insert(&Diffusion {
        modele: id,
        modele_titre: model.contenu.titre.clone(),
        contenu,
        auteur_id: caller.id.clone(),
        auteur_nom: caller.display_name.clone(),
        cree_le: now(),
        audience,
        ouverture,
        fermeture,
        anonyme: form.checkbox("anonyme"),
        plusieurs: form.checkbox("plusieurs"),
        montrer_score: form.checkbox("montrer_score"),
        sel: random_hex(),
        lieux: Vec::new(),
    })?;
    Ok(Response::redirect(&format!("/diffusions/{did}")))
}

/// The opening period of a diffusion form: both dates optional, checked.
fn read_period(form: &Form, errors: &mut Vec<FieldError>) -> (Option<String>, Option<String>) {
    let mut date = |name: &str| {
        let text = form.text(name);
        if text.is_empty() {
            None
        } else if preau_sdk::time::Date::parse_iso(&text).is_some() {
            Some(text)
        } else {
            errors.push(FieldError::new(
                name,
                &format!("« {text} » n'est pas une date valide (AAAA-MM-JJ)."),
            ));
            None
        }
    };
    let ouverture = date("ouverture");
    let fermeture = date("fermeture");
    if let (Some(f), Some(t)) = (&ouverture, &fermeture)
        && f > t
    {
        errors.push(FieldError::new(
            "fermeture",
            "La fermeture doit suivre l'ouverture.",
        ));
    }
    (ouverture, fermeture)
}

/// Changes the opening period of a running diffusion (its author only).
fn update_period(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut d) = managed_diffusion(request, params)?;
    if Some(d.auteur_id.as_str()) != caller_id(request.invocation()) {
        return Err(Error::Forbidden);
    }
    let mut errors = Vec::new();
    let (ouverture, fermeture) = read_period(request.form(), &mut errors);
    if !errors.is_empty() {
        return results_page(request, id, &d, &errors, 422);
    }
    d.ouverture = ouverture;
    d.fermeture = fermeture;
    let key = format!("{}/{id}", Diffusion::KIND);
    let current = store::get_bytes(&key).ok_or(Error::NotFound)?;
    // Conditioned on the record as read: a place recorded meanwhile is not lost.
    if !store::batch_if(
        &[(key.as_str(), Some(&current))],
        Table::<Diffusion>::new().put_writes(id, &d)?,
    )? {
        return Err(Error::Internal("diffusion modifiée entre-temps".into()));
    }
    Ok(Response::redirect(&format!("/diffusions/{id}")))
}

fn answer_count(id: Id) -> usize {
    Table::<Reponse>::new()
        .scan_index_ids(&diffusion_index(id), None, MAX_ANSWERS, Order::OldestFirst)
        .len()
}

fn services_text(d: &Diffusion) -> String {
    let mut names: Vec<&str> = Vec::new();
    for l in &d.lieux {
        if !names.contains(&l.service.as_str()) {
            names.push(&l.service);
        }
    }
    if names.is_empty() {
        "Page directe".into()
    } else {
        names.join(", ")
    }
}

fn dashboard(request: &Request, _: &Params) -> Result<Response> {
    let invocation = request.invocation();
    let manager = is_manager(invocation);
    if !is_designer(invocation) && !manager {
        return Err(Error::Forbidden);
    }
    let table = Table::<Diffusion>::new();
    let diffusions = if manager {
        table.scan(None, 1000, Order::NewestFirst)?
    } else {
        let me = caller_id(invocation).unwrap_or("");
        table.scan_index(&format!("auteur:{me}"), None, 1000, Order::NewestFirst)?
    };
    let models = Table::<Modele>::new();
    let rows: Vec<Value> = diffusions
        .iter()
        .map(|(id, d)| {
            let own_model = models
                .get(d.modele)
                .ok()
                .flatten()
                .filter(|m| Some(m.auteur_id.as_str()) == caller_id(invocation));
            json!({
                "created": d.cree_le,
                "service": services_text(d),
                "title": d.contenu.titre,
                "model": d.modele_titre,
                "model_url": own_model.map(|_| request.url(&format!("/modeles/{}", d.modele))),
                "author": d.auteur_nom,
                "responses": answer_count(*id),
                "url": request.url(&format!("/diffusions/{id}")),
                "csv_url": request.url(&format!("/diffusions/{id}/export")),
                "answer_url": request.url(&format!("/d/{id}")),
            })
        })
        .collect();
    Ok(Response::page(
        "dashboard.html",
        "Diffusions",
        &json!({ "rows": rows, "manager": manager, "home_url": request.url("/") }),
    ))
}

fn answers_of(id: Id) -> Result<Vec<(Id, Reponse)>> {
    Table::<Reponse>::new().scan_index(&diffusion_index(id), None, MAX_ANSWERS, Order::OldestFirst)
}

fn diffusion_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = managed_diffusion(request, params)?;
    results_page(request, id, &d, &[], 200)
}

fn results_page(
    request: &Request,
    id: Id,
    d: &Diffusion,
    errors: &[FieldError],
    http_status: u16,
) -> Result<Response> {
    let answers = answers_of(id)?;
    let data: Vec<(Vec<Valeur>, Option<f64>)> = answers
        .into_iter()
        .map(|(_, r)| (r.valeurs, r.score))
        .collect();
    let synthesis = results::synthesis(&d.contenu, &data);
    let link = request.url(&format!("/d/{id}"));
    let status = match rules::period(now(), d.ouverture.as_deref(), d.fermeture.as_deref()) {
        Period::NotYet => "pas encore ouverte",
        Period::Open => "ouverte",
        Period::Closed => "fermée",
    };
    Ok(Response::page(
        "diffusion.html",
        &d.contenu.titre,
        &json!({
            "d": {
                "title": d.contenu.titre,
                "model": d.modele_titre,
                "genre": d.contenu.genre.label(),
                "author": d.auteur_nom,
                "created": d.cree_le,
                "audience": audience_text(&d.audience),
                "period": period_text(d),
                "status": status,
                "anonymous": d.anonyme,
                "several": d.plusieurs,
                "show_score": d.montrer_score,
                "places": d.lieux.iter().map(|l| json!({ "service": l.service, "page": l.page })).collect::<Vec<_>>(),
            },
            "snippet": format!("<p><a href=\"{link}\">Répondre au formulaire</a></p>"),
            "link": link,
            "synthesis": synthesis,
            "dashboard_url": request.url("/diffusions"),
            "answers_url": (!d.anonyme).then(|| request.url(&format!("/diffusions/{id}/reponses"))),
            "csv_url": request.url(&format!("/diffusions/{id}/export")),
            "delete_url": request.url(&format!("/diffusions/{id}/supprimer")),
            "period_url": request.url(&format!("/diffusions/{id}/periode")),
            "can_delete": Some(d.auteur_id.as_str()) == caller_id(request.invocation()),
            "period_values": { "ouverture": d.ouverture, "fermeture": d.fermeture },
            "errors": field_errors(errors),
        }),
    )
    .with_status(http_status))
}

fn individual_answers(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = managed_diffusion(request, params)?;
    if d.anonyme {
        // Anonymous: there is nothing individual to show.
        return Err(Error::NotFound);
    }
    let answers: Vec<Value> = answers_of(id)?
        .into_iter()
        .map(|(_, r)| {
            let items: Vec<Value> = d
                .contenu
                .questions
                .iter()
                .zip(&r.valeurs)
                .filter(|(q, _)| q.kind != Kind::Section)
                .map(|(q, v)| json!({ "question": q.intitule, "answer": answer::display(q, v) }))
                .collect();
            json!({
                "who": r.repondant.as_ref().map(|p| p.nom.clone()).unwrap_or_else(|| "Visiteur non connecté".into()),
                "at": r.le,
                "score": r.score.map(model::fmt_num),
                "items": items,
            })
        })
        .collect();
    Ok(Response::page(
        "answers.html",
        &format!("Réponses : {}", d.contenu.titre),
        &json!({
            "title": d.contenu.titre,
            "answers": answers,
            "back_url": request.url(&format!("/diffusions/{id}")),
        }),
    ))
}

fn export_csv(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = managed_diffusion(request, params)?;
    let questions: Vec<(usize, &Question)> = d
        .contenu
        .questions
        .iter()
        .enumerate()
        .filter(|(_, q)| q.kind != Kind::Section)
        .collect();
    let scored = d.contenu.genre.scored();
    let mut header = vec!["Date".to_string()];
    if !d.anonyme {
        header.push("Répondant".into());
    }
    header.extend(questions.iter().map(|(_, q)| q.intitule.clone()));
    if scored {
        header.push("Score".into());
    }
    let mut rows = vec![header];
    for (_, r) in answers_of(id)? {
        let mut row = vec![if d.anonyme {
            rules::day_fr(r.le)
        } else {
            rules::time_fr(r.le)
        }];
        if !d.anonyme {
            row.push(
                r.repondant
                    .as_ref()
                    .map(|p| p.nom.clone())
                    .unwrap_or_default(),
            );
        }
        for (i, q) in &questions {
            row.push(
                r.valeurs
                    .get(*i)
                    .map(|v| answer::display(q, v))
                    .unwrap_or_default(),
            );
        }
        if scored {
            row.push(r.score.map(model::fmt_num).unwrap_or_default());
        }
        rows.push(row);
    }
    // Anonymous answers in arrival order could be matched with who was seen answering
    // when: sorted by day then content instead.
    if d.anonyme {
        rows[1..].sort();
    }
    Ok(Response::download(
        &format!("{}.csv", file_name(&d.contenu.titre)),
        "text/csv; charset=utf-8",
        results::csv(&rows),
    ))
}

fn delete_diffusion(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = managed_diffusion(request, params)?;
    if Some(d.auteur_id.as_str()) != caller_id(request.invocation()) {
        return Err(Error::Forbidden);
    }
    let answers = Table::<Reponse>::new();
    for aid in answers.scan_index_ids(&diffusion_index(id), None, MAX_ANSWERS, Order::OldestFirst) {
        answers.delete(aid)?;
    }
    for (key, _) in store::scan_json::<Value>(&format!("deja/{id}/"), MAX_ANSWERS)? {
        store::remove(&key)?;
    }
    Table::<Diffusion>::new().delete(id)?;
    Ok(Response::redirect("/diffusions"))
}

// ---------------------------------------------------------------- answering

/// The questions as the template draws them, with what was typed and the errors.
/// `step`: the page shown (the others' answers travel as hidden fields); None: every page.
fn form_view(
    form: &Formulaire,
    submitted: &Submitted,
    errors: &BTreeMap<String, String>,
    step: Option<usize>,
) -> Value {
    let pages = model::pages(form);
    let step = step.map(|s| s.min(pages.len() - 1));
    let shown = step
        .map(|s| pages[s].clone())
        .unwrap_or(0..form.questions.len());
    let in_page = |name: &str| {
        name.strip_prefix('q')
            .and_then(|n| n.split('-').next())
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|i| shown.contains(&i))
    };
    let carried: Vec<Value> = submitted
        .iter()
        .filter(|(name, _)| !in_page(name))
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |v| json!({ "name": name, "value": v }))
        })
        .collect();
    let mut number = 0;
    let questions: Vec<Value> = form
        .questions
        .iter()
        .enumerate()
        .filter_map(|(i, q)| {
            if q.kind != Kind::Section {
                number += 1;
            }
            shown.contains(&i).then_some((i, q, number))
        })
        .map(|(i, q, number)| {
            let name = answer::field(i);
            let typed: Vec<&str> = submitted
                .get(&name)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let choices: Vec<Value> = q
                .choix
                .iter()
                .enumerate()
                .map(|(c, label)| {
                    let rank = submitted
                        .get(&format!("{name}-{c}"))
                        .and_then(|v| v.first())
                        .cloned()
                        .unwrap_or_default();
                    json!({
                        "value": c.to_string(),
                        "label": label,
                        "checked": typed.contains(&c.to_string().as_str()),
                        "rank_name": format!("{name}-{c}"),
                        "rank": rank,
                    })
                })
                .collect();
            let scale: Vec<Value> = if q.kind == Kind::Echelle {
                let (min, max) = (q.min.unwrap_or(1.0) as i64, q.max.unwrap_or(5.0) as i64);
                (min..=max)
                    .map(|n| json!({ "value": n.to_string(), "checked": typed.first() == Some(&n.to_string().as_str()) }))
                    .collect()
            } else {
                Vec::new()
            };
            let hint = match q.kind {
                Kind::ChoixMultiple => q
                    .max_choix
                    .map(|m| format!("{m} choix au plus."))
                    .unwrap_or_default(),
                Kind::Nombre => match (q.min, q.max) {
                    (Some(a), Some(b)) => format!("Entre {} et {}.", model::fmt_num(a), model::fmt_num(b)),
                    (Some(a), None) => format!("Au moins {}.", model::fmt_num(a)),
                    (None, Some(b)) => format!("Au plus {}.", model::fmt_num(b)),
                    _ => String::new(),
                },
                Kind::Date => "Format : AAAA-MM-JJ.".into(),
                Kind::Classement => format!(
                    "Donnez à chaque choix un rang de 1 (premier) à {}, chaque rang une seule fois.",
                    q.choix.len()
                ),
                Kind::Echelle => format!(
                    "De {} à {}.",
                    model::fmt_num(q.min.unwrap_or(1.0)),
                    model::fmt_num(q.max.unwrap_or(5.0))
                ),
                _ => String::new(),
            };
            json!({
                "name": name,
                "number": number,
                "kind": q.kind.id(),
                "intitule": q.intitule,
                "aide": q.aide,
                "hint": hint,
                "required": q.obligatoire,
                "text": typed.first().copied().unwrap_or(""),
                "min": q.min.map(model::fmt_num).map(|s| s.replace(',', ".")),
                "max": q.max.map(model::fmt_num).map(|s| s.replace(',', ".")),
                "choices": choices,
                "scale": scale,
                "ranks": (1..=q.choix.len()).map(|n| n.to_string()).collect::<Vec<_>>(),
                "error": errors.get(&name),
            })
        })
        .collect();
    json!({
        "title": form.titre,
        "description": form.description,
        "genre": form.genre.label(),
        "questions": questions,
        "errors": errors
            .iter()
            .filter(|(k, _)| in_page(k))
            .map(|(k, v)| json!({ "field": k, "message": v }))
            .collect::<Vec<_>>(),
        "carried": carried,
        "step": step.unwrap_or(0),
        "steps": pages.len(),
        "paged": step.is_some() && pages.len() > 1,
        "first": step.is_none_or(|s| s == 0),
        "last": step.is_none_or(|s| s + 1 == pages.len()),
    })
}

fn load_diffusion(params: &Params) -> Result<(Id, Diffusion)> {
    let id = id_param(params)?;
    let d = Table::<Diffusion>::new().get(id)?.ok_or(Error::NotFound)?;
    Ok((id, d))
}

const ALREADY: &str = "Vous avez déjà répondu à ce formulaire. Merci !";

/// Why the visitor cannot answer now, if so, with the status of a refused answer
/// (403 outside the opening period, 409 for a second answer).
fn unavailable(
    id: Id,
    d: &Diffusion,
    invocation: &Invocation,
) -> Result<Option<(&'static str, u16)>> {
    Ok(
        match rules::period(now(), d.ouverture.as_deref(), d.fermeture.as_deref()) {
            Period::NotYet => Some(("Ce formulaire n'est pas encore ouvert.", 403)),
            Period::Closed => Some((
                "Ce formulaire est fermé : il n'accepte plus de réponses.",
                403,
            )),
            Period::Open if !d.plusieurs && already_answered(id, d, invocation)? => {
                Some((ALREADY, 409))
            }
            Period::Open => None,
        },
    )
}

fn notice_text(d: &Diffusion, invocation: &Invocation) -> String {
    let mut parts = Vec::new();
    if d.anonyme {
        parts.push(
            "Réponses anonymes : votre nom n'est pas enregistré avec vos réponses.".to_string(),
        );
    } else if invocation.caller().is_some() {
        parts.push("Vos réponses sont enregistrées avec votre nom.".to_string());
    }
    if let Some(t) = &d.fermeture {
        parts.push(format!("Ouvert jusqu'au {}.", rules::date_fr(t)));
    }
    parts.join(" ")
}

#[allow(clippy::too_many_arguments)]
fn answer_view(
    request: &Request,
    id: Id,
    d: &Diffusion,
    submitted: &Submitted,
    errors: &BTreeMap<String, String>,
    step: usize,
    closed: Option<&str>,
    page: &str,
    service: &str,
    status: u16,
) -> Result<Response> {
    Ok(Response::page(
        "answer.html",
        &if errors.is_empty() {
            d.contenu.titre.clone()
        } else {
            format!("Erreur : {}", d.contenu.titre)
        },
        &json!({
            "preview": false,
            "closed": closed,
            "notice": notice_text(d, request.invocation()),
            "action_url": request.url(&format!("/d/{id}")),
            "page": page,
            "service": service,
            "back_url": rules::return_page(page, request.invocation().uai()),
            "form": form_view(&d.contenu, submitted, errors, Some(step)),
        }),
    )
    .with_status(status))
}

fn answer_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = load_diffusion(params)?;
    if !in_audience(&d, request.invocation()) {
        return Err(Error::Forbidden);
    }
    let closed = unavailable(id, &d, request.invocation())?.map(|(reason, _)| reason);
    let page = request.query("page").unwrap_or("").to_string();
    let service = request.query("service").unwrap_or("").to_string();
    answer_view(
        request,
        id,
        &d,
        &Submitted::new(),
        &BTreeMap::new(),
        0,
        closed,
        &page,
        &service,
        200,
    )
}

/// Remembers where the diffusion is shown (dashboard's « Service » column).
fn remember_place(id: Id, d: &mut Diffusion, service: &str, page: &str, uai: &str) -> Result<()> {
    let (Some(service), Some(page)) = (rules::service_name(service), rules::return_page(page, uai))
    else {
        return Ok(());
    };
    let lieu = Lieu { service, page };
    let table = Table::<Diffusion>::new();
    // Conditioned on the record as read: a concurrent change (or deletion) wins,
    // the place is recorded at the next display.
    let key = format!("{}/{id}", Diffusion::KIND);
    let Some(current) = store::get_bytes(&key) else {
        return Ok(());
    };
    let mut fresh: Diffusion = serde_json::from_slice(&current)?;
    if fresh.lieux.contains(&lieu) || fresh.lieux.len() >= MAX_PLACES {
        return Ok(());
    }
    fresh.lieux.push(lieu);
    if store::batch_if(
        &[(key.as_str(), Some(&current))],
        table.put_writes(id, &fresh)?,
    )? {
        d.lieux = fresh.lieux;
    }
    Ok(())
}

fn submit_answer(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = load_diffusion(params)?;
    let invocation = request.invocation();
    if !in_audience(&d, invocation) {
        return Err(Error::Forbidden);
    }
    let form = request.form();
    let page = form.text("page");
    let service = form.text("service");
    if let Some((reason, status)) = unavailable(id, &d, invocation)? {
        return answer_view(
            request,
            id,
            &d,
            &Submitted::new(),
            &BTreeMap::new(),
            0,
            Some(reason),
            &page,
            &service,
            status,
        );
    }
    let mut submitted = Submitted::new();
    for (i, q) in d.contenu.questions.iter().enumerate() {
        let name = answer::field(i);
        let values: Vec<String> = form.all(&name).into_iter().map(str::to_string).collect();
        if !values.is_empty() {
            submitted.insert(name.clone(), values);
        }
        for c in 0..q.choix.len() {
            let rank = format!("{name}-{c}");
            if let Some(v) = form.get(&rank) {
                submitted.insert(rank, vec![v.to_string()]);
            }
        }
    }
    // A form with several pages: « Page précédente » / « Page suivante » carry the
    // answers so far; only the last page's button records them.
    let pages = model::pages(&d.contenu);
    let last = pages.len() - 1;
    let step = form
        .text("etape")
        .parse::<usize>()
        .map_or(last, |s| s.min(last));
    let on_page = |errors: &BTreeMap<String, String>, p: usize| {
        errors
            .keys()
            .any(|k| k[1..].parse::<usize>().is_ok_and(|i| pages[p].contains(&i)))
    };
    let none = BTreeMap::new();
    let show = |step: usize, errors: &BTreeMap<String, String>, status: u16| {
        answer_view(
            request, id, &d, &submitted, errors, step, None, &page, &service, status,
        )
    };
    match form.text("aller").as_str() {
        "precedent" => return show(step.saturating_sub(1), &none, 200),
        "suivant" if step < last => {
            return match answer::read(&d.contenu, &submitted) {
                Err(errors) if on_page(&errors, step) => show(step, &errors, 422),
                _ => show(step + 1, &none, 200),
            };
        }
        _ => {}
    }
    let values = match answer::read(&d.contenu, &submitted) {
        Ok(v) => v,
        Err(errors) => {
            // Back to the first page with an error.
            let first = (0..pages.len())
                .find(|p| on_page(&errors, *p))
                .unwrap_or(step);
            return show(first, &errors, 422);
        }
    };
    let score = answer::score(&d.contenu, &values);
    let repondant = match (d.anonyme, invocation.caller()) {
        (false, Some(c)) => Some(Repondant {
            id: c.id.clone(),
            nom: c.display_name.clone(),
        }),
        _ => None,
    };
    let reponse = Reponse {
        diffusion: id,
        // Anonymous: the day only, so that the time cannot be matched with a visit.
        le: if d.anonyme {
            now().div_euclid(86_400) * 86_400
        } else {
            now()
        },
        repondant,
        valeurs: values.clone(),
        score: score.map(|(got, _)| got),
    };
    // The answer and the "already answered" marker in one conditional batch: for
    // "one answer per person", only if the marker is still absent (two tabs
    // submitting at once record one answer). The marker holds no answer id.
    let mut writes = Table::<Reponse>::new().put_writes(Id::next(), &reponse)?;
    let marker = caller_id(invocation).map(|user| marker_key(id, &d.sel, user));
    if let Some(key) = &marker {
        writes.push(store::Write::Put(key.clone(), b"1".to_vec()));
    }
    let expected: Vec<(&str, Option<&[u8]>)> = match (&marker, d.plusieurs) {
        (Some(key), false) => vec![(key.as_str(), None)],
        _ => Vec::new(),
    };
    if !store::batch_if(&expected, writes)? {
        return answer_view(
            request,
            id,
            &d,
            &Submitted::new(),
            &BTreeMap::new(),
            0,
            Some(ALREADY),
            &page,
            &service,
            409,
        );
    }
    // Not `remember_place` here: `page` and `service` are what the respondent sent;
    // places are recorded when the host shows the diffusion in a page (`embed_block`).
    let corrections: Vec<Value> = if d.montrer_score && d.contenu.genre == Genre::Quiz {
        d.contenu
            .questions
            .iter()
            .zip(&values)
            .filter(|(q, _)| q.graded())
            .map(|(q, v)| {
                json!({
                    "question": q.intitule,
                    "ok": answer::correct(q, v) == Some(true),
                    "expected": q.bonnes_reponses.join(", "),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Response::page(
        "merci.html",
        "Merci pour vos réponses",
        &json!({
            "title": d.contenu.titre,
            "score": if d.montrer_score { score.map(|(g, t)| format!("{} / {}", model::fmt_num(g), model::fmt_num(t))) } else { None },
            "corrections": corrections,
            "back_url": rules::return_page(&page, invocation.uai()),
            "again_url": d.plusieurs.then(|| request.url(&format!("/d/{id}"))),
        }),
    ))
}

fn embed_block(params: &[(String, String)], invocation: &Invocation) -> Result<Option<Fragment>> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let Some(id) = Id::parse(param("id")) else {
        return Ok(None);
    };
    let Some(mut d) = Table::<Diffusion>::new().get(id)? else {
        return Ok(None);
    };
    let (page, service) = (param("page"), param("service"));
    remember_place(id, &mut d, service, page, invocation.uai())?;
    let audience = in_audience(&d, invocation);
    // Outside the audience, nothing of the form shows: anyone who can write a link in
    // a message or a comment could otherwise read the title and description of every
    // diffusion by its id.
    let (title, description) = if audience {
        (d.contenu.titre.as_str(), d.contenu.description.as_str())
    } else {
        ("Formulaire", "")
    };
    let (closed, form) = if !audience {
        (
            Some(if invocation.caller().is_none() {
                "Connectez-vous pour répondre à ce formulaire."
            } else {
                "Ce formulaire ne vous est pas destiné."
            }),
            Value::Null,
        )
    } else {
        match unavailable(id, &d, invocation)? {
            Some((reason, _)) => (Some(reason), Value::Null),
            None => (
                None,
                form_view(&d.contenu, &Submitted::new(), &BTreeMap::new(), Some(0)),
            ),
        }
    };
    Fragment::new(
        "embed.html",
        title,
        &json!({
            "title": title,
            "description": description,
            "closed": closed,
            "notice": notice_text(&d, invocation),
            "action_url": invocation.url(&format!("/d/{id}")),
            "page": page,
            "service": service,
            "form": form,
        }),
    )
    .map(Some)
}

// ---------------------------------------------------------------- retention

/// Deletes the answers past their lifetime, and the "already answered" markers of
/// diffusions closed longer ago than it. Answer ids grow with time: each pass reads
/// the oldest answers and stops at the first one still within its lifetime.
fn delete_expired(at: i64, months: u32) -> Result<usize> {
    let table = Table::<Reponse>::new();
    let mut deleted = 0;
    loop {
        let batch = table.scan(None, RETENTION_BATCH, Order::OldestFirst)?;
        let times: Vec<i64> = batch.iter().map(|(_, r)| r.le).collect();
        let expired = rules::expired_prefix(&times, at, months);
        for (id, _) in &batch[..expired] {
            table.delete(*id)?;
        }
        deleted += expired;
        if expired < RETENTION_BATCH as usize {
            break;
        }
    }
    for (id, d) in Table::<Diffusion>::new().scan(None, 1000, Order::OldestFirst)? {
        if rules::markers_expired(d.fermeture.as_deref(), at, months) {
            for (key, _) in store::scan_json::<Value>(&format!("deja/{id}/"), MAX_ANSWERS)? {
                store::remove(&key)?;
            }
        }
    }
    if deleted > 0 {
        preau_sdk::log::info(&format!(
            "{deleted} réponse(s) supprimée(s) (conservation : {months} mois)"
        ));
    }
    Ok(deleted)
}

// ---------------------------------------------------------------- demo

fn seed_demo(invocation: &Invocation) -> Result<()> {
    let Some(caller) = invocation.caller() else {
        return Ok(());
    };
    if !Table::<Modele>::new()
        .scan(None, 1, Order::OldestFirst)?
        .is_empty()
    {
        return Ok(());
    }
    let contenu = model::import(DEMO_MODEL).map_err(|e| Error::Internal(e.join(" ; ")))?;
    let at = now();
    let modele = Table::<Modele>::new().insert(&Modele {
        contenu: contenu.clone(),
        auteur_id: caller.id.clone(),
        auteur_nom: caller.display_name.clone(),
        cree_le: at,
        modifie_le: at,
    })?;
    // Diffused to the pupils, named answers, one each: « Formulaires à remplir » on
    // their home page.
    Table::<Diffusion>::new().insert(&Diffusion {
        modele,
        modele_titre: contenu.titre.clone(),
        contenu,
        auteur_id: caller.id.clone(),
        auteur_nom: caller.display_name.clone(),
        cree_le: at,
        audience: Audience {
            profils: vec!["eleve".into()],
            ..Audience::default()
        },
        ouverture: None,
        fermeture: None,
        anonyme: false,
        plusieurs: false,
        montrer_score: false,
        sel: random_hex(),
        lieux: Vec::new(),
    })?;
    Ok(())
}

const DEMO_MODEL: &str = r#"{
  "titre": "Sortie de fin d'année",
  "genre": "sondage",
  "description": "Aidez-nous à choisir la sortie de fin d'année.",
  "questions": [
    {"type": "choix-unique", "intitule": "Quelle destination préférez-vous ?", "choix": ["Parc des oiseaux", "Musée de la mine", "Gorges de la Loire"], "obligatoire": true},
    {"type": "choix-multiple", "intitule": "Quelles activités vous tentent ? (3 au plus)", "choix": ["Randonnée", "Visite guidée", "Atelier", "Pique-nique", "Baignade"], "max_choix": 3},
    {"type": "echelle", "intitule": "Votre envie de partir", "min": 1, "max": 5},
    {"type": "texte-long", "intitule": "Une suggestion ?"}
  ]
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_sentences() {
        assert_eq!(file_name("Sondage : cantine (6e) !"), "Sondage-cantine-6e");
        assert_eq!(file_name("???"), "formulaire");
        assert_eq!(sentence("au moins deux choix"), "Au moins deux choix.");
        assert_eq!(sentence("énoncé vide"), "Énoncé vide.");
    }

    #[test]
    fn markers_are_salted_hashes_of_the_user() {
        let a = marker_key(Id(1), "sel-a", "u42");
        assert!(a.starts_with("deja/0000000000000001/") && a.len() == 22 + 64);
        assert!(!a.contains("u42"));
        assert_ne!(a, marker_key(Id(1), "sel-b", "u42"), "salt per diffusion");
        assert_eq!(a, marker_key(Id(1), "sel-a", "u42"));
        assert_ne!(random_hex(), random_hex());
    }
}
