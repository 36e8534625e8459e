//! `/admin/sauvegardes`: the region's scheduled backups (region administrators
//! only). The page shows the schedule, the operator's backup folder (set in
//! the configuration, never here), the backups in it and the last run; the
//! schedule is saved with an error per field; « Sauvegarder maintenant » takes
//! one at once. The work is in [`crate::backup_schedule`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect};
use preau_text::TimeZone;
use preau_text::date::french_clock;
use serde_json::{Map, Value, json};

use super::extract::{CheckedForm, RegionAdministrator, field, query_value};
use super::pages::{WebResult, render_form};
use super::visitor::Visitor;
use crate::App;
use crate::backup_schedule::{self, Fate, Outcome, Run, Schedule};

const PAGE: &str = "/admin/sauvegardes";

/// GET /admin/sauvegardes
pub async fn page(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, .. }: RegionAdministrator,
    uri: Uri,
) -> WebResult {
    let schedule = backup_schedule::schedule(&app)?;
    let values = values_of(&schedule);
    let (notice, failure) = match query_value(&uri, "ok").as_str() {
        "reglages" => (Some("Programmation des sauvegardes enregistrée."), None),
        "sauvegarde" => (
            Some("Sauvegarde écrite dans le dossier des sauvegardes."),
            None,
        ),
        _ if query_value(&uri, "echec") == "sauvegarde" => (
            None,
            Some("La sauvegarde a échoué : la cause est indiquée sous « Dernière sauvegarde »."),
        ),
        _ => (None, None),
    };
    backups_page(
        &app,
        &visitor,
        &schedule,
        values,
        Map::new(),
        notice,
        failure,
    )
}

/// POST /admin/sauvegardes — `enabled` (checkbox), `hour` (0–23, Paris time),
/// `daily`, `weekly`: saved whole, or refused with an error per field.
pub async fn save(
    State(app): State<Arc<App>>,
    RegionAdministrator { visitor, user }: RegionAdministrator,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let enabled = !field(&form, "enabled").is_empty();
    let typed = (
        field(&form, "hour"),
        field(&form, "daily"),
        field(&form, "weekly"),
    );
    match Schedule::from_form(enabled, &typed.0, &typed.1, &typed.2) {
        Ok(schedule) => {
            app.directory
                .put_region_setting(backup_schedule::SCHEDULE_SETTING, &schedule)?;
            app.directory.audit(
                &user,
                "programmation des sauvegardes",
                &if schedule.enabled {
                    format!(
                        "chaque jour à {} h, {} quotidiennes, {} hebdomadaires",
                        schedule.hour, schedule.daily, schedule.weekly
                    )
                } else {
                    "désactivées".to_string()
                },
            )?;
            Ok(Redirect::to(&format!("{PAGE}?ok=reglages")).into_response())
        }
        Err(field_errors) => {
            let mut errors = Map::new();
            for (name, message) in field_errors {
                errors.insert(name.to_string(), json!(message));
            }
            let values = json!({
                "enabled": enabled,
                "hour": typed.0,
                "daily": typed.1,
                "weekly": typed.2,
            });
            let saved = backup_schedule::schedule(&app)?;
            backups_page(&app, &visitor, &saved, values, errors, None, None)
        }
    }
}

/// POST /admin/sauvegardes/maintenant — a backup now (and the pruning that
/// follows each one); back to the page, which shows the result.
pub async fn backup_now(
    State(app): State<Arc<App>>,
    RegionAdministrator { user, .. }: RegionAdministrator,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    let run = backup_schedule::run(&app, false).await;
    let outcome = if run.ok() { "écrite" } else { "échec" };
    app.directory.audit(
        &user,
        "sauvegarde manuelle",
        &format!("{} : {outcome}", run.file),
    )?;
    let to = if run.ok() {
        format!("{PAGE}?ok=sauvegarde")
    } else {
        format!("{PAGE}?echec=sauvegarde")
    };
    Ok(Redirect::to(&to).into_response())
}

fn values_of(schedule: &Schedule) -> Value {
    json!({
        "enabled": schedule.enabled,
        "hour": schedule.hour.to_string(),
        "daily": schedule.daily.to_string(),
        "weekly": schedule.weekly.to_string(),
    })
}

fn backups_page(
    app: &App,
    visitor: &Visitor,
    schedule: &Schedule,
    values: Value,
    errors: Map<String, Value>,
    notice: Option<&str>,
    failure: Option<&str>,
) -> WebResult {
    let folder = app.config.backups_folder();
    let paris = TimeZone::paris();
    let (files, listing_error) = match backup_schedule::list(&folder) {
        Ok(files) => (files, None),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    let fates = backup_schedule::fates(&files, schedule);
    let rows: Vec<Value> = files
        .iter()
        .zip(fates)
        .map(|(file, fate)| {
            let when = match (file.stamp, file.modified) {
                (Some(stamp), _) => format!(
                    "{} à {}",
                    stamp.date.french_long(),
                    french_clock(u32::from(stamp.minutes))
                ),
                (None, Some(modified)) => paris.french_date_time(modified),
                (None, None) => String::new(),
            };
            let (kept, badge) = match fate {
                Some(Fate::Daily) => ("Quotidienne", "success"),
                Some(Fate::Weekly) => ("Hebdomadaire", "info"),
                Some(Fate::Delete) => ("Supprimée à la prochaine sauvegarde", "warning"),
                None => ("Hors rotation (jamais supprimée)", "neutral"),
            };
            json!({
                "name": file.name,
                "when": when,
                "size": preau_text::bytes_fr(file.bytes),
                "kept": kept,
                "badge": badge,
            })
        })
        .collect();
    let state = backup_schedule::state(app)?;
    let hours: Vec<Value> = (0..24)
        .map(|h| json!({ "code": h.to_string(), "label": format!("{h} h 00") }))
        .collect();
    Ok(render_form(
        app,
        visitor,
        "admin/backups.html",
        "Sauvegardes",
        errors,
        json!({
            "action_url": PAGE,
            "now_url": format!("{PAGE}/maintenant"),
            "folder": folder.display().to_string(),
            "folder_exists": folder.is_dir(),
            "listing_error": listing_error,
            "files": rows,
            "schedule": {
                "enabled": schedule.enabled,
                "hour": format!("{} h 00", schedule.hour),
                "daily": schedule.daily,
                "weekly": schedule.weekly,
            },
            "values": values,
            "hours": hours,
            "max_daily": backup_schedule::MAX_DAILY,
            "max_weekly": backup_schedule::MAX_WEEKLY,
            "last": state.last.as_ref().map(|run| run_view(run, &paris)),
            "notice": notice,
            "failure": failure,
        }),
    ))
}

fn run_view(run: &Run, paris: &TimeZone) -> Value {
    let mut view = json!({
        "when": paris.french_date_time(run.at),
        "trigger": if run.scheduled { "programmée" } else { "manuelle" },
        "file": run.file,
        "ok": run.ok(),
    });
    match &run.outcome {
        Outcome::Written {
            entries,
            file_bytes,
            sha256,
            deleted,
            prune_error,
        } => {
            view["entries"] = json!(entries);
            view["size"] = json!(preau_text::bytes_fr(*file_bytes));
            view["sha256"] = json!(sha256);
            view["deleted"] = json!(deleted);
            view["prune_error"] = json!(prune_error);
        }
        Outcome::Failed { error } => view["error"] = json!(error),
    }
    view
}
