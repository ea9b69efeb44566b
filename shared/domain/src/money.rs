//! Money as integer minor units (cents). VTEX never uses decimals on the wire
//! (shared/docs/protocol.md §Conventions).

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Sub};

/// An amount in cents: `9990` is 99.90. Serialized as a JSON integer; parsed from an integer or a
/// digit string, because OMS types `invoiceValue` as a string (§Decisions C13).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub fn new(value: i64) -> Self {
        Cents(value)
    }

    pub fn value(self) -> i64 {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    pub fn checked_mul(self, factor: i64) -> Option<Cents> {
        self.0.checked_mul(factor).map(Cents)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Add for Cents {
    type Output = Cents;
    fn add(self, rhs: Cents) -> Cents {
        Cents(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Cents {
    fn add_assign(&mut self, rhs: Cents) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for Cents {
    type Output = Cents;
    fn sub(self, rhs: Cents) -> Cents {
        Cents(self.0.saturating_sub(rhs.0))
    }
}

impl Mul<i64> for Cents {
    type Output = Cents;
    fn mul(self, rhs: i64) -> Cents {
        Cents(self.0.saturating_mul(rhs))
    }
}

impl Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents::ZERO, |a, b| a + b)
    }
}

impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Cents;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer amount in cents, or a string of digits")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Cents, E> {
                Ok(Cents(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Cents, E> {
                i64::try_from(v)
                    .map(Cents)
                    .map_err(|_| E::custom("amount out of range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Cents, E> {
                // 9990.0 is an integer written by a float-happy client; 99.9 is a price in the wrong unit.
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(Cents(v as i64))
                } else {
                    Err(E::custom(
                        "amount must be an integer number of cents, not a decimal",
                    ))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Cents, E> {
                let t = v.trim();
                let digits = t.strip_prefix('-').unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom("amount string must contain only digits (cents)"));
                }
                t.parse::<i64>()
                    .map(Cents)
                    .map_err(|_| E::custom("amount out of range"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_integer_and_digit_string() {
        assert_eq!(serde_json::from_str::<Cents>("9990").unwrap(), Cents(9990));
        assert_eq!(
            serde_json::from_str::<Cents>("\"2499\"").unwrap(),
            Cents(2499)
        );
        assert_eq!(serde_json::from_str::<Cents>("100.0").unwrap(), Cents(100));
    }

    #[test]
    fn rejects_decimal_amounts() {
        assert!(serde_json::from_str::<Cents>("99.9").is_err());
        assert!(serde_json::from_str::<Cents>("\"99.90\"").is_err());
        assert!(serde_json::from_str::<Cents>("\"\"").is_err());
    }

    #[test]
    fn serializes_as_integer() {
        assert_eq!(serde_json::to_string(&Cents(1090)).unwrap(), "1090");
    }
}
