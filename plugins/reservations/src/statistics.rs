//! Statistics of a resource by week or month, with their SVG chart.

use super::*;

pub(crate) fn statistics(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    if !resource_access(id, &resource).moderate {
        return Err(Error::Forbidden);
    }
    let today = request.invocation().local_now().date;
    let date = request
        .query("date")
        .and_then(model::parse_day)
        .unwrap_or(today);
    let week = request.query("periode") == Some("semaine");
    let (from, to, buckets, label, prev, next) = if week {
        let monday = date.monday();
        let buckets: Vec<(String, Day)> = (0..7)
            .map(|i| (monday.add_days(i).french_short(), monday.add_days(i)))
            .collect();
        (
            monday,
            monday.add_days(7),
            buckets,
            format!("semaine du {}", monday.french()),
            monday.add_days(-7),
            monday.add_days(7),
        )
    } else {
        let start = date.first_of_month();
        let end = date.first_of_month().add_months(1);
        let mut buckets = vec![(format!("sem. du {}", start.day_month()), start)];
        let mut monday = start.monday().add_days(7);
        while monday < end {
            buckets.push((format!("sem. du {}", monday.day_month()), monday));
            monday = monday.add_days(7);
        }
        (
            start,
            end,
            buckets,
            start.month_year(),
            start.add_days(-1).first_of_month(),
            end,
        )
    };
    let all: Vec<Reservation> = Table::<Reservation>::new()
        .scan_index(
            &model::resource_index(id),
            None,
            MAX_SCAN,
            Order::OldestFirst,
        )?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.day >= from && r.day < to)
        .collect();
    let stats = model::stats(&all, from, to, &buckets);
    let title = format!("Heures réservées — {} — {label}", resource.name);
    let chart = model::svg_data_url(&model::bar_chart_svg(&title, &stats.bars));
    let periode = if week { "semaine" } else { "mois" };
    let link = |d: Day, p: &str| {
        request.url(&format!(
            "/r/{id}/statistiques?periode={p}&date={}",
            d.iso()
        ))
    };
    let bars: Vec<Value> = stats
        .bars
        .iter()
        .map(|(l, m)| json!({ "label": l, "hours": time::french_hours(*m) }))
        .collect();
    Ok(Response::page(
        "statistics.html",
        &format!("Statistiques — {}", resource.name),
        &json!({
            "home_url": request.url("/"),
            "resource_url": request.url(&format!("/r/{id}")),
            "resource": { "name": resource.name },
            "label": label,
            "week": week,
            "stats": stats,
            "bars": bars,
            "chart_url": chart,
            "chart_title": title,
            "prev_url": link(prev, periode),
            "next_url": link(next, periode),
            "week_url": link(from, "semaine"),
            "month_url": link(from, "mois"),
        }),
    ))
}
