//! One reservation: its page, modification, validation and refusal (with the rest
//! of its series), deletion.

use super::*;

pub(crate) struct Loaded {
    id: Id,
    reservation: Reservation,
    resource_id: Id,
    resource: Resource,
    access: Access,
}

pub(crate) fn load_reservation(params: &Params) -> Result<Loaded> {
    let id = params.id("id")?;
    let reservation = Table::<Reservation>::new()
        .get(id)?
        .ok_or(Error::NotFound)?;
    let resource = Table::<Resource>::new()
        .get(reservation.resource)?
        .ok_or(Error::NotFound)?;
    let access = resource_access(reservation.resource, &resource);
    if !access.read {
        return Err(Error::Forbidden);
    }
    Ok(Loaded {
        id,
        resource_id: reservation.resource,
        reservation,
        resource,
        access,
    })
}

pub(crate) fn reservation_page(request: &Request, params: &Params) -> Result<Response> {
    let loaded = load_reservation(params)?;
    reservation_view(request, &loaded, &[], false)
}

pub(crate) fn reservation_view(
    request: &Request,
    l: &Loaded,
    errors: &[FieldError],
    conflict: bool,
) -> Result<Response> {
    let r = &l.reservation;
    let user = request.caller().map(|c| c.id.as_str());
    let form = request.form();
    let typed = |name: &str, default: String| {
        if errors.is_empty() {
            default
        } else {
            form.text(name)
        }
    };
    let base = format!("/reservation/{}", l.id);
    let mine = user == Some(r.author_id.as_str());
    Ok(Response::page(
        "reservation.html",
        &format!("Réservation — {}", l.resource.name),
        &json!({
            "home_url": request.url("/"),
            "resource_url": request.url(&format!("/r/{}?date={}", l.resource_id, r.day.iso())),
            "resource": { "name": l.resource.name },
            "reservation": {
                "day": r.day.french(),
                "time": r.slot.french(),
                "author": r.author_name,
                "object": r.object,
                "status": r.status.label(),
                "pending": r.status == Status::Pending,
                "series": r.series.is_some(),
            },
            "can_edit": l.access.may_edit(r, user),
            "can_moderate": l.access.moderate,
            "edit_needs_validation": mine && !l.access.publish,
            "action_url": request.url(&base),
            "validate_url": request.url(&format!("{base}/valider")),
            "refuse_url": request.url(&format!("{base}/refuser")),
            "delete_url": request.url(&format!("{base}/supprimer")),
            "errors": field_errors(errors),
            "values": {
                "date": typed("date", r.day.iso()),
                "debut": typed("debut", time::hh_mm(r.slot.start.into())),
                "fin": typed("fin", time::hh_mm(r.slot.end.into())),
                "objet": typed("objet", r.object.clone()),
            },
        }),
    )
    .with_status(status_code(errors, conflict)))
}

pub(crate) fn modify(request: &Request, params: &Params) -> Result<Response> {
    let mut l = load_reservation(params)?;
    let caller = request.caller().ok_or(Error::Forbidden)?;
    // The record as read: the modification is written only if it is still this one.
    let read = store::get_bytes(&reservation_key(l.id)).ok_or(Error::NotFound)?;
    l.reservation = serde_json::from_slice(&read)?;
    if !l.access.may_edit(&l.reservation, Some(&caller.id)) {
        return Err(Error::Forbidden);
    }
    // One occurrence at a time: the form has no repetition.
    let booking = match model::check_booking(request.form(), request.invocation().local_now().date)
    {
        Ok(b) => b,
        Err(errors) => return reservation_view(request, &l, &errors, false),
    };
    let mine = caller.id == l.reservation.author_id;
    let mut updated = l.reservation.clone();
    updated.day = booking.days[0];
    updated.slot = booking.slot;
    updated.object = booking.object;
    // Moving one's reservation to another period counts against the threshold there,
    // as a new booking would (a blocking threshold is not bypassed by a modification).
    let mut reached = (None, Vec::new());
    if mine {
        match author_threshold(&caller.id, &[updated.day], Some(l.id))? {
            Ok((threshold, starts)) => reached = (Some(threshold), starts),
            Err(error) => return reservation_view(request, &l, &[error], false),
        }
    }
    // The author's modification follows their role; a moderator's change of another's
    // reservation keeps its status.
    if mine {
        updated.status = if l.access.publish {
            Status::Validated
        } else {
            Status::Pending
        };
    }
    if let Err(refusal) = write_checked(
        l.resource_id,
        &[(l.id, updated.clone())],
        Some((l.id, &read)),
    )? {
        let (errors, conflict) = refusal_errors(refusal);
        return reservation_view(request, &l, &errors, conflict);
    }
    let chain = model::resource_chain(l.resource_id, l.resource.domain);
    if let (Some(threshold), starts) = &reached
        // Within the same period the count does not change: nothing newly reached.
        && threshold.period.start(updated.day) != threshold.period.start(l.reservation.day)
    {
        notify_threshold(
            *threshold,
            starts,
            &chain,
            &caller.display_name,
            &format!(
                "en déplaçant sa réservation de {} au {}",
                l.resource.name,
                updated.day.french()
            ),
            &format!("/reservation/{}", l.id),
        );
    }
    if updated.status == Status::Pending {
        send(Notification {
            recipients: validators(&chain),
            subject: format!("Réservation modifiée à valider : {}", l.resource.name),
            body: format!(
                "{} a modifié sa réservation de {} : {}{}. Elle attend votre validation.",
                caller.display_name,
                l.resource.name,
                describe_when(&[updated.day], &updated.slot),
                object_suffix(&updated.object)
            ),
            link: format!("/reservation/{}", l.id),
        });
    } else if !mine {
        send(Notification {
            recipients: vec![Recipient::User(updated.author_id.clone())],
            subject: format!("Votre réservation de {} a été modifiée", l.resource.name),
            body: format!(
                "{} a modifié votre réservation de {} : désormais {}.",
                caller.display_name,
                l.resource.name,
                describe_when(&[updated.day], &updated.slot)
            ),
            link: format!("/reservation/{}", l.id),
        });
    }
    Ok(Response::redirect(&format!("/reservation/{}", l.id)))
}

pub(crate) fn moderated(request: &Request, params: &Params) -> Result<(Loaded, String)> {
    let l = load_reservation(params)?;
    if !l.access.moderate {
        return Err(Error::Forbidden);
    }
    let name = request
        .caller()
        .map(|c| c.display_name.clone())
        .ok_or(Error::Forbidden)?;
    Ok((l, name))
}

/// The reservation and, when the form ticks `toute_la_serie`, the following occurrences
/// of its series (this one first) that `keep` selects.
pub(crate) fn with_series(
    request: &Request,
    l: &Loaded,
    keep: impl Fn(&Reservation) -> bool,
) -> Result<Vec<(Id, Reservation)>> {
    let mut chosen = vec![(l.id, l.reservation.clone())];
    if let Some(series) = l
        .reservation
        .series
        .filter(|_| request.form().checkbox("toute_la_serie"))
    {
        for (rid, other) in Table::<Reservation>::new().scan_index(
            &model::resource_index(l.resource_id),
            None,
            MAX_SCAN,
            Order::OldestFirst,
        )? {
            if rid != l.id
                && other.series == Some(series)
                && other.day >= l.reservation.day
                && keep(&other)
            {
                chosen.push((rid, other));
            }
        }
    }
    Ok(chosen)
}

/// « le mardi 5 mars 2030 de 10 h – 11 h », or the span of several occurrences.
pub(crate) fn describe_many(chosen: &[(Id, Reservation)]) -> String {
    let days: Vec<Day> = chosen.iter().map(|(_, r)| r.day).collect();
    describe_when(&days, &chosen[0].1.slot)
}

pub(crate) fn validate(request: &Request, params: &Params) -> Result<Response> {
    let (l, moderator) = moderated(request, params)?;
    let table = Table::<Reservation>::new();
    let mut chosen: Vec<(Id, Reservation)> = Vec::new();
    for (rid, _) in with_series(request, &l, |r| r.status == Status::Pending)? {
        // Validates the record as it is now, only if unchanged until written: a stale
        // copy would put back a slot its author has just left (and someone else taken).
        for _ in 0..RETRIES {
            let key = reservation_key(rid);
            let Some(read) = store::get_bytes(&key) else {
                break;
            };
            let mut r: Reservation = serde_json::from_slice(&read)?;
            if r.status != Status::Pending {
                break;
            }
            r.status = Status::Validated;
            if store::batch_if(&[(key.as_str(), Some(&read))], table.put_writes(rid, &r)?)? {
                chosen.push((rid, r));
                break;
            }
        }
    }
    if !chosen.is_empty() {
        send(Notification {
            recipients: vec![Recipient::User(l.reservation.author_id.clone())],
            subject: format!("Réservation validée : {}", l.resource.name),
            body: format!(
                "{moderator} a validé votre réservation de {} {}.",
                l.resource.name,
                describe_many(&chosen)
            ),
            link: format!("/reservation/{}", l.id),
        });
    }
    Ok(Response::redirect(&format!("/reservation/{}", l.id)))
}

pub(crate) fn refuse(request: &Request, params: &Params) -> Result<Response> {
    let (l, moderator) = moderated(request, params)?;
    let table = Table::<Reservation>::new();
    let chosen = with_series(request, &l, |r| r.status == Status::Pending)?;
    for (rid, _) in &chosen {
        table.delete(*rid)?;
    }
    let r = &l.reservation;
    let reason = request.form().text("motif");
    send(Notification {
        recipients: vec![Recipient::User(r.author_id.clone())],
        subject: format!("Réservation refusée : {}", l.resource.name),
        body: format!(
            "{moderator} a refusé votre réservation de {} {}.{}",
            l.resource.name,
            describe_many(&chosen),
            if reason.is_empty() {
                String::new()
            } else {
                format!(" Motif : {reason}")
            }
        ),
        link: format!("/r/{}?date={}", l.resource_id, r.day.iso()),
    });
    Ok(Response::redirect(&format!(
        "/r/{}?date={}",
        l.resource_id,
        r.day.iso()
    )))
}

pub(crate) fn delete_reservation(request: &Request, params: &Params) -> Result<Response> {
    let l = load_reservation(params)?;
    let caller = request.caller().ok_or(Error::Forbidden)?;
    if !l.access.may_edit(&l.reservation, Some(&caller.id)) {
        return Err(Error::Forbidden);
    }
    let table = Table::<Reservation>::new();
    let chosen = with_series(request, &l, |_| true)?;
    for (rid, _) in &chosen {
        table.delete(*rid)?;
    }
    let r = &l.reservation;
    if caller.id != r.author_id {
        send(Notification {
            recipients: vec![Recipient::User(r.author_id.clone())],
            subject: format!("Réservation supprimée : {}", l.resource.name),
            body: format!(
                "{} a supprimé votre réservation de {} {}.",
                caller.display_name,
                l.resource.name,
                describe_many(&chosen)
            ),
            link: format!("/r/{}", l.resource_id),
        });
    }
    Ok(Response::redirect(&format!(
        "/r/{}?date={}",
        l.resource_id,
        r.day.iso()
    )))
}
