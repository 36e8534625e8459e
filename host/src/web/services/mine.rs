//! « Mes services » (`/e/{uai}/services`) and opening a connector (access re-checked).

use super::*;

// ---------------------------------------------------------------- Mes services

/// GET /e/{uai}/services — the visitor's services, by category, as tiles.
pub async fn my_services(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path(uai): Path<String>,
) -> WebResult {
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let visible = visible_services(&app, visitor.user.as_ref(), &uai)?;
    Ok(render(
        &app,
        &visitor,
        Some(&establishment),
        "services.html",
        "Mes services",
        StatusCode::OK,
        json!({ "categories": by_category(&uai, &visible) }),
    ))
}

/// GET /e/{uai}/services/{code}/ouvrir — re-checks access, then 303 to the service.
pub async fn open_service(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    Path((uai, code)): Path<(String, String)>,
) -> WebResult {
    let establishment = find_establishment(&app, &visitor, &uai)?;
    let region = services::region_catalogue(&app.directory)?;
    let local = services::establishment_catalogue(&app.directory, &uai)?;
    let found = services::resolve(&region, &local, &enabled_plugins(&app, &uai))
        .into_iter()
        .find(|s| s.code == code && s.active);
    let Some(service) = found else {
        return Ok(error_page(
            &app,
            &visitor,
            Some(&establishment),
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Ce service n'existe pas ou n'est pas proposé dans cet établissement.",
        ));
    };
    let closed = shut_out(&app, visitor.user.as_ref(), &uai)?;
    if !service.visible_to(&Viewer::of(visitor.user.as_ref(), &uai, closed)) {
        return Ok(forbidden(&app, &visitor, Some(&establishment)));
    }
    let target = if service.internal() {
        service_link(&uai, &service)
    } else {
        service.url.clone()
    };
    Ok(visitor.finish(Redirect::to(&target).into_response(), app.config.https()))
}
