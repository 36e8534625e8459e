//! Browser end-to-end tests: the real host, headless Chromium through
//! chromedriver (see `driver`). They fail when Chromium is missing, unless
//! `PREAU_SKIP_BROWSER=1`. Screenshots go to `target/e2e-screenshots/`.

mod driver;
mod phone;

use std::time::Instant;

use anyhow::Result;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use fantoccini::Locator;
use fantoccini::key::Key;
use preau_tests::{PILAT, TestServer};

use driver::Browser;

fn home() -> String {
    format!("/e/{PILAT}/")
}

/// Starts the host and a browser on it; `None` when the browser tests are skipped.
async fn start() -> Option<(TestServer, Browser)> {
    let server = TestServer::start().await.unwrap();
    let browser = Browser::start(&server.base).await?;
    Some((server, browser))
}

/// What the header shows to the signed-in person.
struct Header {
    user: String,
    topbar: Vec<String>,
    nav: Vec<String>,
}

async fn header(browser: &Browser) -> Result<Header> {
    Ok(Header {
        user: browser.texts(".topbar .user-name").await?.join(" "),
        topbar: browser.texts(".topbar a, .topbar button").await?,
        nav: browser
            .texts(".site-nav-list > li > a, .site-nav-list > li summary")
            .await?,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_demo_profile_signs_in_and_sees_its_navigation() {
    let Some((_server, browser)) = start().await else {
        return;
    };
    let started = Instant::now();
    // (login, name shown, sees « Administration », sees « Mes élèves »)
    let profiles = [
        ("emma.martin", "Emma Martin", false, false),
        ("paul.martin", "Paul Martin", false, false),
        ("jean.dupont", "Jean Dupont", false, true),
        ("principal.pilat", "Claire Fauvel", true, false),
        ("admin", "Alix Régnier", true, false),
    ];
    for (login, name, admin, teacher) in profiles {
        browser.sign_in(login).await.unwrap();
        browser.goto(&home()).await.unwrap();
        assert_eq!(browser.status().await.unwrap(), 200, "{login}");
        let seen = header(&browser).await.unwrap();
        assert!(
            seen.user.contains(name),
            "{login} : « {name} » dans l'en-tête, vu {:?}",
            seen.user
        );
        assert!(seen.topbar.iter().any(|t| t == "Mon compte"), "{login}");
        assert!(seen.topbar.iter().any(|t| t == "Se déconnecter"), "{login}");
        assert!(!seen.topbar.iter().any(|t| t == "Se connecter"), "{login}");
        assert_eq!(
            seen.topbar.iter().any(|t| t == "Administration"),
            admin,
            "{login} : « Administration » {} ; en-tête {:?}",
            if admin { "attendu" } else { "interdit" },
            seen.topbar
        );
        assert_eq!(
            seen.nav.iter().any(|t| t == "Mes élèves"),
            teacher,
            "{login} : « Mes élèves » ; navigation {:?}",
            seen.nav
        );
        assert!(
            seen.nav.iter().any(|t| t == "Accueil"),
            "{login} {:?}",
            seen.nav
        );
        if login != "admin" {
            // Members of the Collège du Pilat read its blog and rubriques.
            for item in ["Blog", "Rubriques", "Mes services"] {
                assert!(
                    seen.nav.iter().any(|t| t == item),
                    "{login} : « {item} » dans {:?}",
                    seen.nav
                );
            }
        }
        if admin {
            browser
                .client
                .find(Locator::LinkText("Administration"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let path = browser
                .wait_for_path("administration", |p| p.starts_with("/admin/"))
                .await
                .unwrap();
            assert_eq!(browser.status().await.unwrap(), 200, "{login} {path}");
            assert_eq!(browser.texts("h1").await.unwrap(), ["Administration"]);
        } else {
            browser.goto("/admin/").await.unwrap();
            assert_eq!(browser.status().await.unwrap(), 403, "{login} sur /admin/");
        }
        browser.sign_out().await.unwrap();
        let anonymous = header(&browser).await.unwrap();
        assert!(anonymous.topbar.iter().any(|t| t == "Se connecter"));
    }
    eprintln!("profils : {:?}", started.elapsed());
    browser.quit().await;
}

const VIDEO: &str = "https://www.youtube.com/watch?v=aqz-KE-bpKQ";
const PAYLOAD: &str =
    r#"<script>window.pwned=1;alert(1)</script><img src=x onerror="window.pwned=2">"#;

/// Serves `html` at `/` on another port of 127.0.0.1; returns the port.
async fn serve_page(html: String) -> u16 {
    let app = Router::new().route("/", get(move || async move { Html(html) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupil_reads_a_post_with_a_video_and_no_script_runs() {
    let Some((_server, browser)) = start().await else {
        return;
    };
    browser.sign_in("jean.dupont").await.unwrap();
    browser.goto(&format!("/e/{PILAT}/blog/new")).await.unwrap();
    let body = format!(
        "<p>Sortie au musée : la vidéo.</p>\n<p>{VIDEO}</p>\n\
         {PAYLOAD}\n<p><a href=\"javascript:window.pwned=3\">lien</a></p>"
    );
    let title = browser
        .client
        .find(Locator::Id("field-title"))
        .await
        .unwrap();
    title.send_keys("Sortie au musée").await.unwrap();
    let textarea = browser
        .client
        .find(Locator::Id("field-body"))
        .await
        .unwrap();
    textarea.send_keys(&body).await.unwrap();
    let publish = browser
        .client
        .find(Locator::Id("field-publish"))
        .await
        .unwrap();
    if !publish.is_selected().await.unwrap() {
        publish.click().await.unwrap();
    }
    browser
        .client
        .find(Locator::Css("form.form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let article = browser
        .wait_for_path("publication", |p| {
            p.starts_with(&format!("/e/{PILAT}/blog/")) && !p.ends_with("/new")
        })
        .await
        .unwrap();
    assert_eq!(browser.status().await.unwrap(), 200);
    browser.sign_out().await.unwrap();

    browser.sign_in("emma.martin").await.unwrap();
    browser.goto(&article).await.unwrap();
    assert_eq!(browser.status().await.unwrap(), 200);
    assert_eq!(browser.texts("h1").await.unwrap(), ["Sortie au musée"]);
    let srcs = browser
        .js("return Array.from(document.querySelectorAll('iframe'), f => f.getAttribute('src'));")
        .await
        .unwrap();
    let srcs: Vec<String> = serde_json::from_value(srcs).unwrap();
    assert_eq!(
        srcs,
        ["https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ"],
        "une seule iframe, celle de la vidéo"
    );
    let sandbox = browser
        .js("return document.querySelector('iframe').getAttribute('sandbox');")
        .await
        .unwrap();
    assert!(sandbox.is_string(), "iframe sans sandbox");
    // Let a late onerror fire if it could.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        browser.alert_text().await.unwrap(),
        None,
        "une alerte est ouverte"
    );
    assert_eq!(
        browser.js("return typeof window.pwned;").await.unwrap(),
        "undefined",
        "un script injecté a tourné"
    );
    assert_eq!(
        browser
            .js("return document.querySelectorAll('script, [onerror], a[href^=\"javascript:\"]').length;")
            .await
            .unwrap(),
        0
    );
    // Control: the same payload on a page without the portal's sanitizer and
    // CSP does run, and the checks above see it.
    let port = serve_page(format!("<!doctype html><title>témoin</title>{PAYLOAD}")).await;
    browser
        .goto_url(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    assert_eq!(
        browser
            .wait_for_alert(std::time::Duration::from_secs(10))
            .await
            .unwrap()
            .as_deref(),
        Some("1"),
        "le témoin ouvre une alerte"
    );
    browser.client.dismiss_alert().await.unwrap();
    assert_eq!(
        browser.js("return typeof window.pwned;").await.unwrap(),
        "number"
    );
    browser.goto(&article).await.unwrap();
    // The link that was `javascript:` does nothing either.
    if let Ok(link) = browser.client.find(Locator::LinkText("lien")).await {
        link.click().await.unwrap();
        assert_eq!(browser.alert_text().await.unwrap(), None);
        assert_eq!(
            browser.js("return typeof window.pwned;").await.unwrap(),
            "undefined"
        );
    }
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupil_answers_a_form_inside_an_article_with_the_keyboard() {
    let Some((server, browser)) = start().await else {
        return;
    };
    // The principal pastes the demo poll's paragraph into an article.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let dashboard = preau_tests::unescape(
        &principal
            .get(&format!("/e/{PILAT}/formulaires/diffusions"))
            .await
            .unwrap()
            .body,
    );
    let prefix = format!("/e/{PILAT}/formulaires/d/");
    let start = dashboard.find(&prefix).expect("diffusion de démonstration");
    let poll = &dashboard[start..start + prefix.len() + 16];
    let body = format!("<p>Donnez-nous votre avis :</p><p><a href=\"{poll}\">Répondre</a></p>");
    let article =
        crate::blog::write_post(&principal, "Votre avis sur la sortie", &body, true).await;

    browser.sign_in("emma.martin").await.unwrap();
    browser.goto(&article).await.unwrap();
    assert_eq!(
        browser
            .texts(".embedded-block legend, .embedded-block label")
            .await
            .unwrap()[0],
        "1. Quelle destination préférez-vous ? (obligatoire)"
    );
    // Keyboard only: into the first choice of the first question, pick it, then send.
    browser
        .js("document.querySelector('.embedded-block input[type=radio]').focus(); return null;")
        .await
        .unwrap();
    browser.press(" ").await.unwrap();
    browser
        .js("document.querySelector('.embedded-block button[type=submit]').focus(); return null;")
        .await
        .unwrap();
    let enter: char = Key::Enter.into();
    browser.press(&enter.to_string()).await.unwrap();
    browser
        .wait_for_path("réponse envoyée", |p| p.starts_with(&prefix))
        .await
        .unwrap();
    assert_eq!(
        browser.texts("h1").await.unwrap(),
        ["Merci pour vos réponses"]
    );
    browser.screenshot("formulaire-merci").await.unwrap();
    // Back to the article: the form knows she answered.
    browser
        .client
        .find(Locator::LinkText("Retour à la page"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_path("retour à l'article", |p| p == article)
        .await
        .unwrap();
    assert!(
        browser
            .body_text()
            .await
            .unwrap()
            .contains("Vous avez déjà répondu")
    );
    browser.quit().await;
}

/// An attacker's site: a form that posts an article to the portal; its port.
async fn attacker_site(portal: &str) -> u16 {
    serve_page(format!(
        "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Jeu concours</title>\
         <form method=\"post\" action=\"{portal}/e/{PILAT}/blog/new\">\
         <input type=\"hidden\" name=\"title\" value=\"Article forgé\">\
         <input type=\"hidden\" name=\"body\" value=\"&lt;p&gt;forgé&lt;/p&gt;\">\
         <input type=\"hidden\" name=\"publish\" value=\"on\">\
         <input type=\"hidden\" name=\"csrf\" value=\"00000000000000000000000000000000\">\
         <button id=\"gagner\" type=\"submit\">Gagner</button></form></html>"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_post_is_refused() {
    let Some((server, browser)) = start().await else {
        return;
    };
    browser.sign_in("jean.dupont").await.unwrap();
    let port = attacker_site(&server.base).await;
    // Same site, other origin (the session cookie is sent: the browser's
    // `Origin` header stops it first, the CSRF token would too), then another
    // site (`localhost`: SameSite keeps the session cookie home as well).
    for attacker in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        browser.goto_url(&attacker).await.unwrap();
        browser
            .client
            .find(Locator::Id("gagner"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait_for_path("envoi du formulaire forgé", |p| p.ends_with("/blog/new"))
            .await
            .unwrap();
        assert_eq!(browser.status().await.unwrap(), 403, "depuis {attacker}");
        assert!(
            browser.body_text().await.unwrap().contains("Envoi refusé"),
            "depuis {attacker}"
        );
    }
    // No article was created, and the teacher is still signed in.
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let list = teacher.get(&format!("/e/{PILAT}/blog/")).await.unwrap();
    assert_eq!(list.status, 200);
    assert!(!list.body.contains("Article forgé"), "{}", list.body);
    browser.goto(&home()).await.unwrap();
    assert!(header(&browser).await.unwrap().user.contains("Jean Dupont"));
    browser.quit().await;
}

/// The focused element's outline (style, width) and box-shadow.
async fn focus_ring(browser: &Browser) -> (String, String, String, String) {
    let value = browser
        .js(
            "const e = document.activeElement, s = getComputedStyle(e); \
             return [e.id || e.textContent.trim(), s.outlineStyle, s.outlineWidth, s.boxShadow];",
        )
        .await
        .unwrap();
    let [who, style, width, shadow]: [String; 4] = serde_json::from_value(value).unwrap();
    (who, style, width, shadow)
}

fn visibly_outlined((who, style, width, shadow): &(String, String, String, String)) {
    assert!(
        (style != "none" && width != "0px") || shadow != "none",
        "{who:?} a le focus sans contour visible (outline {style} {width}, box-shadow {shadow})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_only_sign_in_with_a_visible_focus() {
    let Some((_server, browser)) = start().await else {
        return;
    };
    let tab: char = Key::Tab.into();
    let enter: char = Key::Enter.into();
    browser.goto("/login").await.unwrap();
    // The login field has the focus on arrival (autofocus).
    assert_eq!(focus_ring(&browser).await.0, "login");
    // Back to the previous control and forth again, by keyboard: both are outlined.
    browser.shift_tab().await.unwrap();
    let previous = focus_ring(&browser).await;
    assert_ne!(previous.0, "login");
    visibly_outlined(&previous);
    browser.press(&tab.to_string()).await.unwrap();
    let login = focus_ring(&browser).await;
    assert_eq!(login.0, "login");
    visibly_outlined(&login);
    browser.press("jean.dupont").await.unwrap();
    browser.press(&tab.to_string()).await.unwrap();
    let password = focus_ring(&browser).await;
    assert_eq!(password.0, "password");
    visibly_outlined(&password);
    browser.press(preau_tests::DEMO_PASSWORD).await.unwrap();
    browser.press(&tab.to_string()).await.unwrap();
    let button = focus_ring(&browser).await;
    assert_eq!(button.0, "Se connecter");
    visibly_outlined(&button);
    // Enter on the password field submits.
    browser.shift_tab().await.unwrap();
    browser.press(&enter.to_string()).await.unwrap();
    let landed = browser
        .wait_for_path("connexion au clavier", |p| !p.starts_with("/login"))
        .await
        .unwrap();
    assert_eq!(landed, home());
    assert!(header(&browser).await.unwrap().user.contains("Jean Dupont"));
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_main_pages() {
    let Some((server, browser)) = start().await else {
        return;
    };
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let article = super::blog::write_post(
        &teacher,
        "Journée portes ouvertes",
        &format!("<p>Le collège ouvre ses portes <strong>samedi</strong>.</p><p>{VIDEO}</p>"),
        true,
    )
    .await;
    let anonymous = [
        ("accueil-region", "/".to_string()),
        ("accueil-anonyme", home()),
    ];
    let signed_in = [
        ("accueil-connecte", home()),
        ("blog", format!("/e/{PILAT}/blog/")),
        ("article", article),
        ("administration", "/admin/".to_string()),
        ("rubriques", format!("/e/{PILAT}/rubriques/")),
        ("actualites", format!("/e/{PILAT}/actualites")),
    ];
    let mut shots = Vec::new();
    for (name, path) in &anonymous {
        browser.goto(path).await.unwrap();
        assert_eq!(browser.status().await.unwrap(), 200, "{path}");
        shots.push(browser.screenshot(name).await.unwrap());
    }
    browser.goto("/login").await.unwrap();
    shots.push(browser.screenshot("connexion").await.unwrap());
    browser.sign_in("principal.pilat").await.unwrap();
    for (name, path) in &signed_in {
        browser.goto(path).await.unwrap();
        assert_eq!(browser.status().await.unwrap(), 200, "{path}");
        assert_eq!(browser.texts("main h1").await.unwrap().len(), 1, "{path}");
        shots.push(browser.screenshot(name).await.unwrap());
    }
    for shot in &shots {
        let png = std::fs::read(shot).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{}", shot.display());
        assert!(png.len() > 10_000, "{} presque vide", shot.display());
    }
    browser.quit().await;
}

/// No GET changes state: an article whose image points at `/cas/logout` (a
/// same-origin URL the sanitizer keeps) leaves its reader signed in, in a real
/// browser that requests the image with the reader's cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_pointing_at_the_sign_out_leaves_the_reader_signed_in() {
    let Some((server, browser)) = start().await else {
        return;
    };
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let article = crate::blog::write_post(
        &teacher,
        "Photo de classe",
        "<p>La photo : <img src=\"/cas/logout\" alt=\"photo\"></p>",
        true,
    )
    .await;
    browser.sign_in("emma.martin").await.unwrap();
    browser.goto(&article).await.unwrap();
    let script = "const imgs = Array.from(document.images).filter(i => i.getAttribute('src') === '/cas/logout');\
                  return imgs.length > 0 && imgs.every(i => i.complete);";
    let mut requested = false;
    for _ in 0..50 {
        if browser.js(script).await.unwrap() == serde_json::Value::Bool(true) {
            requested = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(requested, "the browser requested the image");
    browser.goto("/compte").await.unwrap();
    assert_eq!(browser.path().await.unwrap(), "/compte", "still signed in");
    assert_eq!(browser.status().await.unwrap(), 200);
    browser.quit().await;
}

/// A third party's template holding `<meta http-equiv="refresh">` to another
/// site (and a `base`, and a `javascript:` link): in a real browser, the
/// visitor stays on the portal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_template_with_a_meta_refresh_does_not_send_the_visitor_away() {
    let Some((server, browser)) = start().await else {
        return;
    };
    server.enable(PILAT, "hostile").await.unwrap();
    browser.sign_in("emma.martin").await.unwrap();
    let trap = format!("/e/{PILAT}/hostile/piege");
    browser.goto(&trap).await.unwrap();
    // The template asks for a refresh after 5 s.
    tokio::time::sleep(std::time::Duration::from_millis(6500)).await;
    assert_eq!(browser.path().await.unwrap(), trap, "still on the portal");
    let link = browser
        .js("return document.getElementById('lien').getAttribute('href');")
        .await
        .unwrap();
    assert_eq!(link, serde_json::Value::String("#".into()));
    let base = browser
        .js("return document.getElementsByTagName('base').length;")
        .await
        .unwrap();
    assert_eq!(base, serde_json::json!(0));
    browser.quit().await;
}
