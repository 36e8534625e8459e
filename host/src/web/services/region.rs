//! The region's connectors (`/admin/services`), inherited by every establishment.

use super::*;

// ---------------------------------------------------------------- region connectors

fn region_row(connector: &Connector) -> Value {
    json!({
        "code": connector.code,
        "label": connector.label,
        "url": connector.url,
        "sso": services::sso_label(&connector.sso),
        "sso_short": services::sso_short_label(&connector.sso),
        "order": services::format_order(connector.order),
        "category": services::category_label(&connector.category),
        "anonymous": connector.anonymous,
        "active": connector.active,
        "inherited": connector.inherited,
        "locked": connector.locked,
        "access": access_summary(&connector.access, &[]),
        "edit_url": format!("/admin/services/{}", connector.code),
    })
}

fn region_page(
    app: &App,
    visitor: &Visitor,
    values: Value,
    errors: Errors,
    notice: Option<&str>,
) -> anyhow::Result<Response> {
    let mut connectors = services::region_catalogue(&app.directory)?.connectors;
    connectors.sort_by(|a, b| a.order.total_cmp(&b.order));
    Ok(render(
        app,
        visitor,
        None,
        "admin/region_services.html",
        "Services de la région",
        status_of(&errors),
        json!({
            "connectors": connectors.iter().map(region_row).collect::<Vec<_>>(),
            "action_url": "/admin/services",
            "values": values,
            "errors": errors,
            "notice": notice,
            "scope": "region",
            "creating": true,
            "categories": options(CATEGORIES),
            "sso_kinds": options(SSO_KINDS),
            "profiles": options(PROFILES),
            "groups": [],
        }),
    ))
}

/// GET /admin/services
pub async fn region_catalogue(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, .. }: RegionAdministrator,
    uri: Uri,
) -> WebResult {
    Ok(region_page(
        &app,
        &visitor,
        new_connector_values(),
        Errors::new(),
        notice(&uri),
    )?)
}

/// POST /admin/services — adds a region connector.
pub async fn create_region_connector(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, user }: RegionAdministrator,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let (connector, mut errors) = read_form(&form, Scope::Region, &[], true);
    if !errors.contains_key("code") && code_taken(&app, &connector.code, None)? {
        duplicate_code(&mut errors, &connector.code);
    }
    if !errors.is_empty() {
        let values = typed_values(&form, &connector);
        return Ok(region_page(&app, &visitor, values, errors, None)?);
    }
    let mut region = services::region_catalogue(&app.directory)?;
    region.connectors.push(connector.clone());
    services::put_region_catalogue(&app.directory, &region)?;
    app.directory
        .audit(&user, "création d'un service de la région", &connector.code)?;
    Ok(Redirect::to("/admin/services?ok=cree").into_response())
}

fn region_connector_or_404(
    app: &App,
    visitor: &Visitor,
    code: &str,
) -> Result<(Connector, RegionCatalogue), Response> {
    let region = services::region_catalogue(&app.directory)
        .map_err(|e| crate::web::pages::AppError::from(e).into_response())?;
    match region.connectors.iter().find(|c| c.code == code) {
        Some(connector) => Ok((connector.clone(), region)),
        None => Err(error_page(
            app,
            visitor,
            None,
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Aucun service de la région ne porte ce code.",
        )),
    }
}

fn region_edit_page(
    app: &App,
    visitor: &Visitor,
    connector: &Connector,
    values: Value,
    errors: Errors,
    notice: Option<&str>,
) -> Response {
    let edit_url = format!("/admin/services/{}", connector.code);
    render(
        app,
        visitor,
        None,
        "admin/service.html",
        &format!("Service — {}", connector.label),
        status_of(&errors),
        json!({
            "service": region_row(connector),
            "url": connector.url,
            "scope": "region",
            "locked": false,
            "overridable": false,
            "creating": false,
            "action_url": edit_url,
            "delete_url": format!("{edit_url}/supprimer"),
            "back_url": "/admin/services",
            "values": values,
            "errors": errors,
            "notice": notice,
            "categories": options(CATEGORIES),
            "sso_kinds": options(SSO_KINDS),
            "profiles": options(PROFILES),
            "groups": [],
        }),
    )
}

/// GET /admin/services/{code}
pub async fn region_connector_form(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, .. }: RegionAdministrator,
    Path(code): Path<String>,
    uri: Uri,
) -> WebResult {
    let (connector, _) = region_connector_or_404(&app, &visitor, &code)?;
    Ok(region_edit_page(
        &app,
        &visitor,
        &connector,
        connector_values(&connector),
        Errors::new(),
        notice(&uri),
    ))
}

/// POST /admin/services/{code} — every field but the code.
pub async fn save_region_connector(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, user }: RegionAdministrator,
    Path(code): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let (existing, mut region) = region_connector_or_404(&app, &visitor, &code)?;
    let (connector, errors) = read_form(&form, Scope::Region, &[], false);
    if !errors.is_empty() {
        let mut values = typed_values(&form, &connector);
        values["code"] = json!(existing.code);
        return Ok(region_edit_page(
            &app, &visitor, &existing, values, errors, None,
        ));
    }
    if let Some(slot) = region.connectors.iter_mut().find(|c| c.code == code) {
        *slot = Connector {
            code: existing.code.clone(),
            ..connector
        };
    }
    services::put_region_catalogue(&app.directory, &region)?;
    app.directory.audit(
        &user,
        "modification d'un service de la région",
        &existing.code,
    )?;
    Ok(Redirect::to(&format!("/admin/services/{code}?ok=enregistre")).into_response())
}

/// POST /admin/services/{code}/supprimer
pub async fn delete_region_connector(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, user }: RegionAdministrator,
    Path(code): Path<String>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    let (existing, mut region) = region_connector_or_404(&app, &visitor, &code)?;
    region.connectors.retain(|c| c.code != existing.code);
    services::put_region_catalogue(&app.directory, &region)?;
    app.directory.audit(
        &user,
        "suppression d'un service de la région",
        &existing.code,
    )?;
    Ok(Redirect::to("/admin/services?ok=supprime").into_response())
}
