//! Plugin instances, below the web layer: whether a plugin exists for someone in
//! an establishment (or one of its rubriques) and with which roles, the one value
//! that carries a call's context into the runtime ([`CallContext`]), lifecycle
//! events (`enabled`, `demo`), the scheduler's `tick`, and the rendering of a
//! plugin's fragments (home-page blocks, embedded objects).
//!
//! Nothing here knows HTTP: `web/` translates requests into these calls.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::json;

use crate::App;
use crate::directory::{Establishment, User};
use crate::portal::{Portal, Rubrique};
use crate::runtime::{CallContext, LoadedPlugin, WitCaller, WitFragment, WitRubrique, invocation};

/// Hosts the administrators approved for a plugin's outbound requests: the
/// region's list and the establishment's.
pub fn approved_hosts(app: &App, uai: &str, plugin: &str) -> Vec<String> {
    let mut hosts: Vec<String> = app
        .directory
        .setting(&format!("outbound/region/{plugin}"))
        .ok()
        .flatten()
        .unwrap_or_default();
    hosts.extend(
        app.directory
            .setting::<Vec<String>>(&format!("outbound/{uai}/{plugin}"))
            .ok()
            .flatten()
            .unwrap_or_default(),
    );
    hosts
}

/// What a plugin is told of a person in an establishment.
pub fn wit_caller(user: Option<&User>, uai: &str) -> Option<WitCaller> {
    user.map(|u| {
        let membership = u.membership(uai);
        WitCaller {
            id: u.id.clone(),
            login: u.login.clone(),
            display_name: u.display_name(),
            profiles: membership
                .map(|m| vec![m.profile.clone()])
                .unwrap_or_default(),
            groups: membership.map(|m| m.groups.clone()).unwrap_or_default(),
            functions: membership.map(|m| m.functions.clone()).unwrap_or_default(),
            region_admin: u.region_admin,
        }
    })
}

/// A plugin instance someone may reach: their roles there (possibly none), its
/// mount, rubrique and configuration.
pub struct Granted {
    pub roles: Vec<String>,
    pub mount: String,
    pub rubrique: Option<Rubrique>,
    pub config: serde_json::Value,
}

impl Granted {
    /// The context of a call into `plugin` here, made for `user`.
    pub fn call(
        &self,
        app: &App,
        user: Option<&User>,
        establishment: &Establishment,
        plugin: &str,
    ) -> CallContext {
        let mut ctx = self.context(user, establishment);
        ctx.approved_hosts = approved_hosts(app, &establishment.uai, plugin);
        ctx
    }

    /// [`Granted::call`] without the approved outbound hosts (two settings
    /// reads): enough to find a rendering in the fragment cache; a call made
    /// with it reaches no outside host until [`approved_hosts`] fills them.
    pub fn context(&self, user: Option<&User>, establishment: &Establishment) -> CallContext {
        let uai = &establishment.uai;
        CallContext {
            uai: uai.clone(),
            rubrique: self.rubrique.as_ref().map(|r| r.id.clone()),
            config: self.config.to_string(),
            approved_hosts: Vec::new(),
            invocation: invocation(
                wit_caller(user, uai),
                self.roles.clone(),
                establishment,
                self.mount.clone(),
                self.rubrique.as_ref().map(|r| WitRubrique {
                    id: r.id.clone(),
                    title: r.title.clone(),
                }),
            ),
        }
    }
}

impl Granted {
    /// Whether the person may open the service at all: they hold one of its
    /// roles here. The plugin's entry page refuses whoever does not, and
    /// every link to it (navigation, « Mes services », its home blocks) is
    /// shown only to whoever does: one question, so they cannot disagree.
    pub fn opens(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// Whether `user` may open `plugin` in `uai` (the establishment's instance):
/// enabled here, and [`Granted::opens`].
pub fn opens(app: &App, user: Option<&User>, uai: &str, plugin: &LoadedPlugin) -> Result<bool> {
    Ok(match instance_access(app, user, uai, None, plugin)? {
        Access::Granted(granted) => granted.opens(),
        Access::NotFound | Access::Forbidden => false,
    })
}

/// What someone gets of a plugin instance (the establishment's, or a rubrique's).
pub enum Access {
    Granted(Box<Granted>),
    /// Not enabled here, or not shown in that rubrique: it does not exist here.
    NotFound,
    /// A restricted rubrique the person may not enter.
    Forbidden,
}

/// Whether `plugin` exists in `uai` (in rubrique `rubrique_id` when given) and
/// with which roles for `user`: in a rubrique, the rubrique must hold the service
/// and let the person in, and roles come from the rubrique.
pub fn instance_access(
    app: &App,
    user: Option<&User>,
    uai: &str,
    rubrique_id: Option<&str>,
    plugin: &LoadedPlugin,
) -> Result<Access> {
    let plugin_id = &plugin.manifest.id;
    let setting = app.directory.plugin_setting(uai, plugin_id)?;
    if !setting.enabled {
        return Ok(Access::NotFound);
    }
    let Some(rid) = rubrique_id else {
        return Ok(Access::Granted(Box::new(Granted {
            roles: app.directory.roles(user, uai, &plugin.manifest)?,
            mount: format!("/e/{uai}/{plugin_id}"),
            rubrique: None,
            config: setting.config,
        })));
    };
    let portal = Portal::load(&app.directory, uai)?;
    let Some(rubrique) = portal
        .rubrique(rid)
        .filter(|r| plugin.manifest.rubrique && r.services.contains(plugin_id))
    else {
        return Ok(Access::NotFound);
    };
    if !crate::portal::may_enter(&app.directory, &portal, user, uai, rid)? {
        return Ok(Access::Forbidden);
    }
    Ok(Access::Granted(Box::new(Granted {
        roles: crate::portal::roles_in(&app.directory, rubrique, user, uai, &plugin.manifest)?,
        mount: format!("/e/{uai}/r/{rid}/{plugin_id}"),
        rubrique: Some(rubrique.clone()),
        config: setting.config,
    })))
}

/// The HTML of a plugin's fragment (a home-page block, an embedded object): its
/// autoescaped template with the fragment's context plus `portal` (the
/// establishment, and the viewer's CSRF token for forms inside).
pub fn render_fragment(
    app: &App,
    csrf: &str,
    uai: &str,
    plugin: &str,
    fragment: &WitFragment,
) -> Result<String> {
    let mut context: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&fragment.context).context("contexte du fragment")?;
    context.insert(
        "portal".into(),
        json!({
            "csrf": csrf,
            "establishment": { "uai": uai, "url": format!("/e/{uai}/") },
        }),
    );
    let html = app.theme.render(
        &format!("{plugin}/{}", fragment.template),
        minijinja::Value::from_serialize(&context),
    )?;
    // A plugin's template output is guarded where it is made (and cached
    // guarded): the pages that include it need no pass of their own for it.
    Ok(crate::html::guard(&html))
}

/// Tells a plugin instance (the establishment's, or the one in `rubrique`) about
/// a lifecycle event, as `caller` (with every role of the plugin) or as nobody;
/// failures are logged only.
pub async fn send_event(
    app: &App,
    establishment: &Establishment,
    rubrique: Option<&Rubrique>,
    plugin: &LoadedPlugin,
    name: &str,
    config: &serde_json::Value,
    caller: Option<&User>,
) {
    let id = &plugin.manifest.id;
    let instance = Granted {
        roles: match caller {
            Some(_) => plugin.manifest.role_ids(),
            None => Vec::new(),
        },
        mount: match rubrique {
            None => format!("/e/{}/{id}", establishment.uai),
            Some(r) => format!("/e/{}/r/{}/{id}", establishment.uai, r.id),
        },
        rubrique: rubrique.cloned(),
        config: config.clone(),
    };
    let ctx = instance.call(app, caller, establishment, id);
    if let Err(e) = app.runtime.on_event(id, ctx, name, String::new()).await {
        tracing::warn!(plugin = %id, uai = %establishment.uai, "événement {name} : {e}");
    }
}

/// Sends the `demo` event, as the establishment's administrator, so that the
/// plugin can create its demonstration content.
pub async fn send_demo_event(
    app: &App,
    establishment: &Establishment,
    rubrique: Option<&Rubrique>,
    plugin: &LoadedPlugin,
) {
    let admin = app
        .directory
        .users()
        .unwrap_or_default()
        .into_iter()
        .find(|u| u.membership(&establishment.uai).is_some_and(|m| m.admin));
    let config = app
        .directory
        .plugin_setting(&establishment.uai, &plugin.manifest.id)
        .unwrap_or_default()
        .config;
    send_event(
        app,
        establishment,
        rubrique,
        plugin,
        "demo",
        &config,
        admin.as_ref(),
    )
    .await;
}

/// Enables (or disables) a plugin in an establishment: default configuration and
/// grants on first use, then the `enabled` event.
pub async fn enable_plugin(
    app: &App,
    establishment: &Establishment,
    plugin: &LoadedPlugin,
    enabled: bool,
) -> Result<()> {
    let id = &plugin.manifest.id;
    let mut setting = app.directory.plugin_setting(&establishment.uai, id)?;
    setting.enabled = enabled;
    if enabled {
        if !setting.config.is_object() {
            setting.config = plugin.manifest.default_config();
        }
        app.directory
            .ensure_default_grants(&establishment.uai, &plugin.manifest)?;
    }
    app.directory
        .put_plugin_setting(&establishment.uai, id, &setting)?;
    if enabled {
        send_event(
            app,
            establishment,
            None,
            plugin,
            "enabled",
            &setting.config,
            None,
        )
        .await;
    }
    Ok(())
}

/// Sends `tick` every `interval` to each scheduled plugin in every establishment
/// where it is enabled, one call at a time (scheduled work is background work).
/// Once the host is stopping, no new tick starts, and a tick under way stops
/// before its next call.
pub fn start_scheduler(app: &Arc<App>, interval: std::time::Duration) {
    let weak = Arc::downgrade(app);
    let mut stop = app.shutdown.subscribe();
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer.tick().await;
        loop {
            tokio::select! {
                _ = timer.tick() => {}
                // Stopping, or the app is gone.
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
            let Some(app) = weak.upgrade() else {
                return;
            };
            let Some(_running) = app.shutdown.background().await else {
                return;
            };
            // Expired sessions of accounts that do not sign in again (reading a
            // session never deletes it: no GET writes).
            let directory = app.directory.clone();
            match tokio::task::spawn_blocking(move || directory.sweep_expired_sessions()).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!("{n} session(s) expirée(s) effacée(s)"),
                Ok(Err(e)) => tracing::warn!("sessions expirées : {e:#}"),
                Err(e) => tracing::warn!("sessions expirées : {e}"),
            }
            let establishments = app.directory.establishments().unwrap_or_default();
            for plugin in app.runtime.plugins() {
                if !plugin.manifest.scheduled {
                    continue;
                }
                for establishment in &establishments {
                    if app.shutdown.is_stopping() {
                        return;
                    }
                    let Ok(setting) = app
                        .directory
                        .plugin_setting(&establishment.uai, &plugin.manifest.id)
                    else {
                        continue;
                    };
                    if setting.enabled {
                        send_event(
                            &app,
                            establishment,
                            None,
                            &plugin,
                            "tick",
                            &setting.config,
                            None,
                        )
                        .await;
                    }
                }
            }
        }
    });
}
