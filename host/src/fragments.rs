//! The fragment cache: a home-page block rendered once is shown again without
//! running its plugin, for as long as nothing it was rendered from changed.
//!
//! An entry is keyed by the block (plugin and its loaded component, block,
//! establishment, parameters, configuration) and by its audience as the
//! manifest declares it (`public`: the instance; `roles`: the viewer's roles
//! there; `personal`: the viewer, with their profiles, groups and functions).
//! It holds the versions read *before* it was rendered of the instance's
//! namespace (the establishment's, or the rubrique's own), of the rights the
//! host keeps on the plugin's objects there, and of the plugin's region
//! namespace; a lookup reads them again (three hot keys, in memory) and an
//! entry whose versions differ is not used. Every plugin write bumps its
//! namespace's version in the same transaction
//! ([`crate::store::Quota::version`]), so an acknowledged write is never
//! followed by the fragment from before it, and a write in one rubrique leaves
//! the others' fragments cached. Blocks whose content also depends
//! on time declare `max_age_seconds`.
//!
//! Fragments are rendered with a placeholder for the visitor's CSRF token,
//! put in when the entry is used: a cached form never carries someone else's
//! token. Memory is bounded by a byte budget (least recently used entries go
//! first); hits and misses are counted.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::manifest::{Audience, Block};
use crate::runtime::{CallContext, LoadedPlugin};
use crate::store::{Store, usage};

/// Bytes of rendered fragments kept when the operator sets nothing.
pub const DEFAULT_BUDGET_BYTES: usize = 64 << 20;

/// What a fragment is rendered with in place of the visitor's CSRF token.
pub const CSRF_PLACEHOLDER: &str = "preau0csrf0placeholder0a7c3e91";

/// A cached block: its title, HTML (with [`CSRF_PLACEHOLDER`]) and link.
#[derive(Clone, Debug)]
pub struct Cached {
    pub title: String,
    pub html: String,
    pub more: Option<String>,
}

struct Entry {
    /// None: the block shows nothing to this audience.
    fragment: Option<Cached>,
    versions: (u64, u64),
    expires: Option<Instant>,
    bytes: usize,
    last_used: u64,
}

/// The cache of rendered fragments.
pub struct FragmentCache {
    entries: Mutex<HashMap<u64, Entry>>,
    budget: usize,
    used: AtomicU64,
    clock: AtomicU64,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

/// The key of a block for a call, when its manifest lets it be cached.
pub fn key(plugin: &LoadedPlugin, block: &Block, ctx: &CallContext) -> Option<u64> {
    let audience = block.audience?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    plugin.manifest.id.hash(&mut hasher);
    // Another build of the plugin renders anew.
    plugin.component_hash().hash(&mut hasher);
    block.id.hash(&mut hasher);
    ctx.uai.hash(&mut hasher);
    ctx.rubrique.hash(&mut hasher);
    ctx.config.hash(&mut hasher);
    let invocation = &ctx.invocation;
    invocation.mount.hash(&mut hasher);
    invocation.establishment.name.hash(&mut hasher);
    invocation.establishment.time_zone.hash(&mut hasher);
    match audience {
        Audience::Public => {}
        Audience::Roles => {
            invocation.caller.is_some().hash(&mut hasher);
            let mut roles = invocation.roles.clone();
            roles.sort();
            roles.hash(&mut hasher);
        }
        Audience::Personal => {
            // Everything the plugin is told of the person (destructured: a
            // field added to the contract must be added here).
            if let Some(crate::runtime::WitCaller {
                id,
                login,
                display_name,
                profiles,
                groups,
                functions,
                region_admin,
            }) = &invocation.caller
            {
                (id, login, display_name, profiles).hash(&mut hasher);
                (groups, functions, region_admin).hash(&mut hasher);
            }
            invocation.roles.hash(&mut hasher);
        }
    }
    Some(hasher.finish())
}

/// The longest an anonymous home page is kept (it may show time: news dates,
/// access windows).
pub const PAGE_MAX_AGE: Duration = Duration::from_secs(30);

/// The key of an establishment's anonymous home page: the establishment, the
/// path asked (it is in the page's links) and the runtime's plugins
/// generation (a loaded or reloaded plugin renders anew). Kept with the
/// store's change generation ([`Store::change_generation`]) as its version.
pub fn anonymous_page_key(plugins_generation: u64, uai: &str, path: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    "anonymous home page".hash(&mut hasher);
    uai.hash(&mut hasher);
    path.hash(&mut hasher);
    plugins_generation.hash(&mut hasher);
    hasher.finish()
}

/// A block's key for a call and the versions it depends on
/// now (read before any rendering), when its manifest lets it be cached;
/// None also when the versions cannot be read (then nothing is cached).
pub fn key_at_versions(
    store: &dyn Store,
    plugin: &LoadedPlugin,
    block: &Block,
    ctx: &CallContext,
) -> Option<(u64, (u64, u64))> {
    let key = key(plugin, block, ctx)?;
    let id = &plugin.manifest.id;
    // Both counters only grow, so their sum moves whenever either does.
    let here = usage::version(store, &ctx.version_owner(), id).ok()?
        + usage::rights_version(store, &ctx.uai, id).ok()?;
    let region = usage::version(store, "@region", id).ok()?;
    Some((key, (here, region)))
}

impl FragmentCache {
    pub fn new(budget: usize) -> FragmentCache {
        FragmentCache {
            entries: Mutex::new(HashMap::new()),
            budget,
            used: AtomicU64::new(0),
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The fragment cached under `key` (None inside: the block shows nothing)
    /// if it was rendered at `versions` and has not expired.
    pub fn get(&self, key: u64, versions: (u64, u64)) -> Option<Option<Cached>> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().expect("verrou");
        let found = entries.get_mut(&key).and_then(|entry| {
            let fresh =
                entry.versions == versions && entry.expires.is_none_or(|at| Instant::now() < at);
            fresh.then(|| {
                entry.last_used = tick;
                entry.fragment.clone()
            })
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `fragment`, rendered at `versions`, under `key`.
    pub fn put(
        &self,
        key: u64,
        versions: (u64, u64),
        max_age: Option<Duration>,
        fragment: Option<Cached>,
    ) {
        let bytes = fragment.as_ref().map_or(0, |f| {
            f.html.len() + f.title.len() + f.more.as_ref().map_or(0, String::len)
        }) + 96;
        if bytes > self.budget / 4 {
            return;
        }
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().expect("verrou");
        let entry = Entry {
            fragment,
            versions,
            expires: max_age.map(|age| Instant::now() + age),
            bytes,
            last_used: tick,
        };
        let mut used = self.used.load(Ordering::Relaxed) as usize + bytes;
        if let Some(old) = entries.insert(key, entry) {
            used -= old.bytes;
        }
        if used > self.budget {
            // Down to 90 % of the budget, least recently used first.
            let mut by_age: Vec<(u64, u64)> =
                entries.iter().map(|(k, e)| (e.last_used, *k)).collect();
            by_age.sort_unstable();
            for (_, old) in by_age {
                if used <= self.budget / 10 * 9 {
                    break;
                }
                if let Some(gone) = entries.remove(&old) {
                    used -= gone.bytes;
                }
            }
        }
        self.used.store(used as u64, Ordering::Relaxed);
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(html: &str) -> Option<Cached> {
        Some(Cached {
            title: "t".into(),
            html: html.into(),
            more: None,
        })
    }

    #[test]
    fn an_entry_serves_only_its_versions_and_its_age() {
        let cache = FragmentCache::new(1 << 20);
        cache.put(1, (3, 0), None, cached("a"));
        assert!(cache.get(1, (3, 0)).is_some());
        assert!(cache.get(1, (4, 0)).is_none(), "the plugin wrote since");
        assert!(cache.get(1, (3, 1)).is_none(), "its region data changed");
        cache.put(2, (0, 0), Some(Duration::ZERO), cached("b"));
        assert!(cache.get(2, (0, 0)).is_none(), "expired");
        assert_eq!(cache.hits.load(Ordering::Relaxed), 1);
        assert_eq!(cache.misses.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn memory_stays_within_the_budget_least_recently_used_first() {
        let cache = FragmentCache::new(10_000);
        for key in 0..100 {
            cache.put(key, (0, 0), None, cached(&"x".repeat(500)));
            // Key 0 stays in use.
            assert!(cache.get(0, (0, 0)).is_some());
        }
        assert!(cache.bytes() <= 10_000, "{}", cache.bytes());
        assert!(cache.get(99, (0, 0)).is_some());
        assert!(cache.get(1, (0, 0)).is_none());
    }
}
