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

use preau_sdk::prelude::*;
use preau_sdk::store;
use preau_sdk::time::now;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod answer;
mod answering;
mod diffusions;
mod library;
mod model;
mod reports;
mod results;
mod retention;
mod rules;

use answer::{Submitted, Valeur};
use answering::*;
use diffusions::*;
use library::*;
use model::{Formulaire, Genre, Kind, Question};
use reports::*;
use retention::*;
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
        params: &Params,
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        match name {
            "diffusion" => embed_block(params, invocation),
            "a-remplir" => to_fill_block(invocation),
            _ => Ok(None),
        }
    }

    fn on_event(event: &Event, invocation: &Invocation) -> Result<()> {
        match event {
            Event::Tick => {
                let settings: Settings = config()?;
                delete_expired(now(), settings.conservation_mois)?;
            }
            other if other.name() == "demo" => seed_demo(invocation)?,
            _ => {}
        }
        Ok(())
    }
}

preau_sdk::export_plugin!(Formulaires);

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
    let id = params.id("id")?;
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
    let id = params.id("id")?;
    let diffusion = Table::<Diffusion>::new().get(id)?.ok_or(Error::NotFound)?;
    let author =
        is_designer(invocation) && Some(diffusion.auteur_id.as_str()) == caller_id(invocation);
    if !author && !is_manager(invocation) {
        return Err(Error::Forbidden);
    }
    Ok((id, diffusion))
}

/// HMAC-SHA-256 (RFC 2104) of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The proof, put in the embedded form by `render-block`, that the host showed
/// diffusion `id` in `service` at `page` (keyed by the diffusion's secret salt):
/// the answer's POST records that place, a place typed by a respondent has none.
fn place_token(diffusion: Id, sel: &str, service: &str, page: &str) -> String {
    let message = format!("lieu\n{diffusion}\n{service}\n{page}");
    hmac_sha256(sel.as_bytes(), message.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `token` is [`place_token`] of these values (in constant time).
fn place_token_valid(token: &str, diffusion: Id, sel: &str, service: &str, page: &str) -> bool {
    let expected = place_token(diffusion, sel, service, page);
    token.len() == expected.len()
        && token
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
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
        sel: preau_sdk::random::token(),
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
        let token = place_token(Id(1), "sel-a", "Blog", "/e/0420003A/blog/1");
        assert!(place_token_valid(
            &token,
            Id(1),
            "sel-a",
            "Blog",
            "/e/0420003A/blog/1"
        ));
        assert!(!place_token_valid(
            &token,
            Id(1),
            "sel-b",
            "Blog",
            "/e/0420003A/blog/1"
        ));
        assert!(!place_token_valid(
            &token,
            Id(1),
            "sel-a",
            "Blog",
            "/e/0420003A/blog/2"
        ));
        assert!(!place_token_valid(
            &token,
            Id(2),
            "sel-a",
            "Blog",
            "/e/0420003A/blog/1"
        ));
        assert!(!place_token_valid(
            "",
            Id(1),
            "sel-a",
            "Blog",
            "/e/0420003A/blog/1"
        ));
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            mac.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(a.starts_with("deja/0000000000000001/") && a.len() == 22 + 64);
        assert!(!a.contains("u42"));
        assert_ne!(a, marker_key(Id(1), "sel-b", "u42"), "salt per diffusion");
        assert_eq!(a, marker_key(Id(1), "sel-a", "u42"));
        assert_ne!(preau_sdk::random::token(), preau_sdk::random::token());
    }
}
