//! Seeding: the demonstration region (`--demo`, from `data/demo.toml`) and the
//! first region administrator of a fresh installation.

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::App;
use crate::directory::{
    Directory, Establishment, Membership, Theme, User, hash_password, random_token,
};

#[derive(Deserialize)]
struct DemoFile {
    region_name: String,
    password: String,
    establishments: Vec<DemoEstablishment>,
    users: Vec<DemoUser>,
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
}

#[derive(Deserialize)]
struct DemoUser {
    login: String,
    first_name: String,
    last_name: String,
    #[serde(default)]
    region_admin: bool,
    #[serde(default)]
    memberships: Vec<Membership>,
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
    for user in demo.users {
        if app.directory.user_by_login(&user.login)?.is_some() {
            continue;
        }
        app.directory.create_user(User {
            id: String::new(),
            login: user.login,
            first_name: user.first_name,
            last_name: user.last_name,
            password_hash: password_hash.clone(),
            region_admin: user.region_admin,
            memberships: user.memberships,
            blocked: false,
        })?;
    }
    for e in &demo.establishments {
        let establishment = Establishment {
            uai: e.uai.clone(),
            name: e.name.clone(),
            kind: e.kind.clone(),
            city: e.city.clone(),
            theme: Theme {
                primary: e.primary.clone(),
                accent: e.accent.clone(),
                banner_url: String::new(),
            },
        };
        app.directory.put_establishment(&establishment)?;
        for plugin_id in &e.plugins {
            let Some(plugin) = app.runtime.plugin(plugin_id) else {
                tracing::warn!(
                    "démo : plugin {plugin_id} non chargé, non activé dans {}",
                    e.uai
                );
                continue;
            };
            crate::web::enable_plugin(app, &establishment, &plugin, true).await?;
            crate::web::send_demo_event(app, &establishment, &plugin).await;
        }
    }
    app.directory.put_region_setting(SEEDED, &true)?;
    tracing::info!("données de démonstration créées");
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
    })?;
    Ok(password)
}
