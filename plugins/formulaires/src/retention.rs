//! Retention: answers past the configured lifetime are deleted on the scheduled
//! `tick`.

use super::*;

/// Deletes the answers past their lifetime, and the "already answered" markers of
/// diffusions closed longer ago than it. Answer ids grow with time: each pass reads
/// the oldest answers and stops at the first one still within its lifetime.
pub(crate) fn delete_expired(at: i64, months: u32) -> Result<usize> {
    let table = Table::<Reponse>::new();
    let mut deleted = 0;
    loop {
        let batch = table.scan(None, RETENTION_BATCH, Order::OldestFirst)?;
        let times: Vec<i64> = batch.iter().map(|(_, r)| r.le).collect();
        let expired = rules::expired_prefix(&times, at, months);
        for (id, _) in &batch[..expired] {
            table.delete(*id)?;
        }
        deleted += expired;
        if expired < RETENTION_BATCH as usize {
            break;
        }
    }
    for (id, d) in Table::<Diffusion>::new().scan(None, 1000, Order::OldestFirst)? {
        if rules::markers_expired(d.fermeture.as_deref(), at, months) {
            for (key, _) in store::scan_json::<Value>(&format!("deja/{id}/"), MAX_ANSWERS)? {
                store::remove(&key)?;
            }
        }
    }
    if deleted > 0 {
        preau_sdk::log::info(&format!(
            "{deleted} réponse(s) supprimée(s) (conservation : {months} mois)"
        ));
    }
    Ok(deleted)
}
