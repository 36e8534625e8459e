//! Results of a diffusion: synthesis per question, bar-chart geometry for the
//! server-side SVG (the CSV export is the SDK's `text::csv`). Pure: unit-tested natively.

use serde::Serialize;

use crate::answer::{Valeur, correct, display};
use crate::model::{Formulaire, Kind, fmt_num};

/// A percentage the French way: `12,2 %`.
pub fn fmt_pct(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "0 %".into();
    }
    let p = (part as f64 * 1000.0 / whole as f64).round() / 10.0;
    format!("{} %", fmt_num(p))
}

/// One bar of a horizontal bar chart (coordinates in SVG user units).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bar {
    pub label: String,
    /// The label as drawn (shortened).
    pub short: String,
    pub count: usize,
    pub pct: String,
    pub y: u32,
    pub text_y: u32,
    pub width: u32,
    pub value_x: u32,
}

/// A horizontal bar chart, drawn by the template as an accessible inline SVG.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chart {
    pub title: String,
    /// Text alternative: every label with its percentage and count.
    pub desc: String,
    pub width: u32,
    pub height: u32,
    pub bar_x: u32,
    pub bars: Vec<Bar>,
}

const ROW: u32 = 28;
const BAR_X: u32 = 210;
const BAR_MAX: u32 = 300;
const LABEL_CHARS: usize = 30;

/// A chart of `(label, count)` rows, percentages of `whole`.
pub fn chart(title: &str, rows: &[(String, usize)], whole: usize) -> Chart {
    let bars: Vec<Bar> = rows
        .iter()
        .enumerate()
        .map(|(i, (label, count))| {
            let width = if whole == 0 {
                0
            } else {
                ((*count as f64 / whole as f64).min(1.0) * BAR_MAX as f64).round() as u32
            };
            let short = if label.chars().count() > LABEL_CHARS {
                format!(
                    "{}…",
                    label.chars().take(LABEL_CHARS - 1).collect::<String>()
                )
            } else {
                label.clone()
            };
            let y = 8 + i as u32 * ROW;
            Bar {
                label: label.clone(),
                short,
                count: *count,
                pct: fmt_pct(*count, whole),
                y,
                text_y: y + 14,
                width,
                value_x: BAR_X + width + 8,
            }
        })
        .collect();
    let desc = bars
        .iter()
        .map(|b| format!("{} : {} ({})", b.label, b.pct, b.count))
        .collect::<Vec<_>>()
        .join(" ; ");
    Chart {
        title: title.to_string(),
        desc,
        width: BAR_X + BAR_MAX + 110,
        height: 16 + bars.len() as u32 * ROW,
        bar_x: BAR_X,
        bars,
    }
}

/// Mean, minimum and maximum of numeric answers (French text).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub mean: String,
    pub min: String,
    pub max: String,
}

/// A choice's average rank.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rank {
    pub label: String,
    pub mean: String,
}

/// The synthesis of one question.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionSynthesis {
    pub number: usize,
    pub intitule: String,
    pub kind: &'static str,
    pub section: bool,
    /// Respondents who answered it.
    pub answered: usize,
    pub chart: Option<Chart>,
    pub stats: Option<Stats>,
    pub ranks: Vec<Rank>,
    pub texts: Vec<String>,
    /// Share of correct answers (scored forms).
    pub success: Option<String>,
}

/// The synthesis of a whole diffusion.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Synthesis {
    pub responses: usize,
    pub questions: Vec<QuestionSynthesis>,
    /// Distribution of scores (scored forms).
    pub scores: Option<Chart>,
    pub mean_score: Option<String>,
}

/// Synthesises `answers` (one list of values per response, with its score).
pub fn synthesis(form: &Formulaire, answers: &[(Vec<Valeur>, Option<f64>)]) -> Synthesis {
    let mut questions = Vec::new();
    let mut number = 0;
    for (i, q) in form.questions.iter().enumerate() {
        if q.kind == Kind::Section {
            questions.push(QuestionSynthesis {
                number: 0,
                intitule: q.intitule.clone(),
                kind: q.kind.id(),
                section: true,
                answered: 0,
                chart: None,
                stats: None,
                ranks: Vec::new(),
                texts: Vec::new(),
                success: None,
            });
            continue;
        }
        number += 1;
        let values: Vec<&Valeur> = answers
            .iter()
            .filter_map(|(v, _)| v.get(i))
            .filter(|v| **v != Valeur::Vide)
            .collect();
        let answered = values.len();
        let title = format!("Question {number} : {}", q.intitule);
        let mut s = QuestionSynthesis {
            number,
            intitule: q.intitule.clone(),
            kind: q.kind.id(),
            section: false,
            answered,
            chart: None,
            stats: None,
            ranks: Vec::new(),
            texts: Vec::new(),
            success: None,
        };
        match q.kind {
            Kind::ChoixUnique | Kind::ChoixMultiple => {
                let rows: Vec<(String, usize)> = q
                    .choix
                    .iter()
                    .enumerate()
                    .map(|(c, label)| {
                        let n = values
                            .iter()
                            .filter(|v| matches!(v, Valeur::Choix(ch) if ch.contains(&c)))
                            .count();
                        (label.clone(), n)
                    })
                    .collect();
                s.chart = Some(chart(&title, &rows, answered));
                if q.graded() {
                    let ok = answers
                        .iter()
                        .filter(|(v, _)| v.get(i).and_then(|v| correct(q, v)).unwrap_or(false))
                        .count();
                    s.success = Some(fmt_pct(ok, answers.len()));
                }
            }
            Kind::Nombre | Kind::Echelle => {
                let nums: Vec<f64> = values
                    .iter()
                    .filter_map(|v| match v {
                        Valeur::Nombre(n) => Some(*n),
                        _ => None,
                    })
                    .collect();
                if !nums.is_empty() {
                    let sum: f64 = nums.iter().sum();
                    s.stats = Some(Stats {
                        mean: fmt_num(sum / nums.len() as f64),
                        min: fmt_num(nums.iter().cloned().fold(f64::INFINITY, f64::min)),
                        max: fmt_num(nums.iter().cloned().fold(f64::NEG_INFINITY, f64::max)),
                    });
                }
                let mut distinct: Vec<f64> = if q.kind == Kind::Echelle {
                    let (min, max) = (q.min.unwrap_or(1.0) as i64, q.max.unwrap_or(5.0) as i64);
                    (min..=max).map(|n| n as f64).collect()
                } else {
                    let mut d = nums.clone();
                    d.sort_by(|a, b| a.total_cmp(b));
                    d.dedup();
                    d
                };
                distinct.truncate(30);
                let rows: Vec<(String, usize)> = distinct
                    .iter()
                    .map(|d| (fmt_num(*d), nums.iter().filter(|n| *n == d).count()))
                    .collect();
                s.chart = Some(chart(&title, &rows, nums.len()));
            }
            Kind::Classement => {
                let mut ranks: Vec<(String, f64)> = q
                    .choix
                    .iter()
                    .enumerate()
                    .map(|(c, label)| {
                        let positions: Vec<usize> = values
                            .iter()
                            .filter_map(|v| match v {
                                Valeur::Classement(order) => {
                                    order.iter().position(|x| *x == c).map(|p| p + 1)
                                }
                                _ => None,
                            })
                            .collect();
                        let mean = if positions.is_empty() {
                            0.0
                        } else {
                            positions.iter().sum::<usize>() as f64 / positions.len() as f64
                        };
                        (label.clone(), mean)
                    })
                    .collect();
                ranks.sort_by(|a, b| a.1.total_cmp(&b.1));
                s.ranks = ranks
                    .into_iter()
                    .map(|(label, mean)| Rank {
                        label,
                        mean: fmt_num(mean),
                    })
                    .collect();
            }
            Kind::TexteCourt | Kind::TexteLong | Kind::Date => {
                s.texts = values.iter().map(|v| display(q, v)).collect();
                // Alphabetical, not in arrival order (which could tell who wrote what).
                s.texts.sort();
            }
            Kind::Section => {}
        }
        questions.push(s);
    }
    let (scores, mean_score) = if form.genre.scored() {
        let total: f64 = form
            .questions
            .iter()
            .filter(|q| q.graded())
            .map(|q| q.points())
            .sum();
        let got: Vec<f64> = answers.iter().filter_map(|(_, s)| *s).collect();
        let mut distinct = got.clone();
        distinct.sort_by(|a, b| a.total_cmp(b));
        distinct.dedup();
        let rows: Vec<(String, usize)> = distinct
            .iter()
            .map(|d| {
                (
                    format!("{} / {}", fmt_num(*d), fmt_num(total)),
                    got.iter().filter(|g| *g == d).count(),
                )
            })
            .collect();
        let mean = (!got.is_empty()).then(|| {
            format!(
                "{} / {}",
                fmt_num(got.iter().sum::<f64>() / got.len() as f64),
                fmt_num(total)
            )
        });
        (
            Some(chart("Répartition des scores", &rows, got.len())),
            mean,
        )
    } else {
        (None, None)
    };
    Synthesis {
        responses: answers.len(),
        questions,
        scores,
        mean_score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::import;

    #[test]
    fn percentages_the_french_way() {
        assert_eq!(fmt_pct(6, 49), "12,2 %");
        assert_eq!(fmt_pct(1, 2), "50 %");
        assert_eq!(fmt_pct(0, 0), "0 %");
    }

    #[test]
    fn chart_geometry() {
        let c = chart("Q", &[("A".into(), 6), ("B".into(), 43)], 49);
        assert_eq!(c.bars[0].pct, "12,2 %");
        assert_eq!(c.bars[0].width, 37);
        assert_eq!(c.bars[1].width, 263);
        assert_eq!(c.bars[1].y, 8 + 28);
        assert_eq!(c.height, 16 + 2 * 28);
        assert_eq!(c.desc, "A : 12,2 % (6) ; B : 87,8 % (43)");
        let long = chart("Q", &[("x".repeat(40), 0)], 0);
        assert_eq!(long.bars[0].short.chars().count(), 30);
        assert_eq!(long.bars[0].width, 0);
    }

    #[test]
    fn synthesis_of_each_kind() {
        let form = import(
            r#"{"titre": "T", "genre": "qcm", "questions": [
            {"type": "section", "intitule": "Début"},
            {"type": "choix-unique", "intitule": "Capitale", "choix": ["Paris", "Lyon"], "bonnes_reponses": ["Paris"]},
            {"type": "nombre", "intitule": "Âge"},
            {"type": "classement", "intitule": "Ordre", "choix": ["x", "y"]},
            {"type": "texte-court", "intitule": "Nom"}
        ]}"#,
        )
        .unwrap();
        let answers = vec![
            (
                vec![
                    Valeur::Vide,
                    Valeur::Choix(vec![0]),
                    Valeur::Nombre(12.0),
                    Valeur::Classement(vec![1, 0]),
                    Valeur::Texte("Léa".into()),
                ],
                Some(1.0),
            ),
            (
                vec![
                    Valeur::Vide,
                    Valeur::Choix(vec![1]),
                    Valeur::Nombre(13.0),
                    Valeur::Classement(vec![1, 0]),
                    Valeur::Vide,
                ],
                Some(0.0),
            ),
        ];
        let s = synthesis(&form, &answers);
        assert_eq!(s.responses, 2);
        assert!(s.questions[0].section);
        let q1 = &s.questions[1];
        assert_eq!(q1.number, 1);
        assert_eq!(q1.chart.as_ref().unwrap().bars[0].pct, "50 %");
        assert_eq!(q1.success.as_deref(), Some("50 %"));
        let stats = s.questions[2].stats.as_ref().unwrap();
        assert_eq!(
            (stats.mean.as_str(), stats.min.as_str(), stats.max.as_str()),
            ("12,5", "12", "13")
        );
        assert_eq!(
            s.questions[3].ranks[0],
            Rank {
                label: "y".into(),
                mean: "1".into()
            }
        );
        assert_eq!(s.questions[4].texts, vec!["Léa".to_string()]);
        assert_eq!(s.questions[4].answered, 1);
        assert_eq!(s.mean_score.as_deref(), Some("0,5 / 1"));
        assert_eq!(s.scores.as_ref().unwrap().bars.len(), 2);
    }
}
