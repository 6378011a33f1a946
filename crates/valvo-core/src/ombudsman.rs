//! Contacts to the patient and social ombudspersons (Act 739/2023): what a
//! contact records, the reason classification, and the statistics the
//! ombudsperson and the periodic report print (seed 003: "625 events, 726
//! statistical items", the reasons with their shares, shares by producer,
//! sector, client group and language).
//!
//! A contact holds no name, identity code or contact detail of the client.
//! It has one or more *items* (the service concerned and its reasons).
//! Statistics count items by producer, sector, language and client group,
//! and reason mentions by reason; a contact counts once, in the smallest part
//! of the organisation that holds all its items ([`contact_unit`]).

use serde::{Deserialize, Serialize};
use time::Date;

use crate::org::{OrgTree, ProducerType};
use crate::period::{Period, PeriodKind};
use crate::plan::{ErrorCode, FieldError};
use crate::report::{ReportTable, TableCell, TableLabel, TableRow};
use crate::text::I18nText;

/// Longest free-text note (before redaction).
pub const MAX_NOTE: usize = 4000;
/// At most this many items in one contact.
pub const MAX_ITEMS: usize = 20;
/// At most this many reasons in one item.
pub const MAX_REASONS: usize = 10;
/// The earliest accepted contact year.
const MIN_YEAR: i32 = 2000;

/// How the client reached the ombudsperson.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// By telephone.
    Phone,
    /// By e-mail.
    Email,
    /// By letter.
    Letter,
    /// In person.
    Meeting,
    /// Through the county's e-service.
    EService,
}

code_enum!(Channel, 5, [
    Phone => "phone",
    Email => "email",
    Letter => "letter",
    Meeting => "meeting",
    EService => "e_service",
]);

/// The language the contact was handled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactLanguage {
    /// Finnish.
    Fi,
    /// Swedish.
    Sv,
    /// English.
    En,
    /// Any other language.
    Other,
}

code_enum!(ContactLanguage, 4, [
    Fi => "fi",
    Sv => "sv",
    En => "en",
    Other => "other",
]);

/// Whom the matter concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientGroup {
    /// An adult.
    Adult,
    /// A family.
    Family,
    /// A minor.
    Minor,
}

code_enum!(ClientGroup, 3, [
    Adult => "adult",
    Family => "family",
    Minor => "minor",
]);

/// Who produced the service an item concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Producer {
    /// The county's own production.
    Own,
    /// A purchased service.
    Purchased,
    /// A service voucher.
    ServiceVoucher,
    /// A private producer the client chose.
    Private,
    /// Another organiser (HUS, the state, another county).
    OtherOrganiser,
}

code_enum!(Producer, 5, [
    Own => "own",
    Purchased => "purchased",
    ServiceVoucher => "service_voucher",
    Private => "private",
    OtherOrganiser => "other_organiser",
]);

impl From<ProducerType> for Producer {
    fn from(p: ProducerType) -> Self {
        match p {
            ProducerType::Own => Producer::Own,
            ProducerType::Purchased => Producer::Purchased,
            ProducerType::ServiceVoucher => Producer::ServiceVoucher,
            ProducerType::Private => Producer::Private,
        }
    }
}

/// The sector of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// Health care.
    Health,
    /// Social welfare.
    Social,
    /// Neither (early childhood education, matters of principle …).
    Other,
}

code_enum!(Sector, 3, [
    Health => "health",
    Social => "social",
    Other => "other",
]);

/// What the ombudsperson did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Gave advice.
    Advice,
    /// Helped with a remark (muistutus / anmärkning).
    Remark,
    /// Helped with a complaint to the supervisory authority.
    Complaint,
    /// Helped with a patient-injury notice.
    PatientInjury,
    /// Contacted the unit.
    ContactedUnit,
}

code_enum!(Measure, 5, [
    Advice => "advice",
    Remark => "remark",
    Complaint => "complaint",
    PatientInjury => "patient_injury",
    ContactedUnit => "contacted_unit",
]);

/// The default reason classification: code and names in fi, sv and en.
/// Counties change the names and add reasons; a code, once used, stays.
pub const DEFAULT_REASONS: [(&str, &str, &str, &str); 16] = [
    (
        "care",
        "Tyytymättömyys hoitoon",
        "Missnöje med vården",
        "Dissatisfaction with care",
    ),
    ("conduct", "Kohtelu", "Bemötande", "Treatment"),
    (
        "service",
        "Tyytymättömyys palveluun",
        "Missnöje med service",
        "Dissatisfaction with service",
    ),
    (
        "legal_remedies",
        "Oikeusturvakeinot",
        "Rättsskyddsmedel",
        "Legal remedies",
    ),
    (
        "documents_drafting",
        "Asiakirjojen laatiminen",
        "Upprättande av handlingar",
        "Drafting documents",
    ),
    (
        "information",
        "Riittämätön tiedonsaanti",
        "Otillräcklig information",
        "Insufficient information",
    ),
    (
        "participation",
        "Yhteisymmärrys ja osallisuus",
        "Samförstånd och delaktighet",
        "Agreement and participation",
    ),
    (
        "record_entries",
        "Asiakirjamerkinnät",
        "Anteckningar i dokument",
        "Record entries",
    ),
    (
        "patient_injury",
        "Epäily potilasvahingosta",
        "Misstänkt patientskada",
        "Suspected patient injury",
    ),
    (
        "record_correction",
        "Oikeus korjata asiakirjoja",
        "Rätt att korrigera dokument",
        "Right to correct records",
    ),
    (
        "staff_competence",
        "Henkilöstön osaaminen",
        "Personalens kompetens",
        "Staff competence",
    ),
    (
        "self_determination",
        "Itsemääräämisoikeus",
        "Självbestämmanderätt",
        "Self-determination",
    ),
    (
        "access",
        "Hoitoon pääsy",
        "Tillgång till vård",
        "Access to care",
    ),
    ("fees", "Asiakasmaksut", "Klientavgifter", "Client fees"),
    (
        "data_protection",
        "Tietosuoja",
        "Dataskydd",
        "Data protection",
    ),
    ("other", "Muu syy", "Annan orsak", "Other reason"),
];

/// Whether `code` is well-formed for a reason (lower-case letters, digits
/// and `_`, 1–40 characters, starting with a letter).
pub fn valid_reason_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// One reason of the classification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable code.
    pub code: String,
    /// Name in fi, sv, en.
    pub name: I18nText,
    /// Offered for new contacts.
    pub active: bool,
    /// Position in lists.
    pub sort_order: i64,
    /// The county whose own entry this is (its code); `None`: shared by
    /// every county. Fixed when the entry is added, as the code is.
    #[serde(default)]
    pub county: Option<String>,
}

/// The names of `code` in a classification (the code itself when the list
/// no longer has it).
pub fn name_in(list: &[Reason], code: &str) -> I18nText {
    list.iter()
        .find(|r| r.code == code)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| I18nText::new(Some(code.to_string()), None, None))
}

/// Whether a count is small enough to withhold in public (1–4).
pub fn small(n: u64) -> bool {
    n > 0 && n < crate::feedback::MIN_PUBLIC_CELL
}

/// One item of a contact: the service concerned and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewItem {
    /// The unit concerned, when known.
    #[serde(default)]
    pub org_unit: Option<i64>,
    /// Who produced the service; taken from the unit when one is named.
    #[serde(default)]
    pub producer: Option<Producer>,
    /// Sector.
    pub sector: Sector,
    /// One or more reason codes.
    pub reasons: Vec<String>,
}

/// A contact as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewContact {
    /// Day of the contact.
    pub contacted_on: Date,
    /// Channel.
    pub channel: Channel,
    /// Language.
    pub language: ContactLanguage,
    /// Client group.
    pub client_group: ClientGroup,
    /// Items (at least one).
    pub items: Vec<NewItem>,
    /// What the ombudsperson did.
    #[serde(default)]
    pub measures: Vec<Measure>,
    /// A free-text note; redacted before it is kept.
    #[serde(default)]
    pub note: Option<String>,
}

/// An item as the statistics count it: the unit it is counted in and its producer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedItem {
    /// The unit the item is counted in (its own, or the recorder's county).
    pub org_unit: i64,
    /// Whether the item named its unit.
    pub named_unit: bool,
    /// Producer.
    pub producer: Producer,
    /// Sector.
    pub sector: Sector,
    /// Reason codes, each once.
    pub reasons: Vec<String>,
}

impl NewContact {
    /// Checks the contact and settles where each item is counted: a named
    /// unit must be in `tree` and in the recorder's `scope`; an item without
    /// one needs a producer and is counted at `home` (the recorder's scope,
    /// or the county when there is one). `reason_ok` tells whether a reason
    /// code is active. Errors name the field (`items.0.reasons.1`).
    pub fn resolve(
        &self,
        tree: &OrgTree,
        scope: Option<i64>,
        home: Option<i64>,
        today: Date,
        reason_ok: &dyn Fn(&str, Option<i64>) -> bool,
    ) -> Result<Vec<ResolvedItem>, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.contacted_on > today || self.contacted_on.year() < MIN_YEAR {
            errors.push(FieldError::new("contacted_on", ErrorCode::OutOfRange));
        }
        if self.items.is_empty() {
            errors.push(FieldError::new("items", ErrorCode::Required));
        }
        if self.items.len() > MAX_ITEMS {
            errors.push(FieldError::new("items", ErrorCode::TooLong));
        }
        if self
            .note
            .as_deref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE)
        {
            errors.push(FieldError::new("note", ErrorCode::TooLong));
        }
        let mut out = Vec::with_capacity(self.items.len());
        for (i, item) in self.items.iter().enumerate() {
            let field = |f: &str| format!("items.{i}.{f}");
            let place = match item.org_unit {
                Some(id) => match tree.get(id) {
                    Some(node) if scope.is_none_or(|s| tree.is_in_subtree(id, s)) => {
                        Some((id, true, Producer::from(node.producer)))
                    }
                    _ => {
                        errors.push(FieldError::new(field("org_unit"), ErrorCode::NotFound));
                        None
                    }
                },
                None => match (item.producer, home) {
                    (Some(p), Some(h)) => Some((h, false, p)),
                    (None, _) => {
                        errors.push(FieldError::new(field("producer"), ErrorCode::Required));
                        None
                    }
                    (Some(_), None) => {
                        errors.push(FieldError::new(field("org_unit"), ErrorCode::Required));
                        None
                    }
                },
            };
            if item.reasons.is_empty() {
                errors.push(FieldError::new(field("reasons"), ErrorCode::Required));
            }
            if item.reasons.len() > MAX_REASONS {
                errors.push(FieldError::new(field("reasons"), ErrorCode::TooLong));
            }
            let mut reasons: Vec<String> = Vec::with_capacity(item.reasons.len());
            for (j, r) in item.reasons.iter().enumerate() {
                let r = r.trim();
                if !reason_ok(r, place.map(|(unit, _, _)| unit)) {
                    errors.push(FieldError::new(
                        format!("items.{i}.reasons.{j}"),
                        ErrorCode::NotFound,
                    ));
                } else if !reasons.iter().any(|x| x == r) {
                    reasons.push(r.to_string());
                }
            }
            if let Some((org_unit, named_unit, producer)) = place {
                out.push(ResolvedItem {
                    org_unit,
                    named_unit,
                    producer,
                    sector: item.sector,
                    reasons,
                });
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// The unit a contact is counted in: the smallest part of the organisation
/// that holds every item's unit (their lowest common ancestor). So a
/// contact counts once in every subtree that holds all of it, and an area's
/// count never counts a contact twice.
pub fn contact_unit(tree: &OrgTree, units: &[i64]) -> Option<i64> {
    let mut common: Option<Vec<i64>> = None;
    for &u in units {
        let path: Vec<i64> = tree.path(u).iter().map(|n| n.id).collect();
        if path.is_empty() {
            return None;
        }
        common = Some(match common {
            None => path,
            Some(c) => c
                .iter()
                .zip(&path)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    common.and_then(|c| c.last().copied())
}

/// The marginal counts one contact adds: `(unit, dimension, key)`, each
/// counted once per row. Contacts, channels and measures in the contact's
/// unit; items, producers, sectors, languages and client groups per item;
/// reasons per mention.
pub fn marginals(
    contact_unit: i64,
    contact: &NewContact,
    items: &[ResolvedItem],
) -> Vec<(i64, &'static str, String)> {
    let mut out = vec![
        (contact_unit, "contacts", String::new()),
        (contact_unit, "channel", contact.channel.code().to_string()),
    ];
    let mut measures = contact.measures.clone();
    measures.sort();
    measures.dedup();
    for m in measures {
        out.push((contact_unit, "measure", m.code().to_string()));
    }
    for item in items {
        let u = item.org_unit;
        out.push((u, "items", String::new()));
        out.push((u, "producer", item.producer.code().to_string()));
        out.push((u, "sector", item.sector.code().to_string()));
        out.push((u, "language", contact.language.code().to_string()));
        out.push((u, "client_group", contact.client_group.code().to_string()));
        for r in &item.reasons {
            out.push((u, "reason", r.clone()));
        }
    }
    out
}

/// One line of a breakdown: a code with its count and share (percent, two
/// decimals) in the period and the previous one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// Code.
    pub code: String,
    /// Count in the period.
    pub count: u64,
    /// Share in percent of the breakdown's base; `None` when the base is 0.
    pub share: Option<f64>,
    /// Count in the previous period.
    pub previous_count: u64,
    /// Share in the previous period.
    pub previous_share: Option<f64>,
}

/// Percent with two decimals.
pub fn percent(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| (n as f64 * 10_000.0 / of as f64).round() / 100.0)
}

/// The statistics of a subtree and period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OmbudsmanStats {
    /// The period.
    pub period: Period,
    /// The period before (`None` for the first representable one).
    pub previous_period: Option<Period>,
    /// Contacts (events).
    pub contacts: u64,
    /// Statistical items.
    pub items: u64,
    /// Reason mentions.
    pub reason_mentions: u64,
    /// Contacts in the previous period.
    pub previous_contacts: u64,
    /// Items in the previous period.
    pub previous_items: u64,
    /// Reasons, most mentioned first; shares over all reason mentions.
    pub reasons: Vec<Share>,
    /// By producer; shares over items.
    pub producers: Vec<Share>,
    /// By sector; shares over items.
    pub sectors: Vec<Share>,
    /// By language; shares over items.
    pub languages: Vec<Share>,
    /// By client group; shares over items.
    pub client_groups: Vec<Share>,
    /// By channel; shares over contacts.
    pub channels: Vec<Share>,
    /// What was done; shares over contacts.
    pub measures: Vec<Share>,
    /// Contacts by month of the period.
    pub by_month: Vec<(Period, u64)>,
}

/// Marginal rows read from the store: `(month, dimension, key, n)`.
pub type MarginalRow = (Period, String, String, u64);

fn total(rows: &[MarginalRow], dim: &str, key: Option<&str>) -> u64 {
    rows.iter()
        .filter(|(_, d, k, _)| d == dim && key.is_none_or(|key| k == key))
        .map(|r| r.3)
        .sum()
}

fn breakdown(
    cur: &[MarginalRow],
    prev: &[MarginalRow],
    dim: &str,
    codes: &[String],
    base: (u64, u64),
) -> Vec<Share> {
    codes
        .iter()
        .map(|code| {
            let count = total(cur, dim, Some(code));
            let previous_count = total(prev, dim, Some(code));
            Share {
                code: code.clone(),
                count,
                share: percent(count, base.0),
                previous_count,
                previous_share: percent(previous_count, base.1),
            }
        })
        .collect()
}

fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|v| code(*v).to_string()).collect()
}

impl OmbudsmanStats {
    /// Builds the statistics from the marginal rows of the period and of the
    /// previous one. Fixed breakdowns list every code in order; reasons list
    /// those mentioned in either period, most mentioned first.
    pub fn from_marginals(period: Period, cur: &[MarginalRow], prev: &[MarginalRow]) -> Self {
        let contacts = total(cur, "contacts", None);
        let items = total(cur, "items", None);
        let reason_mentions = total(cur, "reason", None);
        let previous_contacts = total(prev, "contacts", None);
        let previous_items = total(prev, "items", None);
        let previous_mentions = total(prev, "reason", None);
        let mut reason_codes: Vec<String> = cur
            .iter()
            .chain(prev)
            .filter(|r| r.1 == "reason")
            .map(|r| r.2.clone())
            .collect();
        reason_codes.sort();
        reason_codes.dedup();
        let mut reasons = breakdown(
            cur,
            prev,
            "reason",
            &reason_codes,
            (reason_mentions, previous_mentions),
        );
        reasons.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.previous_count.cmp(&a.previous_count))
                .then(a.code.cmp(&b.code))
        });
        let items_base = (items, previous_items);
        let contacts_base = (contacts, previous_contacts);
        OmbudsmanStats {
            period,
            previous_period: period.prev(),
            contacts,
            items,
            reason_mentions,
            previous_contacts,
            previous_items,
            reasons,
            producers: breakdown(
                cur,
                prev,
                "producer",
                &codes(&Producer::ALL, Producer::code),
                items_base,
            ),
            sectors: breakdown(
                cur,
                prev,
                "sector",
                &codes(&Sector::ALL, Sector::code),
                items_base,
            ),
            languages: breakdown(
                cur,
                prev,
                "language",
                &codes(&ContactLanguage::ALL, ContactLanguage::code),
                items_base,
            ),
            client_groups: breakdown(
                cur,
                prev,
                "client_group",
                &codes(&ClientGroup::ALL, ClientGroup::code),
                items_base,
            ),
            channels: breakdown(
                cur,
                prev,
                "channel",
                &codes(&Channel::ALL, Channel::code),
                contacts_base,
            ),
            measures: breakdown(
                cur,
                prev,
                "measure",
                &codes(&Measure::ALL, Measure::code),
                contacts_base,
            ),
            by_month: period
                .sub_periods(PeriodKind::Month)
                .into_iter()
                .map(|m| {
                    let n = cur
                        .iter()
                        .filter(|r| r.0 == m && r.1 == "contacts")
                        .map(|r| r.3)
                        .sum();
                    (m, n)
                })
                .collect(),
        }
    }

    /// The reasons the report prints: over `min_share` percent of the mentions.
    pub fn main_reasons(&self, min_share: f64) -> impl Iterator<Item = &Share> {
        self.reasons
            .iter()
            .filter(move |r| r.share.is_some_and(|s| s > min_share))
    }
}

/// Which lines of a breakdown a public view withholds: the small counts
/// (1–4), and as many more as keep them from following from the total
/// (complementary suppression, [`crate::disclosure::protect`]). The
/// previous period's counts are judged the same way, together with the current.
pub fn withheld(list: &[Share], total: u64, previous_total: u64) -> Vec<bool> {
    let cur = withheld_counts(&list.iter().map(|s| s.count).collect::<Vec<_>>(), total);
    let prev = withheld_counts(
        &list.iter().map(|s| s.previous_count).collect::<Vec<_>>(),
        previous_total,
    );
    (0..list.len()).map(|i| cur[i] || prev[i]).collect()
}

/// Which parts of a breakdown whose total is shown are withheld: the small
/// ones and their complements; every part when nothing short of the total
/// would protect them (the total stays: it is printed elsewhere too).
pub fn withheld_counts(counts: &[u64], total: u64) -> Vec<bool> {
    use crate::disclosure::{protect, Cell, Sum};
    let mut cells: Vec<Cell> = counts
        .iter()
        .map(|&n| Cell { n, published: true })
        .collect();
    cells.push(Cell {
        n: total,
        published: true,
    });
    let sums = [Sum {
        total: counts.len(),
        parts: (0..counts.len()).collect(),
    }];
    let hidden = protect(&cells, &sums, crate::feedback::MIN_PUBLIC_CELL, &[], &[]);
    if hidden[counts.len()] {
        return counts.iter().map(|&n| n > 0).collect();
    }
    hidden[..counts.len()].to_vec()
}

fn key(k: &str) -> TableLabel {
    TableLabel::Key(k.to_string())
}

/// Reasons over this share (percent) of the mentions are printed.
const MAIN_REASON_SHARE: f64 = 5.0;

/// A share table (reasons, producers, sectors): count and share now, share
/// before; small counts withheld with their complements, as public
/// statistics are.
pub(crate) fn share_table(
    table: &str,
    label_head: &str,
    list: &[Share],
    totals: (u64, u64),
    label: &dyn Fn(&Share) -> TableLabel,
    keep: &dyn Fn(&Share) -> bool,
) -> Option<ReportTable> {
    let hidden = withheld(list, totals.0, totals.1);
    // Withheld lines go last: in a list ordered by count, their place
    // would tell how large they are.
    let mut lines: Vec<(&Share, bool)> = list
        .iter()
        .zip(hidden)
        .filter(|(s, _)| (s.count > 0 || s.previous_count > 0) && keep(s))
        .collect();
    lines.sort_by_key(|(_, h)| *h);
    let rows: Vec<TableRow> = lines
        .into_iter()
        .map(|(s, h)| TableRow {
            labels: vec![label(s)],
            cells: if h {
                vec![
                    TableCell::Count(None),
                    TableCell::Percent(None),
                    TableCell::Percent(None),
                ]
            } else {
                vec![
                    TableCell::Count(Some(s.count)),
                    TableCell::Percent(s.share),
                    TableCell::Percent(s.previous_share),
                ]
            },
        })
        .collect();
    // Nothing but withheld lines tells nothing: the table is left out (the
    // section's note says why).
    let all_withheld = rows.iter().all(|r| {
        r.cells
            .iter()
            .all(|c| matches!(c, TableCell::Count(None) | TableCell::Percent(None)))
    });
    (!rows.is_empty() && !all_withheld).then(|| ReportTable {
        key: table.to_string(),
        head: vec![
            key(label_head),
            key("report-col-count"),
            key("report-col-share"),
            key("report-col-previous-share"),
        ],
        rows,
        total: None,
    })
}

/// The tables the report and the statistics page print: the reasons over
/// 5 % of the mentions (in this period or the one before), and the items by
/// producer and by sector; small counts withheld with their complements.
/// `name` gives a reason's names.
pub fn report_tables(s: &OmbudsmanStats, name: &dyn Fn(&str) -> I18nText) -> Vec<ReportTable> {
    let mentions = (
        s.reason_mentions,
        s.reasons.iter().map(|r| r.previous_count).sum(),
    );
    let items = (s.items, s.previous_items);
    let main = |r: &Share| r.share.is_some_and(|v| v > MAIN_REASON_SHARE);
    let reason = |r: &Share| TableLabel::Text(name(&r.code));
    let producer = |r: &Share| key(&format!("ombudsman-producer-{}", r.code));
    let sector = |r: &Share| key(&format!("ombudsman-sector-{}", r.code));
    [
        share_table(
            "reasons",
            "report-col-reason",
            &s.reasons,
            mentions,
            &reason,
            &main,
        ),
        share_table(
            "producers",
            "report-col-producer",
            &s.producers,
            items,
            &producer,
            &|_| true,
        ),
        share_table(
            "sectors",
            "report-col-sector",
            &s.sectors,
            items,
            &sector,
            &|_| true,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The tables of the ombudsperson's annual report: contacts by month, every
/// reason with its share, the items by producer, sector, language and
/// client group, and what was done; small counts withheld with their
/// complements (the report is public).
pub fn annual_tables(s: &OmbudsmanStats, name: &dyn Fn(&str) -> I18nText) -> Vec<ReportTable> {
    let items = (s.items, s.previous_items);
    let contacts = (s.contacts, s.previous_contacts);
    let mentions = (
        s.reason_mentions,
        s.reasons.iter().map(|r| r.previous_count).sum(),
    );
    let hidden = withheld_counts(
        &s.by_month.iter().map(|m| m.1).collect::<Vec<_>>(),
        s.contacts,
    );
    let months = ReportTable {
        key: "by_month".into(),
        head: vec![key("report-col-month"), key("report-col-count")],
        rows: s
            .by_month
            .iter()
            .zip(hidden)
            .map(|((m, n), h)| TableRow {
                labels: vec![TableLabel::Month(*m)],
                cells: vec![TableCell::Count((!h).then_some(*n))],
            })
            .collect(),
        total: Some(TableRow {
            labels: vec![key("report-col-total")],
            // A small total is withheld as its parts are.
            cells: vec![TableCell::Count(
                (s.contacts == 0 || s.contacts >= crate::feedback::MIN_PUBLIC_CELL)
                    .then_some(s.contacts),
            )],
        }),
    };
    let coded = |prefix: &'static str| move |r: &Share| key(&format!("{prefix}-{}", r.code));
    let reason = |r: &Share| TableLabel::Text(name(&r.code));
    let all = |_: &Share| true;
    std::iter::once(Some(months))
        .chain([
            share_table(
                "all_reasons",
                "report-col-reason",
                &s.reasons,
                mentions,
                &reason,
                &all,
            ),
            share_table(
                "producers",
                "report-col-producer",
                &s.producers,
                items,
                &coded("ombudsman-producer"),
                &all,
            ),
            share_table(
                "sectors",
                "report-col-sector",
                &s.sectors,
                items,
                &coded("ombudsman-sector"),
                &all,
            ),
            share_table(
                "languages",
                "report-col-language",
                &s.languages,
                items,
                &coded("contact-language"),
                &all,
            ),
            share_table(
                "client_groups",
                "report-col-client-group",
                &s.client_groups,
                items,
                &coded("client-group"),
                &all,
            ),
            share_table(
                "measures",
                "report-col-measure",
                &s.measures,
                contacts,
                &coded("measure"),
                &all,
            ),
        ])
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::org::OrgNode;
    use time::macros::date;

    fn node(id: i64, parent: Option<i64>, producer: ProducerType) -> OrgNode {
        OrgNode {
            id,
            parent_id: parent,
            code: format!("n{id}"),
            name: I18nText::default(),
            producer,
            sort_order: 0,
            service_type: None,
        }
    }

    fn tree() -> OrgTree {
        OrgTree::new(vec![
            node(1, None, ProducerType::Own),
            node(2, Some(1), ProducerType::Own),
            node(3, Some(1), ProducerType::Own),
            node(4, Some(2), ProducerType::Purchased),
            node(5, Some(2), ProducerType::Own),
            node(6, Some(3), ProducerType::Private),
        ])
        .unwrap()
    }

    fn contact(items: Vec<NewItem>) -> NewContact {
        NewContact {
            contacted_on: date!(2024 - 02 - 10),
            channel: Channel::Phone,
            language: ContactLanguage::Fi,
            client_group: ClientGroup::Adult,
            items,
            measures: vec![Measure::Advice, Measure::Advice],
            note: None,
        }
    }

    fn item(org: Option<i64>, producer: Option<Producer>, reasons: &[&str]) -> NewItem {
        NewItem {
            org_unit: org,
            producer,
            sector: Sector::Health,
            reasons: reasons.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_contact_counts_once_in_the_smallest_part_holding_its_items() {
        let t = tree();
        assert_eq!(contact_unit(&t, &[4, 5]), Some(2));
        assert_eq!(contact_unit(&t, &[4, 6]), Some(1));
        assert_eq!(contact_unit(&t, &[4]), Some(4));
        assert_eq!(contact_unit(&t, &[4, 4]), Some(4));
        assert_eq!(contact_unit(&t, &[]), None);
    }

    #[test]
    fn items_take_the_producer_of_their_unit_and_errors_name_the_field() {
        let t = tree();
        let known = |r: &str, _: Option<i64>| DEFAULT_REASONS.iter().any(|d| d.0 == r);
        let c = contact(vec![
            item(Some(4), Some(Producer::Own), &["care", "care", "fees"]),
            item(None, Some(Producer::OtherOrganiser), &["access"]),
        ]);
        let items = c
            .resolve(&t, None, Some(1), date!(2024 - 12 - 31), &known)
            .unwrap();
        assert_eq!(
            items[0].producer,
            Producer::Purchased,
            "the unit's producer wins"
        );
        assert_eq!(
            items[0].reasons,
            vec!["care", "fees"],
            "a reason counts once per item"
        );
        assert_eq!((items[1].org_unit, items[1].named_unit), (1, false));
        let bad = contact(vec![
            item(Some(6), None, &["care", "nonsense"]),
            item(None, None, &[]),
        ]);
        let errors = bad
            .resolve(&t, Some(2), Some(2), date!(2024 - 01 - 01), &known)
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "contacted_on",
                "items.0.org_unit",
                "items.0.reasons.1",
                "items.1.producer",
                "items.1.reasons"
            ]
        );
    }

    #[test]
    fn a_small_cell_is_withheld_with_a_complement_or_with_all() {
        assert_eq!(
            withheld_counts(&[10, 3, 8, 0], 21),
            vec![false, true, true, false]
        );
        assert_eq!(
            withheld_counts(&[0, 3, 0], 3),
            vec![false, true, false],
            "alone: all that has any"
        );
        assert_eq!(withheld_counts(&[2, 1, 0], 3), vec![true, true, false]);
        assert_eq!(withheld_counts(&[10, 12], 22), vec![false, false]);
    }

    #[test]
    fn shares_are_over_items_and_reasons_over_mentions() {
        let t = tree();
        let known = |_: &str, _: Option<i64>| true;
        let c = contact(vec![
            item(Some(4), None, &["care", "conduct"]),
            item(Some(5), None, &["care"]),
        ]);
        let items = c
            .resolve(&t, None, Some(1), date!(2024 - 12 - 31), &known)
            .unwrap();
        let unit = contact_unit(&t, &[4, 5]).unwrap();
        let m = marginals(unit, &c, &items);
        let month = Period::month(2024, 2).unwrap();
        let rows: Vec<MarginalRow> = m
            .into_iter()
            .map(|(_, d, k)| (month, d.to_string(), k, 1))
            .collect();
        let q1 = Period::quarter(2024, 1).unwrap();
        let s = OmbudsmanStats::from_marginals(q1, &rows, &[]);
        assert_eq!((s.contacts, s.items, s.reason_mentions), (1, 2, 3));
        assert_eq!(s.reasons[0].code, "care");
        assert_eq!(s.reasons[0].share, Some(66.67));
        let own = s.producers.iter().find(|p| p.code == "own").unwrap();
        assert_eq!((own.count, own.share), (1, Some(50.0)));
        let advice = s.measures.iter().find(|p| p.code == "advice").unwrap();
        assert_eq!(advice.count, 1, "a measure counts once per contact");
        assert_eq!(
            s.by_month.iter().map(|m| m.1).collect::<Vec<_>>(),
            vec![0, 1, 0]
        );
        assert_eq!(s.main_reasons(40.0).count(), 1);
    }
}
