//! A resource's calendar (day and week views) and booking: checks, thresholds,
//! conflicts settled by a conditional write on the resource's version key,
//! notifications.

use super::*;

/// The week (or day) shown: `?date=AAAA-MM-JJ&vue=jour|semaine`.
pub(crate) fn shown_days(request: &Request, today: Day) -> (bool, Day, Vec<Day>) {
    let day_view = request.query("vue") == Some("jour");
    let date = request
        .query("date")
        .and_then(model::parse_day)
        .unwrap_or(today);
    if day_view {
        (true, date, vec![date])
    } else {
        let monday = date.monday();
        (false, monday, (0..7).map(|i| monday.add_days(i)).collect())
    }
}

pub(crate) fn resource_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    let access = resource_access(id, &resource);
    if !access.read {
        return Err(Error::Forbidden);
    }
    calendar(request, id, &resource, &access, &[], false)
}

pub(crate) fn calendar(
    request: &Request,
    id: Id,
    resource: &Resource,
    access: &Access,
    errors: &[FieldError],
    conflict: bool,
) -> Result<Response> {
    let today = request.invocation().local_now().date;
    let (day_view, start, days) = shown_days(request, today);
    let reservations = reservations_on(id, &days)?;
    let invocation = request.invocation();
    let grid = model::grid(&days, today, &reservations, |rid, r| Shown {
        id: rid.to_string(),
        time: r.slot.french(),
        author: r.author_name.clone(),
        object: r.object.clone(),
        status: r.status.label().to_string(),
        pending: r.status == Status::Pending,
        url: invocation.url(&format!("/reservation/{rid}")),
    });
    let base = format!("/r/{id}");
    let view = if day_view { "jour" } else { "semaine" };
    let step = if day_view { 1 } else { 7 };
    let nav = |day: Day, view: &str| request.url(&format!("{base}?vue={view}&date={}", day.iso()));
    let period = if day_view {
        start.french()
    } else {
        format!("semaine du {}", start.french())
    };
    let form = request.form();
    let typed = |name: &str, default: String| {
        if errors.is_empty() {
            default
        } else {
            form.text(name)
        }
    };
    let default_day = if days.contains(&today) || days[0] < today {
        today.max(days[0])
    } else {
        days[0]
    };
    Ok(Response::page(
        "resource.html",
        &resource.name,
        &json!({
            "home_url": request.url("/"),
            "domain": { "name": domain_name(resource.domain), "url": request.url(&format!("/d/{}", resource.domain)) },
            "resource": { "name": resource.name, "description": resource.description },
            "period": period,
            "day_view": day_view,
            "grid": grid,
            "prev_url": nav(start.add_days(-step), view),
            "next_url": nav(start.add_days(step), view),
            "today_url": nav(today, view),
            "week_url": nav(start, "semaine"),
            "day_url": nav(if day_view { start } else { default_day }, "jour"),
            "can_book": access.book,
            "needs_validation": access.book && !access.publish,
            "can_manage": access.manage,
            "can_moderate": access.moderate,
            "rights_url": invocation.rights_url(&model::resource_scope(id)),
            "stats_url": request.url(&format!("{base}/statistiques")),
            "settings_url": request.url(&format!("{base}/parametres")),
            "action_url": request.url(&base),
            "max_occurrences": model::MAX_OCCURRENCES,
            "errors": field_errors(errors),
            "values": {
                "date": typed("date", default_day.iso()),
                "debut": typed("debut", String::new()),
                "fin": typed("fin", String::new()),
                "objet": typed("objet", String::new()),
                "repetition": typed("repetition", "aucune".into()),
                "jusqu_au": typed("jusqu_au", String::new()),
            },
        }),
    )
    .with_status(status_code(errors, conflict)))
}

/// Why a reservation could not be written.
pub(crate) enum Refusal {
    Conflict(Vec<Day>),
    Busy,
    /// The reservation being modified was changed or deleted meanwhile.
    Changed,
}

/// Store key of a reservation record.
pub(crate) fn reservation_key(id: Id) -> String {
    format!("{}/{id}", <Reservation as Record>::KIND)
}

/// Writes `records` (new or modified reservations of `resource`) if none of them overlaps
/// another reservation, atomically against every concurrent writer of the same resource.
/// `modified`: the reservation being modified and its record as read, which the write
/// also requires unchanged (a refusal or a deletion meanwhile is not undone).
pub(crate) fn write_checked(
    resource: Id,
    records: &[(Id, Reservation)],
    modified: Option<(Id, &[u8])>,
) -> Result<std::result::Result<(), Refusal>> {
    let key = version_key(resource);
    let table = Table::<Reservation>::new();
    let days: Vec<Day> = records.iter().map(|(_, r)| r.day).collect();
    let except = modified.map(|(id, _)| id);
    let record_key = except.map(reservation_key);
    for _ in 0..RETRIES {
        if let (Some(record_key), Some((_, read))) = (&record_key, modified)
            && store::get_bytes(record_key).as_deref() != Some(read)
        {
            return Ok(Err(Refusal::Changed));
        }
        let version = store::get_bytes(&key);
        let existing = reservations_on(resource, &days)?;
        let mut conflicting: Vec<Day> = Vec::new();
        for (_, r) in records {
            conflicting.extend(model::conflicts(&[r.day], &r.slot, &existing, except));
        }
        if !conflicting.is_empty() {
            conflicting.sort();
            conflicting.dedup();
            return Ok(Err(Refusal::Conflict(conflicting)));
        }
        let mut writes = Vec::new();
        for (id, r) in records {
            writes.extend(table.put_writes(*id, r)?);
        }
        writes.push(Write::Put(key.clone(), bumped(version.as_deref())));
        let mut expected = vec![(key.as_str(), version.as_deref())];
        if let (Some(record_key), Some((_, read))) = (&record_key, modified) {
            expected.push((record_key.as_str(), Some(read)));
        }
        if store::batch_if(&expected, writes)? {
            return Ok(Ok(()));
        }
    }
    Ok(Err(Refusal::Busy))
}

pub(crate) fn refusal_errors(refusal: Refusal) -> (Vec<FieldError>, bool) {
    match refusal {
        Refusal::Conflict(days) => (
            vec![FieldError::new("date", &model::conflict_message(&days))],
            true,
        ),
        Refusal::Busy => (
            vec![FieldError::new(
                "date",
                "Trop de réservations simultanées sur cette ressource : réessayez dans un instant.",
            )],
            true,
        ),
        Refusal::Changed => (
            vec![FieldError::new(
                "date",
                "Cette réservation a été modifiée, validée ou supprimée entre-temps : rien n'a été enregistré. Rechargez la page.",
            )],
            true,
        ),
    }
}

/// The author's threshold (every resource, per period) for a booking of `days`, not
/// counting the reservation `except` (being modified): the threshold and the periods
/// it reaches, or the error refusing the booking when it blocks.
pub(crate) fn author_threshold(
    author: &str,
    days: &[Day],
    except: Option<Id>,
) -> Result<std::result::Result<(Threshold, Vec<Day>), FieldError>> {
    let settings: Settings = config()?;
    let threshold = Threshold {
        max: settings.seuil,
        period: Period::parse(&settings.seuil_periode),
        blocking: settings.seuil_bloquant,
    };
    if threshold.max == 0 || days.is_empty() {
        return Ok(Ok((threshold, Vec::new())));
    }
    let period = threshold.period;
    let first = days
        .iter()
        .map(|d| period.start(*d))
        .min()
        .expect("non vide");
    let existing: Vec<Day> = Table::<Reservation>::new()
        .scan_index(
            &model::author_index(author),
            None,
            MAX_SCAN,
            Order::NewestFirst,
        )?
        .into_iter()
        .filter(|(rid, _)| Some(*rid) != except)
        .map(|(_, r)| r.day)
        .filter(|d| *d >= first)
        .collect();
    Ok(match model::check_threshold(threshold, &existing, days) {
        ThresholdCheck::Fine => Ok((threshold, Vec::new())),
        ThresholdCheck::Reached(starts) => Ok((threshold, starts)),
        ThresholdCheck::Refused(starts) => Err(FieldError::new(
            "date",
            &format!(
                "Vous avez atteint le seuil de {} réservations par {} ({}). Rien n'a été réservé.",
                threshold.max,
                period.noun(),
                periods_text(period, &starts)
            ),
        )),
    })
}

pub(crate) fn periods_text(period: Period, starts: &[Day]) -> String {
    starts
        .iter()
        .map(|s| period.label(*s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tells the gestionnaires of `chain` that `who` reached the threshold in `reached`.
pub(crate) fn notify_threshold(
    threshold: Threshold,
    reached: &[Day],
    chain: &[String],
    who: &str,
    doing: &str,
    link: &str,
) {
    if reached.is_empty() {
        return;
    }
    send(Notification {
        recipients: vec![Recipient::Role {
            role: model::GESTIONNAIRE.into(),
            scopes: chain.to_vec(),
        }],
        subject: format!("Seuil de réservations atteint : {who}"),
        body: format!(
            "{who} a atteint le seuil de {} réservations par {} ({}) {doing}.",
            threshold.max,
            threshold.period.noun(),
            periods_text(threshold.period, reached),
        ),
        link: link.to_string(),
    });
}

pub(crate) fn reserve(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    let access = resource_access(id, &resource);
    if !access.book {
        return Err(Error::Forbidden);
    }
    let caller = request.caller().ok_or(Error::Forbidden)?;
    let booking: Booking =
        match model::check_booking(request.form(), request.invocation().local_now().date) {
            Ok(b) => b,
            Err(errors) => return calendar(request, id, &resource, &access, &errors, false),
        };
    let (threshold, reached) = match author_threshold(&caller.id, &booking.days, None)? {
        Ok(checked) => checked,
        Err(error) => return calendar(request, id, &resource, &access, &[error], false),
    };
    let status = if access.publish {
        Status::Validated
    } else {
        Status::Pending
    };
    let series = (booking.days.len() > 1).then(Id::next);
    let created_at = now();
    let records: Vec<(Id, Reservation)> = booking
        .days
        .iter()
        .map(|day| {
            (
                Id::next(),
                Reservation {
                    resource: id,
                    day: *day,
                    slot: booking.slot,
                    object: booking.object.clone(),
                    author_id: caller.id.clone(),
                    author_name: caller.display_name.clone(),
                    status,
                    series,
                    created_at,
                },
            )
        })
        .collect();
    if let Err(refusal) = write_checked(id, &records, None)? {
        let (errors, conflict) = refusal_errors(refusal);
        return calendar(request, id, &resource, &access, &errors, conflict);
    }
    let chain = model::resource_chain(id, resource.domain);
    let (first_id, first) = &records[0];
    let when = describe_when(&booking.days, &booking.slot);
    if status == Status::Pending {
        send(Notification {
            recipients: validators(&chain),
            subject: format!("Réservation à valider : {}", resource.name),
            body: format!(
                "{} demande à réserver {} {when}{}. Cette réservation attend votre validation.",
                caller.display_name,
                resource.name,
                object_suffix(&first.object)
            ),
            link: format!("/reservation/{first_id}"),
        });
    }
    notify_threshold(
        threshold,
        &reached,
        &chain,
        &caller.display_name,
        &format!("en réservant {} {when}", resource.name),
        &format!("/r/{id}?date={}", first.day.iso()),
    );
    Ok(Response::redirect(&format!(
        "/r/{id}?date={}",
        first.day.iso()
    )))
}

pub(crate) fn object_suffix(object: &str) -> String {
    if object.is_empty() {
        String::new()
    } else {
        format!(" (« {object} »)")
    }
}

pub(crate) fn describe_when(days: &[Day], slot: &Slot) -> String {
    match days {
        [one] => format!("le {} de {}", one.french(), slot.french()),
        [first, .., last] => format!(
            "de {} chaque occurrence, du {} au {} ({} occurrences)",
            slot.french(),
            first.french(),
            last.french(),
            days.len()
        ),
        [] => String::new(),
    }
}

/// GET /r/{id}/supprimer — the confirmation: the resource and how many
/// reservations (upcoming and past) go with it. Changes nothing.
pub(crate) fn confirm_delete_resource(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    if !resource_access(id, &resource).manage {
        return Err(Error::Forbidden);
    }
    let today = request.invocation().local_now().date;
    let reservations = Table::<Reservation>::new().scan_index(
        &model::resource_index(id),
        None,
        MAX_SCAN,
        Order::OldestFirst,
    )?;
    let upcoming = reservations.iter().filter(|(_, r)| r.day >= today).count();
    let past = reservations.len() - upcoming;
    let authors: std::collections::BTreeSet<&str> = reservations
        .iter()
        .filter(|(_, r)| r.day >= today)
        .map(|(_, r)| r.author_name.as_str())
        .collect();
    let mut losses = vec![format!(
        "La ressource « {} », son calendrier et ses droits d'accès.",
        resource.name
    )];
    losses.push(match upcoming {
        0 => "Aucune réservation à venir.".to_string(),
        1 => "1 réservation à venir, sans prévenir son auteur.".to_string(),
        n => format!("{n} réservations à venir, sans prévenir leurs auteurs."),
    });
    if !authors.is_empty() {
        let names: Vec<&str> = authors.into_iter().collect();
        losses.push(format!("Réservations à venir de : {}.", names.join(", ")));
    }
    if past > 0 {
        losses.push(format!(
            "{past} réservation(s) passée(s) : elles disparaissent des statistiques."
        ));
    }
    confirm_page(
        request,
        &format!("Supprimer la ressource « {} » ?", resource.name),
        &losses,
        &format!("/r/{id}"),
        Some(
            json!({ "name": domain_name(resource.domain), "url": request.url(&format!("/d/{}", resource.domain)) }),
        ),
        &resource.name,
    )
}

/// The confirmation page of a deletion posted to `{base}/supprimer`.
pub(crate) fn confirm_page(
    request: &Request,
    heading: &str,
    losses: &[String],
    base: &str,
    parent: Option<serde_json::Value>,
    name: &str,
) -> Result<Response> {
    Ok(Response::page(
        "confirm_delete.html",
        heading,
        &json!({
            "home_url": request.url("/"),
            "heading": heading,
            "losses": losses,
            "parent": parent,
            "name": name,
            "object_url": request.url(base),
            "cancel_url": request.url(&format!("{base}/parametres")),
            "action_url": request.url(&format!("{base}/supprimer")),
        }),
    ))
}

pub(crate) fn delete_resource(_request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    if !resource_access(id, &resource).manage {
        return Err(Error::Forbidden);
    }
    let table = Table::<Reservation>::new();
    for rid in table.scan_index_ids(
        &model::resource_index(id),
        None,
        MAX_SCAN,
        Order::OldestFirst,
    ) {
        table.delete(rid)?;
    }
    Table::<Resource>::new().delete(id)?;
    store::remove(&version_key(id))?;
    Ok(Response::redirect(&format!("/d/{}", resource.domain)))
}
