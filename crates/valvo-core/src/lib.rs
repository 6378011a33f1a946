//! Valvo domain core: the pure (no I/O, no async) model of self-monitoring
//! (omavalvonta / egenkontroll) in Finnish social and health care.
//!
//! - [`text`]: languages and multilingual text with fallback.
//! - [`period`]: reporting periods (month, quarter, tertial, half, year).
//! - [`status`](mod@status): indicator targets, status, change and number formatting.
//! - [`org`]: the organisation tree.
//! - [`access`]: roles, scopes and the access policy.
//! - [`feedback`]: customer feedback surveys, NPS and statement statistics.
//! - [`plan`]: plan areas, goals, indicators, actions, follow-up and
//!   validation of user input.

/// Implements `ALL`, `code` and `parse` for a snake_case code enum.
macro_rules! code_enum {
    ($ty:ident, $n:literal, [$($variant:ident => $code:literal),+ $(,)?]) => {
        impl $ty {
            /// Every value, in the customary order.
            pub const ALL: [Self; $n] = [$($ty::$variant),+];

            /// Stable snake_case code (the serde name).
            pub fn code(self) -> &'static str {
                match self {
                    $($ty::$variant => $code),+
                }
            }

            /// Parses a [`code`](Self::code) (case-insensitive, trimmed).
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL
                    .into_iter()
                    .find(|v| s.eq_ignore_ascii_case(v.code()))
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

pub mod access;
pub mod branding;
pub mod comparison;
pub mod disclosure;
pub mod feedback;
pub mod figures;
pub mod import;
pub mod incident;
pub mod model;
pub mod ombudsman;
pub mod org;
pub mod period;
pub mod plan;
pub mod report;
pub mod section_tables;
pub mod sso;
pub mod status;
pub mod supervision;
pub mod text;
pub mod value;

pub use org::{OrgError, OrgNode, OrgTree, ProducerType, ServiceType};
pub use period::{Period, PeriodError, PeriodIter, PeriodKind, PeriodYear};
pub use plan::*;
pub use status::{
    change, decimals_needed, format_number, format_percent, format_with_previous, status, Change,
    Direction, Status, TargetSpec,
};
pub use text::{I18nText, Lang, Resolved};
pub use value::{Figure, ValueKind};

/// A minimal serializer for tests: renders strings and unit variants.
#[cfg(test)]
pub(crate) mod test_ser {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde::ser::{Impossible, Serialize, Serializer};
    use std::fmt;

    #[derive(Debug)]
    pub struct Unsupported;

    impl fmt::Display for Unsupported {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("unsupported")
        }
    }

    impl std::error::Error for Unsupported {}

    impl serde::ser::Error for Unsupported {
        fn custom<T: fmt::Display>(_msg: T) -> Self {
            Unsupported
        }
    }

    struct S;

    macro_rules! unsupported {
        ($($name:ident($($t:ty),*)),* $(,)?) => {
            $(fn $name(self, $(_: $t),*) -> Result<String, Unsupported> { Err(Unsupported) })*
        };
    }

    impl Serializer for S {
        type Ok = String;
        type Error = Unsupported;
        type SerializeSeq = Impossible<String, Unsupported>;
        type SerializeTuple = Impossible<String, Unsupported>;
        type SerializeTupleStruct = Impossible<String, Unsupported>;
        type SerializeTupleVariant = Impossible<String, Unsupported>;
        type SerializeMap = Impossible<String, Unsupported>;
        type SerializeStruct = Impossible<String, Unsupported>;
        type SerializeStructVariant = Impossible<String, Unsupported>;

        fn serialize_str(self, v: &str) -> Result<String, Unsupported> {
            Ok(v.to_owned())
        }

        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<String, Unsupported> {
            Ok(variant.to_owned())
        }

        unsupported!(
            serialize_bool(bool),
            serialize_i8(i8),
            serialize_i16(i16),
            serialize_i32(i32),
            serialize_i64(i64),
            serialize_u8(u8),
            serialize_u16(u16),
            serialize_u32(u32),
            serialize_u64(u64),
            serialize_f32(f32),
            serialize_f64(f64),
            serialize_char(char),
            serialize_bytes(&[u8]),
            serialize_none(),
            serialize_unit(),
            serialize_unit_struct(&'static str),
        );

        fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<String, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: &T,
        ) -> Result<String, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<String, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Unsupported> {
            Err(Unsupported)
        }
    }

    /// Serializes a string-like value or unit enum variant to its string.
    pub fn to_string<T: Serialize>(v: &T) -> String {
        v.serialize(S).unwrap()
    }

    #[test]
    fn renders_strings_only() {
        assert_eq!(to_string(&"x"), "x");
        assert!(1u8.serialize(S).is_err());
    }
}
