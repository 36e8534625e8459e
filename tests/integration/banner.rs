//! The establishment's uploaded banner: validation by content, storage,
//! public serving, removal, rights and CSRF.

use preau_tests::{BOUNDARY, Client, FOREZ, PILAT, Page, TestServer, multipart};

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG with a valid signature, IHDR (with the given size) and IEND.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IEND", &[]);
    png
}

async fn csrf_of(client: &Client, page: &str) -> String {
    client.get(page).await.unwrap().csrf().expect("jeton CSRF")
}

async fn upload(client: &Client, uai: &str, csrf: &str, file: &[u8], name: &str) -> Page {
    let body = multipart(&[("csrf", None, csrf.as_bytes()), ("image", Some(name), file)]);
    client
        .post_body(
            &format!("/admin/e/{uai}/theme/banniere"),
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            body,
        )
        .await
        .unwrap()
}

/// The banner URL the home page shows.
async fn home_banner(server: &TestServer, uai: &str) -> String {
    let home = server.client().get(&format!("/e/{uai}/")).await.unwrap();
    let re = regex::Regex::new(r#"<img class="banner-img" src="([^"]+)""#).unwrap();
    // Autoescape writes `/` as `&#x2f;` in attributes; the browser reads it back.
    re.captures(&home.body).expect("bannière")[1].replace("&#x2f;", "/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_banner_is_checked_by_content_stored_and_served() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let theme = format!("/admin/e/{PILAT}/theme");
    let page = principal.get(&theme).await.unwrap();
    assert!(page.body.contains("Importer une image de bannière"));
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    assert!(!page.body.contains("Retirer l"), "nothing uploaded yet");
    let csrf = page.csrf().unwrap();
    assert_eq!(home_banner(&server, PILAT).await, "/static/banner.svg");

    let image = png(1400, 300);
    let sent = upload(&principal, PILAT, &csrf, &image, "bandeau.png").await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location(), format!("{theme}?ok=banniere"));
    let url = home_banner(&server, PILAT).await;
    assert!(url.starts_with(&format!("/e/{PILAT}/banniere?v=")), "{url}");

    // Public, with the detected type and headers that forbid anything but showing it.
    let served = reqwest::get(format!("{}{url}", server.base)).await.unwrap();
    assert_eq!(served.status(), 200);
    let header = |name: &str| {
        served
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("cache-control"), "public, max-age=86400");
    assert_eq!(header("content-security-policy"), "default-src 'none'");
    assert_eq!(served.bytes().await.unwrap().as_ref(), image.as_slice());

    // Saving the colours keeps the uploaded banner's URL.
    let saved = principal
        .post_form(
            &theme,
            &theme,
            &[
                ("primary", "#123456"),
                ("accent", "#abcdef"),
                ("banner_url", &url),
            ],
        )
        .await
        .unwrap();
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(home_banner(&server, PILAT).await, url);

    // Refused, with a precise message, and the previous banner kept.
    let refused: [(&[u8], &str, &str); 6] = [
        (&png(1500, 100), "large.png", "1500 × 100 px"),
        (&png(100, 3201), "haute.png", "3200 px de haut"),
        (&png(0, 100), "vide.png", "une image vide"),
        (
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "banniere.png",
            "Les images SVG sont refusées",
        ),
        (
            b"<!doctype html><script>alert(1)</script>",
            "banniere.png",
            "n&#x27;est pas une image PNG, JPEG, GIF ou WebP",
        ),
        (b"", "banniere.png", "Le fichier envoyé est vide."),
    ];
    for (bytes, name, message) in refused {
        let page = upload(&principal, PILAT, &csrf, bytes, name).await;
        assert_eq!(page.status, 422, "{message}");
        assert!(page.body.contains(message), "{message}: {}", page.body);
        assert!(page.body.contains("L'image n'a pas été importée"));
    }
    let mut heavy = png(800, 200);
    heavy.resize(2 * 1024 * 1024 + 500_000, 0);
    let page = upload(&principal, PILAT, &csrf, &heavy, "lourde.png").await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Cette image dépasse 2 Mo"));
    // Above the route's 3 MiB limit: 413. The server stops reading, so the
    // page may be cut by the connection's closing; a fresh client keeps the
    // closed connection out of the next requests.
    let mut huge = png(800, 200);
    huge.resize(4 * 1024 * 1024, 0);
    let other = server.signed_in("principal.pilat").await.unwrap();
    let other_csrf = csrf_of(&other, &theme).await;
    let sent = other
        .post_body(
            &format!("/admin/e/{PILAT}/theme/banniere"),
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(&[
                ("csrf", None, other_csrf.as_bytes()),
                ("image", Some("x.png"), &huge),
            ]),
        )
        .await;
    // The server may close before the client has written everything (broken
    // pipe): refused either way.
    if let Ok(page) = sent {
        assert_eq!(page.status, 413);
    }
    let missing = principal
        .post_body(
            &format!("/admin/e/{PILAT}/theme/banniere"),
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(&[("csrf", None, csrf.as_bytes())]),
        )
        .await
        .unwrap();
    assert_eq!(missing.status, 422);
    assert!(missing.body.contains("Choisissez une image à importer."));
    assert_eq!(
        home_banner(&server, PILAT).await,
        url,
        "previous banner kept"
    );

    // The other routes keep the global 1 MiB limit.
    let big_form = server
        .signed_in("principal.pilat")
        .await
        .unwrap()
        .post_raw(
            &theme,
            &[("csrf", &csrf), ("banner_url", &"a".repeat(1_100_000))],
        )
        .await;
    if let Ok(page) = big_form {
        assert_eq!(page.status, 413);
    }

    // Removal brings the default banner back.
    let page = principal.get(&theme).await.unwrap();
    assert!(page.body.contains("Retirer l'image"));
    let removed = principal
        .post_form(&theme, &format!("{theme}/banniere/retirer"), &[])
        .await
        .unwrap();
    assert_eq!(removed.status, 303);
    assert_eq!(home_banner(&server, PILAT).await, "/static/banner.svg");
    assert_eq!(server.client().get(&url).await.unwrap().status, 404);
    let log = server.app.directory().audit_entries(20).unwrap();
    let actions: Vec<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"image de bannière importée"));
    assert!(actions.contains(&"image de bannière retirée"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_establishments_administrators_upload_with_a_valid_token() {
    let server = TestServer::start().await.unwrap();
    let image = png(1200, 400);
    let route = format!("/admin/e/{PILAT}/theme/banniere");

    let anonymous = server.client();
    let csrf = csrf_of(&anonymous, "/login").await;
    let page = upload(&anonymous, PILAT, &csrf, &image, "b.png").await;
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login?next="));

    for login in ["emma.martin", "jean.dupont"] {
        let client = server.signed_in(login).await.unwrap();
        let csrf = csrf_of(&client, &format!("/e/{PILAT}/")).await;
        assert_eq!(
            upload(&client, PILAT, &csrf, &image, "b.png").await.status,
            403,
            "{login}"
        );
        let removed = client
            .post_raw(&format!("{route}/retirer"), &[("csrf", &csrf)])
            .await
            .unwrap();
        assert_eq!(removed.status, 403, "{login}");
    }

    // An establishment administrator, in another establishment.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let csrf = csrf_of(&principal, &format!("/admin/e/{PILAT}/theme")).await;
    assert_eq!(
        upload(&principal, FOREZ, &csrf, &image, "b.png")
            .await
            .status,
        403
    );

    // A missing or wrong token.
    let body = multipart(&[("image", Some("b.png"), &image)]);
    let no_token = principal
        .post_body(
            &route,
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            body,
        )
        .await
        .unwrap();
    assert_eq!(no_token.status, 403);
    assert!(no_token.body.contains("Formulaire expiré"));
    let wrong = upload(&principal, PILAT, &"0".repeat(32), &image, "b.png").await;
    assert_eq!(wrong.status, 403);
    assert_eq!(home_banner(&server, PILAT).await, "/static/banner.svg");
    assert_eq!(
        server
            .client()
            .get(&format!("/e/{PILAT}/banniere"))
            .await
            .unwrap()
            .status,
        404
    );

    // Not multipart at all.
    let urlencoded = principal
        .post_raw(&route, &[("csrf", &csrf)])
        .await
        .unwrap();
    assert_eq!(urlencoded.status, 400);

    // The region administrator may, in any establishment.
    let admin = server.signed_in("admin").await.unwrap();
    let csrf = csrf_of(&admin, &format!("/admin/e/{FOREZ}/theme")).await;
    assert_eq!(
        upload(&admin, FOREZ, &csrf, &image, "b.png").await.status,
        303
    );
    assert!(
        home_banner(&server, FOREZ)
            .await
            .starts_with(&format!("/e/{FOREZ}/banniere?v="))
    );
    assert_eq!(home_banner(&server, PILAT).await, "/static/banner.svg");
}

/// A GIF of `width` × `height`: header, no colour table, one image, trailer.
fn gif(width: u16, height: u16) -> Vec<u8> {
    let (w, h) = (width.to_le_bytes(), height.to_le_bytes());
    [
        &b"GIF89a"[..],
        &[w[0], w[1], h[0], h[1], 0, 0, 0],
        &[0x2C, 0, 0, 0, 0, w[0], w[1], h[0], h[1], 0],
        &[2, 2, 0x4C, 0x01, 0],
        &[0x3B],
    ]
    .concat()
}

/// A baseline JPEG's structure: SOI, SOF0, one scan (with a stuffed byte and
/// a restart marker in its data), EOI.
fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let (w, h) = (width.to_be_bytes(), height.to_be_bytes());
    [
        &[0xFF, 0xD8][..],
        &[
            0xFF, 0xC0, 0x00, 0x0B, 8, h[0], h[1], w[0], w[1], 1, 1, 0x11, 0,
        ],
        &[0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0],
        &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56],
        &[0xFF, 0xD9],
    ]
    .concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banner_is_served_with_its_sniffed_type_and_trailing_data_is_refused() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let theme = format!("/admin/e/{PILAT}/theme");
    let csrf = csrf_of(&principal, &theme).await;

    // The name says PNG, the bytes say GIF then JPEG: served as what the bytes are.
    for (image, content_type) in [
        (gif(1200, 300), "image/gif"),
        (jpeg(1200, 300), "image/jpeg"),
    ] {
        let sent = upload(&principal, PILAT, &csrf, &image, "bandeau.png").await;
        assert_eq!(sent.status, 303, "{content_type}: {}", sent.body);
        let url = home_banner(&server, PILAT).await;
        let served = server.client().get(&url).await.unwrap();
        assert_eq!(served.status, 200);
        assert_eq!(served.header("content-type"), Some(content_type));
        assert_eq!(
            served.header("content-security-policy"),
            Some("default-src 'none'")
        );
        assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    }
    let kept = home_banner(&server, PILAT).await;

    // Anything after the image's end (an archive, a page, a script) is refused
    // with a French message on the field; a truncated image too.
    let payload = b"PK\x03\x04<html><script>alert(1)</script></html>";
    for (image, format) in [
        (png(1200, 300), "PNG"),
        (jpeg(1200, 300), "JPEG"),
        (gif(1200, 300), "GIF"),
    ] {
        let mut polyglot = image.clone();
        polyglot.extend_from_slice(payload);
        let page = upload(&principal, PILAT, &csrf, &polyglot, "bandeau.png").await;
        assert_eq!(page.status, 422, "{format}");
        let text = preau_tests::unescape(&page.body);
        assert!(
            text.contains(&format!(
                "Ce fichier contient {} octet(s) après la fin de l'image {format}",
                payload.len()
            )),
            "{format}: {text}"
        );
        assert!(text.contains("L'image n'a pas été importée"), "{text}");
        let truncated = &image[..image.len() - 1];
        let page = upload(&principal, PILAT, &csrf, truncated, "bandeau.png").await;
        assert_eq!(page.status, 422, "{format}");
        assert!(
            preau_tests::unescape(&page.body).contains("tronquée ou mal formée"),
            "{format}"
        );
    }
    assert_eq!(
        home_banner(&server, PILAT).await,
        kept,
        "previous banner kept"
    );
}
