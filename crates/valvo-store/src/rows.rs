//! Reading rows into domain types.

use sqlx::any::AnyRow;
use sqlx::Row;
use valvo_core::{I18nText, OrgNode, ProducerType, ServiceType};

use crate::{Result, StoreError};

pub(crate) fn text(row: &AnyRow, prefix: &str) -> Result<I18nText> {
    let get = |lang: &str| -> Result<Option<String>> {
        Ok(row.try_get::<Option<String>, _>(format!("{prefix}_{lang}").as_str())?)
    };
    Ok(I18nText::new(get("fi")?, get("sv")?, get("en")?))
}

/// A stored ISO day (`2024-03-05`).
pub(crate) fn date(s: &str) -> Result<time::Date> {
    time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE)
        .map_err(|_| corrupt("date", s))
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

pub(crate) fn org_node(row: &AnyRow) -> Result<OrgNode> {
    let producer: String = row.try_get("producer")?;
    Ok(OrgNode {
        id: row.try_get("id")?,
        parent_id: row.try_get("parent_id")?,
        code: row.try_get("code")?,
        name: text(row, "name")?,
        producer: ProducerType::parse(&producer).ok_or_else(|| corrupt("producer", &producer))?,
        sort_order: row.try_get::<i64, _>("sort_order")? as i32,
        service_type: match row.try_get::<Option<String>, _>("service_type")? {
            None => None,
            Some(t) => Some(ServiceType::parse(&t).ok_or_else(|| corrupt("service_type", &t))?),
        },
    })
}
