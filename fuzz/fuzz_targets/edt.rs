//! Any bytes: the EDT timetable reader (`formats/src/edt/parse.rs`) and the
//! STS Web reader never panic; what the EDT reader accepts is consistent
//! (every course's places are in the grid, every week in 1–53) and reads back
//! the same once written again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preau_formats::edt::{self, Style, Weeks};

fuzz_target!(|data: &[u8]| {
    let _ = preau_formats::sts::parse(data, Some("0420003A"));
    let Ok(timetable) = edt::parse(data) else {
        return;
    };
    for course in &timetable.courses {
        assert!(timetable.hours_of(course).is_some());
        assert!(course.weeks().iter().all(|w| (1..=Weeks::LAST).contains(&w)));
    }
    let again = edt::parse(&edt::write(&timetable, Style::default())).expect("written back");
    assert_eq!(again.courses.len(), timetable.courses.len());
    assert_eq!(again.pupils.len(), timetable.pupils.len());
});
