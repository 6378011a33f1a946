//! Form views and form parsing. One generic form template renders every form;
//! each builder here says which fields it has. Errors name the field in the
//! user's language and link to it.

use std::collections::HashMap;

use valvo_core::plan::{
    ActionInput, ActionStatus, Area, ErrorCode, FieldError, FollowUpInput, GoalInput,
    GoalReviewInput, IndicatorInput,
};
use valvo_core::{Direction, I18nText, Lang, Period, PeriodKind, ValueKind};

use crate::i18n::Tr;

/// Raw submitted form fields.
pub type FormData = HashMap<String, String>;

/// How a field is entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// One line of text.
    Text,
    /// Several lines.
    Textarea,
    /// A number (typed as text: "1,87" and "1.87" both work).
    Number,
    /// One of a list.
    Select,
}

/// One form field.
#[derive(Clone, Debug)]
pub struct Field {
    /// `name` and `id`.
    pub name: String,
    /// Visible label.
    pub label: String,
    /// Hint shown under the label.
    pub hint: Option<String>,
    /// Current value.
    pub value: String,
    /// How it is entered.
    pub kind: InputKind,
    /// Options of a select: (value, label).
    pub options: Vec<(String, String)>,
    /// The error of this field, if any.
    pub error: Option<String>,
    /// Language of the content (`lang` attribute), for per-language text fields.
    pub lang: Option<&'static str>,
    /// Whether the field must be filled.
    pub required: bool,
    /// The `type` of a one-line input (`text`, `date`, `time`).
    pub input_type: &'static str,
}

impl Field {
    /// Whether this field is a text area.
    pub fn is_textarea(&self) -> bool {
        self.kind == InputKind::Textarea
    }
    /// Whether this field is a select.
    pub fn is_select(&self) -> bool {
        self.kind == InputKind::Select
    }
    /// Whether this field is a number.
    pub fn is_number(&self) -> bool {
        self.kind == InputKind::Number
    }
    /// `aria-describedby` value.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.name));
        }
        ids.join(" ")
    }
}

/// A group of fields with a legend.
#[derive(Clone, Debug)]
pub struct Group {
    /// Legend (empty: no fieldset).
    pub legend: String,
    /// Fields.
    pub fields: Vec<Field>,
}

/// A whole form.
#[derive(Clone, Debug)]
pub struct FormView {
    /// Where it posts.
    pub action: String,
    /// Submit button text.
    pub submit: String,
    /// Where "cancel" leads.
    pub cancel: String,
    /// Field groups.
    pub groups: Vec<Group>,
    /// Error summary: (field id, message).
    pub errors: Vec<(String, String)>,
    /// A button below the form that removes the thing edited: (where it
    /// posts, its text).
    pub remove: Option<(String, String)>,
    /// The one-time key of a form that must save once however often it is
    /// sent (a reload, a double click): see [`once_key`].
    pub once: Option<String>,
    /// Sent as `multipart/form-data` (a form with a file field).
    pub multipart: bool,
}

/// Builds forms in one language, filled from stored values or a submission.
pub struct Builder<'a> {
    tr: &'a Tr,
    data: FormData,
    errors: HashMap<String, String>,
}

impl<'a> Builder<'a> {
    /// A builder with the given values and errors.
    pub fn new(tr: &'a Tr, data: FormData, errors: &[FieldError]) -> Self {
        let mut map = HashMap::new();
        for e in errors {
            map.entry(e.field.clone())
                .or_insert_with(|| error_message(tr, e));
        }
        Builder {
            tr,
            data,
            errors: map,
        }
    }

    fn value(&self, name: &str) -> String {
        self.data.get(name).cloned().unwrap_or_default()
    }

    fn field(&self, name: &str, kind: InputKind, lang: Option<&'static str>) -> Field {
        let hint_key = format!("hint-{name}");
        Field {
            name: name.to_string(),
            label: field_label(self.tr, name),
            hint: self.tr.has(&hint_key).then(|| self.tr.t(&hint_key)),
            value: self.value(name),
            kind,
            options: Vec::new(),
            error: self.errors.get(name).cloned(),
            lang,
            required: false,
            input_type: "text",
        }
    }

    /// One text per language, as `{base}_fi`, `{base}_sv`, `{base}_en`.
    pub fn i18n(&self, base: &str, kind: InputKind, required: bool) -> Group {
        let mut fields: Vec<Field> = Lang::ALL
            .iter()
            .map(|l| {
                let mut f = self.field(
                    &format!("{base}_{}", l.code()),
                    kind.clone(),
                    Some(l.code()),
                );
                f.required = false;
                f
            })
            .collect();
        // A group-level error (e.g. "title": a national language is required) shows on the first field.
        if let (Some(err), Some(first)) = (self.errors.get(base), fields.first_mut()) {
            first.error.get_or_insert_with(|| err.clone());
        }
        let mut legend = field_label(self.tr, base);
        if required {
            legend = format!("{legend} {}", self.tr.t("required-national"));
        }
        Group { legend, fields }
    }

    /// A select over codes, labelled by `{prefix}-{code}` messages.
    pub fn select(&self, name: &str, codes: &[&str], prefix: &str) -> Field {
        let mut f = self.field(name, InputKind::Select, None);
        f.options = codes
            .iter()
            .map(|c| (c.to_string(), self.tr.t(&format!("{prefix}-{c}"))))
            .collect();
        f.required = true;
        f
    }

    /// Any message by its key.
    pub fn legend_text(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// A group legend (`legend-<key>`).
    pub fn legend(&self, key: &str) -> String {
        self.tr.t(&format!("legend-{key}"))
    }

    /// A plain field.
    pub fn plain(&self, name: &str, kind: InputKind, required: bool) -> Field {
        let mut f = self.field(name, kind, None);
        f.required = required;
        f
    }

    /// The finished form.
    pub fn form(
        self,
        action: String,
        submit_key: &str,
        cancel: String,
        groups: Vec<Group>,
    ) -> FormView {
        let mut errors = Vec::new();
        for g in &groups {
            for f in &g.fields {
                if let Some(e) = &f.error {
                    errors.push((f.name.clone(), labelled(&f.label, e)));
                }
            }
        }
        FormView {
            action,
            submit: self.tr.t(submit_key),
            cancel,
            groups,
            errors,
            remove: None,
            once: None,
            multipart: false,
        }
    }
}

/// A new one-time key for a form page (256 random bits).
pub fn new_once_key() -> String {
    valvo_store::random_secret()
}

/// The one-time key a form sent, if it is one this service could have made
/// (anything else is ignored, and the form then saves as one without a key).
pub fn once_key(data: &FormData) -> Option<String> {
    data.get("once")
        .filter(|k| {
            (20..=64).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .cloned()
}

/// What a sent form claims: its one-time key bound to what it says. The
/// same page sent again with the same content (a reload, a double click)
/// claims the same and saves nothing new; a page whose key is reused with
/// other content (the back button on a shared tablet, a form filled in
/// again) is a new submission, so it is neither lost nor shown what the
/// first sender was shown.
pub fn once_claim(data: &FormData) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let key = once_key(data)?;
    let mut fields: Vec<(&String, &String)> = data
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "once"))
        .collect();
    fields.sort();
    // The same binary on every instance: the same fingerprint.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (k, v) in fields {
        k.trim().hash(&mut h);
        v.trim().hash(&mut h);
    }
    Some(format!("{key}.{:016x}", h.finish()))
}

impl Field {
    /// Offers an empty first choice ("choose…"), so that nothing is chosen
    /// until the person filling in the form chooses.
    pub fn choose_first(mut self, tr: &Tr) -> Self {
        self.options.insert(0, (String::new(), tr.t("choose")));
        self
    }
}

/// The label of a field (`field-<name>`).
pub fn field_label(tr: &Tr, name: &str) -> String {
    tr.t(&format!("field-{name}"))
}

/// The message of a field error.
/// An error summary's line: the field's label, then what is wrong. A label
/// that asks ("Who are you?") takes no colon.
pub fn labelled(label: &str, message: &str) -> String {
    let label = label.trim_end();
    let sep = if label.ends_with(['?', ':']) {
        " – "
    } else {
        ": "
    };
    format!("{label}{sep}{message}")
}

pub fn error_message(tr: &Tr, e: &FieldError) -> String {
    let specific = format!("error-{}-{}", e.field, e.code.code());
    if tr.has(&specific) {
        tr.t(&specific)
    } else {
        tr.t(&format!("error-{}", e.code.code()))
    }
}

fn text_of(data: &FormData, base: &str) -> I18nText {
    let get = |l: &str| data.get(&format!("{base}_{l}")).cloned();
    I18nText::new(get("fi"), get("sv"), get("en"))
}

fn enum_of<T>(
    data: &FormData,
    name: &str,
    parse: fn(&str) -> Option<T>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let raw = data.get(name).map(String::as_str).unwrap_or("").trim();
    let parsed = parse(raw);
    if parsed.is_none() {
        errors.push(FieldError {
            field: name.to_string(),
            code: if raw.is_empty() {
                ErrorCode::Required
            } else {
                ErrorCode::Invalid
            },
        });
    }
    parsed
}

fn finish<T>(
    input: Option<T>,
    mut errors: Vec<FieldError>,
    validate: fn(&T) -> Result<(), Vec<FieldError>>,
) -> Result<T, Vec<FieldError>> {
    if let Some(i) = &input {
        if let Err(mut more) = validate(i) {
            errors.append(&mut more);
        }
    }
    match input {
        Some(i) if errors.is_empty() => Ok(i),
        _ => Err(errors),
    }
}

/// Parses the goal form.
pub fn goal_input(data: &FormData) -> Result<GoalInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let area = enum_of(data, "area", Area::parse, &mut errors);
    let year = match data.get("year").map(|s| s.trim().parse::<i32>()) {
        Some(Ok(y)) => Some(y),
        Some(Err(_)) if data.get("year").is_some_and(|s| !s.trim().is_empty()) => {
            errors.push(FieldError {
                field: "year".into(),
                code: ErrorCode::NotANumber,
            });
            None
        }
        _ => {
            errors.push(FieldError {
                field: "year".into(),
                code: ErrorCode::Required,
            });
            None
        }
    };
    let input = match (area, year) {
        (Some(area), Some(year)) => Some(GoalInput {
            area,
            year,
            title: text_of(data, "title"),
        }),
        _ => None,
    };
    finish(input, errors, GoalInput::validate)
}

/// A number of `kind` typed in a form (a baseline, target or bound): as
/// people type it for the kind (`0:10:00`, `90 %`; a ratio's share).
fn kind_number_of(
    data: &FormData,
    name: &str,
    kind: ValueKind,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let kind = if kind == ValueKind::Ratio {
        ValueKind::Percent
    } else {
        kind
    };
    match kind.parse_number(data.get(name).map(String::as_str).unwrap_or("")) {
        Ok(v) => v,
        Err(code) => {
            errors.push(FieldError::new(name, code));
            None
        }
    }
}

/// Parses the indicator form.
pub fn indicator_input(data: &FormData) -> Result<IndicatorInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let direction = enum_of(data, "direction", Direction::parse, &mut errors);
    let period_kind = enum_of(data, "period_kind", PeriodKind::parse, &mut errors);
    let value_kind = match data.get("value_kind").map(|s| s.trim()) {
        None | Some("") => Some(ValueKind::Number),
        Some(_) => enum_of(data, "value_kind", ValueKind::parse, &mut errors),
    };
    let kind = value_kind.unwrap_or_default();
    let baseline = kind_number_of(data, "baseline", kind, &mut errors);
    let target = kind_number_of(data, "target", kind, &mut errors);
    let target_max = kind_number_of(data, "target_max", kind, &mut errors);
    let min_value = kind_number_of(data, "min_value", kind, &mut errors);
    let max_value = kind_number_of(data, "max_value", kind, &mut errors);
    let until_year = match data.get("until_year").map(|s| s.trim()).unwrap_or("") {
        "" => None,
        y => match y.parse::<i32>() {
            Ok(y) => Some(y),
            Err(_) => {
                errors.push(FieldError::new("until_year", ErrorCode::NotANumber));
                None
            }
        },
    };
    let reference = reference_of(data);
    let code = data
        .get("code")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let input = match (direction, period_kind, value_kind) {
        (Some(direction), Some(period_kind), Some(value_kind)) => Some(IndicatorInput {
            name: text_of(data, "name"),
            unit: text_of(data, "unit"),
            direction,
            baseline,
            target,
            target_max,
            period_kind,
            note: text_of(data, "note"),
            code,
            value_kind,
            until_year,
            min_value,
            max_value,
            reference,
        }),
        _ => None,
    };
    finish(input, errors, IndicatorInput::validate)
}

/// The reference series fields: none when the series is left empty.
fn reference_of(data: &FormData) -> Option<valvo_core::model::Reference> {
    let get = |k: &str| data.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
    let series = get("reference_series");
    if series.is_empty() {
        return None;
    }
    Some(valvo_core::model::Reference {
        series,
        region: get("reference_region"),
        gender: "total".into(),
        label: text_of(data, "reference_label").normalized(),
    })
}

/// Parses the action form.
pub fn action_input(data: &FormData) -> Result<ActionInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let status = enum_of(data, "status", ActionStatus::parse, &mut errors);
    let input = status.map(|status| ActionInput {
        text: text_of(data, "text"),
        status,
    });
    finish(input, errors, ActionInput::validate)
}

/// Parses the period field.
pub fn period_of(data: &FormData, errors: &mut Vec<FieldError>) -> Option<Period> {
    let raw = data.get("period").map(|s| s.trim()).unwrap_or("");
    if raw.is_empty() {
        errors.push(FieldError {
            field: "period".into(),
            code: ErrorCode::Required,
        });
        return None;
    }
    match raw.parse::<Period>() {
        Ok(p) => Some(p),
        Err(_) => {
            errors.push(FieldError {
                field: "period".into(),
                code: ErrorCode::Invalid,
            });
            None
        }
    }
}

/// Parses the follow-up form (period and values) of an indicator of `kind`.
pub fn follow_up_input(
    data: &FormData,
    kind: ValueKind,
) -> Result<(Period, FollowUpInput), Vec<FieldError>> {
    let mut errors = Vec::new();
    let period = period_of(data, &mut errors);
    let figure = match kind.parse_figure(data.get("value").map(String::as_str).unwrap_or("")) {
        Ok(f) => f,
        Err(code) => {
            errors.push(FieldError::new("value", code));
            None
        }
    };
    let input = FollowUpInput::of(
        figure,
        text_of(data, "assessment"),
        text_of(data, "corrective"),
    );
    let input = if errors.iter().any(|e| e.field == "value") {
        None
    } else {
        Some(input)
    };
    let input = finish(input, errors, FollowUpInput::validate)?;
    match period {
        Some(p) => Ok((p, input)),
        None => Err(vec![FieldError {
            field: "period".into(),
            code: ErrorCode::Required,
        }]),
    }
}

/// Parses the goal review form.
pub fn review_input(data: &FormData) -> Result<(Period, GoalReviewInput), Vec<FieldError>> {
    let mut errors = Vec::new();
    let period = period_of(data, &mut errors);
    let input = GoalReviewInput {
        text: text_of(data, "text"),
    };
    let input = finish(Some(input), errors, GoalReviewInput::validate)?;
    match period {
        Some(p) => Ok((p, input)),
        None => Err(vec![FieldError {
            field: "period".into(),
            code: ErrorCode::Required,
        }]),
    }
}

fn put_text(data: &mut FormData, base: &str, t: &I18nText) {
    for l in Lang::ALL {
        data.insert(
            format!("{base}_{}", l.code()),
            t.get(l).unwrap_or("").to_string(),
        );
    }
}

/// Form values of a goal.
pub fn goal_data(g: &GoalInput) -> FormData {
    let mut d = FormData::new();
    d.insert("area".into(), g.area.code().into());
    d.insert("year".into(), g.year.to_string());
    put_text(&mut d, "title", &g.title);
    d
}

/// Form values of an indicator, numbers as they are typed in `lang`.
pub fn indicator_data(i: &IndicatorInput, lang: Lang) -> FormData {
    let mut d = FormData::new();
    put_text(&mut d, "name", &i.name);
    put_text(&mut d, "unit", &i.unit);
    put_text(&mut d, "note", &i.note);
    d.insert("direction".into(), i.direction.code().into());
    d.insert("period_kind".into(), i.period_kind.code().into());
    d.insert("value_kind".into(), i.value_kind.code().into());
    d.insert("code".into(), i.code.clone().unwrap_or_default());
    d.insert(
        "until_year".into(),
        i.until_year.map(|y| y.to_string()).unwrap_or_default(),
    );
    if let Some(r) = &i.reference {
        d.insert("reference_series".into(), r.series.clone());
        d.insert("reference_region".into(), r.region.clone());
        put_text(&mut d, "reference_label", &r.label);
    }
    let kind = i.value_kind;
    for (name, v) in [
        ("baseline", i.baseline),
        ("target", i.target),
        ("target_max", i.target_max),
        ("min_value", i.min_value),
        ("max_value", i.max_value),
    ] {
        d.insert(
            name.into(),
            v.map(|x| kind.input_number(x, lang)).unwrap_or_default(),
        );
    }
    d
}

/// Form values of an action.
pub fn action_data(a: &ActionInput) -> FormData {
    let mut d = FormData::new();
    put_text(&mut d, "text", &a.text);
    d.insert("status".into(), a.status.code().into());
    d
}

/// Form values of a follow-up of an indicator of `kind`, the figure as it
/// is typed in `lang`.
pub fn follow_up_data(
    period: &str,
    f: Option<&FollowUpInput>,
    kind: ValueKind,
    lang: Lang,
) -> FormData {
    let mut d = FormData::new();
    d.insert("period".into(), period.to_string());
    if let Some(f) = f {
        d.insert("value".into(), kind.input_text(&f.figure(), lang));
        put_text(&mut d, "assessment", &f.assessment);
        put_text(&mut d, "corrective", &f.corrective);
    }
    d
}

/// Form values of a goal review.
pub fn review_data(period: &str, text: Option<&I18nText>) -> FormData {
    let mut d = FormData::new();
    d.insert("period".into(), period.to_string());
    if let Some(t) = text {
        put_text(&mut d, "text", t);
    }
    d
}
