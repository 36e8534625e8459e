//! `/admin/quotas`: how much each establishment's services store, against
//! the quota every plugin namespace has (region administrators only). The
//! quota is a region setting; a plugin's manifest may lower it for itself.
//! The store counts usage in the same transaction as each write
//! ([`crate::store::usage`]), so the figures are exact.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect};
use serde_json::{Map, Value, json};

use super::extract::{
    CheckedForm, RegionAdministrator, field, parse_quota_mib, query_value, quota_share,
};
use super::pages::{WebResult, render_form};
use super::visitor::Visitor;
use crate::App;
use crate::store::usage;

const PAGE: &str = "/admin/quotas";
/// The region setting: MiB per plugin namespace.
pub const QUOTA_SETTING: &str = "plugin-quota-mib";

/// GET /admin/quotas
pub async fn page(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, .. }: RegionAdministrator,
    uri: Uri,
) -> WebResult {
    let current = current_mib(&app)?;
    let notice = (query_value(&uri, "ok") == "quota").then_some("Quota enregistré.");
    quotas_page(&app, &visitor, &current.to_string(), Map::new(), notice)
}

/// POST /admin/quotas — `mib`: the quota of each plugin namespace.
pub async fn save(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, user }: RegionAdministrator,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let typed = field(&form, "mib");
    match parse_quota_mib(&typed) {
        Ok(mib) => {
            app.directory.put_region_setting(QUOTA_SETTING, &mib)?;
            app.runtime.set_plugin_quota(mib << 20);
            app.directory
                .audit(&user, "quota des services", &format!("{mib} Mo"))?;
            Ok(Redirect::to(&format!("{PAGE}?ok=quota")).into_response())
        }
        Err(message) => {
            let mut errors = Map::new();
            errors.insert("mib".into(), json!(message));
            quotas_page(&app, &visitor, &typed, errors, None)
        }
    }
}

/// The quota in force, in MiB.
pub fn current_mib(app: &App) -> anyhow::Result<u64> {
    Ok(app
        .directory
        .region_setting::<u64>(QUOTA_SETTING)?
        .unwrap_or(crate::runtime::DEFAULT_PLUGIN_QUOTA >> 20))
}

fn quotas_page(
    app: &App,
    visitor: &Visitor,
    typed: &str,
    errors: Map<String, Value>,
    notice: Option<&str>,
) -> WebResult {
    let store = app.directory.shared_store();
    let used = usage::counted(store.as_ref())?;
    let names: std::collections::BTreeMap<String, String> = app
        .directory
        .establishments()?
        .into_iter()
        .map(|e| (e.uai.clone(), e.name.clone()))
        .collect();
    let plugins = app.runtime.plugins();
    let mut rows = Vec::new();
    for ((owner, plugin), bytes) in &used {
        let loaded = plugins.iter().find(|p| &p.manifest.id == plugin);
        let limit = loaded.map_or(current_mib(app)? << 20, |p| app.runtime.quota_of(p));
        let (percent, level) = quota_share(*bytes, limit);
        rows.push(json!({
            "owner": if owner == "@region" { "Région (données communes)".to_string() } else {
                names.get(owner).map_or_else(|| owner.clone(), |n| format!("{n} ({owner})"))
            },
            "plugin": loaded.map_or_else(|| plugin.clone(), |p| p.manifest.name.clone()),
            "used": preau_text::bytes_fr(*bytes),
            "limit": preau_text::bytes_fr(limit),
            "percent": percent,
            "level": level,
        }));
    }
    Ok(render_form(
        app,
        visitor,
        "admin/quotas.html",
        "Quotas",
        errors,
        json!({
            "action_url": PAGE,
            "mib": typed,
            "notice": notice,
            "rows": rows,
        }),
    ))
}
