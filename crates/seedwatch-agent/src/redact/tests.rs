use serde_json::json;

use super::*;

#[derive(serde::Deserialize)]
struct Sample {
    name: String,
    secret: String,
    text: String,
}

fn samples() -> Vec<Sample> {
    serde_json::from_str(include_str!("../../tests/fixtures/secret_samples.json")).unwrap()
}

#[test]
fn no_sample_secret_survives_in_text() {
    let s = Sanitizer::default();
    for sample in samples() {
        assert!(sample.text.contains(&sample.secret), "{}: sample text must hold its secret", sample.name);
        let out = s.redact_text(&sample.text);
        assert!(!out.contains(&sample.secret), "{}: {out}", sample.name);
        assert!(out.contains(REDACTED), "{}: {out}", sample.name);
    }
}

#[test]
fn no_sample_secret_survives_in_json_values() {
    let s = Sanitizer::default();
    for sample in samples() {
        let v = json!({"args": [sample.text], "nested": {"note": sample.text}});
        let out = s.sanitize(&v).to_string();
        assert!(!out.contains(&sample.secret), "{}: {out}", sample.name);
    }
}

#[test]
fn keeps_what_is_not_secret() {
    let s = Sanitizer::default();
    let text = "FBA on iML1515 gave objective 0.873 with 2712 reactions; see https://modelseed.org/biochem";
    assert_eq!(s.redact_text(text), text);
    let keep = s.redact_text("Authorization: Bearer tok3nValue987zyxWVU654");
    assert_eq!(keep, "Authorization: Bearer [REDACTED]");
    let url = s.redact_text("postgres://modelseed:pw12345678@db:5432/x");
    assert_eq!(url, "postgres://modelseed:[REDACTED]@db:5432/x");
}

#[test]
fn secret_keys_are_redacted_whole_but_token_counts_are_not() {
    let s = Sanitizer::default();
    let v = json!({
        "password": "x", "db.password": 12345, "OPENAI_API_KEY": "plain", "x-api-key": "k",
        "Authorization": "whatever", "max_tokens": 512, "input_token_count": 10, "model": "gpt-4o",
        "session": {"refresh_token": "abc"}, "empty_token": null
    });
    let out = s.sanitize(&v);
    for key in ["password", "db.password", "OPENAI_API_KEY", "x-api-key", "Authorization"] {
        assert_eq!(out[key], REDACTED, "{key}");
    }
    assert_eq!(out["session"]["refresh_token"], REDACTED);
    assert_eq!(out["max_tokens"], 512);
    assert_eq!(out["input_token_count"], 10);
    assert_eq!(out["model"], "gpt-4o");
    assert_eq!(out["empty_token"], Value::Null);
}

#[test]
fn configured_keys_and_patterns() {
    let s = Sanitizer::builder().key("patient_id").pattern(r"(MRN-)\d{6}").build().unwrap();
    let out = s.sanitize(&json!({"patient_id": "p-1", "note": "record MRN-123456 opened"}));
    assert_eq!(out["patient_id"], REDACTED);
    assert_eq!(out["note"], "record MRN-[REDACTED] opened");
    assert!(Sanitizer::builder().pattern("(").build().is_err());
}

#[test]
fn truncates_long_values_on_char_boundaries() {
    let s = Sanitizer::builder().max_len(10).max_items(2).build().unwrap();
    let out = s.redact_text("ééééééééééé");
    assert!(out.starts_with("ééééé…[truncated"), "{out}");
    let v = s.sanitize(&json!([1, 2, 3, 4]));
    assert_eq!(v, json!([1, 2, "…[2 more items]"]));
}
