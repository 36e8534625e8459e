//! What is wrong in a file, said so that an administrator can find it.

use std::fmt;

/// One thing wrong in a file: where (line, element) and what, in French.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the element (0 when the whole file is concerned).
    pub line: usize,
    /// The element, as written in the file (`Cours`, `Professeur`), if any.
    pub element: Option<String>,
    /// What is wrong, in French, without the position.
    pub message: String,
}

impl Problem {
    /// A problem of the whole file (no line, no element).
    pub fn file(message: impl Into<String>) -> Problem {
        Problem {
            line: 0,
            element: None,
            message: message.into(),
        }
    }

    /// A problem at `line`, in `element`.
    pub fn at(line: usize, element: &str, message: impl Into<String>) -> Problem {
        Problem {
            line,
            element: Some(element.to_owned()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    /// « ligne 12, élément <Cours> : l'attribut Jour vaut « 9 » … ».
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.element) {
            (0, None) => write!(f, "{}", self.message),
            (0, Some(element)) => write!(f, "élément <{element}> : {}", self.message),
            (line, None) => write!(f, "ligne {line} : {}", self.message),
            (line, Some(element)) => {
                write!(f, "ligne {line}, élément <{element}> : {}", self.message)
            }
        }
    }
}

/// The problems of one file, in the order of the file, at most [`Problems::MAX`]
/// kept (a file wrong everywhere is reported by its first problems and a count).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    /// The problems kept.
    pub list: Vec<Problem>,
    /// How many more were found and not kept.
    pub more: usize,
}

impl Problems {
    /// Problems kept before the rest are only counted.
    pub const MAX: usize = 100;

    /// Records a problem.
    pub fn push(&mut self, problem: Problem) {
        if self.list.len() < Self::MAX {
            self.list.push(problem);
        } else {
            self.more += 1;
        }
    }

    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every problem on its own line, then « … et N autres problèmes ».
    pub fn report(&self) -> String {
        let mut lines: Vec<String> = self.list.iter().map(ToString::to_string).collect();
        if self.more > 0 {
            lines.push(format!("… et {} autres problèmes", self.more));
        }
        lines.join("\n")
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report())
    }
}

impl std::error::Error for Problems {}
