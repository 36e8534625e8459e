//! How the sled store lives through a full disk.
//!
//! sled marks itself failed after an I/O error and fails every write from then
//! on, its own included: a read that would split or merge a node writes, so
//! some reads of a failed instance fail too. The only way back is to drop the
//! instance and open the folder again, which writes a little. So the store
//! keeps an *emergency room* beside the database (a file of [`ROOM`] bytes,
//! made at the first write): when sled failed and the disk has no space left,
//! the room is given back, the folder is reopened and reads go on; writes stay
//! refused until the disk has space for the room again.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use super::{META_SEQ, Opened, SledStore, decode_u64};
use crate::store::{Health, StorageFull};

/// Least time between two attempts to reopen a failed engine.
const RECOVERY_EVERY: Duration = Duration::from_millis(500);
/// Free space a reopen needs; the size of the emergency room.
pub(super) const ROOM: u64 = 8 << 20;
/// The emergency room's file, beside the database.
const ROOM_FILE: &str = "preau-room.bin";

/// The store's health and what recovery needs to know.
pub(super) struct State {
    health: Health,
    /// sled itself failed (not only refused by the reserve): it must be reopened.
    engine_failed: bool,
    last_recovery: Option<Instant>,
    /// Whether the emergency room is on disk (None: not tried yet).
    room_held: Option<bool>,
}

impl State {
    pub(super) fn new() -> Self {
        State {
            health: Health::Healthy,
            engine_failed: false,
            last_recovery: None,
            room_held: None,
        }
    }

    pub(super) fn health(&self) -> &Health {
        &self.health
    }
}

/// Why a write failed, as far as the disk is concerned.
fn is_disk_full(error: &sled::Error) -> bool {
    match error {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
                || io.to_string().contains("No space left")
        }
        _ => false,
    }
}

/// Writes the room's file in full (incompressible bytes: a compressing
/// filesystem must really keep the space).
fn make_room(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(ROOM_FILE);
    let written = (|| {
        let mut file = File::create(&path)?;
        let mut chunk = vec![0u8; 1 << 20];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..ROOM / chunk.len() as u64 {
            for word in chunk.chunks_exact_mut(8) {
                // xorshift64
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                word.copy_from_slice(&x.to_le_bytes());
            }
            file.write_all(&chunk)?;
        }
        file.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    written
}

/// Whether the room's file is on disk in full.
fn room_on_disk(dir: &Path) -> bool {
    std::fs::metadata(dir.join(ROOM_FILE)).is_ok_and(|m| m.len() >= ROOM)
}

impl SledStore {
    /// Records an engine failure and says what the caller should report.
    fn failed(&self, error: sled::Error) -> anyhow::Error {
        let full = is_disk_full(&error);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(error, sled::Error::Io(_)) {
            state.engine_failed = true;
        }
        if full {
            if state.health == Health::Healthy {
                tracing::error!("disque plein : les écritures sont refusées ({error})");
            }
            state.health = Health::Full;
            anyhow::Error::new(StorageFull)
        } else {
            if let sled::Error::Io(_) = error {
                tracing::error!("le moteur de stockage a échoué : {error}");
                state.health = Health::Failed(error.to_string());
            }
            anyhow::Error::new(error).context("écriture dans la base")
        }
    }

    /// After a write failed: records the failure and reopens a failed engine at
    /// once, so that reads go on from an instance that can split its nodes.
    pub(super) fn failed_write(&self, error: sled::Error) -> anyhow::Error {
        let reported = self.failed(error);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.reopen_engine(&mut state);
        reported
    }

    /// After a read failed on an I/O error: records the failure and reopens the
    /// engine; true when the read can be tried again.
    pub(super) fn reopen_after_failed_read(&self, error: sled::Error) -> bool {
        if !matches!(error, sled::Error::Io(_)) {
            return false;
        }
        drop(self.failed(error));
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.reopen_engine(&mut state).is_ok()
    }

    /// Free bytes on the data folder's disk (None: unknown, or temporary store).
    pub(super) fn free_space(&self) -> Option<u64> {
        self.dir
            .as_deref()
            .and_then(|dir| fs2::available_space(dir).ok())
    }

    fn below_reserve(&self) -> bool {
        self.reserve > 0 && self.free_space().is_some_and(|f| f < self.reserve)
    }

    /// Refuses a write when the disk is below the reserve; brings a failed
    /// engine back when space allows.
    pub(super) fn ensure_writable(&self) -> Result<()> {
        let below_reserve = self.below_reserve();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if below_reserve {
            if state.health == Health::Healthy {
                tracing::error!(
                    "disque presque plein (moins de {} Mio libres) : les écritures sont refusées",
                    self.reserve >> 20
                );
                state.health = Health::Full;
            }
            return Err(anyhow::Error::new(StorageFull));
        }
        if state.health == Health::Healthy {
            if state.room_held.is_none() {
                self.hold_room(&mut state);
            }
            return Ok(());
        }
        self.recover(&mut state)
    }

    /// Makes the emergency room when the disk has space for it and some more.
    fn hold_room(&self, state: &mut State) {
        let Some(dir) = self.dir.as_deref() else {
            state.room_held = Some(false);
            return;
        };
        if room_on_disk(dir) {
            state.room_held = Some(true);
            return;
        }
        let needed = ROOM + self.reserve.max(ROOM);
        let held = if self.free_space().is_some_and(|f| f < needed) {
            false
        } else {
            make_room(dir)
                .inspect_err(|e| {
                    tracing::warn!("espace de secours de la base impossible à réserver : {e}")
                })
                .is_ok()
        };
        if !held && state.room_held.is_none() {
            tracing::warn!(
                "pas d'espace de secours pour la base ({} Mio) : après un disque plein, \
                 la lecture pourra attendre que de l'espace soit libéré",
                ROOM >> 20
            );
        }
        state.room_held = Some(held);
    }

    /// Brings writes back: the engine reopened if it failed, the reserve and
    /// the emergency room available again.
    pub(super) fn recover(&self, state: &mut State) -> Result<()> {
        if state.engine_failed {
            self.reopen_engine(state)?;
        }
        if self.below_reserve() {
            return Err(self.degraded_error(&state.health));
        }
        if state.room_held != Some(true) {
            self.hold_room(state);
            // Without a room (an unusual filesystem), writes resume all the same
            // once the disk has space for one.
            let needed = ROOM + self.reserve.max(ROOM);
            if state.room_held != Some(true) && self.free_space().is_some_and(|f| f < needed) {
                return Err(self.degraded_error(&state.health));
            }
        }
        tracing::info!("espace disque revenu : les écritures reprennent");
        state.health = Health::Healthy;
        Ok(())
    }

    /// Drops the failed instance and opens the folder again (rate-limited),
    /// giving the emergency room back when the disk has no space for it.
    fn reopen_engine(&self, state: &mut State) -> Result<()> {
        if !state.engine_failed {
            return Ok(());
        }
        if state
            .last_recovery
            .is_some_and(|at| at.elapsed() < RECOVERY_EVERY)
        {
            return Err(self.degraded_error(&state.health));
        }
        state.last_recovery = Some(Instant::now());
        let Some(dir) = self.dir.clone() else {
            return Err(self.degraded_error(&state.health));
        };
        // Opening writes a snapshot and a log segment; a failed reopen leaves no
        // engine (reads fail too): tried only with room, the failed one reads.
        if self.free_space().is_some_and(|f| f < ROOM) && room_on_disk(&dir) {
            match std::fs::remove_file(dir.join(ROOM_FILE)) {
                Ok(()) => {
                    tracing::warn!(
                        "disque plein : espace de secours libéré pour rouvrir la base \
                         (lecture seule jusqu'au retour de l'espace)"
                    );
                    state.room_held = Some(false);
                }
                Err(e) => tracing::error!("espace de secours impossible à libérer : {e}"),
            }
        }
        if self.free_space().is_some_and(|f| f < ROOM) {
            return Err(self.degraded_error(&state.health));
        }
        // The failed instance must be dropped first (it holds the folder's lock);
        // in-flight reads finish before the write lock is granted, and reads
        // that come meanwhile wait for the new instance.
        let mut slot = self.opened.write().unwrap_or_else(|e| e.into_inner());
        drop(slot.take());
        match Opened::open(super::config(self.cache_capacity).path(&dir)) {
            Ok(opened) => {
                let seq = decode_u64(opened.meta.get(META_SEQ).ok().flatten().as_deref());
                self.durable_seq
                    .fetch_max(seq.unwrap_or(0), Ordering::SeqCst);
                *slot = Some(opened);
                // What the failed instance answered may hold writes it never flushed.
                self.hot.clear();
                tracing::info!("base rouverte après l'échec du moteur");
                state.engine_failed = false;
                Ok(())
            }
            Err(error) => {
                tracing::error!("réouverture de la base impossible : {error:#}");
                Err(self.degraded_error(&state.health))
            }
        }
    }

    pub(super) fn degraded_error(&self, health: &Health) -> anyhow::Error {
        match health {
            Health::Full => anyhow::Error::new(StorageFull),
            Health::Failed(reason) => anyhow!("la base est en panne : {reason}"),
            Health::Healthy => anyhow!("la base est momentanément indisponible"),
        }
    }

    /// Whether writes are refused now (recovery pending).
    pub(super) fn is_degraded(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).health != Health::Healthy
    }

    /// The health /healthz reports (a degraded store tries to recover first).
    pub(super) fn current_health(&self) -> Health {
        let below_reserve = self.below_reserve();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.health == Health::Healthy && below_reserve {
            state.health = Health::Full;
        } else if state.health != Health::Healthy {
            let _ = self.recover(&mut state);
        }
        state.health().clone()
    }
}
