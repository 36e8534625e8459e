//! Writes of a whole store at once (issue 16's directory footprint):
//! `BulkLoad` writes puts given in any order, in key order; `SledStore::compact`
//! rewrites a closed store into a fresh folder and swaps it in, and an
//! interrupted compaction always ends, at the next opening, with a whole store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use preau_host::store::{BulkLoad, Op, SledStore, Space, Store};

#[test]
fn puts_in_any_order_come_out_whole_and_the_last_put_of_a_key_wins() {
    let place = tempfile::tempdir().unwrap();
    let store = SledStore::temporary().unwrap();
    let spill = place.path().join("tri");
    let mut load = BulkLoad::new(&store, &spill).unwrap().with_run_bytes(4096);
    let mut expected = BTreeMap::new();
    for i in 0..5000u64 {
        let n = (i * 7919) % 3000; // every key of 0..3000, some twice
        let (key, value) = (format!("k{n:05}"), format!("v{i}"));
        let space = if n % 3 == 0 {
            Space::Users
        } else {
            Space::Groups
        };
        load.add(
            space,
            vec![Op::Put(
                key.clone().into_bytes(),
                value.clone().into_bytes(),
            )],
        )
        .unwrap();
        expected.insert((n % 3 == 0, key), value);
    }
    assert!(
        std::fs::read_dir(&spill).unwrap().count() > 5,
        "runs spilled"
    );
    let loaded = load.finish().unwrap();
    assert_eq!(loaded.entries, 3000);
    for ((users, key), value) in expected {
        let space = if users { Space::Users } else { Space::Groups };
        assert_eq!(
            store.get(space, key.as_bytes()).unwrap().as_deref(),
            Some(value.as_bytes())
        );
    }
    assert_eq!(
        std::fs::read_dir(&spill).unwrap().count(),
        0,
        "runs removed"
    );
}

#[test]
fn of_two_puts_in_one_run_the_last_wins() {
    let place = tempfile::tempdir().unwrap();
    let store = SledStore::temporary().unwrap();
    let mut load = BulkLoad::new(&store, place.path()).unwrap();
    for value in ["un", "deux", "trois"] {
        load.add(Space::Users, vec![Op::Put(b"k".to_vec(), value.into())])
            .unwrap();
    }
    assert_eq!(load.finish().unwrap().entries, 1);
    assert_eq!(
        store.get(Space::Users, b"k").unwrap().as_deref(),
        Some(&b"trois"[..])
    );
}

#[test]
fn a_bulk_load_refuses_a_delete() {
    let place = tempfile::tempdir().unwrap();
    let store = SledStore::temporary().unwrap();
    let mut load = BulkLoad::new(&store, place.path()).unwrap();
    assert!(
        load.add(Space::Users, vec![Op::Delete(b"k".to_vec())])
            .is_err()
    );
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    dir.with_file_name(format!("db{suffix}"))
}

fn write_people(dir: &Path, n: usize) -> u64 {
    let store = SledStore::open(dir).unwrap();
    for i in (0..n).rev() {
        let key = format!("u{:05}", (i * 7919) % n);
        store
            .put(
                Space::Users,
                key.as_bytes(),
                format!("personne {i}").as_bytes(),
            )
            .unwrap();
    }
    store.delete(Space::Users, b"u00003").unwrap();
    let id = store.next_id().unwrap();
    store.close().unwrap();
    id
}

fn contents(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    // A handle just dropped (sled's flusher thread) may hold the folder's lock
    // a moment longer, as `compact` itself allows for.
    let mut tries = 0;
    let store = loop {
        match SledStore::open(dir) {
            Ok(store) => break store,
            Err(e) if tries < 50 && format!("{e:#}").contains("lock") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("{e:#}"),
        }
    };
    store
        .scan(Space::Users, b"", None, usize::MAX, false)
        .unwrap()
}

#[test]
fn a_compacted_store_holds_the_same_entries_and_ids_go_on() {
    let place = tempfile::tempdir().unwrap();
    let dir = place.path().join("db");
    let last_id = write_people(&dir, 3000);
    let before = contents(&dir);
    let seq = SledStore::open(&dir).unwrap().durable_seq();
    let done = SledStore::compact(&dir).unwrap();
    assert!(done.entries >= 2999, "{done:?}");
    assert_eq!(contents(&dir), before);
    let store = SledStore::open(&dir).unwrap();
    assert_eq!(store.durable_seq(), seq);
    assert!(store.next_id().unwrap() > last_id);
    drop(store);
    let names: Vec<_> = std::fs::read_dir(place.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("db")]);
}

#[test]
fn a_store_in_use_is_not_compacted() {
    let place = tempfile::tempdir().unwrap();
    let dir = place.path().join("db");
    write_people(&dir, 10);
    let _serving = SledStore::open(&dir).unwrap();
    assert!(SledStore::compact(&dir).is_err());
    assert!(!sibling(&dir, ".compacting").exists());
    assert!(!sibling(&dir, ".compacted").exists());
}

/// Copies a closed store's folder (what a crash leaves at each step).
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn an_interrupted_compaction_ends_with_a_whole_store_at_every_step() {
    let place = tempfile::tempdir().unwrap();
    let original = place.path().join("original");
    write_people(&original, 500);
    let expected = contents(&original);
    let dir = place.path().join("db");
    let (writing, complete, previous) = (
        sibling(&dir, ".compacting"),
        sibling(&dir, ".compacted"),
        sibling(&dir, ".before-compaction"),
    );
    // Step 1 interrupted: a partial copy is thrown away.
    copy_folder(&original, &dir);
    std::fs::create_dir_all(&writing).unwrap();
    std::fs::write(writing.join("db"), b"partiel").unwrap();
    assert_eq!(contents(&dir), expected);
    assert!(!writing.exists());
    // After step 2: the complete copy is swapped in.
    copy_folder(&original, &complete);
    assert_eq!(contents(&dir), expected);
    assert!(!complete.exists() && !previous.exists());
    // In the middle of step 3: the old folder renamed, the new one not yet.
    std::fs::rename(&dir, &previous).unwrap();
    copy_folder(&original, &complete);
    assert_eq!(contents(&dir), expected);
    assert!(!complete.exists() && !previous.exists());
    // Before step 4: the old folder is removed.
    copy_folder(&original, &previous);
    assert_eq!(contents(&dir), expected);
    assert!(!previous.exists());
}
