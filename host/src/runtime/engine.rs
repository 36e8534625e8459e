//! The wasmtime engine: pooling allocator with copy-on-write memory images
//! (on-demand allocation when the pool cannot be reserved), epoch ticker.

use super::*;

fn engine_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

pub(super) fn build_engine() -> Result<(Engine, bool)> {
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

/// Advances the engine's epoch every tick, until the engine is dropped.
pub(super) fn start_epoch_ticker(engine: &Engine) {
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
