//! Loading plugins: manifests and components from the plugin folders, the
//! on-disk cache of precompiled components, hot reload.

use super::*;

/// A plugin ready to instantiate.
pub struct LoadedPlugin {
    /// Its manifest.
    pub manifest: Manifest,
    /// Folder holding `plugin.toml` and `templates/`.
    pub dir: PathBuf,
    pub(super) pre: bindings::PluginPre<CallState>,
    pub(super) permits: Arc<tokio::sync::Semaphore>,
    /// When a call last ran out of time or memory (see [`PENALTY_WINDOW`]).
    pub(super) exhausted_at: Mutex<Option<Instant>>,
    /// Modification times of (manifest, wasm) when loaded, for hot reload.
    pub(super) stamp: (Option<SystemTime>, Option<SystemTime>),
}

impl LoadedPlugin {
    /// Which build of the plugin this is (its manifest's and component's
    /// modification times): what was cached from another build is not used.
    pub fn component_hash(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.stamp.hash(&mut hasher);
        hasher.finish()
    }

    /// Whether a call ran out of time or memory within [`PENALTY_WINDOW`].
    pub(super) fn on_probation(&self) -> bool {
        self.exhausted_at
            .lock()
            .expect("verrou")
            .is_some_and(|at| at.elapsed() < PENALTY_WINDOW)
    }

    /// Records that a call ran out of time or memory.
    pub(super) fn exhausted(&self) {
        let mut at = self.exhausted_at.lock().expect("verrou");
        if !at.is_some_and(|at| at.elapsed() < PENALTY_WINDOW) {
            tracing::warn!(plugin = %self.manifest.id, "délai ou mémoire épuisés : appels limités à la voie de pénalité pendant {} s", PENALTY_WINDOW.as_secs());
        }
        *at = Some(Instant::now());
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Runtime {
    fn plugin_folders(&self) -> Vec<PathBuf> {
        let mut folders = Vec::new();
        for dir in &self.plugin_dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                // `.<id>.installation-…`: a bundle being installed, not yet a plugin.
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if !hidden && entry.path().join("plugin.toml").is_file() {
                    folders.push(entry.path());
                }
            }
        }
        folders.sort();
        folders
    }

    /// The component of the plugin in `folder`: a bundle's own `plugin.wasm`,
    /// else (a plugin of a checkout) `<id>.wasm` in the build output folder.
    fn component_path(&self, folder: &Path, manifest: &Manifest) -> PathBuf {
        let bundled = folder.join(crate::bundle::COMPONENT_FILE);
        if bundled.is_file() {
            bundled
        } else {
            self.wasm_dir.join(manifest.wasm_file_name())
        }
    }

    /// Loads (or reloads) the plugin in `folder` whatever its stamp; its id, or
    /// why it cannot be loaded (its previous version, if any, stays).
    pub fn load_folder(&self, folder: &Path) -> Result<String> {
        let manifest = Manifest::load(folder)?;
        let wasm = self.component_path(folder, &manifest);
        let stamp = (modified(&folder.join("plugin.toml")), modified(&wasm));
        if stamp.1.is_none() {
            anyhow::bail!("composant introuvable : {}", wasm.display());
        }
        self.install(manifest, folder, &wasm, stamp)
    }

    /// Loads the plugin of `manifest` and puts it in place of its previous
    /// version; its id.
    fn install(
        &self,
        manifest: Manifest,
        folder: &Path,
        wasm: &Path,
        stamp: (Option<SystemTime>, Option<SystemTime>),
    ) -> Result<String> {
        let id = manifest.id.clone();
        let plugin = self.load(manifest, folder, wasm, stamp)?;
        self.plugins
            .write()
            .expect("verrou")
            .insert(id.clone(), Arc::new(plugin));
        self.plugins_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(id)
    }

    /// Loads new plugins and reloads changed ones; returns the ids (re)loaded.
    /// A plugin that fails to load keeps its previous version.
    pub fn rescan(&self) -> Vec<String> {
        let mut reloaded = Vec::new();
        for folder in self.plugin_folders() {
            let manifest_path = folder.join("plugin.toml");
            let manifest = match Manifest::load(&folder) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!("plugin ignoré : {e:#}");
                    continue;
                }
            };
            let wasm = self.component_path(&folder, &manifest);
            let stamp = (modified(&manifest_path), modified(&wasm));
            if stamp.1.is_none() {
                tracing::warn!(plugin = %manifest.id, "composant introuvable : {} (lancez cargo xtask build-plugins)", wasm.display());
                continue;
            }
            if let Some(current) = self.plugin(&manifest.id)
                && current.stamp == stamp
                && current.dir == folder
            {
                continue;
            }
            let id = manifest.id.clone();
            match self.install(manifest, &folder, &wasm, stamp) {
                Ok(id) => {
                    tracing::info!(plugin = %id, "plugin chargé");
                    reloaded.push(id);
                }
                Err(e) => tracing::error!(plugin = %id, "chargement impossible : {e:#}"),
            }
        }
        reloaded
    }

    fn load(
        &self,
        manifest: Manifest,
        dir: &Path,
        wasm: &Path,
        stamp: (Option<SystemTime>, Option<SystemTime>),
    ) -> Result<LoadedPlugin> {
        let bytes =
            std::fs::read(wasm).with_context(|| format!("lecture de {}", wasm.display()))?;
        let component = self.compile_cached(&manifest.id, &bytes)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("le composant ne respecte pas le contrat : {e}"))?;
        let pre =
            bindings::PluginPre::new(pre).map_err(|e| anyhow!("exports du composant : {e}"))?;
        let plugin = Arc::new(LoadedPlugin {
            manifest,
            dir: dir.to_path_buf(),
            pre,
            permits: Arc::new(tokio::sync::Semaphore::new(PER_PLUGIN_CONCURRENCY)),
            exhausted_at: Mutex::new(None),
            stamp,
        });
        // The component must be the plugin its manifest describes: a bundle with
        // another plugin's component would otherwise serve under a wrong id.
        let store = self.new_store(&plugin, &CallContext::bare(), Some("plugin-id"));
        let declared = match super::calls::run_in_store(&plugin, store, |instance, store| {
            instance.call_plugin_id(store)
        })
        .outcome
        {
            Ok(id) => id,
            Err(e) => anyhow::bail!("l'export plugin-id a échoué : {e}"),
        };
        if declared != plugin.manifest.id {
            anyhow::bail!(
                "le composant se déclare « {declared} » mais le manifeste « {} »",
                plugin.manifest.id
            );
        }
        Arc::into_inner(plugin).context("chargement")
    }

    /// Compiles a component, or loads it from the on-disk cache keyed by the
    /// component's hash and the engine's compatibility hash.
    fn compile_cached(&self, id: &str, bytes: &[u8]) -> Result<Component> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        let engine_hash = hasher.finish();
        let digest: String = Sha256::digest(bytes)
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = self
            .cache_dir
            .join(format!("{id}-{digest}-{engine_hash:016x}.cwasm"));
        if path.is_file() {
            // SAFETY: the file was written by `Component::serialize` of an engine
            // with the same compatibility hash (part of the file name) into our own
            // cache folder; wasmtime checks its header before using it.
            #[allow(unsafe_code)]
            let loaded = unsafe { Component::deserialize_file(&self.engine, &path) };
            match loaded {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!(plugin = %id, "cache inutilisable, recompilation : {e}"),
            }
        }
        let component =
            Component::new(&self.engine, bytes).map_err(|e| anyhow!("compilation : {e}"))?;
        match component.serialize() {
            Ok(serialized) => {
                // Write then rename, so a concurrent reader never sees half a file.
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                if std::fs::write(&tmp, serialized)
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .is_err()
                {
                    tracing::warn!(plugin = %id, "cache non écrit : {}", path.display());
                }
            }
            Err(e) => tracing::warn!(plugin = %id, "sérialisation : {e}"),
        }
        Ok(component)
    }

    /// Polls plugin folders every `interval` and reloads what changed, until
    /// the runtime is dropped or `stop` turns true (shutdown).
    pub fn watch(
        self: &Arc<Self>,
        interval: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
        on_reload: impl Fn(&[String]) + Send + 'static,
    ) {
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("preau-reload".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    if *stop.borrow() {
                        return;
                    }
                    let Some(runtime) = weak.upgrade() else {
                        return;
                    };
                    let reloaded = runtime.rescan();
                    if !reloaded.is_empty() {
                        on_reload(&reloaded);
                    }
                }
            })
            .expect("fil de rechargement");
    }
}

/// Templates of a plugin: file name → source.
pub fn plugin_templates(plugin: &LoadedPlugin) -> HashMap<String, String> {
    let mut templates = HashMap::new();
    let dir = plugin.dir.join("templates");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".html")
                && let Ok(source) = std::fs::read_to_string(entry.path())
            {
                templates.insert(name, source);
            }
        }
    }
    templates
}
