//! The directory's search index: name-prefix search, accent- and
//! case-insensitive, within one establishment or the whole region, paginated.
//!
//! # Layout (in [`Space::DirectoryIndex`])
//!
//! For each person and each scope (every UAI of their memberships, and `*` for
//! the region), two entries:
//!
//! - by last name: `<scope>␟n␟<key(last) + " " + key(first)>␟<id>`
//! - by first name: `<scope>␟p␟<key(first) + " " + key(last)>␟<id>`
//!
//! (`␟` is the unit separator `\x1f`; `key` is [`preau_text::fold::search_key`]:
//! it lowercases, removes accents and turns every run of other characters into
//! one space.)
//!
//! Index format 2 ([`INDEX_FORMAT`]): a last-name entry's value is the
//! person's summary in a compact binary form ([`IndexedPerson::encode`]), so a
//! results page needs no other read for them; a first-name entry's value is
//! empty when the folded first name is the text's first word, else the first
//! name's length in bytes (ASCII digits: `jean pierre le gall` → `11`). A
//! first-name match's person is read from its last-name entry in the same
//! scope (its key is the match's sort key), only when it reaches the page or
//! when the query filters by profile, group or function. Format 1 held a JSON
//! [`IndexedPerson`] in every entry (a value starting with `{`); the keys are
//! the same, and both values are read, so a store written by format 1 answers
//! the same results until the start rewrites its values (`directory/reindex.rs`).
//!
//! # Search
//!
//! The query is normalised the same way. Its first word is looked up as a
//! prefix in both indexes; its other words must each start some word of the
//! name (compound names included: "jean gal" finds Jean-Pierre Le Gall). An
//! empty query lists the scope. Results are in the order of the last-name
//! index: last name, then first name (both normalised), then id.
//!
//! The last-name matches of a word are one range of that index, already in
//! order. The first-name matches are grouped by first name instead. When they
//! are few (at most 256 entries within an establishment, 32 region-wide) they
//! are read and sorted. Otherwise each distinct first name is found with one
//! seek, and its block (`<first> <last>…`, in last-name order) becomes one more
//! sorted source. The sources are merged lazily: each one knows a lower bound
//! of what it has left, and only the source with the smallest bound is read
//! further. A block whose next last name could be followed by a compound one
//! ("Le" then "Le Gall", which sorts differently once the first name is
//! appended) is checked with one seek before its entries are released. So page
//! 1 of a region-wide search reads a few dozen entries even when 100 000
//! people match. When other words reject a name, the rest of the run of
//! entries with that same name is skipped with one seek.
//!
//! One approximation: a compound first name whose first word is itself a first
//! name with its own block (Marie-Lou, next to Marie) is read inside that
//! name's block, so it comes out where that block reaches it rather than at its
//! place by last name. It still appears exactly once over the pages. Within
//! one establishment, where the first-name matches are usually few enough to
//! be read at once, the order is exact.
//!
//! Work is bounded: at most [`MAX_SCANNED`] index entries are read per query;
//! beyond that, what was found is returned. Queries with several words may
//! reach it: a block with no match has to be stepped through one distinct name
//! per seek, since any word of a compound name may match.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::Result;

use super::User;
pub use super::summary::IndexedPerson;
use super::summary::of_value as summary;
use crate::store::{Entry, Op, Space, Store};

/// The scope of the whole region.
pub const REGION_SCOPE: &str = "*";

/// Most index entries read by one query.
pub const MAX_SCANNED: usize = 20_000;

/// Largest page size honoured.
pub const MAX_PER_PAGE: usize = 200;

/// Within an establishment, first-name matches up to this many entries are
/// read at once and sorted.
const COLLECT_CAP: usize = 256;
/// The same, region-wide.
const REGION_COLLECT_CAP: usize = 32;

const SEP: u8 = 0x1f;

/// The format of the index's values written by [`index_ops`] (see the module documentation).
pub const INDEX_FORMAT: u64 = 2;

/// A search.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// What was typed: one or more name prefixes, any case and accents.
    pub text: String,
    /// The establishment's UAI; None searches the whole region.
    pub scope: Option<String>,
    /// Keep only this profile code (in the scope's establishment, or anywhere region-wide).
    pub profile: Option<String>,
    /// Keep only members of one of these groups (a class, or every class of a level); None: no filter.
    pub groups: Option<Vec<String>>,
    /// Keep only people whose function or discipline contains this text.
    pub function: Option<String>,
    /// 1-based (0 is read as 1).
    pub page: usize,
    /// Results per page (1 to [`MAX_PER_PAGE`]).
    pub per_page: usize,
}

/// One page of results.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// The people of this page, by last name then first name.
    pub people: Vec<IndexedPerson>,
    /// Whether a next page has results.
    pub has_next: bool,
}

/// The key of a name, a query word or a function: [`preau_text::fold::search_key`]
/// (lowercase, accents removed — é→e, ç→c, œ→oe… —, every run of other characters
/// turned into one space, trimmed).
///
/// Stored keys are made with it: the rule must not change what it gives for existing
/// names without a rebuild of the index (`keys_of_the_stored_index_do_not_change`
/// pins it).
fn key_text(s: &str) -> String {
    preau_text::fold::search_key(s)
}

/// Every scope a user is listed in: their establishments and the region.
fn scopes(user: &User) -> BTreeSet<&str> {
    user.memberships
        .iter()
        .map(|m| m.uai.as_str())
        .chain([REGION_SCOPE])
        .collect()
}

fn index_key(scope: &str, kind: char, text: &str, id: &str) -> Vec<u8> {
    format!("{scope}\x1f{kind}\x1f{text}\x1f{id}").into_bytes()
}

/// A user's entries: (key, format-2 value).
fn index_entries(user: &User) -> Vec<(Vec<u8>, Vec<u8>)> {
    let last = key_text(&user.last_name);
    let first = key_text(&user.first_name);
    let by_last = format!("{last} {first}");
    let by_first = format!("{first} {last}");
    let summary = IndexedPerson::of(user).encode();
    // Empty when the first name is the first word of `by_first`.
    let first_value = if first.contains(' ') {
        first.len().to_string().into_bytes()
    } else {
        Vec::new()
    };
    scopes(user)
        .into_iter()
        .flat_map(|scope| {
            [
                (index_key(scope, 'n', &by_last, &user.id), summary.clone()),
                (
                    index_key(scope, 'p', &by_first, &user.id),
                    first_value.clone(),
                ),
            ]
        })
        .collect()
}

/// The keys of a user's entries.
fn index_keys(user: &User) -> Vec<Vec<u8>> {
    index_entries(user).into_iter().map(|(k, _)| k).collect()
}

/// The index entries of `user` (puts). Write them in the same batch as the
/// user record; when a user changes, [`unindex_ops`] of the old record first.
pub fn index_ops(user: &User) -> Vec<Op> {
    index_entries(user)
        .into_iter()
        .map(|(key, value)| Op::Put(key, value))
        .collect()
}

/// The value format 1 wrote in each of `user`'s entries (the same keys): a JSON
/// [`IndexedPerson`]. Still read; `preau store check` accepts it.
pub fn legacy_index_value(user: &User) -> Vec<u8> {
    serde_json::to_vec(&IndexedPerson::of(user)).expect("un résumé se sérialise toujours")
}

/// Deletes of the entries [`index_ops`] wrote for this version of `user`.
pub fn unindex_ops(user: &User) -> Vec<Op> {
    index_keys(user).into_iter().map(Op::Delete).collect()
}

/// Everyone of an establishment, in last-name order, from its index (no scan
/// of the whole region's users).
pub fn everyone_in(store: &dyn Store, uai: &str) -> Result<Vec<IndexedPerson>> {
    let prefix = format!("{uai}\x1fn\x1f");
    let mut people = Vec::new();
    for (key, value) in store.scan(
        Space::DirectoryIndex,
        prefix.as_bytes(),
        None,
        usize::MAX,
        false,
    )? {
        let person = match summary(&value)? {
            Some(person) => Some(person),
            None => split_entry(&key, prefix.len())
                .map(|(_, id)| person_of(store, id))
                .transpose()?
                .flatten(),
        };
        people.extend(person);
    }
    Ok(people)
}

/// The summary of user `id` from their record (None: no such record).
fn person_of(store: &dyn Store, id: &str) -> Result<Option<IndexedPerson>> {
    let Some(record) = store.get(Space::Users, id.as_bytes())? else {
        return Ok(None);
    };
    Ok(Some(IndexedPerson::of(&super::record::decode(&record)?)))
}

/// Searches the index. See the module documentation for the order and bounds.
pub fn search(store: &dyn Store, q: &Query) -> Result<Page> {
    search_with(store, q, None, MAX_SCANNED)
}

/// Conditions every result meets besides matching the scanned word.
struct Filter<'a> {
    /// The query's other words: each must start some word of the name.
    words: &'a [&'a str],
    /// (UAI or None, profile).
    profile: Option<(Option<&'a str>, &'a str)>,
    /// The scope's UAI, for the group and function filters.
    scope: Option<&'a str>,
    groups: Option<&'a [String]>,
    function: Option<&'a str>,
}

impl Filter<'_> {
    fn text(&self, text: &str) -> bool {
        self.words
            .iter()
            .all(|w| text.split(' ').any(|t| t.starts_with(w)))
    }

    /// Whether a candidate's person must be read to decide.
    fn needs_person(&self) -> bool {
        self.profile.is_some() || self.groups.is_some() || self.function.is_some()
    }

    fn person(&self, person: &IndexedPerson) -> bool {
        self.profile
            .is_none_or(|(uai, profile)| person.has_profile(uai, profile))
            && self
                .groups
                .is_none_or(|groups| person.in_any_group(self.scope, groups))
            && self
                .function
                .is_none_or(|f| person.has_function(self.scope, f))
    }
}

/// What a query reads with: the store, its remaining budget, its filter, and
/// the first names that have a block of their own.
struct Reader<'a> {
    store: &'a dyn Store,
    /// Index entries left to read.
    left: usize,
    filter: Filter<'a>,
    blocks: HashSet<String>,
}

impl Reader<'_> {
    /// At most `limit` entries of `prefix` after `after`, and whether the
    /// range ended (or the budget did: the caller stops reading either way).
    fn scan(
        &mut self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool)> {
        let limit = limit.min(self.left);
        if limit == 0 {
            return Ok((Vec::new(), true));
        }
        let entries = self
            .store
            .scan(Space::DirectoryIndex, prefix, after, limit, false)?;
        self.left -= entries.len();
        let complete = entries.len() < limit || self.left == 0;
        Ok((entries, complete))
    }
}

/// An entry's text (between the index prefix and the id) and id.
fn split_entry(key: &[u8], base: usize) -> Option<(&str, &str)> {
    let rest = std::str::from_utf8(key.get(base..)?).ok()?;
    rest.rsplit_once(SEP as char)
}

/// The person of a first-name candidate: from the last-name entry of the same
/// scope (`n_key`, next to the page's other results), else from the record.
fn resolve(store: &dyn Store, id: &str, n_key: &[u8]) -> Result<Option<IndexedPerson>> {
    if let Some(value) = store.get(Space::DirectoryIndex, n_key)?
        && let Some(person) = summary(&value)?
    {
        return Ok(Some(person));
    }
    person_of(store, id)
}

/// The length of the folded first name at the start of a first-name entry's
/// `text`, from its format-2 value (empty: the first word).
fn first_name_len(text: &str, value: &[u8]) -> usize {
    let word = text.find(' ').unwrap_or(text.len());
    if value.is_empty() {
        return word;
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n == text.len() || text.as_bytes().get(n) == Some(&b' '))
        .unwrap_or(word)
}

/// Sort key of the results: the last-name index's key text, then the id.
fn sort_key(last: &str, first: &str, id: &str) -> Vec<u8> {
    format!("{last} {first}\x1f{id}").into_bytes()
}

/// A first-name entry's sort key, and its normalised first name.
fn first_name_entry(
    text: &str,
    id: &str,
    value: &[u8],
    person: Option<&IndexedPerson>,
) -> (Vec<u8>, String) {
    // Format 1: the first name comes from the JSON summary.
    let legacy = person.filter(|_| value.first() == Some(&b'{'));
    let Some(person) = legacy else {
        let split = first_name_len(text, value);
        let (first, last) = (&text[..split], text.get(split + 1..).unwrap_or(""));
        return (sort_key(last, first, id), first.to_string());
    };
    let first = key_text(&person.first_name);
    let last = match text.strip_prefix(first.as_str()) {
        Some(rest) if rest.starts_with(' ') => rest[1..].to_string(),
        // Written by another normalisation: rebuild from the value.
        _ => key_text(&person.last_name),
    };
    (sort_key(&last, &first, id), first)
}

/// A candidate read and kept, not yet released: its id, and its person when
/// already read (a last-name entry, a format-1 value, or a filter that needed
/// it); else the key of its last-name entry, read if it reaches the page.
struct Candidate {
    id: String,
    person: Option<IndexedPerson>,
    n_key: Vec<u8>,
}

enum Kind {
    /// A range of the last-name index: read in result order.
    LastName,
    /// The block of one first name (`<scope>␟p␟<first> `), in last-name order,
    /// plus compound first names starting with it that have no block of their own.
    FirstName {
        first: String,
        /// Text after `<first> ` of the last entry read, and its sort key.
        last_rest: String,
        last_sort: Vec<u8>,
        /// `last_rest` whose compound extensions (`<first> <last_rest> …`) are known absent.
        checked: Option<String>,
    },
    /// First-name matches read at once.
    Collected,
}

/// Candidates from one index range, released in result order by a lazy merge:
/// a source is read only when its lower bound is the smallest of all.
struct Source {
    kind: Kind,
    prefix: Vec<u8>,
    /// Length of `<scope>␟x␟`.
    base: usize,
    after: Option<Vec<u8>>,
    done: bool,
    chunk: usize,
    /// Sort key → candidate; read, filtered, not yet released.
    pending: BTreeMap<Vec<u8>, Candidate>,
    /// Every candidate not read yet sorts at or after this.
    low: Vec<u8>,
}

/// Largest chunk read at once from one source.
const MAX_CHUNK: usize = 1024;
/// Chunk of a source whose entries are mostly rejected by the other words:
/// small, since a rejected run of identical names is skipped with one seek.
const FILTERED_CHUNK: usize = 4;

impl Source {
    fn new(kind: Kind, prefix: Vec<u8>, base: usize, chunk: usize) -> Self {
        let low = prefix[base..].to_vec();
        Source {
            kind,
            prefix,
            base,
            after: None,
            done: false,
            chunk,
            pending: BTreeMap::new(),
            low,
        }
    }

    /// Lower bound of everything this source has left (None: nothing left).
    fn lower(&self) -> Option<&[u8]> {
        let head = self.pending.first_key_value().map(|(k, _)| k.as_slice());
        match (head, self.done) {
            (head, true) => head,
            (Some(head), false) => Some(head.min(self.low.as_slice())),
            (None, false) => Some(self.low.as_slice()),
        }
    }

    /// Whether the first pending candidate can be released.
    fn ready(&self) -> bool {
        self.pending
            .first_key_value()
            .is_some_and(|(k, _)| self.done || *k < self.low)
    }

    /// One step towards knowing more: a check for compound last names, or a read.
    fn advance(&mut self, reader: &mut Reader) -> Result<()> {
        if let Kind::FirstName {
            last_rest,
            last_sort,
            checked,
            ..
        } = &mut self.kind
            && self.after.is_some()
            && checked.as_deref() != Some(last_rest.as_str())
        {
            // Only `<first> <last_rest> …` (a compound last name) could come
            // before the last entry read; one seek tells whether any exists.
            let mut probe = self.prefix.clone();
            probe.extend_from_slice(last_rest.as_bytes());
            probe.push(b' ');
            let (found, _) = reader.scan(&probe, self.after.as_deref(), 1)?;
            if reader.left == 0 {
                self.done = true;
            } else if found.is_empty() {
                *checked = Some(last_rest.clone());
                self.low = last_sort.clone();
                self.low.push(0);
                return Ok(());
            }
        }
        if self.done {
            return Ok(());
        }
        let (entries, complete) = reader.scan(&self.prefix, self.after.as_deref(), self.chunk)?;
        self.done = complete;
        self.read(entries, reader)
    }

    fn read(&mut self, entries: Vec<Entry>, reader: &Reader) -> Result<()> {
        let mut rejected_text = false;
        for (key, value) in &entries {
            rejected_text = !self.take(key, value, reader)?;
        }
        let Some((key, _)) = entries.last() else {
            return Ok(());
        };
        let filtered = !reader.filter.words.is_empty();
        self.after = Some(if filtered && rejected_text {
            // Skip the rest of this run of identical names: the words decided on the name alone.
            self.chunk = FILTERED_CHUNK;
            let end = key.iter().rposition(|&b| b == SEP).unwrap_or(key.len());
            let mut skip = key[..=end.min(key.len() - 1)].to_vec();
            skip.push(0xff);
            skip
        } else {
            self.chunk = (self.chunk * 2).min(MAX_CHUNK);
            key.clone()
        });
        let (text, id) = split_entry(key, self.base).unwrap_or(("", ""));
        match &mut self.kind {
            Kind::LastName => {
                self.low = key[self.base..].to_vec();
                self.low.push(0);
            }
            Kind::FirstName {
                first,
                last_rest,
                last_sort,
                checked,
            } => {
                *last_rest = text.get(first.len() + 1..).unwrap_or("").to_string();
                *last_sort = sort_key(last_rest, first, id);
                if checked.as_deref() == Some(last_rest.as_str()) {
                    self.low = last_sort.clone();
                    self.low.push(0);
                } else {
                    self.low = format!("{last_rest} ").into_bytes();
                }
            }
            Kind::Collected => {}
        }
        Ok(())
    }

    /// Keeps one entry if it matches; false when the other words rejected its name.
    fn take(&mut self, key: &[u8], value: &[u8], reader: &Reader) -> Result<bool> {
        let Some((text, id)) = split_entry(key, self.base) else {
            return Ok(true);
        };
        if !reader.filter.text(text) {
            return Ok(false);
        }
        let mut person = summary(value)?;
        let (sort, own) = match &self.kind {
            Kind::LastName => (key[self.base..].to_vec(), None),
            Kind::FirstName { .. } | Kind::Collected => {
                let (sort, own) = first_name_entry(text, id, value, person.as_ref());
                (sort, Some(own))
            }
        };
        if let (Kind::FirstName { first, .. }, Some(own)) = (&self.kind, &own)
            && own != first
            && reader.blocks.contains(own)
        {
            return Ok(true); // released by that name's own block
        }
        // `<scope>␟n␟` then the sort key: the person's last-name entry.
        let mut n_key = self.prefix[..self.base - 2].to_vec();
        n_key.extend_from_slice(b"n\x1f");
        n_key.extend_from_slice(&sort);
        if reader.filter.needs_person() {
            if person.is_none() {
                person = resolve(reader.store, id, &n_key)?;
            }
            if !person.as_ref().is_some_and(|p| reader.filter.person(p)) {
                return Ok(true);
            }
        }
        let id = id.to_string();
        self.pending.insert(sort, Candidate { id, person, n_key });
        Ok(true)
    }
}

/// The sources of the first-name matches of `word`.
fn first_name_sources(
    reader: &mut Reader,
    scope: &str,
    word: &str,
    collect_cap: usize,
    sources: &mut Vec<Source>,
) -> Result<()> {
    let base = format!("{scope}\x1fp\x1f");
    let prefix = format!("{base}{word}").into_bytes();
    let (entries, complete) = reader.scan(&prefix, None, collect_cap.saturating_add(1))?;
    if complete {
        let mut source = Source::new(Kind::Collected, prefix, base.len(), 0);
        for (key, value) in &entries {
            source.take(key, value, reader)?;
        }
        source.done = true;
        sources.push(source);
        return Ok(());
    }
    // Many matches: one source per distinct first name, skipping from one to the next.
    // The entries already read answer the first skips.
    let mut after: Option<Vec<u8>> = None;
    loop {
        let local = match &after {
            None => entries.first(),
            Some(a) => {
                let i = entries.partition_point(|(k, _)| k <= a);
                entries.get(i)
            }
        };
        let next = match local {
            Some(entry) => Some(entry.clone()),
            None => reader
                .scan(&prefix, after.as_deref(), 1)?
                .0
                .into_iter()
                .next(),
        };
        let Some((key, value)) = next else { break };
        let Some((text, _)) = split_entry(&key, base.len()) else {
            after = Some(key);
            continue;
        };
        let first = match summary(&value)? {
            Some(person) => {
                let first = key_text(&person.first_name);
                if text.starts_with(&first) && text[first.len()..].starts_with(' ') {
                    first
                } else {
                    text.split(' ').next().unwrap_or("").to_string()
                }
            }
            None => text[..first_name_len(text, &value)].to_string(),
        };
        let mut block = format!("{base}{first} ").into_bytes();
        let source_prefix = block.clone();
        block.push(0xff);
        after = Some(block);
        if reader.blocks.insert(first.clone()) {
            let kind = Kind::FirstName {
                first,
                last_rest: String::new(),
                last_sort: Vec::new(),
                checked: None,
            };
            let chunk = if reader.filter.words.is_empty() {
                16
            } else {
                FILTERED_CHUNK
            };
            // The entry just read is the block's first.
            sources.push(Source::new(kind, source_prefix, base.len(), chunk));
            let index = sources.len() - 1;
            sources[index].read(vec![(key, value)], reader)?;
        }
    }
    Ok(())
}

/// [`search`] with explicit bounds (tests exercise both ways of reading first
/// names); `collect_cap` None uses the defaults.
fn search_with(
    store: &dyn Store,
    q: &Query,
    collect_cap: Option<usize>,
    max_scanned: usize,
) -> Result<Page> {
    let scope = q.scope.as_deref().unwrap_or(REGION_SCOPE);
    let per_page = q.per_page.clamp(1, MAX_PER_PAGE);
    let page = q.page.max(1);
    let skip = (page - 1).saturating_mul(per_page);
    let need = page.saturating_mul(per_page).saturating_add(1);
    let text = key_text(&q.text);
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let filter = Filter {
        words: words.get(1..).unwrap_or(&[]),
        profile: q.profile.as_deref().map(|p| (q.scope.as_deref(), p)),
        scope: q.scope.as_deref(),
        groups: q.groups.as_deref(),
        function: q.function.as_deref().filter(|f| !f.trim().is_empty()),
    };
    let mut reader = Reader {
        store,
        left: max_scanned,
        filter,
        blocks: HashSet::new(),
    };
    let base = format!("{scope}\x1fn\x1f");
    let first_chunk = if words.len() > 1 {
        FILTERED_CHUNK
    } else {
        need.clamp(16, MAX_CHUNK)
    };
    let mut sources = vec![Source::new(
        Kind::LastName,
        format!("{base}{}", words.first().copied().unwrap_or("")).into_bytes(),
        base.len(),
        first_chunk,
    )];
    if let Some(word) = words.first() {
        // Region-wide, first names are nearly always many: read few before skipping.
        let cap = collect_cap.unwrap_or(if q.scope.is_some() {
            COLLECT_CAP
        } else {
            REGION_COLLECT_CAP
        });
        first_name_sources(&mut reader, scope, word, cap, &mut sources)?;
    }

    let mut seen = HashSet::new();
    let mut found = Vec::new();
    while found.len() < need {
        let Some(i) = (0..sources.len())
            .filter(|&i| sources[i].lower().is_some())
            .min_by(|&a, &b| sources[a].lower().cmp(&sources[b].lower()))
        else {
            break;
        };
        let source = &mut sources[i];
        if source.ready() {
            if let Some((_, candidate)) = source.pending.pop_first()
                && seen.insert(candidate.id.clone())
            {
                found.push(candidate);
            }
        } else {
            source.advance(&mut reader)?;
        }
        if reader.left == 0 {
            // Out of budget: release what was read, in order.
            for source in &mut sources {
                source.done = true;
            }
        }
    }
    let has_next = found.len() > page.saturating_mul(per_page);
    let mut people = Vec::new();
    for candidate in found.into_iter().skip(skip).take(per_page) {
        match candidate.person {
            Some(person) => people.push(person),
            // A record removed since its entry was read is left out.
            None => people.extend(resolve(store, &candidate.id, &candidate.n_key)?),
        }
    }
    Ok(Page { people, has_next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Membership;
    use crate::store::SledStore;

    /// The index stores these keys: if the folding rule ever gives something else
    /// for them, existing databases stop finding people until the index is rebuilt.
    /// (These are the keys the index has always written.)
    #[test]
    fn keys_of_the_stored_index_do_not_change() {
        for (name, key) in [
            ("Lœwenbrück-Ørsted", "loewenbruck orsted"),
            ("ŞTEFĂNESCU Ștefan", "stefanescu stefan"),
            ("N'Diaye  Zoé", "n diaye zoe"),
            ("Ǎǐǒǔ Ţ Ț", "aiou t t"),
            ("Straße Þór Ĳ Ŀ ſ", "strasse thor ij l s"),
            ("Dvořák Łódź Đoković İlkay", "dvorak lodz dokovic ilkay"),
            ("Ele\u{301}onore x\u{1dc0}y", "eleonore xy"),
            ("Σοφία Nguyễn", "σοφία nguyễn"),
            ("  L’Hôte -- 3e B ", "l hote 3e b"),
        ] {
            assert_eq!(key_text(name), key, "{name}");
        }
    }

    const PILAT: &str = "0420003A";
    const FOREZ: &str = "0420013L";

    struct TempStore {
        store: SledStore,
        dir: std::path::PathBuf,
    }

    impl TempStore {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "preau-search-{name}-{}-{:?}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            let store = SledStore::open(&dir).unwrap();
            TempStore { store, dir }
        }
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn user(id: &str, first: &str, last: &str, memberships: &[(&str, &str)]) -> User {
        User {
            id: id.into(),
            login: format!("{}.{}", key_text(first), key_text(last)).replace(' ', "-"),
            first_name: first.into(),
            last_name: last.into(),
            memberships: memberships
                .iter()
                .map(|(uai, profile)| Membership {
                    uai: (*uai).into(),
                    profile: (*profile).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Each user's record and index entries, as `Directory::save_user` writes them.
    fn load(store: &SledStore, users: &[User]) {
        let ops = users
            .iter()
            .flat_map(|u| [index_ops(u), vec![record(u)]])
            .flatten()
            .collect();
        store.batch(Space::Users, ops).unwrap();
    }

    fn record(user: &User) -> Op {
        Op::Put(
            user.id.clone().into_bytes(),
            crate::directory::record::encode(user),
        )
    }

    fn query(text: &str, scope: Option<&str>) -> Query {
        Query {
            text: text.into(),
            scope: scope.map(str::to_string),
            page: 1,
            per_page: 20,
            ..Default::default()
        }
    }

    fn ids(page: &Page) -> Vec<&str> {
        page.people.iter().map(|p| p.id.as_str()).collect()
    }

    fn find(store: &SledStore, text: &str, scope: Option<&str>) -> Vec<String> {
        ids(&search(store, &query(text, scope)).unwrap())
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    fn sample(store: &SledStore) {
        load(
            store,
            &[
                user("u1", "Émilie", "Lefèvre", &[(PILAT, "eleve")]),
                user("u2", "Jean", "Dupont", &[(PILAT, "enseignant")]),
                user("u3", "Jeanne", "Dupuis", &[(PILAT, "parent")]),
                user("u4", "François", "Œuvray", &[(PILAT, "personnel")]),
                user("u5", "Léa", "Martin", &[(FOREZ, "eleve")]),
                user("u6", "Jean-Pierre", "Le Gall", &[(PILAT, "parent")]),
                user("u7", "Martin", "Durand", &[(PILAT, "eleve")]),
                user(
                    "u8",
                    "Ève",
                    "Dupont",
                    &[(PILAT, "parent"), (FOREZ, "enseignant")],
                ),
            ],
        );
    }

    #[test]
    fn normalisation() {
        assert_eq!(key_text("  Émilie-Anne  LEFÈVRE "), "emilie anne lefevre");
        assert_eq!(key_text("Œuvray d'Alembert"), "oeuvray d alembert");
        assert_eq!(key_text("Ça, c'est ÇA !"), "ca c est ca");
        assert_eq!(key_text("Straße"), "strasse");
        assert_eq!(key_text("e\u{301}le\u{300}ve"), "eleve"); // decomposed accents
        assert_eq!(key_text("--"), "");
    }

    #[test]
    fn accents_and_case_do_not_matter() {
        let db = TempStore::new("accents");
        sample(&db.store);
        assert_eq!(find(&db.store, "lefe", Some(PILAT)), ["u1"]);
        assert_eq!(find(&db.store, "LEFÈ", Some(PILAT)), ["u1"]);
        assert_eq!(find(&db.store, "oeuv", Some(PILAT)), ["u4"]);
        assert_eq!(find(&db.store, "Œuv", Some(PILAT)), ["u4"]);
        assert_eq!(find(&db.store, "EMIL", Some(PILAT)), ["u1"]);
        assert_eq!(find(&db.store, "fran", None), ["u4"]);
    }

    #[test]
    fn first_and_last_names_merge_in_last_name_order() {
        let db = TempStore::new("first");
        sample(&db.store);
        // Last name Martin (Léa, Forez) and first name Martin (Durand).
        assert_eq!(find(&db.store, "mart", None), ["u7", "u5"]);
        // Dupont Ève, Dupont Jean, Dupuis Jeanne; Jean-Pierre Le Gall by first name.
        assert_eq!(find(&db.store, "dup", Some(PILAT)), ["u8", "u2", "u3"]);
        assert_eq!(find(&db.store, "jea", Some(PILAT)), ["u2", "u3", "u6"]);
        let page = search(&db.store, &query("ev", Some(PILAT))).unwrap();
        assert_eq!(page.people[0].first_name, "Ève");
        assert_eq!(page.people[0].login, "eve.dupont");
        assert_eq!(
            page.people[0].profiles,
            [
                (PILAT.to_string(), "parent".to_string()),
                (FOREZ.to_string(), "enseignant".to_string())
            ]
        );
        // Empty query: the whole scope, alphabetically.
        assert_eq!(
            find(&db.store, "", Some(PILAT)),
            ["u8", "u2", "u3", "u7", "u6", "u1", "u4"]
        );
        assert_eq!(find(&db.store, " - ", Some(FOREZ)), ["u8", "u5"]);
    }

    #[test]
    fn several_words() {
        let db = TempStore::new("words");
        sample(&db.store);
        assert_eq!(find(&db.store, "dup jean", Some(PILAT)), ["u2", "u3"]);
        assert_eq!(find(&db.store, "dup jeann", Some(PILAT)), ["u3"]);
        assert_eq!(find(&db.store, "jean dup", Some(PILAT)), ["u2", "u3"]);
        assert_eq!(find(&db.store, "Jean-Pierre", Some(PILAT)), ["u6"]);
        assert_eq!(find(&db.store, "jean gal", Some(PILAT)), ["u6"]);
        assert_eq!(find(&db.store, "le gall", None), ["u6"]);
        assert!(find(&db.store, "dup zo", Some(PILAT)).is_empty());
    }

    #[test]
    fn scopes_are_isolated() {
        let db = TempStore::new("scopes");
        sample(&db.store);
        assert!(find(&db.store, "lea", Some(PILAT)).is_empty());
        assert_eq!(find(&db.store, "lea", Some(FOREZ)), ["u5"]);
        assert_eq!(find(&db.store, "lea", None), ["u5"]);
        assert_eq!(find(&db.store, "mart", Some(PILAT)), ["u7"]);
        assert!(find(&db.store, "x", Some("9999999Z")).is_empty());
    }

    #[test]
    fn profile_filter() {
        let db = TempStore::new("profile");
        sample(&db.store);
        let mut q = query("dup", Some(PILAT));
        q.profile = Some("parent".into());
        assert_eq!(ids(&search(&db.store, &q).unwrap()), ["u8", "u3"]);
        // Ève teaches in Forez, not in Pilat.
        q.profile = Some("enseignant".into());
        assert_eq!(ids(&search(&db.store, &q).unwrap()), ["u2"]);
        q.scope = None;
        assert_eq!(ids(&search(&db.store, &q).unwrap()), ["u8", "u2"]);
        q.scope = Some(FOREZ.into());
        assert_eq!(ids(&search(&db.store, &q).unwrap()), ["u8"]);
    }

    #[test]
    fn pagination() {
        let db = TempStore::new("pages");
        let users: Vec<User> = (0..45)
            .map(|i| {
                user(
                    &format!("u{i:03}"),
                    &format!("Prénom{i:02}"),
                    "Bernard",
                    &[(PILAT, "eleve")],
                )
            })
            .collect();
        load(&db.store, &users);
        let mut all = Vec::new();
        for page in 1..=3 {
            let mut q = query("bern", Some(PILAT));
            q.page = page;
            let result = search(&db.store, &q).unwrap();
            assert_eq!(result.has_next, page < 3);
            assert_eq!(result.people.len(), if page < 3 { 20 } else { 5 });
            all.extend(result.people.into_iter().map(|p| p.id));
        }
        let expected: Vec<String> = (0..45).map(|i| format!("u{i:03}")).collect();
        assert_eq!(all, expected);
        let mut q = query("bern", Some(PILAT));
        q.page = 4;
        let result = search(&db.store, &q).unwrap();
        assert!(result.people.is_empty() && !result.has_next);
    }

    #[test]
    fn unindex_after_a_rename() {
        let db = TempStore::new("rename");
        sample(&db.store);
        let before = user("u2", "Jean", "Dupont", &[(PILAT, "enseignant")]);
        let after = user(
            "u2",
            "Jean",
            "Roux",
            &[(PILAT, "enseignant"), (FOREZ, "enseignant")],
        );
        let mut ops = unindex_ops(&before);
        ops.extend(index_ops(&after));
        ops.push(record(&after));
        db.store.batch(Space::Users, ops).unwrap();
        assert_eq!(find(&db.store, "dup", Some(PILAT)), ["u8", "u3"]);
        assert_eq!(find(&db.store, "roux", Some(PILAT)), ["u2"]);
        assert_eq!(find(&db.store, "roux", Some(FOREZ)), ["u2"]);
        assert_eq!(find(&db.store, "jean", None), ["u3", "u6", "u2"]);
        let page = search(&db.store, &query("roux", None)).unwrap();
        assert_eq!(page.people[0].last_name, "Roux");
        // Removing the person leaves nothing behind.
        let mut ops = unindex_ops(&after);
        ops.push(Op::Delete(b"u2".to_vec()));
        db.store.batch(Space::Users, ops).unwrap();
        assert!(find(&db.store, "roux", None).is_empty());
        assert!(find(&db.store, "jean", Some(FOREZ)).is_empty());
    }

    /// Many first-name matches: the per-name merge gives the same pages as reading them all.
    #[test]
    fn first_name_blocks_merge_like_a_full_read() {
        let db = TempStore::new("blocks");
        let firsts = ["Marie", "Maxime", "Manon", "Mathis", "Maël", "Léo"];
        let lasts = [
            "Le", "Le Gall", "Le Goff", "Lebrun", "Martin", "Abadie", "Marchand", "Zola",
        ];
        let mut users = Vec::new();
        for i in 0..400 {
            users.push(user(
                &format!("u{i}"),
                firsts[(i * 7) % firsts.len()],
                lasts[(i * 3 + i / 11) % lasts.len()],
                &[(if i % 3 == 0 { FOREZ } else { PILAT }, "eleve")],
            ));
        }
        load(&db.store, &users);
        for text in ["ma", "m", "le", "mar", "ma le", ""] {
            for scope in [None, Some(PILAT)] {
                let mut merged = Vec::new();
                let mut read_all = Vec::new();
                for page in 1..=30 {
                    let mut q = query(text, scope);
                    q.page = page;
                    let a = search_with(&db.store, &q, Some(4), MAX_SCANNED).unwrap();
                    let b = search_with(&db.store, &q, Some(usize::MAX - 1), MAX_SCANNED).unwrap();
                    assert_eq!(a.has_next, b.has_next, "{text} page {page}");
                    merged.extend(a.people);
                    read_all.extend(b.people);
                }
                assert_eq!(merged, read_all, "« {text} » in {scope:?}");
                let mut sorted = merged.clone();
                sorted.sort_by_key(|p| {
                    sort_key(&key_text(&p.last_name), &key_text(&p.first_name), &p.id)
                });
                assert_eq!(merged, sorted);
                let unique: HashSet<_> = merged.iter().map(|p| &p.id).collect();
                assert_eq!(unique.len(), merged.len());
            }
        }
    }

    /// Compound first names inside another name's block still come out once each.
    #[test]
    fn compound_first_names_are_not_lost() {
        let db = TempStore::new("compound");
        let firsts = ["Marie", "Marie-Lou", "Marie-Ange", "Marius", "Jean"];
        let users: Vec<User> = (0..200)
            .map(|i| {
                user(
                    &format!("u{i}"),
                    firsts[i % firsts.len()],
                    &format!("Nom{:03}", (i * 37) % 200),
                    &[(PILAT, "eleve")],
                )
            })
            .collect();
        load(&db.store, &users);
        for text in ["mar", "marie", "marie l", "marie nom1"] {
            let mut merged = Vec::new();
            for page in 1..=30 {
                let mut q = query(text, None);
                q.page = page;
                q.per_page = 7;
                merged.extend(
                    search_with(&db.store, &q, Some(4), MAX_SCANNED)
                        .unwrap()
                        .people,
                );
            }
            let mut q = query(text, None);
            q.per_page = MAX_PER_PAGE;
            let all = search_with(&db.store, &q, Some(usize::MAX - 1), MAX_SCANNED).unwrap();
            let mut a: Vec<_> = merged.iter().map(|p| p.id.clone()).collect();
            let mut b: Vec<_> = all.people.iter().map(|p| p.id.clone()).collect();
            assert_eq!(a.len(), b.len(), "« {text} »");
            a.sort();
            b.sort();
            assert_eq!(a, b, "« {text} »");
        }
    }

    /// Random data against a brute-force reading of the definition, every page,
    /// every way of reading first names.
    #[test]
    fn matches_a_brute_force_reference() {
        let db = TempStore::new("reference");
        // No compound first name whose first word is another first name here
        // (those may come out late, see the module documentation).
        let firsts = [
            "Marie",
            "Maël",
            "Maëlys",
            "Manon",
            "Léo",
            "Léa",
            "Anne-Sophie",
            "Jean",
            "Jeanne",
            "Mathis",
            "Zoé",
            "Marc",
        ];
        let lasts = [
            "Le",
            "Le Gall",
            "Le Goff",
            "Lebrun",
            "Martin",
            "Martin-Dupont",
            "Dupont",
            "Marchand",
            "Jean",
            "Léger",
            "Mas",
        ];
        let uais = [PILAT, FOREZ, "0420020U"];
        let profiles = ["eleve", "parent", "enseignant"];
        let mut seed = 0x2545_f491_u64;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((seed >> 33) % n as u64) as usize
        };
        let users: Vec<User> = (0..700)
            .map(|i| {
                let first = firsts[next(firsts.len())];
                let last = lasts[next(lasts.len())];
                let mut m = vec![(uais[next(3)], profiles[next(3)])];
                if next(6) == 0 {
                    m.push((uais[next(3)], profiles[next(3)]));
                }
                m.dedup_by_key(|(u, _)| *u);
                user(&format!("u{i}"), first, last, &m)
            })
            .collect();
        load(&db.store, &users);
        let texts = [
            "ma", "m", "le", "le g", "mar", "ma le", "jean", "jea dup", "dup jea", "l", "mart dup",
            "anne", "so", "zo ma", "", "mas",
        ];
        for text in texts {
            for scope in [None, Some(PILAT)] {
                for profile in [None, Some("parent")] {
                    let words: Vec<String> =
                        key_text(text).split(' ').map(str::to_string).collect();
                    let mut expected: Vec<(Vec<u8>, &User)> = users
                        .iter()
                        .filter(|u| scope.is_none_or(|s| u.membership(s).is_some()))
                        .filter(|u| {
                            profile.is_none_or(|p| {
                                u.memberships
                                    .iter()
                                    .any(|m| m.profile == p && scope.is_none_or(|s| m.uai == s))
                            })
                        })
                        .filter(|u| {
                            let (l, f) = (key_text(&u.last_name), key_text(&u.first_name));
                            let by_last = format!("{l} {f}");
                            let by_first = format!("{f} {l}");
                            (by_last.starts_with(&words[0]) || by_first.starts_with(&words[0]))
                                && words[1..]
                                    .iter()
                                    .all(|w| by_last.split(' ').any(|t| t.starts_with(w)))
                        })
                        .map(|u| {
                            let key =
                                sort_key(&key_text(&u.last_name), &key_text(&u.first_name), &u.id);
                            (key, u)
                        })
                        .collect();
                    expected.sort_by(|a, b| a.0.cmp(&b.0));
                    let expected: Vec<&str> = expected.iter().map(|(_, u)| u.id.as_str()).collect();
                    for cap in [Some(0), Some(4), None, Some(usize::MAX - 1)] {
                        let mut got = Vec::new();
                        for page in 1.. {
                            let mut q = query(text, scope);
                            q.profile = profile.map(str::to_string);
                            q.page = page;
                            q.per_page = 9;
                            let result = search_with(&db.store, &q, cap, MAX_SCANNED).unwrap();
                            got.extend(result.people.into_iter().map(|p| p.id));
                            if !result.has_next {
                                break;
                            }
                        }
                        assert_eq!(
                            got, expected,
                            "« {text} » {scope:?} {profile:?} cap {cap:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn work_is_bounded() {
        let db = TempStore::new("budget");
        let users: Vec<User> = (0..300)
            .map(|i| user(&format!("u{i:03}"), "Zoé", "Bernard", &[(PILAT, "eleve")]))
            .collect();
        load(&db.store, &users);
        // Nobody matches "bern xyz": the scan stops at the budget and returns nothing.
        let page = search_with(&db.store, &query("bern xyz", None), Some(4), 100).unwrap();
        assert!(page.people.is_empty() && !page.has_next);
        // A page past the budget returns what was found before it.
        let mut q = query("bern", None);
        q.page = 3;
        let page = search_with(&db.store, &q, Some(4), 50).unwrap();
        assert!(page.people.len() <= 20);
    }
}
