//! The plugin runtime: wasmtime components in a sandbox.
//!
//! One engine (pooling allocator with copy-on-write memory images when the
//! address space can be reserved, on-demand otherwise), one `InstancePre` per
//! plugin, a fresh `Store` per call with a memory cap and an epoch deadline,
//! caps on the data crossing the boundary, a concurrency bound per plugin,
//! precompiled components cached on disk, and hot reload by swapping the
//! loaded plugin (in-flight calls finish on the old one).

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store as WasmStore, StoreLimits,
    StoreLimitsBuilder, Trap,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::SharedSanitizer;
use crate::html::Sanitizer;
use crate::manifest::Manifest;
use crate::outbound::{DEFAULT_BODY_BYTES, FetchError, HostPolicy, SharedOutbound};
use crate::store::{Op, Quota, QuotaExceeded, Space, Store};

pub mod batch;
mod calls;
mod engine;
mod files;
mod imports;
mod loader;
mod structure;

pub use calls::invocation;
use engine::{build_engine, start_epoch_ticker};
pub use imports::{CallState, READ_ONLY, StorageTrouble};
pub use loader::{LoadedPlugin, plugin_templates};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
    });
}

pub use bindings::preau::plugin::types::{
    Caller as WitCaller, Establishment as WitEstablishment, Event as WitEvent,
    Fragment as WitFragment, Invocation as WitInvocation, Method as WitMethod,
    NewsItem as WitNewsItem, Request as WitRequest, Response as WitResponse,
    Rubrique as WitRubrique, ServedFile as WitServedFile, UploadedFile as WitUploadedFile,
};
use bindings::preau::plugin::{
    config, directory as wit_directory, files as wit_files, html, log, notify as wit_notify,
    outbound as wit_outbound, region_store, rights as wit_rights, store as wit_store, types,
};

/// Epoch tick: the granularity of deadlines.
const TICK: Duration = Duration::from_millis(10);
/// Largest value a plugin may store under one key.
const MAX_VALUE_BYTES: usize = 1 << 20;
/// Longest key.
const MAX_KEY_BYTES: usize = 1024;
/// Most entries one scan returns, and most bytes.
const MAX_SCAN_ENTRIES: u32 = 1000;
const MAX_SCAN_BYTES: usize = 8 << 20;
/// Most operations in one batch.
const MAX_BATCH_OPS: usize = 1000;
/// Largest HTML the sanitizer accepts from a plugin.
const MAX_HTML_BYTES: usize = 2 << 20;
/// Log lines per call, and their length.
const MAX_LOG_LINES: u32 = 100;
const MAX_LOG_CHARS: usize = 2000;
/// Largest page context, JSON or download a plugin may return.
pub const MAX_OUTPUT_BYTES: usize = 4 << 20;
/// Concurrent calls into one plugin; further calls wait.
const PER_PLUGIN_CONCURRENCY: usize = 16;
/// A plugin that ran out of time or memory runs on the penalty lane (shared by
/// every such plugin, half the cores) until this long after its last exhaustion:
/// a plugin that keeps burning its whole budget cannot take the whole machine
/// from the well-behaved ones.
const PENALTY_WINDOW: Duration = Duration::from_secs(10);
/// Bytes of a pooled memory (and table) kept resident between requests.
const KEEP_RESIDENT_BYTES: usize = 4 << 20;
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;
/// Pool slots (bounds concurrent instances of all plugins).
const POOL_SLOTS: u32 = 128;
/// Outbound requests one call may make.
const MAX_FETCHES_PER_CALL: u32 = 50;
/// Wall-clock bound of one call however long it waits on the network.
const MAX_CALL_WALL_TIME: Duration = Duration::from_secs(120);
/// Most news items one call may return.
const MAX_NEWS_ITEMS: usize = 100;
/// Notifications one call may send, recipients one notification may list, and
/// the longest subject and body (characters).
const MAX_NOTIFICATIONS_PER_CALL: u32 = 20;
const MAX_RECIPIENT_ENTRIES: usize = 200;
const MAX_SUBJECT_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 4000;
/// Longest scope chain a plugin may pass.
const MAX_SCOPES: usize = 8;

/// Why a call into a plugin failed. Each maps to an error page for that request only.
#[derive(Debug)]
pub enum CallError {
    /// Ran past its deadline (503).
    Timeout,
    /// Tried to grow memory past its cap (503).
    OutOfMemory,
    /// Trapped or panicked (500).
    Trap(String),
    /// Returned more than the host accepts (500).
    OutputTooLarge,
    /// No such plugin (404).
    Unknown,
    /// The host could not run it (500).
    Host(String),
    /// A write was refused for lack of space (507).
    StorageFull,
    /// The store failed under the call (503).
    StorageUnavailable,
    /// A write would have taken the plugin's namespace past its quota (507).
    OverQuota(QuotaExceeded),
}

impl CallError {
    /// How a call that returned `result` ended, for the metrics.
    pub fn outcome<T>(result: &Result<T, CallError>) -> crate::metrics::CallOutcome {
        use crate::metrics::CallOutcome;
        match result {
            Ok(_) => CallOutcome::Ok,
            Err(CallError::Trap(_)) => CallOutcome::Trap,
            Err(CallError::Timeout) => CallOutcome::Timeout,
            Err(CallError::OutOfMemory) => CallOutcome::OutOfMemory,
            Err(_) => CallOutcome::Error,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => f.write_str("délai dépassé"),
            CallError::OutOfMemory => f.write_str("mémoire épuisée"),
            CallError::Trap(m) => write!(f, "arrêt anormal : {m}"),
            CallError::OutputTooLarge => f.write_str("réponse trop volumineuse"),
            CallError::Unknown => f.write_str("plugin inconnu"),
            CallError::Host(m) => write!(f, "erreur de l'hôte : {m}"),
            CallError::StorageFull => f.write_str("espace de stockage plein"),
            CallError::StorageUnavailable => f.write_str("base de données indisponible"),
            CallError::OverQuota(over) => write!(f, "{over}"),
        }
    }
}

/// Everything one call into a plugin instance carries, from the route to the
/// store: the instance (establishment, rubrique, configuration, approved hosts)
/// and the invocation the plugin receives (caller, roles, mount). Built once, by
/// `instances::Granted::call` (or the scheduler), and never merged back.
#[derive(Clone)]
pub struct CallContext {
    /// Establishment UAI (namespace).
    pub uai: String,
    /// The rubrique the instance lives in (its own namespace), if any.
    pub rubrique: Option<String>,
    /// Validated configuration of the plugin here, as JSON.
    pub config: String,
    /// Hosts the administrators approved for outbound requests (region ∪ establishment).
    pub approved_hosts: Vec<String>,
    /// What the plugin is told of the call: caller, roles, establishment, mount.
    pub invocation: WitInvocation,
}

impl CallContext {
    /// The key prefix of this instance's data.
    pub fn namespace(&self, plugin: &str) -> String {
        match &self.rubrique {
            // `#` never appears in a UAI, so rubrique namespaces cannot overlap the
            // establishment's own.
            Some(rubrique) => format!("{}#{rubrique}/{plugin}/", self.uai),
            None => format!("{}/{plugin}/", self.uai),
        }
    }

    /// Whose data version this instance's writes bump: the establishment, or
    /// `<uai>#<rubrique>` for a rubrique's instance
    /// ([`crate::store::usage::version_key`]).
    pub fn version_owner(&self) -> String {
        match &self.rubrique {
            Some(rubrique) => format!("{}#{rubrique}", self.uai),
            None => self.uai.clone(),
        }
    }

    /// A call outside any establishment (`routes()`): no namespace, nobody.
    fn bare() -> CallContext {
        CallContext {
            uai: String::new(),
            rubrique: None,
            config: "{}".into(),
            approved_hosts: Vec::new(),
            invocation: WitInvocation {
                caller: None,
                roles: Vec::new(),
                establishment: WitEstablishment {
                    uai: String::new(),
                    name: String::new(),
                    time_zone: preau_text::zone::DEFAULT_TIME_ZONE.into(),
                },
                mount: String::new(),
                rubrique: None,
                locale: "fr".into(),
            },
        }
    }
}

/// An HTTP request for a plugin's `handle`, as the host decoded it (the CSRF
/// token already checked and removed).
#[derive(Clone, Debug)]
pub struct PluginRequest {
    pub method: WitMethod,
    /// Below the mount, starting with `/`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    /// Files of a multipart POST, stored pending by the host ([`crate::uploads`]).
    pub files: Vec<WitUploadedFile>,
}

/// The runtime: engine, linker, loaded plugins.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    plugins: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
    /// Moves each time a plugin is (re)loaded.
    plugins_generation: std::sync::atomic::AtomicU64,
    store: Arc<dyn Store>,
    sanitizer: SharedSanitizer,
    outbound: SharedOutbound,
    plugin_dirs: Vec<PathBuf>,
    wasm_dir: PathBuf,
    cache_dir: PathBuf,
    /// Calls of plugins on probation (see [`PENALTY_WINDOW`]).
    penalty_lane: Arc<tokio::sync::Semaphore>,
    /// Its threads, at the lowest scheduling priority: a looping plugin on probation
    /// takes CPU only when page rendering leaves some.
    penalty_threads: crate::background::LowPriorityPool,
    /// Whether the pooling allocator could be reserved.
    pub pooled: bool,
    /// Calls per plugin and outcome, for `/metrics`.
    pub call_metrics: crate::metrics::PluginCalls,
    /// Blocking tasks started for plugin calls ([`batch`]).
    pub blocking_tasks: std::sync::atomic::AtomicU64,
    /// Bytes each plugin namespace may use (the region's setting; a manifest may lower it).
    plugin_quota: std::sync::atomic::AtomicU64,
}

/// Bytes a plugin namespace may use when the region set nothing.
pub const DEFAULT_PLUGIN_QUOTA: u64 = 100 << 20;

impl Runtime {
    /// Creates the engine and loads every plugin found in `plugin_dirs`
    /// (each a folder of `<id>/plugin.toml` folders) whose component exists in `wasm_dir`.
    pub fn new(
        store: Arc<dyn Store>,
        sanitizer: SharedSanitizer,
        outbound: SharedOutbound,
        plugin_dirs: Vec<PathBuf>,
        wasm_dir: PathBuf,
        cache_dir: PathBuf,
    ) -> Result<Arc<Runtime>> {
        let penalty_width =
            std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1));
        let (engine, pooled) = build_engine()?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| anyhow!("liaison WASI : {e}"))?;
        bindings::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| anyhow!("liaison du contrat : {e}"))?;
        std::fs::create_dir_all(&cache_dir)
            .with_context(|| format!("création de {}", cache_dir.display()))?;
        let runtime = Arc::new(Runtime {
            engine,
            linker,
            plugins: RwLock::new(BTreeMap::new()),
            plugins_generation: Default::default(),
            store,
            sanitizer,
            outbound,
            plugin_dirs,
            wasm_dir,
            cache_dir,
            penalty_lane: Arc::new(tokio::sync::Semaphore::new(penalty_width)),
            penalty_threads: crate::background::LowPriorityPool::new(
                "preau-penalite",
                penalty_width,
            )
            .context("fils de la voie de pénalité")?,
            pooled,
            call_metrics: Default::default(),
            blocking_tasks: Default::default(),
            plugin_quota: std::sync::atomic::AtomicU64::new(DEFAULT_PLUGIN_QUOTA),
        });
        runtime.rescan();
        start_epoch_ticker(&runtime.engine);
        Ok(runtime)
    }

    /// Sets the bytes each plugin namespace may use (the region's setting).
    pub fn set_plugin_quota(&self, bytes: u64) {
        self.plugin_quota
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The bytes plugin `plugin` may use in one namespace: the region's
    /// quota, or its manifest's if lower.
    pub fn quota_of(&self, plugin: &LoadedPlugin) -> u64 {
        let region = self.plugin_quota.load(std::sync::atomic::Ordering::Relaxed);
        plugin
            .manifest
            .limits
            .storage_mib
            .map_or(region, |mib| region.min(mib << 20))
    }

    /// The current sanitizer.
    pub fn sanitizer(&self) -> Arc<Sanitizer> {
        self.sanitizer.read().expect("verrou").clone()
    }

    /// A number that moves each time a plugin is loaded or reloaded: what
    /// is computed from the set of plugins is kept while it stays the same.
    pub fn plugins_generation(&self) -> u64 {
        self.plugins_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Every loaded plugin, by id.
    pub fn plugins(&self) -> Vec<Arc<LoadedPlugin>> {
        self.plugins
            .read()
            .expect("verrou")
            .values()
            .cloned()
            .collect()
    }

    /// Whether plugin `id` runs on the penalty lane (it ran out of time or
    /// memory within the last [`PENALTY_WINDOW`]).
    pub fn on_probation(&self, id: &str) -> bool {
        self.plugin(id).is_some_and(|p| p.on_probation())
    }

    /// A loaded plugin.
    pub fn plugin(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins.read().expect("verrou").get(id).cloned()
    }
}
