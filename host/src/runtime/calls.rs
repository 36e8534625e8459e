//! Calls into a plugin: a fresh store with its limits, the concurrency bound
//! and the penalty lane, one entry point per export, failures classified.

use super::*;

impl Runtime {
    pub(super) fn new_store(
        &self,
        plugin: &Arc<LoadedPlugin>,
        ctx: &CallContext,
        read_only: Option<&'static str>,
    ) -> WasmStore<CallState> {
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
            caller_id: ctx.invocation.caller.as_ref().map(|c| c.id.clone()),
            roles: ctx.invocation.roles.clone(),
            mount: ctx.invocation.mount.clone(),
            notifications_sent: 0,
            log_lines: 0,
            stderr,
            storage_trouble: std::cell::Cell::new(None),
            quota_here: Quota {
                counter: crate::store::usage::counter_key(&ctx.uai, &plugin.manifest.id),
                limit: self.quota_of(plugin),
                version: Some(crate::store::usage::version_key(
                    &ctx.version_owner(),
                    &plugin.manifest.id,
                )),
            },
            quota_region: Quota {
                counter: crate::store::usage::counter_key("@region", &plugin.manifest.id),
                limit: self.quota_of(plugin),
                version: Some(crate::store::usage::version_key(
                    "@region",
                    &plugin.manifest.id,
                )),
            },
            pending_uploads: Vec::new(),
            read_only,
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
    /// A `read_only` call (named for the log) cannot write: see [`READ_ONLY`].
    pub async fn call<T, F>(
        &self,
        id: &str,
        ctx: CallContext,
        read_only: Option<&'static str>,
        f: F,
    ) -> Result<T, CallError>
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
        let store = self.new_store(&plugin, &ctx, read_only);
        let running = plugin.clone();
        let result = if _lane.is_some() {
            self.penalty_threads
                .run(move || run_in_store(&running, store, f))
                .await
                .map_err(|e| CallError::Host(e.to_string()))?
        } else {
            super::batch::run_blocking(&self.blocking_tasks, move || {
                run_in_store(&running, store, f)
            })
            .await
            .map_err(CallError::Host)?
        };
        let result = report(&plugin.manifest.id, &ctx.uai, result);
        self.call_metrics
            .record(&plugin.manifest.id, CallError::outcome(&result));
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
        request: &PluginRequest,
    ) -> Result<WitResponse, CallError> {
        let plugin = self.plugin(id).ok_or(CallError::Unknown)?;
        let request = wit_request(ctx, request.clone());
        let store = self.new_store(&plugin, ctx, read_only(&request));
        let result = run_in_store(&plugin, store, |instance, store| {
            instance.call_handle(store, &request)
        });
        report(id, &ctx.uai, result)
    }

    /// `handle(request)`.
    pub async fn handle(
        &self,
        id: &str,
        ctx: CallContext,
        request: PluginRequest,
    ) -> Result<WitResponse, CallError> {
        let request = wit_request(&ctx, request);
        let response = self
            .call(id, ctx, read_only(&request), move |plugin, store| {
                store.data_mut().pending_uploads =
                    request.files.iter().map(|f| f.id.clone()).collect();
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
            WitResponse::File(file) => file.id.len(),
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
    ) -> Result<Option<WitFragment>, CallError> {
        let invocation = ctx.invocation.clone();
        let result = self
            .call(id, ctx, Some("bloc"), move |plugin, store| {
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
            .call(id, CallContext::bare(), Some("routes"), |plugin, store| {
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
    ) -> Result<Vec<WitNewsItem>, CallError> {
        let invocation = ctx.invocation.clone();
        let result = self
            .call(id, ctx, Some("actualités"), move |plugin, store| {
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

    /// `on-event(event)`: `name` (e.g. `tick`) with its payload.
    pub async fn on_event(
        &self,
        id: &str,
        ctx: CallContext,
        name: &str,
        payload: String,
    ) -> Result<(), CallError> {
        let event = WitEvent {
            name: name.to_string(),
            payload,
            invocation: ctx.invocation.clone(),
        };
        let result = self
            .call(id, ctx, None, move |plugin, store| {
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
    ) -> Result<Option<(String, Vec<String>)>, CallError> {
        let invocation = ctx.invocation.clone();
        let description = self
            .call(id, ctx, Some("describe-scope"), move |plugin, store| {
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
}

impl Runtime {
    /// Median time of each phase of a dispatch over `rounds` calls: store
    /// creation, instantiation, the call, and dropping the store (benchmarks).
    #[doc(hidden)]
    pub fn dispatch_phases(
        &self,
        id: &str,
        ctx: &CallContext,
        request: &PluginRequest,
        rounds: usize,
    ) -> [Duration; 4] {
        let plugin = self.plugin(id).expect("plugin chargé");
        let request = &wit_request(ctx, request.clone());
        let read_only = read_only(request);
        let mut phases: [Vec<Duration>; 4] = Default::default();
        for _ in 0..rounds {
            let t0 = std::time::Instant::now();
            let mut store = self.new_store(&plugin, ctx, read_only);
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

/// The WIT request of `request`, with the call's invocation.
fn wit_request(ctx: &CallContext, request: PluginRequest) -> WitRequest {
    WitRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        form: request.form,
        files: request.files,
        // The host checked the CSRF token before the request reached the plugin.
        csrf_valid: true,
        invocation: ctx.invocation.clone(),
    }
}

/// A GET only reads: its call is read-only (the host's own rule, applied to
/// the plugin's store, region store and notifications). A POST may write.
fn read_only(request: &WitRequest) -> Option<&'static str> {
    match request.method {
        WitMethod::Get => Some("GET"),
        WitMethod::Post => None,
    }
}

/// What one run of a plugin left: its outcome, what it wrote to stderr, and
/// whether a store operation failed under it.
pub(super) struct Ran<T> {
    pub outcome: wasmtime::Result<T>,
    pub stderr: String,
    pub storage_trouble: Option<StorageTrouble>,
}

/// Instantiates the plugin in `store` and runs `f`.
pub(super) fn run_in_store<T>(
    plugin: &LoadedPlugin,
    mut store: WasmStore<CallState>,
    f: impl FnOnce(&bindings::Plugin, &mut WasmStore<CallState>) -> wasmtime::Result<T>,
) -> Ran<T> {
    let outcome = plugin
        .pre
        .instantiate(&mut store)
        .and_then(|instance| f(&instance, &mut store));
    Ran {
        outcome,
        stderr: String::from_utf8_lossy(&store.data().stderr.contents()).into_owned(),
        storage_trouble: store.data().storage_trouble.get(),
    }
}

/// Logs a failed call with the plugin's id and turns it into a [`CallError`].
/// A store failure under the call wins over whatever the plugin answered.
fn report<T>(plugin: &str, uai: &str, ran: Ran<T>) -> Result<T, CallError> {
    match ran.storage_trouble {
        Some(StorageTrouble::OverQuota(over)) => return Err(CallError::OverQuota(over)),
        Some(StorageTrouble::Full) => return Err(CallError::StorageFull),
        Some(StorageTrouble::Unavailable) => return Err(CallError::StorageUnavailable),
        None => {}
    }
    match (ran.outcome, ran.stderr) {
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
