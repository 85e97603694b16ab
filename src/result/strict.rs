//! JSON read strictly: a key given twice in one object is an error (not "the last one
//! wins"), and strings have length limits, so a hostile file can neither hide a value
//! behind another nor make every later step slow by carrying megabytes in a name.

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Longest name, id or other short string: 1 KiB.
pub const MAX_NAME_BYTES: usize = 1 << 10;
/// Longest message (a warning, a note, a reason, a command line, a description).
pub const MAX_TEXT_BYTES: usize = 16 << 10;

/// Fields whose strings are messages, allowed up to [`MAX_TEXT_BYTES`].
const TEXT_FIELDS: [&str; 7] = [
    "warnings",
    "incomplete_reason",
    "note",
    "description",
    "source",
    "command_line",
    "slowest",
];
/// Fields whose strings are encoded data (histograms), bounded by the file's size cap
/// alone.
const DATA_FIELDS: [&str; 2] = ["histogram", "histograms"];

/// Parses JSON, refusing duplicate keys and over-long strings.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Seed {
        limit: MAX_NAME_BYTES,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A value whose strings may be at most `limit` bytes.
#[derive(Clone, Copy)]
struct Seed {
    limit: usize,
}

impl Seed {
    fn for_key(key: &str) -> Seed {
        let limit = if DATA_FIELDS.contains(&key) {
            usize::MAX
        } else if TEXT_FIELDS.contains(&key) {
            MAX_TEXT_BYTES
        } else {
            MAX_NAME_BYTES
        };
        Seed { limit }
    }

    fn check<E: serde::de::Error>(self, s: &str) -> Result<(), E> {
        if s.len() > self.limit {
            let head: String = s.chars().take(40).collect();
            return Err(E::custom(format!(
                "a string of {} bytes (\"{}...\") is longer than the {} bytes allowed here",
                s.len(),
                crate::util::clean(&head),
                self.limit
            )));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a finite number")))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.check(v)?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.check(&v)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            Seed {
                limit: MAX_NAME_BYTES,
            }
            .check::<A::Error>(&key)?;
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "the key \"{}\" appears twice in one object",
                    crate::util::clean(&key)
                )));
            }
            let value = map.next_value_seed(Seed::for_key(&key))?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A copy of `file` (a result file or any part of one) safe to print: every string
/// (names, ids, sources, warnings; not the encoded histograms) has its control characters
/// escaped with [`crate::util::clean`]. Reports print from this copy; files are written
/// from the original.
pub fn cleaned<T>(file: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone,
{
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) => *s = crate::util::clean(s),
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    if !DATA_FIELDS.contains(&k.as_str()) {
                        walk(v);
                    }
                }
            }
            _ => {}
        }
    }
    let Ok(mut v) = serde_json::to_value(file) else {
        return file.clone();
    };
    walk(&mut v);
    serde_json::from_value(v).unwrap_or_else(|_| file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_and_long_strings_are_refused() {
        assert!(parse(br#"{"a": 1, "b": {"a": 2}}"#).is_ok());
        let e = parse(br#"{"a": 1, "a": 2}"#).unwrap_err().to_string();
        assert!(e.contains("\"a\" appears twice"), "{e}");
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        let e = parse(format!(r#"{{"name": "{long}"}}"#).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("longer than the 1024 bytes"), "{e}");
        // Messages and histograms have their own limits.
        assert!(parse(format!(r#"{{"warnings": ["{long}"]}}"#).as_bytes()).is_ok());
        let huge = "A".repeat(MAX_TEXT_BYTES + 1);
        assert!(parse(format!(r#"{{"histogram": "{huge}"}}"#).as_bytes()).is_ok());
        assert!(parse(format!(r#"{{"note": "{huge}"}}"#).as_bytes()).is_err());
        // A long key is refused too.
        assert!(parse(format!(r#"{{"{long}": 1}}"#).as_bytes()).is_err());
    }
}
