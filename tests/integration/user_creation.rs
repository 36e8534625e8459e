//! « Créer un utilisateur » as the training manual has it (issue 17): an
//! establishment field for an administrator of several, a password typed with
//! its confirmation or generated, fonctions and disciplines de poste offered
//! from the national nomenclatures (a free label still accepted).

use preau_tests::{Client, FOREZ, PILAT, TestServer, unescape};

fn new_url(uai: &str) -> String {
    format!("/admin/e/{uai}/annuaire/nouveau")
}

async fn create(client: &Client, uai: &str, extra: &[(&str, &str)]) -> preau_tests::Page {
    let mut fields = vec![
        ("profile", "personnel"),
        ("civility", "Mme"),
        ("first_name", "Camille"),
        ("last_name", "Fabre"),
        ("perenne", "oui"),
    ];
    fields.extend_from_slice(extra);
    client
        .post_form(&new_url(uai), &new_url(uai), &fields)
        .await
        .unwrap()
}

const STRONG: &str = "Cartable-Vert-2026!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_offers_the_nomenclatures_and_a_typed_password() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let page = principal.get(&new_url(PILAT)).await.unwrap();
    assert_eq!(page.status, 200);
    let body = unescape(&page.body);
    for option in [
        "<option value=\"ENSEIGNEMENT\">ENS — ENSEIGNEMENT</option>",
        "ASSISTANT ETRANGER",
        "PERSONNELS DE LABORATOIRE",
    ] {
        assert!(body.contains(option), "{option}");
    }
    assert!(body.contains("<option value=\"L1300 - MATHEMATIQUES\">"));
    assert!(
        body.contains("list=\"nomenclature-fonctions\"")
            && body.contains("list=\"nomenclature-disciplines\"")
    );
    assert!(body.contains("name=\"password_confirm\""));
    // One establishment administered: no choice to make.
    assert!(body.contains(&format!(
        "type=\"hidden\" name=\"establishment\" value=\"{PILAT}\""
    )));

    // A typed password: its confirmation must match, and the CNIL rules hold.
    let page = create(
        &principal,
        PILAT,
        &[
            ("password_mode", "saisir"),
            ("password", STRONG),
            ("password_confirm", "autre"),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Les deux saisies du mot de passe diffèrent."));
    let page = create(
        &principal,
        PILAT,
        &[
            ("password_mode", "saisir"),
            ("password", "court"),
            ("password_confirm", "court"),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Le compte n'a pas été créé"));
    assert!(
        server
            .app
            .directory()
            .user_by_login("camille.fabre")
            .unwrap()
            .is_none()
    );

    let page = create(
        &principal,
        PILAT,
        &[
            ("password_mode", "saisir"),
            ("password", STRONG),
            ("password_confirm", STRONG),
            ("functions", "MDS"),
            ("functions", "Référente harcèlement"),
            ("disciplines", "P9222 - SERVICE SOCIAL DES ELEVES"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let created = server
        .app
        .directory()
        .user_by_login("camille.fabre")
        .unwrap()
        .unwrap();
    let here = created.membership(PILAT).unwrap();
    assert_eq!(here.functions, ["MDS", "Référente harcèlement"]);
    assert_eq!(here.disciplines, ["P9222 - SERVICE SOCIAL DES ELEVES"]);
    // The administrator typed it: not shown again, and it signs in.
    let shown = principal.get(page.location()).await.unwrap();
    assert!(!shown.body.contains(STRONG) && !shown.body.contains("Mot de passe initial"));
    assert_eq!(
        server
            .client()
            .login("camille.fabre", STRONG)
            .await
            .unwrap()
            .status,
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_of_several_establishments_chooses_where_the_account_goes() {
    let server = TestServer::start().await.unwrap();
    let region = server.signed_in("admin").await.unwrap();
    let page = region.get(&new_url(PILAT)).await.unwrap();
    let body = unescape(&page.body);
    assert!(
        body.contains("name=\"establishment\"")
            && body.contains(&format!("<option value=\"{FOREZ}\"")),
        "{body}"
    );

    let page = create(&region, PILAT, &[("establishment", FOREZ)]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let created = server
        .app
        .directory()
        .user_by_login("camille.fabre")
        .unwrap()
        .unwrap();
    assert!(created.membership(FOREZ).is_some() && created.membership(PILAT).is_none());
    let person = format!("/admin/e/{FOREZ}/annuaire/u/{}", created.id);
    assert_eq!(page.location(), person);
    let secret = created.pending_secret.unwrap();
    assert!(
        region.get(&person).await.unwrap().body.contains(&secret),
        "generated: shown once"
    );

    // An administrator of one establishment cannot create elsewhere through the field.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let page = create(&principal, PILAT, &[("establishment", FOREZ)]).await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Choisissez un établissement que vous administrez."));
    let page = create(&principal, PILAT, &[("establishment", "9999999Z")]).await;
    assert_eq!(page.status, 422);
}

/// A person's page edits fonctions and disciplines with the same nomenclature
/// fields as the creation form: one field per value already there, plus an
/// empty one, each offering the national lists; a local label stays possible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_page_edits_functions_with_the_same_nomenclatures() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let dupont = server
        .app
        .directory()
        .user_by_login("jean.dupont")
        .unwrap()
        .unwrap();
    let url = format!("/admin/e/{PILAT}/annuaire/u/{}", dupont.id);
    let body = unescape(&principal.get(&url).await.unwrap().body);
    assert!(
        body.contains("<datalist id=\"nomenclature-fonctions\">"),
        "{body}"
    );
    assert!(body.contains("<option value=\"ENSEIGNEMENT\">ENS — ENSEIGNEMENT</option>"));
    assert!(body.contains("<datalist id=\"nomenclature-disciplines\">"));
    assert!(
        body.contains("name=\"functions\" list=\"nomenclature-fonctions\" autocomplete=\"off\" value=\"ENSEIGNEMENT\""),
        "the function already held is in its own field: {body}"
    );
    assert!(body.contains(
        "name=\"disciplines\" list=\"nomenclature-disciplines\" autocomplete=\"off\" value=\"ENSEIGNEMENT / L0202 - LETTRES MODERNES\""
    ));
    assert!(!body.contains("<textarea id=\"field-functions\""));

    let fields = [
        ("login", "jean.dupont"),
        ("profile", "enseignant"),
        ("civility", "M."),
        ("first_name", "Jean"),
        ("last_name", "Dupont"),
        ("perenne", "oui"),
        ("groups", "g-4a"),
        ("functions", "ENSEIGNEMENT"),
        ("functions", "Référent numérique"),
        ("functions", ""),
        ("disciplines", "L1300 - MATHEMATIQUES"),
        ("disciplines", ""),
    ];
    let page = principal.post_form(&url, &url, &fields).await.unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let after = server.app.directory().user(&dupont.id).unwrap().unwrap();
    let here = after.membership(PILAT).unwrap();
    assert_eq!(here.functions, ["ENSEIGNEMENT", "Référent numérique"]);
    assert_eq!(here.disciplines, ["L1300 - MATHEMATIQUES"]);
}
