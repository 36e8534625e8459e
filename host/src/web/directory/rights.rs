//! Rights per plugin (populations and users tabs), in the establishment, in a rubrique, and per object of a plugin.

use super::*;

// ---------------------------------------------------------------- rights

/// Where grants apply: the establishment's own instance of a plugin, or a rubrique's;
/// and inside it, possibly one of the plugin's objects (a resource domain…).
struct RightsScope {
    rubrique: Option<crate::portal::Rubrique>,
    object: Option<ObjectScope>,
}

/// One of a plugin's objects with its own rights.
struct ObjectScope {
    id: String,
    /// The plugin's label for it (`describe-scope`).
    label: String,
}

impl RightsScope {
    fn resolve(
        app: &App,
        t: &Target,
        rubrique: Option<&str>,
        plugin: &str,
    ) -> Result<RightsScope, Response> {
        let Some(id) = rubrique else {
            return Ok(RightsScope {
                rubrique: None,
                object: None,
            });
        };
        let portal = crate::portal::Portal::load(&app.directory, &t.establishment.uai)
            .map_err(|e| crate::web::pages::AppError::from(e).into_response())?;
        match portal.rubrique(id) {
            Some(r) if r.services.iter().any(|s| s == plugin) => Ok(RightsScope {
                rubrique: Some(r.clone()),
                object: None,
            }),
            _ => Err(error_page(
                app,
                &t.visitor,
                Some(&t.establishment),
                StatusCode::NOT_FOUND,
                "Rubrique ou service introuvable",
                "Ce service n'est pas affiché dans cette rubrique.",
            )),
        }
    }

    fn instance<'a>(
        &'a self,
        uai: &'a str,
        manifest: &'a crate::manifest::Manifest,
    ) -> crate::rights::Instance<'a> {
        crate::rights::Instance {
            uai,
            rubrique: self.rubrique.as_ref().map(|r| r.id.as_str()),
            manifest,
        }
    }

    fn grants(
        &self,
        app: &App,
        uai: &str,
        manifest: &crate::manifest::Manifest,
    ) -> anyhow::Result<Grants> {
        let plugin = &manifest.id;
        Ok(match (&self.object, &self.rubrique) {
            (Some(o), _) => self
                .instance(uai, manifest)
                .scoped_grants(&app.directory, &o.id)?
                .unwrap_or_default(),
            (None, None) => app.directory.grants(uai, plugin)?.unwrap_or_default(),
            (None, Some(r)) => r.grants.get(plugin).cloned().unwrap_or_default(),
        })
    }

    /// Whether the object has rights of its own (otherwise it follows the service's).
    fn object_has_own_grants(
        &self,
        app: &App,
        uai: &str,
        manifest: &crate::manifest::Manifest,
    ) -> anyhow::Result<bool> {
        Ok(match &self.object {
            Some(o) => self
                .instance(uai, manifest)
                .scoped_grants(&app.directory, &o.id)?
                .is_some(),
            None => false,
        })
    }

    fn save(
        &self,
        app: &App,
        uai: &str,
        manifest: &crate::manifest::Manifest,
        grants: Option<Grants>,
    ) -> anyhow::Result<()> {
        let plugin = &manifest.id;
        if let Some(o) = &self.object {
            let instance = self.instance(uai, manifest);
            return match grants {
                Some(grants) => instance.put_scoped_grants(&app.directory, &o.id, &grants),
                None => instance.forget_scoped_grants(&app.directory, &o.id),
            };
        }
        let grants = grants.unwrap_or_default();
        match &self.rubrique {
            None => app.directory.put_grants(uai, plugin, &grants),
            Some(r) => {
                // Re-read: the portal may have changed since the page was built.
                let mut portal = crate::portal::Portal::load(&app.directory, uai)?;
                if let Some(current) = portal.rubrique_mut(&r.id) {
                    current.grants.insert(plugin.to_string(), grants);
                }
                portal.save(&app.directory, uai)
            }
        }
    }

    fn base_url(&self, uai: &str, plugin: &str) -> String {
        let base = match &self.rubrique {
            None => format!("/admin/e/{uai}/plugins/{plugin}/droits"),
            Some(r) => format!("/admin/e/{uai}/rubriques/{}/droits/{plugin}", r.id),
        };
        match &self.object {
            Some(o) => format!("{base}/objet/{}", o.id),
            None => base,
        }
    }

    /// The plugin's mount for this instance.
    fn mount(&self, uai: &str, plugin: &str) -> String {
        match &self.rubrique {
            None => format!("/e/{uai}/{plugin}"),
            Some(r) => format!("/e/{uai}/r/{}/{plugin}", r.id),
        }
    }
}

/// The path of a rights page: a service of an establishment, in one of its
/// rubriques or not, for one of the service's objects or for the whole service.
/// One type serves the four routes (`/admin/e/{uai}/plugins/{plugin}/droits`,
/// `…/droits/objet/{scope}`, and both in `/admin/e/{uai}/rubriques/{rubrique}/…`).
#[derive(serde::Deserialize)]
pub struct RightsPath {
    uai: String,
    rubrique: Option<String>,
    plugin: String,
    scope: Option<String>,
}

/// The visitor and scope of an object's rights page: establishment administrators,
/// and holders of the manifest's `scoped_rights` role for the object as the plugin
/// resolves it (the object's grants, else its parents', else the service's) may set
/// them; the plugin must name the object (`describe-scope`).
async fn object_target(
    app: &App,
    visitor: Visitor,
    establishment: Establishment,
    rubrique: Option<&str>,
    plugin: &crate::runtime::LoadedPlugin,
    object: &str,
) -> Result<(Target, RightsScope), Response> {
    let uai = establishment.uai.clone();
    let uai = uai.as_str();
    let manifest = &plugin.manifest;
    let not_found = |visitor: &Visitor| {
        error_page(
            app,
            visitor,
            Some(&establishment),
            StatusCode::NOT_FOUND,
            "Objet introuvable",
            "Ce service n'a pas d'objet de ce nom, ou il n'est pas activé ici.",
        )
    };
    let internal = |e: anyhow::Error| AppError::from(e).into_response();
    let Some(manager_role) = manifest.scoped_rights.as_deref() else {
        return Err(not_found(&visitor));
    };
    // A service not enabled here has no objects; anyone else must sign in first.
    let enabled = app
        .directory
        .plugin_setting(uai, &manifest.id)
        .map_err(internal)?
        .enabled;
    if !enabled || !crate::rights::valid_scope(object) {
        return Err(not_found(&visitor));
    }
    let Some(user) = visitor.user.clone() else {
        return Err(forbidden(app, &visitor, Some(&establishment)));
    };
    // The instance: the establishment's, or a rubrique showing the service.
    let granted =
        match instance_access(app, Some(&user), uai, rubrique, plugin).map_err(internal)? {
            Access::Granted(granted) => granted,
            Access::NotFound => return Err(not_found(&visitor)),
            Access::Forbidden => return Err(forbidden(app, &visitor, Some(&establishment))),
        };
    let mut scope = RightsScope {
        rubrique: granted.rubrique.clone(),
        object: None,
    };
    let base_roles = granted.roles.clone();
    let ctx = granted.call(app, Some(&user), &establishment, &manifest.id);
    let description = app
        .runtime
        .describe_scope(&manifest.id, ctx, object.to_string())
        .await
        .map_err(|e| {
            tracing::error!(plugin = %manifest.id, "describe-scope : {e}");
            internal_error_response()
        })?;
    let administrator = user.administers(uai);
    let Some((label, parents)) = description else {
        // Only administrators learn that an object does not exist.
        return Err(if administrator {
            not_found(&visitor)
        } else {
            forbidden(app, &visitor, Some(&establishment))
        });
    };
    // The plugin's own view of the caller's roles on the object: its grants, else its
    // parents', else the service's.
    let chain: Vec<String> = std::iter::once(object.to_string()).chain(parents).collect();
    let on_object = scope
        .instance(uai, manifest)
        .roles_in(&app.directory, Some(&user), &chain, &base_roles)
        .map_err(internal)?;
    if !administrator && !on_object.iter().any(|r| r == manager_role) {
        return Err(forbidden(app, &visitor, Some(&establishment)));
    }
    scope.object = Some(ObjectScope {
        id: object.to_string(),
        label,
    });
    Ok((
        Target {
            visitor,
            user,
            establishment,
        },
        scope,
    ))
}

/// The visitor and scope of a rights page, after the rights check.
async fn rights_target(
    app: &App,
    at: EstablishmentOf,
    path: &RightsPath,
) -> Result<(Target, RightsScope, Arc<crate::runtime::LoadedPlugin>), Response> {
    let missing = |visitor: &Visitor| {
        error_page(
            app,
            visitor,
            None,
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Aucun service ne porte cet identifiant.",
        )
    };
    let EstablishmentOf {
        visitor,
        establishment,
    } = at;
    match path.scope.as_deref() {
        None => {
            let t = Target::admin(app, visitor, establishment, false)?;
            let Some(plugin) = app.runtime.plugin(&path.plugin) else {
                return Err(missing(&t.visitor));
            };
            let scope = RightsScope::resolve(app, &t, path.rubrique.as_deref(), &path.plugin)?;
            Ok((t, scope, plugin))
        }
        Some(object) => {
            let Some(plugin) = app.runtime.plugin(&path.plugin) else {
                return Err(missing(&visitor));
            };
            let (t, scope) = object_target(
                app,
                visitor,
                establishment,
                path.rubrique.as_deref(),
                &plugin,
                object,
            )
            .await?;
            Ok((t, scope, plugin))
        }
    }
}

/// GET …/droits (and in a rubrique, and per object) — two tabs: populations and users.
pub async fn rights(
    State(app): State<Arc<App>>,
    at: EstablishmentOf,
    Path(path): Path<RightsPath>,
    uri: Uri,
) -> WebResult {
    let (t, scope, plugin) = rights_target(&app, at, &path).await?;
    let grants = scope.grants(&app, &path.uai, &plugin.manifest)?;
    Ok(rights_page(
        &app,
        &t,
        &scope,
        &plugin.manifest,
        &grants,
        &query_value(&uri, "onglet"),
        None,
        StatusCode::OK,
    )?)
}

#[allow(clippy::too_many_arguments)]
fn rights_page(
    app: &App,
    t: &Target,
    scope: &RightsScope,
    manifest: &crate::manifest::Manifest,
    grants: &Grants,
    tab: &str,
    error: Option<&str>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let roles: Vec<Value> = manifest
        .roles
        .iter()
        .map(|r| json!({ "id": r.id, "label": r.label, "permissions": r.permissions }))
        .collect();
    let role_label = |id: &str| {
        manifest
            .roles
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.label.clone())
            .unwrap_or(id.to_string())
    };
    let groups = app.directory.groups(uai)?;
    let mut populations: Vec<Value> = PROFILES
        .iter()
        .map(|(code, label)| {
            let granted = grants.profiles.get(*code).cloned().unwrap_or_default();
            json!({ "key": format!("profil:{code}"), "label": format!("Profil : {label}"), "roles": granted })
        })
        .collect();
    populations.extend(groups.iter().map(|g| {
        let granted = grants.groups.get(&g.id).cloned().unwrap_or_default();
        json!({ "key": format!("groupe:{}", g.id), "label": format!("Groupe : {}", g.name), "roles": granted })
    }));
    let users: Vec<Value> = grants
        .users
        .iter()
        .filter_map(|(id, roles)| {
            let user = app.directory.user(id).ok().flatten()?;
            Some(
                json!({ "id": id, "name": user.display_name(), "login": user.login,
                         "roles": roles.iter().map(|r| role_label(r)).collect::<Vec<_>>() }),
            )
        })
        .collect();
    let base_url = scope.base_url(uai, &manifest.id);
    let title = match (&scope.object, &scope.rubrique) {
        (Some(o), _) => format!("Droits d'accès — {} : {}", manifest.name, o.label),
        (None, None) => format!("Droits d'accès — {}", manifest.name),
        (None, Some(r)) => format!("Droits d'accès — {} dans « {} »", manifest.name, r.title),
    };
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/rights.html",
        &title,
        status,
        json!({
            "establishment": t.establishment_json(),
            "plugin": { "id": manifest.id, "name": manifest.name },
            "rubrique": scope.rubrique.as_ref().map(|r| json!({ "id": r.id, "title": r.title })),
            "object": scope.object.as_ref().map(|o| json!({
                "id": o.id, "label": o.label,
                "own_grants": scope.object_has_own_grants(app, uai, manifest).unwrap_or(false),
                "service_url": format!("{}/", scope.mount(uai, &manifest.id)),
            })),
            "public_roles": manifest.roles.iter().filter(|r| r.public).map(|r| r.label.clone()).collect::<Vec<_>>(),
            "tab": if tab == "utilisateurs" { "utilisateurs" } else { "populations" },
            "roles": roles,
            "populations": populations,
            "users": users,
            "populations_url": format!("{base_url}?onglet=populations"),
            "users_url": format!("{base_url}?onglet=utilisateurs"),
            "action_url": base_url,
            "error": error,
            "back_url": match (&scope.object, &scope.rubrique) {
                (Some(_), _) => format!("{}/", scope.mount(uai, &manifest.id)),
                (None, None) => "/admin/".to_string(),
                (None, Some(r)) => format!("/admin/e/{uai}/rubriques/{}", r.id),
            },
        }),
    ))
}

/// POST …/droits (and in a rubrique, and per object) — `tab=populations`:
/// checkboxes per role and population; `tab=utilisateurs`: add or remove a
/// person's role; per object, also `tab=heritage`: the object drops its own
/// rights and follows the service's again.
pub async fn save_rights(
    State(app): State<Arc<App>>,
    at: EstablishmentOf,
    Path(path): Path<RightsPath>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let (t, scope, plugin) = rights_target(&app, at, &path).await?;
    let uai = &path.uai;
    let manifest = &plugin.manifest;
    let mut grants = scope.grants(&app, uai, manifest)?;
    let groups = app.directory.groups(uai)?;
    let tab = field(&form, "tab");
    let mut keep_own = true;
    if tab == "heritage" {
        keep_own = false;
    } else if tab == "utilisateurs" {
        let remove = field(&form, "remove");
        if !remove.is_empty() {
            grants.users.remove(&remove);
        } else {
            let role = field(&form, "role");
            let person = app
                .directory
                .user_by_login(&field(&form, "login"))?
                .filter(|u| u.membership(uai).is_some());
            let error = match (&person, manifest.roles.iter().any(|r| r.id == role)) {
                (None, _) => Some("Aucune personne de cet établissement n'a cet identifiant."),
                (_, false) => Some("Choisissez un rôle."),
                _ => None,
            };
            if let Some(error) = error {
                return Ok(rights_page(
                    &app,
                    &t,
                    &scope,
                    manifest,
                    &grants,
                    "utilisateurs",
                    Some(error),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )?);
            }
            let roles = grants.users.entry(person.expect("vérifié").id).or_default();
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
    } else {
        let mut fresh = Grants {
            users: grants.users.clone(),
            ..Default::default()
        };
        for value in all(&form, "grant") {
            let Some((population, role)) = value.split_once('|') else {
                continue;
            };
            if !manifest.roles.iter().any(|r| r.id == role) {
                continue;
            }
            let bucket = match population.split_once(':') {
                Some(("profil", code)) if PROFILES.iter().any(|(c, _)| *c == code) => {
                    fresh.profiles.entry(code.to_string())
                }
                Some(("groupe", id)) if groups.iter().any(|g| g.id == id) => {
                    fresh.groups.entry(id.to_string())
                }
                _ => continue,
            };
            bucket.or_default().push(role.to_string());
        }
        grants = fresh;
    }
    scope.save(&app, uai, manifest, keep_own.then_some(grants))?;
    let mut audited = match &scope.rubrique {
        None => path.plugin.clone(),
        Some(r) => format!("{} (rubrique {})", path.plugin, r.title),
    };
    if let Some(o) = &scope.object {
        audited.push_str(&format!(" — {}", o.label));
        if !keep_own {
            audited.push_str(" (droits hérités)");
        }
    }
    app.directory
        .audit_in(&t.user, uai, "droits d'accès", &audited)?;
    let tab = if tab == "utilisateurs" {
        "utilisateurs"
    } else {
        "populations"
    };
    Ok(Redirect::to(&format!(
        "{}?onglet={tab}",
        scope.base_url(uai, &path.plugin)
    ))
    .into_response())
}
