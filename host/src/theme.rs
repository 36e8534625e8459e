//! Themes: minijinja templates of the theme and of every plugin, autoescaped.
//!
//! The `safe` filter is removed: templates cannot mark text as HTML. Only two
//! things are ever emitted unescaped: the `rich` filter's output (the host's
//! sanitizer) and fragments the host rendered itself from autoescaped templates.

use std::collections::HashSet;
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

/// The time zone of the establishment a template renders for: the context's
/// `portal.establishment.time_zone`, else `establishment.time_zone`, else Paris.
fn time_zone_of(state: &minijinja::State) -> preau_text::TimeZone {
    let from = |value: Option<Value>| {
        value
            .and_then(|v| v.get_attr("time_zone").ok())
            .and_then(|tz| tz.as_str().map(str::to_string))
    };
    let portal = state
        .lookup("portal")
        .and_then(|p| p.get_attr("establishment").ok());
    let name = from(portal).or_else(|| from(state.lookup("establishment")));
    match name {
        Some(name) => preau_text::TimeZone::named_or_default(&name),
        None => preau_text::TimeZone::paris(),
    }
}

/// The `datefr` filter: « 28 novembre 2026 à 17 h 05 » of a Unix time, in the local
/// time of the establishment rendered (Europe/Paris unless it says otherwise).
fn datefr(state: &minijinja::State, ts: Option<i64>) -> String {
    ts.map(|ts| time_zone_of(state).french_date_time(ts))
        .unwrap_or_default()
}

/// Theme templates a plugin's templates may name: the layout they extend and the
/// macros they import (`{% import "macros.html" as m %}`: pagination…).
pub const SHARED_WITH_PLUGINS: [&str; 2] = ["layout.html", "macros.html"];

/// Whether template `parent` may name (extend, include, import) template `name`:
/// a plugin's template (`<id>/…`, `id` in `plugin_ids`) only its plugin's own
/// templates and [`SHARED_WITH_PLUGINS`]; the theme's templates anything.
fn may_name(name: &str, parent: &str, plugin_ids: &HashSet<String>) -> bool {
    match parent.split_once('/') {
        Some((id, _)) if plugin_ids.contains(id) => {
            SHARED_WITH_PLUGINS.contains(&name)
                || name
                    .strip_prefix(id)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
        _ => true,
    }
}

/// Makes a name refused by [`may_name`] a template that does not exist.
fn restrict_plugin_names(env: &mut Environment<'static>, plugin_ids: HashSet<String>) {
    env.set_path_join_callback(move |name, parent| {
        if may_name(name, parent, &plugin_ids) {
            name.into()
        } else {
            format!("(refusé : {parent} ne peut pas nommer {name})").into()
        }
    });
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
        env.add_filter("datefr", datefr);
        load_dir(&mut env, &self.dir.join("templates"), "")?;
        restrict_plugin_names(
            &mut env,
            plugins.iter().map(|p| p.manifest.id.clone()).collect(),
        );
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
    fn datefr_uses_the_establishments_time_zone() {
        let mut env = Environment::new();
        env.add_filter("datefr", datefr);
        env.add_template("t", "{{ at|datefr }}").unwrap();
        let render = |ctx: Value| env.get_template("t").unwrap().render(ctx).unwrap();
        let at = 1_795_881_900; // 2026-11-28 16:05 UTC
        assert_eq!(
            render(minijinja::context! { at }),
            "28 novembre 2026 à 17 h 05"
        );
        let reunion = minijinja::context! { time_zone => "Indian/Reunion" };
        assert_eq!(
            render(
                minijinja::context! { at, portal => minijinja::context! { establishment => reunion.clone() } }
            ),
            "28 novembre 2026 à 20 h 05"
        );
        assert_eq!(
            render(minijinja::context! { at, establishment => reunion }),
            "28 novembre 2026 à 20 h 05"
        );
        let noumea = minijinja::context! { time_zone => "Pacific/Noumea" };
        assert_eq!(
            render(minijinja::context! { at, establishment => noumea }),
            "29 novembre 2026 à 3 h 05"
        );
    }

    #[test]
    fn plugin_templates_name_only_their_own_files_the_layout_and_the_macros() {
        let mut env = Environment::new();
        for (name, source) in [
            ("layout.html", "[{% block content %}{% endblock %}]"),
            ("macros.html", "{% macro hello() %}bonjour{% endmacro %}"),
            (
                "_forms.html",
                "{% macro secret() %}formulaire{% endmacro %}",
            ),
            ("admin/user.html", "fiche"),
            ("blog/_part.html", "partie"),
            (
                "blog/ok.html",
                "{% extends \"layout.html\" %}{% import \"macros.html\" as m %}\
                 {% block content %}{{ m.hello() }} {% include \"blog/_part.html\" %}{% endblock %}",
            ),
            ("blog/theme.html", "{% include \"admin/user.html\" %}"),
            (
                "blog/forms.html",
                "{% import \"_forms.html\" as f %}{{ f.secret() }}",
            ),
            ("blog/other.html", "{% include \"forum/x.html\" %}"),
            ("blog/sneaky.html", "{% include \"blogx/x.html\" %}"),
            ("forum/x.html", "forum"),
            ("blogx/x.html", "autre"),
            (
                "home.html",
                "{% include \"admin/user.html\" %} {% include \"blog/_part.html\" %}",
            ),
        ] {
            env.add_template(name, source).unwrap();
        }
        restrict_plugin_names(&mut env, ["blog".to_string(), "forum".to_string()].into());
        let render = |name: &str| env.get_template(name).unwrap().render(());
        assert_eq!(render("blog/ok.html").unwrap(), "[bonjour partie]");
        for refused in [
            "blog/theme.html",
            "blog/forms.html",
            "blog/other.html",
            "blog/sneaky.html",
        ] {
            let error = render(refused).unwrap_err();
            assert_eq!(
                error.kind(),
                minijinja::ErrorKind::TemplateNotFound,
                "{refused}"
            );
        }
        // The theme's own templates are not restricted.
        assert_eq!(render("home.html").unwrap(), "fiche partie");
        assert!(may_name(
            "layout.html",
            "forum/x.html",
            &["forum".to_string()].into()
        ));
        assert!(!may_name(
            "forum",
            "forum/x.html",
            &["forum".to_string()].into()
        ));
    }

    #[test]
    fn french_dates_in_paris_time() {
        // 2026-11-28 16:05 UTC = 17 h 05 in Paris (winter time).
        assert_eq!(
            preau_text::TimeZone::paris().french_date_time(1_795_881_900),
            "28 novembre 2026 à 17 h 05"
        );
        // 2026-07-01 10:00 UTC = 12 h 00 (summer time).
        assert_eq!(
            preau_text::TimeZone::paris().french_date_time(1_782_900_000),
            "1er juillet 2026 à 12 h 00"
        );
        // DST starts 2026-03-29 01:00 UTC.
        assert_eq!(
            preau_text::TimeZone::paris().french_date_time(1_774_746_000),
            "29 mars 2026 à 3 h 00"
        );
        assert_eq!(
            preau_text::TimeZone::paris().french_date_time(1_774_745_999),
            "29 mars 2026 à 1 h 59"
        );
    }
}
