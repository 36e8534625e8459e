//! Plugin bundles: the one self-contained folder a third party ships and an
//! operator installs.
//!
//! ```text
//! <id>/
//!   plugin.toml      the manifest (its `id` names the bundle)
//!   plugin.wasm      the component, built for wasm32-wasip2 against the SDK
//!   templates/       the plugin's minijinja templates (`*.html`)
//!   static/          optional: files served at /plugins/<id>/static/… (CSS, images, fonts)
//! ```
//!
//! [`check`] validates a bundle without a server, the way the host would load
//! it (manifest, supported contract, the component's id and contract, routes,
//! templates, limits, static files) and names every problem in French.
//! [`install`] checks, then moves a copy into a host's plugin folder in one
//! rename: a running host notices it within its reload interval and loads it,
//! no rebuild and no restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, bail};

use crate::manifest::{DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT_MS, Manifest};
use crate::runtime::{Runtime, WitMethod};

/// The component's file name inside a bundle.
pub const COMPONENT_FILE: &str = "plugin.wasm";
/// Largest file of `static/`, and of the whole folder.
pub const MAX_STATIC_FILE_BYTES: u64 = 2 << 20;
pub const MAX_STATIC_BYTES: u64 = 10 << 20;
/// File types `static/` may hold, by extension.
pub const STATIC_TYPES: &[(&str, &str)] = &[
    ("css", "text/css; charset=utf-8"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
    ("woff2", "font/woff2"),
];

/// What a valid bundle holds.
#[derive(Debug)]
pub struct Report {
    pub manifest: Manifest,
    /// `GET /…` and `POST /…` patterns its `routes` export declares.
    pub routes: Vec<String>,
    /// Template file names.
    pub templates: Vec<String>,
    /// Files of `static/`, relative.
    pub static_files: Vec<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.manifest;
        writeln!(f, "Plugin « {} » ({}), version {}", m.name, m.id, m.version)?;
        writeln!(f, "  contrat : {}", m.contract)?;
        writeln!(
            f,
            "  limites : {} Mio, {} ms par appel",
            m.limits.memory_mib, m.limits.timeout_ms
        )?;
        writeln!(f, "  routes : {}", self.routes.join(", "))?;
        writeln!(f, "  gabarits : {}", self.templates.join(", "))?;
        if !self.static_files.is_empty() {
            writeln!(f, "  fichiers statiques : {}", self.static_files.join(", "))?;
        }
        Ok(())
    }
}

/// Every problem of a bundle, in French; empty when none.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for problem in &self.0 {
            writeln!(f, "- {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Checks the bundle folder `bundle` as the host would load it; `theme_dir`
/// (the host's theme) lets templates be compiled beside the layout they extend.
pub fn check(bundle: &Path, theme_dir: Option<&Path>) -> Result<Report, Problems> {
    let mut problems = Vec::new();
    if !bundle.is_dir() {
        return Err(Problems(vec![format!(
            "{} n'est pas un dossier de plugin (plugin.toml, {COMPONENT_FILE}, templates/)",
            bundle.display()
        )]));
    }
    let manifest = match Manifest::load(bundle) {
        Ok(m) => m,
        Err(e) => return Err(Problems(vec![format!("{e:#}")])),
    };
    problems.extend(limit_problems(bundle));
    let templates = match template_problems(bundle, &manifest.id, theme_dir) {
        Ok(names) => names,
        Err(p) => {
            problems.extend(p);
            Vec::new()
        }
    };
    let static_files = match static_problems(bundle) {
        Ok(files) => files,
        Err(p) => {
            problems.extend(p);
            Vec::new()
        }
    };
    let component = bundle.join(COMPONENT_FILE);
    let routes = if !component.is_file() {
        problems.push(format!(
            "composant absent : {COMPONENT_FILE} (construit pour wasm32-wasip2 ; `cargo xtask bundle <id>` l'y place)"
        ));
        Vec::new()
    } else {
        match component_routes(bundle, &manifest) {
            Ok(routes) => routes,
            Err(e) => {
                problems.push(format!("{e:#}"));
                Vec::new()
            }
        }
    };
    if problems.is_empty() {
        Ok(Report {
            manifest,
            routes,
            templates,
            static_files,
        })
    } else {
        Err(Problems(problems))
    }
}

/// Limits above the host's: the host would lower them silently; a bundle says so.
fn limit_problems(bundle: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(text) = std::fs::read_to_string(bundle.join("plugin.toml")) else {
        return problems;
    };
    let Ok(raw) = text.parse::<toml::Table>() else {
        return problems;
    };
    let limits = raw.get("limits").and_then(|l| l.as_table());
    let declared = |key: &str| limits.and_then(|l| l.get(key)).and_then(|v| v.as_integer());
    if let Some(mib) = declared("memory_mib")
        && (mib < 1 || mib as u64 > DEFAULT_MEMORY_MIB)
    {
        problems.push(format!(
            "limits.memory_mib = {mib} : l'hôte accorde de 1 à {DEFAULT_MEMORY_MIB} Mio par instance"
        ));
    }
    if let Some(ms) = declared("timeout_ms")
        && (ms < 10 || ms as u64 > DEFAULT_TIMEOUT_MS)
    {
        problems.push(format!(
            "limits.timeout_ms = {ms} : l'hôte accorde de 10 à {DEFAULT_TIMEOUT_MS} ms par appel"
        ));
    }
    problems
}

/// The names of `templates/*.html`, each compiled (syntax) beside the theme's.
fn template_problems(
    bundle: &Path,
    id: &str,
    theme_dir: Option<&Path>,
) -> Result<Vec<String>, Vec<String>> {
    let dir = bundle.join("templates");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Err(vec![
            "dossier templates/ absent : les pages d'un plugin sont des gabarits".to_string(),
        ]);
    };
    let mut env = minijinja::Environment::new();
    if let Some(theme) = theme_dir {
        let _ = crate::theme::load_dir(&mut env, &theme.join("templates"), "");
    }
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".html") {
            problems.push(format!(
                "templates/{name} : seuls des gabarits .html sont chargés"
            ));
            continue;
        }
        match std::fs::read_to_string(entry.path()) {
            Ok(source) => {
                if let Err(e) = env.add_template_owned(format!("{id}/{name}"), source) {
                    problems.push(format!("templates/{name} : {}", template_error(&e)));
                }
                names.push(name);
            }
            Err(e) => problems.push(format!("templates/{name} illisible : {e}")),
        }
    }
    names.sort();
    if names.is_empty() && problems.is_empty() {
        problems.push("templates/ ne contient aucun gabarit .html".to_string());
    }
    if problems.is_empty() {
        Ok(names)
    } else {
        Err(problems)
    }
}

fn template_error(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!(
            "erreur de syntaxe ligne {line} : {}",
            e.detail().unwrap_or("")
        ),
        None => format!("erreur de syntaxe : {e}"),
    }
}

/// The files of `static/` (relative paths): known types only, within the size caps.
fn static_problems(bundle: &Path) -> Result<Vec<String>, Vec<String>> {
    let root = bundle.join("static");
    if !root.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(&root)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                problems.push(format!(
                    "static/{relative} : les liens symboliques sont refusés"
                ));
            } else if meta.is_dir() {
                stack.push(path);
            } else if static_type(&relative).is_none() {
                problems.push(format!(
                    "static/{relative} : type de fichier refusé (acceptés : {})",
                    STATIC_TYPES
                        .iter()
                        .map(|(e, _)| *e)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            } else if meta.len() > MAX_STATIC_FILE_BYTES {
                problems.push(format!(
                    "static/{relative} : {} Ko, au-delà de {} Ko par fichier",
                    meta.len() >> 10,
                    MAX_STATIC_FILE_BYTES >> 10
                ));
            } else {
                total += meta.len();
                files.push(relative);
            }
        }
    }
    if total > MAX_STATIC_BYTES {
        problems.push(format!(
            "static/ : {} Ko en tout, au-delà de {} Ko",
            total >> 10,
            MAX_STATIC_BYTES >> 10
        ));
    }
    files.sort();
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

/// The content type of a static file by its extension, if it is an accepted type.
pub fn static_type(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    STATIC_TYPES
        .iter()
        .find(|(e, _)| *e == extension)
        .map(|(_, t)| *t)
}

/// Loads the component in a throw-away runtime, as a host would (contract,
/// exports, the id it declares), and asks it for its routes.
fn component_routes(bundle: &Path, manifest: &Manifest) -> Result<Vec<String>> {
    let scratch = tempfile_dir()?;
    let store: Arc<dyn crate::store::Store> =
        Arc::new(crate::store::SledStore::temporary().context("base temporaire")?);
    let sanitizer = Arc::new(RwLock::new(Arc::new(crate::html::Sanitizer::new(&[]))));
    let outbound = Arc::new(crate::outbound::Outbound::new(
        std::time::Duration::from_secs(1),
        false,
    ));
    let runtime = Runtime::new(
        store,
        sanitizer,
        outbound,
        Vec::new(),
        scratch.join("wasm"),
        scratch.join("cache"),
    )?;
    let loaded = runtime.load_folder(bundle);
    let _ = std::fs::remove_dir_all(&scratch);
    let id = loaded?;
    if id != manifest.id {
        bail!(
            "le composant se déclare « {id} » mais le manifeste « {} »",
            manifest.id
        );
    }
    let routes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(runtime.routes(&manifest.id))
        .map_err(|e| anyhow::anyhow!("l'export routes() a échoué : {e}"))?;
    if routes.is_empty() {
        bail!("le plugin ne déclare aucune route (export routes() vide)");
    }
    let mut declared = Vec::new();
    for (method, pattern) in routes {
        if !pattern.starts_with('/') {
            bail!("route « {pattern} » : un chemin commence par /");
        }
        let method = match method {
            WitMethod::Get => "GET",
            WitMethod::Post => "POST",
        };
        declared.push(format!("{method} {pattern}"));
    }
    Ok(declared)
}

/// A new private scratch folder under the system's temporary folder.
fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "preau-check-{}-{}",
        std::process::id(),
        crate::directory::random_token()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("création de {}", dir.display()))?;
    Ok(dir)
}

/// Checks `bundle`, then installs it as `<plugins_dir>/<id>/` in one rename
/// (replacing a previous version). A running host serving `plugins_dir` loads it
/// within its reload interval.
pub fn install(bundle: &Path, plugins_dir: &Path, theme_dir: Option<&Path>) -> Result<Report> {
    let report = check(bundle, theme_dir).map_err(|p| anyhow::anyhow!("plugin refusé :\n{p}"))?;
    std::fs::create_dir_all(plugins_dir)
        .with_context(|| format!("création de {}", plugins_dir.display()))?;
    let id = &report.manifest.id;
    let target = plugins_dir.join(id);
    let token = crate::directory::random_token();
    let staging = plugins_dir.join(format!(".{id}.installation-{token}"));
    copy_dir(bundle, &staging).with_context(|| format!("copie vers {}", staging.display()))?;
    let previous = plugins_dir.join(format!(".{id}.ancien-{token}"));
    let had_previous = target.exists();
    if had_previous {
        std::fs::rename(&target, &previous)
            .with_context(|| format!("mise de côté de {}", target.display()))?;
    }
    if let Err(e) = std::fs::rename(&staging, &target) {
        if had_previous {
            let _ = std::fs::rename(&previous, &target);
        }
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e).with_context(|| format!("installation dans {}", target.display()));
    }
    if had_previous {
        let _ = std::fs::remove_dir_all(&previous);
    }
    Ok(report)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
