//! The demo county, built from seed 002 (Ostrobothnia, plan and follow-up 1-6/2024).

use rand::Rng;
use serde::Deserialize;
use valvo_core::access::{Principal, Role};
use valvo_core::plan::{
    ActionInput, ActionStatus, Area, GoalInput, GoalReviewInput, IndicatorInput,
};
use valvo_core::report::Transition;
use valvo_core::{Direction, I18nText, Period, PeriodKind, ProducerType, ServiceType};
use valvo_store::{NewOrgUnit, Store};

/// The demo administrator.
pub const ADMIN_EMAIL: &str = "admin@valvo.demo";
/// The demo's national follow-up user (statistics only), same password.
pub const NATIONAL_EMAIL: &str = "thl@valvo.demo";
const MARKER: &str = "demo:seed-002";
const DATA: &str = include_str!("../demo/seed-002.json");

#[derive(Deserialize)]
struct Seed {
    county: Named,
    period: String,
    year: i32,
    areas: Vec<AreaSeed>,
}

#[derive(Deserialize)]
struct Named {
    code: String,
    name: I18nText,
}

#[derive(Deserialize)]
struct AreaSeed {
    code: String,
    name: I18nText,
    goals: Vec<GoalSeed>,
}

#[derive(Deserialize)]
struct GoalSeed {
    area: Area,
    title: I18nText,
    #[serde(default)]
    indicators: Vec<IndicatorSeed>,
    #[serde(default)]
    actions: Vec<ActionSeed>,
    follow_up: Option<ReviewSeed>,
}

#[derive(Deserialize)]
struct IndicatorSeed {
    name: I18nText,
    #[serde(default)]
    unit: I18nText,
    direction: Direction,
    baseline: Option<f64>,
    target: Option<f64>,
    target_max: Option<f64>,
    period_kind: PeriodKind,
    #[serde(default)]
    note: I18nText,
    follow_up: Option<ValueSeed>,
}

#[derive(Deserialize)]
struct ValueSeed {
    period: Period,
    value: Option<f64>,
}

#[derive(Deserialize)]
struct ActionSeed {
    text: I18nText,
    status: ActionStatus,
}

#[derive(Deserialize)]
struct ReviewSeed {
    period: Period,
    text: I18nText,
}

/// A random password that is easy to type.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn err(e: impl std::fmt::Display) -> String {
    format!("demo data: {e}")
}

/// Loads the demo county once (a marker makes a second run a no-op) and
/// creates or resets the demo administrator. Returns the password.
pub async fn load(store: &Store) -> Result<String, String> {
    let system = Principal::system("demo");
    if store.meta_get(MARKER).await.map_err(err)?.is_none() {
        let tree = store.org_tree().await.map_err(err)?;
        let seed: Seed = serde_json::from_str(DATA).map_err(err)?;
        if tree.walk().iter().any(|(_, n)| n.code == seed.county.code) {
            return Err(format!(
                "the database has a county {:?} but no finished demo load; use a fresh database",
                seed.county.code
            ));
        }
        load_seed(store, &system, &seed).await?;
        demo_oversight(store, &system, &seed).await?;
        let period: Period = seed.period.parse().map_err(err)?;
        demo_incidents(store, &system, period).await?;
        demo_feedback(store, &system, period).await?;
        // Last: the published report freezes every module's figures.
        publish_report(store, &system, &seed).await?;
        store.meta_set(MARKER, &seed.period).await.map_err(err)?;
        tracing::info!("demo county loaded");
    }
    let password = std::env::var("VALVO_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(random_password);
    for (email, name, role) in [
        (ADMIN_EMAIL, "Demo Admin", Role::Admin),
        (NATIONAL_EMAIL, "Demo THL", Role::National),
    ] {
        let user = match store.user_by_email(email).await.map_err(err)? {
            Some(u) => u,
            None => store
                .create_user(&system, email, name, role, None, None)
                .await
                .map_err(err)?,
        };
        store
            .set_password(&system, user.id, &password)
            .await
            .map_err(err)?;
    }
    Ok(password)
}

/// The county's report for the seed's period, with a chapter per service area,
/// approved and published: the public archive has something to show.
async fn publish_report(store: &Store, system: &Principal, seed: &Seed) -> Result<(), String> {
    let tree = store.org_tree().await.map_err(err)?;
    let county = tree
        .walk()
        .into_iter()
        .find(|(_, n)| n.code == seed.county.code)
        .map(|(_, n)| n.id)
        .ok_or("demo county missing")?;
    // The county's branding (a made-up logo and contact): the report is
    // approved with it.
    store
        .set_branding(
            system,
            county,
            Some("#00627a".to_owned()),
            &I18nText::new(
                Some("Kirjaamo (demo)\nDemokatu 1, 65100 Vaasa\nkirjaamo@valvo.demo".to_owned()),
                Some(
                    "Registratorskontoret (demo)\nDemogatan 1, 65100 Vasa\nregistrator@valvo.demo"
                        .to_owned(),
                ),
                Some("Registry (demo)\nDemogatan 1, 65100 Vaasa\nregistry@valvo.demo".to_owned()),
            ),
            valvo_store::LogoChange::Set(include_bytes!("demo_logo.svg").to_vec()),
        )
        .await
        .map_err(err)?;
    let period: Period = seed.period.parse().map_err(err)?;
    let row = store
        .open_report(system, county, period, true)
        .await
        .map_err(err)?;
    for step in [Transition::Submit, Transition::Approve, Transition::Publish] {
        store.report_step(system, row.id, step).await.map_err(err)?;
    }
    Ok(())
}

/// A made-up year of ombudsperson contacts and supervision visits, up to
/// the end of the seed's period (seed 003 gives the shapes: most contacts
/// about care and treatment, most visits unannounced and to purchased
/// units): the published report's two sections fill themselves. Two units
/// are added for the visits, one purchased and one private.
async fn demo_oversight(store: &Store, system: &Principal, seed: &Seed) -> Result<(), String> {
    use valvo_core::ombudsman::{
        Channel, ClientGroup, ContactLanguage, Measure, NewContact, NewItem, Producer, Sector,
    };
    use valvo_core::supervision::{NewFinding, NewVisit, Severity, VisitKind, DEFAULT_TOPICS};
    let tree = store.org_tree().await.map_err(err)?;
    let areas: Vec<i64> = tree
        .walk()
        .into_iter()
        .filter(|(d, _)| *d == 1)
        .map(|(_, n)| n.id)
        .collect();
    let home = areas.get(1).copied().ok_or("demo areas missing")?;
    let unit = |code: &str, fi: &str, sv: &str, producer| NewOrgUnit {
        parent_id: Some(home),
        code: code.into(),
        name: valvo_core::I18nText::new(Some(fi.into()), Some(sv.into()), None),
        producer,
        sort_order: 100,
        service_type: Some(ServiceType::Housing),
    };
    let purchased = store
        .create_org_unit(
            system,
            &unit(
                "kaislikko",
                "Palvelukoti Kaislikko",
                "Servicehemmet Vassen",
                ProducerType::Purchased,
            ),
        )
        .await
        .map_err(err)?;
    let private = store
        .create_org_unit(
            system,
            &unit(
                "meriheina",
                "Hoivakoti Meriheinä",
                "Vårdhemmet Strandråg",
                ProducerType::Private,
            ),
        )
        .await
        .map_err(err)?;
    let period: Period = seed.period.parse().map_err(err)?;
    let end = period.end();
    let start = end - time::Duration::days(364);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    // Reasons weighted roughly as seed 003 prints them.
    let reasons = [
        ("care", 11),
        ("conduct", 8),
        ("service", 8),
        ("legal_remedies", 6),
        ("information", 5),
        ("participation", 5),
        ("record_entries", 4),
        ("patient_injury", 4),
        ("access", 4),
        ("fees", 3),
        ("record_correction", 3),
        ("staff_competence", 2),
        ("self_determination", 2),
        ("data_protection", 1),
        ("documents_drafting", 1),
        ("other", 3),
    ];
    let weight: usize = reasons.iter().map(|r| r.1).sum();
    let reason = |next: &mut dyn FnMut(usize) -> usize| {
        let mut k = next(weight);
        for (code, w) in reasons {
            if k < w {
                return code.to_string();
            }
            k -= w;
        }
        "other".to_string()
    };
    let units: Vec<i64> = areas.iter().copied().chain([purchased, private]).collect();
    for _ in 0..420 {
        let n_items = [1, 1, 1, 1, 2][next(5)];
        let mut items = Vec::new();
        for _ in 0..n_items {
            let other = next(12) == 0;
            let org = units[next(units.len())];
            let r1 = reason(&mut next);
            let mut rs = vec![r1];
            if next(3) == 0 {
                rs.push(reason(&mut next));
            }
            items.push(NewItem {
                org_unit: (!other).then_some(org),
                producer: other.then_some(Producer::OtherOrganiser),
                sector: [
                    Sector::Health,
                    Sector::Health,
                    Sector::Social,
                    Sector::Other,
                ][next(4)],
                reasons: rs,
            });
        }
        let contact = NewContact {
            contacted_on: start + time::Duration::days(next(365) as i64),
            channel: Channel::ALL[[0, 0, 0, 1, 1, 2, 3, 4][next(8)]],
            language: ContactLanguage::ALL[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3][next(14)]],
            client_group: ClientGroup::ALL[[0, 0, 0, 0, 0, 0, 0, 0, 1, 2][next(10)]],
            items,
            measures: vec![Measure::ALL[[0, 0, 0, 1, 2, 3, 4][next(7)]]],
            note: None,
        };
        store
            .create_contact(system, &contact, end)
            .await
            .map_err(err)?;
    }
    // Visits: most unannounced, most to the purchased unit; findings now and then.
    let mut first: std::collections::HashMap<i64, i64> = Default::default();
    for i in 0..110 {
        let org = [purchased, purchased, purchased, home, areas[0], private][next(6)];
        let visited_on = start + time::Duration::days((i * 365 / 110) as i64);
        let kind = match first.get(&org) {
            Some(_) if next(10) == 0 => VisitKind::FollowUp,
            _ => VisitKind::ALL[[0, 0, 0, 0, 0, 1, 1, 3][next(8)]],
        };
        // Findings now and then, each about a topic the visit checked.
        let found = [
            (
                "self_monitoring_plan",
                "Omavalvontasuunnitelmassa ei kuvata, miten puutteet korjataan.",
                "Egenkontrollplanen beskriver inte hur brister rättas.",
            ),
            (
                "medication_safety",
                "Lääkejääkaapin lämpötilaa ei seurata.",
                "Läkemedelskylskåpets temperatur följs inte upp.",
            ),
            (
                "client_records",
                "Hoito- ja palvelusuunnitelmat ovat osin päivittämättä.",
                "Vård- och serviceplanerna är delvis inte uppdaterade.",
            ),
            (
                "premises",
                "Varauloskäytävällä säilytetään tavaroita.",
                "Föremål förvaras i nödutgången.",
            ),
        ];
        let mut topics: Vec<String> = vec![DEFAULT_TOPICS[0].0.into()];
        let mut findings = Vec::new();
        if next(3) == 0 {
            let (topic, fi, sv) = found[next(found.len())];
            findings.push(NewFinding {
                topic: topic.into(),
                severity: [
                    Severity::Shortcoming,
                    Severity::Shortcoming,
                    Severity::Serious,
                ][next(3)],
                text: valvo_core::I18nText::new(Some(fi.into()), Some(sv.into()), None),
                correction_due: Some(visited_on + time::Duration::days(60)),
            });
            topics.push(topic.into());
        } else {
            topics.push(DEFAULT_TOPICS[1 + next(8)].0.into());
        }
        topics.dedup();
        let visit = NewVisit {
            org_unit: org,
            visited_on,
            kind,
            topics,
            findings,
            follows: if kind == VisitKind::FollowUp {
                first.get(&org).copied()
            } else {
                None
            },
        };
        let id = store.create_visit(system, &visit, end).await.map_err(err)?;
        first.entry(org).or_insert(id);
        // Most corrections are done by their deadline.
        if next(4) != 0 {
            let v = store.visit(system, id, end).await.map_err(err)?;
            for f in v.findings {
                store
                    .update_correction(system, f.id, true, "Korjattu. / Rättat.", end)
                    .await
                    .map_err(err)?;
            }
        }
    }
    Ok(())
}

/// Made-up incident reports (the seeds give only totals): a few per area over
/// the last eight months, some handled, so that the queue and statistics show something.
/// A made-up year of incident reports up to the end of the seed's period
/// (and some of the last weeks, so the handling queue has work): the
/// published report's safety section fills itself, beside the period
/// before.
async fn demo_incidents(store: &Store, system: &Principal, period: Period) -> Result<(), String> {
    use valvo_core::incident::{
        Consequence, EventType, IncidentKind, IncidentState, NewIncident, ReporterRole,
    };
    let tree = store.org_tree().await.map_err(err)?;
    let areas: Vec<i64> = tree
        .walk()
        .into_iter()
        .filter(|(d, _)| *d == 1)
        .map(|(_, n)| n.id)
        .collect();
    let today = time::OffsetDateTime::now_utc().date();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let texts = [
        (
            "Lääkkeen annos kirjattiin väärin.",
            "Fel dos registrerades.",
        ),
        (
            "Asiakas kaatui pesuhuoneessa.",
            "Klienten föll i badrummet.",
        ),
        (
            "Tieto ei siirtynyt vuoron vaihtuessa.",
            "Informationen fördes inte vidare vid skiftbytet.",
        ),
        (
            "Näyte merkittiin väärälle asiakkaalle.",
            "Provet märktes för fel klient.",
        ),
    ];
    let year_end = period.end();
    for i in 0..360 {
        let org = areas[i % areas.len().max(1)];
        // Nine in ten in the year up to the period's end, the rest lately.
        let reported = if i % 10 == 9 {
            today - time::Duration::days(next(60) as i64 + 1)
        } else {
            year_end - time::Duration::days(next(365) as i64)
        };
        let (fi, sv) = texts[next(texts.len())];
        let input = NewIncident {
            org_unit_id: org,
            occurred_on: reported - time::Duration::days(next(3) as i64),
            occurred_time: None,
            place: String::new(),
            kind: IncidentKind::ALL[[0, 0, 0, 1, 2, 3][next(6)]],
            event_type: EventType::defaults()[next(EventType::DEFAULTS.len())].clone(),
            description: if i % 2 == 0 {
                fi.to_string()
            } else {
                sv.to_string()
            },
            consequence: Consequence::ALL[[0, 1, 1, 1, 2, 2, 3, 4][next(8)]],
            never_event: next(40) == 0,
            contributing_factors: String::new(),
            immediate_actions: String::new(),
            reporter_role: ReporterRole::ALL[[0, 0, 0, 1, 2, 3][next(6)]],
            reporter_name: None,
            reporter_contact: None,
        };
        let (id, _) = store
            .create_incident(None, &input, reported)
            .await
            .map_err(err)?;
        if next(3) != 0 {
            let handled_on = (reported + time::Duration::days(next(75) as i64)).min(today);
            let h = valvo_store::Handling {
                state: IncidentState::Handled,
                analysis: String::new(),
                outcome: "Käsitelty yksikön palaverissa. / Behandlad på enhetens möte.".into(),
                forward_to: None,
            };
            store
                .handle_incident(system, id, &h, handled_on)
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Made-up customer feedback: answers for every area over the two years up
/// to the end of the seed's period, and some lately (areas differ,
/// Swedish-language service somewhat below Finnish in some); comments in
/// Finnish and Swedish in both, some waiting in the handling queue; remarks
/// and complaints received in the period and the one before. Statistics,
/// topics, the queue and the published report's customer experience section
/// all show something.
async fn demo_feedback(store: &Store, system: &Principal, period: Period) -> Result<(), String> {
    use valvo_core::feedback::{Answer, Channel, Respondent, Score, ServiceLang};
    let tree = store.org_tree().await.map_err(err)?;
    let areas: Vec<(i64, String)> = tree
        .walk()
        .into_iter()
        .filter(|(d, _)| *d == 1)
        .map(|(_, n)| (n.id, n.code.clone()))
        .collect();
    let survey = store.current_survey().await.map_err(err)?;
    let today = time::OffsetDateTime::now_utc().date();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let mut rows = Vec::new();
    for (a, (area, _)) in areas.iter().enumerate() {
        // Each area its own level: a share of detractors from 5 % to 40 %.
        let detractor_pct = 5 + (a * 5) % 36;
        for _ in 0..160 {
            let lang = [
                ServiceLang::Fi,
                ServiceLang::Fi,
                ServiceLang::Sv,
                ServiceLang::Other,
            ][next(4)];
            let extra = if lang == ServiceLang::Sv && a % 2 == 1 {
                15
            } else {
                0
            };
            let nps = if next(100) < detractor_pct + extra {
                next(7) as u8
            } else if next(3) == 0 {
                7 + next(2) as u8
            } else {
                9 + next(2) as u8
            };
            let mut scores = std::collections::BTreeMap::new();
            // The statements every county is asked (another county on the
            // same service may have its own).
            for st in survey.def.statements.iter().filter(|s| s.county.is_none()) {
                let v = next(12);
                let score = if v == 0 {
                    Score::CannotSay
                } else {
                    Score::Value((if nps >= 9 { 4 + next(2) } else { 1 + next(5) }) as u8)
                };
                if v != 1 {
                    scores.insert(st.key.clone(), score);
                }
            }
            rows.push((
                *area,
                Answer {
                    nps: Some(nps),
                    scores,
                    text: None,
                    service_lang: Some(lang),
                    age_group: None,
                    respondent: Some([Respondent::Client, Respondent::Relative][next(4).min(1)]),
                    service_date: Some(if next(8) == 0 {
                        today - time::Duration::days(next(60) as i64 + 1)
                    } else {
                        period.end() - time::Duration::days(next(730) as i64)
                    }),
                    contact: None,
                },
                Channel::ALL[next(4)],
            ));
        }
    }
    store
        .load_answers(system, &rows, today)
        .await
        .map_err(err)?;
    let comments = [
        (
            "9",
            "Henkilökunta oli ystävällistä ja sain hyvää hoitoa, kiitos!",
            "",
        ),
        (
            "3",
            "Jouduin odottamaan vastaanotolla yli tunnin, jono oli todella pitkä.",
            "",
        ),
        (
            "2",
            "Soitin kolme kertaa eikä kukaan vastannut, takaisinsoittoa ei tullut.",
            "asiakas@example.fi",
        ),
        ("10", "Tack för ett vänligt bemötande och bra vård!", ""),
        (
            "4",
            "Jag fick inte service på svenska fast jag bad om det.",
            "",
        ),
        (
            "1",
            "Laboratorion jonot ovat kohtuuttomat ja ajanvaraus ei toimi.",
            "",
        ),
        (
            "5",
            "Laskussa oli virhe ja laskutuksesta oli vaikea saada vastausta.",
            "040 555 1234",
        ),
        ("8", "Chatten fungerade bra men väntetiden var lång.", ""),
        (
            "6",
            "Tiedot eivät kulkeneet ja jouduin kertomaan asiani monta kertaa.",
            "",
        ),
        (
            "10",
            "Kotihoidon hoitajat ovat aina ajoissa ja kohteliaita.",
            "",
        ),
    ];
    // Through the import pipeline, as a county's file of earlier answers would come.
    let mut csv = String::from("unit;nps;text;contact;service_lang;service_date\n");
    for i in 0..120 {
        let (nps, text, contact) = comments[i % comments.len()];
        let (_, code) = &areas[(i * 3) % areas.len().max(1)];
        let lang = if text.contains(" och ") || text.starts_with("Tack") || text.starts_with("Jag")
        {
            "sv"
        } else {
            "fi"
        };
        // Two in three in the report's year, the rest lately.
        let day = if i % 3 == 2 {
            today - time::Duration::days((i / 3) as i64 + 1)
        } else {
            period.end() - time::Duration::days(((i * 7) % 365) as i64)
        };
        csv.push_str(&format!("{code};{nps};\"{text}\";{contact};{lang};{day}\n"));
    }
    let job = store
        .import_bytes(
            system,
            valvo_store::ImportKind::Feedback,
            "demo.csv",
            csv.into_bytes(),
            false,
            today,
        )
        .await
        .map_err(|e| format!("demo feedback: {e}"))?;
    if job.state != valvo_store::ImportState::Done {
        return Err(format!("demo feedback: {:?}", job.errors));
    }
    // Remarks and complaints in the period and the one before.
    let deadlines = valvo_core::feedback::CaseDeadlines::default();
    for i in 0..36 {
        let (org, _) = &areas[(i * 5) % areas.len().max(1)];
        let kind = if i % 4 == 0 {
            valvo_core::feedback::CaseKind::Complaint
        } else {
            valvo_core::feedback::CaseKind::Remark
        };
        let received_on = period.end() - time::Duration::days(((i * 11) % 365) as i64);
        let case = valvo_core::feedback::NewCase {
            kind,
            received_on,
            due_on: deadlines.due(kind, received_on),
            text: [
                "Muistutus hoidon viivästymisestä.",
                "Anmärkning om bemötandet.",
            ][i % 2]
                .into(),
            contact: None,
        };
        store.create_case(system, *org, &case).await.map_err(err)?;
    }
    // Handle every other one, so the queue has some and routing has examples.
    let queue = store
        .feedback_queue(system, today, 1000)
        .await
        .map_err(err)?;
    for case in queue.iter().step_by(2) {
        let u = valvo_store::CaseUpdate {
            state: Some(valvo_core::feedback::CaseState::Handled),
            ..Default::default()
        };
        store
            .update_case(system, case.id, &u, today)
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// The service a demo area gives, by its code (from the national list;
/// administration and the rescue department give none of it).
fn area_service(code: &str) -> Option<ServiceType> {
    Some(match code {
        "asiakas-ja-resurssikeskus" => ServiceType::SocialWork,
        "koti-ja-asumispalvelut" => ServiceType::HomeCare,
        "psykososiaaliset-palvelut" => ServiceType::MentalHealth,
        "kuntoutus" => ServiceType::Rehabilitation,
        "sosiaali-ja-terveyskeskus" => ServiceType::HealthStation,
        "sairaalapalvelut" => ServiceType::Hospital,
        _ => return None,
    })
}

async fn load_seed(store: &Store, system: &Principal, seed: &Seed) -> Result<(), String> {
    // The seed's figures come in as a county's file of figures would: one
    // import naming each indicator by its code.
    let mut figures = String::from("indicator;period;value\n");
    let county = store
        .create_org_unit(
            system,
            &NewOrgUnit {
                parent_id: None,
                code: seed.county.code.clone(),
                name: seed.county.name.clone(),
                producer: ProducerType::Own,
                sort_order: 0,
                service_type: None,
            },
        )
        .await
        .map_err(err)?;
    for (i, area) in seed.areas.iter().enumerate() {
        let org = store
            .create_org_unit(
                system,
                &NewOrgUnit {
                    parent_id: Some(county),
                    code: area.code.clone(),
                    name: area.name.clone(),
                    producer: ProducerType::Own,
                    sort_order: i as i32,
                    service_type: area_service(&area.code),
                },
            )
            .await
            .map_err(err)?;
        let mut code_no = 0;
        for g in &area.goals {
            let goal = store
                .create_goal(
                    system,
                    org,
                    &GoalInput {
                        area: g.area,
                        year: seed.year,
                        title: g.title.clone(),
                    },
                )
                .await
                .map_err(err)?;
            for ind in &g.indicators {
                code_no += 1;
                let percent = [&ind.unit.fi, &ind.unit.sv]
                    .iter()
                    .any(|u| u.as_deref().map(str::trim) == Some("%"));
                let created = store
                    .create_indicator(
                        system,
                        goal.id,
                        &IndicatorInput {
                            name: ind.name.clone(),
                            unit: ind.unit.clone(),
                            direction: ind.direction,
                            baseline: ind.baseline,
                            target: ind.target,
                            target_max: ind.target_max,
                            period_kind: ind.period_kind,
                            note: ind.note.clone(),
                            // A short code per area: ASIA-01, KOTI-03, …
                            code: Some(format!(
                                "{}-{code_no:02}",
                                area.code.chars().take(4).collect::<String>().to_uppercase()
                            )),
                            value_kind: if percent {
                                valvo_core::ValueKind::Percent
                            } else {
                                valvo_core::ValueKind::Number
                            },
                            until_year: None,
                            min_value: None,
                            max_value: None,
                            reference: None,
                        },
                    )
                    .await
                    .map_err(err)?;
                if let (Some(f), Some(code)) = (&ind.follow_up, &created.code) {
                    if let Some(v) = f.value {
                        figures.push_str(&format!("{code};{};{v}\n", f.period));
                    }
                }
            }
            for a in &g.actions {
                store
                    .create_action(
                        system,
                        goal.id,
                        &ActionInput {
                            text: a.text.clone(),
                            status: a.status,
                        },
                    )
                    .await
                    .map_err(err)?;
            }
            if let Some(r) = &g.follow_up {
                store
                    .put_goal_review(
                        system,
                        goal.id,
                        r.period,
                        &GoalReviewInput {
                            text: r.text.clone(),
                        },
                    )
                    .await
                    .map_err(err)?;
            }
        }
    }
    let today = time::OffsetDateTime::now_utc().date();
    let job = store
        .import_bytes(
            system,
            valvo_store::ImportKind::Figures,
            "seed-002-figures-1-6-2024.csv",
            figures.into_bytes(),
            false,
            today,
        )
        .await
        .map_err(|e| format!("demo figures: {e}"))?;
    if job.state != valvo_store::ImportState::Done {
        return Err(format!("demo figures: {:?} {:?}", job.errors, job.message));
    }
    Ok(())
}
