//! Customer feedback (the Roidu part): survey definitions after THL's
//! national customer feedback model, answers and their validation, the
//! aggregate cells kept up to date as answers arrive, NPS and statement
//! statistics with confidence intervals and small-cell suppression, handling
//! of feedback cases (feedback, remarks, complaints) and the coding of the
//! national export.
//!
//! Everything here is pure: the store keeps answers and aggregate rows and
//! passes `today` in where time matters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

use crate::period::Period;
use crate::plan::{ErrorCode, FieldError, Validator};
use crate::text::{I18nText, Lang};

/// Maximum length of the open answer, in characters.
pub const MAX_TEXT: usize = 10_000;
/// Maximum length of contact details, tags and short fields, in characters.
pub const MAX_SHORT: usize = 500;
/// Cells with fewer answers than this are suppressed in anything public.
pub const MIN_PUBLIC_CELL: u64 = 5;
/// The aggregate item holding answer counts (bucket 0: answers, 1: with text).
pub const ITEM_ANSWERS: &str = "_answers";
/// The aggregate item of the recommendation question.
pub const ITEM_NPS: &str = "nps";
/// Number of value buckets of an aggregate row (values 0..=10).
pub const BUCKETS: usize = 11;
/// The earliest accepted service date year.
const MIN_YEAR: i32 = 1990;

/// The agreement scale of a survey's statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    /// Lowest value (0 or more).
    pub min: u8,
    /// Highest value (at most 10, above `min`).
    pub max: u8,
    /// True when the highest value is the best ("fully agree").
    pub best_high: bool,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            min: 1,
            max: 5,
            best_high: true,
        }
    }
}

impl Scale {
    /// True when `v` is a point of the scale.
    pub fn contains(&self, v: u8) -> bool {
        (self.min..=self.max).contains(&v)
    }

    /// The points, from `min` to `max`.
    pub fn points(&self) -> impl Iterator<Item = u8> {
        self.min..=self.max
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        usize::from(self.max.saturating_sub(self.min)) + 1
    }

    /// Never true (a scale has at least two points); for clippy.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// A scale must have 2..=11 points within 0..=10.
    pub fn is_valid(&self) -> bool {
        self.min < self.max && usize::from(self.max) < BUCKETS
    }
}

/// One statement of a survey, answered on the survey's scale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Stable key (`[a-z0-9_]`, 1–40 characters); aggregates are kept per key,
    /// so a key keeps its meaning across survey versions.
    pub key: String,
    /// The statement in fi, sv and en.
    pub text: I18nText,
    /// True for the national (THL) statements, false for a county's own.
    #[serde(default)]
    pub national: bool,
    /// The county (its code) whose own statement this is: asked only of its
    /// units' respondents and shown only in its figures. `None`: asked in
    /// every county (the national statements, and additions made for all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
}

impl Statement {
    /// Whether the statement is asked in `county` (`None`: across counties,
    /// where only the statements every county shares are asked).
    pub fn asked_in(&self, county: Option<&str>) -> bool {
        match &self.county {
            None => true,
            Some(own) => county == Some(own.as_str()),
        }
    }
}

/// A survey definition; a version is immutable once answered (the store
/// makes a new version instead).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyDef {
    /// The recommendation question (0–10).
    pub nps_question: I18nText,
    /// The statements' scale.
    pub scale: Scale,
    /// Labels of the scale points, `scale.len()` of them, or empty (then the
    /// ends are labelled by `low_label` and `high_label`).
    #[serde(default)]
    pub point_labels: Vec<I18nText>,
    /// Label of the lowest point.
    pub low_label: I18nText,
    /// Label of the highest point.
    pub high_label: I18nText,
    /// The "cannot say" option.
    pub cannot_say: I18nText,
    /// The statements, in order.
    pub statements: Vec<Statement>,
    /// The open question.
    pub open_question: I18nText,
}

fn t(fi: &str, sv: &str, en: &str) -> I18nText {
    I18nText::new(Some(fi.into()), Some(sv.into()), Some(en.into()))
}

/// The national statements of THL's customer feedback model: key, fi, sv, en.
pub const NATIONAL_STATEMENTS: [(&str, &str, &str, &str); 8] = [
    (
        "holistic",
        "Koin, että minusta välitettiin kokonaisvaltaisesti",
        "Jag upplevde att man brydde sig om mig på ett helhetsmässigt sätt",
        "I felt that I was cared for as a whole person",
    ),
    (
        "help_when_needed",
        "Sain apua silloin, kun tarvitsin sitä",
        "Jag fick hjälp när jag behövde den",
        "I got help when I needed it",
    ),
    (
        "safe",
        "Tunsin oloni turvalliseksi hoidon / palvelun aikana",
        "Jag kände mig trygg under vården / betjäningen",
        "I felt safe during the care / service",
    ),
    (
        "decisions_together",
        "Hoitoani / asiaani koskevat päätökset tehtiin yhteistyössä kanssani",
        "Besluten i anslutning till min vård/mitt ärende fattades i samråd med mig",
        "Decisions about my care / my matter were made together with me",
    ),
    (
        "continuation",
        "Tiedän, miten hoitoni / palveluni jatkuu",
        "Jag vet hur min vård/mina tjänster kommer att fortsätta",
        "I know how my care / services will continue",
    ),
    (
        "understandable_information",
        "Saamani tieto hoidosta / palvelusta oli ymmärrettävää",
        "Informationen som jag fick om vården / betjäningen var förståelig",
        "The information I received about the care / service was understandable",
    ),
    (
        "useful",
        "Koin, että saamani palvelu oli hyödyllistä",
        "Jag tyckte att den betjäning jag fick var nyttig",
        "I found the service I received useful",
    ),
    (
        "mother_tongue",
        "Sain hoitoa ja palvelua äidinkielelläni",
        "Jag fick vård och service på mitt modersmål",
        "I received care and service in my mother tongue",
    ),
];

impl SurveyDef {
    /// The default survey after THL's national model: the recommendation
    /// question, the eight statements on 1–5 (5 = fully agree) with "cannot
    /// say", and an open question.
    pub fn national_default() -> SurveyDef {
        SurveyDef {
            nps_question: t(
                "Kuinka todennäköisesti suosittelisit palvelua läheisellesi, jos hän tarvitsisi vastaavaa palvelua?",
                "Hur sannolikt är det att du skulle rekommendera tjänsten till dina närstående om de behövde motsvarande tjänster?",
                "How likely would you be to recommend the service to someone close to you if they needed similar services?",
            ),
            scale: Scale::default(),
            point_labels: vec![
                t("Täysin eri mieltä", "Helt av annan åsikt", "Strongly disagree"),
                t("Jokseenkin eri mieltä", "Delvis av annan åsikt", "Somewhat disagree"),
                t(
                    "Ei samaa eikä eri mieltä",
                    "Varken av samma eller annan åsikt",
                    "Neither agree nor disagree",
                ),
                t("Jokseenkin samaa mieltä", "Delvis av samma åsikt", "Somewhat agree"),
                t("Täysin samaa mieltä", "Helt av samma åsikt", "Fully agree"),
            ],
            low_label: t("Täysin eri mieltä", "Helt av annan åsikt", "Strongly disagree"),
            high_label: t("Täysin samaa mieltä", "Helt av samma åsikt", "Fully agree"),
            cannot_say: t("En osaa sanoa", "Kan inte säga", "Cannot say"),
            statements: NATIONAL_STATEMENTS
                .iter()
                .map(|(key, fi, sv, en)| Statement {
                    key: (*key).to_owned(),
                    text: t(fi, sv, en),
                    national: true,
                    county: None,
                })
                .collect(),
            open_question: t(
                "Mitä muuta haluat kertoa? Kiitos, moitteet, kehittämisehdotukset",
                "Vad vill du säga mer? Tack, klagomål, förslag till förbättringar",
                "Anything else you would like to tell us? Thanks, complaints, ideas",
            ),
        }
    }

    /// The statement with `key`.
    pub fn statement(&self, key: &str) -> Option<&Statement> {
        self.statements.iter().find(|s| s.key == key)
    }

    /// The survey as it is asked in `county` and shown in its figures: the
    /// statements every county shares and the county's own. `None` (figures
    /// across counties): the shared statements only.
    pub fn for_county(&self, county: Option<&str>) -> SurveyDef {
        let mut def = self.clone();
        def.statements.retain(|s| s.asked_in(county));
        def
    }

    /// The keys of `answer`'s statements that are not asked in `county`
    /// (another county's own), in key order.
    pub fn not_asked<'a>(&'a self, answer: &'a Answer, county: Option<&'a str>) -> Vec<&'a str> {
        if self.statements.iter().all(|s| s.county.is_none()) {
            return Vec::new();
        }
        answer
            .scores
            .keys()
            .filter(|k| self.statement(k).is_some_and(|s| !s.asked_in(county)))
            .map(String::as_str)
            .collect()
    }

    /// Checks the definition: a valid scale, labels matching it, unique
    /// well-formed keys, every text in fi, sv and en.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        if !self.scale.is_valid() {
            v.push("scale", ErrorCode::OutOfRange);
        } else if !self.point_labels.is_empty() && self.point_labels.len() != self.scale.len() {
            v.push("point_labels", ErrorCode::Invalid);
        }
        for (field, text) in [
            ("nps_question", &self.nps_question),
            ("low_label", &self.low_label),
            ("high_label", &self.high_label),
            ("cannot_say", &self.cannot_say),
            ("open_question", &self.open_question),
        ] {
            all_languages(&mut v, field, text);
        }
        for (i, s) in self.statements.iter().enumerate() {
            let field = format!("statements[{i}]");
            if !valid_key(&s.key) || self.statements[..i].iter().any(|o| o.key == s.key) {
                v.push(format!("{field}.key"), ErrorCode::Invalid);
            }
            all_languages(&mut v, &format!("{field}.text"), &s.text);
        }
        v.finish()
    }

    /// A new version with a statement of the service's own added (validated):
    /// asked in every county (`county` `None`) or in one county only.
    /// Keys are unique across counties, so figures and exports name a
    /// statement without asking whose it is.
    pub fn with_statement(
        &self,
        key: &str,
        text: I18nText,
        county: Option<String>,
    ) -> Result<SurveyDef, Vec<FieldError>> {
        let mut v = Validator::new();
        let key = key.trim();
        if !valid_key(key)
            || self.statement(key).is_some()
            || key == ITEM_NPS
            || key == ITEM_ANSWERS
        {
            v.push("key", ErrorCode::Invalid);
        }
        for lang in Lang::ALL {
            match text.get(lang) {
                None => v.push(format!("text_{}", lang.code()), ErrorCode::Required),
                Some(s) if s.chars().count() > MAX_SHORT => {
                    v.push(format!("text_{}", lang.code()), ErrorCode::TooLong)
                }
                Some(_) => {}
            }
        }
        v.finish()?;
        let mut next = self.clone();
        next.statements.push(Statement {
            key: key.to_owned(),
            text,
            national: false,
            county,
        });
        Ok(next)
    }
}

fn all_languages(v: &mut Validator, field: &str, text: &I18nText) {
    for lang in Lang::ALL {
        match text.get(lang) {
            None => v.push(format!("{field}_{}", lang.code()), ErrorCode::Required),
            Some(s) if s.chars().count() > MAX_SHORT => {
                v.push(format!("{field}_{}", lang.code()), ErrorCode::TooLong)
            }
            Some(_) => {}
        }
    }
}

/// A statement key: 1–40 characters of `a-z`, `0-9` and `_`, starting with a letter.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

macro_rules! dim_enum {
    ($(#[$m:meta])* $ty:ident, $n:literal, [$($variant:ident => $code:literal / $num:literal),+ $(,)?]) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $ty {
            $(#[allow(missing_docs)] $variant),+
        }

        impl $ty {
            /// Every value, in the customary order.
            pub const ALL: [Self; $n] = [$($ty::$variant),+];

            /// Stable code.
            pub fn code(self) -> &'static str {
                match self {
                    $($ty::$variant => $code),+
                }
            }

            /// The number used in the national export.
            pub fn export_code(self) -> u8 {
                match self {
                    $($ty::$variant => $num),+
                }
            }

            /// Parses a [`code`](Self::code) (case-insensitive, trimmed) or
            /// an [`export_code`](Self::export_code).
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                // An export code as `to_string()` writes it (digits, no
                // leading zero), read without a text per value: this runs
                // for every answer and every stratum read.
                let number = (!s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (s.len() == 1 || !s.starts_with('0')))
                .then(|| s.parse::<u8>().ok())
                .flatten();
                Self::ALL
                    .into_iter()
                    .find(|v| s.eq_ignore_ascii_case(v.code()) || number == Some(v.export_code()))
            }

            /// Index in [`ALL`](Self::ALL).
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

dim_enum!(
    /// The language the service was given in (background question).
    ServiceLang, 3, [Fi => "fi" / 1, Sv => "sv" / 2, Other => "other" / 3]
);
dim_enum!(
    /// Who answered.
    Respondent, 2, [Client => "client" / 1, Relative => "relative" / 2]
);
dim_enum!(
    /// Age group of the client (background question).
    AgeGroup, 6, [
        Under18 => "0-17" / 1,
        From18 => "18-34" / 2,
        From35 => "35-49" / 3,
        From50 => "50-64" / 4,
        From65 => "65-74" / 5,
        From75 => "75+" / 6,
    ]
);
dim_enum!(
    /// How the answer arrived.
    Channel, 4, [
        Web => "web" / 1,
        Qr => "qr" / 2,
        Invitation => "invitation" / 3,
        Import => "import" / 4,
    ]
);
dim_enum!(
    /// The kind of a feedback case in the handling queue.
    CaseKind, 3, [
        Feedback => "feedback" / 1,
        Remark => "remark" / 2,
        Complaint => "complaint" / 3,
    ]
);
dim_enum!(
    /// Where a case is in its handling.
    CaseState, 3, [New => "new" / 1, InHandling => "in_handling" / 2, Handled => "handled" / 3]
);

/// One statement's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Score {
    /// A point of the scale.
    Value(u8),
    /// "Cannot say".
    CannotSay,
}

/// An answer as it arrives (form fields, JSON or a CSV line), all text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawAnswer {
    /// 0–10 or empty.
    #[serde(default)]
    pub nps: String,
    /// Statement key → a scale point, `cannot_say` (or `x`, `eos`, `kis`) or empty.
    #[serde(default)]
    pub scores: BTreeMap<String, String>,
    /// The open answer.
    #[serde(default)]
    pub text: String,
    /// `fi`, `sv`, `other` or empty.
    #[serde(default)]
    pub service_lang: String,
    /// An age group code or empty.
    #[serde(default)]
    pub age_group: String,
    /// `client`, `relative` or empty.
    #[serde(default)]
    pub respondent: String,
    /// `YYYY-MM-DD` or empty.
    #[serde(default)]
    pub service_date: String,
    /// Contact details for a reply, or empty.
    #[serde(default)]
    pub contact: String,
}

/// A validated answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// Recommendation 0–10.
    pub nps: Option<u8>,
    /// Statement answers by key (only answered statements).
    pub scores: BTreeMap<String, Score>,
    /// The open answer, trimmed (None when blank).
    pub text: Option<String>,
    /// Language of service.
    pub service_lang: Option<ServiceLang>,
    /// Age group.
    pub age_group: Option<AgeGroup>,
    /// Client or relative.
    pub respondent: Option<Respondent>,
    /// When the service was given.
    pub service_date: Option<Date>,
    /// Contact details for a reply.
    pub contact: Option<String>,
}

fn opt_trim(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

fn too_long(v: &mut Validator, field: &str, s: &str, max: usize) {
    if s.chars().count() > max {
        v.push(field, ErrorCode::TooLong);
    }
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).ok()
}

impl RawAnswer {
    /// Validates against `survey`; every problem is named by its field
    /// (`nps`, `scores.<key>`, `text`, …). An answer must say something: a
    /// recommendation, a statement or a text.
    pub fn parse(&self, survey: &SurveyDef, today: Date) -> Result<Answer, Vec<FieldError>> {
        let mut v = Validator::new();
        let nps = match opt_trim(&self.nps) {
            None => None,
            Some(s) => match s.parse::<u8>() {
                Ok(n) if n <= 10 => Some(n),
                Ok(_) => {
                    v.push("nps", ErrorCode::OutOfRange);
                    None
                }
                Err(_) => {
                    v.push(
                        "nps",
                        if s.parse::<i64>().is_ok() {
                            ErrorCode::OutOfRange
                        } else {
                            ErrorCode::NotANumber
                        },
                    );
                    None
                }
            },
        };
        let mut scores = BTreeMap::new();
        for (key, raw) in &self.scores {
            let field = format!("scores.{key}");
            if survey.statement(key).is_none() {
                v.push(field, ErrorCode::Invalid);
                continue;
            }
            let Some(s) = opt_trim(raw) else { continue };
            let lower = s.to_lowercase();
            if matches!(
                lower.as_str(),
                "cannot_say" | "x" | "eos" | "kis" | "-" | "?" | "en osaa sanoa" | "kan inte säga"
            ) {
                scores.insert(key.clone(), Score::CannotSay);
                continue;
            }
            match s.parse::<u8>() {
                Ok(n) if survey.scale.contains(n) => {
                    scores.insert(key.clone(), Score::Value(n));
                }
                Ok(_) => v.push(field, ErrorCode::OutOfRange),
                Err(_) if s.parse::<i64>().is_ok() => v.push(field, ErrorCode::OutOfRange),
                Err(_) => v.push(field, ErrorCode::NotANumber),
            }
        }
        let text = opt_trim(&self.text).map(str::to_owned);
        if let Some(t) = &text {
            too_long(&mut v, "text", t, MAX_TEXT);
        }
        let contact = opt_trim(&self.contact).map(str::to_owned);
        if let Some(c) = &contact {
            too_long(&mut v, "contact", c, MAX_SHORT);
        }
        let service_lang = parse_dim(
            &mut v,
            "service_lang",
            &self.service_lang,
            ServiceLang::parse,
        );
        let age_group = parse_dim(&mut v, "age_group", &self.age_group, AgeGroup::parse);
        let respondent = parse_dim(&mut v, "respondent", &self.respondent, Respondent::parse);
        let service_date = match opt_trim(&self.service_date) {
            None => None,
            Some(s) => match parse_date(s) {
                Some(d) => {
                    let earliest =
                        Date::from_calendar_date(MIN_YEAR, Month::January, 1).unwrap_or(Date::MIN);
                    if d > today || d < earliest {
                        v.push("service_date", ErrorCode::OutOfRange);
                    }
                    Some(d)
                }
                None => {
                    v.push("service_date", ErrorCode::Invalid);
                    None
                }
            },
        };
        if nps.is_none() && scores.is_empty() && text.is_none() && v.errors().is_empty() {
            v.push("nps", ErrorCode::Required);
        }
        v.finish()?;
        Ok(Answer {
            nps,
            scores,
            text,
            service_lang,
            age_group,
            respondent,
            service_date,
            contact,
        })
    }
}

fn parse_dim<T>(
    v: &mut Validator,
    field: &str,
    raw: &str,
    parse: fn(&str) -> Option<T>,
) -> Option<T> {
    let s = opt_trim(raw)?;
    let parsed = parse(s);
    if parsed.is_none() {
        v.push(field, ErrorCode::Invalid);
    }
    parsed
}

/// The background combination an aggregate row is kept for; `None` is
/// "not answered".
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Dims {
    /// Language of service.
    pub lang: Option<ServiceLang>,
    /// Channel (always known; `None` only in filters).
    pub channel: Option<Channel>,
    /// Respondent type.
    pub respondent: Option<Respondent>,
}

/// A filter on the background dimensions (`None` = all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Only this language of service.
    pub lang: Option<ServiceLang>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this respondent type.
    pub respondent: Option<Respondent>,
}

impl Filter {
    /// True when `dims` passes the filter.
    pub fn matches(&self, dims: &Dims) -> bool {
        (self.lang.is_none() || self.lang == dims.lang)
            && (self.channel.is_none() || self.channel == dims.channel)
            && (self.respondent.is_none() || self.respondent == dims.respondent)
    }
}

/// Counts of one item: `counts[v]` answers with value `v` (0..=10) and the
/// "cannot say" answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Answers per value.
    pub counts: [u64; BUCKETS],
    /// "Cannot say" answers.
    pub cannot_say: u64,
}

impl Counts {
    /// Adds another cell.
    pub fn add(&mut self, other: &Counts) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.cannot_say += other.cannot_say;
    }

    /// Takes away a cell counted within this one (never below zero).
    pub fn subtract(&mut self, other: &Counts) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a = a.saturating_sub(*b);
        }
        self.cannot_say = self.cannot_say.saturating_sub(other.cannot_say);
    }

    /// Total answers with a value (not counting "cannot say").
    pub fn valued(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// True when nothing is counted.
    pub fn is_zero(&self) -> bool {
        self.valued() == 0 && self.cannot_say == 0
    }
}

/// One aggregate cell: a background combination and an item, with counts.
/// The store keeps these per org unit (and each of its ancestors) and month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The background combination.
    pub dims: Dims,
    /// [`ITEM_ANSWERS`], [`ITEM_NPS`] or a statement key.
    pub item: String,
    /// The counts.
    pub counts: Counts,
}

impl Answer {
    /// The aggregate cells this answer adds to (one count each) for `channel`.
    pub fn cells(&self, channel: Channel) -> Vec<Cell> {
        let dims = Dims {
            lang: self.service_lang,
            channel: Some(channel),
            respondent: self.respondent,
        };
        let mut out = Vec::with_capacity(2 + self.scores.len());
        let mut answers = Counts::default();
        answers.counts[0] = 1;
        if self.text.is_some() {
            answers.counts[1] = 1;
        }
        out.push(Cell {
            dims,
            item: ITEM_ANSWERS.to_owned(),
            counts: answers,
        });
        if let Some(n) = self.nps {
            let mut c = Counts::default();
            if let Some(slot) = c.counts.get_mut(usize::from(n)) {
                *slot = 1;
            }
            out.push(Cell {
                dims,
                item: ITEM_NPS.to_owned(),
                counts: c,
            });
        }
        for (key, score) in &self.scores {
            let mut c = Counts::default();
            match score {
                Score::Value(v) => {
                    if let Some(slot) = c.counts.get_mut(usize::from(*v)) {
                        *slot = 1;
                    }
                }
                Score::CannotSay => c.cannot_say = 1,
            }
            out.push(Cell {
                dims,
                item: key.clone(),
                counts: c,
            });
        }
        out
    }
}

/// Adds cells with the same dims and item together (for writing a batch of
/// answers as few upserts).
pub fn merge_cells(cells: impl IntoIterator<Item = Cell>) -> Vec<Cell> {
    let mut map: BTreeMap<(Dims, String), Counts> = BTreeMap::new();
    for c in cells {
        map.entry((c.dims, c.item)).or_default().add(&c.counts);
    }
    map.into_iter()
        .map(|((dims, item), counts)| Cell { dims, item, counts })
        .collect()
}

/// Sums of cells per item, after a filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    items: BTreeMap<String, Counts>,
}

impl Tally {
    /// Adds cells passing `filter`.
    pub fn from_cells<'a>(cells: impl IntoIterator<Item = &'a Cell>, filter: &Filter) -> Tally {
        let mut t = Tally::default();
        for c in cells {
            if filter.matches(&c.dims) {
                t.add(&c.item, &c.counts);
            }
        }
        t
    }

    /// Adds counts of one item.
    pub fn add(&mut self, item: &str, counts: &Counts) {
        if let Some(c) = self.items.get_mut(item) {
            c.add(counts);
        } else {
            self.items.insert(item.to_owned(), *counts);
        }
    }

    /// The counts of `item` (zero when absent).
    pub fn get(&self, item: &str) -> Counts {
        self.items.get(item).copied().unwrap_or_default()
    }

    /// Item keys present.
    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.items.keys().map(String::as_str)
    }

    /// The summary of this tally under `survey`.
    pub fn summary(&self, survey: &SurveyDef) -> Summary {
        let answers = self.get(ITEM_ANSWERS);
        let mut statements: Vec<StatementStats> = survey
            .statements
            .iter()
            .map(|s| StatementStats::from_counts(&s.key, &self.get(&s.key), &survey.scale))
            .collect();
        // Statements of earlier survey versions that this one no longer asks.
        for key in self.items() {
            if key != ITEM_ANSWERS && key != ITEM_NPS && survey.statement(key).is_none() {
                statements.push(StatementStats::from_counts(
                    key,
                    &self.get(key),
                    &survey.scale,
                ));
            }
        }
        Summary {
            answers: answers.counts[0],
            with_text: answers.counts[1],
            nps: NpsStats::from_counts(&self.get(ITEM_NPS)),
            statements,
        }
    }
}

/// The recommendation question's statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NpsStats {
    /// Answers to the question.
    pub n: u64,
    /// 9–10.
    pub promoters: u64,
    /// 7–8.
    pub passives: u64,
    /// 0–6.
    pub detractors: u64,
    /// Net promoter score −100..=100 (None without answers).
    pub nps: Option<f64>,
    /// Lower end of the 95 % confidence interval.
    pub ci_low: Option<f64>,
    /// Upper end of the 95 % confidence interval.
    pub ci_high: Option<f64>,
}

impl NpsStats {
    /// From the 0–10 histogram. The interval is the normal approximation of
    /// the mean of +1 / 0 / −1 scores: NPS ± 1.96 · 100 · √(var / n), with
    /// var = p + d − (p − d)², clamped to −100..=100.
    pub fn from_counts(c: &Counts) -> NpsStats {
        let detractors: u64 = c.counts[..7].iter().sum();
        let passives: u64 = c.counts[7..9].iter().sum();
        let promoters: u64 = c.counts[9..].iter().sum();
        let n = detractors + passives + promoters;
        if n == 0 {
            return NpsStats::default();
        }
        let nf = n as f64;
        let p = promoters as f64 / nf;
        let d = detractors as f64 / nf;
        let score = p - d;
        let var = (p + d - score * score).max(0.0);
        let half = 1.96 * (var / nf).sqrt();
        NpsStats {
            n,
            promoters,
            passives,
            detractors,
            nps: Some(100.0 * score),
            ci_low: Some((100.0 * (score - half)).max(-100.0)),
            ci_high: Some((100.0 * (score + half)).min(100.0)),
        }
    }

    /// The standard error of the NPS in points (None below 2 answers).
    pub fn std_error(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let nf = self.n as f64;
        let p = self.promoters as f64 / nf;
        let d = self.detractors as f64 / nf;
        let var = (p + d - (p - d) * (p - d)).max(0.0);
        Some(100.0 * (var / nf).sqrt())
    }

    /// The NPS rounded to a whole number, as reports print it.
    pub fn rounded(&self) -> Option<i64> {
        self.nps.map(|v| v.round() as i64)
    }
}

/// One statement's statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatementStats {
    /// The statement key.
    pub key: String,
    /// Answers with a value.
    pub n: u64,
    /// "Cannot say" answers.
    pub cannot_say: u64,
    /// Mean of the values (None without values).
    pub mean: Option<f64>,
    /// Answers per scale point, from `scale.min` to `scale.max`.
    pub distribution: Vec<u64>,
}

impl StatementStats {
    /// From a histogram on `scale`.
    pub fn from_counts(key: &str, c: &Counts, scale: &Scale) -> StatementStats {
        let distribution: Vec<u64> = scale
            .points()
            .map(|p| c.counts.get(usize::from(p)).copied().unwrap_or(0))
            .collect();
        let n: u64 = c.valued();
        let sum: u64 = c.counts.iter().enumerate().map(|(v, k)| v as u64 * k).sum();
        StatementStats {
            key: key.to_owned(),
            n,
            cannot_say: c.cannot_say,
            mean: (n > 0).then(|| sum as f64 / n as f64),
            distribution,
        }
    }
}

/// All figures of one cell of the statistics (a subtree, period and filter).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Answers.
    pub answers: u64,
    /// Answers with an open text.
    pub with_text: u64,
    /// Recommendation.
    pub nps: NpsStats,
    /// Statements in survey order.
    pub statements: Vec<StatementStats>,
}

impl Summary {
    /// The figures safe to publish: with fewer than [`MIN_PUBLIC_CELL`]
    /// answers everything is withheld; an NPS or a statement with fewer than
    /// that many answers is withheld on its own.
    pub fn public(&self) -> PublicSummary {
        if self.answers < MIN_PUBLIC_CELL {
            return PublicSummary {
                suppressed: true,
                answers: None,
                nps: None,
                statements: self
                    .statements
                    .iter()
                    .map(|s| (s.key.clone(), None))
                    .collect(),
            };
        }
        PublicSummary {
            suppressed: false,
            answers: Some(self.answers),
            nps: (self.nps.n >= MIN_PUBLIC_CELL).then_some(self.nps),
            statements: self
                .statements
                .iter()
                .map(|s| (s.key.clone(), (s.n >= MIN_PUBLIC_CELL).then(|| s.clone())))
                .collect(),
        }
    }

    /// The figures a disclosure-controlled release lets be shown (see
    /// [`crate::disclosure::protect_feedback`]).
    pub fn public_with(&self, shown: &crate::disclosure::Shown) -> PublicSummary {
        PublicSummary {
            suppressed: !shown.answers,
            answers: shown.answers.then_some(self.answers),
            nps: (shown.answers && shown.nps).then_some(self.nps),
            statements: self
                .statements
                .iter()
                .map(|s| {
                    (
                        s.key.clone(),
                        (shown.answers && shown.statement(&s.key)).then(|| s.clone()),
                    )
                })
                .collect(),
        }
    }

    /// A statement's figures.
    pub fn statement(&self, key: &str) -> Option<&StatementStats> {
        self.statements.iter().find(|s| s.key == key)
    }
}

/// A [`Summary`] with small cells withheld (see [`Summary::public`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublicSummary {
    /// True when the whole cell has fewer than [`MIN_PUBLIC_CELL`] answers.
    pub suppressed: bool,
    /// Answers (None when suppressed).
    pub answers: Option<u64>,
    /// Recommendation (None when it has too few answers).
    pub nps: Option<NpsStats>,
    /// Statements (None when too few answers).
    pub statements: Vec<(String, Option<StatementStats>)>,
}

/// The Finnish–Swedish comparison of a subtree and period.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LangGap {
    /// NPS of service in Finnish.
    pub nps_fi: f64,
    /// NPS of service in Swedish.
    pub nps_sv: f64,
    /// `nps_sv - nps_fi`.
    pub difference: f64,
    /// True when the gap is large: at least [`GAP_POINTS`] points and
    /// statistically significant (|difference| > 1.96 · √(se_fi² + se_sv²)).
    pub large: bool,
}

/// NPS points from which a Finnish–Swedish gap counts as large.
pub const GAP_POINTS: f64 = 10.0;

/// Compares the NPS of Finnish and Swedish service (None unless both have
/// at least two answers).
pub fn lang_gap(fi: &NpsStats, sv: &NpsStats) -> Option<LangGap> {
    let (a, b) = (fi.nps?, sv.nps?);
    let (sa, sb) = (fi.std_error()?, sv.std_error()?);
    let difference = b - a;
    let se = (sa * sa + sb * sb).sqrt();
    Some(LangGap {
        nps_fi: a,
        nps_sv: b,
        difference,
        large: difference.abs() >= GAP_POINTS && difference.abs() > 1.96 * se,
    })
}

/// Handling deadlines of feedback cases, in days from receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDeadlines {
    /// Feedback with text.
    pub feedback_days: u16,
    /// A remark (muistutus): answered within a reasonable time, here 30 days.
    pub remark_days: u16,
    /// A complaint (kantelu) to the supervising authority: the statement is
    /// due by the authority's date; this is the default when none is given.
    pub complaint_days: u16,
}

impl Default for CaseDeadlines {
    fn default() -> Self {
        CaseDeadlines {
            feedback_days: 14,
            remark_days: 30,
            complaint_days: 21,
        }
    }
}

impl CaseDeadlines {
    /// The due date of a case of `kind` received on `received`.
    pub fn due(&self, kind: CaseKind, received: Date) -> Date {
        let days = match kind {
            CaseKind::Feedback => self.feedback_days,
            CaseKind::Remark => self.remark_days,
            CaseKind::Complaint => self.complaint_days,
        };
        received.saturating_add(Duration::days(i64::from(days)))
    }
}

/// Queue order of open cases: overdue first, then by due date, then by
/// kind (complaints, remarks, feedback), then oldest first.
pub fn case_urgency(
    kind: CaseKind,
    due: Date,
    received: Date,
    today: Date,
) -> (bool, Date, u8, Date) {
    let kind_rank = match kind {
        CaseKind::Complaint => 0,
        CaseKind::Remark => 1,
        CaseKind::Feedback => 2,
    };
    (due >= today, due, kind_rank, received)
}

/// Input of a remark or complaint recorded by staff.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawCase {
    /// `remark` or `complaint` (or `feedback`).
    pub kind: String,
    /// `YYYY-MM-DD`.
    pub received_on: String,
    /// `YYYY-MM-DD` or empty for the default deadline.
    pub due_on: String,
    /// What it is about.
    pub text: String,
    /// Who sent it (may be empty).
    pub contact: String,
}

/// A validated case input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCase {
    /// Kind.
    pub kind: CaseKind,
    /// When it arrived.
    pub received_on: Date,
    /// When it is due.
    pub due_on: Date,
    /// The text.
    pub text: String,
    /// Contact details.
    pub contact: Option<String>,
}

impl RawCase {
    /// Validates: kind, dates (not in the future, due not before receipt), text.
    pub fn parse(
        &self,
        deadlines: &CaseDeadlines,
        today: Date,
    ) -> Result<NewCase, Vec<FieldError>> {
        let mut v = Validator::new();
        let kind = CaseKind::parse(&self.kind);
        if kind.is_none() {
            v.push(
                "kind",
                if self.kind.trim().is_empty() {
                    ErrorCode::Required
                } else {
                    ErrorCode::Invalid
                },
            );
        }
        let received_on = match opt_trim(&self.received_on) {
            None => Some(today),
            Some(s) => match parse_date(s) {
                Some(d) if d <= today => Some(d),
                Some(_) => {
                    v.push("received_on", ErrorCode::OutOfRange);
                    None
                }
                None => {
                    v.push("received_on", ErrorCode::Invalid);
                    None
                }
            },
        };
        let due_on = match opt_trim(&self.due_on) {
            None => None,
            Some(s) => match parse_date(s) {
                Some(d) => Some(d),
                None => {
                    v.push("due_on", ErrorCode::Invalid);
                    None
                }
            },
        };
        if let (Some(r), Some(d)) = (received_on, due_on) {
            if d < r {
                v.push("due_on", ErrorCode::OutOfRange);
            }
        }
        let text = self.text.trim();
        if text.is_empty() {
            v.push("text", ErrorCode::Required);
        } else {
            too_long(&mut v, "text", text, MAX_TEXT);
        }
        too_long(&mut v, "contact", self.contact.trim(), MAX_SHORT);
        v.finish()?;
        match (kind, received_on) {
            (Some(kind), Some(received_on)) => Ok(NewCase {
                kind,
                received_on,
                due_on: due_on.unwrap_or_else(|| deadlines.due(kind, received_on)),
                text: text.to_owned(),
                contact: opt_trim(&self.contact).map(str::to_owned),
            }),
            _ => Err(vec![FieldError::new("kind", ErrorCode::Invalid)]),
        }
    }
}

/// One answer as the national export sees it: no text, no contact, no
/// token, the month instead of the date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRow {
    /// Code of the org unit.
    pub unit: String,
    /// Service month (`YYYY-MM`).
    pub month: String,
    /// Channel.
    pub channel: Channel,
    /// Language of service.
    pub lang: Option<ServiceLang>,
    /// Age group.
    pub age_group: Option<AgeGroup>,
    /// Respondent type.
    pub respondent: Option<Respondent>,
    /// Recommendation.
    pub nps: Option<u8>,
    /// Statement answers in survey order.
    pub scores: Vec<Option<Score>>,
}

/// What [`suppress_export`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionReport {
    /// Rows whose age group was withheld.
    pub age_withheld: usize,
    /// Rows whose respondent type was withheld too.
    pub respondent_withheld: usize,
    /// Rows whose language was withheld too.
    pub lang_withheld: usize,
    /// Rows whose unit was withheld (replaced by an empty code).
    pub unit_withheld: usize,
}

/// Withholds background variables of rows in small groups so that every
/// combination of unit, language, age group and respondent type that the
/// export shows is shared by at least `k` rows. A row is coarsened step by
/// step (age group, then respondent type, then language, then unit) until
/// the group of rows sharing its remaining values has at least `k` members.
pub fn suppress_export(rows: &mut [ExportRow], k: usize) -> SuppressionReport {
    type Key = (
        Option<String>,
        Option<ServiceLang>,
        Option<Respondent>,
        Option<AgeGroup>,
    );
    fn key(r: &ExportRow, level: usize) -> Key {
        (
            (level < 4).then(|| r.unit.clone()),
            if level < 3 { r.lang } else { None },
            if level < 2 { r.respondent } else { None },
            if level < 1 { r.age_group } else { None },
        )
    }
    let mut counts: Vec<BTreeMap<Key, usize>> = vec![BTreeMap::new(); 5];
    for r in rows.iter() {
        for (level, map) in counts.iter_mut().enumerate() {
            *map.entry(key(r, level)).or_default() += 1;
        }
    }
    let mut report = SuppressionReport::default();
    for r in rows.iter_mut() {
        let level = (0..4)
            .find(|&l| counts[l].get(&key(r, l)).copied().unwrap_or(0) >= k)
            .unwrap_or(4);
        if level >= 1 && r.age_group.is_some() {
            r.age_group = None;
            report.age_withheld += 1;
        }
        if level >= 2 && r.respondent.is_some() {
            r.respondent = None;
            report.respondent_withheld += 1;
        }
        if level >= 3 && r.lang.is_some() {
            r.lang = None;
            report.lang_withheld += 1;
        }
        if level >= 4 {
            r.unit.clear();
            report.unit_withheld += 1;
        }
    }
    report
}

/// The month (`YYYY-MM` period) a date falls in.
pub fn month_of(d: Date) -> Period {
    Period::containing(d, crate::period::PeriodKind::Month)
}

/// The sentiments a comment can have (the text analysis' codes).
pub const SENTIMENTS: [&str; 4] = ["positive", "negative", "mixed", "neutral"];

/// What the comments of a subtree and period say about one topic (`""`:
/// every comment).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopicFigures {
    /// Topic id, `""` for all comments.
    pub topic: String,
    /// Comments.
    pub comments: u64,
    /// Comments per sentiment, in [`SENTIMENTS`] order.
    pub by_sentiment: [u64; 4],
    /// Share of negative comments, % (mixed ones count as half negative).
    pub negative_share: Option<f64>,
}

/// Topic figures from (topic, sentiment, count) rows: the all-comments row
/// first, then topics by number of comments.
pub fn topic_figures(rows: &[(String, String, u64)]) -> Vec<TopicFigures> {
    let mut map: BTreeMap<&str, TopicFigures> = BTreeMap::new();
    for (topic, sentiment, n) in rows {
        let f = map.entry(topic.as_str()).or_insert_with(|| TopicFigures {
            topic: topic.clone(),
            ..TopicFigures::default()
        });
        f.comments += n;
        if let Some(i) = SENTIMENTS.iter().position(|s| s == sentiment) {
            f.by_sentiment[i] += n;
        }
    }
    let mut out: Vec<TopicFigures> = map
        .into_values()
        .map(|mut f| {
            f.negative_share = (f.comments > 0).then(|| {
                100.0 * (f.by_sentiment[1] as f64 + 0.5 * f.by_sentiment[2] as f64)
                    / f.comments as f64
            });
            f
        })
        .collect();
    out.sort_by(|a, b| {
        (!a.topic.is_empty())
            .cmp(&!b.topic.is_empty())
            .then(b.comments.cmp(&a.comments))
            .then(a.topic.cmp(&b.topic))
    });
    out
}

pub use crate::import::LineError;

/// The columns an import understands besides the statement keys.
pub const IMPORT_COLUMNS: [&str; 8] = [
    "unit",
    "service_date",
    "nps",
    "text",
    "service_lang",
    "age_group",
    "respondent",
    "contact",
];

fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> String {
    all.iter().map(|v| code(*v)).collect::<Vec<_>>().join(", ")
}

/// The columns of an answer import (CSV, comma or semicolon separated, a
/// header line naming them): `unit` (an org unit code, required),
/// `service_date`, `nps`, one column per statement key, `text`,
/// `service_lang`, `age_group`, `respondent`, `contact`. Unknown columns are
/// refused so that a misspelt statement is not silently dropped.
#[derive(Clone, Debug)]
pub struct AnswerColumns {
    headers: Vec<String>,
}

impl AnswerColumns {
    /// Checks the header line against `survey`.
    pub fn new(headers: Vec<String>, survey: &SurveyDef) -> Result<Self, Vec<LineError>> {
        let errors = crate::import::check_header(
            &headers,
            |h| IMPORT_COLUMNS.contains(&h) || survey.statement(h).is_some(),
            &["unit"],
        );
        if errors.is_empty() {
            Ok(AnswerColumns { headers })
        } else {
            Err(errors)
        }
    }

    /// One record (line `line`): the unit's code and the answer, or every
    /// problem of the line, each naming its column and what was expected.
    pub fn record<'a>(
        &self,
        line: usize,
        record: impl IntoIterator<Item = &'a str>,
        survey: &SurveyDef,
        today: Date,
    ) -> Result<(String, Answer), Vec<LineError>> {
        let mut raw = RawAnswer::default();
        let mut unit = String::new();
        let mut cells = 0;
        for (i, value) in record.into_iter().enumerate() {
            cells += 1;
            let Some(h) = self.headers.get(i) else {
                continue;
            };
            match h.as_str() {
                "unit" => unit = value.trim().to_owned(),
                "service_date" => raw.service_date = value.to_owned(),
                "nps" => raw.nps = value.to_owned(),
                "text" => raw.text = value.to_owned(),
                "service_lang" => raw.service_lang = value.to_owned(),
                "age_group" => raw.age_group = value.to_owned(),
                "respondent" => raw.respondent = value.to_owned(),
                "contact" => raw.contact = value.to_owned(),
                key => {
                    raw.scores.insert(key.to_owned(), value.to_owned());
                }
            }
        }
        let mut errors = Vec::new();
        if cells > self.headers.len() {
            errors.push(
                LineError::new(line, "line", ErrorCode::TooLong)
                    .expecting(crate::import::Expected::Columns(self.headers.len())),
            );
            return Err(errors);
        }
        if unit.is_empty() {
            errors.push(
                LineError::new(line, "unit", ErrorCode::Required)
                    .expecting(crate::import::Expected::UnitCode),
            );
        }
        let parsed = raw.parse(survey, today);
        if let Err(errs) = &parsed {
            for e in errs {
                let column = e.field.strip_prefix("scores.").unwrap_or(&e.field);
                errors.push(
                    LineError::new(line, column, e.code)
                        .expecting(expected(column, e.code, survey, today)),
                );
            }
        }
        match parsed {
            Ok(answer) if errors.is_empty() => Ok((unit, answer)),
            _ => Err(errors),
        }
    }
}

/// What a column of an answer import takes, for an error message.
fn expected(
    column: &str,
    code: ErrorCode,
    survey: &SurveyDef,
    today: Date,
) -> crate::import::Expected {
    use crate::import::Expected;
    match (column, code) {
        ("nps", ErrorCode::Required) => Expected::AnswerContent,
        ("nps", _) => "0–10".into(),
        ("service_date", ErrorCode::OutOfRange) => format!("{MIN_YEAR}-01-01 … {today}").into(),
        ("service_date", _) => "YYYY-MM-DD".into(),
        ("service_lang", _) => codes(&ServiceLang::ALL, ServiceLang::code).into(),
        ("age_group", _) => codes(&AgeGroup::ALL, AgeGroup::code).into(),
        ("respondent", _) => codes(&Respondent::ALL, Respondent::code).into(),
        ("text", _) => Expected::MaxChars(MAX_TEXT),
        ("contact", _) => Expected::MaxChars(MAX_SHORT),
        (_, _) => Expected::Scale(format!("{}–{}", survey.scale.min, survey.scale.max)),
    }
}

/// Reads a whole CSV text of answers at once (see [`AnswerColumns`]; the
/// store's import pipeline streams files instead). Every line is validated
/// against `survey`; the errors name line and column.
pub fn parse_import_csv(
    data: &str,
    survey: &SurveyDef,
    today: Date,
) -> Result<Vec<(usize, String, Answer)>, Vec<LineError>> {
    let data = data.strip_prefix('\u{feff}').unwrap_or(data);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(crate::import::delimiter(data.as_bytes()))
        .flexible(true)
        .from_reader(data.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => crate::import::header_names(h.iter()),
        Err(_) => return Err(vec![LineError::new(1, "header", ErrorCode::Invalid)]),
    };
    let columns = AnswerColumns::new(headers, survey)?;
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(_) => {
                errors.push(LineError::new(i + 2, "line", ErrorCode::Invalid));
                continue;
            }
        };
        let line = record
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(i + 2);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match columns.record(line, record.iter(), survey, today) {
            Ok((unit, answer)) => out.push((line, unit, answer)),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 24);

    #[test]
    fn background_values_are_read_by_code_or_export_number_and_nothing_else() {
        for v in AgeGroup::ALL {
            assert_eq!(AgeGroup::parse(v.code()), Some(v));
            assert_eq!(
                AgeGroup::parse(&format!(" {} ", v.code().to_uppercase())),
                Some(v)
            );
            assert_eq!(AgeGroup::parse(&v.export_code().to_string()), Some(v));
            assert_eq!(AgeGroup::parse(&format!("0{}", v.export_code())), None);
            assert_eq!(AgeGroup::parse(&format!("+{}", v.export_code())), None);
        }
        for v in ServiceLang::ALL {
            assert_eq!(ServiceLang::parse(&v.export_code().to_string()), Some(v));
        }
        for s in ["", "0", "9", "256", "1a", "-1", "fi "] {
            assert_eq!(AgeGroup::parse(s), None, "{s:?}");
        }
        assert_eq!(ServiceLang::parse("fi "), Some(ServiceLang::Fi));
        assert_eq!(ServiceLang::parse("0"), None);
    }

    fn raw(nps: &str) -> RawAnswer {
        RawAnswer {
            nps: nps.into(),
            ..RawAnswer::default()
        }
    }

    #[test]
    fn default_survey_is_valid_and_has_the_national_statements() {
        let s = SurveyDef::national_default();
        s.validate().unwrap();
        assert_eq!(s.statements.len(), 8);
        assert_eq!(
            s.statement("help_when_needed").unwrap().text.get(Lang::Sv),
            Some("Jag fick hjälp när jag behövde den")
        );
        assert_eq!(s.point_labels.len(), s.scale.len());
    }

    #[test]
    fn survey_validation_names_fields() {
        let mut s = SurveyDef::national_default();
        s.statements[1].key = "holistic".into();
        s.statements[2].text.en = None;
        s.scale = Scale {
            min: 3,
            max: 3,
            best_high: true,
        };
        let errs = s.validate().unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"statements[1].key"), "{fields:?}");
        assert!(fields.contains(&"statements[2].text_en"), "{fields:?}");
        assert!(fields.contains(&"scale"), "{fields:?}");
    }

    #[test]
    fn own_statement_needs_new_key_and_three_languages() {
        let s = SurveyDef::national_default();
        let errs = s
            .with_statement(
                "holistic",
                I18nText::new(Some("a".into()), None, None),
                None,
            )
            .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["key", "text_sv", "text_en"]);
        let next = s
            .with_statement(
                "parking",
                I18nText::new(
                    Some("Pysäköinti".into()),
                    Some("Parkering".into()),
                    Some("Parking".into()),
                ),
                None,
            )
            .unwrap();
        assert_eq!(next.statements.len(), 9);
        assert!(!next.statements[8].national);
        next.validate().unwrap();
    }

    #[test]
    fn a_countys_own_statement_is_asked_and_shown_in_that_county_only() {
        let text = || I18nText::new(Some("a".into()), Some("b".into()), Some("c".into()));
        let s = SurveyDef::national_default()
            .with_statement("parking", text(), None)
            .unwrap()
            .with_statement("sauna", text(), Some("east".into()))
            .unwrap();
        // A key is unique across counties.
        let errs = s
            .with_statement("sauna", text(), Some("west".into()))
            .unwrap_err();
        assert_eq!(errs[0].field, "key");
        let keys = |d: &SurveyDef| {
            d.statements
                .iter()
                .map(|x| x.key.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&s.for_county(Some("east"))).len(), 10);
        assert_eq!(keys(&s.for_county(Some("east")))[9], "sauna");
        assert_eq!(keys(&s.for_county(Some("west"))).len(), 9);
        assert_eq!(keys(&s.for_county(None)), keys(&s.for_county(Some("west"))));
        // The definition keeps the county (and a shared one reads as before).
        let json = serde_json::to_string(&s).unwrap();
        let back: SurveyDef = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(json.matches("\"county\"").count(), 1);
        let mut r = raw("9");
        r.scores.insert("sauna".into(), "4".into());
        r.scores.insert("parking".into(), "2".into());
        r.scores.insert("safe".into(), "".into());
        let a = r.parse(&s, TODAY).unwrap();
        assert!(s.not_asked(&a, Some("east")).is_empty());
        assert_eq!(s.not_asked(&a, Some("west")), ["sauna"]);
        assert_eq!(s.not_asked(&a, None), ["sauna"]);
    }

    #[test]
    fn answers_validate_with_named_fields() {
        let s = SurveyDef::national_default();
        let mut r = raw("11");
        r.scores.insert("holistic".into(), "6".into());
        r.scores.insert("safe".into(), "abc".into());
        r.scores.insert("nonsense".into(), "3".into());
        r.service_lang = "de".into();
        r.service_date = "2027-01-01".into();
        r.text = "x".repeat(MAX_TEXT + 1);
        let errs = r.parse(&s, TODAY).unwrap_err();
        let got: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(got.contains(&("nps", ErrorCode::OutOfRange)));
        assert!(got.contains(&("scores.holistic", ErrorCode::OutOfRange)));
        assert!(got.contains(&("scores.safe", ErrorCode::NotANumber)));
        assert!(got.contains(&("scores.nonsense", ErrorCode::Invalid)));
        assert!(got.contains(&("service_lang", ErrorCode::Invalid)));
        assert!(got.contains(&("service_date", ErrorCode::OutOfRange)));
        assert!(got.contains(&("text", ErrorCode::TooLong)));
        assert_eq!(raw("").parse(&s, TODAY).unwrap_err()[0].field, "nps");
        assert_eq!(
            raw("-1").parse(&s, TODAY).unwrap_err()[0].code,
            ErrorCode::OutOfRange
        );
    }

    #[test]
    fn answer_parses_cannot_say_and_background() {
        let s = SurveyDef::national_default();
        let mut r = raw(" 9 ");
        r.scores.insert("holistic".into(), "5".into());
        r.scores.insert("safe".into(), "x".into());
        r.scores.insert("useful".into(), "".into());
        r.service_lang = "sv".into();
        r.age_group = "6".into();
        r.respondent = "relative".into();
        r.service_date = "2026-11-20".into();
        let a = r.parse(&s, TODAY).unwrap();
        assert_eq!(a.nps, Some(9));
        assert_eq!(a.scores.len(), 2);
        assert_eq!(a.scores["safe"], Score::CannotSay);
        assert_eq!(a.service_lang, Some(ServiceLang::Sv));
        assert_eq!(a.age_group, Some(AgeGroup::From75));
        assert_eq!(a.respondent, Some(Respondent::Relative));
        let cells = a.cells(Channel::Qr);
        assert_eq!(cells.len(), 4);
        assert_eq!(cells[0].item, ITEM_ANSWERS);
        assert_eq!(cells[0].counts.counts[..2], [1, 0]);
        assert_eq!(cells[1].counts.counts[9], 1);
    }

    #[test]
    fn nps_edge_cases() {
        assert_eq!(NpsStats::from_counts(&Counts::default()).nps, None);
        let mut all_promoters = Counts::default();
        all_promoters.counts[10] = 7;
        all_promoters.counts[9] = 3;
        let s = NpsStats::from_counts(&all_promoters);
        assert_eq!(s.nps, Some(100.0));
        assert_eq!((s.ci_low, s.ci_high), (Some(100.0), Some(100.0)));
        let mut half = Counts::default();
        half.counts[0] = 50;
        half.counts[10] = 50;
        let s = NpsStats::from_counts(&half);
        assert_eq!(s.nps, Some(0.0));
        // var = 1, se = 0.1 → ±19.6 points
        assert!((s.ci_high.unwrap() - 19.6).abs() < 1e-9);
        assert!((s.ci_low.unwrap() + 19.6).abs() < 1e-9);
    }

    #[test]
    fn statement_mean_ignores_cannot_say() {
        let mut c = Counts::default();
        c.counts[1] = 1;
        c.counts[5] = 3;
        c.cannot_say = 4;
        let s = StatementStats::from_counts("x", &c, &Scale::default());
        assert_eq!(s.n, 4);
        assert_eq!(s.mean, Some(4.0));
        assert_eq!(s.distribution, vec![1, 0, 0, 0, 3]);
        let only_cs = StatementStats::from_counts(
            "x",
            &Counts {
                cannot_say: 2,
                ..Counts::default()
            },
            &Scale::default(),
        );
        assert_eq!(only_cs.mean, None);
    }

    #[test]
    fn public_summary_suppresses_small_cells() {
        let survey = SurveyDef::national_default();
        let mut tally = Tally::default();
        let mut answers = Counts::default();
        answers.counts[0] = 4;
        tally.add(ITEM_ANSWERS, &answers);
        let p = tally.summary(&survey).public();
        assert!(p.suppressed);
        assert_eq!(p.answers, None);
        answers.counts[0] = 1;
        tally.add(ITEM_ANSWERS, &answers);
        let mut nps = Counts::default();
        nps.counts[10] = 4;
        tally.add(ITEM_NPS, &nps);
        let mut st = Counts::default();
        st.counts[5] = 5;
        tally.add("safe", &st);
        let p = tally.summary(&survey).public();
        assert!(!p.suppressed);
        assert_eq!(p.answers, Some(5));
        assert_eq!(p.nps, None, "4 NPS answers are withheld");
        let safe = p.statements.iter().find(|(k, _)| k == "safe").unwrap();
        assert!(safe.1.is_some());
    }

    #[test]
    fn lang_gap_is_large_only_when_big_and_significant() {
        let mk = |prom: u64, det: u64| {
            let mut c = Counts::default();
            c.counts[10] = prom;
            c.counts[0] = det;
            NpsStats::from_counts(&c)
        };
        // 60 vs 20 on 200 answers each: large.
        let g = lang_gap(&mk(160, 40), &mk(120, 80)).unwrap();
        assert!((g.difference + 40.0).abs() < 1e-9);
        assert!(g.large);
        // the same NPS on 5 answers each: not significant.
        let g = lang_gap(&mk(4, 1), &mk(3, 2)).unwrap();
        assert!(!g.large);
        assert!(lang_gap(&mk(0, 0), &mk(3, 2)).is_none());
    }

    #[test]
    fn filters_and_tally() {
        let survey = SurveyDef::national_default();
        let mut a = raw("10").parse(&survey, TODAY).unwrap();
        a.service_lang = Some(ServiceLang::Fi);
        let mut b = raw("0").parse(&survey, TODAY).unwrap();
        b.service_lang = Some(ServiceLang::Sv);
        let cells = merge_cells(
            a.cells(Channel::Web)
                .into_iter()
                .chain(b.cells(Channel::Web)),
        );
        let all = Tally::from_cells(&cells, &Filter::default()).summary(&survey);
        assert_eq!(all.answers, 2);
        assert_eq!(all.nps.nps, Some(0.0));
        let fi = Tally::from_cells(
            &cells,
            &Filter {
                lang: Some(ServiceLang::Fi),
                ..Filter::default()
            },
        )
        .summary(&survey);
        assert_eq!(fi.nps.nps, Some(100.0));
    }

    #[test]
    fn case_deadlines_and_validation() {
        let d = CaseDeadlines::default();
        let c = RawCase {
            kind: "remark".into(),
            received_on: "2026-11-01".into(),
            text: "Muistutus hoidosta".into(),
            ..RawCase::default()
        }
        .parse(&d, TODAY)
        .unwrap();
        assert_eq!(c.due_on, date!(2026 - 12 - 01));
        let errs = RawCase {
            kind: "appeal".into(),
            received_on: "2026-12-01".into(),
            due_on: "2026-01-01".into(),
            ..RawCase::default()
        }
        .parse(&d, TODAY)
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "received_on", "text"]);
        let errs = RawCase {
            kind: "complaint".into(),
            received_on: "2026-11-01".into(),
            due_on: "2026-10-01".into(),
            text: "k".into(),
            ..RawCase::default()
        }
        .parse(&d, TODAY)
        .unwrap_err();
        assert_eq!(errs[0].field, "due_on");
        // overdue first
        let late = case_urgency(
            CaseKind::Feedback,
            date!(2026 - 11 - 01),
            date!(2026 - 10 - 01),
            TODAY,
        );
        let soon = case_urgency(
            CaseKind::Complaint,
            date!(2026 - 11 - 30),
            date!(2026 - 11 - 20),
            TODAY,
        );
        assert!(late < soon);
    }

    fn row(
        unit: &str,
        lang: Option<ServiceLang>,
        age: Option<AgeGroup>,
        resp: Option<Respondent>,
    ) -> ExportRow {
        ExportRow {
            unit: unit.into(),
            month: "2026-01".into(),
            channel: Channel::Web,
            lang,
            age_group: age,
            respondent: resp,
            nps: Some(9),
            scores: vec![],
        }
    }

    #[test]
    fn export_suppression_coarsens_small_groups() {
        use AgeGroup::*;
        let mut rows = Vec::new();
        for _ in 0..5 {
            rows.push(row(
                "A",
                Some(ServiceLang::Fi),
                Some(From35),
                Some(Respondent::Client),
            ));
        }
        // one Swedish-speaking 75+ relative in A: coarsened until it hides
        rows.push(row(
            "A",
            Some(ServiceLang::Sv),
            Some(From75),
            Some(Respondent::Relative),
        ));
        // a unit with 2 answers: unit withheld
        rows.push(row(
            "B",
            Some(ServiceLang::Fi),
            Some(From35),
            Some(Respondent::Client),
        ));
        rows.push(row(
            "B",
            Some(ServiceLang::Fi),
            Some(From35),
            Some(Respondent::Client),
        ));
        let rep = suppress_export(&mut rows, 5);
        assert_eq!(rows[0].age_group, Some(From35));
        assert_eq!(rows[5].age_group, None);
        assert_eq!(rows[5].respondent, None);
        assert_eq!(rows[5].lang, None);
        assert_eq!(rows[5].unit, "A");
        assert_eq!(rows[6].unit, "");
        assert_eq!(rep.unit_withheld, 2);
        assert_eq!(rep.age_withheld, 3);
    }

    #[test]
    fn csv_import_names_line_and_column() {
        let s = SurveyDef::national_default();
        let ok = "unit;nps;safe;text;service_lang\nA1;9;5;Hyvä;fi\n;;;;\nB2;3;x;;sv\n";
        let lines = parse_import_csv(ok, &s, TODAY).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].0, 4);
        assert_eq!(lines[1].1, "B2");
        assert_eq!(lines[1].2.scores["safe"], Score::CannotSay);
        let bad = "unit,nps,safe\nA1,11,5\n,5,2\nA1,5,seven\n";
        let errs = parse_import_csv(bad, &s, TODAY).unwrap_err();
        let got: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            [
                "line 2: nps: out_of_range (expected 0–10)",
                "line 3: unit: required (expected a unit code)",
                "line 4: safe: not_a_number (expected 1–5 or cannot_say)"
            ]
        );
        let errs = parse_import_csv("unit,nsp\nA,1\n", &s, TODAY).unwrap_err();
        assert_eq!(errs[0].to_string(), "line 1: nsp: invalid");
        let errs = parse_import_csv("nps\n5\n", &s, TODAY).unwrap_err();
        assert_eq!(errs[0].field, "unit");
    }

    #[test]
    fn topic_figures_count_negative_shares() {
        let rows = vec![
            (String::new(), "negative".to_string(), 3),
            (String::new(), "positive".to_string(), 1),
            (String::new(), "mixed".to_string(), 2),
            ("waiting".to_string(), "negative".to_string(), 3),
            ("billing".to_string(), "positive".to_string(), 1),
        ];
        let f = topic_figures(&rows);
        assert_eq!(f[0].topic, "");
        assert_eq!(f[0].comments, 6);
        assert_eq!(f[0].negative_share, Some(100.0 * 4.0 / 6.0));
        assert_eq!(f[1].topic, "waiting");
        assert_eq!(f[1].negative_share, Some(100.0));
        assert_eq!(f[2].negative_share, Some(0.0));
        assert!(topic_figures(&[]).is_empty());
    }

    // An independent computation of NPS and statement means straight from a
    // list of answers, compared with the aggregate path.
    proptest! {
        #[test]
        fn aggregates_match_direct_computation(
            answers in proptest::collection::vec(
                (proptest::option::of(0u8..=10), proptest::option::of(0u8..=6), 0usize..3),
                0..300,
            )
        ) {
            let survey = SurveyDef::national_default();
            let mut cells = Vec::new();
            for (nps, score, lang) in &answers {
                let mut r = RawAnswer { nps: nps.map(|n| n.to_string()).unwrap_or_default(), ..RawAnswer::default() };
                if let Some(s) = score {
                    // 0 stands for "cannot say", 1..=5 for a value, 6 for none
                    let v = match s { 0 => "x".to_string(), 6 => String::new(), v => v.to_string() };
                    r.scores.insert("safe".into(), v);
                }
                r.service_lang = ServiceLang::ALL[*lang].code().into();
                r.text = "t".into(); // so that an answer without figures is valid
                let a = r.parse(&survey, TODAY).unwrap();
                cells.extend(a.cells(Channel::Import));
            }
            let cells = merge_cells(cells);
            let sum = Tally::from_cells(&cells, &Filter::default()).summary(&survey);
            prop_assert_eq!(sum.answers, answers.len() as u64);
            let npss: Vec<f64> = answers.iter().filter_map(|a| a.0).map(|n| if n >= 9 { 100.0 } else if n <= 6 { -100.0 } else { 0.0 }).collect();
            if npss.is_empty() {
                prop_assert_eq!(sum.nps.nps, None);
            } else {
                let direct = npss.iter().sum::<f64>() / npss.len() as f64;
                prop_assert!((sum.nps.nps.unwrap() - direct).abs() < 1e-9);
                let mean = direct / 100.0;
                let var = npss.iter().map(|x| (x / 100.0 - mean).powi(2)).sum::<f64>() / npss.len() as f64;
                let half = 100.0 * 1.96 * (var / npss.len() as f64).sqrt();
                prop_assert!((sum.nps.ci_high.unwrap() - (direct + half).min(100.0)).abs() < 1e-6);
                prop_assert!((sum.nps.ci_low.unwrap() - (direct - half).max(-100.0)).abs() < 1e-6);
            }
            let vals: Vec<f64> = answers.iter().filter_map(|a| a.1).filter(|s| (1..=5).contains(s)).map(f64::from).collect();
            let safe = sum.statement("safe").unwrap();
            prop_assert_eq!(safe.n, vals.len() as u64);
            prop_assert_eq!(safe.cannot_say, answers.iter().filter(|a| a.1 == Some(0)).count() as u64);
            match safe.mean {
                None => prop_assert!(vals.is_empty()),
                Some(m) => prop_assert!((m - vals.iter().sum::<f64>() / vals.len() as f64).abs() < 1e-9),
            }
            // the language breakdown adds up to the total
            let by_lang: u64 = ServiceLang::ALL.iter().map(|l| {
                Tally::from_cells(&cells, &Filter { lang: Some(*l), ..Filter::default() }).summary(&survey).answers
            }).sum();
            prop_assert_eq!(by_lang, sum.answers);
        }

        #[test]
        fn suppression_leaves_no_small_group(
            rows in proptest::collection::vec((0usize..3, 0usize..3, 0usize..6, 0usize..2), 0..80)
        ) {
            let mut export: Vec<ExportRow> = rows.iter().map(|(u, l, a, r)| row(
                ["A", "B", "C"][*u], Some(ServiceLang::ALL[*l]), Some(AgeGroup::ALL[*a]), Some(Respondent::ALL[*r]),
            )).collect();
            suppress_export(&mut export, 5);
            for r in &export {
                // every shown row's combination of shown values is shared by ≥ 5
                // rows that agree on them (where those rows show them or not)
                let n = export.iter().filter(|o| {
                    (r.unit.is_empty() || o.unit == r.unit)
                        && (r.lang.is_none() || o.lang == r.lang)
                        && (r.age_group.is_none() || o.age_group == r.age_group)
                        && (r.respondent.is_none() || o.respondent == r.respondent)
                }).count();
                prop_assert!(n >= 5 || export.len() < 5, "row {:?} shared by {}", r, n);
            }
        }
    }
}
