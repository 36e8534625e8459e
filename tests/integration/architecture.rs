//! The invariants of ARCHITECTURE.md that a test can hold, read off the source
//! tree: no import circle between the host's files, no source file over the
//! size a reader takes in at once (tests apart), and a host that names no plugin.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use preau_tests::repo_root;

/// Longest source file, not counting its `#[cfg(test)]` part.
const MAX_LINES: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source before its first `#[cfg(test)]`.
fn without_tests(source: &str) -> &str {
    source.find("#[cfg(test)]").map_or(source, |i| &source[..i])
}

/// `host/src/web/admin.rs` → `["web", "admin"]`; `mod.rs` and `lib.rs` name their folder.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file that defines module `path`, or its closest ancestor's.
fn file_of(files: &BTreeMap<Vec<String>, PathBuf>, path: &[String]) -> Option<PathBuf> {
    (0..=path.len())
        .rev()
        .find_map(|k| files.get(&path[..k]).cloned())
}

/// Strongly connected components of more than one file (Tarjan).
fn circles(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct State<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        found: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in &s.edges[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[w].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.index[w].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[test]
fn the_host_has_no_import_circle() {
    let root = repo_root().join("host/src");
    let mut paths = Vec::new();
    rust_files(&root, &mut paths);
    let files: BTreeMap<Vec<String>, PathBuf> = paths
        .iter()
        .map(|p| (module_of(&root, p), p.clone()))
        .collect();
    let reference = regex::Regex::new(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)").unwrap();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for path in &paths {
        let me = module_of(&root, path);
        let source = std::fs::read_to_string(path).unwrap();
        let targets = edges.entry(path.clone()).or_default();
        for found in reference.captures_iter(without_tests(&source)) {
            let named: Vec<String> = found[2]
                .trim_start_matches(':')
                .split("::")
                .map(str::to_string)
                .collect();
            let module: Vec<String> = if &found[1] == "crate" {
                named
            } else {
                me[..me.len().saturating_sub(1)]
                    .iter()
                    .cloned()
                    .chain(named)
                    .collect()
            };
            if let Some(target) = file_of(&files, &module)
                && &target != path
            {
                targets.insert(target);
            }
        }
    }
    let found = circles(&edges);
    assert!(
        found.is_empty(),
        "cercles d'imports dans host/src (un fichier ne doit pas dépendre, même indirectement, de ceux qui dépendent de lui) : {found:#?}"
    );
}

#[test]
fn no_source_file_is_too_long_to_read_in_one_pass() {
    let repo = repo_root();
    let mut paths = Vec::new();
    for dir in [
        "host/src",
        "sdk/src",
        "plugins",
        "xtask/src",
        "text/src",
        "formats/src",
    ] {
        rust_files(&repo.join(dir), &mut paths);
    }
    let long: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            let source = std::fs::read_to_string(p).ok()?;
            let lines = without_tests(&source).lines().count();
            (lines > MAX_LINES).then(|| format!("{} : {lines} lignes", p.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "fichiers de plus de {MAX_LINES} lignes hors tests (à découper par ce qu'ils servent) : {long:#?}"
    );
}

#[test]
fn the_host_names_no_plugin() {
    let repo = repo_root();
    let mut ids = Vec::new();
    for dir in ["plugins", "tests/plugins"] {
        for entry in std::fs::read_dir(repo.join(dir)).unwrap().flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path().join("plugin.toml")) {
                let table: toml_id::Manifest = toml_id::parse(&text);
                ids.push(table.id);
            }
        }
    }
    assert!(ids.len() >= 5, "plugins trouvés : {ids:?}");
    let mut paths = Vec::new();
    rust_files(&repo.join("host/src"), &mut paths);
    for path in paths {
        let source = std::fs::read_to_string(&path).unwrap();
        // Comments may give examples; code may not name a plugin.
        let code: String = without_tests(&source)
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for id in &ids {
            // A plugin named in code is a quoted id or a path segment of it.
            for needle in [format!("\"{id}\""), format!("/{id}/"), format!("\"{id}/")] {
                assert!(
                    !code.contains(&needle),
                    "{} nomme le plugin « {id} » ({needle}) : l'hôte ne nomme aucun plugin",
                    path.display()
                );
            }
        }
    }
}

/// The `id` line of a manifest, without a TOML dependency for one key.
mod toml_id {
    pub struct Manifest {
        pub id: String,
    }

    pub fn parse(text: &str) -> Manifest {
        let id = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("id = "))
            .map(|v| v.trim().trim_matches('"').to_string())
            .expect("id du manifeste");
        Manifest { id }
    }
}
