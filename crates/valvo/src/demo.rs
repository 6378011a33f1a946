//! The demo county, built from seed 002 (Ostrobothnia, plan and follow-up 1-6/2024).

use rand::Rng;
use serde::Deserialize;
use valvo_core::access::{Principal, Role};
use valvo_core::plan::{
    ActionInput, ActionStatus, Area, GoalInput, GoalReviewInput, IndicatorInput,
};
use valvo_core::report::Transition;
use valvo_core::{Direction, I18nText, Period, PeriodKind, ProducerType};
use valvo_store::{NewOrgUnit, Store};

/// The demo administrator.
pub const ADMIN_EMAIL: &str = "admin@valvo.demo";
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
        publish_report(store, &system, &seed).await?;
        demo_incidents(store, &system).await?;
        demo_feedback(store, &system).await?;
        store.meta_set(MARKER, &seed.period).await.map_err(err)?;
        tracing::info!("demo county loaded");
    }
    let password = std::env::var("VALVO_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(random_password);
    let admin = match store.user_by_email(ADMIN_EMAIL).await.map_err(err)? {
        Some(u) => u,
        None => store
            .create_user(&system, ADMIN_EMAIL, "Demo Admin", Role::Admin, None, None)
            .await
            .map_err(err)?,
    };
    store
        .set_password(&system, admin.id, &password)
        .await
        .map_err(err)?;
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

/// Made-up incident reports (the seeds give only totals): a few per area over
/// the last eight months, some handled, so that the queue and statistics show something.
async fn demo_incidents(store: &Store, system: &Principal) -> Result<(), String> {
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
    for i in 0..48 {
        let org = areas[i % areas.len().max(1)];
        let reported = today - time::Duration::days(next(240) as i64 + 1);
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
            let handled_on = (reported + time::Duration::days(next(45) as i64)).min(today);
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

/// Made-up customer feedback: answers for every area over the last two
/// years (areas differ, Swedish-language service somewhat below Finnish in
/// some), and comments in Finnish and Swedish waiting in the handling queue,
/// a few of them handled, so statistics, topics and the queue show something.
async fn demo_feedback(store: &Store, system: &Principal) -> Result<(), String> {
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
            for st in &survey.def.statements {
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
                    service_date: Some(today - time::Duration::days(next(720) as i64 + 1)),
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
    for i in 0..40 {
        let (nps, text, contact) = comments[i % comments.len()];
        let (_, code) = &areas[(i * 3) % areas.len().max(1)];
        let lang = if text.contains(" och ") || text.starts_with("Tack") || text.starts_with("Jag")
        {
            "sv"
        } else {
            "fi"
        };
        let day = today - time::Duration::days((i * 4) as i64 + 1);
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
