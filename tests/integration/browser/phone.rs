//! Issue 17: the portal on a phone (390×844) and accessibility on every run.
//! axe-core checks WCAG 2.1 AA on each profile's main pages at both widths;
//! on a phone, no page scrolls sideways, the content starts on the first
//! screen and the « Menu » opens and closes with the keyboard.

use fantoccini::key::Key;
use preau_tests::PILAT;

use super::driver::Browser;
use super::{home, start};

const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);
/// The tallest header on a phone: one bar line and the establishment's name.
const COMPACT_HEADER: i64 = 100;

/// The demo profiles and the anonymous visitor (`None`).
const PROFILES: [Option<&str>; 6] = [
    None,
    Some("emma.martin"),
    Some("paul.martin"),
    Some("jean.dupont"),
    Some("principal.pilat"),
    Some("admin"),
];

/// The first resource's calendar (week view), read from the service's page.
async fn a_resource_calendar(browser: &Browser) -> Option<String> {
    browser
        .goto(&format!("/e/{PILAT}/reservations/"))
        .await
        .ok()?;
    if browser.status().await.ok()? != 200 {
        return None;
    }
    let href = browser
        .js("const a = document.querySelector('main a[href*=\"/reservations/r/\"]'); return a && a.getAttribute('href');")
        .await
        .ok()?;
    href.as_str().map(str::to_string)
}

/// The main pages `who` may open, with a short name for screenshots.
async fn main_pages(browser: &Browser, who: Option<&str>) -> Vec<(&'static str, String)> {
    let mut pages = vec![("accueil", home())];
    match who {
        None => {
            pages.push(("region", "/".to_string()));
            pages.push(("connexion", "/login".to_string()));
        }
        Some(login) => {
            pages.push(("blog", format!("/e/{PILAT}/blog/")));
            pages.push(("formulaires", format!("/e/{PILAT}/formulaires/")));
            pages.push(("services", format!("/e/{PILAT}/services")));
            pages.push(("compte", "/compte".to_string()));
            if let Some(calendar) = a_resource_calendar(browser).await {
                pages.push(("reservations", format!("/e/{PILAT}/reservations/")));
                pages.push(("calendrier", calendar));
            }
            if matches!(login, "principal.pilat" | "admin") {
                pages.push(("administration", "/admin/".to_string()));
                pages.push(("annuaire", format!("/admin/e/{PILAT}/annuaire")));
            }
        }
    }
    pages
}

async fn sign_in(browser: &Browser, who: Option<&str>) {
    if let Some(login) = who {
        browser.sign_in(login).await.unwrap();
    }
}

async fn sign_out(browser: &Browser, who: Option<&str>) {
    if who.is_some() {
        // « Se déconnecter » sits behind « Menu » on a phone.
        browser.resize(DESKTOP.0, DESKTOP.1).await.unwrap();
        browser.sign_out().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_wcag_aa_violation_on_the_main_pages_at_both_widths() {
    let Some((_server, browser)) = start().await else {
        return;
    };
    let mut violations = Vec::new();
    let mut checked = 0;
    for who in PROFILES {
        browser.resize(DESKTOP.0, DESKTOP.1).await.unwrap();
        sign_in(&browser, who).await;
        let pages = main_pages(&browser, who).await;
        for (width, height) in [DESKTOP, PHONE] {
            browser.resize(width, height).await.unwrap();
            for (_, path) in &pages {
                browser.goto(path).await.unwrap();
                assert_eq!(browser.status().await.unwrap(), 200, "{who:?} {path}");
                checked += 1;
                for v in browser.axe().await.unwrap() {
                    violations.push(format!(
                        "{} {path} à {width}px : {v}",
                        who.unwrap_or("anonyme")
                    ));
                }
                if width == PHONE.0 {
                    // The menu's opened state is checked too (contrast of its links).
                    if open_menu_if_any(&browser).await {
                        for v in browser.axe().await.unwrap() {
                            violations.push(format!(
                                "{} {path} à {width}px, menu ouvert : {v}",
                                who.unwrap_or("anonyme")
                            ));
                        }
                    }
                }
            }
        }
        browser.resize(DESKTOP.0, DESKTOP.1).await.unwrap();
        sign_out(&browser, who).await;
    }
    eprintln!("axe : {checked} pages vérifiées");
    // Control: axe does see violations (an image without text, a page without
    // a language, a low-contrast text), so the check above is not vacuous.
    let port = super::serve_page(
        "<!doctype html><title>témoin</title><img src=\"/x.png\">\
         <p style=\"color:#ccc;background:#fff\">pâle</p>"
            .to_string(),
    )
    .await;
    browser
        .goto_url(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    let control = browser.axe().await.unwrap();
    for rule in ["image-alt", "html-has-lang", "color-contrast"] {
        assert!(
            control.iter().any(|v| v.starts_with(rule)),
            "témoin : {rule} attendu dans {control:?}"
        );
    }
    assert!(
        violations.is_empty(),
        "violations WCAG 2.1 AA :\n{}",
        violations.join("\n")
    );
    browser.quit().await;
}

/// Ticks the « Menu » box by script (axe needs the opened state; the keyboard
/// path is its own test); whether there was one.
async fn open_menu_if_any(browser: &Browser) -> bool {
    browser
        .js("const m = document.getElementById('menu-bascule'); if (!m) return false; m.checked = true; return true;")
        .await
        .unwrap()
        == serde_json::Value::Bool(true)
}

/// Is `selector`'s first element rendered (a box with a height)?
async fn shown(browser: &Browser, selector: &str) -> bool {
    browser
        .client
        .execute(
            "const e = document.querySelector(arguments[0]); return !!e && e.getBoundingClientRect().height > 0;",
            vec![serde_json::json!(selector)],
        )
        .await
        .unwrap()
        == serde_json::Value::Bool(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_pages_fit_the_width_start_on_the_first_screen_and_the_menu_works_with_the_keyboard()
 {
    let Some((_server, browser)) = start().await else {
        return;
    };
    let space = " ";
    for who in PROFILES {
        let name = who.unwrap_or("anonyme");
        browser.resize(PHONE.0, PHONE.1).await.unwrap();
        sign_in(&browser, who).await;
        let mut pages = main_pages(&browser, who).await;
        // The home page, a service page, the resource calendar, an administration page.
        pages.retain(|(page, _)| {
            matches!(
                *page,
                "accueil"
                    | "blog"
                    | "formulaires"
                    | "calendrier"
                    | "administration"
                    | "annuaire"
                    | "region"
            )
        });
        for (page, path) in &pages {
            browser.goto(path).await.unwrap();
            assert_eq!(browser.status().await.unwrap(), 200, "{name} {path}");
            let metrics = browser
                .js("const m = document.getElementById('contenu'), h = document.querySelector('main h1'); \
                     return [document.documentElement.scrollWidth, window.innerWidth, window.innerHeight, \
                             Math.round(m.getBoundingClientRect().top), \
                             h ? Math.round(h.getBoundingClientRect().bottom) : 0, \
                             Math.round(document.querySelector('.site-header').getBoundingClientRect().height)];")
                .await
                .unwrap();
            let [scroll_width, width, height, main_top, h1_bottom, header]: [i64; 6] =
                serde_json::from_value(metrics).unwrap();
            eprintln!(
                "{name} {page} : en-tête {header} px, contenu à {main_top} px, titre fini à {h1_bottom} px, largeur {scroll_width} px"
            );
            assert_eq!(
                (width, height),
                (i64::from(PHONE.0), i64::from(PHONE.1)),
                "fenêtre de téléphone"
            );
            assert!(
                scroll_width <= width,
                "{name} {path} : la page défile de côté ({scroll_width} px pour {width})"
            );
            assert!(
                main_top < height / 2 && h1_bottom < height,
                "{name} {path} : le contenu commence à {main_top} px, son titre finit à {h1_bottom} px (écran : {height})"
            );
            // The header is as compact signed out as signed in: the bar on one line.
            assert!(
                header <= COMPACT_HEADER,
                "{name} {path} : en-tête de {header} px (au plus {COMPACT_HEADER})"
            );
            browser
                .screenshot(&format!("telephone-{name}-{page}"))
                .await
                .unwrap();
            // A resource's week: the list of each day's reservations, not the hour grid.
            if *page == "calendrier" {
                assert!(!shown(&browser, ".calendar-grid").await, "{name} {path}");
                assert!(shown(&browser, ".calendar-days").await, "{name} {path}");
                let days = browser.texts(".calendar-day h3").await.unwrap();
                assert_eq!(days.len(), 7, "{name} {path} : {days:?}");
                let text = browser.body_text().await.unwrap();
                assert!(
                    !text.contains("— libre"),
                    "{name} {path} : une case « libre » par heure"
                );
            }
            // The directory's results: one card per person, no table to scroll.
            if *page == "annuaire" {
                let layout = browser
                    .js(
                        "const r = document.querySelector('.directory-table tbody tr'); \
                         return r ? getComputedStyle(r).display : 'aucun';",
                    )
                    .await
                    .unwrap();
                assert_eq!(layout, serde_json::json!("block"), "{name} {path}");
            }
            // The directory's search form: folded behind « Filtres », unfolded by keyboard.
            if *page == "annuaire" {
                assert!(!shown(&browser, "form.search-form").await, "{name} {path}");
                browser.tab_to("#filtres-bascule", 40).await.unwrap();
                browser.press(space).await.unwrap();
                assert!(
                    shown(&browser, "form.search-form").await,
                    "{name} {path} : « Filtres » déplié au clavier"
                );
                browser
                    .screenshot(&format!("telephone-{name}-annuaire-filtres"))
                    .await
                    .unwrap();
            }
            // The menu: reached with Tab, opened and closed with Space.
            if who.is_some() {
                browser.goto(path).await.unwrap();
                let state = browser
                    .js("const m = document.getElementById('menu-bascule'); return [location.pathname, !!m && m.checked];")
                    .await
                    .unwrap();
                assert!(
                    !shown(&browser, "#menu-compte").await
                        && !shown(&browser, ".site-nav-list").await,
                    "{name} {path} : menu replié à l'arrivée ({state})"
                );
                browser.tab_to("#menu-bascule", 6).await.unwrap();
                browser.press(space).await.unwrap();
                assert!(
                    shown(&browser, "#menu-compte").await,
                    "{name} {path} : « Menu » ouvert au clavier, le compte visible"
                );
                if shown(&browser, ".site-nav").await {
                    assert!(shown(&browser, ".site-nav-list").await);
                } else {
                    assert!(
                        browser
                            .js("return !document.querySelector('.site-nav');")
                            .await
                            .unwrap()
                            == serde_json::Value::Bool(true),
                        "{name} {path} : navigation des services cachée menu ouvert"
                    );
                }
                if *page == "accueil" {
                    browser
                        .screenshot(&format!("telephone-{name}-menu"))
                        .await
                        .unwrap();
                }
                // The focus stayed on the box: Space again closes it.
                browser.press(space).await.unwrap();
                assert!(
                    !shown(&browser, "#menu-compte").await,
                    "{name} {path} : « Menu » refermé au clavier"
                );
                assert!(!shown(&browser, ".site-nav-list").await, "{name} {path}");
            }
        }
        sign_out(&browser, who).await;
    }
    browser.quit().await;
}

/// The README's pictures: the first screen of the Collège du Pilat's home
/// page, signed in as a pupil, on a desktop and on a phone
/// (`target/e2e-screenshots/readme-*.png`, copied to `docs/captures/`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_home_page_on_a_desktop_and_a_phone() {
    let Some((_server, browser)) = start().await else {
        return;
    };
    browser.sign_in("emma.martin").await.unwrap();
    for ((width, height), name) in [
        (DESKTOP, "readme-accueil-ordinateur"),
        (PHONE, "readme-accueil-telephone"),
    ] {
        browser.resize(width, height).await.unwrap();
        browser.goto(&home()).await.unwrap();
        let shot = browser.screenshot_screen(name).await.unwrap();
        assert!(std::fs::read(shot).unwrap().starts_with(b"\x89PNG"));
    }
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_writes_an_article_and_books_a_resource_with_the_keyboard_alone() {
    let Some((_server, browser)) = start().await else {
        return;
    };
    let enter: char = Key::Enter.into();
    let enter = enter.to_string();
    browser.sign_in("jean.dupont").await.unwrap();
    // An article: Tab to each field, type, Space on « publish », Enter on the button.
    browser.goto(&format!("/e/{PILAT}/blog/new")).await.unwrap();
    browser.tab_to("#field-title", 40).await.unwrap();
    browser.press("Sortie au clavier").await.unwrap();
    browser.tab_to("#field-body", 10).await.unwrap();
    browser.press("Écrit sans souris.").await.unwrap();
    browser.tab_to("#field-publish", 10).await.unwrap();
    let publish = browser
        .js("return document.getElementById('field-publish').checked;")
        .await
        .unwrap();
    if publish != serde_json::Value::Bool(true) {
        browser.press(" ").await.unwrap();
    }
    browser
        .tab_to("form.form button[type=submit]", 10)
        .await
        .unwrap();
    browser.press(&enter).await.unwrap();
    browser
        .wait_for_path("article publié", |p| {
            p.starts_with(&format!("/e/{PILAT}/blog/")) && !p.ends_with("/new")
        })
        .await
        .unwrap();
    assert_eq!(
        browser.texts("main h1").await.unwrap(),
        ["Sortie au clavier"]
    );

    // A reservation: the calendar's form, field by field.
    let calendar = a_resource_calendar(&browser).await.expect("une ressource");
    browser.goto(&calendar).await.unwrap();
    // Chromium's date and time fields take their parts in the browser's locale
    // order (day first in French, month first in English; a 12-hour clock
    // wants AM/PM): typed as that locale reads them.
    let typed = browser
        .js("const d = new Date(Date.now() + 86400000), pad = n => String(n).padStart(2, '0'); \
             const parts = new Intl.DateTimeFormat(navigator.language).formatToParts(d) \
               .filter(p => ['day', 'month', 'year'].includes(p.type)) \
               .map(p => p.type === 'day' ? pad(d.getDate()) : p.type === 'month' ? pad(d.getMonth() + 1) : String(d.getFullYear())); \
             const h12 = new Intl.DateTimeFormat(navigator.language, {hour: 'numeric'}).resolvedOptions().hour12; \
             return [parts.join(''), h12 ? 'A' : ''];")
        .await
        .unwrap();
    let [date, meridiem]: [String; 2] = serde_json::from_value(typed).unwrap();
    browser.tab_to("#field-date", 200).await.unwrap();
    browser.press(&date).await.unwrap();
    browser.tab_to("#field-debut", 10).await.unwrap();
    browser.press(&format!("1000{meridiem}")).await.unwrap();
    browser.tab_to("#field-fin", 10).await.unwrap();
    browser.press(&format!("1100{meridiem}")).await.unwrap();
    browser.tab_to("#field-objet", 10).await.unwrap();
    browser.press("Cours au clavier").await.unwrap();
    let values = browser
        .js("return ['field-date', 'field-debut', 'field-fin', 'field-objet'].map(i => document.getElementById(i).value);")
        .await
        .unwrap();
    eprintln!("champs : {values}");
    browser
        .tab_to("#reserver button[type=submit]", 20)
        .await
        .unwrap();
    browser.press(&enter).await.unwrap();
    // The answer is the reservation's page (or the calendar with it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = browser.body_text().await.unwrap();
        if text.contains("Cours au clavier") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "réservation au clavier absente : {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.quit().await;
}

/// What the phone layout needs works without `:has()` (older browsers): the
/// menu, the folds and the calendar's list use sibling selectors; `:has()` is
/// left only to cosmetic rules.
#[test]
fn the_phone_layout_does_not_rely_on_has() {
    let css =
        std::fs::read_to_string(preau_tests::repo_root().join("themes/default/static/style.css"))
            .unwrap();
    for line in css.lines().filter(|l| l.contains(":has(")) {
        for essential in ["menu", "site-nav", "fold", "calendar", "stack-on-phone"] {
            assert!(
                !line.contains(essential),
                "règle essentielle avec :has() : {line}"
            );
        }
    }
}
