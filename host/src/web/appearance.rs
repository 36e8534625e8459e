//! An establishment's appearance: its colours and banner (`/admin/e/{uai}/theme`),
//! the uploaded banner image (upload in multipart, removal, serving it to every
//! visitor), and its `theme.css`.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::extract::{CheckedForm, EstablishmentAdmin, Target, parse_query};
use super::pages::{WebResult, csrf_rejected, render};
use crate::App;
use crate::image_header::{self, HeaderError, ImageFormat};

/// Largest accepted image: 2 Mo.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
/// Body limit of the upload route: the image, the other fields and the
/// multipart framing, so that a slightly too large image still gets a clear
/// message rather than a bare 413.
pub const MAX_UPLOAD_BODY_BYTES: usize = 3 * 1024 * 1024;
/// Largest accepted dimensions, in pixels.
pub const MAX_WIDTH: u32 = 1400;
/// See [`MAX_WIDTH`].
pub const MAX_HEIGHT: u32 = 3200;

/// The URL of an uploaded banner, versioned by its content so that it can be
/// cached for long.
fn banner_url(uai: &str, bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let version: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("/e/{uai}/banniere?v={version}")
}

/// Whether `url` is the form [`banner_url`] produces.
pub fn is_uploaded_banner_url(url: &str) -> bool {
    let Some((uai, version)) = url
        .strip_prefix("/e/")
        .and_then(|rest| rest.split_once("/banniere?v="))
    else {
        return false;
    };
    crate::directory::valid_uai(uai)
        && (1..=64).contains(&version.len())
        && version.bytes().all(|b| b.is_ascii_hexdigit())
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Gif => "GIF",
        ImageFormat::Webp => "WebP",
    }
}

/// Checks an uploaded file; the French message says what to do otherwise.
pub fn validate(bytes: &[u8]) -> Result<ImageFormat, String> {
    if bytes.is_empty() {
        return Err("Le fichier envoyé est vide.".into());
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_large_message());
    }
    let info = match image_header::read(bytes) {
        Ok(info) => info,
        Err(HeaderError::UnknownFormat) if image_header::looks_like_svg(bytes) => {
            return Err(
                "Les images SVG sont refusées : elles peuvent contenir des scripts. \
                 Envoyez une image PNG, JPEG, GIF ou WebP."
                    .into(),
            );
        }
        Err(HeaderError::UnknownFormat) => {
            return Err("Ce fichier n'est pas une image PNG, JPEG, GIF ou WebP \
                 (son contenu est vérifié, pas seulement son nom)."
                .into());
        }
        Err(HeaderError::Malformed(format)) => {
            return Err(format!(
                "Cette image {} est illisible ou tronquée : ses dimensions n'ont pas pu être lues.",
                format_name(format)
            ));
        }
    };
    match image_header::end(bytes, info.format) {
        None => {
            return Err(format!(
                "Cette image {} est tronquée ou mal formée : sa fin n'a pas été trouvée. \
                 Enregistrez-la de nouveau avec un logiciel de dessin.",
                format_name(info.format)
            ));
        }
        Some(end) if end < bytes.len() => {
            return Err(format!(
                "Ce fichier contient {} octet(s) après la fin de l'image {} : il n'est pas \
                 accepté tel quel. Enregistrez l'image de nouveau avec un logiciel de dessin.",
                bytes.len() - end,
                format_name(info.format)
            ));
        }
        Some(_) => {}
    }
    if info.width == 0 || info.height == 0 {
        return Err(format!(
            "Cette image mesure {} × {} px : une image vide ne peut pas servir de bannière.",
            info.width, info.height
        ));
    }
    if info.width > MAX_WIDTH || info.height > MAX_HEIGHT {
        return Err(format!(
            "Cette image mesure {} × {} px : la bannière doit mesurer au plus \
             {MAX_WIDTH} px de large et {MAX_HEIGHT} px de haut.",
            info.width, info.height
        ));
    }
    Ok(info.format)
}

fn too_large_message() -> String {
    "Cette image dépasse 2 Mo : réduisez-la ou enregistrez-la en JPEG ou WebP.".into()
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    image: Option<Vec<u8>>,
    too_large: bool,
}

/// Reads the multipart stream; an image larger than the limit is drained, not
/// kept, so that the browser finishes sending and reads the answer.
async fn read_upload(
    multipart: &mut Multipart,
) -> Result<Upload, axum::extract::multipart::MultipartError> {
    let mut upload = Upload::default();
    while let Some(mut field) = multipart.next_field().await? {
        match field.name() {
            Some("csrf") => upload.csrf = field.text().await?,
            Some("image") => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await? {
                    if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                        upload.too_large = true;
                        bytes = Vec::new();
                    } else if !upload.too_large {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                upload.image = Some(bytes);
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// The theme page with an error on the upload form.
fn upload_error(app: &App, t: &Target, status: StatusCode, message: &str) -> Response {
    let mut page = theme_page(
        app,
        t,
        json!(t.establishment.theme),
        json!({ "image": message }),
        None,
    );
    *page.status_mut() = status;
    page
}

/// POST /admin/e/{uai}/theme/banniere — a `multipart/form-data` form with
/// `csrf` and `image`.
pub async fn upload(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(mut t): EstablishmentAdmin,
    Path(uai): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult {
    let Ok(mut multipart) = multipart else {
        return Ok(super::pages::bad_form(&app, &t.visitor));
    };
    let upload = match read_upload(&mut multipart).await {
        Ok(upload) => upload,
        // Above the route's body limit: nothing was kept.
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Ok(upload_error(
                &app,
                &t,
                StatusCode::PAYLOAD_TOO_LARGE,
                &too_large_message(),
            ));
        }
        Err(_) => return Ok(super::pages::bad_form(&app, &t.visitor)),
    };
    if !t
        .visitor
        .csrf_valid(&[("csrf".to_string(), upload.csrf.clone())])
    {
        return Ok(csrf_rejected(&app, &t.visitor));
    }
    let checked = match upload.image {
        _ if upload.too_large => Err(too_large_message()),
        None => Err("Choisissez une image à importer.".to_string()),
        Some(bytes) => validate(&bytes).map(|format| (format, bytes)),
    };
    let (format, bytes) = match checked {
        Ok(checked) => checked,
        Err(message) => {
            return Ok(upload_error(
                &app,
                &t,
                StatusCode::UNPROCESSABLE_ENTITY,
                &message,
            ));
        }
    };
    app.directory
        .put_banner(&uai, format.content_type(), &bytes)?;
    t.establishment.theme.banner_url = banner_url(&uai, &bytes);
    app.directory.put_establishment(&t.establishment)?;
    app.directory.audit_in(
        &t.user,
        &uai,
        "image de bannière importée",
        &format!("{uai} ({}, {} octets)", format.content_type(), bytes.len()),
    )?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/theme?ok=banniere")).into_response())
}

/// POST /admin/e/{uai}/theme/banniere/retirer — back to the theme's default banner.
pub async fn remove(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(mut t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    app.directory.delete_banner(&uai)?;
    t.establishment.theme.banner_url = String::new();
    app.directory.put_establishment(&t.establishment)?;
    app.directory
        .audit_in(&t.user, &uai, "image de bannière retirée", &uai)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/theme?ok=banniere-retiree")).into_response())
}

/// GET /e/{uai}/banniere — public: the banner shows to anonymous visitors too.
pub async fn serve(State(app): State<Arc<App>>, Path(uai): Path<String>) -> WebResult {
    let Some((content_type, bytes)) = app.directory.banner(&uai)? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            // The URL changes with the content (`?v=`).
            (header::CACHE_CONTROL, "public, max-age=86400".into()),
            // Even opened directly, the response can do nothing but be shown.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'".into()),
        ],
        bytes,
    )
        .into_response())
}

/// The confirmation shown after a change (`?ok=…`).
fn notice(uri: &Uri) -> Option<&'static str> {
    parse_query(uri.query())
        .iter()
        .find(|(k, _)| k == "ok")
        .and_then(|(_, v)| match v.as_str() {
            "theme" => Some("Apparence enregistrée."),
            "banniere" => Some("Image de bannière importée."),
            "banniere-retiree" => {
                Some("Image de bannière retirée : la bannière par défaut est rétablie.")
            }
            _ => None,
        })
}

fn theme_page(
    app: &App,
    t: &Target,
    values: serde_json::Value,
    errors: serde_json::Value,
    notice: Option<&str>,
) -> Response {
    let status = if errors.as_object().is_some_and(|e| !e.is_empty()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/theme.html",
        "Apparence",
        status,
        json!({
            "establishment": t.establishment_json(),
            "action_url": format!("/admin/e/{}/theme", t.establishment.uai),
            "upload_url": format!("/admin/e/{}/theme/banniere", t.establishment.uai),
            "remove_url": format!("/admin/e/{}/theme/banniere/retirer", t.establishment.uai),
            "has_uploaded_banner": is_uploaded_banner_url(&t.establishment.theme.banner_url),
            "max_width": MAX_WIDTH,
            "max_height": MAX_HEIGHT,
            "values": values,
            "errors": errors,
            "notice": notice,
        }),
    )
}

/// GET /admin/e/{uai}/theme
pub async fn theme_form(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    uri: Uri,
) -> WebResult {
    let values = json!(t.establishment.theme);
    Ok(theme_page(&app, &t, values, json!({}), notice(&uri)))
}

/// A banner URL: empty, an https URL, a path under /static/, or an uploaded
/// banner's `/e/<uai>/banniere?v=<hash>`.
pub fn valid_banner_url(url: &str) -> bool {
    if url.is_empty() {
        return true;
    }
    if url.len() > 500 || url.contains(['"', '\'', '<', '>', ' ', '\\']) || url.contains("..") {
        return false;
    }
    url.starts_with("/static/")
        || is_uploaded_banner_url(url)
        || url::Url::parse(url).is_ok_and(|u| u.scheme() == "https" && u.host().is_some())
}

/// POST /admin/e/{uai}/theme
pub async fn save_theme(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(mut t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let field = |name: &str| super::extract::field(&form, name);
    let (primary, accent, banner_url) = (
        field("primary").to_lowercase(),
        field("accent").to_lowercase(),
        field("banner_url"),
    );
    let mut errors = serde_json::Map::new();
    if !crate::appearance::valid_colour(&primary) {
        errors.insert(
            "primary".into(),
            json!("Couleur attendue au format #rrggbb (par exemple #1f5f8b)."),
        );
    }
    if !crate::appearance::valid_colour(&accent) {
        errors.insert(
            "accent".into(),
            json!("Couleur attendue au format #rrggbb (par exemple #e07a1f)."),
        );
    }
    if !valid_banner_url(&banner_url) {
        errors.insert(
            "banner_url".into(),
            json!(
                "Adresse invalide : une adresse https://… ou /static/… est attendue, \
                 ou importez une image."
            ),
        );
    }
    let values = json!({ "primary": primary, "accent": accent, "banner_url": banner_url });
    if !errors.is_empty() {
        return Ok(theme_page(
            &app,
            &t,
            values,
            serde_json::Value::Object(errors),
            None,
        ));
    }
    t.establishment.theme = crate::directory::Theme {
        primary,
        accent,
        banner_url,
    };
    app.directory.put_establishment(&t.establishment)?;
    app.directory.audit(&t.user, "apparence du portail", &uai)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/theme?ok=theme")).into_response())
}

/// GET /e/{uai}/theme.css
pub async fn theme_css(State(app): State<Arc<App>>, Path(uai): Path<String>) -> WebResult {
    let Some(establishment) = app.directory.establishment(&uai)? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        crate::appearance::stylesheet(&establishment.theme),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        // The rest of IHDR and its CRC, then IEND.
        b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(b"\0\0\0\0IEND\0\0\0\0");
        b
    }

    #[test]
    fn uploads_are_judged_by_their_bytes_and_dimensions() {
        assert_eq!(validate(&png(1400, 3200)), Ok(ImageFormat::Png));
        assert!(
            validate(&png(1401, 10))
                .unwrap_err()
                .contains("1401 × 10 px")
        );
        assert!(validate(&png(10, 3201)).is_err());
        assert!(validate(&png(0, 10)).unwrap_err().contains("vide"));
        assert!(validate(b"").unwrap_err().contains("vide"));
        assert!(
            validate(b"<svg onload=alert(1)>")
                .unwrap_err()
                .contains("SVG")
        );
        assert!(validate(b"<html>").unwrap_err().contains("PNG, JPEG"));
        let mut big = png(10, 10);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        assert!(validate(&big).unwrap_err().contains("2 Mo"));
        // Data after IEND (a polyglot), or no IEND at all.
        let mut polyglot = png(10, 10);
        polyglot.extend_from_slice(b"<html><script>alert(1)</script>");
        assert!(
            validate(&polyglot)
                .unwrap_err()
                .contains("31 octet(s) après la fin de l'image PNG")
        );
        let image = png(10, 10);
        assert!(
            validate(&image[..image.len() - 12])
                .unwrap_err()
                .contains("tronquée")
        );
    }

    #[test]
    fn uploaded_urls() {
        let url = banner_url("0420003A", b"x");
        assert!(url.starts_with("/e/0420003A/banniere?v="));
        assert!(is_uploaded_banner_url(&url));
        assert!(!is_uploaded_banner_url("/e/0420003A/banniere?v="));
        assert!(!is_uploaded_banner_url("/e/0420003A/banniere?v=zz"));
        assert!(!is_uploaded_banner_url("/e/../banniere?v=ab"));
        assert!(!is_uploaded_banner_url("/e/0420003A/blog?v=ab"));
        assert!(!is_uploaded_banner_url("/e/0420003A/banniere?v=ab&x=<"));
    }
}

#[cfg(test)]
mod theme_tests {
    #[test]
    fn banner_urls_are_checked() {
        assert!(super::valid_banner_url(""));
        assert!(super::valid_banner_url("/static/banner.svg"));
        assert!(super::valid_banner_url("https://example.org/b.jpg"));
        assert!(!super::valid_banner_url("javascript:alert(1)"));
        assert!(!super::valid_banner_url("http://example.org/b.jpg"));
        assert!(!super::valid_banner_url("/static/../../etc/passwd"));
        assert!(!super::valid_banner_url("https://x.org/\"onerror=\""));
        assert!(super::valid_banner_url(
            "/e/0420003A/banniere?v=0a1b2c3d4e5f"
        ));
        assert!(!super::valid_banner_url(
            "/e/0420003A/banniere?v=x\"onerror=\""
        ));
        assert!(!super::valid_banner_url("/e/0420003A/banniere"));
        assert!(!super::valid_banner_url("/e/0420003A/blog/"));
    }
}
