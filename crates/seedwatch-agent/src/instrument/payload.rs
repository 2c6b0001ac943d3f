//! A tool call's inputs or outputs for its audit record, turned into JSON where the record is
//! made (the deferred worker, usually) rather than on the calling thread.

use std::any::Any;

use serde::Serialize;
use serde_json::Value;

/// Inputs or outputs as the caller gave them.
pub(crate) enum Payload {
    /// Already JSON.
    Json(Value),
    /// Any other serialisable value, serialised when asked.
    Later(Box<dyn FnOnce() -> Value + Send + Sync>),
}

impl Payload {
    /// Keeps `value`: a [`Value`] as it is, anything else to be serialised later (a value
    /// that fails to serialise becomes `null`).
    pub(crate) fn of<T: Serialize + Send + Sync + 'static>(value: T) -> Payload {
        let mut slot = Some(value);
        if let Some(json) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Value>>() {
            return Payload::Json(json.take().unwrap_or(Value::Null));
        }
        Payload::Later(Box::new(move || slot.map_or(Value::Null, |v| serde_json::to_value(v).unwrap_or(Value::Null))))
    }

    /// The JSON.
    pub(crate) fn into_json(self) -> Value {
        match self {
            Payload::Json(v) => v,
            Payload::Later(serialise) => serialise(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Serialize)]
    struct Inputs {
        model_id: &'static str,
        reactions: u32,
    }

    struct Unserialisable;

    impl Serialize for Unserialisable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no"))
        }
    }

    #[test]
    fn json_is_kept_and_other_values_are_serialised_when_asked() {
        assert!(matches!(Payload::of(json!({"a": 1})), Payload::Json(_)));
        assert_eq!(Payload::of(json!({"a": 1})).into_json(), json!({"a": 1}));
        let typed = Payload::of(Inputs { model_id: "iML1515", reactions: 2712 });
        assert!(matches!(typed, Payload::Later(_)));
        assert_eq!(typed.into_json(), json!({"model_id": "iML1515", "reactions": 2712}));
        assert_eq!(Payload::of(Unserialisable).into_json(), Value::Null);
    }
}
