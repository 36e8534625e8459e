//! Invented timetables of a collège or a lycée, as EDT would export them: no
//! real export is public, and the imports must be tested and measured at a
//! real school's size with a real school's oddities.
//!
//! [`Plan::college`] (25 classes, 600 pupils, ≈ 50 teachers, ≈ 740 weekly
//! courses) and [`Plan::lycee`] (45 classes, 1 485 pupils) generate, from a
//! seed (the same seed, the same file):
//! - a grid of 8 places a day (4 on Wednesday), subjects with their weekly
//!   hours per level, one teacher per (class, subject) within 18 h a week, a
//!   room per course, no teacher, class or room in two places at once;
//! - half-class parts (`G1`/`G2`) for sciences, technology and the second
//!   language, some on alternate weeks (week A / week B), and a Latin option
//!   group across the classes of a level;
//! - what real files carry: pupils of last year still listed (left before the
//!   year began), a pupil who leaves in February and one who arrives in
//!   November, homonyms (same names, other birth dates, other classes), a
//!   course cancelled for some weeks, a teacher replaced by another from
//!   week 20, accented names (write them with [`Style`](super::Style) to get
//!   ISO-8859-1 or HTML entities).
//!
//! Everything is invented: names are drawn from common French names.

use std::collections::HashMap;

use super::{
    Class, Course, CourseItem, Date, Group, ItemKind, Named, Person, Place, Pupil, Stay, Subject,
    Timetable, Weeks,
};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Levels and their number of classes (« 6e » × 7…).
    pub levels: Vec<(&'static str, u16)>,
    /// Pupils per class.
    pub pupils_per_class: u16,
    /// `DatePremierJourSemaine1`.
    pub first_day_week1: Date,
    /// Weeks with lessons (school weeks, holidays left out).
    pub school_weeks: Weeks,
    /// Subjects per level: (code, label, hours a week, how it is taught).
    pub subjects: Vec<SubjectPlan>,
    /// The seed of every draw.
    pub seed: u64,
    /// An existing school's classes, pupils and teachers, used instead of
    /// drawn ones (the demo's): `levels` and `pupils_per_class` are then
    /// unused.
    pub school: Option<School>,
}

/// An existing school to build a timetable around.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct School {
    /// Its classes, in order.
    pub classes: Vec<SchoolClass>,
    /// Its teachers; invented ones are hired for the hours they do not cover.
    pub teachers: Vec<SchoolTeacher>,
}

/// A class of an existing school.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchoolClass {
    /// « 4A ».
    pub name: String,
    /// « 4e »: which subjects and hours apply.
    pub level: String,
    /// (last name, first name, birth date) of its pupils.
    pub pupils: Vec<(String, String, Option<Date>)>,
}

/// A teacher of an existing school.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchoolTeacher {
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Subject codes of the plan they teach (« FRANC », « LATIN »).
    pub subjects: Vec<String>,
    /// Names of the classes they teach (empty: any).
    pub classes: Vec<String>,
}

/// One subject of the plan.
#[derive(Debug, Clone, Copy)]
pub struct SubjectPlan {
    /// `Code`.
    pub code: &'static str,
    /// `Libelle`.
    pub label: &'static str,
    /// Places a week: of all its courses ([`Split::Whole`], [`Split::Double`],
    /// [`Split::Option`]), of each half ([`Split::Halves`]), or of the one
    /// course the halves share on alternate weeks ([`Split::AlternateHalves`]).
    pub hours: u16,
    /// How the class attends it.
    pub split: Split,
    /// Levels that have it (prefixes of level names; empty: every level).
    pub levels: &'static [&'static str],
}

/// How a class attends a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The whole class, one place at a time.
    Whole,
    /// The whole class, two places in a row (sport).
    Double,
    /// Each half (`G1`, `G2`) on its own, every week.
    Halves,
    /// One course, each half on alternate weeks (G1 weeks A, G2 weeks B).
    AlternateHalves,
    /// An option: a group across the level's classes.
    Option,
}

mod lists;

use lists::{COLLEGE_SUBJECTS, FIRST_NAMES, LAST_NAMES, LYCEE_SUBJECTS};

/// The grid: 8 places, 55 minutes, breaks at 10 h and at lunch.
const GRID: [(u16, u16); 8] = [
    (480, 535),
    (540, 595),
    (610, 665),
    (670, 725),
    (810, 865),
    (870, 925),
    (940, 995),
    (1000, 1055),
];

/// Days with lessons (Monday to Friday) and their places (Wednesday: mornings).
const DAYS: [(u8, u16); 5] = [(1, 8), (2, 8), (3, 4), (4, 8), (5, 8)];

/// A teacher's weekly hours at most.
const TEACHER_HOURS: u16 = 18;

impl Plan {
    /// A collège: 6e × 7, 5e, 4e and 3e × 6, 24 pupils a class.
    pub fn college(first_day_week1: Date, seed: u64) -> Plan {
        Plan {
            levels: vec![("6e", 7), ("5e", 6), ("4e", 6), ("3e", 6)],
            pupils_per_class: 24,
            first_day_week1,
            school_weeks: usual_school_weeks(),
            subjects: COLLEGE_SUBJECTS.to_vec(),
            seed,
            school: None,
        }
    }

    /// A collège's timetable around an existing school's classes, pupils and
    /// teachers (the demo's).
    pub fn for_school(first_day_week1: Date, seed: u64, school: School) -> Plan {
        Plan {
            school: Some(school),
            ..Plan::college(first_day_week1, seed)
        }
    }

    /// A lycée: 2de, 1re and Tle × 15, 33 pupils a class.
    pub fn lycee(first_day_week1: Date, seed: u64) -> Plan {
        Plan {
            levels: vec![("2de", 15), ("1re", 15), ("Tle", 15)],
            pupils_per_class: 33,
            first_day_week1,
            school_weeks: usual_school_weeks(),
            subjects: LYCEE_SUBJECTS.to_vec(),
            seed,
            school: None,
        }
    }

    /// The timetable.
    pub fn generate(&self) -> Timetable {
        Generator::new(self).run()
    }
}

/// 36 weeks of lessons out of 44: the two weeks of each of the four holidays
/// (weeks 8–9, 16–17, 24–25, 32–33) left out.
pub fn usual_school_weeks() -> Weeks {
    [8, 9, 16, 17, 24, 25, 32, 33]
        .into_iter()
        .fold(Weeks::range(1, 44), Weeks::without)
}

/// SplitMix64: small, seeded, the same everywhere.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, list: &'a [&'a str]) -> &'a str {
        list[self.below(list.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Who is busy when: per person, class, part or room, a mask of places per day.
#[derive(Default)]
struct Busy(HashMap<String, [u16; 8]>);

impl Busy {
    fn free(&self, who: &str, day: u8, place: u16) -> bool {
        self.0
            .get(who)
            .is_none_or(|days| days[usize::from(day)] & 1 << place == 0)
    }

    fn take(&mut self, who: &str, day: u8, place: u16) {
        self.0.entry(who.to_owned()).or_default()[usize::from(day)] |= 1 << place;
    }
}

struct Generator<'p> {
    plan: &'p Plan,
    draw: Draw,
    timetable: Timetable,
    busy: Busy,
    /// Teachers by subject code, with their hours left.
    teachers: Vec<(String, String, u16)>,
    /// The teacher of (audience, subject): a class keeps its teacher.
    assigned: HashMap<(String, usize), usize>,
    /// The class (name) of each class and part `Ident`.
    class_names: HashMap<String, String>,
    /// The classes (names) an existing school's teacher is limited to.
    limited_to: HashMap<String, Vec<String>>,
}

/// A lesson to place: who attends, the subject, how many places, the weeks.
struct Lesson {
    audience: Vec<(ItemKind, String, Weeks)>,
    /// Class (and part) idents that must be free.
    blocks: Vec<String>,
    subject: usize,
    places: u16,
    weeks: Weeks,
}

impl<'p> Generator<'p> {
    fn new(plan: &'p Plan) -> Generator<'p> {
        Generator {
            plan,
            draw: Draw(plan.seed),
            timetable: Timetable {
                first_day_week1: plan.first_day_week1,
                place_minutes: 55,
                places: GRID
                    .iter()
                    .zip(1..)
                    .map(|(&(start, end), number)| Place { number, start, end })
                    .collect(),
                subjects: Vec::new(),
                teachers: Vec::new(),
                staff: Vec::new(),
                pupils: Vec::new(),
                classes: Vec::new(),
                groups: Vec::new(),
                rooms: Vec::new(),
                equipment: vec![Named {
                    ident: "MAT1".into(),
                    name: "Vidéoprojecteur mobile".into(),
                }],
                courses: Vec::new(),
            },
            busy: Busy::default(),
            teachers: Vec::new(),
            assigned: HashMap::new(),
            class_names: HashMap::new(),
            limited_to: HashMap::new(),
        }
    }

    fn run(mut self) -> Timetable {
        let plan = self.plan;
        for (index, subject) in plan.subjects.iter().enumerate() {
            self.timetable.subjects.push(Subject {
                ident: format!("M{}", index + 1),
                code: subject.code.into(),
                label: subject.label.into(),
            });
        }
        let levels = self.levels();
        let class_count = levels.iter().map(|(_, names)| names.len()).sum::<usize>() as u16;
        for number in 1..=(class_count + 12) {
            self.timetable.rooms.push(Named {
                ident: format!("S{number}"),
                name: format!("Salle {}", 100 + number),
            });
        }
        let mut lessons = Vec::new();
        for (level, names) in &levels {
            let level = level.as_str();
            let mut option_parts = Vec::new();
            for name in names {
                let class = self.class(name, level, &mut option_parts);
                lessons.extend(self.lessons_of(&class, level));
            }
            if let Some(index) = plan
                .subjects
                .iter()
                .position(|s| s.split == Split::Option && applies(s, level))
            {
                let ident = format!("G{}", self.timetable.groups.len() + 1);
                self.timetable.groups.push(Group {
                    ident: ident.clone(),
                    name: format!("{} {level}", plan.subjects[index].label.to_uppercase()),
                    classes: Vec::new(),
                    parts: option_parts.clone(),
                });
                lessons.push(Lesson {
                    audience: vec![(ItemKind::Group, ident, plan.school_weeks)],
                    blocks: option_parts,
                    subject: index,
                    places: plan.subjects[index].hours,
                    weeks: plan.school_weeks,
                });
            }
        }
        self.hire(&lessons);
        // The biggest lessons first: they are the hardest to place.
        lessons.sort_by_key(|l| std::cmp::Reverse((l.places, l.blocks.len())));
        for lesson in &lessons {
            self.place(lesson);
        }
        self.oddities();
        self.timetable
    }

    /// The levels and their classes' names, in order: the school's, or drawn
    /// from the plan's levels (« 4A », « 4B »…; « TA » in terminale).
    fn levels(&self) -> Vec<(String, Vec<String>)> {
        if let Some(school) = &self.plan.school {
            let mut levels: Vec<(String, Vec<String>)> = Vec::new();
            for class in &school.classes {
                match levels.iter_mut().find(|(level, _)| *level == class.level) {
                    Some((_, names)) => names.push(class.name.clone()),
                    None => levels.push((class.level.clone(), vec![class.name.clone()])),
                }
            }
            return levels;
        }
        self.plan
            .levels
            .iter()
            .map(|&(level, count)| {
                let prefix = if level == "Tle" {
                    "T"
                } else {
                    level.trim_end_matches(['e', 'd', 'r'])
                };
                let names = (b'A'..)
                    .take(usize::from(count))
                    .map(|letter| format!("{prefix}{}", letter as char))
                    .collect();
                (level.to_owned(), names)
            })
            .collect()
    }

    /// A class, its halves and option part, and its pupils.
    fn class(&mut self, name: &str, level: &str, option_parts: &mut Vec<String>) -> Class {
        let ident = format!("C{}", self.timetable.classes.len() + 1);
        let parts: Vec<Named> = ["G1", "G2", "OPT"]
            .iter()
            .map(|p| Named {
                ident: format!("{ident}{p}"),
                name: format!("{name} {p}"),
            })
            .collect();
        option_parts.push(parts[2].ident.clone());
        let birth_year = self.plan.first_day_week1.year() - level_age(level);
        let known: Option<Vec<(String, String, Option<Date>)>> =
            self.plan.school.as_ref().map(|school| {
                school
                    .classes
                    .iter()
                    .find(|c| c.name == name)
                    .map(|c| c.pupils.clone())
                    .unwrap_or_default()
            });
        let count = known
            .as_ref()
            .map_or(usize::from(self.plan.pupils_per_class), Vec::len);
        for n in 0..count {
            let mut person = self.person("E", birth_year);
            if let Some((last, first, birth)) = known.as_ref().map(|k| &k[n]) {
                person.last_name = last.clone();
                person.first_name = first.clone();
                person.birth_date = birth.or(person.birth_date);
            }
            let half = if n % 2 == 0 { &parts[0] } else { &parts[1] };
            let mut in_parts = vec![stay(&half.ident)];
            if self.draw.chance(20) {
                in_parts.push(stay(&parts[2].ident));
            }
            self.timetable.pupils.push(Pupil {
                siecle_id: Some(format!("{}", 100_000 + self.timetable.pupils.len())),
                person,
                classes: vec![stay(&ident)],
                parts: in_parts,
            });
        }
        let class = Class {
            ident,
            name: name.to_owned(),
            parts,
        };
        self.class_names.extend(
            class
                .parts
                .iter()
                .map(|p| (p.ident.clone(), name.to_owned())),
        );
        self.class_names
            .insert(class.ident.clone(), name.to_owned());
        self.timetable.classes.push(class.clone());
        class
    }

    fn person(&mut self, prefix: &str, birth_year: i32) -> Person {
        let count = match prefix {
            "E" => self.timetable.pupils.len(),
            _ => self.timetable.teachers.len(),
        };
        let birth =
            Date::from_ymd(birth_year, 1, 1).map(|d| d.add_days(self.draw.below(365) as i32));
        Person {
            ident: format!("{prefix}{}", count + 1),
            pronote_id: (prefix != "E").then(|| format!("{:08X}", self.draw.next() as u32)),
            last_name: self.draw.pick(LAST_NAMES).to_uppercase(),
            first_name: self.draw.pick(FIRST_NAMES).to_owned(),
            birth_date: birth,
            line: 0,
        }
    }

    fn lessons_of(&self, class: &Class, level: &str) -> Vec<Lesson> {
        let plan = self.plan;
        let whole = vec![(ItemKind::Class, class.ident.clone(), plan.school_weeks)];
        let everyone: Vec<String> = std::iter::once(class.ident.clone())
            .chain(class.parts.iter().map(|p| p.ident.clone()))
            .collect();
        let (a_weeks, b_weeks) = alternate(plan.school_weeks);
        let mut lessons = Vec::new();
        for (index, subject) in plan.subjects.iter().enumerate() {
            if !applies(subject, level) {
                continue;
            }
            let half = |n: usize| {
                (
                    vec![(
                        ItemKind::PartOfClass,
                        class.parts[n].ident.clone(),
                        plan.school_weeks,
                    )],
                    vec![class.ident.clone(), class.parts[n].ident.clone()],
                )
            };
            match subject.split {
                Split::Whole => lessons.extend((0..subject.hours).map(|_| Lesson {
                    audience: whole.clone(),
                    blocks: everyone.clone(),
                    subject: index,
                    places: 1,
                    weeks: plan.school_weeks,
                })),
                Split::Double => lessons.extend((0..subject.hours / 2).map(|_| Lesson {
                    audience: whole.clone(),
                    blocks: everyone.clone(),
                    subject: index,
                    places: 2,
                    weeks: plan.school_weeks,
                })),
                Split::Halves => {
                    for n in 0..2 {
                        let (audience, blocks) = half(n);
                        lessons.extend((0..subject.hours).map(|_| Lesson {
                            audience: audience.clone(),
                            blocks: blocks.clone(),
                            subject: index,
                            places: 1,
                            weeks: plan.school_weeks,
                        }));
                    }
                }
                // One course: G1 on weeks A, G2 on weeks B, at the same time.
                Split::AlternateHalves => lessons.push(Lesson {
                    audience: vec![
                        (ItemKind::PartOfClass, class.parts[0].ident.clone(), a_weeks),
                        (ItemKind::PartOfClass, class.parts[1].ident.clone(), b_weeks),
                    ],
                    blocks: everyone.clone(),
                    subject: index,
                    places: subject.hours,
                    weeks: plan.school_weeks,
                }),
                Split::Option => {}
            }
        }
        lessons
    }

    /// Enough teachers per subject for its hours (a class keeps one teacher a subject).
    fn hire(&mut self, lessons: &[Lesson]) {
        let mut hours = vec![0u16; self.plan.subjects.len()];
        for lesson in lessons {
            hours[lesson.subject] += lesson.places;
        }
        // The school's own teachers first: they are chosen before the others.
        let school = self.plan.school.clone().unwrap_or_default();
        for known in &school.teachers {
            let year = self.plan.first_day_week1.year() - 30 - self.draw.below(30) as i32;
            let mut person = self.person("P", year);
            person.last_name = known.last_name.clone();
            person.first_name = known.first_name.clone();
            for code in &known.subjects {
                if let Some(subject) = self.plan.subjects.iter().position(|s| s.code == code) {
                    hours[subject] = hours[subject].saturating_sub(TEACHER_HOURS);
                    self.teachers
                        .push((person.ident.clone(), code.clone(), TEACHER_HOURS));
                }
            }
            if !known.classes.is_empty() {
                self.limited_to
                    .insert(person.ident.clone(), known.classes.clone());
            }
            self.timetable.teachers.push(person);
        }
        for (subject, &total) in hours.iter().enumerate() {
            if total == 0 {
                continue;
            }
            let needed = total.div_ceil(TEACHER_HOURS - 2).max(1);
            for _ in 0..needed {
                let year = self.plan.first_day_week1.year() - 30 - self.draw.below(30) as i32;
                let person = self.person("P", year);
                self.teachers.push((
                    person.ident.clone(),
                    self.plan.subjects[subject].code.into(),
                    TEACHER_HOURS,
                ));
                self.timetable.teachers.push(person);
            }
        }
    }

    /// Places a lesson at the first (day, place) where its audience, a teacher
    /// of the subject and a room are free for all its places.
    fn place(&mut self, lesson: &Lesson) {
        let code = self.plan.subjects[lesson.subject].code;
        let mut slots: Vec<(u8, u16)> = DAYS
            .iter()
            .flat_map(|&(day, count)| (1..=count).map(move |p| (day, p)))
            .filter(|&(day, p)| {
                let last = p + lesson.places - 1;
                let count = DAYS.iter().find(|d| d.0 == day).map_or(0, |d| d.1);
                // A double lesson does not straddle a break between morning and afternoon.
                last <= count && (p <= 4) == (last <= 4)
            })
            .collect();
        let offset = self.draw.below(slots.len());
        slots.rotate_left(offset);
        let key = (lesson.blocks[0].clone(), lesson.subject);
        let assigned = self.assigned.get(&key).copied();
        // The class's teacher of the subject if possible, another one else.
        for keep_teacher in [true, false] {
            if keep_teacher && assigned.is_none() {
                continue;
            }
            for &(day, first) in &slots {
                let span = first..first + lesson.places;
                let free = |busy: &Busy, who: &str| span.clone().all(|p| busy.free(who, day, p));
                if !lesson.blocks.iter().all(|b| free(&self.busy, b)) {
                    continue;
                }
                let teacher = match (keep_teacher, assigned) {
                    (true, Some(t)) => Some(t).filter(|&t| {
                        self.teachers[t].2 >= lesson.places && free(&self.busy, &self.teachers[t].0)
                    }),
                    _ => self.teachers.iter().position(|(id, subject, left)| {
                        subject == code
                            && *left >= lesson.places
                            && self.may_teach(id, &lesson.blocks[0])
                            && free(&self.busy, id)
                    }),
                };
                let room = self
                    .timetable
                    .rooms
                    .iter()
                    .position(|r| free(&self.busy, &r.ident));
                let (Some(teacher), Some(room)) = (teacher, room) else {
                    continue;
                };
                self.assigned.entry(key).or_insert(teacher);
                self.teachers[teacher].2 -= lesson.places;
                let teacher = self.teachers[teacher].0.clone();
                let room = self.timetable.rooms[room].ident.clone();
                for p in span {
                    for who in lesson.blocks.iter().chain([&teacher, &room]) {
                        self.busy.take(who, day, p);
                    }
                }
                let mut items = vec![
                    item(
                        ItemKind::Subject,
                        &format!("M{}", lesson.subject + 1),
                        lesson.weeks,
                    ),
                    item(ItemKind::Teacher, &teacher, lesson.weeks),
                ];
                items.extend(
                    lesson
                        .audience
                        .iter()
                        .map(|(kind, ident, weeks)| item(*kind, ident, *weeks)),
                );
                items.push(item(ItemKind::Room, &room, lesson.weeks));
                self.timetable.courses.push(Course {
                    day,
                    first_place: first,
                    place_count: lesson.places,
                    cancelled: Weeks::NONE,
                    items,
                    line: 0,
                });
                return;
            }
        }
    }

    /// Whether `teacher` may teach the class of `block` (an existing school's
    /// teachers keep to their classes).
    fn may_teach(&self, teacher: &str, block: &str) -> bool {
        match (self.limited_to.get(teacher), self.class_names.get(block)) {
            (Some(classes), Some(class)) => classes.contains(class),
            _ => true,
        }
    }

    /// What real files carry besides the plan.
    fn oddities(&mut self) {
        let first = self.plan.first_day_week1;
        // An existing school's people are left as they are.
        let invented = self.plan.school.is_none();
        let pupils = &mut self.timetable.pupils;
        if invented && pupils.len() > 10 {
            // Last year's pupils, still listed, left before the year began.
            for pupil in pupils.iter_mut().step_by(50) {
                for stay in pupil.classes.iter_mut().chain(pupil.parts.iter_mut()) {
                    stay.from = Some(first.add_days(-300));
                    stay.to = Some(first.add_days(-60));
                }
            }
            // One leaves in February, one arrives in November.
            let leaver = &mut pupils[3];
            for stay in leaver.classes.iter_mut().chain(leaver.parts.iter_mut()) {
                stay.to = Some(first.add_days(160));
            }
            let newcomer = &mut pupils[5];
            for stay in newcomer.classes.iter_mut().chain(newcomer.parts.iter_mut()) {
                stay.from = Some(first.add_days(63));
            }
            // Homonyms: the same names in two classes, other birth dates.
            let twin = pupils.len() - 2;
            pupils[twin].person.last_name = pupils[7].person.last_name.clone();
            pupils[twin].person.first_name = pupils[7].person.first_name.clone();
            pupils[twin].person.birth_date = pupils[7].person.birth_date.map(|d| d.add_days(-400));
        }
        if let Some(course) = self.timetable.courses.first_mut() {
            // Cancelled for two weeks (a school trip).
            course.cancelled = Weeks::NONE.with(5).with(6);
        }
        // A teacher replaced from week 20 in one course by a newcomer.
        if let Some(index) = self
            .timetable
            .courses
            .iter()
            .position(|c| c.place_count == 1)
        {
            let newcomer = self.person("P", first.year() - 26);
            let course = &mut self.timetable.courses[index];
            if let Some(at) = course
                .items
                .iter()
                .position(|i| i.kind == ItemKind::Teacher)
            {
                let weeks = course.items[at].weeks;
                let before = weeks.minus(Weeks::range(20, Weeks::LAST));
                course.items[at].weeks = before;
                course.items.insert(
                    at + 1,
                    item(ItemKind::Teacher, &newcomer.ident, weeks.minus(before)),
                );
            }
            self.timetable.teachers.push(newcomer);
        }
        self.timetable.staff.push(Person {
            ident: "PERS1".into(),
            pronote_id: None,
            last_name: "GRONDIN".into(),
            first_name: "Hélène".into(),
            birth_date: None,
            line: 0,
        });
    }
}

fn applies(subject: &SubjectPlan, level: &str) -> bool {
    subject.levels.is_empty() || subject.levels.iter().any(|l| level.starts_with(l))
}

/// A pupil's age at the start of the year for a level.
fn level_age(level: &str) -> i32 {
    match level.chars().next() {
        Some('6') => 11,
        Some('5') => 12,
        Some('4') => 13,
        Some('3') => 14,
        Some('2') => 15,
        Some('1') => 16,
        _ => 17,
    }
}

fn stay(ident: &str) -> Stay {
    Stay {
        ident: ident.to_owned(),
        from: None,
        to: None,
    }
}

fn item(kind: ItemKind, ident: &str, weeks: Weeks) -> CourseItem {
    CourseItem {
        kind,
        ident: ident.to_owned(),
        weeks,
    }
}

/// School weeks split into weeks A and B, alternating.
fn alternate(weeks: Weeks) -> (Weeks, Weeks) {
    let mut a = Weeks::NONE;
    let mut b = Weeks::NONE;
    for (n, week) in weeks.iter().enumerate() {
        if n % 2 == 0 {
            a = a.with(week);
        } else {
            b = b.with(week);
        }
    }
    (a, b)
}
