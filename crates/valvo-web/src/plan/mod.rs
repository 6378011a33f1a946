//! The self-monitoring plan as other systems and bulk work meet it: the
//! whole plan through the API (org units, goals, indicators, actions), the
//! figures of a unit and period entered in one table, what is still missing,
//! the values flagged for a look, and the import of figures.
//!
//! (The plan pages themselves are still in `ui.rs`; they move here when
//! they are next reworked.)

pub(crate) mod api;
pub(crate) mod entry;
pub(crate) mod figures;

use serde_json::Value;
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::{Figure, ValueKind};

/// A figure of `kind` as JSON gives it: a number (the comparable number:
/// seconds for a duration, `90` for 90 %), a string as people type it
/// (`"0:13:25"`, `"90 %"`, `"192/469"`, `"1 025"`), a ratio's two parts as
/// `[192, 469]`, or null for none.
pub(crate) fn json_figure(kind: ValueKind, v: &Value) -> Result<Option<Figure>, ErrorCode> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => kind.parse_figure(s),
        Value::Number(n) => {
            let x = n.as_f64().ok_or(ErrorCode::NotANumber)?;
            kind.check_number(x).map(|x| Some(Figure::number(x)))
        }
        Value::Array(parts) if kind == ValueKind::Ratio && parts.len() == 2 => {
            let part = |v: &Value| v.as_f64().ok_or(ErrorCode::NotARatio);
            Figure::ratio(part(&parts[0])?, part(&parts[1])?).map(Some)
        }
        _ => Err(match kind {
            ValueKind::Ratio => ErrorCode::NotARatio,
            ValueKind::Duration => ErrorCode::NotADuration,
            _ => ErrorCode::NotANumber,
        }),
    }
}

/// A baseline, target or range bound of `kind`: a number, or a string as
/// people type it; a ratio's are its first part's share (`"29 %"`, `29`).
pub(crate) fn json_number(
    kind: ValueKind,
    body: &Value,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Option<f64>> {
    let v = body.get(field)?;
    let as_share = if kind == ValueKind::Ratio {
        ValueKind::Percent
    } else {
        kind
    };
    let parsed = match v {
        Value::Null => Ok(None),
        Value::String(s) => as_share.parse_number(s),
        Value::Number(_) if kind == ValueKind::Text => Err(ErrorCode::Invalid),
        Value::Number(n) => match n.as_f64() {
            Some(x) => as_share.check_number(x).map(Some),
            None => Err(ErrorCode::NotANumber),
        },
        _ => Err(ErrorCode::NotANumber),
    };
    match parsed {
        Ok(x) => Some(x),
        Err(code) => {
            errors.push(FieldError::new(field, code));
            None
        }
    }
}

/// A figure printed in every language, for JSON beside its raw number.
pub(crate) fn formatted(kind: ValueKind, f: &Figure) -> Value {
    if f.is_empty() {
        return Value::Null;
    }
    let mut m = serde_json::Map::new();
    for lang in valvo_core::Lang::ALL {
        m.insert(
            lang.code().to_owned(),
            Value::String(kind.format_figure(f, lang)),
        );
    }
    Value::Object(m)
}
