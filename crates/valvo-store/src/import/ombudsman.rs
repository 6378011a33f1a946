//! An ombudsperson's existing log: one line per item (the service a contact
//! concerned and its reasons); lines with the same `contact` number one
//! after another make one contact. Columns:
//! `contact` (optional: without it every line is a contact of its own),
//! `contacted_on`, `channel`, `language`, `client_group`, `measures`
//! (optional), `unit` (a unit's code, or empty), `producer` (when no unit),
//! `sector`, `reasons` (codes separated by `,` or `|`). Contact columns are
//! read from a contact's first line.

use std::collections::HashSet;

use sqlx::AnyConnection;
use valvo_core::access::Principal;
use valvo_core::import::{check_header, parse_day, Expected, LineError};
use valvo_core::ombudsman::{
    contact_unit, marginals, Channel, ClientGroup, ContactLanguage, Measure, NewContact, NewItem,
    Producer, ResolvedItem, Sector,
};
use valvo_core::plan::ErrorCode;
use valvo_core::{OrgTree, Period, PeriodKind};

use super::{inserted_ids, multi_row, statement_rows, Agg, Parser, Rows};
use crate::write::MarginalDeltas;
use crate::{now, Result};

const COLUMNS: [&str; 10] = [
    "contact",
    "contacted_on",
    "channel",
    "language",
    "client_group",
    "measures",
    "unit",
    "producer",
    "sector",
    "reasons",
];
const REQUIRED: [&str; 5] = [
    "contacted_on",
    "channel",
    "language",
    "client_group",
    "sector",
];

/// A contact read whole, ready to write.
pub(super) struct ContactRow {
    unit: i64,
    contact: NewContact,
    items: Vec<ResolvedItem>,
}

/// The contact being read: its key, first line and lines so far.
struct Pending {
    key: Option<String>,
    first_line: usize,
    contact: Option<NewContact>,
    lines: Vec<usize>,
    errors: Vec<LineError>,
}

pub(super) struct OmbudsmanParser {
    p: Principal,
    tree: OrgTree,
    home: Option<i64>,
    today: time::Date,
    reasons: crate::classification::Offered,
    columns: Vec<Option<usize>>,
    pending: Option<Pending>,
    /// The contact numbers already closed (hashed): a number met again
    /// after other lines is an error, not a second contact.
    seen: HashSet<u64>,
    deltas: MarginalDeltas,
}

impl OmbudsmanParser {
    pub(super) async fn load(
        conn: &mut AnyConnection,
        p: &Principal,
        tree: &OrgTree,
        today: time::Date,
    ) -> Result<Self> {
        Ok(OmbudsmanParser {
            p: p.clone(),
            tree: tree.clone(),
            home: crate::ombudsman::home_of(p, tree),
            today,
            reasons: crate::ombudsman::active_reasons(conn).await?,
            columns: Vec::new(),
            pending: None,
            seen: HashSet::new(),
            deltas: MarginalDeltas::new(),
        })
    }

    fn col<'a>(&self, record: &'a csv::StringRecord, name: &str) -> &'a str {
        COLUMNS
            .iter()
            .position(|c| *c == name)
            .and_then(|i| self.columns.get(i).copied().flatten())
            .and_then(|i| record.get(i))
            .unwrap_or("")
            .trim()
    }

    /// The contact columns of a contact's first line.
    fn contact_of(
        &self,
        line: usize,
        record: &csv::StringRecord,
        errors: &mut Vec<LineError>,
    ) -> Option<NewContact> {
        fn code<T>(
            line: usize,
            field: &str,
            raw: &str,
            parse: fn(&str) -> Option<T>,
            all: &[&str],
            errors: &mut Vec<LineError>,
        ) -> Option<T> {
            let v = parse(raw);
            if v.is_none() {
                errors.push(
                    LineError::new(
                        line,
                        field,
                        if raw.is_empty() {
                            ErrorCode::Required
                        } else {
                            ErrorCode::Invalid
                        },
                    )
                    .expecting(Expected::Literal(all.join(", "))),
                );
            }
            v
        }
        let day_raw = self.col(record, "contacted_on");
        let contacted_on = parse_day(day_raw);
        if contacted_on.is_none() {
            errors.push(
                LineError::new(
                    line,
                    "contacted_on",
                    if day_raw.is_empty() {
                        ErrorCode::Required
                    } else {
                        ErrorCode::Invalid
                    },
                )
                .expecting(Expected::Day),
            );
        }
        let names = |all: &[&'static str]| all.to_vec();
        let channel = code(
            line,
            "channel",
            self.col(record, "channel"),
            Channel::parse,
            &names(&Channel::ALL.map(Channel::code)),
            errors,
        );
        let language = code(
            line,
            "language",
            self.col(record, "language"),
            ContactLanguage::parse,
            &names(&ContactLanguage::ALL.map(ContactLanguage::code)),
            errors,
        );
        let client_group = code(
            line,
            "client_group",
            self.col(record, "client_group"),
            ClientGroup::parse,
            &names(&ClientGroup::ALL.map(ClientGroup::code)),
            errors,
        );
        let mut measures = Vec::new();
        for m in split(self.col(record, "measures")) {
            match Measure::parse(m) {
                Some(m) => measures.push(m),
                None => errors.push(
                    LineError::new(line, "measures", ErrorCode::Invalid).expecting(
                        Expected::Literal(Measure::ALL.map(Measure::code).join(", ")),
                    ),
                ),
            }
        }
        Some(NewContact {
            contacted_on: contacted_on?,
            channel: channel?,
            language: language?,
            client_group: client_group?,
            items: Vec::new(),
            measures,
            note: None,
        })
    }

    /// An item line.
    fn item_of(
        &self,
        line: usize,
        record: &csv::StringRecord,
        errors: &mut Vec<LineError>,
    ) -> Option<NewItem> {
        let unit_raw = self.col(record, "unit");
        let org_unit = if unit_raw.is_empty() {
            None
        } else {
            let found = self
                .tree
                .nodes()
                .iter()
                .find(|n| n.code.eq_ignore_ascii_case(unit_raw))
                .map(|n| n.id);
            match found.filter(|id| self.p.can_record_contacts(&self.tree, *id)) {
                Some(id) => Some(id),
                None => {
                    // Out of scope reads as unknown: nothing is told of other units.
                    errors.push(
                        LineError::new(line, "unit", ErrorCode::NotFound)
                            .expecting(Expected::UnitYouMayWrite(unit_raw.to_owned())),
                    );
                    return None;
                }
            }
        };
        let producer_raw = self.col(record, "producer");
        let producer = if producer_raw.is_empty() {
            None
        } else {
            let p = Producer::parse(producer_raw);
            if p.is_none() {
                errors.push(
                    LineError::new(line, "producer", ErrorCode::Invalid).expecting(
                        Expected::Literal(Producer::ALL.map(Producer::code).join(", ")),
                    ),
                );
            }
            p
        };
        let sector_raw = self.col(record, "sector");
        let sector = Sector::parse(sector_raw);
        if sector.is_none() {
            errors.push(
                LineError::new(
                    line,
                    "sector",
                    if sector_raw.is_empty() {
                        ErrorCode::Required
                    } else {
                        ErrorCode::Invalid
                    },
                )
                .expecting(Expected::Literal(Sector::ALL.map(Sector::code).join(", "))),
            );
        }
        Some(NewItem {
            org_unit,
            producer,
            sector: sector?,
            reasons: split(self.col(record, "reasons"))
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Closes the contact being read: checks it whole and counts it.
    fn complete(&mut self) -> std::result::Result<Option<ContactRow>, Vec<LineError>> {
        let Some(mut pending) = self.pending.take() else {
            return Ok(None);
        };
        let Some(contact) = pending.contact.take() else {
            return Err(pending.errors);
        };
        if !pending.errors.is_empty() {
            return Err(pending.errors);
        }
        let (reasons, tree) = (&self.reasons, &self.tree);
        let items = contact
            .resolve(&self.tree, self.p.scope, self.home, self.today, &|r, unit| {
                crate::ombudsman::reason_offered(reasons, tree, r, unit)
            })
            .map_err(|errors| {
                errors
                    .into_iter()
                    .map(|e| {
                        let parts: Vec<&str> = e.field.split('.').collect();
                        let (line, field) = match parts.as_slice() {
                            ["items", k, rest @ ..] => {
                                let line = k
                                    .parse::<usize>()
                                    .ok()
                                    .and_then(|k| pending.lines.get(k))
                                    .copied();
                                let field = match rest.first().copied() {
                                    Some("org_unit") => "unit",
                                    Some(f) => f,
                                    None => "reasons",
                                };
                                (line.unwrap_or(pending.first_line), field.to_owned())
                            }
                            ["items"] => (pending.first_line, "reasons".to_owned()),
                            _ => (pending.first_line, e.field.clone()),
                        };
                        let err = LineError::new(line, &field, e.code);
                        match (field.as_str(), e.code) {
                            ("contacted_on", _) => {
                                err.expecting(Expected::NotAfter(self.today.to_string()))
                            }
                            ("reasons", ErrorCode::NotFound) => err.expecting(Expected::Literal(
                                "an active reason code of the unit's county (GET /api/v1/ombudsman/reasons)".into(),
                            )),
                            _ => err,
                        }
                    })
                    .collect::<Vec<_>>()
            })?;
        let units: Vec<i64> = items.iter().map(|i| i.org_unit).collect();
        let unit = contact_unit(&self.tree, &units).ok_or_else(|| {
            vec![LineError::new(
                pending.first_line,
                "unit",
                ErrorCode::Invalid,
            )]
        })?;
        let month = Period::containing(contact.contacted_on, PeriodKind::Month).to_string();
        for (org, dim, key) in marginals(unit, &contact, &items) {
            crate::write::count_in_scopes(&mut self.deltas, &self.tree, org, &month, dim, &key);
        }
        Ok(Some(ContactRow {
            unit,
            contact,
            items,
        }))
    }
}

fn hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', '|']).map(str::trim).filter(|x| !x.is_empty())
}

impl Parser for OmbudsmanParser {
    type Row = Option<ContactRow>;
    type Agg = MarginalDeltas;

    fn rows(rows: Vec<Option<ContactRow>>) -> Rows {
        Rows::Ombudsman(rows)
    }

    fn agg(agg: MarginalDeltas) -> Agg {
        Agg::Ombudsman(agg)
    }

    fn header(&mut self, headers: Vec<String>) -> std::result::Result<(), Vec<LineError>> {
        let errors = check_header(&headers, |h| COLUMNS.contains(&h), &REQUIRED);
        if !errors.is_empty() {
            return Err(errors);
        }
        self.columns = COLUMNS
            .iter()
            .map(|c| headers.iter().position(|h| h == c))
            .collect();
        Ok(())
    }

    fn record(
        &mut self,
        line: usize,
        record: &csv::StringRecord,
        _sheet: Option<&str>,
    ) -> std::result::Result<Option<ContactRow>, Vec<LineError>> {
        // Without a number (no column, or an empty cell) a line is a contact of its own.
        let key = self.columns[0]
            .map(|_| self.col(record, "contact").to_owned())
            .filter(|k| !k.is_empty());
        let continues = key.is_some() && self.pending.as_ref().is_some_and(|p| p.key == key);
        let mut errors = Vec::new();
        if continues
            && self
                .pending
                .as_ref()
                .is_some_and(|p| p.lines.len() >= valvo_core::ombudsman::MAX_ITEMS)
        {
            errors.push(
                LineError::new(line, "contact", ErrorCode::TooLong).expecting(Expected::Literal(
                    format!(
                        "at most {} lines per contact",
                        valvo_core::ombudsman::MAX_ITEMS
                    ),
                )),
            );
        }
        let done = if continues {
            Ok(None)
        } else {
            if let Some(k) = self.pending.as_ref().and_then(|p| p.key.as_deref()) {
                self.seen.insert(hash(k));
            }
            if let Some(k) = key.as_deref() {
                if self.seen.contains(&hash(k)) {
                    errors.push(
                        LineError::new(line, "contact", ErrorCode::StateConflict).expecting(
                            Expected::Literal("a contact's lines one after another".into()),
                        ),
                    );
                }
            }
            self.complete()
        };
        let item = self.item_of(line, record, &mut errors);
        if !continues {
            let contact = self.contact_of(line, record, &mut errors);
            self.pending = Some(Pending {
                key,
                first_line: line,
                contact,
                lines: Vec::new(),
                errors: Vec::new(),
            });
        }
        if let Some(p) = self.pending.as_mut() {
            p.lines.push(line);
            p.errors.extend(errors);
            match (item, p.contact.as_mut()) {
                (Some(item), Some(c)) => c.items.push(item),
                (None, _) if p.errors.is_empty() => {
                    p.errors
                        .push(LineError::new(line, "line", ErrorCode::Invalid))
                }
                _ => {}
            }
        }
        done
    }

    fn flush(&mut self) -> std::result::Result<Option<Option<ContactRow>>, Vec<LineError>> {
        self.complete().map(Some)
    }

    fn spill(&mut self, last: bool) -> Option<MarginalDeltas> {
        // A few rows per unit and month: applied when the import is done.
        last.then(|| std::mem::take(&mut self.deltas))
    }
}

/// Writes contacts of an import, hidden (`import_id`) until it is done.
pub(super) async fn write(conn: &mut AnyConnection, job: i64, rows: &[&ContactRow]) -> Result<()> {
    let at = now();
    for part in rows.chunks(statement_rows(conn, 11)) {
        let sql = multi_row(
            conn,
            "INSERT INTO ombudsman_contacts (org_unit_id, contacted_on, month, channel, language, client_group, \
             measures, note, recorded_by, recorded_at, import_id)",
            part.len(),
            11,
            " RETURNING id",
        );
        let mut q = sqlx::query(&sql);
        for r in part {
            let c = &r.contact;
            let mut measures: Vec<&str> = c.measures.iter().map(|m| m.code()).collect();
            measures.sort_unstable();
            measures.dedup();
            q = q
                .bind(r.unit)
                .bind(c.contacted_on.to_string())
                .bind(Period::containing(c.contacted_on, PeriodKind::Month).to_string())
                .bind(c.channel.code())
                .bind(c.language.code())
                .bind(c.client_group.code())
                .bind(measures.join(","))
                .bind(String::new())
                .bind(None::<i64>)
                .bind(at.clone())
                .bind(job);
        }
        let ids = inserted_ids(q, conn).await?;
        let items: Vec<(i64, &ResolvedItem)> = ids
            .into_iter()
            .zip(part)
            .flat_map(|(id, r)| r.items.iter().map(move |i| (id, i)))
            .collect();
        for chunk in items.chunks(statement_rows(conn, 6)) {
            let sql = multi_row(
                conn,
                "INSERT INTO ombudsman_items (contact_id, org_unit_id, named_unit, producer, sector, reasons)",
                chunk.len(),
                6,
                "",
            );
            let mut q = sqlx::query(&sql);
            for (id, i) in chunk {
                q = q
                    .bind(*id)
                    .bind(i.org_unit)
                    .bind(i64::from(i.named_unit))
                    .bind(i.producer.code())
                    .bind(i.sector.code())
                    .bind(i.reasons.join(","));
            }
            q.execute(&mut *conn).await?;
        }
    }
    Ok(())
}
