//! Week masks: bit *n* is week *n* of the school year, 1 to [`Weeks::LAST`].

use std::fmt;

/// A set of weeks of the school year, as EDT writes them (`Semaines`: a
/// decimal number whose bit *n* is week *n*; bit 0 is never set).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Weeks(u64);

impl Weeks {
    /// No week.
    pub const NONE: Weeks = Weeks(0);
    /// The last week a year can have: 53 weeks cover any school year.
    pub const LAST: u8 = 53;

    /// Weeks `first..=last`.
    pub fn range(first: u8, last: u8) -> Weeks {
        (first.max(1)..=last.min(Self::LAST)).fold(Weeks::NONE, |w, n| w.with(n))
    }

    /// Reads `Semaines`: a decimal number without sign whose bits are weeks 1
    /// to 53. Else what is wrong, in French.
    pub fn parse(text: &str) -> Result<Weeks, String> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "« {} » n'est pas un masque de semaines (un nombre entier attendu)",
                shown(text)
            ));
        }
        let value: u64 = text
            .parse()
            .map_err(|_| format!("le masque de semaines « {} » est trop grand", shown(text)))?;
        if value & 1 != 0 {
            return Err(format!(
                "le masque de semaines « {text} » contient une semaine 0, qui n'existe pas"
            ));
        }
        if value >> (Self::LAST + 1) != 0 {
            let highest = 63 - value.leading_zeros();
            return Err(format!(
                "le masque de semaines « {text} » contient la semaine {highest} ; une année en a au plus {}",
                Self::LAST
            ));
        }
        Ok(Weeks(value))
    }

    /// The number as the file writes it.
    pub fn to_file(self) -> String {
        self.0.to_string()
    }

    /// This set and week `n`.
    pub fn with(self, n: u8) -> Weeks {
        match n {
            1..=Self::LAST => Weeks(self.0 | 1 << n),
            _ => self,
        }
    }

    /// This set without week `n`.
    pub fn without(self, n: u8) -> Weeks {
        Weeks(self.0 & !(1u64.checked_shl(u32::from(n)).unwrap_or(0)))
    }

    /// Whether week `n` is in the set.
    pub fn contains(self, n: u8) -> bool {
        (1..=Self::LAST).contains(&n) && self.0 & 1 << n != 0
    }

    /// Weeks in either set.
    pub fn union(self, other: Weeks) -> Weeks {
        Weeks(self.0 | other.0)
    }

    /// Weeks of this set not in `other`.
    pub fn minus(self, other: Weeks) -> Weeks {
        Weeks(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many weeks.
    pub fn count(self) -> u32 {
        self.0.count_ones()
    }

    /// The weeks, in order.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (1..=Self::LAST).filter(move |&n| self.contains(n))
    }
}

impl fmt::Debug for Weeks {
    /// `Weeks[1-7, 10, 12-20]`: runs, readable in test failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(u8, u8)> = Vec::new();
        for n in self.iter() {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == n => *last = n,
                _ => runs.push((n, n)),
            }
        }
        let runs: Vec<String> = runs
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        write!(f, "Weeks[{}]", runs.join(", "))
    }
}

/// A value as shown in a message: bounded, so that a huge attribute stays readable.
fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(30).collect();
    if text.chars().count() > 30 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_n_is_week_n() {
        let weeks = Weeks::parse("14").unwrap(); // 0b1110
        assert_eq!(weeks.iter().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(Weeks::range(1, 3), weeks);
        assert_eq!(weeks.to_file(), "14");
        let all = Weeks::range(1, 53);
        assert_eq!(Weeks::parse(&all.to_file()), Ok(all));
        assert_eq!(all.count(), 53);
        assert_eq!(
            format!("{:?}", all.without(8).without(9)),
            "Weeks[1-7, 10-53]"
        );
        assert!(Weeks::parse("0").unwrap().is_empty());
    }

    #[test]
    fn what_is_no_mask_is_said() {
        assert!(Weeks::parse("").unwrap_err().contains("un nombre entier"));
        assert!(Weeks::parse("-2").unwrap_err().contains("« -2 »"));
        assert!(Weeks::parse("0x1F").unwrap_err().contains("masque"));
        assert!(Weeks::parse("3").unwrap_err().contains("semaine 0"));
        let beyond = (1u64 << 60).to_string();
        assert!(Weeks::parse(&beyond).unwrap_err().contains("semaine 60"));
        assert!(
            Weeks::parse("99999999999999999999999")
                .unwrap_err()
                .contains("trop grand")
        );
    }
}
