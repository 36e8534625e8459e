//! A small element tree with line numbers, for the files small enough to hold
//! whole (STS Web, SIECLE nomenclatures): reading them is then a walk with
//! paths, and every problem can name its line.

use preau_text::xml::{error_fr, line_at};
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use crate::{Problem, Problems};

/// An element: name, attributes, text (trimmed), children, line.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
    pub line: usize,
}

/// Reads `bytes` (charset from the BOM or the XML declaration) into a tree.
/// Syntax errors end the reading with one problem naming the line.
pub(crate) fn read(bytes: &[u8]) -> Result<Node, Problems> {
    let mut problems = Problems::default();
    let text = preau_text::charset::decode(bytes, None).map_err(|unknown| {
        let mut problems = Problems::default();
        problems.push(Problem::file(format!(
            "encodage inconnu : « {} » (le fichier doit être en UTF-8 ou en ISO-8859-1)",
            unknown.0
        )));
        problems
    })?;
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    let mut lines = Lines::default();
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                problems.push(Problem {
                    line: line_at(&text, reader.error_position()),
                    element: None,
                    message: format!("XML invalide : {}", error_fr(&e)),
                });
                return Err(problems);
            }
        };
        match event {
            Event::Start(tag) => stack.push(node(&tag, lines.at(&text, start), &mut problems)),
            Event::Empty(tag) => {
                let node = node(&tag, lines.at(&text, start), &mut problems);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(content) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(content.as_ref());
                }
            }
            Event::CData(content) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(content.as_ref());
                }
            }
            Event::GeneralRef(name) => {
                if let Some(open) = stack.last_mut() {
                    let name: &str = name.as_ref();
                    match preau_text::entities::reference(name) {
                        Some(text) => open.text.push_str(&text),
                        None => problems.push(Problem::at(
                            lines.at(&text, start),
                            &open.name,
                            format!("référence d'entité inconnue « &{name}; »"),
                        )),
                    }
                }
            }
            Event::End(_) => {
                let Some(mut done) = stack.pop() else {
                    continue;
                };
                // An entity escaped once more (`&amp;eacute;`) is decoded too.
                done.text = preau_text::entities::decode(done.text.trim()).into_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        problems.push(Problem {
            line: open.line,
            element: None,
            message: format!("XML invalide : la balise <{}> n'est pas fermée", open.name),
        });
        return Err(problems);
    }
    match root {
        Some(root) if problems.is_empty() => Ok(root),
        Some(_) => Err(problems),
        None => {
            problems.push(Problem::file("Le fichier est vide : aucun élément XML."));
            Err(problems)
        }
    }
}

/// Line numbers of increasing offsets, each newline counted once (a file of
/// a hundred thousand elements is not rescanned from its start each time).
#[derive(Default)]
pub(crate) struct Lines {
    offset: usize,
    line: usize,
}

impl Lines {
    /// The 1-based line of `offset` in `text`.
    pub fn at(&mut self, text: &str, offset: u64) -> usize {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        if offset < self.offset {
            return line_at(text, offset as u64);
        }
        self.line = self.line.max(1)
            + text.as_bytes()[self.offset..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        self.offset = offset;
        self.line
    }
}

fn node(tag: &BytesStart, line: usize, problems: &mut Problems) -> Node {
    let (name, attributes) = name_and_attributes(tag, line, problems);
    Node {
        name,
        attributes,
        line,
        ..Node::default()
    }
}

/// An element's local name and attributes, values unescaped and trimmed.
/// HTML entities (`&eacute;`), common in these exports, are known, and an
/// entity escaped once more (`&amp;eacute;`) is decoded too.
pub(crate) fn name_and_attributes(
    tag: &BytesStart,
    line: usize,
    problems: &mut Problems,
) -> (String, Vec<(String, String)>) {
    let name = tag.local_name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attribute in tag.attributes().with_checks(true) {
        let Ok(attribute) = attribute else {
            problems.push(Problem::at(line, &name, "attribut mal formé"));
            continue;
        };
        let key = attribute.key.local_name().as_ref().to_owned();
        let value = attribute.normalized_value_with(XmlVersion::Implicit1_0, 1, |entity| {
            resolve_predefined_entity(entity).or_else(|| preau_text::entities::named(entity))
        });
        match value {
            Ok(value) => {
                attributes.push((key, preau_text::entities::decode(value.trim()).into_owned()))
            }
            Err(_) => problems.push(Problem::at(
                line,
                &name,
                format!("l'attribut {key} contient une référence d'entité inconnue ou mal formée"),
            )),
        }
    }
    (name, attributes)
}

impl Node {
    /// An attribute's value, if present and not empty.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The children named `name`.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The node at a `/`-separated path of first children.
    pub fn at(&self, path: &str) -> Option<&Node> {
        path.split('/')
            .try_fold(self, |node, name| node.child(name))
    }

    /// Every node at a path whose last step may repeat (`A/B/C`: all the `C`
    /// of the first `A/B`).
    pub fn all<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Node> {
        let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = if parent.is_empty() {
            Some(self)
        } else {
            self.at(parent)
        };
        parent.into_iter().flat_map(move |p| p.children(last))
    }

    /// The text of the child `name`, if present and not empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.as_str())
            .filter(|t| !t.is_empty())
    }

    /// A problem at this node.
    pub fn problem(&self, message: impl Into<String>) -> Problem {
        Problem::at(self.line, &self.name, message)
    }
}
