//! The forms service through the real host: models (HTTP editor, JSON import with
//! precise errors, export, schema), diffusions (audience, opening period, named or
//! anonymous, one answer per person), answers with per-question errors, results
//! (synthesis, SVG charts, individual answers, CSV), roles, retention tick.

use std::time::Duration;

use preau_tests::{Client, TestServer, test_config, unescape};

const FORMS: &str = "/e/0420003A/formulaires";

fn url(path: &str) -> String {
    format!("{FORMS}{path}")
}

/// Creates a model through the HTTP editor; returns its URL.
async fn new_model(client: &Client, title: &str, genre: &str) -> String {
    let page = client
        .post_form(
            &url("/"),
            &url("/modeles"),
            &[("titre", title), ("genre", genre), ("description", "")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let model = page.location().to_string();
    assert!(model.starts_with(&url("/modeles/")), "{model}");
    model
}

async fn add_question(client: &Client, model: &str, fields: &[(&str, &str)]) -> preau_tests::Page {
    client
        .post_form(model, &format!("{model}/questions"), fields)
        .await
        .unwrap()
}

/// Diffuses a model; returns the diffusion's results URL and its answer URL.
async fn diffuse(client: &Client, model: &str, fields: &[(&str, &str)]) -> (String, String) {
    let page = client
        .post_form(model, &format!("{model}/diffuser"), fields)
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let results = page.location().to_string();
    assert!(results.starts_with(&url("/diffusions/")), "{results}");
    let id = results.rsplit('/').next().unwrap().to_string();
    (results, url(&format!("/d/{id}")))
}

/// A model with a single choice, a multiple choice (2 at most), a number and a text.
async fn canteen_model(teacher: &Client) -> String {
    let model = new_model(teacher, "Sondage cantine", "sondage").await;
    for fields in [
        vec![
            ("type", "choix-unique"),
            ("intitule", "Plat préféré"),
            ("choix", "Pâtes\nPizza\nFrites"),
            ("obligatoire", "oui"),
        ],
        vec![
            ("type", "choix-multiple"),
            ("intitule", "Vos 2 desserts"),
            ("choix", "Fruit\nYaourt\nGâteau"),
            ("max_choix", "2"),
        ],
        vec![
            ("type", "nombre"),
            ("intitule", "Note du service"),
            ("min", "0"),
            ("max", "10"),
        ],
        vec![("type", "texte-court"), ("intitule", "Remarque")],
    ] {
        let page = add_question(teacher, &model, &fields).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
    model
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_are_built_imported_diffused_answered_and_synthesised() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let model = canteen_model(&teacher).await;

    // A question with a single choice is refused with a precise message.
    let page = add_question(
        &teacher,
        &model,
        &[
            ("type", "choix-unique"),
            ("intitule", "Seul"),
            ("choix", "A"),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("Au moins deux choix sont attendus."),
        "{}",
        page.body
    );

    // Preview, export, schema.
    let preview = teacher.get(&format!("{model}/apercu")).await.unwrap();
    assert_eq!(preview.status, 200);
    assert!(preview.body.contains("Aperçu") && preview.body.contains("<legend>1. Plat préféré"));
    let export = teacher.get(&format!("{model}/export")).await.unwrap();
    assert_eq!(export.status, 200);
    assert!(
        export.body.contains("\"genre\": \"sondage\""),
        "{}",
        export.body
    );
    assert!(export.body.contains("\"max_choix\": 2"));
    let schema = teacher.get(&url("/modele.schema.json")).await.unwrap();
    assert_eq!(schema.status, 200);
    assert!(schema.body.contains("\"$defs\"") && schema.body.contains("texte-court"));

    // Import: an unknown question type names the element; nothing is created.
    let bad = r#"{"titre": "Import raté", "genre": "quiz", "questions": [
        {"type": "texte-court", "intitule": "Nom"},
        {"type": "slider", "intitule": "Niveau"}]}"#;
    let page = teacher
        .post_form(&url("/"), &url("/modeles/import"), &[("json", bad)])
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(
        unescape(&page.body).contains("questions[1].type : type de question inconnu « slider » (attendu : texte-court, texte-long, choix-unique, choix-multiple, nombre, date, echelle, classement, section)"),
        "{}",
        page.body
    );
    assert!(
        !teacher
            .get(&url("/"))
            .await
            .unwrap()
            .body
            .contains("Import raté")
    );
    // The exported document imports back as a new model.
    let page = teacher
        .post_form(
            &url("/"),
            &url("/modeles/import"),
            &[("json", &export.body)],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert_ne!(page.location(), model);

    // Diffuse to the establishment, named answers, one per person.
    let (results, answer) = diffuse(&teacher, &model, &[("public", "etablissement")]).await;
    let shown = unescape(&teacher.get(&results).await.unwrap().body)
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    assert!(
        shown.contains(&format!(
            "<p><a href=\"{answer}\">Répondre au formulaire</a></p>"
        )),
        "{shown}"
    );
    // The diffusion is a snapshot: editing the model later does not change it.
    let edit = format!("{model}/questions/0");
    assert!(
        teacher
            .get(&edit)
            .await
            .unwrap()
            .body
            .contains("value=\"Plat préféré\"")
    );
    let page = teacher
        .post_form(
            &edit,
            &edit,
            &[
                ("type", "choix-unique"),
                ("intitule", "Plat favori"),
                ("choix", "Pâtes\nPizza\nFrites"),
                ("obligatoire", "oui"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        teacher
            .get(&model)
            .await
            .unwrap()
            .body
            .contains("Plat favori")
    );
    let page = add_question(
        &teacher,
        &model,
        &[("type", "texte-long"), ("intitule", "Ajout tardif")],
    )
    .await;
    assert_eq!(page.status, 303);

    let pupil = server.signed_in("emma.martin").await.unwrap();
    let form = pupil.get(&answer).await.unwrap();
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Plat préféré") && !form.body.contains("Ajout tardif"));
    // Every error at once, in French, what was typed kept.
    let page = pupil
        .post_form(
            &answer,
            &answer,
            &[
                ("q1", "0"),
                ("q1", "1"),
                ("q1", "2"),
                ("q2", "12"),
                ("q3", "gardé"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    let body = unescape(&page.body);
    assert!(body.contains("Cette question est obligatoire."), "{body}");
    assert!(body.contains("Choisissez au plus 2 réponses (3 cochées)."));
    assert!(body.contains("La réponse doit être comprise entre 0 et 10."));
    assert!(body.contains("value=\"gardé\""), "typed text kept");
    assert!(body.contains("value=\"12\""), "typed number kept");

    let page = pupil
        .post_form(
            &answer,
            &answer,
            &[
                ("q0", "1"),
                ("q1", "0"),
                ("q1", "2"),
                ("q2", "7,5"),
                ("q3", "=HYPERLINK(\"http://x\")"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Merci pour vos réponses"));
    // One answer per person.
    let again = pupil
        .post_form(&answer, &answer, &[("q0", "0")])
        .await
        .unwrap();
    assert_eq!(again.status, 409);
    assert!(unescape(&again.body).contains("Vous avez déjà répondu"));
    let other = server.signed_in("tom.martin").await.unwrap();
    let page = other
        .post_form(&answer, &answer, &[("q0", "1"), ("q2", "3")])
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);

    // Synthesis: counts, French percentages, accessible SVG charts.
    let page = teacher.get(&results).await.unwrap();
    let body = unescape(&page.body);
    assert!(body.contains("2 réponses"), "{body}");
    assert!(body.contains("Pizza : 100 % (2)"), "{body}");
    assert!(
        body.contains("<td>Pizza</td><td>100 %</td><td>2</td>"),
        "table of the chart"
    );
    assert!(body.contains("Fruit : 100 % (1)"));
    assert!(body.contains("Moyenne : 5,25 · minimum : 3 · maximum : 7,5"));
    assert!(body.contains("role=\"img\"") && body.contains("<title id="));
    assert!(!body.contains("<script"));
    // Individual answers (named diffusion) and CSV.
    let named = teacher.get(&format!("{results}/reponses")).await.unwrap();
    assert_eq!(named.status, 200);
    assert!(named.body.contains("Emma Martin") && named.body.contains("Tom Martin"));
    let csv = teacher.get(&format!("{results}/export")).await.unwrap();
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with('\u{feff}'), "BOM");
    assert!(
        csv.body
            .contains("Date;Répondant;Plat préféré;Vos 2 desserts;Note du service;Remarque\r\n"),
        "{}",
        csv.body
    );
    assert!(
        csv.body
            .contains(";Emma Martin;Pizza;Fruit, Gâteau;7,5;\"'=HYPERLINK(\"\"http://x\"\")\"\r\n"),
        "{}",
        csv.body
    );
    // Dashboard.
    let dashboard = unescape(&teacher.get(&url("/diffusions")).await.unwrap().body);
    assert!(dashboard.contains("Diffusé le") && dashboard.contains("Page directe"));
    assert!(
        dashboard.contains("<td data-label=\"Réponses\">2</td>"),
        "{dashboard}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_audience_period_and_anonymity_are_enforced() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let model = canteen_model(&teacher).await;
    let (results, answer) = diffuse(
        &teacher,
        &model,
        &[("public", "choix"), ("profils", "enseignant")],
    )
    .await;

    // A pupil cannot build models nor read results.
    let page = pupil
        .post_form(
            &url("/"),
            &url("/modeles"),
            &[("titre", "x"), ("genre", "quiz")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    assert_eq!(pupil.get(&model).await.unwrap().status, 403);
    assert_eq!(pupil.get(&results).await.unwrap().status, 403);
    // Outside the audience (teachers only): refused.
    assert_eq!(pupil.get(&answer).await.unwrap().status, 403);
    let page = pupil
        .post_form(&url("/"), &answer, &[("q0", "0")])
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    // Another teacher: not the author of the model nor of the diffusion.
    let other = server.signed_in("marie.lefebvre").await.unwrap();
    assert_eq!(other.get(&model).await.unwrap().status, 403);
    let edit = format!("{model}/questions/0");
    assert_eq!(other.get(&edit).await.unwrap().status, 403);
    let page = other
        .post_form(
            &url("/"),
            &edit,
            &[("type", "texte-court"), ("intitule", "Pris")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    let page = other
        .post_form(
            &url("/"),
            &format!("{model}/diffuser"),
            &[("public", "tous")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    assert_eq!(other.get(&results).await.unwrap().status, 403);
    assert_eq!(
        other
            .get(&format!("{results}/export"))
            .await
            .unwrap()
            .status,
        403
    );
    assert!(
        !other
            .get(&url("/diffusions"))
            .await
            .unwrap()
            .body
            .contains("Sondage cantine")
    );
    // …but she is in the audience and answers.
    let page = other
        .post_form(&answer, &answer, &[("q0", "2")])
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    // The establishment's administrator (gestionnaire) reads every result.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    assert_eq!(principal.get(&results).await.unwrap().status, 200);
    assert!(
        principal
            .get(&url("/diffusions"))
            .await
            .unwrap()
            .body
            .contains("Sondage cantine")
    );
    // Someone of another establishment is refused.
    let outsider = server.signed_in("lucie.bernard").await.unwrap();
    assert_eq!(outsider.get(&answer).await.unwrap().status, 403);
    assert_eq!(outsider.get(&results).await.unwrap().status, 403);
    assert_eq!(outsider.get(&url("/")).await.unwrap().status, 403);

    // Audience by group (from the directory) or profile.
    let page = teacher.get(&model).await.unwrap();
    assert!(page.body.contains("value=\"g-6a\"") && page.body.contains(">6A</label>"));
    let (_, sixth) = diffuse(
        &teacher,
        &model,
        &[
            ("public", "choix"),
            ("groupes", "g-6a"),
            ("profils", "parent"),
        ],
    )
    .await;
    let tom = server.signed_in("tom.martin").await.unwrap();
    let page = tom.post_form(&sixth, &sixth, &[("q0", "0")]).await.unwrap();
    assert_eq!(page.status, 200, "a 6A pupil");
    let parent = server.signed_in("paul.martin").await.unwrap();
    let page = parent
        .post_form(&sixth, &sixth, &[("q0", "0")])
        .await
        .unwrap();
    assert_eq!(page.status, 200, "a parent");
    assert_eq!(pupil.get(&sixth).await.unwrap().status, 403, "a 4A pupil");

    // Opening period: not yet open, or closed.
    let (later_results, later) = diffuse(
        &teacher,
        &model,
        &[("public", "etablissement"), ("ouverture", "2099-01-01")],
    )
    .await;
    let page = pupil.get(&later).await.unwrap();
    assert!(
        unescape(&page.body).contains("pas encore ouvert"),
        "{}",
        page.body
    );
    let page = pupil
        .post_form(&url("/"), &later, &[("q0", "0")])
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    // Its author opens it now; another teacher may not change the period.
    let period = format!("{later_results}/periode");
    let page = other
        .post_form(&url("/"), &period, &[("ouverture", "")])
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    let page = teacher
        .post_form(
            &later_results,
            &period,
            &[("ouverture", "2020-01-01"), ("fermeture", "2019-01-01")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("La fermeture doit suivre l'ouverture."));
    let page = teacher
        .post_form(&later_results, &period, &[("ouverture", "2020-01-01")])
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let page = pupil
        .post_form(&later, &later, &[("q0", "0")])
        .await
        .unwrap();
    assert_eq!(page.status, 200, "open now");
    let (_, past) = diffuse(
        &teacher,
        &model,
        &[("public", "etablissement"), ("fermeture", "2020-06-30")],
    )
    .await;
    let page = pupil
        .post_form(&url("/"), &past, &[("q0", "0")])
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    assert!(unescape(&page.body).contains("est fermé"));
    let page = teacher
        .post_form(
            &model,
            &format!("{model}/diffuser"),
            &[("public", "etablissement"), ("ouverture", "2026-02-30")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("« 2026-02-30 » n'est pas une date valide"));

    // Anonymous diffusion open to everyone: anonymous visitors answer too; no identity.
    let (results, answer) =
        diffuse(&teacher, &model, &[("public", "tous"), ("anonyme", "oui")]).await;
    let visitor = server.client();
    let form = visitor.get(&answer).await.unwrap();
    assert_eq!(form.status, 200, "{}", form.body);
    let page = visitor
        .post_form(&answer, &answer, &[("q0", "0")])
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let page = pupil
        .post_form(&answer, &answer, &[("q0", "1"), ("q3", "anonyme")])
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let page = pupil
        .post_form(&url("/"), &answer, &[("q0", "1")])
        .await
        .unwrap();
    assert_eq!(page.status, 409, "one answer per person, even anonymous");
    let body = teacher.get(&results).await.unwrap().body;
    assert!(body.contains("2 réponses") && !body.contains("Emma Martin"));
    assert!(!body.contains("Réponses individuelles"));
    assert_eq!(
        teacher
            .get(&format!("{results}/reponses"))
            .await
            .unwrap()
            .status,
        404
    );
    let csv = teacher
        .get(&format!("{results}/export"))
        .await
        .unwrap()
        .body;
    assert!(csv.starts_with("\u{feff}Date;Plat préféré;"), "{csv}");
    assert!(!csv.contains("Emma") && !csv.contains("Répondant"));
    let first_cell = csv.lines().nth(1).unwrap().split(';').next().unwrap();
    assert_eq!(
        first_cell.len(),
        10,
        "anonymous answers keep only their day: {first_cell}"
    );
    // Not in arrival order (the visitor's « Pâtes » came first): sorted by day and content.
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(rows, sorted);
    assert!(rows[0].contains("Pizza"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_block_lists_forms_to_fill_and_the_retention_tick_keeps_fresh_answers() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    config.tick_interval = Some(Duration::from_millis(200));
    let server = TestServer::start_with(config).await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let page = admin
        .post_form(
            "/admin/e/0420003A/plugins/formulaires",
            "/admin/e/0420003A/plugins/formulaires",
            &[("conservation_mois", "3")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let model = canteen_model(&teacher).await;
    let (results, answer) = diffuse(&teacher, &model, &[("public", "etablissement")]).await;
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let index = pupil.get(&url("/")).await.unwrap();
    assert!(index.body.contains("Sondage cantine"), "listed as to fill");
    // The home page's block too (only when there is something to fill).
    let home = unescape(&pupil.get("/e/0420003A/").await.unwrap().body);
    assert!(
        home.contains("Formulaires à remplir") && home.contains(&format!("href=\"{answer}\"")),
        "{home}"
    );
    let page = pupil
        .post_form(&answer, &answer, &[("q0", "0")])
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    let index = pupil.get(&url("/")).await.unwrap();
    assert!(
        !index.body.contains("Sondage cantine"),
        "answered: no longer listed"
    );
    // The block now lists only the demo's poll, not the answered form.
    let home = unescape(&pupil.get("/e/0420003A/").await.unwrap().body);
    assert!(home.contains("Formulaires à remplir") && home.contains("Sortie de fin d'année"));
    assert!(!home.contains(&format!("href=\"{answer}\"")));
    // Several ticks pass: an answer of today is within its 3 months.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        teacher
            .get(&results)
            .await
            .unwrap()
            .body
            .contains("1 réponse")
    );
}

/// The `lieu` field of the first embedded form of a page: the proof that the host
/// showed the diffusion there, which the answer's POST turns into a place.
fn place_proof(html: &str) -> String {
    let field = "name=\"lieu\" value=\"";
    let at = html.find(field).expect("preuve du lieu") + field.len();
    html[at..].chars().take_while(|c| *c != '"').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diffusion_pasted_in_a_blog_article_is_answered_inside_it() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let model = canteen_model(&teacher).await;
    let (results, answer) = diffuse(&teacher, &model, &[("public", "etablissement")]).await;
    let (_, teachers_only) = diffuse(
        &teacher,
        &model,
        &[
            ("public", "choix"),
            ("profils", "enseignant"),
            ("titre", "Bilan confidentiel des enseignants"),
        ],
    )
    .await;
    // The HTML the diffusion page gives, pasted as is; a bare path works too.
    let body = format!(
        "<p>Donnez votre avis :</p><p><a href=\"{answer}\">Répondre au formulaire</a></p><p>{teachers_only}</p>"
    );
    let article = crate::blog::write_post(&teacher, "Menus de la cantine", &body, true).await;

    let pupil = server.signed_in("emma.martin").await.unwrap();
    let page = pupil.get(&article).await.unwrap();
    assert_eq!(page.status, 200);
    let text = unescape(&page.body);
    assert!(text.contains("class=\"embedded-block\""), "{text}");
    assert!(text.contains("<legend>1. Plat préféré"), "{text}");
    assert!(text.contains(&format!("action=\"{answer}\"")));
    assert!(text.contains(&format!("name=\"page\" value=\"{article}\"")));
    assert!(text.contains("name=\"service\" value=\"Blog\""));
    assert!(
        text.contains("Ce formulaire ne vous est pas destiné."),
        "the teachers-only diffusion is not offered to a pupil"
    );
    // Nor is its title shown: a link is enough to embed any diffusion by its id.
    assert!(
        !text.contains("Bilan confidentiel des enseignants"),
        "{text}"
    );
    let public = server.client().get(&article).await.unwrap();
    assert!(
        !public.body.contains("Bilan confidentiel"),
        "anonymous visitor"
    );
    // Showing it records nothing (no GET changes state, a block included).
    let dashboard = unescape(&teacher.get(&url("/diffusions")).await.unwrap().body);
    assert!(
        !dashboard.contains("<td data-label=\"Service\">Blog</td>"),
        "{dashboard}"
    );
    // Answering through the embedded form: back to the article afterwards; the
    // form carries the proof that the host showed it there (`lieu`), and the
    // answer's POST records the place.
    let csrf = page.csrf().unwrap();
    let lieu = place_proof(&text);
    let posted = pupil
        .post_raw(
            &answer,
            &[
                ("csrf", &csrf),
                ("page", &article),
                ("service", "Blog"),
                ("lieu", &lieu),
                ("q0", "2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert!(unescape(&posted.body).contains(&format!("href=\"{article}\"")));
    let text = unescape(&pupil.get(&article).await.unwrap().body);
    assert!(text.contains("Vous avez déjà répondu"), "{text}");
    // A return page outside the establishment is not offered.
    let other = server.signed_in("tom.martin").await.unwrap();
    let page = other.get(&article).await.unwrap();
    let posted = other
        .post_raw(
            &answer,
            &[
                ("csrf", &page.csrf().unwrap()),
                ("page", "https://evil.example/e/0420003A/"),
                ("service", "Blog"),
                ("q0", "0"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(posted.status, 200);
    assert!(!posted.body.contains("evil.example"));
    // The dashboard says where the diffusion was shown.
    let dashboard = unescape(&teacher.get(&url("/diffusions")).await.unwrap().body);
    assert!(
        dashboard.contains("<td data-label=\"Service\">Blog</td>"),
        "{dashboard}"
    );
    let shown = unescape(&teacher.get(&results).await.unwrap().body);
    assert!(
        shown.contains(&format!("Blog : <a href=\"{article}\"")),
        "{shown}"
    );
    assert!(shown.contains("Frites : 50 % (1)"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiz_scores_are_shown_to_the_respondent_and_synthesised() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let quiz = r#"{"titre": "Quiz de géographie", "genre": "quiz", "questions": [
        {"type": "choix-unique", "intitule": "Capitale de la France ?", "choix": ["Lyon", "Paris"], "bonnes_reponses": ["Paris"], "points": 2},
        {"type": "choix-multiple", "intitule": "Fleuves français ?", "choix": ["Loire", "Danube", "Rhône"], "bonnes_reponses": ["Loire", "Rhône"]},
        {"type": "classement", "intitule": "Du plus long au plus court", "choix": ["Loire", "Seine", "Rhône"]},
        {"type": "echelle", "intitule": "Difficulté", "min": 1, "max": 4}
    ]}"#;
    let page = teacher
        .post_form(&url("/"), &url("/modeles/import"), &[("json", quiz)])
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let model = page.location().to_string();
    let (results, answer) = diffuse(
        &teacher,
        &model,
        &[("public", "etablissement"), ("montrer_score", "oui")],
    )
    .await;
    let pupil = server.signed_in("emma.martin").await.unwrap();
    // A ranking must be a permutation.
    let page = pupil
        .post_form(
            &answer,
            &answer,
            &[("q0", "1"), ("q2-0", "1"), ("q2-1", "1"), ("q2-2", "2")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Le rang 1 est donné deux fois"));
    let page = pupil
        .post_form(
            &answer,
            &answer,
            &[
                ("q0", "1"),
                ("q1", "0"),
                ("q2-0", "1"),
                ("q2-1", "3"),
                ("q2-2", "2"),
                ("q3", "2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let body = unescape(&page.body);
    assert!(body.contains("Votre score : 2 / 3"), "{body}");
    assert!(
        body.contains("bonne réponse : Loire, Rhône"),
        "corrections of a quiz"
    );
    let tom = server.signed_in("tom.martin").await.unwrap();
    let page = tom
        .post_form(
            &answer,
            &answer,
            &[("q0", "1"), ("q1", "0"), ("q1", "2"), ("q3", "4")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    let body = unescape(&teacher.get(&results).await.unwrap().body);
    assert!(body.contains("Score moyen : 2,5 / 3"), "{body}");
    assert!(body.contains("2 / 3 : 50 % (1)") && body.contains("3 / 3 : 50 % (1)"));
    assert!(body.contains("réussite : 100 %") && body.contains("réussite : 50 %"));
    assert!(body.contains("<td>Loire</td><td>1</td>"), "average rank");
    assert!(body.contains("Moyenne : 3 · minimum : 2 · maximum : 4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sections_are_pages_answered_one_after_the_other() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let json = r#"{"titre": "Fiche de rentrée", "genre": "questionnaire", "questions": [
        {"type": "section", "intitule": "Vous"},
        {"type": "texte-court", "intitule": "Votre prénom", "obligatoire": true},
        {"type": "section", "intitule": "Vos goûts"},
        {"type": "choix-unique", "intitule": "Matière préférée", "choix": ["Maths", "Histoire"], "obligatoire": true}
    ]}"#;
    let page = teacher
        .post_form(&url("/"), &url("/modeles/import"), &[("json", json)])
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let model = page.location().to_string();
    let (results, answer) = diffuse(&teacher, &model, &[("public", "etablissement")]).await;
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let first = pupil.get(&answer).await.unwrap();
    assert!(first.body.contains("Page 1 sur 2") && first.body.contains("Votre prénom"));
    assert!(!first.body.contains("Matière préférée"));
    let step = |fields: &[(&'static str, &'static str)]| {
        let mut all = vec![("etape", "0")];
        all.extend_from_slice(fields);
        all
    };
    // The page's questions are checked before going on.
    let page = pupil
        .post_form(&answer, &answer, &step(&[("aller", "suivant")]))
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("Cette question est obligatoire.") && page.body.contains("Page 1 sur 2")
    );
    let page = pupil
        .post_form(
            &answer,
            &answer,
            &step(&[("aller", "suivant"), ("q1", "Emma")]),
        )
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Page 2 sur 2") && page.body.contains("Matière préférée"));
    assert!(
        page.body
            .contains("<input type=\"hidden\" name=\"q1\" value=\"Emma\">"),
        "carried"
    );
    // Back: what was typed is still there.
    let page = pupil
        .post_form(
            &answer,
            &answer,
            &[
                ("etape", "1"),
                ("aller", "precedent"),
                ("q1", "Emma"),
                ("q3", "1"),
            ],
        )
        .await
        .unwrap();
    assert!(page.body.contains("Page 1 sur 2") && page.body.contains("value=\"Emma\""));
    assert!(
        page.body
            .contains("<input type=\"hidden\" name=\"q3\" value=\"1\">")
    );
    // Sending with an error on an earlier page shows that page.
    let page = pupil
        .post_form(&answer, &answer, &[("etape", "1"), ("q3", "1")])
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("Page 1 sur 2") && page.body.contains("Cette question est obligatoire.")
    );
    let page = pupil
        .post_form(
            &answer,
            &answer,
            &[("etape", "1"), ("q1", "Emma"), ("q3", "1")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Merci pour vos réponses"));
    let body = unescape(&teacher.get(&results).await.unwrap().body);
    assert!(body.contains("Histoire : 100 % (1)") && body.contains("<li>Emma</li>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diffusion_pasted_in_a_forum_message_is_answered_inside_it() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let model = canteen_model(&teacher).await;
    let (_, answer) = diffuse(&teacher, &model, &[("public", "etablissement")]).await;
    let forum = "/e/0420003A/forum";
    let index = unescape(&teacher.get(&format!("{forum}/")).await.unwrap().body);
    let at = index.find("Vie du collège").expect("catégorie");
    let start = index[..at].rfind(&format!("{forum}/c/")).expect("lien");
    let category: String = index[start..].chars().take_while(|c| *c != '"').collect();
    let message = format!("<p>Votre avis :</p><p>{answer}</p>");
    let page = teacher
        .post_form(
            &category,
            &category,
            &[("titre", "La cantine"), ("message", &message)],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let subject = page.location().to_string();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let page = pupil.get(&subject).await.unwrap();
    let text = unescape(&page.body);
    assert!(text.contains("<legend>1. Plat préféré"), "{text}");
    assert!(text.contains("name=\"service\" value=\"Forum\""));
    let posted = pupil
        .post_raw(
            &answer,
            &[
                ("csrf", &page.csrf().unwrap()),
                ("page", &subject),
                ("service", "Forum"),
                ("lieu", &place_proof(&text)),
                ("q0", "0"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert!(unescape(&posted.body).contains(&format!("href=\"{subject}\"")));
    let dashboard = unescape(&teacher.get(&url("/diffusions")).await.unwrap().body);
    assert!(
        dashboard.contains("<td data-label=\"Service\">Forum</td>"),
        "{dashboard}"
    );
}

/// Plants, before the host starts, a diffusion with an answer given in January 2020
/// (the plugin's own key layout: `<uai>/formulaires/<kind>/<id>` and its index entry).
fn plant_old_answer(dir: &std::path::Path) {
    use preau_host::store::{SledStore, Space, Store};
    let store = SledStore::open(dir).unwrap();
    let ns = "0420003A/formulaires/";
    let diffusion = "7ffffffffffffff0";
    let records = [
        (
            format!("{ns}diffusion/{diffusion}"),
            r#"{"modele": "0000000000000000", "modele_titre": "Ancien", "contenu": {"titre": "Ancien sondage", "genre": "sondage", "questions": [{"type": "texte-court", "intitule": "Votre avis"}]}, "auteur_id": "parti", "auteur_nom": "Ancien professeur", "cree_le": 1577836800, "audience": {"tous": false, "profils": [], "groupes": []}, "ouverture": null, "fermeture": null, "anonyme": false, "plusieurs": false, "montrer_score": false, "sel": "00", "lieux": []}"#.to_string(),
        ),
        (format!("{ns}diffusion~auteur:parti/{diffusion}"), String::new()),
        (
            format!("{ns}reponse/0000000000000000"),
            format!(r#"{{"diffusion": "{diffusion}", "le": 1577836800, "repondant": {{"id": "u0", "nom": "Élève parti"}}, "valeurs": [{{"texte": "ancienne réponse"}}], "score": null}}"#),
        ),
        (
            format!("{ns}reponse~diffusion:{diffusion}/0000000000000000"),
            String::new(),
        ),
    ];
    for (key, value) in records {
        store
            .put(Space::PluginData, key.as_bytes(), value.as_bytes())
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_tick_deletes_answers_past_their_lifetime() {
    let results = url("/diffusions/7ffffffffffffff0");
    // Control: without ticks, the planted answer is there.
    let control = tempfile::tempdir().unwrap();
    plant_old_answer(control.path());
    let server = TestServer::start_with(test_config(control.path()))
        .await
        .unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let body = unescape(&principal.get(&results).await.unwrap().body);
    assert!(body.contains("ancienne réponse"), "{body}");
    drop(server);

    let data = tempfile::tempdir().unwrap();
    plant_old_answer(data.path());
    let mut config = test_config(data.path());
    config.tick_interval = Some(Duration::from_millis(200));
    let server = TestServer::start_with(config).await.unwrap();
    let answer = url("/d/7ffffffffffffff0");
    // A fresh answer to the same diffusion.
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let page = pupil
        .post_form(&answer, &answer, &[("q0", "nouvelle réponse")])
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    // The manager reads the results: the 2020 answer goes at a tick (12 months by
    // default), today's stays.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let mut body = String::new();
    for _ in 0..50 {
        body = unescape(&principal.get(&results).await.unwrap().body);
        if !body.contains("ancienne réponse") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!body.contains("ancienne réponse"), "{body}");
    assert!(body.contains("nouvelle réponse") && body.contains("Nombre de réponses : 1"));
    let csv = principal
        .get(&format!("{results}/export"))
        .await
        .unwrap()
        .body;
    assert!(
        !csv.contains("Élève parti") && csv.contains("Emma Martin"),
        "{csv}"
    );
}

/// « Affiché dans » lists the pages where the host showed the diffusion (recorded by
/// an answer carrying the embed's proof of it): the `page` and `service` fields of an
/// answer, typed by the respondent, do not add places to it, nor does a forged proof.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_are_the_pages_showing_the_diffusion_not_what_an_answer_claims() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let model = canteen_model(&teacher).await;
    let (results, answer) = diffuse(&teacher, &model, &[("public", "etablissement")]).await;
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let page = pupil.get(&answer).await.unwrap();
    assert_eq!(page.status, 200);
    let posted = pupil
        .post_raw(
            &answer,
            &[
                ("csrf", &page.csrf().unwrap()),
                ("page", "/e/0420003A/blog/piege"),
                ("service", "Service inventé"),
                ("lieu", &"0".repeat(64)),
                ("q0", "1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(posted.status, 200, "{}", posted.body);
    let shown = unescape(&teacher.get(&results).await.unwrap().body);
    assert!(shown.contains("Pizza : 100 % (1)"), "{shown}");
    assert!(
        !shown.contains("Service inventé") && !shown.contains("/e/0420003A/blog/piege"),
        "{shown}"
    );
    let dashboard = unescape(&teacher.get(&url("/diffusions")).await.unwrap().body);
    assert!(!dashboard.contains("Service inventé"), "{dashboard}");
}
