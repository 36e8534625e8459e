//! One cycle's writers, all at once until the kill: two sessions of a teacher
//! create blog articles, a pupil opens forum subjects and replies in them, and
//! teachers race for one reservation slot (`race`). Each writer notes what it
//! was told in the cycle's `CycleLog`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use preau_tests::{Client, PILAT, unescape};
use tokio::task::JoinSet;

use super::race::{self, RaceLog};
use super::{Rng, sent_then_failed, signed_in};

/// The teacher whose sessions write articles (the first one also re-reads
/// after each restart).
pub(super) const BLOG_WRITER: &str = "jean.dupont";
/// Concurrent article writers (sessions of the same teacher), so that kills
/// often land with several writes in flight.
pub(super) const BLOG_SESSIONS: usize = 2;
/// The pupil who writes in the forum (not pre-moderated in the demo).
pub(super) const FORUM_WRITER: &str = "emma.martin";
/// The forum category written in.
const FORUM_CATEGORY: &str = "Entraide";
/// Messages per forum subject: the first opens it, the others reply. Fewer than
/// a page (20), so one read of the subject shows them all.
pub(super) const FORUM_POSTS_PER_SUBJECT: usize = 10;

/// What was written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Article,
    /// A new forum subject and its first message.
    ForumSubject,
    ForumReply,
}

impl Kind {
    pub(super) const ALL: [Kind; 3] = [Kind::Article, Kind::ForumSubject, Kind::ForumReply];

    pub(super) fn index(self) -> usize {
        self as usize
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Kind::Article => "article",
            Kind::ForumSubject => "sujet du forum",
            Kind::ForumReply => "réponse du forum",
        }
    }
}

/// A write and where to read it back: the page at `url` contains `needle`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Written {
    pub kind: Kind,
    pub url: String,
    pub needle: String,
}

impl Written {
    pub(super) fn new(kind: Kind, url: &str, text: &str) -> Written {
        Written {
            kind,
            url: url.to_string(),
            // The text closed by a tag: « … 1-1 » is not found in « … 1-12 ».
            needle: format!("{text}<"),
        }
    }
}

/// What the writers of one cycle were told.
#[derive(Default)]
pub(super) struct CycleLog {
    /// Writes whose 303 came back.
    pub acknowledged: Vec<Written>,
    /// Writes sent but not answered when the server died, and the page where
    /// they would show (a list, for a new article or subject).
    pub in_flight: Vec<Written>,
    /// Answers a running server should not give.
    pub refused: Vec<String>,
    pub race: RaceLog,
    /// The reservations' resource (its URL).
    pub resource: String,
}

pub(super) type Shared = Arc<Mutex<CycleLog>>;

/// The signed-in writers of a cycle, with their CSRF tokens, before they start.
pub(super) struct Workload {
    cycle: usize,
    blog: Vec<(Client, String)>,
    forum: (Client, String),
    category: String,
    racers: Vec<(Client, String)>,
    resource: String,
}

/// A running workload.
pub(super) struct Running {
    tasks: JoinSet<()>,
    log: Shared,
    /// When the writers started.
    pub started: Instant,
}

impl Workload {
    /// Signs every writer in (`blog_session` is one session of `BLOG_WRITER`)
    /// and reads the forms they need.
    pub(super) async fn sign_in(base: &str, cycle: usize, blog_session: Client) -> Workload {
        let blog_form = format!("/e/{PILAT}/blog/new");
        let mut blog = vec![blog_session];
        while blog.len() < BLOG_SESSIONS {
            blog.push(signed_in(base, BLOG_WRITER).await);
        }
        let mut with_tokens = Vec::new();
        for client in blog {
            let csrf = client.get(&blog_form).await.unwrap().csrf().unwrap();
            with_tokens.push((client, csrf));
        }
        let pupil = signed_in(base, FORUM_WRITER).await;
        let category = category_url(&pupil).await;
        let csrf = pupil.get(&category).await.unwrap().csrf().unwrap();
        let mut racers = Vec::new();
        let mut resource = String::new();
        for (login, _) in race::RACERS {
            let client = signed_in(base, login).await;
            if resource.is_empty() {
                resource = race::resource_url(&client).await;
            }
            let csrf = client.get(&resource).await.unwrap().csrf().unwrap();
            racers.push((client, csrf));
        }
        Workload {
            cycle,
            blog: with_tokens,
            forum: (pupil, csrf),
            category,
            racers,
            resource,
        }
    }

    /// Starts every writer.
    pub(super) fn spawn(self, rng: &mut Rng) -> Running {
        let log: Shared = Arc::default();
        log.lock().unwrap().resource = self.resource.clone();
        let mut tasks = JoinSet::new();
        let cycle = self.cycle;
        for (writer, (client, csrf)) in self.blog.into_iter().enumerate() {
            tasks.spawn(blog_writer(client, csrf, cycle, writer, log.clone()));
        }
        let (pupil, csrf) = self.forum;
        tasks.spawn(forum_writer(pupil, csrf, self.category, cycle, log.clone()));
        let day = race::day_of(cycle);
        log.lock().unwrap().race = RaceLog::new(&day);
        for (racer, (client, csrf)) in self.racers.into_iter().enumerate() {
            let race = race::Racer {
                me: racer,
                client,
                csrf,
                resource: self.resource.clone(),
                day: day.clone(),
                rng: rng.split(),
            };
            tasks.spawn(race.run(log.clone()));
        }
        Running {
            tasks,
            log,
            started: Instant::now(),
        }
    }
}

impl Running {
    /// How many writes were acknowledged so far (the first ones of the
    /// cycle's log, which grows in the order of the answers).
    pub(super) fn acknowledged_so_far(&self) -> usize {
        self.log.lock().unwrap().acknowledged.len()
    }

    /// Waits for every writer (they stop at their first failed request: after
    /// the kill) and returns what they were told.
    pub(super) async fn join(mut self) -> CycleLog {
        while let Some(done) = self.tasks.join_next().await {
            done.unwrap();
        }
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// The URL of the forum category the pupil writes in.
async fn category_url(client: &Client) -> String {
    let forum = format!("/e/{PILAT}/forum");
    let index = client.get(&format!("{forum}/")).await.unwrap();
    assert_eq!(index.status, 200, "forum");
    let index = unescape(&index.body);
    let at = index.find(FORUM_CATEGORY).expect("catégorie du forum");
    let start = index[..at]
        .rfind(&format!("{forum}/c/"))
        .expect("lien de catégorie");
    index[start..].chars().take_while(|c| *c != '"').collect()
}

async fn blog_writer(client: Client, csrf: String, cycle: usize, writer: usize, log: Shared) {
    let form = format!("/e/{PILAT}/blog/new");
    let list = format!("/e/{PILAT}/blog/");
    for i in 0.. {
        let title = format!("Durable {cycle}-{writer}-{i}");
        let fields = [
            ("title", title.as_str()),
            ("body", "<p>écrit avant le kill</p>"),
            ("publish", "on"),
            ("csrf", &csrf),
        ];
        match client.post_raw(&form, &fields).await {
            Ok(page) if page.status == 303 => log.lock().unwrap().acknowledged.push(Written::new(
                Kind::Article,
                page.location(),
                &title,
            )),
            Ok(page) => log
                .lock()
                .unwrap()
                .refused
                .push(format!("article : {}", page.status)),
            Err(e) => {
                if sent_then_failed(&e) {
                    let at_the_top = Written::new(Kind::Article, &list, &title);
                    log.lock().unwrap().in_flight.push(at_the_top);
                }
                return;
            }
        }
    }
}

/// Opens a subject, replies in it `FORUM_POSTS_PER_SUBJECT - 1` times, opens
/// the next one…
async fn forum_writer(client: Client, csrf: String, category: String, cycle: usize, log: Shared) {
    let mut subject: Option<String> = None;
    for i in 0.. {
        let text = format!("Forum durable {cycle}-{i}");
        let message = format!("<p>{text}</p>");
        let reply_to = subject.clone().filter(|_| i % FORUM_POSTS_PER_SUBJECT != 0);
        let title = format!("Sujet durable {cycle}-{i}");
        let (path, fields) = match &reply_to {
            Some(s) => (s.clone(), vec![("message", message.as_str())]),
            None => (
                category.clone(),
                vec![("titre", title.as_str()), ("message", message.as_str())],
            ),
        };
        let mut fields = fields;
        fields.push(("csrf", &csrf));
        match client.post_raw(&path, &fields).await {
            Ok(page) if page.status == 303 => {
                let written = match reply_to {
                    Some(s) => Written::new(Kind::ForumReply, &s, &text),
                    None => {
                        let opened = page.location().to_string();
                        subject = Some(opened.clone());
                        Written::new(Kind::ForumSubject, &opened, &text)
                    }
                };
                log.lock().unwrap().acknowledged.push(written);
            }
            Ok(page) => log
                .lock()
                .unwrap()
                .refused
                .push(format!("message du forum : {}", page.status)),
            Err(e) => {
                if sent_then_failed(&e) {
                    let shown = match reply_to {
                        Some(s) => Written::new(Kind::ForumReply, &s, &text),
                        // The subject would be listed first in its category.
                        None => Written::new(Kind::ForumSubject, &category, &title),
                    };
                    log.lock().unwrap().in_flight.push(shown);
                }
                return;
            }
        }
    }
}

/// Writes `count` published articles of `bytes` of text each (random words:
/// they compress about as badly as real prose), one after the other, so that
/// a snapshot of the database takes a while. Returns them.
pub(super) async fn ballast(
    client: &Client,
    count: usize,
    bytes: usize,
    rng: &mut Rng,
) -> Vec<Written> {
    let form = format!("/e/{PILAT}/blog/new");
    let csrf = client.get(&form).await.unwrap().csrf().unwrap();
    let mut written = Vec::new();
    for i in 0..count {
        let mut body = String::with_capacity(bytes + 16);
        body.push_str("<p>");
        while body.len() < bytes {
            let len = rng.between(2, 10);
            body.extend((0..len).map(|_| char::from(b'a' + rng.between(0, 26) as u8)));
            body.push(' ');
        }
        body.push_str("</p>");
        let title = format!("Lest {i}");
        let fields = [
            ("title", title.as_str()),
            ("body", body.as_str()),
            ("publish", "on"),
            ("csrf", &csrf),
        ];
        let page = client.post_raw(&form, &fields).await.unwrap();
        assert_eq!(page.status, 303, "article de lest {i}");
        written.push(Written::new(Kind::Article, page.location(), &title));
    }
    written
}
