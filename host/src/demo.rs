//! Seeding: the demonstration region (`--demo`, from `data/demo.toml`) and the
//! first region administrator of a fresh installation.

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::App;
use crate::directory::{
    Directory, Establishment, Group, Membership, Theme, User, hash_password, random_token,
};
use crate::services::{self, Connector, EstablishmentCatalogue, RegionCatalogue};

#[derive(Deserialize)]
struct DemoFile {
    region_name: String,
    password: String,
    establishments: Vec<DemoEstablishment>,
    users: Vec<DemoUser>,
    /// The region's connectors.
    #[serde(default)]
    region_services: Vec<Connector>,
    /// Region-approved outbound hosts, by plugin.
    #[serde(default)]
    outbound: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct DemoEstablishment {
    uai: String,
    name: String,
    kind: String,
    city: String,
    #[serde(default)]
    plugins: Vec<String>,
    primary: String,
    accent: String,
    /// IANA time zone; Europe/Paris when absent.
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    groups: Vec<DemoGroup>,
    /// The establishment's own connectors.
    #[serde(default)]
    services: Vec<Connector>,
    #[serde(default)]
    rubriques: Vec<DemoRubrique>,
    #[serde(default)]
    structure: Option<DemoStructure>,
}

/// The school structure of a demonstration establishment, as its forms take it.
#[derive(Deserialize)]
struct DemoStructure {
    debut: String,
    fin: String,
    zone: String,
    /// Logins holding « Accès gestionnaire vie scolaire ».
    #[serde(default)]
    gestionnaires: Vec<String>,
    /// (name, first day, last day).
    periodes: Vec<(String, String, String)>,
    /// (name, start, end).
    creneaux: Vec<(String, String, String)>,
    /// (code, label).
    matieres: Vec<(String, String)>,
    /// (name, capacity or "").
    salles: Vec<(String, String)>,
}

/// A rubrique of the demonstration portal.
#[derive(Deserialize)]
struct DemoRubrique {
    id: String,
    title: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    restricted: bool,
    #[serde(default)]
    access_profiles: Vec<String>,
    #[serde(default)]
    access_groups: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
    /// Subscribed to the "Actualités" block for the whole establishment.
    #[serde(default)]
    subscribed: bool,
    /// (service, `profil:<code>` or `groupe:<id>`, role).
    #[serde(default)]
    grants: Vec<(String, String, String)>,
}

#[derive(Deserialize)]
struct DemoGroup {
    id: String,
    kind: String,
    name: String,
    #[serde(default)]
    level: String,
    /// (first name, last name, parent's first name).
    #[serde(default)]
    pupils: Vec<(String, String, String)>,
}

#[derive(Deserialize)]
struct DemoUser {
    login: String,
    first_name: String,
    last_name: String,
    #[serde(default)]
    region_admin: bool,
    #[serde(default)]
    civility: String,
    #[serde(default)]
    memberships: Vec<Membership>,
    /// Logins of their children.
    #[serde(default)]
    children: Vec<String>,
}

/// Marker set once the demo is seeded.
const SEEDED: &str = "demo-seeded";

/// Seeds the demonstration region once; later starts change nothing.
pub async fn seed(app: &App) -> Result<()> {
    if app
        .directory
        .region_setting::<bool>(SEEDED)?
        .unwrap_or(false)
    {
        return Ok(());
    }
    let path = &app.config.demo_file;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("lecture de {}", path.display()))?;
    let demo: DemoFile =
        toml::from_str(&text).with_context(|| format!("{} invalide", path.display()))?;
    app.directory
        .put_region_setting("name", &demo.region_name)?;
    let password_hash = app.passwords.hash(demo.password.clone()).await?;
    let account =
        |login: String, first: &str, last: &str, civility: &str, memberships: Vec<Membership>| {
            User {
                login,
                first_name: first.to_string(),
                last_name: last.to_string(),
                civility: civility.to_string(),
                password_hash: password_hash.clone(),
                memberships,
                perenne: true,
                created_at: crate::directory::now(),
                ..Default::default()
            }
        };
    for e in &demo.establishments {
        app.directory.put_establishment(&Establishment {
            uai: e.uai.clone(),
            name: e.name.clone(),
            kind: e.kind.clone(),
            city: e.city.clone(),
            theme: Theme {
                primary: e.primary.clone(),
                accent: e.accent.clone(),
                banner_url: String::new(),
            },
            time_zone: e
                .time_zone
                .clone()
                .unwrap_or_else(|| preau_text::zone::DEFAULT_TIME_ZONE.to_string()),
        })?;
        for g in &e.groups {
            app.directory.put_group(&Group {
                id: g.id.clone(),
                uai: e.uai.clone(),
                kind: g.kind.clone(),
                name: g.name.clone(),
                level: g.level.clone(),
                managers: Vec::new(),
            })?;
        }
    }
    let mut children_of: Vec<(String, Vec<String>)> = Vec::new();
    for user in demo.users {
        if app.directory.user_by_login(&user.login)?.is_some() {
            continue;
        }
        let mut account = account(
            user.login,
            &user.first_name,
            &user.last_name,
            &user.civility,
            user.memberships,
        );
        account.region_admin = user.region_admin;
        let created = app.directory.create_user(account)?;
        children_of.push((created.id, user.children));
    }
    // Pupils of each class, and their parents (siblings share one).
    for e in &demo.establishments {
        for g in &e.groups {
            for (first, last, parent_first) in &g.pupils {
                let id = app.directory.new_id("u")?;
                let login = app.directory.claim_generated_login(first, last, &id)?;
                let membership = Membership {
                    uai: e.uai.clone(),
                    profile: "eleve".into(),
                    groups: vec![g.id.clone()],
                    ..Default::default()
                };
                let mut pupil = account(login, first, last, "", vec![membership]);
                pupil.id = id;
                app.directory.save_user(None, &pupil)?;
                let existing = app.directory.users()?.into_iter().find(|u| {
                    u.first_name == *parent_first
                        && u.last_name == *last
                        && u.membership(&e.uai).is_some_and(|m| m.profile == "parent")
                });
                let parent = match existing {
                    Some(parent) => parent,
                    None => {
                        let id = app.directory.new_id("u")?;
                        let login = app
                            .directory
                            .claim_generated_login(parent_first, last, &id)?;
                        let membership = Membership {
                            uai: e.uai.clone(),
                            profile: "parent".into(),
                            ..Default::default()
                        };
                        let mut parent = account(login, parent_first, last, "", vec![membership]);
                        parent.id = id;
                        app.directory.save_user(None, &parent)?;
                        parent
                    }
                };
                let mut linked = parent.clone();
                linked.children.push(pupil.id.clone());
                app.directory.save_user(Some(&parent), &linked)?;
            }
        }
    }
    for (parent_id, logins) in children_of {
        let Some(parent) = app.directory.user(&parent_id)? else {
            continue;
        };
        let mut linked = parent.clone();
        for login in logins {
            if let Some(child) = app.directory.user_by_login(&login)? {
                linked.children.push(child.id);
            }
        }
        app.directory.save_user(Some(&parent), &linked)?;
    }
    for e in &demo.establishments {
        let Some(establishment) = app.directory.establishment(&e.uai)? else {
            continue;
        };
        for plugin_id in &e.plugins {
            let Some(plugin) = app.runtime.plugin(plugin_id) else {
                tracing::warn!(
                    "démo : plugin {plugin_id} non chargé, non activé dans {}",
                    e.uai
                );
                continue;
            };
            crate::instances::enable_plugin(app, &establishment, &plugin, true).await?;
            crate::instances::send_demo_event(app, &establishment, None, &plugin).await;
        }
        seed_portal(app, &establishment, &e.rubriques).await?;
        if let Some(structure) = &e.structure {
            seed_structure(app, &e.uai, structure)?;
        }
    }
    seed_services(app, &demo.region_services, &demo.establishments)?;
    for (plugin, hosts) in &demo.outbound {
        let hosts = crate::outbound::parse_approved_hosts(&hosts.join("\n"))
            .map_err(|e| anyhow::anyhow!("démo : sites autorisés de {plugin} : {e}"))?;
        app.directory
            .put_setting(&format!("outbound/region/{plugin}"), &hosts)?;
    }
    app.directory.put_region_setting(SEEDED, &true)?;
    tracing::info!("données de démonstration créées");
    Ok(())
}

/// The demo's school structure, through the checks the administration pages use.
fn seed_structure(app: &App, uai: &str, demo: &DemoStructure) -> Result<()> {
    use crate::structure::{self, Kind, calendar, managers};
    let store = app.directory.store();
    let refused = |what: &str, e: structure::Refused| {
        anyhow::anyhow!("démo : structure de {uai}, {what} : {e:?}")
    };
    let days = |name: &str| match name {
        "debut" => demo.debut.clone(),
        _ => demo.fin.clone(),
    };
    let (first, last) = structure::parse_year(&days)
        .map_err(|e| anyhow::anyhow!("démo : année de {uai} : {e:?}"))?;
    let year = structure::save_year(store, uai, first, last)?.map_err(|e| refused("année", e))?;
    structure::save_zone(store, uai, Some(&demo.zone))?.map_err(|e| refused("zone", e))?;
    let closures =
        calendar::closures_for(&year, &demo.zone).map_err(|e| anyhow::anyhow!("démo : {e}"))?;
    structure::add_closures(store, uai, &closures)?.map_err(|e| refused("fermetures", e))?;
    let mut typed: Vec<(Kind, Vec<(&str, &str)>)> = Vec::new();
    for (name, first, last) in &demo.periodes {
        typed.push((
            Kind::Period,
            vec![("nom", name), ("debut", first), ("fin", last)],
        ));
    }
    for (name, start, end) in &demo.creneaux {
        typed.push((
            Kind::Slot,
            vec![("nom", name), ("debut", start), ("fin", end)],
        ));
    }
    for (code, label) in &demo.matieres {
        typed.push((Kind::Subject, vec![("code", code), ("libelle", label)]));
    }
    for (name, capacity) in &demo.salles {
        typed.push((Kind::Room, vec![("nom", name), ("capacite", capacity)]));
    }
    for (kind, fields) in typed {
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        let item = structure::parse_item(kind, &structure::new_id(store)?, &field)
            .map_err(|e| anyhow::anyhow!("démo : {kind:?} de {uai} : {e:?}"))?;
        structure::save_item(store, uai, &item)?.map_err(|e| refused(item.name(), e))?;
    }
    let mut grants = managers::grants(&app.directory, uai)?;
    for login in &demo.gestionnaires {
        if let Some(user) = app.directory.user_by_login(login)? {
            grants
                .users
                .insert(user.id, vec![managers::ROLE.to_string()]);
        }
    }
    managers::put_grants(&app.directory, uai, &grants)
}

/// The demo's connectors, checked like the administration pages check them.
fn seed_services(
    app: &App,
    region: &[Connector],
    establishments: &[DemoEstablishment],
) -> Result<()> {
    let check = |c: &Connector| {
        if !services::valid_code(&c.code) || !services::valid_connector_url(&c.url) {
            anyhow::bail!("démo : connecteur {} invalide", c.code);
        }
        Ok(())
    };
    region.iter().try_for_each(check)?;
    services::put_region_catalogue(
        &app.directory,
        &RegionCatalogue {
            connectors: region.to_vec(),
        },
    )?;
    for e in establishments {
        e.services.iter().try_for_each(check)?;
        if e.services.is_empty() {
            continue;
        }
        let mut catalogue: EstablishmentCatalogue =
            services::establishment_catalogue(&app.directory, &e.uai)?;
        catalogue.connectors = e.services.clone();
        services::put_establishment_catalogue(&app.directory, &e.uai, &catalogue)?;
    }
    Ok(())
}

/// The demonstration rubriques, their rights and subscriptions, and their content.
async fn seed_portal(
    app: &App,
    establishment: &Establishment,
    rubriques: &[DemoRubrique],
) -> Result<()> {
    use crate::portal::{Populations, Portal, Rubrique, Subscription};
    let mut portal = Portal::load(&app.directory, &establishment.uai)?;
    for (order, r) in rubriques.iter().enumerate() {
        let mut grants: std::collections::BTreeMap<String, crate::directory::Grants> =
            Default::default();
        for (service, population, role) in &r.grants {
            let g = grants.entry(service.clone()).or_default();
            let bucket = match population.split_once(':') {
                Some(("profil", code)) => g.profiles.entry(code.to_string()),
                Some(("groupe", id)) => g.groups.entry(id.to_string()),
                _ => continue,
            };
            bucket.or_default().push(role.clone());
        }
        portal.rubriques.push(Rubrique {
            id: r.id.clone(),
            title: r.title.clone(),
            parent: r.parent.clone(),
            description: r.description.clone(),
            restricted: r.restricted,
            visible: true,
            order: order as u32,
            services: r.services.clone(),
            access: Populations {
                profiles: r.access_profiles.clone(),
                groups: r.access_groups.clone(),
            },
            grants,
        });
        if r.subscribed {
            portal.subscriptions.push(Subscription {
                rubrique: r.id.clone(),
                profile: None,
                active: true,
            });
        }
    }
    portal.save(&app.directory, &establishment.uai)?;
    for rubrique in &portal.rubriques {
        for service in &rubrique.services {
            if let Some(plugin) = app.runtime.plugin(service) {
                crate::instances::send_demo_event(app, establishment, Some(rubrique), &plugin)
                    .await;
            }
        }
    }
    Ok(())
}

/// Creates the region administrator `admin` with a random password, returned once.
pub fn create_first_admin(directory: &Directory) -> Result<String> {
    let password = random_token()[..20].to_string();
    directory.create_user(User {
        id: String::new(),
        login: "admin".into(),
        first_name: "Administrateur".into(),
        last_name: "Région".into(),
        password_hash: hash_password(&password)?,
        region_admin: true,
        memberships: Vec::new(),
        blocked: false,
        created_at: crate::directory::now(),
        ..Default::default()
    })?;
    Ok(password)
}
