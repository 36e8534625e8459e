//! The feeds that once came back empty or whole-feed errors (issue 23): older
//! formats, namespaced variants, links without a `<link>`, relative links,
//! odd content types, empty feeds, unknown encodings, undeclared entities.
//! One fixture each in `tests/fixtures/feeds/` (see its README).

use super::*;

const FEED_URL: &str = "https://ecole.example.org/flux/actus.xml";

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../../tests/fixtures/feeds/", $name)).as_slice()
    };
}

fn ok(bytes: &[u8]) -> ParsedFeed {
    parse(bytes, None, Some(FEED_URL)).unwrap_or_else(|e| panic!("{e}"))
}

fn titles(feed: &ParsedFeed) -> Vec<&str> {
    feed.entries.iter().map(|e| e.title.as_str()).collect()
}

fn links(feed: &ParsedFeed) -> Vec<Option<&str>> {
    feed.entries.iter().map(|e| e.link.as_deref()).collect()
}

#[test]
fn atom_0_3() {
    let feed = ok(fixture!("atom03.xml"));
    assert_eq!(feed.title, "Lycée Victor-Hugo – le blog du CDI");
    assert_eq!(
        feed.site_link.as_deref(),
        Some("https://cdi-hugo.example.org/")
    );
    assert_eq!(
        titles(&feed),
        [
            "Prix des Incorruptibles : les votes sont ouverts",
            "Nouveaux mangas au CDI",
            "Affiche du salon du livre"
        ]
    );
    let [votes, mangas, poster] = &feed.entries[..] else {
        panic!("{feed:?}")
    };
    assert_eq!(
        votes.link.as_deref(),
        Some("https://cdi-hugo.example.org/2025/11/incorruptibles")
    );
    // `issued` is the publication date; `modified` the update.
    assert_eq!(votes.published, Some(1_763_456_400)); // 2025-11-18 10:00 +01:00
    assert_eq!(poster.published, Some(1_762_329_600)); // 2025-11-05 09:00 +01:00
    assert_eq!(votes.author, None);
    assert!(votes.summary_html.contains("avant le 15 décembre"));
    // Inline XHTML (mode="xml") is kept as HTML.
    assert!(
        mangas
            .summary_html
            .contains("<em>Les Carnets de l'apothicaire</em>")
            || mangas
                .summary_html
                .contains("<em>Les Carnets de l&apos;apothicaire</em>"),
        "{}",
        mangas.summary_html
    );
    // The base64 summary is left out, the entry kept, and counted.
    assert_eq!(poster.summary_html, "");
    assert_eq!(feed.skipped, 1);
}

#[test]
fn rss_0_90() {
    let feed = ok(fixture!("rss090.xml"));
    assert_eq!(feed.title, "Mairie de Saint-Exemple – écoles");
    assert_eq!(
        titles(&feed),
        [
            "Menus de la cantine de décembre",
            "Inscriptions au centre de loisirs des vacances d'hiver"
        ]
    );
    assert_eq!(
        feed.entries[0].link.as_deref(),
        Some("https://mairie-saint-exemple.example.org/ecoles/menus-decembre")
    );
}

#[test]
fn rss_2_0_in_the_userland_namespace_and_prefixed() {
    let feed = ok(fixture!("rss20-userland.xml"));
    assert_eq!(feed.title, "Collège Louise-Michel – Association sportive");
    assert_eq!(
        titles(&feed),
        [
            "Cross départemental : 24 qualifiés",
            "Entraînements de handball le mercredi"
        ]
    );
    assert_eq!(feed.entries[0].published, Some(1_764_169_200)); // 2025-11-26 16:00 +01:00
    let feed = ok(fixture!("rss20-prefixed.xml"));
    assert_eq!(
        feed.title,
        "Conservatoire à rayonnement départemental – classes à horaires aménagés"
    );
    let [audition] = &feed.entries[..] else {
        panic!("{feed:?}")
    };
    assert_eq!(audition.title, "Audition de Noël des élèves de 5e CHAM");
    assert_eq!(
        audition.link.as_deref(),
        Some("https://crd.example.org/cham/audition-noel")
    );
    assert_eq!(audition.author.as_deref(), Some("Mme Dupont-Lefèvre"));
    assert_eq!(audition.published, Some(1_764_694_800)); // 2025-12-02 18:00 +01:00
}

#[test]
fn rss_1_0_items_without_a_link_are_kept() {
    let feed = ok(fixture!("rss10-no-link.xml"));
    assert_eq!(
        titles(&feed),
        [
            "Élections au conseil de la vie lycéenne",
            "Permanence du CVL jeudi à la pause méridienne",
            "Bal de fin d'année : appel aux bénévoles"
        ]
    );
    // `rdf:about` is the item's address; the others have none to show.
    assert_eq!(
        links(&feed),
        [
            Some("https://ent-lycee.example.org/cvl/elections"),
            None,
            None
        ]
    );
    assert!(feed.entries[2].summary_html.contains("vie scolaire"));
    // Distinct keys although two have neither id nor link.
    let keys: HashSet<_> = feed.entries.iter().map(|e| &e.key).collect();
    assert_eq!(keys.len(), 3);
}

#[test]
fn relative_links_are_resolved_and_permalink_guids_used() {
    let feed = ok(fixture!("relative-links.xml"));
    assert_eq!(
        feed.site_link.as_deref(),
        Some("https://ecole.example.org/")
    );
    assert_eq!(
        links(&feed),
        [
            Some("https://ecole.example.org/relative/uri"),
            Some("https://tilleuls.example.org/cp/jardin.html"),
            Some("https://ecole.example.org/spectacle-2026"),
            Some("https://tilleuls.example.org/photos-de-classe"),
            None,
        ]
    );
    // Without the feed's address a relative link cannot be made absolute.
    let feed = parse(fixture!("relative-links.xml"), None, None).unwrap();
    assert_eq!(feed.entries[0].link, None);
    assert_eq!(
        feed.entries[1].link.as_deref(),
        Some("https://tilleuls.example.org/cp/jardin.html")
    );
    // Atom's xml:base, nested.
    let feed = ok(fixture!("atom-xml-base.xml"));
    assert_eq!(
        feed.site_link.as_deref(),
        Some("https://maternelle.example.org/blog/")
    );
    assert_eq!(
        links(&feed),
        [
            Some("https://maternelle.example.org/blog/2025/semaine-du-gout"),
            Some("https://maternelle.example.org/autres/carnaval"),
        ]
    );
    // JSON Feed has no xml:base; the feed's address serves.
    let json = br#"{"version": "https://jsonfeed.org/version/1.1", "title": "J",
        "items": [{"id": "1", "title": "Relatif", "url": "../articles/1"}]}"#;
    assert_eq!(
        ok(json).entries[0].link.as_deref(),
        Some("https://ecole.example.org/articles/1")
    );
    // A relative javascript: is still no link.
    let xml = b"<rss version=\"2.0\"><channel><item><title>x</title><link> javascript:alert(1)</link></item></channel></rss>";
    assert_eq!(ok(xml).entries[0].link, None);
}

#[test]
fn one_odd_content_type_costs_only_its_element() {
    let feed = ok(fixture!("odd-types.xml"));
    assert_eq!(feed.title, "Rectorat d'Exemple – communiqués");
    assert_eq!(
        titles(&feed),
        [
            "Calendrier des vacances 2026-2027",
            "Pièce jointe : circulaire de rentrée",
            "Concours *Castor* informatique"
        ]
    );
    assert!(
        feed.entries[0]
            .summary_html
            .contains("Les dates de la zone A sont publiées."),
        "{}",
        feed.entries[0].summary_html
    );
    // The binary content and the image summary are left out.
    assert_eq!(feed.entries[1].summary_html, "");
    assert_eq!(feed.entries[2].summary_html, "");
    // type="" twice, text/x-markdown, the image summary and the binary content.
    assert_eq!(feed.skipped, 5);
}

#[test]
fn an_element_feed_rs_still_refuses_is_dropped_not_the_feed() {
    // `src` with a type that is no MIME type: feed-rs refuses the element.
    let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><id>1</id><title>Garde</title><content src="https://a.example.org/x" type="pas un type"/></entry>
<entry><id>2</id><title>Aussi</title></entry></feed>"#;
    let feed = ok(xml.as_bytes());
    assert_eq!(titles(&feed), ["Garde", "Aussi"]);
    assert_eq!(feed.skipped, 1);
}

#[test]
fn a_feed_without_items_says_so() {
    for bytes in [
        fixture!("rss093-empty.xml"),
        fixture!("empty-channel.xml"),
        b"<rss version=\"2.0\"><title>pas de canal</title></rss>".as_slice(),
        b"<rss/>".as_slice(),
        b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title></feed>".as_slice(),
        br#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}"#.as_slice(),
    ] {
        let error = parse(bytes, None, Some(FEED_URL)).unwrap_err();
        assert_eq!(
            error,
            FeedError::Empty,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    assert_eq!(
        FeedError::Empty.to_string(),
        "flux vide : il ne contient aucun article"
    );
}

#[test]
fn unknown_encodings_are_reported_not_guessed() {
    let error = parse(fixture!("koi8-t.xml"), None, None).unwrap_err();
    assert_eq!(error, FeedError::UnknownEncoding("koi8-t".into()));
    assert!(
        error.to_string().starts_with("encodage inconnu : koi8-t"),
        "{error}"
    );
    let error = parse(fixture!("cp850.xml"), None, None).unwrap_err();
    assert_eq!(error, FeedError::UnknownEncoding("cp850".into()));
    // From the HTTP header too, and whatever the label's case.
    let rss = b"<rss version=\"2.0\"><channel><item><title>caf\x82</title></item></channel></rss>";
    let error = parse(rss, Some("text/xml; charset=IBM437"), None).unwrap_err();
    assert_eq!(error, FeedError::UnknownEncoding("ibm437".into()));
    // A known label in the declaration wins over an unknown one in HTTP.
    let latin1 = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss version=\"2.0\"><channel><item><title>caf\xe9</title></item></channel></rss>";
    let feed = parse(latin1, Some("text/xml; charset=x-bogus"), None).unwrap();
    assert_eq!(feed.entries[0].title, "café");
    // Plain ASCII reads the same in any of them.
    let ascii = b"<?xml version=\"1.0\" encoding=\"viscii\"?><rss version=\"2.0\"><channel><item><title>cafe</title></item></channel></rss>";
    assert_eq!(ok(ascii).entries[0].title, "cafe");
    // Spellings of known encodings are forgiven.
    let feed = ok(fixture!("windows-1251-underscore.xml"));
    assert_eq!(feed.title, "Русский язык в лицее");
    assert_eq!(feed.entries[0].title, "Олимпиада по русскому языку");
    let mac = b"<?xml version=\"1.0\" encoding=\"mac-roman\"?><rss version=\"2.0\"><channel><item><title>caf\x8e</title></item></channel></rss>";
    assert_eq!(ok(mac).entries[0].title, "café");
}

#[test]
fn undeclared_html_entities_are_decoded() {
    let feed = ok(fixture!("entities.xml"));
    assert_eq!(feed.title, "Mathématiques en 2nde ⟩ le fil");
    assert_eq!(
        feed.entries[0].title,
        "Produit scalaire ⟨u, v⟩ – fiche d’exercices"
    );
    assert!(
        feed.entries[0].summary_html.contains("⟨u, v⟩ ≤ ‖u‖ × ‖v‖…"),
        "{}",
        feed.entries[0].summary_html
    );
    // In an Atom text title too, where no HTML decoding happens afterwards.
    let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>a</title>\n<entry><id>1</id><title>&lang;b&rang; &amp;lang;</title></entry></feed>";
    assert_eq!(ok(atom.as_bytes()).entries[0].title, "⟨b⟩ &lang;");
    // Titles given as escaped HTML use the whole list.
    assert_eq!(
        html_to_text("&lang;x&rang; &Vert; &CounterClockwiseContourIntegral; &NotANamE;"),
        "⟨x⟩ ‖ ∳ &NotANamE;"
    );
}

#[test]
fn unsupported_formats_are_named() {
    let error = parse(fixture!("cdf.xml"), None, None).unwrap_err();
    assert_eq!(error, FeedError::UnsupportedFormat("CDF"));
    assert_eq!(
        error.to_string(),
        "format non reconnu : CDF (ni RSS, ni Atom, ni JSON Feed)"
    );
    let opml = b"<opml version=\"2.0\"><body><outline xmlUrl=\"https://a.example.org/rss\"/></body></opml>";
    assert!(
        parse(opml, None, None)
            .unwrap_err()
            .to_string()
            .starts_with("format non reconnu : OPML")
    );
}

#[test]
fn a_second_xml_declaration_is_an_error_not_a_panic() {
    // Found by the fuzz target: feed-rs 3.0 panics when a declaration
    // inside the document names another encoding.
    let xml = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><item><title>a</title>\n  <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n</item></channel></rss>";
    assert_eq!(
        parse(xml.as_bytes(), None, None).unwrap_err().to_string(),
        "XML invalide ligne 3 : déclaration XML ailleurs qu'au début du document"
    );
    // A declaration longer than usual is still replaced as a whole.
    let long = format!(
        "<?xml version=\"1.0\"{} encoding=\"windows-1252\"?><rss version=\"2.0\"><channel><item><title>caf\u{e9}</title></item></channel></rss>",
        " ".repeat(600)
    );
    assert_eq!(ok(long.as_bytes()).entries[0].title, "café");
}
