//! Sensitive payload fields: a job type names the fields of its payload that hold secrets or
//! customer data, and every operator view (pages, API, CLI) shows them as `"[redacted]"`.
//! The job itself still gets its whole payload.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::{Error, Result};

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The sensitive fields of each class, by class name. A field is a path of object keys
/// separated by dots (`card`, `customer.email`); a path that meets an array applies to each
/// element (`lines.price` redacts the price of every line).
///
/// ```
/// use asyncapex_core::Redactions;
/// use serde_json::json;
///
/// let mut r = Redactions::default();
/// r.insert("Charge", vec!["card".into(), "customer.email".into(), "lines.price".into()]);
/// let shown = r.redact("Charge", &json!({
///     "card": "4111 1111 1111 1111",
///     "customer": { "email": "a@b.example", "name": "Ann" },
///     "lines": [{ "sku": "A", "price": 10 }, { "sku": "B", "price": 20 }],
/// }));
/// assert_eq!(shown, json!({
///     "card": "[redacted]",
///     "customer": { "email": "[redacted]", "name": "Ann" },
///     "lines": [{ "sku": "A", "price": "[redacted]" }, { "sku": "B", "price": "[redacted]" }],
/// }));
/// // Other classes, and fields that are not there, are left alone.
/// assert_eq!(r.redact("Other", &json!({ "card": 1 })), json!({ "card": 1 }));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactions {
    by_class: HashMap<String, Vec<String>>,
}

impl Redactions {
    /// Adds `fields` to `class`'s sensitive fields.
    pub fn insert(&mut self, class: &str, fields: Vec<String>) {
        let entry = self.by_class.entry(class.to_owned()).or_default();
        for f in fields {
            if !entry.contains(&f) {
                entry.push(f);
            }
        }
    }

    /// The sensitive fields of `class` (empty when it has none).
    pub fn fields(&self, class: &str) -> &[String] {
        self.by_class.get(class).map_or(&[], Vec::as_slice)
    }

    /// Whether no class has sensitive fields.
    pub fn is_empty(&self) -> bool {
        self.by_class.values().all(Vec::is_empty)
    }

    /// `payload` of a `class` job with its sensitive fields replaced by [`REDACTED`].
    pub fn redact(&self, class: &str, payload: &Value) -> Value {
        let mut out = payload.clone();
        for field in self.fields(class) {
            let path: Vec<&str> = field.split('.').collect();
            redact_path(&mut out, &path);
        }
        out
    }

    /// [`Redactions::redact`] of a payload stored as text; text that is not JSON is
    /// redacted whole when the class has any sensitive field (its parts cannot be found).
    pub fn redact_text(&self, class: &str, payload: &str) -> String {
        if self.fields(class).is_empty() {
            return payload.to_owned();
        }
        match serde_json::from_str::<Value>(payload) {
            Ok(v) => self.redact(class, &v).to_string(),
            Err(_) => Value::from(REDACTED).to_string(),
        }
    }
}

fn redact_path(value: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match value {
        Value::Object(map) => {
            if let Some(v) = map.get_mut(*first) {
                if rest.is_empty() {
                    *v = Value::from(REDACTED);
                } else {
                    redact_path(v, rest);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                redact_path(item, path);
            }
        }
        _ => {}
    }
}

/// Checks the sensitive field paths a job type declares: each a dot-separated path of
/// non-empty keys.
///
/// ```
/// use asyncapex_core::redaction::check_fields;
/// assert!(check_fields(&["card", "customer.email"]).is_ok());
/// assert!(check_fields(&["customer..email"]).is_err());
/// assert!(check_fields(&[""]).is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] naming the first bad path.
pub fn check_fields(fields: &[&str]) -> Result<()> {
    for f in fields {
        if f.is_empty() || f.split('.').any(str::is_empty) || f.len() > 200 {
            return Err(Error::InvalidInput {
                what: "sensitive field",
                input: (*f).chars().take(60).collect(),
                rule: "a sensitive field is a dot-separated path of non-empty keys, at most 200 bytes",
            });
        }
    }
    Ok(())
}

/// The fields of a stored JSON array of paths; a value that is not one reads as no fields
/// (a stored list is only ever written from checked paths).
pub fn field_list(stored: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(stored).unwrap_or_default()
}
