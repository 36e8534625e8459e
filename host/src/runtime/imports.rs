//! The host side of the contract's imports: what one call can reach (its
//! namespace, the region store, outbound requests, rights, notifications…).

use super::*;

/// What the host functions of one call can reach: nothing but this namespace.
pub struct CallState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limits: StoreLimits,
    pub(super) store: Arc<dyn Store>,
    /// `<uai>/<plugin>/` (or `<uai>#<rubrique>/<plugin>/`): prepended to every key the plugin uses.
    pub(super) namespace: Vec<u8>,
    /// `@region/<plugin>/`: the plugin's region-wide data.
    pub(super) region_namespace: Vec<u8>,
    pub(super) config: String,
    pub(super) outbound: SharedOutbound,
    pub(super) host_policy: HostPolicy,
    /// When the call started, and how long it has waited on outbound requests:
    /// the deadline counts the difference.
    pub(super) started: Instant,
    pub(super) network_wait: Duration,
    pub(super) fetches: u32,
    pub(super) budget: Duration,
    pub(super) sanitizer: Arc<Sanitizer>,
    pub(super) plugin: String,
    pub(super) uai: String,
    /// The instance's rubrique, if any.
    pub(super) rubrique: Option<String>,
    /// The plugin being called (its manifest: roles, notify flag, name).
    pub(super) loaded: Arc<LoadedPlugin>,
    /// The caller (user id) and their roles in the instance, from the invocation.
    pub(super) caller_id: Option<String>,
    pub(super) roles: Vec<String>,
    /// Absolute mount path, for notification links.
    pub(super) mount: String,
    pub(super) notifications_sent: u32,
    pub(super) log_lines: u32,
    pub(super) stderr: MemoryOutputPipe,
    /// A store operation of this call failed: the call's answer becomes the
    /// host's (507 disk full, 503 store unavailable) whatever the plugin made of it
    /// (a failed read looks like an absent key to the plugin: never show its 404).
    pub(super) storage_trouble: std::cell::Cell<Option<StorageTrouble>>,
    /// The byte budgets of this namespace and of the plugin's region store.
    pub(super) quota_here: Quota,
    pub(super) quota_region: Quota,
    /// Ids of the files uploaded with this request, still pending: the only
    /// files besides kept ones that `files` reaches.
    pub(super) pending_uploads: Vec<String>,
    /// A read-only call (a GET, a block, the news…: what it is, for the log):
    /// its writes and notifications are refused with [`READ_ONLY`].
    pub(super) read_only: Option<&'static str>,
}

/// What a plugin's write gets while it answers a read (a GET, a block, the
/// news, `describe-scope`): no GET changes state, the plugins' included.
pub const READ_ONLY: &str = "écriture refusée : une lecture (GET) ne modifie rien";

/// What went wrong with the store during a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageTrouble {
    /// A write was refused for lack of space.
    Full,
    /// A read or write failed otherwise.
    Unavailable,
    /// A write would have taken the namespace past its quota (nothing written).
    OverQuota(QuotaExceeded),
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
    /// Records a failed store operation; the text the plugin gets.
    pub(super) fn storage_failed(&self, error: &anyhow::Error) -> String {
        let trouble = if let Some(over) = crate::store::quota_exceeded(error) {
            StorageTrouble::OverQuota(over)
        } else if crate::store::is_storage_full(error) {
            StorageTrouble::Full
        } else {
            StorageTrouble::Unavailable
        };
        if self.storage_trouble.get() != Some(StorageTrouble::Full) {
            self.storage_trouble.set(Some(trouble));
        }
        error.to_string()
    }

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
            self.storage_failed(&e);
            None
        })
    }

    fn put_in(&self, namespace: Namespace, key: &str, value: &[u8]) -> Result<(), String> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!("valeur trop volumineuse ({} octets)", value.len()));
        }
        let key = self.scoped(namespace, key)?;
        self.write_within(namespace, &[], vec![Op::Put(key, value.to_vec())])
            .map(|_| ())
    }

    /// Refuses a write (or a notification) during a read-only call, with a
    /// warning in the log: the plugin sees the error, nothing is written.
    pub(super) fn writable(&self) -> Result<(), String> {
        match self.read_only {
            None => Ok(()),
            Some(call) => {
                tracing::warn!(plugin = %self.plugin, uai = %self.uai, call, "{READ_ONLY}");
                Err(READ_ONLY.into())
            }
        }
    }

    /// Writes `ops` (checked against `expected`) within the namespace's quota
    /// (never during a read-only call).
    fn write_within(
        &self,
        namespace: Namespace,
        expected: &[(Vec<u8>, Option<Vec<u8>>)],
        ops: Vec<Op>,
    ) -> Result<bool, String> {
        self.writable()?;
        let quota = match namespace {
            Namespace::Here => &self.quota_here,
            Namespace::Region => &self.quota_region,
        };
        self.store
            .batch_within(Space::PluginData, expected, ops, quota)
            .map_err(|e| self.storage_failed(&e))
    }

    fn delete_in(&self, namespace: Namespace, key: &str) -> Result<(), String> {
        let key = self.scoped(namespace, key)?;
        self.write_within(namespace, &[], vec![Op::Delete(key)])
            .map(|_| ())
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
                    self.storage_failed(&e);
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

    pub(super) fn directory(&self) -> crate::directory::Directory {
        crate::directory::Directory::new(self.store.clone())
    }

    /// Delivers a notification: recipients resolved in this establishment only.
    fn send_notification(&mut self, n: wit_notify::Notification) -> Result<u32, String> {
        if !self.loaded.manifest.notify {
            return Err("notifications non déclarées dans le manifeste (notify = true)".into());
        }
        self.writable()?;
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
        self.write_within(Namespace::Here, &[], ops).map(|_| ())
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
        self.write_within(Namespace::Here, &checks, ops)
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
