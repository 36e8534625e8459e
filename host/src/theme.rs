//! Themes: minijinja templates of the theme and of every plugin, autoescaped.
//!
//! The `safe` filter is removed: templates cannot mark text as HTML. Only two
//! things are ever emitted unescaped: the `rich` filter's output (the host's
//! sanitizer) and fragments the host rendered itself from autoescaped templates.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use minijinja::{Environment, Value};

use crate::SharedSanitizer;
use crate::runtime::{LoadedPlugin, plugin_templates};

/// The template environment, rebuilt when a plugin is reloaded.
pub struct Theme {
    dir: PathBuf,
    env: RwLock<Arc<Environment<'static>>>,
    sanitizer: SharedSanitizer,
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// (year, month 1–12, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Day count of the last Sunday of `month` in `year`.
fn last_sunday(year: i64, month: u32) -> i64 {
    // Days since epoch of the first day of the next month, minus one.
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let y_adj = if m <= 2 { y - 1 } else { y };
    let era = y_adj.div_euclid(400);
    let yoe = y_adj.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let last_day = era * 146_097 + doe - 719_468 - 1;
    // 1970-01-01 was a Thursday (weekday 4, Sunday = 0).
    let weekday = (last_day + 4).rem_euclid(7);
    last_day - weekday
}

/// Paris local time of a Unix timestamp: UTC+1, UTC+2 from the last Sunday of
/// March 01:00 UTC to the last Sunday of October 01:00 UTC.
pub fn paris_offset(ts: i64) -> i64 {
    let (year, _, _) = civil_from_days(ts.div_euclid(86_400));
    let start = last_sunday(year, 3) * 86_400 + 3600;
    let end = last_sunday(year, 10) * 86_400 + 3600;
    if ts >= start && ts < end { 7200 } else { 3600 }
}

/// `28 novembre 2026 à 17 h 05`, in Paris time.
pub fn format_date_fr(ts: i64) -> String {
    let local = ts + paris_offset(ts);
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let seconds = local.rem_euclid(86_400);
    let day = if day == 1 {
        "1er".to_string()
    } else {
        day.to_string()
    };
    format!(
        "{day} {} {year} à {} h {:02}",
        MONTHS[(month - 1) as usize],
        seconds / 3600,
        (seconds % 3600) / 60
    )
}

pub(crate) fn load_dir(env: &mut Environment<'static>, dir: &Path, prefix: &str) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if path.is_dir() {
            load_dir(env, &path, &format!("{name}/"))?;
        } else if name.ends_with(".html") {
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("lecture de {}", path.display()))?;
            env.add_template_owned(name.clone(), source)
                .with_context(|| format!("gabarit {name}"))?;
        }
    }
    Ok(())
}

impl Theme {
    /// Loads the theme in `dir` (its `templates/`) and the plugins' templates.
    pub fn new(
        dir: PathBuf,
        sanitizer: SharedSanitizer,
        plugins: &[Arc<LoadedPlugin>],
    ) -> Result<Theme> {
        let theme = Theme {
            dir,
            env: RwLock::new(Arc::new(Environment::new())),
            sanitizer,
        };
        theme.rebuild(plugins)?;
        Ok(theme)
    }

    /// Rebuilds the environment (a plugin was reloaded).
    pub fn rebuild(&self, plugins: &[Arc<LoadedPlugin>]) -> Result<()> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.remove_filter("safe");
        let sanitizer = self.sanitizer.clone();
        env.add_filter("rich", move |html: String| {
            let clean = sanitizer.read().expect("verrou").clean(&html);
            Value::from_safe_string(clean)
        });
        let sanitizer = self.sanitizer.clone();
        env.add_filter("excerpt", move |html: String, max: Option<usize>| {
            let text = sanitizer.read().expect("verrou").plain_text(&html);
            truncate(&text, max.unwrap_or(200))
        });
        // Plain text only (no HTML parsing): summaries that are already text.
        env.add_filter("shorten", |text: String, max: Option<usize>| {
            truncate(&text, max.unwrap_or(200))
        });
        env.add_filter("datefr", |ts: Option<i64>| {
            ts.map(format_date_fr).unwrap_or_default()
        });
        load_dir(&mut env, &self.dir.join("templates"), "")?;
        for plugin in plugins {
            for (name, source) in plugin_templates(plugin) {
                let full = format!("{}/{name}", plugin.manifest.id);
                if let Err(e) = env.add_template_owned(full.clone(), source) {
                    tracing::error!(plugin = %plugin.manifest.id, "gabarit {full} invalide : {e}");
                }
            }
        }
        *self.env.write().expect("verrou") = Arc::new(env);
        Ok(())
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, minijinja::Error> {
        let env = self.env.read().expect("verrou").clone();
        env.get_template(name)?.render(context)
    }

    /// Folder of static assets.
    pub fn static_dir(&self) -> PathBuf {
        self.dir.join("static")
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_dates_in_paris_time() {
        // 2026-11-28 16:05 UTC = 17 h 05 in Paris (winter time).
        assert_eq!(format_date_fr(1_795_881_900), "28 novembre 2026 à 17 h 05");
        // 2026-07-01 10:00 UTC = 12 h 00 (summer time).
        assert_eq!(format_date_fr(1_782_900_000), "1er juillet 2026 à 12 h 00");
        // DST starts 2026-03-29 01:00 UTC.
        assert_eq!(format_date_fr(1_774_746_000), "29 mars 2026 à 3 h 00");
        assert_eq!(format_date_fr(1_774_745_999), "29 mars 2026 à 1 h 59");
    }
}
