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
use crate::store::{Op, Space, Store};

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
    Rubrique as WitRubrique,
};
use bindings::preau::plugin::{
    config, directory as wit_directory, html, log, notify as wit_notify, outbound as wit_outbound,
    region_store, rights as wit_rights, store as wit_store, types,
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
        }
    }
}

/// What the host functions of one call can reach: nothing but this namespace.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    store: Arc<dyn Store>,
    /// `<uai>/<plugin>/` (or `<uai>#<rubrique>/<plugin>/`): prepended to every key the plugin uses.
    namespace: Vec<u8>,
    /// `@region/<plugin>/`: the plugin's region-wide data.
    region_namespace: Vec<u8>,
    config: String,
    outbound: SharedOutbound,
    host_policy: HostPolicy,
    /// When the call started, and how long it has waited on outbound requests:
    /// the deadline counts the difference.
    started: Instant,
    network_wait: Duration,
    fetches: u32,
    budget: Duration,
    sanitizer: Arc<Sanitizer>,
    plugin: String,
    uai: String,
    /// The instance's rubrique, if any.
    rubrique: Option<String>,
    /// The plugin being called (its manifest: roles, notify flag, name).
    loaded: Arc<LoadedPlugin>,
    /// The caller (user id) and their roles in the instance, from the invocation.
    caller_id: Option<String>,
    roles: Vec<String>,
    /// Absolute mount path, for notification links.
    mount: String,
    notifications_sent: u32,
    log_lines: u32,
    stderr: MemoryOutputPipe,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Which of a call's two namespaces an import addresses.
#[derive(Clone, Copy)]
enum Namespace {
    Here,
    Region,
}

impl CallState {
    fn scoped(&self, namespace: Namespace, key: &str) -> Result<Vec<u8>, String> {
        if key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "clé trop longue ({} octets, {MAX_KEY_BYTES} au plus)",
                key.len()
            ));
        }
        let mut scoped = self.prefix(namespace).to_vec();
        scoped.extend_from_slice(key.as_bytes());
        Ok(scoped)
    }

    fn prefix(&self, namespace: Namespace) -> &[u8] {
        match namespace {
            Namespace::Here => &self.namespace,
            Namespace::Region => &self.region_namespace,
        }
    }

    fn unscoped(&self, namespace: Namespace, key: &[u8]) -> String {
        String::from_utf8_lossy(&key[self.prefix(namespace).len()..]).into_owned()
    }

    fn get_in(&self, namespace: Namespace, key: &str) -> Option<Vec<u8>> {
        let key = self.scoped(namespace, key).ok()?;
        self.store.get(Space::PluginData, &key).unwrap_or_else(|e| {
            tracing::error!(plugin = %self.plugin, uai = %self.uai, "lecture : {e:#}");
            None
        })
    }

    fn put_in(&self, namespace: Namespace, key: &str, value: &[u8]) -> Result<(), String> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!("valeur trop volumineuse ({} octets)", value.len()));
        }
        let key = self.scoped(namespace, key)?;
        self.store
            .put(Space::PluginData, &key, value)
            .map_err(|e| e.to_string())
    }

    fn delete_in(&self, namespace: Namespace, key: &str) -> Result<(), String> {
        let key = self.scoped(namespace, key)?;
        self.store
            .delete(Space::PluginData, &key)
            .map_err(|e| e.to_string())
    }

    fn scan_in(
        &self,
        namespace: Namespace,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
        reverse: bool,
    ) -> Vec<wit_store::Entry> {
        let (Ok(prefix), Ok(after)) = (
            self.scoped(namespace, prefix),
            after.map(|a| self.scoped(namespace, a)).transpose(),
        ) else {
            return Vec::new();
        };
        let limit = limit.min(MAX_SCAN_ENTRIES) as usize;
        let entries =
            match self
                .store
                .scan(Space::PluginData, &prefix, after.as_deref(), limit, reverse)
            {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::error!(plugin = %self.plugin, uai = %self.uai, "parcours : {e:#}");
                    return Vec::new();
                }
            };
        let mut total = 0;
        entries
            .into_iter()
            .take_while(|(k, v)| {
                total += k.len() + v.len();
                total <= MAX_SCAN_BYTES
            })
            .map(|(k, value)| wit_store::Entry {
                key: self.unscoped(namespace, &k),
                value,
            })
            .collect()
    }
}

impl CallState {
    /// A batch's writes, checked and moved into the call's namespace.
    fn scoped_ops(&self, ops: Vec<wit_store::Op>) -> Result<Vec<Op>, String> {
        if ops.len() > MAX_BATCH_OPS {
            return Err(format!(
                "lot trop grand ({} opérations, {MAX_BATCH_OPS} au plus)",
                ops.len()
            ));
        }
        let mut scoped = Vec::with_capacity(ops.len());
        for op in ops {
            scoped.push(match op {
                wit_store::Op::Put(entry) => {
                    if entry.value.len() > MAX_VALUE_BYTES {
                        return Err(format!(
                            "valeur trop volumineuse ({} octets)",
                            entry.value.len()
                        ));
                    }
                    Op::Put(self.scoped(Namespace::Here, &entry.key)?, entry.value)
                }
                wit_store::Op::Delete(key) => Op::Delete(self.scoped(Namespace::Here, &key)?),
            });
        }
        Ok(scoped)
    }

    fn instance(&self) -> crate::rights::Instance<'_> {
        crate::rights::Instance {
            uai: &self.uai,
            rubrique: self.rubrique.as_deref(),
            manifest: &self.loaded.manifest,
        }
    }

    fn directory(&self) -> crate::directory::Directory {
        crate::directory::Directory::new(self.store.clone())
    }

    /// Delivers a notification: recipients resolved in this establishment only.
    fn send_notification(&mut self, n: wit_notify::Notification) -> Result<u32, String> {
        if !self.loaded.manifest.notify {
            return Err("notifications non déclarées dans le manifeste (notify = true)".into());
        }
        self.notifications_sent += 1;
        if self.notifications_sent > MAX_NOTIFICATIONS_PER_CALL {
            return Err(format!(
                "plus de {MAX_NOTIFICATIONS_PER_CALL} notifications dans un même appel"
            ));
        }
        if n.recipients.len() > MAX_RECIPIENT_ENTRIES {
            return Err(format!(
                "trop de destinataires ({} ; {MAX_RECIPIENT_ENTRIES} au plus)",
                n.recipients.len()
            ));
        }
        let subject: String = n.subject.trim().chars().take(MAX_SUBJECT_CHARS).collect();
        if subject.is_empty() {
            return Err("notification sans objet".into());
        }
        let body: String = n.body.chars().take(MAX_BODY_CHARS).collect();
        let link = match n.link.as_str() {
            "" => String::new(),
            l if l.starts_with('/') && !l.starts_with("//") && !l.contains(['\r', '\n', '\\']) => {
                format!("{}{l}", self.mount)
            }
            l => {
                return Err(format!(
                    "lien invalide « {l} » (chemin sous le service attendu)"
                ));
            }
        };
        let directory = self.directory();
        let mut users: Vec<String> = Vec::new();
        for recipient in n.recipients {
            match recipient {
                wit_notify::Recipient::User(id) => {
                    // Only people of this establishment: a plugin cannot reach others.
                    let member = directory
                        .user(&id)
                        .map_err(|e| e.to_string())?
                        .is_some_and(|u| u.membership(&self.uai).is_some());
                    if member {
                        users.push(id);
                    }
                }
                wit_notify::Recipient::Role(holders) => {
                    if holders.scopes.len() > MAX_SCOPES {
                        return Err(format!("plus de {MAX_SCOPES} portées"));
                    }
                    users.extend(
                        self.instance()
                            .holders(&directory, &holders.role, &holders.scopes)
                            .map_err(|e| e.to_string())?,
                    );
                }
            }
        }
        users.sort();
        users.dedup();
        users.retain(|u| Some(u) != self.caller_id.as_ref());
        users.truncate(crate::rights::MAX_HOLDERS);
        let notification = crate::notifications::new_notification(
            &self.uai,
            &self.loaded.manifest.name,
            &subject,
            &body,
            &link,
        );
        crate::notifications::deliver(&directory, &users, &notification)
            .map_err(|e| e.to_string())?;
        Ok(users.len() as u32)
    }
}

impl types::Host for CallState {}

impl wit_rights::Host for CallState {
    fn roles_in(&mut self, scopes: Vec<String>) -> Vec<String> {
        if scopes.len() > MAX_SCOPES {
            return Vec::new();
        }
        let directory = self.directory();
        let user = self
            .caller_id
            .as_ref()
            .and_then(|id| directory.user(id).ok().flatten());
        self.instance()
            .roles_in(&directory, user.as_ref(), &scopes, &self.roles)
            .unwrap_or_else(|e| {
                // Fail closed: no role rather than the instance's.
                tracing::error!(plugin = %self.plugin, uai = %self.uai, "droits par objet : {e:#}");
                Vec::new()
            })
    }
}

impl wit_notify::Host for CallState {
    fn send(&mut self, notification: wit_notify::Notification) -> Result<u32, String> {
        let result = self.send_notification(notification);
        if let Err(e) = &result {
            tracing::warn!(plugin = %self.plugin, uai = %self.uai, "notification refusée : {e}");
        }
        result
    }
}

impl wit_directory::Host for CallState {
    fn groups(&mut self) -> Vec<wit_directory::Group> {
        let mut groups = self.directory().groups(&self.uai).unwrap_or_default();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        groups
            .into_iter()
            .map(|g| wit_directory::Group {
                id: g.id,
                name: g.name,
                kind: g.kind,
            })
            .collect()
    }
}

impl wit_store::Host for CallState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        self.get_in(Namespace::Here, &key)
    }

    fn put(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        self.put_in(Namespace::Here, &key, &value)
    }

    fn delete(&mut self, key: String) -> Result<(), String> {
        self.delete_in(Namespace::Here, &key)
    }

    fn scan(
        &mut self,
        prefix: String,
        after: Option<String>,
        limit: u32,
        reverse: bool,
    ) -> Vec<wit_store::Entry> {
        self.scan_in(Namespace::Here, &prefix, after.as_deref(), limit, reverse)
    }

    fn batch(&mut self, ops: Vec<wit_store::Op>) -> Result<(), String> {
        let ops = self.scoped_ops(ops)?;
        self.store
            .batch(Space::PluginData, ops)
            .map_err(|e| e.to_string())
    }

    fn batch_if(
        &mut self,
        expected: Vec<(String, Option<Vec<u8>>)>,
        ops: Vec<wit_store::Op>,
    ) -> Result<bool, String> {
        if expected.len() > MAX_BATCH_OPS {
            return Err(format!(
                "trop de conditions ({} ; {MAX_BATCH_OPS} au plus)",
                expected.len()
            ));
        }
        let mut checks = Vec::with_capacity(expected.len());
        for (key, value) in expected {
            checks.push((self.scoped(Namespace::Here, &key)?, value));
        }
        let ops = self.scoped_ops(ops)?;
        self.store
            .batch_if(Space::PluginData, &checks, ops)
            .map_err(|e| e.to_string())
    }

    fn next_id(&mut self) -> u64 {
        self.store.next_id().unwrap_or_else(|e| {
            tracing::error!(plugin = %self.plugin, "identifiant : {e:#}");
            // Time-based fallback keeps ids increasing if sled cannot reserve.
            (SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_micros() as u64)
                | (1 << 62)
        })
    }
}

impl region_store::Host for CallState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        self.get_in(Namespace::Region, &key)
    }

    fn put(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        self.put_in(Namespace::Region, &key, &value)
    }

    fn delete(&mut self, key: String) -> Result<(), String> {
        self.delete_in(Namespace::Region, &key)
    }

    fn scan(
        &mut self,
        prefix: String,
        after: Option<String>,
        limit: u32,
        reverse: bool,
    ) -> Vec<wit_store::Entry> {
        self.scan_in(Namespace::Region, &prefix, after.as_deref(), limit, reverse)
    }
}

impl wit_outbound::Host for CallState {
    fn get(
        &mut self,
        url: String,
        headers: Vec<(String, String)>,
    ) -> Result<wit_outbound::HttpResponse, wit_outbound::FetchError> {
        self.fetches += 1;
        if self.fetches > MAX_FETCHES_PER_CALL {
            return Err(wit_outbound::FetchError::NotAllowed(format!(
                "plus de {MAX_FETCHES_PER_CALL} requêtes sortantes dans un même appel"
            )));
        }
        let began = Instant::now();
        let result = self.outbound.get(&self.host_policy, &url, &headers);
        // Waiting on the network is not the plugin's CPU time: the epoch callback
        // subtracts it from the elapsed time.
        self.network_wait += began.elapsed();
        match &result {
            Ok(r) => {
                tracing::info!(plugin = %self.plugin, uai = %self.uai, status = r.status, bytes = r.body.len(), "GET {url}")
            }
            Err(e) => tracing::warn!(plugin = %self.plugin, uai = %self.uai, "GET {url} : {e:?}"),
        }
        result
            .map(|r| wit_outbound::HttpResponse {
                status: r.status,
                headers: r.headers,
                body: r.body,
            })
            .map_err(|e| match e {
                FetchError::NotAllowed(m) => wit_outbound::FetchError::NotAllowed(m),
                FetchError::InvalidUrl(m) => wit_outbound::FetchError::InvalidUrl(m),
                FetchError::Timeout => wit_outbound::FetchError::Timeout,
                FetchError::TooLarge(n) => wit_outbound::FetchError::TooLarge(n),
                FetchError::Failed(m) => wit_outbound::FetchError::Failed(m),
            })
    }
}

impl config::Host for CallState {
    fn get(&mut self) -> String {
        self.config.clone()
    }
}

impl html::Host for CallState {
    fn sanitize(&mut self, html: String) -> String {
        if html.len() > MAX_HTML_BYTES {
            return String::new();
        }
        self.sanitizer.clean(&html)
    }

    fn plain_text(&mut self, html: String) -> String {
        if html.len() > MAX_HTML_BYTES {
            return String::new();
        }
        self.sanitizer.plain_text(&html)
    }

    fn embed(&mut self, url: String) -> Option<String> {
        self.sanitizer.embed_html(&url)
    }
}

impl log::Host for CallState {
    fn write(&mut self, level: log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let message: String = message.chars().take(MAX_LOG_CHARS).collect();
        let (plugin, uai) = (&self.plugin, &self.uai);
        match level {
            log::Level::Debug => tracing::debug!(plugin = %plugin, uai = %uai, "{message}"),
            log::Level::Info => tracing::info!(plugin = %plugin, uai = %uai, "{message}"),
            log::Level::Warn => tracing::warn!(plugin = %plugin, uai = %uai, "{message}"),
            log::Level::Error => tracing::error!(plugin = %plugin, uai = %uai, "{message}"),
        }
    }
}

/// A plugin ready to instantiate.
pub struct LoadedPlugin {
    /// Its manifest.
    pub manifest: Manifest,
    /// Folder holding `plugin.toml` and `templates/`.
    pub dir: PathBuf,
    pre: bindings::PluginPre<CallState>,
    permits: Arc<tokio::sync::Semaphore>,
    /// When a call last ran out of time or memory (see [`PENALTY_WINDOW`]).
    exhausted_at: Mutex<Option<Instant>>,
    /// Modification times of (manifest, wasm) when loaded, for hot reload.
    stamp: (Option<SystemTime>, Option<SystemTime>),
}

impl LoadedPlugin {
    /// Whether a call ran out of time or memory within [`PENALTY_WINDOW`].
    fn on_probation(&self) -> bool {
        self.exhausted_at
            .lock()
            .expect("verrou")
            .is_some_and(|at| at.elapsed() < PENALTY_WINDOW)
    }

    /// Records that a call ran out of time or memory.
    fn exhausted(&self) {
        let mut at = self.exhausted_at.lock().expect("verrou");
        if !at.is_some_and(|at| at.elapsed() < PENALTY_WINDOW) {
            tracing::warn!(plugin = %self.manifest.id, "délai ou mémoire épuisés : appels limités à la voie de pénalité pendant {} s", PENALTY_WINDOW.as_secs());
        }
        *at = Some(Instant::now());
    }
}

/// What one call needs besides its arguments.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    /// Establishment UAI (namespace).
    pub uai: String,
    /// The rubrique the instance lives in (its own namespace), if any.
    pub rubrique: Option<String>,
    /// Validated configuration of the plugin here, as JSON.
    pub config: String,
    /// Hosts the administrators approved for outbound requests (region ∪ establishment).
    pub approved_hosts: Vec<String>,
    /// The caller and their roles in the instance, and its mount: taken from the
    /// invocation by each entry point.
    pub caller_id: Option<String>,
    pub roles: Vec<String>,
    pub mount: String,
}

impl CallContext {
    /// Takes the caller, roles and mount of `invocation`.
    fn with(mut self, invocation: &WitInvocation) -> CallContext {
        self.caller_id = invocation.caller.as_ref().map(|c| c.id.clone());
        self.roles = invocation.roles.clone();
        self.mount = invocation.mount.clone();
        self
    }
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
}

/// The runtime: engine, linker, loaded plugins.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    plugins: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
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
}

fn engine_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

fn build_engine() -> Result<(Engine, bool)> {
    let mut pooled = engine_config();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(POOL_SLOTS)
        .total_core_instances(POOL_SLOTS * 4)
        .total_memories(POOL_SLOTS * 2)
        .total_tables(POOL_SLOTS * 4)
        .total_stacks(POOL_SLOTS)
        .max_memory_size((crate::manifest::DEFAULT_MEMORY_MIB as usize) << 20)
        // Resetting a slot with madvise and faulting its pages back in on the
        // next request cost about half of a dispatch (perf: 36 µs → 20 µs
        // without it). Keep the pages a request dirties resident and reset only
        // those (PAGEMAP_SCAN, Linux ≥ 6.7; memset of the low addresses elsewhere).
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES)
        .pagemap_scan(wasmtime::Enabled::Auto);
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    pooled.memory_init_cow(true);
    match Engine::new(&pooled) {
        Ok(engine) => Ok((engine, true)),
        Err(e) => {
            tracing::warn!("allocateur mutualisé indisponible ({e}), allocation à la demande");
            let engine = Engine::new(&engine_config()).map_err(|e| anyhow!("moteur wasm : {e}"))?;
            Ok((engine, false))
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

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
        });
        runtime.rescan();
        start_epoch_ticker(&runtime.engine);
        Ok(runtime)
    }

    /// The current sanitizer.
    pub fn sanitizer(&self) -> Arc<Sanitizer> {
        self.sanitizer.read().expect("verrou").clone()
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

    fn plugin_folders(&self) -> Vec<PathBuf> {
        let mut folders = Vec::new();
        for dir in &self.plugin_dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.path().join("plugin.toml").is_file() {
                    folders.push(entry.path());
                }
            }
        }
        folders.sort();
        folders
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
            let wasm = self.wasm_dir.join(manifest.wasm_file_name());
            let stamp = (modified(&manifest_path), modified(&wasm));
            if stamp.1.is_none() {
                tracing::warn!(plugin = %manifest.id, "composant introuvable : {} (lancez cargo xtask build-plugins)", wasm.display());
                continue;
            }
            if let Some(current) = self.plugin(&manifest.id)
                && current.stamp == stamp
            {
                continue;
            }
            let id = manifest.id.clone();
            match self.load(manifest, &folder, &wasm, stamp) {
                Ok(plugin) => {
                    tracing::info!(plugin = %id, "plugin chargé");
                    self.plugins
                        .write()
                        .expect("verrou")
                        .insert(id.clone(), Arc::new(plugin));
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
        Ok(LoadedPlugin {
            manifest,
            dir: dir.to_path_buf(),
            pre,
            permits: Arc::new(tokio::sync::Semaphore::new(PER_PLUGIN_CONCURRENCY)),
            exhausted_at: Mutex::new(None),
            stamp,
        })
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

    fn new_store(&self, plugin: &Arc<LoadedPlugin>, ctx: &CallContext) -> WasmStore<CallState> {
        let stderr = MemoryOutputPipe::new(4096);
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        let memory = (plugin.manifest.limits.memory_mib as usize) << 20;
        let state = CallState {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory)
                .table_elements(100_000)
                .instances(16)
                .trap_on_grow_failure(true)
                .build(),
            store: self.store.clone(),
            namespace: ctx.namespace(&plugin.manifest.id).into_bytes(),
            region_namespace: format!("@region/{}/", plugin.manifest.id).into_bytes(),
            config: ctx.config.clone(),
            outbound: self.outbound.clone(),
            host_policy: HostPolicy {
                manifest: plugin.manifest.outbound.hosts.clone(),
                approved: ctx.approved_hosts.clone(),
                max_bytes: plugin
                    .manifest
                    .outbound
                    .max_kib
                    .map_or(DEFAULT_BODY_BYTES, |kib| kib << 10),
            },
            started: Instant::now(),
            network_wait: Duration::ZERO,
            fetches: 0,
            budget: Duration::from_millis(plugin.manifest.limits.timeout_ms),
            sanitizer: self.sanitizer(),
            plugin: plugin.manifest.id.clone(),
            uai: ctx.uai.clone(),
            rubrique: ctx.rubrique.clone(),
            loaded: plugin.clone(),
            caller_id: ctx.caller_id.clone(),
            roles: ctx.roles.clone(),
            mount: ctx.mount.clone(),
            notifications_sent: 0,
            log_lines: 0,
            stderr,
        };
        let mut store = WasmStore::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let ticks = plugin
            .manifest
            .limits
            .timeout_ms
            .div_ceil(TICK.as_millis() as u64)
            .max(1);
        store.set_epoch_deadline(ticks);
        // At the deadline, time spent waiting on outbound requests is given back;
        // pure computation past the budget traps.
        store.epoch_deadline_callback(|context| {
            let state = context.data();
            let elapsed = state.started.elapsed();
            let computing = elapsed.saturating_sub(state.network_wait);
            if computing >= state.budget || elapsed >= MAX_CALL_WALL_TIME {
                return Err(Trap::Interrupt.into());
            }
            let left = (state.budget - computing).as_millis() as u64;
            Ok(wasmtime::UpdateDeadline::Continue(
                left.div_ceil(TICK.as_millis() as u64).max(1),
            ))
        });
        store
    }

    /// Runs `f` against a fresh instance of plugin `id`, on a blocking thread,
    /// within the plugin's concurrency bound (and on the penalty lane if it
    /// recently ran out of time or memory). Traps, timeouts and memory
    /// exhaustion become [`CallError`]s; the instance is discarded either way.
    pub async fn call<T, F>(&self, id: &str, ctx: CallContext, f: F) -> Result<T, CallError>
    where
        T: Send + 'static,
        F: FnOnce(&bindings::Plugin, &mut WasmStore<CallState>) -> wasmtime::Result<T>
            + Send
            + 'static,
    {
        let plugin = self.plugin(id).ok_or(CallError::Unknown)?;
        let _permit = plugin
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| CallError::Host(e.to_string()))?;
        let _lane = match plugin.on_probation() {
            true => Some(
                self.penalty_lane
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| CallError::Host(e.to_string()))?,
            ),
            false => None,
        };
        let store = self.new_store(&plugin, &ctx);
        let running = plugin.clone();
        let result = if _lane.is_some() {
            self.penalty_threads
                .run(move || run_in_store(&running, store, f))
                .await
                .map_err(|e| CallError::Host(e.to_string()))?
        } else {
            tokio::task::spawn_blocking(move || run_in_store(&running, store, f))
                .await
                .map_err(|e| CallError::Host(e.to_string()))?
        };
        let result = report(&plugin.manifest.id, &ctx.uai, result);
        if let Err(CallError::Timeout | CallError::OutOfMemory) = &result {
            plugin.exhausted();
        }
        result
    }

    /// `handle(request)` on the calling thread, without the concurrency bound:
    /// for benchmarks of the bare dispatch (instantiate + call).
    pub fn handle_on_this_thread(
        &self,
        id: &str,
        ctx: &CallContext,
        request: &WitRequest,
    ) -> Result<WitResponse, CallError> {
        let plugin = self.plugin(id).ok_or(CallError::Unknown)?;
        let ctx = ctx.clone().with(&request.invocation);
        let store = self.new_store(&plugin, &ctx);
        let result = run_in_store(&plugin, store, |instance, store| {
            instance.call_handle(store, request)
        });
        report(id, &ctx.uai, result)
    }

    /// `handle(request)`.
    pub async fn handle(
        &self,
        id: &str,
        ctx: CallContext,
        request: WitRequest,
    ) -> Result<WitResponse, CallError> {
        let ctx = ctx.with(&request.invocation);
        let response = self
            .call(id, ctx, move |plugin, store| {
                plugin.call_handle(store, &request)
            })
            .await?;
        let size = match &response {
            WitResponse::Page(page) => page.context.len() + page.template.len() + page.title.len(),
            WitResponse::Json(body) | WitResponse::Redirect(body) | WitResponse::Internal(body) => {
                body.len()
            }
            WitResponse::Download(download) => download.body.len(),
            WitResponse::Invalid(errors) => {
                errors.iter().map(|e| e.field.len() + e.message.len()).sum()
            }
            WitResponse::NotFound | WitResponse::Forbidden => 0,
        };
        if size > MAX_OUTPUT_BYTES {
            tracing::error!(plugin = %id, "réponse de {size} octets refusée");
            return Err(CallError::OutputTooLarge);
        }
        Ok(response)
    }

    /// `render-block(name, params, invocation)`.
    pub async fn render_block(
        &self,
        id: &str,
        ctx: CallContext,
        name: String,
        params: Vec<(String, String)>,
        invocation: WitInvocation,
    ) -> Result<Option<WitFragment>, CallError> {
        let ctx = ctx.with(&invocation);
        let result = self
            .call(id, ctx, move |plugin, store| {
                plugin.call_render_block(store, &name, &params, &invocation)
            })
            .await?;
        match result {
            Ok(Some(fragment)) if fragment.context.len() > MAX_OUTPUT_BYTES => {
                Err(CallError::OutputTooLarge)
            }
            Ok(fragment) => Ok(fragment),
            Err(message) => Err(CallError::Trap(message)),
        }
    }

    /// `routes()`: every (method, pattern) the plugin's `handle` answers.
    pub async fn routes(&self, id: &str) -> Result<Vec<(WitMethod, String)>, CallError> {
        let routes = self
            .call(id, CallContext::default(), |plugin, store| {
                plugin.call_routes(store)
            })
            .await?;
        Ok(routes.into_iter().map(|r| (r.method, r.pattern)).collect())
    }

    /// `news(limit, before, invocation)`.
    pub async fn news(
        &self,
        id: &str,
        ctx: CallContext,
        limit: u32,
        before: Option<i64>,
        invocation: WitInvocation,
    ) -> Result<Vec<WitNewsItem>, CallError> {
        let ctx = ctx.with(&invocation);
        let result = self
            .call(id, ctx, move |plugin, store| {
                plugin.call_news(store, limit, before, &invocation)
            })
            .await?;
        match result {
            Ok(items) => {
                let size: usize = items
                    .iter()
                    .map(|i| i.title.len() + i.summary.len() + i.url.len() + i.author.len())
                    .sum();
                if items.len() > MAX_NEWS_ITEMS || size > MAX_OUTPUT_BYTES {
                    return Err(CallError::OutputTooLarge);
                }
                Ok(items)
            }
            Err(message) => Err(CallError::Trap(message)),
        }
    }

    /// `on-event(event)`.
    pub async fn on_event(
        &self,
        id: &str,
        ctx: CallContext,
        event: WitEvent,
    ) -> Result<(), CallError> {
        let ctx = ctx.with(&event.invocation);
        let result = self
            .call(id, ctx, move |plugin, store| {
                plugin.call_on_event(store, &event)
            })
            .await?;
        result.map_err(CallError::Trap)
    }

    /// `describe-scope(scope, invocation)`: the label of one of the plugin's objects
    /// and the scopes it inherits from.
    pub async fn describe_scope(
        &self,
        id: &str,
        ctx: CallContext,
        scope: String,
        invocation: WitInvocation,
    ) -> Result<Option<(String, Vec<String>)>, CallError> {
        let ctx = ctx.with(&invocation);
        let description = self
            .call(id, ctx, move |plugin, store| {
                plugin.call_describe_scope(store, &scope, &invocation)
            })
            .await?;
        Ok(description.map(|d| {
            (
                d.label.chars().take(200).collect(),
                d.parents.into_iter().take(MAX_SCOPES - 1).collect(),
            )
        }))
    }

    /// Polls plugin folders every `interval` and reloads what changed, until the runtime is dropped.
    pub fn watch(
        self: &Arc<Self>,
        interval: Duration,
        on_reload: impl Fn(&[String]) + Send + 'static,
    ) {
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("preau-reload".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
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

impl Runtime {
    /// Median time of each phase of a dispatch over `rounds` calls: store
    /// creation, instantiation, the call, and dropping the store (benchmarks).
    #[doc(hidden)]
    pub fn dispatch_phases(
        &self,
        id: &str,
        ctx: &CallContext,
        request: &WitRequest,
        rounds: usize,
    ) -> [Duration; 4] {
        let plugin = self.plugin(id).expect("plugin chargé");
        let mut phases: [Vec<Duration>; 4] = Default::default();
        for _ in 0..rounds {
            let t0 = std::time::Instant::now();
            let mut store = self.new_store(&plugin, ctx);
            let t1 = std::time::Instant::now();
            let instance = plugin.pre.instantiate(&mut store).expect("instanciation");
            let t2 = std::time::Instant::now();
            instance.call_handle(&mut store, request).expect("appel");
            let t3 = std::time::Instant::now();
            drop(store);
            let t4 = std::time::Instant::now();
            for (i, d) in [t1 - t0, t2 - t1, t3 - t2, t4 - t3].into_iter().enumerate() {
                phases[i].push(d);
            }
        }
        phases.map(|mut v| {
            v.sort();
            v[v.len() / 2]
        })
    }
}

/// Instantiates the plugin in `store` and runs `f`; returns the outcome and what the plugin wrote to stderr.
fn run_in_store<T>(
    plugin: &LoadedPlugin,
    mut store: WasmStore<CallState>,
    f: impl FnOnce(&bindings::Plugin, &mut WasmStore<CallState>) -> wasmtime::Result<T>,
) -> (wasmtime::Result<T>, String) {
    let outcome = plugin
        .pre
        .instantiate(&mut store)
        .and_then(|instance| f(&instance, &mut store));
    let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
    (outcome, stderr)
}

/// Logs a failed call with the plugin's id and turns it into a [`CallError`].
fn report<T>(
    plugin: &str,
    uai: &str,
    result: (wasmtime::Result<T>, String),
) -> Result<T, CallError> {
    match result {
        (Ok(value), _) => Ok(value),
        (Err(error), stderr) => {
            let call_error = classify(&error);
            tracing::error!(plugin = %plugin, uai = %uai, stderr = %stderr.trim(), "appel échoué : {call_error} ({error:?})");
            Err(call_error)
        }
    }
}

fn classify(error: &wasmtime::Error) -> CallError {
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => CallError::Timeout,
            _ => CallError::Trap(trap.to_string()),
        };
    }
    let text = format!("{error:?}");
    if text.contains("forcing trap when growing memory")
        || text.contains("memory") && text.contains("limit")
    {
        CallError::OutOfMemory
    } else {
        CallError::Trap(error.to_string())
    }
}

/// Advances the engine's epoch every tick, until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("preau-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        })
        .expect("fil d'époques");
}

/// Builds a WIT invocation in `establishment` (its UAI, name and time zone).
pub fn invocation(
    caller: Option<WitCaller>,
    roles: Vec<String>,
    establishment: &crate::directory::Establishment,
    mount: String,
    rubrique: Option<WitRubrique>,
) -> WitInvocation {
    WitInvocation {
        caller,
        roles,
        establishment: WitEstablishment {
            uai: establishment.uai.clone(),
            name: establishment.name.clone(),
            time_zone: establishment.time_zone.clone(),
        },
        mount,
        rubrique,
        locale: "fr".into(),
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
