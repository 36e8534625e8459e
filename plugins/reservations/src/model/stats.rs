//! Statistics of reservations (counts and hours per person and per bucket) and
//! their accessible SVG bar chart. Pure: tested with the rest of the model.

use preau_sdk::text::escape;

use super::*;

/// Use of a resource over a period.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub hours: String,
    pub by_user: Vec<UserStats>,
    /// One bar per bucket (a day of a week, a week of a month): label, minutes.
    pub bars: Vec<(String, u32)>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UserStats {
    pub name: String,
    pub count: usize,
    pub hours: String,
    pub minutes: u32,
}

/// Statistics of `reservations` within `[from, to)`; `buckets` = (label, first day) in
/// order, each running to the next one's first day (the last one to `to`).
pub fn stats(reservations: &[Reservation], from: Day, to: Day, buckets: &[(String, Day)]) -> Stats {
    let within: Vec<&Reservation> = reservations
        .iter()
        .filter(|r| r.day >= from && r.day < to)
        .collect();
    let mut by_user: Vec<UserStats> = Vec::new();
    for r in &within {
        let minutes = r.slot.minutes();
        match by_user.iter_mut().find(|u| u.name == r.author_name) {
            Some(u) => {
                u.count += 1;
                u.minutes += minutes;
            }
            None => by_user.push(UserStats {
                name: r.author_name.clone(),
                count: 1,
                hours: String::new(),
                minutes,
            }),
        }
    }
    for u in &mut by_user {
        u.hours = time::french_hours(u.minutes);
    }
    by_user.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.name.cmp(&b.name)));
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, (label, start))| {
            let end = buckets.get(i + 1).map(|(_, d)| *d).unwrap_or(to);
            let minutes = within
                .iter()
                .filter(|r| r.day >= *start && r.day < end)
                .map(|r| r.slot.minutes())
                .sum();
            (label.clone(), minutes)
        })
        .collect();
    Stats {
        count: within.len(),
        hours: time::french_hours(within.iter().map(|r| r.slot.minutes()).sum()),
        by_user,
        bars,
    }
}

/// An accessible SVG bar chart (`role="img"`, `<title>`, and a `<desc>` listing the values)
/// of hours per bucket. The host's autoescape forbids raw HTML from plugins, so the page
/// shows it as an `<img>` with a data URL: this function returns the SVG document.
pub fn bar_chart_svg(title: &str, bars: &[(String, u32)]) -> String {
    let width = 560u32;
    let height = 220u32;
    let (left, bottom, top) = (40u32, 30u32, 20u32);
    let max = bars.iter().map(|(_, m)| *m).max().unwrap_or(0).max(60);
    let plot_h = height - bottom - top;
    let slot_w = if bars.is_empty() {
        0
    } else {
        (width - left - 10) / bars.len() as u32
    };
    let desc: Vec<String> = bars
        .iter()
        .map(|(label, m)| format!("{label} : {}", time::french_hours(*m)))
        .collect();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"t d\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\"><title id=\"t\">{}</title><desc id=\"d\">{}</desc>",
        escape(title),
        escape(&desc.join(" ; "))
    );
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555\"/>",
        height - bottom,
        width - 5,
        height - bottom
    ));
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        left - 4,
        top + 4,
        escape(&time::french_hours(max))
    ));
    for (i, (label, minutes)) in bars.iter().enumerate() {
        let h = (u64::from(*minutes) * u64::from(plot_h) / u64::from(max)) as u32;
        let x = left + 5 + i as u32 * slot_w;
        let w = slot_w.saturating_sub(10).max(4);
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{h}\" fill=\"#2f6f4f\"><title>{}</title></rect>",
            height - bottom - h,
            escape(&format!("{label} : {}", time::french_hours(*minutes)))
        ));
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x + w / 2,
            height - bottom + 14,
            escape(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A `data:` URL of an SVG document (percent-encoded, for an `<img src>`).
pub fn svg_data_url(svg: &str) -> String {
    let mut out = String::from("data:image/svg+xml;charset=utf-8,");
    for b in svg.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b' ' => {
                out.push(if b == b' ' { ' ' } else { b as char })
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out.replace(' ', "%20")
}
