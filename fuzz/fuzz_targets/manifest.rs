//! Any `plugin.toml`: parsing never panics; an accepted manifest keeps the
//! host's invariants (valid id, limits never above the defaults).
#![no_main]

use libfuzzer_sys::fuzz_target;
use preau_fuzz::manifest::{self, Manifest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(m) = Manifest::parse(text) else {
        return;
    };
    assert!(manifest::valid_plugin_id(&m.id), "{}", m.id);
    assert!((1..=manifest::DEFAULT_MEMORY_MIB).contains(&m.limits.memory_mib));
    assert!((10..=manifest::DEFAULT_TIMEOUT_MS).contains(&m.limits.timeout_ms));
    assert!(!m.roles.is_empty());
    let _ = m.default_config();
    let _ = m.public_role_ids();
    let _ = m.wasm_file_name();
});
