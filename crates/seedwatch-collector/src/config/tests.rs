use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(yaml: &str) -> Result<Settings, ConfigError> {
    Settings::parse(yaml, "test.yaml", &no_env)
}

fn problems(yaml: &str) -> Vec<Problem> {
    match parse(yaml) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected invalid config, got {other:?}"),
    }
}

#[test]
fn embedded_default_is_valid_and_uses_the_documented_endpoints() {
    let settings = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &no_env).expect("embedded default is valid");
    let otlp = &settings.config.receivers.otlp;
    assert_eq!(otlp.grpc.endpoint, "127.0.0.1:4317");
    assert_eq!(otlp.http.endpoint, "127.0.0.1:4318");
    assert_eq!(settings.config.admin.endpoint, "127.0.0.1:8889");
    assert_eq!(otlp.grpc.max_message_size.as_u64(), 4 * 1024 * 1024);
    assert!(settings.exporters.is_empty());
}

#[test]
fn empty_file_means_defaults() {
    let settings = parse("").expect("empty is valid");
    assert_eq!(settings.config.receivers.otlp.grpc.endpoint, "127.0.0.1:4317");
    assert_eq!(settings.config.pipeline.queue_capacity, 100_000);
}

#[test]
fn validate_rejects_misspelt_key_naming_path_found_and_expected() {
    let p = problems("receivers:\n  otlp:\n    grpc:\n      endpoit: 127.0.0.1:1\n");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].path, "receivers.otlp.grpc.endpoit");
    assert!(p[0].message.contains("unknown field `endpoit`"), "{}", p[0].message);
    assert!(p[0].message.contains("`endpoint`"), "lists what is expected: {}", p[0].message);
}

#[test]
fn validate_rejects_unknown_top_level_section() {
    let p = problems("recievers: {}\n");
    assert_eq!(p[0].path, "recievers");
    assert!(p[0].message.contains("expected one of"), "{}", p[0].message);
}

#[test]
fn validate_rejects_bad_values_and_reports_all_of_them() {
    let p = problems(
        "receivers:\n  otlp:\n    grpc: {endpoint: 'nowhere'}\n    http: {max_body_size: 0B}\npipeline: {queue_capacity: 0}\nservice: {shutdown_timeout: 0s}\n",
    );
    let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"receivers.otlp.grpc.endpoint"), "{paths:?}");
    assert!(paths.contains(&"receivers.otlp.http.max_body_size"), "{paths:?}");
    assert!(paths.contains(&"pipeline.queue_capacity"), "{paths:?}");
    assert!(paths.contains(&"service.shutdown_timeout"), "{paths:?}");
    let endpoint = p.iter().find(|p| p.path == "receivers.otlp.grpc.endpoint").expect("endpoint problem");
    assert!(endpoint.message.contains("found `nowhere`") && endpoint.message.contains("host:port"));
}

#[test]
fn validate_rejects_wrong_types_with_path() {
    let p = problems("pipeline:\n  queue_capacity: lots\n");
    assert_eq!(p[0].path, "pipeline.queue_capacity");
    assert!(p[0].message.contains("invalid"), "{}", p[0].message);
}

#[test]
fn validate_rejects_same_port_twice() {
    let p =
        problems("receivers:\n  otlp:\n    http: {endpoint: '127.0.0.1:9999'}\nadmin: {endpoint: '127.0.0.1:9999'}\n");
    assert_eq!(p[0].path, "admin.endpoint");
    assert!(p[0].message.contains("receivers.otlp.http.endpoint"));
}

#[test]
fn env_substitution_feeds_typed_fields() {
    let env = |name: &str| match name {
        "CAP" => Some("42".to_owned()),
        "GRPC" => Some("0.0.0.0:14317".to_owned()),
        _ => None,
    };
    let yaml = "receivers:\n  otlp:\n    grpc: {endpoint: '${GRPC}'}\npipeline: {queue_capacity: '${CAP}'}\n";
    let s = Settings::parse(yaml, "t.yaml", &env).expect("valid");
    assert_eq!(s.config.pipeline.queue_capacity, 42);
    assert_eq!(s.config.receivers.otlp.grpc.endpoint, "0.0.0.0:14317");
    let p = problems("admin: {endpoint: '${NOT_SET}'}\n");
    assert_eq!(p[0].path, "admin.endpoint");
    assert!(p[0].message.contains("`NOT_SET` is not set"));
}

#[test]
fn exporters_parse_with_common_keys_and_reject_unknown_types_and_keys() {
    let s = parse("exporters:\n  file/a:\n    path: /tmp/a.jsonl\n    signals: [traces]\n    queue_capacity: 10\n  file/b:\n    path: /tmp/b\n    enabled: false\n")
        .expect("valid");
    assert_eq!(s.exporters.len(), 1, "disabled exporter left out");
    assert_eq!(s.exporters[0].name, "file/a");
    assert_eq!(s.exporters[0].signals, vec![crate::pipeline::Signal::Traces]);
    assert_eq!(s.exporters[0].queue_capacity, Some(10));

    let p = problems("exporters:\n  fiel: {path: /tmp/x}\n");
    assert_eq!(p[0].path, "exporters.fiel");
    assert!(p[0].message.contains("file"), "names the known types: {}", p[0].message);

    let p = problems("exporters:\n  file:\n    path: /tmp/x\n    pth: y\n");
    assert_eq!(p[0].path, "exporters.file.pth");

    let p = problems("exporters:\n  file:\n    path: /tmp/x\n    signals: [traces, spans]\n");
    assert_eq!(p[0].path, "exporters.file.signals[1]");

    let p = problems("exporters:\n  file: {}\n");
    assert_eq!(p[0].path, "exporters.file");
    assert!(p[0].message.contains("missing field `path`"), "{}", p[0].message);
}

#[test]
fn syntax_error_names_the_file_and_line() {
    match parse("receivers:\n  otlp: [\n") {
        Err(ConfigError::Syntax { file, message }) => {
            assert_eq!(file, "test.yaml");
            assert!(message.contains("line"), "{message}");
        }
        other => panic!("expected syntax error, got {other:?}"),
    }
}

#[test]
fn error_display_lists_every_problem_with_file_and_path() {
    let err = parse("pipeline: {queue_capacity: 0, retry_after: 0s}\n").expect_err("invalid");
    let text = err.to_string();
    assert!(text.starts_with("test.yaml: invalid config (2 problems)"), "{text}");
    assert!(
        text.contains("test.yaml: `pipeline.queue_capacity`: found `0`, expected a number greater than 0"),
        "{text}"
    );
    assert!(text.contains("`pipeline.retry_after`"), "{text}");
}

#[test]
fn every_shipped_collector_config_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../otel-config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("otel-config exists") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("seedwatch") && name.ends_with(".yaml") {
            let text = std::fs::read_to_string(&path).expect("read");
            Settings::parse(&text, name, &no_env).unwrap_or_else(|e| panic!("{e}"));
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

#[test]
fn embedded_default_sends_alerts_only_where_the_environment_says() {
    let off = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &no_env).expect("valid");
    assert_eq!(off.config.alerting.alertmanager.url, "");
    assert_eq!(off.config.alerting.webhook.url, "");
    let env = |name: &str| match name {
        "SEEDWATCH_ALERTMANAGER_URL" => Some("http://alertmanager:9093".to_owned()),
        "SEEDWATCH_ALERT_WEBHOOK_URL" => Some("https://hooks.example.com/seedwatch".to_owned()),
        _ => None,
    };
    let on = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &env).expect("valid");
    assert_eq!(on.config.alerting.alertmanager.url, "http://alertmanager:9093");
    assert_eq!(on.config.alerting.webhook.url, "https://hooks.example.com/seedwatch");
    let bad = |name: &str| (name == "SEEDWATCH_ALERTMANAGER_URL").then(|| "alertmanager:9093".to_owned());
    let err = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &bad).expect_err("not a URL");
    assert!(err.to_string().contains("alerting.alertmanager.url"), "{err}");
}

#[test]
fn budgets_and_health_thresholds_are_validated_with_their_paths() {
    let p = problems(
        "processors:\n  agent_metrics:\n    health: {down_after: 0s}\n    budgets:\n      timezone: Mars/Olympus\n      limits:\n        daily: {limit_usd: -1, thresholds: []}\n",
    );
    let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
    for want in [
        "processors.agent_metrics.health.down_after",
        "processors.agent_metrics.budgets.timezone",
        "processors.agent_metrics.budgets.limits.daily.limit_usd",
        "processors.agent_metrics.budgets.limits.daily.thresholds",
    ] {
        assert!(paths.contains(&want), "{want} not in {paths:?}");
    }
    let p = problems(
        "processors:\n  agent_metrics:\n    budgets:\n      limits:\n        daily: {limit_usd: 1, period: fortnight}\n",
    );
    assert!(p.iter().any(|p| p.message.contains("fortnight")), "{p:?}");
}

#[test]
fn embedded_default_forwards_over_otlp_only_when_the_endpoint_is_set() {
    let names = |s: &Settings| s.exporters.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    assert!(names(&Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &no_env).expect("valid")).is_empty());
    let empty = |name: &str| (name == "SEEDWATCH_OTLP_FORWARD_ENDPOINT").then(String::new);
    assert!(names(&Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &empty).expect("valid")).is_empty());
    let set = |name: &str| (name == "SEEDWATCH_OTLP_FORWARD_ENDPOINT").then(|| "http://jaeger:4317".to_owned());
    let on = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &set).expect("valid");
    assert_eq!(names(&on), ["otlp/forward"]);
    assert_eq!(on.exporters[0].signals, [crate::pipeline::Signal::Traces]);
    let p = problems("exporters:\n  otlp: {endpoint: 'http://x:4317', enabled: maybe}\n");
    assert!(p.iter().any(|p| p.path.contains("enabled")), "{p:?}");
}

#[test]
fn embedded_default_exports_to_elasticsearch_only_when_the_url_is_set() {
    let names = |s: &Settings| s.exporters.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    let empty = |name: &str| (name == "SEEDWATCH_ELASTICSEARCH_URL").then(String::new);
    assert!(names(&Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &empty).expect("valid")).is_empty());
    let set = |name: &str| match name {
        "SEEDWATCH_ELASTICSEARCH_URL" => Some("http://elasticsearch:9200".to_owned()),
        "SEEDWATCH_ELASTICSEARCH_API_KEY" => Some("aWQ6a2V5".to_owned()),
        _ => None,
    };
    let on = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &set).expect("valid");
    assert_eq!(names(&on), ["elasticsearch"]);
    let es = &on.exporters[0];
    assert_eq!(es.signals, [crate::pipeline::Signal::Traces, crate::pipeline::Signal::Logs]);
    let queue = es.persistent_queue.as_ref().expect("durable by default");
    assert_eq!(queue.directory, std::path::Path::new(".seedwatch/queue"));
    let two = |name: &str| match name {
        "SEEDWATCH_ELASTICSEARCH_URL" => Some("http://elasticsearch:9200".to_owned()),
        "SEEDWATCH_ELASTICSEARCH_API_KEY" | "SEEDWATCH_ELASTICSEARCH_BEARER_TOKEN" => Some("x".to_owned()),
        _ => None,
    };
    let err = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &two).expect_err("two credentials");
    assert!(err.to_string().contains("exporters.elasticsearch.auth"), "{err}");
}

#[test]
fn persistent_queue_problems_name_the_key() {
    let p = problems("exporters:\n  file: {path: /tmp/x.jsonl, persistent_queue: {directory: '', max_size: 10KiB}}\n");
    let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"exporters.file.persistent_queue.directory"), "{p:?}");
    assert!(paths.contains(&"exporters.file.persistent_queue.max_size"), "{p:?}");
    let p = problems(
        "exporters:\n  file: {path: /tmp/x.jsonl, queue_capacity: 10, persistent_queue: {directory: /tmp/q}}\n",
    );
    assert!(p.iter().any(|p| p.path == "exporters.file.queue_capacity"), "{p:?}");
}

#[test]
fn embedded_default_shares_state_only_when_the_redis_url_is_set() {
    let off = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &no_env).expect("valid");
    assert!(!off.config.redis.enabled());
    let env = |name: &str| match name {
        "SEEDWATCH_REDIS_URL" => Some("redis://redis:6379/0".to_owned()),
        "SEEDWATCH_REDIS_PASSWORD" => Some("s3cret".to_owned()),
        _ => None,
    };
    let on = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &env).expect("valid");
    assert!(on.config.redis.enabled());
    assert_eq!((on.config.redis.password.as_str(), on.config.redis.key_prefix.as_str()), ("s3cret", "seedwatch:"));
    let bad = |name: &str| (name == "SEEDWATCH_REDIS_URL").then(|| "redis:6379".to_owned());
    let err = Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &bad).expect_err("not a URL");
    assert!(err.to_string().contains("redis.url") && err.to_string().contains("redis://redis:6379/0"), "{err}");
}

#[test]
fn redis_problems_name_the_key_and_the_fix() {
    let p = problems(
        "redis: {url: 'http://redis:6379', lease_ttl: 1s, sync_interval: 1s, key_prefix: '', buffer_max_charges: 0, tls: {cert_file: /nonexistent.pem}}\n",
    );
    let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
    for want in [
        "redis.url",
        "redis.lease_ttl",
        "redis.key_prefix",
        "redis.buffer_max_charges",
        "redis.tls",
        "redis.tls.cert_file",
    ] {
        assert!(paths.contains(&want), "{want} not in {paths:?}");
    }
    let lease = p.iter().find(|p| p.path == "redis.lease_ttl").expect("lease");
    assert!(lease.message.contains("three sync intervals"), "{lease:?}");
    let p = problems("redis: {url: 'redis://r:6379', pasword: x}\n");
    assert!(p.iter().any(|p| p.message.contains("pasword")), "{p:?}");
}
